"""Scores of one fill against the truth inside the blanked blocks; point sources found in the truth.

Beside the pooled scores, the hole is split into radial zones (`corkit_inpaint.geometry.ZONES`: inner,
mid and outer field), because a pooled RMSE is dominated by the bright inner
corona and hides the mid field. Each zone also gets the truth's own noise sigma
in the hole (Immerkaer), the floor of a fill from the frame alone; a fill from
neighbouring frames can go under it, since much of a frame's pixel-to-pixel
scatter stays from one frame to the next (docs/evaluation.md, With neighbouring
frames).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..geometry import ZONE_NAMES, ZONES, zone_map
from ..stretch import noise_sigma

__all__ = ["point_sources", "truth_terms", "score", "ZONES", "ZONE_NAMES", "zone_map", "zone_noise"]



def _hf(x):
    return x - ndimage.uniform_filter(x, 3, mode="nearest")


def _line(angle: float, length: int = 9) -> np.ndarray:
    """A 1-px line footprint of ``length`` pixels at ``angle`` (radians)."""
    fp = np.zeros((length, length), dtype=bool)
    t = np.arange(length) - length // 2
    rows = np.rint(length // 2 + t * np.sin(angle)).astype(int)
    cols = np.rint(length // 2 + t * np.cos(angle)).astype(int)
    fp[rows, cols] = True
    return fp


_LINES = [_line(k * np.pi / 8) for k in range(8)]


def point_sources(truth_s: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` where the (stretched) truth holds a point source: stars, planets, cosmic rays."""
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return np.zeros_like(mask)
    y0, y1 = max(ys.min() - 4, 0), min(ys.max() + 5, mask.shape[0])
    x0, x1 = max(xs.min() - 4, 0), min(xs.max() + 5, mask.shape[1])
    t = truth_s[y0:y1, x0:x1]
    opened = np.max([ndimage.grey_opening(t, footprint=f, mode="nearest") for f in _LINES], axis=0)
    resid = t - opened
    sig = noise_sigma(t, mask[y0:y1, x0:x1])
    out = np.zeros_like(mask)
    # 6 sigma, and at least 0.5 in asinh units (about 1.6x its surroundings where bright)
    out[y0:y1, x0:x1] = ndimage.binary_dilation(resid > max(6 * sig, 0.5), iterations=2)
    return out & mask


def truth_terms(truth, st) -> dict:
    """What scoring needs from the truth, computed once per frame: DN/s, stretched, its HF part."""
    ts = st.forward(truth)
    return {"rate": st.to_rate(truth), "s": ts, "hf": _hf(ts)}


def zone_noise(rate_t: np.ndarray, mask: np.ndarray, zones: np.ndarray | None,
               points: np.ndarray | None = None) -> dict:
    """The truth's noise in each zone of the hole, and the single-frame floor there.

    ``nsig_Z`` pixels and ``var_Z`` (sigma^2 times pixels): the noise sigma (Immerkaer). Computed once
    per mask (the same for every method). A zone's part of the hole with no whole 3x3 neighbourhood (a
    sliver) has no noise estimate: its pixels are not counted (``nsig_Z`` 0), rather than counted as
    noiseless.

    ``floor_Z`` (DN/s squared, summed over the zone's pixels of the hole): what a fill from this frame
    alone would still miss if it knew the smooth corona exactly: the noise variance at each pixel that
    is not a point source, plus, at the truth's point sources (``points``, `point_sources`: stars,
    planets, cosmic-ray hits, which the frame around a hole does not show), their excess over a 9x9
    median of the truth. It is a lower bound for any single-frame fill's squared error, not a
    prediction: faint stars under the detection threshold count as predictable there.
    """
    out = {}
    if zones is None:
        return out
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return out
    sl = (slice(max(ys.min() - 1, 0), ys.max() + 2), slice(max(xs.min() - 1, 0), xs.max() + 2))
    pts = np.zeros_like(mask[sl]) if points is None else points[sl] & mask[sl]
    excess = np.zeros(mask[sl].shape)
    if pts.any():
        big = (slice(max(sl[0].start - 4, 0), sl[0].stop + 4), slice(max(sl[1].start - 4, 0), sl[1].stop + 4))
        bg = ndimage.median_filter(rate_t[big], size=9, mode="nearest")
        excess = (rate_t[big] - bg)[sl[0].start - big[0].start:, sl[1].start - big[1].start:][
            :excess.shape[0], :excess.shape[1]]
    for k, name in enumerate(ZONE_NAMES):
        inz = mask[sl] & (zones[sl] == k)
        n = int(inz.sum()) if ndimage.binary_erosion(inz, np.ones((3, 3)), border_value=0).any() else 0
        sig = noise_sigma(rate_t[sl], inz) if n else 0.0
        out[f"nsig_{name}"], out[f"var_{name}"] = n, sig ** 2 * n
        out[f"floor_{name}"] = float(sig ** 2 * np.sum(inz & ~pts) + np.sum(excess[inz & pts] ** 2))
    return out


