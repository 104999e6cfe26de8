"""`corkit_inpaint.uncertainty.widen`: a neighbour fill's sigma widened where the neighbours disagree."""

import json
from dataclasses import replace
from importlib.resources import files

import numpy as np
import pytest
from helpers import C3_SEQ, blocks_on_arc, read_file, with_front

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.exceptions import WeightsError
from corkit_inpaint.frame import Frame
from corkit_inpaint.match import neighbour_estimate
from corkit_inpaint.methods import pconv
from corkit_inpaint.methods.pconv import PCONV, PCONV_SMOOTH, SMOOTH_TABLE
from corkit_inpaint.network.windows import frame_windows
from corkit_inpaint.register import register_all
from corkit_inpaint.stretch import noise_sigma
from corkit_inpaint.uncertainty.features import PixelFeatures, neighbour_cover, pixel_features
from corkit_inpaint.uncertainty.tables import load_tables, parse_tables, table_for
from corkit_inpaint.uncertainty.widen import (
    DISAGREE_EDGES,
    MISFIT_EDGES,
    Widening,
    monotone,
    parse_widening,
    widened_note,
)

SHAPE = (len(MISFIT_EDGES) - 1, len(DISAGREE_EDGES) - 1)


def features(misfit, disagree, neighbour):
    n = len(misfit)
    return PixelFeatures(np.ones(n, dtype=bool), np.zeros(n, dtype=int), np.ones(n), np.ones(n), np.zeros(n),
                         np.full(n, np.inf), np.asarray(neighbour), "C3", misfit=np.asarray(misfit, dtype=float),
                         disagree=np.asarray(disagree, dtype=float))


def test_monotone_is_one_first_and_never_smaller_farther_out():
    f = np.array([[0.9, 1.3, np.nan, 1.1], [1.2, 0.5, 2.0, np.nan], [np.nan] * 4, [1.0, 1.0, 1.0, 5.0]])
    m = monotone(f)
    assert m[0, 0] == 1.0 and np.all(m >= 1.0)
    assert np.all(np.diff(m, axis=0) >= 0) and np.all(np.diff(m, axis=1) >= 0)
    assert m[0, 1] == 1.3 and m[1, 1] == 1.3 and m[1, 2] == 2.0 and m[3, 3] == 5.0
    assert np.array_equal(monotone(m), m)


def test_factor_of_each_pixel_by_its_cell_only_where_a_neighbour_had_data():
    f = np.arange(1, 17, dtype=float).reshape(SHAPE)
    w = Widening(monotone(f))
    got = w.of(features([0.0, 1.49, 1.5, 7.0, 100.0, 7.0], [0.0, 3.0, 0.2, 6.0, 1.0, 9.0],
                        [True, True, True, True, True, False]))
    assert got.tolist() == [1.0, 3.0, 5.0, 16.0, 13.0, 1.0]
    no_guides = PixelFeatures(np.ones(2, dtype=bool), np.zeros(2, dtype=int), np.ones(2), np.ones(2), np.zeros(2),
                              np.ones(2), np.ones(2, dtype=bool))
    assert w.of(no_guides).tolist() == [1.0, 1.0]


def test_json_round_trip_and_refusals():
    w = Widening(monotone(np.linspace(1, 3, 16).reshape(SHAPE)), np.full(SHAPE, 500))
    doc = w.to_json()
    back = parse_widening(json.loads(json.dumps(doc)))
    assert np.allclose(back.factor, w.factor, atol=1e-4) and back.pixels.tolist() == w.pixels.tolist()
    bad = [({**doc, "misfit_edges": [1.0, 2.0, 4.0]}, "misfit_edges"),
           ({**doc, "disagree_edges": None}, "disagree_edges"),
           ({**doc, "factor": [[1.0, 2.0]]}, "shape"),
           ({**doc, "factor": [["a"] * 4] * 4}, "numbers"),
           ({**doc, "factor": (np.ones(SHAPE) * 0.5).tolist()}, "1 in the first cell"),
           ({**doc, "factor": np.where(np.eye(4) > 0, 2.0, 1.0).tolist()}, "never smaller"),
           ({**doc, "factor": np.full(SHAPE, np.nan).tolist()}, "finite"),
           ({**doc, "pixels": [[1, 2]]}, "pixels"),
           ({**doc, "factor": [[1.0] + [10 ** 400] * 3] * 4}, "numbers"),      # beyond any float
           ({**doc, "factor": [["1", "2", "2", "2"]] * 4}, "numbers"),
           ({**doc, "factor": [[True] * 4] * 4}, "numbers"),
           ({**doc, "pixels": np.full(SHAPE, 2.5).tolist()}, "whole numbers"),
           ({**doc, "pixels": np.full(SHAPE, -1).tolist()}, "whole numbers"),
           ({**doc, "pixels": np.full(SHAPE, 2 ** 63 + 1).tolist()}, "whole numbers"),
           ("widen", "mapping")]
    for d, text in bad:
        with pytest.raises(ValueError, match=text):
            parse_widening(d)


