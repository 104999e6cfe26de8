"""Temporary files beside their destination, with the permissions the umask allows (not mkstemp's 0600).

Outputs and cached weights are both written to such a file and then moved into
place, so colleagues sharing a folder can read the result. `removed_on_sigterm`
lets a block's ``finally`` clauses remove its temporaries when the process is
terminated, and removes those `temp_beside` and `temp_folder` made in it that are
still there: a SIGTERM between a temporary's creation and the caller's ``try``
leaves nothing, nor does any other exception leaving the block (Ctrl-C there).
`write_through_temp` (and so `write_text_atomic` and `write_bytes_atomic`) runs
in such a block of its own. A SIGKILL cannot be caught: a temporary written
while `held` can be told from a live one later, and `remove_if_abandoned` removes it
(`write_through_temp` removes its own kind's before it writes; `corkit_inpaint.abandoned`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .abandoned import held, remove_if_abandoned, remove_stale_temps, temp_head
from .exceptions import InputError, first_line

__all__ = ["process_umask", "temp_beside", "temp_for", "not_written", "temp_folder", "write_through_temp",
           "write_text_atomic", "write_bytes_atomic", "fsync_dir", "removed_on_sigterm", "held", "remove_if_abandoned"]

log = logging.getLogger(__name__)


class _Terminated(BaseException):
    """SIGTERM, raised inside a `removed_on_sigterm` block so that its ``finally`` clauses run."""


@dataclass(eq=False)
class _Block:
    """An active `removed_on_sigterm` block: the temporaries `temp_beside` and `temp_folder` made in it, and a
    held SIGTERM.

    Attributes
    ----------
    made : list of (pathlib.Path, (int, int))
        Each temporary file or folder and its ``(st_dev, st_ino)``, so that only that one is removed.
    holding : bool
        One is being made: a SIGTERM now is only noted (``pending``), and acted on once it is known.
    pending : bool
        A SIGTERM came while ``holding``.
    """

    made: list = field(default_factory=list)
    holding: bool = False
    pending: bool = False


#: The main thread's active `removed_on_sigterm` blocks, innermost last.
_BLOCKS: list[_Block] = []


def _remove_made(block: _Block) -> None:
    """Remove the temporaries made in ``block`` that are still there as made (not moved into place).

    A folder (`temp_folder`) goes with what was written into it.
    """
    for path, ident in block.made:
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if (st.st_dev, st.st_ino) != ident:
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(path)
            else:
                os.unlink(path)


class _Guard:
    """A `removed_on_sigterm` block: its SIGTERM handler, and its `_Block` while active (None: not guarded)."""

    def __init__(self, what: str, error: Exception):
        self.what, self.error = what, error
        self.block: _Block | None = None
        self.prev = None

    def __enter__(self) -> None:
        prev = signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is not threading.main_thread() or prev in (signal.SIG_IGN, None):
            return
        self.prev, self.block = prev, _Block()
        _BLOCKS.append(self.block)
        signal.signal(signal.SIGTERM, self._handler)

    def _handler(self, signum, frame) -> None:
        if self.block.holding:         # a temporary is being made: temp_beside raises once the block knows it
            self.block.pending = True
            return
        if self._at_edge(frame):       # in __enter__ or __exit__: no body to unwind, so end here
            self._die()
        raise _Terminated

    def _at_edge(self, frame) -> bool:
        """Whether ``frame`` is (called from) this block's ``__enter__`` or ``__exit__``, where an exception
        would escape the ``with`` statement instead of unwinding its body."""
        edges = (_Guard.__enter__.__code__, _Guard.__exit__.__code__)
        while frame is not None:
            if any(frame.f_code is c for c in edges) and frame.f_locals.get("self") is self:
                return True
            frame = frame.f_back
        return False

    def _die(self) -> None:
        """Remove the block's temporaries still there, restore the previous handler and give it the signal."""
        _remove_made(self.block)
        signal.signal(signal.SIGTERM, self.prev)
        log.warning("terminated during %s; its temporary files were removed", self.what)
        signal.raise_signal(signal.SIGTERM)          # the default handler ends the process here
        self._leave()                                # a handler that returned: the block is over, by the error
        raise self.error from None

    def _leave(self) -> None:
        """Forget the block (once): later temporaries are no longer its to remove."""
        if self.block in _BLOCKS:
            _BLOCKS.remove(self.block)

    def __exit__(self, typ, exc, tb) -> bool:
        if self.block is None:
            return False
        try:
            if (typ is not None and issubclass(typ, _Terminated)) or self.block.pending:
                self._die()
            if typ is not None:     # Ctrl-C (or any error) before a temporary's caller reached its own clean-up
                _remove_made(self.block)
        finally:
            signal.signal(signal.SIGTERM, self.prev)
            self._leave()
        return False


def removed_on_sigterm(what: str, error: Exception) -> _Guard:
    """Turn SIGTERM into an exception inside the block (main thread only), then die of it as before.

    The block's ``finally`` clauses (which remove its temporary files) run first;
    then the temporaries `temp_beside` and `temp_folder` made in the block and
    that are still there are removed (one whose caller had not reached its
    ``try`` yet); then the previous handler gets the signal, which by default
    ends the process. If it returns, ``error`` is raised. A SIGTERM while the
    block is being entered or left (its handler installed, its body not begun
    or over) ends the process there in the same way, rather than raising out
    of the ``with`` statement.

    Parameters
    ----------
    what : str
        What the block does, for the logged warning ("a write").
    error : Exception
        Raised if the previous handler returns instead of ending the process.

    Returns
    -------
    context manager
        Use as ``with removed_on_sigterm(what, error): ...``. In another
        thread, or with SIGTERM ignored, it does nothing.
    """
    return _Guard(what, error)


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


