"""`corkit_inpaint.evaluation.metrics`: scores of one fill inside the blanked blocks; point sources in the truth."""

import numpy as np
import pytest

from corkit_inpaint.evaluation.metrics import point_sources, score, truth_terms
from corkit_inpaint.stretch import Stretch
from corkit_inpaint.training.simulator import make_frame


def test_point_sources_found_in_truth_not_in_smooth_structure():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:128, 0:128]
    s = 5 + 2 * np.exp(-0.5 * ((np.hypot(yy + 50, xx - 60) - 120) / 4) ** 2) + rng.normal(0, 0.02, (128, 128))
    mask = np.zeros((128, 128), bool)
    mask[32:96, 32:96] = True
    assert not point_sources(s, mask).any()            # a bright ring is structure, not a point
    s[50, 60] += 3                                       # a cosmic-ray hit
    s[70:73, 80:83] += 2                                 # a star
    s[10, 10] += 3                                       # outside the hole: not scored anyway
    pts = point_sources(s, mask)
    assert pts[50, 60] and pts[71, 81] and not pts[10, 10]
    assert pts.sum() < 80 and not (pts & ~mask).any()
    assert not point_sources(s, np.zeros_like(mask)).any()


@pytest.fixture(scope="module")
def synthetic():
    img, hdr = make_frame(5, detector="C2", summed=True)
    img = img.astype(float)
    st = Stretch.from_image(img, img > 0, bias=hdr["OFFSET"], exptime=hdr["EXPTIME"])
    mask = np.zeros(img.shape, bool)
    mask[200:264, 300:364] = True
    return img, hdr, st, mask


def test_truth_against_itself_scores_zero(synthetic):
    img, _, st, mask = synthetic
    r = score(truth_terms(img, st), img, mask, st, None)
    assert r["se"] == 0 and r["ae"] == 0 and r["hf_f"] == r["hf_t"] and r["se_s"] == 0 and r["prof"] == 0
    assert r["n"] == r["n_np"] == mask.sum() and r["n_hf"] == 62 * 62                # 3x3-eroded hole


def test_a_constant_rate_error_is_scored_in_dn_per_second(synthetic):
    img, hdr, st, mask = synthetic
    c = 2.5                                                         # DN/s
    fill = np.where(mask, img + c * hdr["EXPTIME"], img)            # outside the hole the fill is ignored
    fill[0, 0] = -1e9
    points = np.zeros_like(mask)
    points[210:220, 310:320] = True                                 # a "star" left out of the *_np sums
    r = score(truth_terms(img, st), fill, mask, st, (256.0, 256.0), points)
    n = mask.sum()
    assert r["se"] == pytest.approx(n * c ** 2) and r["ae"] == pytest.approx(n * c)
    assert r["n_np"] == n - 100 and r["se_np"] == pytest.approx((n - 100) * c ** 2)
    assert r["prof"] == pytest.approx(c)
    zones = np.full(mask.shape, 2)                                  # every pixel in the outer zone
    zones[:, :320] = 1                                              # but the star's left half: mid
    rz = score(truth_terms(img, st), fill, mask, st, (256.0, 256.0), points, zones)
    assert rz["n_mid"] + rz["n_outer"] == n and rz["n_inner"] == 0
    assert rz["n_np_mid"] == rz["n_mid"] - 100 and rz["n_np_outer"] == rz["n_outer"]    # the star is mid
    assert rz["se_np_mid"] == pytest.approx(rz["n_np_mid"] * c ** 2)
    # the signed error and the truth, per zone: the bias is +c DN/s, of the truth's brightness there
    rate = truth_terms(img, st)["rate"]
    for z in ("mid", "outer"):
        assert rz[f"sd_{z}"] == pytest.approx(rz[f"n_{z}"] * c)
        assert rz[f"st_{z}"] == pytest.approx(rate[mask & (zones == ("mid", "outer").index(z) + 1)].sum())
    low = score(truth_terms(img, st), np.where(mask, img - c * hdr["EXPTIME"], img), mask, st, None, None, zones)
    assert low["sd_outer"] == pytest.approx(-rz["sd_outer"]) and low["se_outer"] == pytest.approx(rz["se_outer"])
    assert r["se_s"] > 0 and r["hf_f"] == pytest.approx(r["hf_t"], rel=0.2)   # a shift keeps the texture


