"""The read step: a level-0.5 FITS file's image and header, refusing what cannot be filled.

Nothing is read blindly. The image's size is checked from its header before
its data are read (`MAX_PIXELS`, larger than any LASCO frame), a compressed
file is decompressed into memory only up to a bound, and every refusal is one
`InputError` line naming the file and why.
"""

from __future__ import annotations

import bz2
import gzip
import io
import logging
import lzma
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from . import header as H
from .earlier import check_earlier_mask
from .exceptions import InputError, first_line, not_a_file
from .extensions import MAX_HDUS, other_extensions
from .geometry import check_plate_scale

__all__ = ["MAX_PIXELS", "Level05", "read_level05", "read_fits", "read_header", "read_neighbours",
           "header_and_problem", "refuse_not_level05"]

log = logging.getLogger(__name__)

#: Largest image read by default: 2048 x 2048 pixels, 4x a full-resolution LASCO frame.
MAX_PIXELS = 2048 * 2048
_EXTRA_BYTES = 16 * 2 ** 20       # headers and small extensions beside the image
_OPENERS = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}   # by magic bytes
#: How a refused size can be read anyway (only these two take a limit: ``evaluate``, ``level_1`` and maps do not).
_RAISE = "(raise the limit to read it: inpaint_fits's max_pixels, or `corkit-inpaint fill --max-pixels`)"
_BITPIX = (8, 16, 32, 64, -32, -64)


@dataclass(frozen=True, eq=False)
class Level05:
    """A level-0.5 file as read: its image, header, and the mask and 1-sigma of an earlier fill.

    Attributes
    ----------
    data : numpy.ndarray
        The stored 2-D array, in its own type.
    header : astropy.io.fits.Header
    previous_fill : numpy.ndarray of bool or None
        The ``INPMASK`` of an earlier corkit-inpaint fill, when the file has one.
    previous_sigma : numpy.ndarray or None
        float64, the ``INPSIGMA`` of an earlier fill (its 1-sigma in the data's
        unit, 0 where none was estimated), when the file has one.
    path : pathlib.Path or None
        The file it was read from (a neighbour without FILENAME is named by it).
    extras : tuple of astropy.io.fits extension HDUs
        Copies of the file's other extensions, when asked for (`read_fits`), without CHECKSUM and DATASUM:
        the output carries them after its own (`corkit_inpaint.write.output_hdulist`).
    foreign_sigma : bool
        An ``INPSIGMA`` extension without ``INPMASK`` or ``INPAINT``: another's, not read (`check_own_sigma`).
    """

    data: np.ndarray
    header: fits.Header
    previous_fill: np.ndarray | None = None
    previous_sigma: np.ndarray | None = None
    path: Path | None = None
    extras: tuple = ()
    foreign_sigma: bool = False


def _source(src: Path, max_bytes: int):
    """The path itself, or for a compressed file (whatever its name) its content, decompressed up to ``max_bytes``."""
    with open(src, "rb") as fh:
        magic = fh.read(6)
    opener = next((op for m, op in _OPENERS.items() if magic.startswith(m)), None)
    if opener is None:
        return src
    try:
        with opener(src, "rb") as fh:
            blob = fh.read(max_bytes + 1)
    except (OSError, EOFError, lzma.LZMAError, ValueError) as exc:
        raise InputError(f"{src}: cannot be decompressed ({exc})") from None
    if len(blob) > max_bytes:
        raise InputError(f"{src}: decompresses to more than {max_bytes // 2 ** 20} MiB; "
                         f"no LASCO frame is that large {_RAISE}")
    return io.BytesIO(blob)


def _shape(hdu, src: Path, max_pixels: int) -> tuple[int, ...]:
    """The image's shape from its header, checked before any data are read."""
    hdr = hdu.header
    naxis = hdr.get("NAXIS")
    if not isinstance(naxis, int) or isinstance(naxis, bool) or not 0 <= naxis <= 999:
        raise InputError(f"{src}: keyword NAXIS = {naxis!r} is not a valid axis count")
    shape = []
    for i in range(naxis, 0, -1):
        n = hdr.get(f"NAXIS{i}")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InputError(f"{src}: keyword NAXIS{i} = {n!r} is missing or not a valid length")
        shape.append(n)
    if hdr.get("BITPIX") not in _BITPIX:
        raise InputError(f"{src}: keyword BITPIX = {hdr.get('BITPIX')!r} is missing or invalid")
    if shape and int(np.prod(shape, dtype=np.float64)) > max_pixels:
        raise InputError(f"{src}: the image claims {' x '.join(map(str, shape[::-1]))} pixels, more than "
                         f"the limit of {max_pixels} {_RAISE}")
    return tuple(shape)


