"""Neighbours brought onto the target's grid: shifts, rolls, masks, DN/s, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from helpers import C3_SEQ, read_file

from corkit_inpaint.exceptions import InputError
from corkit_inpaint.register import Neighbour, data_pixels, register, register_all, roll_degrees


@pytest.fixture(scope="module")
def target():
    return read_file(C3_SEQ[1])


def rate(data, header):
    return (data.astype(np.float64) - header["OFFSET"]) / header["EXPTIME"]


def test_roll_degrees_reads_crota1_first():
    assert roll_degrees({"CROTA2": 3.0}) == 3.0 and roll_degrees({"CROTA1": 1.0, "CROTA2": 3.0}) == 1.0


def test_roll_degrees_reads_a_pc_matrix_before_crota():
    """A SunPy map's ``rotate`` keeps the roll in PCi_j and drops CROTA: it was read as 0."""
    c, s = np.cos(np.radians(-89.35)), np.sin(np.radians(-89.35))
    assert roll_degrees({"PC1_1": c, "PC1_2": -s, "PC2_1": s, "PC2_2": c}) == pytest.approx(-89.35)
    assert roll_degrees({"PC1_1": c, "PC2_1": s, "CROTA1": 0.65}) == pytest.approx(-89.35)
    assert roll_degrees({"PC1_1": 1.0, "PC2_1": 0.0, "CROTA1": 0.65}) == 0.0


def test_a_frame_registered_on_itself_is_copied_exactly(target):
    data, hdr = target
    nb = register(data, hdr, hdr, data.shape)
    r, ok = nb.sample((100, 300, 200, 264))
    assert ok.all() and np.array_equal(r, rate(data, hdr)[100:300, 200:264])
    assert nb.dt == 0.0 and nb.name == "32310944.fts"


def test_real_neighbours_have_their_time_offsets(target):
    data, hdr = target
    before, after = (register(*read_file(p), hdr, data.shape) for p in (C3_SEQ[0], C3_SEQ[2]))
    assert before.dt == pytest.approx(-720.092) and after.dt == pytest.approx(719.991)
    r, ok = after.sample((0, 1024, 0, 1024))
    d, h = read_file(C3_SEQ[2])
    assert np.array_equal(r[ok], rate(d, h)[ok])       # same pointing: pixels copied, not interpolated


def test_an_integer_shift_is_undone(target):
    data, hdr = target
    moved = np.zeros_like(data)
    moved[3:, :-2] = data[:-3, 2:]            # the sky moved 3 px down and 2 px left
    h = hdr.copy()
    h["CRPIX2"], h["CRPIX1"] = hdr["CRPIX2"] + 3, hdr["CRPIX1"] - 2
    r, ok = register(moved, h, hdr, data.shape).sample((200, 400, 200, 400))
    assert ok.all() and np.array_equal(r, rate(data, hdr)[200:400, 200:400])


def test_a_roll_of_90_degrees_is_undone():
    n = 64
    yy, xx = np.mgrid[0:n, 0:n]
    img = (1000 + 7 * yy + 3 * xx + (yy * xx) % 11).astype(np.int32)
    hdr = {"EXPTIME": 10.0, "OFFSET": 100.0, "CRPIX1": (n - 1) / 2 + 1, "CRPIX2": (n - 1) / 2 + 1, "CROTA1": 0.0}
    # world = R(CROTA) (x, y): the same sky seen with the camera rolled by +90 degrees is np.rot90
    h90 = dict(hdr, CROTA1=90.0)
    r, ok = register(np.rot90(img), h90, hdr, img.shape).sample((0, n, 0, n))
    assert ok.all() and np.array_equal(r, (img - 100.0) / 10.0)
    r, ok = register(np.rot90(img), dict(hdr, CROTA1=-90.0), hdr, img.shape).sample((0, n, 0, n))
    assert not np.allclose(r, (img - 100.0) / 10.0)        # the other sense is wrong


