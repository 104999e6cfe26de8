"""Pairing: the nearest earlier and later frame of the same kind within the gap."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import C3_FULL, C3_SEQ, read_file, write

from corkit_inpaint.pairing import frame_info, neighbours_for, pair_neighbours


def names(pairs):
    return {k.name: [p.name for p in v] for k, v in pairs.items()}


def test_each_frame_gets_its_nearest_neighbours_of_the_same_kind():
    got = names(pair_neighbours([C3_SEQ[2], C3_FULL, C3_SEQ[0], C3_SEQ[1]]))
    assert got == {"32310945.fts": ["32310944.fts"], "c3_32219521.fts": [],
                   "32310943.fts": ["32310944.fts"], "32310944.fts": ["32310943.fts", "32310945.fts"]}
    assert names(pair_neighbours(C3_SEQ, max_gap=11.0)) == {p.name: [] for p in C3_SEQ}
    assert names(pair_neighbours(C3_SEQ, max_gap=13.0))["32310944.fts"] == ["32310943.fts", "32310945.fts"]


def test_another_filter_or_polarizer_is_not_a_neighbour(tmp_path):
    for key, val in (("FILTER", "Orange"), ("POLAR", "+60 Deg")):
        data, hdr = read_file(C3_SEQ[2])
        hdr[key] = val
        other = write(tmp_path / f"{key}.fts", data, hdr)
        got = pair_neighbours([C3_SEQ[0], C3_SEQ[1], other])
        assert [p.name for p in got[Path(C3_SEQ[1])]] == ["32310943.fts"]
        assert frame_info(other).kind != frame_info(C3_SEQ[1]).kind


def test_pool_frames_serve_as_neighbours_only():
    got = pair_neighbours([C3_SEQ[1]], pool=C3_SEQ)
    assert names(got) == {"32310944.fts": ["32310943.fts", "32310945.fts"]}


def test_unreadable_files_get_no_neighbours_and_break_nothing(tmp_path):
    bad = tmp_path / "bad.fts"
    bad.write_bytes(b"not fits")
    copy = tmp_path / "copy.fts"
    shutil.copy(C3_SEQ[0], copy)
    got = pair_neighbours([bad, copy, C3_SEQ[1]])
    assert got[bad] == [] and got[Path(C3_SEQ[1])] == [copy]


def test_neighbours_for_modes():
    assert names(neighbours_for(C3_SEQ, "none")) == {p.name: [] for p in C3_SEQ}
    assert names(neighbours_for(C3_SEQ, None)) == {p.name: [] for p in C3_SEQ}
    assert names(neighbours_for(C3_SEQ, "auto"))["32310944.fts"] == ["32310943.fts", "32310945.fts"]
    assert neighbours_for([C3_SEQ[1]], {str(C3_SEQ[1]): [C3_SEQ[0]]}) == {Path(C3_SEQ[1]): [Path(C3_SEQ[0])]}
    assert neighbours_for([C3_SEQ[1]], {str(C3_SEQ[1]): str(C3_SEQ[0])}) == {Path(C3_SEQ[1]): [Path(C3_SEQ[0])]}
    with pytest.raises(ValueError, match="auto"):
        neighbours_for(C3_SEQ, "nearest")
    with pytest.raises(ValueError, match="max_gap"):
        pair_neighbours(C3_SEQ, max_gap=float("nan"))


def test_a_level1_copy_is_never_chosen_as_a_neighbour(tmp_path):
    """A level-1 file of the same time and kind would be refused when read: the level-0.5 frame is chosen."""
    data, hdr = read_file(C3_SEQ[0])
    hdr["LEVEL"] = "1"
    l1 = write(tmp_path / "a_level1.fts", data, hdr)        # sorts before the level-0.5 frame
    got = pair_neighbours([C3_SEQ[1]], pool=[l1, C3_SEQ[0], C3_SEQ[2]])
    assert names(got) == {"32310944.fts": ["32310943.fts", "32310945.fts"]}
    assert frame_info(l1).kind == ()


@pytest.mark.parametrize("flaw", ["cut short", "EXPTIME 0", "fill without INPMASK", "none"])
def test_a_nearer_frame_that_cannot_serve_is_passed_over_for_the_next(tmp_path, caplog, flaw):
    """A frame 6 min before the target whose headers or size say it cannot be a neighbour gives way to the
    frame 12 min before; without a flaw the nearer frame is taken (so it is the nearest)."""
    import logging

    data, hdr = read_file(C3_SEQ[0])
    hdr["TIME-OBS"] = "18:36:05.382"           # 6 min before C3_SEQ[1] (18:42:05), 6 min after C3_SEQ[0]
    if flaw == "EXPTIME 0":
        hdr["EXPTIME"] = 0.0
    if flaw == "fill without INPMASK":
        hdr["INPAINT"], hdr["INPNPIX"] = "pconv-smooth", 1024
    near = write(tmp_path / "near.fts", data, hdr)
    if flaw == "cut short":
        blob = near.read_bytes()
        near.write_bytes(blob[:len(blob) // 2])
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = pair_neighbours([C3_SEQ[1]], pool=[near, C3_SEQ[0], C3_SEQ[2]])
    want = ["32310943.fts" if flaw != "none" else "near.fts", "32310945.fts"]
    assert names(got) == {"32310944.fts": want}
    assert ("near.fts not taken as a neighbour" in caplog.text) == (flaw != "none")
    if flaw == "cut short":
        assert "data are cut short (1054080 of" in caplog.text
    assert frame_info(C3_SEQ[0]).problem is None and (frame_info(near).problem is None) == (flaw == "none")
