"""``pconv-fourier``: the partial-convolution UNet with Fourier skips and Fourier attention in its decoder."""

from __future__ import annotations

from .pconv import PConvFill

__all__ = ["PCONV_FOURIER", "MODEL"]

#: The registry name of its weights (`corkit_inpaint.network.unet.PConvUNet` with ``arch="pconv-fourier"``).
MODEL = "pconv-fourier-lasco-nb2"

#: The network's expected value, as ``pconv-smooth``; its sigma comes from an error table fitted for its weights.
PCONV_FOURIER = PConvFill("pconv-fourier", texture=False, model=MODEL, arch="pconv-fourier")
