"""Typed, checked lookups of the FITS keywords the fill reads (numbers, summing, detector, time)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from astropy.io import fits

from .exceptions import InputError

__all__ = ["NUMERIC_KEYWORDS", "SKY_KEYWORDS", "printable", "get", "number", "summing", "field_shape", "leb_summing",
           "detector",
           "word", "kind", "bias", "bias_and_exptime", "level1_marks", "other_instrument", "is_level1", "check_header",
           "check_header_type", "observation_time", "says_filled", "count", "FILL_KEYWORDS", "exposure"]

#: Keywords read as numbers; `check_header` refuses a non-numeric or non-finite value.
NUMERIC_KEYWORDS = ("OFFSET", "EXPTIME", "CRPIX1", "CRPIX2", "LEBXSUM", "LEBYSUM", "SUMROW", "SUMCOL",
                    "R1COL", "R1ROW")
_MAX_SUM = 64        # LASCO sums at most 2x2 on board and a few times on the ground
#: Keywords the roll is read from (`corkit_inpaint.geometry.roll_degrees`): a value that is no finite number would
#: be passed over for the next, and a neighbour turned by the wrong roll.
ROLL_KEYWORDS = ("PC1_1", "PC2_1", "CDELT1", "CDELT2", "CROTA1", "CROTA2", "CROTA")
#: Keywords the fill reads: one that appears twice with two values is refused (astropy would read the first).
_READ_ONCE = ("DETECTOR", "FILTER", "POLAR", "DATE-OBS", "TIME-OBS", "DATE_OBS", *NUMERIC_KEYWORDS, *ROLL_KEYWORDS)
#: Keywords an extension repeats from the image's header, so that it lies on the sky as the image does: a
#: `sunpy.map.Map` of the file makes a map of every image extension and needs them, and viewers use them too.
SKY_KEYWORDS = ("WCSAXES", "CTYPE1", "CTYPE2", "CUNIT1", "CUNIT2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2",
                "CDELT1", "CDELT2", "CROTA", "CROTA1", "CROTA2", "PC1_1", "PC1_2", "PC2_1", "PC2_2", "LONPOLE",
                "LATPOLE", "RSUN", "DSUN_OBS", "HGLN_OBS", "HGLT_OBS", "DATE-OBS", "TIME-OBS", "DATE_OBS",
                "TELESCOP", "INSTRUME", "DETECTOR")
#: An earlier fill's keywords that say whether it estimated pixels (`says_filled`), read from every input.
FILL_KEYWORDS = ("INPAINT", "INPNPIX")


def printable(text: str, fill: str) -> str:
    """``text`` with each character a FITS card cannot hold (not printable ASCII) replaced by ``fill``."""
    return "".join(ch if 32 <= ord(ch) < 127 else fill for ch in text)


def get(header, key: str, default=None):
    """``header[key]``, or ``default`` when there is no header, no such key or a null value."""
    if header is None:
        return default
    try:
        val = header.get(key, default)
    except Exception:  # pragma: no cover - exotic header objects
        return default
    return default if val is None else val


def number(header, key: str) -> float | None:
    """The keyword as a finite float, or None when absent, not a number (a string too) or not finite."""
    val = get(header, key)
    if val is None or isinstance(val, (bool, str, bytes)):
        return None
    try:
        out = float(val)
    except (TypeError, ValueError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def count(header, key: str) -> int:
    """The keyword as a count (``INPNBLK``, ``INPNPIX``): a whole number >= 0, else 0 (absent, text, negative,
    fractional, not finite). A refill that fills nothing new keeps the input's keywords, whatever they hold."""
    v = number(header, key)
    return int(v) if v is not None and v >= 0 and v == int(v) else 0


def _factor(header, key: str) -> int:
    v = number(header, key)
    return 1 if v is None else int(min(max(v, 1.0), _MAX_SUM))


