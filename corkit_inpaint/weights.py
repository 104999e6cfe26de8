"""Model weights: a checksummed registry, a per-user cache, mirrors, offline use, safe loading.

Resolution order for a model name (`resolve_weights`):

The registry is ``weights/registry.json`` (or ``$CORKIT_INPAINT_REGISTRY``).

1. an explicit path to a file;
2. the per-user cache, ``$CORKIT_INPAINT_CACHE`` or else the platform's user
   cache folder (``~/.cache/corkit-inpaint`` on Linux);
3. the ``weights/`` folder of a source checkout;
4. a download from the registry's mirrors, in order
   (``$CORKIT_INPAINT_WEIGHTS_URL`` replaces them: the file name is appended to it).

``CORKIT_INPAINT_OFFLINE=1`` forbids step 4. Every file is checked against the
registry's size and sha256 before use. Weights are plain tensors loaded with
``torch.load(weights_only=True)``: loading never executes code.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

__all__ = ["WeightsError", "Weights", "registry", "default_model_name", "cache_dir",
           "resolve_weights", "fetch", "verify_cache", "load_model", "sha256sum"]

log = logging.getLogger(__name__)

_PKG = Path(__file__).resolve().parent
_CHECKOUT_WEIGHTS = _PKG.parent / "weights"
WEIGHTS_FORMAT = "corkit-inpaint-pconv"


class WeightsError(RuntimeError):
    """Weights could not be found, fetched or verified."""


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
    """The model registry: ``$CORKIT_INPAINT_REGISTRY`` if set, else ``weights/registry.json``.

    The package ships ``weights/registry.json``; the environment variable lets a
    site point at its own registry (for example one listing a local mirror).
    """
    env = os.environ.get("CORKIT_INPAINT_REGISTRY")
    if env:
        try:
            return json.loads(Path(env).read_text())
        except (OSError, ValueError) as exc:
            raise WeightsError(f"CORKIT_INPAINT_REGISTRY={env}: cannot read the registry ({exc})") from None
    for p in (_PKG / "registry.json", _CHECKOUT_WEIGHTS / "registry.json"):
        if p.is_file():
            return json.loads(p.read_text())
    raise WeightsError("the model registry (registry.json) is missing from the installation")


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


def _entry(name: str) -> dict:
    models = registry()["models"]
    if name not in models:
        raise WeightsError(f"unknown model {name!r}; known: {', '.join(sorted(models))}")
    e = dict(models[name])
    fn = e["file"]
    if not fn or fn != Path(fn).name or fn in (".", "..") or "\\" in fn:
        raise WeightsError(f"registry entry {name!r} has an unsafe file name {fn!r}")
    return e


def _matches(path: Path, e: dict) -> bool:
    return path.is_file() and path.stat().st_size == e["size"] and sha256sum(path) == e["sha256"]


def _offline() -> bool:
    return os.environ.get("CORKIT_INPAINT_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _urls(e: dict) -> list[str]:
    base = os.environ.get("CORKIT_INPAINT_WEIGHTS_URL")
    urls = [base.rstrip("/") + "/" + e["file"]] if base else list(e.get("urls", []))
    for u in urls:
        if urlparse(u).scheme not in ("http", "https"):
            raise WeightsError(f"refusing to download from {u!r}: only http(s) URLs are allowed")
    return urls


@contextlib.contextmanager
def _lock(path: Path):
    """An exclusive advisory lock on ``path`` (a no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            # Remove the lock file so a failed fetch leaves nothing behind. A process
            # that raced past it still only ever renames a verified file into place.
            with contextlib.suppress(OSError):
                path.unlink()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _download(url: str, dest_dir: Path, e: dict, *, progress: bool, retries: int, backoff: float) -> Path:
    """Download to a temporary file in ``dest_dir`` and verify it; return the temp path."""
    import requests
    from tqdm import tqdm
    last = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        fd, tmp = tempfile.mkstemp(prefix=f".{e['file']}.", suffix=".part", dir=dest_dir)
        tmp = Path(tmp)
        try:
            with os.fdopen(fd, "wb") as out, requests.get(url, stream=True, timeout=(10, 60)) as r:
                if r.status_code == 404 or 400 <= r.status_code < 500:
                    raise _Fatal(f"{url}: HTTP {r.status_code}")
                if r.status_code >= 500:
                    raise _Retry(f"{url}: HTTP {r.status_code}")
                with tqdm(total=e["size"], unit="B", unit_scale=True, desc=e["file"],
                          disable=not progress, leave=False) as bar:
                    got_bytes = 0
                    for chunk in r.iter_content(1 << 16):
                        got_bytes += len(chunk)
                        if got_bytes > e["size"]:        # never let a wrong file fill the disk
                            raise _Fatal(f"{url}: more than the registered {e['size']} bytes")
                        out.write(chunk)
                        bar.update(len(chunk))
            size = tmp.stat().st_size
            if size != e["size"]:
                raise _Retry(f"{url}: got {size} bytes, expected {e['size']} (truncated or aborted)")
            got = sha256sum(tmp)
            if got != e["sha256"]:
                raise _Fatal(f"{url}: sha256 mismatch for {e['file']}: expected {e['sha256']}, got {got}")
            return tmp
        except _Fatal as exc:
            tmp.unlink(missing_ok=True)
            raise WeightsError(str(exc)) from None
        except (_Retry, requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            tmp.unlink(missing_ok=True)
            last = exc
            log.warning("download attempt %d of %s failed: %s", attempt + 1, url, exc)
        except OSError as exc:                  # after requests' errors, which are OSErrors too
            tmp.unlink(missing_ok=True)
            raise WeightsError(f"could not write {e['file']} into the cache {dest_dir}: "
                               f"{exc.strerror or exc}") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    raise WeightsError(f"{url}: failed after {retries + 1} attempts: {last}")


class _Retry(Exception):
    pass


class _Fatal(Exception):
    pass


def fetch(name: str | None = None, *, progress: bool = True, retries: int = 3,
          backoff: float = 0.5) -> Weights:
    """Make sure a registered model is in the cache, downloading it if needed.

    Parameters
    ----------
    name : str, optional
        Registry name; the default model when None.
    progress : bool
        Show a download progress bar.
    retries : int
        Extra attempts per mirror on connection errors, 5xx and truncated bodies.
    backoff : float
        First retry delay in seconds; doubles each time.

    Returns
    -------
    Weights

    Raises
    ------
    WeightsError
        Offline mode with no cached copy, every mirror failed, or the download
        does not match the registry's size and sha256. Nothing is left in the
        cache in those cases.
    """
    name = name or default_model_name()
    e = _entry(name)
    cdir = cache_dir()
    target = cdir / e["file"]
    if _matches(target, e):
        return Weights(name, target, e["sha256"])
    if _offline():
        raise WeightsError(
            f"offline (CORKIT_INPAINT_OFFLINE is set) and {e['file']} is not in the cache {cdir}; "
            f"copy the file there, or run 'corkit-inpaint weights fetch {name}' on a machine "
            f"with network and copy the cache folder")
    urls = _urls(e)
    if not urls:
        raise WeightsError(f"model {name!r} has no mirror URL; set CORKIT_INPAINT_WEIGHTS_URL")
    cdir.mkdir(parents=True, exist_ok=True)
    errors = []
    with _lock(cdir / f".{e['file']}.lock"):
        if _matches(target, e):        # another process fetched it while we waited
            return Weights(name, target, e["sha256"])
        for url in urls:
            try:
                tmp = _download(url, cdir, e, progress=progress, retries=retries, backoff=backoff)
            except WeightsError as exc:
                errors.append(str(exc))
                continue
            os.replace(tmp, target)
            log.info("fetched %s into %s", e["file"], cdir)
            return Weights(name, target, e["sha256"])
    raise WeightsError("could not fetch " + e["file"] + ": " + "; ".join(errors))


def resolve_weights(name_or_path: str | os.PathLike | None = None, *, download: bool = True,
                    progress: bool = True) -> Weights:
    """Find a verified weights file (see the module docstring for the order).

    Parameters
    ----------
    name_or_path : str or path-like, optional
        A registry name, or a path to a weights file; the default model when None.
    download : bool
        Allow step 4 (download).
    """
    if name_or_path is not None and (os.sep in str(name_or_path) or Path(name_or_path).suffix
                                     or Path(name_or_path).is_file()):
        p = Path(name_or_path)
        if not p.is_file():
            raise WeightsError(f"weights file {p} does not exist")
        sha = sha256sum(p)
        for n, e in registry()["models"].items():      # a known file keeps its registry name
            if e["sha256"] == sha:
                return Weights(n, p, sha)
        return Weights(p.stem, p, sha)
    name = str(name_or_path) if name_or_path else default_model_name()
    e = _entry(name)
    cached = cache_dir() / e["file"]
    if _matches(cached, e):
        return Weights(name, cached, e["sha256"])
    if cached.exists():
        log.warning("cached %s does not match the registry's checksum; ignoring it", cached)
    local = _CHECKOUT_WEIGHTS / e["file"]
    if _matches(local, e):
        return Weights(name, local, e["sha256"])
    if not download:
        raise WeightsError(f"{e['file']} is neither in the cache {cache_dir()} nor in {_CHECKOUT_WEIGHTS}")
    return fetch(name, progress=progress)


def verify_cache() -> list[tuple[str, Path, bool]]:
    """Re-check every registered file present in the cache: ``(name, path, ok)``."""
    out = []
    for n in registry()["models"]:
        e = _entry(n)
        p = cache_dir() / e["file"]
        if p.exists():
            out.append((n, p, _matches(p, e)))
    return out


def read_weights_file(path: str | os.PathLike) -> dict:
    """Load a weights file without executing code and check its format."""
    import torch
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: not a loadable weights file ({exc.__class__.__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(blob, dict) or blob.get("format") != WEIGHTS_FORMAT:
        raise WeightsError(f"{path}: not a corkit-inpaint weights file (format != {WEIGHTS_FORMAT!r})")
    return blob


@lru_cache(maxsize=4)
def _load_cpu(path: str, sha: str):
    from .pconv import PConvUNet
    blob = read_weights_file(path)
    cfg = blob["model_config"]
    model = PConvUNet(stages=cfg["stages"], widths=tuple(cfg["widths"]), ring=cfg["ring"],
                      extra_channels=cfg["extra_channels"])
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model


def load_model(name_or_path: str | os.PathLike | None = None, device: str = "cpu"):
    """Load a partial-convolution UNet.

    Parameters
    ----------
    name_or_path : str or path-like, optional
        Registry name or weights file; the default model when None.
    device : str
        A torch device string.

    Returns
    -------
    model : corkit_inpaint.pconv.PConvUNet
        In eval mode, on ``device``, with ``model_id`` and ``sha256`` attributes.
    """
    import copy
    w = resolve_weights(name_or_path)
    model = _load_cpu(str(w.path), w.sha256)
    if device != "cpu":
        model = copy.deepcopy(model).to(device)
    model.model_id = w.name
    model.sha256 = w.sha256
    return model
