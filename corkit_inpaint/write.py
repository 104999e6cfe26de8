"""The write step: provenance keywords, HISTORY, INPMASK and INPSIGMA for a filled image, and atomic output."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import logging
import lzma
import os
import textwrap
import warnings
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from . import header as H
from .exceptions import InputError
from .fill import FilledImage
from .tempfiles import fsync_dir, temp_beside

__all__ = ["provenance_cards", "stamp_header", "sigma_hdu", "output_hdulist", "input_clash", "output_clash",
           "distinct_files", "check_output_path", "tile_compressed", "write_atomic"]

log = logging.getLogger(__name__)

#: Marks the temporary an output is written to, ``.<name>.corkit-inpaint-<8 chars>.tmp[.gz]``, so a batch
#: rerun can tell a killed worker's leftover from anybody else's file.
TEMP_TAG = "corkit-inpaint-"


def _version() -> str:
    from . import __version__
    return __version__


def provenance_cards(filled: FilledImage) -> list[tuple[str, object, str]]:
    """The provenance keywords ``INPAINT`` ... ``INPSGBLK`` of a fill, and ``INPNBk``/``INPDTk`` per neighbour."""
    p = filled.provenance
    names, dts = (p.neighbours, p.neighbour_dt) if p else ((), ())
    nb = []
    for k, (name, dt) in enumerate(zip(names, dts), start=1):
        nb.append((f"INPNB{k}", str(name)[:68], f"neighbouring frame {k} the fill read"))
        nb.append((f"INPDT{k}", round(float(dt), 3) if np.isfinite(dt) else "unknown",
                   f"time of neighbour {k} minus this frame, s"))
    return [
        ("INPAINT", p.method if p else "none", "missing-block fill method (corkit-inpaint)"),
        ("INPMODEL", p.model if p else "none", "fill model id"),
        ("INPWSHA", p.sha256[:16] if p and p.sha256 else "none", "sha256 of the weights, first 16 hex"),
        ("INPVER", _version(), "corkit-inpaint version"),
        ("INPDEV", p.device if p else "none", "device used for the fill"),
        ("INPNBLK", len(filled.blocks), "number of 32x32 blocks filled"),
        ("INPNPIX", int(filled.filled.sum()), "number of pixels filled"),
        ("INPNNB", len(names), "number of neighbouring frames the fill read"),
        ("INPSGFAC", round(float(p.sigma_factor), 4) if p else 1.0, "fill 1-sigma scaled by this after its check"),
        ("INPSGBLK", int(p.sigma_blocks) if p else 0, "valid blocks blanked and filled to check 1-sigma"),
    ] + nb


def _neighbour_text(p) -> str:
    if not p.neighbours:
        return "from this frame alone"
    parts = [f"{n} ({dt:+.0f} s)" if np.isfinite(dt) else f"{n} (time unknown)"
             for n, dt in zip(p.neighbours, p.neighbour_dt)]
    return "from this frame and the neighbouring frames " + ", ".join(parts)


def _blocks(n: int) -> str:
    return f"{n} missing block{'s' if n != 1 else ''}"


def _history(filled: FilledImage, stage: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    head = f"corkit-inpaint {_version()} {stamp}:"
    p = filled.provenance
    if p is None:
        if filled.missing_blocks:
            return f"{head} {_blocks(filled.missing_blocks)} left masked ({filled.note})"
        return f"{head} {filled.note or 'no missing blocks'}; image unchanged"
    px = int(filled.filled.sum())
    what = (f"filled {px - filled.kept} px in missing blocks, beside {filled.kept} px an earlier fill made "
            f"({len(filled.blocks)} block{'s' if len(filled.blocks) != 1 else ''}, {px} px flagged in all),"
            if filled.kept else f"filled {_blocks(len(filled.blocks))} ({px} px)")
    text = f"{head} {what} with {p.method} {p.model} on {p.device}, {_neighbour_text(p)}"
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
    so no number is split across cards. A refill that fills nothing new keeps
    the earlier fill's provenance keywords. ``stage`` is ``"level 0.5"``,
    ``"level 1"`` or ``"map"`` (a SunPy map: its ``uncertainty``, not an
    ``INPSIGMA`` extension, holds the 1-sigma, so no ``INPSIGMA`` keyword).
    """
    hdr = header.copy()
    if filled.provenance is not None or not filled.kept:
        for key in [k for k in hdr if k.startswith(("INPNB", "INPDT"))]:   # an earlier fill's neighbours
            hdr.remove(key, ignore_missing=True, remove_all=True)
        for key, val, com in provenance_cards(filled):
            hdr[key] = (val, com)
    if stage != "map":
        hdr["INPSIGMA"] = (filled.sigma is not None, "INPSIGMA extension holds the fill's 1-sigma")
    for line in textwrap.wrap(_history(filled, stage), 70, break_long_words=False, break_on_hyphens=False):
        hdr.add_history(line)
    return hdr


