"""Every use of corkit's internals, in one place: its calibration folder, argument tuple, reader and warps.

corkit 1.0.16 has no public setting for its calibration folder, runs a network
step that rewrites valid pixels unless its argument tuple switches it off, and
keeps its geometry (distortion warp, roll rotation) in module functions. This
module wraps exactly those, so an upgrade of corkit is checked here:
`level1_maps` carries the fill's mask and 1-sigma through the same steps
``level_1`` applies to the image.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from . import header as H
from .exceptions import CalibrationError

__all__ = ["corkit_calibration_dir", "default_calib_dir", "c3_args", "PRESENCE_FLAGS", "corkit_options", "calibrate",
           "check_frame", "check_calibration_factor", "level1_maps", "pads_to_full_frame"]

log = logging.getLogger(__name__)


def default_calib_dir() -> Path:
    """corkit's current calibration folder (``corkit.utils.DEFAULT_SAVE_DIR``)."""
    import corkit.utils
    return Path(corkit.utils.DEFAULT_SAVE_DIR)


@contextlib.contextmanager
def corkit_calibration_dir(path: str | os.PathLike | None):
    """Point corkit at a calibration folder for the duration of the block.

    corkit has no setting for this: ``DEFAULT_SAVE_DIR`` is copied into
    ``corkit.utils``, ``corkit.lasco`` and ``corkit.reconstruction``, so all
    three are set, and restored afterwards.
    """
    import corkit.lasco
    import corkit.reconstruction
    import corkit.utils
    mods = (corkit.utils, corkit.lasco, corkit.reconstruction)
    old = [m.DEFAULT_SAVE_DIR for m in mods]
    try:
        if path is not None:
            for m in mods:
                m.DEFAULT_SAVE_DIR = str(Path(path))
        yield Path(mods[0].DEFAULT_SAVE_DIR)
    finally:
        for m, v in zip(mods, old):
            m.DEFAULT_SAVE_DIR = v


def c3_args():
    """corkit's C3 argument tuple with its network step switched off.

    corkit's ``dl_image`` histogram-equalises the whole image, resamples it
    (bilinear up to 1024, nearest back), runs its model and inverts the
    equalisation, which changes every valid pixel. Here the forward transform
    reports no missing pixel, so ``dl_image`` returns the image untouched and
    neither the model nor the resampling runs.
    """
    import corkit.lasco as L
    vig_pre, vig_post = _calibration_file("vignetting (c3vig_*)", L._read_vig_full)

    def forward(x, bkg):
        return None, None, np.ones(1, dtype=np.float32)    # "no missing pixel"

    def inverse(x, eq, shape):      # never called when forward reports no hole
        raise RuntimeError("corkit's network step should be switched off")

    return (vig_pre, vig_post, _calibration_file("mask (c3_cl_mask_lvl1.fts)", L._read_mask_full),
            _calibration_file("ramp (C3ramp.fts)", L._read_ramp_full),
            _calibration_file("background (3m_clcl_all.fts)", L._read_bkg_full), None, forward, inverse)


def _calibration_file(what: str, read):
    """``read()`` of one of corkit's C3 calibration files; a file that cannot be read is a `CalibrationError`."""
    try:
        return read()
    except Exception as exc:
        raise CalibrationError(f"corkit's C3 {what} calibration file in {default_calib_dir()} cannot be read "
                               f"({type(exc).__name__}: {exc})") from None


def _corkit_header(path: Path) -> fits.Header:
    from corkit.utils import FITS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, hdr = FITS(str(path))
    return hdr


def _summing(hdr) -> tuple[int, int]:
    """corkit's ``(xsumming, ysumming)`` of a level-0.5 header."""
    return (max(int(hdr["sumcol"]), 1) * max(int(hdr["lebxsum"]), 1),
            max(int(hdr["sumrow"]), 1) * max(int(hdr["lebysum"]), 1))


def pads_to_full_frame(header) -> bool:
    """Whether corkit's ``level_1`` first pads this frame into its full frame (``reduce_std_size``): its R1COL,
    R2COL, R1ROW and R2ROW span other than the 1024x1024 field (a subfield). False where one is missing."""
    edges = [H.number(header, k) for k in ("R1COL", "R2COL", "R1ROW", "R2ROW")]
    return None not in edges and edges[1] - edges[0] + edges[3] - edges[2] != 2046


