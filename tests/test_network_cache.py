"""The per-user cache: where it is, its locks, stale temporaries, and a clear that removes only its own files."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.network import cache


def test_cache_dir_env_var_and_offline(env, monkeypatch):
    assert cache.cache_dir() == env["cache"]
    monkeypatch.delenv("CORKIT_INPAINT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert str(cache.cache_dir()).endswith("corkit-inpaint")
    for v, want in (("1", True), ("yes", True), ("0", False), ("", False)):
        monkeypatch.setenv("CORKIT_INPAINT_OFFLINE", v)
        assert cache.offline() is want
    assert "CORKIT_INPAINT_WEIGHTS_URL" in cache.how_to_provide("x.pt")


def test_clear_removes_only_the_packages_files(env, tmp_path):
    c = env["cache"]
    c.mkdir()
    mine = ["tiny-test.pt", ".tiny-test.pt.abcd1234.part", ".tiny-test.pt.lock"]
    theirs = ["tiny-test.pt.bak", "unrelated.txt", ".other.pt.abcd1234.part"]
    for n in mine + theirs:
        (c / n).write_bytes(b"x")
    outside = tmp_path / "outside.pt"
    outside.write_bytes(b"keep")
    cache.mark_fetched(c, "tiny-test.pt", hashlib.sha256(b"x").hexdigest())     # as a download leaves it
    removed, busy, by_hand = cache.clear_cache("tiny")
    assert sorted(p.name for p in removed) == sorted(mine + [".tiny-test.pt.fetched"]) and busy == by_hand == []
    assert sorted(p.name for p in c.iterdir()) == sorted(theirs) and outside.read_bytes() == b"keep"
    for n in theirs:
        (c / n).unlink()
    cache.clear_cache()
    assert not c.exists()                                   # an empty cache folder goes too


def test_clear_keeps_a_model_file_put_there_by_hand_unless_forced(env):
    """`how_to_provide` tells users to copy a model into the cache, perhaps one no mirror serves: clear keeps it,
    and a file that replaced a download too; only ``force`` removes them."""
    c = env["cache"]
    c.mkdir()
    (c / "tiny-test.pt").write_bytes(b"a user's copy")
    assert cache.clear_cache() == ([], [], [c / "tiny-test.pt"])
    assert (c / "tiny-test.pt").read_bytes() == b"a user's copy"
    cache.mark_fetched(c, "tiny-test.pt", hashlib.sha256(b"the download").hexdigest())   # a download, replaced
    assert cache.clear_cache() == ([], [], [c / "tiny-test.pt"]) and (c / "tiny-test.pt").exists()
    removed, _, by_hand = cache.clear_cache(force=True)
    assert sorted(p.name for p in removed) == [".tiny-test.pt.fetched", "tiny-test.pt"] and by_hand == []
    assert not c.exists()
    c.mkdir()                                              # a marker whose download was never placed
    cache.mark_fetched(c, "tiny-test.pt", "ab" * 32)
    assert cache.clear_cache()[0] == [c / ".tiny-test.pt.fetched"] and not c.exists()


@pytest.mark.parametrize("own", ["data", "weights"])
def test_clear_refuses_the_packages_own_folders(monkeypatch, own):
    """A cache pointed at the package's data folder (the shipped default model) or the checkout's weights/
    removes nothing."""
    from corkit_inpaint.network import registry
    folder = registry.DATA_DIR if own == "data" else registry.CHECKOUT_WEIGHTS
    if not folder.is_dir():
        pytest.skip(f"no {folder} in this installation")
    before = sorted(os.listdir(folder))
    monkeypatch.setenv("CORKIT_INPAINT_CACHE", str(folder))
    monkeypatch.delenv("CORKIT_INPAINT_REGISTRY", raising=False)
    with pytest.raises(WeightsError, match="is the package's own folder of model files, not a cache"):
        cache.clear_cache(force=True)
    assert sorted(os.listdir(folder)) == before


def test_stale_temporaries_are_collected_fresh_ones_of_a_live_fetch_kept(env):
    c = env["cache"]
    c.mkdir()
    part = c / ".tiny-test.pt.abcd1234.part"
    part.write_bytes(b"partial")
    assert cache.temporaries(c, "tiny-test.pt") == [part]
    with cache.cache_lock(c / ".tiny-test.pt.lock") as got:     # a fetch in progress holds the lock
        assert got
        assert cache.collect_stale(c, "tiny-test.pt") == [] and part.exists()
    old = time.time() - 2 * cache.STALE_AFTER_S
    os.utime(part, (old, old))
    assert cache.collect_stale(c, "tiny-test.pt") == [part] and not part.exists()
