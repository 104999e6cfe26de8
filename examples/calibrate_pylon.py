"""The occulter pylon's shadow on real LASCO frames against the simulator's (generator versions 3 and 4).

At each radius, the azimuthal profile of the bias-subtracted image across the
pylon (-135 degrees in the stored image, +-90 degrees around it; median over a
5-pixel radial band) is divided by a line through its ends (log brightness), and
the full widths where it falls below 0.9, 0.5 and 0.2 are printed with its
minimum. This is how ``corkit_inpaint.training.simulator.pylon`` (version 4) was
set; version 3 drew C3's pylon 30-40 px wide with sharp edges, and C2 without one.

Usage::

    python examples/calibrate_pylon.py [FILE ...]

Without FILE: the real C2 and C3 frames of ``tests/data`` and, when present,
one frame of ``../shared/data/real/c3_seq_20120831``, then simulated frames.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from corkit_inpaint.training.simulator import make_frame

ROOT = Path(__file__).resolve().parent.parent
RSUN_PX = {"C2": 80.7, "C3": 17.1}             # full-resolution pixels per solar radius
RADII = {"C2": (2.6, 3.1, 4.0, 5.0), "C3": (4.7, 5.8, 8.8, 14.6, 23.4)}
AXIS = -135.0


def profile(data: np.ndarray, header, r_rsun: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Angles from the pylon's axis (deg) and the relative brightness across it at ``r_rsun``; None over zeros."""
    s = 1024 // data.shape[0]
    img = data.astype(np.float64) - float(header.get("OFFSET", 0.0))
    cx, cy = (header["CRPIX1"] - 1) * s, (header["CRPIX2"] - 1) * s
    r = r_rsun * RSUN_PX[str(header["DETECTOR"]).strip()]
    ang = np.arange(AXIS - 90, AXIS + 90.1, 1.0)
    rows = []
    for dr in range(-2, 3):
        yy = np.rint((cy + (r + dr) * np.sin(np.deg2rad(ang))) / s).astype(int).clip(0, data.shape[0] - 1)
        xx = np.rint((cx + (r + dr) * np.cos(np.deg2rad(ang))) / s).astype(int).clip(0, data.shape[1] - 1)
        rows.append(img[yy, xx])
    v = np.median(rows, axis=0)
    ends = np.abs(ang - AXIS) > 65
    if np.any(v[ends] <= 0):
        return None
    line = np.polyfit(ang[ends], np.log(v[ends]), 1)
    return ang - AXIS, v / np.exp(np.polyval(line, ang))


def report(name: str, data: np.ndarray, header) -> None:
    det = str(header["DETECTOR"]).strip()
    print(f"{name} ({det})")
    for r in RADII[det]:
        got = profile(data, header, r)
        if got is None:
            print(f"  {r:5.1f} Rsun: not transmitted")
            continue
        _, rel = got
        widths = " ".join(f"<{lv}: {int(np.sum(rel < lv)):3d} deg" for lv in (0.9, 0.5, 0.2))
        print(f"  {r:5.1f} Rsun: minimum {rel.min():5.2f}; full width {widths}")


def main(argv: list[str]) -> None:
    warnings.simplefilter("ignore")
    files = [Path(a) for a in argv] or [ROOT / "tests/data/c3_32219521.fts", ROOT / "tests/data/c2_22104858.fts",
                                        ROOT / "tests/data/lasco_clear.fts",
                                        ROOT.parent / "shared/data/real/c3_seq_20120831/32310944.fts"]
    for f in files:
        if f.is_file():
            with fits.open(f) as h:
                report(f.name, np.asarray(h[0].data), h[0].header)
    if argv:
        return
    for det in ("C3", "C2"):
        for version in ("3", "4"):
            for seed in (11, 12):
                img, hdr = make_frame(seed, detector=det, summed=False, version=version)
                report(f"simulated, version {version}, seed {seed}", img, hdr)


if __name__ == "__main__":
    main(sys.argv[1:])
