"""One file of a batch, on a worker: hash it, skip it if the manifest says it is done, else fill it.

`process_file` runs in a dask worker process (or anywhere: it needs no
scheduler). It never raises for a bad file: every error becomes a ``failed``
record with a one-line reason, so one file never stops the batch. The model
is loaded once per worker process (`corkit_inpaint.network.weights.load_model`
keeps it). Each output is stamped with the batch's id, and an existing output
is replaced only when it is the batch's own (`corkit_inpaint.batch.stamp`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from .. import header as H
from ..exceptions import InputError, OutputExistsError
from ..methods import DEFAULT_METHOD
from ..network.registry import sha256sum
from ..read import MAX_PIXELS
from ..register import MAX_GAP_MINUTES
from .stamp import not_this_batch, stamp

__all__ = ["COMMANDS", "BatchOptions", "FileTask", "one_line", "recipe", "check_file", "process_file"]

log = logging.getLogger(__name__)

#: What a batch can run on each file.
COMMANDS = ("fill", "level_1")


@dataclass(frozen=True)
class BatchOptions:
    """What every file of a batch is run with.

    Attributes
    ----------
    command : {"fill", "level_1"}
        `corkit_inpaint.inpaint_fits`, or `corkit_inpaint.level_1`.
    method : str or None
        Fill method; None (``level_1`` only) calibrates without filling.
    device, weights, threads, refill, max_pixels
        As for `corkit_inpaint.inpaint_fits` (``max_pixels``: ``fill`` only).
    calib_dir : str, optional
        corkit's calibration folder (``level_1`` only).
    max_gap : float or None
        Largest time to a neighbour that is used, in minutes (as for `corkit_inpaint.inpaint_fits`).
    batch : str, optional
        The batch's id (`corkit_inpaint.batch.Manifest.batch`: the run sets it), stamped on every output as
        ``INPBATCH``. None: outputs are not stamped, and no stamp makes an existing output this batch's.
    """

    command: str = "fill"
    method: str | None = DEFAULT_METHOD
    device: str = "auto"
    weights: str | None = None
    threads: int | None = 1
    refill: bool = False
    max_pixels: int = MAX_PIXELS
    calib_dir: str | None = None
    max_gap: float | None = MAX_GAP_MINUTES
    batch: str | None = None


@dataclass(frozen=True)
class FileTask:
    """One input of a batch.

    Attributes
    ----------
    src : str
        The input file (its manifest key).
    output : str
        Its output file.
    neighbours : tuple of str
        Its neighbouring frames, paired over the whole batch before the work was spread.
    replace : bool
        The batch owns ``output`` (``--overwrite``, or absent when planned, or
        this input's output in the manifest): it may replace it, when the file
        there then is the batch's own (`corkit_inpaint.batch.stamp.not_this_batch`;
        ``--overwrite``: whatever it is). An output absent then is placed exclusively.
    done : tuple of str, optional
        ``(recipe, output sha256)`` of a ``done`` record: the file is skipped
        when its `recipe` is unchanged and the output is still that file; an
        output that is another file now (somebody changed it) is not replaced
        unless ``overwrite``.
    overwrite : bool
        ``--overwrite`` was given.
    written : str, optional
        The sha256 of the output a ``done`` record says the batch wrote: a file of that content is the
        batch's own, stamped or not (one an earlier release wrote).
    """

    src: str
    output: str
    neighbours: tuple[str, ...] = field(default_factory=tuple)
    replace: bool = False
    done: tuple[str, str] | None = None
    overwrite: bool = False
    written: str | None = None


def one_line(exc: BaseException) -> str:
    """An exception as one line; the type is named unless it is one of the package's own."""
    from ..exceptions import CorkitInpaintError
    msg = " ".join(str(exc).split())
    if isinstance(exc, CorkitInpaintError) and msg:
        return msg
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _fill(task: FileTask, opt: BatchOptions):
    """The output HDUList of ``fill``, as `corkit_inpaint.inpaint_fits` writes it (not written here)."""
    from ..api import inpaint_fits
    return inpaint_fits(task.src, None, neighbours=list(task.neighbours), method=opt.method, device=opt.device,
                        weights=opt.weights, threads=opt.threads, refill=opt.refill, max_pixels=opt.max_pixels,
                        max_gap=opt.max_gap)


