"""The model registry: name -> file, size, sha256, mirrors; checked every time it is read.

The registry is the package's ``registry.json`` (or ``$CORKIT_INPAINT_REGISTRY``),
checked by `validate_registry`. Where the files live is `corkit_inpaint.network.cache`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..exceptions import WeightsError

__all__ = ["Weights", "registry", "validate_registry", "default_model_name", "sha256sum",
           "file_sha256", "model_entry", "matches", "url_problem", "PACKAGE_DIR", "DATA_DIR", "CHECKOUT_WEIGHTS"]

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parents[1]
#: The package's own data folder: the default model ships here (package data).
DATA_DIR = PACKAGE_DIR / "data"
CHECKOUT_WEIGHTS = PACKAGE_DIR.parent / "weights"

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



def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be downloaded from (not http(s), or not a valid URL), or None when it can."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in url):          # a newline, a tab...
        return "not a valid URL (a control character)"
    try:
        parts = urlsplit(url)
        _ = parts.port                                             # a bad host or port raises here
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http(s) URLs are allowed"
    return None if parts.hostname else "not a valid URL (no host)"

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
        if (bad := url_problem(u)) is not None:
            return f"{what}.urls: refusing {u!r}: {bad}"
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
    except RecursionError:
        raise WeightsError(f"{where}: the model registry is nested too deeply to be read") from None
    return validate_registry(obj, where)


def default_model_name() -> str:
    """Name of the default model."""
    return registry()["default"]


def sha256sum(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: A file changed less than this many seconds ago is hashed again on every call: a file system's
#: timestamps are coarser than its writes, so a later change could leave them as they are (git's
#: "racy clean" rule).
RACY_SECONDS = 2.0
_HASHED: dict[tuple, str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """`sha256sum` of a weights file, remembered while the file is unchanged.

    A file is taken as unchanged while its device, inode, size, modification
    and status-change times are; one changed within `RACY_SECONDS` is hashed
    every time. A model is checked on every fill, and the default's 2 MB cost
    about 1.5 ms to hash each time. The window is measured on this machine's
    clock: on a shared file system whose server's clock is behind, a file
    rewritten in place twice within one timestamp tick could keep its first
    hash here; loading it still hashes the bytes it loads
    (`corkit_inpaint.network.weights.read_weights_file`), so such a file is
    refused, never used. `verify_cache` always reads the files again.
    """
    st = os.stat(path)
    key = (os.path.realpath(path), *_stat_key(st))
    if key in _HASHED:
        return _HASHED[key]
    sha = sha256sum(path)
    if _stat_key(os.stat(path)) == key[1:] and time.time() - max(st.st_mtime, st.st_ctime) > RACY_SECONDS:
        if len(_HASHED) >= 256:         # files rewritten again and again: forget the old versions
            _HASHED.clear()
        _HASHED[key] = sha
    return sha


def _stat_key(st: os.stat_result) -> tuple:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


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


def matches(path: Path, e: dict, *, fresh: bool = False) -> bool:
    """Whether ``path`` is a file with the entry's size and sha256 (``fresh``: read it again, not remembered)."""
    digest = sha256sum if fresh else file_sha256
    return path.is_file() and path.stat().st_size == e["size"] and digest(path) == e["sha256"]


