"""Find the 32x32 telemetry blocks missing from a LASCO level-0.5 image.

Rule, in the order it is applied:

1. Candidates: every block of the stored array's 32-pixel grid (starting at
   ``(0, 0)``; the last row/column of a subfield may be narrower) whose pixels
   are all ``<= 0``. Scattered zero pixels are never a block.
2. Not a loss -- geometry (needs a header with ``DETECTOR``): the block's centre
   lies inside the occulter's shadow core (C2 1.5 Rsun, C3 3.0 Rsun) or outside the
   field stop (C2 8.2 Rsun, C3 32.4 Rsun, where real frames still carry signal in
   the corners and at the rim; rules 1 and 2 took 6.3 and 30 Rsun, so losses
   there were left as zeros), or the whole block lies behind the
   occulter (every corner inside 1.95 Rsun for C2: the never-sent ring of
   full-resolution C2 frames reaches block centres at 1.63 Rsun). The optical centre comes from CRPIX1/2
   when present, else the detector's nominal centre; summing (LEBXSUM/LEBYSUM,
   SUMCOL/SUMROW) and the subfield origin (R1COL/R1ROW) map it onto the stored
   array. SolarSoft's ring of 8 never-sent blocks around the C2 occulter falls
   under this rule.
3. Not a loss -- no signal around (always applied, and the only rule without a
   header naming DETECTOR C2 or C3): too little of the block's surroundings is above the dark level,
   ``dark + 0.02 * (p99 - dark)``, where ``dark`` is the stored pixels' bias
   (OFFSET times the on-board summing, `corkit_inpaint.header.bias`; else the
   0.1th percentile of the valid pixels) and ``p99`` the 99th percentile of the
   valid pixels. Pixels behind the occulter (inside the radius of rule 2's
   "behind" test) are not counted: they are dark by geometry and say nothing
   about the block. The surroundings and the share (`RULE` 3, the default, with
   a header naming the detector): the valid pixels in a border `BORDER` (8)
   pixels wide, widened a block at a time (to at most 8 + 96 pixels) while it
   holds fewer than a quarter block of them (so the middle of a cluster is
   judged by the cluster's surroundings); at least `BRIGHT_SHARE` (40%) of them must be above the dark
   level. The border is what the block's own content continues: on the real C3
   frames every transmitted block with 30% or more of its pixels above the dark
   level passes, and none with under 10% does.

   Earlier versions, kept because the shipped weights' training masks were
   drawn with rule 1 (`corkit_inpaint.training.loss_masks.eligible_blocks`),
   judged by the lower quartile of the 1-block ring (widened, to at most 4
   blocks, until it holds a block's worth of valid pixels), that is 75% above
   the dark level. Rule 1
   also counted the occulter's shadow (it missed a C3 block at 4.1 Rsun with a
   median of 4690 DN), and rule 2 missed the losses beside the C3 pylon, where a
   quarter or more of the ring is dark (18 per real C3 frame, medians up to 870
   DN, when blocks are blanked one at a time). Without the geometry (no
   DETECTOR C2 or C3) rule 2's quartile stands in, which without geometry is
   rule 1: the border of a never-sent block in the ring around the C2 occulter
   is bright, so rule 3 would report the summed C2 frame's 8. Without the
   geometry neither rule protects a full-resolution C2 frame, whose
   never-sent blocks reach into the occulter: all 60 of the real frame's are
   reported (a warning says the geometry is off).

   This rule decides the C3 pylon: a lost block wholly on the dark pylon has
   no coronal signal in its border and is not reported. It is left as it is,
   not filled (SolarSoft's and corkit's C3 level-1 mask blank the pylon
   anyway). In a cluster that covers the pylon such a block is judged by the
   cluster's bright sides and filled, and flagged like any fill.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import header as H
from .exceptions import InputError
from .geometry import FIELD_RSUN_V1, optical_geometry
from .wrap import unwrapped

__all__ = ["BLOCK", "RULE", "find_missing_blocks", "zero_blocks", "zero_blocks_in_field", "zero_block_pixels",
           "off_grid_zero_blocks", "signal_threshold", "grid_to_pixels", "blocks_to_mask", "blocks_in", "blocks_of",
           "BORDER", "BRIGHT_SHARE", "NEARLY_ZERO"]

BLOCK = 32
#: A block with at least this share of its pixels <= 0, but not all, is nearly zero: the real full C2 frame's
#: never-sent corner block holds 1023 zeros and one 8192, a bit error (`zero_blocks_in_field`).
NEARLY_ZERO = 1000 / 1024
#: The no-signal rule's version: 2 leaves the pixels behind the occulter out of a block's surroundings;
#: 3 judges a block by its own border (`BORDER`, `BRIGHT_SHARE`), so losses beside the C3 pylon are found.
RULE = 3
#: Rule 3: width in pixels of the border a zero block is judged by.
BORDER = 8
#: Rule 3: the share of the border's valid pixels that must be above the dark level.
BRIGHT_SHARE = 0.4


def zero_blocks(image: np.ndarray) -> np.ndarray:
    """Boolean grid, True for each block on the 32-pixel grid whose pixels are all <= 0.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image of any size; edge blocks may be narrower than 32.

    Returns
    -------
    numpy.ndarray
        Shape ``(ceil(ny/32), ceil(nx/32))``.
    """
    return _share_not_positive(image) == 1.0


def _share_not_positive(image: np.ndarray) -> np.ndarray:
    """Per block of the 32-pixel grid, the share of its finite pixels <= 0 (an edge block's missing part
    counts; a NaN or infinity does not)."""
    img = np.asarray(image)
    ny, nx = img.shape
    gy, gx = -(-ny // BLOCK), -(-nx // BLOCK)
    low = img <= 0
    if img.dtype.kind in "fc":
        low &= np.isfinite(img)
    if (ny, nx) != (gy * BLOCK, gx * BLOCK):
        pad = np.ones((gy * BLOCK, gx * BLOCK), dtype=bool)
        pad[:ny, :nx] = low
        low = pad
    # rows first, over contiguous memory: a tenth of the time of a mean over both axes of a float copy
    rows = low.view(np.uint8).reshape(gy, BLOCK, gx * BLOCK).sum(axis=1, dtype=np.uint16)
    return rows.reshape(gy, gx, BLOCK).sum(axis=2, dtype=np.uint16) / BLOCK ** 2


def off_grid_zero_blocks(image: np.ndarray) -> tuple[int, tuple[int, int]]:
    """Whole 32x32 squares of zeros off the array's block grid: a cropped or shifted image.

    Returns
    -------
    count : int
        All-zero 32x32 squares at the offset that has most, where that offset
        has more of them than the grid itself (0 otherwise).
    offset : tuple of int
        That offset ``(row, column)``, each 0-31.
    """
    zero = np.asarray(image) <= 0
    zero &= np.isfinite(np.asarray(image, dtype=np.float64))
    if zero.sum() < BLOCK * BLOCK or not (zero & ~zero_block_pixels(image)).any():
        return 0, (0, 0)
    ii = np.pad(np.cumsum(np.cumsum(zero, 0, dtype=np.int32), 1, dtype=np.int32), ((1, 0), (1, 0)))
    full = BLOCK * BLOCK
    a, b, c, d = ii[BLOCK:, BLOCK:], ii[:-BLOCK, BLOCK:], ii[BLOCK:, :-BLOCK], ii[:-BLOCK, :-BLOCK]
    square = (a - b - c + d) == full               # the 32x32 square starting at each pixel is all zero
    gy, gx = -(-square.shape[0] // BLOCK), -(-square.shape[1] // BLOCK)
    grid = np.zeros((gy * BLOCK, gx * BLOCK), dtype=np.int32)
    grid[:square.shape[0], :square.shape[1]] = square
    counts = grid.reshape(gy, BLOCK, gx, BLOCK).sum(axis=(0, 2))      # per (row, column) offset
    oy, ox = np.unravel_index(int(np.argmax(counts)), counts.shape)
    best = int(counts[oy, ox])
    return (best, (int(oy), int(ox))) if best > counts[0, 0] else (0, (0, 0))


def grid_to_pixels(grid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Expand a block grid to a pixel mask of ``shape`` (edge blocks cropped)."""
    return np.repeat(np.repeat(grid, BLOCK, 0), BLOCK, 1)[:shape[0], :shape[1]]


