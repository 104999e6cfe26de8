"""The options of ``corkit-inpaint evaluate``: why a run cannot start, checked before anything is filled.

`check_args` refuses options that would be ignored, or would score something
other than the rows say (``ratio`` without neighbouring frames, an
``--other-day`` frame of the same hour); `check_outputs` refuses an output
over an input of the run (its files, ``--other-day``, ``--weights``) or over
another output.
"""

from __future__ import annotations

import math
from pathlib import Path

from .. import header as H
from ..register import MAX_GAP_MINUTES
from .common import check_device, check_weights, check_weights_file, run_inputs

__all__ = ["DEFAULT_METHODS", "DEFAULT_REPEATS", "MAX_COUNT", "PICTURES", "MAX_SETS", "check_args", "check_outputs",
           "reliability_path"]


#: The methods scored when --methods is not given (telea only where OpenCV is installed).
DEFAULT_METHODS = "pconv-smooth,biharmonic,telea"
#: Masks per pattern per file of FILES when --repeats is not given.
DEFAULT_REPEATS = 8
#: The most frames (--synthetic) or masks per pattern (--repeats) a run takes: a larger count is a typing slip.
MAX_COUNT = 1_000_000
#: Picture formats the figures can be written in (by the file name's suffix).
PICTURES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff", ".webp")


def check_args(args, methods: list[str]) -> str:
    """Why the options cannot run ("" when they can): checked before anything is filled. Sets the defaults of
    ``--max-gap`` and ``--generator-version`` (None in the parser, so that giving one where it is not read is
    refused)."""
    from ..evaluation.report import CLASSICAL
    from ..exceptions import InputError
    from ..methods import get_method
    from ..outputs import input_clash
    from ..read import read_header
    from ..register import check_max_gap
    from ..training.simulator import GENERATOR_VERSION
    if not methods:
        return "--methods: give at least one method"
    if why := check_weights(args.weights, methods=methods):
        return why
    if args.repeats is not None and not args.files:         # it would be ignored, and recorded as if it were not
        return "--repeats applies to FILES (each simulated frame or sequence is scored on one mask per pattern)"
    args.repeats = (DEFAULT_REPEATS if args.files else 1) if args.repeats is None else args.repeats
    if args.repeats < 1:
        return f"--repeats {args.repeats}: give 1 or more masks per pattern"
    if args.seed < 0:
        return f"--seed {args.seed}: give a whole number >= 0"
    if not 0 <= args.synthetic <= MAX_COUNT:
        return f"--synthetic {args.synthetic}: give a number of frames from 0 to {MAX_COUNT}"
    if args.repeats > MAX_COUNT:
        return f"--repeats {args.repeats}: give at most {MAX_COUNT} masks per pattern"
    if args.other_day is not None and not args.other_day.strip():
        return "--other-day: give a file name"
    if args.other_day and not args.neighbours:
        return "--other-day needs --neighbours (it replaces a neighbouring frame)"
    if args.other_day and not any(get_method(m).reads_neighbours for m in methods):
        return (f"--other-day: none of --methods ({', '.join(methods)}) reads neighbouring frames, so it would "
                "change no fill")
    alone = [m for m in methods if get_method(m).alone]
    if alone and not args.neighbours:                       # scored under its name, it would be another method
        m = get_method(alone[0])
        return (f"--methods {m.name}: fills from neighbouring frames, so without --neighbours each of its fills "
                f"would be {m.alone}; give --neighbours (FILES a sequence, or --synthetic N sequences) or leave it "
                "out")
    if args.plot is not None and not set(methods) & set(CLASSICAL):     # its chart would have no bar
        return (f"--plot: its bars are each method's RMSE over the best classical method's ({', '.join(CLASSICAL)}); "
                "give one of them in --methods")
    if args.weights is not None and not any(get_method(m).takes_weights for m in methods):
        return f"--weights: none of --methods ({', '.join(methods)}) runs a network"
    if args.other_day and not args.files:
        return "--other-day needs FILES, a real sequence (each simulated one draws its own frame of another day)"
    if args.max_gap is not None and not args.neighbours:        # it would be ignored, silently
        return "--max-gap applies with --neighbours (it says which neighbouring frames a fill reads)"
    if args.max_gap is not None and not args.files:
        return "--max-gap applies to FILES (each simulated sequence's frames are 12 minutes apart)"
    if args.generator_version is not None and (not args.synthetic or args.neighbours):
        return ("--generator-version applies with --synthetic N without --neighbours (the simulated frames' "
                "generator; simulated sequences have their own)")
    args.max_gap = MAX_GAP_MINUTES if args.max_gap is None else args.max_gap
    args.generator_version = GENERATOR_VERSION if args.generator_version is None else args.generator_version
    try:
        check_max_gap(args.max_gap, "--max-gap")
    except InputError as exc:
        return str(exc)
    if why := check_device(args.device):        # checked before anything is filled: a typing slip is a usage error
        return why
    why = check_outputs(args, run_inputs(args, [*args.files, *([args.other_day] if args.other_day else [])]))
    if why := why or check_weights_file(args.weights):
        return why
    if args.other_day and args.files:
        if input_clash([args.other_day], args.files):
            return f"--other-day {args.other_day}: is one of FILES; give a frame of another day"
        try:
            got, want = H.kind(read_header(args.other_day)), H.kind(read_header(args.files[0]))
        except InputError as exc:
            return str(exc)
        if got != want:
            return (f"--other-day {args.other_day}: a {'/'.join(got)} frame, not the sequence's "
                    f"{'/'.join(want)}; it would be left out, and its rows would be the fill from one neighbour")
        return _same_day(args.other_day, args.files)
    return ""