def _make(folder: str | os.PathLike, prefix: str, suffix: str) -> tuple[Path, tuple[int, int]]:
    """`temp_beside`'s file, and its ``(st_dev, st_ino)``; removed again if its mode cannot be set."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~process_umask())
        st = os.fstat(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    finally:
        os.close(fd)
    return Path(name), (st.st_dev, st.st_ino)


def _recorded(make: Callable[[], tuple[Path, tuple[int, int]]]) -> Path:
    """``make()``'s temporary, recorded in the innermost `removed_on_sigterm` block of the main thread, if any.

    While it is being made and recorded, the block's handler only notes a
    SIGTERM; it is acted on here once the block knows the temporary (which the
    block then removes), so there is no point where the temporary exists and
    nobody will remove it. Outside a block it is only made.
    """
    block = _BLOCKS[-1] if threading.current_thread() is threading.main_thread() and _BLOCKS else None
    if block is None:
        return make()[0]
    block.holding = True
    try:
        path, ident = make()
        block.made.append((path, ident))
    finally:
        block.holding = False
        if block.pending:                 # a SIGTERM came meanwhile: the block removes the temporary and ends
            raise _Terminated
    return path


def temp_beside(folder: str | os.PathLike, prefix: str, suffix: str) -> Path:
    """Create an empty file ``folder/PREFIX<8 random chars>SUFFIX`` with mode ``0o666 & ~umask``.

    The caller writes it, moves it into place, and removes it on failure.
    Made inside a `removed_on_sigterm` block (main thread), it is also the
    block's to remove on SIGTERM, from the moment it exists: a SIGTERM while it
    is being made is held until the block knows it, then acted on (the
    temporary removed, the process ended), so none is left behind before the
    caller's own clean-up is in place.
    """
    return _recorded(lambda: _make(folder, prefix, suffix))


def _make_folder(prefix: str) -> tuple[Path, tuple[int, int]]:
    """`temp_folder`'s folder and its ``(st_dev, st_ino)``."""
    name = tempfile.mkdtemp(prefix=prefix)
    try:
        st = os.lstat(name)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rmdir(name)
        raise
    return Path(name), (st.st_dev, st.st_ino)


def temp_folder(prefix: str) -> Path:
    """Create a private folder ``PREFIX<8 random chars>`` in the system's temporary folder (`tempfile.mkdtemp`).

    The caller removes it, with what it wrote there, in a ``finally`` clause.
    Made inside a `removed_on_sigterm` block (main thread), it is also the
    block's to remove on SIGTERM, from the moment it exists, as `temp_beside`'s
    files are: a SIGTERM before the caller's ``try`` leaves nothing either.

    Parameters
    ----------
    prefix : str
        The start of the folder's name.

    Returns
    -------
    pathlib.Path
        The new, empty folder (mode ``0o700``).
    """
    return _recorded(lambda: _make_folder(prefix))


def not_written(dst, exc: BaseException) -> InputError:
    """The one-line `InputError` for a write to ``dst`` that ``exc`` stopped: errno's words (or the first line
    of the message), not its raw line naming a temporary (battery s35: an output under /proc). errno's words are
    looked for in what ``exc`` was raised from too: astropy re-raises a full disk's error without them, as "Not
    enough space on disk: requested ..., available 0" once the temporary has taken the rest (battery s37)."""
    e = exc             # an OSError without errno's words, raised while handling one with them (astropy's way)
    while isinstance(e, OSError) and not e.strerror and isinstance(e.__cause__ or e.__context__, OSError):
        e = e.__cause__ or e.__context__
    reason = getattr(e, "strerror", None) or first_line(exc)
    return InputError(f"{dst}: could not be written ({reason})")


def temp_for(dst: Path, head: str) -> Path:
    """`temp_beside` ``dst`` (``head`` from `temp_head`), or `not_written`'s error where none can be made there."""
    try:
        return temp_beside(dst.parent, head, ".tmp")
    except OSError as exc:
        raise not_written(dst, exc) from None


def write_through_temp(path: str | os.PathLike, write: Callable[[Path], object], *, what: str = "a write",
                       terminated: Exception | None = None) -> None:
    """``write(tmp)`` to a `temp_beside` file, fsync it, then move it onto ``path``: a kill leaves no half-written
    file, and a power cut neither an empty one nor the old one under the new name.

    The temporary, ``.<name>.corkit-inpaint-<8 chars>.tmp``, is removed if ``write`` or the move fails, and on
    SIGTERM (in the main thread: a `removed_on_sigterm` block named ``what``), from its creation on. It is
    `held` while written, so one that a SIGKILL left is removed by a later write to ``path``
    (`corkit_inpaint.abandoned.remove_stale_temps`: nobody holds it and it has gone unwritten for a minute).

    Raises
    ------
    InputError
        Terminated (SIGTERM) where the previous SIGTERM handler returns instead of ending the process
        (``terminated`` instead, when given).
    """
    path = Path(path)
    head = temp_head(path.name)             # cut short where a long name would make the temporary's too long
    remove_stale_temps([path])                       # what a killed (SIGKILL) write to it left
    with removed_on_sigterm(what, terminated or InputError(f"{path}: terminated (SIGTERM)")):
        tmp = temp_for(path, head)
        try:
            with held(tmp):                 # until placed: a later write tells a killed one's temporary by it
                write(tmp)
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, path)
            fsync_dir(path.parent)
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
