"""Fitting the error tables: the quantile per cell, the fallback for thin cells, a real (small) fit."""

import numpy as np
import pytest

from corkit_inpaint.uncertainty.features import TABLE_SHAPE, PixelFeatures
from corkit_inpaint.uncertainty.fit import MIN_COUNT, Accumulator, collect, write_tables
from corkit_inpaint.uncertainty.tables import load_tables


def _features(n, zone, dist, noise, spread=0.0, neighbour=False, detector="C2"):
    return PixelFeatures(np.ones(n, dtype=bool), np.full(n, zone), np.full(n, float(dist)), np.full(n, noise),
                         np.full(n, spread), np.full(n, np.inf), np.full(n, neighbour), detector)


def _settings(added: dict) -> dict:
    """An ``added`` entry of a tables file without what names the code that fitted it."""
    return {k: v for k, v in added.items() if k not in ("versions", "source_commit")}


def test_a_gaussian_error_gives_its_sigma_and_thin_cells_take_the_coarser_value():
    rng = np.random.default_rng(1)
    acc = Accumulator()
    n = 20 * MIN_COUNT
    # unit hypot(0.3, 0.4) = 0.5; spread / noise = 1.33: the second spread bin
    acc.add(_features(n, 0, 1, 0.3, 0.4), rng.normal(0, 3 * 0.5, n))     # 3 units at the hole edge
    acc.add(_features(n, 0, 20, 0.3, 0.4), rng.normal(0, 6 * 0.5, n))    # 6 deep inside
    acc.add(_features(10, 0, 3, 0.3, 0.4), rng.normal(0, 100, 10))       # too few to stand alone
    k = acc.table()
    assert k.shape == TABLE_SHAPE
    assert abs(k[0, 0, 0, 1] / 3 - 1) < 0.05 and abs(k[0, 0, 5, 1] / 6 - 1) < 0.05
    # the thin cell falls back to the pooled (zone) value, between 3 and 6, not 200
    assert 3 < k[0, 0, 2, 1] < 6
    # an empty cell of a spread bin with data elsewhere at that distance takes the distance's value
    assert abs(k[0, 0, 0, 3] / 3 - 1) < 0.05


def test_the_detectors_zones_are_fitted_apart():
    """One table cell per zone and detector: C3's smaller errors in a zone are not pooled with C2's."""
    rng = np.random.default_rng(2)
    acc = Accumulator()
    n = 20 * MIN_COUNT
    acc.add(_features(n, 1, 1, 0.3, 0.4), rng.normal(0, 4 * 0.5, n))                   # C2 mid: 4 units
    acc.add(_features(n, 1, 1, 0.3, 0.4, detector="C3"), rng.normal(0, 2 * 0.5, n))    # C3 mid: 2 units
    k = acc.table()
    assert abs(k[0, 1, 0, 1] / 4 - 1) < 0.05 and abs(k[0, 4, 0, 1] / 2 - 1) < 0.05


def test_a_small_real_fit_writes_tables_that_load(tmp_path):
    accs = collect(["biharmonic"], n_frames=1, n_sequences=0, repeats=1, progress=False)
    (name, sha, acc), = accs.values()
    assert name == "biharmonic" and sha == "" and acc.hist.sum() > 1000
    path = tmp_path / "tables.json"
    write_tables(accs, path, {"test": True})
    t = load_tables(str(path))["biharmonic"]
    assert np.all(t.k > 0) and not np.allclose(t.k, 1.0)
    assert [p.name for p in tmp_path.iterdir()] == ["tables.json"]     # no temporary left behind


