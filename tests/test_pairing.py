"""Pairing: the nearest earlier and later frame of the same kind within the gap."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from helpers import C3_FULL, C3_SEQ, blank, read_file, write

from corkit_inpaint.exceptions import InputError
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
    # review: a key written otherwise than the file (relative against absolute, a link) gave no neighbours, silently
    rel = Path(os.path.relpath(C3_SEQ[1]))
    assert neighbours_for([rel], {str(Path(C3_SEQ[1]).resolve()): [C3_SEQ[0]]}) == {rel: [Path(C3_SEQ[0])]}
    assert neighbours_for([Path(C3_SEQ[1]).resolve()], {str(rel): [C3_SEQ[0]]})[Path(C3_SEQ[1]).resolve()] == [
        Path(C3_SEQ[0])]
    with pytest.raises(ValueError, match="auto"):
        neighbours_for(C3_SEQ, "nearest")
    with pytest.raises(ValueError, match="max_gap"):
        pair_neighbours(C3_SEQ, max_gap=float("nan"))


@pytest.mark.parametrize("key, value", [("LEVEL", "1"), ("INSTRUME", "EIT")])
def test_a_level1_copy_is_never_chosen_as_a_neighbour(tmp_path, key, value):
    """A level-1 file (or one of another instrument) of the same time and kind would be refused when read: the
    level-0.5 frame is chosen."""
    data, hdr = read_file(C3_SEQ[0])
    hdr[key] = value
    l1 = write(tmp_path / "a_level1.fts", data, hdr)        # sorts before the level-0.5 frame
    got = pair_neighbours([C3_SEQ[1]], pool=[l1, C3_SEQ[0], C3_SEQ[2]])
    assert names(got) == {"32310944.fts": ["32310943.fts", "32310945.fts"]}
    assert frame_info(l1).kind == ()


@pytest.mark.parametrize("flaw", ["cut short", "INPMASK cut short", "EXPTIME 0", "fill without INPMASK", "resampled",
                                  "none"])
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
    if flaw == "resampled":                    # review s37: chosen, then left out when read
        hdr["CDELT1"] = hdr["CDELT2"] = 112.0
    near = write(tmp_path / "near.fts", data, hdr)
    if flaw == "cut short":
        blob = near.read_bytes()
        near.write_bytes(blob[:len(blob) // 2])
    if flaw == "INPMASK cut short":               # a fill's output copied in part: its INPMASK ends early
        from corkit_inpaint import inpaint_fits
        full = tmp_path / "filled.fts"
        inpaint_fits(write(tmp_path / "holes.fts", blank(data, [(10, 10)]), hdr), full, method="biharmonic")
        with fits.open(full) as h:
            cut = h.fileinfo(1)["datLoc"] + 1000
        near.write_bytes(full.read_bytes()[:cut])
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = pair_neighbours([C3_SEQ[1]], pool=[near, C3_SEQ[0], C3_SEQ[2]])
    want = ["32310943.fts" if flaw != "none" else "near.fts", "32310945.fts"]
    assert names(got) == {"32310944.fts": want}
    assert ("near.fts passed over as a neighbour of 32310944.fts (" in caplog.text) == (flaw != "none")
    if flaw == "cut short":
        assert "its image data are cut short (1054080 of" in caplog.text
    if flaw == "INPMASK cut short":
        assert "its INPMASK data are cut short" in caplog.text
    assert frame_info(C3_SEQ[0]).problem is None and (frame_info(near).problem is None) == (flaw == "none")


@pytest.mark.parametrize("key, value, what", [("LAMP", 1, "lamp"), ("LP_NUM", "Cal Lamp", "lamp"),
                                             ("LP_NUM", "Dark", "dark")])
def test_lamp_and_dark_frames_are_no_neighbours_of_the_corona_nor_it_of_them(tmp_path, key, value, what):
    """Battery s37: a calibration-lamp frame of the same detector, filter and polarizer was taken as the nearest
    neighbour, ahead of a frame of the corona 12 min farther; review s37: a lamp or dark frame to fill was given
    frames of the corona."""
    from corkit_inpaint.header import exposure
    data, hdr = read_file(C3_SEQ[0])
    assert exposure(hdr) == "corona"
    hdr["TIME-OBS"] = "18:36:05.382"           # 6 min before C3_SEQ[1] (18:42:05), 6 min after C3_SEQ[0]
    hdr[key] = value
    assert exposure(hdr) == what
    odd = write(tmp_path / "odd.fts", data, hdr)
    got = names(pair_neighbours([C3_SEQ[1], odd], pool=[C3_SEQ[0], C3_SEQ[2]]))
    assert got == {"32310944.fts": ["32310943.fts", "32310945.fts"], "odd.fts": []}


def test_a_frame_passed_over_is_warned_of_once_naming_every_target(tmp_path, caplog):
    """A broken frame between two targets, nearest to both: one warning names both, and each takes the next."""
    import logging

    data, hdr = read_file(C3_SEQ[0])
    hdr["TIME-OBS"] = "18:36:05.382"           # 6 min after C3_SEQ[0], 6 min before C3_SEQ[1]
    hdr["EXPTIME"] = 0.0
    bad = write(tmp_path / "bad.fts", data, hdr)
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = pair_neighbours([C3_SEQ[0], C3_SEQ[1]], pool=[bad, C3_SEQ[2]])
    assert names(got) == {"32310943.fts": ["32310944.fts"], "32310944.fts": ["32310943.fts", "32310945.fts"]}
    warned = [r.getMessage() for r in caplog.records if "passed over" in r.getMessage()]
    assert len(warned) == 1 and "neighbour of 32310943.fts, 32310944.fts (" in warned[0]


def test_tile_compressed_frames_are_paired(tmp_path):
    """fpack (tile-compressed) frames: their table is smaller than the image, and that is not a cut."""
    paths = []
    for src in C3_SEQ:
        d, h = read_file(src)
        h = fits.Header([c for c in h.cards if all(32 <= ord(ch) < 127 for ch in str(c.value))])
        paths.append(tmp_path / (src.stem + ".fits.fz"))
        fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(d, h, compression_type="RICE_1")]).writeto(
            paths[-1], output_verify="ignore")
    assert all(frame_info(p).problem is None for p in paths)
    assert names(pair_neighbours(paths))["32310944.fits.fz"] == ["32310943.fits.fz", "32310945.fits.fz"]


def test_frames_whose_image_extension_inherits_the_primary_keywords_are_paired(tmp_path):
    """DATE-OBS, DETECTOR, ... in the primary header only: pairing reads them as reading the file does."""
    paths = []
    for src in C3_SEQ[:3]:
        d, h = read_file(src)
        h = fits.Header([c for c in h.cards if all(32 <= ord(ch) < 127 for ch in str(c.value))])
        prim = fits.PrimaryHDU(header=fits.Header([c for c in h.cards if not c.keyword.startswith("NAXIS")
                                                   and c.keyword not in ("BITPIX", "SIMPLE", "EXTEND")]))
        paths.append(tmp_path / src.name)
        fits.HDUList([prim, fits.ImageHDU(d)]).writeto(paths[-1], output_verify="ignore")
    assert names(pair_neighbours(paths))["32310944.fts"] == ["32310943.fts", "32310945.fts"]


def test_max_gap_none_or_inf_pairs_at_any_distance_and_bad_ones_are_one_line():
    for gap in (None, float("inf")):
        assert names(pair_neighbours([C3_SEQ[0], C3_FULL], max_gap=gap))["32310943.fts"] == ["c3_32219521.fts"]
    for bad in (-1, float("nan"), "60", True):
        with pytest.raises(ValueError, match="max_gap") as ei:
            neighbours_for(C3_SEQ, "none", max_gap=bad)
        assert "\n" not in str(ei.value)


def test_a_pool_file_whose_header_is_refused_is_warned_of(tmp_path, caplog):
    """A pool file is named on purpose: dropping it says so at WARNING, not DEBUG (review s13b, N3)."""
    import logging

    data, hdr = read_file(C3_SEQ[0])
    bad = write(tmp_path / "bad.fts", data, hdr)
    raw = bad.read_bytes()
    i = raw.index(b"EXPTIME =")
    bad.write_bytes(raw[:i] + f"{'EXPTIME =':<10}{'NAN':>20}".ljust(80).encode() + raw[i + 80:])
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = pair_neighbours([C3_SEQ[1]], pool=[bad, C3_SEQ[2]])
    assert names(got) == {"32310944.fts": ["32310945.fts"]}
    assert "bad.fts: not used as a neighbour (" in caplog.text and "EXPTIME" in caplog.text


def test_a_pool_file_with_no_time_is_warned_of(tmp_path, caplog):
    """A pool file whose DATE-OBS cannot be read was dropped at INFO (battery h1, 2026-12-07): it is named on
    purpose, so it says so at WARNING; a file to fill with no time stays at INFO."""
    data, hdr = read_file(C3_SEQ[0])
    hdr["DATE-OBS"] = "not a date"
    if "TIME-OBS" in hdr:
        del hdr["TIME-OBS"]
    bad = write(tmp_path / "timeless.fts", data, hdr)
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = pair_neighbours([C3_SEQ[1]], pool=[bad, C3_SEQ[2]])
    assert names(got) == {"32310944.fts": ["32310945.fts"]}
    assert "neighbour pool " in caplog.text and "timeless.fts: no observation time" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        pair_neighbours([bad, C3_SEQ[2]])
    assert "timeless.fts" not in caplog.text


def test_a_pool_file_that_serves_no_file_is_warned_of(caplog):
    """Battery s34: pool files that could pair with none of the files (another detector, or farther than the
    frames chosen) were dropped without a word, even with -vv; the API's ``neighbours=`` says so of each."""
    from helpers import C2_FULL
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = pair_neighbours([C3_SEQ[1]], pool=[C2_FULL, C3_FULL, C3_SEQ[0], C3_SEQ[2]], max_gap=None)
    assert names(got) == {"32310944.fts": ["32310943.fts", "32310945.fts"]}
    said = [r.getMessage() for r in caplog.records if "nearest frame of its kind" in r.getMessage()]
    assert [m.split(": ")[0] for m in said] == [f"neighbour pool {C2_FULL}, {C3_FULL}"]      # once for the pool
    with pytest.raises(InputError, match="neighbour pool /dev/zero: not a regular file"):
        pair_neighbours([C3_SEQ[1]], pool=["/dev/zero"])


