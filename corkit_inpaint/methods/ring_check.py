"""Which holes the neighbouring frames help: a ring of valid pixels around each hole, filled with and without them.

A fill from neighbouring frames trusts frames taken 12 to 60 minutes away.
Where something moved between them, a CME front above all, their estimate puts
it in the wrong place, and the network, which sees only the frame around the
hole, often trusts it anyway: on the real C3 sequence with a moving front added
(``benchmarks/front_on_real.py``) the fill with two neighbours had 1.6 times the
hole error of the frame alone. The frame itself can say so. `check_rings`
blanks a ring of `RING` valid pixels around every hole, fills hole and ring
with the neighbours and without them, and compares the two fills on the ring,
where the truth is known: a hole whose ring the frame alone fills better (a
smaller median absolute error and a smaller mean squared error) is filled from
the frame alone. Both must agree: the median alone is blind to a bright
structure that crosses a few ring pixels, the mean alone is led by a cosmic-ray
hit or a star in the ring. Only holes whose neighbour estimate is in doubt are
checked (`suspect_holes`): the check costs two more runs of the network over
them and their rings.

The ring also says how far to widen the 1-sigma of a hole that keeps its
neighbours. The widening where the neighbours disagree
(`corkit_inpaint.uncertainty.widen`) reads their spread, not whether the
network trusted them: a neighbour of another day differs from the frame
everywhere, so the sigma was widened everywhere although the network, which
weighs each neighbour by its misfit, had left it aside (on simulated
sequences, z robust std 0.61 in the inner field). The fill with neighbours'
own errors on the ring, over its sigma before any widening, bound it: a kept
hole's widening is at most the 68.27% quantile of those ``|z|`` (and at least
1: the ring never narrows the table's sigma).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..frame import Frame
from ..network.windows import GUIDES
from ..uncertainty.probe import QUANTILE

__all__ = ["RING", "MIN_RING", "SUSPECT_MISFIT", "SUSPECT_SPREAD", "RingVerdict", "suspect_holes", "check_rings",
           "alone_frame", "alone_note"]

#: Width of the ring of valid pixels blanked around each hole, in pixels of the image.
RING = 8
#: Fewest ring pixels both fills must fill for a hole to be judged; a hole with fewer keeps its neighbours.
MIN_RING = 64
#: A hole is checked when its neighbour estimate misses the frame around it by this many noise sigma at some
#: pixel (on the real C3 sequence, 10-20% of the windows of 10 random blocks; with a moving front, 90%) ...
SUSPECT_MISFIT = 1.5
#: ... or the neighbours differ by this many at its median pixel (quiet: none of those windows; a front: 95%).
SUSPECT_SPREAD = 1.0


@dataclass(frozen=True, eq=False)
class RingVerdict:
    """What `check_rings` found, per pixel of the frame.

    Attributes
    ----------
    alone : numpy.ndarray of bool
        The missing pixels of the holes to fill from the frame alone.
    limit : numpy.ndarray of float
        For the missing pixels of the judged holes that keep their neighbours,
        the most their sigma's widening may multiply it by (at least 1); NaN
        elsewhere: no limit (or no sigma was given to judge it by).
    """

    alone: np.ndarray
    limit: np.ndarray


def suspect_holes(windows, owned, shape: tuple) -> np.ndarray:
    """The missing pixels of the windows whose neighbour estimate is in doubt: it misses the frame around the
    hole by `SUSPECT_MISFIT` noise sigma or more at some pixel, or the neighbours differ from each other by
    `SUSPECT_SPREAD` or more at the median pixel (the network's own guides, over the window's noise, as
    `corkit_inpaint.uncertainty.widen` reads them). Only these holes are checked: the others' neighbours fit.

    Parameters
    ----------
    windows, owned : list
        `corkit_inpaint.network.windows.frame_windows`'s windows and the pixels each fills.
    shape : tuple
        The frame's shape.
    """
    out = np.zeros(shape, dtype=bool)
    for w, mine in zip(windows, owned):
        have = mine & (w.guides[GUIDES.index("neighbour_count")] > 0)
        if not have.any() or not w.noise > 0:
            continue
        misfit = np.expm1(w.guides[GUIDES.index("neighbour_misfit")][have].astype(np.float64))
        spread = w.guides[GUIDES.index("neighbour_spread")][have].astype(np.float64) / w.noise
        if misfit.max() >= SUSPECT_MISFIT or np.median(spread) >= SUSPECT_SPREAD:
            y0, y1, x0, x1 = w.box
            out[y0:y1, x0:x1] |= mine
    return out


def check_rings(frame: Frame, fill: Callable[[Frame, bool], tuple], among: np.ndarray | None = None) -> RingVerdict:
    """Which holes the frame alone fills better than with its neighbouring frames, and how far the others'
    sigma may be widened.

    Parameters
    ----------
    frame : Frame
    fill : callable
        ``fill(frame, with_neighbours)`` gives a fill's values, the pixels it
        filled and its 1-sigma before any widening (the image's unit; None:
        none); it is called twice, on ``frame`` with the ring around every hole
        blanked too. Only the fill with neighbours' sigma is read.
    among : numpy.ndarray of bool, optional
        The missing pixels to judge (`suspect_holes`; None: all); the others are
        neither filled by ``fill`` nor named.

    Returns
    -------
    RingVerdict
        ``alone``: the missing pixels of every hole (missing pixels within
        ``2 * RING`` of one another are one hole) whose ring the fill without
        the neighbours fills with a smaller median absolute error and a smaller
        mean squared error than the fill with them. ``limit``: for every other
        judged hole, the 68.27% quantile (`corkit_inpaint.uncertainty.probe.QUANTILE`)
        of ``|fill - truth| / sigma`` over its ring (the fill with neighbours'),
        at least 1. A hole with fewer than
        `MIN_RING` ring pixels filled both ways (with a sigma, for ``limit``) is not
        judged: it keeps its neighbours, and no limit.
    """
    miss = frame.missing if among is None else frame.missing & among
    grown = ndimage.binary_dilation(miss, iterations=RING)
    ring = grown & ~miss & frame.valid
    verdict = RingVerdict(np.zeros(frame.shape, dtype=bool), np.full(frame.shape, np.nan))
    if not ring.any():
        return verdict
    test = frame.with_missing(miss | ring, blank=ring)
    with_nb, filled_nb, sigma_nb = fill(test, True)
    without, filled_alone = fill(test, False)[:2]
    labels, n = ndimage.label(grown, structure=np.ones((3, 3), dtype=bool))
    at = np.flatnonzero(ring & filled_nb & filled_alone)          # the ring pixels both fills filled
    if at.size == 0:
        return verdict
    lab, index = labels.ravel()[at], np.arange(1, n + 1)
    truth = frame.image.ravel()[at]
    d_nb, d_alone = np.abs(with_nb.ravel()[at] - truth), np.abs(without.ravel()[at] - truth)
    worse = np.bincount(lab, minlength=n + 1)[1:] >= MIN_RING     # judged, then: the frame alone does better
    for stat, power in ((ndimage.median, 1), (ndimage.mean, 2)):   # the typical ring pixel, and the ring as a whole
        e_nb, e_alone = (np.nan_to_num(stat(d ** power, lab, index)) for d in (d_nb, d_alone))
        worse &= e_nb > e_alone
    if worse.any():
        verdict.alone[...] = np.isin(labels, index[worse]) & miss
    if sigma_nb is not None:
        s = sigma_nb.ravel()[at]
        ok = np.isfinite(s) & (s > 0)
        z, zlab = d_nb[ok] / s[ok], lab[ok]
        limit = np.full(n + 1, np.nan)
        for i in index[(np.bincount(zlab, minlength=n + 1)[1:] >= MIN_RING) & ~worse]:
            limit[i] = max(1.0, float(np.quantile(z[zlab == i], QUANTILE)))  # the 68.27% quantile (the probe's)
        verdict.limit[miss] = limit[labels[miss]]
    return verdict


def alone_frame(frame: Frame, alone: np.ndarray) -> Frame:
    """``frame`` with only the ``alone`` pixels missing, and its other missing pixels kept out of the context;
    its value space, noise and geometry are ``frame``'s (`Frame.with_missing`), a crop's too."""
    return frame.with_missing(alone)


def alone_note(alone: np.ndarray, filled: np.ndarray) -> str:
    """HISTORY's words for the holes filled from the frame alone (``""``: none)."""
    if not alone.any():
        return ""
    grown = ndimage.binary_dilation(filled, iterations=RING)
    labels, n = ndimage.label(grown, structure=np.ones((3, 3), dtype=bool))
    k = len(np.unique(labels[alone]))
    return (f"{k} of {n} holes ({int(alone.sum())} px) filled from this frame alone: the neighbouring frames "
            f"filled a {RING}-px ring of valid pixels around them worse than this frame alone did (something moved "
            "between the frames)")
