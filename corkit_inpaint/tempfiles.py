"""Temporary files beside their destination, with the permissions the umask allows (not mkstemp's 0600).

Outputs and cached weights are both written to such a file and then moved into
place, so colleagues sharing a folder can read the result. `removed_on_sigterm`
lets a block's ``finally`` clauses remove its temporaries when the process is
terminated.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["process_umask", "temp_beside", "write_through_temp", "write_text_atomic", "write_bytes_atomic", "fsync_dir",
           "removed_on_sigterm"]

log = logging.getLogger(__name__)


class _Terminated(BaseException):
    """SIGTERM, raised inside a `removed_on_sigterm` block so that its ``finally`` clauses run."""


@contextlib.contextmanager
def removed_on_sigterm(what: str, error: Exception):
    """Turn SIGTERM into an exception inside the block (main thread only), then die of it as before.

    The block's ``finally`` clauses (which remove its temporary files) run first;
    then the previous handler gets the signal, which by default ends the process.
    If it returns, ``error`` is raised.
    """
    prev = signal.getsignal(signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread() or prev in (signal.SIG_IGN, None):
        yield
        return

    def handler(signum, frame):
        raise _Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, prev)
        log.warning("terminated during %s; its temporary files were removed", what)
        signal.raise_signal(signal.SIGTERM)          # the default handler ends the process here
        raise error from None
    finally:
        signal.signal(signal.SIGTERM, prev)


def process_umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)                   # elsewhere: set and restore (not thread-safe)
    os.umask(mask)
    return mask


def temp_beside(folder: str | os.PathLike, prefix: str, suffix: str) -> Path:
    """Create an empty file ``folder/PREFIX<8 random chars>SUFFIX`` with mode ``0o666 & ~umask``.

    The caller writes it, moves it into place, and removes it on failure.
    """
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~process_umask())
    finally:
        os.close(fd)
    return Path(name)


def write_through_temp(path: str | os.PathLike, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` to a `temp_beside` file, then move it onto ``path``: a kill leaves no half-written file.

    The temporary is removed if ``write`` or the move fails.
    """
    path = Path(path)
    tmp = temp_beside(path.parent, f".{path.name}.", ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a `temp_beside` file moved into place (`write_through_temp`)."""
    write_through_temp(path, lambda tmp: tmp.write_text(text))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a `temp_beside` file moved into place (`write_through_temp`)."""
    write_through_temp(path, lambda tmp: tmp.write_bytes(data))


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush a folder's entries to disk, so a file just moved into it survives a power cut (POSIX; else nothing)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
