"""Value space: linear DN <-> DN/s <-> asinh-stretched values, each with an exact inverse."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Stretch", "noise_sigma"]


def noise_sigma(image: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Immerkaer's fast estimate of white-noise sigma.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image.
    valid : numpy.ndarray, optional
        Boolean mask of pixels to use; a 3x3 neighbourhood must be fully valid.

    Returns
    -------
    float
        The noise standard deviation.

    References
    ----------
    .. [1] Immerkaer, J. "Fast Noise Variance Estimation", Computer Vision and
       Image Understanding 64(2), 300-302, 1996.
    """
    img = np.asarray(image, dtype=np.float64)
    lap = (img[:-2, :-2] - 2 * img[:-2, 1:-1] + img[:-2, 2:]
           - 2 * img[1:-1, :-2] + 4 * img[1:-1, 1:-1] - 2 * img[1:-1, 2:]
           + img[2:, :-2] - 2 * img[2:, 1:-1] + img[2:, 2:])
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        ok = np.ones_like(lap, dtype=bool)
        for dy in range(3):
            for dx in range(3):
                ok &= v[dy:dy + lap.shape[0], dx:dx + lap.shape[1]]
        lap = lap[ok]
    if lap.size == 0:
        return 0.0
    return float(np.sqrt(np.pi / 2.0) / 6.0 * np.mean(np.abs(lap)))


@dataclass(frozen=True)
class Stretch:
    """``s = asinh((x - bias) / (exptime * softening))`` with its exact inverse.

    Parameters
    ----------
    bias : float
        Value subtracted first (level-0.5 OFFSET, in DN); 0 for other data.
    exptime : float
        Divisor that turns DN into DN/s; 1 for other data.
    softening : float
        The asinh knee, in the units of ``(x - bias) / exptime``. Below it the
        stretch is linear, above it logarithmic.
    """

    bias: float = 0.0
    exptime: float = 1.0
    softening: float = 1.0

    @classmethod
    def from_image(cls, image: np.ndarray, valid: np.ndarray, *, bias: float = 0.0,
                   exptime: float = 1.0) -> Stretch:
        """Choose the softening from the image: its noise sigma in rate units.

        The knee sits at the noise level, so the stretch is logarithmic wherever
        there is signal and linear (not amplifying noise) where there is none.
        """
        rate = (np.asarray(image, dtype=np.float64) - bias) / exptime
        return cls.from_rate(rate, valid, bias=bias, exptime=exptime)

    @classmethod
    def from_rate(cls, rate: np.ndarray, valid: np.ndarray, *, bias: float, exptime: float,
                  noise: float | None = None) -> Stretch:
        """`from_image` for an image already in rate units, ``(image - bias) / exptime``.

        ``noise`` is the rate image's noise sigma when the caller has measured it already.
        """
        sig = noise_sigma(rate, valid) if noise is None else noise
        vals = np.abs(rate[valid]) if np.any(valid) else np.array([1.0])
        floor = 1e-3 * float(np.median(vals)) if vals.size else 1e-3
        soft = max(sig, floor, np.finfo(np.float64).tiny * 1e10)
        return cls(float(bias), float(exptime), float(soft))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Linear values to stretched values."""
        return np.arcsinh((np.asarray(x, dtype=np.float64) - self.bias)
                          / (self.exptime * self.softening))

    def inverse(self, s: np.ndarray) -> np.ndarray:
        """Stretched values back to linear values."""
        return np.sinh(np.asarray(s, dtype=np.float64)) * self.exptime * self.softening + self.bias

    def to_rate(self, x: np.ndarray) -> np.ndarray:
        """Linear values to rate units, ``(x - bias) / exptime`` (DN/s for level 0.5)."""
        return (np.asarray(x, dtype=np.float64) - self.bias) / self.exptime
