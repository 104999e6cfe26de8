"""`corkit_inpaint.training.soup`: the mean of fine-tunes' weights, written as a packageable run."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.network.weights import load_model, resolve_weights
from corkit_inpaint.training.soup import main, soup, write_soup


def _state(name):
    return torch.load(resolve_weights(name).path, weights_only=True)["state_dict"]


def test_the_soup_is_the_mean_of_its_ingredients():
    blob, record = soup(["pconv-lasco-nb2", "pconv-lasco-nb2", "pconv-lasco-nb3"])   # a weight of 2/3 and 1/3
    a, b = _state("pconv-lasco-nb2"), _state("pconv-lasco-nb3")
    for k, v in blob["state_dict"].items():
        want = ((2 * a[k].double() + b[k].double()) / 3).float()
        assert v.dtype == a[k].dtype and torch.equal(v, want), k
    assert [r["sha256"] for r in record] == [resolve_weights(n).sha256 for n in
                                             ("pconv-lasco-nb2", "pconv-lasco-nb2", "pconv-lasco-nb3")]
    assert blob["model_config"] == torch.load(resolve_weights("pconv-lasco-nb3").path,
                                              weights_only=True)["model_config"]


def test_written_soup_is_the_same_bytes_each_time_and_loads(tmp_path):
    one = write_soup(["pconv-lasco-nb2", "pconv-lasco-nb3"], tmp_path / "a" / "soup")
    two = write_soup(["pconv-lasco-nb2", "pconv-lasco-nb3"], tmp_path / "b" / "soup")
    assert one.read_bytes() == two.read_bytes()
    meta = json.loads((one.parent / "config.json").read_text())
    assert meta["model_sha256"] == hashlib.sha256(one.read_bytes()).hexdigest() and meta["complete"]
    assert [i["weights"] for i in meta["soup"]["ingredients"]] == ["pconv-lasco-nb2", "pconv-lasco-nb3"]
    assert meta["versions"]["corkit-inpaint"]
    model = load_model(str(one))
    assert model.sha256 == meta["model_sha256"] and not model.training


def test_a_run_folders_record_is_kept_beside_its_ingredient(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes(resolve_weights("pconv-lasco-nb2").path.read_bytes())
    (run / "config.json").write_text(json.dumps({"config": {"steps": 3000}, "steps_done": 3000}))
    _, record = soup([run / "model.pt", "pconv-lasco-nb3"])
    assert record[0]["run_record"]["steps_done"] == 3000 and "run_record" not in record[1]


@pytest.mark.parametrize("ingredients, why", [
    (["pconv-lasco-nb3"], "two or more"),
    (["pconv-lasco-v3", "pconv-lasco-nb3"], "model_config differs"),
    (["pconv-lasco-nb2-sigma", "pconv-lasco-nb2"], "spread head"),
])
def test_refusals_write_nothing(tmp_path, ingredients, why, capsys):
    with pytest.raises(WeightsError, match=why):
        soup(ingredients)
    assert main(["--out", str(tmp_path / "out"), *ingredients]) == 1
    err = capsys.readouterr().err
    assert why in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_training_runs_folder_is_not_written_over(tmp_path, capsys):
    """Review: ``--out`` an ingredient's own run folder replaced its weights and record."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes(resolve_weights("pconv-lasco-nb2").path.read_bytes())
    (run / "config.json").write_text(json.dumps({"config": {"steps": 3000}, "steps_done": 3000}))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert main(["--out", str(run), str(run / "model.pt"), "pconv-lasco-nb3"]) == 1
    assert "a training run's folder" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    (tmp_path / "file").write_text("x")
    assert main(["--out", str(tmp_path / "file"), "pconv-lasco-nb2", "pconv-lasco-nb3"]) == 1
    soup_dir = tmp_path / "soup"                    # an earlier soup's folder is remade in place, the same bytes
    first = write_soup(["pconv-lasco-nb2", "pconv-lasco-nb3"], soup_dir).read_bytes()
    assert write_soup(["pconv-lasco-nb2", "pconv-lasco-nb3"], soup_dir).read_bytes() == first

