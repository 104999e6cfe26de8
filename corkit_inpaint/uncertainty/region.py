"""The 1-sigma of a sum over many filled pixels: INPSIGMA is per pixel, and a fill's errors are shared across a hole.

A fill's error at the pixels of one hole is partly one offset (the fill's
smooth surface is a little too high or low there) and partly each pixel's own
(the noise and fine structure no fill predicts). So the error of a sum over a
hole is neither ``sqrt(sum(sigma**2))`` (independent errors: 8 to 23 times too
small for a whole 32x32 block on real frames) nor ``sum(sigma)`` (one shared
offset: 1.4 to 4 times too large). `region_sigma` takes each filled pixel's error as
``shared * sigma * u + sqrt(1 - shared**2) * sigma * v``, with ``u`` one standard
normal per hole (a connected part of INPMASK) and ``v`` one per pixel, so each
pixel's sigma is unchanged, and the sum over a region has the variance
``sum over holes of (shared * sum of sigma) ** 2 + (1 - shared ** 2) * sum of sigma ** 2``.

`SHARED` is fitted on simulated frames: 0.35 puts 68% of the summed errors of
whole holes within this 1-sigma on the standard masks of the 24 held-out
synthetic frames of ``evaluate --synthetic 24`` (C2 and C3, full and summed;
``python benchmarks/region_sigma_holes.py --synthetic 24``). On the real frames
(25 masks per pattern) it holds 78% of the whole holes' sums in the full C2 frame
and 85% in the C3 frame (a little wide), but only 56% in the summed C2 frame,
whose errors are more shared (``shared=0.45`` holds 70% there). A block's sum
inside a larger hole is held less often (68% / 71% / 41%): the model gives the
whole hole one offset, while two blocks of a hole share only part of theirs.
``shared=1`` is the upper bound of fully shared errors (95-98% of whole holes).
A fill from neighbouring frames shares far less (a block's mean error spreads
as 0.05-0.07 of its mean sigma on the real C3 sequence with two neighbours:
most of its error is the neighbours' own noise): ``shared=0.1`` suits it
(docs/uncertainty.md, "Sums over filled pixels").

It counts the fill's error only: the measured pixels' own noise in the region
is not in INPSIGMA (0 there).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from scipy import ndimage

from ..exceptions import InputError

__all__ = ["SHARED", "region_sigma"]

#: The share of a filled pixel's sigma that is one offset over its hole (see the module).
SHARED = 0.35


def region_sigma(sigma: np.ndarray, region: np.ndarray | None = None, *, mask: np.ndarray | None = None,
                 shared: float = SHARED) -> float:
    """The 1-sigma, from the filled pixels, of the image's sum over ``region``.

    Parameters
    ----------
    sigma : numpy.ndarray
        The fill's 1-sigma per pixel (the ``INPSIGMA`` extension, level 0.5 or level 1),
        0 where a pixel was not filled.
    region : numpy.ndarray of bool, optional
        The pixels summed, the shape of ``sigma``; default every pixel.
    mask : numpy.ndarray of bool, optional
        The filled pixels (``INPMASK``); default where ``sigma`` > 0. Its connected
        parts (8-connected) are the holes.
    shared : float
        A real number (a numpy scalar too): the share of each pixel's sigma that is one offset over its hole, from 0
        (independent errors) to 1 (fully shared: an upper bound); default `SHARED`.

    Returns
    -------
    float
        The 1-sigma of the sum, in the image's unit (divide by the region's pixel count for
        its mean): ``sqrt(sum over holes of (shared * S_h) ** 2 + (1 - shared ** 2) * Q)``, with
        ``S_h`` the sum of sigma over hole h's pixels in the region and ``Q`` the sum of sigma
        squared over them all. 0 when the region holds no filled pixel, inf when one of them
        has an infinite sigma.

    Raises
    ------
    InputError
        Arrays of other shapes, or not of real numbers; a ``region`` or ``mask`` with values
        other than 0 and 1; a sigma that is negative or NaN where filled (anywhere in the region
        without ``mask``, since sigma then says which pixels were filled); ``shared`` outside 0 to 1.
    """
    if isinstance(shared, (bool, np.bool_)) or not isinstance(shared, numbers.Real) or not 0 <= shared <= 1:
        raise InputError(f"shared = {shared!r}: give a number from 0 to 1")
    shared = float(shared)
    sigma = _numbers(sigma, "sigma")
    if sigma.ndim != 2:
        raise InputError(f"sigma has shape {sigma.shape}: give a 2-D array (the INPSIGMA extension)")
    region, mask = (None if a is None else _flags(a, name, sigma.shape) for name, a in (("region", region),
                                                                                          ("mask", mask)))
    if mask is None:          # which pixels were filled is read from sigma: it must be a 1-sigma everywhere
        seen = sigma if region is None else sigma[region]
        if np.isnan(seen).any() or (seen < 0).any():
            raise InputError("sigma is NaN or negative in the region: not a 1-sigma (INPSIGMA is 0 where nothing "
                             "was filled); give mask=INPMASK to say which pixels were")
    filled = sigma > 0 if mask is None else mask
    inside = filled if region is None else filled & region
    if not inside.any():
        return 0.0
    s = sigma[inside]
    if np.isnan(s).any() or (s < 0).any():
        raise InputError("sigma is NaN or negative at filled pixels of the region: not a 1-sigma")
    if np.isinf(s).any():
        return math.inf
    labels, n = ndimage.label(filled, structure=np.ones((3, 3), dtype=bool))
    per_hole = np.bincount(labels[inside], weights=s, minlength=n + 1)
    with np.errstate(over="ignore"):            # sigmas near the float64 limit: their sum's sigma is inf
        return float(np.sqrt(shared ** 2 * np.sum(per_hole ** 2) + (1 - shared ** 2) * np.sum(s ** 2)))


def _numbers(a, name: str) -> np.ndarray:
    """``a`` as a float64 array; an InputError for one that is not real numbers (text, complex, objects)."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise InputError(f"{name} holds {arr.dtype} values: give an array of real numbers")
    return arr.astype(np.float64, copy=False)


def _flags(a, name: str, shape: tuple) -> np.ndarray:
    """``region`` or ``mask`` as bool: of ``shape``, and bool or numbers that are all 0 or 1 (INPMASK's uint8).

    A weight map (0.5), a label image (2, 3, ...), NaN or text would each be read as True silently.
    """
    if np.shape(a) != shape:
        raise InputError(f"{name} has shape {np.shape(a)}, sigma {shape}: give arrays of one shape")
    arr = np.asarray(a)
    if arr.dtype.kind == "b":
        return arr
    arr = _numbers(arr, name)
    if not ((arr == 0) | (arr == 1)).all():
        raise InputError(f"{name} holds values other than 0 and 1 (True and False): give a mask of the pixels")
    return arr != 0
