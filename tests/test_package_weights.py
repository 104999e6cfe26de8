"""weights/package_weights.py: a finished run becomes a registered weights file, or nothing is written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from corkit_inpaint.training.config import TrainConfig
from corkit_inpaint.training.loop import train

ROOT = Path(__file__).resolve().parents[1]
TINY = TrainConfig(frames=1, steps=2, batch=2, widths=(8, 8, 8, 8), masks_per_frame=1, crops_per_window=1,
                   crop=32, threads=1)


def toy_data(n=4, c=32):
    rng = np.random.default_rng(0)
    valid = np.ones((n, c, c), dtype=bool)
    valid[:, 8:24, 8:24] = False
    truth = rng.standard_normal((n, c, c)).astype(np.float32)
    return {"image": np.where(valid, truth, 0).astype(np.float32), "valid": valid,
            "guides": rng.standard_normal((n, 3, c, c)).astype(np.float32),
            "texture": np.zeros((n, c, c), np.float32), "truth": truth, "hole": ~valid,
            "noise": np.full(n, 0.1, np.float32)}


@pytest.fixture
def tree(tmp_path):
    """A copy of the parts of a checkout the script writes to (its own folder, the registry, package data)."""
    tmp_path = tmp_path / "tree"
    (tmp_path / "weights").mkdir(parents=True)
    shutil.copy(ROOT / "weights" / "package_weights.py", tmp_path / "weights")
    (tmp_path / "corkit_inpaint" / "data").mkdir(parents=True)
    shutil.copy(ROOT / "corkit_inpaint" / "registry.json", tmp_path / "corkit_inpaint")
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    return tmp_path


def package(tree, run, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1", CORKIT_INPAINT_OFFLINE="1")
    return subprocess.run([sys.executable, str(tree / "weights" / "package_weights.py"), str(run), *args],
                          capture_output=True, text=True, env=env, timeout=600)


def snapshot(tree):
    return {p.relative_to(tree): p.read_bytes() for p in tree.rglob("*") if p.is_file() and "tests" not in p.parts}


def test_refusals_write_nothing(tree, tmp_path):
    """Review s15: a bad name escaped weights/, a half-trained run was packaged, a failure left files behind."""
    run = tmp_path / "run"
    train(replace(TINY), run, data=toy_data(), resume=False, progress=False, time_limit=0.0)   # stopped at 1 of 2
    before = snapshot(tree)
    for args, why in ((["--name", "../escaped"], "--name '../escaped'"), (["--name", "x"], "stopped at step 1 of 2")):
        res = package(tree, run, *args)
        assert res.returncode == 1 and why in res.stderr and "Traceback" not in res.stderr
    (run / "config.json").unlink()
    res = package(tree, run, "--name", "x", "--default")
    assert res.returncode == 1 and "no config.json" in res.stderr
    assert snapshot(tree) == before and not (tree / "escaped.pt").exists() and not (tmp_path / "escaped.pt").exists()


def test_a_finished_run_is_registered_and_another_under_its_name_needs_force(tree, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    train(replace(TINY), a, data=toy_data(), resume=False, progress=False)
    train(replace(TINY, seed=7), b, data=toy_data(), resume=False, progress=False)
    assert package(tree, a, "--name", "tiny").returncode == 0
    reg = json.loads((tree / "corkit_inpaint" / "registry.json").read_text())
    assert (tree / "weights" / "tiny.pt").read_bytes() == (a / "model.pt").read_bytes()
    assert reg["models"]["tiny"]["size"] == (a / "model.pt").stat().st_size
    assert json.loads((tree / "weights" / "tiny.check.json").read_text())["sha256"]
    assert package(tree, a, "--name", "tiny").returncode == 0                  # the same bytes again: fine
    before = snapshot(tree)
    res = package(tree, b, "--name", "tiny")
    assert res.returncode == 1 and "registered already with other weights" in res.stderr
    assert snapshot(tree) == before
    assert package(tree, b, "--name", "tiny", "--force").returncode == 0
    assert (tree / "weights" / "tiny.pt").read_bytes() == (b / "model.pt").read_bytes()
    assert not list(tree.rglob(".*.tmp"))


def test_a_model_that_cannot_fill_or_a_mirror_the_registry_refuses_writes_nothing(tree, tmp_path):
    """Review: NaN weights were written to weights/ before their fill failed in a traceback, and --url ftp://...
    wrote a registry that every later command refused (malformed model registry)."""
    import torch
    run = tmp_path / "run"
    train(replace(TINY), run, data=toy_data(), resume=False, progress=False)
    before = snapshot(tree)
    res = package(tree, run, "--name", "tiny", "--url", "ftp://mirror/tiny.pt")
    assert res.returncode == 1 and "only http(s) URLs" in res.stderr and "Traceback" not in res.stderr
    blob = torch.load(run / "model.pt", weights_only=True)
    blob["state_dict"] = {k: v.float().fill_(float("nan")) for k, v in blob["state_dict"].items()}
    torch.save(blob, run / "model.pt")
    meta = json.loads((run / "config.json").read_text())
    meta["model_sha256"] = hashlib.sha256((run / "model.pt").read_bytes()).hexdigest()     # as if it trained so
    (run / "config.json").write_text(json.dumps(meta))
    res = package(tree, run, "--name", "tiny")
    assert res.returncode == 1 and "NaN" in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1
    assert snapshot(tree) == before


def test_a_model_that_is_not_the_one_its_record_names_is_refused(tree, tmp_path):
    """Review: model.pt and config.json are replaced one after the other; a run stopped between the two left a
    pair that did not match, and the new model would have been registered with the old record."""
    a, b = tmp_path / "a", tmp_path / "b"
    train(replace(TINY), a, data=toy_data(), resume=False, progress=False)
    train(replace(TINY, seed=7), b, data=toy_data(), resume=False, progress=False)
    meta = json.loads((a / "config.json").read_text())
    assert meta["model_sha256"] == hashlib.sha256((a / "model.pt").read_bytes()).hexdigest()
    shutil.copyfile(b / "model.pt", a / "model.pt")                   # the new model, the old record
    before = snapshot(tree)
    res = package(tree, a, "--name", "tiny")
    assert res.returncode == 1 and "not the file config.json records" in res.stderr and "Traceback" not in res.stderr
    assert snapshot(tree) == before
    del meta["model_sha256"]                                          # a record of before 0.1.12: not checked
    (b / "config.json").write_text(json.dumps(meta | {"steps_done": 2}))
    assert package(tree, b, "--name", "tiny").returncode == 0


def test_a_new_name_does_not_replace_a_file_no_model_owns(tree, tmp_path):
    """Review: --name pconv-lasco-v2.stage2 replaced weights/pconv-lasco-v2.stage2.config.json, the record of a
    start that is no registered model."""
    run = tmp_path / "run"
    train(replace(TINY), run, data=toy_data(), resume=False, progress=False)
    (tree / "weights" / "v2.stage2.config.json").write_text('{"a start": "not registered"}')
    before = snapshot(tree)
    res = package(tree, run, "--name", "v2.stage2")
    assert res.returncode == 1 and "no registered model names it" in res.stderr and "Traceback" not in res.stderr
    assert snapshot(tree) == before
    assert package(tree, run, "--name", "v2.stage3").returncode == 0


def test_a_model_soups_folder_is_packaged_like_a_run(tree, tmp_path):
    """A soup's record (`corkit_inpaint.training.soup`) names its ingredients instead of steps."""
    from corkit_inpaint.training.soup import write_soup
    weights = write_soup(["pconv-lasco-nb2", "pconv-lasco-nb3"], tmp_path / "soup")
    res = package(tree, weights.parent, "--name", "soup-test")
    assert res.returncode == 0, res.stderr
    reg = json.loads((tree / "corkit_inpaint" / "registry.json").read_text())
    assert reg["models"]["soup-test"]["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert (tree / "weights" / "soup-test.pt").read_bytes() == weights.read_bytes()
    assert len(json.loads((tree / "weights" / "soup-test.config.json").read_text())["soup"]["ingredients"]) == 2
    record = json.loads((weights.parent / "config.json").read_text())
    record["soup"]["ingredients"] = record["soup"]["ingredients"][:1]      # one ingredient is not a soup
    (weights.parent / "config.json").write_text(json.dumps(record))
    before = snapshot(tree)
    res = package(tree, weights.parent, "--name", "soup-one")
    assert res.returncode == 1 and "two or more ingredients" in res.stderr and snapshot(tree) == before
    record = json.loads((tree / "weights" / "soup-test.config.json").read_text())
    record["complete"] = False                     # what a soup killed while writing its weights leaves
    (weights.parent / "config.json").write_text(json.dumps(record))
    res = package(tree, weights.parent, "--name", "soup-killed")
    assert res.returncode == 1 and "an unfinished soup" in res.stderr and snapshot(tree) == before

