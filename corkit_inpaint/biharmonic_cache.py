"""scikit-image's biharmonic inpainting, bit for bit, reusing the factorised system of a hole pattern seen before.

`skimage.restoration.inpaint_biharmonic` builds and solves a sparse linear
system whose matrix depends only on the mask: every window around a lone
32x32 block with valid context has the same one, and so do the window of a
fill and the window of the valid block its sigma is checked on
(`corkit_inpaint.uncertainty.probe`). Building and factorising that matrix
is most of the function's time (3.6 ms of 3.8 ms on a 96x96 window).
`inpaint_biharmonic` here builds the same matrix, factorises it with the
same SuperLU settings (``MMD_ATA`` column order, on the transposed storage
scikit-image's ``spsolve`` call hands over), keeps the factors of the last
`MAX_SYSTEMS` masks (within `MAX_BYTES`), and builds the
right-hand side in scikit-image's order. Its output equals scikit-image's
bit for bit (`tests/test_biharmonic_cache.py` compares them on random masks);
a cached mask costs a solve, 0.15 ms.

Only a 2-D float64 ndarray with an ndarray mask that has both missing and
valid pixels takes this path; anything else goes to scikit-image unchanged.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

__all__ = ["inpaint_biharmonic", "MAX_SYSTEMS", "MAX_BYTES", "clear_cache"]

#: Factorised systems kept (the least recently used goes first).
MAX_SYSTEMS = 64
#: Memory the kept systems may take, all together (a lone 32x32 block's takes 1.3 MB, a 3x3 cluster's 21 MB); a
#: system larger than this alone is used once and not kept.
MAX_BYTES = 64 * 2 ** 20
#: The biharmonic stencil's reach (scikit-image's ``radius``).
_RADIUS = 2

_LOCK = threading.Lock()
_CACHE: OrderedDict = OrderedDict()


@dataclass
class _System:
    """One mask's factorised system and how its right-hand side is made."""

    order: np.ndarray           # the unknown pixels (flat indices), in scikit-image's order
    pixels: np.ndarray          # (n, 13): each row's stencil pixels; pads point past the image
    known: np.ndarray           # (n, 13): the stencil's coefficient where that pixel is valid, else 0
    lu: object                  # scipy.sparse.linalg.SuperLU of the matrix's transposed storage
    nbytes: int
    lock: threading.Lock = field(default_factory=threading.Lock)


def _stencil(shape: tuple[int, ...], centre: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The (truncated) biharmonic stencil's offsets and coefficients, as scikit-image computes them."""
    from scipy.ndimage import laplace
    c = np.zeros(shape)
    c[centre] = 1
    c = laplace(laplace(c))
    idx = np.where(c)
    return np.stack(idx, 0), c[idx]


def _system(mask: np.ndarray) -> _System:
    """Build and factorise the system of ``mask`` (2-D bool, with missing and valid pixels)."""
    from scipy import sparse
    from scipy.sparse.linalg import splu
    h, w = mask.shape
    r = _RADIUS
    edge = np.ones(mask.shape, dtype=bool)
    edge[r:-r, r:-r] = False
    near, inner = np.flatnonzero(edge & mask), np.flatnonzero(~edge & mask)
    order = np.concatenate([near, inner])           # scikit-image: points near the border first, each row-major
    n, size = order.size, mask.size
    full_idx, full_coef = _stencil((2 * r + 1,) * 2, (r, r))
    pixels = np.full((n, full_coef.size), size, dtype=np.intp)
    coefs = np.zeros((n, full_coef.size))
    iy, ix = np.divmod(inner, w)
    pixels[near.size:] = (iy[:, None] + full_idx[0] - r) * w + ix[:, None] + full_idx[1] - r
    coefs[near.size:] = full_coef
    truncated: dict = {}
    for row, p in enumerate(near):                  # the stencil cut at the window's border, per position
        y, x = divmod(int(p), w)
        lo = (max(y - r, 0), max(x - r, 0))
        key = ((min(y + r + 1, h) - lo[0], min(x + r + 1, w) - lo[1]), (y - lo[0], x - lo[1]))
        if key not in truncated:
            truncated[key] = _stencil(*key)
        idx, c = truncated[key]
        pixels[row, :c.size] = (idx[0] + lo[0]) * w + idx[1] + lo[1]
        coefs[row, :c.size] = c
    flat = np.append(mask.ravel(), False)
    unknown = flat[pixels] & (coefs != 0)
    rows = np.broadcast_to(np.arange(n)[:, None], pixels.shape)
    matrix = sparse.csr_array((coefs[unknown], (rows[unknown], pixels[unknown])), shape=(n, size))[:, order]
    # scikit-image hands this CSR matrix to SuperLU's gssv, which factorises its storage read as the
    # transpose's columns and solves with the transpose: factorise that storage, solve with trans="T"
    lu = splu(sparse.csc_array((matrix.data, matrix.indices, matrix.indptr), shape=(n, n)), permc_spec="MMD_ATA")
    known = np.where(unknown, 0.0, coefs)
    # SuperLU's stored nonzeros (its .L and .U would build and keep CSC copies, doubling its size): value and index
    nbytes = 12 * lu.nnz + order.nbytes + pixels.nbytes + known.nbytes
    return _System(order, pixels, known, lu, int(nbytes))


def _cached(mask: np.ndarray) -> _System:
    key = (mask.shape, np.packbits(mask).tobytes())
    with _LOCK:
        found = _CACHE.get(key)
        if found is not None:
            _CACHE.move_to_end(key)
            return found
    system = _system(mask)
    if system.nbytes > MAX_BYTES:       # kept, it would push out every other: used once, not kept
        return system
    with _LOCK:
        _CACHE[key] = system
        while len(_CACHE) > MAX_SYSTEMS or sum(s.nbytes for s in _CACHE.values()) > MAX_BYTES:
            _CACHE.popitem(last=False)  # the oldest first; the new one fits alone, so it stays
    return system


def clear_cache() -> None:
    """Forget every factorised system."""
    with _LOCK:
        _CACHE.clear()


def inpaint_biharmonic(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`skimage.restoration.inpaint_biharmonic` of ``image`` where ``mask`` is True, bit for bit.

    Parameters
    ----------
    image : numpy.ndarray
        2-D. Values under the mask are not read.
    mask : numpy.ndarray of bool
        True where a pixel is missing.

    Returns
    -------
    numpy.ndarray
        The filled image (float64 for a float64 image), clipped to the valid pixels' range.
    """
    ours = (type(image) is np.ndarray and isinstance(mask, np.ndarray) and image.ndim == 2
            and image.dtype == np.float64 and mask.shape == image.shape)
    if ours:
        mask = mask.astype(bool, copy=False)
        ours = bool(mask.any()) and not mask.all()
    if not ours:
        from skimage.restoration import inpaint_biharmonic as reference
        return reference(image, mask)
    system = _cached(mask)
    values = np.append(np.where(mask, 0.0, image).ravel(), 0.0)   # pads read the last 0
    rhs = np.zeros(system.order.size)
    with np.errstate(over="ignore", invalid="ignore"):   # as scikit-image's compiled loop: no warning, inf or NaN
        for k in range(system.pixels.shape[1]):         # scikit-image's order of accumulation
            rhs -= system.known[:, k] * values[system.pixels[:, k]]
    with system.lock:
        solution = system.lu.solve(rhs, trans="T")
    out = image.copy()
    out.ravel()[system.order] = solution
    known = image[~mask]
    return np.clip(out, known.min(), known.max())
