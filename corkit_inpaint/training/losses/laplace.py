"""The Laplace negative log-likelihood of the truth under a fill and its predicted spread (the spread head's loss)."""

from __future__ import annotations

import torch

__all__ = ["laplace_nll"]


def laplace_nll(pred: torch.Tensor, log_b: torch.Tensor, truth: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean over the hole pixels of ``|truth - pred| / b + log b`` (the Laplace NLL, constant dropped).

    Parameters
    ----------
    pred, truth : torch.Tensor
        The fill and the truth, ``(N, 1, H, W)``, normalised units.
    log_b : torch.Tensor
        The log Laplace scale per pixel, ``(N, 1, H, W)``.
    hole : torch.Tensor
        1 where the pixel was filled, else 0.

    Notes
    -----
    A Laplace rather than a Gaussian likelihood: the misses have heavy tails
    (stars, cosmic-ray hits and comets in the truth), which a Gaussian would
    let widen every pixel's spread.
    """
    nll = (truth - pred).abs() * torch.exp(-log_b) + log_b
    return (nll * hole).sum() / hole.sum().clamp(min=1.0)
