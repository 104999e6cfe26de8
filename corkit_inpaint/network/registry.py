"""The model registry (name -> file, size, sha256, mirrors) and the per-user weights cache.

The registry is the package's ``registry.json`` (or ``$CORKIT_INPAINT_REGISTRY``),
checked by `validate_registry` every time it is read; the cache is
``$CORKIT_INPAINT_CACHE`` or else the platform's user cache folder
(``~/.cache/corkit-inpaint`` on Linux). The package only ever creates, in the
cache, the registered files, their temporaries ``.FILE.XXXXXXXX.part`` and
their lock files ``.FILE.lock``; `clear_cache` removes those and nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import WeightsError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["Weights", "registry", "validate_registry", "default_model_name", "cache_dir", "sha256sum",
           "model_entry", "matches", "offline", "cache_lock", "temporaries", "collect_stale",
           "clear_cache", "how_to_provide", "PACKAGE_DIR", "DATA_DIR", "CHECKOUT_WEIGHTS", "STALE_AFTER_S"]

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: The package's own data folder: the default model ships here (package data).
DATA_DIR = PACKAGE_DIR / "data"
CHECKOUT_WEIGHTS = PACKAGE_DIR.parent / "weights"
#: Where file locks are unavailable, a temporary this old (seconds) is taken for a dead fetch's.
STALE_AFTER_S = 3600.0

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Weights:
    """A weights file that has been verified.

    Attributes
    ----------
    name : str
        Model id (the registry name, or the file stem for an explicit path).
    path : pathlib.Path
    sha256 : str
    """

    name: str
    path: Path
    sha256: str


def _check_file_name(fn, what: str) -> str | None:
    """Why ``fn`` cannot be a file name in the cache folder, or None when it can."""
    if not isinstance(fn, str):
        return f"{what}.file must be a string, got {type(fn).__name__}"
    if (not fn or fn in (".", "..") or fn.startswith(".") or "\0" in fn or "/" in fn or "\\" in fn
            or os.sep in fn or (os.altsep and os.altsep in fn)):
        return f"{what} has an unsafe file name {fn!r} (a plain name, no path separators, NUL or leading dot)"
    return None


def _check_entry(name: str, e) -> str | None:
    """Why the registry entry ``e`` is malformed, or None."""
    what = f"models[{name!r}]"
    if not isinstance(e, dict):
        return f"{what} must be a mapping, got {type(e).__name__}"
    for key in ("file", "size", "sha256"):
        if key not in e:
            return f"{what} has no {key!r}"
    bad = _check_file_name(e["file"], what)
    if bad:
        return bad
    size = e["size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return f"{what}.size must be a non-negative integer, got {size!r}"
    if not isinstance(e["sha256"], str) or not _SHA256.fullmatch(e["sha256"]):
        return f"{what}.sha256 must be 64 hex digits, got {e['sha256']!r}"
    urls = e.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        return f"{what}.urls must be a list of strings"
    for u in urls:
        if not u.lower().startswith(("http://", "https://")):
            return f"{what}.urls: refusing {u!r}: only http(s) URLs are allowed"
    for key in ("license", "description"):
        if not isinstance(e.get(key, ""), str):
            return f"{what}.{key} must be a string"
    return None


def validate_registry(obj, where: str | os.PathLike) -> dict:
    """Check a parsed registry and return a normalised copy.

    Parameters
    ----------
    obj : object
        The parsed JSON.
    where : str or path-like
        The registry file, named in the error.

    Returns
    -------
    dict
        ``{"default": str, "models": {name: entry}}``, each entry a copy with a
        lower-case ``sha256`` and a ``urls`` list.

    Raises
    ------
    WeightsError
        One line naming ``where`` and what is wrong.
    """
    def fail(msg: str):
        raise WeightsError(f"{where}: malformed model registry: {msg}")
    if not isinstance(obj, dict):
        fail(f"the top level must be a mapping, got {type(obj).__name__}")
    for key in ("models", "default"):
        if key not in obj:
            fail(f"no {key!r} key")
    models = obj["models"]
    if not isinstance(models, dict):
        fail(f"'models' must be a mapping of name to entry, got {type(models).__name__}")
    out, files = {}, {}
    for name, e in models.items():
        bad = _check_entry(name, e)
        if bad:
            fail(bad)
        if e["file"] in files:
            fail(f"models[{name!r}] and models[{files[e['file']]!r}] share the file name {e['file']!r}")
        files[e["file"]] = name
        out[name] = dict(e, sha256=e["sha256"].lower(), urls=list(e.get("urls", [])))
    default = obj["default"]
    if not isinstance(default, str) or default not in out:
        fail(f"'default' names no registered model: {default!r}")
    return {"default": default, "models": out}


def registry() -> dict:
    """The validated model registry: ``$CORKIT_INPAINT_REGISTRY`` if set, else the package's ``registry.json``.

    The package ships ``registry.json``; the environment variable lets a
    site point at its own registry (for example one listing a local mirror).

    Raises
    ------
    WeightsError
        The file is missing, unreadable, not JSON or malformed (`validate_registry`).
    """
    env = os.environ.get("CORKIT_INPAINT_REGISTRY")
    p = Path(env) if env else PACKAGE_DIR / "registry.json"
    where = f"CORKIT_INPAINT_REGISTRY={env}" if env else str(p)
    if not env and not p.is_file():
        raise WeightsError(f"the model registry {p} is missing from the installation")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{where}: cannot read the model registry ({exc})") from None
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise WeightsError(f"{where}: the model registry is not valid JSON ({exc})") from None
    return validate_registry(obj, where)


def default_model_name() -> str:
    """Name of the default model."""
    return registry()["default"]


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


def sha256sum(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_entry(name: str) -> dict:
    """The registry entry of model ``name`` (validated).

    Raises
    ------
    WeightsError
        Unknown model, or a malformed registry.
    """
    models = registry()["models"]
    if name not in models:
        raise WeightsError(f"unknown model {name!r}; known: {', '.join(sorted(models))}")
    return dict(models[name])


def matches(path: Path, e: dict) -> bool:
    """Whether ``path`` is a file with the entry's size and sha256."""
    return path.is_file() and path.stat().st_size == e["size"] and sha256sum(path) == e["sha256"]


