"""`corkit_inpaint.training.losses`: one test per loss term, and their weighted sum over stages."""

import json

import numpy as np
import pytest
import torch

from corkit_inpaint.network.unet import PConvUNet
from corkit_inpaint.training.config import TrainConfig
from corkit_inpaint.training.dataset import build_dataset
from corkit_inpaint.training.loop import train
from corkit_inpaint.training.losses import MIN_NOISE, compute_losses
from corkit_inpaint.training.losses.gradient import gradient_l1
from corkit_inpaint.training.losses.hole import hole_l1, hole_l2
from corkit_inpaint.training.losses.noise import noise_consistency
from corkit_inpaint.training.losses.perceptual import VGGFeatures, perceptual_style, vgg19_layers
from corkit_inpaint.training.losses.ring import ring_l1


def t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32))[None, None]


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(24, 24))
    out = truth + rng.normal(size=(24, 24))
    hole = np.zeros((24, 24))
    hole[6:18, 4:20] = 1
    return out, truth, hole


def test_hole_l1_and_l2(pair):
    out, truth, hole = pair
    d = (out - truth)[hole > 0]
    assert hole_l1(t(out), t(truth), t(hole)).item() == pytest.approx(np.abs(d).mean(), rel=1e-5)
    assert hole_l2(t(out), t(truth), t(hole)).item() == pytest.approx((d ** 2).mean(), rel=1e-5)
    elsewhere = np.where(hole > 0, out, 1e6)                     # errors outside the hole do not count
    assert hole_l1(t(elsewhere), t(truth), t(hole)).item() == pytest.approx(np.abs(d).mean(), rel=1e-5)
    empty = t(np.zeros_like(hole))
    assert hole_l1(t(out), t(truth), empty).item() == 0 == hole_l2(t(out), t(truth), empty).item()


def test_ring_l1(pair):
    out, truth, _ = pair
    ring = np.zeros((24, 24))
    ring[3:5, :] = 1
    assert ring_l1(t(out), t(truth), t(ring)).item() == pytest.approx(np.abs(out - truth)[3:5].mean(), rel=1e-5)
    assert ring_l1(t(out), t(truth), t(0 * ring)).item() == 0


def test_gradient_l1_sees_structure_not_level(pair):
    _, truth, hole = pair
    offset = truth + 3.0 * hole                                   # right structure, wrong level
    assert gradient_l1(t(offset), t(truth), t(hole)).item() == pytest.approx(0, abs=1e-6)
    assert hole_l1(t(offset), t(truth), t(hole)).item() == pytest.approx(3.0)
    xx = np.broadcast_to(np.arange(24.0), (24, 24))
    ramp = truth + 0.5 * xx * hole                                # error growing 0.5 per column
    n = hole.sum()
    pairs_x = (hole[:, 1:] * hole[:, :-1]).sum()
    expect = 0.5 * pairs_x / (2 * n)
    assert gradient_l1(t(ramp), t(truth), t(hole)).item() == pytest.approx(expect, rel=1e-5)


def test_noise_consistency_asks_for_the_measured_noise():
    rng = np.random.default_rng(1)
    hole = np.zeros((64, 64))
    hole[8:56, 8:56] = 1
    sigma = 0.3
    flat = np.full((64, 64), 2.0)
    texture = sigma * rng.standard_normal((64, 64))
    noise = torch.tensor([sigma])
    right = noise_consistency(t(flat), t(texture), t(hole), noise).item()
    double = noise_consistency(t(flat), t(2 * texture), t(hole), noise).item()
    smooth = noise_consistency(t(flat), t(0 * texture), t(hole), noise).item()
    assert right < 0.01 and double == pytest.approx(1.0, abs=0.1) and smooth == pytest.approx(1.0, abs=1e-3)
    # a sample whose hole has no inner pixels is left out, not counted as a mismatch
    tiny = np.zeros((64, 64))
    tiny[10:12, 10:12] = 1
    assert noise_consistency(t(flat), t(2 * texture), t(tiny), noise).item() == 0


def vgg_file(tmp_path, **extra):
    torch.manual_seed(1)
    path = tmp_path / "vgg19.pth"
    torch.save({**{"features." + k: v for k, v in vgg19_layers().state_dict().items()}, **extra}, path)
    return path


def test_perceptual_and_style_terms(tmp_path):
    path = vgg_file(tmp_path, **{"features.40.weight": torch.zeros(3), "classifier.0.weight": torch.zeros(2)})
    vgg = VGGFeatures(path)
    assert not any(p.requires_grad for p in vgg.parameters()) and not vgg.training
    x = torch.randn(2, 1, 32, 32)
    feats = vgg(x)
    assert [f.shape[1:] for f in feats] == [(64, 16, 16), (128, 8, 8), (256, 4, 4)]
    valid = torch.ones_like(x)
    valid[..., 8:24, 8:24] = 0
    p0, s0 = perceptual_style(vgg, x, x, valid)
    assert p0.item() == 0 and s0.item() == 0
    p1, s1 = perceptual_style(vgg, x + 0.5 * torch.randn_like(x), x, valid)
    assert p1.item() > 0 and s1.item() > 0
    # a state dict nested under "state_dict" loads the same
    nested = tmp_path / "nested.pth"
    torch.save({"state_dict": torch.load(path, weights_only=True)}, nested)
    assert all(torch.equal(a, b) for a, b in zip(VGGFeatures(nested)(x), feats))


