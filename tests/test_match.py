"""The smoothed-ratio scaling of neighbours: exact for a scaled copy, shifts at low signal, combines two."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from helpers import C3_SEQ, read_file

from corkit_inpaint.frame import Frame
from corkit_inpaint.match import MIN_COMMON, neighbour_estimate
from corkit_inpaint.register import register

HDR = {"EXPTIME": 10.0, "OFFSET": 100.0}
BOX = (0, 128, 0, 128)


def scene(level=5000.0, seed=0):
    yy, xx = np.mgrid[0:128, 0:128]
    rng = np.random.default_rng(seed)
    img = 100.0 + level * (1.0 + 0.3 * np.sin(xx / 9.0) * np.cos(yy / 13.0)) + rng.normal(0, 3, (128, 128))
    hole = np.zeros(img.shape, dtype=bool)
    hole[48:80, 48:80] = True
    return img, hole


def test_a_scaled_copy_is_scaled_back_exactly():
    img, hole = scene()
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    brighter = 100.0 + 1.3 * (img - 100.0)                 # the same sky, 1.3x brighter (DN/s)
    e = neighbour_estimate(frame, [register(brighter, HDR, HDR, img.shape)], BOX)
    assert (e.count[hole] == 1).all() and e.used == (True,)
    np.testing.assert_allclose(e.values[hole], img[hole], rtol=1e-9)
    assert not e.spread.any()


def test_an_offset_copy_at_low_signal_is_shifted_back():
    img, hole = scene(level=0.0)                           # only noise about the bias: no ratio to take
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    shifted = img + 2.0
    e = neighbour_estimate(frame, [register(shifted, HDR, HDR, img.shape)], BOX)
    np.testing.assert_allclose(e.values[hole], img[hole], atol=0.2)


def test_two_neighbours_are_averaged_and_their_spread_kept():
    img, hole = scene()
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    lo = img.copy()
    lo[60, 60] -= 400.0                                  # one neighbour disagrees at one pixel
    nbs = [register(img, HDR, HDR, img.shape), register(lo, HDR, HDR, img.shape)]
    e = neighbour_estimate(frame, nbs, BOX)
    assert (e.count[hole] == 2).all()
    assert e.spread[60, 60] == pytest.approx(400.0, rel=0.05) and e.spread[hole].sum() < 500.0
    assert e.values[60, 60] == pytest.approx(img[60, 60] - 200.0, rel=1e-3)


def test_a_neighbour_without_overlap_is_not_used():
    img, hole = scene()
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    empty = np.zeros_like(img)
    empty[:4, :MIN_COMMON // 4 - 1] = img[:4, :MIN_COMMON // 4 - 1]
    e = neighbour_estimate(frame, [register(empty, HDR, HDR, img.shape)], BOX)
    assert e.used == (False,) and not e.count.any()


def test_misfit_weighting_trusts_the_neighbour_that_matches_the_context():
    img, hole = scene(seed=1)
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    other, _ = scene(seed=2)
    yy, xx = np.mgrid[0:128, 0:128]
    other = other + 1500.0 * np.cos(xx / 5.0 + yy / 7.0)      # another day: other structure, same brightness
    nbs = [register(img + np.random.default_rng(3).normal(0, 3, img.shape), HDR, HDR, img.shape),
           register(other, HDR, HDR, img.shape)]
    equal = neighbour_estimate(frame, nbs, BOX)
    fit = neighbour_estimate(frame, nbs, BOX, weighting="misfit")
    err = lambda e: float(np.sqrt(np.mean((e.values[hole] - img[hole]) ** 2)))
    assert err(fit) < 0.1 * err(equal) and err(fit) < 10.0           # ~ the good neighbour's noise
    assert np.array_equal(fit.count, equal.count) and np.array_equal(fit.spread, equal.spread)
    # the misfit: the good neighbour's added noise (3 DN; the target's own noise is in both)
    assert 2.5 < np.median(fit.misfit[hole]) < 3.5 and not fit.misfit[~(fit.count > 0)].any()
    alone = neighbour_estimate(frame, nbs[1:], BOX, weighting="misfit")
    assert np.median(alone.misfit[hole]) > 10 * np.median(fit.misfit[hole])
    with pytest.raises(ValueError, match="weighting"):
        neighbour_estimate(frame, nbs, BOX, weighting="best")


def test_despike_leaves_out_a_hit_that_only_one_neighbour_has():
    """A cosmic-ray hit in one neighbour is not copied; noise-level differences and single neighbours are kept."""
    img, hole = scene(seed=4)
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    rng = np.random.default_rng(5)
    a, b = (img + rng.normal(0, 3, img.shape) for _ in range(2))
    a[60, 60] += 3000.0                                   # a hit (300 DN/s) in the first neighbour only
    b[70, 50:52] += 3000.0                                # and a two-pixel one in the second
    nbs = [register(a, HDR, HDR, img.shape), register(b, HDR, HDR, img.shape)]
    plain = neighbour_estimate(frame, nbs, BOX, weighting="misfit")
    clean = neighbour_estimate(frame, nbs, BOX, weighting="misfit", despike=True)
    for y, x, kept in ((60, 60, b), (70, 50, a), (70, 51, a)):
        assert plain.values[y, x] > img[y, x] + 1000.0                   # copied, halved, without despiking
        assert clean.values[y, x] == pytest.approx(kept[y, x], rel=1e-3)  # the other neighbour's value
        assert clean.count[y, x] == 1 and clean.spread[y, x] == 0.0
    hits = np.zeros(img.shape, dtype=bool)
    hits[60, 60] = hits[70, 50:52] = True
    assert np.array_equal(clean.values[~hits], plain.values[~hits])     # nothing else changes
    assert (clean.count[hole & ~hits] == 2).all()
    one = neighbour_estimate(frame, nbs[:1], BOX, weighting="misfit", despike=True)    # nothing to compare with
    assert one.values[60, 60] == neighbour_estimate(frame, nbs[:1], BOX, weighting="misfit").values[60, 60]
    equal = neighbour_estimate(frame, nbs, BOX)                          # the ratio baseline: unchanged
    assert equal.values[60, 60] > img[60, 60] + 1000.0


def test_despike_keeps_the_matching_neighbour_beside_another_days_frame():
    """Another day's frame differs everywhere: its misfit widens the margin, so the good neighbour is kept."""
    img, hole = scene(seed=1)
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    other, _ = scene(seed=2)
    yy, xx = np.mgrid[0:128, 0:128]
    other = other + 1500.0 * np.cos(xx / 5.0 + yy / 7.0)
    nbs = [register(img + np.random.default_rng(3).normal(0, 3, img.shape), HDR, HDR, img.shape),
           register(other, HDR, HDR, img.shape)]
    plain = neighbour_estimate(frame, nbs, BOX, weighting="misfit")
    clean = neighbour_estimate(frame, nbs, BOX, weighting="misfit", despike=True)
    assert np.array_equal(clean.values, plain.values) and np.array_equal(clean.count, plain.count)


