"""`corkit_inpaint.methods.pconv_fourier` and `corkit_inpaint.methods.fourier_vae`: the Fourier variants' fills.

A small network of each architecture (its new parts given weights, so they
act) fills a real frame: valid pixels stay bit-identical, the fill is
deterministic and, for ``fourier-vae``, the sigma is the spread of the draws.
"""

import numpy as np
import pytest
import torch
from helpers import BLANK, blank, read_real

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods import get_method
from corkit_inpaint.methods.fourier_vae import DRAWS, FOURIER_VAE
from corkit_inpaint.methods.pconv_fourier import PCONV_FOURIER
from corkit_inpaint.network.device import run_model
from corkit_inpaint.network.registry import sha256sum
from corkit_inpaint.network.unet import PConvUNet
from corkit_inpaint.network.weights import WEIGHTS_FORMAT, load_model
from corkit_inpaint.network.windows import frame_windows
from corkit_inpaint.uncertainty.tables import table_for


def small(tmp_path, arch):
    torch.manual_seed(7)
    net = PConvUNet(widths=(8, 8, 8, 8), arch=arch)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if ".out." in name or "latent.inject" in name:
                p.normal_(0.0, 0.05)
    path = tmp_path / f"small-{arch}.pt"
    torch.save({"format": WEIGHTS_FORMAT, "model_config": net.config, "state_dict": net.state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def case():
    data, header = read_real()
    mask = blocks_to_mask(data.shape, BLANK)
    return data, Frame.build(blank(data, BLANK), mask, header)


def test_registered_under_their_names():
    assert get_method("pconv-fourier") is PCONV_FOURIER and get_method("fourier-vae") is FOURIER_VAE
    assert PCONV_FOURIER.model == "pconv-fourier-lasco-nb2" and FOURIER_VAE.model == "fourier-vae-lasco-nb2"


@pytest.mark.parametrize("arch", ["pconv-fourier", "fourier-vae"])
def test_fill_keeps_valid_pixels_and_names_the_model(tmp_path, case, arch):
    _, frame = case
    path = small(tmp_path, arch)
    method = get_method(arch)
    res = method.fill(frame, device="cpu", weights=path)
    assert np.array_equal(res.filled, frame.missing)
    assert np.array_equal(res.values[~frame.missing], frame.image[~frame.missing])
    assert np.all(np.isfinite(res.values))
    p = res.provenance
    assert (p.method, p.model, p.sha256) == (arch, path.stem, sha256sum(path))
    again = method.fill(frame, device="cpu", weights=path)
    assert np.array_equal(again.values, res.values)


def test_vae_sigma_is_the_spread_of_its_draws(tmp_path, case):
    _, frame = case
    path = small(tmp_path, "fourier-vae")
    res = FOURIER_VAE.fill(frame, device="cpu", weights=path)
    s = res.sigma
    assert s is not None and s.shape == frame.shape
    assert np.all(s[~frame.missing] == 0) and np.all(np.isfinite(s)) and np.all(s[frame.missing] > 0)
    # the fill is the prior mean's: what the same network gives without draws (eps = 0 in the same call)
    plain = get_method("pconv-smooth").fill(frame, device="cpu", weights=path)
    np.testing.assert_allclose(plain.values, res.values, rtol=1e-5)
    # the spread, by hand, from the windows' draws and the window's noise (stretched units, then DN)
    windows, owned, _ = frame_windows(frame)
    model = load_model(path)
    outs = run_model(model, windows, "cpu", draws=DRAWS)
    w, z, m = windows[0], outs[0], owned[0]
    assert z.shape == (1 + DRAWS,) + w.image.shape
    y0, y1, x0, x1 = w.box
    sd = np.hypot(z[1:].std(0, ddof=1), w.noise)[m] * w.scale
    assert np.all(sd > w.noise * w.scale)                              # the draws do differ
    vals = frame.stretch.forward(res.values[y0:y1, x0:x1][m])
    half = (frame.stretch.inverse(vals + sd) - frame.stretch.inverse(vals - sd)) / 2
    np.testing.assert_allclose(s[y0:y1, x0:x1][m], half, rtol=1e-6)


def test_draws_need_fourier_vae_weights(tmp_path, case):
    from corkit_inpaint.exceptions import InputError
    _, frame = case
    with pytest.raises(InputError, match="fourier-vae weights"):
        FOURIER_VAE.fill(frame, device="cpu", weights=small(tmp_path, "pconv-fourier"))


def test_draws_do_not_depend_on_the_batch(tmp_path, case):
    _, frame = case
    model = load_model(small(tmp_path, "fourier-vae"))
    windows = frame_windows(frame)[0]
    a = run_model(model, windows, "cpu", draws=4)
    b = run_model(model, windows, "cpu", draws=4, batch=1)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-5)
        assert not np.allclose(x[1], x[2])


@pytest.mark.slow                  # runs corkit's level 1
@pytest.mark.parametrize("method", ["pconv-fourier", "fourier-vae"])
def test_shipped_weights_fill_a_real_file_through_fill_and_level_1(tmp_path, blanked_file, calib, method):
    """The registered weights, end to end: provenance names the model, valid pixels are untouched."""
    from astropy.io import fits

    from corkit_inpaint.cli import main
    from corkit_inpaint.network.weights import resolve_weights
    model = get_method(method).model
    out = tmp_path / "filled.fts"
    assert main(["-q", "fill", str(blanked_file), "-o", str(out), "--method", method, "--device", "cpu"]) == 0
    data, _ = read_real()
    mask = blocks_to_mask(data.shape, BLANK)
    with fits.open(out) as h:
        hdr, filled = h[0].header, h[0].data
        assert (hdr["INPAINT"], hdr["INPMODEL"]) == (method, model)
        assert hdr["INPWSHA"] == resolve_weights(model).sha256[:16]
        assert np.array_equal(h["INPMASK"].data.astype(bool), mask)
        assert np.array_equal(filled[~mask], blank(data, BLANK)[~mask])
        has_sigma = method == "fourier-vae" or table_for("pconv-smooth", resolve_weights(model).sha256) is not None
        assert hdr["INPSIGMA"] == has_sigma
        if has_sigma:
            assert np.all(h["INPSIGMA"].data[mask] > 0) and not h["INPSIGMA"].data[~mask].any()
    l1 = tmp_path / "l1"
    assert main(["-q", "level_1", str(blanked_file), "-o", str(l1), "--calib-dir", str(calib),
                 "--inpaint", method, "--device", "cpu"]) == 0
    with fits.open(l1 / (blanked_file.stem + ".fits")) as h:
        assert (h[0].header["INPAINT"], h[0].header["INPMODEL"]) == (method, model)
        assert h["INPMASK"].data.sum() > 0


@pytest.mark.parametrize("method, weights", [("pconv-fourier", "pconv-lasco-nb3"),
                                             ("pconv-fourier", "fourier-vae-lasco-nb2"),
                                             ("fourier-vae", "pconv-fourier-lasco-nb2")])
def test_a_fourier_method_refuses_weights_of_another_network(tmp_path, blanked_file, capsys, method, weights):
    """``--method pconv-fourier --weights pconv-lasco-nb3`` ran the plain UNet and wrote ``INPAINT =
    'pconv-fourier'``: a file that named a network that never ran. Now one line, and nothing is written (a usage
    error since 0.1.30, found before any file is read)."""
    import corkit_inpaint as ci
    from corkit_inpaint.cli import main
    from corkit_inpaint.exceptions import InputError
    out = tmp_path / "filled.fts"
    assert main(["-q", "fill", str(blanked_file), "-o", str(out), "--method", method, "--weights", weights,
                 "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"method {method!r} needs {method} weights; {weights} is a" in err[0]
    assert not out.exists()
    with pytest.raises(InputError, match=f"needs {method} weights"):
        ci.inpaint_fits(blanked_file, out, method=method, weights=weights, device="cpu")
    assert not out.exists()
    # the plain network's methods run any architecture's weights, as documented
    assert ci.inpaint_fits(blanked_file, out, method="pconv-smooth", weights=weights,
                           device="cpu")[0].header["INPMODEL"] == weights
