"""Download a registered model into the cache: mirrors, retries, a lock, verification before use."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from ..exceptions import WeightsError
from .registry import Weights, cache_dir, default_model_name, matches, model_entry, offline, sha256sum

__all__ = ["fetch"]

log = logging.getLogger(__name__)


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
                    raise _FatalError(f"{url}: HTTP {r.status_code}")
                if r.status_code >= 500:
                    raise _RetryError(f"{url}: HTTP {r.status_code}")
                with tqdm(total=e["size"], unit="B", unit_scale=True, desc=e["file"],
                          disable=not progress, leave=False) as bar:
                    got_bytes = 0
                    for chunk in r.iter_content(1 << 16):
                        got_bytes += len(chunk)
                        if got_bytes > e["size"]:        # never let a wrong file fill the disk
                            raise _FatalError(f"{url}: more than the registered {e['size']} bytes")
                        out.write(chunk)
                        bar.update(len(chunk))
            size = tmp.stat().st_size
            if size != e["size"]:
                raise _RetryError(f"{url}: got {size} bytes, expected {e['size']} (truncated or aborted)")
            got = sha256sum(tmp)
            if got != e["sha256"]:
                raise _FatalError(f"{url}: sha256 mismatch for {e['file']}: expected {e['sha256']}, got {got}")
            return tmp
        except _FatalError as exc:
            tmp.unlink(missing_ok=True)
            raise WeightsError(str(exc)) from None
        except (_RetryError, requests.ConnectionError, requests.Timeout,
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


class _RetryError(Exception):
    pass


class _FatalError(Exception):
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
    e = model_entry(name)
    cdir = cache_dir()
    target = cdir / e["file"]
    if matches(target, e):
        return Weights(name, target, e["sha256"])
    if offline():
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
        if matches(target, e):        # another process fetched it while we waited
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
