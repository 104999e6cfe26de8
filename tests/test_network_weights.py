"""Finding and loading weights: the resolution order, true error messages, malformed weights files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import pytest
import torch
from weights_server import MALFORMED, bad_weights, blob, tiny_weights, write_registry

import corkit_inpaint as ci
from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.network import registry, weights


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """The shipped registry, an empty cache, offline: only the package itself can provide a model."""
    cache = tmp_path / "cache"
    monkeypatch.delenv("CORKIT_INPAINT_REGISTRY", raising=False)
    monkeypatch.setenv("CORKIT_INPAINT_CACHE", str(cache))
    monkeypatch.setenv("CORKIT_INPAINT_OFFLINE", "1")
    return cache


def test_default_model_comes_from_the_package_data(shipped):
    e = registry.model_entry(registry.default_model_name())
    w = weights.resolve_weights(None)
    assert w.path == registry.DATA_DIR / e["file"] and w.sha256 == e["sha256"]
    shipped.mkdir()
    shutil.copyfile(w.path, shipped / e["file"])            # a cached copy: the package still comes first
    assert weights.resolve_weights(None).path == registry.DATA_DIR / e["file"]
    assert not list(shipped.glob(".*"))


def test_package_data_used_only_when_it_matches_the_registry(env):
    """A site registry naming the packaged file with other contents falls through to the cache."""
    shipped = json.loads((registry.PACKAGE_DIR / "registry.json").read_text())
    entry = dict(env["entry"], file=shipped["models"][shipped["default"]]["file"])
    assert (registry.DATA_DIR / entry["file"]).is_file()
    write_registry(env, tiny=entry)
    env["cache"].mkdir()
    (env["cache"] / entry["file"]).write_bytes(env["body"])
    assert weights.resolve_weights("tiny").path == env["cache"] / entry["file"]


@pytest.mark.parametrize("offline", [False, True])
def test_model_without_mirror_says_how_to_provide_it(env, server, monkeypatch, offline):
    write_registry(env, tiny=dict(env["entry"], urls=[]))
    if offline:
        monkeypatch.setenv("CORKIT_INPAINT_OFFLINE", "1")
    for call in (weights.resolve_weights, lambda: weights.resolve_weights(download=False)):
        with pytest.raises(WeightsError) as ei:
            call()
        msg = str(ei.value)
        assert "tiny-test.pt" in msg and str(env["cache"]) in msg and "CORKIT_INPAINT_WEIGHTS_URL" in msg
        assert "weights fetch" not in msg and "\n" not in msg           # no advice that cannot work
    assert "no download mirror" in str(pytest.raises(WeightsError, weights.resolve_weights).value)
    assert server.total() == 0


def test_path_with_a_mirror_advises_fetch(env):
    with pytest.raises(WeightsError, match="weights fetch tiny"):
        weights.resolve_weights(download=False)


def test_explicit_path_and_bad_file(tmp_path, env):
    p = tmp_path / "mine.pt"
    tiny_weights(p, seed=3)
    m = ci.load_model(p)
    assert m.model_id == "mine" and m.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    other = tmp_path / "tiny.pt"                   # named like the registered model "tiny", other bytes
    other.write_bytes(p.read_bytes())
    assert weights.resolve_weights(other).name == "tiny.pt"        # not passed off as "tiny"
    other.write_bytes(env["body"])                 # the registered model's own bytes: its name
    assert weights.resolve_weights(other).name == "tiny"
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="not a loadable weights file"):
        ci.load_model(bad)
    torch.save({"format": "other", "x": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="not a corkit-inpaint weights file"):
        ci.load_model(tmp_path / "other.pt")
    with pytest.raises(WeightsError, match="does not exist"):
        ci.load_model(tmp_path / "missing.pt")


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_weights_file_one_line(tmp_path, case):
    p = tmp_path / "bad.pt"
    fragment = bad_weights(p, case)
    with pytest.raises(WeightsError) as ei:
        ci.load_model(p)
    msg = str(ei.value)
    assert msg.startswith(f"{p}: ") and fragment in msg and "\n" not in msg


def test_a_bare_pickle_is_refused_in_one_line_without_torch_warnings(tmp_path):
    """torch warns about a plain pickle's protocol before refusing it; the refusal is the only thing said."""
    import warnings
    p = tmp_path / "plain.pt"
    p.write_bytes(b"\x80\x04K\x01.")                # pickle.dumps(1, protocol=4): not a torch archive
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        with pytest.raises(WeightsError, match="not a loadable weights file"):
            weights.read_weights_file(p)
    assert [str(w.message) for w in got] == []


def test_valid_small_model_still_loads(tmp_path):
    p = tmp_path / "ok.pt"
    torch.save(blob(), p)
    assert ci.load_model(p).config["widths"] == [8, 8]


