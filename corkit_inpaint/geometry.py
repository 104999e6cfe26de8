"""Where the Sun, the occulter and the field stop fall on the stored array."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import header as H
from .exceptions import InputError

__all__ = ["Geometry", "FIELD_RSUN_V1", "optical_geometry", "sun_centre", "nominal_centre", "frame_centre",
           "plate_scales", "check_plate_scale", "roll_degrees", "RSUN_PX", "ARCSEC_PX", "ZONES", "ZONE_NAMES",
           "zone_map", "zone_of"]

#: Nominal solar radius in full-resolution (1024x1024, unsummed) CCD pixels.
RSUN_PX = {"C2": 80.7, "C3": 17.1}
#: Nominal plate scale of a full-resolution CCD pixel, arcsec.
ARCSEC_PX = {"C2": 11.9, "C3": 56.0}
_OCCULTER_RSUN = {"C2": 1.5, "C3": 3.0}    # shadow core, inside the occulter
# A block lying wholly inside this radius is behind the occulter. On the real full-resolution
# C2 frame (2001-10-23) every never-sent block near the occulter lies wholly inside 1.92 Rsun,
# and the transmitted blocks nearest to it reach out to 1.91 Rsun or more.
_BEHIND_RSUN = {"C2": 1.95, "C3": 3.0}
# The field stop: beyond it nothing is sent. On the real frames the C2 corona is still 1000-1900 DN above
# the bias at 6.3-8 Rsun in the corners, and the never-sent corner blocks start at block centres of 8.35 Rsun;
# C3 has signal out to 32.5 Rsun and its never-sent blocks start at 31.5 Rsun, where the no-signal rule
# (`corkit_inpaint.blocks`) leaves them on the real frames; the simulator's summed C3 frames have never-sent
# blocks at 32.51-32.84 Rsun with stray light around them, taken for losses by a cut at 33. Versions up to 0.1.8
# took 6.3 and 30 (`FIELD_RSUN_V1`).
_FIELD_RSUN = {"C2": 8.2, "C3": 32.4}
#: The field stop of the block finder's rules 1 and 2, with which the shipped weights' training and evaluation
#: masks were drawn (`corkit_inpaint.training.loss_masks.eligible_blocks`).
FIELD_RSUN_V1 = {"C2": 6.3, "C3": 30.0}
#: Radial zone edges in solar radii: inner, mid and outer field (evaluation and uncertainty use them).
ZONES = {"C2": (2.2, 3.2, 4.5, 6.0), "C3": (4.0, 8.0, 16.0, 28.0)}
ZONE_NAMES = ("inner", "mid", "outer")
_NOMINAL_CENTRE = {"C2": (512.0, 506.0), "C3": (516.0, 532.0)}   # (x, y), 0-based


@dataclass(frozen=True)
class Geometry:
    """A detector's optical geometry on the stored array, in stored pixels (0-based).

    Attributes
    ----------
    detector : str
        ``"C2"`` or ``"C3"``.
    cx, cy : float
        Sun centre.
    rsun : float
        Solar radius in stored pixels.
    r_occ, r_field : float
        Radii of the occulter's shadow core and of the field stop.
    r_behind : float
        A block lying wholly inside this radius is behind the occulter.
    """

    detector: str
    cx: float
    cy: float
    rsun: float
    r_occ: float
    r_field: float
    r_behind: float


def sun_centre(header) -> tuple[float, float] | None:
    """``(cy, cx)``, 0-based, from CRPIX2/CRPIX1, or None."""
    c1, c2 = H.number(header, "CRPIX1"), H.number(header, "CRPIX2")
    return None if c1 is None or c2 is None else (c2 - 1.0, c1 - 1.0)


def optical_geometry(header) -> Geometry | None:
    """Occulter and field-stop geometry on the stored array.

    Parameters
    ----------
    header : mapping or None
        A LASCO header: DETECTOR, CRPIX1/2 (else the nominal centre moved by
        R1COL/R1ROW), summing (LEBXSUM/LEBYSUM, SUMCOL/SUMROW).

    Returns
    -------
    Geometry or None
        None when the header does not name C2 or C3.
    """
    det = H.detector(header)
    if det not in RSUN_PX:
        return None
    sx, sy = H.summing(header)
    cy, cx = sun_centre(header) or nominal_centre(header)
    rsun = RSUN_PX[det] / (0.5 * (sx + sy))
    return Geometry(det, cx, cy, rsun, _OCCULTER_RSUN[det] * rsun, _FIELD_RSUN[det] * rsun,
                    _BEHIND_RSUN[det] * rsun)


def nominal_centre(header) -> tuple[float, float] | None:
    """``(cy, cx)``, 0-based: the detector's nominal Sun centre moved by R1COL/R1ROW and summing (C2, C3; else None)."""
    det = H.detector(header)
    if det not in _NOMINAL_CENTRE:
        return None
    sx, sy = H.summing(header)
    ncx, ncy = _NOMINAL_CENTRE[det]
    r1col = (H.number(header, "R1COL") or 20.0) - 20.0   # CCD columns start at 20
    r1row = (H.number(header, "R1ROW") or 1.0) - 1.0
    return (ncy - r1row) / sy, (ncx - r1col) / sx


