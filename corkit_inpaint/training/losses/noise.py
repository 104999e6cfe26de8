"""Physics-informed noise consistency: the fill plus its texture must have the measured noise.

The network predicts the expected value and the method adds white noise with
the sigma measured around the hole (Poisson, read and compression noise are
white at these scales). The term asks the high-frequency std of that sum, in
the hole away from its edge, to match the noise model,
``(std_hf(fill + texture) / (0.943 sigma) - 1)^2``, so the network neither adds
spurious structure nor double-counts noise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["noise_consistency"]


def _hf(x: torch.Tensor) -> torch.Tensor:
    return x - F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def noise_consistency(out: torch.Tensor, texture: torch.Tensor, hole: torch.Tensor,
                      noise: torch.Tensor) -> torch.Tensor:
    """Mean over samples with enough inner hole pixels of the squared relative noise mismatch."""
    inner = -F.max_pool2d(-hole, 3, stride=1, padding=1)     # hole pixels away from its edge
    hf = _hf(out + texture * hole) * inner
    n = inner.sum((1, 2, 3)).clamp(min=1)
    std = torch.sqrt((hf ** 2).sum((1, 2, 3)) / n + 1e-12)
    target = 0.943 * noise.view(-1)
    has = (inner.sum((1, 2, 3)) > 8).float()
    return ((std / target.clamp(min=1e-6) - 1) ** 2 * has).sum() / has.sum().clamp(min=1)
