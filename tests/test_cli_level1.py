"""``corkit-inpaint level_1``: several files, one failing, exit codes, existing outputs."""

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
