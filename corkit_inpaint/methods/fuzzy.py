"""SolarSoft's fuzzy-logic missing-block fill, written anew from its description.

SolarSoft's level-1 pipeline (``c3_calibrate, /FUZZY`` with ``fuzzy_image`` and
``fuzzy_block``) fills missing C3 blocks in two passes:

1. **Zones.** Each missing block gets a rectangle reaching one block beyond it
   (clipped to block indices 1..n-2 under SolarSoft's policy); touching
   rectangles merge into their bounding box.
2. **Gradient** (``grad_zone``): a 7x7 median over valid pixels, means over
   8x8-pixel cells, Sobel gradients summed over the ring of valid cells at the
   hole's edge; direction ``atan2(gy, gx)``.
3. **Interpolation** (``hcie_zone``): on 4x4-pixel cells, a cubic across the
   missing cells along lines perpendicular to the gradient (through the two
   nearest known cells on each side; at least one each side), back to full
   resolution with a quintic spline surface, then a 3-point boxcar along the
   gradient, in the hole only.
4. **DCT refinement** (``fuzzy_block``): the 32x32 DCT of the block and its 8
   neighbours is split into DC, low (radius < 4), high (radius > 28.8),
   horizontal (``|v| < |u| tan 15deg``), vertical (``|u| < |v| tan 15deg``) and
   diagonal bands. Each block's orientation is the one of horizontal, vertical
   and diagonal with the most energy per coefficient; the dominant orientation
   is the majority over the 9 blocks. Only that band's coefficients of the
   missing block are replaced, then the inverse DCT is taken.

**The indexing slip.** The replacement value is the midpoint of the fuzzy
intersection of the neighbours' intervals. With equal-width triangular fuzzy
numbers centred on each neighbour's coefficient, that midpoint is the midrange
of the neighbours' coefficients: the *intended* behaviour, and the default. The
IDL appears to take the interval bounds from the wrong elements, which makes the
intersection collapse and the band zero; ``literal_idl=True`` reproduces that
(the band is set to 0). This reading of the IDL is unverified.

Differences from SolarSoft: SolarSoft subtracts a background model (a
calibration file) from (DN - OFFSET)/EXPTIME to flatten the steep radial
falloff before filling; here the fill runs in the asinh-stretched space of
`corkit_inpaint.stretch` instead, which flattens it without calibration files
(in that space the falloff is nearly linear). Lines are interpolated with
Lagrange cubics through the nearest known cells (sampled bilinearly at exact
positions along the line) rather than IDL's SPLINE.

References
----------
.. [1] Lee, X., Zhang, Y.-Q., Leon-Garcia, A. "Information Loss Recovery for Block-Based
   Image Coding Techniques -- A Fuzzy Logic Approach", IEEE Trans. Image Processing
   4(3), 259-273, 1995.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage
from scipy.fft import dctn, idctn

from .. import header as H
from ..blocks import BLOCK, blocks_to_mask, zero_block_pixels
from ..frame import Frame
from ..register import Neighbour
from ..uncertainty.tables import fill_sigma
from .base import FillMethod, FillResult, Provenance

__all__ = ["FuzzyFill", "FUZZY", "find_zones", "band_masks", "gradient_direction"]

log = logging.getLogger(__name__)

MAX_ZONE = 16          # SolarSoft: larger zones are left masked
MAX_ANY_ZONE = 100     # SolarSoft: if any zone is larger, the image is left unchanged
MIN_PIXELS = 1000      # SolarSoft: fill only when more pixels than this are missing


def find_zones(missing: np.ndarray, *, clip: bool = True) -> list[dict]:
    """Group missing blocks into zones.

    Parameters
    ----------
    missing : numpy.ndarray of bool
        Block grid, True for missing blocks.
    clip : bool
        Clip each rectangle to block indices 1..n-2 (SolarSoft); otherwise 0..n-1.

    Returns
    -------
    list of dict
        ``{"rect": (by0, by1, bx0, bx1) inclusive, "blocks": [(by, bx), ...], "edge": bool}``;
        ``edge`` is True when a block of the zone lies outside its clipped rectangle
        or on the outermost block row or column.
    """
    gy, gx = missing.shape
    lo_y, hi_y = (1, gy - 2) if clip else (0, gy - 1)
    lo_x, hi_x = (1, gx - 2) if clip else (0, gx - 1)
    zones = []
    for by, bx in zip(*np.nonzero(missing)):
        zones.append({"rect": [max(by - 1, lo_y), min(by + 1, hi_y), max(bx - 1, lo_x), min(bx + 1, hi_x)],
                      "blocks": [(int(by), int(bx))]})
    merged = True
    while merged:
        merged = False
        for i in range(len(zones)):
            for j in range(i + 1, len(zones)):
                a, b = zones[i]["rect"], zones[j]["rect"]
                if a[0] <= b[1] + 1 and b[0] <= a[1] + 1 and a[2] <= b[3] + 1 and b[2] <= a[3] + 1:
                    zones[i] = {"rect": [min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])],
                                "blocks": zones[i]["blocks"] + zones[j]["blocks"]}
                    del zones[j]
                    merged = True
                    break
            if merged:
                break
    for z in zones:
        y0, y1, x0, x1 = z["rect"]
        z["rect"] = tuple(z["rect"])
        z["edge"] = any(not (y0 <= by <= y1 and x0 <= bx <= x1) or by in (0, gy - 1) or bx in (0, gx - 1)
                        for by, bx in z["blocks"])
    return zones


def _nanmedian7(z, valid):
    pad = np.pad(np.where(valid, z, np.nan), 3, constant_values=np.nan)
    win = np.lib.stride_tricks.sliding_window_view(pad, (7, 7))
    with warnings.catch_warnings():          # all-NaN windows: NaN, on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(win.reshape(*z.shape, 49), axis=-1)


def gradient_direction(z: np.ndarray, valid: np.ndarray) -> float:
    """``grad_zone``: the gradient direction (radians) around a zone's hole."""
    med = _nanmedian7(z, valid)
    ok = np.isfinite(med)
    h, w = z.shape[0] // 8, z.shape[1] // 8
    s = np.where(ok, med, 0.0)[:h * 8, :w * 8].reshape(h, 8, w, 8).sum(axis=(1, 3))
    n = ok[:h * 8, :w * 8].reshape(h, 8, w, 8).sum(axis=(1, 3))
    cvalid = n > 0
    cells = np.where(cvalid, s / np.maximum(n, 1), 0.0)
    # fill invalid cells with their nearest valid neighbour so Sobel sees no step
    if not cvalid.all():
        idx = ndimage.distance_transform_edt(~cvalid, return_distances=False, return_indices=True)
        cells = cells[tuple(idx)]
    gy = ndimage.sobel(cells, axis=0, mode="nearest")
    gx = ndimage.sobel(cells, axis=1, mode="nearest")
    ring = cvalid & ndimage.binary_dilation(~cvalid, np.ones((3, 3), bool))
    if not ring.any():
        ring = cvalid
    return float(np.arctan2(gy[ring].sum(), gx[ring].sum()))


