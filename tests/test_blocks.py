"""Missing-block detection on the real file, on synthetic frames, and on odd shapes."""

import numpy as np
from helpers import BLANK, blank, read_real

from corkit_inpaint import find_missing_blocks
from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.training.loss_masks import PATTERNS, eligible_blocks, loss_mask
from corkit_inpaint.training.simulator import make_frame

NEVER_SENT = {(6, 7), (6, 8), (7, 6), (7, 9), (8, 6), (8, 9), (9, 7), (9, 8)}


def test_real_file_never_sent_blocks_not_reported():
    data, header = read_real()
    zero = {(by, bx) for by in range(16) for bx in range(16)
            if not data[by * 32:(by + 1) * 32, bx * 32:(bx + 1) * 32].any()}
    assert zero == NEVER_SENT                       # the file really has them
    for hdr in (header, None):
        mask, blocks = find_missing_blocks(data, hdr)
        assert blocks == [] and not mask.any()


def test_blanked_blocks_found_exactly():
    data, header = read_real()
    img = blank(data, BLANK)
    for hdr in (header, None):
        mask, blocks = find_missing_blocks(img, hdr)
        assert sorted(blocks) == sorted(BLANK)
        np.testing.assert_array_equal(mask, blocks_to_mask(img.shape, BLANK))


def test_scattered_zero_pixels_are_not_blocks():
    data, header = read_real()
    img = data.copy()
    rng = np.random.default_rng(1)
    img[rng.integers(0, 512, 3000), rng.integers(0, 512, 3000)] = 0
    img[100:131, 100:132] = 0                       # 31 rows: one row short of a block
    assert find_missing_blocks(img, header)[1] == []


def test_subfield_not_multiple_of_32():
    data, header = read_real()
    sub = blank(data, [(3, 4), (2, 11)])[0:150, 96:96 + 300].copy()   # 150 x 300, away from the occulter
    # the subfield's block grid starts at its own (0, 0): (3,4)->(3,1), (2,11)->(2,8)
    _, blocks = find_missing_blocks(sub)
    assert sorted(blocks) == [(2, 8), (3, 1)]
    sub2 = sub.copy()
    sub2[128:150, 288:300] = 0                      # the 22 x 12 corner edge block
    sub2[128:150, 256:288] = 0                      # and the 22 x 32 edge block left of it
    mask, blocks = find_missing_blocks(sub2)
    assert sorted(blocks) == [(2, 8), (3, 1), (4, 8), (4, 9)]
    assert mask[128:150, 256:300].all() and mask.sum() == 2 * 1024 + 22 * 32 + 22 * 12


def test_synthetic_full_and_summed_frames():
    for seed, det, summed in ((3, "C3", False), (4, "C2", False), (5, "C3", True)):
        img, hdr = make_frame(seed, detector=det, summed=summed)
        assert img.shape == ((512, 512) if summed else (1024, 1024))
        assert find_missing_blocks(img, hdr)[1] == []     # never-sent blocks are not losses
        elig = eligible_blocks(img, hdr)
        _, blocks = loss_mask(np.random.default_rng(seed), elig, "cluster")
        _, found = find_missing_blocks(blank(img, blocks), hdr)
        assert sorted(found) == sorted(blocks) and len(blocks) in (4, 9)


def test_loss_masks_block_aligned():
    data, header = read_real()
    elig = eligible_blocks(data, header)
    rng = np.random.default_rng(0)
    for pattern in PATTERNS * 5:
        _, blocks = loss_mask(rng, elig, pattern)
        assert blocks and all(elig[b] for b in blocks)
        m = blocks_to_mask(data.shape, blocks)
        grid = m.reshape(16, 32, 16, 32)
        per_block = grid.sum(axis=(1, 3))
        assert set(np.unique(per_block)) <= {0, 1024}          # whole blocks only
        if pattern == "run":
            assert len({b[0] for b in blocks}) == 1 and 2 <= len(blocks) <= 6
        if pattern == "cluster":
            assert len(blocks) in (4, 9)
