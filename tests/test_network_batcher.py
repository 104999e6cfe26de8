"""`corkit_inpaint.network.batcher`: windows of concurrent fills gathered into large batches (the GPU path).

The gathering is exercised here on the CPU (threads, hand-back, errors); the
GPU itself -- and mixed precision within `TOLERANCE` of the float32 CPU
result -- only when CUDA is available (skipped otherwise).
"""

import threading

import numpy as np
import pytest
import torch
from helpers import C3_SEQ, read_file, seq_blocks

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.network.batcher import TOLERANCE, WindowBatcher, active_batcher, disable_batching, enable_batching
from corkit_inpaint.network.device import run_model, run_windows
from corkit_inpaint.network.weights import load_model
from corkit_inpaint.network.windows import frame_windows

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")


@pytest.fixture(scope="module")
def frames_windows():
    """The windows of the three real C3 frames, 8 blocks blanked in each."""
    out = []
    for k, src in enumerate(C3_SEQ):
        data, hdr = read_file(src)
        mask = blocks_to_mask(data.shape, seq_blocks(data, hdr, 8, seed=70 + k))
        out.append(frame_windows(Frame.build(np.where(mask, 0, data), mask, hdr))[0])
    return out


def in_threads(batcher, model, per_frame, device="cpu"):
    res, errs = [None] * len(per_frame), []

    def one(i):
        try:
            res[i] = batcher.run(model, per_frame[i], device)
        except Exception as exc:
            errs.append(exc)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(len(per_frame))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return res, errs


def test_concurrent_fills_share_passes_and_each_gets_its_own_outputs(frames_windows):
    model = load_model(None, device="cpu")
    b = WindowBatcher(wait_s=0.5)
    res, errs = in_threads(b, model, frames_windows)
    assert not errs and b.passes < len(frames_windows)
    for got, wins in zip(res, frames_windows):
        ref = run_model(model, wins, "cpu")
        assert len(got) == len(wins)
        for a, r in zip(got, ref):
            assert a.shape == r.shape
            np.testing.assert_allclose(a, r, rtol=0, atol=1e-4)


def test_a_gathering_never_exceeds_max_windows(frames_windows):
    model = load_model(None, device="cpu")
    b = WindowBatcher(max_windows=max(len(w) for w in frames_windows), wait_s=0.2)
    res, errs = in_threads(b, model, frames_windows)
    assert not errs and b.passes >= 2 and all(len(r) == len(w) for r, w in zip(res, frames_windows))


def test_an_error_reaches_every_fill_of_the_gathering(frames_windows):
    b = WindowBatcher(wait_s=0.2)
    res, errs = in_threads(b, load_model(None, device="cpu"), frames_windows, device="nonsense")
    assert len(errs) == len(frames_windows) and res == [None] * len(frames_windows)


def test_enabled_batching_is_not_used_on_the_cpu(frames_windows):
    ref, _, _ = run_windows(None, frames_windows[0], "cpu")
    b = enable_batching()
    try:
        assert active_batcher() is b
        outs, _, dev = run_windows(None, frames_windows[0], "cpu")
    finally:
        disable_batching()
    assert dev == "cpu" and b.passes == 0 and all(np.array_equal(a, r) for a, r in zip(outs, ref))
    assert active_batcher() is None


def test_precision_on_a_device_is_the_batcher_s_off_the_cpu_only():
    from corkit_inpaint.exceptions import InputError
    from corkit_inpaint.network.batcher import precision_on
    assert precision_on("cuda") == precision_on("auto") == "float32"            # no batcher
    enable_batching(precision="bfloat16")
    try:
        assert precision_on("cpu") == "float32" and precision_on("cuda") == precision_on("cuda:1") == "bfloat16"
        from corkit_inpaint.network.device import select_device
        assert precision_on("auto") == ("float32" if select_device("auto") == "cpu" else "bfloat16")
        with pytest.raises(InputError, match="not a torch device"):
            precision_on("gpu0")
    finally:
        disable_batching()


def test_precision_used_is_the_batcher_s_off_the_cpu_without_draws():
    """What the provenance records (INPPREC): the batcher's precision where `run_windows` handed it the windows
    (off the CPU, no latent draws), float32 elsewhere."""
    from corkit_inpaint.network.batcher import precision_used
    assert precision_used("cuda") == precision_used("cpu") == "float32"              # no batcher
    enable_batching(precision="float16")
    try:
        assert precision_used("cuda") == precision_used("cuda:1") == "float16"
        assert precision_used("cpu") == "float32"                                   # the CPU, or a fallback to it
        assert precision_used("cuda", draws=4) == "float32"                        # draws bypass the batcher
    finally:
        disable_batching()


def test_bad_precision():
    with pytest.raises(ValueError, match="precision"):
        WindowBatcher(precision="float8")


@CUDA
@pytest.mark.parametrize("precision", ["float32", "float16", "bfloat16"])
def test_gpu_batches_stay_within_tolerance_of_the_float32_cpu(frames_windows, precision):
    cpu = load_model(None, device="cpu")
    gpu = load_model(None, device="cuda")
    b = WindowBatcher(wait_s=0.5, precision=precision)
    res, errs = in_threads(b, gpu, frames_windows, device="cuda")
    assert not errs and b.passes < len(frames_windows)
    tol = 1e-3 if precision == "float32" else TOLERANCE
    for got, wins in zip(res, frames_windows):
        for a, r in zip(got, run_model(cpu, wins, "cpu")):
            assert np.max(np.abs(a - r)) <= tol, (precision, float(np.max(np.abs(a - r))))