def frame_centre(header, geometry: Geometry | None = None) -> tuple[float, float] | None:
    """``(cy, cx)``: CRPIX when the header has it, else the detector's nominal centre, else None.

    ``geometry`` is the header's `optical_geometry` when the caller has it already.
    """
    centre = sun_centre(header)
    if centre is None:
        geo = optical_geometry(header) if geometry is None else geometry
        centre = None if geo is None else (geo.cy, geo.cx)
    return centre


def plate_scales(header) -> tuple[float, float] | None:
    """Arcsec per stored pixel ``(y, x)``: CDELT2 and CDELT1 (either alone for both), else the detector's
    nominal scale times the summing; None when the header gives neither (no positive CDELT, not C2 or C3)."""
    c1, c2 = (v if v is not None and v > 0 else None for v in (H.number(header, "CDELT1"), H.number(header, "CDELT2")))
    if c1 is not None or c2 is not None:
        return (c2 or c1, c1 or c2)
    if H.detector(header) not in ARCSEC_PX:
        return None
    sx, sy = H.summing(header)
    return ARCSEC_PX[H.detector(header)] * sy, ARCSEC_PX[H.detector(header)] * sx


#: Arcsec per unit of CDELT, by CUNIT (lower case; none given: arcsec).
_ARCSEC_PER = {"arcsec": 1.0, "": 1.0, "deg": 3600.0, "arcmin": 60.0}


def check_plate_scale(header, where: str = "header") -> None:
    """Refuse (one-line `InputError`) a level-0.5 header whose CDELT1/2 is not its DETECTOR's plate scale times
    1, 2, 4 ... 64 within 10%: a C2 frame whose header said C3 (11.9 against 56 arcsec/px) was filled as C3, in
    blocks that were never sent. Where the header gives its summing along an axis (LEBXSUM, SUMCOL; LEBYSUM,
    SUMROW), that multiple must be the summing (`corkit_inpaint.header.summing`), and no other than resampling the
    field to NAXIS makes (`_resampled_from_field`): a map superpixelled or resampled after read-out (sunpy keeps
    LEBXSUM and scales CDELT) has lost blocks of another size than 32x32, which no block rule finds, so it came back
    unfilled without a word. A CDELT that is not positive (which `plate_scales` ignores), or
    in a unit other than arcsec, deg or arcmin (CUNIT1/2), is not judged."""
    det = H.detector(header) if header is not None else None
    if det not in ARCSEC_PX:
        return
    for key, unit in (("CDELT1", "CUNIT1"), ("CDELT2", "CUNIT2")):
        v, cunit = H.number(header, key), str(H.get(header, unit, "arcsec")).strip().lower()
        if v is None or not v > 0 or cunit not in _ARCSEC_PER:
            continue
        ratio = v * _ARCSEC_PER[cunit] / ARCSEC_PX[det]
        if not any(0.9 <= ratio / 2 ** k <= 1.1 for k in range(7)):
            raise InputError(f"{where}: DETECTOR = {det!r} with {key} = {v:.6g} {cunit}/px, where {det}'s plate "
                             f"scale is {ARCSEC_PX[det]:g} arcsec/px times its summing: the header contradicts itself")
        said, total = _summing_said(header, key)
        if said and (not 0.9 <= ratio / total <= 1.1 or _resampled_from_field(header, key, ratio / total)):
            raise InputError(f"{where}: {key} = {v:.6g} {cunit}/px is {ratio / total:.3g} times {det}'s plate scale "
                             f"({ARCSEC_PX[det]:g} arcsec/px) times its summing ({said} = {total}): the image was "
                             "resampled after read-out (or its summing keywords are wrong), so its lost telemetry "
                             "blocks are no longer 32x32 pixels; fill it before resampling")


