"""The check of a fill's 1-sigma on the frame's own valid blocks, blanked and filled the same way."""

from dataclasses import dataclass, replace

import numpy as np
import pytest
from helpers import BLANK, C3_SEQ, blank, blocks_on_arc, read_file, read_real, with_front
from scipy import ndimage

from corkit_inpaint.blocks import BLOCK, blocks_to_mask
from corkit_inpaint.fill import run_method
from corkit_inpaint.frame import Frame
from corkit_inpaint.geometry import zone_of
from corkit_inpaint.methods import FillMethod, FillResult, Provenance
from corkit_inpaint.methods.pconv import PCONV_SMOOTH
from corkit_inpaint.register import register_all
from corkit_inpaint.uncertainty.probe import (
    FACTOR_RANGE,
    PROBE_EVERY,
    QUANTILE,
    SigmaCheck,
    check_sigma,
    probe_blocks,
    sigma_check,
)


@dataclass(frozen=True)
class Oracle(FillMethod):
    """Fills with the truth plus a fixed error, and says its 1-sigma is ``sigma``."""

    truth: np.ndarray | None = None
    error: float = 0.0
    sigma: float | None = 1.0

    def fill(self, frame, *, neighbours=(), device="auto", weights=None):
        values = np.where(frame.missing, self.truth + self.error, frame.image)
        sig = None if self.sigma is None else np.where(frame.missing, self.sigma, 0.0)
        return FillResult(values, frame.missing.copy(), Provenance(self.name), sigma=sig)


