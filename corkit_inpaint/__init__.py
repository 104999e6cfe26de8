"""corkit-inpaint: fill missing LASCO telemetry blocks with a partial-convolution UNet.

The package reads like the pipeline: `read` (a level-0.5 FITS file),
`blocks` (find the missing 32x32 blocks), `frame` (everything a fill needs,
built once), `fill` (run a method from `methods` and check it) and `write`
(provenance, INPMASK, atomic output). `api` and `level1` are the two ways in;
`network`, `training` and `evaluation` hold the model, how it is made and how it
is judged.
"""

from __future__ import annotations

__version__ = "0.1.30"

from .api import inpaint_array, inpaint_fits
from .blocks import find_missing_blocks
from .exceptions import BatchError, CalibrationError, CorkitInpaintError, InputError, MethodError, WeightsError
from .maps import inpaint_map, read_map
from .methods import FillMethod, FillResult, available_methods, get_method
from .uncertainty.region import region_sigma

__all__ = ["__version__", "inpaint_array", "inpaint_fits", "inpaint_map", "read_map", "find_missing_blocks",
           "region_sigma", "load_model", "available_methods", "get_method", "level_1", "FillMethod", "FillResult",
           "CorkitInpaintError", "InputError", "WeightsError", "CalibrationError", "MethodError", "BatchError"]


def __getattr__(name: str):
    # torch loads only when the model is, corkit only when level_1 is used
    if name == "level_1":
        from .level1 import level_1
        return level_1
    if name == "load_model":
        from .network.weights import load_model
        return load_model
    raise AttributeError(f"module 'corkit_inpaint' has no attribute {name!r}")
