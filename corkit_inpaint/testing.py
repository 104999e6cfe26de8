"""Stand-in CorKit calibration files, for tests and offline demos -- never for science.

CorKit's ``level_1`` reads SolarSoft calibration files that ``corkit-update``
downloads. Without network they cannot be had, so this module writes small,
smooth stand-ins with the names and formats corkit opens: vignetting, ramp,
mask and background images, the centre/roll tables (CSV ``.sav`` files),
``c2_time_offsets.dat`` and ``occulter_center.dat``. Calibrated values made
with them are meaningless; geometry and data flow are real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = ["write_standin_calibration"]


def _vignetting(n=1024, r0=130.0, r1=520.0):
    yy, xx = np.mgrid[0:n, 0:n]
    r = np.hypot(xx - 512, yy - 510)
    return (1.0 + 0.8 * ((r - r0) / (r1 - r0)).clip(0, 1) ** 2).astype(np.float32)


def write_standin_calibration(folder: str | Path, *, roll: float = 0.0) -> Path:
    """Write every calibration file corkit 1.0.16's C2 and C3 ``level_1`` opens.

    Parameters
    ----------
    folder : path-like
        Created if needed; pass it as ``calib_dir``.
    roll : float
        Spacecraft roll in degrees in the centre/roll tables; with ``|roll| >= 1``
        corkit rotates the level-1 image.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    d = Path(folder)
    (d / "data" / "data_anal").mkdir(parents=True, exist_ok=True)
    vig = _vignetting()
    fits.writeto(d / "c2vig_final.fts", vig, overwrite=True)
    fits.writeto(d / "c3vig_preint_final.fts", vig, overwrite=True)
    fits.writeto(d / "c3vig_postint_final.fts", vig, overwrite=True)
    yy, xx = np.mgrid[0:1024, 0:1024]
    r = np.hypot(xx - 516, yy - 530)
    fits.writeto(d / "c3_cl_mask_lvl1.fts", ((r > 60) & (r < 500)).astype(np.float32), overwrite=True)
    fits.writeto(d / "C3ramp.fts", np.zeros((1024, 1024), np.float32), overwrite=True)
    bh = fits.Header()
    bh["EXPTIME"] = 20.0
    fits.writeto(d / "3m_clcl_all.fts", (50.0 * (r.clip(60) / 60.0) ** -2).astype(np.float32), bh, overwrite=True)
    (d / "data" / "data_anal" / "c2_time_offsets.dat").write_text(
        "stand-in c2_time_offsets.dat (corkit-inpaint testing)\nmjd time xpos moved offset\n"
        "40000 0 0 0 0.0\n70000 0 0 0 0.0\n")
    for det, (x, y) in (("c2", (512.634, 505.293)), ("c3", (516.284, 529.489))):
        for era in ("pre", "post"):
            (d / f"{det}_{era}_recovery_adj_xyr_medv2.sav").write_text(
                "c_tai,c_xmed,c_ymed,c_rmed\n"
                f"0.0,{x},{y},{roll}\n4.0e9,{x},{y},{roll}\n")
    lines = ["stand-in occulter_center.dat (corkit-inpaint testing)"]
    for tel, filt, x, y in (("C2", "Orange", 512.634, 505.293), ("C2", "Deep Red", 512.634, 505.293),
                            ("C2", "Clear", 512.634, 505.293), ("C3", "Clear", 516.284, 529.489)):
        lines += [f"{x:10.3f}{y:10.3f}{0:5d}".ljust(31) + f"{tel} {filt}", "-"]
    (d / "occulter_center.dat").write_text("\n".join(lines) + "\n")
    return d
