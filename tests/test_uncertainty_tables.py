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


@pytest.mark.parametrize("bad", [np.zeros(TABLE_SHAPE), np.ones((2, 2)), np.full(TABLE_SHAPE, np.nan)])
def test_a_bad_table_is_refused(tmp_path, bad):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"tables": {"m": {"method": "m", "k": bad.tolist()}}}))
    with pytest.raises(ValueError, match="error table 'm'"):
        load_tables(str(path))