def half_pixel_neighbour(data, hdr):
    """The frame moved half a pixel along x, with a missing block at rows and columns 500-531."""
    h = hdr.copy()
    h["CRPIX1"] = hdr["CRPIX1"] + 0.5
    d = data.copy()
    d[500:532, 500:532] = 0
    return register(d, h, hdr, data.shape)


def test_half_pixel_shift_interpolates_and_masks(target):
    data, hdr = target
    r, ok = half_pixel_neighbour(data, hdr).sample((480, 560, 480, 560))
    full = rate(data, hdr)[480:560, 480:561]
    # target x maps to neighbour x + 0.5: the mean of two neighbouring pixels
    expect = 0.5 * (full[:, :-1] + full[:, 1:])
    assert np.allclose(r[ok], expect[ok])
    assert not ok[20:52, 19:52].any() and ok[:15].all()


def test_saturated_zero_and_earlier_fill_pixels_are_not_data(target):
    data, hdr = target
    d = data.copy()
    d[10, 10] = 16383
    d[20, 20] = 0
    prev = np.zeros(d.shape, dtype=bool)
    prev[600:632, 600:632] = True
    ok = data_pixels(d, hdr, prev)
    assert not ok[10, 10] and not ok[20, 20] and not ok[600:632, 600:632].any() and ok[300, 300]


def test_register_leaves_the_input_alone_and_refuses_bad_input(target):
    data, hdr = target
    before = data.copy()
    register(data, hdr, hdr, data.shape)
    assert np.array_equal(data, before)
    with pytest.raises(InputError, match="2-D"):
        register(data[None], hdr, hdr, data.shape)
    h = hdr.copy()
    h["EXPTIME"] = 0.0
    with pytest.raises(InputError, match="EXPTIME"):
        register(data, h, hdr, data.shape)
    del h["EXPTIME"]
    with pytest.raises(InputError, match="no OFFSET or EXPTIME"):          # the target is in DN/s: it cannot be
        register(data, h, hdr, data.shape)
    r, ok = register(data, h, h, data.shape).sample((0, 8, 0, 8))       # neither has EXPTIME: values as they are
    assert np.array_equal(r[ok], data[:8, :8].astype(np.float64)[ok])
    r, ok = register(data, hdr, h, data.shape).sample((0, 8, 0, 8))     # as the target, which Frame.build takes so
    assert np.array_equal(r[ok], data[:8, :8].astype(np.float64)[ok])
    with pytest.raises(InputError, match="pair"):
        register_all([data], hdr, data.shape)


def test_register_all_leaves_out_what_cannot_help_with_a_warning(target, caplog):
    """Another detector, filter or polarizer, EXPTIME 0, or no OFFSET beside a target that has one: left out."""
    data, hdr = target
    bad = []
    # each its own name and data: with one frame's data, a bad one kept would leave the good one out as its
    # duplicate, and the count would hold (mutation s34)
    for k, (key, val) in enumerate((("DETECTOR", "C2"), ("FILTER", "Orange"), ("POLAR", "+60 Deg"),
                                    ("EXPTIME", 0.0), ("OFFSET", None))):
        h = hdr.copy()
        h["FILENAME"] = f"bad_{key.lower()}.fts"
        if val is None:
            del h[key]
        else:
            h[key] = val
        bad.append((data + k + 1, h))
    good = hdr.copy()
    good["FILENAME"] = "good.fts"
    with caplog.at_level("WARNING", logger="corkit_inpaint.register"):
        out = register_all([*bad, (data, good)], hdr, data.shape)
    assert [nb.name for nb in out] == ["good.fts"]
    assert np.array_equal(out[0].rate, register(data, hdr, hdr, data.shape).rate)
    said = [r.getMessage() for r in caplog.records]
    assert sum("left out" in m for m in said) == 5
    for key in ("detector", "filter", "polar", "exptime", "offset"):
        assert sum(f"bad_{key}.fts" in m for m in said) == 1, key
    assert any("C3/ORANGE/CLEAR, not" in m for m in said) and any("C3/CLEAR/+60 DEG, not" in m for m in said)
    assert all(len(r.getMessage().splitlines()) == 1 for r in caplog.records)


