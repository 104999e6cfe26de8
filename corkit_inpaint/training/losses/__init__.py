"""Training losses, one per file, and `compute_losses`, their weighted sum over the UNet's stages.

Terms (in normalised units, summed over the ``L`` stages, earlier stages
weighing half): ``hole`` (`hole.hole_l1`), ``hole_l2`` (`hole.hole_l2`, off
by default), ``ring`` (`ring.ring_l1`), ``grad`` (`gradient.gradient_l1`),
``noise`` (`noise.noise_consistency`), and with a VGG19 file the perceptual
and style terms (`perceptual.perceptual_style`); for ``fourier-vae`` the latent's
KL divergence, each cell's at least ``kl_free`` nats (free bits: below that it
costs nothing, so the latent does not collapse onto its prior), summed over its
cells, per hole pixel (``kl``, an ELBO with a unit-scale Laplace likelihood in the
loss unit). For a model whose correction
unit is the noise (``step="noise"``), the hole, ring and gradient errors are
measured in noise units (`loss_unit`): where a neighbour has data, against
the estimate's expected miss (the model's step unit), elsewhere against the
window's noise. The fill is judged by its RMSE over the noise, and in
window-scale units a miss of several sigma in a bright, steep window looks
negligible.
"""

from __future__ import annotations

from ...network.unet import PConvUNet, ring_masks
from ...network.windows import GUIDES
from ..config import TrainConfig
from .gradient import gradient_l1
from .hole import hole_l1, hole_l2
from .noise import noise_consistency
from .perceptual import VGGFeatures, perceptual_style
from .ring import ring_l1

__all__ = ["compute_losses", "loss_unit", "MIN_NOISE"]

#: Floor of the noise unit (window-scale units), so a nearly noiseless window cannot dominate a batch.
MIN_NOISE = 0.01


def loss_unit(model: PConvUNet, guides):
    """The unit errors are measured in: 1, or for ``step="noise"`` the step unit where a neighbour has data
    and the window's noise (at least `MIN_NOISE`) elsewhere."""
    if model.config.get("step", "scale") == "scale":
        return 1.0
    if guides is None:
        raise ValueError("a model with step='noise' needs the guides to measure its errors")
    return model.step_unit(guides, elsewhere=guides[:, GUIDES.index("noise")][:, None].clamp(min=MIN_NOISE))


def compute_losses(outs, truth, valid, hole, noise, texture, model: PConvUNet, cfg: TrainConfig,
                   vgg: VGGFeatures | None = None, *, guides=None):
    """The weighted total and each term, for a batch (see the module docstring).

    ``guides`` (the batch's guides) are needed by a model with ``step="noise"``.
    """
    masks = ring_masks(valid, model.stages + 1, model.ring)
    unit = loss_unit(model, guides)
    terms = {"hole": 0.0, "hole_l2": 0.0, "ring": 0.0, "grad": 0.0, "noise": 0.0}
    for stage, out in enumerate(outs):
        wl = 1.0 if stage == len(outs) - 1 else 0.5
        o, t = out / unit, truth / unit
        terms["hole"] = terms["hole"] + wl * hole_l1(o, t, hole)
        terms["hole_l2"] = terms["hole_l2"] + wl * hole_l2(o, t, hole)
        terms["ring"] = terms["ring"] + wl * ring_l1(o, t, (masks[stage + 1] - masks[stage]) * hole)
        terms["grad"] = terms["grad"] + wl * gradient_l1(o, t, hole)
        terms["noise"] = terms["noise"] + wl * noise_consistency(out, texture, hole, noise)
    total = (cfg.w_hole * terms["hole"] + cfg.w_hole_l2 * terms["hole_l2"] + cfg.w_ring * terms["ring"]
             + cfg.w_grad * terms["grad"] + cfg.w_noise * terms["noise"])
    if model.kl is not None:            # fourier-vae: the latent's KL divergence per hole pixel, free bits off
        terms["kl"] = model.kl.clamp(min=cfg.kl_free).sum() / hole.sum().clamp(min=1)
        total = total + cfg.w_kl * terms["kl"]
    if vgg is not None:
        terms["perceptual"], terms["style"] = perceptual_style(vgg, outs[-1], truth, valid)
        total = total + cfg.w_perceptual * terms["perceptual"] + cfg.w_style * terms["style"]
    return total, terms
