"""Typed header lookups: numbers, summing, observation times, and refusals of non-numeric values."""

from datetime import datetime

import pytest
from astropy.io import fits

from corkit_inpaint import header as H
from corkit_inpaint.exceptions import InputError
from corkit_inpaint.header import observation_time


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
                                       ("SUMROW", "2"), ("R1COL", True), ("EXPTIME", -3.0),
                                       ("CROTA1", "abc"), ("CROTA1", 1e300), ("CROTA2", -361.0), ("CROTA", "1"),
                                       ("PC2_1", float("nan")), ("CDELT1", "x")])
def test_check_header_refuses(key, value):
    with pytest.raises(InputError, match=key):
        H.check_header({key: value}, "f.fts")


def test_a_roll_keyword_that_is_no_number_is_refused_not_passed_over():
    """Battery s34: CROTA1 = 'abc' was passed over for CROTA2 (or a roll of 0), and a neighbour turned by it."""
    from corkit_inpaint.geometry import roll_degrees
    h = fits.Header({"CROTA1": "abc", "CROTA2": 30.0})
    assert roll_degrees(h) == 30.0                            # what a fill would have used
    with pytest.raises(InputError, match="CROTA1 = 'abc' is not a finite number"):
        H.check_header(h, "f.fts")
    H.check_header(fits.Header({"CROTA1": -359.5, "PC1_1": 1.0, "PC2_1": 0.0}), "f.fts")


def test_a_keyword_the_fill_reads_twice_with_two_values_is_refused():
    """Battery s34: DETECTOR 'C2' then 'C3' was read as C2 in silence."""
    h = fits.Header([("DETECTOR", "C2"), ("OFFSET", 400.0), ("DETECTOR", "C3")])
    with pytest.raises(InputError, match=r"DETECTOR appears more than once, with two values \('C2' and 'C3'\)"):
        H.check_header(h, "f.fts")
    H.check_header(fits.Header([("DETECTOR", "C2"), ("DETECTOR", "C2"), ("HISTORY", "a"), ("HISTORY", "b")]), "f")


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


def test_observation_time_reads_date_and_time():
    assert observation_time({"DATE-OBS": "2012/08/31", "TIME-OBS": "18:42:05.474"}) == \
        datetime(2012, 8, 31, 18, 42, 5, 474000)
    assert observation_time({"DATE-OBS": "2012-08-31T18:42:05.474Z"}) == datetime(2012, 8, 31, 18, 42, 5, 474000)
    assert observation_time({"DATE-OBS": "yesterday"}) is None and observation_time({}) is None


def test_observation_time_forms_and_unknown_times():
    t = datetime(2012, 8, 31, 18, 6, 6, 298000)
    assert observation_time({"DATE-OBS": "2012/08/31 18:06:06.298"}) == t             # LASCO's DATE form
    assert observation_time({"DATE-OBS": "2012-08-31T20:06:06.298+02:00"}) == t      # a zone: to naive UTC
    assert observation_time({"DATE-OBS": "2012-08-31"}) is None                       # no time: not midnight
    assert observation_time({"DATE-OBS": "2012-08-31", "TIME-OBS": " "}) is None


def test_observation_time_underscore_key_leap_second_and_midnight():
    t = datetime(2012, 8, 31, 18, 6, 6, 298000)
    assert observation_time({"DATE_OBS": "2012-08-31T18:06:06.298"}) == t            # level-1's keyword
    assert observation_time({"DATE-OBS": "2012/08/31", "DATE_OBS": "2012-08-31T18:06:06.298"}) == t
    assert observation_time({"DATE-OBS": "2016-12-31T23:59:60.500"}) == datetime(2017, 1, 1, 0, 0, 0, 500000)
    assert observation_time({"DATE-OBS": "2016/12/31", "TIME-OBS": "23:59:60"}) == datetime(2017, 1, 1)
    assert observation_time({"DATE-OBS": "2012-08-31T24:00:00.000"}) == datetime(2012, 9, 1)
    assert observation_time({"DATE-OBS": "2012-08-31T24:00:01"}) is None            # not a time
    assert observation_time({"DATE-OBS": "2012-08-31T23:59:61"}) is None
