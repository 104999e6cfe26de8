"""L1 error on the ring between successive stage masks (where each stage has to extend the fill)."""

from __future__ import annotations

import torch

__all__ = ["ring_l1"]


def ring_l1(out: torch.Tensor, truth: torch.Tensor, ring: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the ring pixels."""
    return ((out - truth).abs() * ring).sum() / ring.sum().clamp(min=1)
