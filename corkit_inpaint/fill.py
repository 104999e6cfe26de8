"""The fill step: run a method on a frame, check its result, and apply it to a level-0.5 image.

`run_method` is where every method's result is checked: a method may only
change missing pixels, must give finite values there, and every valid pixel of
the result is copied from the input, so it is bit-identical.
`fill_level05` is the step `inpaint_fits` and `level_1` share: find the blocks,
fill them, cast back to the input's data type, and carry the method's per-pixel
1-sigma (and, in a refill, the earlier fill's) into `FilledImage.sigma`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from . import header as H
from .blocks import blocks_in, blocks_of, find_missing_blocks, off_grid_zero_blocks, zero_blocks, zero_blocks_in_field
from .exceptions import MethodError
from .frame import Frame, implausible
from .geometry import optical_geometry
from .match import same_level
from .methods import FillMethod, FillResult, Provenance, get_method
from .network.device import select_device
from .register import MAX_GAP_MINUTES, SATURATION_DN, Neighbour, check_max_gap, register_all
from .uncertainty import probe
from .wrap import unwrapped, wrapped_values, wraps

__all__ = ["as_method", "run_method", "FilledImage", "fill_level05", "cast_filled", "below_saturation",
           "warn_of_blocks"]

log = logging.getLogger(__name__)


def as_method(method: str | FillMethod) -> FillMethod:
    """The method registered under ``method``, or ``method`` itself when it is a `FillMethod` instance."""
    return method if isinstance(method, FillMethod) else get_method(method)


def run_method(method: str | FillMethod, frame: Frame, *, neighbours: Sequence[Neighbour] = (),
               device: str = "auto", weights=None, check_sigma: bool = True, warn_alone: bool = True) -> FillResult:
    """Run a method on ``frame`` and check what it returns.

    With ``check_sigma`` (the default), a method's 1-sigma is checked on valid
    blocks of the frame blanked and filled the same way, and rescaled
    (`corkit_inpaint.uncertainty.probe`): ``provenance.sigma_factor`` and
    ``provenance.sigma_blocks`` say by how much and on how many blocks (and
    ``provenance.sigma_factor_alone`` by how much for holes a neighbour fill
    took from the frame alone, checked apart), and ``how`` says so for HISTORY. Only the sigma changes. False gives the
    method's own sigma (fitting the error tables needs it; a caller that
    reads only the values saves the time). A neighbour fill (`FillMethod.alone`) that read no neighbouring
    frame says so in ``how``, and with ``warn_alone`` (the default) in a logged warning too (`evaluate`'s
    runs alone by design leave it out).

    Returns
    -------
    FillResult
        ``values`` equals ``frame.image`` outside ``filled``, exactly.

    Raises
    ------
    MethodError
        Unknown method, or a result of the wrong type or shape, filling pixels
        that are not missing, with non-finite filled values, or with a NaN or
        negative 1-sigma on a filled pixel (an infinite one is accepted).
    """
    m = as_method(method)
    if device != "auto":        # checked whatever the method (battery s36: "bogus" passed with biharmonic)
        select_device(device)
    if weights is not None and not m.takes_weights:
        log.warning("method %r runs no network: the weights given (%s) are not used", m.name, weights)
    res = m.fill(frame, neighbours=neighbours, device=device, weights=weights)
    if not isinstance(res, FillResult):
        raise MethodError(f"method {m.name!r} returned {type(res).__name__}, not a FillResult")
    vals = np.asarray(res.values, dtype=np.float64)
    filled = np.asarray(res.filled, dtype=bool)
    if vals.shape != frame.shape or filled.shape != frame.shape:
        raise MethodError(f"method {m.name!r} returned shape {vals.shape}, expected {frame.shape}")
    at = np.flatnonzero(filled)         # the filled pixels, in the order a boolean index takes them, found once
    if not _taken(np.asarray(frame.missing), at).all():
        raise MethodError(f"method {m.name!r} claims to fill pixels that are not missing")
    fv = _taken(vals, at)
    if not np.all(np.isfinite(fv)):
        raise MethodError(f"method {m.name!r} produced NaN or inf in the filled pixels")
    out = frame.image.copy()
    out.reshape(-1)[at] = fv
    if m.alone and at.size and not res.provenance.neighbours:     # a neighbour fill that had none to read
        res = replace(res, how="; ".join(n for n in (res.how, _alone(m, neighbours, warn_alone)) if n))
    sigma = None
    if res.sigma is not None:
        if np.shape(res.sigma) != frame.shape:
            raise MethodError(f"method {m.name!r} returned a 1-sigma of shape {np.shape(res.sigma)}")
        sf = _taken(np.asarray(res.sigma, dtype=np.float64), at)
        if np.any(np.isnan(sf) | (sf < 0)):
            raise MethodError(f"method {m.name!r} gave a NaN or negative 1-sigma to filled pixels")
        if check_sigma and at.size:
            alone = None if res.alone is None else np.asarray(res.alone, dtype=bool)
            chk = probe.sigma_check(m, frame, neighbours=_used(neighbours, res.provenance), device=device,
                                    weights=weights, alone=alone)
            if chk.blocks:                     # what probe.check_sigma gives, without its copy of the frame
                sf *= chk.factors(None if alone is None else _taken(alone, at))
            else:
                log.warning("the 1-sigma of %s could not be checked on this frame (%s): it is the method's own, "
                            "not calibrated on this frame, and where most of a frame is lost it is far too small "
                            "(README, Known limits)", m.name, chk.why_not)
            res = replace(res, provenance=replace(res.provenance, sigma_factor=chk.factor, sigma_blocks=chk.blocks,
                                                  sigma_factor_alone=chk.alone_factor),
                          how="; ".join(n for n in (res.how, chk.note()) if n))
        sigma = np.zeros(frame.shape)          # 0 where nothing was filled
        sigma.reshape(-1)[at] = sf
        if (zero := int(np.count_nonzero(sf == 0))):
            log.warning("%d filled pixels have a 1-sigma of 0: the frame around them has no noise (every value "
                        "equal, such as a saturated field), so their uncertainty is not known", zero)
    return replace(res, values=out, filled=filled, sigma=sigma)


def _alone(m: FillMethod, neighbours: Sequence[Neighbour], warn: bool = True) -> str:
    """Say for HISTORY, and warn (``warn``), that the neighbour fill ``m`` read no neighbouring frame
    (`FillMethod.alone`)."""
    what = "no neighbouring frame with data on the missing pixels" if neighbours else "no neighbouring frame"
    why = f"method {m.name!r} had {what}: its fill is {m.alone}, from this frame alone"
    if warn:
        log.warning("%s", why)
    return why


def _used(neighbours: Sequence[Neighbour], provenance: Provenance) -> list[Neighbour]:
    """The ``neighbours`` the fill read, as its provenance names them (in order, by name and time).

    The sigma's check fills valid blocks of the frame with these only: a neighbour with no data on the holes
    (one that lost the same blocks) has data on the checked blocks, and would calibrate the sigma of a fill
    helped by it, not of the fill made without it.
    """
    named, out = list(zip(provenance.neighbours, provenance.neighbour_dt)), []
    for nb in neighbours:
        if named and nb.name == named[0][0] and (nb.dt == named[0][1] or (np.isnan(nb.dt) and np.isnan(named[0][1]))):
            out.append(nb)
            named.pop(0)
    return out


def _taken(a: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``a``'s elements at the flat (C-order) indices ``at``: ``a[mask]`` for ``at = np.flatnonzero(mask)``."""
    return a.reshape(-1)[at] if a.flags.c_contiguous else a[np.unravel_index(at, a.shape)]


