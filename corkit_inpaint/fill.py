"""The fill step: run a method on a frame, check its result, and apply it to a level-0.5 image.

`run_method` is where every method's result is checked: a method may only
change missing pixels, must give finite values there, and every valid pixel of
the result is copied from the input, so it is bit-identical.
`fill_level05` is the step `inpaint_fits` and `level_1` share: find the blocks,
fill them, cast back to the input's data type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .blocks import blocks_in, find_missing_blocks
from .exceptions import MethodError
from .frame import Frame
from .methods import FillMethod, FillResult, Provenance, get_method

__all__ = ["run_method", "FilledImage", "fill_level05", "cast_filled"]


def run_method(method: str | FillMethod, frame: Frame, *, neighbours: Sequence[Frame] = (),
               device: str = "auto", weights=None) -> FillResult:
    """Run a method on ``frame`` and check what it returns.

    Returns
    -------
    FillResult
        ``values`` equals ``frame.image`` outside ``filled``, exactly.

    Raises
    ------
    MethodError
        Unknown method, or a result of the wrong type or shape, filling pixels
        that are not missing, or with non-finite filled values.
    """
    m = get_method(method) if isinstance(method, str) else method
    res = m.fill(frame, neighbours=neighbours, device=device, weights=weights)
    if not isinstance(res, FillResult):
        raise MethodError(f"method {m.name!r} returned {type(res).__name__}, not a FillResult")
    vals = np.asarray(res.values, dtype=np.float64)
    filled = np.asarray(res.filled, dtype=bool)
    if vals.shape != frame.shape or filled.shape != frame.shape:
        raise MethodError(f"method {m.name!r} returned shape {vals.shape}, expected {frame.shape}")
    if np.any(filled & ~frame.missing):
        raise MethodError(f"method {m.name!r} claims to fill pixels that are not missing")
    if not np.all(np.isfinite(vals[filled])):
        raise MethodError(f"method {m.name!r} produced NaN or inf in the filled pixels")
    out = frame.image.copy()
    out[filled] = vals[filled]
    sigma = None if res.sigma is None else np.where(filled, np.asarray(res.sigma, dtype=np.float64), 0.0)
    return replace(res, values=out, filled=filled, sigma=sigma)


def cast_filled(values: np.ndarray, data: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """``values`` in ``data``'s type: filled integer pixels rounded and clipped, the rest copied from ``data``."""
    dtype = data.dtype
    res = np.asarray(values, dtype=np.float64).copy()
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        res[filled] = np.clip(np.rint(res[filled]), info.min, info.max)
    out = res.astype(dtype)
    out[~filled] = data[~filled]
    return out


@dataclass(frozen=True, eq=False)
class FilledImage:
    """A level-0.5 image after the fill step.

    Attributes
    ----------
    data : numpy.ndarray
        In the input's data type; valid pixels bit-identical to the input.
    filled : numpy.ndarray of bool
        Pixels filled.
    blocks : list of tuple of int
        Blocks (really) filled.
    missing_blocks : int
        Blocks found missing, filled or not.
    provenance : Provenance or None
        None when nothing was filled.
    note : str
        Why nothing, or not everything, was filled (``""`` otherwise).
    sigma : numpy.ndarray or None
        The method's per-pixel 1-sigma, if it gives one.
    """

    data: np.ndarray
    filled: np.ndarray
    blocks: list
    missing_blocks: int
    provenance: Provenance | None
    note: str = ""
    sigma: np.ndarray | None = None


def fill_level05(data: np.ndarray, header, method: str | None, *, device: str = "auto", weights=None,
                 neighbours: Sequence[Frame] = (), level1: bool = False) -> FilledImage:
    """Find the missing blocks of a level-0.5 image and fill them.

    Parameters
    ----------
    data : numpy.ndarray
        The stored array, in its own type.
    header : astropy.io.fits.Header
    method : str or None
        Registered method name; None finds the blocks but fills nothing.
    device, weights, neighbours
        As for `run_method`.
    level1 : bool
        Run the method as ``level_1`` does (`FillMethod.for_level1`, `FillMethod.skip_reason`).
    """
    mask, blocks = find_missing_blocks(data, header)
    none = np.zeros(data.shape, dtype=bool)
    if not blocks:
        return FilledImage(data.copy(), none, [], 0, None, "no missing blocks")
    if method is None:
        return FilledImage(data.copy(), none, [], len(blocks), None, "no fill requested")
    m = get_method(method)
    m = m.for_level1() if level1 else m
    frame = Frame.build(data, mask, header)
    reason = m.skip_reason(frame)
    if reason:
        return FilledImage(data.copy(), none, [], len(blocks), None, reason)
    res = run_method(m, frame, neighbours=neighbours, device=device, weights=weights)
    done = blocks_in(res.filled, blocks)
    if not done:
        return FilledImage(data.copy(), none, [], len(blocks), None,
                           res.skipped or "the method left every block masked")
    return FilledImage(cast_filled(res.values, data, res.filled), res.filled, done, len(blocks),
                       res.provenance, res.skipped, res.sigma)
