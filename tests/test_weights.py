"""Weights on demand, against a real HTTP server on 127.0.0.1 that counts its requests."""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

import corkit_inpaint as ci
from corkit_inpaint.cli import main
from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.network import download, registry, weights
from corkit_inpaint.network.unet import PConvUNet


class Server:
    """Routes: path -> list of behaviours, consumed in order (the last one repeats)."""

    def __init__(self):
        self.routes, self.counts, self.lock = {}, {}, threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                with server.lock:
                    server.counts[self.path] = server.counts.get(self.path, 0) + 1
                    plan = server.routes.get(self.path, [("status", 404)])
                    step = plan.pop(0) if len(plan) > 1 else plan[0]
                kind, arg = step
                if kind == "status":
                    self.send_response(arg)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = arg
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) if kind == "ok" else len(body) * 2))
                self.end_headers()
                self.wfile.write(body)          # "truncate": half of what was announced
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def total(self):
        return sum(self.counts.values())


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def tiny_weights(path, seed=0):
    torch.manual_seed(seed)
    m = PConvUNet(widths=(8, 8, 8, 8))
    torch.save({"format": weights.WEIGHTS_FORMAT, "model_config": m.config, "state_dict": m.state_dict()}, path)
    return path.read_bytes()


@pytest.fixture
def env(tmp_path, monkeypatch, server):
    """A registry with one model served by the local server, and an empty cache."""
    body = tiny_weights(tmp_path / "src.pt")
    entry = {"file": "tiny-test.pt", "sha256": hashlib.sha256(body).hexdigest(), "size": len(body),
             "urls": [f"{server.url}/a/tiny-test.pt", f"{server.url}/b/tiny-test.pt"],
             "license": "BSD-3-Clause", "description": "test model"}
    reg = tmp_path / "registry.json"
    reg.write_text(json.dumps({"default": "tiny", "models": {"tiny": entry}}))
    cache = tmp_path / "cache"
    monkeypatch.setenv("CORKIT_INPAINT_REGISTRY", str(reg))
    monkeypatch.setenv("CORKIT_INPAINT_CACHE", str(cache))
    monkeypatch.delenv("CORKIT_INPAINT_OFFLINE", raising=False)
    monkeypatch.delenv("CORKIT_INPAINT_WEIGHTS_URL", raising=False)
    return {"body": body, "entry": entry, "cache": cache, "reg": reg}


def test_first_use_downloads_second_does_not(env, server):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    w = weights.resolve_weights()
    assert w.path == env["cache"] / "tiny-test.pt" and w.sha256 == env["entry"]["sha256"]
    assert server.total() == 1 and w.path.read_bytes() == env["body"]
    assert weights.resolve_weights().path == w.path and download.fetch().path == w.path
    model = ci.load_model(device="cpu")
    assert model.model_id == "tiny" and model.sha256 == env["entry"]["sha256"]
    assert server.total() == 1
    assert sorted(p.name for p in env["cache"].iterdir()) == ["tiny-test.pt"]


def test_cache_env_var_respected(env, server):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    assert registry.cache_dir() == env["cache"]
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
    assert not env["cache"].exists() or list(env["cache"].iterdir()) == []


def test_truncated_response_retried_then_error(env, server):
    half = env["body"][: len(env["body"]) // 2]
    server.routes["/a/tiny-test.pt"] = [("truncate", half)]
    env_entry = dict(env["entry"], urls=[env["entry"]["urls"][0]])
    env["reg"].write_text(json.dumps({"default": "tiny", "models": {"tiny": env_entry}}))
    with pytest.raises(WeightsError, match="3 attempts"):
        download.fetch(progress=False, retries=2, backoff=0.01)
    assert server.counts["/a/tiny-test.pt"] == 3
    assert not env["cache"].exists() or list(env["cache"].iterdir()) == []


def test_5xx_retried_then_succeeds(env, server):
    server.routes["/a/tiny-test.pt"] = [("status", 503), ("status", 502), ("ok", env["body"])]
    w = download.fetch(progress=False, retries=3, backoff=0.01)
    assert server.counts["/a/tiny-test.pt"] == 3 and w.path.read_bytes() == env["body"]


def test_oversized_file_refused(env, server):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"] + b"x" * 100_000)]
    server.routes["/b/tiny-test.pt"] = [("status", 404)]
    with pytest.raises(WeightsError, match="more than the registered"):
        download.fetch(progress=False, backoff=0.01)
    assert not env["cache"].exists() or list(env["cache"].iterdir()) == []


def test_full_cache_disk_gives_clear_error(env, server):
    """A real write failure: the file-size limit stops the download half way (EFBIG)."""
    import os
    import resource
    import signal
    import subprocess
    import sys
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(env["body"]) // 2, len(env["body"]) // 2))
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "-q", "weights", "fetch"],
                       capture_output=True, text=True, env=dict(os.environ), preexec_fn=limit, timeout=120)
    assert r.returncode == 1 and "could not write" in r.stderr and "Traceback" not in r.stderr
    assert not env["cache"].exists() or list(env["cache"].iterdir()) == []


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
    assert sorted(p.name for p in env["cache"].iterdir()) == ["tiny-test.pt"]
    assert server.total() == 1


def test_unsafe_registry_entries_refused(env, server):
    for file, urls, match in (("../evil.pt", [f"{server.url}/a/x"], "unsafe file name"),
                              ("sub/evil.pt", [f"{server.url}/a/x"], "unsafe file name"),
                              ("ok.pt", ["file:///etc/passwd"], "only http")):
        entry = dict(env["entry"], file=file, urls=urls)
        env["reg"].write_text(json.dumps({"default": "tiny", "models": {"tiny": entry}}))
        with pytest.raises(WeightsError, match=match):
            download.fetch(progress=False)
    assert server.total() == 0


def test_downloaded_weights_go_into_provenance(env, server, blanked_file):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    hdul = ci.inpaint_fits(blanked_file, device="cpu")
    assert hdul[0].header["INPMODEL"] == "tiny"
    assert hdul[0].header["INPWSHA"] == env["entry"]["sha256"][:16]
    assert server.total() == 1


def test_weights_cli(env, server, capsys):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    assert main(["weights", "list"]) == 0 and "tiny" in capsys.readouterr().out
    assert main(["weights", "path"]) == 1                   # not cached yet, path does not download
    assert "tiny-test.pt" in capsys.readouterr().err
    assert main(["-q", "weights", "fetch"]) == 0
    assert main(["-q", "weights", "fetch", "tiny"]) == 0 and server.total() == 1
    assert main(["weights", "path", "tiny"]) == 0
    assert capsys.readouterr().out.strip().endswith(str(env["cache"] / "tiny-test.pt"))
    assert main(["weights", "verify"]) == 0
    p = env["cache"] / "tiny-test.pt"
    p.write_bytes(b"x" * len(env["body"]))                  # corrupt the cached copy
    assert main(["weights", "verify"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "do not match" in err[0]
    assert main(["weights", "fetch", "nonexistent"]) == 1
    assert main(["weights", "clear"]) == 0 and not env["cache"].exists()


def test_explicit_path_and_bad_file(tmp_path, env):
    p = tmp_path / "mine.pt"
    tiny_weights(p, seed=3)
    m = ci.load_model(p)
    assert m.model_id == "mine" and m.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="not a loadable weights file"):
        ci.load_model(bad)
    torch.save({"format": "other", "x": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="not a corkit-inpaint weights file"):
        ci.load_model(tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="does not exist"):
        ci.load_model(tmp_path / "missing.pt")
