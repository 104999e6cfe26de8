"""The write step's content: provenance keywords, HISTORY, INPMASK and INPSIGMA for a filled image.

Where and how the file is written (never over an input, atomically) is `corkit_inpaint.outputs`.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterable
from datetime import datetime, timezone

import numpy as np
from astropy.io import fits

from .fill import FilledImage
from .header import SKY_KEYWORDS

__all__ = ["BATCH_KEYWORD", "provenance_cards", "stamp_header", "sigma_hdu", "mask_hdu", "SKY_KEYWORDS", "sky_cards",
           "output_hdulist"]

log = logging.getLogger(__name__)

#: The keyword a batch run stamps on each output it writes: its manifest's id (`corkit_inpaint.batch.stamp`).
#: A batch replaces an existing output only when it carries the batch's own id.
BATCH_KEYWORD = "INPBATCH"


def _version() -> str:
    from . import __version__
    return __version__


def provenance_cards(filled: FilledImage) -> list[tuple[str, object, str]]:
    """The provenance keywords ``INPAINT`` ... ``INPSGBLK`` of a fill, and ``INPNBk``/``INPDTk`` per neighbour.

    ``INPPREC`` is the precision the network ran in (`corkit_inpaint.methods.Provenance.precision`):
    ``float32`` on the CPU, ``float16``/``bfloat16`` only from a GPU batch run with ``--precision``,
    ``none`` for a method that runs no network (and when nothing was filled).
    """
    p = filled.provenance
    names, dts = (p.neighbours, p.neighbour_dt) if p else ((), ())
    nb = []
    for k, (name, dt) in enumerate(zip(names, dts), start=1):
        nb.append((f"INPNB{k}", str(name)[:68], f"neighbouring frame {k} that gave data"))
        nb.append((f"INPDT{k}", round(float(dt), 3) if np.isfinite(dt) else "unknown",
                   f"time of neighbour {k} minus this frame, s"))
    return [
        ("INPAINT", p.method if p else "none", "missing-block fill method (corkit-inpaint)"),
        ("INPMODEL", p.model if p else "none", "fill model id"),
        ("INPWSHA", p.sha256[:16] if p and p.sha256 else "none", "sha256 of the weights, first 16 hex"),
        ("INPVER", _version(), "corkit-inpaint version"),
        ("INPDEV", p.device if p else "none", "device used for the fill"),
        ("INPPREC", p.precision if p else "none", "network precision (none: no network ran)"),
        ("INPNBLK", len(filled.blocks), "number of 32x32 blocks filled"),
        ("INPNPIX", int(filled.filled.sum()), "number of pixels filled"),
        ("INPNNB", len(names), "number of neighbouring frames that gave data"),
        ("INPSGFAC", round(float(p.sigma_factor), 4) if p else 1.0, "fill 1-sigma scaled by this after its check"),
        ("INPSGBLK", int(p.sigma_blocks) if p else 0, "valid blocks blanked, filled to check 1-sigma"),
    ] + ([("INPSGFAL", round(float(p.sigma_factor_alone), 4), "INPSGFAC of holes filled from this frame alone")]
         if p and p.sigma_factor_alone is not None else []) + nb


def _neighbour_text(p) -> str:
    if not p.neighbours:
        return "from this frame alone"
    parts = [f"{n} ({dt:+.0f} s)" if np.isfinite(dt) else f"{n} (time unknown)"
             for n, dt in zip(p.neighbours, p.neighbour_dt)]
    return f"from this frame and the neighbouring frame{'s' if len(parts) > 1 else ''} " + ", ".join(parts)


def _blocks(n: int) -> str:
    return f"{n} missing block{'s' if n != 1 else ''}"


def _history(filled: FilledImage, stage: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    head = f"corkit-inpaint {_version()} {stamp}:"
    p = filled.provenance
    if p is None:
        if filled.missing_blocks:
            return f"{head} {_blocks(filled.missing_blocks)} left masked ({filled.note})"
        if filled.note and stage == "level 1":      # what level 1 did with pixels without data (its note)
            return f"{head} no missing blocks; {filled.note}"
        return f"{head} {filled.note or 'no missing blocks'}; image unchanged"
    px = int(filled.filled.sum())
    what = (f"filled {px - filled.kept} px in missing blocks, beside {filled.kept} px an earlier fill made "
            f"({len(filled.blocks)} block{'s' if len(filled.blocks) != 1 else ''}, {px} px flagged in all),"
            if filled.kept else f"filled {_blocks(len(filled.blocks))} ({px} px)")
    run = f"{p.device} in {p.precision}" if p.precision != "none" else p.device      # the network's precision
    model = f" {p.model}" if p.model != "none" else ""          # a classical method runs no model
    text = f"{head} {what} with {p.method}{model} on {run}, {_neighbour_text(p)}"
    if stage == "level 1":
        text += "; on the level-0.5 grid before corkit level_1; INPMASK marks affected level-1 pixels"
    if stage == "map":
        text += ("; the map's uncertainty holds the fill's 1-sigma where it estimated, elsewhere the input map's own "
                 "(0 without one)"
                 if filled.sigma is not None else "; no uncertainty: the method gives no 1-sigma")
    elif filled.sigma is None:
        text += "; no uncertainty: the method gives no 1-sigma, so there is no INPSIGMA extension"
    elif stage == "level 1":
        text += ("; INPSIGMA holds the fill's 1-sigma carried through the same calibration and geometry, "
                 "0 outside INPMASK")
    else:
        text += "; INPSIGMA holds the fill's 1-sigma, 0 where nothing was estimated"
    if filled.note:
        text += f"; {filled.note}"
    return text


def stamp_header(header: fits.Header, filled: FilledImage, *, stage: str = "level 0.5") -> fits.Header:
    """A copy of ``header`` with the provenance keywords and HISTORY cards of ``filled``.

    HISTORY is wrapped on word boundaries into cards of at most 70 characters,
    so no number is split across cards. The input's ``CHECKSUM`` and
    ``DATASUM`` are removed: they no longer hold; so is its ``INPBATCH``
    (`BATCH_KEYWORD`: the input is a batch's output): this file is not that
    batch's. A refill that fills nothing new keeps the earlier fill's provenance keywords. ``stage`` is ``"level 0.5"``,
    ``"level 1"`` or ``"map"`` (a SunPy map: its ``uncertainty``, not an
    ``INPSIGMA`` extension, holds the 1-sigma, so no ``INPSIGMA`` keyword).
    """
    hdr = header.copy()
    for key in ("CHECKSUM", "DATASUM", BATCH_KEYWORD):    # the input's: they no longer hold for this file
        hdr.remove(key, ignore_missing=True, remove_all=True)
    if filled.provenance is not None or not filled.kept:
        for key in [k for k in hdr if k.startswith(("INPNB", "INPDT")) or k == "INPSGFAL"]:   # an earlier fill's
            hdr.remove(key, ignore_missing=True, remove_all=True)
        for key, val, com in provenance_cards(filled):
            hdr[key] = (val, com)
    if stage != "map":
        hdr["INPSIGMA"] = (filled.sigma is not None, "INPSIGMA extension holds the fill's 1-sigma")
    for line in _card_lines(_history(filled, stage)):
        hdr.add_history(line)
    return hdr


def _card_lines(text: str) -> list[str]:
    """``text`` in lines of whole words that fit a HISTORY or COMMENT card (astropy cuts a long one mid-word)."""
    return textwrap.wrap(text, 70, break_long_words=False, break_on_hyphens=False)


def sigma_hdu(sigma: np.ndarray, bunit: str | None, notes=(), cards=()) -> fits.ImageHDU:
    """The ``INPSIGMA`` extension: the fill's 1-sigma as float32, readable by astropy's ``CCDData.read`` (a
    level-1 file's ``BUNIT``, corkit's MSB, is no astropy unit: the reader names one, see the README).

    The array is big-endian float32 (``>f4``), as FITS stores it, so writing it copies nothing.

    Parameters
    ----------
    sigma : numpy.ndarray
        1-sigma in the primary array's unit; 0 where corkit-inpaint estimated
        none. Values beyond float32's range are written as inf.
    bunit : str or None
        Its unit (``BUNIT``); None writes none.
    notes : sequence of str
        Further COMMENT text.
    cards : sequence of tuple
        Further ``(keyword, value, comment)`` cards.

    Returns
    -------
    astropy.io.fits.ImageHDU
        ``UTYPE = 'StdDevUncertainty'``, so ``CCDData.read(path, hdu_uncertainty='INPSIGMA',
        hdu_mask='INPMASK')`` reads it as a standard-deviation uncertainty.
    """
    hdr = fits.Header()
    hdr["EXTNAME"] = "INPSIGMA"
    if bunit:
        hdr["BUNIT"] = (bunit, "unit of the 1-sigma, as of the primary data")
    hdr["UTYPE"] = ("StdDevUncertainty", "astropy CCDData uncertainty class")
    hdr["SIGZERO"] = ("not estimated", "0 = not estimated, not zero error")
    for key, val, com in cards:
        hdr[key] = (val, com)
    text = ("1-sigma uncertainty of the pixel values corkit-inpaint filled (INPMASK = 1). 0 means not "
            "estimated by corkit-inpaint, not 'no error': the valid pixels' own photon and readout noise "
            "is not included. " + " ".join(notes))
    for line in _card_lines(text.strip()):
        hdr.add_comment(line)
    with np.errstate(over="ignore"):        # a 1-sigma beyond float32's range is written as inf
        data = np.asarray(sigma, dtype=">f4")   # FITS's byte order: written as it is, with no swapped copy
    return fits.ImageHDU(data, header=hdr)


def sky_cards(header: fits.Header) -> list[tuple[str, object, str]]:
    """The ``(keyword, value, comment)`` cards of `SKY_KEYWORDS` that ``header`` has, for an extension's header."""
    return [(k, header[k], header.comments[k]) for k in SKY_KEYWORDS if k in header]


def mask_hdu(mask: np.ndarray, cards=(), comment: str | None = None) -> fits.ImageHDU:
    """The ``INPMASK`` extension: ``mask`` as uint8, with the ``(keyword, value, comment)`` ``cards`` (`sky_cards`)
    and a COMMENT saying what 1 means, when given."""
    hdr = fits.Header()
    hdr["EXTNAME"] = "INPMASK"
    for line in _card_lines(comment or ""):
        hdr.add_comment(line)
    for key, val, com in cards:
        hdr[key] = (val, com)
    return fits.ImageHDU(np.asarray(mask).astype(np.uint8), header=hdr)


def output_hdulist(filled: FilledImage, header: fits.Header, extras: Iterable[fits.hdu.base.ExtensionHDU] = ()
                   ) -> fits.HDUList:
    """Primary HDU (the filled data, stamped header), the ``INPMASK`` and, when the fill has a 1-sigma, ``INPSIGMA``.

    ``INPSIGMA`` is in the data's unit (the header's ``BUNIT``, else DN). Both
    extensions carry the image's `SKY_KEYWORDS`. ``extras`` (the input's
    other extensions, `corkit_inpaint.read.Level05.extras`) follow them.
    """
    hdr = stamp_header(header, filled)
    for k in ("BZERO", "BSCALE"):      # astropy re-derives scaling from the data type
        hdr.remove(k, ignore_missing=True)
    if filled.data.dtype.kind == "f":  # BLANK is for integer data only (a BLANK-flagged file is read as float)
        hdr.remove("BLANK", ignore_missing=True)
    sky = sky_cards(hdr)
    hdul = fits.HDUList([fits.PrimaryHDU(data=filled.data, header=hdr),
                         mask_hdu(filled.filled, sky, "1 where corkit-inpaint filled the pixel, 0 elsewhere")])
    if filled.sigma is not None:
        bunit = str(header.get("BUNIT", "")).strip() or "DN"
        hdul.append(sigma_hdu(filled.sigma, bunit, cards=sky))
    hdul.extend(extras)
    return hdul
