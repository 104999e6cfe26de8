"""The features of filled pixels: zone, distance to the hole edge, window noise, neighbour cover."""

import numpy as np
import pytest
from helpers import BLANK, C3_SEQ, blank, read_file, read_real
from scipy import ndimage

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.geometry import zone_map
from corkit_inpaint.register import register_all
from corkit_inpaint.stretch import noise_sigma
from corkit_inpaint.uncertainty.features import N_ZONES, TABLE_SHAPE, hole_distance, neighbour_cover, pixel_features


def _frame():
    data, hdr = read_real()
    mask = blocks_to_mask(data.shape, BLANK)
    return Frame.build(blank(data, BLANK).astype(float), mask, hdr), mask


def test_distance_zone_and_noise_of_a_single_block():
    frame, mask = _frame()
    f = pixel_features(frame, mask)
    ys, xs = np.nonzero(mask)
    d = dict(zip(zip(ys, xs), f.dist))
    y0, x0 = BLANK[0][0] * 32, BLANK[0][1] * 32          # (3, 4): a single block, valid all round
    assert d[(y0, x0 + 10)] == 1.0                     # the first row touches the valid row above
    assert d[(y0 + 15, x0 + 15)] == 16.0               # the centre is 16 px from the nearest valid pixel
    zones = zone_map(frame.shape, frame.geometry)
    assert np.array_equal(f.zone, np.where(zones[mask] >= 0, zones[mask], N_ZONES - 1))
    assert f.detector == "C2" and np.array_equal(f.zone_cells(), np.where(zones[mask] >= 0, zones[mask], 6))
    # every pixel of that block has its window's Immerkaer noise, in stretched units
    s = frame.stretched
    y1, x1 = y0 + 32, x0 + 32
    box = (slice(y0 - 32, y1 + 32), slice(x0 - 32, x1 + 32))
    ref = noise_sigma(s[box], frame.valid[box])
    mine = f.noise[(ys >= y0) & (ys < y1) & (xs >= x0) & (xs < x1)]
    assert np.all(mine > 0) and np.ptp(mine) == 0
    assert abs(mine[0] / ref - 1) < 0.5                # the same window up to the merging of windows
    cells = f.cells()
    assert cells.min() >= 0 and cells.max() < np.prod(TABLE_SHAPE)
    assert not f.neighbour.any()


def test_neighbour_cover_follows_the_neighbours_data():
    (d0, h0), (d1, h1), (d2, h2) = (read_file(p) for p in C3_SEQ)
    blocks = [(8, 20), (20, 8), (12, 12)]
    mask = blocks_to_mask(d1.shape, blocks)
    frame = Frame.build(blank(d1, blocks).astype(float), mask, h1)
    gone = d0.copy()
    gone[8 * 32:9 * 32, 20 * 32:21 * 32] = 0           # the neighbour lost one of those blocks too
    nbs = register_all([(gone, h0)], h1, d1.shape)
    cover = neighbour_cover(frame, nbs)
    assert not (cover & ~mask).any()
    assert cover[20 * 32 + 5, 8 * 32 + 5] and not cover[8 * 32 + 5, 20 * 32 + 5]
    assert not neighbour_cover(frame, []).any()
    f = pixel_features(frame, mask, cover)
    assert f.neighbour.sum() == (cover & mask).sum()


def test_a_flat_or_thin_context_still_gets_a_sigma():
    """Where the window's own noise cannot be estimated (a flat context, or a strip too thin for a 3x3),
    the frame's noise at that level stands in: never 0 ("not estimated") or 1e-8 DN on a filled pixel."""
    from helpers import C2_FULL

    from corkit_inpaint.fill import fill_level05
    data, hdr = read_file(C2_FULL)
    blk = np.zeros(data.shape, dtype=bool)
    blk[9 * 32:10 * 32, 21 * 32:22 * 32] = True
    flat = data.copy()
    flat[8 * 32 - 64:9 * 32 + 64, 21 * 32 - 64:22 * 32 + 64] = 3000       # a flat patch around block (8, 21)
    prev = np.zeros(data.shape, dtype=bool)                    # an earlier fill around block (9, 21) ...
    prev[6 * 32:13 * 32, 18 * 32:25 * 32] = True
    prev[blk] = False
    prev[9 * 32 - 3:9 * 32 - 1, 21 * 32:21 * 32 + 10] = False   # ... with a 2x10 strip of data left in it
    cases = [(blank(flat, [(8, 21)]), None, [(8, 21)]), (blank(data, [(9, 21)]), prev, [(9, 21)])]
    for img, previous, blocks in cases:
        hole = blocks_to_mask(data.shape, blocks)
        for method in ("biharmonic", "pconv-smooth"):
            r = fill_level05(img, hdr, method, device="cpu", previous_fill=previous,
                             previous_sigma=None if previous is None else np.where(previous, 5.0, 0.0))
            assert r.filled[hole].all() and r.sigma[hole].min() > 1.0        # DN; a normal fill here: 10-40


def test_a_window_without_context_is_left_masked_by_the_classical_methods():
    from helpers import C2_FULL

    from corkit_inpaint.fill import fill_level05
    data, hdr = read_file(C2_FULL)
    prev = np.zeros(data.shape, dtype=bool)
    prev[6 * 32:13 * 32, 18 * 32:25 * 32] = True
    prev[9 * 32:10 * 32, 21 * 32:22 * 32] = False              # the new hole's window holds no data at all
    r = fill_level05(blank(data, [(9, 21)]), hdr, "biharmonic", device="cpu", previous_fill=prev,
                     previous_sigma=np.where(prev, 5.0, 0.0))
    hole = blocks_to_mask(data.shape, [(9, 21)])
    assert not r.filled[hole].any() and "too little context" in r.note


