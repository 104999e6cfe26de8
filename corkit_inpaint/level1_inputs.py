"""What `corkit_inpaint.level_1` checks of its arguments and of the calibration files corkit 1.0.16's ``level_1``
opens: before any file is read, and which of those files is at fault when corkit fails."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .corkit_bridge import corkit_options
from .exceptions import CalibrationError, InputError

__all__ = ["LEVEL1_DETECTORS", "required_calibration_files", "check_calibration", "calibration_faults",
           "check_options"]

_COMMON = ["data/data_anal/c2_time_offsets.dat"]
_FILES = {
    "C2": ["c2vig_final.fts", "occulter_center.dat",
           "c2_pre_recovery_adj_xyr_medv2.sav", "c2_post_recovery_adj_xyr_medv2.sav"] + _COMMON,
    "C3": ["c3vig_preint_final.fts", "c3vig_postint_final.fts", "c3_cl_mask_lvl1.fts", "C3ramp.fts",
           "3m_clcl_all.fts", "c3_pre_recovery_adj_xyr_medv2.sav", "c3_post_recovery_adj_xyr_medv2.sav"] + _COMMON,
}
#: The columns corkit reads of the ``*_adj_xyr_medv2.sav`` files (CSV, as ``corkit-update`` rewrites them).
_SAV_COLUMNS = ("c_tai", "c_xmed", "c_ymed", "c_rmed")
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


def calibration_faults(detector: str, folder: Path) -> list[str]:
    """The files of `required_calibration_files` in ``folder`` that corkit's readers cannot read, as ``"NAME
    (why)"``: looked for when corkit's ``level_1`` fails, whose own error names no file (battery s35: a
    truncated ``c2_time_offsets.dat`` gave "not enough values to unpack (expected 5, got 1)")."""
    out = []
    for name in required_calibration_files(detector):
        try:
            why = _fault(folder / name)
        except Exception as exc:        # whatever a reader raises is the fault
            why = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:120]}"
        if why:
            out.append(f"{name} ({why})")
    return out


def _fault(path: Path) -> str:
    """Why corkit 1.0.16 cannot read the calibration file ``path`` as it reads it ("": it can)."""
    from astropy.io import fits
    if path.suffix == ".fts":                   # corkit: fits.getdata
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = fits.getdata(path)
        return "" if isinstance(data, np.ndarray) and data.ndim == 2 else "no 2-D image in it"
    lines = path.read_text(encoding="ascii").splitlines(keepends=True)
    if path.suffix == ".sav":       # corkit-update rewrites these as CSV: pandas.read_csv, four columns by name
        head = [c.strip() for c in (lines or [""])[0].split(",")]
        cols = [head.index(c) for c in _SAV_COLUMNS if c in head]
        if len(cols) < len(_SAV_COLUMNS):
            return f"not the CSV corkit-update writes: no {', '.join(c for c in _SAV_COLUMNS if c not in head)}"
        for n, line in enumerate(lines[1:], 2):
            fields = line.split(",")
            try:
                ok = len(fields) == len(head) and all(np.isfinite(float(fields[i])) for i in cols)
            except ValueError:
                ok = False
            if not ok:
                return f"line {n}: not {len(head)} fields with numbers in {', '.join(_SAV_COLUMNS)}"
        return "" if len(lines) > 1 else "no row"
    if path.name == "occulter_center.dat":      # corkit: every second line, "x y n" then telescope and filter
        bad = [n for n, line in enumerate(lines[1::2]) if len(line[:25].split()) != 3 or not line[31:].split()]
        return f"line {2 * bad[0] + 2}: not 'x y n' then a telescope and filter" if bad else ""
    for n, line in enumerate(lines[2:], 3):     # c2_time_offsets.dat: five numbers a line after two lines
        fields = line.split()
        try:
            ok = len(fields) == 5 and all(np.isfinite(float(f)) for f in fields)
        except ValueError:
            ok = False
        if not ok:
            return f"line {n}: {len(fields)} field(s), corkit reads five numbers"
    return "" if len(lines) > 2 else "no line of offsets"


def check_options(format: str, corkit_kwargs: dict, fits_files, calib_dir, inpaint):
    """`corkit_inpaint.level_1`'s arguments, checked before any file is read.

    Returns corkit's options (`corkit_inpaint.corkit_bridge.corkit_options`), the
    files as given (a list when several) and the method (``"none"``, the command
    line's word, is None). Refuses in one line a format, option, file list or
    folder that cannot work (battery s35: ``level_1(None)`` and ``calib_dir=5``
    were TypeErrors).
    """
    if format not in ("fits", "fts"):
        raise InputError(f"format={format!r}: only 'fits' is supported (INPMASK needs a FITS extension)")
    if not isinstance(fits_files, (str, os.PathLike)):
        files = list(fits_files) if isinstance(fits_files, Iterable) and not isinstance(fits_files, bytes) else None
        if files is None or not all(isinstance(f, (str, os.PathLike)) for f in files):
            raise InputError(f"fits_files: expected a path or a list of paths, got {type(fits_files).__name__}"
                             + ("" if files is None else " holding other things"))
        fits_files = files
    if calib_dir is not None and (not isinstance(calib_dir, (str, os.PathLike)) or not str(calib_dir).strip()):
        raise InputError(f"calib_dir={calib_dir!r}: give a folder (None: corkit's own)")
    inpaint = None if isinstance(inpaint, str) and inpaint.strip().lower() == "none" else inpaint
    return corkit_options(corkit_kwargs), fits_files, inpaint
