"""`TrainConfig`: everything that decides a training run; saved beside the weights.

Each field's ``metadata["help"]`` is its command-line help: ``corkit-inpaint
train`` builds its options from these fields, so they are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .simulator import GENERATOR_VERSION

__all__ = ["TrainConfig"]


def _f(default, help: str, **kw):
    return field(default=default, metadata={"help": help, **kw})


@dataclass
class TrainConfig:
    """Everything that decides a training run (see each field's help)."""

    seed: int = _f(20261122, "seed of the optimiser, batches and crops")
    frames: int = _f(800, "simulated frames to train on")
    first_frame_seed: int = _f(1_000_000, "seed of the first simulated frame (frames use consecutive seeds)")
    masks_per_frame: int = _f(3, "loss masks drawn per frame")
    crop: int = _f(96, "side of the training crops, pixels")
    crops_per_window: int = _f(2, "crops cut from each window")
    steps: int = _f(10000, "optimiser steps")
    batch: int = _f(16, "crops per step")
    lr: float = _f(1e-3, "initial learning rate")
    lr_final: float = _f(1e-4, "final learning rate (exponential decay)")
    clip: float = _f(1.0, "gradient-norm clip")
    stages: int = _f(2, "UNet stages L")
    widths: tuple = _f((32, 48, 64, 96), "channel widths of the encoder levels", nargs="+")
    ring: int = _f(6, "pixels each stage's mask grows into the hole")
    extra_channels: int = _f(3, "guides the model reads: 2 (biharmonic, radial) or 3 (+ azimuthal)")
    init: str | None = _f(None, "weights file or registry name to start from (fine-tuning)")
    init_sha256: str | None = _f(None, "sha256 of --init (recorded, not an option)", cli=False)
    teacher_prob: float = _f(0.5, "probability of teacher forcing a stage's ring input")
    w_hole: float = _f(1.0, "weight of the L1 hole error")
    w_hole_l2: float = _f(0.0, "weight of the squared hole error (the mean where the fill is uncertain)")
    w_ring: float = _f(1.0, "weight of the L1 error on the ring between stage masks")
    w_grad: float = _f(0.5, "weight of the gradient error")
    w_noise: float = _f(0.05, "weight of the noise-consistency term")
    vgg: str | None = _f(None, "VGG19 weights file (torchvision layout) for the perceptual and style terms")
    w_perceptual: float = _f(0.05, "weight of the perceptual term (with --vgg)")
    w_style: float = _f(120.0, "weight of the style term (with --vgg)")
    threads: int = _f(2, "torch CPU threads")
    generator_version: str = _f(GENERATOR_VERSION, "synthetic generator version")
