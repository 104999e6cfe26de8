"""Batch throughput: frames per second with 1 and 2 dask workers in the same run, and on a GPU if there is one.

Makes N simulated 1024x1024 frames with 10 missing blocks each, then, for each
repeat, fills them with `corkit_inpaint.batch.run_batch` on a fresh local
cluster of 1 and of 2 worker processes (one torch thread each). Cluster start
and model load are excluded: each cluster first fills a few warm-up frames.
Prints frames/s per run, the medians, the 2/1 scaling ratio, and the projected
hours for 626,000 frames on one core. With ``--gpu`` and a CUDA device, also
fills the frames on the GPU (one worker, ``--gpu-threads`` frames in flight,
windows of all of them batched through the network) and prints GPU against
one CPU worker, measured in this run; without CUDA it says it did not run.

Usage::

    python benchmarks/bench_batch.py [--frames 24] [--repeats 5] [--method pconv] [--gpu]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
from pathlib import Path

import numpy as np
from astropy.io import fits

from corkit_inpaint.batch import local_client, run_batch
from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.training.loss_masks import eligible_blocks
from corkit_inpaint.training.simulator import make_frame

ARCHIVE = 626_000          # C2 frames one published restoration processed


def make_frames(folder: Path, n: int, blocks: int = 10) -> list[Path]:
    """``n`` simulated full-resolution frames, ``blocks`` eligible blocks zeroed in each."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(n):
        img, hdr = make_frame(9000 + k, detector="C2" if k % 2 else "C3", summed=False)
        elig = np.argwhere(eligible_blocks(img, hdr))
        pick = elig[np.random.default_rng(k).choice(len(elig), blocks, replace=False)]
        img = np.where(blocks_to_mask(img.shape, [tuple(p) for p in pick]), 0, img).astype(img.dtype)
        p = folder / f"sim_{k:04d}.fts"
        fits.PrimaryHDU(img, hdr).writeto(p, output_verify="ignore")
        out.append(p)
    return out


def one_run(client, files, warm, work: Path, method: str, device: str = "cpu") -> float:
    """Frames per second of one batch over ``files`` (after a warm-up batch over ``warm``)."""
    shutil.rmtree(work, ignore_errors=True)
    run_batch(client, warm, work / "warm", method=method, device=device, neighbours="none")
    s = run_batch(client, files, work / "out", method=method, device=device, neighbours="none")
    if s.failed or s.done != len(files):
        raise SystemExit(f"benchmark batch failed: {s.line()} {s.failures[:2]}")
    return s.frames_per_second


def gpu_part(args, files, warm, tmp: Path, cpu_fps: float) -> None:
    import torch
    if not torch.cuda.is_available():
        print("GPU: no CUDA device here -- the GPU part was NOT run")
        return
    with local_client(1, gpu_frames=args.gpu_threads, precision=args.precision) as c:
        fps = [one_run(c, files, warm, tmp / "gpu", args.method, device="cuda") for _ in range(args.repeats)]
    med = statistics.median(fps)
    print(f"GPU ({torch.cuda.get_device_name()}, {args.precision}, {args.gpu_threads} frames in flight): "
          + " ".join(f"{f:.2f}" for f in fps) + f" frames/s, median {med:.2f}")
    print(f"GPU / 1 CPU worker: {med / cpu_fps:.1f}x   (goal: >= 100 frames/s with 10 blocks each)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--method", default="pconv")
    ap.add_argument("--gpu", action="store_true", help="also the GPU path (needs CUDA)")
    ap.add_argument("--gpu-threads", type=int, default=16, help="frames in flight on the GPU worker")
    ap.add_argument("--precision", default="float32", choices=("float32", "float16", "bfloat16"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        files = make_frames(tmp / "in", args.frames)
        warm = make_frames(tmp / "warm", 4)
        fps = {1: [], 2: []}
        for r in range(args.repeats):
            for w in (1, 2):
                with local_client(w) as c:
                    fps[w].append(one_run(c, files, warm, tmp / f"w{w}", args.method))
                print(f"repeat {r + 1}: {w} worker(s) {fps[w][-1]:.2f} frames/s", flush=True)
        med = {w: statistics.median(v) for w, v in fps.items()}
        for w in (1, 2):
            print(f"{w} worker(s): " + " ".join(f"{f:.2f}" for f in fps[w]) + f" frames/s, median {med[w]:.2f}")
        print(f"2 / 1 workers: {med[2] / med[1]:.2f}x  (goal >= 1.6x on 2 cores); per-repeat ratios "
              + " ".join(f"{b / a:.2f}" for a, b in zip(fps[1], fps[2])))
        print(f"{ARCHIVE:,} frames ({args.method}, 1024x1024, 10 blocks): {ARCHIVE / med[1] / 3600:.1f} h on one "
              f"core, {ARCHIVE / med[2] / 3600:.1f} h on two")
        if args.gpu:
            gpu_part(args, files, warm, tmp, med[1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
