"""The simulator is reproducible, and a tiny CPU training run lowers the loss."""

import json

import numpy as np
import pytest
import torch

from corkit_inpaint.network.weights import read_weights_file
from corkit_inpaint.training.config import TrainConfig
from corkit_inpaint.training.dataset import build_dataset
from corkit_inpaint.training.loop import train
from corkit_inpaint.training.simulator import GENERATOR_VERSION, VERSIONS, make_frame


def test_generator_reproducible_under_seed():
    a, ha = make_frame(123)
    b, hb = make_frame(123)
    c, _ = make_frame(124, detector=ha["DETECTOR"], summed=a.shape[0] == 512)
    assert np.array_equal(a, b) and ha == hb
    assert not np.array_equal(a, c)
    assert ha["SYNTHGEN"] == GENERATOR_VERSION and ha["SYNTSEED"] == 123


def test_generator_versions_stay_drawable():
    """Older versions stay drawable (recorded training stages can be remade) and are recorded."""
    assert GENERATOR_VERSION == VERSIONS[-1]
    old, ho = make_frame(123, version=VERSIONS[0])
    new, hn = make_frame(123)
    assert ho["SYNTHGEN"] == VERSIONS[0] and hn["SYNTHGEN"] == GENERATOR_VERSION
    assert not np.array_equal(old, new)
    assert np.array_equal(old, make_frame(123, version=VERSIONS[0])[0])
    with pytest.raises(ValueError, match="generator version"):
        make_frame(123, version="0")


def test_generator_realistic_ranges():
    for det in ("C2", "C3"):
        saturated = 0
        for seed in (5, 6, 7, 8):                                         # bright stars and planets are rare
            img, _ = make_frame(seed, detector=det, summed=False)
            assert img.max() <= 65532
            saturated += int(np.sum(img == 65532))
        assert saturated > 0                                              # saturated sources exist
        img, hdr = make_frame(7, detector=det, summed=False)
        assert img.dtype == np.int32 and img.shape == (1024, 1024)
        valid = img[img > 0]
        assert np.percentile(valid, 1) > 0.5 * hdr["OFFSET"]              # bias present
        assert np.any(img == 0)                                           # never-sent blocks
        # about four decades between the brightest corona and the faint field
        rate = (valid.astype(float) - hdr["OFFSET"]) / hdr["EXPTIME"]
        assert np.percentile(rate, 99) / max(np.percentile(rate, 5), 1e-3) > 10


def test_tiny_training_lowers_loss(tmp_path):
    cfg = TrainConfig(frames=2, steps=40, batch=4, widths=(8, 12, 16, 16), lr=3e-3, lr_final=3e-3,
                      masks_per_frame=2, crops_per_window=1, w_noise=0.0, teacher_prob=0.0)
    data = build_dataset(cfg, progress=False)
    assert len(data["noise"]) >= 4
    torch.manual_seed(0)
    path = train(cfg, tmp_path, data=data, resume=False, progress=False, checkpoint_every=1000)
    meta = json.loads((tmp_path / "config.json").read_text())
    hist = np.array(torch.load(tmp_path / "checkpoint.pt", weights_only=False)["history"])
    first, last = hist[:8, 2].mean(), hist[-8:, 2].mean()        # hole L1
    assert last < first, (first, last)
    blob = read_weights_file(path)                                # the output loads without code execution
    assert blob["model_config"]["widths"] == [8, 12, 16, 16]
    assert meta["config"]["seed"] == cfg.seed and meta["steps_done"] == 40


def test_optional_vgg_perceptual_and_style_terms(tmp_path):
    """With a user-supplied VGG19 file (here random weights in torchvision's layout) the terms join the loss."""
    from corkit_inpaint.training.losses.perceptual import vgg19_layers
    vgg_file = tmp_path / "vgg19.pth"
    torch.manual_seed(1)
    torch.save({"features." + k: v for k, v in vgg19_layers().state_dict().items()}, vgg_file)
    cfg = TrainConfig(frames=1, steps=3, batch=2, widths=(8, 8, 8, 8), masks_per_frame=1,
                      crops_per_window=1, vgg=str(vgg_file))
    data = build_dataset(cfg, progress=False)
    train(cfg, tmp_path / "run", data=data, resume=False, progress=False)
    meta = json.loads((tmp_path / "run" / "config.json").read_text())
    assert meta["config"]["vgg"] == str(vgg_file) and np.isfinite(meta["final_loss_mean_last100"])
    # the terms really enter the loss
    from corkit_inpaint.network.unet import PConvUNet
    from corkit_inpaint.training.losses import compute_losses
    from corkit_inpaint.training.losses.perceptual import VGGFeatures
    model = PConvUNet(widths=(8, 8, 8, 8))
    t = {k: torch.from_numpy(np.ascontiguousarray(data[k][:2])) for k in data}
    valid, truth = t["valid"][:, None].float(), t["truth"][:, None]
    outs = model(t["image"][:, None] * valid, valid, t["guides"])
    args = (outs, truth, valid, t["hole"][:, None].float(), t["noise"].float(), t["texture"][:, None], model, cfg)
    base, _ = compute_losses(*args)
    total, terms = compute_losses(*args, VGGFeatures(vgg_file))
    assert terms["perceptual"] > 0 and terms["style"] > 0
    expect = base + cfg.w_perceptual * terms["perceptual"] + cfg.w_style * terms["style"]
    assert torch.isclose(total, expect)


def test_fine_tune_init_adds_a_guide_channel(tmp_path):
    """A 2-guide model's weights start a 3-guide model: old slices copied, the new input channel zero."""
    from corkit_inpaint.network.registry import sha256sum
    from corkit_inpaint.network.unet import PConvUNet
    from corkit_inpaint.network.weights import WEIGHTS_FORMAT
    from corkit_inpaint.training.finetune import init_from
    torch.manual_seed(3)
    old = PConvUNet(widths=(8, 8, 8, 8), extra_channels=2)
    f = tmp_path / "old.pt"
    torch.save({"format": WEIGHTS_FORMAT, "model_config": old.config, "state_dict": old.state_dict()}, f)
    new = PConvUNet(widths=(8, 8, 8, 8), extra_channels=3)
    assert init_from(new, f) == sha256sum(f)
    so, sn = old.state_dict(), new.state_dict()
    widened = [k for k in so if so[k].shape != sn[k].shape]
    assert widened    # the first and last convolutions read the guides
    for k in so:
        if k in widened:
            assert torch.equal(sn[k][:, :so[k].shape[1]], so[k]) and not sn[k][:, so[k].shape[1]:].any()
        else:
            assert torch.equal(sn[k], so[k])
    # the new guide is ignored at first: changing it does not change the output
    x = torch.randn(1, 1, 32, 32)
    m = (torch.rand(1, 1, 32, 32) > 0.3).float()
    g = torch.randn(1, 3, 32, 32)
    g2 = g.clone()
    g2[:, 2] = torch.randn(32, 32)
    with torch.no_grad():
        assert torch.equal(new(x * m, m, g)[-1], new(x * m, m, g2)[-1])
    # a different architecture is refused with the tensor named
    with pytest.raises(ValueError, match="shape"):
        init_from(PConvUNet(widths=(8, 8, 8, 16)), f)