def _full_size(img: np.ndarray, hdr, xs: int, ys: int) -> np.ndarray:
    """corkit's ``reduce_std_size`` of a sub-field, as ``level_1`` applies it (``hdr`` is updated)."""
    from corkit.utils import reduce_std_size
    if pads_to_full_frame(hdr):
        return reduce_std_size(img, hdr, FULL=xs * ys <= 1)
    return img


def _final_geometry(img: np.ndarray, hdr, xs: int, ys: int, corkit_kwargs: dict) -> np.ndarray:
    """corkit's ``final_step`` geometry (rectification, roll rotation) without its statistics or C3-Clear scaling."""
    from corkit.lasco import final_step
    hdr["filter"] = "INPMASK"               # not C3 Clear: no rescaling to integers
    kw = {k: v for k, v in corkit_kwargs.items() if k != "NOSCALE"}
    kw["NOSTAT"] = True
    out, _ = final_step(None, "png", img, hdr, xs, ys, **kw)
    return np.asarray(out)


def level1_maps(filled: np.ndarray, sigma: np.ndarray | None, tmp: Path, detector: str, corkit_kwargs: dict,
                l1header=None, *, also: np.ndarray | None = None) -> tuple:
    """INPMASK and INPSIGMA on the level-1 grid: the fill's pixels and 1-sigma carried through corkit's ``level_1``.

    corkit's level 1 is linear in the data for a fixed mask of valid pixels:
    bias subtraction, exposure, calibration factor and vignetting per pixel,
    then the distortion warp, corkit's warped mask of non-positive pixels,
    (C3) the second vignetting, and the roll rotation. This runs those same
    corkit steps, in the same order and with the same header, on the
    difference of corkit's per-pixel calibration of an image and of zero (the
    bias cancels), with the mask of valid pixels computed as corkit computes
    it from the image in ``tmp`` (for C2 from the calibrated image, which
    corkit overwrites in place, and untransposed: corkit's bugs are kept, so
    the result matches its image). That is the derivative of corkit's level-1
    image along the image. Along ``filled`` it is non-zero on exactly the
    level-1 pixels that read a filled pixel (INPMASK: a pixel corkit's masks
    or vignetting leave at zero reads none); along ``sigma`` it is the
    1-sigma there: linear interpolation adds neighbouring pixels' sigmas with
    their weights, so errors of neighbouring filled pixels count as fully
    correlated. It costs a calibration and a warp per map, not a second ``level_1``.

    Parameters
    ----------
    filled : numpy.ndarray of bool
        The filled pixels on the level-0.5 grid of ``tmp``.
    sigma : numpy.ndarray or None
        Their 1-sigma, in the data's unit (DN); None: no INPSIGMA.
    tmp : pathlib.Path
        The level-0.5 file corkit calibrated.
    detector : {"C2", "C3"}
    corkit_kwargs : dict
        As passed to ``corkit.lasco.level_1``.
    l1header : astropy.io.fits.Header, optional
        corkit's level-1 header of ``tmp``. When it has ``BSCALE`` (corkit stores
        C3 Clear as scaled integers), the sigma is divided by it, so it is in
        the level-1 array's own unit; corkit's clipping and rounding are not applied.
    also : numpy.ndarray of bool, optional
        Other level-0.5 pixels (`corkit_inpaint.level1`: the holes it leaves);
        the level-1 pixels that read one of them come from the same pass of
        corkit's steps.

    Returns
    -------
    inpmask : numpy.ndarray
        uint8, 1 on the level-1 pixels that read a filled pixel.
    sigma : numpy.ndarray or None
        float32, on the level-1 grid, in the level-1 array's unit, 0 outside ``inpmask``.
    also_read : numpy.ndarray of bool
        Only with ``also``: the level-1 pixels that read one of its pixels.
    """
    filled = np.asarray(filled, dtype=bool)
    maps = [] if sigma is None else [np.asarray(sigma, dtype=np.float64)]
    if not maps or not np.all(np.isfinite(maps[0][filled]) & (maps[0][filled] > 0)):
        maps.insert(0, filled.astype(np.float64))      # else the sigma's derivative has the mask's support
    out = _derivatives(maps + ([] if also is None else [np.asarray(also, dtype=np.float64)]), tmp, detector,
                       corkit_kwargs)
    extra = () if also is None else (out.pop() != 0,)
    inpmask = (out[0] != 0).astype(np.uint8)
    if sigma is None:
        return (inpmask, None, *extra)
    scale = None if l1header is None else l1header.get("BSCALE")
    with np.errstate(over="ignore"):        # beyond float32's range: inf
        s = (out[-1] / float(scale) if scale else out[-1]).astype(np.float32)
    return (inpmask, np.where(inpmask != 0, s, np.float32(0)), *extra)


