"""`corkit_inpaint.batch.cluster`: the local cluster on loopback, and clear errors."""

import os
import socket

import pytest

from corkit_inpaint.batch.cluster import local_client, require_distributed, scheduler_client
from corkit_inpaint.exceptions import BatchError


def test_require_distributed():
    assert require_distributed().__name__ == "distributed"


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_bad_worker_counts(n):
    with pytest.raises(BatchError, match="workers"), local_client(n):
        pass


def test_an_unreachable_scheduler_is_one_line():
    with socket.socket() as s:                      # a free loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BatchError, match=f"scheduler tcp://127.0.0.1:{port}: cannot connect"):
        with scheduler_client(f"tcp://127.0.0.1:{port}", timeout=2):
            pass


def test_local_cluster_is_on_loopback_with_one_thread_per_worker():
    with local_client(1) as c:
        info = c.scheduler_info()
        assert all(a.startswith("tcp://127.0.0.1:") for a in info["workers"])
        assert list(c.nthreads().values()) == [1]
        assert c.run(lambda: __import__("os").environ["OMP_NUM_THREADS"]) == {a: "1" for a in info["workers"]}
        # not dask's MALLOC_TRIM_THRESHOLD_=65536, which made each fill 1.6x slower
        trim = c.run(lambda: __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert set(trim.values()) == {os.environ.get("MALLOC_TRIM_THRESHOLD_")}
        here = listening()
        there = c.run(listening)
        assert here and all(there.values()), (here, there)
        assert {ip for ips in [here, *there.values()] for ip in ips} == {"127.0.0.1"}


def listening():
    """The addresses this process listens on (the scheduler's and its HTTP server's here; a worker's there)."""
    import psutil
    return sorted({c.laddr.ip for c in psutil.Process().net_connections(kind="inet") if c.status == "LISTEN"})


def test_gpu_workers_fill_several_frames_at_once_with_batching_on():
    from corkit_inpaint.network.batcher import active_batcher
    with local_client(1, gpu_frames=3, precision="float16") as c:
        assert list(c.nthreads().values()) == [3]
        got = c.run(lambda: (active_batcher() is not None, active_batcher().precision))
        assert list(got.values()) == [(True, "float16")]