def sigma_hdu(sigma: np.ndarray, bunit: str | None, notes=(), cards=()) -> fits.ImageHDU:
    """The ``INPSIGMA`` extension: the fill's 1-sigma as float32, readable by astropy's ``CCDData.read``.

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
    hdr["SIGZERO"] = ("not estimated", "0 = not estimated by corkit-inpaint, not no error")
    for key, val, com in cards:
        hdr[key] = (val, com)
    text = ("1-sigma uncertainty of the pixel values corkit-inpaint filled (INPMASK = 1). 0 means not "
            "estimated by corkit-inpaint, not 'no error': the valid pixels' own photon and readout noise "
            "is not included. " + " ".join(notes))
    for line in textwrap.wrap(text.strip(), 70, break_long_words=False, break_on_hyphens=False):
        hdr.add_comment(line)
    with np.errstate(over="ignore"):        # a 1-sigma beyond float32's range is written as inf
        data = np.asarray(sigma, dtype=np.float32)
    return fits.ImageHDU(data, header=hdr)


def output_hdulist(filled: FilledImage, header: fits.Header) -> fits.HDUList:
    """Primary HDU (the filled data, stamped header), the ``INPMASK`` and, when the fill has a 1-sigma, ``INPSIGMA``.

    ``INPSIGMA`` is in the data's unit (the header's ``BUNIT``, else DN).
    """
    hdr = stamp_header(header, filled)
    for k in ("BZERO", "BSCALE"):      # astropy re-derives scaling from the data type
        hdr.remove(k, ignore_missing=True)
    if filled.data.dtype.kind == "f":  # BLANK is for integer data only (a BLANK-flagged file is read as float)
        hdr.remove("BLANK", ignore_missing=True)
    mhdr = fits.Header()
    mhdr["EXTNAME"] = "INPMASK"
    mhdr["COMMENT"] = "1 where corkit-inpaint filled the pixel, 0 elsewhere"
    hdul = fits.HDUList([fits.PrimaryHDU(data=filled.data, header=hdr),
                         fits.ImageHDU(filled.filled.astype(np.uint8), header=mhdr)])
    if filled.sigma is not None:
        bunit = str(header.get("BUNIT", "")).strip() or "DN"
        hdul.append(sigma_hdu(filled.sigma, bunit))
    return hdul


def _identity(path) -> tuple | None:
    """``(st_dev, st_ino)`` of an existing file (links followed), else None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _resolved(path) -> str:
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def input_clash(outputs: Iterable, inputs: Iterable) -> str:
    """Why some output is an input of the run ("" when none is): one line naming both.

    Checked up front, before anything is written, by the serial ``fill``,
    `corkit_inpaint.level1.level_1` and batch runs. An output is the same file
    as an input when both exist and share device and inode (hard and symbolic
    links count), else when both resolve to the same path. Each path is
    stat'ed once, so the check stays linear in the number of files.

    Parameters
    ----------
    outputs : iterable of path-like
        Every file the run would write.
    inputs : iterable of path-like
        Every file it reads: the files to fill, their neighbours, the pool.
    """
    by_id, by_path = {}, {}
    for p in inputs:
        ident = _identity(p)
        if ident is not None:
            by_id.setdefault(ident, p)
        by_path.setdefault(_resolved(p), p)
    for out in outputs:
        ident = _identity(out)
        src = by_id.get(ident) if ident is not None else by_path.get(_resolved(out))
        if src is not None:
            link = "" if os.fspath(src) == os.fspath(out) else " (or a link to it)"
            return (f"{os.fspath(out)}: is the input file {os.fspath(src)}{link}; refusing to write an output "
                    "over an input of the run, even with --overwrite")
    return ""


def distinct_files(paths: Iterable) -> list[Path]:
    """``paths`` as `Path`, each file once (the first spelling kept; symbolic and hard links, ``./`` resolved)."""
    seen = {}
    for p in paths:
        seen.setdefault(_identity(p) or _resolved(p), Path(p))
    return list(seen.values())


def output_clash(pairs: Iterable) -> str:
    """Why two inputs of a run would write the same output ("" when none would): one line naming both.

    Parameters
    ----------
    pairs : iterable of (path-like, path-like)
        ``(input, output)`` for every file the run would write; outputs are
        compared as `input_clash` compares an output with an input.
    """
    taken = {}
    for src, out in pairs:
        key = _identity(out) or _resolved(out)
        if key in taken and _resolved(taken[key]) != _resolved(src):
            return (f"{os.fspath(out)}: would be the output of both {os.fspath(taken[key])} and {os.fspath(src)}; "
                    "refusing to let one overwrite the other")
        taken.setdefault(key, src)
    return ""


