"""The ``fourier-vae`` latent: a prior from the context, a posterior that also sees the truth, and its injection.

It sits at the bottleneck of the last stage's UNet (1/16 of the window's
resolution: a 32x32 block is 2x2 latent cells). In training the posterior
reads the truth's residual against the stage's input, pooled to the latent's
grid, and the KL divergence to the prior is scored. At inference the prior's
mean gives the fill and the prior's draws give samples whose spread is the
fill's sigma.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Latent", "LATENT_DIMS"]

#: Latent channels per cell.
LATENT_DIMS = 8


class Latent(nn.Module):
    """Gaussian latent at a feature map (a conditional VAE's prior, posterior and decoder input).

    Parameters
    ----------
    channels : int
        Channels of the bottleneck features.
    dims : int, optional
        Latent channels per cell.
    """

    def __init__(self, channels: int, dims: int = LATENT_DIMS) -> None:
        super().__init__()
        self.dims = dims
        self.prior = nn.Conv2d(channels, 2 * dims, 3, padding=1)
        self.posterior = nn.Conv2d(channels + 2, 2 * dims, 3, padding=1)
        self.inject = nn.Conv2d(dims, channels, 1)
        nn.init.zeros_(self.inject.weight)          # the network starts as the one without a latent
        nn.init.zeros_(self.inject.bias)

    def forward(self, h: torch.Tensor, *, residual: torch.Tensor | None = None, hole: torch.Tensor | None = None,
                eps: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The features with the latent added, and the KL divergence per cell (training) or None.

        Parameters
        ----------
        h : torch.Tensor
            ``(N, C, h, w)`` bottleneck features.
        residual, hole : torch.Tensor, optional
            ``(N, 1, H, W)`` truth minus the stage's input, and the hole (1 missing): given in
            training, the latent is drawn from the posterior.
        eps : torch.Tensor, optional
            ``(N, dims, h, w)`` standard normal draws: the latent is the prior's draw. Without
            ``eps`` or ``residual`` it is the prior's mean.
        """
        mu_p, logv_p = self.prior(h).chunk(2, 1)
        logv_p = logv_p.clamp(-10.0, 6.0)
        kl = None
        if residual is not None:
            size = h.shape[-2:]
            cells = torch.cat([F.adaptive_avg_pool2d(residual * hole, size), F.adaptive_avg_pool2d(hole, size)], 1)
            mu_q, logv_q = self.posterior(torch.cat([h, cells], 1)).chunk(2, 1)
            logv_q = logv_q.clamp(-10.0, 6.0)
            z = mu_q + torch.exp(0.5 * logv_q) * torch.randn_like(mu_q)
            kl = 0.5 * (logv_p - logv_q + (torch.exp(logv_q) + (mu_q - mu_p) ** 2) / torch.exp(logv_p) - 1.0)
            kl = kl.sum(1, keepdim=True)
        elif eps is not None:
            z = mu_p + torch.exp(0.5 * logv_p) * eps
        else:
            z = mu_p
        return h + self.inject(z), kl
