"""Fill blanked blocks in the bundled real LASCO C2 frame with the default model.

The real file (tests/data/lasco_clear.fts, 2000-09-03, see tests/data/SOURCES.md)
has no telemetry losses of its own, so this blanks 12 blocks in the patterns real
losses take (a single block, a raster run, a 2x2 cluster), fills them through the
command-line path (``corkit_inpaint.inpaint_fits``, the default method
``pconv-smooth``: the network's expected value and its per-pixel 1-sigma), and
reports the error against the true pixels next to the textured ``pconv`` and
scikit-image's biharmonic fill, and how many true pixels fall within the
fill's 1-sigma.

Writes ``out/lasco_clear_holes.fts`` (the input with holes), ``out/lasco_clear_filled.fts``
(the result, with provenance keywords and the INPMASK and INPSIGMA extensions) and
``out/before_after.png`` (the holes, the fill, the truth, INPSIGMA).

Usage::

    python examples/fill_real_c2.py [--outdir out]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _holes import arguments, blanked  # examples/, beside this script

import corkit_inpaint as ci

REAL = Path(__file__).resolve().parents[1] / "tests" / "data" / "lasco_clear.fts"
BLOCKS = [(3, 4), (4, 9), (4, 10), (4, 11), (4, 12), (11, 2), (11, 3), (12, 2), (12, 3), (10, 12), (13, 9), (2, 7)]


def main():
    args, out = arguments(__doc__)
    src = out / "lasco_clear_holes.fts"
    truth, header, holes = blanked(REAL, BLOCKS, src)

    hdul = ci.inpaint_fits(src, out / "lasco_clear_filled.fts", device=args.device, overwrite=True)
    h = hdul[0].header
    print(f"filled {h['INPNBLK']} blocks ({h['INPNPIX']} px) with {h['INPAINT']} {h['INPMODEL']} "
          f"(weights {h['INPWSHA']}) on {h['INPDEV']}")
    mask = hdul["INPMASK"].data.astype(bool)
    sigma = hdul["INPSIGMA"].data.astype(float)
    rate = lambda x: (np.asarray(x, float) - header["OFFSET"]) / header["EXPTIME"]
    bih = ci.inpaint_array(holes, mask, header=header, method="biharmonic")
    tex = ci.inpaint_array(holes, mask, header=header, method="pconv")      # the same network, with a texture
    for name, img in ((h["INPAINT"], hdul[0].data), ("pconv", tex), ("biharmonic", bih)):
        d = rate(img)[mask] - rate(truth)[mask]
        print(f"{name:12s} hole RMSE {np.sqrt(np.mean(d ** 2)):8.2f} DN/s   MAE {np.mean(np.abs(d)):7.2f} DN/s")
    z = (hdul[0].data[mask].astype(float) - truth[mask]) / sigma[mask]
    print(f"INPSIGMA: median {np.median(sigma[mask]) / header['EXPTIME']:.2f} DN/s; "
          f"{100 * np.mean(np.abs(z) < 1):.0f}% of the true pixels lie within 1 sigma of the fill "
          f"({100 * np.mean(np.abs(z) < 1.96):.0f}% within 1.96 sigma)")
    from scipy import ndimage
    holes_lab, n_holes = ndimage.label(mask, np.ones((3, 3)))     # each hole's summed error, against its 1-sigma
    within = [abs(np.sum(hdul[0].data[k].astype(float) - truth[k])) <= ci.region_sigma(sigma, k, mask=mask)
              for k in (holes_lab == i for i in range(1, n_holes + 1))]
    print(f"sums: {sum(within)} of {n_holes} holes' summed brightness within region_sigma's 1-sigma")
    assert np.array_equal(hdul[0].data[~mask], holes[~mask])
    print("valid pixels bit-identical: yes")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 4, figsize=(16, 4.4), constrained_layout=True)
    show = lambda a, x, t: (a.imshow(np.log10(np.clip(np.asarray(x, float), 1500, None)), origin="lower",
                                     cmap="gray", vmin=3.3, vmax=4.6), a.set_title(t))
    show(ax[0], holes, "level 0.5 with 12 blocks missing")
    show(ax[1], hdul[0].data, f"filled: {h['INPAINT']} ({h['INPMODEL']})")
    show(ax[2], truth, "truth (real C2, 2000-09-03)")
    im = ax[3].imshow(np.where(mask, sigma / header["EXPTIME"], np.nan), origin="lower", cmap="magma")
    fig.colorbar(im, ax=ax[3], shrink=0.8, label="DN/s")
    ax[3].set_title("INPSIGMA extension: the fill's 1-sigma")
    for a in ax:
        a.set_xticks([]), a.set_yticks([])
    fig.savefig(out / "before_after.png", dpi=80)
    print(f"wrote {out / 'lasco_clear_filled.fts'} and {out / 'before_after.png'}")


if __name__ == "__main__":
    main()
