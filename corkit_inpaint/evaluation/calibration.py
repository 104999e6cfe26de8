"""Is a fill's sigma right? The spread of z = (fill - truth) / sigma per radial zone, interval coverage, reliability.

For every scored fill with a sigma, `z_counts` histograms z per radial zone
(`corkit_inpaint.geometry.ZONE_NAMES`) on fixed edges that include the
nominal central-interval bounds of `LEVELS`, so the coverages are exact
counts (beyond |z| = 10 the edges are 25% apart, so a far larger spread is read
to within a few percent, up to |z| about 1e5). `calibration_table` pools the
histograms over masks: the robust std of
z (interquartile range / 1.349; 1 for a calibrated Gaussian, and blind to the
few pixels a star or cosmic ray makes huge), the shares of truths inside the
68.27% and 95% intervals (``|z| < 1``, ``|z| < 1.96``), and 90% bootstrap
intervals over the masks. `reliability` gives, for each nominal level, the
share observed inside it; `plot_reliability` draws that diagram.

A sum or mean over many filled pixels needs more than each pixel's sigma: how
their errors are correlated. `block_z` measures it on the blanked blocks: the
error of a block's mean over the mean of its sigma. If a block's errors were
one shared offset, that z would spread as the pixels' z does (robust std 1); if they
were independent, 32 times more narrowly (about 1/32: a mean over 32x32 pixels). `calibration_table`
gives its robust std per zone (``block_z_std``) and the share of blocks within
1 (``block_cover68``): the factor to apply to the mean INPSIGMA of a block for
the 1-sigma of that block's mean (docs/uncertainty.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from scipy.special import erfinv

from ..geometry import ZONE_NAMES

__all__ = ["LEVELS", "Z_EDGES", "z_counts", "block_z", "calibration_table", "reliability", "format_calibration_table",
           "plot_reliability"]

#: Nominal central-interval levels of the reliability diagram.
LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.6827, 0.7, 0.8, 0.9, 0.95, 0.99)


def _z_of(p: float) -> float:
    """The half-width, in sigma, of a Gaussian's central interval holding ``p``."""
    return float(math.sqrt(2) * erfinv(p))


_BOUNDS = sorted({round(_z_of(p), 6) for p in LEVELS} | {1.96})
# beyond +-10, edges 25% apart out to +-1e5: a sigma 20 times too small has its quartiles near +-13.5, which the
# under- and overflow bins held and the robust std read as 14.8 (20 / 1.349), whatever the true spread
_FAR = np.round(10 * 1.25 ** np.arange(1, 42), 6)
#: Histogram edges of z: 0.05 apart over +-10, plus every nominal bound, then 25% apart out to +-1e5.
Z_EDGES = np.unique(np.round(np.concatenate([np.linspace(-10, 10, 401), _BOUNDS, -np.asarray(_BOUNDS),
                                             _FAR, -_FAR]), 6))


def z_counts(fill: np.ndarray, truth: np.ndarray, sigma: np.ndarray, pixels: np.ndarray,
             zones: np.ndarray | None) -> dict:
    """``{"zh_<zone>": counts}``: z histogram per zone (with under- and overflow) of ``pixels`` with sigma > 0."""
    if zones is None:
        return {}
    use = pixels & (sigma > 0)
    z = (fill[use] - truth[use]) / sigma[use]
    zz = zones[use]
    return {f"zh_{name}": np.bincount(np.searchsorted(Z_EDGES, z[zz == k]), minlength=Z_EDGES.size + 1)
            for k, name in enumerate(ZONE_NAMES)}


