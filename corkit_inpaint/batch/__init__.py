"""Batch runs on dask.distributed: many files, many workers, resumable through a manifest.

`run_batch` takes a `distributed.Client`; `local_client` starts a local
cluster for it (one process per worker, one torch thread each) and
`scheduler_client` joins an existing scheduler. Example::

    from corkit_inpaint.batch import local_client, run_batch

    with local_client(2) as client:
        summary = run_batch(client, files, "filled/", method="pconv-smooth", progress=True)
    print(summary.line())

`run_batch` is imported from `corkit_inpaint.batch.run`; only the cluster
helpers need ``distributed`` itself (the ``batch`` extra).
"""

from __future__ import annotations

from .cluster import local_client, require_distributed, scheduler_client
from .manifest import MANIFEST_NAME, Manifest
from .run import BatchSummary, run_batch
from .task import BatchOptions, FileTask, process_file

__all__ = ["run_batch", "BatchSummary", "local_client", "scheduler_client", "require_distributed",
           "Manifest", "MANIFEST_NAME", "BatchOptions", "FileTask", "process_file"]
