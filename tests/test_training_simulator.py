"""`corkit_inpaint.training.simulator`: synthetic LASCO frames, reproducible under a seed."""

import numpy as np
import pytest

from corkit_inpaint.blocks import find_missing_blocks
from corkit_inpaint.training.simulator import GENERATOR_VERSION, VERSIONS, make_frame


def test_generator_reproducible_under_seed():
    a, ha = make_frame(123)
    b, hb = make_frame(123)
    c, _ = make_frame(124, detector=ha["DETECTOR"], summed=a.shape[0] == 512)
    assert np.array_equal(a, b) and ha == hb
    assert not np.array_equal(a, c)
    assert ha["SYNTHGEN"] == GENERATOR_VERSION and ha["SYNTSEED"] == 123


def test_generator_versions_stay_drawable():
    """Older versions stay drawable (recorded training stages can be remade) and are recorded."""
    assert GENERATOR_VERSION == VERSIONS[-1]
    old, ho = make_frame(123, version=VERSIONS[0])
    new, hn = make_frame(123)
    assert ho["SYNTHGEN"] == VERSIONS[0] and hn["SYNTHGEN"] == GENERATOR_VERSION
    assert not np.array_equal(old, new)
    assert np.array_equal(old, make_frame(123, version=VERSIONS[0])[0])
    with pytest.raises(ValueError, match="generator version"):
        make_frame(123, version="0")


def test_generator_realistic_ranges():
    for det in ("C2", "C3"):
        saturated = 0
        for seed in (5, 6, 7, 8):                                         # bright stars and planets are rare
            img, _ = make_frame(seed, detector=det, summed=False)
            assert img.max() <= 65532
            saturated += int(np.sum(img == 65532))
        assert saturated > 0                                              # saturated sources exist
        img, hdr = make_frame(7, detector=det, summed=False)
        assert img.dtype == np.int32 and img.shape == (1024, 1024)
        valid = img[img > 0]
        assert np.percentile(valid, 1) > 0.5 * hdr["OFFSET"]              # bias present
        assert np.any(img == 0)                                           # never-sent blocks
        # about four decades between the brightest corona and the faint field
        rate = (valid.astype(float) - hdr["OFFSET"]) / hdr["EXPTIME"]
        assert np.percentile(rate, 99) / max(np.percentile(rate, 5), 1e-3) > 10


@pytest.mark.parametrize("det,summed", [("C2", True), ("C3", True)])
def test_header_geometry_and_never_sent_blocks(det, summed):
    """The header places the Sun where the image has it, and never-sent blocks are not reported as losses."""
    img, hdr = make_frame(31, detector=det, summed=summed)
    n = 512 if summed else 1024
    assert img.shape == (n, n) and hdr["DETECTOR"] == det and hdr["LEBXSUM"] == hdr["LEBYSUM"] == (2 if summed else 1)
    cy, cx = hdr["CRPIX2"] - 1, hdr["CRPIX1"] - 1
    assert img[int(round(cy)), int(round(cx))] == 0                     # behind the occulter
    assert np.any(img == 0) and find_missing_blocks(img, hdr)[1] == []  # zeros, but no loss
    without = make_frame(31, detector=det, summed=summed, never_sent=False)[0]
    assert np.all(without > 0) and np.array_equal(without[img > 0], img[img > 0])