def test_tables_of_other_weights_are_added_to_a_file_fitted_on_the_same_holes(tmp_path):
    """``--add-to``: the new tables join the file's; a file fitted on other holes is refused and left alone."""
    import json

    from corkit_inpaint.uncertainty.fit import main
    path = tmp_path / "tables.json"
    small = ["--frames", "1", "--sequences", "0", "--repeats", "1"]
    assert main(["--out", str(path), "--methods", "biharmonic", *small]) == 0
    assert main(["--add-to", str(path), "--methods", "fuzzy", *small]) == 0
    doc = json.loads(path.read_text())
    assert set(doc["tables"]) == {"biharmonic", "fuzzy"} and doc["fit"]["methods"] == ["biharmonic"]
    assert [_settings(a) for a in doc["fit"]["added"]] == [{"methods": ["fuzzy"], "weights": None}]
    # a file of tables with one zone axis for both detectors (before 0.1.13) is carried over: the same sigmas
    from corkit_inpaint.uncertainty.tables import POOLED_SHAPE
    pooled = np.asarray(doc["tables"]["biharmonic"]["k"])[:, [0, 1, 2, 6]]
    old = {**doc, "format": 2, "tables": {"biharmonic": {**doc["tables"]["biharmonic"], "k": pooled.tolist()}}}
    old["fit"].pop("added")
    path.write_text(json.dumps(old))
    assert pooled.shape == POOLED_SHAPE and main(["--add-to", str(path), "--methods", "fuzzy", *small]) == 0
    doc = json.loads(path.read_text())
    assert doc["format"] == 3 and set(doc["tables"]) == {"biharmonic", "fuzzy"}
    assert np.array_equal(load_tables(str(path))["biharmonic"].k, np.asarray(pooled)[:, [0, 1, 2, 0, 1, 2, 3]])
    # a file to add to whose tables cannot be read is refused before the fit, and left alone (review: a table of
    # another shape was "converted" into one load_tables refused, after the fit)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**doc, "format": 2}))             # format 2 with format-3 tables
    with pytest.raises(SystemExit) as ei:
        main(["--add-to", str(bad), "--methods", "fuzzy", *small])
    assert ei.value.code == 1 and json.loads(bad.read_text()) == {**doc, "format": 2}
    bad.unlink()
    before = path.read_bytes()
    with pytest.raises(SystemExit) as ei:
        main(["--add-to", str(path), "--methods", "fuzzy", "--frames", "2", "--sequences", "0", "--repeats", "1"])
    assert ei.value.code == 1 and path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tables.json"]


def test_large_losses_add_only_their_deep_pixels_and_leave_the_base_draws_alone():
    """The fit's rows and big clusters fill the deep distance bins; the shallow cells stay the base losses'."""
    from corkit_inpaint.training.simulator import make_frame
    from corkit_inpaint.uncertainty.features import DIST_EDGES
    from corkit_inpaint.uncertainty.fit import FRAME_SEED0, LARGE_MIN_DIST, _blank_and_fill
    full = collect(["biharmonic"], n_frames=1, n_sequences=0, repeats=1, progress=False)["biharmonic"][2]
    img, hdr = make_frame(FRAME_SEED0, detector="C2", summed=False)
    base: dict = {}
    _blank_and_fill(img, hdr, ["biharmonic"], base, np.random.default_rng(FRAME_SEED0), 1, None, "cpu", None)
    h_full = full.hist.reshape(*TABLE_SHAPE, -1).sum(axis=(0, 1, 3, 4))
    h_base = base["biharmonic"][2].hist.reshape(*TABLE_SHAPE, -1).sum(axis=(0, 1, 3, 4))
    shallow = np.array(DIST_EDGES[1:]) <= LARGE_MIN_DIST           # bins wholly within LARGE_MIN_DIST
    assert np.array_equal(full.hist.reshape(*TABLE_SHAPE, -1)[:, :, shallow],
                          base["biharmonic"][2].hist.reshape(*TABLE_SHAPE, -1)[:, :, shallow])
    assert h_base[-1] == 0 and h_full[-1] > MIN_COUNT             # only the large losses reach beyond 64 px
    assert np.all(h_full[~shallow] > h_base[~shallow])


def test_keep_limits_the_pixels_added():
    acc = Accumulator()
    f = _features(4, 0, 1, 0.3, 0.4)
    acc.add(f, np.ones(4), np.array([True, False, True, False]))
    assert acc.hist.sum() == 2