def zero_block_pixels(image: np.ndarray) -> np.ndarray:
    """Boolean pixel mask of every block of the 32-pixel grid whose pixels are all <= 0."""
    return grid_to_pixels(zero_blocks(image), np.shape(image))


def find_missing_blocks(image: np.ndarray, header=None, *, rule: int = RULE
                        ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Find telemetry blocks lost from a LASCO level-0.5 image.

    Parameters
    ----------
    image : numpy.ndarray
        The stored 2-D array (DN). Any size; 1024x1024, 512x512 or a subfield.
    header : astropy.io.fits.Header or dict, optional
        Its DETECTOR, summing, subfield, CRPIX and OFFSET keywords refine the
        rule; see the module docstring.
    rule : {1, 2, 3}
        The version of the no-signal rule (`RULE`, the default, is what fills
        use); 1 is the rule the shipped weights' training and evaluation masks
        were drawn with (`corkit_inpaint.training.loss_masks.eligible_blocks`).

    Returns
    -------
    mask : numpy.ndarray of bool
        Same shape as ``image``, True on the pixels of each missing block.
    blocks : list of tuple of int
        ``(block_row, block_col)`` of each missing block, in raster order.

    Notes
    -----
    Never-transmitted blocks (behind the occulter, outside the field stop, or
    with no signal around them) are zero but are not losses, so they are not
    reported; they are left as they are.
    """
    if rule not in (1, 2, 3) or isinstance(rule, bool):
        raise InputError(f"rule must be 1, 2 or 3, got {rule!r}")
    H.check_header_type(header)
    if np.asarray(image).dtype.kind not in "biuf":
        raise InputError(f"expected an image of real numbers, got {np.asarray(image).dtype}")
    img = np.asarray(unwrapped(np.asarray(image), header), dtype=np.float64)    # a summed frame's wrapped counts
    if img.ndim != 2:
        raise InputError(f"expected a 2-D image, got shape {img.shape}")
    ny, nx = img.shape
    cand = zero_blocks(img)
    gy, gx = cand.shape
    mask = np.zeros(img.shape, dtype=bool)
    if not cand.any():
        return mask, []
    geo = optical_geometry(header)
    valid = np.isfinite(img) & ~grid_to_pixels(cand, img.shape)
    vals = img[valid]
    if vals.size == 0:
        return mask, []
    if rule < 3 and geo is not None:      # the earlier rules' field stop
        geo = replace(geo, r_field=FIELD_RSUN_V1[geo.detector] * geo.rsun)
    if rule >= 2 and geo is not None:     # the occulter's shadow says nothing about a block's signal
        yy, xx = np.ogrid[:ny, :nx]
        valid = valid & (np.hypot(xx - geo.cx, yy - geo.cy) > geo.r_behind)
    thresh = signal_threshold(vals, header)
    blocks = []
    for by, bx in zip(*np.nonzero(cand)):
        y0, x0 = by * BLOCK, bx * BLOCK
        y1, x1 = min(y0 + BLOCK, ny), min(x0 + BLOCK, nx)
        if geo is not None and not _in_field((y0, y1, x0, x1), geo):
            continue
        # without the geometry the occulter's never-sent ring cannot be told from a loss beside a dark
        # structure, so the border rule (3) needs it; the ring-quartile rule stands in
        if _has_signal_around(img, valid, (y0, y1, x0, x1), thresh, rule if geo is not None else min(rule, 2)):
            blocks.append((int(by), int(bx)))
            mask[y0:y1, x0:x1] = True
    return mask, blocks


def signal_threshold(values: np.ndarray, header) -> float:
    """The level above which a pixel carries signal: the dark level (the bias, `header.bias`, else the 0.1%
    quantile of ``values``) plus 2% of the range from it to the 99% quantile of ``values`` (the valid pixels)."""
    off = H.bias(header)
    dark = off if off is not None else float(np.percentile(values, 0.1))
    return dark + 0.02 * (float(np.percentile(values, 99)) - dark)


def _in_field(box: tuple[int, int, int, int], geo) -> bool:
    """Whether block ``box = (y0, y1, x0, x1)`` can hold signal: its centre between the occulter's shadow and the
    field stop, and not wholly behind the occulter."""
    y0, y1, x0, x1 = box
    r = np.hypot(0.5 * (x0 + x1 - 1) - geo.cx, 0.5 * (y0 + y1 - 1) - geo.cy)
    far = max(np.hypot(x - geo.cx, y - geo.cy) for x in (x0 - 0.5, x1 - 0.5) for y in (y0 - 0.5, y1 - 0.5))
    return not (r < geo.r_occ or r > geo.r_field or far < geo.r_behind)


def zero_blocks_in_field(image: np.ndarray, header, *, nearly: bool = False) -> list[tuple[int, int]]:
    """The all-zero blocks inside the field (`_in_field`, within the field stop of rules 1 and 2,
    `corkit_inpaint.geometry.FIELD_RSUN_V1`) of a C2 or C3 image; [] without its geometry.

    Those `find_missing_blocks` does not report were judged to have no signal around them (the dark C3
    pylon, or a loss with nothing sent around it) and are left as zeros: a fill says how many. Beyond
    that field stop never-sent blocks are expected (C3's rim from 31.5 Rsun), so none is counted. With
    ``nearly``, instead the blocks with at least `NEARLY_ZERO` of their pixels <= 0 but not all: a lost
    block holding a few stray values is no candidate, and is left as it is too.
    """
    geo = optical_geometry(header)
    if geo is None:
        return []
    geo = replace(geo, r_field=FIELD_RSUN_V1[geo.detector] * geo.rsun)
    ny, nx = np.shape(image)
    share = _share_not_positive(image)
    grid = (share >= NEARLY_ZERO) & (share < 1.0) if nearly else share == 1.0
    return [(int(by), int(bx)) for by, bx in zip(*np.nonzero(grid))
            if _in_field((by * BLOCK, min((by + 1) * BLOCK, ny), bx * BLOCK, min((bx + 1) * BLOCK, nx)), geo)]


def _has_signal_around(img: np.ndarray, valid: np.ndarray, box: tuple[int, int, int, int], thresh: float,
                       rule: int) -> bool:
    """Step 3 of the module docstring (no signal around) for one candidate block ``box = (y0, y1, x0, x1)``.

    `RULE` 3: at least `BRIGHT_SHARE` of the valid pixels in a border `BORDER` pixels wide
    (widened a block at a time while it holds fewer than a quarter block of valid pixels)
    are above ``thresh``. Rules 1 and 2: the lower quartile of the 1-block ring (widened
    until it holds a block's worth of valid pixels) is above ``thresh``.
    """
    y0, y1, x0, x1 = box
    ny, nx = img.shape
    widths, need = ((BORDER + k * BLOCK for k in range(4)), BLOCK * BLOCK // 4) if rule >= 3 else \
        ((k * BLOCK for k in range(1, 5)), BLOCK * BLOCK)
    around = np.empty(0)
    for w in widths:      # widen until valid pixels are reached (clusters)
        ring = (slice(max(y0 - w, 0), min(y1 + w, ny)), slice(max(x0 - w, 0), min(x1 + w, nx)))
        around = img[ring][valid[ring]]
        if around.size >= need:
            break
    if around.size == 0:
        return False
    if rule >= 3:
        return bool(np.mean(around > thresh) >= BRIGHT_SHARE)
    return bool(np.percentile(around, 25) > thresh)


def blocks_to_mask(shape: tuple[int, int], blocks) -> np.ndarray:
    """Boolean pixel mask of ``shape``, True on the given ``(block_row, block_col)`` blocks."""
    m = np.zeros(shape, dtype=bool)
    for by, bx in blocks:
        m[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK] = True
    return m


def blocks_in(pixels: np.ndarray, blocks) -> list[tuple[int, int]]:
    """The blocks of ``blocks`` that hold at least one True pixel of ``pixels``."""
    return [(by, bx) for by, bx in blocks
            if pixels[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK].any()]


def blocks_of(pixels: np.ndarray) -> list[tuple[int, int]]:
    """Every block of the 32-pixel grid that holds at least one True pixel of ``pixels``, in raster order."""
    p = np.asarray(pixels, dtype=bool)
    ny, nx = p.shape
    gy, gx = -(-ny // BLOCK), -(-nx // BLOCK)
    pad = np.zeros((gy * BLOCK, gx * BLOCK), dtype=bool)
    pad[:ny, :nx] = p
    # rows of each block row first, over contiguous memory: 8x faster than any(axis=(1, 3))
    grid = pad.reshape(gy, BLOCK, gx * BLOCK).any(axis=1).reshape(gy, gx, BLOCK).any(axis=2)
    return [(int(by), int(bx)) for by, bx in zip(*np.nonzero(grid))]