def _derivatives(maps: list, tmp: Path, detector: str, corkit_kwargs: dict) -> list:
    """`level1_maps`'s derivatives of corkit's float64 level-1 image of ``tmp`` along each of ``maps``."""
    import corkit.lasco as L
    from corkit.utils import FITS, c2_warp, c3_warp, correct_var, fixwrap
    args = c3_args() if detector == "C3" else ()
    cal, warp = (L.c2_calibrate, c2_warp) if detector == "C2" else (L.c3_calibrate, c3_warp)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        img0, hdr = FITS(str(tmp))
        img0 = img0.astype(np.float64)
        xs, ys = _summing(hdr)
        img0 = _full_size(fixwrap(img0) if xs * ys > 1 else img0, hdr.copy(), xs, ys)
        sized = hdr.copy()                  # reduce_std_size updates the header: once, as level_1 does
        maps = [_full_size(np.array(m, dtype=np.float64), sized if k == 0 else hdr.copy(), xs, ys)
                for k, m in enumerate(maps)]            # copies: corkit's C2 calibration works in place
        hdr = sized
        zero_hdr, map_hdrs = hdr.copy(), [hdr.copy() for _ in maps]
        cal(img0, hdr, *args, **corkit_kwargs)      # as level_1 does: C2 calibrates img0 in place
        zero = cal(np.zeros_like(img0), zero_hdr, *args, **corkit_kwargs)[0]    # the bias and the C3 ramp cancel
        warped = [warp(cal(m, h, *args, **corkit_kwargs)[0] - zero, hdr.copy()) for m, h in zip(maps, map_hdrs)]
        hdr = warped[0][1]                  # the header after the warp, as corkit warps its mask with
        valid = np.ones_like(img0) if detector == "C2" else np.ones((hdr["naxis2"], hdr["naxis1"]))
        valid[img0 <= 0] = 0
        vw, _ = warp(valid, hdr)
        var = correct_var(hdr, args[1])[0] if detector == "C3" else 1.0
        return [_final_geometry(bw * vw * var, hdr.copy(), xs, ys, corkit_kwargs).astype(np.float64)
                for bw, _ in warped]


#: corkit's ``level_1`` switches that act when merely given, whatever their value (SolarSoft's ``/NOROLL`` habit).
PRESENCE_FLAGS = ("NOROLL_CORRECTION", "NOSTAT", "NO_CALFAC", "NO_VIG", "NO_MASK", "NO_SUM")


