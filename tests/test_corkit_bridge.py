"""The one place that uses corkit's internals: its calibration folder, its argument tuple, calibration errors."""

import corkit.lasco
import corkit.reconstruction
import corkit.utils
import numpy as np
import pytest

from corkit_inpaint.corkit_bridge import c3_args, calibrate, corkit_calibration_dir, default_calib_dir
from corkit_inpaint.exceptions import CalibrationError


def test_calibration_dir_is_set_in_all_three_modules_and_restored(tmp_path):
    before = corkit.utils.DEFAULT_SAVE_DIR
    with corkit_calibration_dir(tmp_path) as d:
        assert d == tmp_path == default_calib_dir()
        assert corkit.utils.DEFAULT_SAVE_DIR == corkit.lasco.DEFAULT_SAVE_DIR == \
            corkit.reconstruction.DEFAULT_SAVE_DIR == str(tmp_path)
    assert corkit.utils.DEFAULT_SAVE_DIR == corkit.lasco.DEFAULT_SAVE_DIR == before
    with pytest.raises(RuntimeError), corkit_calibration_dir(tmp_path):
        raise RuntimeError("restored on errors too")
    assert corkit.reconstruction.DEFAULT_SAVE_DIR == before


def test_c3_args_switch_off_corkits_network_step(calib):
    with corkit_calibration_dir(calib):
        args = c3_args()
    assert len(args) == 8
    forward = args[6]
    _, _, missing = forward(np.zeros((4, 4)), None)
    assert np.all(missing == 1)                          # "no missing pixel": dl_image returns the image


def test_calibrate_failure_is_one_calibration_error(tmp_path, calib):
    bad = tmp_path / "bad.fts"
    bad.write_text("not a fits file")
    with corkit_calibration_dir(calib), pytest.raises(CalibrationError) as ei:
        calibrate(bad, "C2", {})
    assert "corkit's level_1" in str(ei.value) and "\n" not in str(ei.value)


@pytest.mark.parametrize("name,what", [("C3ramp.fts", "ramp"), ("3m_clcl_all.fts", "background"),
                                       ("c3_cl_mask_lvl1.fts", "mask"), ("c3vig_preint_final.fts", "vignetting")])
def test_a_corrupt_c3_calibration_file_is_named(tmp_path, calib, name, what):
    import shutil
    bad = tmp_path / "calib"
    shutil.copytree(calib, bad)
    (bad / name).write_bytes(b"")                        # truncated to nothing
    with corkit_calibration_dir(bad), pytest.raises(CalibrationError) as ei:
        c3_args()
    msg = str(ei.value)
    assert f"C3 {what}" in msg and str(bad) in msg and "\n" not in msg


def test_level1_maps_sigma_is_linear_and_its_mask_the_same_pixels(tmp_path, calib):
    from helpers import BLANK, blank, read_real, write

    from corkit_inpaint.blocks import blocks_to_mask
    from corkit_inpaint.corkit_bridge import level1_maps
    data, header = read_real()
    filled = blocks_to_mask(data.shape, BLANK[:1])
    path = write(tmp_path / "f.fts", blank(data, BLANK[:1]) + 1000 * filled, header)
    sigma = 5.0 * filled
    kept = sigma.copy()
    with corkit_calibration_dir(calib):
        m1, one = level1_maps(filled, sigma, path, "C2", {})
        m2, two = level1_maps(filled, 2 * sigma, path, "C2", {})
        none = level1_maps(filled, np.zeros(data.shape), path, "C2", {})[1]
        alone = level1_maps(filled, None, path, "C2", {})
    assert one.dtype == np.float32 and one.max() > 0 and not none.any()
    np.testing.assert_allclose(two, 2 * one, rtol=1e-6)
    assert m1.dtype == np.uint8 and np.array_equal(m1, m2) and np.array_equal(alone[0], m1) and alone[1] is None
    assert np.array_equal(m1 != 0, one > 0)              # every filled pixel has a sigma: the same pixels
    # the caller's array is left as it was (corkit's C2 calibration works in place; review s33)
    assert np.array_equal(sigma, kept)


