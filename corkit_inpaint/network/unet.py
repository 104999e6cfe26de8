"""The L-stage partial-convolution UNet that corrects a classical base fill.

References
----------
.. [1] Liu, G., Reda, F. A., Shih, K. J., Wang, T.-C., Tao, A., Catanzaro, B.
   "Image Inpainting for Irregular Holes Using Partial Convolutions", ECCV 2018.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .fourier import FourierAttention, FourierSkip
from .latent import Latent
from .layer import PartialConv2d
from .spread import SpreadHead
from .windows import GUIDES

__all__ = ["PConvUNet", "ring_masks", "STEPS", "ARCHES", "REFERENCE_SIDE"]

#: Units of the correction a stage adds to its input (see `PConvUNet`).
STEPS = ("scale", "noise")
#: Side of the training crops: the Fourier skips' convolution is scaled to this size (`FourierSkip`).
REFERENCE_SIDE = 96
#: The networks of the design: the partial-convolution UNet, with a Fourier branch, and its Fourier-space VAE.
ARCHES = ("pconv", "pconv-fourier", "fourier-vae")


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, *, in_mask_channels: int = 1) -> None:
        super().__init__()
        self.conv = PartialConv2d(cin, cout, k, stride=2, padding=k // 2,
                                  multi_channel=in_mask_channels > 1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x, m):
        x, m = self.conv(x, m)
        return self.act(x), m


class _Up(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int, *, last: bool = False) -> None:
        super().__init__()
        self.conv = PartialConv2d(cin + cskip, cout, 3, padding=1, multi_channel=True)
        self.act = None if last else nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x, m, skip, mskip):
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        m = F.interpolate(m, scale_factor=2.0, mode="nearest")
        # the concatenated mask is m on x's channels and mskip on skip's: pass X*M and its count
        skip_count = mskip.sum(1, keepdim=True) if mskip.shape[1] > 1 else mskip * skip.shape[1]
        xm = torch.cat([x * m, skip * mskip], 1)
        x, m = self.conv.forward_masked(xm, m * x.shape[1] + skip_count)
        if self.act is not None:
            x = self.act(x)
        return x, m


class _UNet(nn.Module):
    """One partial-convolution UNet: encoder of strided pconvs, decoder with skips.

    The input mask has one channel per input channel; every later mask has one.
    With ``fourier``, every decoder level but the last adds a Fourier skip
    from the encoder and a Fourier attention branch (`corkit_inpaint.network.fourier`).
    """

    def __init__(self, in_channels: int, widths: tuple[int, ...], *, fourier: bool = False) -> None:
        super().__init__()
        chans = (in_channels,) + tuple(widths)
        self.downs = nn.ModuleList(
            _Down(chans[i], chans[i + 1], 5 if i == 0 else 3,
                  in_mask_channels=in_channels if i == 0 else 1)
            for i in range(len(widths)))
        self.ups = nn.ModuleList(
            _Up(chans[i + 1], chans[i], 1 if i == 0 else chans[i], last=i == 0)
            for i in reversed(range(len(widths))))
        levels = list(reversed(range(1, len(widths))))        # decoder levels with features (not the head)
        self.fskips = (nn.ModuleList(FourierSkip(chans[i], chans[i], reference=REFERENCE_SIDE // 2 ** i)
                                     for i in levels) if fourier else None)
        self.fattn = nn.ModuleList(FourierAttention(chans[i]) for i in levels) if fourier else None

    def forward(self, x: torch.Tensor, m: torch.Tensor, bottleneck=None, *, features: bool = False):
        """The output; ``bottleneck``, if given, is applied to the deepest features.

        With ``features``, ``(output, f)``: ``f`` is what the last decoder layer reads from below
        (``widths[0]`` channels at half resolution), for the spread head.
        """
        xs, ms = [x], [m]
        below = None
        for down in self.downs:
            x, m = down(x, m)
            xs.append(x)
            ms.append(m)
        if bottleneck is not None:
            x = bottleneck(x)
        for j, up in enumerate(self.ups):
            i = len(self.downs) - 1 - j
            if i == 0:
                below = x
            x, m = up(x, m, xs[i], ms[i])
            if self.fattn is not None and i > 0:
                x = self.fattn[j](self.fskips[j](xs[i], x))
        return (x, below) if features else x


def ring_masks(mask: torch.Tensor, stages: int, ring: int) -> list[torch.Tensor]:
    """Successive valid-pixel masks for the stages.

    ``masks[0]`` is the input mask; ``masks[l]`` grows ``masks[l-1]`` by
    ``ring`` pixels into the hole, which is what ``ring`` applications of the
    partial-convolution mask update with a 3x3 window give.
    """
    masks = [mask]
    k = 2 * ring + 1
    for _ in range(stages - 1):   # the square maximum as a row maximum then a column one: the same, 1/ring the work
        rows = F.max_pool2d(masks[-1], (1, k), stride=1, padding=(0, ring))
        masks.append(F.max_pool2d(rows, (k, 1), stride=1, padding=(ring, 0)))
    return masks


class PConvUNet(nn.Module):
    """L-stage partial-convolution UNet that predicts a correction to a base fill.

    Stage ``l`` sees the composite of stage ``l-1`` under the mask
    ``masks[l-1]`` (the input mask grown ``ring`` pixels per stage, see
    `ring_masks`) and predicts the hole values again; the output of every
    stage is composited so valid pixels always come from the input.

    Parameters
    ----------
    stages : int, optional
        Number of stages ``L`` (default 2).
    widths : tuple of int, optional
        Channel widths of the encoder levels.
    ring : int, optional
        How many pixels each stage's mask grows into the hole.
    extra_channels : int, optional
        Number of guide channels (classical fills) given beside the image.
    base : int, optional
        The guide channel the first stage corrects (0, the biharmonic fill; a
        neighbour model uses 3, the neighbours' estimate, which is the
        biharmonic fill wherever no neighbour has data).
    arch : {"pconv", "pconv-fourier", "fourier-vae"}, optional
        ``"pconv-fourier"`` adds Fourier skips and Fourier attention to every
        decoder level but the last; ``"fourier-vae"`` adds to that a Gaussian
        latent at the last stage's bottleneck (`corkit_inpaint.network.latent`):
        in training its posterior reads the truth (``teacher``) and `kl` holds
        its KL divergence; at inference the prior's mean gives the fill and
        ``eps`` its draws. Both new parts start at zero (the network starts as
        the ``"pconv"`` one).
    step : {"scale", "noise"}, optional
        The unit of each stage's correction. ``"scale"``: the window's scale,
        everywhere. ``"noise"`` (needs all 8 guides): where a neighbour has data,
        the expected miss of its estimate, ``noise * max(misfit / noise, 1)``
        capped at the window scale (`step_unit`), so a correction of order one
        is a noise-sized change to an estimate that is already close; elsewhere
        the window scale.
    sigma_head : int, optional
        Hidden width of the spread head (`corkit_inpaint.network.spread.SpreadHead`),
        which predicts the fill's per-pixel 68.27% half-width beside it
        (``forward(..., spread=True)``); 0, the default, builds none. Needs all 8 guides.

    Notes
    -----
    Inputs are in the normalised stretched space. Channel 0 of ``guides`` is
    the base fill the first stage corrects, unless ``base`` names another. Guides come in a fixed order
    (`corkit_inpaint.network.windows.prepare_window`: biharmonic, radial, azimuthal); a
    model uses the first ``extra_channels`` of them and ignores the rest, so
    older models keep working when a guide is added.
    """

    def __init__(self, *, stages: int = 2, widths: tuple[int, ...] = (32, 48, 64, 96),
                 ring: int = 6, extra_channels: int = 3, base: int = 0, step: str = "scale",
                 arch: str = "pconv", sigma_head: int = 0) -> None:
        super().__init__()
        if arch not in ARCHES:
            raise ValueError(f"arch = {arch!r} must be one of {', '.join(ARCHES)}")
        if not 0 <= base < extra_channels:
            raise ValueError(f"base = {base} must name one of the {extra_channels} guide channels")
        if step not in STEPS or (step == "noise" and extra_channels < len(GUIDES)):
            raise ValueError(f"step = {step!r} must be 'scale', or 'noise' with all {len(GUIDES)} guides")
        if sigma_head and extra_channels < len(GUIDES):
            raise ValueError(f"sigma_head needs all {len(GUIDES)} guides (it reads the window's noise)")
        self.stages = stages
        self.ring = ring
        self.config = {"stages": stages, "widths": list(widths), "ring": ring,
                       "extra_channels": extra_channels, "base": base}
        if step != "scale":             # absent means "scale": older files keep their exact config
            self.config["step"] = step
        if arch != "pconv":             # absent means "pconv", likewise
            self.config["arch"] = arch
        if sigma_head:                  # absent means none
            self.config["sigma_head"] = sigma_head
        self.arch = arch
        cin = 1 + extra_channels
        self.nets = nn.ModuleList(_UNet(cin, widths, fourier=arch != "pconv") for _ in range(stages))
        self.latent = Latent(widths[-1]) if arch == "fourier-vae" else None
        self.spread_head = (SpreadHead(widths[0], cin, sigma_head, noise_channel=1 + GUIDES.index("noise"))
                       if sigma_head else None)
        #: The last training forward's KL divergence summed over latent cells (``fourier-vae``), else None.
        self.kl: torch.Tensor | None = None

    def forward(self, image: torch.Tensor, mask: torch.Tensor, guides: torch.Tensor,
                *, teacher: torch.Tensor | None = None, teacher_prob: float = 0.0,
                eps: torch.Tensor | None = None,
                spread: bool = False) -> list[torch.Tensor] | tuple[list[torch.Tensor], torch.Tensor]:
        """Run all stages.

        Parameters
        ----------
        image : torch.Tensor
            ``(N, 1, H, W)``, any value in the holes.
        mask : torch.Tensor
            ``(N, 1, H, W)``, 1 valid, 0 missing.
        guides : torch.Tensor
            ``(N, C, H, W)`` classical fills, ``C >= extra_channels``; channel 0 is the base.
        teacher : torch.Tensor, optional
            Ground truth, used in training for teacher forcing: with probability
            ``teacher_prob`` a stage's ring input comes from the truth instead of
            the previous stage.
        eps : torch.Tensor, optional
            ``fourier-vae`` only: ``(k N, LATENT_DIMS, H / 2**levels, W / 2**levels)`` standard normal
            draws, draw-major (row ``d N + n`` is draw ``d`` of input ``n``);
            the last stage then runs ``k`` times, once per draw, and its output has ``k N`` rows.
        spread : bool
            Also return the spread head's ``(N, 1, H, W)`` log 68.27% half-widths of the final output
            (`ValueError` for a network without one).

        Returns
        -------
        list of torch.Tensor
            The composited output of every stage, last one final; with ``spread``, ``(outputs, log_sigma)``.
        """
        if spread and self.spread_head is None:
            raise ValueError("this network has no spread head (sigma_head = 0)")
        masks = ring_masks(mask, self.stages, self.ring)
        need = self.config["extra_channels"]
        if guides.shape[1] < need:
            raise ValueError(f"this model reads {need} guide channels, got {guides.shape[1]}")
        guides = guides[:, :need]
        unit = self.step_unit(guides)
        b = self.config["base"]
        base = guides[:, b:b + 1]
        current = mask * image + (1 - mask) * base
        if eps is not None and self.latent is None:
            raise ValueError(f"eps: this {self.arch} network has no latent to draw")
        outs = []
        self.kl = None
        for stage, net in enumerate(self.nets):
            last = stage + 1 == self.stages
            if last and eps is not None and eps.shape[0] != image.shape[0]:     # k draws of the last stage
                k = eps.shape[0] // image.shape[0]
                image, mask, guides, current = (t.repeat(k, 1, 1, 1) for t in (image, mask, guides, current))
                masks = [t.repeat(k, 1, 1, 1) for t in masks]
                unit = unit.repeat(k, 1, 1, 1) if torch.is_tensor(unit) else unit
            m = masks[stage]
            inp = torch.cat([current, guides], 1)
            full = torch.cat([m, torch.ones_like(guides)], 1)
            hook = self._bottleneck(current, mask, teacher, eps, unit) if last else None
            if last and spread:
                corr, below = net(inp, full, hook, features=True)
            else:
                corr = net(inp, full, hook)
            pred = current + unit * corr
            out = mask * image + (1 - mask) * pred
            if last and spread:
                log_sigma = self.spread_head(below, inp, pred, mask)
            outs.append(out)
            if teacher is not None and teacher_prob > 0 and stage + 1 < self.stages:
                use = (torch.rand(out.shape[0], 1, 1, 1, device=out.device) < teacher_prob)
                ring_next = masks[stage + 1] - mask
                out = torch.where(use, out * (1 - ring_next) + teacher * ring_next, out)
            current = out
        return (outs, log_sigma) if spread else outs

    def _bottleneck(self, current, mask, teacher, eps, unit):
        """The last stage's bottleneck function: the latent (``fourier-vae``), or None.

        In training the posterior reads the truth's residual in the stage's step unit (the noise-sized unit
        of a ``step="noise"`` model), where it is of order one.
        """
        if self.latent is None:
            return None
        if self.training and teacher is not None:
            def post(h):
                h, self.kl = self.latent(h, residual=(teacher - current) / unit, hole=1 - mask)
                return h
            return post
        return lambda h: self.latent(h, eps=eps)[0]

    def step_unit(self, guides: torch.Tensor, elsewhere: torch.Tensor | float = 1.0) -> torch.Tensor | float:
        """The unit of each stage's correction, per pixel (1, the window scale, for ``step="scale"``).

        Parameters
        ----------
        guides : torch.Tensor
            ``(N, C, H, W)`` guides in `GUIDES` order.
        elsewhere : torch.Tensor or float
            The unit where no neighbour has data (1, the window scale, for the
            correction; the training losses pass the window's noise).

        Returns
        -------
        torch.Tensor or float
            ``(N, 1, H, W)`` for ``step="noise"``: where a neighbour has data,
            ``noise * max(misfit / noise, 1)`` (both from the guides), at most
            1; elsewhere ``elsewhere``.
        """
        if self.config.get("step", "scale") == "scale":
            return 1.0
        have = guides[:, GUIDES.index("neighbour_count")][:, None] > 0
        ratio = torch.expm1(guides[:, GUIDES.index("neighbour_misfit")][:, None]).clamp(min=1.0)
        unit = (guides[:, GUIDES.index("noise")][:, None] * ratio).clamp(max=1.0)
        return torch.where(have, unit, torch.as_tensor(elsewhere, dtype=unit.dtype, device=unit.device))
