"""Fill time of the Fourier variants against the default, on the CPU, on the same 1024x1024 inputs.

Prints the median over repeats (model load excluded) of ``pconv-smooth``,
``pconv-fourier`` and ``fourier-vae`` (its prior mean and 8 draws for the sigma)
with 10 and with 100 missing blocks of a simulated C3 frame, and each one's ratio
to ``pconv-smooth`` measured in the same run.

Usage::

    python benchmarks/bench_fourier.py [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_fill import timed  # benchmarks/ is on the path when a script there runs

from corkit_inpaint import inpaint_array, load_model
from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.methods import get_method
from corkit_inpaint.threads import set_threads
from corkit_inpaint.training.loss_masks import eligible_blocks
from corkit_inpaint.training.simulator import make_frame

METHODS = ("pconv-smooth", "pconv-fourier", "fourier-vae")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = ap.parse_args()
    set_threads(args.threads)
    img, hdr = make_frame(424242, detector="C3", summed=False)
    img = img.astype(np.float64)
    elig = np.argwhere(eligible_blocks(img, hdr))
    rng = np.random.default_rng(0)
    for m in METHODS:                             # model load excluded from the timings
        load_model(get_method(m).model, device="cpu")
    for n in (10, 100):
        pick = elig[rng.choice(len(elig), n, replace=False)]
        mask = blocks_to_mask(img.shape, [tuple(p) for p in pick])
        t = {m: timed(lambda m=m, mask=mask: inpaint_array(img, mask, header=hdr, method=m, device="cpu"),
                      args.repeats)[0] for m in METHODS}
        for m in METHODS:
            print(f"{n:4d} blocks  {m:14s} median {t[m]:.3f} s   {t[m] / t['pconv-smooth']:.2f}x pconv-smooth")


if __name__ == "__main__":
    main()
