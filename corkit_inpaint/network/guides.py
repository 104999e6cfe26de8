"""Classical guide fills the network reads: linear interpolation along rays and circles about the Sun.

Each hole pixel is filled from the first valid pixel its path meets either
way, stepping one pixel of path at a time (``t = 1, 2, ...``, rounded to the
nearest pixel) and giving up at the first step outside the window. The march
is vectorised over paths and over a chunk of steps at once, and skips steps
that provably cannot end a path, with each step's position computed by the
same float operations as one at a time, so the result is the same to the bit.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import numpy as np
from scipy import ndimage

__all__ = ["path_fill"]

#: Steps of a path evaluated at once, by round: the first round's chunk, the next (the last repeats), each at
#: most 31; by path. A round costs about as much as some thousand steps, fewer for circles (sines and cosines).
CHUNKS = {"radial": (4, 4, 8, 16, 31), "azimuthal": (2, 2, 4, 8, 16)}
#: Paths marched together: bounds the (steps x paths) arrays.
PATH_BATCH = 4096
#: Sun centres (pixels) and ``max_steps`` this large, or not finite, are marched without skipping and with the
#: positions cast as they are, as float rounding grows with them.
FAR = 2.0 ** 40
# What a step lands on, as `_stops` ranks a chunk's steps: holes below zero, so any end outranks them.
_HOLE, _VALID, _OUT = -128, 1, 2


class _Grid(NamedTuple):
    """A window as paths read it: flattened ``(ny + 1, nx + 1)`` arrays whose last row and column are outside.

    ``code``: what a step lands on. ``clear``: each hole pixel's chessboard
    distance to the nearest valid or outside pixel (ones when not ``bounded``),
    and ``jump``: how many steps on from a step that landed on a pixel the
    next one that can end the path is (a later step lands at most its path
    length plus one pixel from an earlier step's pixel, see `_stops`).
    ``bounded``: the steps' positions are finite and the clearances hold; then
    steps up to ``reach`` land at most one pixel outside the window (a step
    lands at most its path length from its hole pixel, see `_march`).
    """

    code: np.ndarray
    clear: np.ndarray
    jump: np.ndarray
    ny: int
    nx: int
    bounded: bool
    reach: int


def _grid(valid: np.ndarray, hy: np.ndarray, hx: np.ndarray, bounded: bool) -> _Grid:
    """The `_Grid` of a window with hole pixels ``(hy, hx)`` (``hy`` ascending)."""
    ny, nx = valid.shape
    code = np.full((ny + 1, nx + 1), _OUT, dtype=np.int8)
    code[:-1, :-1] = np.where(valid, _VALID, _HOLE)
    clear = np.ones((ny + 1, nx + 1))
    y0, y1, x0, x1 = hy[0], hy[-1] + 1, hx.min(), hx.max() + 1        # the holes' box
    if bounded:            # a hole pixel's nearest valid or outside pixel is in the ring about the box, if not nearer
        hole = np.zeros((y1 - y0 + 2, x1 - x0 + 2), dtype=bool)
        hole[1:-1, 1:-1] = ~valid[y0:y1, x0:x1]
        clear[y0:y1, x0:x1] = ndimage.distance_transform_cdt(hole, metric="chessboard")[1:-1, 1:-1]
    jump = np.maximum(clear - 1, 1)
    return _Grid(code.ravel(), clear.ravel(), jump.ravel(), ny, nx, bounded, min(y0, x0, ny - y1, nx - x1) + 1)


def _cells(pos: np.ndarray, grid: _Grid, clip: bool) -> np.ndarray:
    """Indices into ``grid`` of the pixels the positions ``pos`` (``(y, x)`` first) round to (``np.rint``), an
    outside pixel for any outside the window.

    Bounded positions are overwritten, and ``clip`` says whether any may round
    to more than one pixel outside the window; unbounded ones are cast to int as
    they are (NaN and overflow as the platform casts them).
    """
    ny, nx = grid.ny, grid.nx
    if grid.bounded:               # -1 and ny (nx) land outside: a -1 index counts from the grid's end, so does too
        np.rint(pos, out=pos)
        if clip:
            np.clip(pos[0], -1.0, ny, out=pos[0])
            np.clip(pos[1], -1.0, nx, out=pos[1])
        py = pos[0]
        py *= nx + 1                                   # integral floats: exact
        py += pos[1]
        return py.astype(np.intp)
    yy, xx = np.rint(pos).astype(int)
    inside = (yy >= 0) & (yy < ny) & (xx >= 0) & (xx < nx)
    return np.where(inside, yy * (nx + 1) + xx, -1)


@cache
def _chunk(width: int) -> tuple[np.ndarray, np.ndarray]:
    """The offsets of a chunk's steps from its first, and their ranks (the earliest highest), as columns."""
    if not 0 < width < 32:
        raise ValueError(f"a chunk has 1 to 31 steps, not {width}")      # the ranks are int8
    return np.arange(width, dtype=np.float64)[:, None], (np.arange(width, 0, -1, dtype=np.int8) << 2)[:, None]


def _stops(walk, grid: _Grid, widths: tuple[int, ...], paths: np.ndarray, t: np.ndarray, max_steps: int,
           t_hit: np.ndarray, c_hit: np.ndarray) -> None:
    """March ``paths`` to their first valid pixel, a chunk of steps at a time; fill ``t_hit`` and ``c_hit``.

    Parameters
    ----------
    walk : callable
        ``walk(st, i)``: the float pixel coordinates, ``(y, x)`` first, of the
        paths ``i`` at the path lengths ``st`` (rows of steps of the paths).
    grid : _Grid
        The window.
    widths : tuple of int
        The steps of a round's chunk (`CHUNKS`).
    paths : numpy.ndarray of int
        The paths to march.
    t : numpy.ndarray of float
        Each path's first step to evaluate.
    max_steps : int
        The last step.
    t_hit, c_hit : numpy.ndarray
        Written for the paths that find a valid pixel: the step, and the pixel (in ``grid``).

    Notes
    -----
    Step ``t`` of a path is computed with the same float operations as when
    stepping one at a time, so it lands on the same pixel; a path ends at its
    first step outside the window (found nothing) or on a valid pixel. A chunk
    repeats no step but ``max_steps``, which changes no first end. The steps a
    round skips cannot end the path: a step ``d`` steps on from one that landed
    on pixel ``q`` is at most ``d + 1/2`` from ``q`` (a ray's steps are its
    direction apart, a circle's chords are shorter than its arcs; the float
    rounding is far below a pixel when bounded), so it lands at most ``d + 1``
    pixels (chessboard) from ``q``, and none of the next ``clear[q] - 2`` steps
    reaches a valid pixel or the outside.
    """
    keep = t <= max_steps
    idx, t = paths[keep], t[keep]
    rounds = 0
    while idx.size:
        width = widths[min(rounds, len(widths) - 1)]
        rounds += 1
        off, rank = _chunk(width)
        steps = t + off                                  # (width, paths): long rows are fast
        last = t.max() + (width - 1)
        if last > max_steps:
            np.minimum(steps, max_steps, out=steps)
        cell = _cells(walk(steps, idx), grid, last > grid.reach)
        c = grid.code[cell]
        c += rank                                        # int8: a hole stays below zero, an end above it
        first = c.max(axis=0)                            # each path's first end, if any: (its rank, what it is)
        hit = np.flatnonzero((first & 3) == _VALID)
        if hit.size:
            at = (width - (first[hit] >> 2)).astype(np.intp) * idx.size + hit
            t_hit[idx[hit]] = steps.ravel()[at]
            c_hit[idx[hit]] = cell.ravel()[at]
        t = steps[-1] + grid.jump[cell[-1]]
        go = (first < 0) & (t <= max_steps)
        idx, t = idx[go], t[go]


def _march(values: np.ndarray, valid: np.ndarray, walk, hy: np.ndarray, hx: np.ndarray, max_steps: int,
           bounded: bool, widths: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of the hole pixels ``(hy, hx)`` along paths, by path length to the first valid pixel.

    ``values``: the window's, 0 where not valid. ``walk(st, i)`` gives the
    (float) pixel coordinates at the path lengths ``st`` of the paths ``i``:
    ``i < n`` forward from hole pixel ``i``, ``n + i`` backward from it (see
    `_stops`). ``bounded``: the steps' positions are finite, and the steps that
    cannot end a path are skipped. ``widths``: the chunks of `_stops`. Returns
    the interpolated values and where they are defined.

    Notes
    -----
    Step ``t`` of a path lands at most ``t`` pixels (chessboard) from its hole
    pixel, so a path's first ``clear - 1`` steps are skipped: a ray's step is
    ``t * u`` from the pixel, ``|u| <= 1``; a circle's is a chord of an arc of
    length ``t`` from the pixel (float rounding is far below half a pixel when
    bounded) or, for a pixel ``rho < 1`` from the centre (the radius is then 1),
    within ``1 + rho < 2`` of it in each coordinate, and step 1 within
    ``sqrt(1 + rho**2 - 2 rho cos 1) < 1``; and a position at most ``t`` from a
    pixel rounds to at most ``t`` pixels from it.
    """
    n, nx = hy.size, valid.shape[1]
    grid = _grid(valid, hy, hx, bounded)
    start = np.tile(grid.clear[hy * (nx + 1) + hx], 2)
    t_hit, c_hit = np.full(2 * n, np.nan), np.zeros(2 * n, dtype=np.intp)
    for b in range(0, 2 * n, PATH_BATCH):
        i = np.arange(b, min(b + PATH_BATCH, 2 * n))
        _stops(walk, grid, widths, i, start[i], max_steps, t_hit, c_hit)
    # 3x3 normalised average of valid pixels, to sample the ends of a path with less noise (where they are)
    w = ndimage.uniform_filter(valid.astype(np.float64), 3, mode="constant").ravel()
    sm = ndimage.uniform_filter(values, 3, mode="constant").ravel()
    at = c_hit - c_hit // (nx + 1)                     # the window's pixels
    v_hit = np.where(w[at] > 0, sm[at] / np.maximum(w[at], 1e-12), 0.0)
    (t1, t2), (v1, v2) = t_hit.reshape(2, n), v_hit.reshape(2, n)
    ok1, ok2 = np.isfinite(t1), np.isfinite(t2)
    both = ok1 & ok2
    val = np.zeros(n)
    val[both] = (v1[both] * t2[both] + v2[both] * t1[both]) / (t1[both] + t2[both])
    val[ok1 & ~ok2] = v1[ok1 & ~ok2]
    val[ok2 & ~ok1] = v2[ok2 & ~ok1]
    return val, ok1 | ok2


def _walker(path: str, hy: np.ndarray, hx: np.ndarray, centre):
    """The ``walk`` of `_march` for ``path``.

    Path ``n + i`` is path ``i`` backward: ``-t * u`` is ``t * -u`` and ``-t / r``
    is ``t / -r``, so step ``t`` is computed as ``hy + sign * t * uy`` (radial)
    or ``centre[0] + rr * sin(phi + sign * t / rr)`` (azimuthal) is.
    """
    dy, dx = hy - centre[0], hx - centre[1]
    if path == "radial":
        rr = np.hypot(dy, dx)
        uy = np.where(rr > 0, dy / np.maximum(rr, 1e-9), 1.0)
        ux = np.where(rr > 0, dx / np.maximum(rr, 1e-9), 0.0)
        q = np.stack([hy, hx, uy, ux])                 # float: as ``hy + ...`` casts hy
        q = np.concatenate([q, q * np.array([[1.0], [1.0], [-1.0], [-1.0]])], axis=1)

        def walk(st, i):
            y0, x0, vy, vx = q.take(i, axis=1)
            pos = np.empty((2,) + st.shape)
            y, x = pos
            np.multiply(st, vy, out=y)
            y += y0                                   # hy + sign * t * uy: a sum is the same either way
            np.multiply(st, vx, out=x)
            x += x0
            return pos
        return walk
    if path == "azimuthal":
        rr = np.maximum(np.hypot(dy, dx), 1.0)
        q = np.stack([np.arctan2(dy, dx), rr, rr])
        q = np.concatenate([q, q * np.array([[1.0], [-1.0], [1.0]])], axis=1)

        def walk(st, i):
            phi, rs, r = q.take(i, axis=1)
            a = phi + st / rs                         # the one angle both the sine and the cosine are taken of
            pos = np.empty((2,) + st.shape)
            y, x = pos
            np.sin(a, out=y)
            y *= r
            y += centre[0]                            # centre[0] + rr * sin(...): a sum is the same either way
            np.cos(a, out=x)
            x *= r
            x += centre[1]
            return pos
        return walk
    raise ValueError(f"path must be 'radial' or 'azimuthal', not {path!r}")


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
        Each hole pixel's value is the path-length weighted mean of the 3x3
        normalised averages of valid pixels at the first valid pixel each way
        (the one value where only one is found).
    found : numpy.ndarray of bool
        Where the fill is defined.
    """
    valid = np.asarray(valid, dtype=bool)            # an integer mask's ~ would be a bitwise not
    values = np.where(valid, values, 0.0)
    out = values.astype(np.float64)
    found = valid.copy()
    hy, hx = np.nonzero(~valid)
    if hy.size == 0:
        return out, found
    walk = _walker(path, hy, hx, centre)
    bounded = bool(np.all(np.abs(np.asarray([*centre, max_steps], dtype=np.float64)) < FAR))   # False for NaN
    val, ok = _march(values, valid, walk, hy, hx, max_steps, bounded, CHUNKS[path])
    out[hy, hx] = val
    found[hy, hx] = ok
    return out, found