def _interp_cells(cells, cvalid, theta, *, per_side: int = 2):
    """Fill missing cells by cubic interpolation along lines perpendicular to the gradient.

    For each missing cell, up to ``per_side`` known cells are taken on each side
    along the line through it (sampled bilinearly at exact positions, known
    when all four cells around the sample are valid), and a cubic is fitted to
    them by least squares (exact through 4 points; lower degree with fewer) and
    evaluated at the cell. Cells with known cells on one side only take the
    nearest known value along the line; cells with none take the nearest valid cell.
    """
    h, w = cells.shape
    my, mx = np.nonzero(~cvalid)
    if my.size == 0:
        return cells
    phi = theta + np.pi / 2                         # along the isophote
    dy, dx = np.sin(phi), np.cos(phi)
    T = h + w
    t = np.arange(1, T + 1)
    rows = np.arange(my.size)[:, None]
    cv = np.pad(cvalid, 1, constant_values=False)
    ts, vs, oks = [], [], []
    for sign in (1, -1):
        py = my[:, None] + sign * t[None, :] * dy
        px = mx[:, None] + sign * t[None, :] * dx
        inb = (py >= 0) & (py <= h - 1) & (px >= 0) & (px <= w - 1)
        y0 = np.clip(np.floor(py).astype(int), -1, h)
        x0 = np.clip(np.floor(px).astype(int), -1, w)
        y1, x1 = np.minimum(y0 + 2, h + 1), np.minimum(x0 + 2, w + 1)
        known = inb & cv[y0 + 1, x0 + 1] & cv[y1, x0 + 1] & cv[y0 + 1, x1] & cv[y1, x1]
        on_edge = inb & ((py == h - 1) | (px == w - 1))
        known |= on_edge & cv[np.clip(np.rint(py).astype(int), 0, h - 1) + 1,
                              np.clip(np.rint(px).astype(int), 0, w - 1) + 1]
        first = np.argsort(np.where(known, t[None, :], T + 10), axis=1, kind="stable")[:, :per_side]
        ok = known[rows, first]
        vals = ndimage.map_coordinates(cells, [py[rows, first], px[rows, first]], order=1, mode="nearest")
        ts.append(sign * t[first].astype(float))
        vs.append(np.where(ok, vals, 0.0))
        oks.append(ok)
    tt, vv, ww = (np.concatenate(a, axis=1) for a in (ts, vs, oks))
    n_known = ww.sum(axis=1)
    both = oks[0][:, 0] & oks[1][:, 0]
    res = np.full(my.size, np.nan)
    scale = np.maximum(np.abs(np.where(ww, tt, 0)).max(axis=1, keepdims=True), 1.0)
    x = tt / scale
    for deg in (3, 2, 1):
        sel = both & (np.minimum(n_known, 4) - 1 == deg) if deg < 3 else both & (n_known >= 4)
        if not sel.any():
            continue
        A = np.stack([x[sel] ** k for k in range(deg + 1)], axis=-1) * ww[sel][..., None]
        b = vv[sel] * ww[sel]
        coef = np.linalg.solve(np.einsum("nij,nik->njk", A, A) + 1e-12 * np.eye(deg + 1),
                               np.einsum("nij,ni->nj", A, b)[..., None])[..., 0]
        res[sel] = coef[:, 0]                       # the polynomial at t = 0
    one = ~both & (oks[0][:, 0] | oks[1][:, 0])
    res[one] = np.where(oks[0][one, 0], vs[0][one, 0], vs[1][one, 0])
    out = cells.copy()
    out[my, mx] = res
    bad = ~np.isfinite(out)
    if bad.any():                                    # nothing along the line: nearest valid cell
        idx = ndimage.distance_transform_edt(bad, return_distances=False, return_indices=True)
        out = out[tuple(idx)] if (~bad).any() else np.zeros_like(out)
    return out


