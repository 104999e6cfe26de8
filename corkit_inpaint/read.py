"""The read step: a level-0.5 FITS file's image and header, refusing what cannot be filled."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from .exceptions import InputError

__all__ = ["read_level05"]


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