def _level1(task: FileTask, opt: BatchOptions):
    """The output HDUList of ``level_1``, as `corkit_inpaint.level_1` writes it (not written here)."""
    from ..level1 import level1_hdulist, level_1
    [result] = level_1([task.src], None, inpaint=opt.method, device=opt.device, weights=opt.weights,
                       calib_dir=opt.calib_dir, return_mask=True, return_sigma=True, refill=opt.refill,
                       neighbours={task.src: list(task.neighbours)}, max_gap=opt.max_gap, threads=opt.threads)
    return level1_hdulist(*result)


def _write(task: FileTask, opt: BatchOptions) -> dict:
    """Fill (or calibrate) one file and write its output, stamped; the header's numbers for its record.

    The output path is checked before the work (as the serial commands do) and again when the output is
    placed: without ``--overwrite``, a file there is replaced only when it is the batch's own
    (`corkit_inpaint.batch.stamp.not_this_batch`, and only by a task that owns the output), and an empty
    path is taken exclusively. A refusal is `OutputExistsError`.
    """
    from ..outputs import check_output_path, write_atomic
    inputs = [task.src, *task.neighbours]
    written = task.written or (task.done[1] if task.done is not None else None)
    check = partial(not_this_batch, batch=opt.batch, written=written) if task.replace else None
    check_output_path(task.output, overwrite=task.overwrite, src=inputs, replace_check=check)
    hdul = (_fill if opt.command == "fill" else _level1)(task, opt)
    header = hdul[0].header
    if opt.batch is not None:
        stamp(hdul, opt.batch)
    write_atomic(hdul, task.output, overwrite=task.overwrite, src=inputs, replace_check=check)
    log.info("wrote %s", task.output)
    return {"blocks": H.count(header, "INPNBLK"), "model_sha256": _model_sha256(header, opt.weights)}


def _model_sha256(header, weights) -> str | None:
    """The full sha256 of the model that filled (the header keeps 16 hex digits), or None."""
    short = str(header.get("INPWSHA", "none"))
    if short == "none":
        return None
    from ..network.weights import load_model
    full = load_model(weights, device="cpu").sha256          # cached: this worker has it loaded
    return full if full and full.startswith(short) else short


def _sha256_of_file(path) -> str | None:
    """sha256 of a regular file, else None (a FIFO or device is never read: it could block)."""
    p = Path(path)
    return sha256sum(p) if p.is_file() else None


