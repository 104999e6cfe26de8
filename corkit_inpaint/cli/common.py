"""What every subcommand shares: one-line error reports and the errors a file may fail with."""

from __future__ import annotations

import sys

from ..exceptions import CorkitInpaintError

__all__ = ["err", "file_err", "FILE_ERRORS"]

#: Errors that fail one input and let the others go on.
FILE_ERRORS = (CorkitInpaintError, ValueError, OSError, MemoryError)


def err(msg: str) -> None:
    """Print ``corkit-inpaint: error: MSG`` on one line of stderr."""
    print(f"corkit-inpaint: error: {' '.join(str(msg).split())}", file=sys.stderr)


def file_err(src, exc: BaseException) -> None:
    """One line naming the file and the reason (the reason often names it already)."""
    msg = str(exc) or type(exc).__name__
    err(msg if str(src) in msg else f"{src}: {msg}")
