"""Where the Sun, the occulter and the field stop fall on the stored array."""

import pytest
from helpers import read_real

from corkit_inpaint.geometry import RSUN_PX, optical_geometry, sun_centre


def test_real_summed_c2_geometry():
    _, header = read_real()
    g = optical_geometry(header)
    assert g.detector == "C2" and g.rsun == pytest.approx(RSUN_PX["C2"] / 2)
    assert (g.cy, g.cx) == sun_centre(header) == (header["CRPIX2"] - 1, header["CRPIX1"] - 1)
    assert g.r_occ < g.r_behind < g.r_field


def test_nominal_centre_moves_with_subfield_and_summing():
    full = optical_geometry({"DETECTOR": "C3"})
    sub = optical_geometry({"DETECTOR": "C3", "R1COL": 120, "R1ROW": 101, "LEBXSUM": 2, "LEBYSUM": 2})
    assert sub.cx == pytest.approx((full.cx - 100) / 2) and sub.cy == pytest.approx((full.cy - 100) / 2)
    assert sub.rsun == pytest.approx(full.rsun / 2)
    assert optical_geometry({"DETECTOR": "EIT"}) is None and optical_geometry(None) is None


def test_frame_centre_and_plate_scales():
    from corkit_inpaint.geometry import frame_centre, nominal_centre, optical_geometry, plate_scales
    assert frame_centre({"CRPIX1": 11.0, "CRPIX2": 21.0}) == (20.0, 10.0)
    c2 = {"DETECTOR": "C2", "LEBXSUM": 2, "LEBYSUM": 2}
    geo = optical_geometry(c2)
    assert frame_centre(c2) == (geo.cy, geo.cx) == frame_centre(c2, geo) == nominal_centre(c2)
    assert nominal_centre({**c2, "CRPIX1": 11.0, "CRPIX2": 21.0}) == nominal_centre(c2)   # never CRPIX
    assert frame_centre({"DETECTOR": "EIT"}) is None and frame_centre(None) is None
    assert nominal_centre({"CRPIX1": 11.0, "CRPIX2": 21.0}) is None
    assert plate_scales(c2) == (23.8, 23.8) and plate_scales({"DETECTOR": "C3"}) == (56.0, 56.0)
    assert plate_scales({"DETECTOR": "C2", "LEBXSUM": 2}) == (11.9, 23.8)             # (y, x)
    assert plate_scales({"CDELT1": 5.0, "DETECTOR": "C3"}) == (5.0, 5.0)
    assert plate_scales({"CDELT1": 10.0, "CDELT2": 5.0}) == (5.0, 10.0)
    # no positive CDELT and no C2/C3 detector: not known (it used to be 1 arcsec/px)
    assert plate_scales({}) is None and plate_scales({"CDELT1": float("nan"), "DETECTOR": "EIT"}) is None


def test_zones_of_pixels_are_the_zone_map():
    import numpy as np

    from corkit_inpaint.geometry import ZONES, zone_map, zone_of
    data, header = read_real()
    g = optical_geometry(header)
    z = zone_map(data.shape, g)
    ys, xs = np.nonzero(np.ones(data.shape, dtype=bool))
    assert np.array_equal(zone_of(ys, xs, g), z.ravel())
    assert set(np.unique(z)) == {-1, 0, 1, 2}
    r = np.hypot(xs - g.cx, ys - g.cy) / g.rsun
    assert np.all(z.ravel()[(r >= ZONES["C2"][1]) & (r < ZONES["C2"][2])] == 1)


@pytest.mark.parametrize("detector, edges", [("C2", (2.2, 3.2, 4.5, 6.0)), ("C3", (4.0, 8.0, 16.0, 28.0))])
def test_zone_edges_are_the_documented_radii(detector, edges):
    """Mutation s34: a zone edge moved (C2's 3.2 to 3.6 Rsun) passed every test; evaluate's tables, the issue's
    targets and the docs give the zones in these radii (inner / mid / outer), so they are written out here."""
    import numpy as np

    from corkit_inpaint.geometry import zone_of
    g = optical_geometry({"DETECTOR": detector})
    for k, e in enumerate(edges):
        below, above = (g.cx + (e + d) * g.rsun for d in (-0.01, 0.01))
        zones = zone_of(np.array([g.cy, g.cy]), np.array([below, above]), g)
        assert list(zones) == [k - 1 if k else -1, k if k < 3 else -1], e
