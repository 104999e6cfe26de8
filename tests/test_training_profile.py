"""Tests for corkit_inpaint.training.profile: C3's radial profile in simulated sequences."""

from pathlib import Path

import numpy as np
import pytest

from corkit_inpaint.frame import Frame
from corkit_inpaint.header import bias_and_exptime
from corkit_inpaint.read import read_level05
from corkit_inpaint.training.profile import c3_profile, profile_slopes
from corkit_inpaint.training.sequence import make_sequence

DATA = Path(__file__).parent / "data"
RADII = np.arange(5.5, 16.01, 0.5)


def slopes(img, hdr) -> np.ndarray:
    return profile_slopes(img, hdr, RADII)


def test_reproducible_and_positive():
    r = np.linspace(3.0, 30.0, 500)
    a = c3_profile(np.random.default_rng(4), r, 3.7, 1.8)
    b = c3_profile(np.random.default_rng(4), r, 3.7, 1.8)
    assert np.array_equal(a, b)
    assert np.all(a > 0) and np.all(np.isfinite(a))
    # a fixed number of draws: what follows does not depend on the grid
    g1, g2 = np.random.default_rng(4), np.random.default_rng(4)
    c3_profile(g1, r, 3.7, 1.8)
    c3_profile(g2, r[:7], 3.7, 1.8)
    assert g1.random() == g2.random()


def test_turns_from_the_inner_slope_to_the_corona():
    r = np.linspace(4.0, 28.0, 2000)
    for seed in range(20):
        alpha = 1.4 + seed * 0.05
        corona = r ** -alpha * c3_profile(np.random.default_rng(seed), r, 3.7, alpha)
        s = np.gradient(np.log(corona), np.log(r))
        inner, outer = s[(r > 6.5) & (r < 7.5)].mean(), s[(r > 20) & (r < 24)].mean()
        assert -0.75 < inner < 0.3, (seed, inner)
        assert -alpha - 0.8 < outer < -alpha + 0.1, (seed, outer)


def test_version_3_is_closer_to_the_real_c3_profile_than_version_2():
    """The calibration this version was made for: the shape of the real frame's profile."""
    src = read_level05(DATA / "c3_32219521.fts")
    real = slopes(src.data, src.header)
    miss = {}
    for v in ("2", "3"):
        sims = [slopes(*make_sequence(94_000_000 + i, (0.0,), detector="C3", summed=False, version=v).frames[0])
                for i in range(3)]
        miss[v] = float(np.sqrt(np.mean((np.median(sims, axis=0) - real) ** 2)))
    assert miss["3"] < 0.75 * miss["2"], miss


@pytest.mark.parametrize("version", ["1", "2"])
def test_older_versions_keep_the_flat_inner_field(version):
    img, hdr = make_sequence(94_000_000, (0.0,), detector="C3", summed=False, version=version).frames[0]
    s = slopes(img, hdr)
    assert np.all(np.abs(s[(RADII > 6) & (RADII < 9)]) < 0.3)


def test_slopes_of_a_known_power_law():
    """A corona exactly ~ r^-1.7 above the bias has slope -1.7 wherever it is measured."""
    src = read_level05(DATA / "c3_32219521.fts")
    g = Frame.build(src.data, None, src.header).geometry
    yy, xx = np.mgrid[:1024, :1024]
    r = np.hypot(yy - g.cy, xx - g.cx) / g.rsun
    img = np.where(src.data > 0, np.rint(bias_and_exptime(src.header)[0] + 4e5 * np.maximum(r, 4.0) ** -1.7), 0)
    assert np.allclose(profile_slopes(img, src.header, [6.0, 10.0, 16.0]), -1.7, atol=0.03)
