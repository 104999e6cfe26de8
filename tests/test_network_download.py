"""Downloads into the cache, against a real HTTP server on 127.0.0.1 that counts its requests.

The server, the tiny weights and the test registry defined here are shared with
the other ``test_network_*`` and ``test_cli_weights`` modules.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from weights_server import write_registry

import corkit_inpaint as ci
from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.network import cache, download, weights


def cache_names(env):
    return sorted(p.name for p in env["cache"].iterdir()) if env["cache"].exists() else []


def test_first_use_downloads_second_does_not(env, server):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    w = weights.resolve_weights()
    assert w.path == env["cache"] / "tiny-test.pt" and w.sha256 == env["entry"]["sha256"]
    assert server.total() == 1 and w.path.read_bytes() == env["body"]
    assert weights.resolve_weights().path == w.path and download.fetch().path == w.path
    model = ci.load_model(device="cpu")
    assert model.model_id == "tiny" and model.sha256 == env["entry"]["sha256"]
    assert server.total() == 1
    assert cache_names(env) == ["tiny-test.pt"]


def test_the_download_bar_is_drawn_on_a_terminal_only(env, server, capsys):
    """Battery s34: with stderr a file, the progress bar of a download was written into it, carriage returns
    and all (the README says bars are drawn on a terminal only)."""
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    download.fetch(progress=True)
    assert cache_names(env) == ["tiny-test.pt"] and capsys.readouterr().err == ""


def test_cache_env_var_respected(env, server):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    assert cache.cache_dir() == env["cache"]
    download.fetch(progress=False)
    assert (env["cache"] / "tiny-test.pt").is_file()


def test_corrupt_file_on_mirror(env, server):
    bad = bytearray(env["body"])
    bad[100] ^= 0xFF
    server.routes["/a/tiny-test.pt"] = [("ok", bytes(bad))]
    server.routes["/b/tiny-test.pt"] = [("ok", bytes(bad))]
    with pytest.raises(WeightsError) as ei:
        download.fetch(progress=False, backoff=0.01)
    msg = str(ei.value)
    assert env["entry"]["sha256"] in msg and hashlib.sha256(bad).hexdigest() in msg
    assert cache_names(env) == []


def test_truncated_response_retried_then_error(env, server):
    half = env["body"][: len(env["body"]) // 2]
    server.routes["/a/tiny-test.pt"] = [("truncate", half)]
    write_registry(env, tiny=dict(env["entry"], urls=[env["entry"]["urls"][0]]))
    with pytest.raises(WeightsError, match="3 attempts"):
        download.fetch(progress=False, retries=2, backoff=0.01)
    assert server.counts["/a/tiny-test.pt"] == 3
    assert cache_names(env) == []


def test_5xx_retried_then_succeeds(env, server):
    server.routes["/a/tiny-test.pt"] = [("status", 503), ("status", 502), ("ok", env["body"])]
    w = download.fetch(progress=False, retries=3, backoff=0.01)
    assert server.counts["/a/tiny-test.pt"] == 3 and w.path.read_bytes() == env["body"]


def test_oversized_file_refused(env, server):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"] + b"x" * 100_000)]
    server.routes["/b/tiny-test.pt"] = [("status", 404)]
    with pytest.raises(WeightsError, match="more than the registered"):
        download.fetch(progress=False, backoff=0.01)
    assert cache_names(env) == []


def test_full_cache_disk_gives_clear_error(env, server):
    """A real write failure: the file-size limit stops the download half way (EFBIG)."""
    import resource
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(env["body"]) // 2, len(env["body"]) // 2))
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "-q", "weights", "fetch"],
                       capture_output=True, text=True, env=dict(os.environ), preexec_fn=limit, timeout=120)
    assert r.returncode == 1 and "could not write" in r.stderr and "Traceback" not in r.stderr
    assert cache_names(env) == []


def test_404_on_every_mirror_says_how_to_provide_the_file(env, server):
    with pytest.raises(WeightsError) as ei:
        download.fetch(progress=False, backoff=0.01)
    msg = str(ei.value)
    assert "HTTP 404" in msg and str(env["cache"]) in msg and "CORKIT_INPAINT_WEIGHTS_URL" in msg
    assert "\n" not in msg and server.total() == 2


def test_404_first_mirror_uses_second(env, server):
    server.routes["/b/tiny-test.pt"] = [("ok", env["body"])]
    w = download.fetch(progress=False, backoff=0.01)
    assert server.counts == {"/a/tiny-test.pt": 1, "/b/tiny-test.pt": 1}
    assert w.path.read_bytes() == env["body"]


def test_base_url_env_replaces_mirrors(env, server, monkeypatch):
    server.routes["/mirror/tiny-test.pt"] = [("ok", env["body"])]
    monkeypatch.setenv("CORKIT_INPAINT_WEIGHTS_URL", f"{server.url}/mirror/")
    download.fetch(progress=False)
    assert server.counts == {"/mirror/tiny-test.pt": 1}


def test_offline_makes_no_request(env, server, monkeypatch):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    monkeypatch.setenv("CORKIT_INPAINT_OFFLINE", "1")
    with pytest.raises(WeightsError) as ei:
        weights.resolve_weights()
    assert "tiny-test.pt" in str(ei.value) and str(env["cache"]) in str(ei.value)
    assert server.total() == 0


def test_concurrent_fetches_one_valid_file(env, server):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    results, errors = [], []

    def go():
        try:
            results.append(download.fetch(progress=False))
        except Exception as exc:      # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 4
    assert {r.path for r in results} == {env["cache"] / "tiny-test.pt"}
    assert (env["cache"] / "tiny-test.pt").read_bytes() == env["body"]
    assert cache_names(env) == ["tiny-test.pt"]
    assert server.total() == 1


def test_deadline_stops_a_dripping_server(env, server):
    """Every read gets a byte well within the read timeout; only the overall deadline ends it."""
    server.routes["/a/tiny-test.pt"] = [("drip", (env["body"], 0.2))]
    write_registry(env, tiny=dict(env["entry"], urls=[env["entry"]["urls"][0]]))
    with pytest.raises(WeightsError) as ei:
        download.fetch(progress=False, retries=2, backoff=0.01, deadline=1.5)
    msg = str(ei.value)
    assert "deadline of 1.5 s passed" in msg and "CORKIT_INPAINT_DOWNLOAD_DEADLINE" in msg and "\n" not in msg
    assert server.counts == {"/a/tiny-test.pt": 1}          # a mirror past the deadline is not retried
    assert cache_names(env) == []


def test_deadline_stops_a_server_that_drips_its_headers(env, server):
    """Header lines well within the read timeout, but past the deadline: ended by the deadline, not retried."""
    server.routes["/a/tiny-test.pt"] = [("driphead", (env["body"], 0.25, 40))]    # the body only after 10 s
    write_registry(env, tiny=dict(env["entry"], urls=[env["entry"]["urls"][0]]))
    with pytest.raises(WeightsError) as ei:
        download.fetch(progress=False, retries=2, backoff=0.01, deadline=1.5)
    msg = str(ei.value)
    assert "deadline of 1.5 s passed before the response arrived" in msg and "\n" not in msg
    assert server.counts == {"/a/tiny-test.pt": 1}
    assert cache_names(env) == []


def test_a_folder_in_the_cache_where_the_file_goes_gives_one_line(env, server):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    (env["cache"] / "tiny-test.pt").mkdir(parents=True)
    with pytest.raises(WeightsError) as ei:
        download.fetch(progress=False)
    assert "cannot place tiny-test.pt in the cache" in str(ei.value) and "\n" not in str(ei.value)
    assert cache_names(env) == ["tiny-test.pt"]              # the verified download is not left behind


@pytest.mark.parametrize("case", ["cache is a file", "lock is a link"])
def test_a_cache_folder_that_cannot_be_used_is_one_weights_error(env, server, case):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    if case == "cache is a file":
        env["cache"].parent.mkdir(parents=True, exist_ok=True)
        env["cache"].write_text("not a folder")
    else:
        env["cache"].mkdir(parents=True)
        (env["cache"] / ".tiny-test.pt.lock").symlink_to(env["cache"].parent / "elsewhere")
    with pytest.raises(WeightsError) as ei:
        download.fetch(progress=False)
    msg = str(ei.value)
    assert f"the weights cache {env['cache']} cannot be used" in msg and "CORKIT_INPAINT_CACHE" in msg
    assert "\n" not in msg and server.total() == 0


def test_deadline_from_the_environment(monkeypatch):
    assert download.download_deadline() == download.DEFAULT_DEADLINE_S == 600
    monkeypatch.setenv("CORKIT_INPAINT_DOWNLOAD_DEADLINE", "2.5")
    assert download.download_deadline() == 2.5 and download.download_deadline(7) == 7
    for bad in ("soon", "0", "-1", "inf", "nan", "1e10"):     # 1e10 s: longer than a timer can wait
        monkeypatch.setenv("CORKIT_INPAINT_DOWNLOAD_DEADLINE", bad)
        with pytest.raises(WeightsError, match=f"CORKIT_INPAINT_DOWNLOAD_DEADLINE={bad}: .*positive"):
            download.download_deadline()


def test_redirects_followed_to_http_only(env, server):
    server.routes["/a/tiny-test.pt"] = [("redirect", "file:///etc/passwd")]
    server.routes["/b/tiny-test.pt"] = [("redirect", "/b/tiny-test.pt")]           # a loop
    with pytest.raises(WeightsError) as ei:
        download.fetch(progress=False, backoff=0.01)
    msg = str(ei.value)
    assert "refused redirect to 'file:///etc/passwd': only http(s) URLs are allowed" in msg
    assert "too many redirects" in msg and "could not write" not in msg
    assert server.counts["/a/tiny-test.pt"] == 1 and server.counts["/b/tiny-test.pt"] == 11
    assert cache_names(env) == []
    server.routes["/a/tiny-test.pt"] = [("redirect", f"{server.url}/elsewhere/tiny-test.pt")]
    server.routes["/elsewhere/tiny-test.pt"] = [("ok", env["body"])]
    assert download.fetch(progress=False).path.read_bytes() == env["body"]


def test_an_unparsable_redirect_is_one_line_and_the_next_mirror_serves(env, server, monkeypatch):
    """requests parses a redirect's Location before it returns: an unparsable one fails that mirror only."""
    server.routes["/a/tiny-test.pt"] = [("redirect", "http://[bad/tiny-test.pt")]
    server.routes["/b/tiny-test.pt"] = [("ok", env["body"])]
    assert download.fetch(progress=False).path.read_bytes() == env["body"]
    assert server.counts["/a/tiny-test.pt"] == 1 and server.counts["/b/tiny-test.pt"] == 1
    cache.clear_cache()
    server.routes["/a/tiny-test.pt"] = [("status", 404)]            # only the redirect below can fail the fetch
    server.routes["/b/tiny-test.pt"] = [("redirect", "http://127.0.0.1:99999/x")]
    with pytest.raises(WeightsError) as ei:
        download.fetch(progress=False)
    msg = str(ei.value)
    assert "refused redirect to 'http://127.0.0.1:99999/x': not a valid URL" in msg and "\n" not in msg
    assert cache_names(env) == []
    monkeypatch.setenv("CORKIT_INPAINT_WEIGHTS_URL", "http://[::1")
    with pytest.raises(WeightsError, match=r"'http://\[::1/tiny-test.pt': not a valid URL"):
        download.fetch(progress=False)
    monkeypatch.setenv("CORKIT_INPAINT_WEIGHTS_URL", "http://127.0.0.1:1/\nx")     # a newline: one line still
    with pytest.raises(WeightsError, match="not a valid URL") as ei:
        download.fetch(progress=False)
    assert "\n" not in str(ei.value).replace("\\n", "")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o007, 0o660)])
