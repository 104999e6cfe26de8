"""`corkit_inpaint.network.fourier`: the Fourier layers start as the identity and see the whole window."""

import pytest
import torch

from corkit_inpaint.network.fourier import FourierAttention, FourierSkip


def _perturb(module):
    torch.manual_seed(5)
    with torch.no_grad():
        for p in module.out.parameters():
            p.normal_(0.0, 0.3)


@pytest.mark.parametrize("shape", [(2, 8, 12, 12), (1, 12, 9, 14)])
def test_both_layers_start_as_the_identity(shape):
    torch.manual_seed(0)
    x = torch.randn(*shape)
    assert torch.equal(FourierAttention(shape[1])(x), x)
    enc = torch.randn(*shape)
    assert torch.equal(FourierSkip(shape[1], shape[1])(enc, x), x)


def test_attention_sees_the_whole_window():
    """A change in one corner moves the output in the opposite corner (a 3x3 convolution would not)."""
    torch.manual_seed(1)
    layer = FourierAttention(8)
    _perturb(layer)
    x = torch.randn(1, 8, 16, 16)
    y = x.clone()
    y[..., 0, 0] += 3.0
    a, b = layer(x), layer(y)
    assert a.shape == x.shape and torch.isfinite(a).all()
    assert (a[..., 15, 15] - b[..., 15, 15]).abs().max() > 1e-4


def test_attention_heads_divide_the_channels():
    assert FourierAttention(12, heads=8).heads == 6 and FourierAttention(7).heads == 1


def test_skip_convolves_encoder_and_decoder_features():
    """The skip's output is the circular convolution of the two projected maps (through the projection)."""
    torch.manual_seed(2)
    layer = FourierSkip(4, 6, width=3)
    _perturb(layer)
    enc, dec = torch.randn(1, 4, 10, 12), torch.randn(1, 6, 10, 12)
    out = layer(enc, dec) - dec
    a, b = layer.pe(enc)[0], layer.pd(dec)[0]
    conv = torch.zeros_like(a)
    for dy in range(10):                      # circular convolution, written out
        for dx in range(12):
            conv += a[:, dy, dx, None, None] * torch.roll(b, (dy, dx), (-2, -1))
    expect = layer.out(conv[None] * layer.reference / (10 * 12))     # a mean over the window, times its scale
    assert torch.allclose(out, expect, atol=1e-4)
    # the encoder's far corner reaches the decoder's output
    enc2 = enc.clone()
    enc2[..., 0, 0] += 2.0
    assert (layer(enc2, dec) - layer(enc, dec))[..., 5, 6].abs().max() > 1e-4


def test_skip_does_not_grow_with_the_window():
    """Constant maps: the skip's output is the same on every window size (it is a mean, times a fixed scale)."""
    layer = FourierSkip(2, 2, width=2, reference=12)
    _perturb(layer)
    sizes = [(12, 12), (24, 24), (40, 56)]
    outs = [layer(torch.ones(1, 2, h, w), torch.ones(1, 2, h, w))[0, :, 0, 0] for h, w in sizes]
    for o in outs[1:]:
        assert torch.allclose(o, outs[0], rtol=1e-4)
