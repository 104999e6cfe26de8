"""The frame model: built once, the same way for every method, training and evaluation."""

from dataclasses import replace

import numpy as np
import pytest
from helpers import BLANK, blank, read_real

from corkit_inpaint.blocks import blocks_to_mask, zero_block_pixels
from corkit_inpaint.exceptions import InputError
from corkit_inpaint.frame import Frame, context_valid
from corkit_inpaint.stretch import noise_sigma


def test_frame_of_the_real_file():
    data, header = read_real()
    img = blank(data, BLANK)
    mask = blocks_to_mask(img.shape, BLANK)
    f = Frame.build(img, mask, header)
    assert f.image.dtype == np.float64 and f.image is not img and np.array_equal(f.image, img)
    assert not f.valid[mask].any() and not f.valid[zero_block_pixels(data)].any()     # never-sent blocks too
    assert np.array_equal(f.valid, context_valid(f.image, mask))
    assert header["LEBXSUM"] == header["LEBYSUM"] == 2                  # 2x2 on board: four pixels' bias
    bias = 4 * header["OFFSET"]
    rate = (f.image - bias) / header["EXPTIME"]
    assert f.noise == noise_sigma(rate, f.valid) and f.stretch.bias == bias
    assert abs(np.percentile(rate[f.valid], 0.1)) < 10 * f.noise      # the darkest pixels are at the bias
    assert f.geometry.detector == "C2" and f.sun_centre == (header["CRPIX2"] - 1, header["CRPIX1"] - 1)
    s = f.stretched
    assert s is f.stretched                                   # computed once
    np.testing.assert_allclose(f.stretch.inverse(s[f.valid]), f.image[f.valid], rtol=1e-12)


def test_headerless_and_not_context():
    img = np.full((64, 64), 100.0)
    f = Frame.build(img)
    assert not f.missing.any() and f.valid.all() and f.geometry is None and f.sun_centre is None
    keep = np.zeros((64, 64), bool)
    keep[:8] = True
    assert not Frame.build(img, None, None, not_context=keep).valid[:8].any()


def test_bad_frames():
    with pytest.raises(InputError, match="2-D"):
        Frame.build(np.zeros((2, 3, 4)))
    with pytest.raises(InputError, match="mask shape"):
        Frame.build(np.zeros((4, 4)), np.zeros((3, 3), bool))
    with pytest.raises(InputError, match="OFFSET"):
        Frame.build(np.ones((4, 4)), None, {"OFFSET": "abc"})


def test_blanked_fills_valid_pixels_in_the_same_value_space():
    data, hdr = read_real()
    holes = blocks_to_mask(data.shape, BLANK)
    frame = Frame.build(blank(data, BLANK).astype(float), holes, hdr)
    probe = blocks_to_mask(data.shape, [(5, 5), (8, 12)])
    b = frame.blanked(probe)
    assert b.stretch is frame.stretch and b.noise == frame.noise and b.geometry is frame.geometry
    assert np.array_equal(b.missing, probe) and not (b.valid & (probe | holes)).any()
    assert np.array_equal(b.valid | probe | holes, frame.valid | holes)
    assert np.all(b.image[probe] == 0) and np.array_equal(b.image[~probe], frame.image[~probe])   # as a lost block
    assert frame.image[probe].min() > 0                              # the truth stays in the frame's image
    fresh = replace(frame, image=b.image, missing=probe, valid=frame.valid & ~probe)   # `stretched` anew
    assert np.array_equal(b.stretched, fresh.stretched)
    assert not frame.missing[probe].any() and frame.valid[probe].all()     # the frame itself is unchanged


def test_cropped_moves_the_sun_centre_and_geometry_with_the_box():
    data, hdr = read_real()
    holes = blocks_to_mask(data.shape, BLANK)
    frame = Frame.build(blank(data, BLANK).astype(float), holes, hdr)
    c = frame.cropped((64, 192, 32, 224))
    assert c.shape == (128, 192) and c.stretch is frame.stretch and c.noise == frame.noise
    assert np.array_equal(c.image, frame.image[64:192, 32:224]) and np.array_equal(c.valid, frame.valid[64:192, 32:224])
    assert np.array_equal(c.missing, frame.missing[64:192, 32:224])
    assert np.array_equal(c.stretched, frame.stretched[64:192, 32:224])
    assert c.sun_centre == (frame.sun_centre[0] - 64, frame.sun_centre[1] - 32)
    assert (c.geometry.cy, c.geometry.cx) == (frame.geometry.cy - 64, frame.geometry.cx - 32)
    assert c.geometry.rsun == frame.geometry.rsun
    c.image[:] = 0                                              # a copy: the frame is unchanged
    assert frame.image[64:192, 32:224].any()
    bare = Frame.build(blank(data, BLANK).astype(float), holes, None)    # no header: the image centre
    assert bare.sun_centre is None and bare.cropped((64, 192, 32, 224)).sun_centre == (255.5 - 64, 255.5 - 32)


def test_windows_computed_once_read_only_and_each_frame_its_own():
    """`Frame.windows` is `windows_for` of the missing pixels, kept for the frame; a blanked or cropped frame
    has its own, and nobody can change the owner map that every step reads."""
    from corkit_inpaint.network.windows import windows_for
    data, header = read_real()
    img = blank(data, BLANK)
    f = Frame.build(img, blocks_to_mask(img.shape, BLANK), header)
    boxes, owner = f.windows
    want_boxes, want_owner = windows_for(f.missing)
    assert boxes == tuple(want_boxes) and np.array_equal(owner, want_owner) and len(boxes) >= 2
    assert f.windows is f.windows
    with pytest.raises(ValueError, match="read-only"):
        owner[0, 0] = 1
    probe = np.zeros(img.shape, dtype=bool)
    probe[:32, 64:96] = f.valid[:32, 64:96]
    b = f.blanked(probe)
    assert b.windows[0] == tuple(windows_for(probe)[0]) != boxes
    c = f.cropped((0, 256, 0, 256))
    assert c.windows[0] == tuple(windows_for(f.missing[:256, :256])[0])
    # the frame keeps its own copy of the mask: a caller changing theirs cannot leave the windows stale
    mask = blocks_to_mask(img.shape, BLANK)
    g = Frame.build(img, mask, header)
    mask[:32, :32] = True
    assert not g.missing[:32, :32].any() and g.windows[0] == boxes


