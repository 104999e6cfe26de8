"""The evaluate command: same blanked inputs for every method, scores only inside the holes."""

import json

import numpy as np
from helpers import REAL

from corkit_inpaint.cli import main
from corkit_inpaint.evaluation.protocol import evaluate_frame
from corkit_inpaint.evaluation.report import summarise
from corkit_inpaint.training.loss_masks import PATTERNS
from corkit_inpaint.training.simulator import make_frame


def test_evaluate_real_file_json(tmp_path):
    out = tmp_path / "eval.json"
    png = tmp_path / "eval.png"
    code = main(["-q", "evaluate", str(REAL), "--methods", "pconv,biharmonic", "--repeats", "1",
                 "--json", str(out), "--plot", str(png), "--device", "cpu"])
    assert code == 0 and png.stat().st_size > 1000
    res = json.loads(out.read_text())["results"]["real files"]
    for p in list(PATTERNS) + ["all"]:
        for m in ("pconv", "biharmonic"):
            v = res[p][m]
            assert v["rmse"] > 0 and v["mae"] > 0 and v["rmse"] >= v["mae"] and v["seconds"] > 0
        assert res[p]["biharmonic"]["vs_best_classical"] == 1.0
    lo, hi = res["all"]["pconv"]["vs_best_classical_ci90"]        # bootstrap over the 4 masks
    assert 0 < lo <= hi
    assert res["all"]["biharmonic"]["vs_best_classical_ci90"] == [1.0, 1.0]
    assert res["single"]["pconv"]["vs_best_classical_ci90"] is None   # one mask: no interval
    assert res["all"]["pconv"]["rmse_no_points"] > 0
    assert res["all"]["biharmonic"]["noise_ratio"] < 0.3          # a classical fill has no texture
    assert res["all"]["pconv"]["noise_ratio"] > 2 * res["all"]["biharmonic"]["noise_ratio"]


def test_perfect_method_scores_zero():
    img, hdr = make_frame(5, detector="C2", summed=True)
    rng = np.random.default_rng(0)
    recs = evaluate_frame(img, hdr, ["biharmonic"], rng=rng, repeats=1, patterns=("cluster",))
    s = summarise(recs)["cluster"]["biharmonic"]
    assert s["masks"] == 1 and s["rmse"] > 0
    # scoring the truth against itself through the same path gives zero error
    from corkit_inpaint.evaluation.metrics import score, truth_terms
    from corkit_inpaint.stretch import Stretch
    mask = np.zeros(img.shape, bool)
    mask[200:264, 300:364] = True
    st = Stretch.from_image(img.astype(float), img > 0, bias=hdr["OFFSET"], exptime=hdr["EXPTIME"])
    r = score(truth_terms(img.astype(float), st), img.astype(float), mask, st, None)
    assert r["se"] == 0 and r["ae"] == 0 and r["hf_f"] == r["hf_t"]


def test_evaluate_usage_errors(capsys):
    assert main(["evaluate", str(REAL), "--methods", "nope"]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert main(["evaluate"]) == 2


def test_point_sources_found_in_truth_not_in_smooth_structure():
    from corkit_inpaint.evaluation.metrics import point_sources
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
