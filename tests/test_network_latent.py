"""`corkit_inpaint.network.latent` and the Fourier architectures of `PConvUNet`."""

import pytest
import torch

from corkit_inpaint.network.latent import Latent
from corkit_inpaint.network.unet import ARCHES, PConvUNet


def _case(n=2, h=64, w=80, guides=3):
    torch.manual_seed(0)
    x = torch.randn(n, 1, h, w)
    m = torch.ones_like(x)
    m[..., 16:48, 24:56] = 0
    return x * m, m, torch.randn(n, guides, h, w), x


def test_latent_starts_without_effect_and_its_kl_is_a_divergence():
    torch.manual_seed(1)
    lat = Latent(16)
    h = torch.randn(3, 16, 4, 5)
    out, kl = lat(h)
    assert torch.equal(out, h) and kl is None
    res, hole = torch.randn(3, 1, 64, 80), torch.zeros(3, 1, 64, 80)
    hole[..., 16:48, 24:56] = 1
    out, kl = lat(h, residual=res, hole=hole)
    assert kl.shape == (3, 1, 4, 5) and (kl >= 0).all() and kl.sum() > 0
    with torch.no_grad():                     # a posterior equal to the prior has no divergence
        lat.posterior.weight.zero_()
        lat.posterior.weight[:, :16] = lat.prior.weight
        lat.posterior.bias.copy_(lat.prior.bias)
    assert lat(h, residual=res, hole=hole)[1].abs().max() < 1e-5


@pytest.mark.parametrize("arch", ["pconv-fourier", "fourier-vae"])
def test_a_fourier_variant_started_from_pconv_weights_is_the_pconv_network(arch):
    """Every new part starts at zero: the widened network computes what the file's network did."""
    torch.manual_seed(2)
    plain = PConvUNet(widths=(8, 8, 8, 8)).eval()
    var = PConvUNet(widths=(8, 8, 8, 8), arch=arch).eval()
    missing = var.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing and all(k.split(".")[0] == "latent" or ".fskips." in k or ".fattn." in k for k in missing)
    x, m, g, _ = _case()
    with torch.no_grad():
        assert torch.allclose(plain(x, m, g)[-1], var(x, m, g)[-1], atol=1e-6)
    assert var.config["arch"] == arch and "arch" not in plain.config


def test_unknown_arch_is_refused():
    assert ARCHES == ("pconv", "pconv-fourier", "fourier-vae")
    with pytest.raises(ValueError, match="arch"):
        PConvUNet(arch="fourier")


def test_vae_draws_and_training_kl():
    torch.manual_seed(3)
    net = PConvUNet(widths=(8, 8, 8, 8), arch="fourier-vae")
    with torch.no_grad():
        net.latent.inject.weight.normal_(0, 0.5)
    x, m, g, truth = _case()
    net.eval()
    with torch.no_grad():
        mean = net(x, m, g)[-1]
        eps = torch.randn(3 * 2, 8, 4, 5)
        draws = net(x, m, g, eps=eps)[-1]
        again = net(x, m, g, eps=eps)[-1]
        zero = net(x, m, g, eps=torch.zeros_like(eps))[-1]
    assert net.kl is None and draws.shape == (6, 1, 64, 80) and torch.equal(draws, again)
    assert torch.allclose(zero, mean.repeat(3, 1, 1, 1), atol=1e-6)      # eps = 0 is the prior's mean
    valid = m.bool().repeat(3, 1, 1, 1)
    assert torch.equal(draws[valid], x.repeat(3, 1, 1, 1)[valid])      # valid pixels untouched in every draw
    assert (draws[:2] - draws[2:4])[~valid[:2]].abs().max() > 1e-4     # the draws differ in the hole
    net.train()
    outs = net(x, m, g, teacher=truth, teacher_prob=0.5)
    assert net.kl.shape == (2, 1, 4, 5) and torch.isfinite(net.kl).all()
    (outs[-1].sum() + net.kl.sum()).backward()
    assert net.latent.posterior.weight.grad.abs().sum() > 0