def band_masks(n: int = BLOCK) -> dict[str, np.ndarray]:
    """Boolean masks of the six DCT bands of an ``n x n`` block (``v`` rows, ``u`` columns)."""
    v, u = np.mgrid[0:n, 0:n].astype(float)
    r = np.hypot(u, v)
    t15 = np.tan(np.deg2rad(15.0))
    dc = (u == 0) & (v == 0)
    low = (r < 4) & ~dc
    high = r > 28.8 * n / 32
    mid = ~dc & ~low & ~high
    hor = mid & (v < u * t15)
    ver = mid & (u < v * t15)
    return {"dc": dc, "low": low, "high": high, "horizontal": hor, "vertical": ver,
            "diagonal": mid & ~hor & ~ver}


def _refine_blocks(z, blocks, *, literal_idl):
    """``fuzzy_block``: DCT-domain refinement of each missing block from its 3x3 neighbourhood."""
    if not blocks:
        return z
    bands = band_masks()
    orient = ("horizontal", "vertical", "diagonal")
    nb = np.stack([np.stack([z[(by + dy) * BLOCK:(by + dy + 1) * BLOCK, (bx + dx) * BLOCK:(bx + dx + 1) * BLOCK]
                             for dy in (-1, 0, 1) for dx in (-1, 0, 1)]) for by, bx in blocks])
    c = dctn(nb, axes=(-2, -1), norm="ortho")                      # (n, 9, 32, 32)
    energy = np.stack([(c[..., bands[o]] ** 2).mean(axis=-1) for o in orient], axis=-1)   # (n, 9, 3)
    votes = energy.argmax(axis=-1)                                 # (n, 9)
    counts = np.stack([(votes == k).sum(axis=1) for k in range(3)], axis=-1)
    tie = energy.sum(axis=1)                                       # break ties by total energy
    dom = np.argmax(counts * 1e6 + tie / (tie.max(axis=1, keepdims=True) + 1e-300), axis=1)
    neigh = np.delete(c, 4, axis=1)                                # the 8 neighbours
    centre = c[:, 4].copy()
    for k, o in enumerate(orient):
        sel = dom == k
        if not sel.any():
            continue
        m = bands[o]
        if literal_idl:
            new = 0.0
        else:
            vals = neigh[sel][..., m]                              # (s, 8, nband)
            new = 0.5 * (vals.min(axis=1) + vals.max(axis=1))      # peak of the fuzzy intersection
        cc = centre[sel]
        cc[..., m] = new
        centre[sel] = cc
    rec = idctn(centre, axes=(-2, -1), norm="ortho")
    out = z.copy()
    for (by, bx), r in zip(blocks, rec):
        out[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK] = r
    return out


