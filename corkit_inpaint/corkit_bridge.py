"""Every use of corkit's internals, in one place: its calibration folder, argument tuple, reader and warps.

corkit 1.0.16 has no public setting for its calibration folder, runs a network
step that rewrites valid pixels unless its argument tuple switches it off, and
keeps its geometry (distortion warp, roll rotation) in module functions. This
module wraps exactly those, so an upgrade of corkit is checked here.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from .exceptions import CalibrationError

__all__ = ["corkit_calibration_dir", "default_calib_dir", "c3_args", "calibrate", "level1_mask"]

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


def level1_mask(mask: np.ndarray, tmp: Path, detector: str, corkit_kwargs: dict) -> np.ndarray:
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
        raise CalibrationError(f"corkit's level_1 failed ({type(exc).__name__}: {exc})") from None
    finally:
        log.debug("corkit said: %s", buf.getvalue().strip())
    if not isinstance(res, tuple) or res[0] is None:
        raise CalibrationError("corkit's level_1 returned no image")
    img, hdr = res
    return np.asarray(img), hdr
