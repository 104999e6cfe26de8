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
    """Older versions stay drawable (recorded training stages can be remade) and are recorded; version 4 (the
    measured pylons) is drawable and not yet the default (docs/training.md)."""
    assert GENERATOR_VERSION == "3" and VERSIONS[-1] == "4"
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


def _pylon_cut(det: str, r: float, version: str, seed: int) -> np.ndarray:
    """The vignetting (occulter, field stop, pylon) across the pylon at ``r`` solar radii, every degree."""
    from corkit_inpaint.training import simulator as sim
    rng = np.random.default_rng(seed)
    sc, _ = sim.draw_scene(rng, det, False, True)
    sc.pylon = max(int(version), 3)
    vig = sim.vignetting(rng, sc)
    ang = np.deg2rad(np.arange(-225.0, -44.0))
    yy = np.rint(sc.cy + r * sc.rs * np.sin(ang)).astype(int)
    xx = np.rint(sc.cx + r * sc.rs * np.cos(ang)).astype(int)
    cut = vig[yy, xx]
    return cut / np.median(np.r_[cut[:20], cut[-20:]])


@pytest.mark.parametrize("seed", range(6))
def test_version_4_pylons_are_as_wide_and_deep_as_the_real_ones(seed):
    """Widths measured by examples/calibrate_pylon.py on the real frames (C3 2010 and 2012, C2 2000 and 2001):
    C3 below half at 5.8 Rsun over 47-52 deg, at 14.6 Rsun 28-30 deg, 97-99% deep; C2 35-65% deep.
    Version 3 drew C3's 16-18 deg wide at 5.8 Rsun and no C2 pylon."""
    c3_near, c3_far = _pylon_cut("C3", 5.8, "4", seed), _pylon_cut("C3", 14.6, "4", seed)
    assert c3_near.min() < 0.05 and c3_far.min() < 0.05
    assert 35 <= np.sum(c3_near < 0.5) <= 70 and 18 <= np.sum(c3_far < 0.5) <= 45
    assert np.sum(_pylon_cut("C3", 5.8, "3", seed) < 0.5) <= 22
    c2 = _pylon_cut("C2", 4.0, "4", seed)
    assert 0.5 <= c2.min() <= 0.7 and np.sum(c2 < 0.9) >= 20
    assert _pylon_cut("C2", 4.0, "3", seed).min() > 0.95


@pytest.mark.parametrize("seed", range(6))
def test_version_5_c2_pylon_is_as_deep_as_the_real_one_at_the_ring(seed):
    """Measured by examples/calibrate_pylon.py's profile on the real C2 frames (2000 summed, 2001 full): the
    pylon leaves 8-16% of the light at 2.1 Rsun and 18-28% at 2.2, where version 4 leaves 35-45%. From 4 Rsun
    out, and for C3, version 5 is version 4."""
    for r, most in ((2.1, 0.2), (2.2, 0.32)):
        assert _pylon_cut("C2", r, "5", seed).min() <= most
        assert _pylon_cut("C2", r, "4", seed).min() > 0.3
    assert np.allclose(_pylon_cut("C2", 4.0, "5", seed), _pylon_cut("C2", 4.0, "4", seed), rtol=1e-3)
    assert np.array_equal(_pylon_cut("C3", 5.8, "5", seed), _pylon_cut("C3", 5.8, "4", seed))


def test_versions_3_and_4_are_recorded_and_differ():
    """Each version is reproducible and recorded (SYNTHGEN, SYNTSEQ); version 4 changes the frames."""
    from corkit_inpaint.training.sequence import make_sequence
    a, _ = make_frame(31, detector="C2", summed=False, version="3")
    b, _ = make_frame(31, detector="C2", summed=False, version="4")
    assert not np.array_equal(a, b) and np.array_equal(a, make_frame(31, detector="C2", summed=False, version="3")[0])
    s1, s2 = (make_sequence(31, (0.0,), detector="C2", summed=True, version=v) for v in ("1", "2"))
    assert s1.frames[0][1]["SYNTSEQ"] == "1" and s2.frames[0][1]["SYNTSEQ"] == "2"
    assert s2.frames[0][1]["SYNTHGEN"] == "4" and s1.frames[0][1]["SYNTHGEN"] == "3"
    assert not np.array_equal(s1.frames[0][0], s2.frames[0][0])
