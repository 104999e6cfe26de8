"""`corkit_inpaint.network.guides`: interpolation along rays and circles about the Sun."""

import warnings

import numpy as np
import pytest
from helpers import C2_FULL, C3_FULL, blank, read_file
from scipy import ndimage

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.network import guides, windows
from corkit_inpaint.network.guides import path_fill


def test_azimuthal_and_radial_guides_follow_their_geometry():
    """Circles about the Sun carry a ring across a hole; rays carry a radial streamer."""
    yy, xx = np.mgrid[0:128, 0:128].astype(float)
    centre = (-40.0, 20.0)                     # the Sun outside the window, as for most windows
    r = np.hypot(yy - centre[0], xx - centre[1])
    th = np.arctan2(yy - centre[0], xx - centre[1])
    ring = np.exp(-0.5 * ((r - 110) / 5.0) ** 2)     # varies only with radius
    ray = np.exp(-0.5 * ((th - 1.0) / 0.05) ** 2)    # varies only with angle
    valid = np.ones((128, 128), dtype=bool)
    valid[48:80, 48:80] = False
    hole = ~valid
    azi, ok_a = path_fill(ring, valid, centre, "azimuthal")
    rad, ok_r = path_fill(ray, valid, centre, "radial")
    assert ok_a[hole].all() and ok_r[hole].all()
    assert np.abs(azi - ring)[hole].max() < 0.12 * ring.max()
    assert np.abs(rad - ray)[hole].max() < 0.12 * ray.max()
    # and each is wrong for the other geometry, so the test can fail
    assert np.abs(path_fill(ring, valid, centre, "radial")[0] - ring)[hole].max() > 0.5
    assert np.abs(path_fill(ray, valid, centre, "azimuthal")[0] - ray)[hole].max() > 0.5
    assert np.array_equal(azi[valid], ring[valid])
    with pytest.raises(ValueError, match="radial"):
        path_fill(ring, valid, centre, "spiral")


@pytest.mark.parametrize("path", ["radial", "azimuthal"])
def test_one_sided_paths_and_nothing_to_read(path):
    """Constant values are carried exactly, also by rays that meet valid pixels on one side only; with no
    valid pixel nothing is found."""
    values = np.full((64, 64), 7.25)
    valid = np.ones((64, 64), dtype=bool)
    valid[20:44, 40:64] = False                      # a hole reaching the window's right edge
    centre = (32.0, -200.0)                          # rays run left to right, circles top to bottom
    out, found = path_fill(values, valid, centre, path)
    assert found.all()
    np.testing.assert_allclose(out[~valid], 7.25, rtol=0, atol=1e-12)
    # a hole no path can leave (the window is all hole): nothing invented
    none, found = path_fill(values, np.zeros((64, 64), bool), centre, path)
    assert not found.any() and not none.any()


# ---------------------------------------------------------------------------------------------------------------
# The march is vectorised (chunks of steps, skipped steps): the same output, to the bit, as stepping one at a time.

def _reference_march(values, valid, walk, n, max_steps):
    """`path_fill`'s march as it was before it was vectorised, stepping t = 1, 2, ... (frozen here)."""
    ny, nx = values.shape
    w = ndimage.uniform_filter(valid.astype(np.float64), 3, mode="constant")
    sm = ndimage.uniform_filter(np.where(valid, values, 0.0), 3, mode="constant")
    smooth = np.where(w > 0, sm / np.maximum(w, 1e-12), 0.0)
    ends = []
    for sign in (1.0, -1.0):
        t_hit = np.full(n, np.nan)
        v_hit = np.zeros(n)
        idx = np.arange(n)
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


def _reference_path_fill(values, valid, centre, path="radial", *, max_steps=160):
    """`path_fill` as it was before its march was vectorised (frozen here)."""
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
    val, ok = _reference_march(values, valid, walk, hy.size, max_steps)
    out[hy, hx] = val
    found[hy, hx] = ok
    return out, found


def _same(values, valid, centre, path, **kw):
    """Whether `path_fill` and the reference give the same fill and the same found, to the bit."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):      # NaN and infinite centres cast with warnings
        warnings.simplefilter("ignore", RuntimeWarning)
        new, ref = path_fill(values, valid, centre, path, **kw), _reference_path_fill(values, valid, centre, path, **kw)
    return np.array_equal(new[0], ref[0]) and np.array_equal(new[1], ref[1]) and new[0].dtype == ref[0].dtype


def _real_windows(path, seed, monkeypatch):
    """The (values, valid, centre, path) `prepare_window` hands `path_fill` for a real frame with random single
    blocks, 1-3 x 1-3 block clusters, a long raster run to the frame's edge and a corner block blanked."""
    data, header = read_file(path)
    rng = np.random.default_rng(seed)
    g = data.shape[0] // 32
    blocks = {(int(by), int(bx)) for by, bx in rng.integers(0, g, (4, 2))} | {(0, 0)}
    for h, w, by, bx in zip(*rng.integers(1, 4, (2, 3)), *rng.integers(1, g - 3, (2, 3)), strict=True):
        blocks |= {(int(by) + i, int(bx) + j) for i in range(h) for j in range(w)}
    by = int(rng.integers(0, g))
    blocks |= {(by, g - 1 - j) for j in range(int(rng.integers(6, 14)))}
    frame = Frame.build(blank(data, blocks), blocks_to_mask(data.shape, blocks), header)
    calls = []
    monkeypatch.setattr(windows, "path_fill", lambda v, ok, c, p: calls.append((v, ok, c, p)) or path_fill(v, ok, c, p))
    windows.frame_windows(frame)
    monkeypatch.undo()
    return calls


