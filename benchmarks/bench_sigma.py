"""What the fill's sigma costs: time of the sigma step against the whole fill, on the CPU, on real frames.

For the real 1024x1024 C2 and C3 frames (tests/data) with 10 blanked blocks,
and the middle frame of the real C3 sequence with its two neighbours, times
``pconv-smooth``'s whole fill (`PConvFill.fill`, model load excluded) and,
on the same windows, the sigma step alone (the pixels' features and the table
lookup, `corkit_inpaint.uncertainty`). Prints medians and the ratio
``fill / (fill - sigma)``: the fill time with the sigma over the fill time
without it. The issue's goal is at most 1.20.

Usage::

    python benchmarks/bench_sigma.py [--repeats 7] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from astropy.io import fits

from corkit_inpaint import load_model
from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods.pconv import PCONV_SMOOTH, SMOOTH_TABLE
from corkit_inpaint.network.windows import frame_windows
from corkit_inpaint.register import register_all
from corkit_inpaint.training.loss_masks import eligible_blocks
from corkit_inpaint.uncertainty.features import neighbour_cover, pixel_features
from corkit_inpaint.uncertainty.tables import table_for, to_linear

DATA = Path(__file__).parent.parent / "tests" / "data"
CASES = {"C2 1024": (DATA / "c2_22104858.fts", None), "C3 1024": (DATA / "c3_32219521.fts", None),
         "C3 1024, 2 neighbours": (DATA / "c3_seq" / "32310944.fts",
                                   [DATA / "c3_seq" / "32310943.fts", DATA / "c3_seq" / "32310945.fts"])}


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as h:
            return np.array(h[0].data), h[0].header.copy()


def case(path, nb_paths):
    img, hdr = read(path)
    elig = np.argwhere(eligible_blocks(img, hdr))
    pick = elig[np.random.default_rng(0).choice(len(elig), 10, replace=False)]
    mask = blocks_to_mask(img.shape, [tuple(b) for b in pick])
    test = img.astype(np.float64)
    test[mask] = 0
    frame = Frame.build(test, mask, hdr)
    nbs = register_all([read(p) for p in nb_paths], hdr, img.shape) if nb_paths else []
    return frame, nbs


def sigma_step(frame, nbs, res, windows, sha):
    """What `PConvFill` adds for the sigma: the neighbour cover, the features, the lookup, the unstretching."""
    cover = neighbour_cover(frame, nbs) if nbs else None
    feats = pixel_features(frame, res.filled, cover, windows)
    return to_linear(frame, res.values, res.filled, table_for(SMOOTH_TABLE, sha).stretched(feats))


def median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    sha = load_model(None).sha256
    print(f"{'case':24s} {'fill (s)':>9s} {'sigma (s)':>10s} {'with / without':>15s}")
    for name, (path, nb_paths) in CASES.items():
        frame, nbs = case(path, nb_paths)
        res = PCONV_SMOOTH.fill(frame, neighbours=nbs, device="cpu")
        windows = frame_windows(frame, nbs)[:2]
        t_fill = median_time(lambda f=frame, n=nbs: PCONV_SMOOTH.fill(f, neighbours=n, device="cpu"), args.repeats)
        t_sig = median_time(lambda f=frame, n=nbs, r=res, w=windows: sigma_step(f, n, r, w, sha), args.repeats)
        print(f"{name:24s} {t_fill:9.3f} {t_sig:10.3f} {t_fill / (t_fill - t_sig):15.3f}")


if __name__ == "__main__":
    main()