def _same_day(other: str, files: list[str]) -> str:
    """Why ``--other-day`` is not a frame of another day ("" when it is, or its time or FILES' are unknown): it was
    observed within `MAX_GAP_MINUTES` of a frame of FILES (a copy of one of them too), so its rows would score a
    neighbour of the same hour."""
    from ..exceptions import InputError
    from ..read import read_header
    try:
        t = H.observation_time(read_header(other))
        times = [(f, H.observation_time(read_header(f))) for f in files]
    except InputError:          # a file of FILES that cannot be read fails on its own, later
        return ""
    near = [(f, abs((u - t).total_seconds()) / 60) for f, u in times if t is not None and u is not None]
    f, minutes = min(near, key=lambda x: x[1], default=(None, math.inf))
    if minutes > MAX_GAP_MINUTES:
        return ""
    return (f"--other-day {other}: observed {minutes:.0f} min from {f}, not on another day; give a frame "
            f"more than {MAX_GAP_MINUTES:g} min from every frame of FILES")


#: The most sets of records a run reports (a real one, simulated ones, those with a CME): ``--reliability``'s files.
MAX_SETS = 3


def check_outputs(args, inputs: list) -> str:
    """Why ``--json``, ``--plot`` and ``--reliability`` cannot be written ("" when they can): not over an input,
    nor over each other (``--reliability``'s numbered files included)."""
    from ..exceptions import InputError
    from ..outputs import check_output_path, input_clash
    taken: list[tuple[str, Path]] = []
    for opt, path in (("--json", args.json), ("--plot", args.plot), ("--reliability", args.reliability)):
        if path is None:
            continue
        if not path.strip():
            return f"{opt}: give a file name"
        if opt != "--json" and Path(path).suffix.lower() not in PICTURES:
            return f"{opt} {path}: give a picture file name ending in {', '.join(PICTURES)}"
        try:
            check_output_path(path, overwrite=True, src=inputs)
        except InputError as exc:
            return f"{opt} {exc}"
        mine = [reliability_path(path, k) for k in range(MAX_SETS + 1 if opt == "--reliability" else 1)]
        for p in mine:
            why = input_clash([p], inputs)
            if why:
                return f"{opt} {why}"
            clash = next((o for o, q in taken if input_clash([p], [q])), None)
            if clash:
                return f"{opt} {path}: {p} is also {clash}'s output; give each output a file of its own"
        taken += [(opt, p) for p in mine]
    return ""


def reliability_path(png: str, k: int) -> Path:
    """Where ``--reliability PNG`` writes its ``k``-th figure of several (``<stem>-k<suffix>``), or its only one
    (``k`` 0: ``PNG``)."""
    return Path(png) if k == 0 else Path(png).with_name(f"{Path(png).stem}-{k}{Path(png).suffix}")
