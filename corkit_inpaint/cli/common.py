"""What every subcommand shares: one-line error reports and the errors a file may fail with."""

from __future__ import annotations

import sys

from ..exceptions import CorkitInpaintError

__all__ = ["err", "file_err", "add_model_options", "add_sources", "add_neighbour_options", "neighbour_map",
           "FILE_ERRORS"]

#: Errors that fail one input and let the others go on.
FILE_ERRORS = (CorkitInpaintError, ValueError, OSError, MemoryError)


def add_sources(parser, what: str) -> None:
    """The positional ``SRC`` files (one or more), which are only read."""
    parser.add_argument("src", nargs="+", metavar="SRC", help=f"{what}; never modified")


def add_model_options(parser) -> None:
    """``--device`` and ``--weights``, shared by the subcommands that run a model."""
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default: auto)")
    parser.add_argument("--weights", default=None, help="model name or weights file (default model if omitted)")


def add_neighbour_options(parser) -> None:
    """``--neighbours``, ``--max-gap`` and ``--neighbour-pool``, shared by ``fill`` and ``level_1``."""
    from ..pairing import MAX_GAP_MINUTES
    parser.add_argument("--neighbours", choices=("auto", "none"), default="auto",
                        help="auto: fill each file also from the nearest earlier and later frames of the same "
                             "detector, filter, polarizer and summing among the files given; none: from "
                             "each file alone (default: auto)")
    parser.add_argument("--max-gap", type=float, default=MAX_GAP_MINUTES, metavar="MIN",
                        help=f"largest time to a neighbouring frame, minutes (default: {MAX_GAP_MINUTES:g})")
    parser.add_argument("--neighbour-pool", nargs="+", default=[], metavar="FILE",
                        help="more frames that may serve as neighbours (only read, not filled)")


def neighbour_map(args, srcs) -> dict:
    """``{src: [neighbour paths]}`` from the neighbour options; `ValueError` on a bad ``--max-gap``."""
    from ..pairing import neighbours_for
    if not args.max_gap >= 0:
        raise ValueError(f"--max-gap {args.max_gap}: must be >= 0 minutes")
    return neighbours_for(srcs, args.neighbours, max_gap=args.max_gap, pool=args.neighbour_pool)


def err(msg: str) -> None:
    """Print ``corkit-inpaint: error: MSG`` on one line of stderr."""
    print(f"corkit-inpaint: error: {' '.join(str(msg).split())}", file=sys.stderr)


def file_err(src, exc: BaseException) -> None:
    """One line naming the file and the reason (the reason often names it already)."""
    msg = str(exc) or type(exc).__name__
    err(msg if str(src) in msg else f"{src}: {msg}")