def cast_filled(values: np.ndarray, data: np.ndarray, filled: np.ndarray, header=None) -> np.ndarray:
    """``values`` in ``data``'s type: filled integer pixels rounded and clipped, the rest copied from ``data``.

    In a summed frame of signed 16-bit counts (`corkit_inpaint.wrap.wraps`, by ``header``) a filled count
    above 32767 is stored wrapped, as the file stores its own.
    """
    dtype = data.dtype
    out = np.array(data, copy=True)
    if wraps(data, header):
        out[filled] = wrapped_values(np.asarray(values)[filled], dtype)
        return out
    res = np.asarray(values, dtype=np.float64)[filled]
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        res = np.clip(np.rint(res), info.min, info.max)
    out[filled] = res.astype(dtype)
    return out


@dataclass(frozen=True, eq=False)
class FilledImage:
    """A level-0.5 image after the fill step.

    Attributes
    ----------
    data : numpy.ndarray
        In the input's data type; valid pixels bit-identical to the input.
    filled : numpy.ndarray of bool
        Pixels filled, by this run or (kept) by an earlier one.
    blocks : list of tuple of int
        Blocks holding filled pixels.
    missing_blocks : int
        Blocks found missing, filled or not.
    provenance : Provenance or None
        None when nothing was filled.
    note : str
        Why nothing, or not everything, was filled (``""`` otherwise).
    sigma : numpy.ndarray or None
        float64 1-sigma of the filled values in the data's unit: the method's
        for the pixels this run filled, the earlier fill's for the pixels a
        refill kept; 0 where none was estimated (every valid pixel, and filled
        pixels whose method gave none). None when no filled pixel has one.
    kept : int
        Pixels an earlier fill had filled, kept as they were and still flagged.
    new : numpy.ndarray of bool or None
        The pixels this fill filled (``filled`` less the kept ones); None when it filled none.
    missing : numpy.ndarray of bool or None
        The pixels of the blocks found missing (`corkit_inpaint.blocks.find_missing_blocks`), filled or not.
    """

    data: np.ndarray
    filled: np.ndarray
    blocks: list
    missing_blocks: int
    provenance: Provenance | None
    note: str = ""
    sigma: np.ndarray | None = None
    kept: int = 0
    new: np.ndarray | None = None
    missing: np.ndarray | None = None


