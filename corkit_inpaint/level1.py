"""CorKit level-1 calibration with missing blocks filled first, on the level-0.5 grid.

The fill cannot go after corkit's ``level_1`` (its own model rewrites valid
pixels, and its missing-block mask is transposed), so it goes where SolarSoft
puts it: on the stored level-0.5 image, before calibration. The filled image is
written to a temporary copy -- corkit deletes input files on read errors, so it
never sees the user's file -- and the real ``corkit.lasco.level_1`` calibrates
that copy with its own network step switched off through its argument tuple
(see `corkit_inpaint.corkit_bridge.c3_args`). The block mask is then carried through corkit's own geometry (the
distortion warp and the roll rotation, both linear interpolations), so the
``INPMASK`` of the level-1 image marks every pixel whose value depends on a
filled pixel. The fill's 1-sigma, when the method gives one, goes through the
same corkit steps as the data (`corkit_inpaint.corkit_bridge.level1_maps`) into
an ``INPSIGMA`` extension in the level-1 image's unit.

Over a list, `level_1` raises the first file's error (one line naming it), as
``corkit.lasco.level_1`` does: the files after it are not processed, those
before it are written whole; ``corkit-inpaint level_1`` goes on past it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import stat
import tempfile
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from . import header as H
from .blocks import blocks_of
from .corkit_bridge import (
    calibrate,
    check_frame,
    corkit_calibration_dir,
    default_calib_dir,
    level1_maps,
)
from .corkit_missing import above_missing_floor
from .earlier import check_own_sigma
from .exceptions import CalibrationError, InputError
from .fill import as_method, fill_level05
from .level1_inputs import (
    LEVEL1_DETECTORS,
    calibration_faults,
    check_calibration,
    check_options,
    required_calibration_files,
)
from .methods import DEFAULT_METHOD, FillMethod
from .network.weights import weights_inputs
from .outputs import STALE_AFTER, check_output_path, distinct_files, input_clash, output_clash, write_atomic
from .pairing import MAX_GAP_MINUTES, neighbours_for
from .read import read_level05, read_neighbours
from .tempfiles import held, remove_if_abandoned, removed_on_sigterm, temp_folder
from .threads import using_threads
from .write import mask_hdu, sigma_hdu, sky_cards, stamp_header

__all__ = ["level_1", "output_name", "level1_hdulist", "required_calibration_files", "corkit_calibration_dir",
           "CalibrationError"]

log = logging.getLogger(__name__)


#: The temporary copy's folder corkit calibrates: `tempfile.mkdtemp`'s name in the system's temporary folder.
_COPY_PREFIX = "corkit-inpaint-"
_COPY_NAME = re.compile(re.escape(_COPY_PREFIX) + r"[a-z0-9_]{8}")
#: The file in it whose lock its live calibration holds (`corkit_inpaint.tempfiles.held`).
_COPY_LOCK = ".corkit-inpaint-lock"


def output_name(src: str | os.PathLike) -> str:
    """The level-1 file name for an input: its name without compression and FITS suffixes, plus ``.fits``."""
    name = Path(src).name
    for suffix in (".gz", ".bz2", ".xz", ".fz", ".fts", ".fits", ".fit"):
        if name.lower().endswith(suffix):
            name = name[:-len(suffix)]
    return name.replace(".", "") + ".fits"


_MASK_NOTE = ("1 where the level-1 pixel reads a level-0.5 pixel corkit-inpaint filled, or a missing one left "
              "unfilled or one without data whose transposed pixel holds data (such a pixel is 0); 0 elsewhere")


def level1_hdulist(img, hdr: fits.Header, inpmask, sigma) -> fits.HDUList:
    """The level-1 output of `level_1`'s ``(image, header, mask, sigma)``: the image, ``INPMASK`` and, when there
    is a sigma, ``INPSIGMA``.

    The image is written as corkit writes it: for C3 Clear its scaled counts with
    corkit's ``BSCALE``/``BZERO``, so the file reads back in MSB. astropy strips
    the two from a header given with data, so they are set again after.
    """
    primary = fits.PrimaryHDU(img, hdr)
    for key in ("BSCALE", "BZERO"):
        if key in hdr:
            primary.header[key] = (hdr[key], hdr.comments[key])
    hdul = fits.HDUList([primary, mask_hdu(inpmask, sky_cards(hdr), _MASK_NOTE)])       # on the sky as the image
    if sigma is not None:
        hdul.append(_sigma_extension(sigma, hdr))
    return hdul


def _sigma_extension(sigma, l1hdr: fits.Header) -> fits.ImageHDU:
    """The level-1 ``INPSIGMA`` extension, in the unit the primary array reads in."""
    notes = ["Carried through corkit's level-1 calibration and geometry exactly as the image (neighbouring",
             "filled pixels' sigmas add with the interpolation weights); 0 outside INPMASK."]
    scale, unit = l1hdr.get("BSCALE"), str(l1hdr.get("BUNIT", "")).strip() or None   # none: NO_CALFAC
    if scale:         # corkit stores C3 Clear as scaled integer counts; the primary reads in MSB
        notes.append(f"In {unit or 'the unit'} of the primary array once its BSCALE/BZERO are applied: corkit's "
                     f"scaled counts times BSCALE ({scale:.6g} per count); corkit's clipping and rounding are "
                     "not applied.")
        return sigma_hdu(np.asarray(sigma, np.float64) * float(scale), unit, notes, sky_cards(l1hdr))
    return sigma_hdu(sigma, unit, notes, sky_cards(l1hdr))


def _one(src: Path, inpaint, device, weights, corkit_kwargs, refill: bool, neighbours, want_sigma: bool,
         max_gap: float | None = MAX_GAP_MINUTES):
    """Fill, calibrate and stamp one file; returns ``(image, header, inpmask, inpsigma)``.

    ``inpsigma`` is None when the fill has no 1-sigma, or when ``want_sigma`` is False.
    """
    r = read_level05(src, refill=refill)
    check_own_sigma(r)
    nbs = read_neighbours(neighbours) if inpaint and as_method(inpaint).reads_neighbours else []
    data, header = r.data, r.header
    detector = H.detector(header)
    if detector not in LEVEL1_DETECTORS:
        raise InputError(f"{src}: DETECTOR={detector!r}; corkit's level_1 handles LASCO C2 and C3")
    check_calibration(detector, default_calib_dir())
    check_frame(header, detector, corkit_kwargs, str(src))
    filled = fill_level05(data, header, inpaint, device=device, weights=weights, level1=True,
                          neighbours=nbs, previous_fill=r.previous_fill, previous_sigma=r.previous_sigma,
                          max_gap=max_gap)
    filled, unfilled, no_data = above_missing_floor(filled, header, detector)
    with removed_on_sigterm("a level-1 calibration", CalibrationError(f"{src}: terminated (SIGTERM)")):
        return _calibrated(src, filled, header, detector, corkit_kwargs, want_sigma, (unfilled, no_data))


def _calibrated(src: Path, filled, header, detector: str, corkit_kwargs: dict, want_sigma: bool,
                cleared: tuple[np.ndarray, np.ndarray]):
    """corkit's level 1 of the filled frame, through a temporary copy; its level-1 INPMASK and INPSIGMA.

    ``cleared``: the missing pixels the fill left (all of them with ``inpaint=None``), and the pixels without data
    the block finder did not take for missing whose transposed pixels hold data (`above_missing_floor`). corkit
    would take them for missing and, its mask being transposed, zero the valid pixels at their transposed
    positions; ``filled`` gives them one DN above `missing_floor` instead, and the level-1 pixels that read them
    are set to 0 and flagged in INPMASK after.

    The copy's folder (`corkit_inpaint.tempfiles.temp_folder`) is removed afterwards, and on SIGTERM from its
    creation on: `_one` runs this in a `corkit_inpaint.tempfiles.removed_on_sigterm` block. Its lock file is
    `held` meanwhile, so that the folders of killed (SIGKILL) calibrations can be told from live ones and
    removed (`_remove_abandoned_copies`, first).
    """
    _remove_abandoned_copies()
    tmpdir = temp_folder(_COPY_PREFIX)
    try:
        (tmpdir / _COPY_LOCK).touch()
        with held(tmpdir / _COPY_LOCK):
            return _calibrated_copy(tmpdir, src, filled, header, detector, corkit_kwargs, want_sigma, cleared)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _remove_abandoned_copies(min_age: float = STALE_AFTER) -> int:
    """Remove the copies' folders that killed (SIGKILL) calibrations left in the system's temporary folder; how
    many were removed.

    Only a folder of this user's named as `_calibrated` names them, holding its lock file, whose lock nobody
    holds and which has gone unwritten for ``min_age`` seconds
    (`corkit_inpaint.tempfiles.remove_if_abandoned`), is removed, with what is in it.
    """
    root, n = Path(tempfile.gettempdir()), 0
    try:
        names = [e.name for e in os.scandir(root) if _COPY_NAME.fullmatch(e.name)]
    except OSError:
        return 0
    for name in names:
        with contextlib.suppress(OSError):
            st = os.lstat(root / name)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and \
                    remove_if_abandoned(root / name / _COPY_LOCK, min_age):
                shutil.rmtree(root / name, ignore_errors=True)
                n += 1
    if n:
        log.info("removed %d temporary folder(s) that killed level-1 calibrations left in %s", n, root)
    return n


def _calibrated_copy(tmpdir: Path, src: Path, filled, header, detector: str, corkit_kwargs: dict,
                     want_sigma: bool, cleared: tuple[np.ndarray, np.ndarray]):
    """`_calibrated`'s work in the copy's folder ``tmpdir``."""
    tmp = tmpdir / (src.stem.replace(".", "") + ".fts")
    hdr = header.copy()
    if "HISTORY" not in hdr:
        hdr["HISTORY"] = "level 0.5"        # corkit's reader deletes HISTORY and needs it
    for k in ("BZERO", "BSCALE"):
        hdr.remove(k, ignore_missing=True)
    data = np.asarray(filled.data)
    if data.dtype.kind == "u":      # astropy would store it with BZERO, which corkit's level-1 header carries on
        data = data.astype(np.promote_types(data.dtype, np.int8))      # (battery s35: every pixel read 32768)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)
        fits.PrimaryHDU(data, hdr).writeto(tmp, output_verify="ignore")
    try:
        img, l1hdr = calibrate(tmp, detector, corkit_kwargs)
    except CalibrationError as exc:
        faults = calibration_faults(detector, hdr, default_calib_dir())     # (C3's FITS files: named in exc)
        raise CalibrationError(f"{src}: {exc}" + (f"; of its calibration files, corkit's readers fail on "
                                                   f"{', '.join(faults)}" if faults else "")) from None
    if not np.any(np.isfinite(img) & (img != 0)):
        log.warning("%s: corkit's level-1 image is all zero, the fill's pixels with it: its calibration files may "
                    "not fit this frame (the roll, the vignetting)", src)
    left = cleared[0] | cleared[1]          # read by the level-1 pixels to zero: from the same pass of corkit's steps
    inpmask, sigma, *gone = level1_maps(filled.filled, filled.sigma if want_sigma else None, tmp, detector,
                                        corkit_kwargs, l1hdr, also=left if left.any() else None)
    if gone:
        img, filled = _unfilled_zeroed(img, inpmask, sigma, filled, cleared, gone[0])
    l1hdr = stamp_header(_with_earlier_history(l1hdr, header), filled, stage="level 1")
    # corkit 1.0.16 names its output folder here (given none, 'null'): this file's name, as SolarSoft does
    l1hdr["FILENAME"] = (output_name(src), "level-1 file name (corkit 1.0.16: its folder)")
    # corkit names no unit: it is MSB, unless NO_CALFAC left the calibration factor out, or NO_SUM its division
    # by a summed frame's summing (then none is named; a level-0.5 BUNIT carried over would be wrong either way)
    if "NO_CALFAC" in corkit_kwargs or ("NO_SUM" in corkit_kwargs and max(H.summing(header)) > 1):
        l1hdr.remove("BUNIT", ignore_missing=True)
    else:
        l1hdr["BUNIT"] = ("MSB", "mean solar brightness (corkit level 1)")
    return img, l1hdr, inpmask, sigma


def _unfilled_zeroed(img, inpmask, sigma, filled, cleared, gone: np.ndarray):
    """The level-1 image with the pixels that read a ``cleared`` pixel (``gone``; the missing ones left unfilled,
    and those without data that `above_missing_floor` raised) set to 0, as corkit marks its own pixels without
    data (C3 Clear's scaled count 0 too, which reads 3.25e-09 MSB as corkit's own do), and the fill with a note
    saying so; those pixels are flagged in ``inpmask`` and their ``sigma`` is 0 (in place)."""
    unfilled, no_data = cleared
    img = np.array(img)
    img[gone] = 0
    inpmask[gone] = 1
    if sigma is not None:
        sigma[gone] = 0
    n = len(blocks_of(unfilled))
    read = [f"the {n} missing block{'s' if n != 1 else ''} left unfilled"] if unfilled.any() else []
    if no_data.any():
        read.append(f"{int(no_data.sum())} level-0.5 pixels without data (0) not taken for missing, whose "
                    "transposed pixels hold data")
    how = ("corkit was given 1 DN above its missing-pixel level there, so that its transposed missing-block mask "
           "zeroes no valid pixel")
    why = (f"the {int(gone.sum())} level-1 pixels that read {' and '.join(read)} are set to 0 and flagged in "
           f"INPMASK ({how}; its DATA* statistics keywords were computed before)" if gone.any() else
           f"no level-1 pixel reads {' or '.join(read)} ({how})")
    log.info("%s", why)
    return img, replace(filled, note="; ".join(n for n in (filled.note, why) if n))


def _with_earlier_history(l1hdr: fits.Header, header: fits.Header) -> fits.Header:
    """``l1hdr`` with the HISTORY cards an earlier corkit-inpaint run wrote into the level-0.5 ``header`` (a refill).

    corkit's reader deletes the input's HISTORY, so without them the level-1 file of a refill would name only the
    last fill's method, though its INPMASK and INPSIGMA hold the earlier fill's pixels too.
    """
    cards = [str(c) for c in header.get("HISTORY", [])]
    first = next((i for i, c in enumerate(cards) if c.startswith("corkit-inpaint ")), None)
    if first is None or any(str(c).startswith("corkit-inpaint ") for c in l1hdr.get("HISTORY", [])):
        return l1hdr
    out = l1hdr.copy()
    for card in cards[first:]:          # stamp_header appends: from the first fill's line on, every run's
        out.add_history(card)
    return out


def _pairs_checked(files: list[Path], neighbours, max_gap: float | None, target_path, weights=None) -> dict:
    """Each file's neighbours; refuses, before anything is written, an output that is an input of the run
    (a neighbour, or the ``weights`` file) or the output of two of its inputs, and a ``target_path`` that is a
    file."""
    if target_path is not None and not str(target_path).strip():      # Path("") is the current folder
        raise InputError("target_path: give a folder to write into (an empty path is the current folder)")
    if target_path is not None and Path(target_path).exists() and not Path(target_path).is_dir():
        raise InputError(f"target_path {target_path}: is a file, not a folder to write into")
    pairs = neighbours_for(files, neighbours, max_gap=max_gap)
    if target_path is not None:
        outs = [Path(target_path) / output_name(f) for f in files]
        why = (input_clash(outs, [*files, *(n for ns in pairs.values() for n in ns), *weights_inputs(weights)])
               or output_clash(zip(files, outs)))
        if why:
            raise InputError(why)
    return pairs


def level_1(fits_files, target_path=None, format: str = "fits", *, inpaint: str | FillMethod | None = DEFAULT_METHOD,
            device: str = "auto", weights=None, calib_dir=None, return_mask: bool = False,
            return_sigma: bool = False, progress: bool = False, overwrite: bool = False, refill: bool = False,
            neighbours="auto", max_gap: float | None = MAX_GAP_MINUTES, threads: int | None = None, **corkit_kwargs):
    """CorKit's level-1 calibration, with missing blocks filled first.

    Parameters
    ----------
    fits_files : path-like or list of path-like
        LASCO C2/C3 level-0.5 files; they are only read.
    target_path : path-like, optional
        Folder for the outputs (`output_name`: ``<name>.fits``, with an
        ``INPMASK`` extension, and ``INPSIGMA`` when the fill has a 1-sigma).
        None: return the results.
    format : {"fits", "fts"}
        Output format (FITS only: the mask needs an extension). Switches below are True or False.
    inpaint : str, FillMethod or None
        A registered method or a `FillMethod` (default ``pconv-smooth``);
        None (or ``"none"``) for corkit's calibration with the holes left masked.
    device, weights
        As for `corkit_inpaint.inpaint_array`.
    calib_dir : path-like, optional
        corkit's calibration folder (default: corkit's ``DEFAULT_SAVE_DIR``).
    return_mask : bool
        Also return the level-1 ``INPMASK`` array.
    return_sigma : bool
        Also return the level-1 ``INPSIGMA`` array: float32, the fill's 1-sigma carried
        through corkit's calibration and geometry exactly as the image, in the level-1
        array's unit, 0 outside INPMASK (`corkit_inpaint.corkit_bridge.level1_maps`);
        None when the method gives none. Computed only when returned or written.
    progress : bool
        Show a progress bar over the files, on a terminal.
    overwrite : bool
        Replace existing outputs (an output is never an input).
    refill : bool
        Accept files an earlier corkit-inpaint run filled, keeping their INPMASK
        pixels flagged and their INPSIGMA.
    neighbours : {"auto", "none"}, None or mapping
        ``"auto"``: fill each file also from the nearest earlier and later
        frames of the same detector, filter, polarizer and summing among
        ``fits_files``, within ``max_gap`` (`corkit_inpaint.pairing.pair_neighbours`);
        ``"none"`` or None: each file alone; a mapping ``{file: [neighbour files]}``: as given (only read).
    max_gap : float or None
        Largest time to a neighbouring frame, in minutes, paired or given (None: any).
    threads : int, optional
        torch threads for the fills (see `corkit_inpaint.inpaint_array`).
    **corkit_kwargs
        corkit's switches for ``corkit.lasco.level_1`` (``NOROLL_CORRECTION=True``): False, 0 or None left out,
        other values, unread options and ``NOSCALE`` refused (`corkit_inpaint.corkit_bridge.corkit_options`).

    Returns
    -------
    tuple or list of tuple or None
        ``(image, header)`` per file, followed by the mask with ``return_mask``
        and then the sigma with ``return_sigma``; a list for a list input; None
        when ``target_path`` is given. The image is corkit's array: for C3 Clear,
        counts that are in ``BUNIT`` (MSB) as ``image * BSCALE + BZERO``.
    """
    corkit_kwargs, fits_files, inpaint = check_options(format, corkit_kwargs, fits_files, calib_dir, inpaint, dict(
        overwrite=overwrite, refill=refill, return_mask=return_mask, return_sigma=return_sigma))
    single = isinstance(fits_files, (str, os.PathLike))
    files = ([Path(fits_files)] if single else distinct_files(fits_files) if target_path is not None
             else [Path(f) for f in fits_files])          # to a folder, a file given twice is written once
    from tqdm import tqdm
    pairs = _pairs_checked(files, neighbours, max_gap, target_path, weights)
    out = []
    with corkit_calibration_dir(calib_dir), using_threads(threads):
        for src in tqdm(files, desc="level 1", unit="file", disable=not progress or None):
            dst = None
            if target_path is not None:
                Path(target_path).mkdir(parents=True, exist_ok=True)
                dst = check_output_path(Path(target_path) / output_name(src), overwrite=overwrite,
                                        src=[src, *pairs[src]])
            img, hdr, m, sig = _one(src, inpaint, device, weights, corkit_kwargs, refill, pairs[src],
                                    want_sigma=dst is not None or return_sigma, max_gap=max_gap)
            if dst is not None:
                write_atomic(level1_hdulist(img, hdr, m, sig), dst, overwrite=overwrite, src=[src, *pairs[src]])
            else:
                out.append((img, hdr) + ((m,) if return_mask else ()) + ((sig,) if return_sigma else ()))
    return None if target_path is not None else out[0] if single else out
