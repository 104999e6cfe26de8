"""`corkit_inpaint.methods.base`: the method contract, the legacy-callable adapter, `FillResult.unchanged`."""

import numpy as np
import pytest

from corkit_inpaint.exceptions import MethodError
from corkit_inpaint.fill import run_method
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods.base import FillMethod, FillResult, LegacyMethod, Provenance


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    img = 500.0 + rng.random((64, 96)) * 100
    mask = np.zeros(img.shape, dtype=bool)
    mask[16:48, 32:64] = True
    img[mask] = 0
    return Frame.build(img, mask, {"OFFSET": 10.0, "EXPTIME": 2.0})


def test_legacy_callable_nan_means_left_masked(frame):
    seen = {}

    def fill(image, mask, header):
        seen.update(image=image, mask=mask, header=header)
        out = image.copy()
        out[mask] = 123.0
        out[16:20, 32:64] = np.nan                   # 4 rows it gives up on
        image[:] = -1.0                              # a careless plugin cannot change the frame
        mask[:] = False
        return out

    res = LegacyMethod(name="toy", fn=fill).fill(frame)
    assert seen["header"] is frame.header and np.array_equal(seen["mask"], np.zeros_like(frame.missing))
    assert frame.image.min() >= 0 and frame.missing.sum() == 32 * 32
    left = np.zeros(frame.shape, dtype=bool)
    left[16:20, 32:64] = True
    assert np.array_equal(res.filled, frame.missing & ~left)
    assert np.all(res.values[res.filled] == 123.0)
    assert np.array_equal(res.values[~res.filled], frame.image[~res.filled])   # NaN never escapes
    assert res.skipped == f"{left.sum()} pixels returned as NaN"
    assert res.provenance == Provenance("toy") and res.sigma is None
    # a callable that fills everything reports nothing skipped
    full = LegacyMethod(name="toy", fn=lambda i, m, h: np.where(m, 7.0, i)).fill(frame)
    assert full.skipped == "" and np.array_equal(full.filled, frame.missing)


def test_legacy_callable_of_the_wrong_shape_is_refused(frame):
    bad = LegacyMethod(name="toy", fn=lambda image, mask, header: image[:10])
    with pytest.raises(MethodError, match=r"'toy' returned shape \(10, 96\), expected \(64, 96\)"):
        bad.fill(frame)
    with pytest.raises(MethodError, match="returned shape"):
        run_method(bad, frame)


def test_fill_result_unchanged(frame):
    prov = Provenance("m", model="x", device="cpu")
    res = FillResult.unchanged(frame, prov, "nothing to do")
    assert np.array_equal(res.values, frame.image) and res.values is not frame.image
    assert res.filled.shape == frame.shape and res.filled.dtype == bool and not res.filled.any()
    assert res.provenance is prov and res.skipped == "nothing to do" and res.sigma is None
    res.values[0, 0] = -5.0
    assert frame.image[0, 0] != -5.0                 # a copy: the frame is not touched


def test_base_method_defaults(frame):
    m = FillMethod("base")
    with pytest.raises(NotImplementedError):
        m.fill(frame)
    assert m.for_level1() is m and m.skip_reason(frame) == ""


def test_only_methods_that_use_neighbours_say_so():
    from corkit_inpaint.methods import available_methods
    reads = {name for name, m in available_methods().items() if m.reads_neighbours}
    assert {"pconv", "pconv-smooth", "ratio"} <= reads
    assert not reads & {"biharmonic", "fuzzy", "telea"}
