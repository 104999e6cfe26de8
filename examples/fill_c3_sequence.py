"""Fill a real LASCO C3 frame from the frames before and after it, and compare with the frame alone.

The bundled sequence (tests/data/c3_seq: three C3 frames of 2012-08-31, 12
minutes apart, see tests/data/SOURCES.md) has no telemetry losses of its own,
so this blanks 12 blocks of the middle frame, four in each radial zone (inner
4-8, mid 8-16, outer 16-28 Rsun), and fills them three ways through the
file path (``corkit_inpaint.inpaint_fits``, the default method
``pconv-smooth``): with the two neighbouring frames, as automatic pairing
would give them; from the frame alone; and with the classical ``ratio`` fill
(the neighbours scaled to the frame by their smoothed ratio around each hole).
It prints the header's provenance (which frames were used, and how far in time
they are), the hole RMSE per zone against the true pixels, and how many true
pixels fall within the fill's 1-sigma (INPSIGMA).

Writes ``out/c3_seq_holes.fts`` (the middle frame with holes),
``out/c3_seq_filled.fts`` (the fill from neighbours, with INPMASK and
INPSIGMA), ``out/c3_seq_alone.fts`` and ``out/c3_seq_ratio.fts`` (the fill
alone and ``ratio``'s) and ``out/c3_sequence.png`` (holes, the two fills, their sigmas).
The neighbour files are only read.

Usage::

    python examples/fill_c3_sequence.py [--outdir out] [--device auto]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _holes import arguments, blanked  # examples/, beside this script

import corkit_inpaint as ci
from corkit_inpaint.geometry import ZONE_NAMES, optical_geometry, zone_map

SEQ = Path(__file__).resolve().parents[1] / "tests" / "data" / "c3_seq"
FRAMES = [SEQ / f"3231094{k}.fts" for k in (3, 4, 5)]          # 18:30, 18:42 and 18:54 UT
#: Four blocks (block row, block column) per zone, away from the pylon; two of the inner ones form a run.
BLOCKS = [(15, 18), (14, 18), (13, 17), (19, 14), (10, 19), (19, 20), (16, 9), (9, 17),
          (7, 26), (25, 4), (25, 21), (12, 27)]


def main():
    args, out = arguments(__doc__)
    src = out / "c3_seq_holes.fts"
    truth, header, holes = blanked(FRAMES[1], BLOCKS, src)

    before, after = FRAMES[0], FRAMES[2]
    fills = {
        "pconv-smooth, 2 neighbours": ci.inpaint_fits(src, out / "c3_seq_filled.fts", neighbours=[before, after],
                                                      device=args.device, overwrite=True),
        "pconv-smooth, alone": ci.inpaint_fits(src, out / "c3_seq_alone.fts", device=args.device, overwrite=True),
        "ratio, 2 neighbours": ci.inpaint_fits(src, out / "c3_seq_ratio.fts", neighbours=[before, after],
                                               method="ratio", overwrite=True),
    }
    h = fills["pconv-smooth, 2 neighbours"][0].header
    print(f"filled {h['INPNBLK']} blocks with {h['INPAINT']} {h['INPMODEL']} from {h['INPNNB']} neighbours: "
          + ", ".join(f"{h[f'INPNB{k}']} ({h[f'INPDT{k}'] / 60:+.1f} min)" for k in range(1, h["INPNNB"] + 1)))
    mask = fills["pconv-smooth, 2 neighbours"]["INPMASK"].data.astype(bool)
    zones = zone_map(truth.shape, optical_geometry(header))
    rate = lambda x: (np.asarray(x, float) - header["OFFSET"]) / header["EXPTIME"]
    print(f"{'hole RMSE (DN/s)':28s}" + "".join(f"{z:>9s}" for z in ZONE_NAMES) + "   within 1 sigma")
    for name, hdul in fills.items():
        d = rate(hdul[0].data) - rate(truth)
        rmse = [np.sqrt(np.mean(d[mask & (zones == k)] ** 2)) for k in range(len(ZONE_NAMES))]
        sigma = hdul["INPSIGMA"].data.astype(float) / header["EXPTIME"]
        inside = np.mean(np.abs(d[mask]) < sigma[mask])
        print(f"{name:28s}" + "".join(f"{v:9.2f}" for v in rmse) + f"   {100 * inside:5.0f}%")
        assert np.array_equal(hdul[0].data[~mask], holes[~mask])
    print("valid pixels bit-identical in every output: yes")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 5, figsize=(20, 4.4), constrained_layout=True)
    lo, hi = np.percentile(np.log10(np.clip(rate(truth)[zones >= 0], 1e-3, None)), [1, 99.5])
    show = lambda a, x, t: (a.imshow(np.log10(np.clip(rate(x), 1e-3, None)), origin="lower", cmap="gray",
                                     vmin=lo, vmax=hi), a.set_title(t))
    show(ax[0], holes, "C3 2012-08-31 18:42, 12 blocks blanked")
    show(ax[1], fills["pconv-smooth, 2 neighbours"][0].data, "filled from 18:30 and 18:54")
    show(ax[2], fills["pconv-smooth, alone"][0].data, "filled from this frame alone")
    for a, name in zip(ax[3:], ("pconv-smooth, 2 neighbours", "pconv-smooth, alone")):
        s = fills[name]["INPSIGMA"].data.astype(float) / header["EXPTIME"]
        im = a.imshow(np.where(mask, np.log10(np.maximum(s, 1e-3)), np.nan), origin="lower", cmap="magma",
                      vmin=-1, vmax=1.5)
        a.set_title(f"1-sigma, {name.split(', ')[1]} (log10 DN/s)")
    fig.colorbar(im, ax=ax[3:], shrink=0.8)
    for a in ax:
        a.set_xticks([]), a.set_yticks([])
    fig.savefig(out / "c3_sequence.png", dpi=70)
    print(f"wrote {out / 'c3_seq_filled.fts'} and {out / 'c3_sequence.png'}")


if __name__ == "__main__":
    main()
