"""Tests for corkit_inpaint.training.fcorona: the F corona's equatorial band in simulated sequences."""

from pathlib import Path

import numpy as np
import pytest

from corkit_inpaint.frame import Frame
from corkit_inpaint.header import bias_and_exptime
from corkit_inpaint.read import read_level05
from corkit_inpaint.training.fcorona import band_contrast, equatorial_band
from corkit_inpaint.training.sequence import make_sequence

DATA = Path(__file__).parent / "data"
RADII = {"C2": [2.4, 4.0, 6.0], "C3": [4.5, 7.5, 10.0, 14.0]}


def test_reproducible_with_a_fixed_number_of_draws():
    r, th = np.linspace(2.0, 30.0, 300), np.linspace(-np.pi, np.pi, 300)
    a = equatorial_band(np.random.default_rng(3), r, th, "C3")
    assert np.array_equal(a, equatorial_band(np.random.default_rng(3), r, th, "C3"))
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    equatorial_band(g1, r, th, "C2")
    equatorial_band(g2, r[:5], th[:5], "C2")
    assert g1.random() == g2.random()


@pytest.mark.parametrize("det, inner, outer", [("C2", 2.5, 6.0), ("C3", 5.0, 14.0)])
def test_bright_along_the_equator_and_more_so_outward(det, inner, outer):
    for seed in range(10):
        rng = np.random.default_rng(seed)
        r = np.array([inner, outer, inner, outer])
        th = np.array([0.0, np.pi, np.pi / 2, -np.pi / 2])    # east/west, then north/south
        f = equatorial_band(rng, r, th, det)
        assert np.all(f >= 1.0)
        assert f[1] > f[0] > 1.0, (seed, f)
        assert np.all(f[2:] - 1.0 < 0.25 * (f[:2] - 1.0)), (seed, f)


def test_band_contrast_of_a_known_band():
    """A frame whose signal is 2x brighter east and west than north and south measures 2."""
    src = read_level05(DATA / "c3_32219521.fts")
    g = Frame.build(src.data, None, src.header).geometry
    yy, xx = np.mgrid[:1024, :1024]
    th = np.arctan2(yy - g.cy, xx - g.cx)
    east_west = np.abs(np.cos(th)) > np.cos(np.radians(30))
    bias = bias_and_exptime(src.header)[0]
    img = np.where(src.data > 0, np.rint(bias + 300.0 * np.where(east_west, 2.0, 1.0)), 0)
    assert np.allclose(band_contrast(img, src.header, [8.0, 12.0]), 2.0, atol=1e-3)


@pytest.mark.parametrize("det, real", [("C2", "c2_22104858.fts"), ("C3", "c3_32219521.fts")])
def test_version_4_grows_outward_like_the_real_band_and_version_3_does_not(det, real):
    """The calibration version 4 was made for: the real contrast grows outward (C2 by 0.17 in log
    from 2.4 to 6 Rsun, C3 by 0.39 from 4.5 to 14); version 3's random streamers do not make it grow.
    Seeds other than those the band was tuned on (94,000,000+)."""
    src = read_level05(DATA / real)
    c = band_contrast(src.data, src.header, RADII[det])
    want = np.log(c[-1] / c[0])
    growth = {}
    for v in ("3", "4"):
        sims = [band_contrast(*make_sequence(96_000_000 + i, (0.0,), detector=det, summed=True,
                                             version=v).frames[0], RADII[det]) for i in range(16)]
        growth[v] = float(np.median([np.log(s[-1] / s[0]) for s in sims]))
    assert want > 0.1, want
    assert 0.5 * want < growth["4"] < 2.0 * want, (want, growth)
    assert growth["3"] < 0.5 * want, (want, growth)