def _star(y0, x0, amp=3000.0, s=0.7):
    yy, xx = np.mgrid[0:128, 0:128]
    return amp * np.exp(-((yy - y0) ** 2 + (xx - x0) ** 2) / (2 * s ** 2))


@pytest.mark.parametrize("seed", range(6))
def test_despike_keeps_a_star_that_moved_by_up_to_a_pixel_between_the_neighbours(seed):
    """An undersampled star at any sub-pixel position, moved 0.2-1 px: its peak changes, yet nothing is dropped."""
    img, hole = scene(seed=6)
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    rng = np.random.default_rng(seed)
    ya, xa = 60 + rng.uniform(0, 1, 2)
    ang, r = rng.uniform(0, 2 * np.pi), rng.uniform(0.2, 1.0)
    a = img + rng.normal(0, 3, img.shape) + _star(ya, xa)
    b = img + rng.normal(0, 3, img.shape) + _star(ya + r * np.sin(ang), xa + r * np.cos(ang))
    nbs = [register(a, HDR, HDR, img.shape), register(b, HDR, HDR, img.shape)]
    plain = neighbour_estimate(frame, nbs, BOX, weighting="misfit")
    clean = neighbour_estimate(frame, nbs, BOX, weighting="misfit", despike=True)
    assert np.array_equal(clean.count, plain.count) and np.array_equal(clean.values, plain.values)


