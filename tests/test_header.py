"""Typed header lookups: numbers, summing, and refusals of non-numeric values."""

import pytest
from astropy.io import fits

from corkit_inpaint import header as H
from corkit_inpaint.exceptions import InputError


def test_number_and_summing():
    h = fits.Header()
    h["OFFSET"], h["LEBXSUM"], h["LEBYSUM"], h["SUMCOL"], h["SUMROW"] = 582.1, 2, 2, 0, 2
    assert H.number(h, "OFFSET") == 582.1 and H.number(h, "MISSING") is None
    assert H.summing(h) == (2, 4)
    assert H.summing(None) == (1, 1) and H.number(None, "OFFSET") is None
    assert H.bias(h) == pytest.approx(4 * 582.1)              # on-board 2x2: four pixels' bias; on-chip: one
    h["EXPTIME"] = 10.0
    assert H.bias_and_exptime(h) == (H.bias(h), 10.0) and H.bias(None) is None
    h["EXPTIME"] = 0.0
    assert H.bias_and_exptime(h) is None
    h["LEBXSUM"] = 1e6                                        # absurd summing is clipped, not an overflow
    assert H.summing(h)[0] == 64
    h["CRPIX1"] = "abc"
    assert H.number(h, "CRPIX1") is None


@pytest.mark.parametrize("key,value", [("OFFSET", "abc"), ("EXPTIME", float("inf")), ("CRPIX1", "x"),
                                       ("SUMROW", "2"), ("R1COL", True), ("EXPTIME", -3.0)])
def test_check_header_refuses(key, value):
    with pytest.raises(InputError, match=key):
        H.check_header({key: value}, "f.fts")


def test_check_header_accepts_a_real_header():
    from helpers import read_real
    H.check_header(read_real()[1], "real")
    assert H.detector({"DETECTOR": " c2 "}) == "C2" and H.detector(None) == ""


@pytest.mark.parametrize("level, calibrated", [("0.5", False), ("L0.5", False), ("Level 0.5", False), ("QL", False),
                                               ("", False), (".5", False), ("05", False), ("L05", False),
                                               ("-1", False), ("C2 0.5", False), ("rev 3, 0.5", False),
                                               ("1.0", True), ("L1", True), ("Level 1", True), ("LEVEL1", True),
                                               ("LVL_1", True), ("2", True), ("L2", True), (1, True)])
def test_level_is_read_by_its_number(level, calibrated):
    assert H.is_level1({"LEVEL": level}) is calibrated
    assert H.level1_marks({"LEVEL": level}) == ({"LEVEL": level} if calibrated else {})


@pytest.mark.parametrize("instrument, other", [("LASCO", False), ("lasco ", False), ("SOHO/LASCO", False),
                                               ("LASCO-C2", False), ("LASCO C2", False), (None, False), ("", False),
                                               ("EIT", True), ("AIA", True), ("LASCOX", True)])
def test_another_instrument_is_one_that_does_not_name_lasco(instrument, other):
    assert H.other_instrument({} if instrument is None else {"INSTRUME": instrument}) is other
