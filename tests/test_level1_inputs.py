"""What level_1 checks: options, file lists, calibration files (before any file is read, and which is at fault
when corkit fails)."""

import shutil

import pytest
from helpers import REAL

from corkit_inpaint import level_1
from corkit_inpaint.exceptions import CalibrationError, InputError
from corkit_inpaint.level1_inputs import (
    LEVEL1_DETECTORS,
    calibration_faults,
    check_calibration,
    check_options,
    required_calibration_files,
)


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


def _cut(calib, name):
    """The stand-in file ``name`` cut short: its first 100 bytes (FITS), or its lines up to a last one cut."""
    text = (calib / name).read_bytes()
    if name.endswith(".fts"):
        return text[:100]
    keep = 3 if "offsets" in name else 1            # the offsets' two heading lines, and one of numbers
    lines = text.splitlines(keepends=True)
    return b"".join(lines[:keep]) + lines[keep][:6]


CUT = {"c2vig_final.fts": "(OSError: ",
       "data/data_anal/c2_time_offsets.dat": "(line 4: 1 field(s), corkit reads five numbers)",
       "c2_post_recovery_adj_xyr_medv2.sav": "(line 2: not 4 fields with numbers in c_tai, c_xmed, c_ymed, c_rmed)",
       "occulter_center.dat": "(line 2: not 'x y n' then a telescope and filter)"}


def test_calibration_faults_name_each_file_corkit_cannot_read(tmp_path, calib):
    """The stand-in files are read as corkit reads them; each cut short is named, with why, and only it."""
    for det in LEVEL1_DETECTORS:
        assert calibration_faults(det, calib) == []
    for name, why in CUT.items():
        bad = tmp_path / name.replace("/", "_")
        shutil.copytree(calib, bad)
        (bad / name).write_bytes(_cut(calib, name))
        faults = calibration_faults("C2", bad)
        assert len(faults) == 1 and faults[0].startswith(f"{name} {why}"), (name, faults)


def test_when_corkit_fails_on_a_calibration_file_the_error_names_it(tmp_path, calib):
    """Battery s35: a truncated C2 calibration file gave corkit's words alone ("not enough values to unpack
    (expected 5, got 1)", "Empty or corrupt FITS file"), naming no file. A real corkit level_1 on the real frame."""
    for name in ("c2vig_final.fts", "data/data_anal/c2_time_offsets.dat"):
        bad = tmp_path / name.replace("/", "_")
        shutil.copytree(calib, bad)
        (bad / name).write_bytes(_cut(calib, name))
        with pytest.raises(CalibrationError) as got:
            level_1(REAL, tmp_path / "out", calib_dir=bad, inpaint=None)
        msg = str(got.value)
        assert "corkit's level_1 failed" in msg and f"corkit cannot read {name} (" in msg and "\n" not in msg
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
