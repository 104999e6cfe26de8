"""Where the neighbouring frames disagree with the frame or with each other, a neighbour fill's 1-sigma is widened.

An error table (`corkit_inpaint.uncertainty.tables`) knows whether a filled
pixel had neighbour data, not whether that data was any good. Near a CME
front that moved between the frames, the neighbours' estimate misses the
frame's own pixels around the hole (its *misfit*, the network's misfit
guide) and the neighbours differ from each other inside it (their
*disagreement*, the spread guide), and the fill's error grows with both: on
the real C3 sequence with a front added (`benchmarks/front_on_real.py`) only
48% of the true pixels lay within 1 sigma. A `Widening` multiplies the
table's sigma of a pixel with neighbour data by a factor per cell of
(misfit, disagreement), both over the window's noise: 1 in the first cell
(the neighbours agree), and at least 1 and never smaller in a cell farther
out. The factors are fitted on simulated sequences by
`corkit_inpaint.uncertainty.widen_fit`, as the 68.27% quantile of
``|error| / sigma`` in each cell over that of the first cell, and stored
beside the table they widen in the tables file (numbers only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import PixelFeatures

__all__ = ["MISFIT_EDGES", "DISAGREE_EDGES", "cells", "Widening", "parse_widening", "monotone", "factor_applied",
           "widened_note"]

#: Cell edges of the neighbour estimate's misfit to the frame around the pixel, over the window's noise.
MISFIT_EDGES = (0.0, 1.5, 3.0, 6.0, np.inf)
#: Cell edges of the neighbours' spread at the pixel, over the window's noise.
DISAGREE_EDGES = (0.0, 1.5, 3.0, 6.0, np.inf)


def cells(misfit: np.ndarray, disagree: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's cell ``(row, column)``: its misfit's bin of `MISFIT_EDGES`, its disagreement's of
    `DISAGREE_EDGES` (beyond the last edge, or NaN: the last bin)."""
    i = np.clip(np.searchsorted(MISFIT_EDGES, misfit, side="right") - 1, 0, len(MISFIT_EDGES) - 2)
    j = np.clip(np.searchsorted(DISAGREE_EDGES, disagree, side="right") - 1, 0, len(DISAGREE_EDGES) - 2)
    return i, j


@dataclass(frozen=True, eq=False)
class Widening:
    """The factors a table's sigma is multiplied by, per (misfit, disagreement) cell.

    Attributes
    ----------
    factor : numpy.ndarray
        ``(len(MISFIT_EDGES) - 1, len(DISAGREE_EDGES) - 1)``; 1 in the first cell, never smaller
        farther out along either axis (`monotone`).
    pixels : numpy.ndarray or None
        The simulated pixels each cell was fitted on (for the record).
    """

    factor: np.ndarray
    pixels: np.ndarray | None = None

    def of(self, features: PixelFeatures) -> np.ndarray:
        """Each pixel's factor: its cell's where it had neighbour data and the neighbour guides are known,
        else 1."""
        out = np.ones(features.neighbour.shape)
        if features.misfit is None or features.disagree is None:
            return out
        return np.where(features.neighbour, self.factor[cells(features.misfit, features.disagree)], 1.0)

    def to_json(self) -> dict:
        """The form `parse_widening` reads."""
        return {"misfit_edges": [float(e) for e in MISFIT_EDGES[1:-1]],
                "disagree_edges": [float(e) for e in DISAGREE_EDGES[1:-1]],
                "factor": np.round(self.factor, 4).tolist(),
                **({} if self.pixels is None else {"pixels": np.asarray(self.pixels, dtype=int).tolist()})}


def monotone(factor: np.ndarray) -> np.ndarray:
    """``factor`` made 1 in the first cell and never smaller farther out along either axis (the running
    maximum over both), at least 1 everywhere; NaN cells (too few pixels) take their running maximum's value."""
    f = np.where(np.isfinite(factor), np.maximum(factor, 1.0), 1.0)
    f[0, 0] = 1.0
    return np.maximum.accumulate(np.maximum.accumulate(f, axis=0), axis=1)


def parse_widening(doc) -> Widening:
    """A `Widening` from its JSON form (`Widening.to_json`).

    Raises
    ------
    ValueError
        Other edges than this version's, a factor of the wrong shape, factors that are not numbers (text,
        true/false, a whole number beyond any float), not finite, not at least 1, not 1 in the first cell, or
        smaller farther out, or pixels that are not whole numbers >= 0.
    """
    if not isinstance(doc, dict):
        raise ValueError("'widen' is not a mapping")
    for key, edges in (("misfit_edges", MISFIT_EDGES), ("disagree_edges", DISAGREE_EDGES)):
        if doc.get(key) != [float(e) for e in edges[1:-1]]:
            raise ValueError(f"'widen' {key} {doc.get(key)!r}: this version reads {list(edges[1:-1])}")
    shape = (len(MISFIT_EDGES) - 1, len(DISAGREE_EDGES) - 1)
    factor = _numbers(doc.get("factor"), "factor", "numbers", "iuf").astype(np.float64)
    if factor.shape != shape:
        raise ValueError(f"'widen' factor has shape {factor.shape}, not {shape}")
    if not (np.all(np.isfinite(factor)) and np.array_equal(factor, monotone(factor))):
        raise ValueError("'widen' factors must be finite, 1 in the first cell, and never smaller farther out")
    pixels = doc.get("pixels")
    if pixels is not None:
        pixels = _numbers(pixels, "pixels", "whole numbers >= 0", "iu")
        if pixels.size and (pixels.min() < 0 or pixels.max() > np.iinfo(np.int64).max):
            raise ValueError("'widen' pixels is not an array of whole numbers >= 0")
        pixels = pixels.astype(np.int64)
        if pixels.shape != shape:
            raise ValueError(f"'widen' pixels has shape {pixels.shape}, not {shape}")
    return Widening(factor, pixels)


def _numbers(x, what: str, said: str, kinds: str) -> np.ndarray:
    """``x`` as an array whose dtype is of one of ``kinds`` (numpy's ``dtype.kind``), else `ValueError` naming
    ``what``: text, true/false, a whole number beyond any float (an object array) or a ragged list is no number."""
    try:
        a = np.asarray(x)
    except (TypeError, ValueError, OverflowError):
        a = None
    if a is None or a.dtype.kind not in kinds:
        raise ValueError(f"'widen' {what} is not an array of {said}")
    return a


def factor_applied(own: np.ndarray, wide: np.ndarray) -> np.ndarray:
    """What the widening really multiplied each sigma by: ``wide / own`` (both capped, `ErrorTable.sigmas`;
    1 where ``own`` is 0)."""
    return np.divide(wide, own, out=np.ones(np.shape(own)), where=own > 0)


def widened_note(factor: np.ndarray) -> str:
    """HISTORY's words for the pixels whose sigma the neighbours' disagreement widened (``""``: none)."""
    wide = factor > 1.0
    if not wide.any():
        return ""
    return (f"1-sigma of {int(wide.sum())} pixels widened (x{float(factor[wide].min()):.2f} to "
            f"x{float(factor.max()):.2f}) where the neighbouring frames disagree with this frame or each other")
