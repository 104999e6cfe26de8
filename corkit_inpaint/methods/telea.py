"""``telea``: OpenCV's fast-marching fill (radius 5), in the same stretched space and windows as ``pconv``.

Needs OpenCV (``pip install opencv-python-headless``, the ``evaluate`` extra).

References
----------
.. [1] Telea, A. "An Image Inpainting Technique Based on the Fast Marching
   Method", Journal of Graphics Tools 9(1), 2004.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..exceptions import MethodError
from ..frame import Frame
from ..register import Neighbour
from .base import FillResult
from .windowed import WindowedFill

__all__ = ["TeleaFill", "TELEA"]


@dataclass(frozen=True)
class TeleaFill(WindowedFill):
    """Telea's fill of each window, on a 16-bit quantisation of its stretched values."""

    def fill(self, frame: Frame, *, neighbours: Sequence[Neighbour] = (), device: str = "auto",
             weights=None) -> FillResult:
        try:
            import cv2
        except ImportError:
            raise MethodError("method 'telea' needs OpenCV: pip install opencv-python-headless") from None

        def one(values, valid):
            # OpenCV's float32 Telea returns garbage; quantise the window to 16 bits instead
            lo, hi = float(values[valid].min()), float(values[valid].max())
            span = max(hi - lo, 1e-12)
            q = np.clip(np.rint((np.where(valid, values, lo) - lo) / span * 65535), 0, 65535).astype(np.uint16)
            out = cv2.inpaint(q, (~valid).astype(np.uint8), 5, cv2.INPAINT_TELEA)
            return out.astype(np.float64) / 65535 * span + lo

        return self._windows(frame, one)


TELEA = TeleaFill("telea")
