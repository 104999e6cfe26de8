"""`corkit_inpaint.network.layer`: the partial convolution against a direct NumPy computation."""

import numpy as np
import pytest
import torch

from corkit_inpaint.network.layer import PartialConv2d


def numpy_pconv(x, m, w, b, stride, pad, multi):
    """O = W^T (X*M) sum(1)/sum(M) + b where sum(M) > 0, else 0; m' = sum(M) > 0."""
    n, cin, h, wd = x.shape
    cout, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    mp = np.pad(m, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((n, cout, ho, wo))
    newm = np.zeros((n, 1, ho, wo))
    for i in range(n):
        for y in range(ho):
            for xx in range(wo):
                xs = xp[i, :, y * stride:y * stride + k, xx * stride:xx * stride + k]
                ms = mp[i, :, y * stride:y * stride + k, xx * stride:xx * stride + k]
                msf = ms if multi else np.broadcast_to(ms, xs.shape)
                total = ms.size
                s = ms.sum()
                if s > 0:
                    for o in range(cout):
                        out[i, o, y, xx] = (w[o] * xs * msf).sum() * total / s + b[o]
                    newm[i, 0, y, xx] = 1
    return out, newm


@pytest.mark.parametrize("multi,stride,pad,k", [(False, 1, 1, 3), (False, 2, 2, 5), (True, 1, 1, 3), (True, 2, 1, 3)])
def test_layer_matches_numpy(multi, stride, pad, k):
    rng = np.random.default_rng(0)
    cin, cout = 3, 4
    x = rng.normal(size=(2, cin, 9, 9))
    m = (rng.random((2, cin if multi else 1, 9, 9)) > 0.5).astype(float)
    m[0, :, :5, :5] = 0          # a region where whole windows are empty
    layer = PartialConv2d(cin, cout, k, stride=stride, padding=pad, multi_channel=multi).double()
    out, newm = layer(torch.from_numpy(x), torch.from_numpy(m))
    ref, refm = numpy_pconv(x, m, layer.weight.detach().numpy(), layer.bias.detach().numpy(), stride, pad, multi)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(newm.numpy(), refm)
    assert (refm == 0).any(), "the test must cover empty windows"


def test_empty_window_is_zero_not_nan():
    layer = PartialConv2d(1, 2, 3, padding=1)
    with torch.no_grad():
        layer.bias.fill_(5.0)
    x = torch.full((1, 1, 8, 8), float("1e30"))
    m = torch.zeros(1, 1, 8, 8)
    out, newm = layer(x, m)
    assert torch.isfinite(out).all()
    assert (out == 0).all() and (newm == 0).all()


def test_forward_masked_equals_forward_with_a_multichannel_mask():
    """``forward_masked(X*M, count)`` is the layer itself: the UNet's decoder relies on it."""
    torch.manual_seed(0)
    layer = PartialConv2d(3, 5, 3, padding=1, multi_channel=True).double()
    x = torch.randn(2, 3, 10, 10, dtype=torch.float64)
    m = (torch.rand(2, 3, 10, 10) > 0.6).double()
    out, newm = layer(x, m)
    out2, newm2 = layer.forward_masked(x * m, m.sum(1, keepdim=True))
    assert torch.equal(newm, newm2)
    torch.testing.assert_close(out, out2, rtol=1e-12, atol=1e-12)
    # invalid entries are never read: changing them changes nothing
    x2 = torch.where(m.bool(), x, torch.full_like(x, 1e6))
    torch.testing.assert_close(layer(x2, m)[0], out, rtol=1e-12, atol=1e-9)
