"""The ``--workers`` / ``--scheduler`` path of ``fill`` and ``level_1``: a resumable batch on dask.distributed.

Not a subcommand: ``fill`` and ``level_1`` hand their files here when either
option is given (see `corkit_inpaint.batch`).
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from ..exceptions import BatchError
from .common import err, file_err, say

__all__ = ["wants_batch", "batch_only", "run_batch_command"]


def wants_batch(args: argparse.Namespace) -> bool:
    """Whether ``--workers`` or ``--scheduler`` was given."""
    return args.workers is not None or args.scheduler is not None


def batch_only(args: argparse.Namespace) -> str:
    """Why an option of the batch alone was given without one ("" when it was not)."""
    if not wants_batch(args) and args.precision != "float32":
        return f"--precision {args.precision} applies to a batch on a GPU: give --workers N or --scheduler ADDRESS"
    return ""


@contextlib.contextmanager
def _client(args):
    """The client of the batch; on a CUDA device each worker fills several frames at once, batched."""
    from ..batch.cluster import GPU_FRAMES, enable_gpu_batching, local_client, scheduler_client
    gpu = args.device.startswith("cuda") or (args.device == "auto" and _cuda_here())
    if args.scheduler is not None:
        with scheduler_client(args.scheduler) as client:
            if gpu:
                enable_gpu_batching(client, precision=args.precision)
            yield client
        return
    with local_client(args.workers, threads=args.threads_n, gpu_frames=GPU_FRAMES if gpu else 0,
                      precision=args.precision) as client:
        yield client


def _cuda_here() -> bool:
    from ..network.device import select_device
    return select_device("auto").startswith("cuda")


def run_batch_command(args: argparse.Namespace, command: str, outdir: str, method: str | None,
                      srcs: list[Path] | None = None) -> int:
    """Run the files of ``args`` (``srcs``: those of them, each file once) as a batch; 0 all done or skipped, 1 some
    failed, 2 usage or no cluster."""
    from ..batch.run import run_batch
    from ..register import check_max_gap
    from ..threads import check_threads, default_threads
    if args.workers is not None and args.workers < 1:
        err(f"--workers {args.workers}: give 1 or more worker processes")
        return 2
    try:
        # per worker: --threads, else $CORKIT_INPAINT_THREADS, else 1 (as for a serial run)
        args.threads_n = default_threads() if args.threads is None else check_threads(args.threads, "--threads")
        check_max_gap(args.max_gap, "--max-gap")
        files = [Path(s) for s in (args.src if srcs is None else srcs)]
        with _client(args) as client:
            summary = run_batch(client, files, outdir, command=command, method=method,
                                neighbours=args.neighbours, max_gap=args.max_gap, pool=args.neighbour_pool,
                                device=args.device, weights=args.weights, threads=args.threads_n,
                                overwrite=args.overwrite, refill=args.refill,
                                max_pixels=getattr(args, "max_pixels", None),
                                calib_dir=getattr(args, "calib_dir", None), progress=not args.quiet)
    except (BatchError, ValueError) as exc:        # InputError is a ValueError
        err(str(exc))
        return 2
    except OSError as exc:                         # the output folder, its manifest or lock cannot be used
        err(f"{exc.filename or outdir}: {exc.strerror or exc}")
        return 2
    for src, why in summary.failures:
        file_err(src, why)
    if not args.quiet:
        say(f"corkit-inpaint {command}: {summary.line()}; manifest {summary.manifest}")
    return 1 if summary.failed else 0
