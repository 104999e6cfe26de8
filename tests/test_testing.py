"""Stand-in calibration files: every file corkit's level 1 opens exists and reads."""

from astropy.io import fits

from corkit_inpaint.level1 import required_calibration_files
from corkit_inpaint.testing import write_standin_calibration


def test_standin_files_are_complete(tmp_path):
    d = write_standin_calibration(tmp_path / "c", roll=3.0)
    for det in ("C2", "C3"):
        for f in required_calibration_files(det):
            assert (d / f).is_file(), f
    assert fits.getdata(d / "c2vig_final.fts").shape == (1024, 1024)
    assert "3.0" in (d / "c2_pre_recovery_adj_xyr_medv2.sav").read_text()
