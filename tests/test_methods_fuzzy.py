"""`corkit_inpaint.methods.fuzzy`: the SolarSoft fuzzy fill port: zones, policy, smooth images, valid pixels."""

import numpy as np
import pytest
from astropy.io import fits
from helpers import BLANK, blank, read_real, write

import corkit_inpaint as ci
from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods.fuzzy import FuzzyFill, band_masks, find_zones


def fuzzy(img, mask, header=None, **kw):
    """The fuzzy fill's result for an image and mask."""
    return FuzzyFill("fuzzy", **kw).fill(Frame.build(img, mask, header))


def grid(shape, blocks):
    g = np.zeros(shape, bool)
    for b in blocks:
        g[b] = True
    return g


def test_zones_merge_as_specified():
    # two blocks 2 apart: rectangles (±1 block) overlap -> one zone with their bounding box
    z = find_zones(grid((16, 16), [(5, 5), (5, 7)]))
    assert len(z) == 1 and z[0]["rect"] == (4, 6, 4, 8) and sorted(z[0]["blocks"]) == [(5, 5), (5, 7)]
    # rectangles that only touch (edge to edge) merge too; far ones stay apart
    z = find_zones(grid((16, 16), [(5, 5), (5, 8), (12, 12)]))
    assert sorted(len(x["blocks"]) for x in z) == [1, 2]
    # chained merging: a-b and b-c overlap, a-c do not
    z = find_zones(grid((16, 16), [(3, 3), (3, 6), (3, 9)]))
    assert len(z) == 1 and z[0]["rect"] == (2, 4, 2, 10)
    # clipping to 1..n-2, and edge flags
    z = find_zones(grid((16, 16), [(0, 7), (8, 8)]))
    edge = {tuple(x["blocks"][0]): x["edge"] for x in z}
    assert edge == {(0, 7): True, (8, 8): False}
    assert [x["rect"] for x in z if x["blocks"] == [(0, 7)]][0][0] == 1


@pytest.mark.parametrize("angle", [0, 30, 45, 90, 135, 200])
def test_planes_and_ramps_filled_with_small_error(angle):
    yy, xx = np.mgrid[0:256, 0:256].astype(float)
    a = np.deg2rad(angle)
    img = 1000.0 + 3.0 * (np.cos(a) * xx + np.sin(a) * yy)
    mask = blocks_to_mask(img.shape, [(3, 3), (3, 4), (5, 2)])
    out = fuzzy(np.where(mask, 0, img), mask).values
    assert np.abs(out - img)[mask].max() < 0.005 * np.ptp(img[mask])        # < 0.5% of the ramp's range
    plane = fuzzy(np.where(mask, 0, 0 * img + 1234.5), mask).values
    assert np.abs(plane - 1234.5)[mask].max() < 1e-6
    literal = fuzzy(np.where(mask, 0, img), mask, literal_idl=True).values
    assert np.abs(literal - img)[mask].max() < 0.03 * np.ptp(img[mask])      # zeroed band: still close


def test_no_valid_pixel_changes_and_method_registered():
    data, header = read_real()
    img = blank(data, BLANK)
    mask = blocks_to_mask(img.shape, BLANK)
    out = fuzzy(img, mask, header).values
    assert np.array_equal(out[~mask], img[~mask].astype(float)) and np.all(np.isfinite(out))
    arr = ci.inpaint_array(img.astype(float), method="fuzzy")
    assert np.array_equal(arr[~mask], img[~mask].astype(float))
    truth = data[mask].astype(float)
    assert np.median(np.abs(arr[mask] - truth) / truth) < 0.05


def test_policy_leaves_large_and_edge_zones_masked(tmp_path):
    data, header = read_real()
    big = [(by, bx) for by in (2, 3, 4, 5) for bx in (10, 11, 12, 13, 14)]   # 20 blocks: > 16
    small = [(11, 3)]
    edge = [(15, 1)]
    img = blank(data, big + small + edge)
    mask = blocks_to_mask(img.shape, big + small + edge)
    res = fuzzy(img, mask, header, policy=True)
    assert not res.filled[blocks_to_mask(img.shape, big)].any()           # left masked
    assert not res.filled[blocks_to_mask(img.shape, edge)].any()
    assert res.filled[blocks_to_mask(img.shape, small)].all()
    assert res.skipped.startswith("2 zones")
    assert np.array_equal(res.values[~res.filled], img[~res.filled].astype(float))
    huge = [(by, bx) for by in range(1, 12) for bx in range(1, 11)]          # 110 blocks: > 100
    res = fuzzy(blank(data, huge), blocks_to_mask(img.shape, huge), header, policy=True)
    assert "more than 100" in res.skipped and not res.filled.any()
    # without the policy everything is filled
    assert fuzzy(img, mask, header).filled.sum() == mask.sum()


def test_level1_policy_rules():
    hdr = {"DETECTOR": "C3", "FILTER": "Clear"}
    img = np.ones((64, 64))
    big = np.ones((64, 64), bool)
    policy = FuzzyFill("fuzzy").for_level1()
    assert policy.policy and not FuzzyFill("fuzzy").policy
    assert policy.skip_reason(Frame.build(img, big, hdr)) == ""
    assert "C3 Clear only" in policy.skip_reason(Frame.build(img, big, {"DETECTOR": "C2", "FILTER": "Orange"}))
    small = np.zeros((64, 64), bool)
    small[:10, :10] = True
    assert "1000" in policy.skip_reason(Frame.build(img, small, hdr))
    assert FuzzyFill("fuzzy").skip_reason(Frame.build(img, small, hdr)) == ""     # outside level_1: fill