def check_output_path(dst: str | os.PathLike, *, overwrite: bool, src=None) -> Path:
    """Refuse an output path that cannot safely be written, with a one-line reason.

    Refused: an input (also through links), an existing file without
    ``overwrite``, anything but a regular file (a device or FIFO, even with
    ``overwrite``), and a missing or unwritable folder. ``src`` is the input
    file, or a list of input files (a frame and its neighbours).

    Raises
    ------
    InputError
        With a one-line reason.
    """
    if str(dst).endswith(("/", os.sep)):
        raise InputError(f"{dst}: names a folder; give a file name (or use --outdir)")
    dst = Path(dst)
    why = input_clash([dst], [] if src is None else [src] if isinstance(src, (str, os.PathLike)) else src)
    if why:
        raise InputError(why)
    if dst.is_dir():
        raise InputError(f"{dst}: is a folder")
    if dst.exists() and not dst.is_file():      # a device, FIFO or socket: replacing it is never a file write
        raise InputError(f"{dst}: exists and is not a regular file (a device, FIFO or socket); not replaced")
    if (dst.exists() or dst.is_symlink()) and not overwrite:
        raise InputError(f"{dst}: exists (use overwrite / --overwrite)")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{dst}: output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{dst}: output folder {parent} is not writable")
    return dst


def _place(tmp: Path, dst: Path, overwrite: bool) -> None:
    """Move ``tmp`` to ``dst``: replace when ``overwrite``, else exclusively (fails if ``dst`` appeared)."""
    if overwrite:
        os.replace(tmp, dst)
        return
    try:
        os.link(tmp, dst)          # atomic and exclusive: EEXIST if another process got there first
    except FileExistsError:
        raise InputError(f"{dst}: exists (written by another process meanwhile); not overwritten") from None
    except FileNotFoundError:      # the temporary itself is gone: nothing to place, nothing claimed
        raise
    except OSError:                # no hard links here: claim the name exclusively, then replace it
        try:
            os.close(os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            raise InputError(f"{dst}: exists (written by another process meanwhile); not overwritten") from None
        try:
            os.replace(tmp, dst)
        except BaseException:      # never leave the empty claim behind
            with contextlib.suppress(OSError):
                dst.unlink()
            raise
        return
    tmp.unlink()


#: Output name suffix: how the file is compressed (given the raw file and the output's name).
_COMPRESSORS = {
    ".gz": lambda raw, name: gzip.GzipFile(filename=name, mode="wb", fileobj=raw),    # the header names dst
    ".bz2": lambda raw, name: bz2.BZ2File(raw, mode="wb"),
    ".xz": lambda raw, name: lzma.LZMAFile(raw, mode="wb"),
}


def tile_compressed(hdul: fits.HDUList) -> fits.HDUList:
    """``hdul`` with each image tile-compressed losslessly (fpack's ``.fz``): RICE for integers, GZIP for floats.

    The primary HDU's image moves to the first extension with its header, as
    fpack writes it; floating-point data are not quantized, so every value is kept.
    astropy refuses to compress a header with control characters (archive
    headers carry tabs in HISTORY): in these cards each becomes a space.
    """
    out = fits.HDUList([fits.PrimaryHDU()])
    for hdu in hdul:
        if hdu.data is None:
            continue
        hdr = fits.Header([fits.Card.fromstring(text) if (text := H.printable(c.image, " ")) != c.image else c
                           for c in hdu.header.cards
                           if c.keyword not in ("SIMPLE", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT")])
        kind = {"compression_type": "RICE_1"} if hdu.data.dtype.kind in "iu" and hdu.data.dtype.itemsize <= 4 \
            else {"compression_type": "GZIP_2", "quantize_level": 0.0}       # RICE cannot hold 64-bit integers
        out.append(fits.CompImageHDU(hdu.data, hdr, name=hdu.name if hdu.name != "PRIMARY" else None, **kind))
    return out


def write_atomic(hdul: fits.HDUList, dst: str | os.PathLike, *, overwrite: bool = False,
                 src=None) -> Path:
    """Write ``hdul`` to a temporary file beside ``dst``, then move it into place atomically.

    A name ending in ``.gz``, ``.bz2`` or ``.xz`` gets content compressed so
    (a gzip header names ``dst``, not the temporary); one ending in ``.fz`` is tile-compressed,
    losslessly (`tile_compressed`). The file's mode follows the umask.
    Without ``overwrite`` the final placement is exclusive, so two processes
    never both write one output. Nothing is left behind on
    failure (a full disk, a permission error, a kill: the temporary's name
    starts with a dot and ends in ``.tmp``).
    """
    dst = check_output_path(dst, overwrite=overwrite, src=src)
    suffix = dst.suffix.lower()
    tmp = temp_beside(dst.parent, f".{dst.name}.{TEMP_TAG}", ".tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            # 'ignore' keeps the input's own cards verbatim (archive headers can
            # carry e.g. tabs in HISTORY that astropy cannot "fix")
            if suffix == ".fz":
                hdul = tile_compressed(hdul)
            if suffix in _COMPRESSORS:          # compressed as its name says (the input's, with --outdir)
                with open(tmp, "wb") as raw, _COMPRESSORS[suffix](raw, dst.name) as out:
                    hdul.writeto(out, output_verify="ignore")
            else:       # by name: astropy's free-space check needs the name
                hdul.writeto(tmp, overwrite=True, output_verify="ignore")
        fh = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fh)
        finally:
            os.close(fh)
        _place(tmp, dst, overwrite)
        fsync_dir(dst.parent)          # the new name survives a power cut too
    except InputError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        reason = getattr(exc, "strerror", None) or (str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        raise InputError(f"{dst}: could not be written ({reason})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dst
