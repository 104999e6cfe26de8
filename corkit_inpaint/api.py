"""The Python API: fill an array, or a level-0.5 FITS file with provenance, INPMASK and INPSIGMA extensions.

These functions check their inputs and hand the work to the pipeline's steps:
`read` (`read_level05`), `blocks` (`find_missing_blocks`), `fill`
(`fill_level05`, `run_method`) and `write` (`output_hdulist`, `write_atomic`).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import numpy as np
from astropy.io import fits

from . import header as H
from .blocks import find_missing_blocks
from .earlier import check_own_sigma
from .exceptions import InputError, check_switch
from .fill import as_method, below_saturation, fill_level05, run_method, warn_of_blocks
from .frame import Frame
from .geometry import check_plate_scale
from .match import same_level
from .methods import DEFAULT_METHOD, FillMethod
from .network.weights import weights_inputs
from .outputs import check_output_path, write_atomic
from .read import MAX_PIXELS, read_level05, read_neighbours
from .register import MAX_GAP_MINUTES, check_max_gap, register_all
from .threads import using_threads
from .wrap import unwrapped
from .write import output_hdulist

__all__ = ["inpaint_array", "inpaint_fits"]

log = logging.getLogger(__name__)


def inpaint_array(image: np.ndarray, mask: np.ndarray | None = None, *, header=None, neighbours=None,
                  method: str = DEFAULT_METHOD, device: str = "auto", weights=None, threads: int | None = None,
                  max_gap: float | None = MAX_GAP_MINUTES, return_sigma: bool = False
                  ) -> np.ndarray | tuple[np.ndarray, np.ndarray | None]:
    """Fill missing pixels in a 2-D array.

    Parameters
    ----------
    image : numpy.ndarray
        2-D array in any linear unit (DN, DN/s, MSB...).
    mask : numpy.ndarray of bool, optional
        True where a pixel is missing. None: detect missing 32x32 blocks with
        `corkit_inpaint.find_missing_blocks` (using ``header`` when given).
    header : astropy.io.fits.Header or mapping, optional
        The frame's header: OFFSET and EXPTIME set the value space, DETECTOR,
        CRPIX and summing the geometry. The array alone cannot say which
        detector it comes from.
    neighbours : sequence of (numpy.ndarray, astropy.io.fits.Header), optional
        Level-0.5 frames of the same field before and after this one. Each is
        brought onto this frame's grid (Sun centre from CRPIX, roll from
        the PC matrix, else CROTA1, DN to DN/s with OFFSET and EXPTIME; see
        `corkit_inpaint.register`), its own missing blocks and saturated
        pixels masked, and used only where it has data. Methods that cannot
        use neighbours (``biharmonic``, ``fuzzy``, ``telea``) ignore them. None: this frame alone.
    method : str
        A method registered in the ``corkit.inpainters`` entry-point group
        (default ``pconv-smooth``, the network's expected value; ``pconv`` adds
        a draw of its 1-sigma, for pictures).
    device : str
        ``"auto"`` (CUDA, then MPS, then CPU), or a torch device string.
    weights : str or path-like, optional
        Model name or weights file for the network's methods (``pconv``, ``pconv-smooth``; of their own
        architecture for ``pconv-fourier`` and ``fourier-vae``); the others ignore it.
    threads : int, optional
        torch threads for this fill (0: torch's own default). None: the
        package setting, `corkit_inpaint.threads.get_threads` (one thread
        unless `corkit_inpaint.threads.set_threads` or
        ``$CORKIT_INPAINT_THREADS`` says otherwise).
    max_gap : float or None
        Neighbours more than this many minutes from the frame are left out (logged): default
        `corkit_inpaint.register.MAX_GAP_MINUTES`, the gap the neighbour models were trained on; None: any.
    return_sigma : bool
        Also return each filled pixel's 1-sigma, checked on valid blocks of the image as `inpaint_fits`
        checks INPSIGMA (the check refills a few valid blocks: typically 15-25% more time).

    Returns
    -------
    filled : numpy.ndarray
        float64 array of the same shape; ``out[~mask] == image[~mask]`` exactly,
        but that a summed frame's wrapped counts (`corkit_inpaint.wrap`) come back
        as counts. Pixels a method leaves masked keep their input value. No filled value is above the
        detector's saturation (`corkit_inpaint.fill.below_saturation`), as in `inpaint_fits`.
    sigma : numpy.ndarray or None
        With ``return_sigma`` only: float64, the 1-sigma of each filled pixel in the image's unit, 0 where
        none was filled (INPSIGMA's values; all 0 when nothing was); None where the method gave filled
        pixels none (``telea``, or weights without an error table: logged).

    Raises
    ------
    InputError
        Not 2-D, a mask of another shape, NaN or inf outside the mask, valid values that float64 cannot hold
        exactly (``longdouble``, 64-bit integers beyond 2**53), a header that is neither a FITS header
        nor a mapping, whose numeric keywords are not numbers or whose CDELT is not its DETECTOR's plate scale
        times a summing; a ``max_gap`` not >= 0 or None, ``return_sigma`` not True or False, a bad ``device``.
    MethodError
        An unknown method, or one that is not available here.
    """
    check_max_gap(max_gap)
    return_sigma = check_switch(return_sigma, "return_sigma")
    img, mask = _checked_array(image, mask, header)
    frame = Frame.build(img, mask, header)
    nbs = same_level(frame, register_all(neighbours, header, img.shape, max_gap=max_gap))
    with using_threads(threads):
        res = run_method(method, frame, neighbours=nbs, device=device, weights=weights, check_sigma=return_sigma)
    out = below_saturation(res.values, res.filled, lambda: img[~mask], header)[0]     # as inpaint_fits does
    if not return_sigma:
        return out
    if res.sigma is None:               # nothing filled: 0 everywhere, as for a method with a sigma
        return out, None if np.any(res.filled) else np.zeros(out.shape)
    return out, np.where(res.filled, np.asarray(res.sigma, dtype=np.float64), 0.0)


def _checked_array(image, mask, header) -> tuple[np.ndarray, np.ndarray]:
    """`inpaint_array`'s image (a summed frame's wrapped counts unwrapped) and mask (found when None), or a
    one-line `InputError` (also for a header of the wrong type, or whose CDELT contradicts its DETECTOR)."""
    H.check_header_type(header)
    check_plate_scale(header)       # battery s36: DETECTOR C3 on a C2 frame filled its never-sent occulter ring
    img = np.asarray(image)
    if img.ndim != 2:
        raise InputError(f"expected a 2-D image, got shape {img.shape}")
    if img.dtype.kind not in "biuf" or img.size == 0:
        raise InputError(f"expected a non-empty image of real numbers, got {img.dtype} of shape {img.shape}")
    img = unwrapped(img, header)        # a summed frame's counts above 32767, stored negative
    if mask is None:
        if not np.all(np.isfinite(img)):
            raise InputError("the image holds NaN or inf; pass a mask that covers them")
        mask, blocks = find_missing_blocks(img, header)
        warn_of_blocks(img, header, blocks)         # as inpaint_fits warns of them
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != img.shape:
        raise InputError(f"mask shape {mask.shape} differs from image shape {img.shape}")
    if not np.all(np.isfinite(img[~mask])):
        raise InputError("the image holds NaN or inf outside the mask")
    if img.dtype.itemsize > 8 or img.dtype.kind in "iu" and img.dtype.itemsize == 8:    # battery s36: float128
        kept = img[~mask]
        if not np.array_equal(kept.astype(np.float64).astype(img.dtype), kept):
            raise InputError(f"the image's {img.dtype} values are not all exact in float64, which the fill returns: "
                             "its valid pixels would come back changed; convert it to float64 yourself")
    return img, mask


def _checked_arguments(src, dst, neighbours, max_pixels, max_gap) -> list | None:
    """`inpaint_fits`'s ``neighbours`` as a list of paths (or None); a one-line `InputError` for an argument of the
    wrong type, a ``max_pixels`` that is not a whole number >= 1 or a ``max_gap`` that is not a number >= 0."""
    if isinstance(neighbours, (str, os.PathLike)):        # one file, not a sequence of its characters
        neighbours = [neighbours]
    if isinstance(neighbours, (bytes, dict, np.ndarray)) or not hasattr(neighbours or (), "__iter__"):
        raise InputError(f"neighbours: expected a list of file paths, got {type(neighbours).__name__}")
    neighbours = None if neighbours is None else list(neighbours)
    if not all(isinstance(p, (str, os.PathLike)) for p in neighbours or ()):
        raise InputError(f"neighbours: expected file paths, got {[type(p).__name__ for p in neighbours]}")
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, float, np.integer, np.floating)) or not (
            math.isfinite(max_pixels) and max_pixels == int(max_pixels) and max_pixels >= 1):
        raise InputError(f"max_pixels = {max_pixels!r}: expected a whole number of pixels >= 1")
    check_max_gap(max_gap)
    for what, path in (("src", src), ("dst", dst)):
        if not isinstance(path, (str, os.PathLike)) and (path is not None or what == "src"):
            raise InputError(f"{what}: expected a file path, got {type(path).__name__}")
        if path is not None and not str(os.fspath(path)).strip():     # battery s36: ".: is a folder"
            raise InputError(f"{what}: {'an empty path' if not str(os.fspath(path)) else 'a name of blanks only'}; "
                             "give a file name")
    return neighbours


def inpaint_fits(src: str | os.PathLike, dst: str | os.PathLike | None = None, *, neighbours=None,
                 method: str | FillMethod = DEFAULT_METHOD, device: str = "auto", weights=None,
                 threads: int | None = None, overwrite: bool = False, refill: bool = False,
                 max_pixels: int = MAX_PIXELS, max_gap: float | None = MAX_GAP_MINUTES) -> fits.HDUList:
    """Fill the missing blocks of a LASCO level-0.5 FITS file.

    Parameters
    ----------
    src, dst : path-like
        The level-0.5 FITS file, only read; where to write the result (atomically), None: only return it.
    neighbours : path-like or sequence of path-like, optional
        Level-0.5 files of the same field before and after ``src`` (see
        `inpaint_array`); only read. `corkit_inpaint.pairing.pair_neighbours`
        chooses them from a list of files. One that cannot be read is left out
        with a logged warning. None: fill from ``src`` alone.
    method : str or FillMethod
        A registered method name (see `inpaint_array`), or a `FillMethod` instance.
    device, weights, threads
        As for `inpaint_array`.
    overwrite : bool
        Replace an existing ``dst``. The input itself is never replaced, also
        not through a link.
    refill : bool
        Fill a file that an earlier run filled: its INPMASK pixels keep their
        values, stay flagged and keep their INPSIGMA, and are not read as data.
    max_pixels : int
        Refuse larger images before reading them (`corkit_inpaint.read.MAX_PIXELS`).
    max_gap : float or None
        As for `inpaint_array`.

    Returns
    -------
    astropy.io.fits.HDUList
        Primary HDU: the input's data type and header, filled pixels replaced,
        provenance keywords and a HISTORY card added. Extension ``INPMASK``:
        uint8, 1 where a pixel was filled. Extension ``INPSIGMA``, when the
        method gives a 1-sigma (primary keyword ``INPSIGMA = T``): float32, the
        fill's 1-sigma in the data's unit, 0 where nothing was estimated (every
        valid pixel: their own noise is not included); ``UTYPE =
        'StdDevUncertainty'``, so astropy's ``CCDData.read(dst,
        hdu_uncertainty='INPSIGMA', hdu_mask='INPMASK', unit='DN')`` reads it.
        Both carry the image's WCS (`corkit_inpaint.write.SKY_KEYWORDS`); the
        input's other extensions follow them.

    Raises
    ------
    InputError
        A file or output path that cannot be processed (see `corkit_inpaint.read.read_level05`),
        or a ``max_gap`` that is not a number >= 0 or None.

    Notes
    -----
    Integer data (level-0.5 DN) keep their type: filled values are rounded to
    the nearest integer and clipped to the type's range; no filled value exceeds the detector's
    saturation (16383 DN times the on-board summing, or the frame's largest value). Valid pixels are
    copied, never recomputed, so they are bit-identical to the input.
    """
    neighbours = _checked_arguments(src, dst, neighbours, max_pixels, max_gap)
    overwrite, refill = check_switch(overwrite, "overwrite"), check_switch(refill, "refill")
    if not Path(src).exists():                   # the missing input is the error to report, not the output
        raise InputError(f"{src}: no such file")
    inputs = [src, *(neighbours or ()), *weights_inputs(weights)]     # the weights file is read too
    if dst is not None:
        check_output_path(dst, overwrite=overwrite, src=inputs)
    r = read_level05(src, max_pixels=max_pixels, refill=refill, extras=True)
    check_own_sigma(r)
    nbs = read_neighbours(neighbours, max_pixels=max_pixels) if as_method(method).reads_neighbours else []
    with using_threads(threads):
        filled = fill_level05(r.data, r.header, method, device=device, weights=weights, neighbours=nbs,
                              previous_fill=r.previous_fill, previous_sigma=r.previous_sigma, max_gap=max_gap)
    hdul = output_hdulist(filled, r.header, r.extras)
    if dst is not None:
        write_atomic(hdul, dst, overwrite=overwrite, src=inputs)
        log.info("wrote %s (%d blocks filled)", dst, len(filled.blocks))
    return hdul
