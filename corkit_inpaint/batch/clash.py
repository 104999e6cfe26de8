"""Whether a run would write onto one of its own inputs: checked up front, before anything is written.

Shared by the serial ``fill`` and the batch path. An output is the same file as
an input when `os.path.samefile` says so (both exist: hard links and symbolic
links count), else when both resolve to the same path. The check stats each
path once, so it stays linear in the number of files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["input_clash"]


def _identity(path) -> tuple | None:
    """``(st_dev, st_ino)`` of an existing file (links followed), else None."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _resolved(path) -> str:
    return os.path.normcase(os.path.realpath(os.fspath(path)))


def input_clash(outputs: Iterable, inputs: Iterable) -> str:
    """Why some output is an input of the run ("" when none is): one line naming both.

    Parameters
    ----------
    outputs : iterable of path-like
        Every file the run would write.
    inputs : iterable of path-like
        Every file it reads: the files to fill, their neighbours, the pool.
    """
    by_id, by_path = {}, {}
    for p in inputs:
        ident = _identity(p)
        if ident is not None:
            by_id.setdefault(ident, p)
        by_path.setdefault(_resolved(p), p)
    for out in outputs:
        ident = _identity(out)
        src = by_id.get(ident) if ident is not None else by_path.get(_resolved(out))
        if src is not None:
            link = "" if os.fspath(src) == os.fspath(out) else " (or a link to it)"
            return (f"{os.fspath(out)}: is the input file {os.fspath(src)}{link}; refusing to write an output "
                    "over an input of the run, even with --overwrite")
    return ""
