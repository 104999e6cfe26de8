"""The ratio method on a real C3 sequence: better than biharmonic, honest provenance, biharmonic without neighbours."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import C3_SEQ, read_file, seq_blocks

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.fill import run_method
from corkit_inpaint.frame import Frame
from corkit_inpaint.register import register


@pytest.fixture(scope="module")
def case():
    (data, hdr), before, after = (read_file(p) for p in (C3_SEQ[1], C3_SEQ[0], C3_SEQ[2]))
    blocks = seq_blocks(data, hdr, 12, seed=3)
    hole = blocks_to_mask(data.shape, blocks)
    frame = Frame.build(np.where(hole, 0, data), hole, hdr)
    nbs = [register(*before, hdr, data.shape), register(*after, hdr, data.shape)]
    return data, hdr, hole, frame, nbs, before


def rmse(values, data, hdr, hole):
    return float(np.sqrt(np.mean(((values[hole] - data[hole]) / hdr["EXPTIME"]) ** 2)))


def test_ratio_beats_biharmonic_on_a_real_sequence(case):
    data, hdr, hole, frame, nbs, _ = case
    ratio = run_method("ratio", frame, neighbours=nbs)
    bih = run_method("biharmonic", frame)
    assert ratio.filled.sum() == hole.sum()
    assert rmse(ratio.values, data, hdr, hole) < 0.6 * rmse(bih.values, data, hdr, hole)
    assert ratio.provenance.neighbours == ("32310943.fts", "32310945.fts")
    assert ratio.provenance.neighbour_dt == pytest.approx((-720.092, 719.991))


def test_without_neighbours_it_is_biharmonic(case):
    _, _, _, frame, _, _ = case
    alone = run_method("ratio", frame)
    assert np.array_equal(alone.values, run_method("biharmonic", frame).values)
    assert alone.provenance.neighbours == ()


def test_a_neighbour_missing_the_same_blocks_is_not_named(case):
    data, hdr, hole, frame, nbs, before = case
    blind = register(np.where(hole, 0, before[0]), before[1], hdr, data.shape)   # lost the same blocks
    res = run_method("ratio", frame, neighbours=[blind, nbs[1]])
    assert res.provenance.neighbours == ("32310945.fts",)
    only_blind = run_method("ratio", frame, neighbours=[blind])
    assert only_blind.provenance.neighbours == ()
    assert np.array_equal(only_blind.values, run_method("biharmonic", frame).values)


def test_a_ratio_fill_with_no_neighbour_says_it_is_biharmonic(tmp_path, case, capsys, caplog):
    """``--method ratio`` with no neighbouring frame (none paired, or none with data on the holes) silently
    wrote biharmonic's fill as ``INPAINT = 'ratio'``; now a warning and HISTORY say so, and the file is written."""
    import logging

    from astropy.io import fits
    from helpers import write

    import corkit_inpaint as ci
    from corkit_inpaint.cli import main
    data, hdr, hole, _, _, before = case
    src = write(tmp_path / "32310944.fts", np.where(hole, 0, data), hdr)
    out = tmp_path / "alone.fts"
    assert main(["fill", str(src), "-o", str(out), "--method", "ratio", "--neighbours", "none"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "method 'ratio'" in line]
    assert len(err) == 1 and "no neighbouring frame: its fill is the biharmonic fill" in err[0]
    with fits.open(out) as h:
        assert h[0].header["INPAINT"] == "ratio" and h[0].header["INPNNB"] == 0
        assert "its fill is the biharmonic fill" in " ".join(h[0].header["HISTORY"]).replace("  ", " ")
    blind = write(tmp_path / "32310943.fts", np.where(hole, 0, before[0]), before[1])      # lost the same blocks
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        ci.inpaint_fits(src, tmp_path / "blind.fts", method="ratio", neighbours=[blind])
    assert caplog.text.count("no neighbouring frame with data on the missing pixels") == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        ci.inpaint_fits(src, tmp_path / "helped.fts", method="ratio", neighbours=[C3_SEQ[0]])
    assert "method 'ratio' had" not in caplog.text
