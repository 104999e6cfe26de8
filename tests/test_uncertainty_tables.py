"""The error tables: loading, checking, and the sigma they give in the image's unit."""

import json

import numpy as np
import pytest
from helpers import BLANK, blank, read_real

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.network.registry import default_model_name, model_entry
from corkit_inpaint.uncertainty.features import TABLE_SHAPE, pixel_features
from corkit_inpaint.uncertainty.tables import fill_sigma, load_tables, table_for, to_linear


def _frame():
    data, hdr = read_real()
    mask = blocks_to_mask(data.shape, BLANK)
    return Frame.build(blank(data, BLANK).astype(float), mask, hdr), mask, data


def test_to_linear_is_the_half_width_of_the_unstretched_interval():
    frame, mask, data = _frame()
    values = data.astype(float)
    s = np.full(int(mask.sum()), 0.3)
    out = to_linear(frame, values, mask, s)
    st = frame.stretch
    z = st.forward(values[mask])
    assert np.allclose(out[mask], 0.5 * (st.inverse(z + 0.3) - st.inverse(z - 0.3)), rtol=1e-12)
    assert np.all(out[~mask] == 0)
    # to first order, the derivative of the inverse stretch times s
    d = np.cosh(z) * st.exptime * st.softening * 0.3
    assert np.allclose(out[mask], d, rtol=0.02)


def test_shipped_tables_cover_the_default_model_and_the_classical_methods():
    tables = load_tables()
    for m in ("biharmonic", "fuzzy", "ratio"):
        assert table_for(m) is not None
        assert tables[m].k.shape == TABLE_SHAPE and np.all(tables[m].k > 0)
    assert table_for("pconv-smooth", model_entry(default_model_name())["sha256"]) is not None
    assert table_for("pconv-smooth", "0" * 64) is None
    assert table_for("no-such-method") is None


def test_fill_sigma_is_the_table_times_the_noise(tmp_path):
    frame, mask, data = _frame()
    k = np.full(TABLE_SHAPE, 2.0)
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"tables": {"m": {"method": "m", "k": k.tolist()}}}))
    t = load_tables(str(path))["m"]
    f = pixel_features(frame, mask)
    assert np.all(f.spread >= 0) and np.all(f.cap > 0)
    assert np.allclose(t.stretched(f), np.minimum(2.0 * np.hypot(f.noise, f.spread), f.cap))
    # the fill itself widens the spread where it leaves the guides' range
    far = data.astype(float) * 3.0
    g = pixel_features(frame, mask, values=far)
    assert np.all(g.spread >= f.spread) and np.any(g.spread > f.spread)
    assert fill_sigma("not-fitted", frame, data.astype(float), mask) is None
    # a table that measures the spread without the guide farthest from the fill reads that spread
    near = tmp_path / "near.json"             # another file: load_tables keeps what it read by path
    near.write_text(json.dumps({"tables": {"m": {"method": "m", "spread": "near", "k": k.tolist()}}}))
    t = load_tables(str(near))["m"]
    assert t.spread == "near" and load_tables(str(path))["m"].spread == "range"
    assert np.allclose(t.stretched(g), np.minimum(2.0 * np.hypot(g.noise, g.near), g.cap))
    assert np.all(g.near <= g.spread) and np.any(g.near < g.spread)


def test_the_default_models_table_measures_the_spread_without_the_farthest_guide():
    """Since 0.1.18 (docs/spread_2026-12-06.json); the other tables keep the whole range."""
    tables = load_tables()
    default = table_for("pconv-smooth", model_entry(default_model_name())["sha256"])
    assert default.spread == "near"
    assert {t.spread for key, t in tables.items() if t is not default} == {"range"}



def test_the_shipped_tables_were_fitted_as_the_recipes_say():
    """Since 0.1.19 on sequence version 5 (docs/tables_v5_2026-12-06.json): the shipped file's fit settings are
    those of every ``uncertainty.fit`` command in weights/train_default.sh and weights/train_fourier.sh, and each
    of its tables is one those commands fit."""
    import re
    from importlib.resources import files
    from pathlib import Path
    doc = json.loads((files("corkit_inpaint") / "data" / "error_tables.json").read_text())
    fit = doc["fit"]
    weights = Path(__file__).parent.parent / "weights"
    text = "".join((weights / n).read_text() for n in ("train_default.sh", "train_fourier.sh"))
    commands = [c for c in text.replace("\\\n", " ").splitlines() if "uncertainty.fit" in c]
    assert len(commands) == 5
    for c in commands:
        assert re.search(r"--sequence-version (\S+)", c).group(1) == fit["sequence_version"] == "5", c
        assert "--frames-from sequence" in c and fit["frames_from"] == "sequence"
        assert re.search(r"--frames (\d+)", c).group(1) == str(fit["frames"])
    named = {m: model_entry(m)["sha256"] for m in re.findall(r"--weights (\S+)", text)}
    fitted = {(t["method"], t.get("sha256", ""), t.get("spread", "range")) for t in doc["tables"].values()}
    default = model_entry(default_model_name())["sha256"]
    assert fitted == ({("pconv-smooth", sha, "range") for m, sha in named.items() if m != default_model_name()}
                      | {("pconv-smooth", default, "near")}            # the last command's, in place of the first's
                      | {(m, "", "range") for m in ("biharmonic", "fuzzy", "ratio")})


GOOD = np.ones(TABLE_SHAPE).tolist()


