"""`corkit_inpaint.network.guides`: interpolation along rays and circles about the Sun."""

import numpy as np
import pytest

from corkit_inpaint.network.guides import path_fill


def test_azimuthal_and_radial_guides_follow_their_geometry():
    """Circles about the Sun carry a ring across a hole; rays carry a radial streamer."""
    yy, xx = np.mgrid[0:128, 0:128].astype(float)
    centre = (-40.0, 20.0)                     # the Sun outside the window, as for most windows
    r = np.hypot(yy - centre[0], xx - centre[1])
    th = np.arctan2(yy - centre[0], xx - centre[1])
    ring = np.exp(-0.5 * ((r - 110) / 5.0) ** 2)     # varies only with radius
    ray = np.exp(-0.5 * ((th - 1.0) / 0.05) ** 2)    # varies only with angle
    valid = np.ones((128, 128), dtype=bool)
    valid[48:80, 48:80] = False
    hole = ~valid
    azi, ok_a = path_fill(ring, valid, centre, "azimuthal")
    rad, ok_r = path_fill(ray, valid, centre, "radial")
    assert ok_a[hole].all() and ok_r[hole].all()
    assert np.abs(azi - ring)[hole].max() < 0.12 * ring.max()
    assert np.abs(rad - ray)[hole].max() < 0.12 * ray.max()
    # and each is wrong for the other geometry, so the test can fail
    assert np.abs(path_fill(ring, valid, centre, "radial")[0] - ring)[hole].max() > 0.5
    assert np.abs(path_fill(ray, valid, centre, "azimuthal")[0] - ray)[hole].max() > 0.5
    assert np.array_equal(azi[valid], ring[valid])
    with pytest.raises(ValueError, match="radial"):
        path_fill(ring, valid, centre, "spiral")


@pytest.mark.parametrize("path", ["radial", "azimuthal"])
def test_one_sided_paths_and_nothing_to_read(path):
    """Constant values are carried exactly, also by rays that meet valid pixels on one side only; with no
    valid pixel nothing is found."""
    values = np.full((64, 64), 7.25)
    valid = np.ones((64, 64), dtype=bool)
    valid[20:44, 40:64] = False                      # a hole reaching the window's right edge
    centre = (32.0, -200.0)                          # rays run left to right, circles top to bottom
    out, found = path_fill(values, valid, centre, path)
    assert found.all()
    np.testing.assert_allclose(out[~valid], 7.25, rtol=0, atol=1e-12)
    # a hole no path can leave (the window is all hole): nothing invented
    none, found = path_fill(values, np.zeros((64, 64), bool), centre, path)
    assert not found.any() and not none.any()