def _combined_sigma(res: FillResult, old: np.ndarray | None, kept: int) -> tuple[np.ndarray | None, str]:
    """This fill's sigma on its pixels, the earlier fill's (``old``) on the kept ones, and a note on what is missing."""
    new = res.sigma
    if new is None and old is None:
        return None, ""
    if new is None:
        return (np.where(res.filled, 0.0, old),
                f"the method gives no 1-sigma: INPSIGMA is 0 on its {int(res.filled.sum())} px")
    if old is None:
        return new, f"the earlier fill's {kept} px have no 1-sigma (0 in INPSIGMA)" if kept else ""
    return np.where(res.filled, new, old), ""


def below_saturation(values: np.ndarray, filled: np.ndarray, measured: Callable[[], np.ndarray], header
                      ) -> tuple[np.ndarray, str]:
    """``values`` with filled pixels above the detector's saturation lowered to it, and a HISTORY note ("" for none).

    A level-0.5 pixel cannot read above its ADC's full scale, `corkit_inpaint.register.SATURATION_DN` times the
    on-board summing (65532 DN in a 2x2-summed frame), or the frame's own largest value where that is higher. A
    fill beside saturated pixels went up to 120324 DN in the real summed C2 frame; the truth there is at most the
    saturation, so the lowered value is never farther from it. ``measured()`` gives the frame's values that no
    fill, this one or an earlier, made (called only when a filled value is above the saturation); its
    `corkit_inpaint.frame.implausible` values (no counts) do not raise the ceiling.
    """
    ceiling = SATURATION_DN * H.leb_summing(header)
    if not np.any(values[filled] > ceiling):        # the usual case: the frame's own maximum is not needed
        return values, ""
    kept = measured()
    kept = kept[~implausible(kept, header)]
    ceiling = max(ceiling, float(np.max(kept))) if kept.size else ceiling     # in the data's own type
    over = filled & (values > ceiling)
    if not over.any():
        return values, ""
    return np.where(over, ceiling, values), (f"{int(over.sum())} filled px above the detector's saturation "
                                             f"lowered to it ({ceiling:.0f} DN)")


