"""The spread head: the network's own per-pixel 1-sigma of its fill (a heteroscedastic output).

Beside the expected value, a `corkit_inpaint.network.unet.PConvUNet` built
with ``sigma_head`` predicts, for every pixel, the half-width of the central
68.27% interval of the truth around its fill, in the window's normalised
stretched units. The head reads what the last stage's last decoder layer reads
from below (the whole UNet's view of the window), that stage's input (the
composite and the guides), its output and the hole, at half resolution, and
adds its correction to the logarithm of the error tables' unit: the hypotenuse
of the window's noise (the floor no fill can go under) and the spread of the
classical guide fills and the fill at the pixel (large where the context does
not say what the hole holds). A unit of the noise alone, the first error
tables' unit, was 1.5-2 times off both ways on real frames; the spread follows
a real frame's own structure (README, "How sure is a fill"). It is
trained with the fill frozen, by a Laplace negative log-likelihood
(`corkit_inpaint.training.spread`), and the Laplace scale it learns is turned into
the 68.27% half-width by a factor measured on held-out simulated holes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SpreadHead", "LOG_RANGE", "NOISE_FLOOR"]

#: The head's log half-width is kept within this range (normalised units: 1 is the window's spread).
LOG_RANGE = (-12.0, 4.0)
#: The window noise (normalised) under which it is taken at this value.
NOISE_FLOOR = 1e-3


class SpreadHead(nn.Module):
    """Three convolutions, at half resolution, from the last decoder layer's input to a log half-width per pixel.

    It works where the decoder's features are, at half the window's
    resolution (the stage's input, output and hole are averaged 2x2 to meet
    them), and its output is interpolated back (bilinear): a spread varies
    over pixels, not from one pixel to the next, and at full resolution the
    head would cost a third of the network's run.

    Parameters
    ----------
    features : int
        Channels of the decoder features it reads (the UNet's first width).
    inputs : int
        Channels of the stage's input (the composite and the guides).
    width : int
        Channels of its hidden layers.
    noise_channel : int
        Index, in the stage's input, of the window-noise guide.
    """

    def __init__(self, features: int, inputs: int, width: int = 16, *, noise_channel: int) -> None:
        super().__init__()
        self.noise_channel = noise_channel
        self.body = nn.Sequential(
            nn.Conv2d(features + inputs + 4, width, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 1, 1))
        nn.init.zeros_(self.body[-1].weight)       # starts at the unit, everywhere
        nn.init.zeros_(self.body[-1].bias)

    def log_unit(self, inp: torch.Tensor, pred: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``log(noise)`` and ``log(hypot(noise, spread))`` per pixel (each at least ``log(NOISE_FLOOR)``).

        ``noise`` is the window's, ``spread`` the largest minus the smallest of the three classical guide
        fills (the stage input's channels 1-3) and the fill at the pixel: the error tables' unit
        (`corkit_inpaint.uncertainty.features.PixelFeatures.unit`), in the window's units.

        Parameters
        ----------
        inp : torch.Tensor
            ``(N, inputs, H, W)``, the last stage's input (the composite, then the guides).
        pred : torch.Tensor
            ``(N, 1, H, W)``, the last stage's output.

        Returns
        -------
        lognoise, logunit : torch.Tensor
            Each ``(N, 1, H, W)``.
        """
        noise = inp[:, self.noise_channel:self.noise_channel + 1].clamp(min=NOISE_FLOOR)
        g = torch.cat([inp[:, 1:4], pred], 1)
        spread = g.amax(1, keepdim=True) - g.amin(1, keepdim=True)
        return torch.log(noise), 0.5 * torch.log(noise ** 2 + spread ** 2)

    def forward(self, below: torch.Tensor, inp: torch.Tensor, pred: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(N, 1, H, W)`` log half-widths (normalised units) of the fill ``pred``.

        Parameters
        ----------
        below : torch.Tensor
            ``(N, features, H/2, W/2)``, the last decoder layer's input from below.
        inp : torch.Tensor
            ``(N, inputs, H, W)``, the last stage's input: the composite, then the guides in
            `corkit_inpaint.network.windows.GUIDES` order.
        pred : torch.Tensor
            ``(N, 1, H, W)``, the last stage's output.
        mask : torch.Tensor
            ``(N, 1, H, W)``, 1 valid, 0 missing.
        """
        lognoise, logunit = self.log_unit(inp, pred)
        half = F.avg_pool2d(torch.cat([inp, pred, 1 - mask, lognoise, logunit], 1), 2)
        raw = self.body(torch.cat([below, half], 1))
        raw = F.interpolate(raw, size=pred.shape[-2:], mode="bilinear", align_corners=False)
        return (logunit + raw).clamp(*LOG_RANGE)
