"""Read a level-0.5 FITS file with clear errors, and write outputs atomically."""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

__all__ = ["InputError", "read_level05", "write_atomic", "check_output_path"]

log = logging.getLogger(__name__)


class InputError(ValueError):
    """An input file or output path that cannot be processed; the message names it and why."""


def read_level05(src: str | os.PathLike) -> tuple[np.ndarray, fits.Header]:
    """Read the image and header of a LASCO level-0.5 file, refusing what cannot be filled.

    Parameters
    ----------
    src : path-like

    Returns
    -------
    data : numpy.ndarray
        The stored 2-D array, in its own dtype (a copy; the file is closed).
    header : astropy.io.fits.Header

    Raises
    ------
    InputError
        Not FITS or truncated; no 2-D image; NaN or inf; all zero; already level 1.
    """
    src = Path(src)
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(src, memmap=False, lazy_load_hdus=False) as hdul:
                hdu = next((h for h in hdul if h.is_image and h.data is not None and h.data.size), None)
                if hdu is None:
                    raise InputError(f"{src}: no image HDU with data")
                data = np.array(hdu.data)
                header = hdu.header.copy()
                if hdu is not hdul[0] and hdul[0].header:
                    for card in hdul[0].header.cards:     # inherit primary keywords the image lacks
                        if card.keyword not in header and card.keyword not in ("", "SIMPLE", "EXTEND", "NAXIS"):
                            header.append(card)
    except InputError:
        raise
    except (OSError, ValueError, TypeError, IndexError, EOFError) as exc:
        raise InputError(f"{src}: not a FITS file, or truncated ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if data.ndim != 2:
        raise InputError(f"{src}: expected a 2-D image, got {data.ndim}-D data of shape {data.shape}")
    level = str(header.get("LEVEL", "")).strip()
    bunit = str(header.get("BUNIT", "")).strip().upper()
    if level.startswith("1") or bunit == "MSB" or header.get("LVL_NUM") is not None:
        raise InputError(f"{src}: already level 1 (LEVEL={level!r}, BUNIT={bunit!r}); "
                         "missing blocks are filled on level-0.5 data")
    if not np.all(np.isfinite(data)):
        raise InputError(f"{src}: the image holds {int(np.sum(~np.isfinite(data)))} NaN or inf values")
    if not np.any(data):
        raise InputError(f"{src}: the image is all zero")
    return data, header


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