def test_no_calfac_without_nostat_is_refused(tmp_path):
    """Review s33: corkit's statistics step clips an image left in DN/s to 5e-05: a constant level-1 image, under
    an INPSIGMA that still said the fill moved it."""
    from corkit_inpaint.corkit_bridge import corkit_options
    with pytest.raises(CalibrationError, match="NO_CALFAC without NOSTAT") as ei:
        corkit_options({"NO_CALFAC": True})
    assert "\n" not in str(ei.value)
    assert corkit_options({"NO_CALFAC": True, "NOSTAT": True}) == {"NO_CALFAC": True, "NOSTAT": True}
    assert corkit_options({"NO_CALFAC": False}) == {}
    # battery s35: 0, numpy's False and "false" reached corkit, which acts on a switch merely given; a misspelled
    # option was ignored in silence
    import numpy as np
    assert corkit_options({"NO_VIG": 0, "NO_MASK": np.False_, "NO_SUM": None, "NOSTAT": np.True_, "NO_CALFAC": 1}) \
        == {"NOSTAT": True, "NO_CALFAC": True}
    for bad, said in (({"NO_VIG": "false"}, "NO_VIG='false': a switch"), ({"NO_VIG": 2}, "NO_VIG=2: a switch"),
                      ({"no_vig": True}, "'no_vig': not one of corkit 1.0.16's switches"),
                      ({"FOO": 1, "NO_VIG": True}, "'FOO': not one of"), ({"NO_VIG": 1.0}, "NO_VIG=1.0: a switch")):
        with pytest.raises(CalibrationError, match=said):
            corkit_options(bad)


@pytest.mark.parametrize("key, value, said", [("FILENAME", None, "reads FILENAME, which the header lacks"),
                                              ("CROTA1", None, "reads CROTA1, which the header lacks"),
                                              ("SUMROW", None, "reads SUMROW, which the header lacks"),
                                              ("MID_DATE", None, "reads MID_DATE, which the header lacks"),
                                              ("TIME-OBS", "02:54:11", "reads it as HH:MM:SS.fff"),
                                              ("TIME-OBS", "", "reads it as HH:MM:SS.fff"),
                                              ("DETECTOR", "c2", "takes only 'C2' or 'C3', as written"),
                                              ("DATE-OBS", "2000-09-03T12:00:00", "reads it as YYYY/MM/DD"),
                                              ("EXPTIME", 0.0, "divides by it")])
def test_a_header_corkit_would_fail_on_is_refused_before_the_fill(key, value, said, tmp_path, calib):
    """Battery s35: level_1 filled such a frame first, then failed in corkit's words (KeyError: "Keyword
    'FILENAME' not found.", AssertionError, an inf in a header)."""
    from helpers import BLANK, blank, read_real, write

    from corkit_inpaint.level1 import level_1
    from corkit_inpaint.methods import FillMethod

    class Refused(FillMethod):
        def fill(self, frame, **kw):
            raise AssertionError("filled before the header was checked")

    data, hdr = read_real()
    if value is None:                   # review s35: CROTA1 alone, as corkit reads no other roll
        hdr.remove(key, ignore_missing=True)
        hdr["CROTA2"] = hdr["CROTA"] = 0.0
    else:
        hdr[key] = value
    path = write(tmp_path / "odd.fts", blank(data, BLANK), hdr)
    with pytest.raises(CalibrationError, match=said):
        level_1(path, calib_dir=calib, inpaint=Refused(name="refused"))


def test_no_sum_on_a_c3_frame_is_refused(calib):
    """Review s35: corkit 1.0.16 applies NO_SUM to C2 only (its C3 calibration factor reads no option): ignored."""
    from helpers import C3_SEQ, read_file

    from corkit_inpaint.corkit_bridge import check_frame
    _, hdr = read_file(C3_SEQ[0])
    with corkit_calibration_dir(calib):
        check_frame(hdr, "C3", {}, "c3.fts")
        with pytest.raises(CalibrationError, match="c3.fts: NO_SUM on a C3 frame"):
            check_frame(hdr, "C3", {"NO_SUM": True}, "c3.fts")
