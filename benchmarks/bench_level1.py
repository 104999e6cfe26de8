"""Seconds per file: corkit-inpaint's level_1 (fill + corkit) against corkit's own level_1.

Runs on synthetic C2 (512x512) and C3 (1024x1024) level-0.5 files with blocks
missing and stand-in calibration files (no network here), both ways, in one run:
ours returning the arrays (with INPMASK), and written to a file as
``corkit-inpaint level_1`` writes it (with INPMASK and INPSIGMA).

Usage::

    python benchmarks/bench_level1.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile
import time
from pathlib import Path

import corkit.lasco
from astropy.io import fits

from corkit_inpaint import load_model
from corkit_inpaint.corkit_bridge import c3_args, corkit_calibration_dir
from corkit_inpaint.level1 import level_1
from corkit_inpaint.testing import write_standin_calibration
from corkit_inpaint.training.simulator import make_frame


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(Path(folder), args.repeats)


def run(tmp: Path, repeats: int) -> None:
    """Time both ways on each file in ``tmp``, and print the seconds and ratios."""
    calib = write_standin_calibration(tmp / "calib", roll=5.0)
    load_model(device="cpu")
    for det, summed, seed in (("C2", True, 5150), ("C3", False, 5151)):
        img, hdr = make_frame(seed, detector=det, summed=summed)
        nb = img.shape[0] // 32
        for by, bx in ((nb // 2 + 4, nb // 2 + 4), (nb // 2 - 5, nb // 2 + 1), (nb // 2 - 5, nb // 2 + 2)):
            img[by * 32:(by + 1) * 32, bx * 32:(bx + 1) * 32] = 0
        path = tmp / f"{det}.fts"
        fits.writeto(path, img, hdr)

        def ours(path=path):
            level_1(path, calib_dir=calib, device="cpu")

        def ours_file(path=path):           # as `corkit-inpaint level_1` runs it: written, INPSIGMA included
            level_1(path, tmp / "out", calib_dir=calib, device="cpu", overwrite=True)

        def theirs(path=path, det=det):
            with corkit_calibration_dir(calib), contextlib.redirect_stdout(io.StringIO()):
                copy = tmp / f"copy_{det}.fts"          # corkit may delete what it reads
                copy.write_bytes(path.read_bytes())
                corkit.lasco.level_1(str(copy), None, "fits", *(c3_args() if det == "C3" else ()))
        t = {}
        for name, fn in (("corkit-inpaint level_1", ours), ("the same, to a file", ours_file),
                         ("corkit level_1", theirs)):
            fn()
            ts = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            t[name] = statistics.median(ts)
            print(f"{det} {img.shape[0]}x{img.shape[1]}  {name:24s} {t[name]:.2f} s/file (median of {repeats})")
        print(f"{det}  ratio {t['corkit-inpaint level_1'] / t['corkit level_1']:.2f}x, to a file (INPMASK, INPSIGMA) "
              f"{t['the same, to a file'] / t['corkit level_1']:.2f}x")


if __name__ == "__main__":
    main()
