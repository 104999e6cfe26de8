"""``pconv`` and ``pconv-smooth``: the partial-convolution UNet's fill of a frame."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..frame import Frame
from ..network.device import run_windows, select_device
from ..network.windows import GUIDES, frame_windows
from ..register import Neighbour
from .base import FillMethod, FillResult, Provenance

__all__ = ["PConvFill", "PCONV", "PCONV_SMOOTH"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PConvFill(FillMethod):
    """Fill with the partial-convolution UNet.

    Attributes
    ----------
    texture : bool
        Add white noise with the sigma measured around each hole (seeded by
        the window position, so deterministic) to the network's expected
        value, so the fill has the texture of real data. False gives the
        smooth expected value, which has the lowest RMSE.

    Notes
    -----
    The network reads windows of the frame's stretched image
    (`corkit_inpaint.network.windows.frame_windows`); holes with fewer than
    16 valid pixels in their window are left masked. The network's output is
    kept within the range of the window's data (and of the neighbours'
    estimate) widened by half that range. A non-CPU device that
    fails is replaced by the CPU, with a logged warning. A model that reads the
    neighbour guides (``extra_channels`` of 4 or more) fills from the
    neighbouring frames where they have data; an older model ignores them,
    and the provenance then names none.
    """

    texture: bool = True
    reads_neighbours: ClassVar[bool] = True

    def fill(self, frame: Frame, *, neighbours: Sequence[Neighbour] = (), device: str = "auto",
             weights=None) -> FillResult:
        windows, owned, declined = frame_windows(frame, neighbours)
        if not windows:
            return FillResult.unchanged(frame, Provenance(self.name, device=select_device(device)),
                                        "too little valid context around the missing pixels")
        res, model, dev = run_windows(weights, windows, device)
        values = frame.image.copy()
        filled = np.zeros(frame.shape, dtype=bool)
        for w, z, m in zip(windows, res, owned):
            y0, y1, x0, x1 = w.box
            vz = w.image[w.valid]
            have = w.guides[GUIDES.index("neighbour_count")] > 0     # the neighbours may see what the context does not
            if have.any():
                vz = np.concatenate([vz, w.guides[GUIDES.index("neighbours")][have]])
            lo, hi = float(vz.min()), float(vz.max())
            pad = 0.5 * (hi - lo) + 1.0
            zs = np.clip(z.astype(np.float64), lo - pad, hi + pad)
            if self.texture:
                zs = zs + w.texture
            lin = frame.stretch.inverse(zs * w.scale + w.centre)
            values[y0:y1, x0:x1][m] = lin[m]
            filled[y0:y1, x0:x1] |= m
        skipped = f"{int(declined.sum())} pixels had too little context" if declined.any() else ""
        prov = Provenance(self.name, model.model_id, model.sha256, dev)
        if model.config["extra_channels"] > GUIDES.index("neighbours"):
            used = np.zeros(len(neighbours), dtype=bool)
            for w in windows:
                used |= np.array(w.used or [False] * len(neighbours), dtype=bool)
            prov = prov.with_neighbours(neighbours, used)
        elif neighbours:
            log.warning("model %s reads no neighbouring frames: filling from this frame alone", model.model_id)
        return FillResult(values, filled, prov, skipped=skipped)


PCONV = PConvFill("pconv", texture=True)
PCONV_SMOOTH = PConvFill("pconv-smooth", texture=False)
