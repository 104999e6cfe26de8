"""`corkit_inpaint.methods.pconv`: the UNet's fill of a frame, with and without texture."""

import numpy as np
import pytest
import torch
from helpers import BLANK, C3_FULL, blank, read_file, read_real

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods.pconv import PCONV, PCONV_SMOOTH, SMOOTH_TABLE
from corkit_inpaint.network.registry import default_model_name, sha256sum
from corkit_inpaint.network.unet import PConvUNet
from corkit_inpaint.network.weights import WEIGHTS_FORMAT, resolve_weights
from corkit_inpaint.network.windows import frame_windows
from corkit_inpaint.uncertainty.features import pixel_features
from corkit_inpaint.uncertainty.tables import table_for, to_linear


@pytest.fixture(scope="module")
def case():
    data, header = read_real()
    mask = blocks_to_mask(data.shape, BLANK)
    return data, Frame.build(blank(data, BLANK), mask, header)


#: A network without a spread head, whose sigma is its error table's (as the default's is), named so that
#: these tests do not move with the default.
TABLED = "pconv-lasco-nb2"
#: The same network with a spread head.
HEADED = "pconv-lasco-nb2-sigma"


@pytest.fixture(scope="module")
def fills(case):
    _, frame = case
    return PCONV.fill(frame, device="cpu", weights=TABLED), PCONV_SMOOTH.fill(frame, device="cpu", weights=TABLED)


@pytest.fixture(scope="module")
def headed(case):
    _, frame = case
    return PCONV.fill(frame, device="cpu", weights=HEADED), PCONV_SMOOTH.fill(frame, device="cpu", weights=HEADED)


def test_valid_pixels_bit_identical_and_holes_filled(case, fills):
    data, frame = case
    for res in fills:
        assert np.array_equal(res.filled, frame.missing) and res.skipped == ""
        assert np.array_equal(res.values[~frame.missing], frame.image[~frame.missing])
        truth = data[frame.missing].astype(float)
        assert np.all(np.isfinite(res.values))
        assert np.median(np.abs(res.values[frame.missing] - truth) / truth) < 0.05


def test_cpu_runs_are_identical(case, fills):
    _, frame = case
    again = PCONV.fill(frame, device="cpu", weights=TABLED)
    assert np.array_equal(again.values, fills[0].values) and np.array_equal(again.filled, fills[0].filled)


def test_texture_is_a_draw_of_the_sigma_and_only_in_the_holes(case, fills):
    _, frame = case
    tex, smooth = fills
    differ = tex.values != smooth.values
    assert differ.any() and not (differ & ~frame.missing).any()
    # in the stretched space the difference is each window's seeded white noise times the expected value's sigma
    s = np.zeros(frame.shape)
    table = table_for(SMOOTH_TABLE, smooth.provenance.sha256)
    windows, owned, _ = frame_windows(frame)
    s[frame.missing] = table.stretched(pixel_features(frame, frame.missing, None, (windows, owned), smooth.values))
    for w, mine in zip(windows, owned):
        y0, y1, x0, x1 = w.box
        d = frame.stretch.forward(tex.values[y0:y1, x0:x1]) - frame.stretch.forward(smooth.values[y0:y1, x0:x1])
        np.testing.assert_allclose(d[mine], (w.texture / w.noise * s[y0:y1, x0:x1])[mine], rtol=1e-6, atol=1e-9)
    # smooth fills have less high-frequency power
    hf = lambda a: a - (np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1)) / 4
    inner = blocks_to_mask(frame.shape, [(4, 10)])
    st = frame.stretch
    assert np.std(hf(st.forward(tex.values))[inner]) > 2 * np.std(hf(st.forward(smooth.values))[inner])


