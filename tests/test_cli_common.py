"""One-line error reports shared by the subcommands."""

import pytest
from helpers import REAL

from corkit_inpaint.cli import build_parser, main
from corkit_inpaint.cli.common import err, file_err


def test_errors_are_one_line(capsys):
    err("two\nlines")
    file_err("a.fts", ValueError("a.fts: bad"))
    file_err("b.fts", OSError("denied"))
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["corkit-inpaint: error: two lines", "corkit-inpaint: error: a.fts: bad",
                     "corkit-inpaint: error: b.fts: denied"]


def test_every_option_of_every_subcommand_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert p.description, name
        for a in p._actions:
            assert a.help, f"{name} {a.option_strings or a.dest}"


@pytest.mark.parametrize("command", [["fill", "-o", "out.fts", "--method", "biharmonic"],
                                     ["level_1", "-o", "lvl1"],
                                     ["evaluate", "--methods", "biharmonic", "--repeats", "1"]])
def test_a_bad_threads_variable_is_one_usage_line_before_any_file_is_read(tmp_path, monkeypatch, capsys, command):
    """A bad ``$CORKIT_INPAINT_THREADS`` stopped a serial fill file by file (exit 1, one error per file); it is
    now one usage line (exit 2), as a bad ``--threads`` is, and nothing is written."""
    from helpers import REAL

    from corkit_inpaint.cli import main
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CORKIT_INPAINT_THREADS", "lots")
    rc = main([command[0], str(REAL), *command[1:], "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and "CORKIT_INPAINT_THREADS" in lines[0], lines
    assert list(tmp_path.iterdir()) == []
    if command[0] == "fill":              # a good value fills
        monkeypatch.setenv("CORKIT_INPAINT_THREADS", "1")
        assert main([command[0], str(REAL), *command[1:], "-q"]) == 0 and (tmp_path / "out.fts").is_file()


@pytest.mark.parametrize("command", [["fill", "-o", "out.fts", "--method", "bogus"],
                                     ["fill", "--outdir", "out", "--method", "bogus", "--workers", "1"],
                                     ["level_1", "-o", "lvl1", "--inpaint", "bogus"],
                                     ["level_1", "-o", "lvl1", "--inpaint", "bogus", "--workers", "1"]])
def test_an_unknown_fill_method_is_one_usage_line_before_any_file_is_read(tmp_path, monkeypatch, capsys, command):
    """Battery: an unknown --method/--inpaint read every file and failed each one (exit 1); it is one usage
    line (exit 2) now, naming the methods there are, before a file is read (here one that is not FITS, which
    would fail on its own) or a batch's cluster started, and nothing is written."""
    from corkit_inpaint.cli import main
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "notes.fts"
    src.write_text("not a FITS file\n")
    rc = main([command[0], str(src), *command[1:], "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, lines
    opt = "--method" if command[0] == "fill" else "--inpaint"
    assert lines[0].startswith(f"corkit-inpaint: error: {opt} bogus: unknown inpainting method 'bogus'")
    assert "biharmonic" in lines[0] and "not a FITS" not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.fts"]


@pytest.mark.parametrize("command", ["evaluate", "fill", "level_1"])
def test_weights_of_another_architecture_than_the_method_s_are_a_usage_error(tmp_path, capsys, command):
    """Battery s36: ``evaluate FILE --methods fourier-vae --weights pconv-lasco-v1`` failed each file with the
    weights' fault under the file's name (exit 1); ``fill`` and ``level_1`` did the same, file by file."""
    out = tmp_path / "out.fts"
    args = {"evaluate": ["--methods", "fourier-vae", "--repeats", "1"],
            "fill": ["-o", str(out), "--method", "fourier-vae"],
            "level_1": ["-o", str(tmp_path), "--inpaint", "fourier-vae", "--calib-dir", str(tmp_path)]}[command]
    assert main(["-q", command, str(REAL), *args, "--device", "cpu", "--weights", "pconv-lasco-nb3"]) == 2
    err = capsys.readouterr().err
    assert err == ("corkit-inpaint: error: --weights pconv-lasco-nb3: method 'fourier-vae' needs fourier-vae "
                   "weights; pconv-lasco-nb3 is a pconv network (method 'pconv-smooth' runs any)\n")
    assert not out.exists()


@pytest.mark.parametrize("command", ["evaluate", "fill", "level_1"])
def test_a_device_or_weights_file_that_cannot_serve_is_a_usage_error_up_front(tmp_path, capsys, command):
    """Battery s37: ``fill --device bogus`` or a ``--weights`` file that is not weights exited 0 where no file had
    anything to fill, and failed each file that had (exit 1)."""
    junk = tmp_path / "junk.pt"
    junk.write_text("not weights")
    args = {"evaluate": ["--methods", "pconv-smooth", "--repeats", "1"], "fill": ["-o", str(tmp_path / "o.fts")],
            "level_1": ["-o", str(tmp_path), "--calib-dir", str(tmp_path)]}[command]
    for bad, said in ((["--device", "bogus"], "--device: device 'bogus' is not a torch device"),
                      (["--weights", str(junk)], f"--weights {junk}: ")):
        assert main(["-q", command, str(REAL), *args, *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"corkit-inpaint: error: {said}") and err.count("\n") == 1, err
    assert not (tmp_path / "o.fts").exists()


@pytest.mark.parametrize("command", ["fill", "level_1"])
def test_a_pool_without_auto_pairing_is_a_usage_error_naming_the_options(tmp_path, capsys, command):
    """Battery s37: ``--neighbour-pool`` with ``--neighbours none`` was ignored; review s37: its error was the
    API's, naming no option."""
    out = ["-o", str(tmp_path / "o.fts")] if command == "fill" else ["-o", str(tmp_path), "--calib-dir", str(tmp_path)]
    assert main(["-q", command, str(REAL), *out, "--neighbours", "none", "--neighbour-pool", str(REAL)]) == 2
    assert capsys.readouterr().err == "corkit-inpaint: error: --neighbour-pool needs --neighbours auto\n"