@dataclass(frozen=True)
class HalfAlone(Oracle):
    """An `Oracle` that says it filled the left half's holes from the frame alone, with ``alone_error`` there."""

    alone_error: float = 0.0

    def fill(self, frame, *, neighbours=(), device="auto", weights=None):
        res = super().fill(frame)
        alone = frame.missing & (np.arange(frame.shape[1]) < frame.shape[1] // 2)[None, :]
        values = np.where(alone, self.truth + self.alone_error, res.values)
        return replace(res, values=values, alone=alone)


def _frame(blocks=BLANK):
    data, hdr = read_real()
    mask = blocks_to_mask(data.shape, blocks)
    return Frame.build(blank(data, blocks).astype(float), mask, hdr), data.astype(float)


def test_a_block_with_a_tenth_or_more_of_its_pixels_not_valid_is_not_checked_on():
    """Mutation s34: MIN_VALID at 0.3 passed: a checked block 70% bad would set the frame's factor from a few
    pixels beside defects."""
    data, hdr = read_real()
    frame, _ = _frame()
    first = probe_blocks(frame)[0]
    for share in (0.5, 0.12, 0.08):                  # of the block's rows left out as not data (an earlier fill's)
        bad = np.zeros(data.shape, dtype=bool)
        rows = int(round(share * BLOCK))
        bad[first[0] * BLOCK:first[0] * BLOCK + rows, first[1] * BLOCK:(first[1] + 1) * BLOCK] = True
        f = Frame.build(blank(data, BLANK).astype(float), blocks_to_mask(data.shape, BLANK), hdr, not_context=bad)
        picked = probe_blocks(f, 6)
        assert (first in picked) == (1 - rows / BLOCK >= 0.9), share       # the documented 90%
        for by, bx in picked:
            assert f.valid[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK].mean() >= 0.9


def test_probe_blocks_are_valid_blocks_apart_from_the_holes_and_each_other():
    frame, _ = _frame()
    picked = probe_blocks(frame)
    assert len(picked) == -(-len(BLANK) // PROBE_EVERY) == 2
    assert picked == probe_blocks(frame)                        # deterministic
    many = probe_blocks(frame, 6)
    assert len(many) == 6 and len(set(many)) == 6
    holes = np.array(BLANK)
    for by, bx in many:
        box = (slice(by * BLOCK, (by + 1) * BLOCK), slice(bx * BLOCK, (bx + 1) * BLOCK))
        assert frame.valid[box].all()
        assert np.abs(holes - (by, bx)).max(axis=1).min() >= 2      # its window's context holds no hole
        corners = np.array([[by * BLOCK - 0.5 + dy, bx * BLOCK - 0.5 + dx] for dy in (0.5, 32) for dx in (0.5, 32)])
        assert (zone_of(corners[:, 0], corners[:, 1], frame.geometry) >= 0).all()    # the whole block in the zones
    for i, a in enumerate(many):
        for b in many[i + 1:]:
            assert max(abs(a[0] - b[0]), abs(a[1] - b[1])) >= 3        # their windows never merge


@pytest.mark.parametrize(("error", "sigma", "factor"), [(3.0, 1.5, 2.0), (10.0, 1.0, FACTOR_RANGE[1]),
                                                        (0.1, 1.0, FACTOR_RANGE[0]), (-2.0, 2.0, 1.0)])
def test_the_factor_is_the_quantile_of_the_checked_errors_over_their_sigma(error, sigma, factor):
    frame, truth = _frame()
    oracle = Oracle("oracle", truth, error, sigma)
    res = run_method(oracle, frame)
    assert res.provenance.sigma_factor == pytest.approx(factor)
    assert res.provenance.sigma_blocks == 2
    assert np.allclose(res.sigma[frame.missing], sigma * factor) and np.all(res.sigma[~frame.missing] == 0)
    assert np.array_equal(res.values, np.where(frame.missing, truth + error, truth))     # values untouched
    assert f"1-sigma scaled by {factor:.3f}" in res.how and "2 valid blocks of this frame" in res.how
    raw = run_method(oracle, frame, check_sigma=False)
    assert raw.provenance.sigma_factor == 1.0 and raw.provenance.sigma_blocks == 0 and raw.how == ""
    assert np.allclose(raw.sigma[frame.missing], sigma)


def test_no_check_without_a_sigma_or_without_a_valid_block():
    frame, truth = _frame()
    res = run_method(Oracle("oracle", truth, 1.0, None), frame)
    assert res.sigma is None and res.provenance.sigma_blocks == 0 and res.how == ""
    img = np.full((96, 96), 100.0)
    img[32:64, 32:64] = 0
    small = Frame.build(img, img == 0)
    assert probe_blocks(small) == []         # every block touches the hole
    res = run_method(Oracle("oracle", np.full((96, 96), 100.0), 5.0, 1.0), small)
    assert res.provenance.sigma_factor == 1.0 and res.provenance.sigma_blocks == 0
    assert np.all(res.sigma[small.missing] == 1.0)
    assert "could not be checked" in res.how
    assert SigmaCheck().note() == res.how


def test_the_network_sigma_is_its_table_sigma_times_the_checked_factor():
    frame, truth = _frame()
    raw = run_method("pconv-smooth", frame, device="cpu", check_sigma=False)
    res = run_method("pconv-smooth", frame, device="cpu")
    assert np.array_equal(res.values, raw.values)
    f = res.provenance.sigma_factor
    assert FACTOR_RANGE[0] <= f <= FACTOR_RANGE[1] and f != 1.0 and res.provenance.sigma_blocks == 2
    assert np.allclose(res.sigma, raw.sigma * f, rtol=1e-12)
    # run_method multiplies the factor in as it builds the sigma: check_sigma's array, to the bit
    from corkit_inpaint.methods import get_method
    applied, chk = check_sigma(get_method("pconv-smooth"), frame, raw.sigma, raw.filled, device="cpu")
    assert np.array_equal(res.sigma, applied) and chk.factor == f and chk.blocks == 2
    assert sigma_check(get_method("pconv-smooth"), frame, device="cpu") == chk
    # the factor is what the same fill of the checked blocks gives: blank them by hand and fill them
    probe = blocks_to_mask(frame.shape, probe_blocks(frame))
    blanked = replace(frame, missing=probe, valid=frame.valid & ~probe)
    own = run_method("pconv-smooth", blanked, device="cpu", check_sigma=False)
    z = np.abs(own.values[probe] - truth[probe]) / own.sigma[probe]
    # (the check fills a crop around each block, whose network batch differs from the whole frame's: values
    # agree to about 4e-4 DN, so the quantile to about 1e-6)
    assert f == pytest.approx(np.quantile(z, QUANTILE), rel=1e-5)
    assert np.array_equal(run_method("pconv-smooth", frame, device="cpu").sigma, res.sigma)     # deterministic


def test_check_sigma_leaves_its_inputs_alone():
    frame, truth = _frame()
    before = frame.image.copy(), frame.valid.copy(), frame.missing.copy()
    sigma = np.where(frame.missing, 2.0, 0.0)
    out, chk = check_sigma(Oracle("oracle", truth, 4.0, 2.0), frame, sigma, frame.missing)
    assert chk.factor == pytest.approx(2.0) and np.all(sigma[frame.missing] == 2.0)
    assert np.allclose(out[frame.missing], 4.0)
    for a, b in zip(before, (frame.image, frame.valid, frame.missing)):
        assert np.array_equal(a, b)
    assert not ndimage.binary_dilation(blocks_to_mask(frame.shape, probe_blocks(frame)), iterations=32)[
        frame.missing].any()


@dataclass(frozen=True)
class Odd(Oracle):
    """`Oracle`, but its fill of the checked blocks (any other mask than ``holes``) misbehaves as ``how`` says."""

    holes: np.ndarray | None = None
    how: str = ""

    def fill(self, frame, *, neighbours=(), device="auto", weights=None):
        res = super().fill(frame)
        if np.array_equal(frame.missing, self.holes):
            return res
        assert np.all(frame.image[frame.missing] == 0)          # blanked as a lost block is: the truth is hidden
        if self.how == "raise":
            raise ValueError("missing pixels are expected to be 0")
        if self.how == "nan":
            return replace(res, values=np.where(frame.missing, np.nan, res.values))
        if self.how == "inf":
            return replace(res, sigma=np.where(frame.missing, np.inf, 0.0))
        if self.how == "one":           # leaves every checked block but the first unfilled
            ys, xs = np.nonzero(frame.missing)
            first = (ys // BLOCK == ys[0] // BLOCK) & (xs // BLOCK == xs[0] // BLOCK)
            filled = np.zeros(frame.shape, dtype=bool)
            filled[ys[first], xs[first]] = True
            return replace(res, filled=filled)
        return res


@pytest.mark.parametrize(("how", "why"), [("raise", "failed: ValueError"), ("nan", "only 0 of the checked"),
                                          ("inf", "only 0 of the checked")])
def test_a_check_that_fails_keeps_the_fill_and_its_own_sigma_and_says_why(how, why):
    frame, truth = _frame()
    res = run_method(Odd("odd", truth, 3.0, 1.5, frame.missing, how), frame)
    assert np.array_equal(res.values, np.where(frame.missing, truth + 3.0, truth))
    assert np.all(res.sigma[frame.missing] == 1.5) and res.provenance.sigma_blocks == 0
    assert res.provenance.sigma_factor == 1.0 and "could not be checked" in res.how and why in res.how


def test_the_count_is_of_the_blocks_really_checked():
    frame, truth = _frame()
    res = run_method(Odd("odd", truth, 3.0, 1.5, frame.missing, "one"), frame)
    assert res.provenance.sigma_blocks == 1 and res.provenance.sigma_factor == pytest.approx(2.0)
    assert "on 1 valid block of this frame" in res.how


def test_partial_edge_blocks_and_scattered_bad_pixels():
    data, hdr = read_real()
    img = data.astype(float)[:500, :500]            # partial blocks at the right and bottom edges
    lost = np.zeros(img.shape, dtype=bool)
    lost[7 * 32:8 * 32, 480:] = True                 # a partial block lost at the edge
    frame = Frame.build(np.where(lost, 0.0, img), lost, None)
    picked = probe_blocks(frame)
    assert len(picked) == 1 and all(by < 15 and bx < 15 for by, bx in picked)      # whole blocks only
    assert min(abs(bx - 15) for _, bx in picked) >= 2
    bad = np.random.default_rng(0).random(img.shape) < 0.01           # a map's own flags: 1% of pixels
    speckled = Frame.build(np.where(lost, 0.0, img), lost, None, not_context=bad)
    res = run_method(Oracle("oracle", img, 3.0, 1.5), speckled)
    assert res.provenance.sigma_blocks == 1 and res.provenance.sigma_factor == pytest.approx(2.0)


@dataclass(frozen=True)
class Whole(FillMethod):
    """Another method, with its check made on the whole frame (`FillMethod.local` False)."""

    inner: FillMethod | None = None
    reads_neighbours = True

    def fill(self, frame, *, neighbours=(), device="auto", weights=None):
        return self.inner.fill(frame, neighbours=neighbours, device=device, weights=weights)


@pytest.mark.parametrize(("name", "n", "seed"), [("pconv-smooth", 15, 3), ("biharmonic", 15, 3), ("ratio", 15, 3),
                                                 ("pconv-smooth", 21, 32), ("ratio", 21, 32)])
def test_a_local_method_is_checked_on_crops_as_on_the_whole_frame(name, n, seed):
    from helpers import C3_SEQ, read_file, seq_blocks

    from corkit_inpaint.methods import get_method
    from corkit_inpaint.register import register_all
    data, hdr = read_file(C3_SEQ[1])
    blocks = seq_blocks(data, hdr, n, seed=seed)      # seed 32: two checked blocks were two apart
    mask = blocks_to_mask(data.shape, blocks)
    frame = Frame.build(blank(data, blocks).astype(float), mask, hdr)
    nbs = register_all([read_file(p) for p in (C3_SEQ[0], C3_SEQ[2])], hdr, data.shape)
    m = get_method(name)
    assert m.local and not Whole("whole", m).local
    sigma = np.where(mask, 1.0, 0.0)
    crops, a = check_sigma(m, frame, sigma, mask, neighbours=nbs, device="cpu")
    whole, b = check_sigma(Whole("whole", m), frame, sigma, mask, neighbours=nbs, device="cpu")
    assert a.blocks == b.blocks == -(-n // PROBE_EVERY) and a.pixels == b.pixels
    assert a.factor == pytest.approx(b.factor, rel=1e-6) and a.factor != 1.0
    np.testing.assert_allclose(crops, whole, rtol=1e-6)


def test_a_frame_without_header_is_checked_on_crops_as_on_the_whole_frame():
    from corkit_inpaint.methods import get_method
    data, _ = read_real()
    frame = Frame.build(blank(data, BLANK).astype(float), blocks_to_mask(data.shape, BLANK), None)
    sigma = np.where(frame.missing, 1.0, 0.0)
    m = get_method("pconv-smooth")
    _, a = check_sigma(m, frame, sigma, frame.missing, device="cpu")
    _, b = check_sigma(Whole("whole", m), frame, sigma, frame.missing, device="cpu")
    assert a.blocks == b.blocks == 2 and a.factor == pytest.approx(b.factor, rel=1e-6)


def test_without_a_geometry_only_blocks_with_signal_are_checked():
    """Review s15: without DETECTOR the check took a block behind the occulter (687 DN, bias 598) and scaled
    every hole's sigma by what it found there."""
    data, hdr = read_real()
    bare = hdr.copy()
    del bare["DETECTOR"]
    mask = blocks_to_mask(data.shape, BLANK)
    frame = Frame.build(blank(data, BLANK).astype(float), mask, bare)
    assert frame.geometry is None
    picked = probe_blocks(frame, 40)
    dark = hdr["OFFSET"] * 4                     # the summed frame's bias
    thresh = dark + 0.02 * (np.percentile(frame.image[frame.valid], 99) - dark)
    for by, bx in picked:
        block = frame.image[by * BLOCK:(by + 1) * BLOCK, bx * BLOCK:(bx + 1) * BLOCK]
        assert np.mean(block > thresh) >= 0.4, (by, bx)
    with_geo = Frame.build(blank(data, BLANK).astype(float), mask, hdr)
    assert set(probe_blocks(with_geo, 40)) - set(picked) == set() or len(picked) > 0


def test_a_factor_at_its_limit_says_so():
    assert "(the limit: the quantile was above it)" in SigmaCheck(FACTOR_RANGE[1], 1, 1024).note()
    assert "(the limit: the quantile was below it)" in SigmaCheck(FACTOR_RANGE[0], 1, 1024).note()
    assert "limit" not in SigmaCheck(1.2, 2, 2048).note() and "on 2 valid blocks" in SigmaCheck(1.2, 2, 2048).note()


def test_holes_filled_alone_are_checked_apart_from_those_that_kept_the_neighbours():
    """A fill whose holes filled from the frame alone miss by 2 sigma and the others by 0.6: the check picks
    blocks near both kinds and gives each its own factor (the pooled one would fit neither); HISTORY and the
    provenance say both; `check_sigma` gives run_method's array; holes of one kind get one factor."""
    frame, truth = _frame()
    method = HalfAlone("half", truth, 0.6, 1.0, alone_error=2.0)
    res = run_method(method, frame, device="cpu")
    left = res.filled & res.alone
    assert left.any() and (res.filled & ~left).any()
    assert res.provenance.sigma_factor == pytest.approx(0.6) and res.provenance.sigma_factor_alone == pytest.approx(2.0)
    assert np.allclose(res.sigma[left], 2.0) and np.allclose(res.sigma[res.filled & ~left], 0.6)
    assert "by 0.600 on the holes filled with the neighbouring frames and by 2.000 on those filled from this " \
           "frame alone" in " ".join(res.how.split())
    chk = sigma_check(method, frame, alone=res.alone)
    assert chk.alone_blocks >= 1 and chk.blocks - chk.alone_blocks >= 1
    pooled = sigma_check(method, frame)
    assert pooled.alone_factor is None and 0.6 < pooled.factor <= 2.0
    applied, again = check_sigma(method, frame, np.where(res.filled, 1.0, 0.0), res.filled, alone=res.alone)
    assert again == chk and np.array_equal(applied, res.sigma)
    one_kind = _frame([b for b in BLANK if b[1] < 8])[0]          # every hole filled alone: one factor
    only = run_method(method, one_kind, device="cpu")
    assert only.provenance.sigma_factor_alone is None and only.provenance.sigma_factor == pytest.approx(2.0)


def test_a_front_filled_alone_no_longer_sets_the_sigma_of_the_holes_that_keep_the_neighbours():
    """The real C3 sequence with a moving front: four holes on it are filled from the frame alone, two quiet
    ones keep the neighbours. The quiet holes' factor is the one they get without the front's holes (one
    factor for all gave them 0.87 where they need 1.57, and 40% of their truths within 1 sigma)."""
    frames = [read_file(p) for p in C3_SEQ]
    hdr = frames[1][1]
    moved, truth, centre = with_front(frames)
    quiet = [(8, 16), (22, 20)]

    def fill(blocks):
        mask = blocks_to_mask(truth.shape, blocks)
        frame = Frame.build(np.where(mask, 0.0, truth), mask, hdr)
        return run_method(PCONV_SMOOTH, frame, neighbours=register_all([moved[0], moved[2]], hdr, truth.shape),
                          device="cpu")

    both, alone = fill(blocks_on_arc(centre, 300)[::2] + quiet), fill(quiet)
    kept = both.filled & ~both.alone
    assert both.alone.any() and np.array_equal(kept, alone.filled)
    assert both.provenance.sigma_factor == pytest.approx(alone.provenance.sigma_factor, rel=1e-6)
    assert both.provenance.sigma_factor_alone is not None and alone.provenance.sigma_factor_alone is None
    assert np.allclose(both.sigma[kept], alone.sigma[kept], rtol=1e-5)      # batches differ: values to ~1e-6
    assert np.mean(np.abs(both.values[kept] - truth[kept]) < both.sigma[kept]) > 0.6
