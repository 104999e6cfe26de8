"""Neighbouring frames on the target's grid: Sun centre, roll and plate scale from the headers, DN to DN/s.

A `Neighbour` is another level-0.5 frame of the same field, read only. Its own missing and never-sent blocks,
non-positive and saturated pixels, and any pixels an earlier fill estimated are masked (a frame that says it
was filled but has no mask is left out); it is resampled onto the target frame's pixel grid window by window
(`Neighbour.sample`), so registering costs nothing outside the windows a fill reads.

The mapping from a target pixel to the neighbour's pixels goes through the sky: offset from the target's Sun centre
(CRPIX), rotated by the difference of the rolls (PC1_1 and PC2_1, else CROTA1, CROTA2 or CROTA), scaled by the
ratio of plate scales (summing, CDELT), and added to the neighbour's Sun centre. When that mapping is a whole-pixel
shift within 0.05 px over the window (as for consecutive frames, whose rolls differ by about 0.001 degree), pixels
are copied exactly; otherwise they are interpolated bilinearly, and a target pixel is valid only where all four
neighbour pixels it reads are.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from astropy.io import fits

from . import header as H
from .blocks import find_missing_blocks, zero_block_pixels
from .earlier import check_earlier_mask
from .exceptions import InputError, naming, shown
from .frame import MAX_RATE
from .geometry import frame_centre, nominal_centre, plate_scales, roll_degrees, sun_centre
from .wrap import unwrapped

__all__ = ["Neighbour", "register", "register_all", "data_pixels", "roll_degrees",
           "SATURATION_DN", "MAX_GAP_MINUTES", "check_max_gap"]

log = logging.getLogger(__name__)

#: Default largest time between a frame and a neighbour, in minutes: what pairing takes, what the
#: neighbour models were trained on, and beyond which a neighbour, chosen or given by hand, is left out.
MAX_GAP_MINUTES = 60.0
#: Saturation of one CCD pixel read out (14-bit ADC), in DN; pixels summed on board (LEB) scale it, on-chip
#: summing (one read-out of the summed charge) does not.
SATURATION_DN = 16383.0
_EXACT = 0.05          # px: a mapping this close to a whole-pixel shift copies pixels



def _centre(header, shape) -> tuple[float, float]:
    """`frame_centre`, else the image centre."""
    return frame_centre(header) or ((shape[0] - 1) / 2, (shape[1] - 1) / 2)


#: How many boxes' validity a `Neighbour` remembers (a few MB at most).
_SEEN_BOXES = 256


@dataclass(frozen=True, eq=False)
class Neighbour:
    """Another frame of the same field, ready to be sampled on a target's grid.

    Build it with `register`. Attributes are read-only.

    Attributes
    ----------
    name : str
        Its FILENAME (or the name it was given).
    dt : float
        Its observation time minus the target's, in seconds (nan when either has no time).
    rate : numpy.ndarray
        Its image in DN/s, on its own grid.
    valid : numpy.ndarray of bool
        Where ``rate`` is data.
    matrix : numpy.ndarray
        2x2 map from a target offset ``(dy, dx)`` about the target's Sun centre to the neighbour's.
    target_centre, centre : tuple of float
        ``(cy, cx)`` Sun centres of the target and of the neighbour.
    path : str
        The file it was read from ('' when not known), which log lines name (`called`).
    """

    name: str
    dt: float
    rate: np.ndarray
    valid: np.ndarray
    matrix: np.ndarray
    target_centre: tuple[float, float]
    centre: tuple[float, float]
    path: str = ""
    #: The validity of each box sampled lately (`valid_on`): the fill's windows, then its sigma's cover.
    _seen: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def called(self) -> str:
        """What a log line calls it: its file's path (`shown`) where known, with its ``name`` if the file's differs."""
        return self.name if not self.path else shown(self.path) + ("" if Path(self.path).name == self.name
                                                                   else f" ({self.name})")

    def shifted(self, y0: int, x0: int) -> Neighbour:
        """This neighbour on the grid of the target cut at row ``y0``, column ``x0`` (`Frame.cropped`)."""
        return replace(self, target_centre=(self.target_centre[0] - y0, self.target_centre[1] - x0))

    def coords(self, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Neighbour pixel coordinates ``(y, x)`` of the target pixels in ``box`` = ``(y0, y1, x0, x1)``."""
        y0, y1, x0, x1 = box
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        dy, dx = yy - self.target_centre[0], xx - self.target_centre[1]
        (a, b), (c, d) = self.matrix
        return self.centre[0] + a * dy + b * dx, self.centre[1] + c * dy + d * dx

    def sample(self, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """The neighbour's DN/s and validity on the target pixels of ``box`` = ``(y0, y1, x0, x1)``.

        Returns
        -------
        rate : numpy.ndarray
            float64, 0 where not valid.
        valid : numpy.ndarray of bool
        """
        rate, ok = self._sample(box)
        if len(self._seen) >= _SEEN_BOXES:
            self._seen.clear()
        seen = ok.copy()
        seen.flags.writeable = False
        self._seen[tuple(box)] = seen
        return rate, ok

    def valid_on(self, box: tuple[int, int, int, int]) -> np.ndarray:
        """The validity of `sample` on ``box`` (remembered from the last samples of that box).

        Returns
        -------
        numpy.ndarray of bool
            Not to be written to.
        """
        ok = self._seen.get(tuple(box))
        return self.sample(box)[1] if ok is None else ok

    def _sample(self, box):
        py, px = self.coords(box)
        ny, nx = self.rate.shape
        iy, ix = np.rint(py), np.rint(px)
        if np.abs(py - iy).max(initial=0) < _EXACT and np.abs(px - ix).max(initial=0) < _EXACT:
            iy, ix = iy.astype(np.int64), ix.astype(np.int64)
            inside = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
            iyc, ixc = np.clip(iy, 0, ny - 1), np.clip(ix, 0, nx - 1)
            ok = inside & self.valid[iyc, ixc]
            return np.where(ok, self.rate[iyc, ixc], 0.0), ok
        y0, x0 = np.floor(py).astype(np.int64), np.floor(px).astype(np.int64)
        fy, fx = py - y0, px - x0
        ok = (y0 >= 0) & (y0 + 1 < ny) & (x0 >= 0) & (x0 + 1 < nx)
        y0c, x0c = np.clip(y0, 0, ny - 2), np.clip(x0, 0, nx - 2)
        out = np.zeros(py.shape)
        for oy, ox, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                          (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
            ok &= self.valid[y0c + oy, x0c + ox]
            out += w * self.rate[y0c + oy, x0c + ox]
        return np.where(ok, out, 0.0), ok


def data_pixels(data: np.ndarray, header, previous_fill: np.ndarray | None = None) -> np.ndarray:
    """Pixels of a level-0.5 frame that are data: positive, finite, not saturated, not in a missing block."""
    img = np.asarray(data, dtype=np.float64)
    missing, _ = find_missing_blocks(data, header)
    ok = np.isfinite(img) & (img > 0) & (img < 0.995 * SATURATION_DN * H.leb_summing(header))
    ok &= ~missing & ~zero_block_pixels(img)
    if previous_fill is not None:
        ok &= ~np.asarray(previous_fill, dtype=bool)
    return ok


def register(data: np.ndarray, header, target_header, target_shape: tuple[int, int], *,
             name: str | None = None, previous_fill: np.ndarray | None = None) -> Neighbour:
    """Prepare a neighbouring level-0.5 frame for a target frame.

    Parameters
    ----------
    data : numpy.ndarray
        The neighbour's stored array (DN); only read.
    header : astropy.io.fits.Header
        The neighbour's header: OFFSET and EXPTIME (DN to DN/s, by the target's rule,
        `corkit_inpaint.header.bias_and_exptime`: when the target has none, values are taken as they are), CRPIX,
        CROTA, CDELT or summing.
    target_header : astropy.io.fits.Header
        The target frame's header.
    target_shape : tuple of int
        The target's ``(ny, nx)``.
    name : str, optional
        What to call it in the provenance; its FILENAME by default.
    previous_fill : numpy.ndarray of bool, optional
        Pixels an earlier fill estimated (its INPMASK): not data.

    Raises
    ------
    InputError
        Not a 2-D array, an EXPTIME that is not positive, no OFFSET or EXPTIME where the target has them, a header
        with non-numeric numbers, or one that makes nonsense of the frame (`_check_plausible`).
    """
    img = np.asarray(data)
    if img.ndim != 2:
        raise InputError(f"neighbour {name or ''}: expected a 2-D image, got shape {img.shape}".replace("  ", " "))
    H.check_header(header, where=f"neighbour {name}" if name else "neighbour header")
    label = name or str(H.get(header, "FILENAME", "neighbour")).strip()
    exptime = H.number(header, "EXPTIME")
    if exptime is not None and not exptime > 0:
        raise InputError(f"neighbour {label}: EXPTIME = {exptime} is not positive, so its DN cannot be made DN/s")
    if H.bias_and_exptime(target_header) is None:    # the target is taken as it is (`Frame.build`): so is this
        bias, exptime = 0.0, 1.0
    elif (conv := H.bias_and_exptime(header)) is None:
        raise InputError(f"neighbour {label}: no OFFSET or EXPTIME, so its DN cannot be made DN/s as the target's")
    else:
        bias, exptime = conv
    img = unwrapped(img, header)             # a summed frame's wrapped counts (`corkit_inpaint.wrap`)
    valid = data_pixels(img, header, previous_fill)
    rate = np.where(valid, (img.astype(np.float64) - bias) / exptime, 0.0)
    matrix, target_centre, centre = _sky_mapping(target_header, header, target_shape, img.shape, label)
    _check_plausible(label, header, target_header, img.shape, rate[valid], matrix, centre)
    t0, t1 = H.observation_time(target_header), H.observation_time(header)
    dt = (t1 - t0).total_seconds() if t0 is not None and t1 is not None else float("nan")
    return Neighbour(label, dt, rate, valid, matrix, target_centre, centre)




def _check_plausible(label: str, header, target_header, shape, rates: np.ndarray, matrix, centre) -> None:
    """`InputError` where a neighbour's header makes nonsense of it: an array not of its NAXIS1/2, DN/s beyond any
    frame's (OFFSET, EXPTIME), a roll beyond a turn, a plate scale not the target's up to summing (CDELT), a Sun
    centre far off its image (CRPIX)."""
    naxis = H.number(header, "NAXIS2"), H.number(header, "NAXIS1")
    if None not in naxis and tuple(int(n) for n in naxis) != tuple(shape):
        raise InputError(f"neighbour {label}: its header says NAXIS1/2 = {int(naxis[1])}/{int(naxis[0])}, its "
                         f"array is {shape[1]} x {shape[0]}")
    if not (peak := float(np.max(np.abs(rates), initial=0.0))) <= MAX_RATE:
        raise InputError(f"neighbour {label}: its DN/s reach {peak:.3g}, beyond any frame's (OFFSET or EXPTIME)")
    for who, h in (("its", header), ("the target's", target_header)):
        if not abs(roll := roll_degrees(h)) <= 360.0:
            raise InputError(f"neighbour {label}: {who} roll is {roll:.6g} degrees")
    (st_x, st_y), (sn_x, sn_y) = H.summing(target_header), H.summing(header)
    if not 0.95 <= (ratio := math.sqrt(abs(float(np.linalg.det(matrix))) * sn_x * sn_y / (st_x * st_y))) <= 1.05:
        raise InputError(f"neighbour {label}: its plate scale (CDELT1/2) is {1 / ratio:.4g} times the target's, "
                         "their summing aside: not the same field")
    if not all(-n <= c <= 2 * n for c, n in zip(centre, shape)):
        raise InputError(f"neighbour {label}: its Sun centre ({centre[1]:.6g}, {centre[0]:.6g}) is far off its image")


def _sky_mapping(target_header, header, target_shape, shape, label: str):
    """``(matrix, target centre, centre)`` of `Neighbour`, from the two headers' pointing; `InputError` where the
    two cannot be put on one sky.

    A target offset ``(dy, dx)`` is made arcsec by the target's plate scales
    (y and x), rotated by the difference of the rolls, and made the
    neighbour's pixels by its scales. Both frames need their scale (CDELT, or
    a C2/C3 DETECTOR), or neither (then equal scales are assumed, up to
    summing). Where only one has CRPIX both take the detector's nominal Sun
    centre: LASCO's pointing hardly changes between frames, and mixing a
    measured centre with the nominal one would shift the neighbour by a few
    pixels.
    """
    scales = plate_scales(target_header), plate_scales(header)
    if (scales[0] is None) != (scales[1] is None):
        which = "the target's" if scales[0] is None else "its"
        raise InputError(f"neighbour {label}: {which} plate scale is not known (no CDELT1/2 and no DETECTOR "
                         "C2 or C3), so it cannot be put on the other's grid")
    if scales[0] is None:                  # neither says: the same detector, up to summing
        scales = tuple(tuple(float(s) for s in H.summing(h)[::-1]) for h in (target_header, header))
    (ty, tx), (ny, nx) = scales
    ang = math.radians(roll_degrees(target_header) - roll_degrees(header))
    # (dy, dx) in the target's pixels -> arcsec -> rotated by ang in the (x, y) plane -> the neighbour's pixels
    rot = ((math.cos(ang), math.sin(ang)), (-math.sin(ang), math.cos(ang)))
    matrix = np.array([[rot[i][j] * ((ty, tx)[j] / (ny, nx)[i]) for j in (0, 1)] for i in (0, 1)])
    measured = sun_centre(target_header) is not None, sun_centre(header) is not None
    nominal = nominal_centre(target_header), nominal_centre(header)
    if all(measured) or (not any(measured) and (nominal[0] is None) == (nominal[1] is None)):
        return matrix, _centre(target_header, target_shape), _centre(header, shape)
    if None in nominal:
        raise InputError(f"neighbour {label}: the Sun centre is known (CRPIX1/2, or a C2 or C3 DETECTOR) for only "
                         "one of it and the target, so the two cannot be aligned")
    if any(measured):
        log.warning("neighbouring frame %s: only %s has CRPIX1/2, so both are aligned on the detector's nominal Sun "
                    "centre", label, "the target" if measured[0] else "it")
    return matrix, nominal[0], nominal[1]


def check_max_gap(max_gap, what: str = "max_gap") -> float | None:
    """``max_gap`` as a float (minutes; inf: any), or None (any); a one-line `InputError` (a `ValueError` too)
    where it is not a number (a string, a bool), or negative or NaN."""
    if max_gap is None:
        return None
    if isinstance(max_gap, bool) or not isinstance(max_gap, (int, float, np.integer, np.floating)):
        raise InputError(f"{what} = {max_gap!r}: expected a number of minutes (or None: any)")
    if not max_gap >= 0:
        raise InputError(f"{what} = {max_gap!r} minutes: must be >= 0")
    return float(max_gap)


def _other_kind(header, target_header) -> str | None:
    """How a neighbour's (DETECTOR, FILTER, POLAR) differs from the target's (where both give one), or None."""
    got, want = H.kind(header), H.kind(target_header)
    if all(not g or not w or g == w for g, w in zip(got, want)):
        return None
    return f"{'/'.join(got)}, not the target's {'/'.join(want)}"


def register_all(neighbours, target_header, target_shape: tuple[int, int], *,
                 max_gap: float | None = MAX_GAP_MINUTES) -> list[Neighbour]:
    """`register` each of ``neighbours`` for a target frame; one that cannot help is left out with a warning.

    A neighbour of another detector, filter or polarizer than the target (where
    both headers say), or one `register` refuses (an EXPTIME that is not
    positive, no OFFSET or EXPTIME where the target has them, ...), is left out
    and logged: a neighbour only helps, so the target is filled without it. So
    is one given twice (the same time and data, under any name), and one
    more than ``max_gap`` minutes from the target: the neighbour models
    were trained on frames up to `MAX_GAP_MINUTES` apart, and alone, a frame
    of another day made the network's fill of the real C3 sequence 2 to 14
    times worse than the frame's own (docs/known-limits.md). A neighbour
    whose time from the target is not known (either header lacks DATE-OBS
    with TIME-OBS) cannot be judged, and is left out too unless ``max_gap`` is
    None or infinite.

    Parameters
    ----------
    neighbours : sequence or None
        Each a `Neighbour` (kept as it is), an ``(array, header)`` or ``(array, header, previous_fill)`` tuple, or
        an object with ``data`` and ``header`` attributes (and optionally ``previous_fill``, such as
        `corkit_inpaint.read.Level05`).
    target_header : astropy.io.fits.Header
    target_shape : tuple of int
    max_gap : float or None
        Largest time from the target, in minutes, of a neighbour that is used
        (the default: `MAX_GAP_MINUTES`, as pairing takes); None: any.

    Raises
    ------
    InputError
        An item of another form, or a ``max_gap`` that is not a number >= 0 or None.
    """
    max_gap = check_max_gap(max_gap)
    if isinstance(neighbours, (str, bytes, dict, np.ndarray)) or not hasattr(neighbours or (), "__iter__"):
        raise InputError(f"neighbours: expected a list of (array, header) pairs, got {type(neighbours).__name__}")
    out = []
    for i, item in enumerate(neighbours or ()):
        nb = item if isinstance(item, Neighbour) else _registered(i, item, target_header, target_shape)
        if nb is None:
            continue
        if max_gap is not None and math.isfinite(max_gap) and not math.isfinite(nb.dt):
            log.warning("neighbouring frame %s left out: its time from this frame is not known (DATE-OBS with "
                        "TIME-OBS, in both headers), so the largest gap of %g min cannot be checked (max_gap=None "
                        "or inf uses it; pairing never chooses such a frame)", nb.called, max_gap)
            continue
        if max_gap is not None and abs(nb.dt) > max_gap * 60:
            log.warning("neighbouring frame %s left out: it is %.1f h from this frame, beyond the largest gap "
                        "of %g min (a frame that does not match this one makes the fill worse than the frame "
                        "alone; a larger max_gap or --max-gap uses it)", nb.called, abs(nb.dt) / 3600, max_gap)
            continue
        if (twin := next((o for o in out if _same_frame(o, nb)), None)) is not None:
            log.warning("neighbouring frame %s left out: it is %s again (the same time and data)", nb.called,
                        twin.called)
            continue
        out.append(nb)
    return out


def _same_frame(a: Neighbour, b: Neighbour) -> bool:
    """Whether two registered neighbours are one frame given twice: the same time, grid and data."""
    same_time = a.dt == b.dt or (math.isnan(a.dt) and math.isnan(b.dt))
    return (same_time and a.rate.shape == b.rate.shape and a.centre == b.centre
            and np.array_equal(a.matrix, b.matrix) and np.array_equal(a.valid, b.valid)
            and np.array_equal(a.rate, b.rate))


def _registered(i: int, item, target_header, target_shape) -> Neighbour | None:
    """Item ``i`` of `register_all` (not a `Neighbour`) registered, or None (logged) when it cannot help."""
    if hasattr(item, "data") and hasattr(item, "header"):
        data, hdr, prev = item.data, item.header, getattr(item, "previous_fill", None)
    elif isinstance(item, (tuple, list)) and len(item) in (2, 3):
        data, hdr, prev = (*item, None)[:3]
    else:
        raise InputError(f"neighbour {i + 1}: expected an (array, header) pair, got {type(item).__name__}")
    if not (isinstance(hdr, (Mapping, fits.Header))):
        raise InputError(f"neighbour {i + 1}: its header is {type(hdr).__name__}, not a FITS header or a mapping of "
                         "keywords")
    if prev is not None and np.shape(prev) != np.shape(data):
        raise InputError(f"neighbour {i + 1}: its earlier-fill mask has shape {np.shape(prev)}, image {np.shape(data)}")
    path = getattr(item, "path", None)            # a file read without FILENAME is named by its file
    label = str(H.get(hdr, "FILENAME", "") or "").strip() or (Path(path).name if path else f"neighbour {i + 1}")
    label = H.printable(label, "?")                 # it goes into FITS cards
    if (why := _other_kind(hdr, target_header)) is not None:
        log.warning("%s", naming(path or "", f"neighbouring frame {label} left out: {why}"))
        return None
    try:       # an earlier fill's estimates, with no mask to say which pixels: not to be read as data
        check_earlier_mask(hdr, prev, f"neighbouring frame {label}")
        nb = register(data, hdr, target_header, target_shape, name=label, previous_fill=prev)
    except InputError as exc:
        log.warning("neighbouring frame left out: %s", naming(path or "", str(exc)))
        return None
    return replace(nb, path=str(path)) if path else nb
