"""Fill speed with two neighbouring frames, on the CPU, on a real 1024x1024 C3 sequence.

The middle frame of three real consecutive C3 frames (tests/data/c3_seq) gets
10 blanked blocks and is filled from the frames before and after it, through
`inpaint_array` (registration of both neighbours included, model load
excluded). Prints medians over repeats and the ratios, all measured in this
run, against the same network without neighbours, the ``ratio`` baseline and
biharmonic. The issue's goal is at most 1.0 s per frame for the network (the
default method, ``pconv-smooth``) with two neighbours.

Usage::

    python benchmarks/bench_neighbours.py [--repeats 7] [--threads 2] [--weights NAME] [--warm]

Each timed fill starts without the biharmonic systems of earlier fills; ``--warm``
keeps them (`bench_fill.timed`).
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from astropy.io import fits
from bench_fill import timed  # benchmarks/ is on the path when a script there runs

from corkit_inpaint import inpaint_array, load_model
from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.methods.pconv import PCONV_SMOOTH
from corkit_inpaint.training.loss_masks import eligible_blocks

SEQ = [Path(__file__).parent.parent / "tests" / "data" / "c3_seq" / f"3231094{k}.fts" for k in (3, 4, 5)]


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as h:
            return np.array(h[0].data), h[0].header.copy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    ap.add_argument("--weights", default=None, help="model name or file (default model if omitted)")
    ap.add_argument("--warm", action="store_true", help="keep the biharmonic systems of earlier fills")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    (b, hb), (img, hdr), (a, ha) = (read(p) for p in SEQ)
    elig = np.argwhere(eligible_blocks(img, hdr))
    pick = elig[np.random.default_rng(0).choice(len(elig), 10, replace=False)]
    mask = blocks_to_mask(img.shape, [tuple(p) for p in pick])
    test = np.where(mask, 0, img)
    load_model(args.weights, device="cpu")        # model load excluded from the timings
    nbs = [(b, hb), (a, ha)]
    runs = {"pconv-smooth, 2 neighbours": ("pconv-smooth", nbs),
            "the same, no ring check": (replace(PCONV_SMOOTH, ring_check=False), nbs),
            "pconv-smooth, alone": ("pconv-smooth", None),
            "ratio, 2 neighbours": ("ratio", nbs), "biharmonic": ("biharmonic", None)}
    res = {}
    for name, (method, nb) in runs.items():
        res[name] = timed(lambda m=method, n=nb: inpaint_array(test, mask, header=hdr, neighbours=n, method=m,
                                                               device="cpu", weights=args.weights), args.repeats,
                          args.warm)
        print(f"{name:22s} median {res[name][0]:.3f} s  (min {res[name][1]:.3f}, max {res[name][2]:.3f})")
    base = res["pconv-smooth, 2 neighbours"][0]
    print(f"pconv-smooth with 2 neighbours / alone: {base / res['pconv-smooth, alone'][0]:.2f}; "
          f"/ without its ring check: {base / res['the same, no ring check'][0]:.2f}; "
          f"/ ratio: {base / res['ratio, 2 neighbours'][0]:.2f}; / biharmonic: {base / res['biharmonic'][0]:.2f}")
    print(f"goal (at most 1.0 s per 1024x1024 frame with 10 blocks and 2 neighbours): "
          f"{'met' if base <= 1.0 else 'NOT met'} ({base:.3f} s, {args.threads} threads)")


if __name__ == "__main__":
    main()
