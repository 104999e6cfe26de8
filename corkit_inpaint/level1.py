"""CorKit level-1 calibration with missing blocks filled first, on the level-0.5 grid.

The fill cannot go after corkit's ``level_1`` (its own model rewrites valid
pixels, and its missing-block mask is transposed), so it goes where SolarSoft
puts it: on the stored level-0.5 image, before calibration. The filled image is
written to a temporary copy -- corkit deletes input files on read errors, so it
never sees the user's file -- and the real ``corkit.lasco.level_1`` calibrates
that copy with its own network step switched off through its argument tuple
(see `_c3_args`). The block mask is then carried through corkit's own geometry (the
distortion warp and the roll rotation, both linear interpolations), so the
``INPMASK`` of the level-1 image marks every pixel whose value depends on a
filled pixel.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from .api import _blocks_in, _cast, _fill, _version, provenance_cards
from .blocks import find_missing_blocks
from .fitsio import InputError, read_level05, write_atomic

__all__ = ["CalibrationError", "level_1", "required_calibration_files", "corkit_calibration_dir"]

log = logging.getLogger(__name__)

_COMMON = ["data/data_anal/c2_time_offsets.dat"]
_FILES = {
    "C2": ["c2vig_final.fts", "occulter_center.dat",
           "c2_pre_recovery_adj_xyr_medv2.sav", "c2_post_recovery_adj_xyr_medv2.sav"] + _COMMON,
    "C3": ["c3vig_preint_final.fts", "c3vig_postint_final.fts", "c3_cl_mask_lvl1.fts", "C3ramp.fts",
           "3m_clcl_all.fts", "c3_pre_recovery_adj_xyr_medv2.sav", "c3_post_recovery_adj_xyr_medv2.sav"] + _COMMON,
}


class CalibrationError(RuntimeError):
    """CorKit's calibration files are missing or corkit's level_1 failed."""


def required_calibration_files(detector: str) -> list[str]:
    """Files (relative to the calibration folder) corkit 1.0.16's ``level_1`` opens for a detector."""
    return list(_FILES[detector.upper()])


def _default_calib_dir() -> Path:
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


def _check_calibration(detector: str, folder: Path) -> None:
    missing = [f for f in required_calibration_files(detector) if not (folder / f).is_file()]
    if missing:
        raise CalibrationError(
            f"corkit calibration files missing from {folder}: {', '.join(missing)}. "
            "Run 'corkit-update' (needs internet) to download SolarSoft's calibration data, "
            "or pass calib_dir / --calib-dir pointing at a folder that has them")


def _c3_args():
    """corkit's C3 argument tuple with its network step switched off.

    corkit's ``dl_image`` histogram-equalises the whole image, resamples it
    (bilinear up to 1024, nearest back), runs its model and inverts the
    equalisation, which changes every valid pixel. Here the forward transform
    reports no missing pixel, so ``dl_image`` returns the image untouched and
    neither the model nor the resampling runs.
    """
    import corkit.lasco as L
    vig_pre, vig_post = L._read_vig_full()

    def forward(x, bkg):
        return None, None, np.ones(1, dtype=np.float32)    # "no missing pixel"

    def inverse(x, eq, shape):      # never called when forward reports no hole
        raise RuntimeError("corkit's network step should be switched off")

    return (vig_pre, vig_post, L._read_mask_full(), L._read_ramp_full(), L._read_bkg_full(),
            None, forward, inverse)


def _corkit_header(path: Path) -> fits.Header:
    from corkit.utils import FITS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, hdr = FITS(str(path))
    return hdr


def _level1_mask(mask: np.ndarray, tmp: Path, detector: str, corkit_kwargs: dict) -> np.ndarray:
    """Carry a level-0.5 pixel mask through corkit's geometry, exactly as ``level_1`` moves the image."""
    from corkit.lasco import final_step
    from corkit.utils import c2_warp, c3_warp, reduce_std_size
    hdr = _corkit_header(tmp)
    m = mask.astype(np.float64)
    xs = max(int(hdr["sumcol"]), 1) * max(int(hdr["lebxsum"]), 1)
    ys = max(int(hdr["sumrow"]), 1) * max(int(hdr["lebysum"]), 1)
    if hdr["r2col"] - hdr["r1col"] + hdr["r2row"] - hdr["r1row"] - 2046 != 0:
        m = reduce_std_size(m, hdr, FULL=xs * ys <= 1)
    with contextlib.redirect_stdout(io.StringIO()):
        warp = c2_warp if detector == "C2" else c3_warp
        mw, hdr = warp(m.T, hdr)        # corkit's c2/c3 calibration returns the transposed image
        hdr["filter"] = "INPMASK"               # no C3-Clear rescaling of the mask itself
        kw = {k: v for k, v in corkit_kwargs.items() if k != "NOSCALE"}
        kw["NOSTAT"] = True
        out, _ = final_step(None, "png", mw, hdr, xs, ys, **kw)
    return (np.abs(np.asarray(out, dtype=np.float64)) > 1e-6).astype(np.uint8)


