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
C2_FULL = DATA / "c2_22104858.fts"      # real 1024x1024 C2 level 0.5, 2001-10-23
C3_FULL = DATA / "c3_32219521.fts"      # real 1024x1024 C3 level 0.5, 2010-01-05
# three consecutive real C3 frames, 2012-08-31 18:30, 18:42 and 18:54 UT
C3_SEQ = [DATA / "c3_seq" / f"3231094{k}.fts" for k in (3, 4, 5)]


def read_file(path):
    """``(data, header)`` of a FITS file's primary HDU."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as h:
            return np.array(h[0].data), h[0].header.copy()


def seq_blocks(data, header, n, seed, lo=5.0, hi=26.0):
    """``n`` distinct blocks of a C3 frame whose centres lie between ``lo`` and ``hi`` Rsun."""
    rng = np.random.default_rng(seed)
    cy, cx = header["CRPIX2"] - 1, header["CRPIX1"] - 1
    out = []
    while len(out) < n:
        by, bx = (int(v) for v in rng.integers(0, data.shape[0] // 32, 2))
        r = np.hypot(by * 32 + 15.5 - cy, bx * 32 + 15.5 - cx) / 17.1
        if lo < r < hi and (by, bx) not in out:
            out.append((by, bx))
    return out
# blocks of the real file that carry signal, blanked in tests: single, a run, a 2x2
BLANK = [(3, 4), (10, 5), (12, 13), (4, 9), (4, 10), (4, 11), (11, 2), (11, 3), (12, 2), (12, 3)]


def front_arc(shape, centre, radius, peak=30.0, width=8.0):
    """A CME-like front (DN/s): a bright arc at ``radius`` px, due right of the Sun ``centre``, 50 degrees wide."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    r = np.hypot(xx - centre[1], yy - centre[0])
    angle = np.degrees(np.abs(np.arctan2(yy - centre[0], xx - centre[1])))
    return peak * np.exp(-0.5 * ((r - radius) / width) ** 2) * np.clip((35.0 - angle) / 10.0, 0.0, 1.0)


def with_front(frames, radii=(275, 300, 325)):
    """The real C3 sequence ``frames`` ((data, header) each) with a `front_arc` at ``radii`` px, one per frame (a
    front moving 25 px per 12 minutes), in DN: ``(moved frames, the middle one's truth as float, Sun centre)``."""
    hdr = frames[1][1]
    centre = (hdr["CRPIX2"] - 1, hdr["CRPIX1"] - 1)
    moved = [(np.clip(np.round(d + front_arc(d.shape, centre, r) * h["EXPTIME"]), 0, 16383).astype(d.dtype), h)
             for (d, h), r in zip(frames, radii)]
    return moved, moved[1][0].astype(np.float64), centre


def blocks_on_arc(centre, radius, n=32):
    """The blocks of an ``n`` x ``n`` grid whose centre is within 16 px of ``radius`` and 22 degrees of due right."""
    return [(by, bx) for by in range(n) for bx in range(n)
            if abs(np.hypot(by * 32 + 15.5 - centre[0], bx * 32 + 15.5 - centre[1]) - radius) < 16
            and abs(np.degrees(np.arctan2(by * 32 + 15.5 - centre[0], bx * 32 + 15.5 - centre[1]))) < 22]


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


def frame_files(tmp_path, det, summed, seed=21):
    """A simulated frame, and a copy with 4 blocks blanked (two of them touching): (orig, holes, blocks)."""
    from corkit_inpaint.training.simulator import make_frame
    img, hdr = make_frame(seed, detector=det, summed=summed)
    nb = img.shape[0] // 32
    blocks = [(nb // 2 + 4, nb // 2 + 4), (nb // 2 - 5, nb // 2 + 1), (nb // 2 - 5, nb // 2 + 2), (nb // 2 + 3, 4)]
    orig = write(tmp_path / f"orig_{det}_{summed}.fts", img, hdr)
    holes = write(tmp_path / f"holes_{det}_{summed}.fts", blank(img, blocks), hdr)
    return orig, holes, blocks


def seq_files(tmp, n_blocks=6):
    """Copies of the three real C3 sequence frames, each with its own ``n_blocks`` blanked.

    Returns the three paths, and the middle frame's truth and blanked blocks.
    """
    paths, truth, mid_blocks = [], None, None
    for k, src in enumerate(C3_SEQ):
        data, hdr = read_file(src)
        blocks = seq_blocks(data, hdr, n_blocks, seed=40 + k)
        if k == 1:
            truth, mid_blocks = data, blocks
        paths.append(write(Path(tmp) / src.name, blank(data, blocks), hdr))
    return paths, truth, mid_blocks


def sigma_method(name="with-sigma", base=3.0):
    """A real `FillMethod` with a known 1-sigma: biharmonic's values, sigma ``base`` DN + 1% of the filled value."""
    from dataclasses import dataclass, replace

    from corkit_inpaint.methods import FillMethod, Provenance, get_method

    @dataclass(frozen=True)
    class WithSigma(FillMethod):
        def fill(self, frame, *, neighbours=(), device="auto", weights=None):
            res = get_method("biharmonic").fill(frame, device=device)
            sigma = np.where(res.filled, base + 0.01 * np.abs(res.values), 0.0)
            return replace(res, sigma=sigma, provenance=Provenance(self.name))

    return WithSigma(name=name)


def legacy_method(name="legacy"):
    """A third-party-style plain callable (no 1-sigma), wrapped as corkit-inpaint wraps entry points."""
    from corkit_inpaint.methods import LegacyMethod

    def fill(image, mask, header):
        out = np.array(image, dtype=float)
        out[mask] = np.median(out[~mask & (out > 0)])
        return out

    return LegacyMethod(name=name, fn=fill)


def truncated_cards(header, keys=("FILENAME", "BUNIT", "UTYPE", "SIGZERO", "EXTNAME")) -> list[str]:
    """The keywords, of ``keys`` and those starting with INP, whose card astropy cuts to 80 characters."""
    import warnings
    out = []
    for card in header.cards:
        if card.keyword in keys or card.keyword.startswith("INP"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                str(card)
            out += [card.keyword for w in caught if "truncated" in str(w.message)]
    return out
