"""Pool scores into a summary per pattern and method, with bootstrap intervals; tables and a figure."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..training.loss_masks import PATTERNS
from .metrics import ZONE_NAMES

__all__ = ["summarise", "summarise_zones", "mask_errors", "format_table", "format_zone_table", "plot_summaries",
           "save_figure", "CLASSICAL", "MASK_KEYS"]

#: The classical methods a ratio is taken against (the best of those scored).
CLASSICAL = ("biharmonic", "telea", "fuzzy")


def _median(values: list) -> float:
    """The median of ``values``; NaN for none (a frame with no noise: numpy would warn of an empty slice)."""
    return float(np.median(values)) if values else float("nan")


def summarise(records, against: str | None = None):
    """Pool records per (pattern, method): RMSE and MAE (DN/s), RMSE (stretched), noise ratio...

    With ``against`` (a method scored on the same masks), each other method
    also gets ``vs_against`` and ``vs_against_ci90``: its RMSE over that
    method's, with a 90% bootstrap interval over the masks (paired).
    """
    groups = defaultdict(list)
    for r in records:
        groups[(r["pattern"], r["method"])].append(r)
        groups[("all", r["method"])].append(r)
    out = {}
    for (p, m), rs in groups.items():
        n = sum(r["n"] for r in rs)
        nhf = sum(r["n_hf"] for r in rs)
        out.setdefault(p, {})[m] = {
            "rmse": float(np.sqrt(sum(r["se"] for r in rs) / n)),
            "mae": float(sum(r["ae"] for r in rs) / n),
            "rmse_stretch": float(np.sqrt(sum(r["se_s"] for r in rs) / n)),
            "rmse_no_points": float(np.sqrt(sum(r["se_np"] for r in rs) / max(sum(r["n_np"] for r in rs), 1))),
            # noise, not point sources: robust (MAD) std of the high-frequency part per mask,
            # median over masks; the pooled plain-std value is dominated by stars and cosmic rays
            "noise_ratio": _median([r["rhf_f"] / r["rhf_t"] for r in rs if r["rhf_t"] > 0]) if nhf else float("nan"),
            "noise_ratio_pooled": float(np.sqrt(sum(r["hf_f"] for r in rs) / max(sum(r["hf_t"] for r in rs), 1e-300)))
            if nhf else float("nan"),
            "profile_err": float(np.mean([r["prof"] for r in rs])),
            "seconds": float(np.mean([r["seconds"] for r in rs])),
            "masks": len(rs)}
    for p, ms in out.items():
        for key, ratio in (("rmse", "vs_best_classical"), ("rmse_no_points", "vs_best_classical_no_points")):
            best = min((v[key] for k, v in ms.items() if k in CLASSICAL), default=None)
            for v in ms.values():
                v[ratio] = v[key] / best if best else float("nan")
        best_m = min((k for k in ms if k in CLASSICAL), key=lambda k: ms[k]["rmse"], default=None)
        for m, v in ms.items():
            v["vs_best_classical_ci90"] = _ratio_ci(groups[(p, m)], groups[(p, best_m)]) if best_m else None
            _against(v, against, m, ms, groups[(p, m)], groups.get((p, against), []), "se", "rmse")
    return out


def _against(v: dict, against: str | None, m: str, rows: dict, recs, base, key: str, value: str) -> None:
    """Set ``v["vs_against"]`` (and its interval) for method ``m``, if ``against`` was scored and is not ``m``."""
    if against is None or against not in rows or m == against:
        return
    v["vs_against"] = v[value] / rows[against][value] if rows[against][value] else float("nan")
    v["vs_against_ci90"] = _ratio_ci(recs, base, key=key)


def _ratio_ci(recs, base, *, key="se", base_key=None, n_boot=2000, seed=0):
    """90% bootstrap interval (over masks) of the pooled-RMSE ratio of ``recs`` to ``base`` (squared errors ``key``).

    ``base_key`` (default ``key``) is the base's squared errors: ``recs``' ``floor_mid`` against ``se_mid``.
    Only masks with pixels there count (for a zone's ``se_<zone>``, those with ``n_<zone>`` > 0): a resample of
    masks that miss the zone would give a ratio of 0. None for fewer than two such masks.
    """
    base_key = base_key or key
    count = "n" + base_key[2:]              # "se" -> "n", "se_mid" -> "n_mid"
    a = {r["mask_id"]: r[key] for r in recs if r.get(count, 1)}
    b = {r["mask_id"]: r[base_key] for r in base if r.get(count, 1)}
    ids = sorted(set(a) & set(b))
    if len(ids) < 2:
        return None
    sa, sb = np.array([a[i] for i in ids]), np.array([b[i] for i in ids])
    pick = np.random.default_rng(seed).integers(0, len(ids), (n_boot, len(ids)))
    ratios = np.sqrt(sa[pick].sum(1) / np.maximum(sb[pick].sum(1), 1e-300))
    return [float(np.percentile(ratios, 5)), float(np.percentile(ratios, 95))]


def summarise_zones(records, against: str | None = None):
    """Pool records per radial zone and method, over every pattern.

    Returns
    -------
    dict
        ``{zone: {method: {"rmse", "sigma", "rmse_over_sigma", "rmse_no_points_over_sigma", "floor",
        "floor_over_sigma", "floor_vs_best_classical", "bias", "bias_rel", "bias_rel_ci90", "bias_over_rmse",
        "vs_best_classical",
        "vs_best_classical_ci90", "vs_ratio", "vs_ratio_ci90", "vs_alone", "vs_alone_ci90",
        "pixels", "masks"}}}``: the RMSE (DN/s) in the zone, the truth's own noise
        sigma there, the RMSE without the truth's point sources (stars,
        planets, cosmic-ray hits: no fill predicts a hit in the frame it fills)
        over that sigma, the single-frame floor (`corkit_inpaint.evaluation.metrics.zone_noise`: the
        noise plus the truth's point sources, what a fill from the frame alone that knew the smooth
        corona exactly would still miss; an RMSE over the same pixels, the same for every method; a
        fill with neighbouring frames can go under it) over the sigma and over the best classical
        method's RMSE (with its interval), and the ratios to the best classical method, to
        the ``ratio`` neighbour fill and to the same method run without
        neighbours (``"<method> (alone)"``), each with a 90% bootstrap interval
        over masks (nan where that baseline was not scored), and the mean signed error (`_bias`: DN/s,
        as a share of the truth with its interval, and over the RMSE); with ``against``,
        also ``"vs_against"`` and ``"vs_against_ci90"`` (as `summarise`). Empty
        when the records carry no zones (no C2/C3 header).
    """
    by_method = defaultdict(list)
    for r in records:
        by_method[r["method"]].append(r)
    out = {}
    for z in ZONE_NAMES:
        rows = {}
        for m, rs in by_method.items():
            n = sum(r.get(f"n_{z}", 0) for r in rs)
            if not n:
                continue
            nsig = sum(r.get(f"nsig_{z}", 0) for r in rs)
            sigma = float(np.sqrt(sum(r.get(f"var_{z}", 0.0) for r in rs) / nsig)) if nsig else float("nan")
            rmse = float(np.sqrt(sum(r[f"se_{z}"] for r in rs) / n))
            n_np = sum(r.get(f"n_np_{z}", 0) for r in rs)
            rmse_np = float(np.sqrt(sum(r.get(f"se_np_{z}", 0.0) for r in rs) / n_np)) if n_np else float("nan")
            inv = 1.0 / sigma if sigma > 0 else float("nan")
            floor = (float(np.sqrt(sum(r.get(f"floor_{z}", 0.0) for r in rs) / n))
                     if all(f"floor_{z}" in r for r in rs if r.get(f"n_{z}", 0)) else float("nan"))
            rows[m] = {"rmse": rmse, "sigma": sigma, "rmse_over_sigma": rmse * inv,
                       "rmse_no_points_over_sigma": rmse_np * inv, "floor": floor, "floor_over_sigma": floor * inv,
                       "pixels": n, "masks": sum(1 for r in rs if r.get(f"n_{z}", 0))} | _bias(rs, z, n, rmse)
        best = min((k for k in rows if k in CLASSICAL), key=lambda k: rows[k]["rmse"], default=None)
        floor_ci = (_ratio_ci(by_method[best], by_method[best], key=f"floor_{z}", base_key=f"se_{z}")
                    if best and np.isfinite(rows[best]["floor"]) else None)
        for m, v in rows.items():
            v["floor_vs_best_classical"] = v["floor"] / rows[best]["rmse"] if best else float("nan")
            v["floor_vs_best_classical_ci90"] = floor_ci
            for key, base in (("vs_best_classical", best), ("vs_ratio", "ratio" if "ratio" in rows else None),
                              ("vs_alone", _alone(m, rows))):
                v[key] = v["rmse"] / rows[base]["rmse"] if base else float("nan")
                v[key + "_ci90"] = (_ratio_ci(by_method[m], by_method[base], key=f"se_{z}")
                                    if base and m != base else None)
            _against(v, against, m, rows, by_method[m], by_method.get(against, []), f"se_{z}", "rmse")
        if rows:
            out[z] = rows
    return out


#: What `mask_errors` keeps of each record besides the zones': where the mask came from, its pixels and squared
#: error (DN/s squared), and the same without the truth's point sources.
MASK_KEYS = ("frame", "pattern", "mask_id", "method", "blocks", "n", "se", "n_np", "se_np")


def mask_errors(records) -> list[dict]:
    """Each scored fill's mask and its squared error, in all and per radial zone (``n_Z``, ``se_Z``, ...).

    A zone's RMSE in `summarise_zones` is ``sqrt(sum(se_Z) / sum(n_Z))`` over these, so sorted by ``se_Z``
    they show which masks it rests on: a few masks on bright structure can carry most of it.

    Returns
    -------
    list of dict
        Plain numbers and strings, in the records' order.
    """
    keys = (*MASK_KEYS, *(f"{p}_{z}" for z in ZONE_NAMES for p in ("n", "se", "n_np", "se_np", "floor", "sd", "st")))
    plain = lambda v: v.item() if isinstance(v, np.generic) else v if isinstance(v, (int, float)) else str(v)
    return [{k: plain(r[k]) for k in keys if k in r} for r in records]


def _bias(recs, zone: str, n: int, rmse: float, *, n_boot: int = 2000, seed: int = 0) -> dict:
    """The mean signed error in ``zone`` (``"bias"``, DN/s), as a share of the truth there (``"bias_rel"``, with a
    90% bootstrap interval over the masks, ``"bias_rel_ci90"``) and of the RMSE (``"bias_over_rmse"``).

    Noise averages out of a sum over many filled pixels and a bias does not: a brightness
    profile or a CME mass measured across filled blocks carries it whole. nan (and no interval)
    for records made before these sums were kept.
    """
    rows = [(r[f"sd_{zone}"], r[f"st_{zone}"]) for r in recs if r.get(f"n_{zone}", 0) and f"sd_{zone}" in r]
    if not rows or len(rows) < sum(1 for r in recs if r.get(f"n_{zone}", 0)):
        return {"bias": float("nan"), "bias_rel": float("nan"), "bias_rel_ci90": None, "bias_over_rmse": float("nan")}
    sd, st = np.array(rows).T
    bias = float(sd.sum() / n)
    ci = None
    if len(rows) > 1:
        pick = np.random.default_rng(seed).integers(0, len(rows), (n_boot, len(rows)))
        rel = sd[pick].sum(1) / np.where(st[pick].sum(1) != 0, st[pick].sum(1), np.nan)
        ci = [float(np.nanpercentile(rel, 5)), float(np.nanpercentile(rel, 95))]
    return {"bias": bias, "bias_rel": float(sd.sum() / st.sum()) if st.sum() else float("nan"),
            "bias_rel_ci90": ci, "bias_over_rmse": bias / rmse if rmse else float("nan")}


def _alone(method: str, rows) -> str | None:
    """The label of ``method`` run without neighbours (``"pconv (alone)"`` for ``"pconv"``), if it was scored."""
    alone = method.split(" (")[0] + " (alone)"
    return alone if alone in rows and alone != method else None


def format_zone_table(zones, title="", edges=""):
    """A Markdown table of `summarise_zones`."""
    lines = [f"**{title}, by radial zone{edges}**", ""] if title else []
    with_nb = any(np.isfinite(v.get("vs_ratio", np.nan)) or np.isfinite(v.get("vs_alone", np.nan))
                  for ms in zones.values() for v in ms.values())
    extra = ["vs ratio (90% CI)", "vs alone (90% CI)"] if with_nb else []
    against = _against_name(zones)
    extra += [f"vs {against} (90% CI)"] if against else []
    head = ["zone", "method", "RMSE (DN/s)", "vs best 1-frame classical (90% CI)", *extra, "noise sigma (DN/s)",
            "RMSE / sigma", "w/o point sources", "bias (% of truth, 90% CI)", "1-frame floor / sigma",
            "1-frame floor vs best classical (90% CI)", "pixels", "masks"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for z, ms in zones.items():
        for m, v in ms.items():
            cells = [z, m, f"{v['rmse']:.4g}", _with_ci(v, "vs_best_classical")]
            cells += [_with_ci(v, "vs_ratio"), _with_ci(v, "vs_alone")] if with_nb else []
            cells += [_with_ci(v, "vs_against")] if against else []
            cells += [f"{v['sigma']:.4g}", f"{v['rmse_over_sigma']:.2f}",
                      f"{v.get('rmse_no_points_over_sigma', np.nan):.2f}", _percent(v, "bias_rel"),
                      f"{v.get('floor_over_sigma', np.nan):.2f}",
                      _with_ci(v, "floor_vs_best_classical"), str(v["pixels"]), str(v["masks"])]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _against_name(table: dict) -> str | None:
    """The method the ``vs_against`` ratios of a summary are taken against (the one scored without them)."""
    for ms in table.values():
        if any("vs_against" in v for v in ms.values()):
            return next((m for m, v in ms.items() if "vs_against" not in v), None)
    return None


def _with_ci(v: dict, key: str) -> str:
    if not np.isfinite(v.get(key, np.nan)):
        return "-"
    ci = v.get(key + "_ci90")
    return f"{v[key]:.3f}" + (f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci else "")


def _percent(v: dict, key: str) -> str:
    """``v[key]`` in percent, signed, with its interval (``key + "_ci90"``); "-" when not finite."""
    if not np.isfinite(v.get(key, np.nan)):
        return "-"
    ci = v.get(key + "_ci90")
    return f"{100 * v[key]:+.2f}%" + (f" ({100 * ci[0]:+.2f} to {100 * ci[1]:+.2f})" if ci else "")


def format_table(summary, title=""):
    """A Markdown table of a summary."""
    against = _against_name(summary)
    lines = [f"**{title}**", ""] if title else []
    lines += ["| pattern | method | RMSE (DN/s) | MAE (DN/s) | RMSE (asinh) | vs best classical (90% CI) | "
              + (f"vs {against} (90% CI) | " if against else "")
              + "RMSE w/o point sources | vs best classical | noise ratio | profile err | s/image |",
              "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if against else "")]
    for p in list(PATTERNS) + ["all"]:
        for m, v in summary.get(p, {}).items():
            ci = v.get("vs_best_classical_ci90")
            ci = f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci and v["vs_best_classical"] != 1.0 else ""
            lines.append(f"| {p} | {m} | {v['rmse']:.4g} | {v['mae']:.4g} | {v['rmse_stretch']:.4g} | "
                         f"{v['vs_best_classical']:.3f}{ci} | "
                         + (f"{_with_ci(v, 'vs_against')} | " if against else "")
                         + f"{v['rmse_no_points']:.4g} | {v['vs_best_classical_no_points']:.3f} | "
                         f"{v['noise_ratio']:.2f} | {v['profile_err']:.3g} | {v['seconds']:.3f} |")
    return "\n".join(lines)


def plot_summaries(summaries, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(summaries), figsize=(6 * len(summaries), 4), squeeze=False)
    for ax, (title, summ) in zip(axes[0], summaries.items()):
        pats = [p for p in list(PATTERNS) + ["all"] if p in summ]
        methods = list(summ[pats[0]].keys())
        w = 0.8 / len(methods)
        for i, m in enumerate(methods):
            ax.bar(np.arange(len(pats)) + i * w, [summ[p][m]["vs_best_classical"] for p in pats], w, label=m)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks(np.arange(len(pats)) + 0.4 - w / 2, pats)
        ax.set_ylabel(f"hole RMSE / best 1-frame classical ({', '.join(CLASSICAL)})")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, png, dpi=90)


def save_figure(fig, path, *, dpi: int) -> None:
    """Save ``fig`` through a temporary beside ``path`` moved into place (no half-written picture, even after a
    kill), in the format ``path``'s suffix names (PNG without one); the figure is closed, also on failure."""
    from pathlib import Path

    import matplotlib.pyplot as plt

    from ..tempfiles import write_through_temp
    try:
        write_through_temp(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=Path(path).suffix[1:].lower() or "png"),
                           what="a figure")
    finally:
        plt.close(fig)
