"""corkit-inpaint: fill missing LASCO telemetry blocks with a partial-convolution UNet.

The pipeline reads like the modules: `fitsio` reads the level-0.5 file,
`blocks` finds the missing 32x32 blocks, `network` (``pconv``) or another
method from `methods` fills them in the value space of `stretch`, and `api`
writes the FITS result with provenance and an ``INPMASK`` extension.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import inpaint_array, inpaint_fits
from .blocks import find_missing_blocks
from .fitsio import InputError
from .methods import available_methods, get_method
from .weights import WeightsError, load_model

__all__ = ["__version__", "inpaint_array", "inpaint_fits", "find_missing_blocks", "load_model",
           "available_methods", "get_method", "level_1", "InputError", "WeightsError"]


def __getattr__(name: str):
    # corkit (and its torch/matplotlib imports) loads only when level_1 is used
    if name == "level_1":
        from .level1 import level_1
        return level_1
    raise AttributeError(f"module 'corkit_inpaint' has no attribute {name!r}")
