"""What level_1 checks before any file is read: options, file lists, calibration files."""

import pytest

from corkit_inpaint.exceptions import CalibrationError, InputError
from corkit_inpaint.level1_inputs import LEVEL1_DETECTORS, check_calibration, check_options, required_calibration_files


def test_check_options_returns_the_files_as_a_list_and_none_for_the_word():
    gen = (p for p in ("a.fts", "b.fts"))
    opts, files, inpaint = check_options("fits", {"NO_VIG": False, "NOSTAT": 1}, gen, None, " None ")
    assert opts == {"NOSTAT": True} and files == ["a.fts", "b.fts"] and inpaint is None
    assert check_options("fts", {}, "a.fts", "cal", "biharmonic")[1:] == ("a.fts", "biharmonic")
    for args, said in ((("png", {}, "a.fts", None, None), "only 'fits'"),
                       (("fits", {}, b"a.fts", None, None), "got bytes"),
                       (("fits", {}, ["a.fts", None], None, None), "holding other things"),
                       (("fits", {}, "a.fts", 5, None), "calib_dir=5")):
        with pytest.raises(InputError, match=said):
            check_options(*args)
    with pytest.raises(CalibrationError, match="NOSCALE"):
        check_options("fits", {"NOSCALE": True}, "a.fts", None, None)


def test_check_calibration_names_every_missing_file(tmp_path, calib):
    assert LEVEL1_DETECTORS == ("C2", "C3")
    for det in LEVEL1_DETECTORS:
        check_calibration(det, calib)
        with pytest.raises(CalibrationError) as got:
            check_calibration(det, tmp_path)
        assert all(f in str(got.value) for f in required_calibration_files(det)) and "\n" not in str(got.value)
