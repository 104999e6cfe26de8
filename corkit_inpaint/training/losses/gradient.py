"""L1 error of the spatial gradients inside the hole (structure, not only level)."""

from __future__ import annotations

import torch

__all__ = ["gradient_l1"]


def gradient_l1(out: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of horizontal and vertical pixel differences, both pixels in the hole."""
    d = out - truth
    gx = (d[..., :, 1:] - d[..., :, :-1]).abs() * hole[..., :, 1:] * hole[..., :, :-1]
    gy = (d[..., 1:, :] - d[..., :-1, :]).abs() * hole[..., 1:, :] * hole[..., :-1, :]
    return (gx.sum() + gy.sum()) / (2 * hole.sum().clamp(min=1))
