"""How well `corkit_inpaint.region_sigma` covers the summed error of whole holes and of single blocks.

The standard masks (`corkit_inpaint.training.loss_masks`, seed 2026) are
blanked in each frame and filled by ``pconv-smooth`` as ``evaluate`` does.
For each hole (an 8-connected part of the filled pixels) and for each blanked
block inside it, the summed error is compared with the 1-sigma of the sum that
`region_sigma`'s model gives with each value of ``shared``. A calibrated
``shared`` puts 68.27% of the sums within it. ``shared`` for the whole holes
of the 24 held-out synthetic frames is how `corkit_inpaint.uncertainty.region.SHARED`
was chosen; the real frames check it.

Usage::

    python benchmarks/region_sigma_holes.py --synthetic 24
    python benchmarks/region_sigma_holes.py ../shared/data/real/c2_22104858.fts --repeats 25 [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
from scipy import ndimage

from corkit_inpaint.evaluation.protocol import SYNTHETIC_SEED0
from corkit_inpaint.fill import below_saturation, run_method
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods import get_method
from corkit_inpaint.read import read_level05
from corkit_inpaint.threads import set_threads
from corkit_inpaint.training.loss_masks import PATTERNS, blanked_copies
from corkit_inpaint.wrap import unwrapped

SHARES = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 1.0)


def frames(files, synthetic: int, repeats: int):
    """``((image, header), repeats)`` of each frame to blank: the files, or the held-out synthetic frames."""
    if synthetic:
        from corkit_inpaint.training.simulator import make_frame
        kinds = [("C2", False), ("C2", True), ("C3", False), ("C3", True)]
        for i in range(synthetic):
            det, summed = kinds[i % 4]
            yield make_frame(SYNTHETIC_SEED0 + i, detector=det, summed=summed, version="3"), 1
    for f in files:
        r = read_level05(f)
        yield (r.data, r.header), repeats


def hole_sums(frame_list, seed: int = 2026) -> list[dict]:
    """Per hole: summed error ``e``, sum of sigma ``S`` and of sigma squared ``Q``, blocks ``n``, and the same
    three for each of its blocks with at least half their pixels in it (``blocks``)."""
    method, rng, rows = get_method("pconv-smooth"), np.random.default_rng(seed), []
    for (image, header), reps in frame_list:
        img = np.asarray(unwrapped(np.asarray(image), header), dtype=np.float64)
        for _, _, blocks, mask, test in blanked_copies(img, header, rng, reps, PATTERNS):
            res = run_method(method, Frame.build(test, mask, header), device="cpu", warn_alone=False)
            if res.sigma is None:
                continue
            values = below_saturation(res.values, res.filled, lambda t=test, k=mask: t[~k], header)[0]
            filled = res.filled & mask & (res.sigma > 0)
            lab, n = ndimage.label(filled, np.ones((3, 3), dtype=bool))
            block_of = np.zeros(img.shape, dtype=int)
            for j, (by, bx) in enumerate(blocks):
                block_of[by * 32:(by + 1) * 32, bx * 32:(bx + 1) * 32] = j + 1
            for i in range(1, n + 1):
                h = lab == i
                d, s, b = values[h] - img[h], res.sigma[h].astype(np.float64), block_of[h]
                rows.append({"e": float(d.sum()), "S": float(s.sum()), "Q": float((s ** 2).sum()),
                             "n": int(round(h.sum() / 1024)),
                             "blocks": [(float(d[b == k].sum()), float(s[b == k].sum()), float((s[b == k] ** 2).sum()))
                                        for k in np.unique(b) if np.sum(b == k) >= 512]})
    return rows


def coverage(rows: list[dict], shared: float) -> dict:
    """Share of whole holes' sums, and of their blocks' sums, within the model's 1-sigma for ``shared``."""
    within = lambda e, S, Q: abs(e) <= np.sqrt(shared ** 2 * S ** 2 + (1 - shared ** 2) * Q)
    holes = [within(r["e"], r["S"], r["Q"]) for r in rows]
    multi = [within(r["e"], r["S"], r["Q"]) for r in rows if r["n"] >= 2]
    blocks = [within(*b) for r in rows for b in r["blocks"]]
    return {"holes": float(np.mean(holes)), "multi_block_holes": float(np.mean(multi)) if multi else None,
            "blocks": float(np.mean(blocks)), "n_holes": len(holes), "n_blocks": len(blocks)}


def main(argv=None) -> None:
    """Print the coverage for each share in `SHARES`, and the share that calibrates the whole holes."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--synthetic", type=int, default=0, help="also this many held-out synthetic frames")
    ap.add_argument("--repeats", type=int, default=25, help="masks per loss pattern per file")
    ap.add_argument("--json", type=Path, help="write the per-hole sums here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    set_threads(1)
    rows = hole_sums(frames(args.files, args.synthetic, args.repeats))
    for s in SHARES:
        c = coverage(rows, s)
        print(f"shared {s:.2f}: whole holes {100 * c['holes']:.0f}% of {c['n_holes']} (multi-block "
              f"{100 * (c['multi_block_holes'] or 0):.0f}%), blocks inside them {100 * c['blocks']:.0f}% of "
              f"{c['n_blocks']}")
    q = np.quantile([abs(r["e"]) / r["S"] for r in rows], 0.6827)
    print(f"the shared value that puts 68.27% of the whole holes' sums within 1 sigma: about {q:.3f}")
    if args.json:
        args.json.write_text(json.dumps(rows))


if __name__ == "__main__":
    main()
