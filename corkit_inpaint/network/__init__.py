"""The partial-convolution network: layer, UNet, its input windows and guides, devices, weights.

Modules: `layer` (the partial convolution), `unet` (the L-stage UNet),
`guides` (classical guide fills), `windows` (a frame's network inputs),
`device` (running it, with the CPU fallback), `registry` (the model registry),
`cache` (the per-user cache), `download` (fetching into the cache) and `weights` (finding and
loading a verified file). Torch is imported only by the modules that need it.
"""

__all__: list[str] = []
