"""`corkit_inpaint.network.spread`: the spread head, and a network built with one."""

import numpy as np
import pytest
import torch
from helpers import BLANK, blank, read_real

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.frame import Frame
from corkit_inpaint.network.device import run_model, run_windows
from corkit_inpaint.network.spread import LOG_RANGE, NOISE_FLOOR
from corkit_inpaint.network.unet import PConvUNet
from corkit_inpaint.network.weights import WEIGHTS_FORMAT, check_model_config, load_model
from corkit_inpaint.network.windows import GUIDES, frame_windows
from corkit_inpaint.training.finetune import zero_heads


def tiny(head=4, seed=0):
    torch.manual_seed(seed)
    return PConvUNet(widths=(8, 8, 8, 8), extra_channels=8, base=3, step="noise", sigma_head=head).eval()


def inputs(n=2, side=64, seed=1):
    g = torch.Generator().manual_seed(seed)
    img = torch.randn(n, 1, side, side, generator=g)
    mask = torch.ones(n, 1, side, side)
    mask[:, :, 16:48, 16:48] = 0
    guides = torch.randn(n, 8, side, side, generator=g)
    guides[:, GUIDES.index("noise")] = torch.tensor([0.05, 0.0002])[:n, None, None]
    guides[:, GUIDES.index("neighbour_count")] = 0
    return img * mask, mask, guides


def test_the_fill_is_the_same_with_and_without_the_spread():
    net = tiny()
    with torch.no_grad():
        torch.nn.init.normal_(net.spread_head.body[-1].weight, std=0.1)
        plain = net(*inputs())
        outs, log_s = net(*inputs(), spread=True)
    assert all(torch.equal(a, b) for a, b in zip(plain, outs))
    assert log_s.shape == outs[-1].shape and torch.isfinite(log_s).all()


def test_a_fresh_head_gives_the_tables_unit_with_its_floor():
    """Untrained, the head says hypot(noise, spread): the window noise (at least the floor) and the spread of
    the three classical guides and the fill at each pixel (the error tables' unit)."""
    img, mask, guides = inputs()
    with torch.no_grad():
        outs, log_s = tiny()(img, mask, guides, spread=True)
    pred = outs[-1].numpy()
    g = np.concatenate([guides[:, :3].numpy(), pred], 1)
    spread = g.max(1) - g.min(1)
    noise = np.maximum(guides[:, GUIDES.index("noise")].numpy(), NOISE_FLOOR)
    hole = mask[:, 0].numpy() == 0                  # the fill there (the output is composited elsewhere)
    np.testing.assert_allclose(log_s[:, 0].numpy()[hole], np.log(np.hypot(noise, spread))[hole], rtol=1e-5,
                               atol=1e-5)
    # where the guides and the fill agree (a network that returns its base guide, all guides 0), the noise
    flat = [t.clone() for t in (img, mask, guides)]
    flat[2][:, :4] = 0.0
    net = tiny()
    zero_heads(net)
    with torch.no_grad():
        outs, log_s = net(*flat, spread=True)
    same = (np.abs(outs[-1].numpy()) < 1e-7)[:, 0] & hole
    assert same.sum() > 100
    np.testing.assert_allclose(log_s[0, 0].numpy()[same[0]], np.log(0.05), rtol=1e-5)
    np.testing.assert_allclose(log_s[1, 0].numpy()[same[1]], np.log(NOISE_FLOOR), rtol=1e-5)


def test_the_log_half_width_is_kept_in_range():
    net = tiny()
    with torch.no_grad():
        net.spread_head.body[-1].bias.fill_(100.0)
        _, hi = net(*inputs(), spread=True)
        net.spread_head.body[-1].bias.fill_(-100.0)
        _, lo = net(*inputs(), spread=True)
    assert float(hi.min()) == LOG_RANGE[1] and float(lo.max()) == LOG_RANGE[0]


def test_no_head_no_spread_and_the_head_needs_the_noise_guide():
    with pytest.raises(ValueError, match="no spread head"):
        tiny(head=0)(*inputs(), spread=True)
    with pytest.raises(ValueError, match="8 guides"):
        PConvUNet(widths=(8, 8), extra_channels=3, sigma_head=4)


def test_model_config_bounds_of_the_head():
    cfg = tiny().config
    assert cfg["sigma_head"] == 4 and check_model_config(cfg) is None
    assert "sigma_head" not in tiny(head=0).config
    for bad in (0, -1, True, 2000, "4"):
        assert "sigma_head" in check_model_config({**cfg, "sigma_head": bad})
    assert "8 extra channels" in check_model_config({**cfg, "extra_channels": 3, "base": 0, "step": "scale"})


def test_a_weights_file_with_a_head_runs_and_gives_the_spread(tmp_path):
    net = tiny()
    with torch.no_grad():
        torch.nn.init.normal_(net.spread_head.body[-1].weight, std=0.1)
    path = tmp_path / "tiny-head.pt"
    torch.save({"format": WEIGHTS_FORMAT, "model_config": net.config, "state_dict": net.state_dict()}, path)
    data, header = read_real()
    frame = Frame.build(blank(data, BLANK), blocks_to_mask(data.shape, BLANK), header)
    windows = frame_windows(frame)[0]
    model = load_model(path)
    assert model.spread_head is not None
    both = run_model(model, windows, "cpu", spread=True)
    alone = run_model(model, windows, "cpu")
    for w, b, a in zip(windows, both, alone):
        assert b.shape == (2,) + w.image.shape and np.array_equal(b[0], a)
    auto, _, _ = run_windows(path, windows, "cpu", spread=None)     # None: when the model has a head
    assert all(np.array_equal(a, b) for a, b in zip(auto, both))
    off, _, _ = run_windows(path, windows, "cpu")
    assert all(np.array_equal(a, b) for a, b in zip(off, alone))


def test_a_head_that_does_not_fit_its_config_is_refused(tmp_path):
    net = tiny()
    sd = {k: v for k, v in net.state_dict().items() if not k.startswith("spread_head.")}
    path = tmp_path / "headless.pt"
    torch.save({"format": WEIGHTS_FORMAT, "model_config": net.config, "state_dict": sd}, path)
    with pytest.raises(WeightsError, match="missing: spread_head"):
        load_model(path)
