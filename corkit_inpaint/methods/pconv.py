"""``pconv`` and ``pconv-smooth``: the partial-convolution UNet's fill of a frame."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..frame import Frame
from ..network.device import run_windows, select_device
from ..network.windows import frame_windows
from .base import FillMethod, FillResult, Provenance

__all__ = ["PConvFill", "PCONV", "PCONV_SMOOTH"]


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
    16 valid pixels in their window are left masked. A non-CPU device that
    fails is replaced by the CPU, with a logged warning.
    """

    texture: bool = True

    def fill(self, frame: Frame, *, neighbours: Sequence[Frame] = (), device: str = "auto",
             weights=None) -> FillResult:
        windows, owned, declined = frame_windows(frame)
        if not windows:
            return FillResult.unchanged(frame, Provenance(self.name, device=select_device(device)),
                                        "too little valid context around the missing pixels")
        res, model, dev = run_windows(weights, windows, device)
        values = frame.image.copy()
        filled = np.zeros(frame.shape, dtype=bool)
        for w, z, m in zip(windows, res, owned):
            y0, y1, x0, x1 = w.box
            vz = w.image[w.valid]
            lo, hi = float(vz.min()), float(vz.max())
            pad = 0.5 * (hi - lo) + 1.0
            zs = np.clip(z.astype(np.float64), lo - pad, hi + pad)
            if self.texture:
                zs = zs + w.texture
            lin = frame.stretch.inverse(zs * w.scale + w.centre)
            values[y0:y1, x0:x1][m] = lin[m]
            filled[y0:y1, x0:x1] |= m
        skipped = f"{int(declined.sum())} pixels had too little context" if declined.any() else ""
        return FillResult(values, filled, Provenance(self.name, model.model_id, model.sha256, dev),
                          skipped=skipped)


PCONV = PConvFill("pconv", texture=True)
PCONV_SMOOTH = PConvFill("pconv-smooth", texture=False)