def _warn_doubtful_header(data: np.ndarray, header) -> None:
    """Warn, a line each, where the header would make the block rules wrong: leave real losses as zeros, or take
    never-sent blocks for lost ones."""
    ny, nx = np.shape(data)
    sx, sy = H.summing(header)
    c1, c2, r1, r2 = (H.number(header, k) for k in ("R1COL", "R2COL", "R1ROW", "R2ROW"))
    field = H.field_shape(header)
    if field is not None and field != (nx, ny):
        log.warning("the header's field (R1COL..R2COL, R1ROW..R2ROW) and summing (%dx%d) give a %dx%d image, "
                    "not the %dx%d stored: the geometry the block rules use may be wrong", sx, sy, *field, nx, ny)
    geo = optical_geometry(header)
    full = None in (c1, c2, r1, r2) or min(c2 - c1, r2 - r1) + 1 >= 1024     # a subfield may leave the Sun out
    if geo is not None and full and not (0 <= geo.cx < nx and 0 <= geo.cy < ny):
        log.warning("the header puts the Sun centre at x=%.0f, y=%.0f, outside the %dx%d image: the occulter "
                    "and field-stop rules may hide real losses", geo.cx, geo.cy, nx, ny)
    bias, vals = H.bias(header), np.asarray(data)[np.asarray(data) > 0]
    if bias is not None and vals.size and bias >= np.median(vals):
        log.warning("the header's bias (%.6g DN) is not below the image's median (%.6g DN): the no-signal "
                    "rule may hide real losses", bias, float(np.median(vals)))


def _zero_blocks_left(data: np.ndarray, header, blocks) -> str:
    """Zero blocks judged not lost: a warning and HISTORY text ("" for none) naming those inside the field (no
    signal around them), which stay zeros."""
    n = len(set(zero_blocks_in_field(data, header)) - set(blocks))
    if not n:
        return ""
    text = (f"{n} all-zero block{'s' if n > 1 else ''} inside the field left as {'they are' if n > 1 else 'it is'}, "
            f"not filled: no signal around {'them' if n > 1 else 'it'} (the dark C3 pylon, or a loss with nothing "
            "sent around it)")
    log.warning("%s", text)
    return text


def _zero_block_notes(work: np.ndarray, header, blocks, nearly: str) -> tuple[int, str]:
    """Warnings on the frame's zero blocks; their number, and the HISTORY text of those left as zeros (and
    ``nearly``'s)."""
    n_zero = int(zero_blocks(work).sum())
    if n_zero:          # the block rules decided which are lost: the header they read may be wrong either way
        _warn_doubtful_header(work, header)     # (battery s35: a summing that made them fill never-sent blocks)
    return n_zero, "; ".join(t for t in (_zero_blocks_left(work, header, blocks) if n_zero > len(blocks) else "",
                                         nearly) if t)


def _off_grid(work: np.ndarray) -> int:
    """The all-zero 32x32 squares off the telemetry grid (a crop or shift), warned of: they are not filled."""
    n_off, (oy, ox) = off_grid_zero_blocks(work)
    if n_off:
        log.warning("%d all-zero 32x32 squares start at row %d, column %d of the 32-pixel block grid: the image "
                    "seems cropped or shifted off the telemetry grid; they are not filled", n_off, oy, ox)
    return n_off


def warn_of_blocks(work: np.ndarray, header, blocks) -> None:
    """Log what `fill_level05` logs of a frame's zero blocks (a header that makes the block rules doubtful, zero
    blocks left as they are, squares off the grid), for a caller that found ``blocks`` itself: `inpaint_array`
    said nothing of them (battery s36: a Sun centre off the image left every loss a zero, in silence)."""
    _zero_block_notes(work, header, blocks, _nearly_zero_blocks_left(work, header))
    _off_grid(work)


def _nearly_zero_blocks_left(data: np.ndarray, header) -> str:
    """A warning and HISTORY text ("" for none) naming the blocks inside the field whose pixels are all <= 0 but
    a few (`corkit_inpaint.blocks.NEARLY_ZERO`): lost blocks with stray values, perhaps; left as they are."""
    n = len(zero_blocks_in_field(data, header, nearly=True))
    if not n:
        return ""
    text = (f"{n} block{'s' if n > 1 else ''} inside the field {'are' if n > 1 else 'is'} zero but for a few "
            f"pixels (a loss with stray values?), left as {'they are' if n > 1 else 'it is'}, not filled")
    log.warning("%s", text)
    return text


