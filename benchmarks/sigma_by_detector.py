"""Is the shipped error table's neighbour slice calibrated for C3? A diagnostic of the outer-field sigma.

The shipped tables (`corkit_inpaint.uncertainty.fit`) pool full and summed
frames per radial zone of each detector (before 0.1.13 they also pooled C2
and C3). This script fills blanked blocks of the
real C3 sequence's middle frames and of held-out simulated C3 sequences with
``pconv-smooth`` and both neighbours, and prints, per zone, the robust std of
z = error / sigma (interquartile range / 1.349; 1 when calibrated) and the
share inside 1 sigma, with the shipped table and with a table of the same
design fitted on other simulated C3 sequences only. All in the stretched space
the tables work in, neighbour-covered hole pixels only.

Usage::

    python benchmarks/sigma_by_detector.py [--fit 8] [--test 8] [--seq DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from corkit_inpaint.fill import run_method
from corkit_inpaint.frame import Frame
from corkit_inpaint.geometry import ZONE_NAMES
from corkit_inpaint.pairing import pair_neighbours
from corkit_inpaint.read import read_level05
from corkit_inpaint.register import register_all
from corkit_inpaint.threads import set_threads
from corkit_inpaint.training.loss_masks import blanked_copies
from corkit_inpaint.training.sequence import make_sequence
from corkit_inpaint.uncertainty.features import TABLE_SHAPE, neighbour_cover, pixel_features
from corkit_inpaint.uncertainty.fit import Accumulator
from corkit_inpaint.uncertainty.tables import table_for

SEQ = Path(__file__).parent.parent.parent / "shared" / "data" / "real" / "c3_seq_20120831"
FIT_SEED0, TEST_SEED0 = 93_000_000, 94_000_000     # outside training, the shipped fit and evaluate


def errors(img, hdr, neighbours, rng, acc=None):
    """``(cells, error / unit, error / shipped sigma)`` of the neighbour-covered hole pixels of one frame."""
    out = []
    for *_, mask, test in blanked_copies(img, hdr, rng, 1):
        frame = Frame.build(test, mask, hdr)
        nbs = register_all(neighbours, hdr, img.shape)
        res = run_method("pconv-smooth", frame, neighbours=nbs, device="cpu")
        feats = pixel_features(frame, res.filled, neighbour_cover(frame, nbs), values=res.values)
        err = frame.stretch.forward(res.values[res.filled]) - frame.stretch.forward(np.asarray(img, float))[res.filled]
        if acc is not None:
            acc.add(feats, err)
        shipped = table_for("pconv-smooth", res.provenance.sha256).stretched(feats)
        out.append((feats.cells(), err / feats.unit, err / shipped, feats.neighbour))
    return [np.concatenate(a) for a in zip(*out)]


def simulated(seed0, n, rng, acc=None):
    parts = []
    for i in range(n):
        b, (img, hdr), a = make_sequence(seed0 + i, (-12.0, 0.0, 12.0), detector="C3", summed=False).frames
        parts.append(errors(img, hdr, [b, a], rng, acc))
    return [np.concatenate(a) for a in zip(*parts)]


def real(seq_dir, rng):
    parts = []
    for p, nb in pair_neighbours(sorted(Path(seq_dir).glob("*.fts"))).items():
        if len(nb) == 2:
            r = read_level05(p)
            parts.append(errors(r.data, r.header, [read_level05(q, refill=True) for q in nb], rng))
    return [np.concatenate(a) for a in zip(*parts)]


def report(name, data, k_c3):
    cells, r, z_shipped, nb = data
    zone = np.unravel_index(cells, TABLE_SHAPE)[1] - len(ZONE_NAMES)      # C3's zone cells are 3-5
    for label, z in (("shipped table", z_shipped), ("C3-only table", r / k_c3.ravel()[cells])):
        row = []
        for i, zn in enumerate(ZONE_NAMES):
            u = nb & (zone == i)
            q1, q3 = np.quantile(z[u], [0.25, 0.75])
            row.append(f"{zn} {(q3 - q1) / 1.349:.2f} ({100 * np.mean(np.abs(z[u]) < 1):.1f}%)")
        print(f"{name:28s} {label:24s} " + " / ".join(row))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fit", type=int, default=8, help="simulated C3 sequences the C3-only table is fitted on")
    p.add_argument("--test", type=int, default=8, help="other simulated C3 sequences it is tested on")
    p.add_argument("--seq", default=str(SEQ), help="the real C3 sequence's folder")
    args = p.parse_args(argv)
    set_threads(1)
    rng = np.random.default_rng(5)
    acc = Accumulator()
    simulated(FIT_SEED0, args.fit, rng, acc)
    k_c3 = acc.table()
    print("z robust std per zone (share within 1 sigma), pconv-smooth with two neighbours")
    report(f"{args.test} simulated C3 sequences", simulated(TEST_SEED0, args.test, rng), k_c3)
    report("real C3 sequence", real(args.seq, rng), k_c3)


if __name__ == "__main__":
    main()
