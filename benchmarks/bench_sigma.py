"""What the fill's sigma costs: time of the sigma steps against the whole fill, on the CPU, on real frames.

For the real 1024x1024 C2 and C3 frames (tests/data) with 10 blanked blocks
(and with 1), and the middle frame of the real C3 sequence with its two
neighbours, times ``pconv-smooth``'s fill (`PConvFill.fill`, model load
excluded), and on the same frame the two sigma steps alone: the sigma's own
(for a network with a spread head, `corkit_inpaint.network.spread`: the
head's share of the network's run, timed as the run with it less the run
without it, and the unstretching; for one without, the error table's: the
pixels' features and the table lookup, `corkit_inpaint.uncertainty`) and its
check on the frame's own blocks (`corkit_inpaint.uncertainty.probe`).
Prints medians and two ratios of the fill time with the sigma over the fill
time without it: for the method (``(fill + check) / (fill - sigma)``), and
for the whole fill step a file goes through (`corkit_inpaint.fill.fill_level05`:
finding the blocks, the frame, the fill, the check; without the file's
reading and writing), and for the whole file as ``corkit-inpaint fill`` runs it
(`corkit_inpaint.inpaint_fits`: reading, the fill step, writing the output with
its INPMASK and INPSIGMA). For the whole file the sigma's cost also counts
writing the INPSIGMA extension (4 MB of float32 for a 1024x1024 frame): the
``write`` column is the median, over interleaved pairs, of the time building
the output's HDUs (`corkit_inpaint.write.output_hdulist`) and writing them
(`corkit_inpaint.outputs.write_atomic`, its fsync included) takes with INPSIGMA
less the time without it, in the same folder. (Until 0.1.17 the file ratio left it out.) The
``direct ratio`` needs no such sum: it is the whole file's time with the sigma over its time with
`NO_SIGMA`, ``pconv-smooth``'s fill with no table step (so no check and no INPSIGMA), the two timed
in alternation (since 0.1.19). The issue's goal is at most 1.20. Each timed fill, step and
file starts without the biharmonic systems earlier ones kept
(`corkit_inpaint.biharmonic_cache`), as a frame's first fill; the check is
timed after its frame's fill, as it runs. ``--weights`` names the network
(default: the default model); give several to compare them in one run.

The fixed cases are 10 scattered single blocks and one block. ``--mix N``
adds, per frame, ``N`` masks drawn as telemetry losses come
(`corkit_inpaint.training.loss_masks.loss_mask`: scattered blocks, runs,
clusters and long raster runs, with their probabilities), and gives the
whole-file ratios of their summed times: the cost over a day of damaged frames.

Usage::

    python benchmarks/bench_sigma.py [--repeats 7] [--threads 1] [--weights NAME ...] [--mix 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from astropy.io import fits

from corkit_inpaint import inpaint_fits, load_model
from corkit_inpaint.biharmonic_cache import clear_cache
from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.fill import fill_level05
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods.pconv import PCONV_SMOOTH, SMOOTH_TABLE, PConvFill
from corkit_inpaint.network.device import gives_spread, run_windows
from corkit_inpaint.network.windows import frame_windows
from corkit_inpaint.outputs import write_atomic
from corkit_inpaint.register import register_all
from corkit_inpaint.training.loss_masks import eligible_blocks, loss_mask
from corkit_inpaint.uncertainty.features import neighbour_cover, pixel_features
from corkit_inpaint.uncertainty.probe import sigma_check
from corkit_inpaint.uncertainty.tables import table_for, to_linear
from corkit_inpaint.write import output_hdulist

DATA = Path(__file__).parent.parent / "tests" / "data"
CASES = {"C2 1024": (DATA / "c2_22104858.fts", None), "C3 1024": (DATA / "c3_32219521.fts", None),
         "C3 1024, 2 neighbours": (DATA / "c3_seq" / "32310944.fts",
                                   [DATA / "c3_seq" / "32310943.fts", DATA / "c3_seq" / "32310945.fts"])}


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as h:
            return np.array(h[0].data), h[0].header.copy()


def case(path, nb_paths, n=10, blocks=None):
    """The frame with ``n`` scattered blocks blanked (or ``blocks``), its neighbours, and the blanked array."""
    img, hdr = read(path)
    if blocks is None:
        elig = np.argwhere(eligible_blocks(img, hdr))
        blocks = [tuple(b) for b in elig[np.random.default_rng(0).choice(len(elig), n, replace=False)]]
    mask = blocks_to_mask(img.shape, blocks)
    test = img.copy()
    test[mask] = 0
    frame = Frame.build(test, mask, hdr)
    nbs = register_all([read(p) for p in nb_paths], hdr, img.shape) if nb_paths else []
    return frame, nbs, (test, hdr)


def sigma_step(frame, nbs, res, windows, sha):
    """What `PConvFill` adds for a table's sigma: the neighbour cover, the features, the lookup, the unstretching."""
    cover = neighbour_cover(frame, nbs) if nbs else None
    feats = pixel_features(frame, res.filled, cover, windows)
    return to_linear(frame, res.values, res.filled, table_for(SMOOTH_TABLE, sha).stretched(feats))


