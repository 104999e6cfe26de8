"""Check a fill's 1-sigma on the frame itself: blank valid blocks near the holes, fill them the same way, rescale.

The error tables (`corkit_inpaint.uncertainty.tables`) are fitted on
simulated holes, and a real frame can be harder or easier to fill than the
simulator's: on the real full-resolution and summed C2 frames the network's
table sigma was 1.2 to 1.4 times too small. So every fill that gives a sigma
is checked on the frame it fills. A few valid 32x32 blocks near the missing
ones (`probe_blocks`: at the same distance from the Sun centre, two or three
blocks away) are blanked in a copy of the frame and filled by the same
method, with the same neighbouring frames. Their truth is known, so
``z = (fill - truth) / sigma`` is too, and the 68.27% quantile of ``|z|``
over their pixels is the factor the fill's sigma is multiplied by
(`sigma_check` finds it, `check_sigma` applies it), within `FACTOR_RANGE`. The fill's values are not changed.

One block is checked per `PROBE_EVERY` missing blocks (at least one). A
method whose fill of a hole reads only the frame near it
(`corkit_inpaint.methods.FillMethod.local`) fills a small crop around each
checked block (the same values as in the whole frame), so the check costs
about 1/`PROBE_EVERY` of the fill; another method fills the whole frame once
with every checked block blanked. A frame with no block to check, or whose check fails (the method
raises on it, or gives no finite value or sigma there), keeps the method's own
sigma, and `SigmaCheck.note` says why.

A fill from neighbouring frames may fill some holes from the frame alone (its
ring check, `corkit_inpaint.methods.ring_check`: where something moved between
the frames). Those holes' sigma is the table's for a fill without neighbours,
and checks differently: on the real C3 sequence with a moving front, the
factor of blocks filled alone was 0.87 where the blocks filled with the
neighbours needed 1.58. Given the pixels filled alone (``alone``), the check
picks blocks near each kind of hole, and each kind of checked pixel (as its
own fill went) gives the factor of its kind; where one kind has too few
checked pixels, one factor serves both, as without ``alone``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..blocks import BLOCK, BRIGHT_SHARE, blocks_of, blocks_to_mask, signal_threshold
from ..frame import Frame
from ..geometry import zone_of

__all__ = ["PROBE_EVERY", "FACTOR_RANGE", "QUANTILE", "SigmaCheck", "probe_blocks", "sigma_check", "check_sigma"]

log = logging.getLogger(__name__)

#: One valid block is blanked and filled per this many missing blocks (at least one).
PROBE_EVERY = 7
#: The factor is kept within this range: a few blocks cannot say more.
FACTOR_RANGE = (0.5, 3.0)
#: The share of a Gaussian within 1 sigma: the factor makes this share of the checked pixels fall within it.
QUANTILE = math.erf(1 / math.sqrt(2))
#: Fewer checked pixels with a sigma than this: the sigma is left as it is.
MIN_PIXELS = 256
#: The share of a block's pixels that must be valid for it to be checked on (only those are blanked).
MIN_VALID = 0.9
#: A local method (`corkit_inpaint.methods.FillMethod.local`) fills a crop reaching this many blocks beyond
#: each checked block: its window reaches 32 px beyond the hole.
CROP = 2
#: Where a checked block may lie, in blocks from the missing one: two or three blocks away, every way.
_OFFSETS = ((0, 2), (0, -2), (2, 0), (-2, 0), (2, 2), (2, -2), (-2, 2), (-2, -2), (0, 3), (0, -3), (3, 0), (-3, 0))


@dataclass(frozen=True)
class SigmaCheck:
    """What the check of a fill's sigma found.

    Attributes
    ----------
    factor : float
        What the sigma was multiplied by (1.0 when it was not checked).
    blocks : int
        Valid blocks blanked and filled to check it (0: not checked).
    pixels : int
        Their pixels with a sigma.
    why_not : str
        Why it was not checked, when ``blocks`` is 0.
    alone_factor : float or None
        What the sigma of the holes filled from the frame alone was multiplied
        by, when they were checked apart (``factor`` is then the other holes');
        None: ``factor`` serves every hole.
    alone_blocks : int
        The checked blocks with pixels filled from the frame alone (with ``alone_factor``).
    """

    factor: float = 1.0
    blocks: int = 0
    pixels: int = 0
    why_not: str = "no valid block near the holes to blank"
    alone_factor: float | None = None
    alone_blocks: int = 0

    def factors(self, alone: np.ndarray | None) -> float | np.ndarray:
        """What each filled pixel's sigma is multiplied by, given whether each was filled from the frame alone
        (``alone``, over the filled pixels): `factor`, or each kind's where they were checked apart."""
        if self.alone_factor is None:
            return self.factor
        return np.where(np.asarray(alone, dtype=bool), self.alone_factor, self.factor)

    def note(self) -> str:
        """The HISTORY text: what was checked, and the factor (or why nothing was)."""
        if not self.blocks:
            return f"the 1-sigma could not be checked on this frame ({self.why_not})"
        blocks = f"{self.blocks} valid block{'s' if self.blocks > 1 else ''}"
        how = f"the 68.27% quantile of |fill - truth| / sigma on {blocks} of this frame blanked and filled the same way"
        if self.alone_factor is None:
            return f"1-sigma scaled by {self.factor:.3f}{_limit(self.factor)}: {how}"
        return (f"1-sigma scaled by {self.factor:.3f}{_limit(self.factor)} on the holes filled with the "
                f"neighbouring frames and by {self.alone_factor:.3f}{_limit(self.alone_factor)} on those filled "
                f"from this frame alone: {how} ({self.alone_blocks} of them from this frame alone)")


def _limit(factor: float) -> str:
    """HISTORY's words for a factor at an end of `FACTOR_RANGE` (``""``: within it)."""
    if factor not in FACTOR_RANGE:
        return ""
    return f" (the limit: the quantile was {'below' if factor <= FACTOR_RANGE[0] else 'above'} it)"


def probe_blocks(frame: Frame, n: int | None = None, *, among: np.ndarray | None = None,
                 exclude: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """The valid blocks ``(block row, block column)`` a fill of ``frame`` is checked on.

    Parameters
    ----------
    frame : Frame
        The frame with its missing pixels.
    n : int, optional
        How many; default one per `PROBE_EVERY` missing blocks (of those ``among``), at least one.
    among : numpy.ndarray of bool, optional
        Pick blocks for the missing blocks with a pixel here only (default: all); every missing block is
        still kept out of the checked blocks' windows.
    exclude : sequence of tuple of int
        Blocks already picked: the new ones are three or more blocks from them.

    Returns
    -------
    list of tuple of int
        Whole blocks with at least `MIN_VALID` of their pixels valid (a few
        bad pixels are left as they are), two or three blocks from a missing block (so none
        of their window's context is a hole), three or more from each other,
        and inside the radial zones, each
        chosen for a missing block (spread evenly over the missing blocks'
        distances from the Sun centre) at the distance closest to that block's.
        Deterministic; fewer than ``n`` where there are not enough.
    """
    lost_blocks = np.array(blocks_of(frame.missing))
    holes = lost_blocks if among is None else np.array(blocks_of(frame.missing & np.asarray(among, dtype=bool)))
    if holes.size == 0:
        return []
    n = max(1, math.ceil(len(holes) / PROBE_EVERY)) if n is None else n
    (ny, nx), (wy, wx) = frame.shape, (frame.shape[0] // BLOCK, frame.shape[1] // BLOCK)
    gy, gx = -(-ny // BLOCK), -(-nx // BLOCK)
    lost = np.zeros((gy, gx), dtype=bool)
    lost[lost_blocks[:, 0], lost_blocks[:, 1]] = True
    share = np.zeros((gy, gx))                   # valid share of each whole block; 0 for the partial ones at the edge
    counts = frame.valid[:wy * BLOCK, :wx * BLOCK].view(np.uint8).reshape(wy, BLOCK, wx * BLOCK).sum(
        axis=1, dtype=np.uint16).reshape(wy, wx, BLOCK).sum(axis=2)      # rows first, over contiguous memory
    share[:wy, :wx] = counts / BLOCK ** 2
    ok = (share >= MIN_VALID) & ~ndimage.binary_dilation(lost, np.ones((3, 3), dtype=bool))
    cy, cx = frame.sun_centre or ((frame.shape[0] - 1) / 2, (frame.shape[1] - 1) / 2)
    centres = (np.arange(gy) * BLOCK + BLOCK / 2 - 0.5, np.arange(gx) * BLOCK + BLOCK / 2 - 0.5)
    radius = np.hypot(centres[0][:, None] - cy, centres[1][None, :] - cx)
    if frame.geometry is not None:      # the whole block within the zones: none straddles the occulter's shadow
        corners = [zone_of(*np.meshgrid(centres[0] + dy, centres[1] + dx, indexing="ij"), frame.geometry) >= 0
                   for dy in (-BLOCK / 2, BLOCK / 2) for dx in (-BLOCK / 2, BLOCK / 2)]
        ok &= np.logical_and.reduce(corners)
    else:                               # no geometry to say where the field is: a block with signal in it
        ok &= _bright_blocks(frame, gy, gx)
    for by, bx in exclude:
        ok[max(by - 2, 0):by + 3, max(bx - 2, 0):bx + 3] = False
    order = np.argsort(radius[holes[:, 0], holes[:, 1]], kind="stable")
    first = [order[min(len(order) - 1, int((i + 0.5) * len(order) / n))] for i in range(n)]
    picked: list[tuple[int, int]] = []
    for h in list(dict.fromkeys(first)) + [i for i in order if i not in first]:
        if len(picked) == n:
            break
        by, bx = holes[h]
        cands = [(by + dy, bx + dx) for dy, dx in _OFFSETS
                 if 0 <= by + dy < gy and 0 <= bx + dx < gx and ok[by + dy, bx + dx]]
        if cands:
            best = min(cands, key=lambda c: abs(radius[c] - radius[by, bx]))
            picked.append((int(best[0]), int(best[1])))
            # three blocks apart or more: their windows never merge, and a crop holds one of them
            ok[max(best[0] - 2, 0):best[0] + 3, max(best[1] - 2, 0):best[1] + 3] = False
    return picked


def check_sigma(method, frame: Frame, sigma: np.ndarray, filled: np.ndarray, *, neighbours: Sequence = (),
                device: str = "auto", weights=None, alone: np.ndarray | None = None) -> tuple[np.ndarray, SigmaCheck]:
    """The fill's sigma rescaled by its check on valid blocks of ``frame`` (see the module).

    Parameters
    ----------
    method : FillMethod
        The method that made the fill.
    frame : Frame
        The frame it filled.
    sigma : numpy.ndarray
        The fill's 1-sigma (frame-shaped, the image's unit).
    filled : numpy.ndarray of bool
        The pixels it filled.
    neighbours, device, weights
        As the fill was run.
    alone : numpy.ndarray of bool, optional
        The pixels it filled from the frame alone (`corkit_inpaint.methods.FillResult.alone`).

    Returns
    -------
    sigma : numpy.ndarray
        ``sigma`` times the factor of each pixel's kind (it is 0 outside ``filled``; an infinite sigma stays
        infinite).
    check : SigmaCheck
        What `sigma_check` found.
    """
    check = sigma_check(method, frame, neighbours=neighbours, device=device, weights=weights, alone=alone)
    if not check.blocks:
        return sigma, check
    out = sigma.copy()
    # as np.where(filled, sigma * factor, sigma), in an eighth of the time
    out[filled] *= check.factors(None if alone is None else np.asarray(alone, dtype=bool)[filled])
    return out, check


def sigma_check(method, frame: Frame, *, neighbours: Sequence = (), device: str = "auto",
                weights=None, alone: np.ndarray | None = None) -> SigmaCheck:
    """The check itself: the factor a fill's sigma by ``method`` on ``frame`` is to be multiplied by.

    `check_sigma` applies it to a sigma; a caller that builds the sigma
    anyway (`corkit_inpaint.fill.run_method`) multiplies it in, without a copy
    of the frame-sized array. The arguments are `check_sigma`'s. With ``alone``
    on some holes and not others, the blocks are picked near both kinds, and
    each kind of checked pixel gives its own factor (`SigmaCheck.alone_factor`)
    where both have `MIN_PIXELS` or more.
    """
    alone = None if alone is None else np.asarray(alone, dtype=bool) & frame.missing
    apart = alone is not None and alone.any() and (frame.missing & ~alone).any()
    blocks = probe_blocks(frame, among=~alone) if apart else probe_blocks(frame)
    if apart:
        blocks += probe_blocks(frame, among=alone, exclude=blocks)
    if not blocks:
        return SigmaCheck()
    checked = _checked(method, frame, blocks, neighbours, device, weights)
    if isinstance(checked, SigmaCheck):
        return checked
    keeps = [np.isfinite(sg) & (sg > 0) & np.isfinite(v) for v, sg, _, _ in checked]
    n = int(sum(k.sum() for k in keeps))
    if n < MIN_PIXELS:
        return SigmaCheck(why_not=f"only {n} of the checked pixels were filled with a finite value and 1-sigma")
    z = np.concatenate([np.abs(v[k] - t[k]) / sg[k] for (v, sg, t, _), k in zip(checked, keeps)])
    own = np.concatenate([a[k] for (_, _, _, a), k in zip(checked, keeps)])     # each pixel filled alone?
    count = sum(bool(k.any()) for k in keeps)
    if apart and min(own.sum(), (~own).sum()) >= MIN_PIXELS:
        return SigmaCheck(_factor(z[~own]), count, n, alone_factor=_factor(z[own]),
                          alone_blocks=sum(bool((a & k).any()) for (_, _, _, a), k in zip(checked, keeps)))
    return SigmaCheck(_factor(z), count, n)


def _factor(z: np.ndarray) -> float:
    """The factor that brings `QUANTILE` of the checked ``|z|`` within 1 sigma, within `FACTOR_RANGE`."""
    return float(np.clip(np.quantile(z, QUANTILE), *FACTOR_RANGE))


def _checked(method, frame: Frame, blocks, neighbours, device, weights) -> list | SigmaCheck:
    """``(values, sigma, truth, filled alone)`` of each checked block's pixels that its fill filled, or the
    `SigmaCheck` saying why there are none: ``blocks`` blanked and filled by ``method``, a local method's in a
    crop around each, another's in the whole frame once."""
    probe = blocks_to_mask(frame.shape, blocks) & frame.valid
    out = []
    try:
        for box, mine in _fills(frame, blocks) if getattr(method, "local", False) else [(None, blocks)]:
            part = frame if box is None else frame.cropped(box)
            y0, x0 = (0, 0) if box is None else (box[0], box[2])
            res = method.fill(part.blanked(probe[y0:y0 + part.shape[0], x0:x0 + part.shape[1]]),
                              neighbours=neighbours if box is None else [nb.shifted(y0, x0) for nb in neighbours],
                              device=device, weights=weights)
            if res.sigma is None:
                return SigmaCheck(why_not="the method gave no 1-sigma on the checked blocks")
            for by, bx in mine:
                sl = (slice(by * BLOCK - y0, (by + 1) * BLOCK - y0), slice(bx * BLOCK - x0, (bx + 1) * BLOCK - x0))
                px = np.asarray(res.filled, dtype=bool)[sl] & probe[by * BLOCK:(by + 1) * BLOCK,
                                                                    bx * BLOCK:(bx + 1) * BLOCK]
                out.append((np.asarray(res.values, dtype=np.float64)[sl][px],
                            np.asarray(res.sigma, dtype=np.float64)[sl][px], part.image[sl][px],
                            np.zeros(int(px.sum()), dtype=bool) if res.alone is None
                            else np.asarray(res.alone, dtype=bool)[sl][px]))
    except Exception as exc:           # a method's failure on the check must not lose the fill itself
        log.warning("the check of the 1-sigma failed, so it is the method's own: %s: %s", type(exc).__name__, exc)
        return SigmaCheck(why_not=f"its fill of the checked blocks failed: {type(exc).__name__}")
    return out


def _bright_blocks(frame: Frame, gy: int, gx: int) -> np.ndarray:
    """Per block, whether `corkit_inpaint.blocks.BRIGHT_SHARE` of its valid pixels are above the frame's dark level.

    Without a geometry the check would take blocks behind the occulter or beyond the field stop (never-sent
    blocks are blanked, sent dark ones are not): their misses say nothing of the holes'. The level is the
    block finder's (`corkit_inpaint.blocks.signal_threshold`).
    """
    vals = frame.image[frame.valid]
    out = np.zeros((gy, gx), dtype=bool)
    if vals.size == 0:
        return out
    thresh = signal_threshold(vals, frame.header)
    ny, nx = (frame.shape[0] // BLOCK) * BLOCK, (frame.shape[1] // BLOCK) * BLOCK
    above = ((frame.image > thresh) & frame.valid)[:ny, :nx].reshape(ny // BLOCK, BLOCK, nx // BLOCK, BLOCK)
    n = frame.valid[:ny, :nx].reshape(ny // BLOCK, BLOCK, nx // BLOCK, BLOCK).sum(axis=(1, 3))
    out[:ny // BLOCK, :nx // BLOCK] = above.sum(axis=(1, 3)) >= BRIGHT_SHARE * np.maximum(n, 1)
    return out


def _fills(frame: Frame, blocks) -> list:
    """``(box, [block])`` per checked block: the crop reaching `CROP` blocks beyond it (within the frame)."""
    ny, nx = frame.shape
    return [((max(0, (by - CROP) * BLOCK), min(ny, (by + CROP + 1) * BLOCK),
              max(0, (bx - CROP) * BLOCK), min(nx, (bx + CROP + 1) * BLOCK)), [(by, bx)]) for by, bx in blocks]
