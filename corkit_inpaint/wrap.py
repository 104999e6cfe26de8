"""Summed frames in signed 16-bit files: counts above 32767 are stored wrapped to negative numbers.

A LASCO level-0.5 file is BITPIX 16. A frame summed on board or on the chip
(LEBXSUM/LEBYSUM, SUMCOL/SUMROW) can count past 32767, and those pixels are
stored as negative numbers: SolarSoft's and corkit's level 1 undo it
(``fixwrap``) before anything else. The fill must too: a wrapped bright pixel
is not dark context, and a wrapped bright block (every pixel below 0) is not a
lost one. `unwrapped` gives the counts as measured; `wrapped_values` turns
filled counts back into the file's convention, so valid pixels and the file's
type stay as they were.
"""

from __future__ import annotations

import numpy as np

from . import header as H

__all__ = ["WRAP", "wraps", "unwrapped", "wrapped_values"]

#: The range a signed 16-bit count wraps around (a stored -1 is 65535 counts).
WRAP = 65536


def wraps(data: np.ndarray, header) -> bool:
    """Whether ``data`` is a summed frame in signed 16-bit integers, so that negative values are wrapped counts."""
    x, y = H.summing(header)
    return np.asarray(data).dtype.kind == "i" and np.asarray(data).dtype.itemsize == 2 and x * y > 1


def unwrapped(data: np.ndarray, header) -> np.ndarray:
    """``data`` with wrapped counts restored (as int32), or ``data`` itself where nothing is wrapped (`wraps`)."""
    a = np.asarray(data)
    if not wraps(a, header) or not (a < 0).any():
        return data
    out = a.astype(np.int32)
    out[out < 0] += WRAP
    return out


def wrapped_values(values: np.ndarray, dtype) -> np.ndarray:
    """Counts (float, rounded here) as a wrapping signed 16-bit file stores them: 0..65535, those above 32767 as
    negatives; of type ``dtype``."""
    v = np.clip(np.rint(np.asarray(values, dtype=np.float64)), 0, WRAP - 1)
    return np.where(v > np.iinfo(np.int16).max, v - WRAP, v).astype(dtype)