def sigma_time(frame, nbs, res, weights, repeats):
    """Seconds of the sigma's own step: the spread head's share of the network's run, or the table's step."""
    windows = frame_windows(frame, nbs)[:2]
    model = load_model(weights)
    if not gives_spread(model):
        return median_time(lambda: sigma_step(frame, nbs, res, windows, model.sha256), repeats)
    run = lambda spread: median_time(lambda: run_windows(weights, windows[0], "cpu", spread=spread), repeats)
    s = np.ones(int(res.filled.sum()))
    lin = median_time(lambda: to_linear(frame, res.values, res.filled, s), repeats)
    return max(run(True) - run(False), 0.0) + lin


@dataclass(frozen=True)
class NoSigma(PConvFill):
    """``pconv-smooth``'s fill with no 1-sigma: no error table step, so no check and no INPSIGMA (the baseline)."""

    def _sigma(self, frame, values, filled, white, neighbours, sha256, windows, limit=None):
        return values, None, None


NO_SIGMA = NoSigma("pconv-smooth", texture=False)


def file_times(data, hdr, nb_paths, weights, repeats):
    """Median seconds of `inpaint_fits` on the frame written to a file (reading, the fill step, writing), with
    ``pconv-smooth`` and with `NO_SIGMA`, timed in alternation in the same folder."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "frame.fts"
        with warnings.catch_warnings():          # the archive header's tabs: written as they are
            warnings.simplefilter("ignore")
            fits.PrimaryHDU(data, hdr).writeto(src, output_verify="ignore")
        ts = {PCONV_SMOOTH: [], NO_SIGMA: []}
        for _ in range(repeats):
            for method, times in ts.items():
                clear_cache()
                t0 = time.perf_counter()
                inpaint_fits(src, Path(tmp) / "filled.fts", neighbours=nb_paths, method=method, device="cpu",
                             weights=weights, overwrite=True)
                times.append(time.perf_counter() - t0)
        return float(np.median(ts[PCONV_SMOOTH])), float(np.median(ts[NO_SIGMA]))


def write_time(data, hdr, nb_paths, weights, repeats):
    """Seconds that writing the INPSIGMA extension adds to writing the output (interleaved pairs, median)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filled = fill_level05(data, hdr, "pconv-smooth", device="cpu", weights=weights,
                              neighbours=register_all([read(p) for p in nb_paths], hdr, data.shape) if nb_paths
                              else [])
    without = replace(filled, sigma=None)
    assert len(output_hdulist(filled, hdr)) == len(output_hdulist(without, hdr)) + 1
    diffs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(max(repeats, 5)):
            ts = []
            for f in (filled, without):             # the HDUs built (INPSIGMA's float32 copy) and written
                t0 = time.perf_counter()
                write_atomic(output_hdulist(f, hdr), Path(tmp) / "out.fts", overwrite=True)
                ts.append(time.perf_counter() - t0)
            diffs.append(ts[0] - ts[1])
    return max(float(np.median(diffs)), 0.0)


