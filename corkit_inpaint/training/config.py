"""`TrainConfig`: everything that decides a training run; saved beside the weights.

Each field's ``metadata["help"]`` is its command-line help: ``corkit-inpaint
train`` builds its options from these fields, so they are written once.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields

from ..network.weights import CONFIG_BOUNDS
from .sequence import SEQUENCE_VERSION
from .simulator import GENERATOR_VERSION

__all__ = ["TrainConfig"]

#: The largest seed torch's generators take (battery s36: a larger one failed in torch's words, -1 in numpy's).
_SEED_MAX = 2 ** 63 - 1


def _f(default, help: str, **kw):
    """A field with its command-line help; ``low`` (and ``high``) bound a number."""
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class TrainConfig:
    """Everything that decides a training run (see each field's help).

    Numbers outside their bounds are refused by `TrainConfig.check`, which the
    command line and `corkit_inpaint.training.loop.train` call.
    """

    seed: int = _f(20261122, "seed of the optimiser, batches and crops", low=0, high=_SEED_MAX)
    frames: int = _f(800, "simulated frames to train on", low=1, high=1_000_000)
    first_frame_seed: int = _f(1_000_000, "seed of the first simulated frame (frames use consecutive seeds)", low=0,
                               high=_SEED_MAX)
    masks_per_frame: int = _f(3, "loss masks drawn per frame", low=1)
    crop: int = _f(96, "side of the training crops, pixels", low=16)
    crops_per_window: int = _f(2, "crops cut from each window", low=1)
    steps: int = _f(10000, "optimiser steps", low=1)
    batch: int = _f(16, "crops per step", low=1)
    lr: float = _f(1e-3, "initial learning rate", low=1e-12)
    lr_final: float = _f(1e-4, "final learning rate (exponential decay)", low=0.0)
    clip: float = _f(1.0, "gradient-norm clip", low=0.0)
    stages: int = _f(2, "UNet stages L", low=1, high=8)
    widths: tuple = _f((32, 48, 64, 96), "channel widths of the encoder levels", nargs="+")
    ring: int = _f(6, "pixels each stage's mask grows into the hole", low=0, high=CONFIG_BOUNDS["ring"][1])
    extra_channels: int = _f(3, "guides the model reads (network.windows.GUIDES): 3 (biharmonic, radial, "
                                "azimuthal), 6 (+ the neighbour estimate, count and spread) or 8 (+ the "
                                "estimate's misfit and the noise)", low=1, high=8)
    base_guide: int = _f(0, "guide the first stage corrects: 0 (biharmonic) or 3 (the neighbours' estimate)",
                         low=0, high=5)
    step: str = _f("scale", "unit of the model's correction: scale (the window's) or noise (where a neighbour "
                            "has data, the estimate's expected miss; needs --extra-channels 8); errors are "
                            "measured in the same unit", choices=("scale", "noise"))
    arch: str = _f("pconv", "network: pconv (the partial-convolution UNet), pconv-fourier (with Fourier skips and "
                            "Fourier attention in the decoder) or fourier-vae (that with a latent: a conditional VAE)",
                   choices=("pconv", "pconv-fourier", "fourier-vae"))
    w_kl: float = _f(1.0, "weight of the fourier-vae latent's KL divergence, summed over latent cells, per hole pixel",
                     low=0.0)
    kl_free: float = _f(2.0, "nats of KL divergence per fourier-vae latent cell that are not charged (free bits: "
                             "keeps the latent from collapsing onto its prior)", low=0.0)
    zero_head: bool = _f(False, "start the last layer of every stage at zero: the model starts as its base guide")
    init: str | None = _f(None, "weights file or registry name to start from (fine-tuning)")
    init_sha256: str | None = _f(None, "sha256 the --init file must have (recorded either way; a run remade from "
                                       "its config.json refuses a parent that changed)")
    teacher_prob: float = _f(0.5, "probability of teacher forcing a stage's ring input", low=0.0, high=1.0)
    w_hole: float = _f(1.0, "weight of the L1 hole error", low=0.0)
    w_hole_l2: float = _f(0.0, "weight of the squared hole error (the mean where the fill is uncertain)", low=0.0)
    w_ring: float = _f(1.0, "weight of the L1 error on the ring between stage masks", low=0.0)
    w_grad: float = _f(0.5, "weight of the gradient error", low=0.0)
    w_noise: float = _f(0.05, "weight of the noise-consistency term", low=0.0)
    vgg: str | None = _f(None, "VGG19 weights file (torchvision layout) for the perceptual and style terms")
    w_perceptual: float = _f(0.05, "weight of the perceptual term (with --vgg)", low=0.0)
    w_style: float = _f(120.0, "weight of the style term (with --vgg)", low=0.0)
    threads: int = _f(2, "torch CPU threads", low=1)
    generator_version: str = _f(GENERATOR_VERSION, "synthetic generator version")
    sequences: bool = _f(False, "train on simulated sequences: each frame with neighbouring frames "
                                "(the neighbour model; needs --extra-channels 6 or more: the default recipe uses 8)")
    sequence_version: str = _f(SEQUENCE_VERSION, "sequence generator version (with --sequences)")
    alone_share: float = _f(0.12, "share of the simulated sequences whose frame is given no neighbour (with "
                                  "--sequences; the others keep the proportions 55:15:18 of both neighbours, "
                                  "one, and one with another day's frame)", low=0.0, high=1.0)
    pylon_masks: float = _f(0.0, "share of the simulated C2 frames given one more loss mask, a cluster over the "
                                 "pylon's crossing of the diffraction ring (loss_masks.pylon_cluster)",
                            low=0.0, high=1.0)
    change_masks: float = _f(0.0, "share of the simulated sequences with a neighbour given one more loss mask, a "
                                  "cluster where the frame changed most from its neighbours, as on a moving CME "
                                  "front (loss_masks.change_cluster)", low=0.0, high=1.0)

    def check(self) -> None:
        """Refuse values outside a field's bounds (`ValueError` naming the field)."""
        for f in fields(self):
            v, lo, hi = getattr(self, f.name), f.metadata.get("low"), f.metadata.get("high")
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"{f.name} = {v!r} is not a finite number")
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                raise ValueError(f"{f.name} = {v!r} is outside [{lo}, {'' if hi is None else hi}]")
        if self.sequences and self.extra_channels < 6:
            raise ValueError("sequences = True needs extra_channels >= 6 (the neighbour guides)")
        if self.step not in ("scale", "noise") or (self.step == "noise" and self.extra_channels < 8):
            raise ValueError(f"step = {self.step!r} must be 'scale', or 'noise' with extra_channels = 8")
        (llo, lhi), (wlo, whi) = CONFIG_BOUNDS["levels"], CONFIG_BOUNDS["width"]   # what a weights file may hold
        if not llo <= len(self.widths) <= lhi or any(not wlo <= int(w) <= whi for w in self.widths):
            raise ValueError(f"widths = {self.widths!r}: give {llo} to {lhi} widths, each {wlo} to {whi}")
        if self.init_sha256 is not None and (not self.init or not re.fullmatch(r"[0-9a-fA-F]{64}", self.init_sha256)):
            raise ValueError(f"init_sha256 = {self.init_sha256!r}: give the 64 hex digits of the --init file's sha256"
                             f"{'' if self.init else ', with --init'}")