@pytest.mark.parametrize("doc, why", [
    ({"tables": {"m": {"method": "m", "k": np.zeros(TABLE_SHAPE).tolist()}}}, "not finite numbers >= "),
    ({"tables": {"m": {"method": "m", "k": np.full(TABLE_SHAPE, 1e-300).tolist()}}}, "not finite numbers >= "),
    ({"tables": {"m": {"method": "m", "k": [[1.0, 2.0]]}}}, "has shape (1, 2)"),
    ({"tables": {"m": {"method": "m", "k": "1"}}}, "has shape ()"),
    ({"tables": {"m": {"method": "m", "k": [[1.0], [1.0, 2.0]]}}}, "not an array of numbers"),
    ({"tables": {"m": {"method": "other", "k": GOOD}}}, "keyed unlike its method"),
    ({"tables": {"m": {"method": "m", "sha256": {}, "k": GOOD}}}, "keyed unlike its method"),
    ({"tables": {"m": {"k": GOOD}}}, "has no 'method' and 'k'"),
    ({"tables": {"m": {"method": "m", "spread": "widest", "k": GOOD}}}, "spread 'widest' is not one of range, near"),
    ({"tables": {"m": {"method": "m", "spread": ["near"], "k": GOOD}}}, "spread ['near'] is not one of"),
    ({"tables": [1, 2]}, "no 'tables' mapping"), ([1, 2], "no 'tables' mapping"), ({}, "no 'tables' mapping"),
])
def test_a_bad_tables_file_is_one_line_naming_it(tmp_path, doc, why):
    """Review s15: a malformed file gave AttributeError, KeyError or TypeError tracebacks from the fill."""
    from corkit_inpaint.exceptions import WeightsError
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(WeightsError) as exc:
        load_tables(str(path))
    assert str(path) in str(exc.value) and why in str(exc.value) and len(str(exc.value).splitlines()) == 1


@pytest.mark.parametrize("text", ["", '{"tables": {"m": ', "[" * 100_000, "\ufeff\x00"])
def test_an_unreadable_tables_file_is_one_line_naming_it(tmp_path, text):
    from corkit_inpaint.exceptions import WeightsError
    path = tmp_path / "t.json"
    path.write_text(text, encoding="utf-16" if "\x00" in text else "utf-8")
    with pytest.raises(WeightsError, match="not a usable error-tables file"):
        load_tables(str(path))
    good = tmp_path / "good.json"
    low = np.full(TABLE_SHAPE, 1e-3 / np.sqrt(1.06)).tolist()      # about the fit's lowest value (review s15)
    good.write_text(json.dumps({"tables": {"m": {"method": "m", "k": GOOD}, "low": {"method": "low", "k": low}}}))
    assert set(load_tables(str(good))) == {"m", "low"}


def test_a_table_of_one_zone_axis_for_both_detectors_gives_the_sigma_it_gave(tmp_path):
    """Tables before 0.1.13 (format 2) had one cell per zone for C2 and C3 together: they load with each zone's
    values for each detector, so a fill's sigma is what it was; the same shape in a format-3 file is refused."""
    from corkit_inpaint.exceptions import WeightsError
    from corkit_inpaint.uncertainty.tables import POOLED_SHAPE
    rng = np.random.default_rng(3)
    old = rng.uniform(0.5, 2.0, POOLED_SHAPE)
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"format": 2, "tables": {"m": {"method": "m", "k": old.tolist()}}}))
    k = load_tables(str(path))["m"].k
    assert k.shape == TABLE_SHAPE
    for det in range(2):
        assert np.array_equal(k[:, 3 * det:3 * det + 3], old[:, :3])
    assert np.array_equal(k[:, 6], old[:, 3])
    frame, mask, _ = _frame()                               # a C2 frame: its cells are the old zone cells
    f = pixel_features(frame, mask)
    flat = np.ravel_multi_index((f.neighbour.astype(int), np.where(f.zone < 3, f.zone, 3), *np.unravel_index(
        f.cells(), TABLE_SHAPE)[2:]), POOLED_SHAPE)
    assert np.allclose(load_tables(str(path))["m"].stretched(f), np.minimum(old.ravel()[flat] * f.unit, f.cap))
    new = tmp_path / "t3.json"                              # (load_tables remembers a path's tables)
    new.write_text(json.dumps({"format": 3, "tables": {"m": {"method": "m", "k": old.tolist()}}}))
    with pytest.raises(WeightsError, match=r"has shape \(2, 4, 8, 4\), not \(2, 7, 8, 4\)"):
        load_tables(str(new))


@pytest.mark.parametrize(("fmt", "shape", "why"), [
    (99, TABLE_SHAPE, "format 99: this version reads formats 2 and 3"),
    ("2", (2, 4, 8, 4), "format '2': this version reads formats 2 and 3"),
    (True, TABLE_SHAPE, "format True"),
    (2, TABLE_SHAPE, "has shape (2, 7, 8, 4), not (2, 4, 8, 4) (format 2)"),
    (None, (2, 4, 8, 4), "has shape (2, 4, 8, 4), not (2, 7, 8, 4) (format 3)"),
])
def test_a_tables_file_of_another_format_or_of_mixed_shapes_is_refused(tmp_path, fmt, shape, why):
    """Review: any format but 2 was read as format 3, and a format-2 file could mix both shapes."""
    from corkit_inpaint.exceptions import WeightsError
    doc = {"tables": {"m": {"method": "m", "k": np.ones(shape).tolist()}}}
    if fmt is not None:
        doc["format"] = fmt
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(WeightsError) as exc:
        load_tables(str(path))
    assert why in str(exc.value)