def test_a_neighbour_whose_header_makes_nonsense_of_it_is_left_out_in_one_line(target, caplog):
    """Battery: OFFSET 1e300 made the target's fill NaN; a roll of 1e300 degrees or a plate scale of 1e30 arcsec
    made it worse than none (RMSE 267 and 114 against 41 alone); CRPIX 1e30 printed numpy's warnings; a
    512x512 array with its 1024x1024 header was used."""
    data, hdr = target
    bad = {"OFFSET": 1e300, "CROTA1": 1e300, "CDELT1": 1e30, "CRPIX1": 1e30}
    cases = []
    for key, val in bad.items():
        h = hdr.copy()
        h[key] = val
        cases.append((data, h))
    cases.append((data[::2, ::2], hdr))
    with caplog.at_level("WARNING", logger="corkit_inpaint.register"):
        out = register_all([*cases, (data, hdr)], hdr, data.shape)
    assert len(out) == 1 and np.array_equal(out[0].rate, register(data, hdr, hdr, data.shape).rate)
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 5 and all("left out" in m and "\n" not in m for m in msgs), msgs
    wants = ("DN/s reach", "CROTA1 = 1e+300 is not a roll angle", "plate scale", "far off its image", "NAXIS1/2")
    for m, want in zip(msgs, wants):
        assert want in m, (want, m)
    h = hdr.copy()
    h["CROTA1"] = 1e300
    with pytest.raises(InputError, match="the target's roll"):
        register(data, hdr, h, data.shape)


def test_register_all_accepts_pairs_and_neighbours(target):
    data, hdr = target
    nb = register(data, hdr, hdr, data.shape)
    out = register_all([nb, (data, hdr), (data, hdr, None)], hdr, data.shape)
    assert out[0] is nb and all(isinstance(o, Neighbour) for o in out) and register_all(None, hdr, (1, 1)) == []


def test_saturation_scales_with_board_summing_not_on_chip_summing(target):
    """On-chip summing (SUMCOL/SUMROW) reads the summed charge out once: 16383 DN is full scale there too."""
    data, hdr = target
    d = data.copy()
    d[10, 10] = 16383
    for keys, saturated in (({"SUMCOL": 2, "SUMROW": 2}, True), ({"LEBXSUM": 2, "LEBYSUM": 2}, False)):
        h = hdr.copy()
        h.update(keys)
        assert data_pixels(d, h)[10, 10] != saturated


def strip(hdr, *keys):
    h = hdr.copy()
    for k in keys:
        h.remove(k, ignore_missing=True)
    return h


def test_a_neighbour_whose_plate_scale_only_one_side_knows_is_left_out(target, caplog):
    """No CDELT and no C2/C3 DETECTOR: its scale is unknown, not 1 arcsec/px (a C3 neighbour read 56x too small)."""
    data, hdr = target
    nb_data, nb_hdr = read_file(C3_SEQ[0])
    bare = strip(hdr, "CDELT1", "CDELT2", "DETECTOR")
    for t, n, who in ((bare, nb_hdr, "the target's"), (hdr, strip(nb_hdr, "CDELT1", "CDELT2", "DETECTOR"), "its")):
        with pytest.raises(InputError, match=f"{who} plate scale is not known"):
            register(nb_data, n, t, data.shape)
        caplog.clear()
        assert register_all([(nb_data, n)], t, data.shape, max_gap=None) == []
        assert "plate scale is not known" in caplog.text
    # neither knows: the same scale is assumed, and a frame on itself is still copied exactly
    nb = register(data, bare, bare, data.shape)
    assert np.array_equal(nb.matrix, np.eye(2))


