"""`corkit_inpaint.cli.evaluate`: the ``evaluate`` command's output, exit codes and options."""

import argparse
import json
import logging
import math

import numpy as np
import pytest
from helpers import C3_FULL, REAL

from corkit_inpaint.cli import build_parser, main
from corkit_inpaint.training.loss_masks import PATTERNS


def subparser(name):
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


def test_evaluate_compares_with_biharmonic_by_default(tmp_path):
    """The targets are stated against biharmonic: without --against, every table gives the ratio to it, even
    where another classical method is the best."""
    out = tmp_path / "eval.json"
    assert main(["-q", "evaluate", str(REAL), "--methods", "biharmonic,fuzzy", "--repeats", "1",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["against"] == "biharmonic"
    res, zones = doc["results"]["real files"]["all"], doc["zones"]["real files"]
    assert res["fuzzy"]["vs_against"] == pytest.approx(res["fuzzy"]["rmse"] / res["biharmonic"]["rmse"])
    assert set(zones) == {"inner", "mid", "outer"}
    for ms in zones.values():
        assert ms["fuzzy"]["vs_against"] == pytest.approx(ms["fuzzy"]["rmse"] / ms["biharmonic"]["rmse"])
    out2 = tmp_path / "none.json"
    assert main(["-q", "evaluate", str(REAL), "--methods", "fuzzy", "--repeats", "1", "--json", str(out2)]) == 0
    assert json.loads(out2.read_text())["against"] is None


def test_evaluate_real_file_json(tmp_path):
    out = tmp_path / "eval.json"
    png = tmp_path / "eval.png"
    rel = tmp_path / "rel.png"
    code = main(["-q", "evaluate", str(REAL), "--methods", "pconv,biharmonic", "--repeats", "1", "--against",
                 "biharmonic", "--json", str(out), "--plot", str(png), "--reliability", str(rel), "--device", "cpu"])
    import matplotlib.pyplot as plt
    plt.close("all")
    assert code == 0 and png.stat().st_size > 1000 and rel.stat().st_size > 1000
    doc = json.loads(out.read_text())
    res = doc["results"]["real files"]
    # both methods give a sigma: their z spread and coverage per zone, and the reliability curve
    calib = doc["calibration"]["real files"]
    for zone in ("inner", "mid", "outer"):
        for m in ("pconv", "biharmonic"):
            c = calib[zone][m]
            assert 0 < c["z_std"] < 10 and 0 <= c["cover68"] <= c["cover95"] <= 1 and c["pixels"] > 0
    assert len(doc["reliability"]["real files"]["pconv"]["mid"]) == 12
    for p in list(PATTERNS) + ["all"]:
        for m in ("pconv", "biharmonic"):
            v = res[p][m]
            assert v["rmse"] > 0 and v["mae"] > 0 and v["rmse"] >= v["mae"] and v["seconds"] > 0
        assert res[p]["biharmonic"]["vs_best_classical"] == 1.0
    lo, hi = res["all"]["pconv"]["vs_best_classical_ci90"]        # bootstrap over the 4 masks
    assert 0 < lo <= hi
    assert res["all"]["biharmonic"]["vs_best_classical_ci90"] == [1.0, 1.0]
    assert res["single"]["pconv"]["vs_best_classical_ci90"] is None   # one mask: no interval
    assert res["all"]["pconv"]["rmse_no_points"] > 0
    # --against biharmonic, the only classical method here: the same ratio, paired the same way
    assert doc["against"] == "biharmonic" and "vs_against" not in res["all"]["biharmonic"]
    assert res["all"]["pconv"]["vs_against"] == pytest.approx(res["all"]["pconv"]["vs_best_classical"])
    assert res["all"]["pconv"]["vs_against_ci90"] == pytest.approx(res["all"]["pconv"]["vs_best_classical_ci90"])
    assert doc["zones"]["real files"]["mid"]["pconv"]["vs_against"] > 0
    # each mask's squared error per zone: the zone table's RMSE is pooled from them
    masks = [m for m in doc["masks"]["real files"] if m["method"] == "pconv"]
    assert len(masks) == 4 and {m["pattern"] for m in masks} == set(PATTERNS) and all(m["frame"] for m in masks)
    for zone in ("inner", "mid", "outer"):
        n = sum(m[f"n_{zone}"] for m in masks)
        assert n == doc["zones"]["real files"][zone]["pconv"]["pixels"] > 0
        assert math.sqrt(sum(m[f"se_{zone}"] for m in masks) / n) == \
            pytest.approx(doc["zones"]["real files"][zone]["pconv"]["rmse"], rel=1e-12)
    assert res["all"]["biharmonic"]["noise_ratio"] < 0.3          # a classical fill has no texture
    assert res["all"]["pconv"]["noise_ratio"] > 2 * res["all"]["biharmonic"]["noise_ratio"]


def test_evaluate_usage_errors(capsys):
    assert main(["evaluate", str(REAL), "--methods", "nope"]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert main(["evaluate"]) == 2
    assert "give FILES and/or --synthetic N" in capsys.readouterr().err
    assert main(["evaluate", str(REAL), "--methods", "biharmonic", "--against", "pconv"]) == 2
    assert "--against pconv: not one of --methods" in capsys.readouterr().err
    with pytest.raises(SystemExit) as ei:
        main(["evaluate", str(REAL), "--repeats", "many"])
    assert ei.value.code == 2 and "--repeats" in capsys.readouterr().err
    with pytest.raises(SystemExit) as ei:
        main(["evaluate", "--generator-version", "1", "--synthetic", "1"])
    assert ei.value.code == 2


def test_outputs_and_options_are_checked_before_anything_runs(tmp_path, capsys):
    import shutil

    from helpers import C2_FULL, C3_SEQ, sha
    mine = tmp_path / "in.fts"
    shutil.copyfile(REAL, mine)
    before = sha(mine)
    (tmp_path / "folder.json").mkdir()
    cases = [["--json", str(mine)],                                   # an input: never overwritten
             ["--json", str(tmp_path / "folder.json")], ["--json", str(tmp_path / "nowhere" / "x.json")],
             ["--plot", str(tmp_path / "x.fts")], ["--reliability", str(tmp_path / "folder.json")],
             ["--repeats", "0"], ["--methods", ",,"], ["--other-day", str(C2_FULL)]]
    for extra in cases:
        assert main(["-q", "evaluate", str(mine), "--methods", "biharmonic", "--repeats", "1", *extra]) == 2, extra
        assert capsys.readouterr().err.count("\n") == 1
    assert sha(mine) == before
    code = main(["-q", "evaluate", "--neighbours", *map(str, C3_SEQ[:3]), "--other-day", str(C2_FULL),
                 "--methods", "ratio", "--repeats", "1"])
    assert code == 2 and "not the sequence's" in capsys.readouterr().err


def test_nothing_to_score_is_a_failure(tmp_path, capsys):
    from helpers import read_real, write
    data, header = read_real()
    write(tmp_path / "small.fts", data[:64, :64], header)            # too small to hold a block with signal
    assert main(["-q", "evaluate", str(tmp_path / "small.fts"), "--methods", "biharmonic", "--repeats", "1"]) == 1
    assert "no block could be blanked" in capsys.readouterr().err


def test_a_run_that_scores_nothing_leaves_an_earlier_report(tmp_path, capsys):
    """A failed run must not replace last run's --json with an empty report (it did until 0.1.12)."""
    bad = tmp_path / "notes.fts"
    bad.write_text("this is not a FITS file\n")
    out = tmp_path / "eval.json"
    out.write_text('{"earlier": "report"}')
    assert main(["-q", "evaluate", str(bad), "--methods", "biharmonic", "--repeats", "1", "--json", str(out)]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert json.loads(out.read_text()) == {"earlier": "report"}


def test_a_bad_file_fails_alone(tmp_path, capsys):
    bad = tmp_path / "notes.fts"
    bad.write_text("this is not a FITS file\n")
    out = tmp_path / "eval.json"
    code = main(["-q", "evaluate", str(bad), str(REAL), "--methods", "biharmonic", "--repeats", "1",
                 "--json", str(out), "--seed", "3"])
    captured = capsys.readouterr()
    assert code == 1
    errors = captured.err.strip().splitlines()
    assert len(errors) == 1 and str(bad) in errors[0] and errors[0].startswith("corkit-inpaint: error:")
    doc = json.loads(out.read_text())
    assert doc["methods"] == ["biharmonic"] and doc["seed"] == 3 and doc["repeats"] == 1
    assert [f["file"] for f in doc["failed"]] == [str(bad)] and doc["failed"][0]["why"]   # the report says which
    assert doc["results"]["real files"]["all"]["biharmonic"]["masks"] == len(PATTERNS)
    assert "| all | biharmonic |" in captured.out


def test_every_option_has_help():
    p = subparser("evaluate")
    for a in p._actions:
        assert a.help and a.help.strip(), a.dest
    assert p.description and "evaluate" in build_parser().format_help()


def test_evaluate_neighbours_on_a_sequence(tmp_path, capsys):
    import json

    from helpers import C3_FULL, C3_SEQ

    from corkit_inpaint.cli import main
    out = tmp_path / "seq.json"
    code = main(["-q", "evaluate", "--neighbours", *map(str, C3_SEQ), "--other-day", str(C3_FULL),
                 "--methods", "ratio,biharmonic", "--repeats", "1", "--json", str(out), "--device", "cpu"])
    assert code == 0
    text = capsys.readouterr().out
    assert "vs ratio" in text and "ratio (other day)" in text
    text = out.read_text()
    z = json.loads(text)["zones"]["real sequence"]
    assert {"mid", "outer"} <= set(z) and "vs_alone" in z["mid"]["ratio"]
    # strict JSON (hostile battery: bare NaN, which jq and JavaScript refuse): a baseline not scored is null
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    assert z["mid"]["biharmonic"]["vs_alone"] is None and z["mid"]["biharmonic"]["vs_ratio"] is not None
    assert main(["-q", "evaluate", "--neighbours", str(C3_SEQ[0]), "--methods", "ratio"]) == 1


def test_evaluate_neighbours_refuses_bad_files_and_sequences_in_one_line(tmp_path, capsys):
    """Review s15: a missing or non-FITS file was passed over silently (exit 0); no middle frame gave two lines."""
    from helpers import C2_FULL, C3_SEQ

    from corkit_inpaint.cli import main
    bad = tmp_path / "notfits.fts"
    bad.write_text("not fits")
    capsys.readouterr()
    for extra, why in (([tmp_path / "nope.fts"], "no such file"), ([bad], "not a FITS file")):
        assert main(["evaluate", "--neighbours", *map(str, C3_SEQ), *map(str, extra), "--methods", "biharmonic",
                     "--repeats", "1"]) == 1
        captured = capsys.readouterr()
        assert why in captured.err and len(captured.err.strip().splitlines()) == 1 and not captured.out
    assert main(["evaluate", "--neighbours", str(C3_SEQ[0]), str(C2_FULL), str(C3_SEQ[2]), "--methods",
                 "biharmonic", "--repeats", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "of the same detector, filter, polarizer, summing and size on both sides" in err[0]


def test_a_negative_seed_or_synthetic_count_is_a_usage_error(capsys):
    """Was a traceback from numpy (--seed -1) or a silent run of nothing (--synthetic -1): review s13, D1 and D7."""
    assert main(["evaluate", str(REAL), "--methods", "biharmonic", "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert "--seed -1: give a whole number >= 0" in err and "Traceback" not in err
    assert main(["evaluate", "--synthetic", "-1", "--methods", "biharmonic"]) == 2
    assert "--synthetic -1" in capsys.readouterr().err
    for opt in ("--synthetic", "--repeats"):              # review s15: 10**23 ended in an OverflowError traceback
        assert main(["evaluate", str(REAL), opt, str(10 ** 23), "--methods", "biharmonic"]) == 2
        err = capsys.readouterr().err
        assert f"{opt} {10 ** 23}: " in err and "Traceback" not in err
    for gap in ("-1", "nan"):                          # checked by the fills' own check_max_gap
        assert main(["evaluate", str(REAL), "--neighbours", "--methods", "biharmonic", "--max-gap", gap]) == 2
        assert "--max-gap = " in capsys.readouterr().err


@pytest.mark.parametrize(("args", "msg"), [
    ([str(REAL), "--max-gap", "30"], "--max-gap applies with --neighbours"),
    ([str(REAL), "--generator-version", "3"], "--generator-version applies with"),
    (["--neighbours", "--synthetic", "1", "--max-gap", "30"], "--max-gap applies to FILES"),
    (["--neighbours", "--synthetic", "1", "--generator-version", "2"], "--generator-version applies with"),
])
def test_an_option_that_would_be_ignored_is_a_usage_error(tmp_path, capsys, args, msg):
    """``--max-gap`` without ``--neighbours`` or without FILES, and ``--generator-version`` without
    ``--synthetic`` or with ``--neighbours`` (review: simulated sequences read neither), did nothing, silently,
    and the run went on; each is now one usage line, and nothing is filled or written."""
    out = tmp_path / "r.json"
    assert main(["evaluate", *args, "--methods", "biharmonic", "--json", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0] and not out.exists()


def test_a_method_named_twice_is_scored_once(tmp_path, caplog, monkeypatch):
    """Review s17: ``biharmonic,biharmonic`` scored it twice (masks counted twice, ids clashing in the bootstrap);
    ``telea,biharmonic,telea`` without OpenCV skipped one telea and ended in a MethodError traceback."""
    import sys
    out = tmp_path / "eval.json"
    assert main(["-q", "evaluate", str(REAL), "--methods", "biharmonic,biharmonic", "--repeats", "1",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["methods"] == ["biharmonic"]
    masks = doc["masks"]["real files"]
    assert doc["results"]["real files"]["all"]["biharmonic"]["masks"] == len(PATTERNS) == len(masks)
    monkeypatch.setitem(sys.modules, "cv2", None)         # no OpenCV here: telea is skipped, however often named
    assert main(["-q", "evaluate", str(REAL), "--methods", "telea,biharmonic,telea", "--repeats", "1"]) == 0
    assert "telea needs OpenCV" in caplog.text


def test_a_file_given_twice_is_scored_once(tmp_path, monkeypatch):
    """Review s17: a file given twice (also as ./name or through a link) was scored twice under one mask id, so the
    bootstrap intervals silently rested on half the masks counted."""
    import shutil

    from helpers import C3_SEQ
    mine = tmp_path / "in.fts"
    shutil.copyfile(REAL, mine)
    (tmp_path / "link.fts").symlink_to(mine)
    out = tmp_path / "eval.json"
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "evaluate", "in.fts", "./in.fts", "link.fts", "--methods", "biharmonic", "--repeats", "1",
                 "--json", str(out)]) == 0
    masks = json.loads(out.read_text())["masks"]["real files"]
    assert len(masks) == len(PATTERNS) == len({m["mask_id"] for m in masks})
    (tmp_path / "middle.fts").symlink_to(C3_SEQ[1])      # a sequence's middle frame, again through a link
    assert main(["-q", "evaluate", "--neighbours", *map(str, C3_SEQ), "middle.fts", "--methods", "biharmonic",
                 "--repeats", "1", "--json", str(out)]) == 0
    masks = json.loads(out.read_text())["masks"]["real sequence"]
    assert len(masks) == len(PATTERNS) == len({m["mask_id"] for m in masks})




def test_a_copy_of_a_frame_is_scored_once_with_a_warning(tmp_path, caplog):
    """Battery s32: a copy of a frame under another name was scored twice: its masks counted twice in every
    median and interval."""
    import shutil
    shutil.copyfile(REAL, tmp_path / "copy.fts")
    out = tmp_path / "eval.json"
    assert main(["-q", "evaluate", str(REAL), str(tmp_path / "copy.fts"), "--methods", "biharmonic", "--repeats", "1",
                 "--json", str(out)]) == 0
    masks = json.loads(out.read_text())["masks"]["real files"]
    assert len(masks) == len(PATTERNS) and {m["frame"] for m in masks} == {str(REAL)}
    assert f"copy.fts: the same image as {REAL}: scored once" in caplog.text

def test_other_day_must_not_be_a_frame_of_the_sequence(tmp_path, capsys):
    """Review s17: ``--other-day`` naming a frame of the sequence ran, and its "(other day)" rows read a real
    neighbour, or the very frame being filled (the truth), as the frame of another day."""
    from helpers import C3_SEQ
    out = tmp_path / "seq.json"
    for other in (C3_SEQ[1], C3_SEQ[0]):
        assert main(["-q", "evaluate", "--neighbours", *map(str, C3_SEQ), "--other-day", str(other),
                     "--methods", "ratio", "--repeats", "1", "--json", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--other-day" in err and "one of FILES" in err
    assert not out.exists()
    # review s17: without FILES (--synthetic only) it was not read at all, even when missing, and the run exited 0
    assert main(["-q", "evaluate", "--neighbours", "--synthetic", "1", "--other-day", str(tmp_path / "nope.fts"),
                 "--methods", "ratio", "--json", str(out)]) == 2
    assert "--other-day needs FILES" in capsys.readouterr().err and not out.exists()



def test_two_outputs_at_one_path_or_an_empty_one_are_usage_errors(tmp_path, capsys):
    """Review s17: ``--json X --plot X`` (or ``--plot X --reliability X``, or ``--reliability``'s numbered file
    ``<stem>-1.png`` of several sets at ``--plot`` or at an input) wrote one over the other and exited 0;
    ``--json ""`` wrote nothing and exited 0."""
    import shutil

    from helpers import sha
    png = tmp_path / "out.png"
    (tmp_path / "link.png").symlink_to(png)
    cases = [["--json", str(png), "--plot", str(png)], ["--plot", str(png), "--reliability", str(png)],
             ["--plot", str(png), "--reliability", str(tmp_path / "link.png")],
             ["--plot", str(tmp_path / "out-1.png"), "--reliability", str(png)], ["--json", ""], ["--plot", ""]]
    for extra in cases:
        assert main(["-q", "evaluate", str(REAL), "--methods", "biharmonic", "--repeats", "1", *extra]) == 2, extra
        assert capsys.readouterr().err.count("\n") == 1
        assert not png.exists()
    mine = tmp_path / "rel-1.png"                         # a FITS file, whatever its name
    shutil.copyfile(REAL, mine)
    before = sha(mine)
    assert main(["-q", "evaluate", str(mine), "--methods", "biharmonic", "--repeats", "1", "--synthetic", "1",
                 "--reliability", str(tmp_path / "rel.png")]) == 2
    assert "is the input file" in capsys.readouterr().err and sha(mine) == before


@pytest.mark.parametrize("opt", ["--plot", "--reliability"])
def test_a_figure_is_written_atomically(tmp_path, capsys, monkeypatch, opt):
    """Review s17: the figures were saved straight to their names, so a kill (or a full disk) in the middle left a
    half-written picture there, over the earlier one; a failed save ended in a traceback."""
    from matplotlib.figure import Figure
    png = tmp_path / "fig.png"
    png.write_bytes(b"earlier figure")

    def broken(exc):
        def savefig(self, fname, **kw):
            with open(fname, "wb") as f:
                f.write(b"half a pict")
            raise exc
        return savefig
    monkeypatch.setattr(Figure, "savefig", broken(KeyboardInterrupt()))
    assert main(["-q", "evaluate", str(REAL), "--methods", "biharmonic", "--repeats", "1", opt, str(png)]) == 130
    assert png.read_bytes() == b"earlier figure" and sorted(tmp_path.iterdir()) == [png]
    capsys.readouterr()
    monkeypatch.setattr(Figure, "savefig", broken(OSError(28, "No space left on device")))
    assert main(["-q", "evaluate", str(REAL), "--methods", "biharmonic", "--repeats", "1", opt, str(png)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err and str(png) in err
    assert png.read_bytes() == b"earlier figure" and sorted(tmp_path.iterdir()) == [png]


def test_weights_or_a_device_that_cannot_be_used_fail_in_one_line(tmp_path, capsys):
    """Review s17: a missing or unreadable --weights file ended in a WeightsError traceback, and --device nonsense
    in an InputError one, in plain and --neighbours runs alike; nothing may be written then."""
    from helpers import C3_SEQ
    out = tmp_path / "eval.json"
    out.write_text('{"earlier": "report"}')
    junk = tmp_path / "junk.pt"
    junk.write_text("not weights")
    runs = [[str(REAL)], ["--neighbours", *map(str, C3_SEQ)]]
    for files in runs:
        for weights, code in ((tmp_path / "nope.pt", 2), (junk, 2)):      # both usage errors, up front (s37: loaded)
            assert main(["-q", "evaluate", *files, "--methods", "biharmonic,pconv", "--repeats", "1", "--device",
                         "cpu", "--weights", str(weights), "--json", str(out)]) == code
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and str(weights) in err
    assert main(["-q", "evaluate", str(REAL), "--methods", "pconv", "--repeats", "1", "--device", "nonsense",
                 "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nonsense" in err
    assert json.loads(out.read_text()) == {"earlier": "report"}


def test_a_method_s_warning_is_said_once_per_run(caplog):
    """Battery s36: weights without an error table were warned of once per fill: four times for one mask per
    pattern, a hundred for 25."""
    with caplog.at_level(logging.WARNING):
        assert main(["-q", "evaluate", str(REAL), "--methods", "pconv-smooth,biharmonic", "--repeats", "2",
                     "--weights", "pconv-lasco-nb1", "--device", "cpu"]) == 0
    said = [r for r in caplog.records if "no error table for these weights" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    caplog.clear()                      # review s37: over several files, once per file, each named
    with caplog.at_level(logging.WARNING):
        assert main(["-q", "evaluate", str(REAL), str(C3_FULL), "--methods", "pconv-smooth,biharmonic", "--repeats",
                     "1", "--weights", "pconv-lasco-nb1", "--device", "cpu"]) == 0
    said = sorted(r.getMessage().split(":")[0] for r in caplog.records if "no error table" in r.getMessage())
    assert said == sorted([str(REAL), str(C3_FULL)])


def test_a_reliability_diagram_with_nothing_to_draw_is_not_passed_over_in_silence(tmp_path, caplog):
    """Review s17: a frame without radial zones (not C2 or C3) has no reliability curve: --reliability wrote nothing
    and said nothing."""
    from helpers import read_real, write
    data, header = read_real()
    header["DETECTOR"] = "EIT"
    src = write(tmp_path / "eit.fts", data, header)
    png = tmp_path / "rel.png"
    assert main(["-q", "evaluate", str(src), "--methods", "biharmonic", "--repeats", "1", "--reliability",
                 str(png)]) == 0
    assert not png.exists() and f"--reliability {png}: not written" in caplog.text


def test_a_reader_of_the_tables_that_goes_away_loses_no_report(tmp_path, monkeypatch):
    """Review s17: ``evaluate ... --json X | head -1``: the tables were printed first, so the closed pipe ended the
    run in a BrokenPipeError traceback before the JSON and the figures were written."""
    import io
    import sys

    class Closed(io.StringIO):
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")
    out = tmp_path / "eval.json"
    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["-q", "evaluate", str(REAL), "--methods", "biharmonic", "--repeats", "1", "--json", str(out)]) == 1
    assert json.loads(out.read_text())["methods"] == ["biharmonic"]


def test_the_json_names_the_weights_inputs_and_code_that_made_the_scores(tmp_path):
    """Battery 27c: --json recorded the methods, seed, repeats and --against alone, so the same command with
    --weights pconv-lasco-nb3 or the default model wrote files that said nothing of which network was scored, on
    which frames (their bytes), with which error tables (the sigmas) or by which version of the code."""
    import hashlib
    from importlib.resources import files

    from corkit_inpaint import __version__
    from corkit_inpaint.network.registry import model_entry
    out = tmp_path / "eval.json"
    assert main(["-q", "evaluate", str(REAL), "--methods", "pconv-smooth,biharmonic", "--repeats", "1",
                 "--weights", "pconv-lasco-nb3", "--device", "cpu", "--threads", "1", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    fills = doc["fills"]
    assert fills["pconv-smooth"] == {"model": "pconv-lasco-nb3", "weights_sha256": model_entry("pconv-lasco-nb3")[
        "sha256"], "device": "cpu"}
    assert fills["biharmonic"]["model"] == "none" and fills["biharmonic"]["weights_sha256"] == ""
    run = doc["run"]
    assert run["files"] == [{"file": str(REAL), "sha256": hashlib.sha256(REAL.read_bytes()).hexdigest()}]
    tables = (files("corkit_inpaint") / "data" / "error_tables.json").read_bytes()
    assert run["error_tables_sha256"] == hashlib.sha256(tables).hexdigest()
    assert run["weights"] == "pconv-lasco-nb3" and run["device"] == "cpu" and run["threads"] == 1
    assert run["synthetic"] == 0 and run["neighbours"] is False and run["generator_version"] is None
    assert run["versions"]["corkit-inpaint"] == __version__ and "source_commit" in run


def test_json_of_a_run_where_a_file_failed_is_written_and_says_which(tmp_path, capsys):
    """Hostile-input battery 2: with --json, a FILES entry that cannot be read (missing, a folder) ended the run in
    a traceback after every other file was scored: the record of the run (0.1.20) hashed each of FILES, that one
    too. Its sha256 is null; the failures stay one line each, the exit code 1, and the scores are written."""
    import hashlib
    out, folder = tmp_path / "eval.json", tmp_path / "a_folder"
    folder.mkdir()
    capsys.readouterr()
    code = main(["-q", "evaluate", str(REAL), str(tmp_path / "nope.fts"), str(folder), "--methods", "biharmonic",
                 "--repeats", "1", "--json", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 2
    doc = json.loads(out.read_text())
    assert [f["file"] for f in doc["failed"]] == [str(tmp_path / "nope.fts"), str(folder)]
    assert doc["run"]["files"] == [{"file": str(REAL), "sha256": hashlib.sha256(REAL.read_bytes()).hexdigest()},
                                   {"file": str(tmp_path / "nope.fts"), "sha256": None},
                                   {"file": str(folder), "sha256": None}]
    assert doc["results"]["real files"]["all"]["biharmonic"]["masks"] > 0


def test_a_frame_with_no_noise_is_refused_in_one_line(tmp_path, capsys):
    """Battery s32: a constant frame (every pixel 5000 DN) was scored, with numpy's "Mean of empty slice" warnings
    (the median noise ratio of no mask) and a perfect fill; one of 500 DN was refused (no block with signal)."""
    from helpers import read_real, write
    data, header = read_real()
    flat = write(tmp_path / "flat.fts", np.full_like(data, 5000), header)
    assert main(["-q", "evaluate", str(flat), "--methods", "biharmonic", "--repeats", "1", "--json",
                 str(tmp_path / "e.json")]) == 1
    err = capsys.readouterr().err
    assert "no noise in the frame's valid pixels" in err and err.count("\n") == 1
    assert not (tmp_path / "e.json").exists()


def test_a_frame_scored_in_dn_says_so(tmp_path, caplog):
    """Battery s32: a header with EXPTIME 0 (or no OFFSET) was scored in DN under the tables' DN/s, silently."""

    from helpers import read_real, write
    data, header = read_real()
    header["EXPTIME"] = 0
    f = write(tmp_path / "exp0.fts", data, header)
    with caplog.at_level(logging.WARNING):
        assert main(["-q", "evaluate", str(f), "--methods", "biharmonic", "--repeats", "1"]) == 0
    assert any("scores are in DN, not DN/s" in r.getMessage() for r in caplog.records)
