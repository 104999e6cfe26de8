"""The calibration report: z spread, coverage, reliability, and its figure."""

import numpy as np
import pytest

from corkit_inpaint.evaluation.calibration import (
    LEVELS,
    block_z,
    calibration_table,
    format_calibration_table,
    plot_reliability,
    reliability,
    z_counts,
)


def _records(scale, n=12, method="m", seed=0):
    """Fills whose error is ``scale`` times the sigma they claim, in the inner zone."""
    rng = np.random.default_rng(seed)
    recs = []
    for _ in range(n):
        truth = rng.normal(100, 10, (40, 40))
        sigma = rng.uniform(0.5, 2.0, (40, 40))
        fill = truth + scale * sigma * rng.standard_normal((40, 40))
        zones = np.zeros((40, 40), dtype=int)
        pixels = np.ones((40, 40), dtype=bool)
        pixels[:5] = False
        rec = z_counts(fill, truth, sigma, pixels, zones) | {"method": method}
        assert sum(rec["zh_inner"]) == 35 * 40 and sum(rec["zh_mid"]) == 0
        recs.append(rec)
    return recs


@pytest.mark.parametrize("scale", [1.0, 2.0, 0.5])
def test_spread_and_coverage_follow_the_true_scale(scale):
    t = calibration_table(_records(scale))["inner"]["m"]
    assert abs(t["z_std"] / scale - 1) < 0.05
    lo, hi = t["z_std_ci"]
    assert lo <= t["z_std"] <= hi
    from scipy.special import erf
    assert abs(t["cover68"] - erf(1 / scale / np.sqrt(2))) < 0.02
    assert abs(t["cover95"] - erf(1.96 / scale / np.sqrt(2))) < 0.02
    assert t["pixels"] == 12 * 35 * 40 and t["masks"] == 12


@pytest.mark.parametrize("scale", [20.0, 300.0])
def test_a_sigma_far_too_small_is_read_as_such(scale):
    # its quartiles lie beyond |z| = 10, where the histogram once ended: the robust std was read as 14.8 for both
    t = calibration_table(_records(scale))["inner"]["m"]
    assert abs(t["z_std"] / scale - 1) < 0.05
    lo, hi = t["z_std_ci"]
    assert 0.9 * scale < lo <= t["z_std"] <= hi < 1.1 * scale


