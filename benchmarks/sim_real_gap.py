"""Where the simulator and real frames differ for the single-frame fill: structure by radius, and big holes.

Two measures, on real frames and on held-out simulated frames of the same
detector and resolution (seeds from 93,000,000, which no model or table was
fitted on):

1. **Fine structure over noise, by radius.** In annuli of the field (C3: 6-8,
   8-12, 12-16 Rsun; C2: 2.5-3.2, 3.2-4.5, 4.5-6 Rsun), the robust std
   (interquartile range / 1.349) of the image minus its 12-px Gaussian local
   mean, over the annulus' Immerkaer noise: how much a fill could not guess
   from a smooth fit, in noise units.
2. **3x3 block clusters, by radius.** Clusters of 3x3 valid blocks centred at
   each radius and 12 angles (all of them transmitted) are blanked one at a
   time and filled by ``pconv-smooth`` (the default network, expected value,
   without its sigma's check) and ``biharmonic``; the pooled RMSE ratio per
   radius, and the share of clusters where the network is the worse.

The 2026-12-05 run (README, "Known limits"; 6 simulated frames per kind) found
the real C3 frames' field at 8-12 Rsun about twice as structured as the
simulator's (3.9 against 1.7 noise units) and the 6-8 Rsun field a third as
structured (2.0 against 5.7); in real 3x3 clusters at 8 and 10 Rsun the network
is the worse of the two in 42-58% of them, in simulated ones in 8-14% (the
pooled ratios, 0.96-1.10 and 0.98-1.00, are carried by a few clusters on stars
in both). Full C2: 1.9 / 1.3 / 1.1 real against 4.0 / 1.9 / 1.5 simulated, and
the network the worse in 17% of real clusters. A calibration target for the next
simulator version.

Usage::

    python benchmarks/sim_real_gap.py FILES [--sim 12] [--threads 1]
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
from corkit_inpaint.training.simulator import make_frame

ANNULI = {"C2": ((2.5, 3.2), (3.2, 4.5), (4.5, 6.0)), "C3": ((6.0, 8.0), (8.0, 12.0), (12.0, 16.0))}
RADII = {"C2": (3.0, 4.0, 5.0), "C3": (6.0, 8.0, 10.0)}
SIM_SEED0 = 93_000_000


def structure(img: np.ndarray, hdr) -> list[float]:
    """Per annulus of `ANNULI`: the robust std of the image less its 12-px local mean, over the noise."""
    fr = Frame.build(np.asarray(img, dtype=np.float64), None, hdr)
    g = fr.geometry
    yy, xx = np.mgrid[:img.shape[0], :img.shape[1]]
    r = np.hypot(yy - g.cy, xx - g.cx) / g.rsun
    x = np.where(fr.valid, fr.image, 0.0)
    out = []
    for lo, hi in ANNULI[g.detector]:
        ann = fr.valid & (r >= lo) & (r < hi)
        w = ndimage.gaussian_filter(ann.astype(np.float64), 12)
        hp = (x - ndimage.gaussian_filter(np.where(ann, x, 0.0), 12) / np.maximum(w, 1e-9))[ann & (w > 0.5)]
        q75, q25 = np.percentile(hp, [75, 25])
        out.append(float((q75 - q25) / 1.349 / max(noise_sigma(x, ann), 1e-9)))
    return out


def clusters(img: np.ndarray, hdr) -> list[tuple[float, float, float]]:
    """``(radius, network's squared error, biharmonic's)`` of each 3x3 cluster of `RADII` x 12 angles."""
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
            frame, truth = Frame.build(test, mask, hdr), img[mask]
            se = [float(np.mean((run_method(m, frame, device="cpu", check_sigma=False).values[mask] - truth) ** 2))
                  for m in ("pconv-smooth", "biharmonic")]
            out.append((rr, *se))
    return out


def report(label: str, struct: list, clus: list, det: str) -> None:
    c = np.array(clus) if clus else np.zeros((0, 3))
    parts = []
    for rr in RADII[det]:
        sel = c[c[:, 0] == rr]
        parts.append(f"{rr:g} Rsun {np.sqrt(sel[:, 1].sum() / sel[:, 2].sum()):.2f} (worse in "
                     f"{np.mean(sel[:, 1] > sel[:, 2]):.0%} of {len(sel)})" if len(sel) else f"{rr:g} Rsun -")
    print(f"{label:34s} structure/noise {' / '.join(f'{v:.2f}' for v in struct)}   3x3 clusters, network over "
          f"biharmonic: {'; '.join(parts)}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", help="real level-0.5 C2 or C3 frames")
    ap.add_argument("--sim", type=int, default=12, help="simulated frames per kind of real frame (default: 12)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = ap.parse_args()
    set_threads(args.threads)
    warnings.simplefilter("ignore")
    kinds = {}
    for f in args.files:
        r = read_level05(f)
        det, summed = detector(r.header), max(summing(r.header)) > 1
        kinds[(det, summed)] = True
        report(f"real {f.split('/')[-1]} ({det}{', summed' if summed else ''})", structure(r.data, r.header),
               clusters(r.data, r.header), det)
    for det, summed in kinds:
        sims = [make_frame(SIM_SEED0 + i, detector=det, summed=summed) for i in range(args.sim)]
        s = np.median([structure(img, hdr) for img, hdr in sims], axis=0)
        report(f"{args.sim} simulated ({det}{', summed' if summed else ''}), median", list(s),
               [c for img, hdr in sims for c in clusters(img, hdr)], det)


if __name__ == "__main__":
    main()