def test_an_anisotropic_neighbour_is_registered_on_both_axes():
    """A neighbour summed 2x in x only (CDELT1 twice CDELT2): each axis by its own scale (astropy's WCS agrees)."""
    from astropy.wcs import WCS
    from helpers import C2_FULL
    data, hdr = read_file(C2_FULL)
    h2 = hdr.copy()
    h2["LEBXSUM"], h2["CDELT1"] = 2, 2 * hdr["CDELT1"]
    h2["CRPIX1"] = (hdr["CRPIX1"] - 0.5) / 2 + 0.5
    h2["NAXIS1"] = data.shape[1] // 2
    data2 = data.reshape(data.shape[0], -1, 2).sum(-1)
    nb = register(data2, h2, hdr, data.shape)
    py, px = nb.coords((805, 806, 300, 301))
    keys = ("CRPIX1", "CRPIX2", "CDELT1", "CDELT2", "CTYPE1", "CTYPE2", "CROTA1")
    wcs = lambda h: WCS(fits.Header({**{k: h[k] for k in keys if k in h}, "CUNIT1": "arcsec", "CUNIT2": "arcsec"}))
    want = wcs(h2).world_to_pixel_values(*wcs(hdr).pixel_to_world_values(300, 805))
    assert abs(py[0, 0] - float(want[1])) < 1e-6 and abs(px[0, 0] - float(want[0])) < 1e-6


def test_a_neighbour_without_crpix_is_aligned_on_the_nominal_centre_with_the_target(target, caplog):
    """CRPIX in one frame only: both take the nominal centre (a measured one mixed with it shifted C3 by 2.2 px)."""
    data, hdr = target
    nb = register(data, strip(hdr, "CRPIX1", "CRPIX2"), hdr, data.shape)
    assert "only the target has CRPIX1/2" in caplog.text
    r, ok = nb.sample((100, 300, 200, 264))                  # the same pointing: copied back exactly
    assert ok.all() and np.array_equal(r, rate(data, hdr)[100:300, 200:264])
    with pytest.raises(InputError, match="Sun centre is known .* for only one"):
        register(data, strip(hdr, "CRPIX1", "CRPIX2", "DETECTOR"), strip(hdr, "DETECTOR"), data.shape)


def test_a_frame_given_twice_is_used_once(target, caplog):
    data, hdr = target
    nb_data, nb_hdr = read_file(C3_SEQ[0])
    copy = nb_hdr.copy()
    copy["FILENAME"] = "copy.fts"
    out = register_all([(nb_data, nb_hdr), (nb_data.copy(), copy)], hdr, data.shape)
    assert [n.name for n in out] == ["32310943.fts"] and "copy.fts left out: it is 32310943.fts again" in caplog.text
    other_data, other_hdr = read_file(C3_SEQ[2])
    assert len(register_all([(nb_data, nb_hdr), (other_data, other_hdr)], hdr, data.shape)) == 2


def test_a_summed_neighbour_with_another_exposure_gives_the_same_rate():
    """2x2-summed: the bias is four pixels'; a neighbour with 1.2x the exposure of the same sky has the same DN/s."""
    from helpers import read_real
    data, hdr = read_real()
    bias = 4 * hdr["OFFSET"]
    h2 = hdr.copy()
    h2["EXPTIME"] = 1.2 * hdr["EXPTIME"]
    data2 = np.where(data > 0, (data - bias) * 1.2 + bias, 0.0)
    a, ok_a = register(data, hdr, hdr, data.shape).sample((0, data.shape[0], 0, data.shape[1]))
    b, ok_b = register(data2, h2, hdr, data.shape).sample((0, data.shape[0], 0, data.shape[1]))
    ok = ok_a & ok_b
    assert ok.sum() > 0.5 * ok.size
    np.testing.assert_allclose(b[ok], a[ok], rtol=1e-9, atol=1e-9)


