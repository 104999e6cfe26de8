"""``corkit-inpaint weights`` and ``fill --weights``: one-line errors, and a clear that removes only its own files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from helpers import read_real, write
from weights_server import bad_weights, tiny_weights

from corkit_inpaint.cli import main
from corkit_inpaint.network import cache


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
    capsys.readouterr()
    assert main(["weights", "clear"]) == 0 and p.exists()      # not the registered bytes: no mirror serves it
    assert "kept 1 model file(s) no mirror can serve again (--force removes them)" in capsys.readouterr().out
    assert main(["weights", "clear", "--force"]) == 0 and not any(env["cache"].iterdir())   # only package files
    assert "removed 1 file(s)" in capsys.readouterr().out


def test_fetch_of_an_installed_model_gives_its_path(tmp_path, monkeypatch, capsys):
    """The default ships in the package: fetch says where it is, offline too, and downloads nothing."""
    from corkit_inpaint.network.weights import DATA_DIR
    monkeypatch.setenv("CORKIT_INPAINT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CORKIT_INPAINT_OFFLINE", "1")
    monkeypatch.delenv("CORKIT_INPAINT_REGISTRY", raising=False)
    assert main(["-q", "weights", "fetch"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(str(DATA_DIR)) and out.endswith(".pt") and not (tmp_path / "cache").exists()


def test_a_registry_name_with_a_dot_is_a_name(env, server, capsys):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    env["reg"].write_text(json.dumps({"default": "site-v3.1", "models": {"site-v3.1": env["entry"]}}))
    assert main(["-q", "weights", "fetch", "site-v3.1"]) == 0
    assert main(["weights", "path", "site-v3.1"]) == 0
    assert capsys.readouterr().out.strip().endswith(str(env["cache"] / "tiny-test.pt"))
    assert main(["weights", "path", "other-v3.1"]) == 1           # not a name: a path, and not a file
    assert "weights file other-v3.1 does not exist" in capsys.readouterr().err


@pytest.fixture
def shared_cache(env, tmp_path):
    """A cache folder shared with other files: two registered models, leftovers, and unrelated things."""
    body2 = tiny_weights(tmp_path / "src2.pt", seed=1)
    entry2 = dict(env["entry"], file="tiny2.pt", sha256=hashlib.sha256(body2).hexdigest(), size=len(body2))
    linked = dict(env["entry"], file="linked.pt", urls=[])
    env["reg"].write_text(json.dumps({"default": "tiny", "models": {"tiny": env["entry"], "tiny2": entry2,
                                                                    "linked": linked}}))
    c = env["cache"]
    (c / "notes").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    files = {"tiny-test.pt": env["body"], ".tiny-test.pt.abcd1234.part": b"partial", ".tiny-test.pt.lock": b"",
             "tiny2.pt": body2, ".tiny2.pt.zz_99999.part": b"partial",
             "unrelated.txt": b"keep", "tiny-test.pt.bak": b"keep", ".other.pt.abcd1234.part": b"keep",
             "notes/tiny-test.pt": b"keep"}
    for name, data in files.items():
        (c / name).write_bytes(data)
    (outside / "linked.pt").write_bytes(b"not in the cache")
    (outside / "tiny-test.pt").write_bytes(b"not in the cache")
    (c / "linked.pt").symlink_to(outside / "linked.pt")
    (c / "elsewhere").symlink_to(outside, target_is_directory=True)
    return c, outside


def _tree(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_clear_name_removes_only_that_model(shared_cache, capsys):
    c, outside = shared_cache
    before = _tree(c)
    assert main(["weights", "clear", "tiny2"]) == 0
    assert "removed 2 file(s) of model tiny2" in capsys.readouterr().out
    assert _tree(c) == [n for n in before if n not in ("tiny2.pt", ".tiny2.pt.zz_99999.part")]


def test_clear_leaves_unrelated_files_links_and_folders(shared_cache, capsys, caplog):
    c, outside = shared_cache
    assert main(["weights", "clear"]) == 0
    assert "removed 5 file(s) of registered models" in capsys.readouterr().out
    assert "linked.pt in the cache: not a regular file" in caplog.text          # a warning: left alone
    assert _tree(c) == [".other.pt.abcd1234.part", "elsewhere", "linked.pt", "notes", "notes/tiny-test.pt",
                        "tiny-test.pt.bak", "unrelated.txt"]
    assert c.is_dir() and (c / "linked.pt").is_symlink() and _tree(outside) == ["linked.pt", "tiny-test.pt"]


def test_clear_leaves_a_running_fetch_alone(shared_cache, capsys):
    c, _ = shared_cache
    with cache.cache_lock(c / ".tiny-test.pt.lock") as got:    # as a fetch in progress holds it
        assert got
        assert main(["weights", "clear", "tiny"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "in use by a running fetch" in err[0]
    assert (c / "tiny-test.pt").exists() and (c / ".tiny-test.pt.abcd1234.part").exists()


@pytest.fixture
def one_block_missing(tmp_path):
    data, header = read_real()
    data = data.copy()
    data[3 * 32:4 * 32, 4 * 32:5 * 32] = 0                 # block row 3, column 4
    return write(tmp_path / "in.fts", data, header)


@pytest.mark.parametrize("case", ["no state_dict", "stages a string", "absurd widths", "other widths"])
def test_fill_with_malformed_weights_one_line(tmp_path, one_block_missing, case, capsys):
    bad = tmp_path / "bad.pt"
    fragment = bad_weights(bad, case)
    out = tmp_path / "out.fts"
    # a usage error since 0.1.30: a weights file given is loaded before any file is read (battery s37)
    assert main(["-q", "fill", str(one_block_missing), "-o", str(out), "--weights", str(bad), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("corkit-inpaint: error: ")
    assert f"{bad}: " in err[0] and fragment in err[0]
    assert not out.exists()


def test_fill_with_malformed_weights_subprocess(tmp_path, one_block_missing):
    """The whole program, on a file whose widths would need terabytes: exit 2 (a usage error, found before any file
    is read, since 0.1.30), one line, no traceback."""
    bad = tmp_path / "bad.pt"
    bad_weights(bad, "absurd widths")
    r = subprocess.run([sys.executable, "-m", "corkit_inpaint", "fill", str(one_block_missing), "-o",
                        str(tmp_path / "out.fts"), "--weights", str(bad)],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and err[0].startswith(f"corkit-inpaint: error: --weights {bad}: ")
    assert f"{bad}: malformed weights file: model_config['widths']" in err[0]
    assert "Traceback" not in r.stderr


def test_fetch_or_path_of_a_file_says_only_of_a_weights_file_that_it_is_one(tmp_path, capsys):
    """Battery s34: ``weights fetch /etc/hostname`` and ``weights path`` of a pickle printed the path, exit 0, as
    if it were installed weights."""
    from corkit_inpaint.network.weights import resolve_weights
    text, pickled = tmp_path / "hostname", tmp_path / "evil.pt"
    text.write_text("host\n")
    pickled.write_bytes(b"\x80\x04K\x01.")
    for action in ("fetch", "path"):
        for p in (text, pickled):
            assert main(["-q", "weights", action, str(p)]) == 1, (action, p)
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "not a loadable weights file" in err
        good = resolve_weights(None).path
        assert main(["-q", "weights", action, str(good)]) == 0
        assert capsys.readouterr().out.strip() == str(good)


def test_a_name_given_to_list_or_verify_is_a_usage_error(capsys):
    """Review: `weights verify pconv-lasco-nb2` verified every cached file and `weights list x` listed all, exit 0."""
    for action in ("list", "verify"):
        assert main(["weights", action, "pconv-lasco-nb2"]) == 2
        err = capsys.readouterr().err
        assert f"weights {action} takes no model name" in err and err.count("\n") == 1


def test_weights_list_shows_each_model_on_one_line(env, capsys):
    """Battery: a registry ($CORKIT_INPAINT_REGISTRY) whose model names or descriptions hold newlines or escape
    sequences was listed raw: a model's line broken in two, or the terminal's colours changed."""
    from weights_server import write_registry
    write_registry(env, tiny={**env["entry"], "description": "line one\nline two \x1b[31mred"},
                   **{"evil\nname": {**env["entry"], "file": "other.pt", "description": "plain"}})
    assert main(["weights", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and not any(c in "".join(lines) for c in "\x1b\r")
    assert lines[0].startswith("* tiny ") and lines[0].endswith("line one\\nline two \\x1b[31mred")
    assert lines[1].startswith("  evil\\nname ") and lines[1].endswith("plain")


@pytest.mark.parametrize("kind", ["file", "loop", "under a file"])
def test_verify_and_clear_name_a_cache_that_cannot_be_one(tmp_path, monkeypatch, capsys, kind):
    """Battery s26: with CORKIT_INPAINT_CACHE a file, a link loop or a path under a file, verify said "no cached
    weights" and clear "removed 0", both with exit 0; now one line naming the cache, exit 1, and nothing touched."""
    target = tmp_path / "cache"
    if kind == "file":
        target.write_bytes(b"not a folder")
    elif kind == "loop":
        target.symlink_to(tmp_path / "cache")
    else:
        (tmp_path / "f").write_bytes(b"x")
        target = tmp_path / "f" / "cache"
    monkeypatch.setenv("CORKIT_INPAINT_CACHE", str(target))
    before = sorted((p.name, p.is_symlink()) for p in tmp_path.iterdir())
    for action in ("verify", "clear"):
        assert main(["weights", action]) == 1
        cap = capsys.readouterr()
        err = cap.err.strip().splitlines()
        assert len(err) == 1 and str(target) in err[0] and "CORKIT_INPAINT_CACHE" in err[0], cap
        assert "no cached weights" not in cap.out and "removed" not in cap.out
    assert sorted((p.name, p.is_symlink()) for p in tmp_path.iterdir()) == before


