"""How well the default fill's 1-sigma covers the truth in large losses of real frames (rows of blocks, big clusters).

For each case, blanks the blocks in a real frame (tests/data), fills the file's
way (`corkit_inpaint.fill.fill_level05`, with the check of the sigma) and
prints the share of true pixels within 1 and 1.96 sigma, overall and for the
pixels deeper than 32 px in the loss. ``--tables FILE`` uses another error
tables file (e.g. an older release's) in place of the shipped one, to compare
them on the same fills.

Usage::

    python benchmarks/sigma_large_losses.py [--tables FILE] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage

from corkit_inpaint.blocks import blocks_to_mask, zero_blocks
from corkit_inpaint.fill import fill_level05
from corkit_inpaint.read import read_level05
from corkit_inpaint.threads import set_threads
from corkit_inpaint.uncertainty import tables

DATA = Path(__file__).parent.parent / "tests" / "data"


def read(path):
    """A real frame's data and header (`corkit_inpaint.read.read_level05`; the archive header's tab is kept)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = read_level05(path)
    return r.data, r.header


def blank(image, blocks):
    return np.where(blocks_to_mask(image.shape, blocks), 0, image).astype(image.dtype)


def cases():
    c2, c3, cs = (read(DATA / n) for n in ("c2_22104858.fts", "c3_32219521.fts", "lasco_clear.fts"))
    zs = zero_blocks(cs[0])
    return [
        ("full C2", c2, "6x6 cluster", [(i, j) for i in range(18, 24) for j in range(4, 10)]),
        ("full C2", c2, "one full row", [(22, j) for j in range(32)]),
        ("full C2", c2, "three full rows", [(r, j) for r in (7, 8, 9) for j in range(32)]),
        ("full C2", c2, "block rows 20-31", [(i, j) for i in range(20, 32) for j in range(32)]),
        ("C3", c3, "6x6 cluster", [(i, j) for i in range(8, 14) for j in range(20, 26)]),
        ("C3", c3, "three full rows", [(r, j) for r in (20, 21, 22) for j in range(32)]),
        ("summed C2", cs, "nearly every block", [(i, j) for i in range(16) for j in range(16)
                                                 if not zs[i, j] and (i, j) not in {(1, 8), (14, 8)}]),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", help="an error tables file to use instead of the shipped one")
    ap.add_argument("--json", help="write the rows as JSON")
    args = ap.parse_args()
    set_threads(1)
    logging.disable(logging.WARNING)                # the cases' own warnings (the check cannot run, ...)
    if args.tables:
        shipped = tables.load_tables
        tables.load_tables = lambda path=None: shipped(args.tables if path is None else path)
    rows = []
    print(f"{'frame':10s} {'loss':20s} {'pixels':>7s} {'factor':>7s} {'in 1 sigma':>11s} {'in 1.96':>8s} "
          f"{'deeper than 32 px: in 1 sigma':>30s}")
    for frame, (truth, hdr), name, blocks in cases():
        res = fill_level05(blank(truth, blocks), hdr, "pconv-smooth", device="cpu")
        m = res.filled
        z = np.abs(res.data.astype(float) - truth.astype(float))[m] / res.sigma[m]
        deep = ndimage.distance_transform_edt(m)[m] > 32
        row = {"frame": frame, "loss": name, "pixels": int(m.sum()), "factor": res.provenance.sigma_factor,
               "in1": float(np.mean(z < 1)), "in196": float(np.mean(z < 1.96)), "deep_pixels": int(deep.sum()),
               "deep_in1": float(np.mean(z[deep] < 1)) if deep.any() else None}
        rows.append(row)
        deep_text = f"{row['deep_in1']:.1%} of {row['deep_pixels']}" if deep.any() else "none"
        print(f"{frame:10s} {name:20s} {row['pixels']:7d} {row['factor']:7.3f} {row['in1']:11.1%} "
              f"{row['in196']:8.1%} {deep_text:>30s}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
