"""Error inside the missing blocks: L1 (the default) and squared (what RMSE rewards)."""

from __future__ import annotations

import torch

__all__ = ["hole_l1", "hole_l2"]


def hole_l1(out: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the hole pixels."""
    return ((out - truth).abs() * hole).sum() / hole.sum().clamp(min=1)


def hole_l2(out: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the hole pixels: the mean, not the median, where the fill is uncertain."""
    return ((out - truth) ** 2 * hole).sum() / hole.sum().clamp(min=1)