def test_windows_own_every_missing_pixel_once_a_whole_cluster_each():
    """The owner map (a label lookup table since 2026-12-05, an np.isin per window before): each missing pixel
    with context has one window, inside its box, and all pixels of an 8-connected cluster have the same one."""
    from scipy import ndimage

    from corkit_inpaint.network.windows import windows_for
    rng = np.random.default_rng(3)
    for _ in range(40):
        m = np.zeros(tuple(rng.integers(40, 400, 2)), dtype=bool)
        for _ in range(rng.integers(1, 12)):
            y, x = rng.integers(0, m.shape[0]), rng.integers(0, m.shape[1])
            m[y:y + rng.integers(1, 40), x:x + rng.integers(1, 40)] = True
        boxes, owner = windows_for(m)
        assert np.array_equal(owner >= 0, m) and owner.max() == len(boxes) - 1
        lab, n = ndimage.label(m, structure=np.ones((3, 3), dtype=bool))
        for i in range(1, n + 1):
            ks = np.unique(owner[lab == i])
            assert ks.size == 1
            y0, y1, x0, x1 = boxes[ks[0]]
            ys, xs = np.nonzero(lab == i)
            assert y0 <= ys.min() and ys.max() < y1 and x0 <= xs.min() and xs.max() < x1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_few_absurd_pixels_do_not_move_distant_fills(dtype, caplog):
    """A 2x2 patch of 1e7..1e20 DN in a corner of a float level-0.5 frame set the frame's noise (Immerkaer's mean
    of |Laplacian|) and so its value space: fills hundreds of px away moved by up to ~6e5 DN. Such pixels are not
    read as data now; the fills stay as without them, and the pixels themselves are kept bit for bit."""
    from corkit_inpaint.api import inpaint_array
    data, hdr = read_real()
    img = blank(data, BLANK).astype(dtype)
    mask = blank(np.ones_like(data), BLANK) == 0
    base = inpaint_array(img, header=hdr, method="pconv")
    noise = Frame.build(img, mask, hdr).noise
    for v in (1e20, 1e7, -1e20):
        hot = img.copy()
        hot[:2, :2] = v
        out = inpaint_array(hot, header=hdr, method="pconv")
        assert np.max(np.abs(out - base)[mask]) < 0.01
        assert np.array_equal(out[:2, :2], hot[:2, :2].astype(np.float64))
        with caplog.at_level("WARNING", logger="corkit_inpaint.frame"):
            f = Frame.build(hot, mask, hdr)
        assert "4 pixels beyond" in caplog.text
        assert f.noise == pytest.approx(noise, rel=1e-3) and not f.valid[:2, :2].any()
    from corkit_inpaint.frame import implausible
    assert not implausible(data, hdr).any() and not implausible(np.full(3, 1e9), None).any()


def test_with_missing_refuses_a_mask_of_another_shape():
    """Battery h6: `Frame.build` refuses a mask of another shape; `Frame.with_missing` broadcast it: a (1, N) mask
    made a frame whose ``missing`` was (1, N), its columns unread over the whole height, and a fill of it
    changed 20 valid pixels of row 0."""
    img, hdr = read_real()
    m = blocks_to_mask(img.shape, [(4, 4)])
    frame = Frame.build(np.where(m, 0, img), m, hdr)
    row = np.zeros((1, img.shape[1]), dtype=bool)
    row[0, 100:120] = True
    for bad in (row, np.zeros((img.shape[0] // 2, img.shape[1] // 2), dtype=bool), True):
        with pytest.raises(InputError, match="give a mask of one shape"):
            frame.with_missing(bad)
    with pytest.raises(InputError, match="blank has shape"):
        frame.with_missing(m, blank=row)
    assert np.array_equal(frame.with_missing(m).missing, m)


@pytest.mark.parametrize("key, value", [("EXPTIME", 5e-324), ("EXPTIME", 1e-12), ("OFFSET", 1e300)])
def test_a_header_that_makes_rates_no_frame_has_is_refused_in_one_line(key, value, tmp_path, capsys):
    """Battery s34: EXPTIME 5e-324 passed the header checks; the fill printed six lines of numpy warnings and then
    blamed the method for NaN; OFFSET 1e300 printed a 300-digit bias."""
    import warnings

    from helpers import write

    from corkit_inpaint.cli import main
    data, header = read_real()
    header = header.copy()
    header[key] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no numpy warning on the way
        with pytest.raises(InputError, match=r"its DN/s reach \S+ with a bias of .* beyond any LASCO frame's"):
            Frame.build(blank(data, BLANK), blocks_to_mask(data.shape, BLANK), header)
        big = blank(data, BLANK).astype(np.float64) * 1e10           # no header: its own unit, whatever it is
        assert Frame.build(big, blocks_to_mask(data.shape, BLANK), None).valid.any()
    if key == "OFFSET":         # above every pixel: the block rules find no lost block there, and a warning says so
        return
    src = write(tmp_path / "odd.fts", blank(data, BLANK), header)
    assert main(["-q", "fill", str(src), "-o", str(tmp_path / "out.fts")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "beyond any LASCO frame's" in err and not (tmp_path / "out.fts").exists()
