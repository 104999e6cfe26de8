"""`corkit_inpaint.methods.windowed`: classical fills run window by window in the stretched space."""

from dataclasses import dataclass, field

import numpy as np
import pytest

from corkit_inpaint.frame import Frame
from corkit_inpaint.methods.windowed import WindowedFill
from corkit_inpaint.network.windows import windows_for


@dataclass(frozen=True)
class Recorder(WindowedFill):
    """Fills window k with the stretched value k + 1 and records what each window was given."""

    calls: list = field(default_factory=list, compare=False)

    def fill_window(self, values, valid):
        self.calls.append((values.copy(), valid.copy()))
        return np.full(values.shape, float(len(self.calls)))


@pytest.fixture
def frame():
    rng = np.random.default_rng(5)
    img = 2000.0 + 50.0 * rng.standard_normal((256, 256))
    mask = np.zeros(img.shape, dtype=bool)
    mask[100:132, 100:132] = True                 # two clusters whose windows overlap
    mask[180:212, 180:212] = True                 # but are not merged
    mask[20:30, 200:230] = True
    return Frame.build(np.where(mask, 0, img), mask, {"OFFSET": 400.0, "EXPTIME": 10.0})


def test_each_window_gets_stretched_context_and_fills_its_own_pixels(frame):
    rec = Recorder("rec")
    res = rec.fill(frame)
    boxes, owner = windows_for(frame.missing)
    assert len(rec.calls) == len(boxes) == 3
    for (values, valid), (y0, y1, x0, x1) in zip(rec.calls, boxes):
        assert np.array_equal(valid, frame.valid[y0:y1, x0:x1])
        assert np.array_equal(values[valid], frame.stretched[y0:y1, x0:x1][valid])
        assert not values[~valid].any()
    # window k's value lands exactly on the pixels it owns, brought back to the image's unit
    for k in range(len(boxes)):
        own = owner == k
        np.testing.assert_array_equal(res.values[own], frame.stretch.inverse(np.full(own.sum(), k + 1.0)))
    assert np.array_equal(res.filled, frame.missing)
    assert np.array_equal(res.values[~frame.missing], frame.image[~frame.missing])
    assert res.provenance.method == "rec" and res.provenance.model == "none"


def test_stretched_values_round_trip_to_the_image(frame):
    """A fill that returns the window unchanged gives the stretched input back exactly where valid."""

    @dataclass(frozen=True)
    class Identity(WindowedFill):
        def fill_window(self, values, valid):
            return values

    res = Identity("id").fill(frame)
    assert np.array_equal(res.values[~frame.missing], frame.image[~frame.missing])
    # holes hold stretch.inverse(0), the bias: the value a fill of zeros gives
    np.testing.assert_allclose(res.values[frame.missing], frame.stretch.bias)


def test_fill_window_must_be_implemented(frame):
    with pytest.raises(NotImplementedError):
        WindowedFill("abstract").fill(frame)