def test_verify_of_a_cache_not_made_yet_says_nothing_is_cached(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CORKIT_INPAINT_CACHE", str(tmp_path / "none"))
    assert main(["weights", "verify"]) == 0
    assert "no cached weights" in capsys.readouterr().out and not (tmp_path / "none").exists()


def test_a_cache_that_cannot_be_cleared_is_one_line(shared_cache, capsys):
    """Battery s35: a read-only cache printed errno's raw line ('[Errno 30] Read-only file system: ...lock');
    here the lock's place is a folder, which fails the same way on any machine."""
    c, _ = shared_cache
    (c / ".tiny-test.pt.lock").unlink()
    (c / ".tiny-test.pt.lock").mkdir()
    assert main(["weights", "clear", "tiny"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Errno" not in err[0], err
    assert f"the weights cache {c} cannot be cleared (Is a directory: .tiny-test.pt.lock)" in err[0]
    assert (c / "tiny-test.pt").exists()


def test_a_folder_given_as_weights_is_named_a_folder(tmp_path, capsys, monkeypatch):
    """Battery s36: a folder given as --weights (not a registry name) was 'unknown model'."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seq").mkdir()
    (tmp_path / "pconv-lasco-nb3-soup").mkdir()             # a folder a registry name names is still the model
    from corkit_inpaint.network.weights import names_a_file
    assert names_a_file("seq") and not names_a_file("pconv-lasco-nb3-soup")
    data, header = read_real()
    write(tmp_path / "in.fts", data, header)
    assert main(["fill", "in.fts", "-o", "out.fts", "--weights", "seq"]) == 2
    assert capsys.readouterr().err.strip() == "corkit-inpaint: error: --weights seq: is a folder"
