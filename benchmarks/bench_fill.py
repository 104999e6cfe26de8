"""Fill speed on the CPU: pconv against scikit-image's biharmonic on the same 1024x1024 input.

Prints medians over repeats (model load excluded) and the ratios, all measured in
this run: pconv with 10 missing blocks, biharmonic with 10, pconv with 100, and
the 100/10 cost ratio.

Usage::

    python benchmarks/bench_fill.py [--repeats 7] [--threads N] [--warm]

Each timed fill starts without the biharmonic systems of earlier fills (the cost of
a frame's first fill); ``--warm`` keeps them (`corkit_inpaint.biharmonic_cache`).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from corkit_inpaint import inpaint_array, load_model
from corkit_inpaint.biharmonic_cache import clear_cache
from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.training.loss_masks import eligible_blocks
from corkit_inpaint.training.simulator import make_frame


def timed(fn, repeats, warm=False):
    """Median, least and most seconds of ``fn`` over ``repeats`` calls after one warm-up.

    Unless ``warm``, each call starts without the biharmonic systems earlier calls kept
    (`corkit_inpaint.biharmonic_cache`): the time of a frame's first fill, as a run over one file
    takes. With ``warm`` they are kept, as in a long run whose frames lose blocks of the same shapes.
    """
    fn()                                          # warm-up
    ts = []
    for _ in range(repeats):
        if not warm:
            clear_cache()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts), max(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--warm", action="store_true", help="keep the biharmonic systems of earlier fills")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    img, hdr = make_frame(424242, detector="C3", summed=False)
    img = img.astype(np.float64)
    elig = np.argwhere(eligible_blocks(img, hdr))
    rng = np.random.default_rng(0)
    masks = {}
    for n in (10, 100):
        pick = elig[rng.choice(len(elig), n, replace=False)]
        masks[n] = blocks_to_mask(img.shape, [tuple(p) for p in pick])
    load_model(device="cpu")                      # model load excluded from the timings
    res = {}
    def fill(n, method):
        return lambda: inpaint_array(img, masks[n], header=hdr, method=method, device="cpu")

    for name, fn in (("pconv 10", fill(10, "pconv")), ("biharmonic 10", fill(10, "biharmonic")),
                     ("pconv 100", fill(100, "pconv")), ("biharmonic 100", fill(100, "biharmonic"))):
        res[name] = timed(fn, args.repeats, args.warm)
        print(f"{name:16s} median {res[name][0]:.3f} s  (min {res[name][1]:.3f}, max {res[name][2]:.3f})")
    print(f"pconv / biharmonic, 10 blocks:  {res['pconv 10'][0] / res['biharmonic 10'][0]:.2f}x  (goal <= 5x)")
    print(f"pconv 10 blocks median:         {res['pconv 10'][0]:.3f} s (goal <= 1.0 s)")
    print(f"pconv 100 / 10 blocks:          {res['pconv 100'][0] / res['pconv 10'][0]:.2f}x  (goal < 10x)")
    print(f"torch threads: {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
