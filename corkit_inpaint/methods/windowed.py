"""Classical fills run as ``pconv`` runs: in the frame's stretched space, window by window."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..frame import Frame
from ..network.windows import MIN_CONTEXT
from ..register import Neighbour
from ..uncertainty.tables import fill_sigma
from .base import FillMethod, FillResult, Provenance, declined_note

__all__ = ["WindowedFill"]


@dataclass(frozen=True)
class WindowedFill(FillMethod):
    """Base of the classical methods: subclasses implement `fill_window`.

    Every window of `corkit_inpaint.network.windows.windows_for` is filled in
    stretched values, and brought back to the image's unit exactly. The sigma
    comes from the method's error table (`corkit_inpaint.uncertainty`), when
    one was fitted.
    """

    local: ClassVar[bool] = True

    def fill_window(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Fill one window of stretched ``values`` where ``valid`` is False."""
        raise NotImplementedError

    def _windows(self, frame: Frame, fill_window: Callable) -> FillResult:
        values = frame.image.copy()
        s = frame.stretched
        boxes, owner = frame.windows
        filled = np.zeros(frame.shape, dtype=bool)
        for k, (y0, y1, x0, x1) in enumerate(boxes):
            sw, vw = s[y0:y1, x0:x1], frame.valid[y0:y1, x0:x1]
            if vw.sum() < MIN_CONTEXT:           # left masked, as the network leaves it
                continue
            f = fill_window(np.where(vw, sw, 0.0), vw)
            m = owner[y0:y1, x0:x1] == k
            values[y0:y1, x0:x1][m] = frame.stretch.inverse(f)[m]
            filled[y0:y1, x0:x1] |= m
        declined = frame.missing & ~filled
        skipped = declined_note(declined)
        return FillResult(values, filled, Provenance(self.name), sigma=fill_sigma(self.name, frame, values, filled),
                          skipped=skipped)

    def fill(self, frame: Frame, *, neighbours: Sequence[Neighbour] = (), device: str = "auto",
             weights=None) -> FillResult:
        return self._windows(frame, self.fill_window)