@pytest.mark.slow
def test_level1_fuzzy_policy_leaves_big_zone_masked(tmp_path):
    """Through level_1 (C3 Clear): the >16-block zone stays masked (0, flagged in INPMASK since 0.1.27) and out of
    the counts."""
    from corkit_inpaint.level1 import level_1
    from corkit_inpaint.testing import write_standin_calibration
    from corkit_inpaint.training.simulator import make_frame
    calib = write_standin_calibration(tmp_path / "calib")
    img, hdr = make_frame(77, detector="C3", summed=False)
    big = [(by, bx) for by in (8, 9, 10, 11) for bx in (20, 21, 22, 23, 24)]     # 20 blocks
    small = [(22, 12), (22, 13)]
    src = write(tmp_path / "c3.fts", blank(img, big + small), hdr)
    out, h, m = level_1(src, calib_dir=calib, inpaint="fuzzy", return_mask=True)
    assert h["INPAINT"] == "fuzzy" and h["INPNBLK"] == 2 and h["INPNPIX"] == 2 * 1024
    with_all, h2, m2 = level_1(src, calib_dir=calib, inpaint="biharmonic", return_mask=True)
    assert h2["INPNBLK"] == 22 and np.array_equal(m, m2)               # what reads a lost block, filled or not
    left = np.asarray(out)[m.astype(bool)] == 0                        # corkit's no data (C3 Clear: count 0)
    assert 0.75 < left.mean() < 0.95 and not (np.asarray(with_all)[m2.astype(bool)] == 0).any()   # 20 of 22
    hdr_c2 = make_frame(78, detector="C2", summed=True)
    src2 = write(tmp_path / "c2.fts", blank(hdr_c2[0], [(3, 4), (3, 5)]), hdr_c2[1])
    _, h3 = level_1(src2, calib_dir=calib, inpaint="fuzzy")              # SolarSoft: C3 Clear only
    assert h3["INPAINT"] == "none" and h3["INPNBLK"] == 0
    assert "C3 Clear only" in "".join(str(c) for c in h3["HISTORY"])      # long cards wrap


def test_band_masks_partition_the_spectrum():
    b = band_masks()
    total = sum(m.astype(int) for m in b.values())
    assert np.all(total == 1) and b["dc"].sum() == 1 and b["low"].sum() > 0 and b["high"].sum() > 0
    assert b["horizontal"][1, 10] and b["vertical"][10, 1] and b["diagonal"][10, 10]


@pytest.mark.parametrize("angle", [0, 40, 90, 150, -120])
def test_gradient_direction_of_a_ramp(angle):
    from corkit_inpaint.methods.fuzzy import gradient_direction
    yy, xx = np.mgrid[0:96, 0:96].astype(float)
    a = np.deg2rad(angle)
    z = np.cos(a) * xx + np.sin(a) * yy
    valid = np.ones(z.shape, bool)
    valid[32:64, 32:64] = False
    got = gradient_direction(np.where(valid, z, 0.0), valid)
    assert abs(np.angle(np.exp(1j * (got - a)))) < np.deg2rad(3)


def test_refill_does_not_read_the_earlier_fill(tmp_path):
    """A refill's earlier-filled pixels are not data: the fuzzy fill of the new blocks must not depend on them.

    Its boxcar and DCT step read the 3x3 blocks around each hole; before the fix they read an earlier fill's
    block beside a new hole as it stood (a real C2 frame: up to hundreds of DN of difference in the new fill).
    """
    data, hdr = read_real()
    earlier, new = [(4, 9), (4, 11)], [(4, 10)]          # the new hole between two earlier-filled blocks
    src = write(tmp_path / "first.fts", blank(data, earlier), hdr)
    ci.inpaint_fits(src, tmp_path / "filled.fts", method="biharmonic")
    out = []
    for k, value in enumerate((None, 30000)):        # the earlier fill as written, then made absurd
        hdul = fits.open(tmp_path / "filled.fts")
        img = hdul[0].data.copy()
        if value is not None:
            img[hdul["INPMASK"].data.astype(bool)] = value
        hdul[0].data = blank(img, new)
        hdul.writeto(tmp_path / f"again{k}.fts", output_verify="ignore")
        hdul.close()
        out.append(ci.inpaint_fits(tmp_path / f"again{k}.fts", method="fuzzy", refill=True))
    hole = blocks_to_mask(data.shape, new)
    assert out[0]["INPMASK"].data.sum() == 3 * 1024 and out[0][0].header["INPAINT"] == "fuzzy"
    assert np.array_equal(out[0][0].data[hole], out[1][0].data[hole])
    assert np.array_equal(out[0]["INPSIGMA"].data, out[1]["INPSIGMA"].data)
    assert np.array_equal(out[0][0].data[~blocks_to_mask(data.shape, earlier + new)],
                          data[~blocks_to_mask(data.shape, earlier + new)])