def test_a_bad_neighbours_option_is_an_input_error():
    """It was a plain ValueError, outside the package's errors (review s13b)."""
    from corkit_inpaint.exceptions import CorkitInpaintError
    with pytest.raises(CorkitInpaintError, match="neighbours = 'bogus'"):
        neighbours_for(C3_SEQ, "bogus")


def test_a_pool_without_auto_pairing_is_an_input_error():
    """Battery s37: ``--neighbour-pool`` with ``--neighbours none`` was ignored without a word."""
    for how in ("none", None, {str(C3_SEQ[1]): [C3_SEQ[0]]}):
        with pytest.raises(InputError, match="^a neighbour pool is read only with neighbours 'auto', not "):
            neighbours_for([C3_SEQ[1]], how, pool=[C3_SEQ[2]])
    assert names(neighbours_for([C3_SEQ[1]], "auto", pool=[C3_SEQ[2]]))["32310944.fts"] == ["32310945.fts"]
    # review s37: an iterator as the pool was used up by that check, and paired nothing
    assert names(neighbours_for([C3_SEQ[1]], "auto", pool=iter([C3_SEQ[2]])))["32310944.fts"] == ["32310945.fts"]


def test_frames_above_the_default_size_are_paired_under_the_run_s_limit(tmp_path):
    """Battery s37: a run's ``--max-pixels`` reached the fill but not the pairing, so frames above 2048x2048 were
    filled alone, said only at DEBUG."""
    srcs = []
    for k in range(3):
        data, header = read_file(C3_SEQ[k])
        big = np.zeros((2080, 2080), np.int16)
        big[:1024, :1024] = data
        srcs.append(write(tmp_path / f"big{k}.fts", big, header))
    assert names(pair_neighbours(srcs))["big1.fts"] == []              # the default limit: as the fill refuses it
    assert names(pair_neighbours(srcs, max_pixels=5_000_000))["big1.fts"] == ["big0.fts", "big2.fts"]
    assert names(neighbours_for(srcs, "auto", max_pixels=5_000_000))["big1.fts"] == ["big0.fts", "big2.fts"]