def test_truth_terms():
    st = Stretch(bias=100.0, exptime=4.0, softening=2.0)
    truth = np.array([[100.0, 108.0], [140.0, 500.0]])
    t = truth_terms(truth, st)
    np.testing.assert_allclose(t["rate"], (truth - 100.0) / 4.0)
    np.testing.assert_allclose(t["s"], np.arcsinh((truth - 100.0) / 8.0))
    assert t["hf"].shape == truth.shape


def test_zone_map_and_zone_noise():
    from helpers import read_real

    from corkit_inpaint.evaluation.metrics import ZONES, zone_map, zone_noise
    from corkit_inpaint.geometry import optical_geometry
    data, header = read_real()
    g = optical_geometry(header)
    z = zone_map(data.shape, g)
    y, x = int(round(g.cy)), int(round(g.cx))
    for k, (a, b) in enumerate(zip(ZONES["C2"][:-1], ZONES["C2"][1:])):
        r = (a + b) / 2 * g.rsun
        assert z[y, int(round(x + r))] == k
    assert z[y, x] == -1 and z[y, int(round(x + 1.5 * g.rsun))] == -1          # inside the inner edge
    assert zone_map(data.shape, None) is None
    rng = np.random.default_rng(0)
    rate = 100.0 + rng.normal(0, 3.0, data.shape)                    # white noise of sigma 3
    mask = np.zeros(data.shape, bool)
    mask[y - 16:y + 16, int(x + 2.6 * g.rsun):int(x + 2.6 * g.rsun) + 32] = True     # in the inner zone
    n = zone_noise(rate, mask, z)
    assert n["nsig_inner"] == int((mask & (z == 0)).sum()) > 0 and n["nsig_outer"] == 0
    assert np.sqrt(n["var_inner"] / n["nsig_inner"]) == pytest.approx(3.0, rel=0.1)
    # a sliver of a zone with no whole 3x3 in the hole has no noise estimate: not counted as noiseless
    sliver = mask.copy()
    sliver[y - 17, int(x + 2.6 * g.rsun):int(x + 2.6 * g.rsun) + 32] = True
    zz = z.copy()
    zz[y - 17] = np.where(sliver[y - 17], 2, zz[y - 17])            # one row of the hole in the outer zone
    s = zone_noise(rate, sliver, zz)
    assert s["nsig_outer"] == 0 and s["var_outer"] == 0.0 and s["nsig_inner"] == n["nsig_inner"]


def test_single_frame_floor_is_the_error_of_a_fill_that_knows_the_smooth_corona():
    """``floor_Z``: noise everywhere plus the point sources' excess, which a fill from the frame alone cannot know."""
    from helpers import read_real

    from corkit_inpaint.evaluation.metrics import zone_map, zone_noise
    from corkit_inpaint.geometry import optical_geometry
    data, header = read_real()
    g = optical_geometry(header)
    z = zone_map(data.shape, g)
    y, x = int(round(g.cy)), int(round(g.cx + 2.6 * g.rsun))
    rng = np.random.default_rng(1)
    smooth = np.full(data.shape, 100.0)
    rate = smooth + rng.normal(0, 3.0, data.shape)
    mask = np.zeros(data.shape, bool)
    mask[y - 16:y + 16, x:x + 32] = True
    quiet = zone_noise(rate, mask, z)
    assert quiet["floor_inner"] == pytest.approx(quiet["var_inner"])      # no point source: the noise alone
    stars = np.zeros(data.shape, bool)
    for sy, sx in ((y - 8, x + 6), (y + 5, x + 20)):
        rate[sy - 1:sy + 2, sx - 1:sx + 2] += 400.0                       # two 3x3 stars inside the hole
        stars[sy - 3:sy + 4, sx - 3:sx + 4] = True                        # grown, as point_sources does
    floor = zone_noise(rate, mask, z, stars)
    oracle = float(np.sum((smooth - rate)[mask] ** 2))                    # the smooth corona, exactly
    assert floor["floor_inner"] == pytest.approx(oracle, rel=0.05)
    assert floor["floor_inner"] > 50 * quiet["floor_inner"]               # the stars dominate it
    assert zone_noise(rate, mask, z)["floor_inner"] < 0.1 * floor["floor_inner"]   # unless not named
