"""``corkit-inpaint level_1``: several files, one failing, exit codes, existing outputs."""

import os

import pytest
from astropy.io import fits
from helpers import frame_files, sha

from corkit_inpaint.cli import main

pytestmark = pytest.mark.slow          # runs corkit's level 1


def test_level1_cli(tmp_path, calib):
    _, c3, _ = frame_files(tmp_path, "C3", False, seed=31)
    _, c2, _ = frame_files(tmp_path, "C2", True, seed=32)
    bad = tmp_path / "broken.fts"
    bad.write_text("not fits")
    out = tmp_path / "l1"
    code = main(["-q", "level_1", str(c3), str(bad), str(c2), "-o", str(out), "--calib-dir", str(calib),
                 "--device", "cpu"])
    assert code == 1                                       # one failure, the others done
    names = sorted(p.name for p in out.iterdir())
    assert names == [c2.stem + ".fits", c3.stem + ".fits"]
    for n in names:
        with fits.open(out / n) as h:
            assert h[0].header["INPAINT"] == "pconv-smooth" and h["INPMASK"].data.sum() > 0
            assert h["INPMASK"].data.shape == h[0].data.shape
    assert main(["-q", "level_1", str(c2), "-o", str(out), "--calib-dir", str(tmp_path / "nope")]) == 2
    (tmp_path / "a_file").write_text("keep")
    assert main(["-q", "level_1", str(c2), "-o", str(tmp_path / "a_file"), "--calib-dir", str(calib)]) == 2
    assert (tmp_path / "a_file").read_text() == "keep"
    import corkit_inpaint as ci
    with pytest.raises(ci.InputError, match="is a file, not a folder"):
        ci.level_1(str(c2), tmp_path / "a_file", calib_dir=calib, neighbours="none")
    assert (tmp_path / "a_file").read_text() == "keep"


def test_level1_cli_keeps_existing_outputs(tmp_path, calib, capsys):
    _, c2, _ = frame_files(tmp_path, "C2", True, seed=35)
    out = tmp_path / "l1"
    args = ["-q", "level_1", str(c2), "-o", str(out), "--calib-dir", str(calib), "--inpaint", "biharmonic"]
    assert main(args) == 0
    first = sha(out / (c2.stem + ".fits"))
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "exists" in err and len(err.strip().splitlines()) == 1
    assert sha(out / (c2.stem + ".fits")) == first
    assert main(args + ["--overwrite"]) == 0
    left = out / f".{c2.stem}.fits.corkit-inpaint-k1ll3d_9.tmp"           # what a SIGKILL leaves
    left.write_bytes(b"half a file")
    os.utime(left, (1e9, 1e9))
    assert main(args + ["--overwrite"]) == 0 and not left.exists()


def test_level1_cli_checks_the_whole_run_before_writing(tmp_path, calib, capsys):
    """Each file's level_1 sees one file, so the CLI checks the list first: an output that is another input
    of the run, or the output of two inputs, is refused before anything is written, even with --overwrite
    (an input was replaced before); a file given twice is calibrated once (it failed with "exists" before)."""
    _, c2, _ = frame_files(tmp_path, "C2", True, seed=36)
    run = tmp_path / "run"
    run.mkdir()
    y_fts, y_fits = run / "y.fts", run / "y.fits"
    y_fts.write_bytes(c2.read_bytes())
    y_fits.write_bytes(c2.read_bytes())                  # its level-1 output name is y.fits: an input
    before = sha(y_fits)
    opts = ["--calib-dir", str(calib), "--inpaint", "biharmonic", "--neighbours", "none", "--overwrite"]
    assert main(["-q", "level_1", str(y_fts), str(y_fits), "-o", str(run), *opts]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to write an output over an input of the run" in err[0]
    assert sha(y_fits) == before and sorted(p.name for p in run.iterdir()) == ["y.fits", "y.fts"]
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "x.fts").write_bytes(c2.read_bytes())
    out = tmp_path / "out"
    assert main(["-q", "level_1", str(a / "x.fts"), str(b / "x.fts"), "-o", str(out), *opts]) == 2
    assert "x.fts" in capsys.readouterr().err and not out.exists()
    assert main(["-q", "level_1", str(a / "x.fts"), str(a / "x.fts"), "-o", str(out), *opts]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["x.fits"]


def test_level1_cli_refuses_an_empty_output_folder(tmp_path, calib, monkeypatch, capsys):
    """``-o ''`` wrote into the current folder, exit 0 (``fill`` refuses an empty path): a usage error now."""
    _, c2, _ = frame_files(tmp_path, "C2", True, seed=37)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["-q", "level_1", str(c2), "-o", "", "--calib-dir", str(calib), "--inpaint", "none"]) == 2
    assert "-o/--output needs a non-empty path" in capsys.readouterr().err and list(work.iterdir()) == []
    # battery s35: an empty --calib-dir was taken as the current folder
    assert main(["-q", "level_1", str(c2), "-o", str(tmp_path / "o"), "--calib-dir", "", "--inpaint", "none"]) == 2
    assert "--calib-dir needs a non-empty path" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_level1_cli_ends_with_a_summary_line_as_fill_does(tmp_path, calib, capsys):
    """Soak 27: a level_1 run over many files said nothing at its end, where fill gives a summary line."""
    _, c2, _ = frame_files(tmp_path, "C2", True, seed=36)
    bad = tmp_path / "broken.fts"
    bad.write_text("not fits")
    assert main(["level_1", str(c2), str(bad), "-o", str(tmp_path / "l1"), "--calib-dir", str(calib),
                 "--device", "cpu", "--neighbours", "none"]) == 1
    with fits.open(tmp_path / "l1" / (c2.stem + ".fits")) as h:
        n = h[0].header["INPNBLK"]
    assert n > 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == \
        f"corkit-inpaint level_1: 1 of 2 files written, {n} blocks filled, 1 failed"
