"""Test helpers for the weights tests: a loopback HTTP server, tiny weights files, test registries.

Only 127.0.0.1 is ever served or contacted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

from corkit_inpaint.network import weights
from corkit_inpaint.network.unet import PConvUNet


class Server:
    """Routes: path -> list of behaviours, consumed in order (the last one repeats).

    Behaviours: ``("status", code)``, ``("ok", body)``, ``("truncate", body)`` (announces
    twice the length), ``("redirect", location)``, ``("drip", (body, seconds))`` (one byte
    every ``seconds``, until the body is sent or the server stops) and ``("driphead", (body,
    seconds, lines))`` (``lines`` header lines, one every ``seconds``, then the body at once).
    """

    def __init__(self):
        self.routes, self.counts, self.lock = {}, {}, threading.Lock()
        self.stopping = threading.Event()
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
                if kind in ("status", "redirect"):
                    self.send_response(arg if kind == "status" else 302)
                    if kind == "redirect":
                        self.send_header("Location", arg)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = arg[0] if kind in ("drip", "driphead") else arg
                self.send_response(200)
                if kind == "driphead":
                    self.flush_headers()
                    for i in range(arg[2]):
                        if server.stopping.wait(arg[1]):
                            return
                        with contextlib.suppress(OSError):
                            self.wfile.write(f"X-Slow-{i}: 1\r\n".encode())
                            self.wfile.flush()
                    kind = "ok"
                self.send_header("Content-Length", str(len(body) * 2 if kind == "truncate" else len(body)))
                self.end_headers()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    if kind != "drip":
                        self.wfile.write(body)          # "truncate": half of what was announced
                        return
                    for i in range(len(body)):
                        if server.stopping.wait(arg[1]):
                            return
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def total(self):
        return sum(self.counts.values())

    def close(self):
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def serving():
    """A running `Server`, stopped on exit."""
    s = Server()
    try:
        yield s
    finally:
        s.close()


def tiny_weights(path, seed=0, **config):
    """Write a small valid weights file; return its bytes."""
    torch.manual_seed(seed)
    m = PConvUNet(**{"widths": (8, 8, 8, 8), **config})
    torch.save({"format": weights.WEIGHTS_FORMAT, "model_config": m.config, "state_dict": m.state_dict()}, path)
    return path.read_bytes()


def make_env(tmp_path, monkeypatch, server):
    """A registry with one model ``tiny`` served by ``server`` (two mirrors), and an empty cache."""
    body = tiny_weights(tmp_path / "src.pt")
    entry = {"file": "tiny-test.pt", "sha256": hashlib.sha256(body).hexdigest(), "size": len(body),
             "urls": [f"{server.url}/a/tiny-test.pt", f"{server.url}/b/tiny-test.pt"],
             "license": "BSD-3-Clause", "description": "test model"}
    reg = tmp_path / "registry.json"
    reg.write_text(json.dumps({"default": "tiny", "models": {"tiny": entry}}))
    cache = tmp_path / "cache"
    monkeypatch.setenv("CORKIT_INPAINT_REGISTRY", str(reg))
    monkeypatch.setenv("CORKIT_INPAINT_CACHE", str(cache))
    for var in ("CORKIT_INPAINT_OFFLINE", "CORKIT_INPAINT_WEIGHTS_URL", "CORKIT_INPAINT_DOWNLOAD_DEADLINE"):
        monkeypatch.delenv(var, raising=False)
    return {"body": body, "entry": entry, "cache": cache, "reg": reg}


def write_registry(env, **models):
    """Replace the test registry's models (default ``tiny``)."""
    env["reg"].write_text(json.dumps({"default": "tiny", "models": models}))


def blob(**changes):
    torch.manual_seed(0)
    m = PConvUNet(widths=(8, 8))
    blob = {"format": weights.WEIGHTS_FORMAT, "model_config": m.config, "state_dict": m.state_dict()}
    cfg = dict(blob["model_config"])
    for k, v in changes.items():
        if k in ("model_config", "state_dict"):
            blob[k] = v
        elif v is ...:
            cfg.pop(k)
        else:
            cfg[k] = v
    if "model_config" not in changes:
        blob["model_config"] = cfg
    return {k: v for k, v in blob.items() if v is not ...}


def other_state(**config):
    return PConvUNet(**{"widths": (8, 8), **config}).state_dict()


#: name -> (weights file contents, fragment of the error)
MALFORMED = {
    "no model_config": (lambda: blob(model_config=...), "no 'model_config'"),
    "no state_dict": (lambda: blob(state_dict=...), "no 'state_dict'"),
    "model_config a list": (lambda: blob(model_config=[2]), "model_config must be a mapping"),
    "no widths": (lambda: blob(widths=...), "model_config has no 'widths'"),
    "stages a string": (lambda: blob(stages="2"), "model_config['stages'] must be an integer in 1..8"),
    "too many stages": (lambda: blob(stages=1000), "model_config['stages'] must be an integer in 1..8"),
    "absurd widths": (lambda: blob(widths=[8, 10 ** 6]), "model_config['widths'] must be a list"),
    "too many levels": (lambda: blob(widths=[8] * 9), "model_config['widths'] must be a list"),
    "widths a number": (lambda: blob(widths=8), "model_config['widths'] must be a list"),
    "no extra channels": (lambda: blob(extra_channels=0), "model_config['extra_channels'] must be"),
    "huge ring": (lambda: blob(ring=10 ** 6), "model_config['ring'] must be an integer in 0..64"),
    "state_dict a list": (lambda: blob(state_dict=[1, 2]), "state_dict must be a mapping"),
    "other widths": (lambda: blob(state_dict=other_state(widths=(16, 8))), "wrong shape"),
    "fewer levels": (lambda: blob(state_dict=other_state(widths=(8,))), "missing"),
    "more stages": (lambda: blob(state_dict=other_state(stages=3)), "unexpected"),
    "a tensor left out": (lambda: blob(state_dict=dict(list(other_state().items())[1:])), "missing"),
    "a NaN weight": (lambda: blob(state_dict=poisoned(float("nan"))), "NaN or infinite values"),
    "an infinite weight": (lambda: blob(state_dict=poisoned(float("-inf"))), "NaN or infinite values"),
}


def poisoned(value):
    """A fitting state dict with one weight set to ``value``."""
    sd = other_state()
    key = next(k for k, v in sd.items() if v.is_floating_point() and v.numel())
    sd[key].view(-1)[0] = value
    return sd


def bad_weights(path, case):
    """Write the malformed weights file ``case`` of `MALFORMED`; return the expected error fragment."""
    make, fragment = MALFORMED[case]
    torch.save(make(), path)
    return fragment
