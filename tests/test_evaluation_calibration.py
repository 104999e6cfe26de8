"""The calibration report: z spread, coverage, reliability, and its figure."""

import numpy as np
import pytest

from corkit_inpaint.evaluation.calibration import (
    LEVELS,
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
