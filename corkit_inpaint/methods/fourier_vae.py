"""``fourier-vae``: the Fourier-space conditional VAE's fill (its prior mean) and the spread of its draws."""

from __future__ import annotations

from .pconv import PConvFill

__all__ = ["FOURIER_VAE", "MODEL", "DRAWS"]

#: The registry name of its weights (`corkit_inpaint.network.unet.PConvUNet` with ``arch="fourier-vae"``).
MODEL = "fourier-vae-lasco-nb2"
#: Draws from the latent prior per window; their standard deviation is the fill's sigma.
DRAWS = 8

FOURIER_VAE = PConvFill("fourier-vae", texture=False, model=MODEL, draws=DRAWS, arch="fourier-vae")
