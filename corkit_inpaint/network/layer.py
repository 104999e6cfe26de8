"""The partial convolution layer of Liu et al. (2018).

The layer follows Liu et al. (2018): for a window with valid-pixel mask ``M``,

.. math::

    O = W^T (X \\odot M) \\cdot \\frac{\\mathrm{sum}(1)}{\\mathrm{sum}(M)} + b
    \\quad\\text{if } \\mathrm{sum}(M) > 0, \\qquad O = 0 \\text{ otherwise}

and the mask is updated to ``m' = 1`` where ``sum(M) > 0``.

References
----------
.. [1] Liu, G., Reda, F. A., Shih, K. J., Wang, T.-C., Tao, A., Catanzaro, B.
   "Image Inpainting for Irregular Holes Using Partial Convolutions", ECCV 2018.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PartialConv2d"]


class PartialConv2d(nn.Conv2d):
    """A 2-D partial convolution.

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, padding, bias
        As for `torch.nn.Conv2d`.
    multi_channel : bool, optional
        If True the mask has one channel per input channel and ``sum(M)``
        counts valid entries over all input channels of the window. If False
        (default) the mask has a single channel shared by every input channel.

    Notes
    -----
    Where a window holds no valid pixel (``sum(M) == 0``) the output is
    defined as exactly 0 (the bias is *not* added) and the updated mask is 0,
    so the layer never produces NaN or inf. ``sum(1)`` is the number of
    entries in the window: ``k_h * k_w`` for a single-channel mask and
    ``C_in * k_h * k_w`` for a multi-channel one.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True, *, multi_channel: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, bias=bias)
        self.multi_channel = multi_channel
        mc = in_channels if multi_channel else 1
        self.register_buffer("_ones", torch.ones(1, 1, *self.kernel_size), persistent=False)
        self._window = float(mc * self.kernel_size[0] * self.kernel_size[1])

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply the layer.

        Parameters
        ----------
        x : torch.Tensor
            Input of shape ``(N, C_in, H, W)``.
        mask : torch.Tensor
            1 where valid, 0 where missing; shape ``(N, 1, H, W)`` or, with
            ``multi_channel=True``, ``(N, C_in, H, W)``.

        Returns
        -------
        out, new_mask : torch.Tensor
            The output ``(N, C_out, H', W')`` and updated mask ``(N, 1, H', W')``.
        """
        count = mask.sum(1, keepdim=True) if self.multi_channel else mask
        return self.forward_masked(x * mask, count)

    def forward_masked(self, xm: torch.Tensor, count: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The same layer from ``X * M`` and the per-pixel count of valid entries.

        ``count`` is ``M`` summed over the mask's channels (``(N, 1, H, W)``), so
        ``sum(M)`` over a window is one box filter of it; this avoids building a
        full multi-channel mask.
        """
        with torch.no_grad():
            msum = F.conv2d(count, self._ones, stride=self.stride, padding=self.padding)
            new_mask = (msum > 0).to(xm.dtype)
            ratio = self._window / msum.clamp(min=1.0) * new_mask
        out = F.conv2d(xm, self.weight, None, self.stride, self.padding) * ratio
        if self.bias is not None:
            out = out + self.bias.view(1, -1, 1, 1) * new_mask
        return out, new_mask
