"""What every subcommand shares: one-line error reports and the errors a file may fail with."""

from __future__ import annotations

import sys

from ..exceptions import CorkitInpaintError

__all__ = ["err", "file_err", "add_model_options", "add_sources", "FILE_ERRORS"]

#: Errors that fail one input and let the others go on.
FILE_ERRORS = (CorkitInpaintError, ValueError, OSError, MemoryError)


def add_sources(parser, what: str) -> None:
    """The positional ``SRC`` files (one or more), which are only read."""
    parser.add_argument("src", nargs="+", metavar="SRC", help=f"{what}; never modified")


def add_model_options(parser) -> None:
    """``--device`` and ``--weights``, shared by the subcommands that run a model."""
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default: auto)")
    parser.add_argument("--weights", default=None, help="model name or weights file (default model if omitted)")


def err(msg: str) -> None:
    """Print ``corkit-inpaint: error: MSG`` on one line of stderr."""
    print(f"corkit-inpaint: error: {' '.join(str(msg).split())}", file=sys.stderr)


def file_err(src, exc: BaseException) -> None:
    """One line naming the file and the reason (the reason often names it already)."""
    msg = str(exc) or type(exc).__name__
    err(msg if str(src) in msg else f"{src}: {msg}")
