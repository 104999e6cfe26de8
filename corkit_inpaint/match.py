"""Neighbours scaled to the target frame's brightness by the smoothed ratio of the two around each hole.

This is the classical neighbour estimate: the ``ratio`` method fills with it,
and the network reads it (with its coverage and the disagreement between
neighbours) as extra inputs. In a window, the target's and each neighbour's
DN/s are averaged with a Gaussian (``SMOOTH`` px) over the pixels where both are
data; where both local means exceed the target's noise the neighbour is scaled
by their ratio (the exponential of the smoothed log-ratio), elsewhere it is
shifted by their difference. Where several neighbours have data their
estimates are averaged: equally (the ``ratio`` method), or weighted by how
well each one, once scaled, matches the target around the hole (the local
mean square of target minus scaled neighbour, ``weighting="misfit"``, which
the network reads), so a neighbour that does not match, a frame of another
day or one where a CME front has moved, counts for little. With
``despike=True`` (what the network reads) a cosmic-ray hit in one neighbour
is not copied: where two or more neighbours have data and the brightest
exceeds another, more than around it and more than any other neighbour
within 1 px, by ``SPIKE`` times what their misfits to the target lead one
to expect, and no other neighbour shows a peak within 1 px (a star that
moved) and the excursion is not an extended feature, the brightest is left
out there.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from .frame import Frame
from .register import Neighbour

__all__ = ["SMOOTH", "MIN_COMMON", "SPIKE", "MAX_LEVEL_RATIO", "NeighbourEstimate", "neighbour_estimate", "same_level"]

log = logging.getLogger(__name__)

SMOOTH = 16.0          # px, Gaussian sigma of the local means
#: A neighbour whose median DN/s is more than this many times the target's, or less than its inverse, is left
#: out (`same_level`): frames of one detector, filter and polarizer an hour apart differ by percents, so its
#: OFFSET or EXPTIME (or the target's) cannot be right.
MAX_LEVEL_RATIO = 10.0
MIN_COMMON = 64        # pixels valid in both frames needed in a window to scale a neighbour
SPIKE = 6.0            # brightest minus faintest neighbour, in their difference's expected spread: a hit


@dataclass(frozen=True, eq=False)
class NeighbourEstimate:
    """The neighbours' estimate of one window of the target, in the target's linear unit.

    Attributes
    ----------
    values : numpy.ndarray
        Mean of the scaled neighbours where ``count > 0`` (the target's bias elsewhere).
    count : numpy.ndarray of int
        How many neighbours have data at each pixel.
    spread : numpy.ndarray
        Largest minus smallest scaled neighbour where ``count >= 2`` (0 elsewhere).
    misfit : numpy.ndarray or None
        With ``weighting="misfit"`` (None otherwise), where ``count > 0``, the
        expected error of ``values`` judged from the context:
        ``(sum_k 1 / m_k) ** -0.5``, with ``m_k`` the local mean square
        of target minus scaled neighbour ``k`` over the pixels both have, in
        the target's rate unit times EXPTIME (as ``spread``); 0 elsewhere. It
        includes both frames' noise, so it is never much below
        ``sqrt(2) * noise``.
    used : tuple of bool
        For each neighbour, whether it has data at a missing pixel of this window.
    """

    values: np.ndarray
    count: np.ndarray
    spread: np.ndarray
    used: tuple[bool, ...]
    misfit: np.ndarray | None


#: Windows up to this many pixels on a side are smoothed by matrix products (`_smoothing_matrix`).
_MATRIX_SIDE = 256


def _smoothed(values: np.ndarray) -> np.ndarray:
    """``values`` under the local means' Gaussian (``SMOOTH`` px), zero beyond the window.

    As ``scipy.ndimage.gaussian_filter(values, SMOOTH, mode="constant", truncate=6.0)``, to about
    1e-15 of the window's largest value: for a window of at most `_MATRIX_SIDE` pixels a side, as the
    product of the filter's matrices along the two axes, which costs a sixth of the filter's time on a
    96-pixel window. The products go through the installed BLAS, whose kernels (chosen for the CPU) round
    differently, so the last bits depend on the machine. The inputs are finite: a NaN or infinity
    would spread along its whole row and column, beyond the filter's reach.
    """
    ny, nx = values.shape
    if max(ny, nx) > _MATRIX_SIDE:
        return ndimage.gaussian_filter(values, SMOOTH, mode="constant", truncate=6.0)
    return _smoothing_matrix(ny) @ values @ _smoothing_matrix(nx).T


@lru_cache(maxsize=32)
def _smoothing_matrix(n: int) -> np.ndarray:
    """The ``(n, n)`` matrix of the 1-D filter `_smoothed` applies along an axis of ``n`` samples (read-only)."""
    m = ndimage.gaussian_filter1d(np.eye(n), SMOOTH, axis=0, mode="constant", truncate=6.0)
    m.flags.writeable = False
    return m


def _local_mean(values: np.ndarray, weight: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Normalised Gaussian average of ``values`` over ``weight`` (the overall mean beyond the Gaussian's reach).

    ``w`` is ``_smoothed(weight)`` where the caller has it already (the same for every mean over one ``weight``).
    """
    w = _smoothed(weight.astype(np.float64)) if w is None else w
    s = _smoothed(np.where(weight, values, 0.0))
    out = s / np.maximum(w, 1e-300)
    far = w < 1e-12
    if far.any():
        out[far] = float(values[weight].mean())
    return out


def _scaled(target: np.ndarray, nb: np.ndarray, both: np.ndarray, w: np.ndarray, noise: float) -> np.ndarray:
    """The neighbour scaled to the target by the smoothed ratio (or difference) over ``both`` (``w`` its smoothing)."""
    mt, mn = _local_mean(target, both, w), _local_mean(nb, both, w)
    floor = max(noise, 1e-12)
    ratio = (mt > floor) & (mn > floor)
    gain = np.where(ratio, mt / np.where(ratio, mn, 1.0), 1.0)
    return np.where(ratio, nb * gain, nb + (mt - mn))


def _brightest_and_reference(ests: list):
    """Per pixel: the brightest neighbour (index, value, misfit) and the reference it is compared with.

    The reference is the other neighbour with data that the brightest exceeds
    by the most, in units of the two's expected spread ``sqrt(m_hi + m_k)``:
    with three or more, a frame that does not match (another day's) has a
    wide spread and so does not hide a hit that a matching neighbour shows.
    Where no other neighbour has data the reference is ``inf``.
    """
    shape = ests[0][0].shape
    hi, m_hi, top = np.full(shape, -np.inf), np.zeros(shape), np.full(shape, -1)
    for k, (est, ok, m) in enumerate(ests):
        up = ok & (est > hi)
        hi[up], m_hi[up], top[up] = est[up], m[up], k
    lo, m_lo, z_ref = np.full(shape, np.inf), np.zeros(shape), np.full(shape, -np.inf)
    for k, (est, ok, m) in enumerate(ests):
        z = np.where(ok & (top != k), (hi - est) / np.sqrt(np.maximum(m_hi + m, 1e-300)), -np.inf)
        better = z > z_ref
        z_ref[better], lo[better], m_lo[better] = z[better], est[better], m[better]
    return top, hi, m_hi, lo, m_lo


def _heights(est: np.ndarray, ok: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``(n, 3, 3)``: ``est`` over its 5x5 median in the 3x3 around each ``(ys, xs)``; -inf where it has no data."""
    view = np.lib.stride_tricks.sliding_window_view
    p7 = view(np.pad(np.where(ok, est, np.nan), 3, constant_values=np.nan), (7, 7))[ys, xs]
    with warnings.catch_warnings():                   # a 5x5 without data: nan, then -inf
        warnings.simplefilter("ignore", RuntimeWarning)
        res = p7[:, 2:5, 2:5] - np.nanmedian(view(p7, (5, 5), axis=(1, 2)).reshape(ys.size, 3, 3, 25), -1)
    return np.where(np.isnan(res), -np.inf, res)


def _spikes(ests: list) -> list:
    """For each scaled neighbour ``(est, valid, m)``, the pixels where it holds a hit the others do not.

    At a pixel where two or more neighbours have data, the brightest is a hit
    when, with ``margin = SPIKE * sqrt(m_hi + m_ref)`` (each ``m`` a neighbour's
    local mean square misfit to the target, which holds both frames' noise, so
    a neighbour that does not match gets a wide margin) and the reference of
    `_brightest_and_reference`:

    - it exceeds the reference by more than the margin plus that excess's 5x5
      median: the excess is compact, not a sky that changed;
    - it exceeds every other neighbour's brightest pixel within 1 px by more
      than the margin, and no other neighbour rises within 1 px above its own
      5x5 median by half as much as it does: not a star that moved between
      the frames (even by a fraction of a pixel, which changes its peak);
    - its misfit is at least half the reference's: it is not the neighbour
      that matches the target clearly better;
    - the excursion above the margin it belongs to has no solid 4x4 core: a
      feature only one frame shows (a comet, a CME front) is kept whole.
    """
    if len(ests) < 2:
        return [np.zeros(ests[0][0].shape, dtype=bool) for _ in ests]
    top, hi, m_hi, lo, m_lo = _brightest_and_reference(ests)
    both = np.isfinite(lo) & (hi > lo)
    gap = np.where(both, hi - lo, 0.0)
    margin2 = SPIKE ** 2 * (m_hi + m_lo)
    above = both & (gap ** 2 > margin2)
    hit = above & (m_hi >= 0.5 * m_lo)                # candidates: the tests below only remove some
    ys, xs = np.nonzero(hit)
    if ys.size:
        view = np.lib.stride_tricks.sliding_window_view
        excess = gap[ys, xs] - np.median(view(np.pad(gap, 2, mode="edge"), (5, 5))[ys, xs].reshape(ys.size, 25), 1)
        near, bump, own = np.full(ys.size, -np.inf), np.full(ys.size, -np.inf), np.zeros(ys.size)
        for k, (est, ok, _) in enumerate(ests):
            other = top[ys, xs] != k
            peak = view(np.pad(np.where(ok, est, -np.inf), 1, constant_values=-np.inf), (3, 3))[ys, xs].max((1, 2))
            near = np.where(other, np.maximum(near, peak), near)
            h = _heights(est, ok, ys, xs)
            bump = np.where(other, np.maximum(bump, h.max((1, 2))), bump)
            own = np.where(other, own, h[:, 1, 1])
        lead = hi[ys, xs] - near
        hit[ys, xs] = ((excess > 0) & (excess ** 2 > margin2[ys, xs]) & (lead > 0) & (lead ** 2 > margin2[ys, xs])
                       & (bump < 0.5 * own))
    for k in range(len(ests)):
        mine = above & (top == k)
        lab, n = ndimage.label(mine, np.ones((3, 3)))
        if n:
            core = np.unique(lab[ndimage.binary_opening(mine, np.ones((4, 4)))])
            hit &= ~np.isin(lab, core[core > 0])
    return [hit & (top == k) for k in range(len(ests))]


def neighbour_estimate(frame: Frame, neighbours: Sequence[Neighbour], box: tuple[int, int, int, int],
                       *, weighting: str = "equal", despike: bool = False, only_used: bool = False
                       ) -> NeighbourEstimate:
    """Scale every neighbour to ``frame`` in ``box`` = ``(y0, y1, x0, x1)`` and combine them.

    Parameters
    ----------
    frame : Frame
        The target.
    neighbours : sequence of Neighbour
        Registered on ``frame``'s grid (`corkit_inpaint.register.register`).
    box : tuple of int
    weighting : {"equal", "misfit"}
        Average the scaled neighbours equally, or each with weight ``1 / m_k``
        (see `NeighbourEstimate.misfit`).
    despike : bool
        Leave a neighbour out where it holds a cosmic-ray hit that the others
        do not: where it is the brightest of two or more, by more than
        ``SPIKE`` times the difference's expected spread (from the two
        neighbours' local misfits to the target) both above the neighbour it
        exceeds most, beyond that excess's local median, and above every
        other neighbour within 1 px, where no other neighbour shows a peak
        within 1 px (so not a star that moved), where it does not match the
        target clearly better, and where the excursion is no extended feature
        (see `_spikes`). ``count`` and ``spread`` then describe the
        neighbours kept.
    only_used : bool
        Combine only the neighbours with data on the box's missing pixels
        (`NeighbourEstimate.used`): one without would still shape the
        estimate around the hole while the provenance does not name it.

    Returns
    -------
    NeighbourEstimate
    """
    if weighting not in ("equal", "misfit"):
        raise ValueError(f"weighting must be 'equal' or 'misfit', not {weighting!r}")
    y0, y1, x0, x1 = box
    st = frame.stretch
    target = st.to_rate(frame.image[y0:y1, x0:x1])
    t_valid = frame.valid[y0:y1, x0:x1]
    ests, used = [], []
    for nb in neighbours:
        rate, n_valid = nb.sample(box)
        both = t_valid & n_valid
        if both.sum() < MIN_COMMON:          # too little overlap to scale it
            used.append(False)
            continue
        w = _smoothed(both.astype(np.float64))
        est = _scaled(target, rate, both, w, frame.noise)
        used.append(bool((n_valid & frame.missing[y0:y1, x0:x1]).any()))
        if used[-1] or not only_used:     # the local mean square misfit, where needed
            m = _local_mean((target - est) ** 2, both, w) if weighting == "misfit" or despike else None
            ests.append((est, n_valid, m))
    drop = _spikes(ests) if despike and ests else [None] * len(ests)
    total, wsum = np.zeros(target.shape), np.zeros(target.shape)
    count = np.zeros(target.shape, dtype=np.int64)
    floor = max(frame.noise, 1e-12) ** 2 * 0.01        # a perfect copy still gets a finite weight
    lo, hi = np.full(target.shape, np.inf), np.full(target.shape, -np.inf)
    for (est, n_valid, m), hit in zip(ests, drop):
        w = 1.0 / np.maximum(m, floor) if weighting == "misfit" else np.ones(target.shape)
        keep = n_valid if hit is None else n_valid & ~hit
        total[keep] += (w * est)[keep]
        wsum[keep] += w[keep]
        count[keep] += 1
        lo[keep] = np.minimum(lo[keep], est[keep])
        hi[keep] = np.maximum(hi[keep], est[keep])
    have = count > 0
    mean = np.where(have, total / np.where(have, wsum, 1.0), 0.0)
    spread = np.where(count >= 2, hi - lo, 0.0) * st.exptime
    misfit = None
    if weighting == "misfit":            # the weights are 1 / m_k: their sum is sum_k 1 / m_k
        misfit = np.where(have, 1.0 / np.sqrt(np.where(have, wsum, 1.0)), 0.0) * st.exptime
    return NeighbourEstimate(mean * st.exptime + st.bias, count, spread, tuple(used), misfit)


def _is_this_frame(frame: Frame, nb: Neighbour) -> bool:
    """Whether ``nb`` is the target frame itself: taken at the same time (within a second), or on the same grid
    with the same DN/s on every pixel both have (at least `MIN_COMMON`): a copy whose time is missing or wrong."""
    if abs(nb.dt) < 1.0:
        return True
    if nb.rate.shape != frame.shape or nb.centre != nb.target_centre or not np.allclose(nb.matrix, np.eye(2)):
        return False
    both = np.flatnonzero(frame.valid & nb.valid)
    if both.size < MIN_COMMON:
        return False
    same = lambda at: np.array_equal(frame.stretch.to_rate(frame.image.reshape(-1)[at]), nb.rate.reshape(-1)[at])
    return same(both[::997]) and same(both)     # another frame differs in the sample: one full pass at most


def same_level(frame: Frame, neighbours: Sequence[Neighbour]) -> list[Neighbour]:
    """The ``neighbours`` whose brightness is the target's to within `MAX_LEVEL_RATIO`, and that are not the target
    itself; the others are left out with a warning.

    The target given as its own neighbour (its own file, or an earlier fill of it) has no data on its holes, so
    it would not change the fill, but the check of the fill's 1-sigma (`corkit_inpaint.uncertainty.probe`)
    blanks valid blocks of the frame and would find their truth in it: the sigma would shrink to half.

    The local scaling of `neighbour_estimate` matches a neighbour to the target
    around each hole, so a header whose OFFSET or EXPTIME is wrong by orders of
    magnitude would still pass as a smooth, well-matched estimate that copies
    none of the neighbour's structure (a fill 2.3 times worse than the frame's
    own, found by a bad-input battery on 2026-12-06). The medians are of every 7th valid pixel's DN/s;
    a target whose median is not positive is not judged.

    Parameters
    ----------
    frame : Frame
        The target.
    neighbours : sequence of Neighbour
        Registered on it (`corkit_inpaint.register.register_all`).

    Returns
    -------
    list of Neighbour
    """
    others = []
    for nb in neighbours:
        if _is_this_frame(frame, nb):
            log.warning("neighbouring frame %s left out: it is this frame itself (the same time, or the same data)",
                        nb.called)
        else:
            others.append(nb)
    if not others:
        return others
    st = frame.stretch
    target = float(np.median((frame.image[frame.valid][::7] - st.bias) / st.exptime)) if frame.valid.any() else 0.0
    if not target > 0:
        return others
    kept = []
    for nb in others:
        rates = nb.rate[nb.valid][::7]
        level = float(np.median(rates)) / target if rates.size else float("nan")
        if 1 / MAX_LEVEL_RATIO <= level <= MAX_LEVEL_RATIO:
            kept.append(nb)
        elif not rates.size:            # every pixel zero or saturated: nothing to compare, and nothing to fill from
            log.warning("neighbouring frame %s left out: it has no valid pixel on this frame's grid (every one "
                        "missing, zero or saturated)", nb.called)
        else:
            log.warning("neighbouring frame %s left out: its median DN/s is %.3g times this frame's, which its "
                        "OFFSET or EXPTIME (or this frame's) cannot make of the same field", nb.called, level)
    return kept
