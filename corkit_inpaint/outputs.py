"""Where an output goes: never over an input or another file's output, placed exclusively, written atomically.

`write_atomic` writes an `astropy.io.fits.HDUList` (`corkit_inpaint.write`
makes it) to a temporary beside the output and moves it into place, so no
half-written file ever carries the output's name; the checks before it
(`check_output_path`, `input_clash`, `output_clash`) refuse an output that is
an input, also through a link, or that two inputs would both write.
`remove_stale_temps` removes what a killed (SIGKILL) write left beside outputs.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import logging
import lzma
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from . import header as H
from .abandoned import STALE_AFTER, TEMP_TAG, file_identity, held, remove_stale_temps, temp_head
from .exceptions import InputError, OutputExistsError, first_line, shown
from .tempfiles import fsync_dir, not_written, removed_on_sigterm, temp_for

__all__ = ["TEMP_TAG", "STALE_AFTER", "temp_head", "remove_stale_temps", "ReplaceCheck", "file_key", "input_clash",
           "output_clash", "distinct_files", "check_output_path", "tile_compressed", "write_atomic"]

log = logging.getLogger(__name__)

def _resolved(path) -> str:
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def file_key(path) -> tuple | str:
    """What names one file however its path is written: device and inode when it exists (links followed),
    else its resolved path. Equal keys are the same file (`distinct_files`, `output_clash`)."""
    return file_identity(path) or _resolved(path)


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
        ident = file_identity(p)
        if ident is not None:
            by_id.setdefault(ident, p)
        by_path.setdefault(_resolved(p), p)
    for out in outputs:
        ident = file_identity(out)
        src = by_id.get(ident) if ident is not None else by_path.get(_resolved(out))
        if src is not None:
            link = "" if os.fspath(src) == os.fspath(out) else " (or a link to it)"
            return (f"{os.fspath(out)}: is the input file {os.fspath(src)}{link}; refusing to write an output "
                    "over an input of the run, even with --overwrite")
    return ""


def distinct_files(paths: Iterable) -> list[Path]:
    """``paths`` as `Path`, each file once (symbolic and hard links, ``./`` resolved), in the order first given.

    Of a file's spellings the first that is not a symbolic link is kept (else the first): the output is named
    after the file, not after a link to it listed before it. A spelling left out is logged with the one kept:
    a warning when its name differs (its own output name is not written), info when it is given twice.
    """
    seen: dict = {}
    for p in map(Path, paths):
        key = file_key(p)
        first = seen.setdefault(key, p)
        if first is p:
            continue
        if first.is_symlink() and not p.is_symlink():
            seen[key], first, p = p, p, first        # the file's own name, in the link's place
        if os.fspath(first) == os.fspath(p):
            log.info("%s: given twice, so taken once", shown(p))
        else:
            log.warning("%s: the same file as %s, so taken once, under that name", shown(p), shown(first))
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
        key = file_key(out)
        if key in taken and _resolved(taken[key]) != _resolved(src):
            return (f"{os.fspath(out)}: would be the output of both {os.fspath(taken[key])} and {os.fspath(src)}; "
                    "refusing to let one overwrite the other")
        taken.setdefault(key, src)
    return ""


#: ``replace_check(existing output)``: why it must not be replaced, one line ("" when it may be).
ReplaceCheck = Callable[[Path], str]


def check_output_path(dst: str | os.PathLike, *, overwrite: bool, src=None,
                      replace_check: ReplaceCheck | None = None) -> Path:
    """Refuse an output path that cannot safely be written, with a one-line reason.

    Refused: an input (also through links), an existing file without
    ``overwrite`` (unless ``replace_check`` says it may be replaced: a batch
    replaces only the outputs it wrote), anything but a regular file (a device
    or FIFO, even with ``overwrite``), and a missing or unwritable folder.
    ``src`` is the input file, or a list of input files (a frame and its neighbours).

    Raises
    ------
    OutputExistsError
        ``dst`` exists and is not to be replaced (an `InputError`).
    InputError
        With a one-line reason.
    """
    if not str(dst).strip():        # battery s36: "" was the current folder, "is a folder"
        raise InputError("an empty output path: give a file name")
    if str(dst).endswith(("/", os.sep)):
        raise InputError(f"{dst}: names a folder; give a file name")
    dst = Path(dst)
    try:
        return _checked_output(dst, overwrite, src, replace_check)
    except OSError as exc:          # battery s37: a name too long was errno's raw line, the whole name in it
        raise InputError(f"{shown(dst)}: cannot be an output ({exc.strerror or first_line(exc)})") from None


def _checked_output(dst: Path, overwrite: bool, src, replace_check: ReplaceCheck | None) -> Path:
    """`check_output_path`'s checks of a path (they may raise `OSError`: a name too long)."""
    why = input_clash([dst], [] if src is None else [src] if isinstance(src, (str, os.PathLike)) else src)
    if why:
        raise InputError(why)
    if dst.is_dir():
        raise InputError(f"{dst}: is a folder")
    if dst.exists() and not dst.is_file():      # a device, FIFO or socket: replacing it is never a file write
        raise InputError(f"{dst}: exists and is not a regular file (a device, FIFO or socket); not replaced")
    if (dst.exists() or dst.is_symlink()) and not overwrite and not _replaceable(dst, replace_check):
        raise OutputExistsError(f"{dst}: exists (use overwrite / --overwrite)")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():         # (battery s36: a file there was said not to exist)
        raise InputError(f"{dst}: output folder {parent} {'is not a folder' if parent.exists() else 'does not exist'}")
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
        raise OutputExistsError(f"{dst}: exists (written by another process meanwhile); not overwritten") from None
    except FileNotFoundError:      # the temporary itself is gone: nothing to place, nothing claimed
        raise
    except OSError:                # no hard links here: claim the name exclusively, then replace it
        try:
            os.close(os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            raise OutputExistsError(f"{dst}: exists (written by another process meanwhile); not overwritten") from None
        try:
            os.replace(tmp, dst)
        except BaseException:      # never leave the empty claim behind
            with contextlib.suppress(OSError):
                dst.unlink()
            raise
        return
    tmp.unlink()


def _replaceable(dst: Path, replace_check: ReplaceCheck | None) -> bool:
    """Whether ``dst`` is there now and ``replace_check`` lets it be replaced; `OutputExistsError` when it does not.

    False when ``dst`` is absent (or there is no check): the placement is then exclusive.
    """
    if replace_check is None or not (dst.exists() or dst.is_symlink()):
        return False
    why = replace_check(dst)
    if why:
        raise OutputExistsError(why)
    return True


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
        if hdu.data is None or not hdu.is_image or isinstance(hdu, fits.CompImageHDU):
            if hdu is not hdul[0]:      # a table, an image extension without data, one compressed already
                out.append(hdu)
            continue
        hdr = fits.Header([fits.Card.fromstring(text) if (text := H.printable(c.image, " ")) != c.image else c
                           for c in hdu.header.cards
                           if c.keyword not in ("SIMPLE", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT")])
        kind = {"compression_type": "RICE_1"} if hdu.data.dtype.kind in "iu" and hdu.data.dtype.itemsize <= 4 \
            else {"compression_type": "GZIP_2", "quantize_level": 0.0}       # RICE cannot hold 64-bit integers
        out.append(fits.CompImageHDU(hdu.data, hdr, name=hdu.name if hdu.name != "PRIMARY" else None, **kind))
    return out


def _write_fits(hdul: fits.HDUList, tmp: Path, name: str, suffix: str) -> None:
    """Write ``hdul`` to ``tmp``, compressed as the output ``name``'s ``suffix`` says."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)
        # 'ignore' keeps the input's own cards verbatim (archive headers can
        # carry e.g. tabs in HISTORY that astropy cannot "fix")
        if suffix == ".fz":
            hdul = tile_compressed(hdul)
        if suffix in _COMPRESSORS:          # compressed as its name says (the input's, with --outdir)
            with open(tmp, "wb") as raw, _COMPRESSORS[suffix](raw, name) as out:
                hdul.writeto(out, output_verify="ignore")
        else:       # by name: astropy's free-space check needs the name
            hdul.writeto(tmp, overwrite=True, output_verify="ignore")


def write_atomic(hdul: fits.HDUList, dst: str | os.PathLike, *, overwrite: bool = False,
                 src=None, replace_check: ReplaceCheck | None = None) -> Path:
    """Write ``hdul`` to a temporary file beside ``dst``, then move it into place atomically.

    A name ending in ``.gz``, ``.bz2`` or ``.xz`` gets content compressed so
    (a gzip header names ``dst``, not the temporary); one ending in ``.fz`` is tile-compressed,
    losslessly (`tile_compressed`). The file's mode follows the umask.
    Without ``overwrite`` the final placement is exclusive, so two processes
    never both write one output, except that an existing ``dst`` for which
    ``replace_check(dst)`` returns "" is replaced (asked when the write starts
    and again just before the placement; a ``dst`` absent then is placed
    exclusively, one it refuses is `OutputExistsError` with its reason).
    Nothing is left behind on failure (a full disk, a permission error, a
    kill: the temporary's name starts with a dot and ends in ``.tmp``).
    """
    dst = check_output_path(dst, overwrite=overwrite, src=src, replace_check=replace_check)
    suffix = dst.suffix.lower()
    # SIGTERM (a batch system's time limit) removes the temporary too: the block's clean-up runs first
    with removed_on_sigterm("a write", InputError(f"{dst}: terminated (SIGTERM)")):
        tmp = temp_for(dst, temp_head(dst.name))
        try:
            with held(tmp):                 # until placed: a later run tells a killed write's temporary by it
                _write_fits(hdul, tmp, dst.name, suffix)
                fh = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fh)
                finally:
                    os.close(fh)
                _place(tmp, dst, overwrite or _replaceable(dst, replace_check))
            fsync_dir(dst.parent)          # the new name survives a power cut too
        except InputError:
            tmp.unlink(missing_ok=True)
            raise
        except Exception as exc:
            tmp.unlink(missing_ok=True)
            raise not_written(dst, exc) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return dst