def _image_hdu(hdul, src: Path, max_pixels: int):
    """The first HDU with image data, and the INPMASK and INPSIGMA extensions (None where absent)."""
    image, extra = None, {"INPMASK": None, "INPSIGMA": None}
    for k, hdu in enumerate(hdul):
        if k >= MAX_HDUS:
            break
        if hdu.name in extra:
            extra[hdu.name] = hdu if extra[hdu.name] is None else extra[hdu.name]
        elif image is None and hdu.is_image and _shape(hdu, src, max_pixels):
            image = hdu
    if image is None:
        raise InputError(f"{src}: no image HDU with data")
    return image, extra["INPMASK"], extra["INPSIGMA"]


def _read_sigma(hdu, src: Path, max_pixels: int, shape: tuple) -> np.ndarray:
    """An earlier fill's INPSIGMA as float64: the image's shape (checked before reading), no NaN, not negative.

    inf is accepted: the writer stores a 1-sigma beyond float32's range as inf.
    """
    claimed = _shape(hdu, src, max_pixels)
    if claimed != tuple(shape):
        raise InputError(f"{src}: its INPSIGMA has shape {claimed}, the image {tuple(shape)}")
    sigma = np.array(hdu.data, dtype=np.float64)
    if np.any(np.isnan(sigma) | (sigma < 0)):
        raise InputError(f"{src}: its INPSIGMA holds NaN or negative values")
    return sigma


def _read_mask(hdu, src: Path, max_pixels: int) -> np.ndarray:
    """An earlier fill's INPMASK as bool: an image of 0s and 1s (as the writer stores it), else one line."""
    if not hdu.is_image:
        raise InputError(f"{src}: its INPMASK is not an image extension")
    _shape(hdu, src, max_pixels)
    mask = np.array(hdu.data)
    if mask.dtype.kind not in "biuf" or not np.all((mask == 0) | (mask == 1)):
        raise InputError(f"{src}: its INPMASK holds values other than 0 and 1 (NaN, or not a mask)")
    return mask != 0