def test_a_damaged_weights_file_given_by_path_is_refused_in_one_line(tmp_path, capsys):
    """Battery s34: 64 bytes overwritten inside a tensor of a copy of the default weights loaded (torch does not
    check its archive's CRCs) and filled holes 10,000 DN off, exit 0; a file given by path has no sha256."""
    from helpers import C2_FULL, blank, read_file, write

    from corkit_inpaint.cli import main
    good = weights.resolve_weights(None).path
    raw = bytearray(good.read_bytes())
    at = len(raw) // 2
    raw[at:at + 64] = bytes((b + 1) % 256 for b in raw[at:at + 64])
    bad = tmp_path / "damaged.pt"
    bad.write_bytes(bytes(raw))
    with pytest.raises(WeightsError, match=r"damaged \(its part \S+ fails its CRC-32 check\); not loaded"):
        weights.read_weights_file(bad)
    unchecked = tmp_path / "no_crc.pt"              # torch can save with no CRC-32s at all: nothing to check
    torch.serialization.set_crc32_options(False)
    try:
        torch.save(blob(), unchecked)
    finally:
        torch.serialization.set_crc32_options(True)
    assert weights.read_weights_file(unchecked)["state_dict"]
    data, hdr = read_file(C2_FULL)
    src = write(tmp_path / "holes.fts", blank(data, [(20, 12)]), hdr)
    assert main(["-q", "fill", str(src), "-o", str(tmp_path / "out.fts"), "--weights", str(bad)]) == 2   # (0.1.30)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged" in err and not (tmp_path / "out.fts").exists()


def test_a_file_replaced_after_it_was_verified_is_refused(tmp_path):
    """The bytes loaded are the bytes hashed: a file swapped between the check and the load is not run."""
    p = tmp_path / "ok.pt"
    torch.save(blob(), p)
    w = weights.resolve_weights(p)
    torch.save(blob(seed=1), p)                               # replaced after resolve_weights hashed it
    with pytest.raises(WeightsError, match="changed after it was verified"):
        weights.read_weights_file(p, sha256=w.sha256)
    assert weights.read_weights_file(p, sha256=hashlib.sha256(p.read_bytes()).hexdigest())["state_dict"]


def test_verify_cache(env, server):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    assert weights.verify_cache() == []
    w = weights.resolve_weights()
    assert weights.verify_cache() == [("tiny", w.path, True)]
    w.path.write_bytes(b"x" * len(env["body"]))
    assert weights.verify_cache() == [("tiny", w.path, False)]
    # a hash remembered for the file as it is now (as a change its stat did not show would leave it)
    # does not make it pass: verify_cache reads the file again
    st = w.path.stat()
    key = (os.path.realpath(w.path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    registry._HASHED[key] = w.sha256
    try:
        assert registry.matches(w.path, registry.model_entry("tiny"))          # the remembered hash
        assert weights.verify_cache() == [("tiny", w.path, False)]
    finally:
        registry._HASHED.pop(key)


def test_downloaded_weights_go_into_provenance(env, server, blanked_file):
    server.routes["/a/tiny-test.pt"] = [("ok", env["body"])]
    hdul = ci.inpaint_fits(blanked_file, device="cpu")
    assert hdul[0].header["INPMODEL"] == "tiny"
    assert hdul[0].header["INPWSHA"] == env["entry"]["sha256"][:16]
    assert server.total() == 1


def test_model_config_base_guide_is_checked():
    from corkit_inpaint.network.weights import check_model_config
    good = {"stages": 2, "widths": [8, 8], "ring": 4, "extra_channels": 6}
    assert check_model_config(good) is None and check_model_config(good | {"base": 3}) is None
    assert "base" in check_model_config(good | {"base": 6})
    assert "base" in check_model_config(good | {"base": "3"})
    assert "extra_channels" in check_model_config(good | {"extra_channels": 9})
    assert check_model_config(good | {"extra_channels": 8, "step": "noise"}) is None
    assert "step" in check_model_config(good | {"step": "noise"})            # needs all 8 guides
    assert "step" in check_model_config(good | {"extra_channels": 8, "step": "sigma"})
    assert check_model_config(good | {"arch": "pconv-fourier"}) is None
    assert check_model_config(good | {"arch": "fourier-vae"}) is None
    assert "arch" in check_model_config(good | {"arch": "fourier"})
    assert "arch" in check_model_config(good | {"arch": ["pconv"]})



def test_an_empty_name_is_refused_and_a_path_that_is_no_file_says_so(tmp_path):
    """``weights=''`` silently meant the default model (a slip in a script: ``--weights "$W"`` with W unset), and
    ``/dev/null`` or a folder were said not to exist."""
    for empty in ("", "  "):
        with pytest.raises(WeightsError, match="an empty name"):
            weights.resolve_weights(empty)
    with pytest.raises(WeightsError, match=r"^weights file /dev/null is not a regular file$"):
        weights.resolve_weights("/dev/null")
    with pytest.raises(WeightsError, match=f"^weights file {tmp_path} is a folder$"):
        weights.resolve_weights(tmp_path)
    with pytest.raises(WeightsError, match="does not exist"):
        weights.resolve_weights(tmp_path / "missing.pt")


def test_a_refusal_does_not_pass_on_torch_s_advice_to_load_unsafely(tmp_path):
    """Battery s35: a FITS file given as weights was refused with torch's 600-character message, which advises
    re-running torch.load with weights_only=False, the arbitrary code execution this loader exists to avoid."""
    import pickle

    from helpers import REAL
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(print, protocol=2))            # a global: what weights_only refuses
    for path, reason in ((REAL, "Unsupported operand"), (evil, "Unsupported global: GLOBAL print")):
        with pytest.raises(WeightsError) as got:
            weights.read_weights_file(path)
        msg = str(got.value)
        assert "weights_only" not in msg and "trust" not in msg and "\n" not in msg and len(msg) < 300, msg
        assert f"torch's weights-only loader refuses it: {reason}" in msg and "never runs a file's code" in msg
