"""inpaint_array / inpaint_fits: valid pixels, provenance, INPMASK, determinism, devices."""

import logging

import numpy as np
import pytest
from astropy.io import fits
from helpers import BLANK, blank, read_real, sha, write

import corkit_inpaint as ci
from corkit_inpaint.blocks import blocks_to_mask, find_missing_blocks
from corkit_inpaint.exceptions import InputError, MethodError
from corkit_inpaint.network.registry import registry
from corkit_inpaint.network.weights import resolve_weights
from corkit_inpaint.training.simulator import make_frame


@pytest.mark.parametrize("method", ["pconv", "biharmonic"])
def test_array_valid_pixels_bit_identical(method):
    data, _ = read_real()
    img = blank(data, BLANK).astype(np.float32) * np.float32(1.37)   # any linear unit
    out = ci.inpaint_array(img, method=method, device="cpu")
    mask = blocks_to_mask(img.shape, BLANK)
    assert out.shape == img.shape and out.dtype == np.float64
    assert np.array_equal(out[~mask], img[~mask].astype(np.float64))
    assert np.all(np.isfinite(out)) and np.all(out[mask] > 0)


@pytest.mark.parametrize("dtype", [np.longdouble, np.int64, np.uint64])
def test_array_values_float64_cannot_hold_are_refused(dtype):
    """Battery s36: a longdouble image came back as float64, its valid pixels rounded."""
    data, header = read_real()
    img = blank(data, BLANK).astype(dtype)
    mask = blocks_to_mask(img.shape, BLANK)
    exact = ci.inpaint_array(img, header=header, method="biharmonic")     # every value exact in float64: filled
    assert np.array_equal(exact[~mask], img[~mask].astype(np.float64))
    img[100, 100] = (np.longdouble(1000) + np.longdouble(2) ** -50 if dtype is np.longdouble
                     else dtype(2 ** 53 + 1))
    if dtype is np.longdouble and np.longdouble(img[100, 100]) == float(img[100, 100]):
        pytest.skip("this platform's longdouble is float64")           # the integer cases need no long double
    with pytest.raises(ValueError, match=f"^the image's {np.dtype(dtype)} values are not all exact in float64"):
        ci.inpaint_array(img, header=header, method="biharmonic")


def test_array_explicit_mask_and_errors():
    data, _ = read_real()
    img = data.astype(float)
    mask = np.zeros(img.shape, bool)
    mask[200:210, 300:330] = True                 # any mask, not only blocks
    img_nan = img.copy()
    img_nan[mask] = np.nan                        # NaN inside the mask is fine
    out = ci.inpaint_array(img_nan, mask, method="biharmonic")
    assert np.array_equal(out[~mask], img[~mask]) and np.all(np.isfinite(out))
    with pytest.raises(ValueError, match="2-D"):
        ci.inpaint_array(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="mask shape"):
        ci.inpaint_array(img, mask[:10])
    with pytest.raises(ValueError, match="NaN"):
        ci.inpaint_array(img_nan, None)
    with pytest.raises(ValueError, match="unknown inpainting method"):
        ci.inpaint_array(img, mask, method="nope")
    for odd in (["biharmonic"], 3, None):      # battery s36: a list raised TypeError (unhashable) from the lookup
        with pytest.raises(MethodError, match=f"method: expected a method name or a FillMethod, got "
                                              f"{type(odd).__name__}"):
            ci.inpaint_array(img, mask, method=odd)


