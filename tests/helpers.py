"""Test helpers: the real C2 file, blanked copies of it, checksums (fixtures are in conftest.py)."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

DATA = Path(__file__).parent / "data"
REAL = DATA / "lasco_clear.fts"
LEVEL1 = DATA / "lasco_c2_25299383_s.fts"
# blocks of the real file that carry signal, blanked in tests: single, a run, a 2x2
BLANK = [(3, 4), (10, 5), (12, 13), (4, 9), (4, 10), (4, 11), (11, 2), (11, 3), (12, 2), (12, 3)]


def sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_real():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(REAL) as h:
            return np.array(h[0].data), h[0].header.copy()


def blank(data, blocks):
    out = data.copy()
    for by, bx in blocks:
        out[by * 32:(by + 1) * 32, bx * 32:(bx + 1) * 32] = 0
    return out


def write(path, data, header):
    fits.PrimaryHDU(data, header).writeto(path, output_verify="ignore", overwrite=True)
    return Path(path)
