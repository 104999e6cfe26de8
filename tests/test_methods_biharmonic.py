"""`corkit_inpaint.methods.biharmonic`: scikit-image's biharmonic fill, window by window."""

import numpy as np
from helpers import BLANK, blank, read_real
from skimage.restoration import inpaint_biharmonic

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods import get_method
from corkit_inpaint.methods.biharmonic import BIHARMONIC, BiharmonicFill
from corkit_inpaint.network.windows import windows_for


def test_real_frame_filled_close_to_the_truth():
    data, header = read_real()
    mask = blocks_to_mask(data.shape, BLANK)
    frame = Frame.build(blank(data, BLANK), mask, header)
    res = BIHARMONIC.fill(frame)
    assert get_method("biharmonic") == BIHARMONIC and isinstance(BIHARMONIC, BiharmonicFill)
    assert np.array_equal(res.filled, mask) and res.skipped == ""
    assert np.array_equal(res.values[~mask], frame.image[~mask])
    truth = data[mask].astype(float)
    assert np.all(np.isfinite(res.values)) and np.median(np.abs(res.values[mask] - truth) / truth) < 0.05


def test_smooth_field_reproduced_in_the_stretched_space():
    """A field that is a quadratic in the stretched space is what a biharmonic fill reproduces."""
    yy, xx = np.mgrid[0:128, 0:128] / 128.0
    s = 3.0 + 2.0 * xx - 1.5 * yy + 0.5 * xx * yy
    mask = np.zeros(s.shape, dtype=bool)
    mask[48:80, 40:72] = True
    img = np.sinh(s) * 10.0                         # linear values whose asinh is ``s`` (softening 10)
    frame = Frame.build(np.where(mask, 0, img), mask)
    res = BIHARMONIC.fill(frame)
    err = np.abs(frame.stretch.forward(res.values) - frame.stretch.forward(img))[mask]
    assert err.max() < 0.01 * np.ptp(frame.stretch.forward(img)[mask])


def test_each_window_is_scikit_images_fill_of_that_window():
    rng = np.random.default_rng(4)
    img = 1500.0 + 200.0 * rng.standard_normal((160, 160))
    mask = np.zeros(img.shape, dtype=bool)
    mask[60:92, 70:102] = True
    frame = Frame.build(np.where(mask, 0, img), mask, {"OFFSET": 300.0, "EXPTIME": 5.0})
    res = BIHARMONIC.fill(frame)
    (box,), _ = windows_for(mask)
    y0, y1, x0, x1 = box
    assert (y1 - y0, x1 - x0) != img.shape
    sw, vw = frame.stretched[y0:y1, x0:x1], frame.valid[y0:y1, x0:x1]
    direct = frame.stretch.inverse(inpaint_biharmonic(np.where(vw, sw, 0.0), ~vw))
    np.testing.assert_allclose(res.values[y0:y1, x0:x1][mask[y0:y1, x0:x1]], direct[mask[y0:y1, x0:x1]],
                               rtol=1e-12)


def test_sigma_from_the_error_table():
    from corkit_inpaint.uncertainty.features import pixel_features
    from corkit_inpaint.uncertainty.tables import table_for, to_linear
    data, header = read_real()
    mask = blocks_to_mask(data.shape, BLANK)
    frame = Frame.build(blank(data, BLANK), mask, header)
    res = BIHARMONIC.fill(frame)
    s = table_for("biharmonic").stretched(pixel_features(frame, mask, values=res.values))
    np.testing.assert_allclose(res.sigma, to_linear(frame, res.values, mask, s))
    assert np.all(res.sigma[mask] > 0) and np.all(res.sigma[~mask] == 0)
