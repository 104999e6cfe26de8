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
day or one where a CME front has moved, counts for little.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .frame import Frame
from .register import Neighbour

__all__ = ["SMOOTH", "MIN_COMMON", "NeighbourEstimate", "neighbour_estimate"]

SMOOTH = 16.0          # px, Gaussian sigma of the local means
MIN_COMMON = 64        # pixels valid in both frames needed in a window to scale a neighbour


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


def _local_mean(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Normalised Gaussian average of ``values`` over ``weight`` (the overall mean beyond the Gaussian's reach)."""
    w = ndimage.gaussian_filter(weight.astype(np.float64), SMOOTH, mode="constant", truncate=6.0)
    s = ndimage.gaussian_filter(np.where(weight, values, 0.0), SMOOTH, mode="constant", truncate=6.0)
    out = s / np.maximum(w, 1e-300)
    far = w < 1e-12
    if far.any():
        out[far] = float(values[weight].mean())
    return out


def _scaled(target: np.ndarray, t_valid: np.ndarray, nb: np.ndarray, n_valid: np.ndarray,
            noise: float) -> np.ndarray | None:
    """The neighbour scaled to the target by the smoothed ratio (or difference), or None with too little overlap."""
    both = t_valid & n_valid
    if both.sum() < MIN_COMMON:
        return None
    mt, mn = _local_mean(target, both), _local_mean(nb, both)
    floor = max(noise, 1e-12)
    ratio = (mt > floor) & (mn > floor)
    gain = np.where(ratio, mt / np.where(ratio, mn, 1.0), 1.0)
    return np.where(ratio, nb * gain, nb + (mt - mn))


def neighbour_estimate(frame: Frame, neighbours: Sequence[Neighbour], box: tuple[int, int, int, int],
                       *, weighting: str = "equal") -> NeighbourEstimate:
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
    total, wsum = np.zeros(target.shape), np.zeros(target.shape)
    count = np.zeros(target.shape, dtype=np.int64)
    floor = max(frame.noise, 1e-12) ** 2 * 0.01        # a perfect copy still gets a finite weight
    lo, hi = np.full(target.shape, np.inf), np.full(target.shape, -np.inf)
    used = []
    for nb in neighbours:
        rate, n_valid = nb.sample(box)
        est = _scaled(target, t_valid, rate, n_valid, frame.noise)
        if est is None:
            used.append(False)
            continue
        here = n_valid & frame.missing[y0:y1, x0:x1]
        used.append(bool(here.any()))
        if weighting == "misfit":
            w = 1.0 / np.maximum(_local_mean((target - est) ** 2, t_valid & n_valid), floor)
        else:
            w = np.ones(target.shape)
        total[n_valid] += (w * est)[n_valid]
        wsum[n_valid] += w[n_valid]
        count[n_valid] += 1
        lo[n_valid] = np.minimum(lo[n_valid], est[n_valid])
        hi[n_valid] = np.maximum(hi[n_valid], est[n_valid])
    have = count > 0
    mean = np.where(have, total / np.where(have, wsum, 1.0), 0.0)
    spread = np.where(count >= 2, hi - lo, 0.0) * st.exptime
    misfit = None
    if weighting == "misfit":            # the weights are 1 / m_k: their sum is sum_k 1 / m_k
        misfit = np.where(have, 1.0 / np.sqrt(np.where(have, wsum, 1.0)), 0.0) * st.exptime
    return NeighbourEstimate(mean * st.exptime + st.bias, count, spread, tuple(used), misfit)