def corkit_options(corkit_kwargs: dict) -> dict:
    """The options to pass to ``corkit.lasco.level_1``, checked before any fill.

    corkit 1.0.16's ``level_1`` reads only its switches (`PRESENCE_FLAGS`), and acts
    on one when it is merely given, so ``NO_VIG=False`` would turn the vignetting
    correction off: a switch given as True (or 1) is passed, one given as False,
    0 or None is left out, which is what it says. Any other value (``"false"``,
    ``2``, ``1.0``) is refused, and so is any other option (``no_vig``, a
    misspelling, which corkit would ignore in silence; battery s35; or one of
    the options of corkit's own file-list path, ``detector``, ``vig_full``).
    ``NOSCALE``, with any value, makes corkit's ``final_step`` return an image
    it never set (``UnboundLocalError``), for C2 and C3 alike: it is refused.
    ``NO_CALFAC`` without ``NOSTAT`` is refused too: corkit's statistics step
    (``reduce_statistics2``) then sets every pixel above 5e-05 to 5e-05 in the
    image left in DN/s, so the level-1 image is a constant that no pixel, filled or
    measured, shows through.

    Raises
    ------
    CalibrationError
        For those, with a one-line reason.
    """
    if "NOSCALE" in corkit_kwargs:
        raise CalibrationError("NOSCALE: corkit 1.0.16's level_1 fails with it, whatever its value "
                               "(its final_step then returns no image); leave it out")
    unknown = [k for k in corkit_kwargs if k not in PRESENCE_FLAGS]
    if unknown:
        raise CalibrationError(f"{', '.join(map(repr, unknown))}: not one of corkit 1.0.16's switches that "
                               f"corkit-inpaint passes on ({', '.join(PRESENCE_FLAGS)})")
    out = {}
    for key, val in corkit_kwargs.items():
        if val is not None and not (isinstance(val, (bool, np.bool_, int, np.integer)) and val in (0, 1)):
            raise CalibrationError(f"{key}={val!r}: a switch, give True or False (corkit acts on it when given "
                                   "at all, whatever its value)")
        if val is not None and bool(val):
            out[key] = True
    if "NO_CALFAC" in out and "NOSTAT" not in out:
        raise CalibrationError("NO_CALFAC without NOSTAT: corkit 1.0.16's statistics step then clips the "
                               "uncalibrated image to 5e-05 (a constant image); add NOSTAT=True")
    return out


def calibrate(tmp: Path, detector: str, corkit_kwargs: dict) -> tuple[np.ndarray, fits.Header]:
    """Run the real ``corkit.lasco.level_1`` on ``tmp`` with its network step off; corkit's prints go to the log.

    Raises
    ------
    CalibrationError
        corkit failed or returned no image.
    """
    import corkit.lasco
    args = c3_args() if detector == "C3" else ()
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = corkit.lasco.level_1(str(tmp), None, "fits", *args, **corkit_kwargs)
    except Exception as exc:
        raise CalibrationError(f"corkit's level_1 failed ({type(exc).__name__}: {exc}; calibration folder "
                               f"{default_calib_dir()})") from None
    finally:
        log.debug("corkit said: %s", buf.getvalue().strip())
    if not isinstance(res, tuple) or res[0] is None:
        raise CalibrationError("corkit's level_1 returned no image")
    img, hdr = res
    return np.asarray(img), _latitude_axis(hdr)


def _latitude_axis(hdr: fits.Header) -> fits.Header:
    """corkit's level-1 header with its second axis named helioprojective latitude (``CTYPE2 = 'HPLT-TAN'``).

    corkit 1.0.16 writes ``HPLN-TAN`` (longitude) for both axes, a WCS that
    astropy and sunpy refuse (``InconsistentAxisTypesError``): no sky
    coordinate of the level-1 image, its INPMASK or INPSIGMA could be had.
    """
    if str(hdr.get("CTYPE1", "")).strip() == "HPLN-TAN" and str(hdr.get("CTYPE2", "")).strip() == "HPLN-TAN":
        hdr["CTYPE2"] = ("HPLT-TAN", "helioprojective latitude (corkit 1.0.16 wrote HPLN-TAN)")
    return hdr


def check_frame(header, detector: str, corkit_kwargs: dict, where: str) -> None:
    """Refuse, in one line naming ``where``, a frame corkit's level 1 would fail on (a header keyword it reads
    missing or not in its form: `_check_corkit_keywords`), or whose level-1 image it would make constant: with
    ``NO_CALFAC`` a C3 Clear frame (corkit 1.0.16 scales C3 Clear to integers between 0 and 6.5e-09 MSB, which an
    uncalibrated image is far above), without it a calibration factor of 0 (`check_calibration_factor`); and
    ``NO_SUM`` on a C3 frame, which corkit ignores there.

    Raises
    ------
    CalibrationError
    """
    _check_corkit_keywords(header, where)
    if detector == "C3" and "NO_SUM" in corkit_kwargs:
        raise CalibrationError(f"{where}: NO_SUM on a C3 frame: corkit 1.0.16 applies it to C2 only (its C3 "
                               "calibration factor reads no option), so it would be ignored")
    if "NO_CALFAC" not in corkit_kwargs:
        check_calibration_factor(header, detector, where)
    elif detector == "C3" and str(header.get("FILTER", "")).strip() == "Clear":
        raise CalibrationError(f"{where}: NO_CALFAC on a C3 Clear frame: corkit 1.0.16 scales C3 Clear to integers "
                               "between 0 and 6.5e-09 MSB, so the uncalibrated image comes out constant")


