"""The model registry (name -> file, size, sha256, mirrors) and the per-user weights cache.

The registry is the package's ``registry.json`` (or ``$CORKIT_INPAINT_REGISTRY``);
the cache is ``$CORKIT_INPAINT_CACHE`` or else the platform's user cache folder
(``~/.cache/corkit-inpaint`` on Linux).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import WeightsError

__all__ = ["Weights", "registry", "default_model_name", "cache_dir", "sha256sum", "model_entry",
           "matches", "offline", "PACKAGE_DIR", "CHECKOUT_WEIGHTS"]

PACKAGE_DIR = Path(__file__).resolve().parents[1]
CHECKOUT_WEIGHTS = PACKAGE_DIR.parent / "weights"


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


def registry() -> dict:
    """The model registry: ``$CORKIT_INPAINT_REGISTRY`` if set, else the package's ``registry.json``.

    The package ships ``registry.json``; the environment variable lets a
    site point at its own registry (for example one listing a local mirror).
    """
    env = os.environ.get("CORKIT_INPAINT_REGISTRY")
    if env:
        try:
            return json.loads(Path(env).read_text())
        except (OSError, ValueError) as exc:
            raise WeightsError(f"CORKIT_INPAINT_REGISTRY={env}: cannot read the registry ({exc})") from None
    p = PACKAGE_DIR / "registry.json"
    if not p.is_file():
        raise WeightsError("the model registry (registry.json) is missing from the installation")
    return json.loads(p.read_text())


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
    models = registry()["models"]
    if name not in models:
        raise WeightsError(f"unknown model {name!r}; known: {', '.join(sorted(models))}")
    e = dict(models[name])
    fn = e["file"]
    if not fn or fn != Path(fn).name or fn in (".", "..") or "\\" in fn:
        raise WeightsError(f"registry entry {name!r} has an unsafe file name {fn!r}")
    return e


def matches(path: Path, e: dict) -> bool:
    return path.is_file() and path.stat().st_size == e["size"] and sha256sum(path) == e["sha256"]


def offline() -> bool:
    return os.environ.get("CORKIT_INPAINT_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
