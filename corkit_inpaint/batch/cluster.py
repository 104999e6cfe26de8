"""Where a batch runs: a local dask cluster (one process per worker), or an existing scheduler."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from ..exceptions import BatchError
from ..threads import DEFAULT_THREADS, check_threads

__all__ = ["require_distributed", "local_client", "scheduler_client", "enable_gpu_batching", "GPU_FRAMES"]

#: Frames a GPU worker fills at once (threads), whose windows go through the network together.
GPU_FRAMES = 16

log = logging.getLogger(__name__)


def require_distributed():
    """The ``distributed`` module; `BatchError` with what to install when it is missing."""
    try:
        import distributed
    except ImportError:
        raise BatchError("batch runs (--workers, --scheduler) need dask.distributed: "
                         "pip install 'corkit-inpaint[batch]' (or: pip install dask distributed)") from None
    return distributed


@contextlib.contextmanager
def local_client(workers: int, *, threads: int | None = DEFAULT_THREADS, gpu_frames: int = 0,
                 precision: str = "float32") -> Iterator:
    """A `distributed.Client` on a new `distributed.LocalCluster`, closed after the block.

    Parameters
    ----------
    workers : int
        Worker processes, each running one file at a time.
    threads : int, optional
        torch threads per worker (``OMP_NUM_THREADS`` of the worker processes);
        None: `corkit_inpaint.threads.DEFAULT_THREADS`.
    gpu_frames : int
        For a GPU: each worker fills this many frames at once (one thread
        each) and runs their windows through the network together
        (`enable_gpu_batching`). 0: one frame at a time, on the CPU.
    precision : {"float32", "float16", "bfloat16"}
        The network's precision on the GPU (with ``gpu_frames``).

    Notes
    -----
    The cluster listens on 127.0.0.1 only (free ports), without a dashboard. Workers whose
    scheduler goes away (this process killed) stop themselves after 30 s.
    """
    distributed = require_distributed()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise BatchError(f"workers = {workers!r}: give a whole number >= 1")
    n = DEFAULT_THREADS if threads is None else check_threads(threads) or DEFAULT_THREADS
    import dask
    # dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which turns off glibc's adaptive mmap
    # threshold: every large array is then mapped and faulted in afresh, and a fill took 1.6x as long
    with _quiet_dask(), dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        with _workers_ignore_sigint():
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=max(1, gpu_frames), processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR, death_timeout=30,
                env={"OMP_NUM_THREADS": str(n)},
                # no dashboard; its bare HTTP server on a free loopback port, not :8787
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        try:
            with distributed.Client(cluster) as client:
                if gpu_frames:
                    enable_gpu_batching(client, precision=precision)
                yield client
        finally:
            cluster.close()


@contextlib.contextmanager
def _workers_ignore_sigint() -> Iterator[None]:
    """SIGINT ignored while the worker processes start, so they inherit that (Python keeps an ignored SIGINT
    ignored): Ctrl-C on a terminal reaches the whole process group, and each worker printed a
    ``KeyboardInterrupt`` traceback before this process, which gets it as usual, stopped them itself."""
    import signal
    try:
        before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:                  # not the main thread: the workers get Ctrl-C as they would
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@contextlib.contextmanager
def scheduler_client(address: str, *, timeout: float = 30.0) -> Iterator:
    """A `distributed.Client` on the scheduler at ``address``; `BatchError` when it cannot be reached."""
    distributed = require_distributed()
    with _quiet_dask():
        try:
            client = distributed.Client(address, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise BatchError(f"scheduler {address}: cannot connect "
                             f"({' '.join(str(exc).split()) or type(exc).__name__})") from None
        with client:
            yield client


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """dask's own log (start/stop chatter, reconnection tracebacks) off unless debugging: the batch reports itself."""
    names = ["distributed"] + [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
    loggers = [logging.getLogger(n) for n in names]       # dask's config gives some their own level
    levels = [lg.level for lg in loggers]
    if loggers[0].getEffectiveLevel() > logging.DEBUG:
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def enable_gpu_batching(client, *, precision: str = "float32") -> None:
    """Switch on `corkit_inpaint.network.batcher` in every worker of ``client`` (for workers with several threads)."""
    client.run(_enable_batching, precision=precision)


def _enable_batching(precision: str) -> None:
    from ..network.batcher import enable_batching
    enable_batching(precision=precision)                 # returns nothing: the batcher stays in the worker