@pytest.mark.parametrize("path,seed", [(C2_FULL, 1), (C3_FULL, 2)], ids=["c2", "c3"])
def test_the_march_is_the_step_by_step_march_on_real_windows(path, seed, monkeypatch):
    calls = _real_windows(path, seed, monkeypatch)
    assert len(calls) >= 10 and {c[3] for c in calls} == {"radial", "azimuthal"}
    assert any((~ok).sum() > 5000 for _, ok, _, _ in calls)              # the long run's window is there
    for values, valid, centre, p in calls:
        assert _same(values, valid, centre, p), (p, centre, valid.shape)
        assert _same(values, valid, centre, p, max_steps=9), (p, centre, valid.shape)     # some paths find nothing


def _random_case(rng):
    """A random window, holes (rectangles, some at the window's edge, scattered pixels, thin lines, all or
    nothing), values, and a Sun centre inside the window, at or next to a hole pixel, or far outside it."""
    ny, nx = (int(v) for v in rng.integers(6, 72, 2))
    valid = np.ones((ny, nx), dtype=bool)
    kind = rng.choice(["rects", "scatter", "lines", "all", "none"], p=[0.55, 0.2, 0.17, 0.04, 0.04])
    if kind == "rects":
        for _ in range(int(rng.integers(1, 4))):
            y0, x0 = int(rng.integers(-4, ny)), int(rng.integers(-4, nx))
            valid[max(y0, 0):y0 + int(rng.integers(1, 40)), max(x0, 0):x0 + int(rng.integers(1, 40))] = False
    elif kind == "scatter":
        valid = rng.random((ny, nx)) > rng.uniform(0.2, 0.95)
    elif kind == "lines":
        valid[int(rng.integers(0, ny)), :] = False
        valid[:, int(rng.integers(0, nx)):int(rng.integers(0, nx)) + 1] = False
    elif kind == "all":
        valid[:] = False
    values = rng.normal(size=(ny, nx)) * 3 + 1
    if rng.random() < 0.15:
        values = values.astype(np.float32)
    hy, hx = np.nonzero(~valid) if (~valid).any() else (np.array([ny // 2]), np.array([nx // 2]))
    k = int(rng.integers(0, hy.size))
    where = rng.choice(["inside", "on", "near", "out", "far", "beyond"], p=[0.25, 0.1, 0.1, 0.35, 0.1, 0.1])
    centre = {"inside": lambda: (rng.uniform(-1, ny), rng.uniform(-1, nx)),
              "on": lambda: (float(hy[k]), float(hx[k])),                                  # a path of length 0
              "near": lambda: (hy[k] + rng.uniform(-0.9, 0.9), hx[k] + rng.uniform(-0.9, 0.9)),  # radius clamped
              "out": lambda: tuple(rng.choice([-1, 1], 2) * rng.uniform(80, 3000, 2)),
              "far": lambda: tuple(rng.choice([-1, 1], 2) * 10.0 ** rng.uniform(4, 12, 2)),
              "beyond": lambda: (rng.choice([1e13, -3e15, np.nan, np.inf]), rng.uniform(-50, 50))}[where]()
    return values, valid, centre


def test_the_march_is_the_step_by_step_march_on_random_windows():
    rng = np.random.default_rng(20240607)
    for case in range(160):
        values, valid, centre = _random_case(rng)
        max_steps = int(rng.choice([0, 1, 2, 3, 4, 5, 7, 8, 13, 31, 40, 160, 400]))
        for p in ("radial", "azimuthal"):
            assert _same(values, valid, centre, p, max_steps=max_steps), (case, p, centre, max_steps, valid.shape)
    # the centre types a caller may pass
    values, valid, _ = _random_case(np.random.default_rng(3))
    for centre in [(np.float32(-300.5), np.float32(40.25)), (-300, 40), np.array([-300.5, 40.25])]:
        assert _same(values, valid, centre, "azimuthal") and _same(values, valid, centre, "radial")


def test_the_comparison_sees_a_step_too_many_skipped(monkeypatch):
    """The equality tests can fail: a march that skips one step more than it may, or evaluates chunks one step
    late, gives other fills."""
    rng = np.random.default_rng(5)
    cases = [_random_case(rng) for _ in range(20)]
    grid = guides._grid
    monkeypatch.setattr(guides, "_grid", lambda *a: grid(*a)._replace(jump=grid(*a).jump + 1))
    assert not all(_same(v, ok, c, p) for v, ok, c in cases for p in ("radial", "azimuthal"))
    monkeypatch.undo()
    chunk = guides._chunk
    monkeypatch.setattr(guides, "_chunk", lambda width: (chunk(width)[0] + 1, chunk(width)[1]))
    assert not all(_same(v, ok, c, p) for v, ok, c in cases for p in ("radial", "azimuthal"))
    monkeypatch.undo()
    assert all(_same(v, ok, c, p) for v, ok, c in cases for p in ("radial", "azimuthal"))


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float32])
def test_a_mask_of_numbers_is_read_as_a_mask_of_bools(dtype):
    """Review: with an integer mask, ``~valid`` was a bitwise not, so every pixel counted as a hole."""
    rng = np.random.default_rng(4)
    values = rng.normal(size=(64, 80))
    valid = np.ones((64, 80), dtype=bool)
    valid[20:40, 30:50] = False
    for path in ("radial", "azimuthal"):
        want = path_fill(values, valid, (-30.0, 10.0), path)
        got = path_fill(values, valid.astype(dtype), (-30.0, 10.0), path)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
