"""`corkit_inpaint.training.soup`: the mean of fine-tunes' weights, written as a packageable run."""

from __future__ import annotations

import hashlib
import json
import os

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



def test_an_earlier_soup_that_is_an_ingredient_is_not_replaced(tmp_path, capsys):
    """Review: a soup of an earlier soup, written to that soup's folder, replaced its own input."""
    earlier = write_soup(["pconv-lasco-nb2", "pconv-lasco-nb3"], tmp_path / "s")
    before = {p.name: p.read_bytes() for p in earlier.parent.iterdir()}
    assert main(["--out", str(earlier.parent), str(earlier), "pconv-lasco-nb3"]) == 1
    err = capsys.readouterr().err
    assert "is an ingredient" in err and len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in earlier.parent.iterdir()} == before
    linked = tmp_path / "linked.pt"                 # the same file under another name
    os.link(earlier, linked)
    assert main(["--out", str(earlier.parent), str(linked), "pconv-lasco-nb3"]) == 1
    assert "is an ingredient" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in earlier.parent.iterdir()} == before


def _file_with(tmp_path, name, change):
    """pconv-lasco-nb3's weights with ``change(state_dict)`` applied, saved as ``name``."""
    blob = torch.load(resolve_weights("pconv-lasco-nb3").path, weights_only=True)
    change(blob["state_dict"])
    torch.save(blob, tmp_path / name)
    return str(tmp_path / name)


def _first_key(sd):
    return next(iter(sd))


@pytest.mark.parametrize("change, why", [
    (lambda sd: sd.__setitem__(_first_key(sd), torch.zeros(3)), "is torch.float32 \\(3,\\)"),
    (lambda sd: sd.__setitem__(_first_key(sd), sd[_first_key(sd)].double()), "is torch.float64"),
    (lambda sd: sd.__setitem__(_first_key(sd), sd[_first_key(sd)].to(torch.int64)), "is torch.int64"),
    (lambda sd: sd.__setitem__(_first_key(sd), 1.5), "is a float, not a tensor"),
    (lambda sd: sd.__setitem__("extra", torch.zeros(1)), "names other tensors"),
])
def test_state_dicts_that_differ_are_refused_in_one_line_either_way_round(tmp_path, capsys, change, why):
    """Review: another shape or a non-tensor crashed, and another type was averaged (or not) by the order."""
    odd = _file_with(tmp_path, "odd.pt", change)
    for ingredients in (["pconv-lasco-nb2", odd], [odd, "pconv-lasco-nb2"]):
        with pytest.raises(WeightsError):
            soup(ingredients)
        assert main(["--out", str(tmp_path / "out"), *ingredients]) == 1
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("soup: error: ")
        assert not (tmp_path / "out").exists()
    with pytest.raises(WeightsError, match=why):
        soup(["pconv-lasco-nb2", odd])


def test_the_same_tensors_in_another_order_make_the_same_soup(tmp_path):
    reordered = _file_with(tmp_path, "re.pt", lambda sd: [sd.__setitem__(k, sd.pop(k)) for k in list(sd)[:3]])
    a, _ = soup(["pconv-lasco-nb3", "pconv-lasco-nb2"])
    b, _ = soup([reordered, "pconv-lasco-nb2"])
    assert list(a["state_dict"]) != list(b["state_dict"])
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])


def test_an_unreadable_run_record_is_one_line(tmp_path, capsys):
    """Review: a malformed config.json beside an ingredient gave a traceback."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "model.pt").write_bytes(resolve_weights("pconv-lasco-nb2").path.read_bytes())
    (run / "config.json").write_text("{not json")
    assert main(["--out", str(tmp_path / "out"), str(run / "model.pt"), "pconv-lasco-nb3"]) == 1
    err = capsys.readouterr().err
    assert "cannot be read" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_soup_killed_between_its_files_is_remade_by_the_same_command(tmp_path, monkeypatch):
    """Review: a kill between model.pt and config.json left weights without a record, which the same command
    then refused as a training run's. The record now comes first, marked unfinished."""
    import corkit_inpaint.training.loop as loop

    class Killed(BaseException):
        pass

    def killed(*_):
        raise Killed
    out = tmp_path / "soup"
    monkeypatch.setattr(loop, "save_torch", killed)          # the process dies where the weights are written
    with pytest.raises(Killed):
        write_soup(["pconv-lasco-nb2", "pconv-lasco-nb3"], out)
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
    assert json.loads((out / "config.json").read_text())["complete"] is False
    monkeypatch.undo()
    weights = write_soup(["pconv-lasco-nb2", "pconv-lasco-nb3"], out)
    meta = json.loads((out / "config.json").read_text())
    assert meta["complete"] is True and meta["model_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()


def test_the_shipped_default_is_the_soup_of_its_shipped_ingredients():
    """Stage 7b of weights/train_default.sh: the default's tensors are the mean of the three packaged fine-tunes'
    (a soup of other weights, or ingredients repackaged without it, would differ)."""
    blob, _ = soup(["pconv-lasco-nb3", "pconv-lasco-nb3-lr3", "pconv-lasco-nb3-seq2"])
    shipped = _state("pconv-lasco-nb3-soup")
    assert set(blob["state_dict"]) == set(shipped)
    assert all(torch.equal(blob["state_dict"][k], shipped[k]) for k in shipped)
    assert not all(torch.equal(_state("pconv-lasco-nb3")[k], shipped[k]) for k in shipped)      # not an ingredient


def test_an_out_whose_record_is_nested_too_deeply_is_refused_in_one_line(tmp_path, capsys):
    """Hostile-input battery 2: an --out folder whose config.json is nested deeper than the JSON parser goes
    raised RecursionError (a traceback) instead of the refusal of a folder that holds another run's record."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("[" * 100000 + "]" * 100000)
    assert main(["--out", str(out), "pconv-lasco-nb2", "pconv-lasco-nb3"]) == 1
    err = capsys.readouterr().err
    assert "holds config.json, not a soup's" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