def _version_of(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _calibration_files(calib_dir: str | None) -> list:
    """``[name, size, mtime_ns]`` of each calibration file level 1 opens for C2 or C3 (corkit's folder when None).

    Only the fixed files `corkit_inpaint.level1.required_calibration_files` names: the per-day files in
    the same folder (roll, exposure factors) are many, and one date's update would redo every output.
    """
    from ..corkit_bridge import default_calib_dir
    from ..level1 import required_calibration_files
    folder = Path(calib_dir) if calib_dir is not None else default_calib_dir()
    out = []
    for name in sorted(set(required_calibration_files("C2")) | set(required_calibration_files("C3"))):
        with contextlib.suppress(OSError):
            st = (folder / name).stat()
            out.append([name, st.st_size, st.st_mtime_ns])
    return out


def recipe(task: FileTask, options: BatchOptions, src_sha256: str) -> str:
    """sha256 of everything the output of ``task`` depends on.

    The input's sha256, each neighbour's path and sha256, the command, the
    method, the weights and the model's sha256 (the registry's for a name or
    the default, the file's for a path), refill, the largest neighbour gap, the calibration folder's path,
    the network's precision in this worker (`corkit_inpaint.network.batcher.precision_on`: a GPU batch's
    ``--precision``; float32 on the CPU, whatever was asked, and without a fill)
    and, for ``level_1``, corkit's version and its fixed calibration files' names, sizes
    and modification times, and the package version. A rerun redoes a file whose recipe
    changed: other neighbours, a neighbour whose pixels changed, other
    options, another precision, updated calibration files, a new release.

    The device is not part of it: at float32 the GPU agrees with the CPU to
    float rounding (and a fill that fails on the GPU is done on the CPU), so a
    batch resumed on other devices keeps what is done. A record written before
    the precision was part of the recipe has another recipe: its file is redone once.
    """
    from .. import __version__
    from ..network.batcher import precision_on
    from ..network.registry import default_model_name, registry
    from ..network.weights import names_a_file
    w = options.weights
    name = default_model_name() if w is None else w            # a model name: the registry's sha256 of it
    # as the fill resolves it: a file (even one named like a model) by its own sha256
    model = (_sha256_of_file(name) if w is not None and names_a_file(w)
             else registry()["models"].get(name, {}).get("sha256"))
    level1 = options.command == "level_1"
    corkit = _version_of("corkit") if level1 else None
    parts = {"version": __version__, "input": src_sha256, "command": options.command, "method": options.method,
             "weights": [w, model], "refill": options.refill, "calib_dir": options.calib_dir, "corkit": corkit,
             "max_gap": options.max_gap,
             "precision": precision_on(options.device) if options.method is not None else "float32",
             "calibration": _calibration_files(options.calib_dir) if level1 else None,
             "neighbours": [[os.path.abspath(n), _sha256_of_file(n)] for n in task.neighbours]}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _input_and_recipe(task: FileTask, options: BatchOptions) -> tuple[str, str]:
    """The input's sha256 and the task's `recipe`; `InputError` for an input that is not a regular file."""
    src = Path(task.src)
    if src.exists() and not src.is_file():
        raise InputError(f"{task.src}: not a regular file" + (" (a folder)" if src.is_dir() else ""))
    try:
        sha = sha256sum(src)
    except OSError as exc:              # as a serial run says it (`corkit_inpaint.read`), not a traceback's line
        raise InputError(f"{task.src}: cannot be read ({exc.strerror or type(exc).__name__})") from None
    return sha, recipe(task, options, sha)


def check_file(task: FileTask, options: BatchOptions) -> dict:
    """Whether a file recorded ``done`` (``task.done``) is still done; its record. Never raises `Exception`.

    ``status`` is ``skipped`` when its recipe and its output are the ones
    recorded, ``failed`` when the output is another file now (somebody
    changed it; unless ``overwrite``) or the input cannot be read, else
    ``redo``. Nothing is written: the client records that the file is being
    redone before it is (`process_file`), so a run killed during the redo
    knows the output may be its own.
    """
    rec = {"path": task.src, "sha256": None, "output": task.output, "status": "redo", "error": None,
           "method": options.method, "command": options.command, "owns": task.replace,
           "output_sha256": task.written}
    try:
        rec["sha256"], rec["recipe"] = _input_and_recipe(task, options)
        now = _sha256_of_file(task.output)
        if task.done == (rec["recipe"], now):
            rec["status"] = "skipped"
        elif now is not None and now != task.done[1] and not task.overwrite:
            rec.update(status="failed", owns=False,
                       error=f"{task.output}: changed since this batch wrote it; not replaced (use --overwrite)")
    except Exception as exc:            # one file's failure, whatever it is, never stops the batch
        rec.update(status="failed", error=one_line(exc), owns=bool(task.replace and Path(task.output).exists()))
    return rec


class _Said(logging.Handler):
    """Keeps the first line of each WARNING or worse record emitted by one thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread, self.lines = threading.get_ident(), []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:        # a GPU worker fills several files at once, one per thread
            with contextlib.suppress(Exception):    # a record that cannot be formatted is not worth a failure
                self.lines.append((record.getMessage().splitlines() or [""])[0][:500])


@contextlib.contextmanager
def _warnings_of_this_task():
    """The package's warnings while a file is processed, for its record: a worker's log reaches no one (the
    client reports them, `corkit_inpaint.batch.run`, and the manifest keeps them)."""
    said, pkg = _Said(), logging.getLogger("corkit_inpaint")
    pkg.addHandler(said)
    try:
        yield said.lines
    finally:
        pkg.removeHandler(said)


def process_file(task: FileTask, options: BatchOptions) -> dict:
    """Run one file; returns its manifest record (``status`` done, failed or skipped). Never raises `Exception`.

    A task with a ``done`` record is first checked (`check_file`): skipped, or failed, or redone. The
    package's warnings while the file was processed are in its record's ``warnings`` (first lines), if any.
    """
    t0 = time.perf_counter()
    if task.done is not None and (checked := check_file(task, options))["status"] != "redo":
        return checked
    rec = {"path": task.src, "sha256": None, "output": task.output, "status": "failed", "error": None,
           "method": options.method, "model_sha256": None, "command": options.command, "blocks": None,
           "owns": task.replace, "output_sha256": task.written}     # a failure keeps the last known own file
    with _warnings_of_this_task() as said:
        try:
            rec["sha256"], rec["recipe"] = _input_and_recipe(task, options)
            rec.update(_write(task, options), status="done", output_sha256=sha256sum(task.output))
        except Exception as exc:            # one file's failure, whatever it is, never stops the batch
            rec["error"] = one_line(exc)    # none on a later file; a file refused as not the batch's is not ours
            rec["owns"] = bool(task.replace and not isinstance(exc, OutputExistsError) and Path(task.output).exists())
    if said:
        rec["warnings"] = said
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    rec["finished"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return rec
