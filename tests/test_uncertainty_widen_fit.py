"""`corkit_inpaint.uncertainty.widen_fit`: the factors fitted on simulated sequences, added to a tables file."""

import json
import shutil
from importlib.resources import files

import numpy as np
import pytest

from corkit_inpaint.uncertainty import widen_fit
from corkit_inpaint.uncertainty.fit import MIN_COUNT, R_EDGES, SHARED_SETTINGS, Accumulator, write_tables
from corkit_inpaint.uncertainty.tables import parse_tables
from corkit_inpaint.uncertainty.widen import Widening
from corkit_inpaint.uncertainty.widen_fit import add_widening, collect_z, fit_widening, main


def _hist(scales, n=2000, seed=0):
    """Histograms of |z| for a Gaussian of each cell's scale (NaN: an empty cell)."""
    rng = np.random.default_rng(seed)
    h = np.zeros((*scales.shape, R_EDGES.size + 1), dtype=np.int64)
    for idx in np.ndindex(scales.shape):
        if np.isfinite(scales[idx]):
            h[idx] = np.bincount(np.searchsorted(R_EDGES, np.abs(rng.normal(0, scales[idx], n))),
                                 minlength=R_EDGES.size + 1)
    return h


def test_each_cell_over_the_first_monotone_and_thin_cells_from_their_neighbours():
    scales = np.array([[1.0, 1.0, 2.0, np.nan], [0.5, 1.5, 2.0, 3.0], [2.0, 2.0, 2.0, 3.0], [4.0, 4.0, 4.0, 8.0]])
    w = fit_widening(_hist(scales))
    assert w.factor[0, 0] == 1.0 and w.factor[1, 0] == 1.0          # never narrower than the first cell
    assert w.factor[0, 2] == pytest.approx(2.0, rel=0.1) and w.factor[3, 3] == pytest.approx(8.0, rel=0.1)
    assert w.factor[0, 3] == w.factor[0, 2]                       # empty: its lower neighbour's
    assert w.pixels[0, 3] == 0 and w.pixels[0, 0] == 2000
    with pytest.raises(ValueError, match="first cell"):
        fit_widening(_hist(np.full((4, 4), 1.0), n=MIN_COUNT - 1))


def test_added_to_a_copy_of_the_shipped_file_which_then_reads(tmp_path):
    path = tmp_path / "tables.json"
    shutil.copy(files("corkit_inpaint") / "data" / "error_tables.json", path)
    key = next(k for k in json.loads(path.read_text())["tables"] if k.startswith("pconv-smooth@"))
    w = Widening(np.array([[1.0, 1.2, 1.5, 2.0]] * 4))
    others = {k: v for k, v in json.loads(path.read_text())["fit"]["widen"].items() if k != key}
    assert others                             # the shipped file's other widened table (ratio's)
    add_widening(path, key, w, {"sequences": 3})
    doc = json.loads(path.read_text())
    assert doc["fit"]["widen"] == others | {key: {"sequences": 3}}     # each table's record kept
    assert np.allclose(parse_tables(doc)[key].widen.factor, w.factor)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="no table 'nonesuch'"):
        add_widening(path, "nonesuch", w, {})
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not a usable tables file"):
        add_widening(tmp_path / "bad.json", key, w, {})
    assert path.read_bytes() == before


def test_collect_on_one_simulated_sequence_counts_pixels_with_neighbour_data(tmp_path):
    hist, sha = collect_z(1, progress=False)
    assert len(sha) == 64 and hist.shape == (4, 4, R_EDGES.size + 1)
    assert hist[0, 0].sum() > 1000
    # z is measured against the table of the file given (the one the factors go into), not the shipped one
    doc = json.loads((files("corkit_inpaint") / "data" / "error_tables.json").read_text())
    key = f"pconv-smooth@{sha}"
    doc["tables"][key]["k"] = (np.asarray(doc["tables"][key]["k"]) * 4.0).tolist()
    (tmp_path / "wider.json").write_text(json.dumps(doc))
    wider, _ = collect_z(1, progress=False, tables=tmp_path / "wider.json")
    assert wider.sum() == hist.sum()
    median = lambda h: R_EDGES[min(np.searchsorted(np.cumsum(h.sum((0, 1))), h.sum() / 2), R_EDGES.size - 1)]
    assert median(wider) < 0.4 * median(hist)


def test_cli_refuses_a_missing_file_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--tables", str(tmp_path / "none.json"), "--sequences", "1"])
    assert exc.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be read" in err[0]


def test_a_refitted_table_loses_its_widening_and_the_record_its_settings(tmp_path):
    """Factors fitted against a table do not fit its refit: `uncertainty.fit --add-to` drops both."""
    path = tmp_path / "tables.json"
    shutil.copy(files("corkit_inpaint") / "data" / "error_tables.json", path)
    doc = json.loads(path.read_text())
    key = next(k for k, t in doc["tables"].items() if "widen" in t)
    assert key in doc["fit"]["widen"]
    t = doc["tables"][key]
    meta = {k: doc["fit"][k] for k in SHARED_SETTINGS if k in doc["fit"]} | {"methods": [t["method"]]}
    write_tables({key: (t["method"], t["sha256"], Accumulator("near"))}, path, meta, add=True)
    after = json.loads(path.read_text())
    assert "widen" not in after["tables"][key] and key not in after["fit"]["widen"]
    assert all(k in after["fit"]["widen"] for k, t in after["tables"].items() if "widen" in t)
    assert parse_tables(after)[key].widen is None


def test_cli_records_the_source_it_fitted_with_not_the_one_after(tmp_path, monkeypatch):
    """The commit is taken before the fit (8 min): a tree changed meanwhile must not be recorded as the fit's."""
    import corkit_inpaint.provenance as provenance
    path = tmp_path / "tables.json"
    shutil.copy(files("corkit_inpaint") / "data" / "error_tables.json", path)
    sha = next(t["sha256"] for t in json.loads(path.read_text())["tables"].values() if "widen" in t)
    calls = []
    monkeypatch.setattr(provenance, "source_provenance", lambda: {"source_commit": f"after {len(calls)} fits"})
    monkeypatch.setattr(widen_fit, "collect_z", lambda n, **kw: (calls.append(n), (_hist(np.ones((4, 4))), sha))[1])
    assert main(["--tables", str(path), "--sequences", "1"]) == 0
    key = next(k for k, t in json.loads(path.read_text())["tables"].items() if t["sha256"] == sha)
    assert calls == [1] and json.loads(path.read_text())["fit"]["widen"][key]["source_commit"] == "after 0 fits"
