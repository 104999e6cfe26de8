"""Windows from many frames through the network in one batch: the GPU path of a batch run.

On a GPU one frame's few windows leave the device idle between small
batches. A worker that fills several frames at once, one per thread, can
instead hand every frame's windows to one `WindowBatcher`: the first thread to
arrive waits a moment (``wait_s``) for the others, then runs all the windows
that have gathered -- up to ``max_windows`` -- through the network in large
batches, and each thread gets its own outputs back. The rest of each fill
(reading, windows, compositing, writing) runs in its own thread as before.

`enable_batching` switches it on for a process (a dask worker: see
`corkit_inpaint.batch.local_client`); `corkit_inpaint.network.device.run_windows`
then uses it for any device but the CPU. The CPU path never uses it, so CPU
results stay bit-identical to the serial fill.

Mixed precision (``float16``/``bfloat16``) is an option, not the default: its
outputs must stay within `TOLERANCE` of the float32 CPU result, which
``tests/test_network_batcher.py`` checks on a GPU when one is available.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .device import PRECISIONS, run_model

__all__ = ["GPU_BATCH", "TOLERANCE", "WindowBatcher", "enable_batching", "disable_batching", "active_batcher",
           "precision_on", "precision_used"]

#: Windows per forward pass on a GPU.
GPU_BATCH = 256
#: Largest difference allowed between a reduced-precision GPU output and the float32 CPU
#: output, in the network's normalised units (a window's data spread is about 1).
TOLERANCE = 0.02

_active: WindowBatcher | None = None


@dataclass(eq=False)
class _Request:
    model: object
    windows: list
    device: str
    spread: bool = False
    result: list | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class WindowBatcher:
    """Gather the windows of concurrent fills and run them through the network together.

    Parameters
    ----------
    max_windows : int
        Most windows in one gathering (and per forward pass).
    wait_s : float
        How long the first fill to arrive waits for others.
    precision : {"float32", "float16", "bfloat16"}
        float32, or autocast to a reduced precision.
    """

    def __init__(self, *, max_windows: int = GPU_BATCH, wait_s: float = 0.01, precision: str = "float32"):
        if precision not in PRECISIONS:
            raise ValueError(f"precision {precision!r}: give one of {', '.join(PRECISIONS)}")
        self.max_windows, self.wait_s, self.precision = int(max_windows), float(wait_s), precision
        self.passes = 0                            # gatherings run (for tests and benchmarks)
        self._cv = threading.Condition()
        self._queue: list[_Request] = []
        self._busy = False

    def run(self, model, windows: list, device: str, *, spread: bool = False) -> list[np.ndarray]:
        """The final stage's output per window (and its spread), as `corkit_inpaint.network.device.run_model`
        gives it."""
        req = _Request(model, list(windows), device, spread)
        with self._cv:
            self._queue.append(req)
            self._cv.notify_all()
            deadline = time.monotonic() + self.wait_s
            while not req.done.is_set():
                full = sum(len(r.windows) for r in self._queue) >= self.max_windows
                if not self._busy and (full or time.monotonic() >= deadline):
                    taken = self._take(req)
                    self._busy = True
                    break
                self._cv.wait(timeout=max(deadline - time.monotonic(), 0.001))
            else:
                return self._outcome(req)
        self._lead(taken)
        return self._outcome(req)

    def _take(self, req: _Request) -> list[_Request]:
        """``req`` and the queued requests for the same model and device, up to ``max_windows``."""
        taken, n = [req], len(req.windows)
        for r in self._queue:
            if r is not req and r.model is req.model and r.device == req.device and r.spread == req.spread \
                    and n + len(r.windows) <= self.max_windows:
                taken.append(r)
                n += len(r.windows)
        self._queue = [r for r in self._queue if r not in taken]
        return taken

    def _lead(self, taken: list[_Request]) -> None:
        """Run the gathered windows outside the lock and hand each request its share."""
        try:
            outs = run_model(taken[0].model, [w for r in taken for w in r.windows], taken[0].device,
                             batch=self.max_windows, precision=self.precision, by_padded_shape=True,
                             spread=taken[0].spread)
            k = 0
            for r in taken:
                r.result, k = outs[k:k + len(r.windows)], k + len(r.windows)
        except BaseException as exc:                 # each fill gets the error (and may fall back to the CPU)
            for r in taken:
                r.error = exc
        finally:
            with self._cv:
                self.passes += 1
                self._busy = False
                for r in taken:
                    r.done.set()
                self._cv.notify_all()

    @staticmethod
    def _outcome(req: _Request) -> list[np.ndarray]:
        if req.error is not None:
            raise req.error
        return req.result


def enable_batching(**kwargs) -> WindowBatcher:
    """Make a `WindowBatcher` (``kwargs`` as for it) the process's; returns it."""
    global _active
    _active = WindowBatcher(**kwargs)
    return _active


def disable_batching() -> None:
    """Back to running each fill's windows alone."""
    global _active
    _active = None


def active_batcher() -> WindowBatcher | None:
    """The process's `WindowBatcher`, or None."""
    return _active


def precision_on(device: str) -> str:
    """The precision the network runs in, in this process, for a fill asked to run on ``device``.

    The enabled `WindowBatcher`'s precision when ``device`` resolves to another
    device than the CPU (`corkit_inpaint.network.device.run_windows` then hands
    it the windows); float32 otherwise: without a batcher, and on the CPU, which
    is always float32. A fill that falls back to the CPU, or runs latent draws
    (which bypass the batcher), runs in float32 all the same.

    Parameters
    ----------
    device : str
        ``"auto"`` or a torch device string, as given to the fill.

    Returns
    -------
    str
        One of `corkit_inpaint.network.device.PRECISIONS`.

    Raises
    ------
    InputError
        ``device`` is not a torch device string (only checked with a reduced-precision batcher enabled).
    """
    batcher = active_batcher()
    if batcher is None or batcher.precision == "float32":
        return "float32"
    from .device import select_device
    return "float32" if select_device(device) == "cpu" else batcher.precision


def precision_used(device: str, draws: int = 0) -> str:
    """The precision `corkit_inpaint.network.device.run_windows` ran the network in, in this process.

    Parameters
    ----------
    device : str
        The device it ran on, as `run_windows` returns it (``"cpu"`` after a fallback to the CPU).
    draws : int, optional
        The latent draws it was asked for: those bypass the batcher, so run in float32.

    Returns
    -------
    str
        The enabled `WindowBatcher`'s precision off the CPU without ``draws``; ``"float32"`` otherwise
        (the CPU is always float32). What the fill's provenance and its ``INPPREC`` keyword record.
    """
    return "float32" if draws else precision_on(device)
