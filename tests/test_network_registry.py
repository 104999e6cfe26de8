"""The model registry: a malformed one gives one line naming the file and the fault, never a traceback."""

from __future__ import annotations

import json

import pytest
from weights_server import write_registry

import corkit_inpaint as ci
from corkit_inpaint.cli import main
from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.network import download, registry

GOOD = {"file": "tiny-test.pt", "size": 10, "sha256": "ab" * 32, "urls": ["http://127.0.0.1:1/x.pt"]}


def _models(**entry_changes):
    e = {k: v for k, v in {**GOOD, **entry_changes}.items() if v is not ...}
    return {"default": "tiny", "models": {"tiny": e}}


MALFORMED = {
    "invalid JSON": ("{", "not valid JSON"),
    "top level a list": ([], "the top level must be a mapping, got list"),
    "models a list": ({"default": "tiny", "models": [GOOD]}, "'models' must be a mapping"),
    "no models": ({"default": "tiny"}, "no 'models' key"),
    "no default": ({"models": {"tiny": GOOD}}, "no 'default' key"),
    "unknown default": ({"default": "huge", "models": {"tiny": GOOD}}, "'default' names no registered model"),
    "entry a list": ({"default": "tiny", "models": {"tiny": [1]}}, "models['tiny'] must be a mapping"),
    "no file": (_models(file=...), "models['tiny'] has no 'file'"),
    "no size": (_models(size=...), "models['tiny'] has no 'size'"),
    "no sha256": (_models(sha256=...), "models['tiny'] has no 'sha256'"),
    "file not a string": (_models(file=12), "file must be a string, got int"),
    "file with NUL": (_models(file="a\0.pt"), "unsafe file name"),
    "file with slash": (_models(file="sub/evil.pt"), "unsafe file name"),
    "file going up": (_models(file="../evil.pt"), "unsafe file name"),
    "file with backslash": (_models(file="..\\evil.pt"), "unsafe file name"),
    "file dot-dot": (_models(file=".."), "unsafe file name"),
    "file hidden": (_models(file=".tiny-test.pt.lock"), "unsafe file name"),
    "negative size": (_models(size=-1), "size must be a non-negative integer, got -1"),
    "size a string": (_models(size="10"), "size must be a non-negative integer"),
    "size a float": (_models(size=1.5), "size must be a non-negative integer"),
    "size a bool": (_models(size=True), "size must be a non-negative integer"),
    "sha256 short": (_models(sha256="abc"), "sha256 must be 64 hex digits"),
    "sha256 not hex": (_models(sha256="zz" * 32), "sha256 must be 64 hex digits"),
    "sha256 a number": (_models(sha256=12), "sha256 must be 64 hex digits"),
    "urls a string": (_models(urls="http://127.0.0.1:1/x.pt"), "urls must be a list of strings"),
    "urls of numbers": (_models(urls=[1]), "urls must be a list of strings"),
    "url not http": (_models(urls=["file:///etc/passwd"]), "only http(s) URLs are allowed"),
    "url unparsable": (_models(urls=["http://[bad/x.pt"]), "refusing 'http://[bad/x.pt': not a valid URL"),
    "url with a bad port": (_models(urls=["http://127.0.0.1:99999/x.pt"]), "99999/x.pt': not a valid URL"),
    "nested too deeply": ("[" * 100_000 + "]" * 100_000, "nested too deeply to be read"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_registry_one_line(env, server, case, capsys):
    obj, fragment = MALFORMED[case]
    env["reg"].write_text(obj if isinstance(obj, str) else json.dumps(obj))
    for call in (registry.registry, ci.load_model, download.fetch):
        with pytest.raises(WeightsError) as ei:
            call()
        msg = str(ei.value)
        assert msg.startswith(f"CORKIT_INPAINT_REGISTRY={env['reg']}: ") and fragment in msg and "\n" not in msg
    assert main(["weights", "list"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("corkit-inpaint: error: ") and fragment in err[0]
    assert server.total() == 0


def test_validate_registry_names_the_file_and_normalises():
    with pytest.raises(WeightsError, match=r"^/some/registry.json: malformed model registry: "):
        registry.validate_registry({"default": "x", "models": {}}, "/some/registry.json")
    out = registry.validate_registry({"default": "tiny", "models": {"tiny": dict(GOOD, sha256="AB" * 32)}}, "r")
    assert out["models"]["tiny"]["sha256"] == "ab" * 32
    no_urls = {k: v for k, v in GOOD.items() if k != "urls"}
    assert registry.validate_registry({"default": "t", "models": {"t": no_urls}}, "r")["models"]["t"]["urls"] == []
    with pytest.raises(WeightsError, match="share the file name"):
        registry.validate_registry({"default": "a", "models": {"a": GOOD, "b": GOOD}}, "r")


def test_shipped_registry_is_valid():
    reg = registry.registry()
    assert reg["default"] in reg["models"]
    assert all(isinstance(e["urls"], list) for e in reg["models"].values())


def test_unreadable_registry(env, tmp_path, monkeypatch):
    monkeypatch.setenv("CORKIT_INPAINT_REGISTRY", str(tmp_path / "missing.json"))
    with pytest.raises(WeightsError, match="missing.json: cannot read the model registry"):
        registry.registry()


def test_unsafe_registry_entries_make_no_request(env, server):
    for entry in (dict(env["entry"], file="../evil.pt"), dict(env["entry"], urls=["file:///etc/passwd"])):
        write_registry(env, tiny=entry)
        with pytest.raises(WeightsError, match="unsafe file name|only http"):
            download.fetch(progress=False)
    assert server.total() == 0


def test_file_sha256_is_remembered_only_while_the_file_is_unchanged(tmp_path):
    import hashlib
    import os
    import time
    p = tmp_path / "w.pt"
    p.write_bytes(b"a" * 1000)
    time.sleep(registry.RACY_SECONDS + 0.1)    # older than the racy window: its stat can be trusted
    assert registry.file_sha256(p) == hashlib.sha256(b"a" * 1000).hexdigest()
    assert any(k[0] == os.path.realpath(p) for k in registry._HASHED)        # an old file is remembered
    st = p.stat()
    with open(p, "r+b") as f:                  # the same size and modification time: the status change tells
        f.write(b"b")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert registry.file_sha256(p) == hashlib.sha256(b"b" + b"a" * 999).hexdigest()
    fresh = tmp_path / "fresh.pt"              # changed just now: hashed on every call
    fresh.write_bytes(b"c" * 10)
    assert registry.file_sha256(fresh) == hashlib.sha256(b"c" * 10).hexdigest()
    assert not any(k[0] == os.path.realpath(fresh) for k in registry._HASHED)
    fresh.write_bytes(b"d" * 10)
    assert registry.file_sha256(fresh) == hashlib.sha256(b"d" * 10).hexdigest()
