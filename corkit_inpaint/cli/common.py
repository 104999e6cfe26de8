"""What every subcommand shares: one-line error reports and the errors a file may fail with."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from ..exceptions import CorkitInpaintError, naming

__all__ = ["err", "say", "open_standard_streams", "file_err", "add_model_options", "add_sources",
           "add_neighbour_options", "neighbour_map", "outputs_clash", "run_inputs", "add_threads_option",
           "add_batch_options", "apply_threads", "check_method", "check_weights", "check_weights_file",
           "check_device", "check_pool", "FILE_ERRORS", "naming_file"]

#: Errors that fail one input and let the others go on.
FILE_ERRORS = (CorkitInpaintError, ValueError, OSError, MemoryError)


def add_sources(parser, what: str) -> None:
    """The positional ``SRC`` files (one or more), which are only read; an empty name is a usage error (as a
    path it would be the current folder)."""
    parser.add_argument("src", nargs="+", metavar="SRC", type=_file_name, help=f"{what}; never modified")


def _file_name(text: str) -> str:
    import argparse
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty file name")
    return text


def add_model_options(parser, *, workers: bool = True) -> None:
    """``--device``, ``--weights`` and ``--threads``, shared by the subcommands that run a model."""
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default: auto)")
    parser.add_argument("--weights", default=None, help="model name or weights file (default model if omitted)")
    add_threads_option(parser, workers=workers)


def add_threads_option(parser, *, workers: bool = True) -> None:
    """``--threads N``: torch threads per process (per worker in a batch, where the subcommand has ``--workers``)."""
    from ..threads import DEFAULT_THREADS, ENV_VAR
    per = ", per worker with --workers" if workers else ""
    parser.add_argument("--threads", default=None, metavar="N",
                        help=f"torch threads per process{per} (default: ${ENV_VAR}, else "
                             f"{DEFAULT_THREADS}; 0: torch's own, one per core)")


def apply_threads(args) -> None:
    """Make ``--threads`` the process's fill thread count; `InputError` for a bad value, or without it for a bad
    ``$CORKIT_INPAINT_THREADS`` (read here once, so a bad one stops the command before any file is read)."""
    from ..threads import check_threads, default_threads, set_threads
    if args.threads is not None:
        set_threads(check_threads(args.threads, "--threads"))
    else:
        default_threads()


def add_batch_options(parser) -> None:
    """``--workers N`` / ``--scheduler ADDRESS``: a resumable batch on dask.distributed."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="batch on a local dask cluster of N worker processes, resumable through a manifest in "
                        "the output folder (needs the [batch] extra)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="batch on the dask scheduler at ADDRESS (e.g. tcp://host:8786) instead")
    parser.add_argument("--precision", choices=("float32", "float16", "bfloat16"), default="float32",
                        help="the network's precision on a GPU in a batch (default: float32; the CPU is always "
                             "float32)")


def add_neighbour_options(parser) -> None:
    """``--neighbours``, ``--max-gap`` and ``--neighbour-pool``, shared by ``fill`` and ``level_1``."""
    from ..pairing import MAX_GAP_MINUTES
    parser.add_argument("--neighbours", choices=("auto", "none"), default="auto",
                        help="auto: fill each file also from the nearest earlier and later frames of the same "
                             "detector, filter, polarizer and summing among the files given; none: from "
                             "each file alone (default: auto)")
    parser.add_argument("--max-gap", type=float, default=MAX_GAP_MINUTES, metavar="MIN",
                        help=f"largest time to a neighbouring frame, minutes: none farther is paired or read "
                             f"(default: {MAX_GAP_MINUTES:g}, the gap the neighbour models were trained on)")
    parser.add_argument("--neighbour-pool", nargs="+", default=[], metavar="FILE",
                        help="more frames that may serve as neighbours (only read, not filled)")


def neighbour_map(args, srcs) -> dict:
    """``{src: [neighbour paths]}`` from the neighbour options; `ValueError` on a bad ``--max-gap``."""
    from ..pairing import neighbours_for
    from ..read import MAX_PIXELS
    from ..register import check_max_gap
    check_max_gap(args.max_gap, "--max-gap")
    return neighbours_for(srcs, args.neighbours, max_gap=args.max_gap, pool=args.neighbour_pool,
                          progress=not getattr(args, "quiet", False),
                          max_pixels=getattr(args, "max_pixels", None) or MAX_PIXELS)


def check_pool(args) -> str:
    """Why ``--neighbour-pool`` cannot be read ("" when it can): it needs ``--neighbours auto`` (battery s37: it was
    ignored with ``none``; the API's own error names no option)."""
    return "--neighbour-pool needs --neighbours auto" if args.neighbour_pool and args.neighbours != "auto" else ""


def outputs_clash(args, srcs, outs) -> str:
    """Why the run cannot write ``outs`` for ``srcs`` ("" when it can): an output that is an input of the run (a
    file given, a ``--neighbour-pool`` file or the ``--weights`` file), or the output of two inputs. Checked before
    anything is written."""
    from ..outputs import input_clash, output_clash
    return input_clash(outs, run_inputs(args, srcs)) or output_clash(zip(srcs, outs))


def run_inputs(args, srcs) -> list:
    """Every file a run reads: ``srcs``, its ``--neighbour-pool`` files and its ``--weights`` file; none may be an
    output."""
    from pathlib import Path

    from ..network.weights import weights_inputs
    return [*srcs, *map(Path, getattr(args, "neighbour_pool", ())), *weights_inputs(getattr(args, "weights", None))]


def check_method(name: str, option: str) -> str:
    """Why ``name`` (given as ``option``) is not a registered fill method ("" when it is): before any file is read."""
    from ..exceptions import MethodError
    from ..methods import get_method
    try:
        get_method(name)
    except MethodError as exc:
        return f"{option} {name}: {exc}"
    return ""


def check_weights(weights: str | None, option: str = "--weights", methods=()) -> str:
    """Why ``weights`` (a model name or a weights file) cannot be used ("" when it can, or is not given): a name
    the registry does not know, a path that is not a regular file, or weights of another architecture than one
    of ``methods`` (names) is made for (`corkit_inpaint.methods.pconv.PConvFill.check_arch`: the model is loaded
    for that where its file is here; a registry entry not fetched yet is judged when a fill fetches it). Checked
    before any file is read: a run whose frames have nothing to fill would not load the model, a slip would pass
    unseen, and each file would be blamed for it. `check_weights_file` loads a file given."""
    if weights is None:
        return ""
    from ..exceptions import CorkitInpaintError, InputError, WeightsError, not_a_file
    from ..methods import get_method
    from ..network.registry import model_entry
    from ..network.weights import names_a_file, resolve_weights
    if names_a_file(weights):
        if why := not_a_file(weights):
            return f"{option} {weights}: {why}"
    else:
        try:
            model_entry(weights)
        except WeightsError as exc:
            return f"{option} {weights}: {exc}"
    for name in methods:
        method = get_method(name)
        if getattr(method, "arch", None) is None:
            continue
        try:        # a local copy only: a registry entry is fetched when a fill needs it (review s37)
            resolve_weights(weights, download=False)
        except CorkitInpaintError:      # not here (yet): the fill that fetches them says what they are
            return ""
        try:
            method.check_arch(weights)
        except InputError as exc:
            return f"{option} {weights}: {exc}"
        except CorkitInpaintError:      # the weights cannot be loaded: the fill (or check_weights_file) says why
            return ""
    return ""


def check_weights_file(weights: str | None, option: str = "--weights") -> str:
    """Why a ``weights`` file here cannot be loaded ("" when it can, or when ``weights`` names a registry entry,
    which is fetched only when a fill needs it): the last check before any file is read, after the cheaper ones
    (battery s37: a file that is not weights failed every file with holes, and a run without any exited 0)."""
    if weights is None:
        return ""
    from ..network.weights import load_model, names_a_file
    if not names_a_file(weights):
        return ""
    try:
        load_model(weights)
    except CorkitInpaintError as exc:
        return f"{option} {weights}: {exc}"
    return ""


def check_device(device: str, option: str = "--device") -> str:
    """Why ``device`` is not a torch device ("" when it is; "auto" is): before any file is read (battery s37: a slip
    failed only the files with something to fill)."""
    if device == "auto":                # always valid; torch is imported only when a model runs (review s37)
        return ""
    from ..exceptions import InputError
    from ..network.device import select_device
    try:
        select_device(device)
    except InputError as exc:
        return f"{option}: {exc}"
    return ""


def err(msg: str) -> None:
    """Print ``corkit-inpaint: error: MSG`` on one line of stderr, on a line of its own under a progress bar.

    Where stderr cannot be written (a reader gone: ``2>&1 | head -1``; a full disk), it is silenced and the run
    goes on: a failed error line ended it before the files after it were processed (battery s37)."""
    from tqdm import tqdm
    try:
        tqdm.write(f"corkit-inpaint: error: {' '.join(str(msg).split())}", file=sys.stderr)
        sys.stderr.flush()
    except (OSError, ValueError):       # ValueError: a closed file
        _silence(sys.stderr)


def say(*lines: str) -> bool:
    """Print ``lines`` on stdout; False where it cannot be written (``| head -c0``, a full disk): it is then
    silenced, so that flushing at exit raises nothing (battery s37: the summary's traceback, after every file was
    written). A command whose product is what it prints (``evaluate``'s tables) fails for it (exit 1); one that
    prints a summary of files written (``fill``, ``level_1``, a batch run) keeps its own status."""
    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except (OSError, ValueError):       # ValueError: a closed file
        _silence(sys.stdout)
        return False
    return True


def open_standard_streams() -> None:
    """Open stdout and stderr on the null device where the command started with them closed (``2>&-``): Python
    makes ``sys.stderr`` None then, and the progress bar's first write ended the run before any file was filled
    (review s37); and the first file opened would take the closed descriptor, so a write to it would land there."""
    for fd, name in ((0, None), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:                 # closed: the lowest free descriptor is this one, or below it (then moved)
            got = os.open(os.devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if got != fd:
                os.dup2(got, fd)
                os.close(got)
        if name and getattr(sys, name) is None:
            setattr(sys, name, open(fd, "w", closefd=False))


def _silence(stream) -> None:
    """Point ``stream``'s file descriptor at the null device (nothing where it is not one: a test's capture)."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    except (OSError, ValueError, AttributeError):       # io.UnsupportedOperation is an OSError and a ValueError
        pass


def file_err(src, exc: BaseException) -> None:
    """One line naming the file and the reason (the reason often names it already)."""
    err(naming(src, str(exc) or type(exc).__name__))


@contextlib.contextmanager
def naming_file(src):
    """Log records emitted meanwhile name ``src`` (unless they do already): in a run over many files, a warning
    such as "1 all-zero block inside the field left as it is" would not say which file it is about.

    A filter on the root logger's handlers, as the command line configures them, removed on leaving; the first
    of their filters, so that those after it see the named record (``evaluate``'s once per run is once per file).
    """
    def prefix(record: logging.LogRecord) -> bool:
        record.msg, record.args = naming(src, record.getMessage()), None
        return True

    handlers = list(logging.getLogger().handlers)
    for h in handlers:
        h.filters.insert(0, prefix)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(prefix)