def test_cached_file_honours_the_umask(env, server, umask, mode):
    """A cache shared on a cluster: the file gets the permissions the umask allows, not mkstemp's 0600."""
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    old = os.umask(umask)
    try:
        w = download.fetch(progress=False)
    finally:
        os.umask(old)
    assert w.path.stat().st_mode & 0o777 == mode


def _start_fetch(env, server):
    """A ``weights fetch`` subprocess stuck on a dripping server: its temporary exists, its request arrived."""
    server.routes["/a/tiny-test.pt"] = [("drip", (env["body"], 0.2))]
    proc = subprocess.Popen([sys.executable, "-m", "corkit_inpaint", "-q", "weights", "fetch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    for _ in range(600):
        if server.total() and any(n.endswith(".part") for n in cache_names(env)):
            server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]      # for any later fetch
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"the fetch never started downloading: {proc.communicate()}")


def test_sigterm_during_fetch_leaves_nothing(env, server):
    proc = _start_fetch(env, server)
    assert ".tiny-test.pt.lock" in cache_names(env)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGTERM                 # dies of SIGTERM, as by default
    assert "Traceback" not in err
    assert cache_names(env) == []                            # no .part, .lock or .tmp


def test_killed_fetch_leftovers_collected_by_next_fetch(env, server):
    proc = _start_fetch(env, server)
    proc.kill()                                              # SIGKILL: no cleanup can run
    proc.communicate(timeout=60)
    left = cache_names(env)
    assert ".tiny-test.pt.lock" in left and any(n.startswith(".tiny-test.pt.") and n.endswith(".part")
                                                for n in left)
    (env["cache"] / "unrelated.part").write_text("not ours")
    w = download.fetch(progress=False)                       # the leftover lock does not block
    assert w.path.read_bytes() == env["body"]
    assert cache_names(env) == ["tiny-test.pt", "unrelated.part"]