@pytest.mark.parametrize("args, code, why", [
    (["--frames", "0"], 2, "--frames"), (["--repeats", "0"], 2, "--repeats"), (["--sequences", "-1"], 2, "--frames"),
    (["--methods", "nosuch"], 2, "unknown inpainting method 'nosuch'"),
    (["--weights", "/nonexistent/w.pt"], 1, "does not exist"),
])
def test_bad_settings_are_one_line_before_the_fit(tmp_path, capsys, args, code, why):
    """Review: --frames 0 or -3 wrote a file without tables and exited 0; an unknown method or weights file was a
    traceback after the first simulated frame."""
    from corkit_inpaint.uncertainty.fit import main
    with pytest.raises(SystemExit) as ei:
        main(["--out", str(tmp_path / "t.json"), "--methods", "biharmonic", "--frames", "1", "--sequences", "0", *args])
    err = capsys.readouterr().err
    assert ei.value.code == code and why in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_a_destination_that_cannot_serve_is_refused_before_the_fit(tmp_path, capsys, monkeypatch):
    """Review: --add-to a JSON list or a file whose 'fit' is no mapping was a TypeError/AttributeError traceback,
    and these (and an --out in a missing folder) failed only after the whole fit."""
    from corkit_inpaint.uncertainty import fit
    monkeypatch.setattr(fit, "collect", lambda *a, **k: pytest.fail("the fit ran"))
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "fitlist.json").write_text('{"fit": [1], "tables": {}}')
    (tmp_path / "bad.json").write_text("{bad")
    for opt, path, why in (("--add-to", "list.json", "not a tables file"), ("--add-to", "fitlist.json", "not a tables"),
                           ("--add-to", "bad.json", "not JSON"), ("--add-to", "none.json", "cannot be read"),
                           ("--out", "missing/t.json", "its folder does not exist"), ("--out", ".", "is a folder")):
        with pytest.raises(SystemExit) as ei:
            fit.main([opt, str(tmp_path / path), "--methods", "biharmonic", "--frames", "1", "--sequences", "0"])
        err = capsys.readouterr().err
        assert ei.value.code == 1 and why in err and err.count("\n") == 1, (path, err)
    assert (tmp_path / "list.json").read_text() == "[1, 2]" and (tmp_path / "bad.json").read_text() == "{bad"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "fitlist.json", "list.json"]


def test_frames_from_the_sequence_simulator(tmp_path, capsys):
    """``--frames-from sequence``: the single frames are sequence targets alone; the file says so and a file
    fitted on the single-frame simulator's holes is not added to."""
    import json

    from corkit_inpaint.training.sequence import make_sequence
    from corkit_inpaint.uncertainty.fit import FRAME_SEED0, _blank_and_fill, main
    acc = collect(["biharmonic"], n_frames=1, n_sequences=0, repeats=1, progress=False, frames_from="sequence",
                  sequence_version="3")["biharmonic"][2]
    img, hdr = make_sequence(FRAME_SEED0, (0.0,), detector="C2", summed=False, version="3").frames[0]
    own: dict = {}
    _blank_and_fill(img, hdr, ["biharmonic"], own, np.random.default_rng(FRAME_SEED0), 1, None, "cpu", None)
    assert acc.hist.sum() > own["biharmonic"][2].hist.sum() > 1000       # the base losses, then the large ones
    other = collect(["biharmonic"], n_frames=1, n_sequences=0, repeats=1, progress=False)["biharmonic"][2]
    assert not np.array_equal(acc.hist, other.hist)
    with pytest.raises(ValueError, match="frames_from"):
        collect(["biharmonic"], n_frames=1, n_sequences=0, frames_from="nowhere", progress=False)
    small = ["--frames", "1", "--sequences", "0", "--repeats", "1"]
    seq, sim = tmp_path / "seq.json", tmp_path / "sim.json"
    assert main(["--out", str(seq), "--methods", "biharmonic", "--frames-from", "sequence",
                 "--sequence-version", "3", *small]) == 0
    fit = json.loads(seq.read_text())["fit"]
    assert fit["frames_from"] == "sequence" and fit["sequence_version"] == "3"
    # a file of the same sequence version, fitted on the single-frame simulator's frames, is refused for that alone
    assert main(["--out", str(sim), "--methods", "biharmonic", "--sequence-version", "3", *small]) == 0
    assert "frames_from" not in json.loads(sim.read_text())["fit"]       # files fitted before the option read alike
    before = sim.read_bytes()
    with pytest.raises(SystemExit) as ei:
        main(["--add-to", str(sim), "--methods", "fuzzy", "--frames-from", "sequence", "--sequence-version", "3",
              *small])
    err = capsys.readouterr().err
    assert ei.value.code == 1 and sim.read_bytes() == before
    assert "frames_from" in err and "sequence_version" not in err, err