def _resampled_from_field(header, key: str, ratio: float) -> bool:
    """Whether ``ratio`` (CDELT over the plate scale times the summing) is what resampling the header's field
    (`corkit_inpaint.header.field_shape`) to the image's NAXIS would make, and not 1: within 10% of 1 it is caught
    so (review s37: a map resampled to 1000, 960 or 1100 px passed). A crop keeps its CDELT (ratio 1)."""
    field, n = H.field_shape(header), H.number(header, "NAXIS1" if key == "CDELT1" else "NAXIS2")
    if field is None or not n:
        return False
    grown = field[0 if key == "CDELT1" else 1] / n
    return abs(grown - 1) > 0.005 and abs(ratio / grown - 1) < 0.005


def _summing_said(header, key: str) -> tuple[str, int]:
    """The summing keywords along ``key``'s axis (CDELT1: LEBXSUM, SUMCOL) that ``header`` gives, and the
    summing they make (`corkit_inpaint.header.summing`); ``("", 1)`` where it gives neither."""
    names = ("LEBXSUM", "SUMCOL") if key == "CDELT1" else ("LEBYSUM", "SUMROW")
    said = [n for n in names if H.number(header, n) is not None]
    return " x ".join(said), H.summing(header)[0 if key == "CDELT1" else 1]


def zone_of(y: np.ndarray, x: np.ndarray, geometry) -> np.ndarray:
    """The index in `ZONE_NAMES` of the zone of each pixel ``(y, x)`` (-1 outside the zones)."""
    r = np.hypot(np.asarray(x) - geometry.cx, np.asarray(y) - geometry.cy) / geometry.rsun
    edges = np.asarray(ZONES[geometry.detector])
    z = np.searchsorted(edges, r, side="right") - 1
    return np.where((r >= edges[0]) & (r < edges[-1]), z, -1).astype(np.int8)


def zone_map(shape: tuple[int, int], geometry) -> np.ndarray | None:
    """Per pixel, the index of its zone in `ZONE_NAMES` (-1 outside them); None without a C2/C3 geometry."""
    if geometry is None:
        return None
    yy, xx = np.indices(shape)
    return zone_of(yy, xx, geometry)


def roll_degrees(header) -> float:
    """The roll angle: from PC1_1 and PC2_1 when the header has them (FITS reads them before CROTA; a SunPy map's
    ``rotate`` keeps its roll there and drops CROTA), else CROTA1, else CROTA2, else CROTA, else 0."""
    pc11, pc21 = H.number(header, "PC1_1"), H.number(header, "PC2_1")
    if pc11 is not None and pc21 is not None and (pc11 or pc21):
        cd1, cd2 = H.number(header, "CDELT1"), H.number(header, "CDELT2")
        aspect = cd2 / cd1 if cd1 and cd2 else 1.0          # PC2_1 is sin(roll) * CDELT1 / CDELT2
        return math.degrees(math.atan2(pc21 * aspect, pc11))
    for key in ("CROTA1", "CROTA2", "CROTA"):
        v = H.number(header, key)
        if v is not None:
            return v
    return 0.0
