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
