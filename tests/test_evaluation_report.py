"""`corkit_inpaint.evaluation.report`: pooled summaries, bootstrap intervals, the table and the figure."""

import math

import pytest

from corkit_inpaint.evaluation.report import CLASSICAL, format_table, plot_summaries, summarise


def rec(method, pattern, mask, se, n=100, **kw):
    r = {"method": method, "pattern": pattern, "mask_id": mask, "n": n, "se": se, "ae": math.sqrt(se * n),
         "n_np": n, "se_np": se, "se_s": se / 4, "hf_f": 1.0, "hf_t": 1.0, "rhf_f": 0.5, "rhf_t": 1.0,
         "n_hf": n // 2, "prof": 0.1, "seconds": 0.01}
    r.update(kw)
    return r


@pytest.fixture
def records():
    out = []
    for i, p in enumerate(["single", "single", "run"]):
        m = f"m{i}"
        se = 100.0 * (i + 1)
        out += [rec("biharmonic", p, m, se), rec("telea", p, m, 4 * se), rec("pconv", p, m, 0.25 * se)]
    return out


def test_pooled_scores_and_ratios(records):
    s = summarise(records)
    assert set(s) == {"single", "run", "all"}
    b = s["single"]["biharmonic"]
    assert b["masks"] == 2
    assert b["rmse"] == pytest.approx(math.sqrt((100 + 200) / 200))         # pooled over pixels, not masks
    assert b["rmse_stretch"] == pytest.approx(b["rmse"] / 2)
    assert b["noise_ratio"] == pytest.approx(0.5) and b["noise_ratio_pooled"] == pytest.approx(1.0)
    # the best classical method is the reference: pconv has half its RMSE, telea twice
    assert "biharmonic" in CLASSICAL and "telea" in CLASSICAL and "pconv" not in CLASSICAL
    for p in ("single", "run", "all"):
        assert s[p]["biharmonic"]["vs_best_classical"] == 1.0
        assert s[p]["pconv"]["vs_best_classical"] == pytest.approx(0.5)
        assert s[p]["telea"]["vs_best_classical"] == pytest.approx(2.0)
        assert s[p]["pconv"]["vs_best_classical_no_points"] == pytest.approx(0.5)
    # every mask has the same ratio, so the bootstrap interval is that ratio; one mask: no interval
    assert s["all"]["pconv"]["vs_best_classical_ci90"] == pytest.approx([0.5, 0.5])
    assert s["single"]["telea"]["vs_best_classical_ci90"] == pytest.approx([2.0, 2.0])
    assert s["run"]["pconv"]["vs_best_classical_ci90"] is None


def test_bootstrap_interval_spans_the_masks_ratios():
    records = []
    for i, ratio in enumerate([0.5, 0.6, 0.8, 1.0, 1.2, 0.7]):
        records += [rec("biharmonic", "single", f"m{i}", 100.0), rec("pconv", "single", f"m{i}", 100.0 * ratio ** 2)]
    lo, hi = summarise(records)["single"]["pconv"]["vs_best_classical_ci90"]
    assert 0.5 <= lo < hi <= 1.2


def test_without_a_classical_method_no_ratio():
    s = summarise([rec("pconv", "run", "a", 1.0), rec("pconv", "run", "b", 4.0)])
    assert math.isnan(s["run"]["pconv"]["vs_best_classical"]) and s["run"]["pconv"]["vs_best_classical_ci90"] is None


def test_table_and_figure(records, tmp_path):
    s = summarise(records)
    table = format_table(s, "real files")
    lines = table.splitlines()
    assert lines[0] == "**real files**"
    rows = [x for x in lines if x.startswith("| single") or x.startswith("| run") or x.startswith("| all")]
    assert len(rows) == 3 * 3 and all(x.count("|") == 12 for x in rows)
    assert "| all | pconv |" in table and "(0.50-0.50)" in table
    png = tmp_path / "summary.png"
    plot_summaries({"real": s, "synthetic": s}, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000
    import matplotlib.pyplot as plt
    plt.close("all")


def test_plot_leaves_no_figure_open(records, tmp_path):
    import matplotlib.pyplot as plt
    plt.close("all")
    try:
        plot_summaries({"real": summarise(records)}, tmp_path / "a.png")
        assert plt.get_fignums() == []
    finally:
        plt.close("all")


def test_zones_pooled_with_floor_and_interval():
    from corkit_inpaint.evaluation.report import format_zone_table, summarise_zones
    recs = []
    for i in range(4):
        z = {"n_inner": 100, "se_inner": 400.0 * (i + 1), "n_mid": 50, "se_mid": 50.0, "n_outer": 0, "se_outer": 0.0,
             "n_np_inner": 90, "se_np_inner": 90.0, "n_np_mid": 50, "se_np_mid": 50.0}
        noise = {"nsig_inner": 100, "var_inner": 100 * 4.0, "nsig_mid": 50, "var_mid": 50 * 1.0,
                 "nsig_outer": 0, "var_outer": 0.0, "floor_inner": 100 * 2.25 * (i + 1), "floor_mid": 50 * 1.0}
        recs.append(rec("biharmonic", "single", f"m{i}", 1.0, **z, **noise))
        half = {k: v / 4 if k.startswith("se_") else v for k, v in z.items()}
        recs.append(rec("pconv", "single", f"m{i}", 1.0, **half, **noise))
    zs = summarise_zones(recs)
    assert set(zs) == {"inner", "mid"}                                  # no pixel in the outer zone
    inner = zs["inner"]
    assert inner["biharmonic"]["rmse"] == pytest.approx(math.sqrt(400.0 * 10 / 400))
    assert inner["pconv"]["vs_best_classical"] == pytest.approx(0.5)
    assert inner["pconv"]["vs_best_classical_ci90"] == pytest.approx([0.5, 0.5])
    assert inner["biharmonic"]["sigma"] == pytest.approx(2.0)
    assert inner["pconv"]["rmse_over_sigma"] == pytest.approx(inner["pconv"]["rmse"] / 2.0)
    assert inner["biharmonic"]["rmse_no_points_over_sigma"] == pytest.approx(0.5)     # sqrt(360 / 360) / 2
    assert inner["pconv"]["rmse_no_points_over_sigma"] == pytest.approx(math.sqrt(90.0 / 4 * 4 / 360) / 2.0)
    assert zs["mid"]["pconv"]["masks"] == 4 and zs["mid"]["pconv"]["pixels"] == 200
    # the single-frame floor: one per zone, the same for every method, against the best classical one's RMSE
    assert inner["pconv"]["floor"] == inner["biharmonic"]["floor"] == pytest.approx(math.sqrt(2.25 * 10 / 4))
    assert inner["pconv"]["floor_over_sigma"] == pytest.approx(inner["pconv"]["floor"] / 2.0)
    assert inner["pconv"]["floor_vs_best_classical"] == pytest.approx(0.75)          # sqrt(225 / 400) on every mask
    assert inner["pconv"]["floor_vs_best_classical_ci90"] == pytest.approx([0.75, 0.75])
    assert zs["mid"]["biharmonic"]["floor_vs_best_classical"] == pytest.approx(1.0)
    table = format_zone_table(zs, "t")
    assert "| inner | pconv |" in table and "0.500 (0.50-0.50)" in table
    assert summarise_zones([rec("pconv", "single", "m", 1.0)]) == {}    # no zones without a geometry


def test_ratios_against_a_named_method_per_pattern_and_zone(records):
    """``against``: each method's RMSE over that one's, paired over the same masks, and a table column."""
    from corkit_inpaint.evaluation.report import format_zone_table, summarise_zones
    s = summarise(records, against="pconv")
    assert "vs_against" not in s["single"]["pconv"]
    assert s["single"]["biharmonic"]["vs_against"] == pytest.approx(2.0)          # 1 / 0.25 in squared error
    assert s["all"]["telea"]["vs_against"] == pytest.approx(4.0)
    assert s["single"]["telea"]["vs_against_ci90"] == pytest.approx([4.0, 4.0])
    table = format_table(s, "t")
    assert "| vs pconv (90% CI) |" in table and "| single | telea |" in table and "4.000 (4.00-4.00)" in table
    assert "vs pconv" not in format_table(summarise(records), "t")
    # unequal ratios per mask give an interval around the pooled ratio
    mixed = [rec("a", "single", f"m{i}", 100.0) for i in range(6)]
    mixed += [rec("b", "single", f"m{i}", 100.0 * (1 + i)) for i in range(6)]
    v = summarise(mixed, against="a")["single"]["b"]
    lo, hi = v["vs_against_ci90"]
    assert v["vs_against"] == pytest.approx(math.sqrt(3.5)) and lo < v["vs_against"] < hi
    z = {"n_inner": 100, "nsig_inner": 100, "var_inner": 400.0}
    zrecs = [rec("a", "single", f"m{i}", 1.0, se_inner=100.0, **z) for i in range(3)]
    zrecs += [rec("b", "single", f"m{i}", 1.0, se_inner=400.0, **z) for i in range(3)]
    zs = summarise_zones(zrecs, against="a")
    assert zs["inner"]["b"]["vs_against"] == pytest.approx(2.0) and "vs_against" not in zs["inner"]["a"]
    assert "| vs a (90% CI) |" in format_zone_table(zs, "t")


def test_a_zone_interval_rests_only_on_the_masks_with_pixels_there():
    """Review s15: masks without pixels in the zone were resampled too, and pulled the interval's low end to 0."""
    from corkit_inpaint.evaluation.report import summarise_zones
    recs = []
    for i in range(6):
        n = 100 if i < 3 else 0                        # only three masks reach the inner zone
        z = {"n_inner": n, "se_inner": 400.0 * (i + 1) if n else 0.0, "n_mid": 50, "se_mid": 50.0}
        recs.append(rec("biharmonic", "single", f"m{i}", 1.0, **z))
        recs.append(rec("pconv", "single", f"m{i}", 1.0, **{k: v * 0.64 if k.startswith("se_") else v
                                                             for k, v in z.items()}))
    inner = summarise_zones(recs)["inner"]["pconv"]
    assert inner["masks"] == 3 and inner["vs_best_classical_ci90"] == pytest.approx([0.8, 0.8])
    one = summarise_zones([r for r in recs if r["mask_id"] in ("m0", "m3", "m4")])["inner"]["pconv"]
    assert one["masks"] == 1 and one["vs_best_classical_ci90"] is None


def test_bias_is_the_mean_signed_error_as_a_share_of_the_truth():
    """Noise averages out of a sum over filled pixels, a bias does not: each zone reports it, with its interval."""
    from corkit_inpaint.evaluation.report import format_zone_table, summarise_zones
    recs = []
    for i in range(5):              # a fill 2% low on masks 0-3, 1% high on mask 4; the truth 100 DN/s per pixel
        sd = -200.0 if i < 4 else 100.0
        recs.append(rec("pconv", "single", f"m{i}", 1.0, n_inner=100, se_inner=900.0, sd_inner=sd,
                        st_inner=10000.0, nsig_inner=100, var_inner=100.0))
    recs.append(rec("old", "single", "m0", 1.0, n_inner=100, se_inner=900.0, nsig_inner=100, var_inner=100.0))
    v = summarise_zones(recs)["inner"]
    p = v["pconv"]
    assert p["bias"] == pytest.approx(-700 / 500) and p["bias_rel"] == pytest.approx(-700 / 50000)
    assert p["bias_over_rmse"] == pytest.approx(-1.4 / 3.0)
    lo, hi = p["bias_rel_ci90"]
    assert -0.02 <= lo < p["bias_rel"] < hi <= 0.01
    assert math.isnan(v["old"]["bias"]) and v["old"]["bias_rel_ci90"] is None      # records made before the sums
    table = format_zone_table({"inner": v}, "t")
    assert "| bias (% of truth, 90% CI) |" in table and "| -1.40% (" in table
    assert table.splitlines()[-1].split(" | ")[7] == "-"