def test_sigma_of_both_fills(case, fills):
    _, frame = case
    tex, smooth = fills
    for res in fills:
        assert res.sigma is not None and np.all(res.sigma[frame.missing] > 0) and np.all(res.sigma[~frame.missing] == 0)
    # the expected value's sigma is the table's, unstretched about the fill
    table = table_for(SMOOTH_TABLE, smooth.provenance.sha256)
    feats = pixel_features(frame, frame.missing, values=smooth.values)
    np.testing.assert_allclose(smooth.sigma, to_linear(frame, smooth.values, frame.missing, table.stretched(feats)))
    # the textured fill's is sqrt(2) times as wide in the stretched space (the draw adds its spread)
    np.testing.assert_allclose(tex.sigma, to_linear(frame, tex.values, frame.missing,
                                                    np.sqrt(2) * table.stretched(feats)))
    # sigma grows with the distance into the hole
    d = feats.dist
    assert np.median(smooth.sigma[frame.missing][d > 8]) > np.median(smooth.sigma[frame.missing][d <= 2])


def test_weights_without_a_table_give_no_sigma(tmp_path, case, caplog):
    _, frame = case
    torch.manual_seed(0)
    net = PConvUNet(widths=(8, 8, 8, 8))
    path = tmp_path / "tiny-model.pt"
    torch.save({"format": WEIGHTS_FORMAT, "model_config": net.config, "state_dict": net.state_dict()}, path)
    assert PCONV_SMOOTH.fill(frame, device="cpu", weights=path).sigma is None
    assert "no error table" in caplog.text


def test_provenance_of_the_default_model(case):
    _, frame = case
    for method in (PCONV, PCONV_SMOOTH):
        p = method.fill(frame, device="cpu").provenance
        assert p.method == method.name and p.model == default_model_name() and p.device == "cpu"
        assert p.sha256 == resolve_weights(None).sha256 and len(p.sha256) == 64


def test_the_spread_head_gives_the_sigma_and_leaves_the_fill_alone(case, fills, headed):
    from corkit_inpaint.network.device import run_windows
    _, frame = case
    assert np.array_equal(fills[1].values, headed[1].values)      # the same expected value, bit for bit
    for a, b in zip(fills, headed):             # another sigma (and so another draw for the texture)
        assert np.array_equal(a.filled, b.filled) and np.array_equal(a.values[~a.filled], b.values[~b.filled])
        assert b.sigma is not None and np.all(np.isfinite(b.sigma)) and np.all(b.sigma[frame.missing] > 0)
        assert np.all(b.sigma[~frame.missing] == 0) and not np.allclose(a.sigma, b.sigma, rtol=0.05)
        assert b.provenance.model == HEADED and "spread head" in b.how and "spread head" not in a.how
    tex, smooth = headed
    # the sigma is the head's half-width (window units), capped, stretched, then unstretched about the fill
    windows, owned, _ = frame_windows(frame)
    outs, _, _ = run_windows(HEADED, windows, "cpu", spread=True)
    s = np.zeros(frame.shape)
    for w, m, out in zip(windows, owned, outs):
        y0, y1, x0, x1 = w.box
        ctx = w.image[w.valid]
        cap = 2 * w.scale * float(ctx.max() - ctx.min()) + w.noise * w.scale
        s[y0:y1, x0:x1][m] = np.minimum(np.exp(out[1].astype(np.float64)) * w.scale, cap)[m]
    np.testing.assert_allclose(smooth.sigma, to_linear(frame, smooth.values, frame.missing, s[frame.missing]))
    # the textured fill is a draw of that sigma, and its own sigma sqrt(2) times as wide
    np.testing.assert_allclose(tex.sigma, to_linear(frame, tex.values, frame.missing, np.sqrt(2) * s[frame.missing]))
    for w, mine in zip(windows, owned):
        y0, y1, x0, x1 = w.box
        d = frame.stretch.forward(tex.values[y0:y1, x0:x1]) - frame.stretch.forward(smooth.values[y0:y1, x0:x1])
        np.testing.assert_allclose(d[mine], (w.texture / w.noise * s[y0:y1, x0:x1])[mine], rtol=1e-6, atol=1e-9)
    # the head's sigma grows with the distance into the hole, as the misses do
    d = pixel_features(frame, frame.missing).dist
    assert np.median(smooth.sigma[frame.missing][d > 8]) > np.median(smooth.sigma[frame.missing][d <= 2])