def test_a_neighbour_beyond_the_largest_gap_is_left_out(caplog):
    """Another day's frame is left out with a warning (alone it made the real fill 2-14x worse); a larger
    ``max_gap`` or None keeps it, and a neighbour 12 min away is kept whatever the gap allowed down to 12."""
    import logging

    from helpers import C3_FULL
    (d1, h1), (d2, h2), (dx, hx) = read_file(C3_SEQ[1]), read_file(C3_SEQ[2]), read_file(C3_FULL)
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        near = register_all([(d2, h2)], h1, d1.shape)
    assert len(near) == 1 and "left out" not in caplog.text
    gap = abs(near[0].dt) / 60
    assert 10 < gap < 14
    assert len(register_all([(d2, h2)], h1, d1.shape, max_gap=gap + 0.01)) == 1
    assert register_all([(d2, h2)], h1, d1.shape, max_gap=gap - 0.01) == []
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        far = register_all([(dx, hx), (d2, h2)], h1, d1.shape)
    assert [n.name for n in far] == [near[0].name]
    assert "32219521.fts left out: it is 23274.4 h from this frame, beyond the largest gap of 60 min" in caplog.text
    for gap in (None, 24 * 60 * 1000):
        kept = register_all([(dx, hx)], h1, d1.shape, max_gap=gap)
        assert len(kept) == 1 and kept[0].dt < -2 * 365 * 86400
    ready = register(dx, hx, h1, d1.shape)                    # an already registered neighbour is judged alike
    assert register_all([ready], h1, d1.shape) == [] and register_all([ready], h1, d1.shape, max_gap=None) == [ready]
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="max_gap"):
            register_all([(d2, h2)], h1, d1.shape, max_gap=bad)


