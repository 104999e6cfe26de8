"""``ratio``: the classical neighbour fill, each neighbour scaled by the smoothed ratio around the hole.

It is the obvious way to use the frames before and after (see
`corkit_inpaint.match`), and the baseline the network's neighbour fill is
measured against. Pixels no neighbour has data for are filled by
``biharmonic``, and the provenance names only the neighbours that gave data.
Without neighbours it is the biharmonic fill (`corkit_inpaint.fill.run_method` warns, and HISTORY says so).
Its sigma is its error table's, widened where the neighbours disagree with the frame or each other
(`corkit_inpaint.uncertainty.widen`), when its table holds a widening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..frame import Frame
from ..match import neighbour_estimate
from ..network.windows import frame_windows
from ..register import Neighbour
from ..uncertainty.features import neighbour_cover
from ..uncertainty.tables import table_for, table_sigma
from .base import FillMethod, FillResult, Provenance
from .biharmonic import BIHARMONIC

__all__ = ["RatioFill", "RATIO"]


@dataclass(frozen=True)
class RatioFill(FillMethod):
    """Fill from the neighbours scaled by the smoothed ratio (`corkit_inpaint.match.neighbour_estimate`)."""

    reads_neighbours: ClassVar[bool] = True
    local: ClassVar[bool] = True
    alone: ClassVar[str] = "the biharmonic fill"

    def fill(self, frame: Frame, *, neighbours: Sequence[Neighbour] = (), device: str = "auto",
             weights=None) -> FillResult:
        base = BIHARMONIC.fill(frame)
        values = base.values.copy()
        used = np.zeros(len(neighbours), dtype=bool)
        if neighbours:
            boxes, owner = frame.windows
            for k, box in enumerate(boxes):
                y0, y1, x0, x1 = box
                est = neighbour_estimate(frame, neighbours, box)
                take = (owner[y0:y1, x0:x1] == k) & (est.count > 0)
                values[y0:y1, x0:x1][take] = est.values[take]
                used |= np.array(est.used, dtype=bool)
        prov = Provenance(self.name).with_neighbours(neighbours, used)
        table = table_for(self.name)
        if table is None:
            return FillResult(values, base.filled, prov)
        # the windows' neighbour guides: where the neighbours disagree the sigma is widened (uncertainty.widen)
        sigma, how = table_sigma(table, frame, values, base.filled, neighbour=neighbour_cover(frame, neighbours),
                                 windows=frame_windows(frame, neighbours)[:2] if neighbours else None)
        return FillResult(values, base.filled, prov, sigma=sigma, how=how)


RATIO = RatioFill("ratio")
