"""Telemetry-loss masks: which 32x32 blocks to blank, in the patterns real losses take.

Patterns (``PATTERNS``) and how a mixed draw picks them:

============  ===========  =====================================================
pattern       probability  what is blanked
============  ===========  =====================================================
``single``    0.30         1 to 8 scattered single blocks
``run``       0.30         one run of 2 to 6 blocks along a block row (raster order)
``cluster``   0.25         one 2x2 or 3x3 cluster (equal odds)
``long``      0.15         raster run of 10-30 blocks, wrapping rows (eligible ones)
============  ===========  =====================================================

Two larger losses (``LARGE_PATTERNS``) are never drawn in a mixed draw, and
neither training nor evaluation uses them: the error-table fit
(`corkit_inpaint.uncertainty.fit`) takes them for the pixels deeper in a loss
than the patterns above reach:

==============  =====================================================
pattern         what is blanked
==============  =====================================================
``rows``        every eligible block of 2 to 5 consecutive block rows (fewer where the field ends)
``bigcluster``  one 4x4, 5x5 or 6x6 cluster (equal odds; smaller where none fits)
==============  =====================================================

Blocks are drawn only where a loss would be reported (``eligible``: inside the
field of view, with signal around), so never-transmitted blocks keep their own
zeros on top of the blanked ones.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..blocks import BLOCK, blocks_to_mask, find_missing_blocks, zero_blocks
from ..geometry import optical_geometry
from ..header import bias_and_exptime
from ..wrap import unwrapped

__all__ = ["PATTERNS", "PATTERN_PROBS", "LARGE_PATTERNS", "eligible_blocks", "loss_mask", "pylon_cluster",
           "change_cluster", "blanked_copies"]

PATTERNS = ("single", "run", "cluster", "long")
PATTERN_PROBS = (0.30, 0.30, 0.25, 0.15)
LARGE_PATTERNS = ("rows", "bigcluster")


def eligible_blocks(image: np.ndarray, header=None) -> np.ndarray:
    """Grid of blocks whose loss `find_missing_blocks` would report (its ``rule=1``).

    Rule 1 keeps training and evaluation masks as the shipped weights were
    trained and measured with; rule 2 only adds losses next to the occulter.

    A block is eligible when blanking it alone makes it a reported loss and it
    is not already zero.
    """
    img = np.asarray(unwrapped(np.asarray(image), header), dtype=np.float64)   # counts (corkit_inpaint.wrap)
    zb = zero_blocks(img)
    gy, gx = zb.shape
    # Blank every second block in a checkerboard so each keeps a valid ring, twice.
    ok = np.zeros((gy, gx), dtype=bool)
    for parity in (0, 1):
        t = img.copy()
        sel = ((np.add.outer(np.arange(gy), np.arange(gx)) % 2) == parity) & ~zb
        for by, bx in zip(*np.nonzero(sel)):
            t[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK] = 0
        _, found = find_missing_blocks(t, header, rule=1)   # the masks the shipped weights were trained on
        for by, bx in found:
            ok[by, bx] |= sel[by, bx]
    # only full-size blocks
    ny, nx = img.shape
    ok[ny // BLOCK:, :] = False
    ok[:, nx // BLOCK:] = False
    return ok


def _corners(ok: np.ndarray, h: int, w: int) -> np.ndarray:
    """The top-left corners of the ``h`` x ``w`` windows of ``ok`` that are all True; none where such a window
    does not fit (battery s36: `evaluate` on an image under 6 blocks wide raised numpy's ValueError)."""
    if h > ok.shape[0] or w > ok.shape[1]:
        return np.zeros((0, 2), dtype=np.intp)
    return np.argwhere(np.lib.stride_tricks.sliding_window_view(ok, (h, w)).all(axis=(2, 3)))


def _run(rng, ok, length, *, wrap):
    """A raster run of ``length`` blocks starting on an eligible block.

    Without ``wrap`` the run stays in one block row and every block must be
    eligible (shortening it if needed); with ``wrap`` it follows raster order
    across rows and only its eligible blocks are returned.
    """
    gy, gx = ok.shape
    starts = np.argwhere(ok)
    if wrap:
        by, bx = starts[rng.integers(len(starts))]
        idx = np.arange(by * gx + bx, min(by * gx + bx + length, gy * gx))
        return [divmod(int(i), gx) for i in idx if ok.flat[i]]
    for n in range(length, 0, -1):
        cand = _corners(ok, 1, n)
        if len(cand):
            by, bx = cand[rng.integers(len(cand))]
            return [(int(by), int(bx + j)) for j in range(n)]
    return []


def loss_mask(rng: np.random.Generator, eligible: np.ndarray, pattern: str | None = None
              ) -> tuple[str, list[tuple[int, int]]]:
    """Draw blocks to blank.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (seed it for reproducible masks).
    eligible : numpy.ndarray of bool
        Block grid from `eligible_blocks`.
    pattern : str, optional
        One of `PATTERNS` (drawn with `PATTERN_PROBS` when None) or `LARGE_PATTERNS`.

    Returns
    -------
    pattern : str
    blocks : list of (block_row, block_col)
    """
    if not eligible.any():
        return pattern or "single", []
    if pattern is None:
        pattern = str(rng.choice(PATTERNS, p=PATTERN_PROBS))
    ok = eligible
    if pattern == "single":
        cand = np.argwhere(ok)
        k = min(int(rng.integers(1, 9)), len(cand))
        pick = cand[rng.choice(len(cand), k, replace=False)]
        return pattern, [tuple(map(int, p)) for p in pick]
    if pattern == "run":
        return pattern, _run(rng, ok, int(rng.integers(2, 7)), wrap=False)
    if pattern == "long":
        return pattern, _run(rng, ok, int(rng.integers(10, 31)), wrap=True)
    if pattern in ("cluster", "bigcluster"):
        sizes = (2, 3) if pattern == "cluster" else (4, 5, 6)
        drawn = int(rng.choice(sizes))
        for k in range(drawn, sizes[0] - 1, -1):         # a big one that does not fit anywhere: a smaller one
            cand = _corners(ok, k, k)
            if len(cand) or pattern == "cluster":
                break
        if len(cand) == 0:
            return pattern, []
        y, x = cand[rng.integers(len(cand))]
        return pattern, [(int(y + i), int(x + j)) for i in range(k) for j in range(k)]
    if pattern == "rows":
        k = int(rng.integers(2, 6))
        rows = np.flatnonzero(ok.any(axis=1))
        if len(rows) == 0:
            return pattern, []
        y0 = int(rows[rng.integers(len(rows))])
        return pattern, [(int(y), int(x)) for y, x in np.argwhere(ok[y0:y0 + k]) + (y0, 0)]
    raise ValueError(f"unknown pattern {pattern!r}; expected one of {PATTERNS + LARGE_PATTERNS}")


def pylon_cluster(rng: np.random.Generator, eligible: np.ndarray, header) -> list[tuple[int, int]]:
    """A 2x2 or 3x3 cluster of eligible blocks over C2's pylon where it crosses the diffraction ring.

    The hardest C2 inner-field holes (the real frames' pylon leaves 8-28% of the
    ring's light at 2.1-2.2 Rsun), which a mixed draw covers in about 2% of its
    masks. A point of the ring on the pylon's axis (2.05-2.35 Rsun, -135 +- 3
    degrees in the stored image, as `simulator.pylon` draws it) lies at a random
    place in the cluster; blocks that are not eligible are left out.

    Returns
    -------
    list of (block_row, block_col)
        Empty for C3 or a header without geometry.
    """
    g = optical_geometry(header)
    if g is None or g.detector != "C2":
        return []
    rad, ang = rng.uniform(2.05, 2.35) * g.rsun, np.deg2rad(-135.0 + rng.normal(0.0, 3.0))
    k = int(rng.integers(2, 4))
    y0 = int((g.cy + rad * np.sin(ang)) // BLOCK) - int(rng.integers(k))
    x0 = int((g.cx + rad * np.cos(ang)) // BLOCK) - int(rng.integers(k))
    gy, gx = eligible.shape
    return [(y0 + i, x0 + j) for i in range(k) for j in range(k)
            if 0 <= y0 + i < gy and 0 <= x0 + j < gx and eligible[y0 + i, x0 + j]]


def block_change(image: np.ndarray, header, neighbours) -> np.ndarray:
    """Per block, how much the frame changed from its neighbouring frames: the largest over the neighbours of
    the block's median of |rate - neighbour's rate| / sqrt(rate), rates in DN/s above the bias
    (`corkit_inpaint.header.bias_and_exptime`, as the fill's: OFFSET times the on-board summing; grid
    unregistered: a simulated sequence's pointing jitter is sub-pixel). 0 where no neighbour has data, or where
    a header lacks its bias or exposure time."""
    def rate(img, hdr):
        bias, exptime = bias_and_exptime(hdr)
        return (np.asarray(img, dtype=np.float64) - bias) / exptime
    if bias_and_exptime(header) is None:
        return np.zeros(tuple(s // BLOCK for s in np.shape(image)))
    r = rate(unwrapped(np.asarray(image), header), header)
    ny, nx = (s // BLOCK for s in r.shape)
    score = np.zeros((ny, nx))
    for img, hdr in neighbours:
        if bias_and_exptime(hdr) is None or np.shape(img) != r.shape:
            continue
        n = rate(unwrapped(np.asarray(img), hdr), hdr)
        ok = (np.asarray(img) > 0) & (np.asarray(image) > 0)
        d = np.where(ok, np.abs(r - n) / np.sqrt(np.maximum(r, 1.0 / bias_and_exptime(header)[1])), np.nan)
        d = d[:ny * BLOCK, :nx * BLOCK].reshape(ny, BLOCK, nx, BLOCK).transpose(0, 2, 1, 3).reshape(ny, nx, -1)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)       # an all-NaN block: no data, no change
            score = np.fmax(score, np.nanmedian(d, axis=2))
    return np.nan_to_num(score)


def change_cluster(rng: np.random.Generator, eligible: np.ndarray, change: np.ndarray,
                   top: int = 6) -> list[tuple[int, int]]:
    """A 1x1 to 3x3 cluster of eligible blocks on one of the ``top`` eligible blocks that changed most
    (`block_change`) between the frame and its neighbours: where a CME front, a comet or a planet moved, the
    neighbours mislead a fill, and the network must learn to see it. The block lies at a random place in the
    cluster; blocks that are not eligible are left out. Empty when no eligible block changed."""
    score = np.where(eligible, change, 0.0)
    order = np.argsort(score, axis=None)[::-1][:top]
    order = order[score.flat[order] > 0]
    if len(order) == 0:
        return []
    cy, cx = np.unravel_index(int(order[rng.integers(len(order))]), score.shape)
    k = int(rng.integers(1, 4))
    y0, x0 = cy - int(rng.integers(k)), cx - int(rng.integers(k))
    gy, gx = eligible.shape
    return [(y0 + i, x0 + j) for i in range(k) for j in range(k)
            if 0 <= y0 + i < gy and 0 <= x0 + j < gx and eligible[y0 + i, x0 + j]]


def blanked_copies(image: np.ndarray, header, rng: np.random.Generator, repeats: int, patterns=PATTERNS):
    """Blank ``repeats`` masks per loss pattern in ``image``, as evaluation and the error-table fit do.

    Yields
    ------
    pattern : str
    repeat : int
    blocks : list of (int, int)
    mask : numpy.ndarray of bool
        The blanked pixels.
    test : numpy.ndarray
        A float64 copy of ``image`` with ``mask`` zeroed.
    """
    img = np.asarray(unwrapped(np.asarray(image), header), dtype=np.float64)   # counts (corkit_inpaint.wrap)
    elig = eligible_blocks(img, header)
    for pattern in patterns:
        for r in range(repeats):
            _, blocks = loss_mask(rng, elig, pattern)
            if not blocks:
                continue
            mask = blocks_to_mask(img.shape, blocks)
            test = img.copy()
            test[mask] = 0
            yield pattern, r, blocks, mask, test
