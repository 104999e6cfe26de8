"""`corkit_inpaint.training.loss_masks`: which blocks to blank, in the patterns real losses take."""

import numpy as np
import pytest
from helpers import blank, read_real

from corkit_inpaint.blocks import blocks_to_mask, find_missing_blocks, zero_blocks
from corkit_inpaint.geometry import optical_geometry
from corkit_inpaint.training.loss_masks import (
    LARGE_PATTERNS,
    PATTERN_PROBS,
    PATTERNS,
    block_change,
    change_cluster,
    eligible_blocks,
    loss_mask,
    pylon_cluster,
)


@pytest.fixture(scope="module")
def eligible():
    data, header = read_real()
    return data, header, eligible_blocks(data, header)


def test_eligible_blocks_are_reported_when_blanked(eligible):
    data, header, ok = eligible
    assert ok.shape == zero_blocks(data).shape and ok.any() and not ok.all()
    assert not (ok & zero_blocks(data)).any()                        # never an already-zero block
    rng = np.random.default_rng(0)
    yes = [tuple(b) for b in np.argwhere(ok)[rng.choice(ok.sum(), 4, replace=False)]]
    no = [tuple(b) for b in np.argwhere(~ok & ~zero_blocks(data))]
    assert no                                                         # e.g. near the occulter
    for b in yes:
        assert find_missing_blocks(blank(data, [b]), header)[1] == [b]
    for b in no[:4]:             # rule 1, the masks' rule: the default rule 3 also finds the corners (8.2 Rsun)
        assert find_missing_blocks(blank(data, [b]), header, rule=1)[1] == []


def test_patterns(eligible):
    _, _, ok = eligible
    assert np.isclose(sum(PATTERN_PROBS), 1.0) and len(PATTERN_PROBS) == len(PATTERNS)
    rng = np.random.default_rng(1)
    for _ in range(10):
        name, single = loss_mask(rng, ok, "single")
        assert name == "single" and 1 <= len(single) <= 8 and len(set(single)) == len(single)
        _, run = loss_mask(rng, ok, "run")
        assert 2 <= len(run) <= 6 and len({by for by, _ in run}) == 1
        assert [bx for _, bx in run] == list(range(run[0][1], run[0][1] + len(run)))
        _, cl = loss_mask(rng, ok, "cluster")
        k = int(round(np.sqrt(len(cl))))
        (y0, x0) = min(cl)
        assert k in (2, 3) and sorted(cl) == [(y0 + i, x0 + j) for i in range(k) for j in range(k)]
        _, long = loss_mask(rng, ok, "long")
        flat = [by * ok.shape[1] + bx for by, bx in long]
        assert flat == sorted(flat) and flat[-1] - flat[0] < 30 and len(long) >= 1
        for blocks in (single, run, cl, long):
            assert all(ok[b] for b in blocks)
    drawn = {loss_mask(rng, ok)[0] for _ in range(60)}
    assert drawn == set(PATTERNS)


def test_large_patterns_are_whole_rows_and_big_clusters_never_drawn_in_a_mix(eligible):
    """The error-table fit's large losses: every eligible block of 2-5 consecutive block rows; a 4x4-6x6 cluster."""
    _, _, ok = eligible
    assert not set(LARGE_PATTERNS) & set(PATTERNS)
    rng, sizes, heights = np.random.default_rng(2), set(), set()
    for _ in range(12):
        name, rows = loss_mask(rng, ok, "rows")
        ys = sorted({by for by, _ in rows})
        assert name == "rows" and 1 <= len(ys) <= 5          # fewer than 2 only where the field ends
        assert ys == list(range(ys[0], ys[-1] + 1))
        heights.add(len(ys))
        assert sorted(rows) == [tuple(b) for b in np.argwhere(ok)[np.isin(np.argwhere(ok)[:, 0], ys)]]
        _, cl = loss_mask(rng, ok, "bigcluster")
        k = int(round(np.sqrt(len(cl))))
        (y0, x0) = min(cl)
        assert sorted(cl) == [(y0 + i, x0 + j) for i in range(k) for j in range(k)] and all(ok[b] for b in cl)
        sizes.add(k)
    assert sizes == {4, 5, 6} and heights == {1, 2, 3, 4, 5}
    # where no 4x4 fits, nothing; where only a 4x4 fits, that one
    only4 = np.zeros((10, 10), dtype=bool)
    only4[2:6, 3:7] = True
    assert sorted(loss_mask(np.random.default_rng(0), only4, "bigcluster")[1]) == \
        [(y, x) for y in range(2, 6) for x in range(3, 7)]
    assert loss_mask(np.random.default_rng(0), only4[:, :6], "bigcluster")[1] == []
    assert not {loss_mask(rng, ok)[0] for _ in range(60)} & set(LARGE_PATTERNS)


def test_masks_reproducible_and_edge_cases(eligible):
    _, _, ok = eligible
    a = [loss_mask(np.random.default_rng(7), ok) for _ in range(3)]
    b = [loss_mask(np.random.default_rng(7), ok) for _ in range(3)]
    assert a == b
    assert loss_mask(np.random.default_rng(0), np.zeros_like(ok)) == ("single", [])
    with pytest.raises(ValueError, match="unknown pattern"):
        loss_mask(np.random.default_rng(0), ok, "spiral")