def score(t, fill, mask, st, centre, points=None, zones=None):
    """Score one fill against the truth terms ``t`` (`truth_terms`) inside ``mask``.

    With ``zones`` (`zone_map`), also ``n_Z`` and ``se_Z``: pixels and squared DN/s error per zone,
    ``n_np_Z`` and ``se_np_Z`` the same without the truth's point sources (``points``), and ``sd_Z`` and
    ``st_Z``: the signed error (fill minus truth) and the truth, in DN/s, summed over the zone's pixels
    (a bias, and what it is a share of).
    """
    rate_t, rate_f = t["rate"], st.to_rate(fill)
    d = rate_f[mask] - rate_t[mask]
    keep = ~points[mask] if points is not None else np.ones(d.size, dtype=bool)
    fs = st.forward(fill)
    ds = fs[mask] - t["s"][mask]
    inner = ndimage.binary_erosion(mask, np.ones((3, 3)), border_value=0)
    hf_t, hf_f = t["hf"][inner], _hf(fs)[inner]
    cy, cx = centre if centre is not None else ((fill.shape[0] - 1) / 2, (fill.shape[1] - 1) / 2)
    yy, xx = np.nonzero(mask)
    rb = np.rint(np.hypot(yy - cy, xx - cx)).astype(int)
    prof_t = np.bincount(rb, rate_t[mask]) / np.maximum(np.bincount(rb), 1)
    prof_f = np.bincount(rb, rate_f[mask]) / np.maximum(np.bincount(rb), 1)
    used = np.bincount(rb) > 0
    mad = lambda x: 1.4826 * float(np.median(np.abs(x - np.median(x)))) if x.size else 0.0
    by_zone = {}
    if zones is not None:
        zm, tm = zones[mask], rate_t[mask]
        for k, name in enumerate(ZONE_NAMES):
            by_zone[f"n_{name}"] = int(np.sum(zm == k))
            by_zone[f"se_{name}"] = float(np.sum(d[zm == k] ** 2))
            by_zone[f"sd_{name}"] = float(np.sum(d[zm == k]))
            by_zone[f"st_{name}"] = float(np.sum(tm[zm == k]))
            by_zone[f"n_np_{name}"] = int(np.sum((zm == k) & keep))
            by_zone[f"se_np_{name}"] = float(np.sum(d[(zm == k) & keep] ** 2))
    return by_zone | {"n": int(mask.sum()), "se": float(np.sum(d ** 2)), "ae": float(np.sum(np.abs(d))),
            "n_np": int(keep.sum()), "se_np": float(np.sum(d[keep] ** 2)),
            "se_s": float(np.sum(ds ** 2)), "hf_f": float(np.sum(hf_f ** 2)), "hf_t": float(np.sum(hf_t ** 2)),
            "rhf_f": mad(hf_f), "rhf_t": mad(hf_t),
            "n_hf": int(hf_t.size), "prof": float(np.mean(np.abs(prof_f - prof_t)[used]))}