def test_despike_finds_the_hits_beside_another_days_frame_among_three():
    """With a good neighbour and another day's frame beside the one with hits, every hit is still left out."""
    img, hole = scene(seed=4)
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    rng = np.random.default_rng(5)
    a, b = (img + rng.normal(0, 3, img.shape) for _ in range(2))
    yy, xx = np.mgrid[0:128, 0:128]
    c = scene(seed=2)[0] + 1500.0 * np.cos(xx / 5.0 + yy / 7.0)
    pts = [(y, x) for y in range(50, 78, 3) for x in range(50, 78, 3)]
    for y, x in pts:
        a[y, x] += 3000.0
    nbs = [register(v, HDR, HDR, img.shape) for v in (a, b, c)]
    assert sum(c[p] < b[p] for p in pts) > 10              # the other day's frame is often the faintest
    clean = neighbour_estimate(frame, nbs, BOX, weighting="misfit", despike=True)
    plain = neighbour_estimate(frame, nbs, BOX, weighting="misfit")
    assert all(plain.values[p] > img[p] + 500.0 for p in pts)
    assert all(clean.values[p] < img[p] + 100.0 for p in pts)
    again = neighbour_estimate(frame, nbs[::-1], BOX, weighting="misfit", despike=True)
    assert np.array_equal(again.count, clean.count)        # the neighbours' order does not matter


def test_despike_keeps_a_feature_only_one_neighbour_shows_whole():
    """A 6x6 patch brighter in one neighbour (a comet, a front) is not despiked at its corners; a 3x3 hit is."""
    img, hole = scene(seed=8)
    frame = Frame.build(np.where(hole, 0, img), hole, HDR)
    rng = np.random.default_rng(9)
    a, b = (img + rng.normal(0, 3, img.shape) for _ in range(2))
    a[56:62, 56:62] += 3000.0
    a[70:73, 66:69] += 3000.0
    nbs = [register(a, HDR, HDR, img.shape), register(b, HDR, HDR, img.shape)]
    clean = neighbour_estimate(frame, nbs, BOX, weighting="misfit", despike=True)
    assert (clean.count[56:62, 56:62] == 2).all()
    assert (clean.count[70:73, 66:69] == 1).all()


@pytest.mark.parametrize("key, value", [("EXPTIME", 1e30), ("OFFSET", -1e6)])
def test_a_neighbour_whose_header_makes_another_brightness_is_left_out(key, value, caplog):
    """Battery of 2026-12-06: a neighbour whose EXPTIME or OFFSET is wrong by orders of magnitude passed the
    registration, was matched locally into a smooth estimate and made the fill 2.3 times worse than alone."""
    import logging

    from helpers import C3_SEQ, read_file, seq_blocks

    from corkit_inpaint.fill import fill_level05
    from corkit_inpaint.match import same_level
    from corkit_inpaint.register import register_all
    (before, hb), (data, hdr), (after, ha) = (read_file(p) for p in C3_SEQ)
    test = data.copy()
    for by, bx in seq_blocks(data, hdr, 2, seed=5):
        test[by * 32:(by + 1) * 32, bx * 32:(bx + 1) * 32] = 0
    frame = Frame.build(test.astype(float), test == 0, hdr)
    bad = hb.copy()
    bad[key] = value
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint.match"):
        kept = same_level(frame, register_all([(before, bad), (after, ha)], hdr, data.shape))
    assert [nb.name for nb in kept] == [str(ha["FILENAME"]).strip()]
    assert "left out: its median DN/s is" in caplog.text and str(hb["FILENAME"]).strip() in caplog.text
    good = same_level(frame, register_all([(before, hb), (after, ha)], hdr, data.shape))
    assert len(good) == 2                                   # real neighbours, 12 minutes apart, are kept
    filled = fill_level05(test, hdr, "ratio", neighbours=[(before, bad), (after, ha)], device="cpu")
    alone = fill_level05(test, hdr, "ratio", neighbours=[(after, ha)], device="cpu")
    assert len(filled.provenance.neighbours) == 1 and filled.provenance.neighbours == alone.provenance.neighbours
    assert np.array_equal(filled.data, alone.data)