def test_blanked_copies_are_the_loss_masks_drawn_in_order():
    from corkit_inpaint.blocks import blocks_to_mask
    from corkit_inpaint.training.loss_masks import blanked_copies
    data, header = read_real()
    got = list(blanked_copies(data, header, np.random.default_rng(5), 2))
    rng, elig = np.random.default_rng(5), eligible_blocks(data.astype(float), header)
    want = [(p, loss_mask(rng, elig, p)[1]) for p in PATTERNS for _ in range(2)]
    assert [(p, b) for p, _, b, _, _ in got] == [w for w in want if w[1]]
    for _, _, blocks, mask, test in got:
        assert np.array_equal(mask, blocks_to_mask(data.shape, blocks))
        assert np.all(test[mask] == 0) and np.array_equal(test[~mask], data[~mask].astype(float))
    assert data.any()                                   # the input is left as it was


def test_pylon_cluster_covers_the_c2_pylon_where_it_crosses_the_ring(eligible):
    """On the real summed C2 frame (2000-09-03): eligible blocks of a 2x2 or 3x3 cluster holding the ring
    (2.05-2.35 Rsun) on the pylon's axis (-135 deg); none for C3; reproducible."""
    data, header, ok = eligible
    g = optical_geometry(header)
    for seed in range(30):
        blocks = pylon_cluster(np.random.default_rng(seed), ok, header)
        assert blocks == pylon_cluster(np.random.default_rng(seed), ok, header)
        assert 1 <= len(blocks) <= 9 and all(ok[b] for b in blocks)
        yy, xx = np.nonzero(blocks_to_mask(data.shape, blocks))
        r = np.hypot(yy - g.cy, xx - g.cx) / g.rsun
        off = np.degrees(np.angle(np.exp(1j * (np.arctan2(yy - g.cy, xx - g.cx) + 0.75 * np.pi))))
        assert np.any((r > 2.05) & (r < 2.35) & (np.abs(off) < 12)), seed
    c3 = header.copy()
    c3["DETECTOR"] = "C3"
    assert pylon_cluster(np.random.default_rng(0), ok, c3) == []


def test_change_cluster_lands_where_a_cme_front_moved():
    """A simulated C2 sequence with a 1358 km/s CME: the block that changed most from the neighbours lies on the
    CME's path between the frames' fronts, far above a quiet sequence's largest change, and the cluster is made of
    eligible blocks around one of the most changed."""
    from corkit_inpaint.training.sequence import make_sequence
    seq = make_sequence(9_000_007, (-12.0, 0.0, 12.0), version="5")
    ev = seq.events
    img, hdr = seq.frames[1]
    change = block_change(img, hdr, [seq.frames[0], seq.frames[2]])
    elig = eligible_blocks(img, hdr)
    score = np.where(elig, change, 0.0)
    y, x = np.unravel_index(np.argmax(score), score.shape)
    g = optical_geometry(hdr)
    dy, dx = y * 32 + 15.5 - g.cy, x * 32 + 15.5 - g.cx
    off = (np.degrees(np.arctan2(dy, dx)) - ev["cme_angle_deg"] + 180) % 360 - 180
    assert abs(off) < 30
    assert np.hypot(dy, dx) / g.rsun < ev["cme_front_rsun"][2] + 0.5
    quiet = make_sequence(9_000_003, (-12.0, 0.0, 12.0), version="5")
    assert quiet.events["cme_speed_kms"] is None
    qi, qh = quiet.frames[1]
    quiet_change = block_change(qi, qh, [quiet.frames[0], quiet.frames[2]])
    assert score.max() > 20 * np.where(eligible_blocks(qi, qh), quiet_change, 0.0).max()
    top = set(map(tuple, np.argwhere(score >= np.sort(score, axis=None)[-6])))
    for s in range(5):
        blocks = change_cluster(np.random.default_rng(s), elig, change)
        assert 1 <= len(blocks) <= 9 and all(elig[b] for b in blocks)
        assert top & set(blocks)
    assert change_cluster(np.random.default_rng(0), elig, np.zeros_like(change)) == []
    assert not block_change(img, hdr, []).any()


def test_block_change_takes_the_bias_of_a_summed_pixel():
    """A 2x2 LEB-summed pixel's bias is four OFFSETs (`corkit_inpaint.header.bias`), as the fill takes it;
    `block_change` subtracted one, so a summed frame's rates, and the change over their square root, were off.
    A header without EXPTIME is no change (it raised KeyError)."""
    rate, rate2, exptime, offset = 40.0, 50.0, 10.0, 500.0
    hdr = {"OFFSET": offset, "EXPTIME": exptime, "LEBXSUM": 2, "LEBYSUM": 2}
    image = np.full((64, 64), 4 * offset + rate * exptime)
    nb = np.full((64, 64), 4 * offset + rate2 * exptime)
    change = block_change(image, hdr, [(nb, dict(hdr))])
    assert change.shape == (2, 2) and np.allclose(change, abs(rate - rate2) / np.sqrt(rate))
    assert not block_change(image, {"OFFSET": offset}, [(nb, dict(hdr))]).any()
    assert not block_change(image, hdr, [(nb, {"OFFSET": offset})]).any()


@pytest.mark.parametrize("shape", [(1, 33), (33, 1), (2, 4), (5, 2)])
def test_masks_on_a_narrow_block_grid_fit_or_are_empty(shape):
    """Battery s36: `evaluate` on an image under about 6 blocks wide (1024x64) raised numpy's 'window shape cannot
    be larger than input array shape' from a run or cluster that could not fit. Every pattern now gives blocks of
    the grid, fewer or none where it does not fit."""
    ok = np.ones(shape, dtype=bool)
    rng = np.random.default_rng(3)
    for pattern in PATTERNS + LARGE_PATTERNS:
        for _ in range(20):
            _, blocks = loss_mask(rng, ok, pattern)
            assert all(0 <= y < shape[0] and 0 <= x < shape[1] for y, x in blocks), (pattern, blocks)
            assert len(set(blocks)) == len(blocks) and (blocks or pattern in ("cluster", "bigcluster"))
