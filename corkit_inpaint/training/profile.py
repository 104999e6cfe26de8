"""C3's instrumental radial profile for simulated sequences (sequence version 3).

Sequence versions 1 and 2 made the C3 corona flat inside 10 Rsun and bent it
to the corona's power law exactly at 10 Rsun. The two real C3 frames (2010-01-05
and 2012-08-31; azimuthal medians outside the pylon) agree with each other to 2% and
differ from that:

* a bright edge at the occulter (about 4.0 Rsun), a dip just outside it, and a
  rise of about 30% to a peak at 5.2-5.5 Rsun;
* a slow decline to 8.5 Rsun (logarithmic slope -0.1 to -0.45), with a small
  plateau near 7.5 Rsun;
* a gradual turn between 8.5 and 10.5 Rsun (slope of the signal above the bias
  -0.9 at 9, -1.7 at 10) to about -2.2 at 11-14 Rsun, flattening outward
  (-1.9 at 18 Rsun) as the F corona takes over.

`c3_profile` draws a multiplicative factor with that shape: a smooth turn to
the corona's slope (made up to 0.7 steeper) at a drawn radius and sharpness, an
inner slope drawn about the real one, the occulter's rise and bright edge, and a
few shallow ring-like steps at random radii. Every amount is drawn over a range
around the real frames' values, so the network meets the real shape without
learning it alone. `profile_slopes` measures the shape.
"""

from __future__ import annotations

import numpy as np

from ..frame import Frame

__all__ = ["c3_profile", "profile_slopes", "polar_signal"]


def c3_profile(rng: np.random.Generator, r: np.ndarray, r_occ: float, alpha: float) -> np.ndarray:
    """A C3 vignetting factor over radius ``r`` (solar radii) for a corona of slope ``-alpha``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every draw (a fixed number of them, whatever ``r`` is).
    r : numpy.ndarray
        Radius of each pixel in solar radii.
    r_occ : float
        The occulter's radius in solar radii.
    alpha : float
        The corona's power-law index: the factor turns the profile's slope from
        ``-alpha`` less a drawn 0 to 0.7 far out to a drawn inner slope of -0.45
        to 0.

    Returns
    -------
    numpy.ndarray
        A positive factor of ``r``'s shape.
    """
    r0 = rng.uniform(8.8, 10.4)               # radius of the turn
    p = rng.uniform(7.0, 14.0)                # its sharpness
    s_in = rng.uniform(-0.45, 0.0)            # logarithmic slope well inside the turn
    beta = alpha + s_in
    extra = rng.uniform(0.0, 0.7)             # steeper than the corona beyond the turn
    rr = np.maximum(r, 1.0)
    x = (rr / r0) ** p
    turn = (x / (1.0 + x)) ** (beta / p) * (1.0 + x) ** (-extra / p) * 2.0 ** ((beta + extra) / p)   # 1 at r0
    rise = rng.uniform(0.15, 0.4)             # the occulter's shadow fades over ~1 Rsun
    length = rng.uniform(0.3, 0.8)
    start = r_occ + rng.uniform(0.3, 0.6)
    shadow = 1.0 - rise * np.exp(-np.maximum(rr - start, 0.0) / length)
    edge = rng.uniform(0.0, 0.4) * np.exp(-0.5 * ((rr - r_occ - rng.uniform(0.2, 0.4)) / rng.uniform(0.06, 0.15)) ** 2)
    steps = np.ones_like(rr)
    for _ in range(3):
        amp = rng.uniform(-0.02, 0.02) * (rng.random() < 0.7)
        rk, wk = rng.uniform(5.0, 16.0), rng.uniform(0.1, 0.35)
        steps *= 1.0 + amp * np.tanh((rr - rk) / wk)
    return turn * shadow * (1.0 + edge) * steps


def profile_slopes(image: np.ndarray, header, radii) -> np.ndarray:
    """Logarithmic slope of a level-0.5 frame's azimuthal median profile at ``radii`` (solar radii).

    The median is of the signal above the bias (``OFFSET``), over valid pixels
    outside the pylon (50 degrees either side of its axis, toward the lower
    left), in rings 5% of the radius wide at 10% in and 10% out of each radius.

    Parameters
    ----------
    image : numpy.ndarray
        The frame, DN as stored.
    header : astropy.io.fits.Header
        Its header (the detector and Sun centre come from it).
    radii : sequence of float
        Where to measure the slope.

    Returns
    -------
    numpy.ndarray
        d ln(median) / d ln(r) at each radius.
    """
    valid, r, th, signal = polar_signal(image, header)
    ok = valid & (np.abs((th + 135 + 180) % 360 - 180) > 50)
    at = np.asarray(radii, dtype=np.float64)
    inner, outer = ([np.median(signal[ok & (np.abs(r - x) < 0.025 * a)]) for x, a in zip(at * f, at)]
                    for f in (0.9, 1.1))
    return np.log(np.array(outer) / np.array(inner)) / np.log(1.1 / 0.9)


def polar_signal(image: np.ndarray, header) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A level-0.5 frame's validity, radius, angle and signal above the bias, per pixel.

    Parameters
    ----------
    image : numpy.ndarray
        The frame, DN as stored.
    header : astropy.io.fits.Header
        Its header (the detector, Sun centre and bias come from it).

    Returns
    -------
    valid : numpy.ndarray of bool
    r : numpy.ndarray
        Radius in solar radii.
    th : numpy.ndarray
        Image angle in degrees from +x, counter-clockwise.
    signal : numpy.ndarray
        DN above the bias `Frame.build` read (0 without one).
    """
    fr = Frame.build(np.asarray(image, dtype=np.float64), None, header)
    g = fr.geometry
    yy, xx = np.mgrid[:image.shape[0], :image.shape[1]]
    r = np.hypot(yy - g.cy, xx - g.cx) / g.rsun
    th = np.degrees(np.arctan2(yy - g.cy, xx - g.cx))
    return fr.valid, r, th, fr.image - fr.stretch.bias
