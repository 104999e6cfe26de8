"""Download a registered model into the cache: mirrors, retries, a deadline, a lock, verification before use.

Each attempt streams into a temporary ``.FILE.XXXXXXXX.part`` in the cache and
must finish within a deadline (``deadline=``, else ``$CORKIT_INPAINT_DOWNLOAD_DEADLINE``
seconds, else `DEFAULT_DEADLINE_S`); the file is verified, given the
permissions the umask allows, then renamed into place. Redirects are followed
by hand, to http(s) URLs only. A SIGTERM during a fetch (in the main thread)
removes the temporary and lock files before the process exits as it would
have; the temporaries of a killed fetch are removed by the next fetch or clear.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

from ..exceptions import WeightsError, first_line
from ..tempfiles import fsync_dir, removed_on_sigterm, temp_beside
from .cache import cache_dir, cache_lock, collect_stale, has_mirror, how_to_provide, offline
from .registry import Weights, default_model_name, matches, model_entry, sha256sum, url_problem

__all__ = ["fetch", "download_deadline", "DEFAULT_DEADLINE_S", "MAX_DEADLINE_S", "MAX_REDIRECTS"]

log = logging.getLogger(__name__)

#: Seconds one download attempt may take, unless ``deadline=`` or the environment says otherwise.
DEFAULT_DEADLINE_S = 600.0
#: The longest deadline taken (a day): beyond it a timer cannot be set everywhere.
MAX_DEADLINE_S = 86400.0
MAX_REDIRECTS = 10


class _RetryError(Exception):
    pass


class _FatalError(Exception):
    pass


def download_deadline(deadline: float | None = None) -> float:
    """Seconds one download attempt may take: ``deadline``, else ``$CORKIT_INPAINT_DOWNLOAD_DEADLINE``, else 600.

    Raises
    ------
    WeightsError
        Not a positive finite number.
    """
    src = "deadline"
    if deadline is None:
        env = os.environ.get("CORKIT_INPAINT_DOWNLOAD_DEADLINE", "").strip()
        if not env:
            return DEFAULT_DEADLINE_S
        src, deadline = f"CORKIT_INPAINT_DOWNLOAD_DEADLINE={env}", env
    try:
        value = float(deadline)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= MAX_DEADLINE_S):
        raise WeightsError(f"{src}: the download deadline must be a positive number of seconds, "
                           f"at most {MAX_DEADLINE_S:g}")
    return value


def _urls(e: dict) -> list[str]:
    base = os.environ.get("CORKIT_INPAINT_WEIGHTS_URL")
    urls = [base.rstrip("/") + "/" + e["file"]] if base else list(e.get("urls", []))
    for u in urls:
        if (bad := url_problem(u)) is not None:
            raise WeightsError(f"refusing to download from {u!r}: {bad}")
    return urls


def _get(url: str, timeout: tuple[float, float]):
    """GET ``url`` as a stream, following redirects by hand to http(s) URLs only."""
    import requests
    first = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            r = requests.get(url, stream=True, timeout=timeout, allow_redirects=False)
        except ValueError as exc:        # requests parses the URL, and a redirect's, before it can refuse them
            raise _FatalError(f"{first}: it, or a redirect from it, is not a usable URL ({first_line(exc)})") from None
        if not r.is_redirect:
            return r
        r.close()
        try:
            nxt = urljoin(url, r.headers["location"])
        except ValueError:
            nxt = r.headers["location"]
        if (bad := url_problem(nxt)) is not None:
            raise _FatalError(f"{first}: refused redirect to {nxt!r}: {bad}")
        url = nxt
    raise _FatalError(f"{first}: too many redirects (more than {MAX_REDIRECTS})")


def _get_within(url: str, timeout: tuple[float, float], end: float, deadline: float):
    """`_get`, given up when the deadline ``end`` (``time.monotonic``) passes before the response headers arrive.

    requests' read timeout is per read, so a server that drips header lines
    would hold the request forever; the request runs in a daemon thread,
    which a server that never finishes leaves behind until the process ends.
    """
    box: dict = {}

    def run():
        try:
            box["r"] = _get(url, timeout)
        except BaseException as exc:                 # handed to the caller below
            box["e"] = exc

    t = threading.Thread(target=run, daemon=True, name="corkit-inpaint-download")
    t.start()
    t.join(max(end - time.monotonic(), 0.0))
    if t.is_alive():
        raise _FatalError(f"{url}: the download deadline of {deadline:g} s passed before the response arrived "
                          "(raise it with CORKIT_INPAINT_DOWNLOAD_DEADLINE)")
    if "e" in box:
        raise box["e"]
    return box["r"]


class _Watchdog:
    """Shuts a response's socket down for reading when the deadline passes.

    Needed because a server that drips a byte at a time keeps every read
    within requests' per-read timeout, however long the whole body takes.
    Uses urllib3's ``HTTPResponse.shutdown`` (urllib3 >= 2.3), else the
    connection's socket where it is still there; failing both, the deadline
    is checked between chunks only.
    """

    def __init__(self, response, seconds: float) -> None:
        self.fired = False
        self._raw = response.raw
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        with contextlib.suppress(Exception):        # the response may be finishing in the other thread
            if hasattr(self._raw, "shutdown"):
                self._raw.shutdown()
                return
            sock = getattr(getattr(self._raw, "connection", None), "sock", None)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def _attempt(url: str, out, e: dict, *, progress: bool, deadline: float) -> None:
    """One download of ``url`` into the open file ``out``, within ``deadline`` seconds."""
    from tqdm import tqdm
    end = time.monotonic() + deadline
    with _get_within(url, (10, min(60.0, deadline)), end, deadline) as r:
        if 400 <= r.status_code < 500:
            raise _FatalError(f"{url}: HTTP {r.status_code}")
        if r.status_code >= 500:
            raise _RetryError(f"{url}: HTTP {r.status_code}")
        dog = _Watchdog(r, end - time.monotonic())
        got = 0
        try:
            with tqdm(total=e["size"], unit="B", unit_scale=True, desc=e["file"],
                      disable=not progress or None, leave=False) as bar:    # None: only on a terminal
                for chunk in r.iter_content(1 << 16):
                    got += len(chunk)
                    if got > e["size"]:          # never let a wrong file fill the disk
                        raise _FatalError(f"{url}: more than the registered {e['size']} bytes")
                    out.write(chunk)
                    bar.update(len(chunk))
                    if time.monotonic() > end:
                        dog.fired = True
                        break
        except Exception:
            if not dog.fired or got >= e["size"]:
                raise
        finally:
            dog.cancel()
        if dog.fired and got < e["size"]:          # a body complete as the deadline passed is kept
            raise _FatalError(f"{url}: the download deadline of {deadline:g} s passed before the "
                              f"{e['size']} bytes arrived (raise it with CORKIT_INPAINT_DOWNLOAD_DEADLINE)")


def _download(url: str, dest_dir: Path, e: dict, *, progress: bool, retries: int, backoff: float,
              deadline: float) -> Path:
    """Download to a temporary file in ``dest_dir`` and verify it; return the temp path."""
    import requests
    last = None
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        tmp = temp_beside(dest_dir, f".{e['file']}.", ".part")
        try:
            with open(tmp, "wb") as out:
                _attempt(url, out, e, progress=progress, deadline=deadline)
                out.flush()
                os.fsync(out.fileno())           # on disk before it is renamed into place
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
        except requests.RequestException as exc:     # before OSError: requests' errors are OSErrors too
            tmp.unlink(missing_ok=True)
            raise WeightsError(f"{url}: {exc}") from None
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise WeightsError(f"could not write {e['file']} into the cache {dest_dir}: "
                               f"{exc.strerror or exc}") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    raise WeightsError(f"{url}: failed after {retries + 1} attempts: {last}")


def _not_here(name: str, e: dict, cdir: Path) -> WeightsError | None:
    """The error for a model that cannot be downloaded (offline, or no mirror), else None."""
    mirror = has_mirror(e)
    if offline() and mirror:
        return WeightsError(
            f"offline (CORKIT_INPAINT_OFFLINE is set) and {e['file']} is not in the cache {cdir}; "
            f"copy the file there, or run 'corkit-inpaint weights fetch {name}' on a machine "
            f"with network access and copy the cache folder")
    if offline():
        return WeightsError(f"offline (CORKIT_INPAINT_OFFLINE is set), {e['file']} is not in the cache {cdir} "
                            f"and model {name!r} has no download mirror: {how_to_provide(e['file'])}")
    if not mirror:
        return WeightsError(f"{e['file']} (model {name!r}) is not in the cache {cdir} and the registry lists "
                            f"no download mirror for it: {how_to_provide(e['file'])}")
    return None


def fetch(name: str | None = None, *, progress: bool = True, retries: int = 3,
          backoff: float = 0.5, deadline: float | None = None) -> Weights:
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
    deadline : float, optional
        Seconds one attempt may take in all (`download_deadline`: default
        ``$CORKIT_INPAINT_DOWNLOAD_DEADLINE``, else 600). A mirror that passes
        it is not retried.

    Returns
    -------
    Weights

    Raises
    ------
    WeightsError
        Offline mode with no cached copy, no mirror, every mirror failed, or
        the download does not match the registry's size and sha256. Nothing is
        left in the cache in those cases.
    """
    name = name or default_model_name()
    e = model_entry(name)
    cdir = cache_dir()
    target = cdir / e["file"]
    if matches(target, e):
        return Weights(name, target, e["sha256"])
    refusal = _not_here(name, e, cdir)
    if refusal is not None:
        raise refusal
    urls = _urls(e)
    limit = download_deadline(deadline)
    try:
        cdir.mkdir(parents=True, exist_ok=True)
        with removed_on_sigterm("a download", WeightsError("the download was terminated (SIGTERM)")), \
                cache_lock(cdir / f".{e['file']}.lock"):
            return _fetch_locked(name, e, cdir, urls, dict(progress=progress, retries=retries, backoff=backoff,
                                                           deadline=limit))
    except OSError as exc:            # the cache folder is a file, read-only, a link where the lock goes...
        raise WeightsError(f"the weights cache {cdir} cannot be used ({exc.strerror or exc}): set "
                           "CORKIT_INPAINT_CACHE to a folder you can write") from None


def _fetch_locked(name: str, e: dict, cdir: Path, urls: list[str], how: dict) -> Weights:
    """`fetch`'s work while it holds the cache lock: try each mirror, place the first good download."""
    target = cdir / e["file"]
    if matches(target, e):        # another process fetched it while we waited
        return Weights(name, target, e["sha256"])
    collect_stale(cdir, e["file"], locked=True)        # left by a killed fetch
    errors = []
    for url in urls:
        try:
            tmp = _download(url, cdir, e, **how)
        except WeightsError as exc:
            errors.append(str(exc))
            continue
        try:
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise WeightsError(f"cannot place {e['file']} in the cache {cdir}: {exc.strerror or exc}") from None
        fsync_dir(cdir)
        log.info("fetched %s into %s", e["file"], cdir)
        return Weights(name, target, e["sha256"])
    raise WeightsError(f"could not fetch {e['file']}: {'; '.join(errors)}; {how_to_provide(e['file'])}")
