"""Fourier-space layers: channel attention between a feature map and its Fourier transform, and a Fourier skip.

Both see the whole window at once (a product in Fourier space is a
convolution over the whole map), where a partial convolution passes
information only a few pixels per layer. Both end in a 1x1 projection that
starts at zero, so a network widened with them starts as the network without.

References
----------
.. [1] Suvorov, R. et al. "Resolution-robust Large Mask Inpainting with Fourier
   Convolutions" (LaMa), WACV 2022: convolutions in Fourier space for inpainting.
.. [2] Zamir, S. W. et al. "Restormer: Efficient Transformer for High-Resolution
   Image Restoration", CVPR 2022: attention along the channel dimension.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FourierAttention", "FourierSkip"]


def _zero(conv: nn.Conv2d) -> nn.Conv2d:
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


class FourierAttention(nn.Module):
    """Cross multi-head attention along channels between ``X`` and ``Re F[X]``, ``Im F[X]``.

    Queries come from ``X``; keys and values are the channels of the real and
    imaginary parts of its 2-D Fourier transform (``2 C`` tokens, each a whole
    spectrum). Two sets of ``C`` queries (for the real and the imaginary part
    of the output spectrum) are split over the heads; each head's
    ``2 C / heads x 2 C / heads`` attention map mixes spectra. The output
    spectrum goes back to the pixel domain by the inverse transform, and is
    added to ``X`` through a zero-initialised 1x1 projection.

    Parameters
    ----------
    channels : int
        Channels of ``X``.
    heads : int, optional
        Attention heads at most: the largest number up to it that divides ``channels``.
    """

    def __init__(self, channels: int, heads: int = 4) -> None:
        super().__init__()
        heads = max(h for h in range(1, heads + 1) if channels % h == 0)
        self.heads = heads
        self.q = nn.Conv2d(channels, 2 * channels, 1, bias=False)
        self.kv = nn.Conv2d(2 * channels, 4 * channels, 1, bias=False)
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.out = _zero(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        spec = torch.fft.fft2(x.float(), norm="ortho")
        k, v = self.kv(torch.cat([spec.real, spec.imag], 1).to(x.dtype)).chunk(2, 1)
        q = self.q(x)
        heads = self.heads

        def split(t):                    # (N, k*C, H, W) -> (N, heads, k*C/heads, H*W)
            return t.reshape(n, heads, -1, h * w)
        q, k, v = F.normalize(split(q), dim=-1), F.normalize(split(k), dim=-1), split(v)
        attn = torch.softmax(q @ k.transpose(-1, -2) * self.temperature, dim=-1)
        re, im = (attn @ v).reshape(n, 2, c, h, w).unbind(1)
        back = torch.fft.ifft2(torch.complex(re.float(), im.float()), norm="ortho").real.to(x.dtype)
        return x + self.out(back)


class FourierSkip(nn.Module):
    """A skip connection that convolves the encoder's features with the decoder's, in Fourier space.

    Both maps are projected to ``width`` channels; the product of their
    Fourier transforms is their circular convolution over the whole window.
    It is taken as a mean over the window's ``h w`` pixels, times
    ``reference`` (the side of this level's map for a training crop), so
    its size does not grow with the window: on a square ``reference``-sided
    map it is the convolution over ``reference``. It is added to the
    decoder's features through a zero-initialised 1x1 projection.

    Parameters
    ----------
    enc_channels, dec_channels : int
        Channels of the encoder's skip features and of the decoder's.
    width : int, optional
        Channels the two are convolved in.
    reference : int, optional
        Side of the map the convolution's scale is fixed at.
    """

    def __init__(self, enc_channels: int, dec_channels: int, width: int = 16, *, reference: int = 48) -> None:
        super().__init__()
        self.reference = float(reference)
        self.pe = nn.Conv2d(enc_channels, width, 1)
        self.pd = nn.Conv2d(dec_channels, width, 1)
        self.out = _zero(nn.Conv2d(width, dec_channels, 1))

    def forward(self, enc: torch.Tensor, dec: torch.Tensor) -> torch.Tensor:
        h, w = dec.shape[-2:]
        fe = torch.fft.rfft2(self.pe(enc).float(), norm="ortho")
        fd = torch.fft.rfft2(self.pd(dec).float(), norm="ortho")
        conv = torch.fft.irfft2(fe * fd, s=(h, w), norm="ortho") * (self.reference / (h * w) ** 0.5)
        return dec + self.out(conv.to(dec.dtype))