def test_compute_losses_weights_stages_and_terms():
    torch.manual_seed(0)
    model = PConvUNet(stages=2, widths=(8, 8, 8), ring=2)
    truth = torch.randn(2, 1, 32, 32)
    valid = torch.ones_like(truth)
    valid[..., 8:24, 8:24] = 0
    hole = 1 - valid
    noise = torch.full((2,), 0.2)
    texture = 0.2 * torch.randn_like(truth)
    cfg = TrainConfig()
    total, terms = compute_losses([truth, truth], truth, valid, hole, noise, texture, model, cfg)
    assert terms["hole"] == 0 and terms["ring"] == 0 and terms["grad"] == 0 and terms["hole_l2"] == 0
    assert total.item() == pytest.approx(cfg.w_noise * terms["noise"].item())
    bad = [truth + 1.0 * hole, truth + 2.0 * hole]               # earlier stages weigh half
    total, terms = compute_losses(bad, truth, valid, hole, noise, texture, model,
                                  TrainConfig(w_hole=1.0, w_hole_l2=0.0, w_ring=0.0, w_grad=0.0, w_noise=0.0))
    assert terms["hole"].item() == pytest.approx(0.5 * 1.0 + 2.0)
    assert total.item() == pytest.approx(2.5) and terms["ring"].item() > 0
    assert "perceptual" not in terms


@pytest.mark.slow
def test_optional_vgg_perceptual_and_style_terms(tmp_path):
    """With a user-supplied VGG19 file (here random weights in torchvision's layout) the terms join the loss."""
    vgg = vgg_file(tmp_path)
    cfg = TrainConfig(frames=1, steps=3, batch=2, widths=(8, 8, 8, 8), masks_per_frame=1,
                      crops_per_window=1, vgg=str(vgg), threads=1)
    data = build_dataset(cfg, progress=False)
    train(cfg, tmp_path / "run", data=data, resume=False, progress=False)
    meta = json.loads((tmp_path / "run" / "config.json").read_text())
    assert meta["config"]["vgg"] == str(vgg) and np.isfinite(meta["final_loss_mean_last100"])
    # the terms really enter the loss
    model = PConvUNet(widths=(8, 8, 8, 8))
    d = {k: torch.from_numpy(np.ascontiguousarray(data[k][:2])) for k in data}
    valid, truth = d["valid"][:, None].float(), d["truth"][:, None]
    outs = model(d["image"][:, None] * valid, valid, d["guides"])
    args = (outs, truth, valid, d["hole"][:, None].float(), d["noise"].float(), d["texture"][:, None], model, cfg)
    base, _ = compute_losses(*args)
    total, terms = compute_losses(*args, VGGFeatures(vgg))
    assert terms["perceptual"] > 0 and terms["style"] > 0
    expect = base + cfg.w_perceptual * terms["perceptual"] + cfg.w_style * terms["style"]
    assert torch.isclose(total, expect)


def test_a_noise_step_model_is_scored_in_its_step_unit():
    """Where a neighbour has data, an error of one step unit costs 1, whatever the window scale."""
    model = PConvUNet(stages=1, widths=(8, 8), ring=2, extra_channels=8, base=3, step="noise")
    truth = torch.zeros(1, 1, 16, 16)
    valid = torch.ones_like(truth)
    valid[..., 4:12, 4:12] = 0
    hole = 1 - valid
    guides = torch.zeros(1, 8, 16, 16)
    guides[:, 7] = 0.02                                    # noise 0.02 of the window scale
    guides[:, 4] = 1.0                                     # both neighbours everywhere, misfit below the noise
    cfg = TrainConfig(w_hole=1.0, w_hole_l2=0.0, w_ring=0.0, w_grad=0.0, w_noise=0.0)
    args = ([truth + 0.02 * hole], truth, valid, hole, torch.full((1,), 0.02), torch.zeros_like(truth), model, cfg)
    total, terms = compute_losses(*args, guides=guides)
    assert terms["hole"].item() == pytest.approx(1.0)
    guides[:, 4] = 0.0                                     # no neighbour: the window's noise
    assert compute_losses(*args, guides=guides)[1]["hole"].item() == pytest.approx(1.0)
    guides[:, 7] = 0.001                                   # a nearly noiseless window: the floor
    assert compute_losses(*args, guides=guides)[1]["hole"].item() == pytest.approx(0.02 / MIN_NOISE)
    plain = PConvUNet(stages=1, widths=(8, 8), ring=2, extra_channels=8, base=3)
    assert compute_losses(*args[:6], plain, cfg)[1]["hole"].item() == pytest.approx(0.02)   # window-scale units
    with pytest.raises(ValueError, match="guides"):
        compute_losses(*args)