def fill_level05(data: np.ndarray, header, method: str | FillMethod | None, *, device: str = "auto",
                 weights=None, neighbours=(), level1: bool = False, previous_fill: np.ndarray | None = None,
                 previous_sigma: np.ndarray | None = None, not_data: np.ndarray | None = None,
                 max_gap: float | None = MAX_GAP_MINUTES) -> FilledImage:
    """Find the missing blocks of a level-0.5 image and fill them.

    Parameters
    ----------
    data : numpy.ndarray
        The stored array, in its own type.
    header : astropy.io.fits.Header
    method : str, FillMethod or None
        Registered method name, or a `FillMethod` instance; None finds the
        blocks but fills nothing.
    device, weights
        As for `run_method`.
    neighbours : sequence, optional
        Neighbouring level-0.5 frames of the same field: `Neighbour` objects, or
        ``(array, header)`` pairs, or `corkit_inpaint.read.Level05` (see
        `corkit_inpaint.register.register_all`); only read, and only for a
        method that reads neighbours (`FillMethod.reads_neighbours`).
    level1 : bool
        Run the method as ``level_1`` does (`FillMethod.for_level1`, `FillMethod.skip_reason`).
    previous_fill : numpy.ndarray of bool, optional
        An earlier fill's INPMASK (a refill): those pixels keep their values,
        stay flagged, and are not read as data.
    previous_sigma : numpy.ndarray, optional
        The earlier fill's INPSIGMA: kept pixels keep their 1-sigma in `FilledImage.sigma`.
    not_data : numpy.ndarray of bool, optional
        Other pixels that are not measurements (a map's own ``mask``): not read as context; outside
        the missing blocks they are left as they are and not counted as filled (a block is filled whole).
    max_gap : float or None
        As for `corkit_inpaint.register.register_all` (None: any).
    """
    max_gap = check_max_gap(max_gap)
    prev = np.zeros(data.shape, dtype=bool) if previous_fill is None else np.asarray(previous_fill, dtype=bool)
    kept = int(prev.sum())
    old_sigma = None if previous_sigma is None or not kept else np.where(prev, previous_sigma, 0.0)
    work = unwrapped(data, header)      # a summed frame's counts above 32767, stored negative, as measured
    mask, blocks = find_missing_blocks(work, header)
    nearly = _nearly_zero_blocks_left(work, header)

    def unchanged(note: str) -> FilledImage:
        note = "; ".join(n for n in (note, nearly, f"the earlier fill's {kept} px are kept" if kept else "") if n)
        return FilledImage(data.copy(), prev.copy(), blocks_of(prev), len(blocks), None, note, old_sigma, kept,
                           missing=mask)

    n_zero, quiet = _zero_block_notes(work, header, blocks, nearly)
    n_off = _off_grid(work)
    if not blocks:
        return unchanged(("no missing blocks on the 32-pixel grid; "
                          f"{n_off} all-zero 32x32 squares off it (a cropped image?) are left as they are"
                          if n_off else "no missing blocks") + (
            f"; {n_zero} all-zero blocks judged not lost (never transmitted: behind the occulter or beyond the "
            "field stop; or with no signal around) are left as they are" if n_zero else ""))
    if method is None:
        return unchanged("no fill requested")
    m = as_method(method).for_level1() if level1 else as_method(method)
    frame = Frame.build(work, mask, header, not_context=prev if not_data is None else prev | not_data)
    if frame.geometry is None:
        log.warning("DETECTOR=%r is not C2 or C3: the occulter and field-stop rules are off, so "
                    "never-transmitted blocks may be filled", H.get(header, "DETECTOR"))
    if reason := m.skip_reason(frame):
        return unchanged(reason)
    nbs = same_level(frame, register_all(neighbours, header, data.shape, max_gap=max_gap)) if m.reads_neighbours \
        else []
    res = run_method(m, frame, neighbours=nbs, device=device, weights=weights)
    if not blocks_in(res.filled, blocks):
        return unchanged(res.skipped or "the method left every block masked")
    union = res.filled | prev
    kept = int((prev & ~res.filled).sum())        # an earlier fill's pixels lost again are filled anew
    sigma, sigma_note = _combined_sigma(res, old_sigma, kept)
    values, clip_note = below_saturation(res.values, res.filled, lambda: work[~union], header)
    note = "; ".join(n for n in (res.how, res.skipped, sigma_note, clip_note, quiet) if n)  # HISTORY: kept pixels
    return FilledImage(cast_filled(values, data, res.filled, header), union, blocks_of(union), len(blocks),
                       res.provenance, note, sigma, kept, res.filled, mask)
