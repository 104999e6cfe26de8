"""Temporaries a killed write left: the names this package gives its temporaries, and how a later run tells a
killed writer's from a live one's and removes it.

A writer holds an ``flock`` on its temporary (`held`) until it is moved into place; the kernel releases the lock
when the process dies, SIGKILL included. Only this package's names (``.<name>.corkit-inpaint-<8 chars>.tmp``) are
candidates, and only regular files of this user's that nobody holds and that have gone unwritten for a while.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["TEMP_TAG", "TEMP_TAIL", "STALE_AFTER", "temp_head", "file_identity", "held", "remove_if_abandoned",
           "remove_stale_temps", "inputs_kept"]

log = logging.getLogger(__name__)

#: Marks the temporary an output is written to, ``.<name>.corkit-inpaint-<8 chars>.tmp[.gz]``, so a later run
#: can tell a killed write's leftover from anybody else's file.
TEMP_TAG = "corkit-inpaint-"
#: What follows `TEMP_TAG` in a temporary's name (`tempfile.mkstemp`'s 8 characters).
TEMP_TAIL = re.compile(r"[a-z0-9_]{8}\.tmp(\.gz)?")
#: Seconds a temporary nobody holds must have gone unwritten before it is taken for a killed write's: a writer
#: takes its lock a moment after making the file.
STALE_AFTER = 60.0
#: ``(st_dev, st_ino)`` of the files no scan for stale temporaries takes while `inputs_kept` holds them: a
#: command's inputs (one named like an output's temporary, such as a killed write's leftover read back).
_KEPT: set[tuple[int, int]] = set()
#: Bytes a file name may hold on the usual file systems (ext4, XFS, APFS, NTFS).
_NAME_MAX = 255


def temp_head(name: str) -> str:
    """``.<name>.corkit-inpaint-``, the start of the temporary a file ``name`` is written through.

    ``name`` is cut short where the temporary's whole name would exceed `_NAME_MAX` bytes: an output, a
    JSON record or a figure named near that limit failed with "File name too long".

    Parameters
    ----------
    name : str
        The file's name (no folder).

    Returns
    -------
    str
    """
    room = _NAME_MAX - len(f"..{TEMP_TAG}12345678.tmp.gz")
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) > room:
        name = raw[:room].decode("utf-8", "ignore")
    return f".{name}.{TEMP_TAG}"


def file_identity(path) -> tuple[int, int] | None:
    """``(st_dev, st_ino)`` of an existing file (links followed), else None: equal for every path of one file."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


@contextlib.contextmanager
def inputs_kept(paths: Iterable[str | os.PathLike]) -> Iterator[None]:
    """While the block runs, no scan for stale temporaries (`remove_stale_temps`, and so every
    `corkit_inpaint.tempfiles.write_through_temp`) removes one of the files ``paths``, however it is named or
    linked: a command's inputs are only read, also one named exactly like an output's temporary.

    Parameters
    ----------
    paths : iterable of path-like
        The inputs; those that do not exist are passed over.
    """
    new = {i for i in map(file_identity, paths) if i is not None} - _KEPT
    _KEPT.update(new)
    try:
        yield
    finally:
        _KEPT.difference_update(new)


def remove_stale_temps(outputs: Iterable[str | os.PathLike], *, min_age: float = STALE_AFTER,
                       keep: Iterable[str | os.PathLike] = ()) -> int:
    """Remove the temporaries killed writes left beside ``outputs``; how many were removed.

    Only this package's temporaries of these outputs are candidates
    (``.<name>.corkit-inpaint-<8 chars>.tmp``, `temp_head`), and only those whose writer is gone
    (`remove_if_abandoned`: not written for ``min_age``
    seconds, and its lock free), never one of ``outputs`` or ``keep`` (the run's
    other outputs, and its inputs: by name and as files, links and all), nor a file `inputs_kept` holds.
    Each folder is listed once. A file of your own named exactly
    so beside an output is taken for a temporary, unless it is one of those.
    """
    heads: dict[Path, set[str]] = {}
    own: dict[Path, set[str]] = {}
    keep = list(keep)
    for out in outputs:
        out = Path(out)
        heads.setdefault(out.parent, set()).add(temp_head(out.name))
        own.setdefault(out.parent, set()).add(out.name)
    for out in map(Path, keep):
        own.setdefault(out.parent, set()).add(out.name)
    never = frozenset(_KEPT | {i for i in map(file_identity, keep) if i is not None})
    n = 0
    for folder, names in heads.items():
        try:
            entries = [e.name for e in os.scandir(folder)]
        except OSError:
            continue
        for name in entries:
            head, tag, tail = name.rpartition(TEMP_TAG)
            if tag and head + tag in names and TEMP_TAIL.fullmatch(tail) and name not in own[folder]:
                n += remove_if_abandoned(folder / name, min_age, never=never)
    if n:
        log.info("removed %d temporary file(s) a killed write left beside the outputs", n)
    return n


#: How `held` and `remove_if_abandoned` open a temporary: writable (an flock on NFS needs it), never through a
#: link, and without waiting on a FIFO that happens to carry its name.
_OPEN_TEMP = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


@contextlib.contextmanager
def held(path: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the file ``path`` for the block: its writer is alive.

    The kernel releases the lock when the block ends or the process dies, SIGKILL
    included, so `remove_if_abandoned` can tell a live writer's temporary from a
    killed one's. Where the file system has no such locks the block runs unheld.

    Raises
    ------
    BlockingIOError, FileNotFoundError
        Another process holds the lock, or has removed the file (taking a temporary whose writer stalled
        longer than `remove_if_abandoned`'s age for a killed one's): the file is not this block's to write.
    """
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(path, _OPEN_TEMP)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, FileNotFoundError):  # another process holds it, or took it: not ours to write
            if fd is not None:
                os.close(fd)
            raise
        except OSError:                          # no such locks on this file system: the block runs unheld
            if fd is not None:
                os.close(fd)
                fd = None
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)             # closing releases the lock


def remove_if_abandoned(path: str | os.PathLike, min_age: float, *,
                        never: frozenset[tuple[int, int]] = frozenset()) -> bool:
    """Remove the temporary ``path`` if its writer is gone; whether it was removed.

    Gone means: a regular file of this user's, not written for ``min_age``
    seconds, whose ``flock`` nobody holds (`held`). One whose lock cannot be
    taken, as where the file system has no locks, is kept, and so is a link
    (nothing but a regular file is opened). ``min_age`` must cover the moment
    between a temporary's creation and its writer's lock.

    Parameters
    ----------
    path : path-like
        The temporary.
    min_age : float
        Seconds since it was last written, at least.
    never : frozenset of (st_dev, st_ino)
        Files kept whatever their name (a run's inputs).

    Returns
    -------
    bool
        True when it was removed.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return False
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        fd = os.open(path, _OPEN_TEMP)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if (not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or time.time() - st.st_mtime < min_age
                or (st.st_dev, st.st_ino) in never):
            return False
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)          # OSError: a live writer holds it
        now = os.lstat(path)
        if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return False
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