def summing(header) -> tuple[int, int]:
    """On-board times ground summing ``(x, y)``, each clipped to 1..64 (SUMCOL/SUMROW 0 means none)."""
    return (_factor(header, "LEBXSUM") * _factor(header, "SUMCOL"),
            _factor(header, "LEBYSUM") * _factor(header, "SUMROW"))


def field_shape(header) -> tuple[int, int] | None:
    """The ``(nx, ny)`` of the image the header's field (R1COL..R2COL, R1ROW..R2ROW) and `summing` give; None
    where one of the four is missing."""
    sx, sy = summing(header)
    c1, c2, r1, r2 = (number(header, k) for k in ("R1COL", "R2COL", "R1ROW", "R2ROW"))
    return None if None in (c1, c2, r1, r2) else (round((c2 - c1 + 1) / sx), round((r2 - r1 + 1) / sy))


def leb_summing(header) -> int:
    """How many read-out pixels one stored pixel sums on board (LEBXSUM times LEBYSUM, each 1..64).

    On-chip summing (SUMROW, SUMCOL) sums charge before the pixel is read
    out once, so it multiplies neither the bias nor the saturation level.
    """
    return _factor(header, "LEBXSUM") * _factor(header, "LEBYSUM")


def detector(header) -> str:
    """``DETECTOR`` stripped and upper-cased ('' when absent)."""
    return str(get(header, "DETECTOR", "")).strip().upper()


def word(header, key: str) -> str:
    """A text keyword stripped and upper-cased ('' when absent)."""
    return str(get(header, key, "")).strip().upper()


def says_filled(header) -> bool:
    """Whether ``header`` says corkit-inpaint estimated pixels in it: ``INPAINT`` present, ``INPNPIX`` not 0 (and,
    without ``INPNPIX``, ``INPAINT`` not ``none``)."""
    if "INPAINT" not in header:
        return False
    npix = number(header, "INPNPIX")
    return not (npix == 0 or (npix is None and word(header, "INPAINT") in ("", "NONE")))


def kind(header) -> tuple[str, str, str]:
    """``(DETECTOR, FILTER, POLAR)``: frames of different kinds do not show the same brightness."""
    return detector(header), word(header, "FILTER"), word(header, "POLAR")


def exposure(header) -> str:
    """What a frame shows: ``"lamp"`` with a calibration lamp on (``LAMP`` not 0) or a lamp program
    (``LP_NUM``), ``"dark"`` for a dark program, else ``"corona"``. Pairing pairs only frames of one
    (`corkit_inpaint.pairing.FrameInfo`; battery s37: a lamp frame of the same kind was taken as the nearest
    neighbour, ahead of a frame of the corona)."""
    program = word(header, "LP_NUM")
    if number(header, "LAMP") or "LAMP" in program:
        return "lamp"
    return "dark" if "DARK" in program else "corona"


def bias(header) -> float | None:
    """The bias of one stored pixel in DN: OFFSET (one CCD pixel's) times the on-board summing, or None.

    A 2x2 LEB-summed pixel is the sum of four read-out pixels, each with its
    bias (SolarSoft's ``offset_bias(/SUM)``; the real summed C2 frame's
    lowest pixel is 2359 DN with OFFSET 582). On-chip summing (SUMROW,
    SUMCOL) reads the summed charge once, so it does not multiply the bias.
    """
    off = number(header, "OFFSET")
    return None if off is None else off * leb_summing(header)


def bias_and_exptime(header) -> tuple[float, float] | None:
    """``(bias, EXPTIME)`` that make DN into DN/s (`bias`), or None when either is missing or EXPTIME is not positive.

    The target frame (`corkit_inpaint.frame.Frame.build`) and its neighbours
    (`corkit_inpaint.register.register`) use this one rule, so both are in the
    same unit; without it values are taken as they are.
    """
    b, exptime = bias(header), number(header, "EXPTIME")
    if b is None or exptime is None or not exptime > 0:
        return None
    return b, exptime


