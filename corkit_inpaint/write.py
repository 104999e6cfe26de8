"""The write step: provenance keywords, HISTORY and INPMASK for a filled image, and atomic output."""

from __future__ import annotations

import logging
import os
import tempfile
import textwrap
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from .exceptions import InputError
from .fill import FilledImage

__all__ = ["provenance_cards", "stamp_header", "output_hdulist", "check_output_path", "write_atomic"]

log = logging.getLogger(__name__)


def _version() -> str:
    from . import __version__
    return __version__


def provenance_cards(filled: FilledImage) -> list[tuple[str, object, str]]:
    """The provenance keywords ``INPAINT`` ... ``INPNPIX`` of a fill."""
    p = filled.provenance
    return [
        ("INPAINT", p.method if p else "none", "missing-block fill method (corkit-inpaint)"),
        ("INPMODEL", p.model if p else "none", "fill model id"),
        ("INPWSHA", p.sha256[:16] if p and p.sha256 else "none", "sha256 of the weights, first 16 hex"),
        ("INPVER", _version(), "corkit-inpaint version"),
        ("INPDEV", p.device if p else "none", "device used for the fill"),
        ("INPNBLK", len(filled.blocks), "number of 32x32 blocks filled"),
        ("INPNPIX", int(filled.filled.sum()), "number of pixels filled"),
    ]


def _history(filled: FilledImage, stage: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    head = f"corkit-inpaint {_version()} {stamp}:"
    p = filled.provenance
    if p is None:
        if filled.missing_blocks:
            return f"{head} {filled.missing_blocks} missing blocks left masked ({filled.note})"
        return f"{head} no missing blocks, image unchanged"
    text = (f"{head} filled {len(filled.blocks)} missing blocks ({int(filled.filled.sum())} px) "
            f"with {p.method} {p.model} on {p.device}")
    if stage == "level 1":
        text += "; on the level-0.5 grid before corkit level_1; INPMASK marks affected level-1 pixels"
    if filled.note:
        text += f"; {filled.note}"
    return text


def stamp_header(header: fits.Header, filled: FilledImage, *, stage: str = "level 0.5") -> fits.Header:
    """A copy of ``header`` with the provenance keywords and HISTORY cards of ``filled``.

    HISTORY is wrapped on word boundaries into cards of at most 70 characters,
    so no number is split across cards.
    """
    hdr = header.copy()
    for key, val, com in provenance_cards(filled):
        hdr[key] = (val, com)
    for line in textwrap.wrap(_history(filled, stage), 70, break_long_words=False):
        hdr.add_history(line)
    return hdr


def output_hdulist(filled: FilledImage, header: fits.Header) -> fits.HDUList:
    """Primary HDU (the filled data, stamped header) and the ``INPMASK`` extension."""
    hdr = stamp_header(header, filled)
    for k in ("BZERO", "BSCALE"):      # astropy re-derives scaling from the data type
        hdr.remove(k, ignore_missing=True)
    mhdr = fits.Header()
    mhdr["EXTNAME"] = "INPMASK"
    mhdr["COMMENT"] = "1 where corkit-inpaint filled the pixel, 0 elsewhere"
    return fits.HDUList([fits.PrimaryHDU(data=filled.data, header=hdr),
                         fits.ImageHDU(filled.filled.astype(np.uint8), header=mhdr)])


def check_output_path(dst: str | os.PathLike, *, overwrite: bool) -> Path:
    """Refuse an existing output without ``overwrite`` and an output folder that cannot take it."""
    dst = Path(dst)
    if dst.exists() and not overwrite:
        raise InputError(f"{dst}: exists (use overwrite / --overwrite)")
    if dst.is_dir():
        raise InputError(f"{dst}: is a folder")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{dst}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{dst}: output folder {parent} is not writable")
    return dst


def write_atomic(hdul: fits.HDUList, dst: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``hdul`` to a temporary file beside ``dst``, then rename it into place.

    Nothing is left behind on failure (a full disk, a permission error...).
    """
    dst = check_output_path(dst, overwrite=overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            # by name, not file object: astropy's free-space check needs the name;
            # 'ignore' keeps the input's own cards verbatim (archive headers can
            # carry e.g. tabs in HISTORY that astropy cannot "fix")
            hdul.writeto(tmp, overwrite=True, output_verify="ignore")
        fh = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fh)
        finally:
            os.close(fh)
        if dst.exists() and not overwrite:
            raise InputError(f"{dst}: appeared while writing; not overwritten")
        os.replace(tmp, dst)
    except InputError:
        Path(tmp).unlink(missing_ok=True)
        raise
    except Exception as exc:
        Path(tmp).unlink(missing_ok=True)
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{dst}: could not be written ({reason})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dst
