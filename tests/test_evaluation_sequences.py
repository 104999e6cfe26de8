"""Scoring with neighbours: the real C3 sequence and simulated sequences, three ways per method."""

from __future__ import annotations

import numpy as np
from helpers import C3_FULL, C3_SEQ

from corkit_inpaint.evaluation.report import summarise_zones
from corkit_inpaint.evaluation.sequences import cme_records, evaluate_sequence, evaluate_synthetic_sequences


def test_real_sequence_scores_each_method_three_ways(caplog):
    import logging
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint.evaluation.sequences"):
        recs = evaluate_sequence(C3_SEQ, ["ratio", "biharmonic"], rng=np.random.default_rng(0), repeats=1,
                                 other_day=C3_FULL, device="cpu", progress=False)
    # the frame of another day is beyond the 60-min gap: a fill leaves it out, and that is said once
    said = [r.getMessage() for r in caplog.records if "'(other day)' rows are fills from the frame before" in
            r.getMessage()]
    assert len(said) == 1 and str(C3_FULL) in said[0] and "--max-gap inf" in said[0]
    # only the middle frame has both neighbours; it is named by its path, as a single frame is (by its name,
    # two frames of one name from two folders shared their mask ids)
    assert {r["frame"] for r in recs} == {str(C3_SEQ[1])} and C3_SEQ[1].name == "32310944.fts"
    assert {r["method"] for r in recs} == {"ratio", "ratio (alone)", "ratio (other day)", "biharmonic"}
    used = {r["method"]: r["neighbours_used"] for r in recs}
    assert used["ratio"] == 2 and used["ratio (alone)"] == 0 and used["biharmonic"] == 0
    zones = summarise_zones(recs)
    for z, rows in zones.items():
        assert rows["ratio"]["vs_ratio"] == 1.0 and rows["ratio"]["vs_alone"] < 1.0, z
        assert rows["ratio (alone)"]["vs_best_classical"] == 1.0       # ratio alone is biharmonic
        assert (rows["ratio"]["vs_alone_ci90"] is not None) == (rows["ratio"]["masks"] >= 2)   # one mask: none


def test_synthetic_sequences_flag_their_cmes():
    recs = evaluate_synthetic_sequences(1, ["ratio", "biharmonic"], rng=np.random.default_rng(1),
                                        device="cpu", progress=False)
    assert {r["method"] for r in recs} == {"ratio", "ratio (alone)", "ratio (other day)", "biharmonic"}
    assert all("cme" in r for r in recs)
    assert cme_records(recs) == [r for r in recs if r["cme"]]


def test_a_file_that_is_neither_scored_nor_a_neighbour_is_named(caplog):
    """Battery s32: a frame of another kind among the sequence's files (or one too far from the others) was
    dropped without a word, though the JSON listed it among the files."""
    import logging

    from helpers import REAL
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint.evaluation.sequences"):
        recs = evaluate_sequence([C3_SEQ[0], REAL, *C3_SEQ[1:]], ["biharmonic"], rng=np.random.default_rng(0),
                                 repeats=1, progress=False)
    named = [r.getMessage() for r in caplog.records if "not scored and not read as a neighbour" in r.getMessage()]
    assert len(named) == 1 and str(REAL) in named[0]
    assert {r["frame"] for r in recs} == {str(C3_SEQ[1])}


def test_a_sequence_without_readable_times_says_so(tmp_path):
    """Battery s32: frames whose TIME-OBS could not be read gave only "no frame of the sequence has a neighbour"."""
    import warnings

    import pytest
    from astropy.io import fits

    from corkit_inpaint.exceptions import InputError
    files = []
    for p in C3_SEQ:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(p) as h:
                hdr = h[0].header.copy()
                hdr["TIME-OBS"], hdr["DATE-OBS"] = "noon", hdr["DATE-OBS"][:10]     # a day, and no time
                fits.PrimaryHDU(h[0].data, hdr).writeto(tmp_path / p.name, output_verify="ignore")
        files.append(tmp_path / p.name)
    with pytest.raises(InputError, match="3 of the 3 have no readable observation time") as ei:
        evaluate_sequence(files, ["biharmonic"], rng=np.random.default_rng(0), repeats=1, progress=False)
    assert str(files[0]) in str(ei.value) and "\n" not in str(ei.value)
    assert all(f.read_bytes() for f in files)


def test_a_copy_of_a_scored_frame_is_scored_once(tmp_path, caplog):
    """Review s33: with --neighbours a byte-identical copy of the middle frame was scored again, without a word."""
    import logging
    import shutil
    copy = tmp_path / "copy.fts"
    shutil.copyfile(C3_SEQ[1], copy)
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint.evaluation.sequences"):
        recs = evaluate_sequence([*C3_SEQ, copy], ["biharmonic"], rng=np.random.default_rng(0), repeats=1,
                                 progress=False)
    assert len({r["frame"] for r in recs}) == 1
    assert any("the same image as" in r.getMessage() and "scored once" in r.getMessage() for r in caplog.records)