#: A processing level: a number, bare or after L, LVL or LEVEL (``word`` upper-cases it).
_LEVEL = re.compile(r"(?:(?:LEVEL|LVL|L)[\s_-]*)?([-+]?(?:\d+\.?\d*|\.\d+))")


def level1_marks(header) -> dict:
    """What says the header is of a calibrated (level 1 or later) file: ``{keyword: value}``, empty for none.

    ``LEVEL`` that is a number of 1 or more, bare or after ``L``, ``LVL`` or
    ``LEVEL`` (``'1.0'``, ``'L1'``, ``'Level 1'``, ``'LEVEL2'``; level-0.5
    files say ``'0.5'``; a text that is not such a number, or a number written
    with a leading zero such as ``'05'``, is no mark), ``BUNIT`` MSB, any
    ``LVL_NUM``, or corkit's ``LEVEL_1`` set to anything but 0 or False.
    """
    marks = {}
    level = _LEVEL.fullmatch(word(header, "LEVEL"))
    if level and not re.match(r"0\d", level.group(1)) and float(level.group(1)) >= 1:
        marks["LEVEL"] = get(header, "LEVEL")
    if word(header, "BUNIT") == "MSB":
        marks["BUNIT"] = get(header, "BUNIT")
    if get(header, "LVL_NUM") is not None:
        marks["LVL_NUM"] = get(header, "LVL_NUM")
    if get(header, "LEVEL_1") not in (None, 0, False):
        marks["LEVEL_1"] = get(header, "LEVEL_1")
    return marks


def other_instrument(header) -> bool:
    """Whether ``INSTRUME`` names an instrument and LASCO is not a word of it (``'SOHO/LASCO'``, ``'LASCO C2'`` are
    LASCO; no ``INSTRUME`` is not another instrument)."""
    instrument = word(header, "INSTRUME")
    return bool(instrument) and re.search(r"\bLASCO\b", instrument) is None


def is_level1(header) -> bool:
    """Whether the header is of a calibrated file (`level1_marks`)."""
    return bool(level1_marks(header))


def check_header(header, where: str = "header") -> None:
    """Refuse numeric keywords that are not finite numbers, and cards the output repeats (`SKY_KEYWORDS`, BUNIT)
    or an earlier fill's (`FILL_KEYWORDS`) that astropy cannot parse (one-line `InputError`).

    Parameters
    ----------
    header : mapping or None
    where : str
        What to name in the message (a file name).
    """
    if header is None:
        return
    for key in NUMERIC_KEYWORDS:
        if not _parses(header, key):
            raise InputError(f"{where}: keyword {key} cannot be read as a number (an unparsable card, such as "
                             "NAN or INF without quotes)")
        val = get(header, key)
        if val is not None and number(header, key) is None:
            raise InputError(f"{where}: keyword {key} = {val!r} is not a finite number")
    exptime = number(header, "EXPTIME")
    if exptime is not None and exptime < 0:
        raise InputError(f"{where}: keyword EXPTIME = {exptime!r} is negative")
    for key in ("LEBXSUM", "LEBYSUM", "SUMCOL", "SUMROW"):
        v = number(header, key)
        if v is not None and not (0 <= v <= _MAX_SUM and v == int(v)):
            raise InputError(f"{where}: keyword {key} = {v!r} is not a summing factor (whole, 0 to {_MAX_SUM})")
    for key in ROLL_KEYWORDS:
        val = get(header, key) if _parses(header, key) else None     # an unparsable one is named below
        if val is not None and number(header, key) is None:
            raise InputError(f"{where}: keyword {key} = {val!r} is not a finite number (the roll is read from it)")
        if key.startswith("CROTA") and val is not None and abs(val) > 360:
            raise InputError(f"{where}: keyword {key} = {val!r} is not a roll angle (degrees, -360 to 360)")
    _check_once(header, where)
    for key in (*SKY_KEYWORDS, "BUNIT", *FILL_KEYWORDS):   # the output repeats the first, the checks of an earlier
        if not _parses(header, key):                       # fill read the last: unparsable, each was a traceback
            raise InputError(f"{where}: keyword {key} has a value that cannot be read (an unparsable card, such as "
                             "NAN or INF without quotes)")


