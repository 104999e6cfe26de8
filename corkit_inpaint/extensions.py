"""The input's other extensions, copied to be carried into the output, within a bound on their size."""

from __future__ import annotations

import logging
from pathlib import Path

from .exceptions import first_line

__all__ = ["MAX_HDUS", "MIN_SIDE", "other_extensions"]

log = logging.getLogger(__name__)

#: HDUs looked at in one file.
MAX_HDUS = 16
#: An image extension this many pixels a side or more may be a frame with lost blocks: said to be left unfilled.
MIN_SIDE = 32


def other_extensions(hdul, used, src: Path, max_bytes: int) -> tuple:
    """Copies of the extensions but the image's, INPMASK, INPSIGMA (a second one is left out) and the first;
    together at most ``max_bytes`` of data, judged from their headers before any is read or decompressed
    (a 2.7 MB file held a 12000 x 12000 extension, read whole past the image's limit)."""
    out, total = [], 0
    for k, hdu in enumerate(hdul):
        if k >= MAX_HDUS:
            log.warning("%s: its HDUs after the first %d are not carried into the output", src, MAX_HDUS)
            break
        if k == 0 or any(hdu is u for u in used):     # the first HDU: the image, or keywords the image inherits
            continue
        if hdu.name in ("INPMASK", "INPSIGMA"):
            log.warning("%s: a second %s extension is not carried into the output", src, hdu.name)
            continue
        try:
            size = int(hdu.size)          # from the header: the data's bytes, decompressed
            size = _copied_bytes(hdu, size)
        except Exception:                 # noqa: BLE001 - a header astropy cannot size: its copy says why below
            size = 0
        if total + size > max_bytes:
            log.warning("%s: its extension %d (%s) holds %.1f MiB of data, beyond the %.1f MiB the extensions may "
                        "hold together (those of the largest image read), so it is not carried into the output",
                        src, k, hdu.name or "unnamed", size / 2 ** 20, max_bytes / 2 ** 20)
            continue
        total += size
        try:
            copy = hdu.copy()
        except Exception as exc:         # astropy raises many kinds on a malformed extension: the image still is
            log.warning("%s: its extension %d (%s) cannot be read, so it is not carried into the output (%s: %s)",
                        src, k, hdu.name or "unnamed", type(exc).__name__, first_line(exc))
            continue
        for key in ("CHECKSUM", "DATASUM"):   # a scaled integer image comes out as float: they would not hold
            copy.header.remove(key, ignore_missing=True, remove_all=True)
        shape = tuple(copy.header.get(f"NAXIS{i}", 0) for i in (1, 2)) if copy.is_image else ()
        if copy.is_image and copy.header.get("NAXIS") == 2 and min(shape) >= MIN_SIDE:   # a frame, not a table
            log.warning("%s: its extension %d (%s) is a %d x %d image too, carried into the output as it is: only "
                        "the file's first image is filled", src, k, hdu.name or "unnamed", *shape)
        out.append(copy)
    return tuple(out)


def _copied_bytes(hdu, size: int) -> int:
    """The bytes an image HDU of ``size`` stored bytes is copied as: astropy makes a scaled integer image float32
    (8 and 16 bits) or float64, but keeps one whose BSCALE is 1 and BZERO 0 or the unsigned (or signed 8-bit) offset
    as integers."""
    hdr = hdu.header
    bitpix = hdr.get("BITPIX", 0)
    if not hdu.is_image or not isinstance(bitpix, int) or bitpix <= 0:
        return size
    bscale, bzero = hdr.get("BSCALE", 1), hdr.get("BZERO", 0)
    if bscale == 1 and bzero in (0, 2 ** (bitpix - 1), -(2 ** (bitpix - 1))):
        return size
    return size // (bitpix // 8) * (4 if bitpix <= 16 else 8)
