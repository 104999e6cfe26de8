"""The client side of a batch: pair the whole list, plan each file against the manifest, spread, record.

Neighbours are paired over the whole file list first, exactly as the serial
``fill`` and ``level_1`` do, so a frame gets the same neighbours whichever
worker fills it. Then each file is planned against the manifest (skip, redo,
may its output be replaced), submitted to the client's workers a few at a
time, and its record appended to the manifest as it comes back. Only this
process writes the manifest.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..exceptions import BatchError, check_switch, naming
from ..methods import DEFAULT_METHOD
from ..network.weights import names_a_file, weights_inputs
from ..outputs import distinct_files, input_clash, output_clash, remove_stale_temps
from ..pairing import MAX_GAP_MINUTES, neighbours_for
from ..register import check_max_gap
from ..threads import check_threads
from .manifest import Manifest, input_key
from .task import COMMANDS, BatchOptions, FileTask, check_file, one_line, process_file

__all__ = ["BatchSummary", "plan_tasks", "remove_stale_temporaries", "run_batch"]

#: Seconds a temporary beside a batch's output must have gone unwritten before a rerun removes it.
RERUN_STALE_AFTER = 5.0

log = logging.getLogger(__name__)


@dataclass
class BatchSummary:
    """What a batch run did.

    Attributes
    ----------
    total, done, skipped, failed : int
        Inputs; done in this run; skipped (done before, input unchanged); failed.
    seconds : float
        Wall time of the run, from the first file submitted.
    failures : list of (str, str)
        ``(input, reason)`` of each failed file.
    manifest : pathlib.Path
    """

    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    failures: list = field(default_factory=list)
    manifest: Path | None = None

    @property
    def frames_per_second(self) -> float:
        """Files done in this run per second of wall time."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """One line: done, skipped, failed, frames per second."""
        return (f"{self.done} done, {self.skipped} skipped, {self.failed} failed of {self.total} files "
                f"in {self.seconds:.1f} s ({self.frames_per_second:.2f} frames/s)")


def _output(src: Path, outdir: Path, command: str) -> Path:
    if command == "fill":
        return outdir / src.name
    from ..level1 import output_name
    return outdir / output_name(src)


def plan_tasks(files: Iterable, outdir: str | os.PathLike, pairs: dict, records: dict, options: BatchOptions,
               *, overwrite: bool = False) -> tuple[list[FileTask], list[dict]]:
    """Each input's `FileTask`, and a ``failed`` record for each input whose output name another input has.

    ``records`` is the manifest (`Manifest.read`). A ``done`` record with a
    recipe and the output's sha256 lets the task skip when both still hold
    (`corkit_inpaint.batch.task.process_file`). The batch owns an output
    with ``overwrite``, when it is absent now, or when the manifest names it
    as this input's: ``done``, or ``running`` or ``failed`` by a task that
    owned it (``owns``), so a file the batch never wrote is not taken over
    when a run stopped before a worker refused it, and one failed attempt does
    not disown a good output. Owning is not enough to replace a file: the
    worker replaces only one that is the batch's own, stamped with its id or
    the file its ``done`` record says it wrote (`corkit_inpaint.batch.stamp`),
    so a file written at that path by another process since (while this run
    goes on, or after a run was killed) is left as it is.
    """
    tasks, clashes, taken = [], [], {}
    for f in files:
        src, key = Path(f), input_key(f)
        dst = _output(src, Path(outdir), options.command)
        rec = records.get(key) or {}
        ours = rec.get("output") == str(dst) and (   # a running record of before 0.1.2 has no "owns": it was ours
            rec.get("status") == "done" or (rec.get("status") == "running" and rec.get("owns", True) is True)
            or (rec.get("status") == "failed" and rec.get("owns") is True))
        if str(dst) in taken:
            clashes.append({"path": key, "output": str(dst), "status": "failed", "command": options.command,
                            "method": options.method, "owns": ours,
                            "error": f"output {dst} is also the output of {taken[str(dst)]}"})
            continue
        taken[str(dst)] = key
        # the batch's own file as last known: a running or failed record carries its done record's sha256
        wrote = rec.get("output_sha256") if ours else None
        skip = rec.get("status") == "done" and wrote and rec.get("recipe")
        tasks.append(FileTask(key, str(dst), tuple(str(p) for p in pairs.get(src, [])),
                              replace=bool(overwrite or ours or not (dst.exists() or dst.is_symlink())),
                              done=(rec["recipe"], rec["output_sha256"]) if skip else None,
                              overwrite=overwrite, written=wrote))
    return tasks, clashes


def remove_stale_temporaries(tasks: Iterable[FileTask], min_age: float = RERUN_STALE_AFTER) -> int:
    """Remove the temporaries a killed worker left beside the outputs of ``tasks``; how many were removed.

    Only the outputs the batch owns (``replace``) are looked at, and only temporaries whose writer is gone
    (`corkit_inpaint.outputs.remove_stale_temps`): its lock free, and unwritten for ``min_age`` seconds
    (`RERUN_STALE_AFTER` by default, not a minute as for a serial run, since the batch holds the folder's lock;
    a writer holds its temporary's lock from a moment after making it). At the end of a run, when every writer
    of this one is done, 0: a killed run's writer still at work holds its lock.
    """
    tasks = list(tasks)
    return remove_stale_temps([task.output for task in tasks if task.replace], min_age=min_age,
                              keep=[p for task in tasks for p in (task.output, task.src, *task.neighbours)])


def _submit(client, task: FileTask, options: BatchOptions, manifest: Manifest):
    """A file recorded ``done`` is checked first (`check_file`: it keeps its record); the others are marked
    ``running`` before they are run, so a run killed while a worker writes knows the output may be its own."""
    key = f"corkit-inpaint-{os.urandom(8).hex()}"
    if task.done is not None:
        return client.submit(check_file, task, options, pure=False, key=key)
    manifest.append({"path": task.src, "output": task.output, "status": "running", "command": options.command,
                     "method": options.method, "owns": task.replace, "output_sha256": task.written})
    return client.submit(process_file, task, options, pure=False, key=key)


def _result(client, fut, task: FileTask, options: BatchOptions) -> dict:
    try:
        return fut.result()
    except Exception as exc:              # the worker died under it (KilledWorker), or it was lost
        if client.status != "running":    # the scheduler is gone: stop here, a rerun resumes
            raise BatchError(f"lost the dask scheduler ({one_line(exc)}); rerun to resume") from None
        return {"path": task.src, "output": task.output, "status": "failed", "command": options.command,
                "method": options.method, "owns": task.replace, "output_sha256": task.written,
                "error": f"worker lost the file: {one_line(exc)}"}


def _count(summary: BatchSummary, rec: dict, manifest: Manifest) -> None:
    if rec["status"] == "skipped":
        summary.skipped += 1
        return
    manifest.append(rec)
    for said in rec.get("warnings") or ():          # what the worker warned of, said here, naming the file
        log.warning("%s", naming(rec["path"], said))
    if rec["status"] == "done":
        summary.done += 1
    else:
        summary.failed += 1
        summary.failures.append((rec["path"], rec.get("error") or "failed"))
        why = rec.get("error") or "failed"           # the summary lists it (the CLI prints it once, at the end)
        log.info("%s", naming(rec["path"], why))


def _in_flight(client) -> int:
    try:
        return max(4, 2 * sum(client.nthreads().values()))
    except Exception as exc:
        raise BatchError(f"the dask scheduler does not answer ({one_line(exc)})") from None


def _spread(client, tasks: list[FileTask], options: BatchOptions, manifest: Manifest, summary: BatchSummary,
            progress: bool) -> None:
    """Submit ``tasks`` a window at a time and record each result as it comes back.

    The tasks run with the manifest's batch id (`Manifest.batch`), which every output is stamped with.
    """
    from distributed import as_completed
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm
    options = replace(options, batch=manifest.batch)
    limit, todo, owner = _in_flight(client), iter(tasks), {}
    bar = tqdm(total=len(tasks), desc=options.command, unit="file", disable=not progress or None)
    pending = as_completed()
    under_bar = logging_redirect_tqdm() if progress else contextlib.nullcontext()   # warnings on their own lines

    def submit(task: FileTask) -> None:
        fut = _submit(client, task, options, manifest)
        owner[fut.key] = (fut, task)
        pending.add(fut)

    with under_bar:
        try:
            for task in todo:
                submit(task)
                if len(owner) >= limit:
                    break
            for fut in pending:
                _, task = owner.pop(fut.key)
                rec = _result(client, fut, task, options)
                fut.release()                  # recorded: dask must not run it again if its worker dies now
                if rec["status"] == "redo":    # checked, and changed: now marked running, and run
                    submit(replace(task, done=None))
                    continue
                _count(summary, rec, manifest)
                bar.update(1)
                bar.set_postfix(done=summary.done, skipped=summary.skipped, failed=summary.failed, refresh=False)
                nxt = next(todo, None)
                if nxt is not None:
                    submit(nxt)
        finally:
            bar.close()
            if owner:                          # interrupted: stop what is still queued
                with contextlib.suppress(Exception):
                    client.cancel([f for f, _ in owner.values()])


def _one_command(records: dict, command: str, out: Path) -> None:
    """Refuse a batch into a folder whose manifest records another command's batch: the manifest holds one record
    per input, so this run's records would replace that batch's, and its next rerun would take its own outputs
    for another's (battery s35)."""
    other = sorted({str(r.get("command")) for r in records.values() if r.get("command")} - {command})
    if other:
        raise BatchError(f"{out}: its manifest records a '{other[0]}' batch; give this '{command}' batch "
                         "another output folder")


def _options(command, method, device, weights, threads, refill, max_pixels, calib_dir, max_gap) -> BatchOptions:
    """`run_batch`'s options, checked, with its paths absolute: the recipe is the same however they are written
    (battery s35: ``./cal`` and ``cal`` redid every file), and a worker in another folder reads the same files."""
    from ..read import MAX_PIXELS
    return BatchOptions(command, method, device,
                        None if weights is None else
                        os.path.abspath(weights) if names_a_file(str(weights)) else str(weights),
                        None if threads is None else check_threads(threads), refill,
                        MAX_PIXELS if max_pixels is None else int(max_pixels),
                        None if calib_dir is None else os.path.abspath(calib_dir), check_max_gap(max_gap))


def run_batch(client, files, outdir: str | os.PathLike, *, command: str = "fill", method: str | None = DEFAULT_METHOD,
              neighbours="auto", max_gap: float | None = MAX_GAP_MINUTES, pool=(), device: str = "auto", weights=None,
              threads: int | None = 1, overwrite: bool = False, refill: bool = False, max_pixels: int | None = None,
              calib_dir=None, progress: bool = False) -> BatchSummary:
    """Fill (or calibrate) many files on a dask cluster, resumably, with a manifest in ``outdir``.

    Parameters
    ----------
    client : distributed.Client
        Where the files are processed (`corkit_inpaint.batch.local_client`
        starts a local cluster). Each worker loads the model once.
    files : iterable of path-like
        Level-0.5 files; only read. A file given twice is processed once.
    outdir : path-like
        Output folder (created if needed): the outputs keep the inputs' names
        (``fill``) or take `corkit_inpaint.level1.output_name` (``level_1``),
        and ``corkit-inpaint-manifest.jsonl`` records every input.
    command : {"fill", "level_1"}
    method : str or None
        Fill method (``level_1``: None calibrates without filling).
    neighbours, max_gap, pool
        As for `corkit_inpaint.pairing.neighbours_for`, over the whole list.
    device, weights, threads, overwrite, refill, max_pixels, calib_dir
        As for `corkit_inpaint.inpaint_fits` and `corkit_inpaint.level_1`;
        ``threads`` is per worker (one by default).
    progress : bool
        One progress bar for the batch, on a terminal (none when stderr is a file: a batch system's log).

    Returns
    -------
    BatchSummary
        Counts (a file that failed is counted, never raised), and the wall time.

    Raises
    ------
    BatchError
        An output would be one of the run's inputs (a file, a neighbour, a pool
        file) or two inputs' output (checked before anything is written), another run holds
        ``outdir``, or the scheduler does not answer.

    Notes
    -----
    A rerun skips each input whose record is ``done`` when its recipe (the input's and neighbours' sha256,
    the options, the workers' GPU precision, the version: `corkit_inpaint.batch.task.recipe`) is unchanged and
    its output is the file that run wrote (sha256), checked on the workers; anything else is redone. An
    interrupted run resumes: outputs are written atomically, one the stopped run may have written
    (``running`` by a task that owned it) is replaced, and temporaries killed workers left beside the outputs
    are removed, at the start and at the end. Outputs are stamped ``INPBATCH``: without ``overwrite`` only
    the batch's own is replaced, an empty path taken exclusively (`corkit_inpaint.batch.stamp`).
    """
    if command not in COMMANDS:
        raise ValueError(f"command = {command!r}: give one of {', '.join(COMMANDS)}")
    overwrite, refill = check_switch(overwrite, "overwrite"), check_switch(refill, "refill")    # (review s36)
    options = _options(command, method, device, weights, threads, refill, max_pixels, calib_dir, max_gap)
    srcs = [Path(input_key(f)) for f in distinct_files(files)]       # links and ./ resolved: each file once
    pool = [Path(input_key(p)) for p in pool]
    pairs = neighbours_for(srcs, neighbours, max_gap=max_gap, pool=pool, progress=progress,
                           max_pixels=options.max_pixels)
    out = Path(os.path.abspath(outdir))
    outs = [_output(s, out, command) for s in srcs]
    ins = [*srcs, *pool, *(n for ns in pairs.values() for n in ns), *weights_inputs(weights)]     # none an output
    if why := input_clash(outs, ins) or output_clash(zip(srcs, outs)):
        raise BatchError(why)
    out.mkdir(parents=True, exist_ok=True)
    with Manifest(out) as manifest:
        records = manifest.read()
        _one_command(records, command, out)
        tasks, clashes = plan_tasks(srcs, out, pairs, records, options, overwrite=overwrite)
        remove_stale_temporaries(tasks)
        summary = BatchSummary(total=len(srcs), manifest=manifest.path)
        for rec in clashes:
            _count(summary, rec, manifest)
        t0 = time.perf_counter()
        try:
            _spread(client, tasks, options, manifest, summary, progress)
            remove_stale_temporaries(tasks, min_age=0.0)     # a killed run's, too young at the start
        finally:
            summary.seconds = time.perf_counter() - t0
            log.info("batch %s: %s", command, summary.line())
    return summary
