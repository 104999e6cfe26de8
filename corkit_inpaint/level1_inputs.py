"""What `corkit_inpaint.level_1` checks of its arguments and of the calibration files corkit 1.0.16's ``level_1``
opens: before any file is read, and which of those files corkit's own readers fail on when corkit fails."""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Iterable
from pathlib import Path

from .corkit_bridge import corkit_options
from .exceptions import CalibrationError, InputError, MethodError, check_switch, first_line

__all__ = ["LEVEL1_DETECTORS", "required_calibration_files", "check_calibration", "calibration_faults",
           "check_options"]

_COMMON = ["data/data_anal/c2_time_offsets.dat"]
_FILES = {
    "C2": ["c2vig_final.fts", "occulter_center.dat",
           "c2_pre_recovery_adj_xyr_medv2.sav", "c2_post_recovery_adj_xyr_medv2.sav"] + _COMMON,
    "C3": ["c3vig_preint_final.fts", "c3vig_postint_final.fts", "c3_cl_mask_lvl1.fts", "C3ramp.fts",
           "3m_clcl_all.fts", "c3_pre_recovery_adj_xyr_medv2.sav", "c3_post_recovery_adj_xyr_medv2.sav"] + _COMMON,
}
#: The detectors corkit's ``level_1`` calibrates.
LEVEL1_DETECTORS = tuple(_FILES)


def required_calibration_files(detector: str) -> list[str]:
    """Files (relative to the calibration folder) corkit 1.0.16's ``level_1`` opens for a detector."""
    return list(_FILES[detector.upper()])


def check_calibration(detector: str, folder: Path) -> None:
    """A one-line `CalibrationError` naming the files of `required_calibration_files` that ``folder`` lacks."""
    missing = [f for f in required_calibration_files(detector) if not (folder / f).is_file()]
    if missing:
        raise CalibrationError(
            f"corkit calibration files missing from {folder}: {', '.join(missing)}. "
            "Run 'corkit-update' (needs internet) to download SolarSoft's calibration data, "
            "or pass calib_dir / --calib-dir pointing at a folder that has them")


def calibration_faults(detector: str, header, folder: Path) -> list[str]:
    """The calibration files corkit 1.0.16's own readers fail on for this frame, as ``"NAME (why)"``: looked
    for when corkit's ``level_1`` fails, whose error names no file (battery s35: a truncated
    ``c2_time_offsets.dat`` gave "not enough values to unpack (expected 5, got 1)"). ``folder`` must be
    corkit's current calibration folder (`corkit_inpaint.corkit_bridge.default_calib_dir`, within
    `corkit_inpaint.corkit_bridge.corkit_calibration_dir`): its readers read from there.

    Each reader runs as ``level_1`` runs it on ``header``: C2's vignetting (``fits.getdata``) and occulter
    centres, the time offsets (``adjust_all_date_obs``) and, where they read, the centre-and-roll table of the
    frame's era (``adjust_hdr``). C3's FITS files are named by `corkit_inpaint.corkit_bridge.c3_args` already.
    """
    import corkit.utils as U
    from astropy.io import fits
    out: list[str] = []

    def reads(name: str, read) -> bool:
        try:
            with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                read()
        except Exception as exc:            # whatever corkit's reader raises is the fault
            out.append(f"{name} ({type(exc).__name__}: {first_line(exc)[:160]})")
            return False
        return True

    if detector == "C2":
        reads("c2vig_final.fts", lambda: fits.getdata(folder / "c2vig_final.fts"))
        reads("occulter_center.dat", U.read_occ_dat)
    adjusted: dict = {}
    if reads(_COMMON[0], lambda: adjusted.update(U.adjust_all_date_obs(header))):
        era = "pre" if adjusted["date"] < "1998/07/01" else "post"      # corkit's own rule for the table
        reads(f"{detector.lower()}_{era}_recovery_adj_xyr_medv2.sav", lambda: _numbers(U.adjust_hdr(header)))
    return out


def _numbers(adjusted: dict) -> None:
    """Raise where corkit's ``adjust_hdr`` gave a Sun centre or roll that is no number (a table cut short)."""
    import math
    bad = [k for k in ("xpos", "ypos", "roll") if not math.isfinite(float(adjusted[k]))]
    if bad:
        raise ValueError(f"its {', '.join(bad)} for this date {'is' if len(bad) == 1 else 'are'} not a number")


def check_options(format: str, corkit_kwargs: dict, fits_files, calib_dir, inpaint, switches=None):
    """`corkit_inpaint.level_1`'s arguments, checked before any file is read.

    Returns corkit's options (`corkit_inpaint.corkit_bridge.corkit_options`), the
    files as given (a list when several) and the method (``"none"``, the command
    line's word, is None). Refuses in one line a format, option, file list,
    folder or ``switches`` value (``{name: value}``: True or False) that cannot
    work (battery s35: ``level_1(None)`` and ``calib_dir=5`` were TypeErrors), and
    in a `MethodError` an ``inpaint`` that is not a name, a method or None.
    """
    if format not in ("fits", "fts"):
        raise InputError(f"format={format!r}: only 'fits' is supported (INPMASK needs a FITS extension)")
    for name, value in (switches or {}).items():    # review s36: overwrite="no" replaced an output
        check_switch(value, name)
    if not isinstance(fits_files, (str, os.PathLike)):
        files = list(fits_files) if isinstance(fits_files, Iterable) and not isinstance(fits_files, bytes) else None
        if files is None or not all(isinstance(f, (str, os.PathLike)) for f in files):
            raise InputError(f"fits_files: expected a path or a list of paths, got {type(fits_files).__name__}"
                             + ("" if files is None else " holding other things"))
        fits_files = files
    if calib_dir is not None and (not isinstance(calib_dir, (str, os.PathLike)) or not str(calib_dir).strip()):
        raise InputError(f"calib_dir={calib_dir!r}: give a folder (None: corkit's own)")
    inpaint = None if isinstance(inpaint, str) and inpaint.strip().lower() == "none" else inpaint
    from .methods import FillMethod
    if inpaint is not None and not isinstance(inpaint, (str, FillMethod)):     # not "method: ...", which it is not
        raise MethodError(f"inpaint: expected a method name, a FillMethod or None, got {type(inpaint).__name__}")
    return corkit_options(corkit_kwargs), fits_files, inpaint
