"""The F corona's equatorial band on real LASCO frames against simulated sequences (versions 3 and 4).

At each radius, the median signal above the bias in 20-degree sectors east and
west of the Sun is divided by that north and south
(`corkit_inpaint.training.fcorona.band_contrast`). On every real frame it
exceeds 1 and grows outward; this is how
`corkit_inpaint.training.fcorona.equatorial_band` (sequence version 4) was
set. Versions 1-3 have no band: their streamers fall at random angles and fade
outward.

Usage::

    python examples/calibrate_band.py [--seeds N]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np

from corkit_inpaint.read import read_level05
from corkit_inpaint.training.fcorona import band_contrast
from corkit_inpaint.training.sequence import make_sequence

ROOT = Path(__file__).resolve().parent.parent
RADII = {"C2": (2.4, 3.2, 4.0, 5.0, 6.0), "C3": (4.5, 5.5, 6.5, 7.5, 8.5, 10.0, 12.0, 14.0, 17.0, 20.0, 24.0)}
REAL = {"C2": ["tests/data/c2_22104858.fts", "tests/data/lasco_clear.fts"],
        "C3": ["tests/data/c3_32219521.fts", "../shared/data/real/c3_seq_20120831/32310944.fts"]}


def row(name: str, values) -> str:
    return f"  {name:34s}" + " ".join(f"{v:5.2f}" for v in values)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=12, help="simulated sequences per detector and version")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    for det in ("C2", "C3"):
        print(f"{det}: east+west over north+south at " + ", ".join(f"{r:g}" for r in RADII[det]) + " Rsun")
        for f in REAL[det]:
            path = (ROOT / f).resolve()
            if path.is_file():
                src = read_level05(path)
                print(row(path.name, band_contrast(src.data, src.header, RADII[det])))
        for version in ("3", "4"):
            sims = [band_contrast(*make_sequence(94_000_000 + i, (0.0,), detector=det, summed=False,
                                                 version=version).frames[0], RADII[det])
                    for i in range(args.seeds)]
            q = np.quantile(sims, [0.1, 0.5, 0.9], axis=0)
            for name, v in zip(("10%", "median", "90%"), q):
                print(row(f"sequence version {version}, {name}", v))


if __name__ == "__main__":
    main()
