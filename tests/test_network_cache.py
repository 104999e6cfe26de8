"""The per-user cache: where it is, its locks, stale temporaries, and a clear that removes only its own files."""

from __future__ import annotations

import os
import time

import pytest
from weights_server import write_registry

from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.network import cache


def test_cache_dir_env_var_and_offline(env, monkeypatch, caplog):
    assert cache.cache_dir() == env["cache"]
    monkeypatch.delenv("CORKIT_INPAINT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert str(cache.cache_dir()).endswith("corkit-inpaint")
    for v, want in (("1", True), ("yes", True), ("0", False), ("", False), (" Off ", False), ("TRUE", True)):
        monkeypatch.setenv("CORKIT_INPAINT_OFFLINE", v)
        assert cache.offline() is want
    assert caplog.text == ""
    monkeypatch.setenv("CORKIT_INPAINT_OFFLINE", "maybe")        # battery s35: was taken as online, in silence
    with caplog.at_level("WARNING", logger="corkit_inpaint"):
        assert cache.offline() is True
    assert "CORKIT_INPAINT_OFFLINE='maybe' is neither on" in caplog.text and "nothing is downloaded" in caplog.text
    assert "CORKIT_INPAINT_WEIGHTS_URL" in cache.how_to_provide("x.pt")


def test_clear_removes_only_the_packages_files(env, tmp_path):
    c = env["cache"]
    c.mkdir(exist_ok=True)
    mine = ["tiny-test.pt", ".tiny-test.pt.abcd1234.part", ".tiny-test.pt.lock"]
    theirs = ["tiny-test.pt.bak", "unrelated.txt", ".other.pt.abcd1234.part"]
    for n in mine + theirs:
        (c / n).write_bytes(b"x")
    outside = tmp_path / "outside.pt"
    outside.write_bytes(b"keep")
    (c / "tiny-test.pt").write_bytes(env["body"])                # the registered bytes, which the mirrors serve
    removed, busy, by_hand = cache.clear_cache("tiny")
    assert sorted(p.name for p in removed) == sorted(mine) and busy == by_hand == []
    assert sorted(p.name for p in c.iterdir()) == sorted(theirs) and outside.read_bytes() == b"keep"
    for n in theirs:
        (c / n).unlink()
    cache.clear_cache()
    assert c.is_dir() and not any(c.iterdir())              # the folder stays (review s15: it went too)


def test_clear_keeps_a_model_file_no_mirror_serves_unless_forced(env, tmp_path, monkeypatch):
    """`how_to_provide` tells users to copy a model into the cache, perhaps one no mirror serves: clear keeps it,
    and any file whose bytes are not the registered ones; ``force`` removes them. The package's own folders are
    never a cache to clear."""
    c = env["cache"]
    c.mkdir(exist_ok=True)
    (c / "tiny-test.pt").write_bytes(b"a user's own model")           # other bytes: the mirrors do not serve it
    assert cache.clear_cache() == ([], [], [c / "tiny-test.pt"])
    (c / "tiny-test.pt").write_bytes(env["body"])
    write_registry(env, tiny=dict(env["entry"], urls=[]))              # the registered bytes, and no mirror
    assert cache.clear_cache() == ([], [], [c / "tiny-test.pt"]) and (c / "tiny-test.pt").exists()
    monkeypatch.setenv("CORKIT_INPAINT_WEIGHTS_URL", "http://127.0.0.1:1/weights")    # now a mirror is named
    assert cache.clear_cache() == ([c / "tiny-test.pt"], [], []) and c.is_dir() and not any(c.iterdir())
    monkeypatch.delenv("CORKIT_INPAINT_WEIGHTS_URL")
    c.mkdir(exist_ok=True)
    (c / "tiny-test.pt").write_bytes(b"a user's own model")
    assert cache.clear_cache(force=True) == ([c / "tiny-test.pt"], [], []) and not any(c.iterdir())
    # the package's own folders (patched to copies here, so no test can ever clear the real ones)
    own = tmp_path / "own"
    own.mkdir()
    (own / "tiny-test.pt").write_bytes(env["body"])
    monkeypatch.setattr(cache, "DATA_DIR", own)
    monkeypatch.setenv("CORKIT_INPAINT_CACHE", str(own))
    with pytest.raises(WeightsError, match="is the package's own folder of model files, not a cache"):
        cache.clear_cache(force=True)
    assert (own / "tiny-test.pt").read_bytes() == env["body"]


def test_stale_temporaries_are_collected_fresh_ones_of_a_live_fetch_kept(env):
    c = env["cache"]
    c.mkdir(exist_ok=True)
    part = c / ".tiny-test.pt.abcd1234.part"
    part.write_bytes(b"partial")
    assert cache.temporaries(c, "tiny-test.pt") == [part]
    with cache.cache_lock(c / ".tiny-test.pt.lock") as got:     # a fetch in progress holds the lock
        assert got
        assert cache.collect_stale(c, "tiny-test.pt") == [] and part.exists()
    old = time.time() - 2 * cache.STALE_AFTER_S
    os.utime(part, (old, old))
    assert cache.collect_stale(c, "tiny-test.pt") == [part] and not part.exists()