def test_a_neighbours_key_that_names_no_file_is_warned_of(caplog):
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint.pairing"):
        got = neighbours_for([C3_SEQ[1]], {str(C3_SEQ[1]): [C3_SEQ[0]], "elsewhere/32310944.fts": [C3_SEQ[2]]})
    assert got == {Path(C3_SEQ[1]): [Path(C3_SEQ[0])]}
    assert "1 key(s) name none of the files" in caplog.text and "elsewhere" in caplog.text


def _brute_force(infos, limit):
    """Pairing as defined: per target and side, frames of its kind sorted by (distance, path), the first that can
    serve within the gap; the ones that cannot, passed over before it."""
    out = {}
    for info in infos:
        found = []
        for sign in (-1, 1):
            side = sorted(((abs((o.time - info.time).total_seconds()), str(o.path), o) for o in infos
                           if o.kind == info.kind and sign * (o.time - info.time).total_seconds() > 0),
                          key=lambda t: t[:2])
            found += [o.path for d, _, o in side if d <= limit and o.problem is None][:1]
        out[info.path] = found
    return out


def test_pairing_matches_its_definition_with_ties_gaps_and_frames_that_cannot_serve(monkeypatch):
    import datetime as dt
    import random

    import corkit_inpaint.pairing as pairing
    rng, t0 = random.Random(5), dt.datetime(2012, 8, 31)
    infos = {f"/x/{i:04d}.fts": pairing.FrameInfo(Path(f"/x/{i:04d}.fts"), ("C3", rng.choice("ab")),
                                                  t0 + dt.timedelta(minutes=rng.choice(range(0, 600, 12))),
                                                  "cut short" if rng.random() < 0.2 else None)
             for i in range(300)}
    monkeypatch.setattr(pairing, "frame_info", lambda p, **kw: infos[str(p)])
    for gap in (11.0, 30.0, 60.0, None):
        limit = float("inf") if gap is None else 60 * gap
        assert pair_neighbours(list(infos), max_gap=gap) == _brute_force(list(infos.values()), limit)


