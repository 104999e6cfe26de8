"""Where the simulator and real frames differ for the single-frame fill: structure by radius, and big holes.

Three measures, on real frames and on held-out simulated frames of the same
detector and resolution (seeds from 93,000,000, which no model or table was
fitted on; the targets of simulated sequences by default, the frames the
default model trained on, or ``make_frame``'s with ``--source frames``):

1. **Fine structure over noise, by radius.** In annuli of the field (C3: 6-8,
   8-12, 12-16 Rsun; C2: 2.5-3.2, 3.2-4.5, 4.5-6 Rsun), the robust std
   (interquartile range / 1.349) of the image minus its 12-px Gaussian local
   mean, over the annulus' Immerkaer noise: how much a fill could not guess
   from a smooth fit, in noise units.
2. **The radial profile's shape**: the logarithmic slope of the azimuthal
   median (outside the pylon) at a few radii.
3. **3x3 block clusters, by radius.** Clusters of 3x3 valid blocks centred at
   each radius and 12 angles (all of them transmitted) are blanked one at a
   time and filled by ``pconv-smooth`` (``--weights``, expected value, without
   its sigma's check) and ``biharmonic``; the pooled RMSE ratio per radius,
   the share of clusters where the network is the worse, and each method's
   median bias (mean signed error over the truth's mean).

Run of 2026-12-06 (C3 2010-01-05 against 3-4 simulated sequence targets per
version; docs/training.md and docs/known-limits.md). Structure:
real 2.14 / 1.95 / 1.12, sequence version 2 2.14 / 1.96 / 1.24: matched (the
2026-12-05 numbers, 3.9 against 1.7 at 8-12 Rsun, came from a local mean cut
at the annulus' edges; see `structure`). Profile: the real slope is -0.31 to
-0.14 at 6-8 Rsun and turns through -0.89 at 9 to -2.15 at 11 Rsun; version 2
was flat (+0.1) to 9.5 Rsun and bent at 10, version 3
(`corkit_inpaint.training.profile`) turns through -0.72 at 9. Clusters:
`pconv-lasco-nb2` (the default until 0.1.11) is the worse of the two in 50% and
42% of real clusters at 8 and 10 Rsun, and in 42-50% and 44-47% of simulated
ones of either version: a big hole's fill at those radii is a coin toss
between the two in simulation too, not a gap between simulation and reality.

Usage::

    python benchmarks/sim_real_gap.py FILES [--sim 12] [--source {frames,1,2,3}] [--weights W]
        [--no-clusters] [--threads 1]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from scipy import ndimage

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.fill import run_method
from corkit_inpaint.frame import Frame
from corkit_inpaint.header import detector, summing
from corkit_inpaint.read import read_level05
from corkit_inpaint.stretch import noise_sigma
from corkit_inpaint.threads import set_threads
from corkit_inpaint.training.profile import profile_slopes
from corkit_inpaint.training.sequence import SEQUENCE_VERSIONS, make_sequence
from corkit_inpaint.training.simulator import make_frame

ANNULI = {"C2": ((2.5, 3.2), (3.2, 4.5), (4.5, 6.0)), "C3": ((6.0, 8.0), (8.0, 12.0), (12.0, 16.0))}
RADII = {"C2": (3.0, 4.0, 5.0), "C3": (6.0, 8.0, 10.0)}
SLOPE_AT = {"C2": (2.6, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5), "C3": (5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 14.0, 18.0)}
SIM_SEED0 = 93_000_000


def structure(img: np.ndarray, hdr) -> list[float]:
    """Per annulus of `ANNULI`: the robust std of the image less its 12-px local mean, over the noise.

    The local mean is taken over the whole valid field (normalised convolution),
    not over the annulus alone: cut at the annulus' edges, it leans toward one
    side, and on C3's steep radial profile that lean (up to 8% of the signal)
    was counted as structure before 2026-12-06.
    """
    fr = Frame.build(np.asarray(img, dtype=np.float64), None, hdr)
    g = fr.geometry
    yy, xx = np.mgrid[:img.shape[0], :img.shape[1]]
    r = np.hypot(yy - g.cy, xx - g.cx) / g.rsun
    x = np.where(fr.valid, fr.image, 0.0)
    w = ndimage.gaussian_filter(fr.valid.astype(np.float64), 12)
    hp = x - ndimage.gaussian_filter(x, 12) / np.maximum(w, 1e-9)
    out = []
    for lo, hi in ANNULI[g.detector]:
        ann = fr.valid & (r >= lo) & (r < hi)
        q75, q25 = np.percentile(hp[ann & (w > 0.9)], [75, 25])
        out.append(float((q75 - q25) / 1.349 / max(noise_sigma(x, ann), 1e-9)))
    return out


def clusters(img: np.ndarray, hdr, weights=None) -> list[tuple[float, ...]]:
    """``(radius, network's squared error, biharmonic's, network's bias, biharmonic's)`` of each 3x3
    cluster of `RADII` x 12 angles; the biases are the mean signed error over the truth's mean."""
    img = np.asarray(img, dtype=np.float64)
    whole = Frame.build(img, None, hdr)
    g = whole.geometry
    out = []
    for rr in RADII[g.detector]:
        for ang in np.linspace(0, 2 * np.pi, 12, endpoint=False):
            by = int((g.cy + rr * g.rsun * np.sin(ang)) // 32)
            bx = int((g.cx + rr * g.rsun * np.cos(ang)) // 32)
            mask = blocks_to_mask(img.shape, [(by + dy, bx + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)])
            if by < 1 or bx < 1 or not whole.valid[mask].all():
                continue
            test = img.copy()
            test[mask] = 0
            frame, truth = Frame.build(test, mask, hdr), whole.image[mask]
            err = [run_method(m, frame, device="cpu", weights=weights if m != "biharmonic" else None,
                              check_sigma=False).values[mask] - truth for m in ("pconv-smooth", "biharmonic")]
            out.append((rr, *(float(np.mean(e ** 2)) for e in err), *(float(e.mean() / truth.mean()) for e in err)))
    return out


def report(label: str, struct: list, slope: list, clus: list, det: str) -> None:
    c = np.array(clus) if clus else np.zeros((0, 5))
    parts = []
    for rr in RADII[det]:
        sel = c[c[:, 0] == rr]
        parts.append(f"{rr:g} Rsun {np.sqrt(sel[:, 1].sum() / sel[:, 2].sum()):.2f}, worse in "
                     f"{np.mean(sel[:, 1] > sel[:, 2]):.0%} of {len(sel)}, median bias "
                     f"{np.median(sel[:, 3]):+.1%} / {np.median(sel[:, 4]):+.1%}" if len(sel) else f"{rr:g} Rsun -")
    print(f"{label}\n  structure/noise {' / '.join(f'{v:.2f}' for v in struct)}\n  log slope at "
          f"{', '.join(f'{a:g}' for a in SLOPE_AT[det])} Rsun: {' '.join(f'{v:+.2f}' for v in slope)}\n"
          f"  3x3 clusters, network over biharmonic (bias network / biharmonic): {'; '.join(parts)}", flush=True)


def simulated(source: str, seed: int, det: str, summed: bool):
    """One held-out simulated frame: ``make_frame``'s, or the target of a sequence of that version."""
    if source == "frames":
        return make_frame(seed, detector=det, summed=summed)
    return make_sequence(seed, (0.0,), detector=det, summed=summed, version=source).frames[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="real level-0.5 C2 or C3 frames")
    ap.add_argument("--sim", type=int, default=12, help="simulated frames per kind of real frame (default: 12)")
    ap.add_argument("--source", default=SEQUENCE_VERSIONS[-1], choices=("frames", *SEQUENCE_VERSIONS),
                    help="simulated frames: make_frame's, or the targets of sequences of this version "
                         f"(default: {SEQUENCE_VERSIONS[-1]})")
    ap.add_argument("--weights", default=None, help="weights of pconv-smooth (default: the registry's default)")
    ap.add_argument("--no-clusters", action="store_true", help="structure and profile only (no fills)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = ap.parse_args()
    set_threads(args.threads)
    warnings.simplefilter("ignore")

    def measure(img, hdr):
        slope = list(profile_slopes(img, hdr, SLOPE_AT[detector(hdr)]))
        return structure(img, hdr), slope, [] if args.no_clusters else clusters(img, hdr, args.weights)

    kinds = {}
    for f in args.files:
        r = read_level05(f)
        det, summed = detector(r.header), max(summing(r.header)) > 1
        kinds[(det, summed)] = True
        report(f"real {f.split('/')[-1]} ({det}{', summed' if summed else ''})", *measure(r.data, r.header), det)
    for det, summed in kinds:
        got = [measure(*simulated(args.source, SIM_SEED0 + i, det, summed)) for i in range(args.sim)]
        report(f"{args.sim} simulated ({args.source}, {det}{', summed' if summed else ''}), median",
               list(np.median([g[0] for g in got], axis=0)), list(np.median([g[1] for g in got], axis=0)),
               [c for g in got for c in g[2]], det)


if __name__ == "__main__":
    main()
