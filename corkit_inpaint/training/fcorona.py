"""The F corona's equatorial band in simulated sequences (sequence version 4).

On all four real full-field frames the project has (C2 2000-09-03 and
2001-10-23, C3 2010-01-05 and 2012-08-31), the median brightness in 20-degree
sectors east and west of the Sun is higher than north and south, and the
contrast grows outward: the F corona, concentrated toward the ecliptic, takes
over from the K corona and flattens with elongation. East+west over
north+south (`band_contrast`):

* C2: 1.16-1.24 at 2.4 Rsun, 1.21-1.24 at 4.0 and 1.34-1.38 at 6.0 Rsun;
* C3: 1.13-1.27 at 4.5 Rsun, 1.46-1.63 at 7.5, 1.66-1.78 at 10, 1.78-1.87 at
  14, falling to 1.63-1.68 at 24 Rsun (`examples/calibrate_band.py`).

Sequence versions 1 to 3 had no such band: their streamers sit at random
angles, and their relative brightness falls outward. On C3's bright equator
the band and the flat inner profile (`profile.c3_profile`) make a brightness
that still rises to about 8 Rsun, a structure a fill trained on versions 1-3
never met. `equatorial_band` draws a band whose contrast follows the real
frames' over a range around them.
"""

from __future__ import annotations

import numpy as np

from .profile import polar_signal

__all__ = ["equatorial_band", "band_contrast"]


def equatorial_band(rng: np.random.Generator, r: np.ndarray, th: np.ndarray, detector: str) -> np.ndarray:
    """A multiplicative band along the ecliptic whose contrast grows outward.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every draw (a fixed number of them, whatever ``r`` is).
    r, th : numpy.ndarray
        Radius (solar radii) and image angle (radians from +x) of each pixel.
    detector : {"C2", "C3"}
        Sets the ranges ``c_max``, ``r_0`` and ``L`` are drawn from.

    Returns
    -------
    numpy.ndarray
        ``1 + c(r) exp(-d^2 / 2 w^2)``, with ``d`` the angle from the band's
        axis (east or west) and ``c(r) = c_max (1 - exp(-(r - r_0) / L))``,
        fading beyond a drawn radius.
    """
    tilt = rng.normal(0.0, 0.12)                       # the ecliptic against the image's x axis
    w = rng.uniform(0.3, 0.7)                          # the band's angular width (radians)
    if detector == "C2":
        c_max, r0, length = rng.uniform(0.3, 0.8), rng.uniform(2.0, 2.4), rng.uniform(2.5, 6.0)
    else:
        c_max, r0, length = rng.uniform(0.6, 1.3), rng.uniform(4.0, 5.0), rng.uniform(2.5, 5.0)
    r_fade = rng.uniform(16.0, 24.0)
    rr = np.maximum(r, r0)
    c = c_max * (1.0 - np.exp(-(rr - r0) / length)) * np.exp(-np.maximum(rr - r_fade, 0.0) / 40.0)
    d = np.abs(np.angle(np.exp(2j * (th - tilt)))) / 2.0    # angle from the nearer end of the axis
    return 1.0 + c * np.exp(-0.5 * (d / w) ** 2)


def band_contrast(image: np.ndarray, header, radii, width: float = 0.1) -> np.ndarray:
    """East+west over north+south median signal of a level-0.5 frame at ``radii`` (solar radii).

    Medians of the signal above the bias over valid pixels in rings ``width`` of
    the radius wide, in 20-degree sectors either side of the image's four axes
    (away from the pylon's lower-left diagonal by construction).

    Parameters
    ----------
    image : numpy.ndarray
        The frame, DN as stored (full resolution or 2x2 summed).
    header : astropy.io.fits.Header
        Its header (detector, Sun centre and bias come from it).
    radii : sequence of float
        Where to measure, in solar radii.
    width : float
        Each ring's width as a fraction of its radius.

    Returns
    -------
    numpy.ndarray
        One ratio per radius.
    """
    valid, r, th, signal = polar_signal(image, header)
    out = []
    for a in np.asarray(radii, dtype=np.float64):
        ring = valid & (np.abs(r - a) < 0.5 * width * a)
        med = [np.median(signal[ring & (np.abs((th - ax + 180) % 360 - 180) < 20)]) for ax in (0, 180, 90, -90)]
        out.append((med[0] + med[1]) / (med[2] + med[3]))
    return np.array(out)
