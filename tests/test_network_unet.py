"""`corkit_inpaint.network.unet`: the staged UNet composites its outputs; the stage masks grow by ``ring``."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from corkit_inpaint.network.unet import PConvUNet, ring_masks


def test_unet_composites_and_stages():
    torch.manual_seed(0)
    net = PConvUNet(stages=3, widths=(8, 8, 8, 8))
    x = torch.randn(2, 1, 64, 64)
    m = torch.ones_like(x)
    m[:, :, 16:48, 16:48] = 0
    g = torch.randn(2, 3, 64, 64)
    with pytest.raises(ValueError, match="3 guide channels"):
        net(x * m, m, g[:, :2])
    outs = net(x * m, m, g)
    assert len(outs) == 3
    for o in outs:
        assert o.shape == x.shape
        assert torch.equal(o[m.bool()], x[m.bool()])          # valid pixels come from the input
        assert torch.isfinite(o).all()
    assert not torch.equal(outs[-1][~m.bool()], g[:, :1][~m.bool()])   # the net changed the hole


def test_ring_masks_grow_the_mask_by_ring_pixels_per_stage():
    rng = np.random.default_rng(1)
    valid = np.ones((40, 48), dtype=bool)
    valid[10:30, 12:36] = False
    valid[rng.random(valid.shape) < 0.05] = False        # scattered invalid pixels too
    masks = ring_masks(torch.from_numpy(valid[None, None].astype(np.float32)), 4, 3)
    assert len(masks) == 4
    for stage, mk in enumerate(masks):
        expect = ndimage.binary_dilation(valid, np.ones((7, 7), bool), iterations=stage) if stage else valid
        assert np.array_equal(mk[0, 0].numpy().astype(bool), expect), stage


def test_extra_guides_are_ignored_and_config_is_recorded():
    """A model reads only its first ``extra_channels`` guides, so older models keep working."""
    torch.manual_seed(2)
    net = PConvUNet(stages=2, widths=(8, 8, 8), ring=4, extra_channels=2)
    assert net.config == {"stages": 2, "widths": [8, 8, 8], "ring": 4, "extra_channels": 2, "base": 0}
    x = torch.randn(1, 1, 32, 32)
    m = torch.ones_like(x)
    m[..., 8:24, 8:24] = 0
    g = torch.randn(1, 3, 32, 32)
    g2 = g.clone()
    g2[:, 2] += 5.0                                      # a third guide this model does not read
    g3 = g.clone()
    g3[:, 1] += 5.0                                      # the second guide, which it reads
    with torch.no_grad():
        a, b, c = (net(x * m, m, gg)[-1] for gg in (g, g2, g3))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_the_base_guide_is_what_the_first_stage_corrects():
    torch.manual_seed(0)
    net = PConvUNet(stages=1, widths=(8, 8), ring=2, extra_channels=4, base=3)
    for p in net.parameters():
        torch.nn.init.zeros_(p)                      # no correction: the output is the base in the hole
    img, mask = torch.ones(1, 1, 16, 16), torch.ones(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 0
    guides = torch.stack([torch.full((16, 16), float(k)) for k in range(4)])[None]
    out = net(img, mask, guides)[-1]
    assert torch.all(out[mask == 0] == 3.0) and torch.all(out[mask == 1] == 1.0)
    with pytest.raises(ValueError, match="base"):
        PConvUNet(extra_channels=3, base=3)


def test_the_noise_step_is_the_neighbour_estimates_expected_miss():
    """``step="noise"``: a correction of 1 moves a pixel with neighbours by max(misfit, noise), elsewhere by 1."""
    net = PConvUNet(stages=1, widths=(8, 8), ring=2, extra_channels=8, base=3, step="noise")
    assert net.config["step"] == "noise"
    g = torch.zeros(1, 8, 16, 16)
    g[:, 4, :, :8] = 1.0                                  # neighbours have data on the left half
    g[:, 6, :4, :8] = float(np.log1p(3.0))                # misfit 3x the noise in the top rows
    g[:, 7] = 0.05                                        # noise: 0.05 of the window scale
    unit = net.step_unit(g)[0, 0]
    assert torch.allclose(unit[:4, :8], torch.tensor(0.15)) and torch.allclose(unit[4:, :8], torch.tensor(0.05))
    assert torch.all(unit[:, 8:] == 1.0)
    g[:, 6, :4, :8] = float(np.log1p(1000.0))             # a neighbour that misses by far: the window scale
    assert torch.all(net.step_unit(g)[0, 0, :4, :8] == 1.0)
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    torch.nn.init.constant_(net.nets[0].ups[-1].conv.bias, 1.0)   # a correction of exactly 1 everywhere
    mask = torch.ones(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 0
    out = net(torch.zeros(1, 1, 16, 16), mask, g)[-1][0, 0]
    hole = mask[0, 0] == 0
    assert torch.allclose(out[hole], net.step_unit(g)[0, 0][hole]) and torch.all(out[~hole] == 0)
    with pytest.raises(ValueError, match="step"):
        PConvUNet(extra_channels=6, base=3, step="noise")
    assert "step" not in PConvUNet(extra_channels=6).config        # older configs are unchanged
