"""Which holes the neighbouring frames help: a ring of valid pixels around each hole, filled with and without them.

A fill from neighbouring frames trusts frames taken 12 to 60 minutes away.
Where something moved between them, a CME front above all, their estimate puts
it in the wrong place, and the network, which sees only the frame around the
hole, often trusts it anyway: on the real C3 sequence with a moving front added
(``benchmarks/front_on_real.py``) the fill with two neighbours had 1.6 times the
hole error of the frame alone. The frame itself can say so. `holes_filled_alone`
blanks a ring of `RING` valid pixels around every hole, fills hole and ring
with the neighbours and without them, and compares the two fills on the ring,
where the truth is known: a hole whose ring the frame alone fills better (a
smaller median absolute error and a smaller mean squared error) is filled from
the frame alone. Both must agree: the median alone is blind to a bright
structure that crosses a few ring pixels, the mean alone is led by a cosmic-ray
hit or a star in the ring. Only holes whose neighbour estimate is in doubt are
checked (`suspect_holes`): the check costs two more runs of the network over
them and their rings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from ..frame import Frame
from ..network.windows import GUIDES

__all__ = ["RING", "MIN_RING", "SUSPECT_MISFIT", "SUSPECT_SPREAD", "suspect_holes", "holes_filled_alone", "alone_frame",
           "alone_note"]

#: Width of the ring of valid pixels blanked around each hole, in pixels of the image.
RING = 8
#: Fewest ring pixels both fills must fill for a hole to be judged; a hole with fewer keeps its neighbours.
MIN_RING = 64
#: A hole is checked when its neighbour estimate misses the frame around it by this many noise sigma at some
#: pixel (on the real C3 sequence, 10-20% of the windows of 10 random blocks; with a moving front, 90%) ...
SUSPECT_MISFIT = 1.5
#: ... or the neighbours differ by this many at its median pixel (quiet: none of those windows; a front: 95%).
SUSPECT_SPREAD = 1.0


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


def holes_filled_alone(frame: Frame, fill: Callable[[Frame, bool], tuple[np.ndarray, np.ndarray]],
                       among: np.ndarray | None = None) -> np.ndarray:
    """The missing pixels of the holes that the frame alone fills better than with its neighbouring frames.

    Parameters
    ----------
    frame : Frame
    fill : callable
        ``fill(frame, with_neighbours)`` gives a fill's values and the pixels it
        filled; it is called twice, on ``frame`` with the ring around every hole
        blanked too.
    among : numpy.ndarray of bool, optional
        The missing pixels to judge (`suspect_holes`; None: all); the others are
        neither filled by ``fill`` nor named.

    Returns
    -------
    numpy.ndarray of bool
        The missing pixels of every hole (missing pixels within ``2 * RING`` of
        one another are one hole) whose ring the fill without the neighbours
        fills with a smaller median absolute error and a smaller mean squared
        error than the fill with them. A
        hole with fewer than `MIN_RING` ring pixels filled both ways is not
        judged (it keeps its neighbours).
    """
    miss = frame.missing if among is None else frame.missing & among
    grown = ndimage.binary_dilation(miss, iterations=RING)
    ring = grown & ~miss & frame.valid
    alone = np.zeros(frame.shape, dtype=bool)
    if not ring.any():
        return alone
    test = frame.with_missing(miss | ring, blank=ring)
    with_nb, filled_nb = fill(test, True)
    without, filled_alone = fill(test, False)
    labels, n = ndimage.label(grown, structure=np.ones((3, 3), dtype=bool))
    at = np.flatnonzero(ring & filled_nb & filled_alone)          # the ring pixels both fills filled
    if at.size == 0:
        return alone
    lab, index = labels.ravel()[at], np.arange(1, n + 1)
    truth = frame.image.ravel()[at]
    d_nb, d_alone = np.abs(with_nb.ravel()[at] - truth), np.abs(without.ravel()[at] - truth)
    worse = np.bincount(lab, minlength=n + 1)[1:] >= MIN_RING
    for stat, power in ((ndimage.median, 1), (ndimage.mean, 2)):   # the typical ring pixel, and the ring as a whole
        e_nb, e_alone = (np.nan_to_num(stat(d ** power, lab, index)) for d in (d_nb, d_alone))
        worse &= e_nb > e_alone
    if worse.any():
        alone = np.isin(labels, index[worse]) & miss
    return alone


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
