"""What corkit's level 1 takes for a missing pixel, and the filled frame given to it: real corkit, stand-in files."""

import numpy as np
import pytest
from astropy.io import fits

from corkit_inpaint.corkit_bridge import corkit_calibration_dir
from corkit_inpaint.corkit_missing import above_missing_floor, missing_floor
from corkit_inpaint.fill import FilledImage


def _filled(data, filled=None, missing=None):
    shape = data.shape
    return FilledImage(data=data, filled=np.zeros(shape, bool) if filled is None else filled, blocks=[],
                       missing_blocks=0, provenance=None,
                       missing=np.zeros(shape, bool) if missing is None else missing)


@pytest.mark.parametrize("detector", ["C2", "C3"])
def test_no_data_is_raised_where_its_transposed_pixel_holds_data(detector, tmp_path):
    """corkit zeroes the pixel at the transposed position of each pixel it takes for missing: a pixel without data
    is given above its level where that one holds data, and a hole left unfilled is too."""
    hdr = fits.Header({"DETECTOR": detector, "OFFSET": 500.0})
    data = np.full((96, 96), 900, dtype=np.uint16)
    data[:32, 64:] = 0              # never sent; its transposed block holds data
    data[32:64, 32:64] = 0          # never sent, on the diagonal: its own transpose
    data[64:, :32] = 0              # a hole the fill left
    hole = np.zeros(data.shape, bool)
    hole[64:, :32] = True
    given = data.copy()
    with corkit_calibration_dir(tmp_path):          # no expfactor file: corkit's bias is OFFSET
        out, unfilled, no_data = above_missing_floor(_filled(data, missing=hole), hdr, detector)
    assert np.array_equal(unfilled, hole)
    expect = np.zeros(data.shape, bool)
    expect[:32, 64:] = True
    assert np.array_equal(no_data, expect)
    raised = 501 if detector == "C2" else 1
    assert np.all(out.data[expect | hole] == raised) and np.all(out.data[32:64, 32:64] == 0)
    assert np.array_equal(data, given)                                       # the input is not changed
    # a subfield: corkit pads it with zeros into its full frame first, where the transposes lie (review s35: a
    # pixel raised by the subfield's own transpose unmasked corkit's padding, 14,000 level-1 pixels of it)
    for shape, edges in (((96, 64), None), ((96, 96), (20, 1043, 1, 100))):
        h = hdr.copy()
        if edges:
            h["R1COL"], h["R2COL"], h["R1ROW"], h["R2ROW"] = edges
        with corkit_calibration_dir(tmp_path):
            _, _, sub = above_missing_floor(_filled(data[:shape[0], :shape[1]]), h, detector)
        assert not sub.any()
    with corkit_calibration_dir(tmp_path):
        full = _filled(np.full((64, 64), 900, dtype=np.uint16))
        assert above_missing_floor(full, hdr, detector)[0] is full          # nothing to raise: the same object


def test_corkit_s_missing_level_is_its_bias_as_it_is_on_a_summed_frame(tmp_path, calib):
    """Review s34: corkit takes a C2 pixel at or below its bias for a missing one, the bias not times the on-board
    summing; holes given the summed bias plus one moved fills that corkit would have read well."""
    import warnings

    from helpers import BLANK, blank, read_real, write

    from corkit_inpaint.level1 import level_1
    data, hdr = read_real()                               # 2x2 summed on board, OFFSET 582
    with corkit_calibration_dir(calib):
        assert missing_floor(hdr, "C2") == hdr["OFFSET"] and missing_floor(hdr, "C3") == 0.0
    holes = write(tmp_path / "holes.fts", blank(data, BLANK), hdr)
    orig = write(tmp_path / "orig.fts", data, hdr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.asarray(level_1(orig, calib_dir=calib, inpaint=None)[0], dtype=np.float64)
        img, _, m = level_1(holes, calib_dir=calib, inpaint=None, return_mask=True)    # holes at OFFSET + 1
    np.testing.assert_allclose(np.asarray(img, np.float64)[m == 0], ref[m == 0], rtol=1e-6, atol=0)