def mixed(path, nb_paths, weights, n, repeats):
    """Summed whole-file seconds, those of the sigma steps, and the whole-file seconds without a sigma
    (`NO_SIGMA`), over ``n`` masks drawn as losses come."""
    img, hdr = read(path)
    elig, rng = eligible_blocks(img, hdr), np.random.default_rng(1)
    total = steps = without = 0.0
    for _ in range(n):
        frame, nbs, (data, hdr) = case(path, nb_paths, blocks=loss_mask(rng, elig)[1])
        res = PCONV_SMOOTH.fill(frame, neighbours=nbs, device="cpu", weights=weights)
        t_with, t_without = file_times(data, hdr, nb_paths, weights, repeats)
        total += t_with
        without += t_without
        steps += write_time(data, hdr, nb_paths, weights, repeats)
        steps += sigma_time(frame, nbs, res, weights, repeats) + median_time(lambda f=frame, n=nbs: sigma_check(
            PCONV_SMOOTH, f, neighbours=n, device="cpu", weights=weights), repeats,
            setup=lambda f=frame, n=nbs: (clear_cache(), PCONV_SMOOTH.fill(f, neighbours=n, device="cpu",
                                                                           weights=weights)))
    return total, steps, without


def median_time(fn, repeats, setup=clear_cache):
    """Median seconds of ``fn``; ``setup`` (untimed) runs before each call: by default each starts without
    the biharmonic systems earlier calls kept (`corkit_inpaint.biharmonic_cache`), as a frame's first fill."""
    ts = []
    for _ in range(repeats):
        setup()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    ap.add_argument("--weights", nargs="+", default=[None], help="networks to time (default: the default model)")
    ap.add_argument("--mix", type=int, default=0, metavar="N",
                    help="also N masks per frame drawn as telemetry losses come (default: 0)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'case':30s} {'weights':22s} {'fill (s)':>9s} {'sigma (s)':>10s} {'check (s)':>10s} "
          f"{'method ratio':>13s} {'fill step (s)':>14s} {'step ratio':>11s} {'file (s)':>9s} {'write (s)':>10s} "
          f"{'file ratio':>11s} {'direct ratio':>13s}")
    cases = [(name, path, nbs, 10) for name, (path, nbs) in CASES.items()]
    cases += [(name.replace("1024", "1024, 1 block"), path, nbs, 1) for name, (path, nbs) in CASES.items() if not nbs]
    for name, path, nb_paths, n in cases:
        frame, nbs, (data, hdr) = case(path, nb_paths, n)
        for weights in args.weights:
            wname = load_model(weights).model_id
            fill = lambda f=frame, n=nbs, w=weights: PCONV_SMOOTH.fill(f, neighbours=n, device="cpu", weights=w)
            res = fill()
            t_fill = median_time(fill, args.repeats)
            t_sig = sigma_time(frame, nbs, res, weights, args.repeats)
            t_chk = median_time(lambda f=frame, n=nbs, w=weights: sigma_check(
                PCONV_SMOOTH, f, neighbours=n, device="cpu", weights=w), args.repeats,
                setup=lambda fl=fill: (clear_cache(), fl()))          # after its frame's fill, as in a run
            t_step = median_time(lambda d=data, h=hdr, n=nbs, w=weights: fill_level05(
                d, h, "pconv-smooth", device="cpu", neighbours=n, weights=w), args.repeats)
            t_file, t_bare = file_times(data, hdr, nb_paths, weights, args.repeats)
            t_write = write_time(data, hdr, nb_paths, weights, args.repeats)
            method, step = (t_fill + t_chk) / (t_fill - t_sig), t_step / (t_step - t_sig - t_chk)
            print(f"{name:30s} {wname:22s} {t_fill:9.3f} {t_sig:10.3f} {t_chk:10.3f} {method:13.3f} "
                  f"{t_step:14.3f} {step:11.3f} {t_file:9.3f} {t_write:10.4f} "
                  f"{t_file / (t_file - t_sig - t_chk - t_write):11.3f} {t_file / t_bare:13.3f}", flush=True)
    for name, (path, nb_paths) in CASES.items() if args.mix else ():
        for weights in args.weights:
            total, steps, bare = mixed(path, nb_paths, weights, args.mix, args.repeats)
            print(f"{name + f', {args.mix} loss masks':30s} {load_model(weights).model_id:22s} {'':9s} {'':10s} "
                  f"{'':10s} {'':13s} {'':14s} {'':11s} {total:9.3f} {'':10s} {total / (total - steps):11.3f} "
                  f"{total / bare:13.3f}",
                  flush=True)


if __name__ == "__main__":
    main()
