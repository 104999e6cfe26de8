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
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfinv

from ..geometry import ZONE_NAMES

__all__ = ["LEVELS", "Z_EDGES", "z_counts", "calibration_table", "reliability", "format_calibration_table",
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
        if rows:
            out[zone] = rows
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
             "| zone | method | z robust std (90% CI) | inside 68% (90% CI) | inside 95% (90% CI) | pixels | masks |",
             "|---|---|---|---|---|---|---|"]
    f = lambda v, ci, pct: ((f"{100 * v:.1f}%" if pct else f"{v:.2f}") + ("" if ci is None else
                            f" ({100 * ci[0]:.1f}-{100 * ci[1]:.1f})" if pct else f" ({ci[0]:.2f}-{ci[1]:.2f})"))
    for zone, rows in table.items():
        for m, v in rows.items():
            lines.append(f"| {zone} | {m} | {f(v['z_std'], v['z_std_ci'], False)} | "
                         f"{f(v['cover68'], v['cover68_ci'], True)} | {f(v['cover95'], v['cover95_ci'], True)} | "
                         f"{v['pixels']} | {v['masks']} |")
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