def test_provenance_of_a_weights_file(tmp_path, case):
    _, frame = case
    torch.manual_seed(0)
    net = PConvUNet(widths=(8, 8, 8, 8))
    path = tmp_path / "tiny-model.pt"
    torch.save({"format": WEIGHTS_FORMAT, "model_config": net.config, "state_dict": net.state_dict()}, path)
    res = PCONV_SMOOTH.fill(frame, device="cpu", weights=path)
    p = res.provenance
    assert (p.model, p.sha256, p.device) == ("tiny-model", sha256sum(path), "cpu")
    assert np.array_equal(res.values[~frame.missing], frame.image[~frame.missing])
    assert np.all(np.isfinite(res.values)) and np.array_equal(res.filled, frame.missing)


def test_hole_without_context_is_left_unfilled_and_reported():
    rng = np.random.default_rng(2)
    img = np.zeros((256, 256))
    img[:128] = 1000.0 + 30.0 * rng.standard_normal((128, 256))   # signal in the top half only
    mask = blocks_to_mask(img.shape, [(1, 3), (6, 3)])                # (6, 3) lies amid zero blocks
    frame = Frame.build(np.where(mask, 0, img), mask)
    res = PCONV.fill(frame, device="cpu")
    assert np.array_equal(res.filled, blocks_to_mask(img.shape, [(1, 3)]))
    assert res.skipped == "1024 pixels had too little context"
    assert np.array_equal(res.values[~res.filled], frame.image[~res.filled])
    # no context anywhere: nothing filled, the reason given, the device still recorded
    alone = blocks_to_mask(img.shape, [(6, 3)])
    none = PCONV.fill(Frame.build(np.where(alone, 0, img), alone), device="cpu")
    assert not none.filled.any() and "too little valid context" in none.skipped
    assert none.provenance.device == "cpu" and np.array_equal(none.values, np.where(alone, 0, img))


def test_a_model_without_neighbour_guides_ignores_neighbours(caplog):
    import logging

    from helpers import C3_SEQ, read_file

    from corkit_inpaint.blocks import blocks_to_mask
    from corkit_inpaint.fill import run_method
    from corkit_inpaint.frame import Frame
    from corkit_inpaint.register import register
    (d0, h0), (d1, h1) = read_file(C3_SEQ[0]), read_file(C3_SEQ[1])
    hole = blocks_to_mask(d1.shape, [(12, 20)])
    frame = Frame.build(np.where(hole, 0, d1), hole, h1)
    alone = run_method("pconv-smooth", frame, weights="pconv-lasco-v3", device="cpu")
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        with_nb = run_method("pconv-smooth", frame, neighbours=[register(d0, h0, h1, d1.shape)],
                             weights="pconv-lasco-v3", device="cpu")
    assert np.array_equal(alone.values, with_nb.values) and with_nb.provenance.neighbours == ()
    assert "reads no neighbouring frames" in caplog.text