def block_z(fill: np.ndarray, truth: np.ndarray, sigma: np.ndarray, pixels: np.ndarray, zones: np.ndarray | None,
            blocks: Iterable[tuple[int, int]], block: int = 32) -> dict[str, list[float]]:
    """``{"zb_<zone>": [z of each block's mean]}``: ``(mean fill - mean truth) / mean sigma`` per blanked block.

    Parameters
    ----------
    fill, truth, sigma : numpy.ndarray
        The fill, the true image and the fill's 1-sigma, in one unit, frame-shaped.
    pixels : numpy.ndarray of bool
        The filled pixels scored (a block's pixels with sigma > 0 among them count).
    zones : numpy.ndarray or None
        Each pixel's radial zone (`corkit_inpaint.geometry.zone_map`, -1 outside them).
    blocks : iterable of (int, int)
        The blanked blocks, ``(block row, block column)``.
    block : int
        The block size in pixels.

    Returns
    -------
    dict
        Per zone with any, the z of its blocks. A block with fewer than half its pixels counted is
        left out, and each goes to the zone holding most of them. Empty without ``zones``.
    """
    if zones is None:
        return {}
    out: dict = {f"zb_{name}": [] for name in ZONE_NAMES}
    for by, bx in blocks:
        sl = (slice(by * block, (by + 1) * block), slice(bx * block, (bx + 1) * block))
        use = pixels[sl] & (sigma[sl] > 0) & (zones[sl] >= 0)
        if use.sum() < block * block // 2:
            continue
        name = ZONE_NAMES[int(np.argmax(np.bincount(zones[sl][use], minlength=len(ZONE_NAMES))))]
        out[f"zb_{name}"].append(float(np.mean(fill[sl][use] - truth[sl][use]) / np.mean(sigma[sl][use])))
    return {k: v for k, v in out.items() if v}


_LOWER = np.concatenate([[Z_EDGES[0]], Z_EDGES])      # bin j holds Z_EDGES[j-1] < z <= Z_EDGES[j]
_UPPER = np.concatenate([Z_EDGES, [Z_EDGES[-1]]])     # (bin 0 and the last: under- and overflow)


def _quantile(h: np.ndarray, p: float) -> np.ndarray:
    """The ``p`` quantile of z from histograms ``h`` (..., bins), linear within a bin."""
    c = np.cumsum(h, -1) / np.maximum(h.sum(-1, keepdims=True), 1)
    j = np.argmax(c >= p, axis=-1)
    ch = np.take_along_axis(c, j[..., None], -1)[..., 0]
    cl = np.where(j > 0, np.take_along_axis(c, np.maximum(j - 1, 0)[..., None], -1)[..., 0], 0.0)
    lo, hi = _LOWER[j], _UPPER[j]
    return lo + (hi - lo) * np.clip((p - cl) / np.maximum(ch - cl, 1e-12), 0.0, 1.0)


def _inside(h: np.ndarray, bound: float) -> np.ndarray:
    """Share of z in ``(-bound, bound]`` (``bound`` one of the edges)."""
    i0, i1 = np.searchsorted(Z_EDGES, -bound), np.searchsorted(Z_EDGES, bound)
    return h[..., i0 + 1:i1 + 1].sum(-1) / np.maximum(h.sum(-1), 1)


def _stats(h: np.ndarray) -> np.ndarray:
    """``(robust std, share |z| < 1, share |z| < 1.96)`` of histograms ``h`` (..., bins)."""
    return np.stack([(_quantile(h, 0.75) - _quantile(h, 0.25)) / 1.349, _inside(h, 1.0), _inside(h, 1.96)], -1)


def _histograms(records, zone: str) -> dict[str, np.ndarray]:
    """``{method: (masks, bins)}`` z histograms of one zone."""
    out: dict[str, list] = {}
    for r in records:
        h = r.get(f"zh_{zone}")
        if h is not None and np.sum(h) > 0:
            out.setdefault(r["method"], []).append(np.asarray(h))
    return {m: np.stack(hs) for m, hs in out.items()}