def test_a_tables_file_with_a_bad_widening_is_refused_naming_its_table():
    table = {"method": "ratio", "sha256": "", "k": np.ones((2, 7, 8, 4)).tolist(),
             "widen": {"misfit_edges": [1.5, 3.0, 6.0], "disagree_edges": [1.5, 3.0, 6.0],
                       "factor": np.full(SHAPE, 0.5).tolist()}}
    with pytest.raises(ValueError, match="table 'ratio'"):
        parse_tables({"format": 3, "tables": {"ratio": table}})
    table["widen"]["factor"] = np.ones(SHAPE).tolist()
    assert parse_tables({"format": 3, "tables": {"ratio": table}})["ratio"].widen is not None


@pytest.mark.parametrize("where", ["widen", "k"])
def test_the_loader_refuses_a_number_beyond_any_float_in_one_line(tmp_path, where):
    doc = json.loads((files("corkit_inpaint") / "data" / "error_tables.json").read_text())
    key = next(k for k, t in doc["tables"].items() if "widen" in t)
    if where == "widen":
        doc["tables"][key]["widen"]["factor"][3][3] = 10 ** 400
    else:
        doc["tables"][key]["k"][0][0][0][0] = 10 ** 400
    path = tmp_path / "tables.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(WeightsError, match="not a usable error-tables file") as exc:
        load_tables(str(path))
    assert key in str(exc.value) and "\n" not in str(exc.value)


def test_what_the_widening_did_is_counted_after_the_cap():
    """HISTORY counts the pixels whose sigma the widening really raised: not those the cap held both ways."""
    from corkit_inpaint.uncertainty.features import TABLE_SHAPE
    from corkit_inpaint.uncertainty.tables import ErrorTable
    table = ErrorTable("x", "", np.ones(TABLE_SHAPE), "range", Widening(monotone(np.full(SHAPE, 2.0))))
    f = features([0.0, 2.0, 2.0, 2.0], [0.0, 0.0, 0.0, 0.0], [True, True, True, False])
    f = PixelFeatures(f.pixels, f.zone, f.dist, f.noise, f.spread, np.array([5.0, 5.0, 0.5, 5.0]), f.neighbour,
                      "C3", misfit=f.misfit, disagree=f.disagree)
    assert table.widening(f).tolist() == [1.0, 2.0, 2.0, 1.0]
    assert table.widened_by(f).tolist() == [1.0, 2.0, 1.0, 1.0]        # the third: capped at 0.5 both ways
    assert widened_note(table.widened_by(f)).startswith("1-sigma of 1 pixels widened (x2.00 to x2.00)")


def test_widened_note():
    assert widened_note(np.ones(5)) == ""
    note = widened_note(np.array([1.0, 1.5, 2.25, 1.0]))
    assert note.startswith("1-sigma of 2 pixels widened (x1.50 to x2.25)")


@pytest.fixture(scope="module")
def front():
    """The real C3 sequence with a front moving 25 px per frame, blocks of the middle frame on it blanked:
    ``(frame, registered neighbours, truth)``."""
    frames = [read_file(p) for p in C3_SEQ]
    hdr = frames[1][1]
    moved, truth, centre = with_front(frames)
    blocks = blocks_on_arc(centre, 325)
    mask = blocks_to_mask(truth.shape, blocks)
    test = truth.copy()
    test[mask] = 0
    frame = Frame.build(test, mask, hdr)
    return frame, register_all([moved[0], moved[2]], hdr, truth.shape), truth