def _one(src: Path, inpaint, device, weights, corkit_kwargs, policy):
    import corkit.lasco
    data, header = read_level05(src)
    detector = str(header.get("DETECTOR", "")).strip().upper()
    if detector not in _FILES:
        raise InputError(f"{src}: DETECTOR={detector!r}; corkit's level_1 handles LASCO C2 and C3")
    _check_calibration(detector, _default_calib_dir())
    mask, blocks = find_missing_blocks(data, header)
    info: dict = {"model": "none", "device": "none"}
    skipped = None
    if inpaint is not None and blocks:
        skipped = policy(data, header, mask, blocks) if policy else None
        if skipped is None:
            opts = {"policy": True} if policy else {}
            filled, info = _fill(data, mask, header, inpaint, device, weights, **opts)
            mask, blocks = info["filled"], _blocks_in(info["filled"], blocks)
            filled = _cast(filled, data.dtype, mask)
            filled[~mask] = data[~mask]
            if not blocks:
                skipped = "the method left every block masked"
        else:
            filled = data
    else:
        filled = data
    applied = inpaint is not None and bool(blocks) and skipped is None
    tmpdir = Path(tempfile.mkdtemp(prefix="corkit-inpaint-"))
    try:
        tmp = tmpdir / (src.stem.replace(".", "") + ".fts")
        hdr = header.copy()
        if "HISTORY" not in hdr:
            hdr["HISTORY"] = "level 0.5"        # corkit's reader deletes HISTORY and needs it
        for k in ("BZERO", "BSCALE"):
            hdr.remove(k, ignore_missing=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VerifyWarning)
            fits.PrimaryHDU(filled, hdr).writeto(tmp, output_verify="ignore")
        args = _c3_args() if detector == "C3" else ()
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = corkit.lasco.level_1(str(tmp), None, "fits", *args, **corkit_kwargs)
        except Exception as exc:
            raise CalibrationError(f"{src}: corkit's level_1 failed ({type(exc).__name__}: {exc})") from None
        finally:
            log.debug("corkit said: %s", buf.getvalue().strip())
        if not isinstance(res, tuple) or res[0] is None:
            raise CalibrationError(f"{src}: corkit's level_1 returned no image")
        img, l1hdr = res
        inpmask = _level1_mask(mask if applied else np.zeros_like(mask), tmp, detector, corkit_kwargs)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    method = inpaint if applied else "none"
    for key, val, com in provenance_cards(method, info, len(blocks) if applied else 0,
                                          int(mask.sum()) if applied else 0):
        l1hdr[key] = (val, com)
    if applied:
        l1hdr["HISTORY"] = (f"corkit-inpaint {_version()}: {len(blocks)} missing blocks filled with {inpaint} "
                            f"on the level-0.5 grid before corkit level_1; INPMASK marks affected level-1 pixels")
    elif blocks:
        why = skipped or "no fill requested"
        l1hdr["HISTORY"] = f"corkit-inpaint {_version()}: {len(blocks)} missing blocks left masked ({why})"
    return np.asarray(img), l1hdr, inpmask


def level_1(fits_files, target_path=None, format: str = "fits", *, inpaint: str | None = "pconv",
            device: str = "auto", weights=None, calib_dir=None, return_mask: bool = False,
            progress: bool = False, **corkit_kwargs):
    """CorKit's level-1 calibration, with missing blocks filled first.

    Parameters
    ----------
    fits_files : path-like or list of path-like
        LASCO C2/C3 level-0.5 files; they are only read.
    target_path : path-like, optional
        Folder for the outputs (``<name>.fits``, with an ``INPMASK`` extension).
        None: return the results.
    format : {"fits", "fts"}
        Output format (FITS only: the mask needs an extension).
    inpaint : str or None
        A method registered in ``corkit.inpainters``; None for corkit's
        calibration with the holes left masked.
    device, weights
        As for `corkit_inpaint.inpaint_array`.
    calib_dir : path-like, optional
        corkit's calibration folder (default: corkit's ``DEFAULT_SAVE_DIR``).
    return_mask : bool
        Also return the level-1 ``INPMASK`` array.
    progress : bool
        Show a progress bar over the files.
    **corkit_kwargs
        Passed to ``corkit.lasco.level_1`` (e.g. ``NOROLL_CORRECTION=True``).

    Returns
    -------
    tuple or list of tuple or None
        ``(image, header)`` (``(image, header, mask)`` with ``return_mask``) per
        file, a list for a list input; None when ``target_path`` is given.
    """
    if format not in ("fits", "fts"):
        raise ValueError(f"format={format!r}: only 'fits' is supported (INPMASK needs a FITS extension)")
    single = isinstance(fits_files, (str, os.PathLike))
    files = [Path(fits_files)] if single else [Path(f) for f in fits_files]
    from tqdm import tqdm
    out = []
    policy = None
    if inpaint == "fuzzy":
        from .methods import get_method
        policy = getattr(get_method("fuzzy"), "level1_policy", None)
    with corkit_calibration_dir(calib_dir):
        for src in tqdm(files, desc="level 1", unit="file", disable=not progress):
            img, hdr, m = _one(src, inpaint, device, weights, corkit_kwargs, policy)
            if target_path is not None:
                Path(target_path).mkdir(parents=True, exist_ok=True)
                dst = Path(target_path) / (src.stem.replace(".", "") + ".fits")
                hdul = fits.HDUList([fits.PrimaryHDU(img, hdr),
                                     fits.ImageHDU(m, name="INPMASK")])
                write_atomic(hdul, dst, overwrite=True)
            else:
                out.append((img, hdr, m) if return_mask else (img, hdr))
    if target_path is not None:
        return None
    return out[0] if single else out
