"""What the fill examples share: their command line, and a real frame with blocks blanked, written to a file."""

from __future__ import annotations

import argparse
import logging
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.read import read_level05


def arguments(doc: str) -> tuple[argparse.Namespace, Path]:
    """``--outdir`` (made here) and ``--device``, with INFO logging; the parsed options and the folder."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--outdir", default="out")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    return args, out


def blanked(src: Path, blocks, dst: Path) -> tuple[np.ndarray, fits.Header, np.ndarray]:
    """The real frame ``src`` (truth, header) and a copy with ``blocks`` zeroed, the copy written to ``dst``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # the archive header has a tab in a HISTORY card
        r = read_level05(src)
        holes = np.where(blocks_to_mask(r.data.shape, blocks), 0, r.data).astype(r.data.dtype)
        fits.PrimaryHDU(holes, r.header).writeto(dst, overwrite=True, output_verify="ignore")
    return r.data, r.header, holes