def how_to_provide(file: str) -> str:
    """How a user puts ``file`` in place by hand (for error messages)."""
    return (f"copy {file} into the cache folder {cache_dir()} (or set CORKIT_INPAINT_CACHE to a folder "
            f"holding it), or point CORKIT_INPAINT_WEIGHTS_URL at a mirror that serves it")


def offline() -> bool:
    """Whether ``$CORKIT_INPAINT_OFFLINE`` forbids downloads."""
    return os.environ.get("CORKIT_INPAINT_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


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


def clear_cache(name: str | None = None) -> tuple[list[Path], list[Path]]:
    """Remove what the package put in the cache: every registered model, or only ``name``.

    Removes the registered model files, their download temporaries and lock
    files; never another file, a folder or a symbolic link (so never anything
    outside the cache). The cache folder itself goes only when it is left empty.
    A model whose fetch is running in another process is left alone.

    Parameters
    ----------
    name : str, optional
        A registry name; every registered model when None.

    Returns
    -------
    removed : list of pathlib.Path
    kept : list of pathlib.Path
        The files of a model whose fetch is running, left in place.
    """
    names = [name] if name else list(registry()["models"])
    files = [model_entry(n)["file"] for n in names]
    cdir = cache_dir()
    removed: list[Path] = []
    kept: list[Path] = []
    if not cdir.is_dir():
        return removed, kept
    for file in files:
        target, lock = cdir / file, cdir / f".{file}.lock"
        had_lock = _is_regular(lock)
        if not (os.path.lexists(target) or had_lock or temporaries(cdir, file)):
            continue
        with cache_lock(lock, blocking=False) as got:
            if not got:                      # a fetch is running: leave its files alone
                kept.extend(p for p in [target, *temporaries(cdir, file)] if os.path.lexists(p))
                continue
            if _is_regular(target):
                target.unlink()
                removed.append(target)
            elif os.path.lexists(target):
                log.warning("left %s in the cache: not a regular file (this package makes none)", target)
            removed.extend(collect_stale(cdir, file, locked=True))
        if had_lock and not os.path.lexists(lock):     # cache_lock removed it on release
            removed.append(lock)
    with contextlib.suppress(OSError):
        if not os.path.islink(cdir):
            cdir.rmdir()                     # only succeeds when empty
    return removed, kept