def test_each_detector_has_its_own_zone_cells_and_other_pixels_one_more():
    """C2 inner/mid/outer are zone cells 0-2 and C3's 3-5; outside the zones, or without a geometry, cell 6."""
    from corkit_inpaint.uncertainty.features import ZONE_CELLS, PixelFeatures
    n = 5
    zone = np.array([0, 1, 2, 3, -1])                     # 3 (pixel_features) and -1 (zone_of): outside
    def feats(det):
        return PixelFeatures(np.ones(n, dtype=bool), zone, np.ones(n), np.ones(n), np.zeros(n), np.ones(n),
                             np.zeros(n, dtype=bool), det)
    assert ZONE_CELLS == 7 and TABLE_SHAPE[1] == 7
    assert feats("C2").zone_cells().tolist() == [0, 1, 2, 6, 6]
    assert feats("C3").zone_cells().tolist() == [3, 4, 5, 6, 6]
    assert feats("").zone_cells().tolist() == [6] * n
    assert np.array_equal(np.unravel_index(feats("C3").cells(), TABLE_SHAPE)[1], [3, 4, 5, 6, 6])


def test_hole_distance_is_the_whole_windows_transform_to_the_bit():
    """The transform on the holes' box gives the whole window's values, also where a nearer valid pixel
    lies beyond the box (holes beside invalid strips, at the window's edges, with nothing valid near)."""
    rng = np.random.default_rng(7)
    checked = far = 0
    for case in range(60):
        ny, nx = rng.integers(20, 120, size=2)
        valid = rng.random((ny, nx)) > rng.uniform(0.0, 0.6)          # scattered invalid pixels
        for _ in range(rng.integers(1, 4)):                            # blocks and strips of invalid pixels
            y, x = rng.integers(0, ny), rng.integers(0, nx)
            valid[y:y + rng.integers(1, 40), x:x + rng.integers(1, 40)] = False
        if case % 5 == 0:                                              # a ring of invalid pixels about a hole
            valid[5:ny - 5, 5:nx - 5] = False
            valid[8:ny - 8, 8:nx - 8] = True
        if not valid.any() or valid.all():
            continue
        holes = np.argwhere(~valid)
        pick = holes[rng.choice(len(holes), size=min(len(holes), int(rng.integers(1, 200))), replace=False)]
        ly, lx = pick[:, 0], pick[:, 1]
        full = ndimage.distance_transform_edt(~valid)
        got = hole_distance(valid, ly, lx)
        assert np.array_equal(got, full[ly, lx]), case
        box = hole_distance(valid, ly, lx, grow=10 ** 6)               # one box over the whole array
        far += int(np.sum(got != ndimage.distance_transform_edt(
            ~valid[max(ly.min() - 2, 0):ly.max() + 3, max(lx.min() - 2, 0):lx.max() + 3])[
            ly - max(ly.min() - 2, 0), lx - max(lx.min() - 2, 0)]))
        assert np.array_equal(box, got)
        checked += ly.size
    assert checked > 1000 and far > 0           # the box alone would have been wrong for some: the fallback ran
    assert hole_distance(np.ones((4, 4), dtype=bool), np.array([], dtype=int), np.array([], dtype=int)).size == 0


def test_the_near_spread_leaves_out_the_guide_farthest_from_the_fill():
    """``near``: the range of the fill and the two guides nearest it (the first in the guides' order on a tie);
    with no fill, nearest the guides' median. ``spread`` is the whole range, as before 0.1.18."""
    from corkit_inpaint.uncertainty.features import _range
    guides = np.array([[0.0, 0.0, 5.0, 1.0, 2.0],       # biharmonic
                       [9.0, 1.0, 5.0, -1.0, 2.0],      # radial
                       [1.0, 0.5, -4.0, 0.0, 2.0]])     # azimuthal
    fill = np.array([0.5, 0.25, 0.0, 0.0, 2.0])
    assert np.array_equal(_range(guides, fill), [9.0, 1.0, 9.0, 2.0, 0.0])
    # left out: the radial 9; the radial 1 (0.75 from the fill); of 5, 5 and -4 about 0 the first 5 (a tie);
    # of 1, -1 and 0 about 0 the 1 (a tie, the biharmonic first); no fill: about the median, 5 5 -4 -> -4
    assert np.array_equal(_range(guides, fill, drop_farthest=True), [1.0, 0.5, 9.0, 1.0, 0.0])
    assert np.array_equal(_range(guides, None, drop_farthest=True), [1.0, 0.5, 0.0, 1.0, 0.0])
    frame, mask = _frame()
    f = pixel_features(frame, mask, values=read_real()[0].astype(float))     # the truth as a fill
    assert np.all(f.near <= f.spread) and np.any(f.near < f.spread)
    assert np.array_equal(f.spread_of("range"), f.spread) and np.array_equal(f.spread_of("near"), f.near)
    assert np.array_equal(f.unit_of("near"), np.hypot(f.noise, f.near)) and np.array_equal(f.unit, np.hypot(
        f.noise, f.spread))
    assert not np.array_equal(f.cells("near"), f.cells("range"))
    with pytest.raises(ValueError, match="one of range, near"):
        f.spread_of("widest")