def test_shifted_samples_the_same_sky_on_a_cropped_grid(target):
    data, hdr = target
    before = register(*read_file(C3_SEQ[0]), hdr, data.shape)
    h = hdr.copy()
    h["CROTA1"] = h["CROTA2"] = 0.7                   # a roll: sub-pixel interpolation, not a copy
    rolled = register(*read_file(C3_SEQ[0]), h, data.shape)
    for nb in (before, rolled):
        r, ok = nb.sample((300, 400, 500, 640))
        rs, oks = nb.shifted(288, 480).sample((12, 112, 20, 160))
        assert np.array_equal(ok, oks) and ok.any()
        np.testing.assert_allclose(rs, r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("gap", [60.0, None, float("inf")])
def test_a_neighbour_whose_time_is_unknown_is_left_out_unless_the_gap_is_unlimited(target, caplog, gap):
    """Its gap cannot be checked: with a finite max_gap it might be another day's frame (review s13, D3)."""
    data, hdr = target
    nb_data, nb_hdr = read_file(C3_SEQ[0])
    nb_hdr = nb_hdr.copy()
    del nb_hdr["TIME-OBS"]
    nb_hdr["DATE-OBS"] = "2006/08/31"                 # six years away, and no time of day
    with caplog.at_level("WARNING", logger="corkit_inpaint.register"):
        out = register_all([(nb_data, nb_hdr)], hdr, data.shape, max_gap=gap)
    assert len(out) == (0 if gap == 60.0 else 1)
    assert ("time from this frame is not known" in caplog.text) == (gap == 60.0)


def test_a_neighbour_read_from_a_file_without_filename_is_named_by_its_file(target, tmp_path):
    from helpers import write

    from corkit_inpaint.read import read_neighbours
    data, hdr = target
    nb_data, nb_hdr = read_file(C3_SEQ[0])
    del nb_hdr["FILENAME"]
    path = write(tmp_path / "no_name.fts", nb_data, nb_hdr)
    out = register_all(read_neighbours([path]), hdr, data.shape)
    assert [n.name for n in out] == ["no_name.fts"]
    odd = write(tmp_path / "ñeighbour é.fts", nb_data, nb_hdr)      # a FITS card holds ASCII only (s13b, N1)
    assert [n.name for n in register_all(read_neighbours([odd]), hdr, data.shape)] == ["?eighbour ?.fts"]
    from corkit_inpaint import inpaint_fits
    tgt = write(tmp_path / "target.fts", np.where(np.arange(data.shape[1]) // 32 == 5, 0, data), hdr)
    out_hdr = inpaint_fits(tgt, tmp_path / "out.fts", neighbours=[odd], method="ratio")[0].header
    assert out_hdr["INPNB1"] == "?eighbour ?.fts"
    assert [n.name for n in register_all([(nb_data, nb_hdr)], hdr, data.shape)] == ["neighbour 1"]


def test_valid_on_is_the_validity_of_a_sample_remembered_per_box_and_grid(target):
    nb = half_pixel_neighbour(*target)
    box = (480, 560, 480, 560)
    first = nb.valid_on(box)                   # not sampled yet: sampled now
    ok = nb.sample(box)[1]
    assert np.array_equal(first, ok) and not ok.all() and ok.any()
    again = nb.valid_on(box)
    assert np.array_equal(again, ok) and not again.flags.writeable
    ok[:] = False                              # a caller's change to its sample is not remembered
    assert np.array_equal(nb.valid_on(box), again)
    moved = nb.shifted(16, 0)                  # another grid: its own validity, nothing carried over
    assert np.array_equal(moved.valid_on(box), moved.sample(box)[1])
    assert not np.array_equal(moved.valid_on(box), again)


def test_a_filled_neighbour_without_its_mask_is_left_out(target, tmp_path, caplog):
    """A filled frame given as ``(array, header)`` without its INPMASK: its estimates would be read as data (the
    real C3 frame of 18:30 filled where 18:42 lost the same blocks gave the fill of 18:42 a neighbour there);
    files and maps refuse it so, and ``(array, header, mask)`` uses it without the filled pixels."""
    from helpers import blank, seq_blocks, write

    import corkit_inpaint as ci
    d0, h0 = read_file(C3_SEQ[0])
    lost = seq_blocks(d0, h0, 3, seed=5)
    filled = ci.inpaint_fits(write(tmp_path / "n.fts", blank(d0, lost), h0), method="biharmonic")
    data, hdr, mask = filled[0].data, filled[0].header, filled["INPMASK"].data
    shape = target[0].shape
    with caplog.at_level("WARNING"):
        assert register_all([(data, hdr)], target[1], shape) == []
    assert "no INPMASK" in caplog.text and "6144" not in caplog.text and "3072 pixels" in caplog.text
    nb, = register_all([(data, hdr, mask)], target[1], shape)
    assert not nb.valid[mask.astype(bool)].any() and nb.valid.sum() > 0.5 * nb.valid.size
    plain = hdr.copy()
    del plain["INPAINT"]                          # not a corkit-inpaint fill: read as it is
    assert len(register_all([(data, plain)], target[1], shape)) == 1


@pytest.mark.parametrize("bad", [None, 5], ids=["None", "int"])
def test_a_neighbour_whose_header_is_not_a_header_is_refused_in_one_line(bad):
    """Battery h6: a neighbour ``(array, None)`` (or a header that is no header at all) raised a bare TypeError
    from `header.says_filled` ("argument of type 'NoneType' is not iterable"), through `inpaint_array` and
    `fill_level05`. It is a caller's mistake, refused as a neighbour that is not an (array, header) pair is."""
    import corkit_inpaint as ci
    from corkit_inpaint.blocks import blocks_to_mask
    (nb, _), (data, hdr), after = (read_file(p) for p in C3_SEQ)
    with pytest.raises(InputError, match=f"neighbour 1: its header is {type(bad).__name__}, not a FITS header"):
        register_all([(nb, bad), after], hdr, data.shape)
    mask = blocks_to_mask(data.shape, [(8, 16)])
    with pytest.raises(InputError, match="neighbour 1: its header is"):
        ci.inpaint_array(np.where(mask, 0, data), mask, header=hdr, neighbours=[(nb, bad), after], device="cpu")
    assert len(register_all([(nb, dict(read_file(C3_SEQ[0])[1])), after], hdr, data.shape)) == 2   # a dict is one