def test_fits_provenance_and_mask(blanked_file, tmp_path):
    before = sha(blanked_file)
    dst = tmp_path / "out.fts"
    hdul = ci.inpaint_fits(blanked_file, dst, device="cpu")
    assert sha(blanked_file) == before
    src_data = fits.getdata(blanked_file)
    with fits.open(dst) as h:
        hdr, out, inpmask = h[0].header, h[0].data, h["INPMASK"].data
        assert h[1].header["EXTNAME"] == "INPMASK" and inpmask.dtype == np.uint8
    w = resolve_weights(None)
    assert hdr["INPAINT"] == "pconv-smooth"          # the default: the expected value, with its sigma
    assert hdr["INPMODEL"] == registry()["default"]
    assert hdr["INPWSHA"] == w.sha256[:16] == registry()["models"][hdr["INPMODEL"]]["sha256"][:16]
    assert hdr["INPVER"] == ci.__version__
    assert hdr["INPDEV"] == "cpu" and hdr["INPPREC"] == "float32"
    assert "on cpu in float32," in " ".join(str(c) for c in hdr["HISTORY"])
    assert hdr["INPNBLK"] == len(BLANK)
    assert hdr["INPNPIX"] == len(BLANK) * 1024 == int(inpmask.sum())
    assert any("corkit-inpaint" in str(c) and "filled 10 missing blocks" in str(c) for c in hdr["HISTORY"])
    assert hdr["DETECTOR"].strip() == "C2" and hdr["OFFSET"] == pytest.approx(582.143)
    assert out.dtype == src_data.dtype == np.dtype(">i4")
    filled = inpmask.astype(bool)
    np.testing.assert_array_equal(filled, blocks_to_mask(out.shape, BLANK))
    assert np.array_equal(out[~filled], src_data[~filled])          # bit-identical valid pixels
    assert np.all(out[filled] > 0)                                  # holes really filled
    assert find_missing_blocks(out, hdr)[1] == []
    assert np.array_equal(hdul[0].data, out)


def test_no_missing_blocks_passes_through(tmp_path):
    data, header = read_real()
    src = write(tmp_path / "clean.fts", data, header)
    hdul = ci.inpaint_fits(src, tmp_path / "o.fts")
    assert hdul[0].header["INPNBLK"] == 0 and hdul[0].header["INPNPIX"] == 0
    assert hdul[0].header["INPAINT"] == "none"             # as level_1 writes it: nothing was filled
    assert np.array_equal(hdul[0].data, data) and hdul["INPMASK"].data.sum() == 0


