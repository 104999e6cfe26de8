"""The network fill's core: windows around missing blocks, guide fills, normalisation, model run.

The network never sees a whole frame. Missing blocks are grouped into
8-connected clusters, each cluster gets a window reaching ``MARGIN`` pixels
beyond it, overlapping windows are merged where that saves work (see
`windows_for`), and only those windows are processed, so the cost follows the
number of missing blocks.

In a window the image is stretched (`corkit_inpaint.stretch.Stretch`), two
classical guide fills are made -- biharmonic in stretched space, and linear
interpolation along the ray from the Sun centre -- and everything is expressed
in units of a robust window scale. The network predicts the expected value in
the hole; realistic texture is then added explicitly: white noise with the
sigma measured around the hole (Immerkaer), from a generator seeded by the
window's position, so the result is deterministic.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.restoration import inpaint_biharmonic

from .blocks import BLOCK
from .stretch import noise_sigma

__all__ = ["MARGIN", "MULTIPLE", "Window", "windows_for", "prepare_window", "path_fill"]

MARGIN = 32
MULTIPLE = 16


def windows_for(mask: np.ndarray, *, margin: int = MARGIN, multiple: int = MULTIPLE
                ) -> tuple[list[tuple[int, int, int, int]], np.ndarray]:
    """Windows ``(y0, y1, x0, x1)`` covering every cluster of missing pixels with context.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        True where pixels are missing.
    margin : int
        Context in pixels around each cluster's bounding box.
    multiple : int
        Window sides are grown (inside the image where possible) to a multiple of this.

    Returns
    -------
    boxes : list of tuple of int
        One window per group of clusters.
    owner : numpy.ndarray of int
        For each missing pixel, the index of the window that fills it (-1 elsewhere).

    Notes
    -----
    Missing pixels are grouped into 8-connected clusters, each with a window
    reaching ``margin`` pixels beyond it. Overlapping windows are merged when
    their bounding box is no larger than the two windows together, so merging
    never adds work; windows that still overlap stay separate, each filling only
    its own clusters (the other holes in it are invalid context). The cost so
    follows the number of missing blocks, never the frame's area.
    """
    ny, nx = mask.shape
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    groups = []
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        if sl is None:
            continue
        groups.append(([max(sl[0].start - margin, 0), min(sl[0].stop + margin, ny),
                        max(sl[1].start - margin, 0), min(sl[1].stop + margin, nx)], [i]))
    area = lambda b: (b[1] - b[0]) * (b[3] - b[2])
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                a, b = groups[i][0], groups[j][0]
                if a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]:
                    u = [min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])]
                    if area(u) <= area(a) + area(b):
                        groups[i] = (u, groups[i][1] + groups[j][1])
                        del groups[j]
                        merged = True
                        break
            if merged:
                break
    groups.sort(key=lambda g: g[0])
    owner = np.full(mask.shape, -1, dtype=np.int32)
    boxes = []
    for k, (box, labels) in enumerate(groups):
        y0, y1 = _grow(box[0], box[1], ny, multiple)
        x0, x1 = _grow(box[2], box[3], nx, multiple)
        boxes.append((y0, y1, x0, x1))
        owner[np.isin(lab, labels)] = k
    return boxes, owner


def _grow(a, b, n, multiple):
    need = (-(b - a)) % multiple
    take_hi = min(need, n - b)
    b += take_hi
    a -= min(need - take_hi, a)
    return a, b


def _march(values: np.ndarray, valid: np.ndarray, walk, n: int, max_steps: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of ``n`` hole pixels along paths, by path length to the first valid pixel each way.

    ``walk(t, sign)`` gives the (float) pixel coordinates ``t`` pixels along
    the paths from the hole pixels, forward (``sign`` = 1) or backward.
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
        todo = np.ones(n, dtype=bool)
        for t in range(1, max_steps + 1):
            py, px = walk(t, sign)
            yy, xx = np.rint(py).astype(int), np.rint(px).astype(int)
            inside = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
            todo &= inside
            if not todo.any():
                break
            idx = np.nonzero(todo)[0]
            hit = valid[yy[idx], xx[idx]]
            hi = idx[hit]
            t_hit[hi] = t
            v_hit[hi] = smooth[yy[hi], xx[hi]]
            todo[hi] = False
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
        walk = lambda t, sign: (hy + sign * t * uy, hx + sign * t * ux)
    elif path == "azimuthal":
        rr = np.maximum(np.hypot(dy, dx), 1.0)
        phi = np.arctan2(dy, dx)
        walk = lambda t, sign: (centre[0] + rr * np.sin(phi + sign * t / rr),
                                centre[1] + rr * np.cos(phi + sign * t / rr))
    else:
        raise ValueError(f"path must be 'radial' or 'azimuthal', not {path!r}")
    val, ok = _march(values, valid, walk, hy.size, max_steps)
    out[hy, hx] = val
    found[hy, hx] = ok
    return out, found


@dataclass
class Window:
    """A prepared window: network inputs and what is needed to undo the normalisation."""

    box: tuple[int, int, int, int]
    image: np.ndarray      # normalised stretched values, 0 where invalid
    valid: np.ndarray      # context pixels the network may read
    guides: np.ndarray     # (3, h, w): biharmonic, radial, azimuthal
    centre: float          # normalisation offset (stretched units)
    scale: float           # normalisation scale (stretched units)
    noise: float           # local noise sigma, in normalised units
    texture: np.ndarray    # seeded white noise times ``noise``: the texture added to the fill


def prepare_window(s: np.ndarray, valid: np.ndarray, box, sun_centre: tuple[float, float] | None,
                   ) -> Window:
    """Build the network inputs for one window of a stretched image.

    Parameters
    ----------
    s : numpy.ndarray
        Whole stretched image (any value where invalid).
    valid : numpy.ndarray of bool
        Whole-image validity (False in missing and never-sent blocks, NaN...).
    box : tuple of int
        ``(y0, y1, x0, x1)``.
    sun_centre : (float, float) or None
        ``(cy, cx)`` in whole-image pixels; the window centre's opposite
        default is the image centre.
    """
    y0, y1, x0, x1 = box
    sw = s[y0:y1, x0:x1].astype(np.float64)
    vw = valid[y0:y1, x0:x1]
    vals = sw[vw]
    if vals.size < 16:
        raise ValueError("too few valid pixels around the missing blocks to fill them")
    mu = float(np.median(vals))
    sig_n = noise_sigma(sw, vw)
    q25, q75 = np.percentile(vals, [25, 75])
    scale = max(float(q75 - q25) / 1.349, 4.0 * sig_n, 1e-6)
    z = np.where(vw, (sw - mu) / scale, 0.0)
    bih = inpaint_biharmonic(z, ~vw)
    cy, cx = sun_centre if sun_centre is not None else ((s.shape[0] - 1) / 2, (s.shape[1] - 1) / 2)
    rad, found = path_fill(z, vw, (cy - y0, cx - x0), "radial")
    rad = np.where(found, rad, bih)
    azi, found = path_fill(z, vw, (cy - y0, cx - x0), "azimuthal")
    azi = np.where(found, azi, bih)
    seed = zlib.crc32(np.array(box, dtype=np.int64).tobytes())
    white = np.random.default_rng(seed).standard_normal(z.shape)
    nz = sig_n / scale
    guides = np.stack([bih, rad, azi]).astype(np.float32)
    return Window(box, z.astype(np.float32), vw, guides, mu, scale, nz, (white * nz).astype(np.float32))
