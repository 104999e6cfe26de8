"""The per-user weights cache: its folder, its locks, and removing only what the package put there.

The cache is ``$CORKIT_INPAINT_CACHE`` or else the platform's user cache folder
(``~/.cache/corkit-inpaint`` on Linux). The package only ever creates, in the
cache, the registered files, their temporaries ``.FILE.XXXXXXXX.part`` and
their lock files ``.FILE.lock``; `clear_cache` removes those and nothing else,
and a model file only when a mirror can serve it again (`refetchable`): a copy
of a model no mirror serves, put there by hand as `how_to_provide` suggests,
stays unless ``force`` is given.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..exceptions import WeightsError
from .registry import CHECKOUT_WEIGHTS, DATA_DIR, matches, model_entry, registry

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["cache_dir", "cache_problem", "offline", "how_to_provide", "cache_lock", "temporaries", "collect_stale",
           "has_mirror", "refetchable", "clear_cache", "STALE_AFTER_S"]

log = logging.getLogger(__name__)

#: Where file locks are unavailable, a temporary this old (seconds) is taken for a dead fetch's.
STALE_AFTER_S = 3600.0


def cache_dir() -> Path:
    """The per-user weights cache folder (not created here)."""
    env = os.environ.get("CORKIT_INPAINT_CACHE")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "corkit-inpaint"


def cache_problem() -> str:
    """Why `cache_dir` cannot be read as the cache: it is not a folder, or cannot be looked at (a link loop, a
    permission); "" when it is a folder, or is not there yet (nothing is cached)."""
    p = cache_dir()
    hint = ": check CORKIT_INPAINT_CACHE" if os.environ.get("CORKIT_INPAINT_CACHE") else ""
    try:
        st = p.stat()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        return f"the weights cache {p} cannot be read ({exc.strerror or exc}){hint}"
    if not stat.S_ISDIR(st.st_mode):
        return f"the weights cache {p} is not a folder{hint}"
    return ""


def offline() -> bool:
    """Whether ``$CORKIT_INPAINT_OFFLINE`` forbids downloads: 1, true, yes or on; 0, false, no, off or unset allow
    them; any other value forbids them, with a warning (battery s35: ``maybe`` was taken as online)."""
    value = os.environ.get("CORKIT_INPAINT_OFFLINE", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value not in ("1", "true", "yes", "on"):
        log.warning("CORKIT_INPAINT_OFFLINE=%r is neither on (1, true, yes, on) nor off (0, false, no, off): "
                    "taken as on, so nothing is downloaded", value)
    return True


def how_to_provide(file: str) -> str:
    """How a user puts ``file`` in place by hand (for error messages)."""
    return (f"copy {file} into the cache folder {cache_dir()} (or set CORKIT_INPAINT_CACHE to a folder "
            f"holding it), or point CORKIT_INPAINT_WEIGHTS_URL at a mirror that serves it")


@contextlib.contextmanager
def cache_lock(path: Path, *, blocking: bool = True) -> Iterator[bool]:
    """An exclusive advisory lock on the lock file ``path``; yields whether it was acquired.

    The lock file is removed on release, so a finished fetch leaves nothing
    behind. A waiter that then finds its file unlinked or replaced tries again
    on the current one, so removing the file never lets two holders in. A lock
    file left by a killed process does not block: the kernel dropped its lock.
    Where ``fcntl`` is missing (Windows) this locks nothing and yields True.
    """
    if fcntl is None:  # pragma: no cover - Windows
        yield True
        return
    while True:
        # read-only is enough for flock, so a colleague's leftover lock file in a shared cache
        # can be locked too; never follow a symbolic link out of the cache
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        except BaseException:
            os.close(fd)
            raise
        held = os.fstat(fd)
        try:
            now = os.lstat(path)
        except FileNotFoundError:
            now = None
        if now is not None and (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
            break
        os.close(fd)                         # removed while we waited: lock the current file
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)                         # closing releases the lock


def temporaries(cdir: Path, file: str) -> list[Path]:
    """The download temporaries of ``file`` in ``cdir`` (``.FILE.XXXXXXXX.part``, regular files only)."""
    pat = re.compile(r"\." + re.escape(file) + r"\.[a-z0-9_]{8}\.part")
    try:
        names = os.listdir(cdir)
    except OSError:
        return []
    return [cdir / n for n in sorted(names) if pat.fullmatch(n) and _is_regular(cdir / n)]


def _is_regular(p: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(p).st_mode)
    except OSError:
        return False


def collect_stale(cdir: Path, file: str, *, locked: bool = False) -> list[Path]:
    """Remove the temporaries a killed fetch of ``file`` left in ``cdir``; return them.

    A temporary is stale when nobody holds ``file``'s lock (``locked=True``:
    the caller holds it, so none is in use), or, where locks are unavailable,
    when it is older than `STALE_AFTER_S`.
    """
    parts = temporaries(cdir, file)
    if not parts:
        return []
    if not locked:
        with cache_lock(cdir / f".{file}.lock", blocking=False) as got:
            return collect_stale(cdir, file, locked=True) if got else []
    old = 0.0 if fcntl is not None else STALE_AFTER_S
    removed = []
    for p in parts:
        with contextlib.suppress(OSError):
            if time.time() - os.lstat(p).st_mtime >= old:
                p.unlink()
                removed.append(p)
    if removed:
        log.info("removed %d stale temporary file(s) of %s from %s", len(removed), file, cdir)
    return removed


def has_mirror(entry: dict) -> bool:
    """Whether a download mirror is named for a registry entry: its ``urls``, or ``$CORKIT_INPAINT_WEIGHTS_URL``
    (blank is none)."""
    return bool(entry.get("urls") or os.environ.get("CORKIT_INPAINT_WEIGHTS_URL", "").strip())


def refetchable(path: Path, entry: dict) -> bool:
    """Whether ``path`` could be downloaded again: it holds the registered bytes (`matches`) and a mirror is
    named for it (`has_mirror`)."""
    try:
        return has_mirror(entry) and matches(path, entry)
    except OSError:                 # unreadable: not known to be the registered bytes
        return False


def clear_cache(name: str | None = None, *, force: bool = False) -> tuple[list[Path], list[Path], list[Path]]:
    """Remove what the package put in the cache: every registered model, or only ``name``.

    Removes the registered model files a mirror can serve again (`refetchable`),
    their download temporaries and lock files; never another file, a folder or
    a symbolic link (so never anything outside the cache). A model file no
    mirror serves, or whose bytes are not the registered ones (perhaps a copy
    you made), is kept unless ``force``. The cache folder itself stays, even
    when empty (you may have made it, and named it in ``CORKIT_INPAINT_CACHE``).
    A model whose fetch is running in another process is left alone.

    Parameters
    ----------
    name : str, optional
        A registry name; every registered model when None.
    force : bool
        Also remove registered model files that no mirror can serve again.

    Returns
    -------
    removed : list of pathlib.Path
    busy : list of pathlib.Path
        The files of a model whose fetch is running, left in place.
    by_hand : list of pathlib.Path
        Registered model files no mirror can serve again, left in place (none with ``force``).

    Raises
    ------
    WeightsError
        The cache folder is the package's own data folder or the checkout's
        ``weights/`` folder (``$CORKIT_INPAINT_CACHE`` pointed there): those are not a cache.
        Or a file or lock cannot be removed or made there (a read-only cache): the message names it and how
        many files were removed before.
    """
    names = [name] if name else list(registry()["models"])
    entries = [model_entry(n) for n in names]
    cdir = cache_dir()
    removed: list[Path] = []
    busy: list[Path] = []
    by_hand: list[Path] = []
    if not cdir.is_dir():
        return removed, busy, by_hand
    if any(_same_folder(cdir, own) for own in (DATA_DIR, CHECKOUT_WEIGHTS)):
        raise WeightsError(f"the weights cache {cdir} is the package's own folder of model files, not a cache: "
                           "nothing was removed (unset CORKIT_INPAINT_CACHE)")
    try:
        for e in entries:
            _clear_entry(cdir, e["file"], force, e, removed, busy, by_hand)
    except OSError as exc:          # a read-only cache, a folder where the lock goes: not errno's words
        where = f": {Path(exc.filename).name}" if exc.filename else ""
        raise WeightsError(f"the weights cache {cdir} cannot be cleared ({exc.strerror or exc}{where}); "
                           f"{len(removed)} file(s) were removed before") from None
    return removed, busy, by_hand       # the folder stays: the user may have made it, and named it in an env variable


def _clear_entry(cdir: Path, file: str, force: bool, e: dict, removed: list, busy: list,
                 by_hand: list) -> None:
    """`clear_cache` for one model: its file, lock and temporaries (appended to the three lists)."""
    target, lock = cdir / file, cdir / f".{file}.lock"
    had_lock = _is_regular(lock)
    if not (os.path.lexists(target) or had_lock or temporaries(cdir, file)):
        return
    with cache_lock(lock, blocking=False) as got:
        if not got:                      # a fetch is running: leave its files alone
            busy.extend(p for p in [target, *temporaries(cdir, file)] if os.path.lexists(p))
            return
        if _is_regular(target) and (force or refetchable(target, e)):
            target.unlink()
            removed.append(target)
        elif _is_regular(target):
            by_hand.append(target)
            log.info("left %s in the cache: no mirror can serve it again (force removes it)", target)
        elif os.path.lexists(target):
            log.warning("left %s in the cache: not a regular file (this package makes none)", target)
        removed.extend(collect_stale(cdir, file, locked=True))
    if had_lock and not os.path.lexists(lock):     # cache_lock removed it on release
        removed.append(lock)


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return b.is_dir() and os.path.samefile(a, b)
    except OSError:
        return False