@pytest.mark.parametrize("as_file", ["itself", "its truth"])
def test_the_frame_given_as_its_own_neighbour_is_left_out_and_its_sigma_kept(as_file, caplog):
    """Battery 27: the target given among its neighbours (its own file, or another copy of it) added nothing to
    the fill, but the sigma's check blanked valid blocks and found their truth in it: INPSGFAC fell to its floor
    of 0.5, and 29% of the real C3 frame's true pixels lay within 1 sigma instead of 69%."""
    import logging

    from helpers import C3_SEQ, read_file, seq_blocks

    from corkit_inpaint.fill import fill_level05
    from corkit_inpaint.match import same_level
    from corkit_inpaint.register import register_all
    data, hdr = read_file(C3_SEQ[1])
    test = data.copy()
    for by, bx in seq_blocks(data, hdr, 2, seed=5):
        test[by * 32:(by + 1) * 32, bx * 32:(bx + 1) * 32] = 0
    me = test if as_file == "itself" else data
    frame = Frame.build(test.astype(float), test == 0, hdr)
    no_time = hdr.copy()
    no_time["DATE-OBS"], no_time["TIME-OBS"] = "2012/08/31", ""      # the same data, its time unknown
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint.match"):
        assert same_level(frame, register_all([(me, hdr)], hdr, data.shape)) == []
        assert same_level(frame, register_all([(me, no_time)], hdr, data.shape, max_gap=None)) == []
    assert "it is this frame itself" in caplog.text
    alone = fill_level05(test, hdr, "pconv-smooth", device="cpu")
    mine = fill_level05(test, hdr, "pconv-smooth", neighbours=[(me, hdr)], device="cpu")
    assert mine.provenance.neighbours == ()
    assert mine.provenance.sigma_factor == alone.provenance.sigma_factor > 0.5
    assert np.array_equal(mine.data, alone.data) and np.array_equal(mine.sigma, alone.sigma)


def test_a_neighbour_left_out_is_named_by_its_path(tmp_path, caplog):
    """The own-frame warning named the neighbour by its FILENAME card (32310944.fts), which is not where the file
    is: a user could not find which of the files given it was. Its path is named, with FILENAME where it differs."""
    import logging

    from helpers import C3_SEQ, blank, read_file, seq_blocks, write

    from corkit_inpaint.api import inpaint_fits
    data, hdr = read_file(C3_SEQ[1])
    src = write(tmp_path / "target.fts", blank(data, seq_blocks(data, hdr, 2, seed=5)), hdr)
    (tmp_path / "sub dir").mkdir()
    twin = write(tmp_path / "sub dir" / "copy\x1b.fts", data, hdr)
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        inpaint_fits(src, tmp_path / "out.fts", neighbours=[twin])
    said = [r.getMessage() for r in caplog.records if "this frame itself" in r.getMessage()]
    assert said == [f"neighbouring frame {tmp_path}/sub dir/copy\\x1b.fts ({hdr['FILENAME'].strip()}) left out: it "
                    "is this frame itself (the same time, or the same data)"]


@pytest.mark.parametrize("fill", [0, 16383], ids=["all-zero", "all-saturated"])
def test_a_neighbour_with_no_data_is_told_so(fill, caplog):
    """Battery h6: a neighbour with no data pixel (every one 0, or every one saturated) is rightly left out, but
    the warning said its median DN/s was "nan times this frame's", which "its OFFSET or EXPTIME" could not
    explain: a NaN, and the wrong cause."""
    import corkit_inpaint as ci
    from corkit_inpaint.blocks import blocks_to_mask
    (nb, nb_hdr), (data, hdr), after = (read_file(p) for p in C3_SEQ)
    mask = blocks_to_mask(data.shape, [(8, 16), (12, 22)])
    target = np.where(mask, 0, data)
    with caplog.at_level(logging.WARNING):
        out = ci.inpaint_array(target, mask, header=hdr, neighbours=[(np.full_like(nb, fill), nb_hdr), after],
                               device="cpu")
    assert np.array_equal(out[~mask], target[~mask])
    told = [r.getMessage() for r in caplog.records if "32310943" in r.getMessage()]
    assert told and not any("nan times" in t or "OFFSET" in t for t in told), told
    assert any("left out: it has no valid pixel" in t for t in told), told