def calibration_table(records, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Per zone and method: z robust std, 68% and 95% coverage, with 90% bootstrap intervals over masks.

    Returns
    -------
    dict
        ``{zone: {method: {"z_std", "z_std_ci", "cover68", "cover68_ci", "cover95", "cover95_ci",
        "pixels", "masks"}}}``; methods without a sigma are absent. An interval is None from one mask.
        Where the records hold `block_z`, also ``"block_z_std"``, ``"block_cover68"`` (each with
        ``_ci``) and ``"blocks"``.
    """
    out = {}
    for zone in ZONE_NAMES:
        rows = {}
        for m, hs in _histograms(records, zone).items():
            est = _stats(hs.sum(0))
            rows[m] = {"pixels": int(hs.sum()), "masks": len(hs)}
            ci = [None] * 3                   # one mask: no interval
            if len(hs) > 1:       # each (zone, method) draws the same resamples: the others scored do not change it
                pick = np.random.default_rng(seed).integers(0, len(hs), (n_boot, len(hs)))
                boot = _stats(np.stack([hs[p].sum(0) for p in pick]))
                lo, hi = np.percentile(boot, 5, axis=0), np.percentile(boot, 95, axis=0)
                ci = [[float(lo[i]), float(hi[i])] for i in range(3)]
            for i, key in enumerate(("z_std", "cover68", "cover95")):
                rows[m][key] = float(est[i])
                rows[m][f"{key}_ci"] = ci[i]
            rows[m] |= _block_stats([r.get(f"zb_{zone}") for r in records
                                     if r["method"] == m and r.get(f"zh_{zone}") is not None
                                     and np.sum(r[f"zh_{zone}"]) > 0], n_boot, seed)
        if rows:
            out[zone] = rows
    return out


def _block_stats(per_mask: list, n_boot: int, seed: int) -> dict:
    """Robust std of the block z (`block_z`) and the share within 1, with 90% intervals over masks; {} without.

    ``per_mask``: each mask's list of block z in the zone (None: none there). A resample with no block
    is left out of the interval.
    """
    lists = [np.asarray(zb if zb is not None else [], dtype=float) for zb in per_mask]
    if not sum(zb.size for zb in lists):          # no block whose most pixels lie in the zone (or older records)
        return {}
    stats = lambda zb: ((np.percentile(zb, 75) - np.percentile(zb, 25)) / 1.349, np.mean(np.abs(zb) < 1))
    out = dict(zip(("block_z_std", "block_cover68"), map(float, stats(np.concatenate(lists)))),
               blocks=int(sum(zb.size for zb in lists)), block_z_std_ci=None, block_cover68_ci=None)
    if len(lists) > 1:
        pick = np.random.default_rng(seed).integers(0, len(lists), (n_boot, len(lists)))
        boot = np.array([stats(zb) for zb in (np.concatenate([lists[i] for i in p]) for p in pick) if zb.size])
        lo, hi = np.percentile(boot, 5, axis=0), np.percentile(boot, 95, axis=0)
        out["block_z_std_ci"], out["block_cover68_ci"] = [float(lo[0]), float(hi[0])], [float(lo[1]), float(hi[1])]
    return out


def reliability(records) -> dict:
    """``{method: {zone: [observed share inside each nominal level of LEVELS]}}``."""
    out: dict = {}
    for zone in ZONE_NAMES:
        for m, hs in _histograms(records, zone).items():
            h = hs.sum(0)
            out.setdefault(m, {})[zone] = [float(_inside(h, round(_z_of(p), 6))) for p in LEVELS]
    return out


def format_calibration_table(table: dict, title: str = "") -> str:
    """A Markdown table of `calibration_table`."""
    lines = [f"### Calibration of the sigma: {title}", "",
             "| zone | method | z robust std (90% CI) | inside 68% (90% CI) | inside 95% (90% CI) | pixels | masks "
             "| block mean: z robust std (90% CI) | block mean: inside 1 (90% CI) | blocks |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v, ci, pct: ((f"{100 * v:.1f}%" if pct else f"{v:.2f}") + ("" if ci is None else
                            f" ({100 * ci[0]:.1f}-{100 * ci[1]:.1f})" if pct else f" ({ci[0]:.2f}-{ci[1]:.2f})"))
    for zone, rows in table.items():
        for m, v in rows.items():
            lines.append(f"| {zone} | {m} | {f(v['z_std'], v['z_std_ci'], False)} | "
                         f"{f(v['cover68'], v['cover68_ci'], True)} | {f(v['cover95'], v['cover95_ci'], True)} | "
                         f"{v['pixels']} | {v['masks']} | "
                         + (f"{f(v['block_z_std'], v['block_z_std_ci'], False)} | "
                            f"{f(v['block_cover68'], v['block_cover68_ci'], True)} | {v['blocks']} |"
                            if "blocks" in v else "- | - | - |"))
    return "\n".join(lines)


def plot_reliability(rel: dict, png: str, title: str = "") -> None:
    """Reliability diagram: observed share inside each nominal interval, per method, one panel per zone."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .report import save_figure
    fig, axes = plt.subplots(1, len(ZONE_NAMES), figsize=(4 * len(ZONE_NAMES), 4), sharey=True)
    for ax, zone in zip(axes, ZONE_NAMES):
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="calibrated")
        for m, zs in rel.items():
            if zone in zs:
                ax.plot(LEVELS, zs[zone], marker="o", ms=3, label=m)
        ax.set_title(f"{zone} field")
        ax.set_xlabel("nominal share inside the interval")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
    axes[0].set_ylabel("observed share of truths inside")
    axes[-1].legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, png, dpi=110)
