"""``biharmonic``: scikit-image's biharmonic fill, in the same stretched space and windows as ``pconv``.

References
----------
.. [1] Damelin, S. B., Hoang, N. S. "On Surface Completion and Image
   Inpainting by Biharmonic Functions", Int. J. Math. Math. Sci. 2018.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..biharmonic_cache import inpaint_biharmonic
from .windowed import WindowedFill

__all__ = ["BiharmonicFill", "BIHARMONIC"]


@dataclass(frozen=True)
class BiharmonicFill(WindowedFill):
    """Biharmonic fill of each window: `skimage.restoration.inpaint_biharmonic`'s, bit for bit
    (`corkit_inpaint.biharmonic_cache`)."""

    def fill_window(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        return inpaint_biharmonic(values, ~valid)


BIHARMONIC = BiharmonicFill("biharmonic")
