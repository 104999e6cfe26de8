"""`corkit_inpaint.cli.evaluate_options`: the options of ``evaluate``, checked before anything is filled."""

from helpers import C3_SEQ, REAL

from corkit_inpaint.cli import main


def test_options_that_would_score_something_else_are_refused(tmp_path, capsys):
    """Battery s32: each of these ran, exit 0, and scored something other than what its rows said: ``ratio``
    without neighbours (biharmonic's fills, labelled ratio); ``--other-day`` a frame of the same hour (a copy of
    the frame scored: "other day" rows better than with its real neighbours), or with no method that reads
    neighbours (ignored), or empty; ``--repeats`` with simulated frames only (ignored, and recorded); ``--weights``
    with no method that runs a network (a warning per fill); ``--plot`` with no classical method (a chart of
    no bars)."""
    import shutil
    seq = [str(p) for p in C3_SEQ]
    copy = tmp_path / "copy.fts"
    shutil.copyfile(C3_SEQ[1], copy)
    cases = {"fills from neighbouring frames": [str(REAL), "--methods", "ratio"],
             "observed 0 min from": ["--neighbours", *seq, "--methods", "ratio", "--other-day", str(copy)],
             "observed 12 min from": ["--neighbours", *seq[:2], "--methods", "ratio", "--other-day", seq[2]],
             "reads neighbouring frames": ["--neighbours", *seq, "--methods", "biharmonic", "--other-day", str(REAL)],
             "--other-day: give a file name": ["--neighbours", *seq, "--other-day", ""],
             "--repeats applies to FILES": ["--synthetic", "1", "--repeats", "5", "--methods", "biharmonic"],
             "none of --methods (biharmonic) runs a network": [str(REAL), "--methods", "biharmonic", "--weights",
                                                              "pconv-lasco-v3"],
             "give one of them in --methods": [str(REAL), "--methods", "pconv-smooth", "--plot",
                                               str(tmp_path / "p.png")]}
    for why, argv in cases.items():
        assert main(["-q", "evaluate", *argv]) == 2, why
        err = capsys.readouterr().err
        assert why in err and err.count("\n") == 1, (why, err)


def test_no_output_over_the_weights_file(tmp_path, capsys):
    """Battery s32: ``--json`` naming the ``--weights`` file replaced the weights with the JSON summary (exit 0)."""
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"weights")
    for opt, name in (("--json", weights), ("--plot", tmp_path / "w.png"), ("--reliability", tmp_path / "w.png")):
        if name != weights:
            name.write_bytes(b"weights")
        assert main(["-q", "evaluate", str(REAL), "--methods", "pconv-smooth,biharmonic", "--repeats", "1", "--weights",
                     str(name), opt, str(name)]) == 2
        assert "is the input file" in capsys.readouterr().err and name.read_bytes() == b"weights"
