"""A moving CME-like front added to the real C3 sequence: is the fill from the neighbouring frames worse near it?

The three real C3 frames of 2012-08-31 18:30, 18:42 and 18:54 (tests/data/c3_seq)
are quiet. To each this adds the same front, a bright arc (Gaussian leading
edge of ``W`` px, a body behind it at 35% of its peak, 50 degrees wide, due
right of the Sun centre) at radius ``R0 - v``, ``R0`` and ``R0 + v`` px, in
DN/s times each frame's EXPTIME, with shot-like noise. Blocks of the middle
frame are blanked in three sets, each on its own: on its own front ("on"), on
the previous frame's front ("behind") and on the next frame's ("ahead"). Each
set is filled the file's way (`corkit_inpaint.fill.fill_level05`, with the
check of the sigma) by ``pconv-smooth`` alone, ``pconv-smooth`` and ``ratio``
with the two neighbours, and ``biharmonic``; the hole RMSE, mean error (a ghost
of a neighbour's front is a positive one ahead) and the share of true pixels
within 1 sigma are printed.

Usage::

    python benchmarks/front_on_real.py [--json OUT] [--weights FILE]
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

import numpy as np

from corkit_inpaint.fill import fill_level05
from corkit_inpaint.read import read_level05
from corkit_inpaint.threads import set_threads

SEQ = Path(__file__).parent.parent / "tests" / "data" / "c3_seq"
FILES = [SEQ / f"3231094{k}.fts" for k in (3, 4, 5)]
#: (speed px per 12 min, peak DN/s, radius of the middle frame's front px, leading-edge width px)
CASES = [(12, 30, 300, 8), (25, 10, 300, 8), (25, 30, 300, 8), (50, 30, 300, 8), (100, 30, 300, 8),
         (25, 15, 300, 16), (25, 60, 160, 12), (40, 30, 450, 16)]
CONFIGS = [("pconv-smooth", False), ("pconv-smooth", True), ("ratio", True), ("biharmonic", False)]


def front(shape, centre, radius: float, peak: float, width: float) -> np.ndarray:
    """The front's DN/s: a Gaussian leading edge at ``radius`` and a body behind it, within 25-35 deg of due right."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    r = np.hypot(xx - centre[1], yy - centre[0])
    angle = np.degrees(np.abs(np.arctan2(yy - centre[0], xx - centre[1])))
    taper = np.clip((35.0 - angle) / 10.0, 0.0, 1.0)
    body = 0.35 * peak * np.clip((r - (radius - 120.0)) / 120.0, 0.0, 1.0) * (r < radius)
    return (peak * np.exp(-0.5 * ((r - radius) / width) ** 2) + body) * taper


def blocks_on(shape, centre, radius: float) -> list[tuple[int, int]]:
    """Every other block whose centre lies within 16 px of ``radius`` and 22 deg of due right."""
    out = []
    for by in range(shape[0] // 32):
        for bx in range(shape[1] // 32):
            dy, dx = by * 32 + 15.5 - centre[0], bx * 32 + 15.5 - centre[1]
            if abs(np.hypot(dy, dx) - radius) < 16 and abs(np.degrees(np.arctan2(dy, dx))) < 22:
                out.append((by, bx))
    return out[::2]


def run_case(frames, v: float, peak: float, r0: float, width: float, seed: int = 1, weights=None) -> dict:
    """One front: the three block sets of the middle frame, each filled by every configuration."""
    rng = np.random.default_rng(seed)
    (_, h0), (data, hdr), _ = frames
    centre = (hdr["CRPIX2"] - 1, hdr["CRPIX1"] - 1)
    moved = []
    for (d, h), radius in zip(frames, (r0 - v, r0, r0 + v)):
        add = front(d.shape, centre, radius, peak, width) * h["EXPTIME"]
        add = add + rng.normal(0.0, 1.0, add.shape) * np.sqrt(2.0 * np.maximum(add, 0.0))
        moved.append((np.clip(np.round(d + add), 0, 16383).astype(d.dtype), h))
    truth = moved[1][0].astype(np.float64)
    out = {}
    for name, radius in (("on", r0), ("behind", r0 - v), ("ahead", r0 + v)):
        blocks = blocks_on(truth.shape, centre, radius)
        holes, lost = moved[1][0].copy(), np.zeros(truth.shape, dtype=bool)
        for by, bx in blocks:
            holes[by * 32:(by + 1) * 32, bx * 32:(bx + 1) * 32] = 0
            lost[by * 32:(by + 1) * 32, bx * 32:(bx + 1) * 32] = True
        rows = {}
        for method, with_nb in CONFIGS:
            nbs = [moved[0], moved[2]] if with_nb else []
            f = fill_level05(holes, hdr.copy(), method, device="cpu", neighbours=nbs,
                             weights=weights if method.startswith("pconv") else None)
            err = f.data.astype(np.float64)[lost] - truth[lost]
            rows[f"{method}{' +2 nb' if with_nb else ''}"] = {
                "rmse": float(np.sqrt(np.mean(err ** 2))), "mean_error": float(err.mean()),
                "within_1_sigma": float(np.mean(np.abs(err) < f.sigma[lost])) if f.sigma is not None else None,
                "sigma_factor": float(f.provenance.sigma_factor)}
        out[name] = {"blocks": blocks, "rows": rows}
    return out


def _share(row: dict) -> float:
    """A row's share of true pixels within 1 sigma (NaN for a fill with no sigma: weights with no error table)."""
    return np.nan if row["within_1_sigma"] is None else row["within_1_sigma"]


def main(argv=None) -> None:
    """Run every case of `CASES` and print (and with ``--json``, write) the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--weights", help="the network's weights (a file or registry name; default: the default model)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    set_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = [(r.data, r.header) for r in map(read_level05, FILES)]
    result = {}
    for v, peak, r0, width in CASES:
        key = f"v={v} peak={peak} R0={r0} W={width}"
        result[key] = run_case(frames, v, peak, r0, width, weights=args.weights)
        for name, case in result[key].items():
            print(f"{key} {name:6s} " + "  ".join(
                f"{m}: {row['rmse']:.1f} ({row['mean_error']:+.1f}, {_share(row):.2f})"
                for m, row in case["rows"].items()), flush=True)
    rows = [case["rows"] for r in result.values() for case in r.values()]
    alone = np.array([x["pconv-smooth"]["rmse"] for x in rows])
    for m in rows[0]:
        ratio = np.array([x[m]["rmse"] for x in rows]) / alone
        print(f"{m:20s} RMSE / pconv-smooth alone: geometric mean {np.exp(np.log(ratio).mean()):.3f}, worse in "
              f"{int((ratio > 1).sum())} of {len(rows)}, at most {ratio.max():.2f}; within 1 sigma, median "
              f"{np.median([_share(x[m]) for x in rows]):.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