def test_real_sequence_with_a_moving_front_widens_where_the_neighbours_disagree(front):
    """The fill's sigma on the front is the table's times the factors (values unchanged), and holds more of
    the true pixels than the table's alone."""
    frame, nbs, truth = front
    res = replace(PCONV_SMOOTH, ring_check=False).fill(frame, neighbours=nbs, device="cpu")    # the neighbours' fill
    assert "widened" in res.how
    table = table_for(SMOOTH_TABLE, res.provenance.sha256)
    assert table.widen is not None
    feats = pixel_features(frame, res.filled, neighbour_cover(frame, nbs), frame_windows(frame, nbs)[:2],
                           res.values)
    factor = table.widening(feats)
    assert (factor > 1).mean() > 0.5
    base = table.k.ravel()[feats.cells(table.spread)] * feats.unit_of(table.spread)
    st = frame.stretch
    z = st.forward(res.values[res.filled])
    linear = lambda s: 0.5 * (st.inverse(z + s) - st.inverse(z - s))
    assert np.allclose(res.sigma[res.filled], linear(np.minimum(base * factor, feats.cap)), rtol=1e-9)
    plain_lin = linear(np.minimum(base, feats.cap))
    err = np.abs(res.values[res.filled] - truth[res.filled])
    within = lambda s: float(np.mean(err < s))
    assert within(res.sigma[res.filled]) > within(plain_lin) + 0.05


def test_misfit_and_disagreement_are_the_neighbours_over_the_window_noise(front):
    """`PixelFeatures.misfit` and ``disagree`` are the neighbour estimate's misfit and the neighbours' spread
    (`corkit_inpaint.match.neighbour_estimate`, as stretched widths about the estimate) over the window's
    own noise, each pixel from the window that fills it."""
    frame, nbs, _ = front
    windows, owned, _ = frame_windows(frame, nbs)
    feats = pixel_features(frame, frame.missing, neighbour_cover(frame, nbs), (windows, owned))
    got = np.zeros((2, *frame.shape))
    got.reshape(2, -1)[:, np.flatnonzero(frame.missing)] = feats.misfit, feats.disagree
    fwd = frame.stretch.forward
    for w, mine in zip(windows, owned):
        y0, y1, x0, x1 = w.box
        e = neighbour_estimate(frame, nbs, w.box, weighting="misfit", despike=True, only_used=True)
        noise = noise_sigma(frame.stretched[y0:y1, x0:x1].astype(np.float64), frame.valid[y0:y1, x0:x1])
        for g, width in zip(got, (e.misfit, e.spread)):
            want = np.where(e.count > 0, (fwd(e.values + 0.5 * width) - fwd(e.values - 0.5 * width)) / noise, 0.0)
            assert np.allclose(g[y0:y1, x0:x1][mine], want[mine], rtol=1e-5, atol=1e-6)
    assert feats.misfit.max() > 3.0 and feats.disagree.max() > 6.0       # the front reaches the far cells


def test_textured_fill_draws_the_tables_own_sigma_and_says_the_widened_one(front, monkeypatch):
    """``pconv``'s texture is not widened (its values are those without any widening, as before 0.1.22); its
    sigma is the root sum of squares of the widened sigma and the draw's."""
    frame, nbs, _ = front
    textured = replace(PCONV, ring_check=False)                             # the neighbours' fill everywhere
    res = textured.fill(frame, neighbours=nbs, device="cpu")
    shipped = pconv.table_for
    monkeypatch.setattr(pconv, "table_for", lambda m, sha: replace(shipped(m, sha), widen=None))
    plain = textured.fill(frame, neighbours=nbs, device="cpu")
    f = res.filled
    assert "widened" in res.how and "widened" not in plain.how
    assert np.array_equal(res.values, plain.values)
    wide = res.sigma[f] > plain.sigma[f] * (1 + 1e-6)
    assert wide.mean() > 0.5 and np.all(res.sigma[f] >= plain.sigma[f] * (1 - 1e-9))
    assert np.all(res.sigma[f] <= plain.sigma[f] * 7.5 * (1 + 1e-6))
