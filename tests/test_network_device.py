"""`corkit_inpaint.network.device`: device choice, running the model on windows, the CPU fallback."""

import logging

import numpy as np
import pytest
import torch
from helpers import BLANK, blank, read_real

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.network.device import run_windows, select_device
from corkit_inpaint.network.registry import default_model_name
from corkit_inpaint.network.weights import resolve_weights
from corkit_inpaint.network.windows import frame_windows


@pytest.fixture(scope="module")
def windows():
    data, header = read_real()
    mask = blocks_to_mask(data.shape, BLANK)
    return frame_windows(Frame.build(blank(data, BLANK), mask, header))[0]


def test_select_device_passes_explicit_devices_through():
    for dev in ("cpu", "cuda", "cuda:1", "mps"):
        assert select_device(dev) == dev


def test_auto_is_the_cpu_here():
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("an accelerator is present; 'auto' picks it")
    assert select_device("auto") == select_device() == "cpu"


def test_run_windows_on_cpu(windows):
    outs, model, dev = run_windows(None, windows, "cpu")
    assert dev == "cpu" and len(outs) == len(windows) > 1
    assert model.model_id == default_model_name() and model.sha256 == resolve_weights(None).sha256
    for w, z in zip(windows, outs):
        assert z.shape == w.image.shape and np.all(np.isfinite(z))
        # the network's output keeps the context it was given (it composites valid pixels)
        np.testing.assert_allclose(z[w.valid], w.image[w.valid], rtol=0, atol=1e-6)
        assert not np.allclose(z[~w.valid], 0.0)


def test_failing_device_falls_back_to_cpu(windows, caplog):
    from corkit_inpaint.network import device
    ref, _, _ = run_windows(None, windows, "cpu")
    device._WARNED.clear()
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        outs, model, dev = run_windows(None, windows, "cuda:99")   # no such device, with or without CUDA
    assert dev == "cpu" and "falling back to the CPU" in caplog.text and "cuda:99" in caplog.text
    assert all(np.array_equal(a, b) for a, b in zip(outs, ref))
    assert model.model_id == default_model_name()


def test_windows_smaller_than_the_unet_multiple_are_padded_and_cropped():
    rng = np.random.default_rng(3)
    img = 800.0 + 30.0 * rng.standard_normal((40, 70))            # no side a multiple of 16
    mask = np.zeros(img.shape, dtype=bool)
    mask[12:28, 30:50] = True
    ws = frame_windows(Frame.build(np.where(mask, 0, img), mask))[0]
    assert ws[0].image.shape == (40, 70)
    (z,), _, _ = run_windows(None, ws, "cpu")
    assert z.shape == (40, 70) and np.all(np.isfinite(z))


def test_a_network_deeper_than_the_window_multiple_runs(tmp_path):
    """Six levels halve a window 64 times: windows are padded to a multiple of 64 for it, not 16 (was a raw
    RuntimeError from a size mismatch in the decoder)."""
    from corkit_inpaint.network.device import run_model
    from corkit_inpaint.network.unet import PConvUNet
    from corkit_inpaint.network.weights import WEIGHTS_FORMAT, load_model
    torch.manual_seed(0)
    net = PConvUNet(widths=(4,) * 6, extra_channels=3)
    path = tmp_path / "deep.pt"
    torch.save({"format": WEIGHTS_FORMAT, "model_config": net.config, "state_dict": net.state_dict()}, path)
    rng = np.random.default_rng(3)
    img = 800.0 + 30.0 * rng.standard_normal((100, 120))
    mask = np.zeros(img.shape, dtype=bool)
    mask[40:72, 40:72] = True
    ws = frame_windows(Frame.build(np.where(mask, 0, img), mask))[0]
    outs = run_model(load_model(path), ws, "cpu")
    assert [o.shape for o in outs] == [w.image.shape for w in ws] and all(np.isfinite(o).all() for o in outs)
