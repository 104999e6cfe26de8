"""What corkit's level 1 takes for a missing pixel, and the filled frame given to it so that it zeroes no valid one.

corkit 1.0.16's ``level_1`` sets a pixel it takes for missing (`missing_floor`)
to 0 and, its mask being transposed, the pixel at the transposed position too:
`above_missing_floor` gives corkit every such pixel one DN above that level
where the transposed pixel holds data, and says which ones
`corkit_inpaint.level1` zeroes and flags afterwards.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from dataclasses import replace

import numpy as np
from astropy.io import fits

from . import header as H
from .corkit_bridge import pads_to_full_frame
from .wrap import unwrapped

__all__ = ["missing_floor", "corkit_bias", "above_missing_floor"]

log = logging.getLogger(__name__)


def missing_floor(header, detector: str) -> float:
    """The level-0.5 value at or below which corkit 1.0.16's ``level_1`` takes a pixel for a missing one.

    A C2 pixel at or below the bias corkit subtracts from the stored value as it is
    (`corkit_bias`: its daily expfactor file's where the calibration folder has
    one, else OFFSET; not times the on-board summing: on the real 2x2-summed frame,
    OFFSET 582, holes at 583 DN zero no valid pixel and holes at 581 DN zero 1,801),
    a C3 pixel at or below 0. corkit sets such a pixel to 0 and, its mask being
    transposed, the pixel at the transposed position too: a valid one, wherever
    the two differ. Call it where corkit's calibration folder is set
    (`corkit_calibration_dir`).

    Parameters
    ----------
    header : astropy.io.fits.Header
        The level-0.5 header.
    detector : {"C2", "C3"}

    Returns
    -------
    float
        The level, in the stored DN.
    """
    if detector != "C2":
        return 0.0
    own = corkit_bias(header)
    return own if own is not None else float(H.number(header, "OFFSET") or 0.0)


def corkit_bias(header) -> float | None:
    """The bias corkit's ``level_1`` subtracts from this frame, as ``corkit.utils.get_exp_factor`` finds it in
    the calibration folder set now (its daily ``*_expfactor_*.dat``, else the header's OFFSET); None where it
    cannot say (a header it cannot read). It can differ from OFFSET (review s34: by 0.9 DN, which the one DN
    above OFFSET that holes were given did not clear).

    Parameters
    ----------
    header : astropy.io.fits.Header
        The level-0.5 header.

    Returns
    -------
    float or None
    """
    import corkit.utils
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bias = float(corkit.utils.get_exp_factor(fits.Header(header).copy())[2])
    except Exception:                   # noqa: BLE001 - corkit's own, of any kind: the header's OFFSET serves
        return None
    return bias if np.isfinite(bias) else None


def above_missing_floor(filled, header, detector: str):
    """The fill as corkit must see it, and the pixels whose level-1 pixels are to be zeroed after.

    Every value corkit would take for a missing pixel (`missing_floor`) is
    raised to one DN above that, where the pixel at its transposed position
    holds data: corkit's level 1 sets such a pixel's level-1 pixels to 0 and,
    its mask being transposed, those of the valid pixel there, outside INPMASK.
    That is:

    - a filled value that undershoots (a dark region, noise);
    - a missing pixel the fill left (``filled.missing`` not in ``filled.filled``);
    - a pixel without data (0 or less) the block finder did not take for
      missing (a never-sent block behind the occulter, at the field stop, on
      C3's pylon), where the transposed pixel holds data; not on a subfield,
      which corkit pads with zeros into its full frame first (where a raised
      pixel's transposed pixel would be that padding, the level-1 pixel corkit
      then leaves would show the padding calibrated: review s35).

    Parameters
    ----------
    filled : corkit_inpaint.fill.FilledImage
        The fill step's result (``missing``: the pixels it found missing).
    header : astropy.io.fits.Header
        The level-0.5 header.
    detector : {"C2", "C3"}

    Returns
    -------
    filled : FilledImage
        With those values raised (and a note where filled values were).
    unfilled : numpy.ndarray of bool
        The missing pixels the fill left.
    no_data : numpy.ndarray of bool
        The pixels without data raised; `corkit_inpaint.level1` sets the
        level-1 pixels that read these two to 0 afterwards, and flags them.
    """
    floor = missing_floor(header, detector)
    raised = math.floor(floor) + 1
    values = np.asarray(unwrapped(filled.data, header), dtype=np.float64)
    low = filled.filled & (values <= floor)
    unfilled = np.zeros_like(low) if filled.missing is None else filled.missing & ~filled.filled
    no_data = (values <= 0) & ~filled.filled & ~unfilled
    if pads_to_full_frame(header) or values.shape[0] != values.shape[1]:
        no_data[:] = False                  # corkit pads it with zeros first: its transposes are in that frame
    elif no_data.any():
        no_data &= (values.T > floor) | (filled.filled | unfilled).T     # the fill and the holes are given above it
    if not (low.any() or unfilled.any() or no_data.any()):
        return filled, unfilled, no_data
    # a copy of a type that holds the raised value (an int16 frame whose OFFSET is far below 0: battery s35)
    data = filled.data.astype(np.result_type(filled.data.dtype, np.min_scalar_type(raised)))
    data[low | unfilled | no_data] = raised
    if not low.any():
        return replace(filled, data=data), unfilled, no_data
    why = (f"{int(low.sum())} filled values at or below {floor:g} DN, which corkit's level 1 takes for missing "
           f"pixels, raised to {raised} DN")
    log.info("%s", why)
    return replace(filled, data=data, note="; ".join(n for n in (filled.note, why) if n)), unfilled, no_data
