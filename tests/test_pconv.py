"""The partial-convolution layer against a direct NumPy computation, and the UNet's composite."""

import numpy as np
import pytest
import torch

from corkit_inpaint.network.layer import PartialConv2d
from corkit_inpaint.network.unet import PConvUNet


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


def test_azimuthal_and_radial_guides_follow_their_geometry():
    """Circles about the Sun carry a ring across a hole; rays carry a radial streamer."""
    from corkit_inpaint.network.guides import path_fill
    yy, xx = np.mgrid[0:128, 0:128].astype(float)
    centre = (-40.0, 20.0)                     # the Sun outside the window, as for most windows
    r = np.hypot(yy - centre[0], xx - centre[1])
    th = np.arctan2(yy - centre[0], xx - centre[1])
    ring = np.exp(-0.5 * ((r - 110) / 5.0) ** 2)     # varies only with radius
    ray = np.exp(-0.5 * ((th - 1.0) / 0.05) ** 2)    # varies only with angle
    valid = np.ones((128, 128), dtype=bool)
    valid[48:80, 48:80] = False
    hole = ~valid
    azi, ok_a = path_fill(ring, valid, centre, "azimuthal")
    rad, ok_r = path_fill(ray, valid, centre, "radial")
    assert ok_a[hole].all() and ok_r[hole].all()
    assert np.abs(azi - ring)[hole].max() < 0.12 * ring.max()
    assert np.abs(rad - ray)[hole].max() < 0.12 * ray.max()
    # and each is wrong for the other geometry, so the test can fail
    assert np.abs(path_fill(ring, valid, centre, "radial")[0] - ring)[hole].max() > 0.5
    assert np.abs(path_fill(ray, valid, centre, "azimuthal")[0] - ray)[hole].max() > 0.5
    assert np.array_equal(azi[valid], ring[valid])
    with pytest.raises(ValueError, match="radial"):
        path_fill(ring, valid, centre, "spiral")