def test_pairing_an_archive_is_not_quadratic(monkeypatch):
    """A frame's neighbours were found by a scan of every frame: 4,000 took 11 s, 300,000 would take some 15 h
    before the first file was filled. Now 5,000 take some 50 ms."""
    import datetime as dt
    import time

    import corkit_inpaint.pairing as pairing
    t0 = dt.datetime(2012, 1, 1)
    monkeypatch.setattr(pairing, "frame_info", lambda p, **kw: pairing.FrameInfo(
        Path(p), ("C3", "Clear"), t0 + dt.timedelta(minutes=12 * int(Path(p).stem)), None))
    paths = [f"/x/{i:08d}.fts" for i in range(5000)]
    start = time.perf_counter()
    got = pair_neighbours(paths)
    assert time.perf_counter() - start < 2.0
    assert got[Path(paths[5])] == [Path(paths[4]), Path(paths[6])] and got[Path(paths[0])] == [Path(paths[1])]


def test_reading_many_headers_shows_a_progress_bar_when_asked(monkeypatch, capsys):
    """Soak 27: pairing reads every header first (about 1.7 ms a file: minutes for an archive) in silence. From
    PROGRESS_FROM files on, with ``progress``, a bar says so; fewer files, or without ``progress``, none."""
    from corkit_inpaint import pairing
    monkeypatch.setattr(pairing, "PROGRESS_FROM", 3)
    with_bar = pair_neighbours(C3_SEQ, progress=True)
    assert "reading headers" in capsys.readouterr().err
    assert pair_neighbours(C3_SEQ) == with_bar and "reading headers" not in capsys.readouterr().err
    pair_neighbours(C3_SEQ[:2], progress=True)
    assert "reading headers" not in capsys.readouterr().err