def test_a_near_spread_table_is_fitted_on_its_own_unit_and_recorded(tmp_path):
    """``--spread near`` (the default model's table since 0.1.18): the same holes and fills, the unit and cells
    of the spread without the guide farthest from the fill; the table says so, and a range table says nothing."""
    import json

    from corkit_inpaint.uncertainty.fit import main
    rng = np.random.default_rng(3)
    n = 20 * MIN_COUNT
    f = _features(n, 0, 1, 0.3, 0.4)
    f = PixelFeatures(f.pixels, f.zone, f.dist, f.noise, f.spread, f.cap, f.neighbour, f.detector,
                      near=np.zeros(n))                                   # unit: the noise alone
    err = rng.normal(0, 3 * 0.3, n)
    near, whole = Accumulator("near"), Accumulator()
    near.add(f, err)
    whole.add(f, err)
    assert abs(near.table()[0, 0, 0, 0] / 3 - 1) < 0.05            # 3 noise units, in the first spread bin
    assert abs(whole.table()[0, 0, 0, 1] / (3 * 0.3 / 0.5) - 1) < 0.05     # 1.8 units of hypot(0.3, 0.4)
    with pytest.raises(ValueError, match="one of range, near"):
        Accumulator("widest")
    path = tmp_path / "tables.json"
    small = ["--frames", "1", "--sequences", "0", "--repeats", "1", "--methods", "biharmonic"]
    assert main(["--out", str(path), *small]) == 0
    assert main(["--add-to", str(path), "--spread", "near", *small]) == 0        # replaces the range table
    doc = json.loads(path.read_text())
    assert doc["tables"]["biharmonic"]["spread"] == "near" and "spread" not in doc["fit"]
    assert [_settings(a) for a in doc["fit"]["added"]] == [{"methods": ["biharmonic"], "weights": None,
                                                            "spread": "near"}]
    t = load_tables(str(path))["biharmonic"]
    assert t.spread == "near" and np.all(t.k > 0)


def test_a_tables_file_names_the_code_that_fitted_it_and_each_addition(tmp_path):
    """Battery 27c: the file recorded the fit's settings but not the versions of this package and of the
    libraries that simulated and filled the holes, nor the source commit (a training run's record names them)."""
    import json

    import torch

    from corkit_inpaint import __version__
    from corkit_inpaint.uncertainty.fit import main
    path = tmp_path / "tables.json"
    small = ["--frames", "1", "--sequences", "0", "--repeats", "1"]
    assert main(["--out", str(path), "--methods", "biharmonic", *small]) == 0
    assert main(["--add-to", str(path), "--methods", "fuzzy", *small]) == 0
    fit = json.loads(path.read_text())["fit"]
    for rec in (fit, fit["added"][0]):
        assert rec["versions"]["corkit-inpaint"] == __version__ and rec["versions"]["torch"] == torch.__version__
        assert {"python", "numpy", "scipy", "astropy", "scikit-image"} <= set(rec["versions"])
        assert "source_commit" in rec


def test_an_add_to_file_nested_too_deeply_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    """Hostile-input battery 2: --add-to a JSON file nested deeper than the parser goes raised RecursionError (a
    traceback) instead of the one line of a file that is not a tables file."""
    from corkit_inpaint.uncertainty import fit
    monkeypatch.setattr(fit, "collect", lambda *a, **k: pytest.fail("the fit ran"))
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(SystemExit) as ei:
        fit.main(["--add-to", str(deep), "--methods", "biharmonic", "--frames", "1", "--sequences", "0"])
    err = capsys.readouterr().err
    assert ei.value.code == 1 and "not a tables file (nested too deeply" in err and err.count("\n") == 1, err
    assert deep.read_text().startswith("[[[") and sorted(p.name for p in tmp_path.iterdir()) == ["deep.json"]
