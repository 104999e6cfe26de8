"""High-level API: fill an array, or a level-0.5 FITS file with provenance and a mask extension."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone

import numpy as np
from astropy.io import fits

from .blocks import BLOCK, find_missing_blocks
from .fitsio import check_output_path, read_level05, write_atomic
from .methods import call_method, get_method

__all__ = ["inpaint_array", "inpaint_fits", "provenance_cards"]

log = logging.getLogger(__name__)


def _version() -> str:
    from . import __version__
    return __version__


def _fill(image, mask, header, method, device, weights, **options):
    """Run a method; returns ``(out, info)`` with ``info["filled"]``, the pixels really filled.

    Valid pixels of ``out`` are copied from ``image``. A method may decline
    pixels by returning NaN there: they keep the input value and are not in
    ``info["filled"]``.
    """
    fn = get_method(method)
    info: dict = {}
    filled = call_method(fn, image, mask, header, device=device, weights=weights, info=info, **options)
    filled = np.asarray(filled, dtype=np.float64)
    if filled.shape != image.shape:
        raise ValueError(f"method {method!r} returned shape {filled.shape}, expected {image.shape}")
    if np.any(np.isinf(filled[mask])):
        raise ValueError(f"method {method!r} produced inf in the filled pixels")
    done = mask & ~np.isnan(filled)
    out = np.asarray(image, dtype=np.float64).copy()
    out[done] = filled[done]
    info["filled"] = done
    return out, info


def inpaint_array(image: np.ndarray, mask: np.ndarray | None = None, *, method: str = "pconv",
                  device: str = "auto", weights=None) -> np.ndarray:
    """Fill missing blocks in a 2-D array.

    Parameters
    ----------
    image : numpy.ndarray
        2-D array in any linear unit (DN, DN/s, MSB...).
    mask : numpy.ndarray of bool, optional
        True where a pixel is missing. None: detect missing 32x32 blocks with
        `corkit_inpaint.find_missing_blocks` (no header).
    method : str
        A method registered in the ``corkit.inpainters`` entry-point group.
    device : str
        ``"auto"`` (CUDA, then MPS, then CPU), or a torch device string.
    weights : str or path-like, optional
        Model name or weights file for ``pconv``.

    Returns
    -------
    numpy.ndarray
        float64 array of the same shape; ``out[~mask] == image[~mask]`` exactly.
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {img.shape}")
    if mask is None:
        if not np.all(np.isfinite(img)):
            raise ValueError("the image holds NaN or inf; pass a mask that covers them")
        mask, _ = find_missing_blocks(img)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != img.shape:
        raise ValueError(f"mask shape {mask.shape} differs from image shape {img.shape}")
    if not np.all(np.isfinite(img[~mask])):
        raise ValueError("the image holds NaN or inf outside the mask")
    out, _ = _fill(img, mask, None, method, device, weights)
    return out


def provenance_cards(method: str, info: dict, nblocks: int, npix: int) -> list[tuple[str, object, str]]:
    """The provenance keywords (``INPAINT`` ... ``INPNPIX``) for a fill."""
    sha = info.get("sha256") or ""
    return [
        ("INPAINT", method, "missing-block fill method (corkit-inpaint)"),
        ("INPMODEL", info.get("model", "none"), "fill model id"),
        ("INPWSHA", sha[:16] if sha else "none", "sha256 of the weights, first 16 hex"),
        ("INPVER", _version(), "corkit-inpaint version"),
        ("INPDEV", info.get("device", "cpu"), "device used for the fill"),
        ("INPNBLK", int(nblocks), "number of 32x32 blocks filled"),
        ("INPNPIX", int(npix), "number of pixels filled"),
    ]


def _blocks_in(filled: np.ndarray, blocks):
    """The blocks that were actually filled."""
    return [(by, bx) for by, bx in blocks if filled[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK].any()]


def _cast(out: np.ndarray, dtype: np.dtype, mask: np.ndarray) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        res = out.copy()
        res[mask] = np.clip(np.rint(res[mask]), info.min, info.max)
        return res.astype(dtype)
    return out.astype(dtype)


def inpaint_fits(src: str | os.PathLike, dst: str | os.PathLike | None = None, *,
                 method: str = "pconv", device: str = "auto", weights=None,
                 overwrite: bool = False) -> fits.HDUList:
    """Fill the missing blocks of a LASCO level-0.5 FITS file.

    Parameters
    ----------
    src : path-like
        Level-0.5 FITS file; it is only read.
    dst : path-like, optional
        Where to write the result (atomically). None: only return it.
    method, device, weights
        As for `inpaint_array`.
    overwrite : bool
        Replace an existing ``dst``.

    Returns
    -------
    astropy.io.fits.HDUList
        Primary HDU: the input's data type and header, filled pixels replaced,
        provenance keywords and a HISTORY card added. Extension ``INPMASK``:
        uint8, 1 where a pixel was filled.

    Notes
    -----
    Integer data (level-0.5 DN) keep their type: filled values are rounded to
    the nearest integer and clipped to the type's range. Valid pixels are
    copied, never recomputed, so they are bit-identical to the input.
    """
    if dst is not None:
        check_output_path(dst, overwrite=overwrite)
    data, header = read_level05(src)
    mask, blocks = find_missing_blocks(data, header)
    if blocks:
        out, info = _fill(data, mask, header, method, device, weights)
        mask, blocks = info["filled"], _blocks_in(info["filled"], blocks)
        out = _cast(out, data.dtype, mask)
        out[~mask] = data[~mask]
    else:
        out, info = data.copy(), {"model": "none", "device": "none"}
    hdr = header.copy()
    for key, val, com in provenance_cards(method, info, len(blocks), int(mask.sum())):
        hdr[key] = (val, com)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    if blocks:
        hdr["HISTORY"] = (f"corkit-inpaint {_version()} {stamp}: filled {len(blocks)} missing blocks "
                          f"({int(mask.sum())} px) with {method} {info.get('model', '')}")
    else:
        hdr["HISTORY"] = f"corkit-inpaint {_version()} {stamp}: no missing blocks, image unchanged"
    for k in ("BZERO", "BSCALE"):      # astropy re-derives scaling from the data type
        hdr.remove(k, ignore_missing=True)
    primary = fits.PrimaryHDU(data=out, header=hdr)
    mhdr = fits.Header()
    mhdr["EXTNAME"] = "INPMASK"
    mhdr["COMMENT"] = "1 where corkit-inpaint filled the pixel, 0 elsewhere"
    hdul = fits.HDUList([primary, fits.ImageHDU(mask.astype(np.uint8), header=mhdr)])
    if dst is not None:
        write_atomic(hdul, dst, overwrite=overwrite)
        log.info("wrote %s (%d blocks filled)", dst, len(blocks))
    return hdul