def test_a_frame_passed_over_by_many_names_the_nearest_few_and_counts_the_rest(tmp_path, caplog):
    """Hostile-input battery 2: the warning named every file a frame that cannot serve was passed over for; in a
    run where many cannot (EXPTIME 0 all day, with --max-gap inf) that was thousands of names in each of
    thousands of lines. It names the nearest few (`PASSED_NAMES`, in order of time) and says how many more."""
    from corkit_inpaint.pairing import PASSED_NAMES
    data, hdr = read_file(C3_SEQ[0])                 # 18:30:05; C3_SEQ[1] is at 18:42:05
    hdr["EXPTIME"] = 0.0
    bad = []
    for minute in range(31, 37):
        hdr["TIME-OBS"] = f"18:{minute}:05.382"
        bad.append(write(tmp_path / f"bad{minute}.fts", data, hdr))
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = pair_neighbours([*C3_SEQ[:2], *bad])
    assert names(got)["32310944.fts"] == ["32310943.fts"] and names(got)["bad33.fts"] == ["32310943.fts",
                                                                                         "32310944.fts"]
    warned = {r.getMessage().split()[0]: r.getMessage() for r in caplog.records if "passed over" in r.getMessage()}
    assert len(warned) == 6 and PASSED_NAMES == 3
    # bad33 was passed over by 32310943 (after it), bad31 and bad32 (after them, 32310943 before), bad34-36
    # and 32310944 (before them): 7 files, the 3 named first in order of time
    assert warned[str(bad[2])].endswith("neighbour of 32310943.fts, bad31.fts, bad32.fts and 4 more "
                                        "(EXPTIME = 0.0 is not positive)")


def test_frames_that_cannot_serve_are_passed_over_in_linear_work(monkeypatch, caplog):
    """Hostile-input battery 2: pairing by bisection (0.1.20) still walked, for each target, every frame that cannot
    serve up to the one that can, and named every target in each frame's warning: 3,000 frames of EXPTIME 0 with
    --max-gap inf took 8 s and wrote 108 MB of warnings (30,000: some 15 minutes and 10 GB). The work is counted
    here, not timed: the differences of times taken, and the warnings' length, grow linearly."""
    import datetime as dt

    import corkit_inpaint.pairing as pairing
    taken = [0]

    class Time(dt.datetime):
        def __sub__(self, other):
            taken[0] += 1
            return super().__sub__(other)

    t0 = Time(2012, 1, 1)
    monkeypatch.setattr(pairing, "frame_info", lambda p, **kw: pairing.FrameInfo(
        Path(p), ("C3", "Clear"), Time.fromtimestamp(t0.timestamp() + 720 * int(Path(p).stem)), "EXPTIME 0"))
    paths = [f"/x/{i:08d}.fts" for i in range(1500)]
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = pair_neighbours(paths, max_gap=None)
    assert all(v == [] for v in got.values())
    assert taken[0] < 10 * len(paths)                              # was some 2.2 million
    assert len(caplog.records) == len(paths) and len(caplog.text) < 200 * len(paths)
    assert "00000001.fts passed over as a neighbour of 00000000.fts, 00000002.fts, 00000003.fts and 1496 more" \
        in caplog.text


@pytest.mark.parametrize("date, time", [("0001-01-01T00:00:00+05:00", ""), ("9999-12-31", "24:00:00"),
                                        ("9999-12-31T23:59:60", "")])
def test_a_time_past_the_calendar_s_ends_is_unknown_not_a_traceback(tmp_path, date, time):
    """Hostile-input battery 2: a DATE-OBS that UTC or the carry of 24:00:00 / a leap second takes past year 1 or
    9999 raised OverflowError out of `observation_time`: pairing, and with it the whole fill or level_1 run,
    ended in a traceback. Such a time is unknown (None): that file is not paired, the others are."""
    from corkit_inpaint.header import observation_time
    data, hdr = read_file(C3_SEQ[0])
    hdr["DATE-OBS"], hdr["TIME-OBS"] = date, time
    odd = write(tmp_path / "odd.fts", data, hdr)
    assert observation_time(hdr) is None
    got = pair_neighbours([odd, *C3_SEQ])
    assert names(got)["odd.fts"] == [] and names(got)["32310944.fts"] == ["32310943.fts", "32310945.fts"]


def test_a_frame_that_cannot_serve_given_twice_is_warned_of_once(tmp_path, caplog):
    """The same pool file named twice is one frame: one warning that it was passed over, not one per naming."""
    data, hdr = read_file(C3_SEQ[0])
    hdr["TIME-OBS"], hdr["EXPTIME"] = "18:36:05.382", 0.0
    bad = write(tmp_path / "bad.fts", data, hdr)
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = pair_neighbours([C3_SEQ[1]], pool=[bad, C3_SEQ[0], bad, C3_SEQ[0]])
    assert names(got) == {"32310944.fts": ["32310943.fts"]}
    assert [r.getMessage() for r in caplog.records if "passed over" in r.getMessage()] == [
        f"{bad} passed over as a neighbour of 32310944.fts (EXPTIME = 0.0 is not positive)"]
