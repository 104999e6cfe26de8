"""Score fill methods on real or synthetic frames by blanking blocks that are really there.

For each frame and loss pattern (`corkit_inpaint.masks`), valid blocks are
blanked with a fixed seed, every method fills the same input, and the fill is
compared with the truth inside the blanked blocks only:

- hole RMSE and MAE in DN/s (``(DN - OFFSET) / EXPTIME``);
- RMSE in the stretched (asinh) space of `corkit_inpaint.stretch`;
- the noise ratio: robust std (1.4826 MAD) of the fill's high-frequency part
  (pixel minus its 3x3 mean, in stretched space, away from the hole edge) over
  the truth's, per mask, median over masks; 1.0 is realistic texture. The
  robust std measures the noise and ignores stars and cosmic-ray hits; the JSON
  also has ``noise_ratio_pooled``, plain std pooled over all masks, which those
  few bright pixels dominate;
- the hole RMSE without point sources (DN/s): the same, leaving out the
  truth's pixels that stand more than 6 noise sigma (Immerkaer), and at least
  0.5 in asinh units (1.6x where bright), above its opening by 9-px lines in
  eight directions, grown by 2 px. A ring, streamer or bleed column survives
  the opening along its own direction and is kept; a star, planet or
  cosmic-ray hit, smaller than 9 px every way, is not. No fill can predict a
  point source that falls wholly inside a missing block, and a single one can
  dominate the pooled RMSE of every method alike; this column shows the error
  on what a fill can know. Every method is scored on the same pixels;
- the mean radial-profile error (DN/s) over 1-pixel radial bins in the hole;
- the seconds per image;
- for the ratio to the best classical method, a 90% bootstrap interval over the
  masks (2,000 resamples): on one real frame a few blanked blocks on the
  occulter's bright ring dominate the pooled RMSE, and the interval says how
  much the ratio depends on which blocks were drawn.

Methods: any registered one (``pconv``, ``biharmonic``...) plus ``telea``
(OpenCV, optional: ``pip install opencv-python-headless``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict

import numpy as np
from scipy import ndimage

from .api import _fill
from .masks import PATTERNS, blocks_to_mask, eligible_blocks, loss_mask
from .methods import windowed_fill
from .network import context_valid, stretch_for, sun_centre
from .stretch import noise_sigma

__all__ = ["telea_fill", "point_sources", "evaluate_frame", "summarise", "format_table", "main_evaluate"]

log = logging.getLogger(__name__)


def telea_fill(image, mask, header=None):
    """OpenCV's Telea fill (radius 5) in the stretched space, on the same windows as ``pconv``.

    References
    ----------
    .. [1] Telea, A. "An Image Inpainting Technique Based on the Fast Marching
       Method", Journal of Graphics Tools 9(1), 2004.
    """
    import cv2

    def one(values, valid):
        # OpenCV's float32 Telea returns garbage; quantise the window to 16 bits instead
        lo, hi = float(values[valid].min()), float(values[valid].max())
        span = max(hi - lo, 1e-12)
        q = np.clip(np.rint((np.where(valid, values, lo) - lo) / span * 65535), 0, 65535).astype(np.uint16)
        return cv2.inpaint(q, (~valid).astype(np.uint8), 5, cv2.INPAINT_TELEA).astype(np.float64) / 65535 * span + lo

    return windowed_fill(image, mask, header, one)


def _hf(x):
    return x - ndimage.uniform_filter(x, 3, mode="nearest")


def _line(angle: float, length: int = 9) -> np.ndarray:
    """A 1-px line footprint of ``length`` pixels at ``angle`` (radians)."""
    fp = np.zeros((length, length), dtype=bool)
    t = np.arange(length) - length // 2
    fp[np.rint(length // 2 + t * np.sin(angle)).astype(int), np.rint(length // 2 + t * np.cos(angle)).astype(int)] = True
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


def _truth_terms(truth, st) -> dict:
    """What scoring needs from the truth, computed once per frame: DN/s, stretched, its HF part."""
    ts = st.forward(truth)
    return {"rate": st.to_rate(truth), "s": ts, "hf": _hf(ts)}


def _score(t, fill, mask, st, centre, points=None):
    """Score one fill against the truth terms ``t`` (`_truth_terms`) inside ``mask``."""
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
    return {"n": int(mask.sum()), "se": float(np.sum(d ** 2)), "ae": float(np.sum(np.abs(d))),
            "n_np": int(keep.sum()), "se_np": float(np.sum(d[keep] ** 2)),
            "se_s": float(np.sum(ds ** 2)), "hf_f": float(np.sum(hf_f ** 2)), "hf_t": float(np.sum(hf_t ** 2)),
            "rhf_f": mad(hf_f), "rhf_t": mad(hf_t),
            "n_hf": int(hf_t.size), "prof": float(np.mean(np.abs(prof_f - prof_t)[used]))}


def evaluate_frame(image, header, methods, *, rng, repeats=4, patterns=PATTERNS, device="auto",
                   weights=None, label=""):
    """Blank, fill and score one frame; returns a list of records."""
    img = np.asarray(image, dtype=np.float64)
    elig = eligible_blocks(img, header)
    st = stretch_for(img, context_valid(img, np.zeros(img.shape, dtype=bool)), header)
    centre = sun_centre(header)
    truth = _truth_terms(img, st)
    records = []
    for pattern in patterns:
        for r in range(repeats):
            _, blocks = loss_mask(rng, elig, pattern)
            if not blocks:
                continue
            mask = blocks_to_mask(img.shape, blocks)
            test = img.copy()
            test[mask] = 0
            points = point_sources(truth["s"], mask)
            for m in methods:
                t0 = time.perf_counter()
                if m == "telea":
                    fill = telea_fill(test, mask, header)
                else:
                    fill, _ = _fill(test, mask, header, m, device, weights)
                dt = time.perf_counter() - t0
                rec = _score(truth, fill, mask, st, centre, points)
                rec.update(method=m, pattern=pattern, frame=label, seconds=dt, blocks=len(blocks),
                           mask_id=f"{label}:{pattern}:{r}")
                records.append(rec)
    return records


def summarise(records):
    """Pool records per (pattern, method): RMSE and MAE (DN/s), RMSE (stretched), noise ratio..."""
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
            "noise_ratio": float(np.median([r["rhf_f"] / r["rhf_t"] for r in rs if r["rhf_t"] > 0]))
            if nhf else float("nan"),
            "noise_ratio_pooled": float(np.sqrt(sum(r["hf_f"] for r in rs) / max(sum(r["hf_t"] for r in rs), 1e-300)))
            if nhf else float("nan"),
            "profile_err": float(np.mean([r["prof"] for r in rs])),
            "seconds": float(np.mean([r["seconds"] for r in rs])),
            "masks": len(rs)}
    classical = ("biharmonic", "telea", "fuzzy")
    for p, ms in out.items():
        for key, ratio in (("rmse", "vs_best_classical"), ("rmse_no_points", "vs_best_classical_no_points")):
            best = min((v[key] for k, v in ms.items() if k in classical), default=None)
            for v in ms.values():
                v[ratio] = v[key] / best if best else float("nan")
        best_m = min((k for k in ms if k in classical), key=lambda k: ms[k]["rmse"], default=None)
        for m, v in ms.items():
            v["vs_best_classical_ci90"] = _ratio_ci(groups[(p, m)], groups[(p, best_m)]) if best_m else None
    return out


def _ratio_ci(recs, base, *, n_boot=2000, seed=0):
    """90% bootstrap interval (over masks) of the pooled-RMSE ratio of ``recs`` to ``base``."""
    a = {r["mask_id"]: r["se"] for r in recs}
    b = {r["mask_id"]: r["se"] for r in base}
    ids = sorted(set(a) & set(b))
    if len(ids) < 2:
        return None
    sa, sb = np.array([a[i] for i in ids]), np.array([b[i] for i in ids])
    pick = np.random.default_rng(seed).integers(0, len(ids), (n_boot, len(ids)))
    ratios = np.sqrt(sa[pick].sum(1) / np.maximum(sb[pick].sum(1), 1e-300))
    return [float(np.percentile(ratios, 5)), float(np.percentile(ratios, 95))]


def format_table(summary, title=""):
    """A Markdown table of a summary."""
    lines = [f"**{title}**", ""] if title else []
    lines += ["| pattern | method | RMSE (DN/s) | MAE (DN/s) | RMSE (asinh) | vs best classical (90% CI) | "
              "RMSE w/o point sources | vs best classical | noise ratio | profile err | s/image |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in list(PATTERNS) + ["all"]:
        for m, v in summary.get(p, {}).items():
            ci = v.get("vs_best_classical_ci90")
            ci = f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci and v["vs_best_classical"] != 1.0 else ""
            lines.append(f"| {p} | {m} | {v['rmse']:.4g} | {v['mae']:.4g} | {v['rmse_stretch']:.4g} | "
                         f"{v['vs_best_classical']:.3f}{ci} | {v['rmse_no_points']:.4g} | {v['vs_best_classical_no_points']:.3f} | "
                         f"{v['noise_ratio']:.2f} | {v['profile_err']:.3g} | {v['seconds']:.3f} |")
    return "\n".join(lines)


def _plot(summaries, png):
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
        ax.set_ylabel("hole RMSE / best classical")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=90)


def main_evaluate(args) -> int:
    """The ``evaluate`` command."""
    import warnings
    from astropy.io.fits.verify import VerifyWarning
    from tqdm import tqdm
    from .fitsio import InputError, read_level05
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if "telea" in methods:
        try:
            import cv2  # noqa: F401
        except ImportError:
            log.warning("telea needs OpenCV (pip install opencv-python-headless); skipping it")
            methods.remove("telea")
    from .cli import _err
    from .methods import available_methods
    unknown = [m for m in methods if m != "telea" and m not in available_methods()]
    if unknown:
        _err(f"unknown method(s) {', '.join(unknown)}; available: {', '.join(sorted(available_methods()))}, telea")
        return 2
    if not args.files and not args.synthetic:
        _err("give FILES and/or --synthetic N")
        return 2
    rng = np.random.default_rng(args.seed)
    results = {}
    failed = 0
    recs = []
    for f in tqdm(args.files, desc="real files", disable=args.quiet or len(args.files) < 2):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VerifyWarning)
                data, header = read_level05(f)
        except InputError as exc:
            _err(str(exc))
            failed += 1
            continue
        recs += evaluate_frame(data, header, methods, rng=rng, repeats=args.repeats,
                               device=args.device, weights=args.weights, label=str(f))
    if recs:
        results["real files"] = summarise(recs)
    if args.synthetic:
        from .synthetic import make_frame
        srecs = []
        kinds = [("C2", False), ("C2", True), ("C3", False), ("C3", True)]
        for i in tqdm(range(args.synthetic), desc="synthetic frames", disable=args.quiet):
            det, summed = kinds[i % 4]
            img, hdr = make_frame(90_000_000 + i, detector=det, summed=summed,   # never used in training
                                  version=args.generator_version)
            srecs += evaluate_frame(img, hdr, methods, rng=rng, repeats=1, device=args.device,
                                    weights=args.weights, label=f"synthetic {90_000_000 + i}")
        results[f"{args.synthetic} synthetic frames"] = summarise(srecs)
    for title, summ in results.items():
        print(format_table(summ, title))
        print()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"methods": methods, "seed": args.seed, "repeats": args.repeats, "results": results}, fh, indent=1)
    if args.plot and results:
        _plot(results, args.plot)
    return 1 if failed else 0