def _fill_zone(z, valid, hole, blocks, unread, *, literal_idl):
    theta = gradient_direction(z, valid)
    h, w = z.shape[0] // 4, z.shape[1] // 4
    cv = valid[:h * 4, :w * 4].reshape(h, 4, w, 4)
    n = cv.sum(axis=(1, 3))
    cells = np.where(n > 0, np.where(valid, z, 0)[:h * 4, :w * 4].reshape(h, 4, w, 4).sum(axis=(1, 3))
                     / np.maximum(n, 1), 0.0)
    cells = _interp_cells(cells, n >= 8, theta)
    yy, xx = np.mgrid[0:z.shape[0], 0:z.shape[1]].astype(float)
    surf = ndimage.map_coordinates(cells, [(yy + 0.5) / 4 - 0.5, (xx + 0.5) / 4 - 0.5], order=5, mode="nearest")
    # the boxcar and the DCT step read around the hole: pixels that are there but are not data (an earlier
    # fill's, a map's masked ones) are read as the first pass gives them, never as their own values
    out = np.where(hole | unread, surf, z)
    # 3-point boxcar along the gradient, in the hole only
    gy, gx = np.sin(theta), np.cos(theta)
    a = ndimage.map_coordinates(out, [yy + gy, xx + gx], order=1, mode="nearest")
    b = ndimage.map_coordinates(out, [yy - gy, xx - gx], order=1, mode="nearest")
    out = np.where(hole, (a + out + b) / 3.0, out)
    refined = _refine_blocks(out, blocks, literal_idl=literal_idl)
    # keep the fill within the zone's robust range (1-99th percentile, plus 10%): a cubic
    # overshoot would otherwise explode through the inverse stretch
    vz = z[valid]
    if vz.size:
        lo, hi = (float(q) for q in np.percentile(vz, [1, 99]))    # robust: stars do not widen it
        refined = np.clip(refined, lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    return np.where(hole, refined, z)


def _fuzzy(frame: Frame, *, literal_idl: bool, policy: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """The fill in linear units, the pixels left masked, and why (see `FuzzyFill`)."""
    img, mask = frame.image, frame.missing
    st = frame.stretch
    rate = st.forward(np.where(np.isfinite(img), img, st.bias))
    ny, nx = img.shape
    gy, gx = -(-ny // BLOCK), -(-nx // BLOCK)
    pad_mask = np.zeros((gy * BLOCK, gx * BLOCK), bool)
    pad_mask[:ny, :nx] = mask
    missing = pad_mask.reshape(gy, BLOCK, gx, BLOCK).any(axis=(1, 3))
    valid = np.zeros((gy * BLOCK, gx * BLOCK), bool)
    valid[:ny, :nx] = frame.valid
    unread = np.zeros_like(valid)           # present, but not data: an earlier fill's pixels, a map's own mask
    unread[:ny, :nx] = ~frame.valid & ~mask & np.isfinite(img) & ~zero_block_pixels(img)
    work = np.zeros((gy * BLOCK, gx * BLOCK))
    work[:ny, :nx] = np.where(np.isfinite(rate), rate, 0.0)
    zones = find_zones(missing, clip=policy)
    if policy and any(len(z["blocks"]) > MAX_ANY_ZONE for z in zones):
        log.info("fuzzy: a zone has more than %d blocks; image left unchanged", MAX_ANY_ZONE)
        return img.copy(), mask.copy(), f"a zone has more than {MAX_ANY_ZONE} blocks (SolarSoft's policy)"
    left = np.zeros_like(pad_mask)
    n_left = 0
    for z in zones:
        y0, y1, x0, x1 = z["rect"]
        if policy and (len(z["blocks"]) > MAX_ZONE or z["edge"]):
            left |= blocks_to_mask(left.shape, z["blocks"])
            n_left += 1
            continue
        sl = (slice(y0 * BLOCK, (y1 + 1) * BLOCK), slice(x0 * BLOCK, (x1 + 1) * BLOCK))
        # DCT refinement needs the block's 3x3 neighbourhood inside the zone
        local = [(by - y0, bx - x0) for by, bx in z["blocks"] if y0 < by < y1 and x0 < bx < x1]
        work[sl] = _fill_zone(work[sl], valid[sl], pad_mask[sl], local, unread[sl], literal_idl=literal_idl)
    values = img.copy()
    values[mask] = st.inverse(work[:ny, :nx])[mask]
    why = (f"{n_left} zone{'s' if n_left != 1 else ''} of more than {MAX_ZONE} blocks or touching the edge "
           "(SolarSoft's policy)" if n_left else "")
    return values, left[:ny, :nx] & mask, why


@dataclass(frozen=True)
class FuzzyFill(FillMethod):
    """SolarSoft's fuzzy fill (see the module docstring).

    Attributes
    ----------
    literal_idl : bool
        Reproduce the IDL's apparent indexing slip (the refined band is zeroed)
        instead of the intended fuzzy-intersection midpoint.
    policy : bool
        SolarSoft's zone rules: zones of more than 16 blocks, or touching the
        image edge, are left masked, and if any zone has more than 100 blocks the
        image is left unchanged. ``level_1`` runs the method with the policy on.
    """

    literal_idl: bool = False
    policy: bool = False

    def fill(self, frame: Frame, *, neighbours: Sequence[Neighbour] = (), device: str = "auto",
             weights=None) -> FillResult:
        if not frame.missing.any():
            return FillResult.unchanged(frame, Provenance(self.name), "")
        values, left, why = _fuzzy(frame, literal_idl=self.literal_idl, policy=self.policy)
        values[left] = frame.image[left]
        filled = frame.missing & ~left
        return FillResult(values, filled, Provenance(self.name), sigma=fill_sigma(self.name, frame, values, filled),
                          skipped=why)

    def for_level1(self) -> FuzzyFill:
        """With SolarSoft's zone policy, as its level-1 pipeline runs it."""
        return replace(self, policy=True)

    def skip_reason(self, frame: Frame) -> str:
        """SolarSoft's image-level rule: C3 Clear only, and only above 1000 missing pixels."""
        if not self.policy:
            return ""
        det = H.detector(frame.header)
        filt = str(H.get(frame.header, "FILTER", "")).strip().upper()
        if det != "C3" or filt != "CLEAR":
            return f"SolarSoft fills C3 Clear only (this is {det} {filt})"
        if int(frame.missing.sum()) <= MIN_PIXELS:
            return f"only {int(frame.missing.sum())} pixels missing (SolarSoft fills above {MIN_PIXELS})"
        return ""


FUZZY = FuzzyFill("fuzzy")