def test_integer_rounding_and_clipping(tmp_path):
    from corkit_inpaint.fill import cast_filled
    from corkit_inpaint.frame import Frame
    data, header = read_real()
    img = (blank(data, [(5, 7)]) // 4).astype(np.int16)     # int16 DN near the bright inner ring, none wrapped
    src = write(tmp_path / "i16.fts", img, header)
    hdul = ci.inpaint_fits(src, method="biharmonic")
    out = hdul[0].data
    assert out.dtype.kind == "i" and out.dtype.itemsize == 2
    filled = hdul["INPMASK"].data.astype(bool)
    ref = ci.get_method("biharmonic").fill(Frame.build(img, filled, fits.getheader(src))).values
    np.testing.assert_array_equal(out[filled], np.clip(np.rint(ref[filled]), -32768, 32767))
    # values beyond the type's range are clipped, not wrapped (but see test_wrap: a summed frame's are)
    m = np.ones(4, bool)
    got = cast_filled(np.array([1e6, -1e6, 2.5, 3.5]), np.zeros(4, np.int16), m)
    assert got.tolist() == [32767, -32768, 2, 4]


def test_cpu_is_deterministic(blanked_file):
    a = ci.inpaint_fits(blanked_file, device="cpu")[0].data
    b = ci.inpaint_fits(blanked_file, device="cpu")[0].data
    assert np.array_equal(a, b)


def test_cuda_failure_falls_back_to_cpu(blanked_file, caplog):
    import torch
    if torch.cuda.is_available():
        pytest.skip("a real GPU is present; this checks the failure path on CPU-only torch")
    from corkit_inpaint.network import device
    ref = ci.inpaint_fits(blanked_file, device="cpu")
    device._WARNED.clear()                                       # warned once per process: forget earlier tests'
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = ci.inpaint_fits(blanked_file, device="cuda")       # CPU-only torch: cuda raises
    assert caplog.text.count("falling back to the CPU") == 1     # not again for the check of its sigma
    assert got[0].header["INPDEV"] == "cpu"
    assert np.array_equal(got[0].data, ref[0].data)


def test_inpprec_is_the_precision_the_network_ran_in(blanked_file):
    """With a float16 batcher enabled (a GPU batch run with --precision float16), a fill on the CPU, or one
    that fell back to it, records float32, as its values are float32's; a GPU fill would record float16.
    A method without a network records none."""
    import torch

    from corkit_inpaint.network.batcher import disable_batching, enable_batching
    ref = ci.inpaint_fits(blanked_file, device="cpu")
    enable_batching(precision="float16")
    try:
        cpu = ci.inpaint_fits(blanked_file, device="cpu")
        gpu = ci.inpaint_fits(blanked_file, device="cuda")        # CPU-only torch: falls back to the CPU
    finally:
        disable_batching()
    assert (cpu[0].header["INPDEV"], cpu[0].header["INPPREC"]) == ("cpu", "float32")
    assert np.array_equal(cpu[0].data, ref[0].data)
    want = ("cuda", "float16") if torch.cuda.is_available() else ("cpu", "float32")
    assert (gpu[0].header["INPDEV"], gpu[0].header["INPPREC"]) == want
    assert f"on {want[0]} in {want[1]}," in " ".join(str(c) for c in gpu[0].header["HISTORY"])
    assert ci.inpaint_fits(blanked_file, method="biharmonic")[0].header["INPPREC"] == "none"


@pytest.mark.parametrize("det,summed", [("C3", False), ("C2", False), ("C3", True)])
def test_sizes_full_summed(det, summed, tmp_path):
    img, hdr = make_frame(11, detector=det, summed=summed)      # its never-sent blocks are not losses
    nb = img.shape[0] // 32
    blocks = [(nb // 2 + 4, nb // 2 + 4), (nb // 2 - 5, nb // 2 + 1), (nb // 2 - 5, nb // 2 + 2)]
    src = write(tmp_path / "s.fts", blank(img, blocks), hdr)
    hdul = ci.inpaint_fits(src, device="cpu")
    assert hdul[0].header["INPNBLK"] == 3
    m = hdul["INPMASK"].data.astype(bool)
    assert np.array_equal(hdul[0].data[~m], blank(img, blocks)[~m])
    truth = img[m].astype(float) - hdr["OFFSET"]
    got = hdul[0].data[m].astype(float) - hdr["OFFSET"]
    assert np.median(np.abs(got - truth) / np.abs(truth).clip(1)) < 0.2    # a sane fill, not noise


def test_subfield_not_multiple_of_16():
    data, header = read_real()
    sub = blank(data, [(1, 3), (2, 3)])[0:150, 0:300].astype(np.float64)     # 150 x 300
    sub[128:150, 288:300] = 0                                    # the 22 x 12 corner edge block
    mask, blocks = find_missing_blocks(sub)
    assert sorted(blocks) == [(1, 3), (2, 3), (4, 9)]
    out = ci.inpaint_array(sub, method="pconv", device="cpu")
    assert out.shape == sub.shape and np.array_equal(out[~mask], sub[~mask])
    assert np.all(np.isfinite(out)) and np.all(out[mask] > 0)


def test_hole_without_context_is_left_masked(tmp_path):
    img = np.zeros((256, 256), np.int32)
    img[192:256, 192:256] = 5000                     # signal only far from the hole
    img[32:64, 32:64] = 0
    mask = np.zeros(img.shape, bool)
    mask[32:64, 32:64] = True
    out = ci.inpaint_array(img, mask, method="pconv", device="cpu")
    assert np.array_equal(out, img.astype(float))    # declined: nothing invented, nothing flagged


@pytest.mark.parametrize("name, said", [("", "an empty path"), ("   ", "a name of blanks only")])
def test_an_empty_or_blank_file_name_is_said_so(blanked_file, name, said):
    """Battery s36: ``""`` as ``dst`` was ".: is a folder"; a name of blanks only was then called empty."""
    for args in ((name,), (blanked_file, name)):
        with pytest.raises(InputError, match=f"^{'src' if len(args) == 1 else 'dst'}: {said}; give a file name$"):
            ci.inpaint_fits(*args, method="biharmonic")


def test_inpaint_fits_never_replaces_its_input(blanked_file, tmp_path):
    before = sha(blanked_file)
    with pytest.raises(ci.InputError, match="is the input file"):
        ci.inpaint_fits(blanked_file, blanked_file, overwrite=True, method="biharmonic")
    link = tmp_path / "link.fts"
    link.symlink_to(blanked_file)
    with pytest.raises(ci.InputError, match="is the input file"):
        ci.inpaint_fits(blanked_file, link, overwrite=True, method="biharmonic")
    assert sha(blanked_file) == before and link.is_symlink()


def test_inpaint_fits_never_writes_over_its_weights_file(blanked_file, tmp_path):
    """Battery s32: ``dst`` naming the ``weights`` file replaced the weights with the output."""
    weights = tmp_path / "mine.pt"
    weights.write_bytes(resolve_weights().path.read_bytes())
    before = sha(weights)
    with pytest.raises(ci.InputError, match="is the input file"):
        ci.inpaint_fits(blanked_file, weights, overwrite=True, weights=weights, device="cpu")
    assert sha(weights) == before


def test_errors_are_input_errors_for_string_keywords():
    data, header = read_real()
    hdr = header.copy()
    hdr["SUMROW"] = "two"
    with pytest.raises(ci.InputError, match="SUMROW"):
        ci.inpaint_array(blank(data, BLANK).astype(float), header=hdr, method="biharmonic")


def test_fits_filled_from_neighbouring_files(tmp_path):
    from helpers import seq_files
    (f0, f1, f2), truth, blocks = seq_files(tmp_path)
    shas = [sha(p) for p in (f0, f1, f2)]
    out = tmp_path / "out.fts"
    hdul = ci.inpaint_fits(f1, out, neighbours=[f0, f2], method="ratio")
    h = hdul[0].header
    assert h["INPNNB"] == 2 and (h["INPNB1"], h["INPNB2"]) == ("32310943.fts", "32310945.fts")
    assert (h["INPDT1"], h["INPDT2"]) == (-720.092, 719.991)
    assert "neighbouring frames 32310943.fts (-720 s), 32310945.fts (+720 s)" in " ".join(
        str(v) for v in h["HISTORY"])
    alone = ci.inpaint_fits(f1, neighbours=None, method="ratio")[0]
    assert alone.header["INPNNB"] == 0 and "INPNB1" not in alone.header
    for one in (str(f0), f0):                                   # one file, as a str or a Path: not its characters
        h1 = ci.inpaint_fits(f1, neighbours=one, method="ratio")[0].header
        assert h1["INPNNB"] == 1 and h1["INPNB1"] == "32310943.fts"
    hole = blocks_to_mask(truth.shape, blocks)
    err = lambda d: np.sqrt(np.mean((d[hole].astype(float) - truth[hole]) ** 2))
    assert err(hdul[0].data) < 0.75 * err(alone.data)
    blanked = fits.getdata(f1)
    assert np.array_equal(hdul[0].data[~hole], blanked[~hole])
    assert [sha(p) for p in (f0, f1, f2)] == shas                      # inputs and neighbours only read
    with pytest.raises(ci.InputError, match="input file"):
        ci.inpaint_fits(f1, f2, neighbours=[f0, f2], overwrite=True)
    assert sha(f2) == shas[2]


def test_another_days_frame_alone_is_left_out(tmp_path, caplog):
    """A lone neighbour from another day made the network's fill worse than the frame alone; beyond
    ``max_gap`` it is left out, so the fill is the frame's own bit for bit. ``max_gap=None`` reads it."""
    from helpers import C3_FULL, seq_files
    (f0, f1, f2), truth, blocks = seq_files(tmp_path)
    alone = ci.inpaint_fits(f1, method="pconv-smooth", threads=1)
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        gated = ci.inpaint_fits(f1, neighbours=[C3_FULL], method="pconv-smooth", threads=1)
    assert f"{C3_FULL} (32219521.fts) left out" in caplog.text       # its path, and its FILENAME
    assert gated[0].header["INPNNB"] == 0 and "INPNB1" not in gated[0].header
    assert np.array_equal(gated[0].data, alone[0].data)
    assert np.array_equal(gated["INPSIGMA"].data, alone["INPSIGMA"].data)
    read = ci.inpaint_fits(f1, neighbours=[C3_FULL], method="pconv-smooth", threads=1, max_gap=None)[0]
    assert read.header["INPNNB"] == 1 and read.header["INPNB1"] == "32219521.fts"
    hole = blocks_to_mask(truth.shape, blocks)
    err = lambda d: np.sqrt(np.mean((d[hole].astype(float) - truth[hole]) ** 2))
    assert err(read.data) > err(alone[0].data)                # why it is left out
    near = ci.inpaint_fits(f1, neighbours=[f0, C3_FULL], method="pconv-smooth", threads=1)[0]
    assert near.header["INPNNB"] == 1 and near.header["INPNB1"] == "32310943.fts"


@pytest.mark.parametrize("bad", [-1, float("nan"), "60", True])
def test_a_bad_max_gap_is_one_line_whatever_the_method(tmp_path, bad):
    """Checked before anything is read, also for a method that reads no neighbours."""
    data, hdr = read_real()
    src = write(tmp_path / "holes.fts", blank(data, BLANK), hdr)
    for call in (lambda: ci.inpaint_fits(src, tmp_path / "o.fts", method="biharmonic", max_gap=bad),
                 lambda: ci.inpaint_array(blank(data, BLANK).astype(float), header=hdr, method="biharmonic",
                                          max_gap=bad)):
        with pytest.raises(ci.InputError, match="max_gap") as ei:      # a CorkitInpaintError and a ValueError
            call()
        assert "\n" not in str(ei.value)
    assert not (tmp_path / "o.fts").exists()


def test_array_with_neighbour_pairs_keeps_valid_pixels():
    from helpers import C3_SEQ, read_file
    (d0, h0), (d1, h1) = read_file(C3_SEQ[0]), read_file(C3_SEQ[1])
    mask = blocks_to_mask(d1.shape, [(10, 20), (20, 10)])
    out = ci.inpaint_array(d1, mask, header=h1, neighbours=[(d0, h0)], method="ratio")
    assert np.array_equal(out[~mask], d1[~mask])
    assert np.abs(out[mask] - d1[mask]).mean() < 0.7 * np.abs(
        ci.inpaint_array(d1, mask, header=h1, method="ratio")[mask] - d1[mask]).mean()
    with pytest.raises(ci.InputError, match="pair"):
        ci.inpaint_array(d1, mask, header=h1, neighbours=[d0], method="ratio")
    with pytest.raises(ci.InputError, match="earlier-fill mask has shape"):
        ci.inpaint_array(d1, mask, header=h1, neighbours=[(d0, h0, np.zeros((3, 3), bool))], method="ratio")


@pytest.mark.parametrize("image", [np.full((64, 64), None, dtype=object), np.zeros((0, 0)),
                                   np.ones((64, 64), complex), np.full((64, 64), "a")])
def test_an_image_that_is_not_real_numbers_is_one_line(image):
    with pytest.raises(ci.InputError, match="expected a non-empty image of real numbers"):
        ci.inpaint_array(image, method="biharmonic")


def test_neighbours_given_as_something_else_than_paths_are_one_line(tmp_path):
    from helpers import REAL
    with pytest.raises(ci.InputError, match="expected file paths, got"):
        ci.inpaint_fits(REAL, tmp_path / "o.fts", neighbours=[123], method="ratio")


def test_neighbour_files_are_not_read_for_a_method_that_ignores_them(tmp_path, caplog):
    from helpers import seq_files
    (f0, f1, f2), _, _ = seq_files(tmp_path)
    missing = tmp_path / "gone.fts"
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        h = ci.inpaint_fits(f1, neighbours=[missing], method="biharmonic")[0].header
    assert h["INPNNB"] == 0 and "left out" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        ci.inpaint_fits(f1, neighbours=[missing], method="ratio")
    assert "neighbouring frame left out" in caplog.text


def test_fits_inpsigma_from_a_method_with_sigma_and_ccddata(blanked_file, tmp_path):
    from astropy.nddata import CCDData, StdDevUncertainty
    from helpers import sigma_method
    dst = tmp_path / "s.fts"
    hdul = ci.inpaint_fits(blanked_file, dst, method=sigma_method())
    src_data = fits.getdata(blanked_file)
    with fits.open(dst) as h:
        assert [x.name for x in h] == ["PRIMARY", "INPMASK", "INPSIGMA"]
        out, mask, sig = h[0].data, h["INPMASK"].data.astype(bool), h["INPSIGMA"].data
        assert h[0].header["INPSIGMA"] is True and h["INPSIGMA"].header["BUNIT"] == "DN"
        fac = h[0].header["INPSGFAC"]                   # the method's sigma, checked on the frame's own blocks
        assert h[0].header["INPSGBLK"] == 2 and fac != 1.0
    assert np.array_equal(out[~mask], src_data[~mask])                     # valid pixels bit-identical
    assert np.array_equal(hdul["INPSIGMA"].data, sig)
    assert sig.dtype == np.dtype(">f4") and np.all(sig[~mask] == 0) and np.all(sig[mask] >= 3.0 * fac)
    # 3 DN + 1% of the filled value, as stored before rounding, times the checked factor (rounded to 4 digits)
    np.testing.assert_allclose(sig[mask], fac * (3.0 + 0.01 * np.abs(out[mask])), atol=0.006 * fac, rtol=2e-4)
    ccd = CCDData.read(dst, hdu_uncertainty="INPSIGMA", hdu_mask="INPMASK", unit="DN")
    assert isinstance(ccd.uncertainty, StdDevUncertainty) and np.array_equal(ccd.uncertainty.array, sig)
    assert np.array_equal(ccd.mask, mask)


def test_array_returns_the_checked_sigma_that_inpaint_fits_writes(blanked_file, tmp_path):
    """Review s33: an array user had no way to the 1-sigma (``inpaint_array`` dropped it)."""
    from helpers import legacy_method
    hdul = ci.inpaint_fits(blanked_file, tmp_path / "f.fts")
    data, header = fits.getdata(blanked_file), fits.getheader(blanked_file)
    filled, sigma = ci.inpaint_array(data, header=header, device="cpu", return_sigma=True)
    mask = hdul["INPMASK"].data.astype(bool)
    assert np.array_equal(filled, ci.inpaint_array(data, header=header, device="cpu"))      # the same values
    assert np.array_equal(np.round(filled[mask]), hdul[0].data[mask])
    assert sigma.dtype == np.float64 and np.all(sigma[~mask] == 0) and np.all(sigma[mask] > 0)
    assert hdul[0].header["INPSGFAC"] != 1.0          # the check's factor is in it, as in INPSIGMA
    np.testing.assert_array_equal(sigma.astype(np.float32), hdul["INPSIGMA"].data)
    assert ci.inpaint_array(data, header=header, method=legacy_method(), return_sigma=True)[1] is None
    # a frame with nothing to fill: a sigma of 0 everywhere, whatever the method (review s33: pconv-smooth gave
    # None, biharmonic zeros)
    whole, _ = read_real()
    for method in ("pconv-smooth", "biharmonic"):
        out, sig = ci.inpaint_array(whole, header=header, method=method, device="cpu", return_sigma=True)
        assert np.array_equal(out, whole) and sig.shape == whole.shape and not sig.any()

def test_fits_without_sigma_has_no_inpsigma(blanked_file):
    from helpers import legacy_method
    hdul = ci.inpaint_fits(blanked_file, method=legacy_method())
    assert "INPSIGMA" not in [h.name for h in hdul] and hdul[0].header["INPSIGMA"] is False
    assert "no uncertainty" in " ".join(str(v) for v in hdul[0].header["HISTORY"])


def test_fits_refill_keeps_the_earlier_inpsigma(tmp_path):
    from helpers import sigma_method
    data, header = read_real()
    first = ci.inpaint_fits(write(tmp_path / "a.fts", blank(data, BLANK[:3]), header), tmp_path / "b.fts",
                            method=sigma_method())
    old = first["INPSIGMA"].data.copy()
    again = tmp_path / "c.fts"                  # the output, with two more blocks lost
    fits.HDUList([fits.PrimaryHDU(blank(first[0].data, BLANK[3:5]), first[0].header), first["INPMASK"],
                  first["INPSIGMA"]]).writeto(again, output_verify="ignore")
    out = ci.inpaint_fits(again, method=sigma_method(), refill=True)
    kept, new = blocks_to_mask(data.shape, BLANK[:3]), blocks_to_mask(data.shape, BLANK[3:5])
    sig = out["INPSIGMA"].data
    assert np.array_equal(sig[kept], old[kept]) and np.all(sig[new] >= 3.0) and np.all(sig[~(kept | new)] == 0)
    assert np.array_equal(out["INPMASK"].data.astype(bool), kept | new)


def test_paths_and_headers_of_the_wrong_type_are_input_errors(tmp_path):
    """A dst that is not a path was a TypeError, a string header was taken silently (review s13, D5)."""
    data, hdr = read_real()
    src = write(tmp_path / "holes.fts", blank(data, BLANK), hdr)
    for call, match in ((lambda: ci.inpaint_fits(src, 5), "dst: expected a file path, got int"),
                        (lambda: ci.inpaint_fits(7), "src: expected a file path, got int"),
                        (lambda: ci.inpaint_array(blank(data, BLANK), header="C3"), "header: expected")):
        with pytest.raises(ci.InputError, match=match):
            call()
    existing = write(tmp_path / "there.fts", data, hdr)
    with pytest.raises(ci.InputError, match="nope.fts: no such file"):       # not "exists"
        ci.inpaint_fits(tmp_path / "nope.fts", existing)


def test_the_inputs_other_extensions_are_carried_into_the_output(blanked_file, tmp_path):
    """FITS in, FITS out: a table and a further image of the input follow INPMASK and INPSIGMA (review s16)."""
    with fits.open(blanked_file) as h:
        hdul = fits.HDUList([h[0].copy(), fits.BinTableHDU.from_columns(
            [fits.Column("T", "D", array=[1.5, 2.5])], name="EVENTS"), fits.ImageHDU(np.eye(3), name="FLAT")])
        hdul.writeto(tmp_path / "in.fts", output_verify="ignore")
    out = ci.inpaint_fits(tmp_path / "in.fts", tmp_path / "out.fts", method="biharmonic", device="cpu")
    assert [x.name for x in out] == ["PRIMARY", "INPMASK", "INPSIGMA", "EVENTS", "FLAT"]
    with fits.open(tmp_path / "out.fts") as o:
        assert o["EVENTS"].data["T"].tolist() == [1.5, 2.5] and np.array_equal(o["FLAT"].data, np.eye(3))
        assert o["INPMASK"].data.sum() == len(BLANK) * 32 * 32


def test_an_extras_stale_checksums_are_removed_and_an_unreadable_extra_is_left_out(blanked_file, tmp_path, caplog):
    """Review s16: a scaled integer extension comes out as float, so its CHECKSUM would fail; a trailing table
    cut short does not cost the fill (nor a neighbour, whose extensions are never read)."""
    import os
    import warnings
    scaled = fits.ImageHDU(np.arange(6, dtype=np.int16).reshape(2, 3), name="AUX")
    scaled.scale("int16", bscale=0.5, bzero=10)
    with fits.open(blanked_file) as h:
        fits.HDUList([h[0].copy(), scaled]).writeto(tmp_path / "in.fts", output_verify="ignore", checksum=True)
    ci.inpaint_fits(tmp_path / "in.fts", tmp_path / "out.fts", method="biharmonic", device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(tmp_path / "out.fts", checksum=True) as o:
            assert "CHECKSUM" not in o["AUX"].header and o["AUX"].data.tolist() == [[0, 1, 2], [3, 4, 5]]
    table = fits.BinTableHDU.from_columns([fits.Column("T", "D", array=np.arange(2000.0))], name="TAB")
    with fits.open(blanked_file) as h:
        fits.HDUList([h[0].copy(), table]).writeto(tmp_path / "cut.fts", output_verify="ignore")
    os.truncate(tmp_path / "cut.fts", os.path.getsize(tmp_path / "cut.fts") - 8000)   # the table's data cut short
    out = ci.inpaint_fits(tmp_path / "cut.fts", method="biharmonic", device="cpu")
    assert [x.name for x in out] == ["PRIMARY", "INPMASK", "INPSIGMA"] and out["INPMASK"].data.any()
    assert "extension 1 (TAB) cannot be read" in caplog.text
    from corkit_inpaint.read import read_neighbours
    assert len(read_neighbours([tmp_path / "cut.fts"])) == 1


def test_arguments_of_the_wrong_type_are_the_package_s_one_line_errors(tmp_path):
    """Battery: ``weights=5`` and ``neighbours=5`` raised TypeError, and ``max_pixels=-1`` was taken as a limit."""
    from corkit_inpaint.exceptions import CorkitInpaintError
    data, header = read_real()
    test = blank(data, BLANK)
    src = write(tmp_path / "in.fts", test, header)
    calls = [lambda: ci.inpaint_array(test, header=header, weights=5),
             lambda: ci.inpaint_array(test, header=header, neighbours=5),
             lambda: ci.inpaint_array(test, header=header, neighbours="abc"),
             lambda: ci.inpaint_fits(src, tmp_path / "a.fts", neighbours=5),
             lambda: ci.inpaint_fits(src, tmp_path / "b.fts", max_pixels=-1),
             lambda: ci.inpaint_fits(src, tmp_path / "c.fts", max_pixels=2.5)]
    ci.inpaint_fits(src, tmp_path / "d.fts", method="biharmonic", max_pixels=2e7)      # a whole float is a number
    for i, call in enumerate(calls):
        with pytest.raises(CorkitInpaintError) as ei:
            call()
        assert "\n" not in str(ei.value), i
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.fts", "in.fts"]


def test_inpaint_array_warns_of_a_header_that_leaves_losses_unfilled(caplog):
    """Battery s36: with CRPIX putting the Sun off the image, inpaint_array returned every lost block as zeros
    and logged nothing, where the file path warns; it now warns the same way."""
    data, header = read_real()
    img = data.copy()
    img[96:128, 128:160] = 0
    hdr = header.copy()
    hdr["CRPIX1"] = hdr["CRPIX2"] = 5000.0
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        out = ci.inpaint_array(img, header=hdr, method="biharmonic")
    assert np.array_equal(out, img) and "the header puts the Sun centre at x=4999, y=4999, outside" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        out = ci.inpaint_array(img, header=header, method="biharmonic")
    assert not np.array_equal(out, img) and caplog.text == ""


def test_switches_must_be_true_or_false(blanked_file, tmp_path):
    """Battery s36: ``overwrite="no"`` replaced an existing output (any text is true), and so did "no" for
    ``refill`` and ``return_sigma``: each is now refused in one line, and the output left as it was."""
    data, header = read_real()
    out = tmp_path / "out.fts"
    out.write_bytes(b"keep me")
    for kw in ("overwrite", "refill"):
        with pytest.raises(InputError, match=f"^{kw}='no': give True or False$"):
            ci.inpaint_fits(blanked_file, out, method="biharmonic", **{kw: "no"})
    assert out.read_bytes() == b"keep me"
    with pytest.raises(InputError, match="^return_sigma=1: give True or False$"):
        ci.inpaint_array(blank(data, BLANK), header=header, method="biharmonic", return_sigma=1)
    ci.inpaint_fits(blanked_file, out, method="biharmonic", overwrite=np.bool_(True))
    assert out.read_bytes() != b"keep me"


def test_inpaint_array_refuses_a_header_that_contradicts_itself():
    """Battery s36: a header saying C3 on the C2 frame (CDELT 23.8 arcsec/px) was taken by inpaint_array, which
    then filled 12 blocks, 8 of them C3's never-sent occulter ring; inpaint_fits and inpaint_map refused it."""
    data, header = read_real()
    hdr = header.copy()
    hdr["DETECTOR"] = "C3"
    with pytest.raises(InputError, match="^header: DETECTOR = 'C3' with CDELT1 = 23.8 arcsec/px.*contradicts itself$"):
        ci.inpaint_array(blank(data, BLANK), header=hdr, method="biharmonic")


def test_a_bad_device_or_a_url_for_weights_is_named_as_given(blanked_file):
    """Battery s36: device='bogus' passed with a method that runs no network (the default refused it), and a URL
    given as weights was named with its '//' folded."""
    data, header = read_real()
    with pytest.raises(InputError, match="device 'bogus' is not a torch device"):
        ci.inpaint_array(blank(data, BLANK), header=header, method="biharmonic", device="bogus")
    from corkit_inpaint.exceptions import WeightsError
    with pytest.raises(WeightsError, match="^weights file http://10.0.0.1/x.pt does not exist$"):
        ci.inpaint_fits(blanked_file, weights="http://10.0.0.1/x.pt")