def test_reliability_is_the_diagonal_when_calibrated_and_below_it_when_overconfident(tmp_path):
    rel = reliability(_records(1.0) + _records(2.0, method="over", seed=3))
    ok, over = np.array(rel["m"]["inner"]), np.array(rel["over"]["inner"])
    assert np.all(np.abs(ok - np.array(LEVELS)) < 0.03)
    assert np.all(over < np.array(LEVELS) - 0.02)
    assert np.all(np.diff(ok) > 0)
    png = tmp_path / "rel.png"
    plot_reliability(rel, str(png), "test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = format_calibration_table(calibration_table(_records(1.0)), "test")
    assert "| inner | m |" in text


def test_methods_without_sigma_and_frames_without_zones_are_left_out():
    assert z_counts(np.zeros(4), np.zeros(4), np.ones(4), np.ones(4, dtype=bool), None) == {}
    assert calibration_table([{"method": "x", "se": 1.0}]) == {}


def test_one_mask_has_no_interval_and_intervals_do_not_depend_on_the_other_methods():
    """Review s15: one mask printed a zero-width interval; a method's interval moved with the methods before it."""
    one = calibration_table(_records(1.0, n=1))["inner"]["m"]
    assert one["z_std_ci"] is None and one["cover68_ci"] is None and one["masks"] == 1
    assert "| inner | m | " in format_calibration_table({"inner": {"m": one}}) and "(" not in \
        format_calibration_table({"inner": {"m": one}}).splitlines()[-1]
    alone = calibration_table(_records(1.0))["inner"]["m"]
    after = calibration_table(_records(2.0, method="a", seed=5) + _records(1.0))["inner"]["m"]
    assert alone["z_std_ci"] == after["z_std_ci"] and alone["cover68_ci"] == after["cover68_ci"]


def _block_records(shared, n=10, seed=0):
    """Fills of four 32x32 blocks whose error is ``shared`` sigma of one offset per block plus independent noise
    of the rest, so each pixel's z spreads as 1; one block lies across the inner and mid zones."""
    rng = np.random.default_rng(seed)
    recs = []
    for _ in range(n):
        truth = rng.normal(100, 10, (64, 64))
        sigma = rng.uniform(0.5, 2.0, (64, 64))
        offset = np.kron(rng.standard_normal((2, 2)), np.ones((32, 32)))
        fill = truth + sigma * (shared * offset + np.sqrt(1 - shared ** 2) * rng.standard_normal((64, 64)))
        zones = np.zeros((64, 64), dtype=int)
        zones[:, 40:] = 1                 # block (0, 1) and (1, 1): mostly mid
        pixels = np.ones((64, 64), dtype=bool)
        rec = z_counts(fill, truth, sigma, pixels, zones) | block_z(fill, truth, sigma, pixels, zones,
                                                                    [(0, 0), (0, 1), (1, 0), (1, 1)])
        recs.append(rec | {"method": "m"})
    return recs


def test_block_z_is_the_error_of_each_blocks_mean_over_its_mean_sigma():
    rng = np.random.default_rng(1)
    truth, sigma = rng.normal(50, 5, (64, 96)), rng.uniform(1, 3, (64, 96))
    fill = truth + 0.5 * sigma.mean()
    fill[:32, 32:64] = truth[:32, 32:64] - 2 * sigma[:32, 32:64].mean()
    zones = np.full((64, 96), 2)
    zones[:, 80:] = -1                   # beyond the field: not counted
    pixels = np.ones((64, 96), dtype=bool)
    pixels[32:, :20] = False             # block (1, 0): fewer than half its pixels filled
    zb = block_z(fill, truth, sigma, pixels, zones, [(0, 0), (0, 1), (1, 0), (1, 2), (0, 2)])
    assert set(zb) == {"zb_outer"}
    assert zb["zb_outer"][1] == pytest.approx(-2.0)
    assert zb["zb_outer"][0] == pytest.approx(0.5 * sigma.mean() / sigma[:32, :32].mean())
    assert len(zb["zb_outer"]) == 4      # (1, 0) left out; (1, 2) and (0, 2) have half their pixels in the field
    assert block_z(fill, truth, sigma, pixels, None, [(0, 0)]) == {}


@pytest.mark.parametrize("shared", [1.0, 0.5, 0.1])
def test_block_spread_says_how_far_a_blocks_errors_are_shared(shared):
    recs = _block_records(shared, n=30)
    t = calibration_table(recs)
    inner, mid = t["inner"]["m"], t["mid"]["m"]
    assert inner["blocks"] == mid["blocks"] == 60
    for zone, v in (("inner", inner), ("mid", mid)):
        zb = np.concatenate([r[f"zb_{zone}"] for r in recs])
        assert v["block_z_std"] == pytest.approx((np.percentile(zb, 75) - np.percentile(zb, 25)) / 1.349)
        assert v["block_cover68"] == pytest.approx(np.mean(np.abs(zb) < 1))
        lo, hi = v["block_z_std_ci"]
        assert lo <= v["block_z_std"] <= hi
        # a shared offset of `shared` sigma: the block mean's z spreads as `shared` (plus 1/32 of the rest)
        assert abs(v["block_z_std"] / np.hypot(shared, np.sqrt(1 - shared ** 2) / 32) - 1) < 0.4
    assert abs(inner["z_std"] - 1) < 0.1        # the pixels' z is calibrated whatever the blocks share
    assert "| block mean: z robust std (90% CI) |" in format_calibration_table(t)


def test_block_columns_are_absent_for_records_without_block_z():
    t = calibration_table(_records(1.0))["inner"]["m"]
    assert "blocks" not in t and "block_z_std" not in t
    assert format_calibration_table({"inner": {"m": t}}).splitlines()[-1].endswith("| - | - | - |")