#: The keywords corkit 1.0.16's ``level_1`` reads without a default (a KeyError after the fill, battery s35).
_CORKIT_READS = ("FILENAME", "DATE-OBS", "TIME-OBS", "MID_DATE", "FILTER", "POLAR", "OFFSET", "EXPTIME", "CRPIX1",
                 "CRPIX2", "CROTA1", "R1COL", "R2COL", "R1ROW", "R2ROW", "LEBXSUM", "LEBYSUM", "SUMCOL", "SUMROW")


def _check_corkit_keywords(header, where: str) -> None:
    """Refuse, before the fill, a header corkit's ``level_1`` would fail on: a keyword it reads without a default
    missing (CROTA1 itself: it reads no other roll), a DETECTOR not written as it asserts it, a DATE-OBS or
    TIME-OBS not as it parses them, an EXPTIME of 0."""
    missing = [k for k in (*_CORKIT_READS, *(("FILEORIG",) if H.detector(header) == "C3" else ()))
               if H.get(header, k) is None]
    if missing:
        raise CalibrationError(f"{where}: corkit 1.0.16's level_1 reads {', '.join(missing)}, which the header "
                               "lacks")
    if str(header.get("DETECTOR")) not in ("C2", "C3"):
        raise CalibrationError(f"{where}: DETECTOR = {header.get('DETECTOR')!r}: corkit 1.0.16's level_1 takes "
                               "only 'C2' or 'C3', as written")
    if not re.fullmatch(r"\d{4}/\d\d/\d\d", str(header.get("DATE-OBS")).strip()):
        raise CalibrationError(f"{where}: DATE-OBS = {header.get('DATE-OBS')!r}: corkit 1.0.16's level_1 reads "
                               "it as YYYY/MM/DD, with the time in TIME-OBS")
    if not re.fullmatch(r"\d\d:\d\d:\d\d\.\d+", str(header.get("TIME-OBS")).strip()):
        raise CalibrationError(f"{where}: TIME-OBS = {header.get('TIME-OBS')!r}: corkit 1.0.16's level_1 reads "
                               "it as HH:MM:SS.fff")
    if not (H.number(header, "EXPTIME") or 0) > 0:
        raise CalibrationError(f"{where}: EXPTIME = {header.get('EXPTIME')!r}: corkit's level_1 divides by it")


def check_calibration_factor(header, detector: str, where: str) -> None:
    """Refuse a frame whose corkit calibration factor is 0 or not finite: its level-1 image would be constant.

    corkit 1.0.16's ``c3_calfactor`` knows C3 polarizers only as written
    without a space (``+60DEG``); the archive's ``'+60 Deg'``, ``PB`` and the
    like get a factor of 0, and ``level_1`` then returns an image of one value
    labelled as calibrated. A factor corkit cannot compute at all is left for
    its own ``level_1`` to report.

    Raises
    ------
    CalibrationError
    """
    import corkit.lasco
    calfactor = corkit.lasco.c3_calfactor if detector == "C3" else corkit.lasco.c2_calfactor
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            factor = float(calfactor(fits.Header(header).copy())[1])
    except Exception:                   # noqa: BLE001 - corkit's own level_1 says what is wrong
        return
    if not (np.isfinite(factor) and factor > 0):
        raise CalibrationError(
            f"{where}: corkit's calibration factor for this {detector} frame is {factor:g} (FILTER="
            f"{header.get('FILTER')!r}, POLAR={header.get('POLAR')!r}): its level-1 image would be constant; "
            "corkit knows C3 polarizers only as written without a space ('+60DEG')")
