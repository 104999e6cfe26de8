"""The committed default weights: registered, shipped as package data (in the wheel), loadable
without code execution, and reproducing the output checksum recorded when they were packaged
(guards the file and determinism)."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import BLANK, blank, read_real

from corkit_inpaint.blocks import find_missing_blocks
from corkit_inpaint.fill import run_method
from corkit_inpaint.frame import Frame
from corkit_inpaint.network.registry import DATA_DIR, PACKAGE_DIR, default_model_name, registry
from corkit_inpaint.network.weights import read_weights_file, resolve_weights

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights"


def test_default_weights_registered_and_safe():
    name = default_model_name()
    entry = registry()["models"][name]
    path = DATA_DIR / entry["file"]                # package data: the wheel carries it
    assert path.stat().st_size == entry["size"] < 20 * 2 ** 20
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]
    blob = read_weights_file(path)                 # torch.load(weights_only=True)
    assert blob["model_config"]["stages"] == 2
    cfg = json.loads((WEIGHTS / f"{name}.config.json").read_text())
    # a soup (corkit_inpaint.training.soup) records its ingredients: each a training run's record, or a registered
    # model's name whose record lies beside it
    runs = [i.get("run_record") or json.loads((WEIGHTS / f"{i['weights']}.config.json").read_text())
            for i in cfg["soup"]["ingredients"]] if "soup" in cfg else [cfg]
    assert len(runs) >= (2 if "soup" in cfg else 1)
    for run in runs:
        assert run["config"]["seed"] and run["config"]["generator_version"] and run["steps_done"] > 1000
    assert resolve_weights(None).sha256 == entry["sha256"]


def test_default_weights_are_package_data():
    """The wheel carries registry.json and the default model (pyproject's package-data globs)."""
    try:
        import tomllib
    except ImportError:                            # Python 3.10
        tomllib = pytest.importorskip("tomli")
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {p.relative_to(PACKAGE_DIR).as_posix() for g in globs["corkit_inpaint"] for p in PACKAGE_DIR.glob(g)}
    entry = registry()["models"][default_model_name()]
    assert {"registry.json", f"data/{entry['file']}"} <= shipped
    assert not (WEIGHTS / entry["file"]).exists()  # one copy in the repository, not two


def _fixed_input(weights=None, fill="pconv-smooth"):
    """The packaging script's fixed input (the bundled C2 frame, its BLANK blocks zeroed) filled on the CPU: the
    sha256 of the fill rounded to little-endian int32, and the frame it was filled in."""
    data, header = read_real()
    img = blank(data, BLANK)
    mask, _ = find_missing_blocks(img, header)
    frame = Frame.build(img, mask, header)
    out = run_method(fill, frame, device="cpu", weights=weights).values
    filled = np.clip(np.rint(out), np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype("<i4")
    return hashlib.sha256(filled.tobytes()).hexdigest(), frame


def test_default_weights_reproduce_recorded_checksum():
    name = default_model_name()
    check = json.loads((WEIGHTS / f"{name}.check.json").read_text())
    # files packaged before the error tables recorded the textured fill; newer ones the expected value
    sha, frame = _fixed_input(fill=check.get("fill", "pconv"))
    assert sha == check["sha256"]
    if "sigma_sha256" in check:            # a model with a spread head: its sigma is guarded too
        sigma = run_method("pconv-smooth", frame, device="cpu", check_sigma=False).sigma
        assert hashlib.sha256(np.rint(100 * sigma).astype("<i4").tobytes()).hexdigest() == check["sigma_sha256"]


@pytest.mark.parametrize("name", ["pconv-fourier-lasco-nb2", "fourier-vae-lasco-nb2"])
def test_fourier_weights_registered_recorded_and_reproduce_their_checksum(name):
    """The Fourier variants' weights: in the checkout's weights/, with their config, and their fixed-input fill."""
    entry = registry()["models"][name]
    w = resolve_weights(name)
    assert w.sha256 == entry["sha256"] and w.path.stat().st_size == entry["size"]
    arch = read_weights_file(w.path)["model_config"]["arch"]
    assert name.startswith(arch)
    cfg = json.loads((WEIGHTS / f"{name}.config.json").read_text())
    assert cfg["config"]["arch"] == arch and cfg["steps_done"] == cfg["config"]["steps"] == 3000
    assert cfg["config"]["first_frame_seed"] == 6_000_000 and cfg["config"]["init"] == "pconv-lasco-nb1"
    check = json.loads((WEIGHTS / f"{name}.check.json").read_text())
    assert _fixed_input(name, check["fill"])[0] == check["sha256"]


def test_spread_head_weights_registered_recorded_and_reproduce_their_checksums():
    """pconv-lasco-nb2-sigma: nb2's network bit for bit, plus a spread head; its fill and its sigma are guarded."""
    name = "pconv-lasco-nb2-sigma"
    entry = registry()["models"][name]
    w = resolve_weights(name)
    assert w.sha256 == entry["sha256"] and w.path.stat().st_size == entry["size"]
    blob, base = read_weights_file(w.path), read_weights_file(resolve_weights("pconv-lasco-nb2").path)
    assert blob["model_config"]["sigma_head"] > 0
    assert {k: v for k, v in blob["model_config"].items() if k != "sigma_head"} == base["model_config"]
    for k, v in base["state_dict"].items():
        assert np.array_equal(v.numpy(), blob["state_dict"][k].numpy()), k
    cfg = json.loads((WEIGHTS / f"{name}.config.json").read_text())
    assert cfg["init"] == "pconv-lasco-nb2" and cfg["init_sha256"] == registry()["models"]["pconv-lasco-nb2"]["sha256"]
    assert cfg["steps_done"] == cfg["config"]["steps"] and cfg["config"]["first_frame_seed"] == 8_000_000
    check = json.loads((WEIGHTS / f"{name}.check.json").read_text())
    assert check["sha256"] == json.loads((WEIGHTS / "pconv-lasco-nb2.check.json").read_text())["sha256"]
    data, header = read_real()
    img = blank(data, BLANK)
    mask, _ = find_missing_blocks(img, header)
    res = run_method("pconv-smooth", Frame.build(img, mask, header), device="cpu", weights=name, check_sigma=False)
    assert hashlib.sha256(np.rint(100 * res.sigma).astype("<i4").tobytes()).hexdigest() == check["sigma_sha256"]


def test_the_default_soup_is_the_mean_of_its_registered_ingredients():
    """Each ingredient the soup's record names is a registered model (its sha256 the record's), and their mean
    (`corkit_inpaint.training.soup`) is the default's tensors."""
    import torch

    from corkit_inpaint.training.soup import soup
    name = default_model_name()
    cfg = json.loads((WEIGHTS / f"{name}.config.json").read_text())
    if "soup" not in cfg:
        pytest.skip(f"the default, {name}, is not a soup")
    by_sha = {e["sha256"]: n for n, e in registry()["models"].items()}
    names = [by_sha[i["sha256"]] for i in cfg["soup"]["ingredients"]]
    blob, _ = soup(names)
    default = read_weights_file(resolve_weights(None).path)["state_dict"]
    assert blob["state_dict"].keys() == default.keys()
    assert all(torch.equal(blob["state_dict"][k], default[k]) for k in default)


def test_the_previous_default_reproduces_its_recorded_checksum():
    """``--weights pconv-lasco-nb3`` (the default until 0.1.16, in a source checkout) fills as it did."""
    if not (WEIGHTS / "pconv-lasco-nb3.pt").is_file():
        pytest.skip("pconv-lasco-nb3's file is in a source checkout's weights/ only")
    check = json.loads((WEIGHTS / "pconv-lasco-nb3.check.json").read_text())
    assert _fixed_input("pconv-lasco-nb3", check["fill"])[0] == check["sha256"]

