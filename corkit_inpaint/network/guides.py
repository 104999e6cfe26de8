"""Classical guide fills the network reads: linear interpolation along rays and circles about the Sun."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["path_fill"]


def _march(values: np.ndarray, valid: np.ndarray, walk, n: int, max_steps: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of ``n`` hole pixels along paths, by path length to the first valid pixel each way.

    ``walk(t, sign, idx)`` gives the (float) pixel coordinates ``t`` pixels along
    the paths from the hole pixels ``idx``, forward (``sign`` = 1) or backward.
    Returns the interpolated values and where they are defined.
    """
    ny, nx = values.shape
    # 3x3 normalised average of valid pixels, to sample the ends of a path with less noise
    w = ndimage.uniform_filter(valid.astype(np.float64), 3, mode="constant")
    sm = ndimage.uniform_filter(np.where(valid, values, 0.0), 3, mode="constant")
    smooth = np.where(w > 0, sm / np.maximum(w, 1e-12), 0.0)
    ends = []
    for sign in (1.0, -1.0):
        t_hit = np.full(n, np.nan)
        v_hit = np.zeros(n)
        idx = np.arange(n)                       # the paths still looking for a valid pixel
        for t in range(1, max_steps + 1):
            py, px = walk(t, sign, idx)
            yy, xx = np.rint(py).astype(int), np.rint(px).astype(int)
            inside = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
            idx, yy, xx = idx[inside], yy[inside], xx[inside]
            if idx.size == 0:
                break
            hit = valid[yy, xx]
            t_hit[idx[hit]] = t
            v_hit[idx[hit]] = smooth[yy[hit], xx[hit]]
            idx = idx[~hit]
        ends.append((t_hit, v_hit))
    (t1, v1), (t2, v2) = ends
    ok1, ok2 = np.isfinite(t1), np.isfinite(t2)
    both = ok1 & ok2
    val = np.zeros(n)
    val[both] = (v1[both] * t2[both] + v2[both] * t1[both]) / (t1[both] + t2[both])
    val[ok1 & ~ok2] = v1[ok1 & ~ok2]
    val[ok2 & ~ok1] = v2[ok2 & ~ok1]
    return val, ok1 | ok2


def path_fill(values: np.ndarray, valid: np.ndarray, centre: tuple[float, float], path: str = "radial",
              *, max_steps: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation across holes along rays from, or circles about, the Sun centre.

    ``"radial"``: streamers and rays are nearly radial, so the values either
    side of a hole along the ray through it are the best classical guess for
    their structure. ``"azimuthal"``: the corona's steep radial fall-off, the
    occulter's diffraction ring and vignetting vary mostly with radius, so the
    values at the same radius either side of a hole are the best guess for them.

    Parameters
    ----------
    values : numpy.ndarray
        Window values (stretched space); only ``valid`` ones are read.
    valid : numpy.ndarray of bool
    centre : (float, float)
        ``(cy, cx)`` of the Sun centre in window coordinates.
    path : {"radial", "azimuthal"}
        Interpolate along rays or along circles.
    max_steps : int
        How far (pixels of path) to search each way.

    Returns
    -------
    filled : numpy.ndarray
        ``values`` with holes filled where a valid pixel was found along the path.
    found : numpy.ndarray of bool
        Where the fill is defined.
    """
    out = np.where(valid, values, 0.0).astype(np.float64)
    found = valid.copy()
    hy, hx = np.nonzero(~valid)
    if hy.size == 0:
        return out, found
    dy, dx = hy - centre[0], hx - centre[1]
    if path == "radial":
        rr = np.hypot(dy, dx)
        uy = np.where(rr > 0, dy / np.maximum(rr, 1e-9), 1.0)
        ux = np.where(rr > 0, dx / np.maximum(rr, 1e-9), 0.0)
        walk = lambda t, sign, i: (hy[i] + sign * t * uy[i], hx[i] + sign * t * ux[i])
    elif path == "azimuthal":
        rr = np.maximum(np.hypot(dy, dx), 1.0)
        phi = np.arctan2(dy, dx)
        walk = lambda t, sign, i: (centre[0] + rr[i] * np.sin(phi[i] + sign * t / rr[i]),
                                   centre[1] + rr[i] * np.cos(phi[i] + sign * t / rr[i]))
    else:
        raise ValueError(f"path must be 'radial' or 'azimuthal', not {path!r}")
    val, ok = _march(values, valid, walk, hy.size, max_steps)
    out[hy, hx] = val
    found[hy, hx] = ok
    return out, found