def test_a_neighbour_without_data_in_the_hole_does_not_touch_the_fill():
    """A neighbour that lost the same blocks is not named in the provenance, so it must not move the fill.

    Another neighbour with data there is still read, and the fill is then what it gives alone.
    """
    from helpers import C3_SEQ, read_file

    from corkit_inpaint.fill import run_method
    from corkit_inpaint.register import register
    (d0, h0), (d1, h1), (d2, h2) = (read_file(p) for p in C3_SEQ)
    lost = [(12, 20), (20, 10), (22, 22)]
    hole = blocks_to_mask(d1.shape, lost)
    frame = Frame.build(np.where(hole, 0, d1), hole, h1)
    blind = register(np.where(hole, 0, d0), h0, h1, d1.shape)         # the same blocks missing
    seeing = register(d2, h2, h1, d1.shape)
    alone = run_method("pconv-smooth", frame, device="cpu")
    with_blind = run_method("pconv-smooth", frame, neighbours=[blind], device="cpu")
    assert with_blind.provenance.neighbours == () and np.array_equal(alone.values, with_blind.values)
    one = run_method("pconv-smooth", frame, neighbours=[seeing], device="cpu")
    both = run_method("pconv-smooth", frame, neighbours=[blind, seeing], device="cpu")
    assert len(both.provenance.neighbours) == 1 and np.array_equal(one.values, both.values)
    assert not np.array_equal(one.values, alone.values)


def test_history_says_a_textured_fill_is_a_draw(fills, headed):
    for textured, smooth in (fills, headed):
        assert "textured: the expected value plus a draw" in textured.how and "textured" not in smooth.how


def test_the_fill_is_the_mean_over_each_window_and_its_mirror_image(case, fills):
    from dataclasses import replace

    from corkit_inpaint.network.device import run_windows
    from corkit_inpaint.network.windows import GUIDES, mirrored
    _, frame = case
    plain = fills[1]
    smooth = replace(PCONV_SMOOTH, mirror=True).fill(frame, device="cpu", weights=TABLED)
    assert smooth.how.startswith("mirror-averaged")
    assert plain.how == "" and np.array_equal(plain.values[~frame.missing], smooth.values[~frame.missing])
    assert not np.array_equal(plain.values[frame.missing], smooth.values[frame.missing])
    windows, owned, _ = frame_windows(frame)
    w, m = windows[0], owned[0]                              # check one window's average by hand
    (a, b), _, _ = run_windows(TABLED, [w, mirrored(w)], "cpu")
    assert np.array_equal(mirrored(w).guides[GUIDES.index("biharmonic")][:, ::-1],
                          w.guides[GUIDES.index("biharmonic")])
    y0, y1, x0, x1 = w.box
    z = 0.5 * (a + b[:, ::-1]).astype(np.float64)           # within the clip range here
    expect = frame.stretch.inverse(z * w.scale + w.centre)[m]
    assert np.allclose(smooth.values[y0:y1, x0:x1][m], expect, rtol=1e-5)
    assert not np.allclose(plain.values[y0:y1, x0:x1][m], expect, rtol=1e-5)


def test_the_spread_head_in_a_flat_context_gives_the_tables_floor_not_zero():
    """A hole amid constant pixels: the window's noise is 0 (the head reads none), so the sigma is at least,
    and its cap falls back to, the frame's noise at that level, as the table's unit does: the fill is never
    reported as exact."""
    rng = np.random.default_rng(0)
    img = 1000.0 + 30.0 * rng.standard_normal((256, 256))
    img[:, 128:] = 500.0
    mask = blocks_to_mask(img.shape, [(1, 1), (3, 6)])
    frame = Frame.build(np.where(mask, 0, img), mask)
    flat = blocks_to_mask(img.shape, [(3, 6)])
    headed, tabled = (PCONV_SMOOTH.fill(frame, device="cpu", weights=w) for w in (HEADED, TABLED))
    assert headed.filled[flat].all() and np.all(headed.sigma[flat] > 0)
    ratio = headed.sigma[flat] / tabled.sigma[flat]      # the table's is its coefficient times the same noise
    assert np.all((ratio > 0.3) & (ratio < 3))
    noisy = blocks_to_mask(img.shape, [(1, 1)])          # elsewhere the head's own
    assert not np.allclose(headed.sigma[noisy], tabled.sigma[noisy], rtol=0.05)


