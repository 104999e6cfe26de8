"""Liu et al.'s optional perceptual and style (Gram-matrix) terms, on VGG19 features the user supplies.

ImageNet weights cannot be downloaded here: ``--vgg PATH`` names a torchvision
``vgg19`` state dict, loaded with ``weights_only=True``.
"""

from __future__ import annotations

import os

import torch

from ...exceptions import WeightsError
from ...network.weights import load_failure, load_tensors

__all__ = ["vgg19_layers", "VGGFeatures", "perceptual_style"]


_VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M")


def vgg19_layers() -> torch.nn.Sequential:
    """VGG19's convolutional stack up to the third pooling, indexed like torchvision's."""
    cut = [i for i, v in enumerate(_VGG19) if v == "M"][2]
    layers, cin = [], 3
    for v in _VGG19[:cut + 1]:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2))
        else:
            layers += [torch.nn.Conv2d(cin, v, 3, padding=1), torch.nn.ReLU(inplace=False)]
            cin = v
    return torch.nn.Sequential(*layers)


class VGGFeatures(torch.nn.Module):
    """VGG19 features (pool1..pool3) from a user-supplied weights file.

    The file is a torchvision ``vgg19`` state dict (``features.N.weight`` keys,
    optionally under ``state_dict``), loaded with ``weights_only=True``; layers
    past the third pooling are ignored. ImageNet weights cannot be downloaded here.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.features = vgg19_layers()
        try:
            state = load_tensors(path)
            state = state.get("state_dict", state)
            n = len(self.features)
            self.features.load_state_dict({k[len("features."):]: v for k, v in state.items()
                                           if k.startswith("features.") and int(k.split(".")[1]) < n})
        except Exception as exc:        # not a file, not tensors, another layout: one line, nothing run
            raise WeightsError(f"--vgg {path}: not a VGG19 weights file ({load_failure(exc)})") from None
        self.taps = [i for i, m in enumerate(self.features) if isinstance(m, torch.nn.MaxPool2d)]
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x.expand(-1, 3, -1, -1)
        out = []
        for i, m in enumerate(self.features):
            x = m(x)
            if i in self.taps:
                out.append(x)
        return out


def _gram(f: torch.Tensor) -> torch.Tensor:
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def perceptual_style(vgg: VGGFeatures, out: torch.Tensor, truth: torch.Tensor, valid: torch.Tensor):
    """Perceptual (feature L1) and style (Gram L1) terms of Liu et al. (2018), on output and composite."""
    comp = valid * truth + (1 - valid) * out
    ft = vgg(truth)
    perc = style = 0.0
    for x in (out, comp):
        for a, b in zip(vgg(x), ft):
            perc = perc + (a - b).abs().mean()
            style = style + (_gram(a) - _gram(b)).abs().mean()
    return perc, style
