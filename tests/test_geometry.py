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