def _check_once(header, where: str) -> None:
    """Refuse a keyword the fill reads (`_READ_ONCE`) that the header has twice with two values."""
    if not isinstance(header, fits.Header):         # a mapping holds each key once
        return
    seen: dict[str, object] = {}
    for card in header.cards:
        if card.keyword in _READ_ONCE:
            try:
                val = card.value
            except Exception:                       # noqa: BLE001 - unparsable: `check_header` names it
                continue
            if seen.setdefault(card.keyword, val) != val:
                raise InputError(f"{where}: keyword {card.keyword} appears more than once, with two values "
                                 f"({seen[card.keyword]!r} and {val!r}); astropy would read the first")


def _parses(header, key: str) -> bool:
    """Whether ``key`` is absent, or its card can be read (astropy cannot parse ``EXPTIME = NAN``)."""
    try:
        if key in header:
            header[key]
    except Exception:                       # noqa: BLE001 - astropy's VerifyError, or an exotic header's own
        return False
    return True


def check_header_type(header) -> None:
    """A one-line `InputError` unless ``header`` is None, an `astropy.io.fits.Header` or a mapping."""
    if header is not None and not isinstance(header, (fits.Header, Mapping)):
        raise InputError(f"header: expected an astropy.io.fits.Header or a mapping, got {type(header).__name__}")


def observation_time(header) -> datetime | None:
    """Start of the exposure (naive UTC) from DATE-OBS, and TIME-OBS when DATE-OBS has no time; or None.

    DATE-OBS (else DATE_OBS, which LASCO level-1 headers also carry) may be
    ``YYYY-MM-DDThh:mm:ss``, ``YYYY/MM/DD hh:mm:ss`` or a date alone with
    the time in TIME-OBS; a date with no time anywhere, or one that does not
    parse, gives None (an unknown time is not midnight). A time with a zone
    is converted to UTC. A leap second (``23:59:60.5``) is read as the
    matching instant after ``23:59:59`` and ``24:00:00`` as the next midnight:
    the time from a neighbour is off by at most the leap second. A time that
    these or the zone take past year 1 or 9999 gives None too.
    """
    tobs = str(get(header, "TIME-OBS", "")).strip()
    for key in ("DATE-OBS", "DATE_OBS"):
        t = _parse_time(str(get(header, key, "")), tobs)
        if t is not None:
            return t
    return None


def _parse_time(date: str, tobs: str) -> datetime | None:
    """`observation_time` of one date keyword's text and TIME-OBS's."""
    date = date.strip().replace("/", "-").replace(" ", "T").rstrip("Z")
    if not date or ("T" not in date and not tobs):
        return None
    date = date if "T" in date else f"{date}T{tobs}"
    # ISO's 24:00:00 and a leap second's :60 are valid times datetime cannot hold: carried over by hand
    m = re.fullmatch(r"(.{10}T)(\d\d):(\d\d):(\d\d)(.*)", date)
    carry = timedelta(0)
    if m and m[2] == "24" and m[3] == "00" and m[4] == "00" and not m[5].strip(".0"):
        date, carry = f"{m[1]}00:00:00{m[5]}", timedelta(days=1)
    elif m and m[4] == "60":
        date, carry = f"{m[1]}{m[2]}:{m[3]}:59{m[5]}", timedelta(seconds=1)
    try:
        t = datetime.fromisoformat(date[:26] if "+" not in date[10:] and "-" not in date[10:] else date) + carry
        return t.astimezone(timezone.utc).replace(tzinfo=None) if t.tzinfo is not None else t
    except (ValueError, OverflowError):     # OverflowError: carried or moved to UTC past year 1 or 9999
        return None
