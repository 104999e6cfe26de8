"""What the fill's sigma costs: time of the sigma steps against the whole fill, on the CPU, on real frames.

For the real 1024x1024 C2 and C3 frames (tests/data) with 10 blanked blocks
(and with 1), and the middle frame of the real C3 sequence with its two
neighbours, times ``pconv-smooth``'s fill (`PConvFill.fill`, model load
excluded), and on the same frame the two sigma steps alone: the table's
(the pixels' features and the table lookup, `corkit_inpaint.uncertainty`)
and its check on the frame's own blocks (`corkit_inpaint.uncertainty.probe`).
Prints medians and two ratios of the fill time with the sigma over the fill
time without it: for the method (``(fill + check) / (fill - table)``), and
for the whole fill step a file goes through (`corkit_inpaint.fill.fill_level05`:
finding the blocks, the frame, the fill, the check; without the file's
reading and writing). The issue's goal is at most 1.20.

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
from corkit_inpaint.fill import fill_level05
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods.pconv import PCONV_SMOOTH, SMOOTH_TABLE
from corkit_inpaint.network.windows import frame_windows
from corkit_inpaint.register import register_all
from corkit_inpaint.training.loss_masks import eligible_blocks
from corkit_inpaint.uncertainty.features import neighbour_cover, pixel_features
from corkit_inpaint.uncertainty.probe import check_sigma
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


def case(path, nb_paths, n=10):
    img, hdr = read(path)
    elig = np.argwhere(eligible_blocks(img, hdr))
    pick = elig[np.random.default_rng(0).choice(len(elig), n, replace=False)]
    mask = blocks_to_mask(img.shape, [tuple(b) for b in pick])
    test = img.copy()
    test[mask] = 0
    frame = Frame.build(test, mask, hdr)
    nbs = register_all([read(p) for p in nb_paths], hdr, img.shape) if nb_paths else []
    return frame, nbs, (test, hdr)


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
    print(f"{'case':30s} {'fill (s)':>9s} {'table (s)':>10s} {'check (s)':>10s} {'method ratio':>13s} "
          f"{'fill step (s)':>14s} {'step ratio':>11s}")
    cases = [(name, path, nbs, 10) for name, (path, nbs) in CASES.items()]
    cases += [(name.replace("1024", "1024, 1 block"), path, nbs, 1) for name, (path, nbs) in CASES.items() if not nbs]
    for name, path, nb_paths, n in cases:
        frame, nbs, (data, hdr) = case(path, nb_paths, n)
        res = PCONV_SMOOTH.fill(frame, neighbours=nbs, device="cpu")
        windows = frame_windows(frame, nbs)[:2]
        t_fill = median_time(lambda f=frame, n=nbs: PCONV_SMOOTH.fill(f, neighbours=n, device="cpu"), args.repeats)
        t_sig = median_time(lambda f=frame, n=nbs, r=res, w=windows: sigma_step(f, n, r, w, sha), args.repeats)
        t_chk = median_time(lambda f=frame, n=nbs, r=res: check_sigma(PCONV_SMOOTH, f, r.sigma, r.filled, neighbours=n,
                                                                      device="cpu"), args.repeats)
        t_step = median_time(lambda d=data, h=hdr, n=nbs: fill_level05(d, h, "pconv-smooth", device="cpu",
                                                                       neighbours=n), args.repeats)
        print(f"{name:30s} {t_fill:9.3f} {t_sig:10.3f} {t_chk:10.3f} {(t_fill + t_chk) / (t_fill - t_sig):13.3f} "
              f"{t_step:14.3f} {t_step / (t_step - t_sig - t_chk):11.3f}")


if __name__ == "__main__":
    main()
