"""`corkit_inpaint.evaluation.protocol`: every method fills the same blanked input, scored inside the holes."""

from dataclasses import dataclass, field

import numpy as np
import pytest

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.evaluation.protocol import SYNTHETIC_SEED0, evaluate_frame, evaluate_synthetic
from corkit_inpaint.evaluation.report import summarise
from corkit_inpaint.methods import FillMethod, FillResult, Provenance
from corkit_inpaint.training.config import TrainConfig
from corkit_inpaint.training.loss_masks import PATTERNS
from corkit_inpaint.training.simulator import make_frame


@dataclass(frozen=True)
class Oracle(FillMethod):
    """Fills the holes with the truth, and records every frame it is given."""

    truth: np.ndarray = None
    frames: list = field(default_factory=list, compare=False)

    def fill(self, frame, *, neighbours=(), device="auto", weights=None):
        self.frames.append(frame)
        values = np.where(frame.missing, self.truth, frame.image)
        return FillResult(values, frame.missing.copy(), Provenance(self.name))


@pytest.fixture(scope="module")
def frame():
    return make_frame(5, detector="C2", summed=True)


def test_perfect_method_scores_zero_and_a_real_one_does_not(frame):
    img, hdr = frame
    oracle = Oracle("oracle", truth=img.astype(float))
    recs = evaluate_frame(img, hdr, ["biharmonic", oracle], rng=np.random.default_rng(0), repeats=2,
                          patterns=("single", "cluster"), label="f")
    assert len(recs) == 2 * 2 * 2 and len(oracle.frames) == 4
    bih = [r for r in recs if r["method"] == "biharmonic"]
    orc = [r for r in recs if r["method"] is oracle]
    assert all(r["se"] == 0 and r["ae"] == 0 and r["prof"] == 0 for r in orc)
    assert all(r["se"] > 0 for r in bih)
    # the signed error per zone: none for the truth; each blanked block's mean scored against its sigma
    assert all(r[k] == 0 for r in orc for k in r if k.startswith("sd_")) and not any("zb_" in k for k in orc[0])
    assert all(any(r[k] != 0 for k in r if k.startswith("sd_")) for r in bih)
    scored = [sum(len(r.get(f"zb_{z}", [])) for z in ("inner", "mid", "outer")) for r in bih]
    assert all(k <= r["blocks"] for k, r in zip(scored, bih)) and sum(scored) >= len(bih)
    # both methods were scored on the same masks: same ids, same pixel counts
    assert [(r["mask_id"], r["n"], r["blocks"]) for r in bih] == [(r["mask_id"], r["n"], r["blocks"]) for r in orc]
    assert [r["mask_id"] for r in bih] == ["f:single:0", "f:single:1", "f:cluster:0", "f:cluster:1"]
    # what the methods saw: the truth with the blanked blocks at zero, and exactly those blocks missing
    for f, r in zip(oracle.frames, orc):
        assert r["n"] == f.missing.sum() == r["blocks"] * 1024
        assert np.array_equal(f.missing, blocks_to_mask(img.shape, _blocks(f.missing)))
        assert np.array_equal(f.image, np.where(f.missing, 0, img))
    s = summarise(bih)["cluster"]["biharmonic"]
    assert s["masks"] == 2 and s["rmse"] > 0


def _blocks(mask):
    return [tuple(b) for b in np.argwhere(mask.reshape(mask.shape[0] // 32, 32, mask.shape[1] // 32, 32).all((1, 3)))]


def test_masks_follow_the_seed(frame):
    img, hdr = frame
    run = lambda seed: [(r["n"], r["se"]) for r in evaluate_frame(
        img, hdr, ["biharmonic"], rng=np.random.default_rng(seed), repeats=1, patterns=("single",))]
    assert run(3) == run(3) and run(3) != run(4)


def test_synthetic_frames_are_held_out_and_alternate_sizes():
    recs = evaluate_synthetic(2, ["biharmonic"], rng=np.random.default_rng(0), version="3", progress=False)
    assert [(r["frame"], r["pattern"]) for r in recs] == [
        (f"synthetic {SYNTHETIC_SEED0 + i}", p) for i in range(2) for p in PATTERNS]
    # the same as scoring the held-out frames one by one: C2 full resolution, then C2 2x2-summed
    rng = np.random.default_rng(0)
    again = []
    for i, summed in enumerate((False, True)):
        img, hdr = make_frame(SYNTHETIC_SEED0 + i, detector="C2", summed=summed, version="3")
        again += evaluate_frame(img, hdr, ["biharmonic"], rng=rng, repeats=1, label=f"synthetic {SYNTHETIC_SEED0 + i}")
    keys = ("frame", "pattern", "mask_id", "n", "se", "ae", "blocks")
    assert [[r[k] for k in keys] for r in recs] == [[r[k] for k in keys] for r in again]
    cfg = TrainConfig()
    assert SYNTHETIC_SEED0 >= cfg.first_frame_seed + cfg.frames          # never a training frame