def test_mirror_averaging_with_the_spread_head(case):
    """The head's half-widths of a window and of its mirror image (mirrored back) are averaged in log."""
    from dataclasses import replace

    from corkit_inpaint.network.device import run_windows
    from corkit_inpaint.network.windows import mirrored
    _, frame = case
    both = replace(PCONV_SMOOTH, mirror=True).fill(frame, device="cpu", weights=HEADED)
    plain = replace(PCONV_SMOOTH, mirror=True).fill(frame, device="cpu", weights=TABLED)
    assert np.array_equal(both.values, plain.values) and "spread head" in both.how
    windows, owned, _ = frame_windows(frame)
    w, m = windows[0], owned[0]
    (a, b), _, _ = run_windows(HEADED, [w, mirrored(w)], "cpu", spread=True)
    y0, y1, x0, x1 = w.box
    ctx = w.image[w.valid]
    cap = 2 * w.scale * float(ctx.max() - ctx.min()) + w.noise * w.scale
    s = np.minimum(np.exp(0.5 * (a[1] + b[1][:, ::-1]).astype(np.float64)) * w.scale, cap)
    sig = np.zeros(frame.shape)
    sig[y0:y1, x0:x1][m] = s[m]
    expect = to_linear(frame, both.values, frame.missing, sig[frame.missing])
    mine = np.zeros(frame.shape, dtype=bool)
    mine[y0:y1, x0:x1] = m
    np.testing.assert_allclose(both.sigma[mine], expect[mine], rtol=1e-5)


def test_a_textured_draw_stays_within_its_windows_data_and_its_expected_value():
    # a block at the bottom edge of the real C3 frame, where the table's stretched sigma reaches 2: before
    # 0.1.26 a 3.3-sigma draw made one pixel 34736 DN, beside data that reached 1929 DN in its window
    data, header = read_file(C3_FULL)
    mask = blocks_to_mask(data.shape, [(31, 25)])
    frame = Frame.build(blank(data, [(31, 25)]), mask, header)
    tex, smooth = PCONV.fill(frame, device="cpu"), PCONV_SMOOTH.fill(frame, device="cpu")
    (w,), (mine,), _ = frame_windows(frame)
    y0, y1, x0, x1 = w.box
    ctx = frame.image[y0:y1, x0:x1][frame.valid[y0:y1, x0:x1]]
    t, s = tex.values[y0:y1, x0:x1][mine], smooth.values[y0:y1, x0:x1][mine]
    top, bottom = np.maximum(ctx.max(), s), np.minimum(ctx.min(), s)
    # (the stretch's round trip: within 1e-9 relative)
    assert np.all(t <= top * (1 + 1e-9)) and np.all(t >= bottom * (1 - 1e-9))
    # draws past the range are folded back in, not clipped: no plateau at its ends (clipping put a tenth of
    # this block's pixels there; review s33: 3% of a block's by C2's occulter, many on one value)
    at_end = np.isclose(t, top, rtol=1e-9) | np.isclose(t, bottom, rtol=1e-9)
    assert np.mean(at_end) < 0.005 and len(np.unique(t)) > 0.99 * t.size
    assert np.mean(t != s) > 0.99                    # still a texture
    # most draws stayed within the range, on their own side of the expected value; those past it came back
    # reflected, on the other side
    st = frame.stretch
    same_side = (st.forward(t) - st.forward(s)) * (w.texture / w.noise)[mine] > 0
    assert 0.8 < same_side.mean() < 1.0


def test_folding_leaves_the_range_s_inside_unchanged_and_reflects_the_rest():
    from corkit_inpaint.methods.pconv import _folded
    lo, hi = np.zeros(7), np.full(7, 2.0)
    z = np.array([0.3, 2.0, 2.5, -0.5, 5.0, -4.5, 1.999999])
    np.testing.assert_array_equal(_folded(z, lo, hi), [0.3, 2.0, 1.5, 0.5, 1.0, 0.5, 1.999999])
    assert _folded(np.array([3.0]), np.array([1.0]), np.array([1.0]))[0] == 1.0      # an empty range: its value