@contextmanager
def _opened(src: Path, max_pixels: int):
    """The file opened lazily as an HDUList; any failure becomes one `InputError` line."""
    if why := not_a_file(src):
        raise InputError(f"{src}: {why}{', not a FITS file' if src.is_dir() else ''}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(_source(src, max_pixels * 8 + _EXTRA_BYTES), memmap=False, lazy_load_hdus=True) as hdul:
                yield hdul
    except InputError:
        raise
    except Exception as exc:      # astropy raises many kinds on malformed files
        if isinstance(exc, OSError) and exc.errno is not None:    # the system refused (permission, I/O), not its bytes
            raise InputError(f"{src}: cannot be read ({exc.strerror or first_line(exc)})") from None
        raise InputError(f"{src}: not a FITS file, or truncated ({type(exc).__name__}: {first_line(exc)})") from None


def read_header(src: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> fits.Header:
    """The header of a FITS file's first image, without reading its data.

    Raises
    ------
    InputError
        What `read_fits` refuses before reading data, and non-numeric numeric keywords.
    """
    src = Path(src)
    with _opened(src, max_pixels) as hdul:
        header = _image_header(hdul, _image_hdu(hdul, src, max_pixels)[0])
    H.check_header(header, str(src))
    return header


def _image_header(hdul, hdu) -> fits.Header:
    """A copy of the image's header, with the primary keywords it lacks when the image is an extension."""
    header = hdu.header.copy()
    if hdu is not hdul[0] and hdul[0].header:
        for card in hdul[0].header.cards:     # inherit primary keywords the image lacks
            if card.keyword not in header and card.keyword not in ("", "SIMPLE", "EXTEND", "NAXIS"):
                header.append(card)
    return header


def header_and_problem(src: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> tuple[fits.Header, str | None]:
    """A file's first image header (as `read_header`), and what stops it serving as a neighbour, in one opening.

    Its data are not read: what the headers and the file's size say. Pairing
    (`corkit_inpaint.pairing`) passes over such a file to the next frame on
    that side: the data of its image, INPMASK or INPSIGMA cut short, a level-1
    file, a CDELT its read refuses (`corkit_inpaint.geometry.check_plate_scale`), an EXPTIME that is not positive,
    an earlier fill's keywords without its INPMASK.

    Returns
    -------
    header : astropy.io.fits.Header
    problem : str or None
        Why not, in a few words; None when nothing in the headers stops it
        (its data may still be refused when read).

    Raises
    ------
    InputError
        What `read_header` refuses.
    """
    src = Path(src)
    with _opened(src, max_pixels) as hdul:
        hdu, inpmask, inpsigma = _image_hdu(hdul, src, max_pixels)
        header = _image_header(hdul, hdu)
        try:
            short = next((why for h in (hdu, inpmask, inpsigma) if (why := _cut_short(hdul, h, src, max_pixels))),
                         None)
        except InputError as exc:            # a malformed INPMASK or INPSIGMA header
            short = str(exc).removeprefix(f"{src}: ")
        has_mask = inpmask is not None
    H.check_header(header, str(src))
    if short:
        return header, short
    try:            # what the read refuses of a header: another instrument, level 1, a CDELT (review s37)
        refuse_not_level05(header, str(src))
    except InputError as exc:
        return header, str(exc).removeprefix(f"{src}: ")
    exptime = H.number(header, "EXPTIME")
    if exptime is not None and not exptime > 0:
        return header, f"EXPTIME = {exptime} is not positive"
    try:
        check_earlier_mask(header, True if has_mask else None, str(src))
    except InputError as exc:
        return header, str(exc).removeprefix(f"{src}: ")
    return header, None


def _cut_short(hdul, hdu, src: Path, max_pixels: int) -> str | None:
    """Whether the file ends before ``hdu``'s data do (None: it does not, or ``hdu`` is None or tile-compressed)."""
    if hdu is None or not hdu.is_image or isinstance(hdu, fits.CompImageHDU):   # a compressed table is smaller
        return None
    info = hdul.fileinfo(hdul.index(hdu))
    need = info["datLoc"] + abs(int(hdu.header["BITPIX"])) // 8 * int(np.prod(_shape(hdu, src, max_pixels)))
    size = getattr(info["file"], "size", None)
    if isinstance(size, int) and size < need:
        what = hdu.name if hdu.name in ("INPMASK", "INPSIGMA") else "image"
        return f"its {what} data are cut short ({size} of {need} bytes)"
    return None


def read_fits(src: str | os.PathLike, *, max_pixels: int = MAX_PIXELS, extras: bool = False) -> Level05:
    """Read a FITS file's first image, its header and any ``INPMASK`` and ``INPSIGMA``, with every check but the level.

    With ``extras``, also its other extensions (`Level05.extras`; one that cannot be read is left out, warned).

    Raises
    ------
    InputError
        A folder, a missing file, not FITS or truncated, an image larger than ``max_pixels``, a bad
        NAXIS/BITPIX, no 2-D image, NaN or inf, a header `corkit_inpaint.header.check_header` refuses.
    """
    src = Path(src)
    with _opened(src, max_pixels) as hdul:
        hdu, inpmask, inpsigma = _image_hdu(hdul, src, max_pixels)
        data = np.array(hdu.data)
        header = _image_header(hdul, hdu)
        previous = None if inpmask is None else _read_mask(inpmask, src, max_pixels)
        foreign = inpsigma is not None and inpmask is None and "INPAINT" not in header     # not an earlier fill's
        sigma = None if inpsigma is None or foreign else _read_sigma(inpsigma, src, max_pixels, data.shape)
        others = other_extensions(hdul, (hdu, inpmask, inpsigma), src, max_pixels * 8) if extras else ()
    if data.ndim != 2:
        raise InputError(f"{src}: expected a 2-D image, got {data.ndim}-D data of shape {data.shape}")
    if previous is not None and previous.shape != data.shape:
        raise InputError(f"{src}: its INPMASK has shape {previous.shape}, the image {data.shape}")
    if data.dtype.kind not in "iuf":
        raise InputError(f"{src}: image data of type {data.dtype} is not numeric")
    if not np.all(np.isfinite(data)):
        n = int(np.sum(~np.isfinite(data)))
        if "BLANK" in header:                # astropy made the pixels at the BLANK value NaN
            raise InputError(f"{src}: {n} pixels are undefined (BLANK = {header['BLANK']}, or NaN); LASCO "
                             "level-0.5 files have none: set them to 0 for their blocks to be found and filled")
        raise InputError(f"{src}: the image holds {n} NaN or inf values")
    H.check_header(header, str(src))
    return Level05(data, header, previous, sigma, Path(src), others, foreign)


def read_level05(src: str | os.PathLike, *, max_pixels: int = MAX_PIXELS,
                 refill: bool = False, extras: bool = False) -> Level05:
    """Read a LASCO level-0.5 file, refusing what cannot be filled.

    Parameters
    ----------
    src : path-like
        A FITS file (``.fts``, ``.fits``, optionally ``.gz``, ``.bz2`` or ``.xz``).
    max_pixels : int
        Refuse images with more pixels than this, before reading them.
    refill : bool
        Accept a file an earlier corkit-inpaint run filled (it has ``INPAINT``
        or ``INPMASK``); its earlier mask comes back in ``previous_fill``, and
        its earlier ``INPSIGMA`` (if any) in ``previous_sigma``.
    extras : bool
        As for `read_fits`.

    Returns
    -------
    Level05

    Raises
    ------
    InputError
        Everything `read_fits` refuses; a file of another instrument
        (``INSTRUME`` not LASCO); an all-zero image; an already level-1
        file (``LEVEL`` 1, ``BUNIT`` MSB, ``LVL_NUM`` or corkit's ``LEVEL_1``);
        an already filled file without ``refill``.
    """
    r = read_fits(src, max_pixels=max_pixels, extras=extras)
    header = r.header
    refuse_not_level05(header, str(src))
    if not np.any(r.data):
        raise InputError(f"{src}: the image " + ("is all zero" if r.data.size else f"has no pixels ({r.data.shape})"))
    if not refill and (r.previous_fill is not None or "INPAINT" in header):
        raise InputError(f"{src}: already filled by corkit-inpaint (INPAINT={header.get('INPAINT')!r}); "
                         "use refill=True (fill and level_1: --refill) to fill it again and keep the earlier "
                         "INPMASK")
    check_earlier_mask(header, r.previous_fill, str(src))
    return r


def read_neighbours(paths, *, max_pixels: int = MAX_PIXELS) -> list[Level05]:
    """Read neighbouring frames; one that cannot be read is left out with a logged warning.

    A neighbour only helps: the frame it would help is still filled without it.
    An earlier fill's INPMASK comes back in ``previous_fill`` (those pixels are not data).
    """
    out = []
    for p in paths or ():
        if not isinstance(p, (str, os.PathLike)):
            raise InputError(f"neighbours: expected file paths, got {type(p).__name__}")
        try:
            out.append(read_level05(p, max_pixels=max_pixels, refill=True))
        except InputError as exc:
            log.warning("neighbouring frame left out: %s", exc)
    return out


def refuse_not_level05(header, what: str) -> None:
    """A one-line `InputError` for a header of another instrument than LASCO (``INSTRUME``), of a calibrated file
    (`corkit_inpaint.header.level1_marks`), or whose CDELT contradicts its DETECTOR (`geometry.check_plate_scale`)."""
    if H.other_instrument(header):
        raise InputError(f"{what}: INSTRUME = {H.get(header, 'INSTRUME')!r}: the fill is made for LASCO level-0.5 "
                         "frames (corkit_inpaint.inpaint_array takes any array, at your own judgement)")
    if marks := H.level1_marks(header):
        said = ", ".join(f"{k}={v!r}" for k, v in marks.items())
        raise InputError(f"{what}: already level 1 ({said}); missing blocks are filled on level-0.5 data")
    check_plate_scale(header, what)
