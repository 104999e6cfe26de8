"""What level_1 checks: options, file lists, calibration files (before any file is read, and which is at fault
when corkit fails)."""

import shutil

import pytest
from helpers import REAL, read_real

from corkit_inpaint import level_1
from corkit_inpaint.corkit_bridge import corkit_calibration_dir
from corkit_inpaint.exceptions import CalibrationError, InputError, MethodError
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
    # battery s36: a list as the method was refused as "method: ...", a parameter level_1 does not have
    with pytest.raises(MethodError, match="^inpaint: expected a method name, a FillMethod or None, got list$"):
        check_options("fits", {}, "a.fts", None, ["biharmonic"])


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
       "data/data_anal/c2_time_offsets.dat": "(ValueError: not enough values to unpack (expected 5, got 1))",
       "c2_post_recovery_adj_xyr_medv2.sav": "(ValueError: its ypos, roll for this date are not a number)",
       "occulter_center.dat": "(ValueError: not enough values to unpack (expected 3, got 1))"}


def test_calibration_faults_name_each_file_corkit_cannot_read(tmp_path, calib):
    """corkit's own readers run on the real C2 frame's header (a frame of 2000: the post-recovery table); each
    stand-in file cut short is named, with corkit's words, and only it. A file corkit reads fine is not named
    (review s36: a trailing blank line in the other era's table, which corkit does not open, was)."""
    _, header = read_real()
    for det in LEVEL1_DETECTORS:
        with corkit_calibration_dir(calib):
            assert calibration_faults(det, header, calib) == []
    for name, why in CUT.items():
        bad = tmp_path / name.replace("/", "_")
        shutil.copytree(calib, bad)
        (bad / name).write_bytes(_cut(calib, name))
        with corkit_calibration_dir(bad):
            faults = calibration_faults("C2", header, bad)
        assert len(faults) == 1 and faults[0].startswith(f"{name} {why}"), (name, faults)
    odd = tmp_path / "odd"
    shutil.copytree(calib, odd)
    with open(odd / "c2_pre_recovery_adj_xyr_medv2.sav", "a") as f:         # not read for a frame of 2000
        f.write("\n\n")
    offsets = odd / "data/data_anal/c2_time_offsets.dat"
    offsets.write_text(offsets.read_text().replace("70000 0", "70000.0 0"))   # corkit reads int(): a fault
    with corkit_calibration_dir(odd):
        assert calibration_faults("C2", header, odd) == [
            "data/data_anal/c2_time_offsets.dat (ValueError: invalid literal for int() with base 10: '70000.0')"]


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
        assert "corkit's level_1 failed" in msg and f"corkit's readers fail on {name} (" in msg and "\n" not in msg
        assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_level_1_and_run_batch_switches_must_be_true_or_false(tmp_path, calib):
    """Review s36: level_1(overwrite='no') replaced an existing output and return_sigma='no' returned a sigma;
    run_batch took overwrite='no' for True too. Refused before anything is read or written."""
    from corkit_inpaint.batch import run_batch
    out = tmp_path / "out.fts"
    out.write_bytes(b"keep me")
    for kw in ("overwrite", "refill", "return_mask", "return_sigma"):
        with pytest.raises(InputError, match=f"^{kw}='no': give True or False$"):
            level_1(REAL, out, calib_dir=calib, inpaint=None, **{kw: "no"})
    for kw in ("overwrite", "refill"):
        with pytest.raises(InputError, match=f"^{kw}='no': give True or False$"):
            run_batch(None, [REAL], tmp_path / "batch", method="biharmonic", **{kw: "no"})
    assert out.read_bytes() == b"keep me" and not (tmp_path / "batch").exists()
