"""CorKit level 1 with the fill: the real corkit 1.0.16, stand-in calibration files, synthetic and real frames."""

import contextlib
import io
import math
import tempfile
from pathlib import Path

import corkit.lasco
import corkit.reconstruction
import corkit.utils
import numpy as np
import pytest
from astropy.io import fits
from helpers import (
    BLANK,
    C2_FULL,
    REAL,
    blank,
    frame_files,
    legacy_method,
    read_file,
    read_real,
    sha,
    sigma_method,
    truncated_cards,
    write,
)

import corkit_inpaint as ci
from corkit_inpaint.corkit_bridge import c3_args, corkit_calibration_dir
from corkit_inpaint.corkit_missing import missing_floor
from corkit_inpaint.exceptions import CalibrationError, InputError
from corkit_inpaint.level1 import level1_hdulist, level_1, output_name


def corkit_reference(path, calib, detector, *, as_is=False):
    """corkit's own level 1 of a file, with the same switched-off network step.

    Unless ``as_is``, of a copy whose pixels without data (0) are one DN above corkit's missing level where the
    pixel at the transposed position holds data, as `level_1` gives them to corkit: so that corkit's transposed
    missing-pixel mask does not zero that valid pixel (`level_1` then zeroes what reads the no-data pixel, and
    flags it in INPMASK).
    """
    if not as_is:
        data, hdr = read_file(path)
        with corkit_calibration_dir(calib):
            floor = missing_floor(hdr, detector)
        struck = (data == 0) & (data.T > floor)
        if struck.any():
            with tempfile.TemporaryDirectory() as tmp:
                raised = write(Path(tmp) / path.name, np.where(struck, math.floor(floor) + 1, data).astype(data.dtype),
                               hdr)
                return corkit_reference(raised, calib, detector, as_is=True)
    with corkit_calibration_dir(calib), contextlib.redirect_stdout(io.StringIO()):
        img, hdr = corkit.lasco.level_1(str(path), None, "fits", *(c3_args() if detector == "C3" else ()))
    return np.asarray(img, dtype=np.float64), hdr


@pytest.mark.parametrize("det,summed", [("C2", False), ("C2", True), ("C3", False), ("C3", True)])
def test_level1_fill_matches_corkit_outside_inpmask(det, summed, tmp_path, calib):
    orig, holes, blocks = frame_files(tmp_path, det, summed)
    before = sha(holes)
    img, hdr, m = level_1(holes, calib_dir=calib, device="cpu", return_mask=True)
    assert sha(holes) == before                                           # input untouched
    ref, _ = corkit_reference(orig, calib, det)
    img = np.asarray(img, dtype=np.float64)
    inp = m.astype(bool)
    assert img.shape == ref.shape == m.shape
    np.testing.assert_allclose(img[~inp], ref[~inp], rtol=1e-6, atol=0)   # corkit's own result elsewhere
    # INPMASK covers the blocks, and what reads the frame's own pixels without data (as in its level 1 without
    # holes, where they read 0), and nothing else: about a block's area per block, in one piece each
    _, _, no_data = level_1(orig, calib_dir=calib, inpaint=None, return_mask=True)
    no_data = no_data.astype(bool)
    assert np.all(img[no_data] == 0)
    per_block = (inp & ~no_data).sum() / len(blocks) / 1024
    assert 0.9 < per_block < 1.5
    # one INPMASK piece per cluster of blocks: (nb/2-5, nb/2+1) and (nb/2-5, nb/2+2) touch
    from scipy import ndimage
    assert ndimage.label(inp & ~no_data, np.ones((3, 3)))[1] == 3
    # the fill really reaches level 1: pixels that depend on the fill change with the method...
    img_b, _, m_b = level_1(holes, calib_dir=calib, inpaint="biharmonic", return_mask=True)
    changed = np.asarray(img_b, dtype=np.float64) != img
    assert np.array_equal(m_b, m) and changed.any() and not (changed & ~inp).any()
    # ...and no hole remains in the field of view: where corkit's level 1 of the full
    # frame has signal, the filled one has too
    fov = ref != 0
    assert np.all(img[inp & fov & ~no_data] != 0)
    for key in ("INPAINT", "INPMODEL", "INPWSHA", "INPVER", "INPDEV", "INPNBLK", "INPNPIX"):
        assert key in hdr
    assert hdr["INPAINT"] == "pconv-smooth" and hdr["INPNBLK"] == len(blocks) and hdr["INPNPIX"] == len(blocks) * 1024
    assert any("corkit-inpaint" in str(h) for h in hdr["HISTORY"])


def _first_block_only(name="first-block"):
    """A real `FillMethod` that fills the first missing block (biharmonic) and leaves the others masked."""
    from dataclasses import dataclass, replace

    from corkit_inpaint.blocks import blocks_of, blocks_to_mask
    from corkit_inpaint.methods import FillMethod, Provenance, get_method

    @dataclass(frozen=True)
    class FirstBlock(FillMethod):
        def fill(self, frame, *, neighbours=(), device="auto", weights=None):
            res = get_method("biharmonic").fill(frame, device=device)
            keep = res.filled & blocks_to_mask(frame.shape, blocks_of(frame.missing)[:1])
            return replace(res, values=np.where(keep, res.values, frame.image), filled=keep,
                           provenance=Provenance(self.name), skipped="the other blocks left masked")

    return FirstBlock(name=name)


@pytest.mark.parametrize("det,summed", [("C2", True), ("C3", False)])
def test_level1_without_fill_flags_the_holes_and_alters_no_valid_pixel(det, summed, tmp_path, calib):
    # corkit's transposed missing-block mask would zero (C3 Clear: brighten) the valid pixels at the holes'
    # transposed positions: the holes reach corkit above its missing level, and what reads them is zeroed after
    orig, holes, blocks = frame_files(tmp_path, det, summed)
    ref, _ = corkit_reference(orig, calib, det)
    img, hdr, m = level_1(holes, calib_dir=calib, inpaint=None, return_mask=True)
    _, _, m_fill = level_1(holes, calib_dir=calib, inpaint="biharmonic", return_mask=True)
    img, gone = np.asarray(img, dtype=np.float64), m.astype(bool)
    assert hdr["INPAINT"] == "none" and hdr["INPNBLK"] == 0
    assert np.array_equal(m, m_fill)                # the level-1 pixels that read a hole, as a fill flags them
    np.testing.assert_allclose(img[~gone], ref[~gone], rtol=1e-6, atol=0)      # every other pixel is corkit's
    assert np.all(img[gone] == 0) and (ref[gone] != 0).mean() > 0.9     # 0 as corkit marks no data (C3 Clear: count)
    text = " ".join(str(h) for h in hdr["HISTORY"])
    assert f"{len(blocks)} missing blocks left masked" in text and "set to 0 and flagged in INPMASK" in text
    assert truncated_cards(hdr) == []
    level_1(holes, tmp_path / "out", calib_dir=calib, inpaint=None)                # written: as corkit's no data
    with fits.open(tmp_path / "out" / output_name(holes)) as h:
        np.testing.assert_allclose(h[0].data[gone], hdr.get("BZERO", 0.0), rtol=1e-7, atol=0)   # count 0, scaled
        assert np.array_equal(h["INPMASK"].data, m)


@pytest.mark.parametrize("above", [0.9, 5.0])
def test_holes_clear_corkit_s_own_bias_from_its_expfactor_file(above, tmp_path, calib):
    """Review s34: corkit takes its bias from the day's expfactor file where it has one, not from OFFSET; holes
    given one DN above OFFSET were still missing to corkit when that bias was 0.9 DN higher, and 9,172 valid
    pixels were zeroed outside INPMASK, in silence."""
    import shutil
    from datetime import datetime
    folder = tmp_path / "calib"
    shutil.copytree(calib, folder)
    data, hdr = read_file(C2_FULL)
    day = datetime.strptime(hdr["DATE-OBS"], "%Y/%m/%d")
    table = folder / f"data_anal/data/{day:%y%m}/c2_expfactor_{day:%y%m%d}.dat"
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text(f"{hdr['FILENAME'].strip()} 1.0 {hdr['OFFSET'] + above} 0 0\n")   # as corkit-update has it
    orig = write(tmp_path / "orig.fts", data, hdr)
    holes = write(tmp_path / "holes.fts", blank(data, [(2 * by, 2 * bx) for by, bx in BLANK]), hdr)
    ref, _ = corkit_reference(orig, folder, "C2")
    from corkit_inpaint.corkit_missing import corkit_bias
    with corkit_calibration_dir(folder):
        assert corkit_bias(hdr) == pytest.approx(hdr["OFFSET"] + above)
    for inpaint in (None, "biharmonic"):
        img, _, m = level_1(holes, calib_dir=folder, inpaint=inpaint, return_mask=True)
        flagged = m.astype(bool)
        np.testing.assert_allclose(np.asarray(img, np.float64)[~flagged], ref[~flagged], rtol=1e-6, atol=0)


def test_never_sent_blocks_cost_corkit_no_valid_pixel(tmp_path, calib):
    """Session 35: the real full C2 frame's all-zero blocks the block finder takes for never sent (behind the
    occulter, at a corner) are not missing to it, so they reached corkit as zeros, and its transposed mask zeroed
    the 1,025 valid pixels at their transposed positions, outside INPMASK (as in corkit's own level 1)."""
    as_is, _ = corkit_reference(C2_FULL, calib, "C2", as_is=True)
    raised, _ = corkit_reference(C2_FULL, calib, "C2")
    for inpaint in (None, "biharmonic"):
        img, h, m = level_1(C2_FULL, calib_dir=calib, inpaint=inpaint, return_mask=True)
        img, flagged = np.asarray(img, np.float64), m.astype(bool)
        np.testing.assert_allclose(img[~flagged], raised[~flagged], rtol=1e-6, atol=0)
        assert np.all(img[flagged] == 0) and h["INPNBLK"] == 0       # nothing to fill: what read no data is 0
        kept = ~flagged & (as_is == 0) & (img != 0)                   # valid pixels corkit's own level 1 zeroes
        assert kept.sum() >= 1000
        text = " ".join(str(c) for c in h["HISTORY"])
        assert "the 1156 level-1 pixels that read 1025 level-0.5 pixels without data" in text
        assert ": no missing blocks; " in text and text.count("corkit-inpaint 0") == 1
        assert "image unchanged" not in text                  # review s35: said after pixels were set to 0
    level_1(C2_FULL, tmp_path / "out", calib_dir=calib, inpaint=None)
    with fits.open(tmp_path / "out" / output_name(C2_FULL)) as f:
        cards = [str(c) for c in f["INPMASK"].header["COMMENT"]]
    from corkit_inpaint.level1 import _MASK_NOTE
    assert " ".join(cards) == _MASK_NOTE and len(cards) > 1       # whole words to a card: cut mid-word before


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32])
def test_level1_of_an_unsigned_frame_reads_as_the_signed_one(dtype, tmp_path, calib):
    """Battery s35: a uint16 frame (BITPIX 16, BZERO 32768) went to corkit as such, and corkit's level-1 header
    carried the BZERO onto the float image: every pixel of the written file read 32768, with exit 0."""
    orig, holes, _ = frame_files(tmp_path, "C2", True)
    data, hdr = read_file(holes)
    assert data.min() >= 0
    unsigned = write(tmp_path / "unsigned.fts", data.astype(dtype), hdr)
    with fits.open(unsigned) as h:
        assert h[0].header["BZERO"] > 0                        # as astropy stores an unsigned array
    for path, out in ((holes, "signed"), (unsigned, "unsigned")):
        level_1(path, tmp_path / out, calib_dir=calib, inpaint="biharmonic")
    with fits.open(tmp_path / "signed" / output_name(holes)) as a, \
            fits.open(tmp_path / "unsigned" / output_name(unsigned)) as b:
        assert "BZERO" not in b[0].header or b[0].header["BZERO"] == a[0].header.get("BZERO")
        assert np.array_equal(a[0].data, b[0].data) and np.array_equal(a["INPMASK"].data, b["INPMASK"].data)


def test_level1_of_a_frame_whose_missing_level_its_type_cannot_hold(tmp_path, calib):
    """Battery s35: an int16 frame with OFFSET -1e6 raised OverflowError (a 19-line traceback, the run's other
    files never read) where its holes were given one DN above corkit's missing level."""
    _, holes, blocks = frame_files(tmp_path, "C2", False)
    data, hdr = read_file(holes)
    hdr["OFFSET"] = -1e6
    odd = write(tmp_path / "odd.fts", data.astype(np.int16), hdr)
    out = level_1([odd, holes], calib_dir=calib, inpaint=None, return_mask=True)
    (img, hdr1, m), _ = out                          # the second file too: the run went on
    flagged = m.astype(bool)
    assert len(out) == 2 and hdr1["INPNBLK"] == 0 and flagged.any() and np.all(np.asarray(img)[flagged] == 0)


def test_level1_refuses_what_is_no_file_list_or_folder_and_takes_none_as_its_word(tmp_path, calib):
    """Battery s35: level_1(None), level_1(123) and calib_dir=5 were TypeErrors, not one-line package errors;
    inpaint="none" (the command line's word) was an unknown method."""
    for files, kw, said in ((None, {}, "got NoneType"), (123, {}, "got int"), ([123], {}, "got list holding other"),
                            ("x.fts", {"calib_dir": 5}, "calib_dir=5: give a folder"),
                            ("x.fts", {"calib_dir": " "}, "calib_dir=' ': give a folder")):
        with pytest.raises(InputError, match=said):
            level_1(files, **kw)
    orig, holes, _ = frame_files(tmp_path, "C2", True)
    a = level_1(holes, calib_dir=calib, inpaint="none", return_mask=True)
    b = level_1(iter([holes]), calib_dir=calib, inpaint=None, return_mask=True)[0]       # any iterable of paths
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[2], b[2]) and a[1]["INPAINT"] == "none"


def test_level1_of_a_partial_fill_flags_the_blocks_it_left(tmp_path, calib):
    orig, holes, blocks = frame_files(tmp_path, "C2", True)
    ref, _ = corkit_reference(orig, calib, "C2")
    img, hdr, m, sig = level_1(holes, calib_dir=calib, inpaint=_first_block_only(), return_mask=True,
                               return_sigma=True)
    img, flagged = np.asarray(img, dtype=np.float64), m.astype(bool)
    _, _, m_all = level_1(holes, calib_dir=calib, inpaint="biharmonic", return_mask=True)
    assert hdr["INPNBLK"] == 1 and np.array_equal(m, m_all)
    np.testing.assert_allclose(img[~flagged], ref[~flagged], rtol=1e-6, atol=0)
    assert (img[flagged] == 0).mean() > 0.6 and (img[flagged] != 0).any()     # the blocks left read 0, the fill not
    assert np.all(sig[flagged & (img == 0)] == 0) and np.all(sig[flagged & (img != 0)] > 0)   # no sigma on a 0
    assert "set to 0 and flagged in INPMASK" in " ".join(str(h) for h in hdr["HISTORY"])


def test_real_c2_file_through_level1(tmp_path, calib):
    data, header = read_real()
    holes = write(tmp_path / "real_holes.fts", blank(data, BLANK), header)
    before = sha(holes)
    img, hdr, m = level_1(holes, calib_dir=calib, device="cpu", return_mask=True)
    ref, _ = corkit_reference(REAL, calib, "C2")
    inp = m.astype(bool)
    np.testing.assert_allclose(np.asarray(img, float)[~inp], ref[~inp], rtol=1e-6, atol=0)
    assert hdr["INPNBLK"] == len(BLANK) and inp.any()
    assert np.all(np.asarray(img, float)[inp & (ref != 0)] != 0)
    assert sha(holes) == before and sha(REAL) == sha(REAL)


pytestmark = pytest.mark.slow          # every test here runs corkit's level 1


def test_level1_is_exported():
    assert ci.level_1 is level_1 and "level_1" in ci.__all__


def test_missing_calibration_gives_clear_error(tmp_path, blanked_file):
    default = corkit.utils.DEFAULT_SAVE_DIR
    with pytest.raises(CalibrationError) as ei:
        level_1(blanked_file, calib_dir=tmp_path / "empty")
    msg = str(ei.value)
    assert "c2vig_final.fts" in msg and "occulter_center.dat" in msg and "corkit-update" in msg
    assert corkit.utils.DEFAULT_SAVE_DIR == corkit.lasco.DEFAULT_SAVE_DIR == \
        corkit.reconstruction.DEFAULT_SAVE_DIR == default                        # restored


PLUGIN = '''
import numpy as np

def fill(image, mask, header):
    """Fill with the median of the valid pixels (a toy third-party method)."""
    out = np.array(image, dtype=float)
    out[mask] = np.median(out[~mask & (out > 0)])
    return out
'''


def test_third_party_plugin_through_entry_points(tmp_path, monkeypatch, calib):
    site = tmp_path / "site"
    dist = site / "corkit_median_plugin-0.1.dist-info"
    dist.mkdir(parents=True)
    (site / "corkit_median_plugin.py").write_text(PLUGIN)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: corkit-median-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[corkit.inpainters]\nmedian = corkit_median_plugin:fill\n")
    assert "median" not in ci.available_methods()
    monkeypatch.syspath_prepend(str(site))
    assert "median" in ci.available_methods()
    data, header = read_real()
    img = blank(data, [(3, 4)]).astype(float)
    out = ci.inpaint_array(img, method="median")
    assert np.all(out[96:128, 128:160] == np.median(img[img > 0]))
    _, holes, blocks = frame_files(tmp_path, "C2", True, seed=41)
    _, hdr = level_1(holes, calib_dir=calib, inpaint="median")
    assert hdr["INPAINT"] == "median" and hdr["INPNBLK"] == len(blocks)


def test_existing_output_is_kept_unless_overwrite(tmp_path, calib):
    _, holes, _ = frame_files(tmp_path, "C2", True, seed=33)
    out = tmp_path / "l1"
    level_1(holes, out, calib_dir=calib, inpaint="biharmonic")
    target = out / output_name(holes)
    first = sha(target)
    with pytest.raises(ci.InputError, match="exists"):
        level_1(holes, out, calib_dir=calib, inpaint="biharmonic")
    assert sha(target) == first
    level_1(holes, out, calib_dir=calib, inpaint="pconv", overwrite=True)
    assert fits.getheader(target)["INPAINT"] == "pconv"


def test_no_missing_blocks_is_written_as_none(tmp_path, calib):
    orig, _, _ = frame_files(tmp_path, "C2", True, seed=34)
    _, hdr = level_1(orig, calib_dir=calib, inpaint="biharmonic")
    assert hdr["INPAINT"] == "none" and hdr["INPNBLK"] == 0


def test_output_names():
    assert output_name("a/22075759.fts") == "22075759.fits"
    assert output_name("b/32310941.fts.gz") == "32310941.fits"
    assert output_name("c/32310941.fts.fz") == "32310941.fits"           # was 32310941ftsfz.fits
    assert output_name("c/x.y.fits") == "xy.fits"


def test_level1_fills_from_neighbouring_files(tmp_path, calib):
    from helpers import seq_files
    (tmp_path / "in").mkdir()
    files, _, _ = seq_files(tmp_path / "in", n_blocks=3)
    shas = [sha(p) for p in files]
    level_1(files, tmp_path / "out", inpaint="ratio", calib_dir=calib)
    heads = [fits.getheader(tmp_path / "out" / output_name(p)) for p in files]
    assert [h["INPNNB"] for h in heads] == [1, 2, 1]
    assert (heads[1]["INPNB1"], heads[1]["INPDT2"]) == ("32310943.fts", 719.991)
    (img, hdr), = level_1([files[1]], None, inpaint="ratio", calib_dir=calib, neighbours="none")
    assert hdr["INPNNB"] == 0
    assert [sha(p) for p in files] == shas


def _two_calibrations(tmp_path, calib, data, header, method, det):
    """corkit's own level 1 of the filled data and of the filled data plus the fill's sigma."""
    from corkit_inpaint.fill import fill_level05
    f = fill_level05(data, header, method, level1=True)
    hdr = header.copy()
    for k in ("BZERO", "BSCALE"):
        hdr.remove(k, ignore_missing=True)
    base = write(tmp_path / "base.fts", f.data.astype(np.float64), hdr)
    plus = write(tmp_path / "plus.fts", f.data + f.sigma, hdr)
    (a, ha), (b, _) = corkit_reference(base, calib, det), corkit_reference(plus, calib, det)
    return a, b, ha


@pytest.mark.parametrize("src", [REAL, C2_FULL], ids=["c2-512-summed", "c2-1024"])
def test_level1_inpsigma_is_corkits_response_to_the_sigma(src, tmp_path, calib):
    """INPSIGMA equals corkit's level 1 of (filled + sigma) minus its level 1 of the filled data."""
    data, header = read_file(src)
    # (11, 17) and (20, 13): corkit masks them with its (transposed) mask of dark pixels next to the occulter
    blocks = BLANK if src == REAL else [(10, 12), (20, 25), (21, 25), (26, 8), (11, 17), (20, 13)]
    holes = blank(data, blocks)
    img, hdr, m, sig = level_1(write(tmp_path / "holes.fts", holes, header), calib_dir=calib,
                               inpaint=sigma_method(), return_mask=True, return_sigma=True)
    a, b, _ = _two_calibrations(tmp_path, calib, holes, header, sigma_method(), "C2")
    no_data = (m != 0) & (sig == 0)                # what reads the frame's own pixels without data: 0 in level 1
    assert np.all(img[no_data] == 0) and (no_data.any() if src == C2_FULL else not no_data.any())
    assert np.array_equal(np.asarray(img, np.float64)[~no_data], a[~no_data])     # the same calibration of the data
    assert sig.dtype == np.float32 and sig.shape == img.shape
    s, diff, inp = sig.astype(np.float64), b - a, m.astype(bool)
    # float32 precision: corkit's two images are float32, the difference is exact to half an ulp of each
    eps = np.finfo(np.float32).eps
    excess = np.abs(s - diff) - eps * (np.abs(a) + np.abs(b) + s)
    assert excess.max() <= 0, f"INPSIGMA differs from corkit's difference by up to {excess.max():.3g} beyond float32"
    assert np.all(s[~inp] == 0) and np.all(diff[~inp] == 0) and np.all(s >= 0)
    big = s > 0.1 * s.max()
    assert big.sum() > 500 * len(blocks) // (4 if src == REAL else 1)
    assert np.median(np.abs(s - diff)[big] / s[big]) < 1e-5
    assert hdr["INPSIGMA"] is True and "carried through" in " ".join(str(v) for v in hdr["HISTORY"])
    assert all(truncated_cards(h.header) == [] for h in level1_hdulist(img, hdr, m, sig))   # no comment cut


def test_level1_inpsigma_of_c3_clear_is_in_corkits_scaled_counts(tmp_path, calib):
    """corkit stores C3 Clear as rounded counts: the returned sigma matches the difference of counts to rounding."""
    from helpers import C3_SEQ, seq_blocks
    data, header = read_file(C3_SEQ[1])
    holes = blank(data, seq_blocks(data, header, 4, seed=7))
    img, hdr, m, sig = level_1(write(tmp_path / "holes.fts", holes, header), calib_dir=calib,
                               inpaint=sigma_method(base=400.0), return_mask=True, return_sigma=True)
    a, b, ha = _two_calibrations(tmp_path, calib, holes, header, sigma_method(base=400.0), "C3")
    assert hdr["BSCALE"] == ha["BSCALE"] and np.array_equal(np.asarray(img, np.float64), a)
    s, diff = sig.astype(np.float64), b - a
    unclipped = (np.abs(a) < 32767) & (np.abs(b) < 32767) & (a != 0) & (b != 0)
    assert np.all(np.abs(s - diff)[unclipped] <= 1.0 + 1e-3)            # two roundings to whole counts
    assert np.sum(s[unclipped] > 100) > 2000 and np.all(s[m == 0] == 0)  # 1 count < 1% (the check may halve 400 DN)
    out = tmp_path / "l1"
    level_1(write(tmp_path / "h2.fts", holes, header), out, calib_dir=calib, inpaint=sigma_method(base=400.0))
    with fits.open(out / "h2.fits") as h:                 # the file: in MSB, as its primary array reads
        assert h["INPSIGMA"].header["BUNIT"] == "MSB" and h[0].header["BSCALE"] == ha["BSCALE"]
        np.testing.assert_allclose(h["INPSIGMA"].data, sig.astype(np.float64) * ha["BSCALE"], rtol=1e-6)


def test_level1_file_of_c3_clear_reads_as_corkits_own_file(tmp_path, calib):
    """corkit writes C3 Clear as counts with BSCALE/BZERO: our file must read back in MSB as corkit's own does."""
    from helpers import C3_SEQ, seq_blocks
    data, header = read_file(C3_SEQ[1])
    assert header["DETECTOR"] == "C3" and header["FILTER"] == "Clear"
    orig = write(tmp_path / "orig.fts", data, header)
    holes = write(tmp_path / "holes.fts", blank(data, seq_blocks(data, header, 4, seed=7)), header)
    with corkit_calibration_dir(calib), contextlib.redirect_stdout(io.StringIO()):
        corkit.lasco.level_1(str(orig), str(tmp_path / "ck"), "fits", *c3_args())   # corkit's own file, no fill
    img, hdr = level_1(holes, calib_dir=calib, inpaint="biharmonic")
    level_1(holes, tmp_path / "l1", calib_dir=calib, inpaint="biharmonic")
    with fits.open(tmp_path / "ck" / "orig.fits", do_not_scale_image_data=True) as h:
        ck_scale = (h[0].header["BSCALE"], h[0].header["BZERO"])
    with fits.open(tmp_path / "l1" / "holes.fits", do_not_scale_image_data=True) as h:
        assert (h[0].header.get("BSCALE"), h[0].header.get("BZERO")) == ck_scale      # as corkit's file has them
    assert ck_scale == pytest.approx((hdr["BSCALE"], hdr["BZERO"]), rel=1e-13)   # to a header card's digits
    with fits.open(tmp_path / "ck" / "orig.fits") as h:
        ck = h[0].data.astype(np.float64)
    with fits.open(tmp_path / "l1" / "holes.fits") as h:
        ours, valid = h[0].data.astype(np.float64), h["INPMASK"].data == 0
    assert np.abs(ours).max() < 1e-8 and np.abs(ck).max() < 1e-8              # MSB, not counts
    assert valid.sum() > 0.9 * valid.size and (~valid).sum() > 4000
    np.testing.assert_allclose(ours[valid], ck[valid], rtol=1e-6, atol=0)     # corkit's level 1 outside INPMASK
    np.testing.assert_allclose(ours, np.asarray(img, np.float64) * hdr["BSCALE"] + hdr["BZERO"],   # the counts
                               rtol=0, atol=1e-3 * hdr["BSCALE"])                               # returned


@pytest.mark.parametrize("value", [True, False])
def test_level1_refuses_noscale_in_one_line(value, tmp_path, calib):
    """corkit 1.0.16's level_1 fails on NOSCALE whatever its value: refused in one line, nothing written."""
    data, header = read_real()
    holes = write(tmp_path / "holes.fts", blank(data, BLANK), header)
    with pytest.raises(CalibrationError, match="NOSCALE") as exc:
        level_1(holes, tmp_path / "out", calib_dir=calib, inpaint="biharmonic", NOSCALE=value)
    assert len(str(exc.value).splitlines()) == 1 and "leave it out" in str(exc.value)
    assert not (tmp_path / "out").exists()


def test_level1_pairs_at_any_gap_with_max_gap_none(tmp_path, calib):
    from helpers import seq_files
    paths, _, _ = seq_files(tmp_path)
    level_1(paths, tmp_path / "out", calib_dir=calib, inpaint="ratio", max_gap=None)
    with fits.open(tmp_path / "out" / output_name(paths[1])) as h:
        assert h[0].header["INPNNB"] == 2
    with pytest.raises(ValueError, match="max_gap"):
        level_1(paths, tmp_path / "bad", calib_dir=calib, inpaint="ratio", max_gap=-5)
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("switch", ["NO_CALFAC", "NO_SUM"])
def test_level1_without_the_full_calibration_claims_no_msb(tmp_path, calib, switch):
    """With NO_CALFAC, or NO_SUM on this 2x2-summed frame, corkit's image is not in MSB: neither the primary
    nor INPSIGMA says BUNIT = MSB (and NO_SUM does change the values)."""
    data, header = read_real()
    holes = write(tmp_path / "holes.fts", blank(data, BLANK), header)
    # (NO_CALFAC needs NOSTAT: corkit's statistics step would clip the image left in DN/s to a constant)
    extra = {"NOSTAT": True} if switch == "NO_CALFAC" else {}
    level_1(holes, tmp_path / "raw", calib_dir=calib, inpaint=sigma_method(), **{switch: True}, **extra)
    level_1(holes, tmp_path / "msb", calib_dir=calib, inpaint=sigma_method())
    with fits.open(tmp_path / "raw" / output_name(holes)) as h, fits.open(tmp_path / "msb" / output_name(holes)) as m:
        assert "BUNIT" not in h[0].header and "BUNIT" not in h["INPSIGMA"].header
        assert h["INPSIGMA"].data.max() > 0 and m[0].header["BUNIT"] == "MSB"
        ok = (h[0].data != 0) & (m[0].data != 0)
        assert abs(np.median(h[0].data[ok] / m[0].data[ok]) - 1) > 0.5


def test_level1_switch_given_as_false_is_off(tmp_path, calib):
    """corkit acts on NO_VIG when it is merely given; NO_VIG=False must mean the vignetting correction is applied."""
    from helpers import C3_SEQ, seq_blocks
    data, header = read_file(C3_SEQ[1])
    holes = write(tmp_path / "holes.fts", blank(data, seq_blocks(data, header, 4, seed=7)), header)
    plain, _ = level_1(holes, calib_dir=calib, inpaint="biharmonic")
    off, _ = level_1(holes, calib_dir=calib, inpaint="biharmonic", NO_VIG=False)
    on, _ = level_1(holes, calib_dir=calib, inpaint="biharmonic", NO_VIG=True)
    assert np.array_equal(off, plain)
    assert not np.array_equal(on, plain)


def test_level1_writes_inpsigma_and_none_for_a_method_without_sigma(tmp_path, calib):
    data, header = read_real()
    holes = write(tmp_path / "holes.fts", blank(data, BLANK), header)
    level_1(holes, tmp_path / "s", calib_dir=calib, inpaint=sigma_method())
    with fits.open(tmp_path / "s" / output_name(holes)) as h:
        assert [x.name for x in h] == ["PRIMARY", "INPMASK", "INPSIGMA"]
        ext = h["INPSIGMA"].header
        assert ext["BUNIT"] == "MSB" and ext["UTYPE"] == "StdDevUncertainty" and h[0].header["INPSIGMA"]
        assert h[0].header["BUNIT"] == "MSB"                  # the primary says its unit too (corkit's does not)
        assert "0 outside INPMASK" in " ".join(str(c) for c in ext["COMMENT"])
        assert np.all(h["INPSIGMA"].data[h["INPMASK"].data == 0] == 0) and h["INPSIGMA"].data.max() > 0
        sig, mask = h["INPSIGMA"].data, h["INPMASK"].data
    # as the README reads it: MSB is no astropy unit, so the reader names one
    import astropy.units as u
    from astropy.nddata import CCDData, StdDevUncertainty
    ccd = CCDData.read(tmp_path / "s" / output_name(holes), hdu_uncertainty="INPSIGMA", hdu_mask="INPMASK",
                       unit=u.def_unit("MSB"))
    assert isinstance(ccd.uncertainty, StdDevUncertainty) and np.array_equal(ccd.uncertainty.array, sig)
    assert np.array_equal(ccd.mask, mask != 0)
    level_1(holes, tmp_path / "n", calib_dir=calib, inpaint=legacy_method())
    with fits.open(tmp_path / "n" / output_name(holes)) as h:
        assert [x.name for x in h] == ["PRIMARY", "INPMASK"] and h[0].header["INPSIGMA"] is False
    img, hdr, sig = level_1(holes, calib_dir=calib, inpaint=legacy_method(), return_sigma=True)
    assert sig is None and hdr["INPAINT"] == "legacy" and hdr["BUNIT"] == "MSB"


def test_level1_refuses_an_output_over_another_input_of_the_run(tmp_path, calib):
    """A/y.fts writes T/y.fits, which is the run's second input: refused before anything is written."""
    import hashlib
    data, header = read_real()
    (tmp_path / "A").mkdir()
    (tmp_path / "T").mkdir()
    a = write(tmp_path / "A" / "y.fts", blank(data, BLANK), header)
    t = write(tmp_path / "T" / "y.fits", blank(data, BLANK), header)
    before = hashlib.sha256(t.read_bytes()).hexdigest()
    with pytest.raises(ci.InputError, match="input file"):
        level_1([a, t], tmp_path / "T", calib_dir=calib, inpaint="biharmonic", overwrite=True, neighbours="none")
    assert hashlib.sha256(t.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in (tmp_path / "T").iterdir()) == ["y.fits"]


def test_level1_refuses_an_output_over_its_weights_file(tmp_path, calib):
    """Battery s32: an output named as the weights file the run reads was written over it."""
    data, header = read_real()
    a = write(tmp_path / "y.fts", blank(data, BLANK), header)
    weights = tmp_path / "T" / output_name(a)                  # a weights file where the output would go
    weights.parent.mkdir()
    weights.write_bytes(b"weights, not a FITS file")
    with pytest.raises(ci.InputError, match="input file"):
        level_1([a], tmp_path / "T", calib_dir=calib, weights=weights, overwrite=True, neighbours="none")
    assert weights.read_bytes() == b"weights, not a FITS file"


def test_two_inputs_with_one_output_name_are_refused_up_front(tmp_path, blanked_file):
    for d in ("d1", "d2"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "x.fts").write_bytes(blanked_file.read_bytes())
    (tmp_path / "d2" / "x.fts.gz").write_bytes(blanked_file.read_bytes())   # also x.fits
    out = tmp_path / "l1"
    for pair in (["d1/x.fts", "d2/x.fts"], ["d2/x.fts", "d2/x.fts.gz"]):
        with pytest.raises(ci.InputError, match="would be the output of both"):
            level_1([tmp_path / p for p in pair], target_path=out, neighbours="none", overwrite=True)
    assert not out.exists() or list(out.iterdir()) == []


def test_an_empty_target_path_is_refused_not_the_current_folder(tmp_path, blanked_file, monkeypatch):
    """Review: target_path="" is Path(""), the current folder; the CLI refuses -o '' since 0.1.12, the API too."""
    monkeypatch.chdir(tmp_path)
    for empty in ("", "  "):
        with pytest.raises(ci.InputError, match="target_path: give a folder"):
            level_1([blanked_file], target_path=empty, neighbours="none")
    assert [p.name for p in tmp_path.iterdir()] == [blanked_file.name]      # nothing written beside the input


@pytest.mark.parametrize("polar", ["+60 Deg", "PB"])
def test_level1_refuses_a_frame_corkit_would_calibrate_by_zero(polar, tmp_path, calib):
    """corkit 1.0.16 gives C3 polarizers written with a space ('+60 Deg', as archives do) or PB a calibration
    factor of 0: the level-1 image came out as one value labelled MSB, exit 0. Refused in one line, nothing
    written, the input untouched; the same frame with POLAR written without a space is calibrated."""
    from helpers import C3_SEQ, read_file
    data, header = read_file(C3_SEQ[1])
    header["POLAR"] = polar
    src = write(tmp_path / "pol.fts", data, header)
    before = sha(src)
    with pytest.raises(CalibrationError, match=r"calibration factor for this C3 frame is 0 .*POLAR=") as exc:
        level_1(src, tmp_path / "out", calib_dir=calib, inpaint="biharmonic", neighbours="none")
    assert len(str(exc.value).splitlines()) == 1 and sha(src) == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())      # nothing written
    header["POLAR"] = "+60DEG"
    img, hdr = level_1(write(tmp_path / "ok.fts", data, header), calib_dir=calib, inpaint="biharmonic",
                       neighbours="none")[:2]
    assert np.unique(img).size > 1000


def test_a_fill_below_the_bias_changes_nothing_outside_inpmask(tmp_path, calib):
    """corkit takes a C2 pixel at or below the bias for a missing one and, its mask being transposed, zeroes a
    valid pixel at the mirrored place: 900 valid pixels outside INPMASK changed with a fill that undershot the
    bias. Such filled values are raised to one DN above it, and the HISTORY says so."""
    from helpers import DATA, read_file

    from corkit_inpaint.methods import LegacyMethod
    data, header = read_file(DATA / "c2_22104858.fts")
    holes = write(tmp_path / "holes.fts", blank(data, [(8, 20)]), header)     # its mirror (20, 8) is signal
    below = float(header["OFFSET"]) - 1

    def low(image, mask, hdr):
        out = image.astype(float)
        out[mask] = below
        return out
    img_a, _, m_a = level_1(holes, calib_dir=calib, inpaint="biharmonic", neighbours="none", return_mask=True)
    img_b, hdr_b, m_b = level_1(holes, calib_dir=calib, inpaint=LegacyMethod(name="low", fn=low),
                                neighbours="none", return_mask=True)
    outside = ~(m_a.astype(bool) | m_b.astype(bool))
    assert np.array_equal(np.asarray(img_a)[outside], np.asarray(img_b)[outside])
    assert "which corkit's level 1 takes for missing pixels, raised to" in " ".join(map(str, hdr_b["HISTORY"]))


def test_level1_refuses_another_format_as_an_input_error(tmp_path, calib):
    """Review s15: format='png' raised a bare ValueError, which the README says no call does."""
    from corkit_inpaint.exceptions import InputError
    data, header = read_real()
    holes = write(tmp_path / "holes.fts", blank(data, BLANK), header)
    with pytest.raises(InputError, match="only 'fits' is supported"):
        level_1(holes, tmp_path / "out", calib_dir=calib, inpaint="biharmonic", format="png")
    assert not (tmp_path / "out").exists()


LEVEL1_SWEEP = '''
import inspect, json, os, sys, tempfile
from sigterm_sweep import sweep
from corkit_inpaint import level1

src, calib, tmp = sys.argv[1:4]
assert tempfile.gettempdir() == tmp                       # TMPDIR: where the calibrated copy's folder goes
run = lambda: level1.level_1(src, calib_dir=calib, inpaint=None, neighbours="none")
run()                                                     # imports and caches, before the forks
assert os.listdir(tmp) == [], os.listdir(tmp)
lines, first = inspect.getsourcelines(level1._calibrated)
opened = first + next(i for i, text in enumerate(lines) if text.strip() == "try:")   # the try after the folder


def left():
    names = sorted(os.listdir(tmp))
    for name in names:
        path = os.path.join(tmp, name)
        for base, dirs, files in os.walk(path, topdown=False):
            for f in files:
                os.unlink(os.path.join(base, f))
            os.rmdir(base)
    return names


def in_try(origin, frame, event, arg):                   # the first event once _calibrated's try has begun
    return origin.f_lineno > opened


print(json.dumps(sweep(run, level1._calibrated.__code__, in_try, left)))
'''


def test_a_sigterm_anywhere_around_the_copy_s_folder_leaves_nothing(tmp_path, calib):
    """A SIGTERM at each point from `_calibrated`'s call until its ``try`` has begun (the folder of the copy
    corkit calibrates being made), each in a forked child of a real `level_1` (`sigterm_sweep`), leaves no
    folder in the temporary folder: `removed_on_sigterm` removes the `temp_folder` made in it."""
    from sigterm_sweep import run_driver
    orig, _, _ = frame_files(tmp_path, "C2", True, seed=35)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    got = run_driver(LEVEL1_SWEEP, str(orig), str(calib), str(tmp), env={"TMPDIR": str(tmp)})
    assert got["exit"] == 0 and got["left"] == []
    assert got["points"] > 10 and got["leftovers"] == [], got


KILLED_MID_CALIBRATION = '''
import os, signal, sys
from corkit_inpaint import level1

src, calib = sys.argv[1:3]


def prof(frame, event, arg):                 # a SIGKILL once the copy is in its folder, as corkit is to read it
    if event == "call" and frame.f_code is level1.calibrate.__code__:
        os.kill(os.getpid(), signal.SIGKILL)


sys.setprofile(prof)
level1.level_1(src, calib_dir=calib, inpaint=None, neighbours="none")
'''


def test_a_sigkilled_calibration_s_copy_is_removed_by_the_next_one(tmp_path, calib, monkeypatch):
    """Battery s26: a level_1 killed with SIGKILL (an out-of-memory killer) left its temporary folder, with a
    frame-sized copy, in the system's temporary folder for good; the next calibration removes it once it has
    gone unwritten for a minute, but never a live calibration's folder (its lock held), nor a folder of that
    name without the lock file."""
    import os
    import subprocess
    import sys
    import tempfile
    import time

    from corkit_inpaint.tempfiles import held
    orig, _, _ = frame_files(tmp_path, "C2", True, seed=35)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.run([sys.executable, "-c", KILLED_MID_CALIBRATION, str(orig), str(calib)],
                          env={**os.environ, "TMPDIR": str(tmp)}, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    [killed] = list(tmp.iterdir())
    assert killed.name.startswith("corkit-inpaint-") and any(f.suffix == ".fts" for f in killed.iterdir())
    live, foreign = tmp / "corkit-inpaint-live0000", tmp / "corkit-inpaint-other000"
    live.mkdir()
    foreign.mkdir()
    (live / ".corkit-inpaint-lock").touch()
    old = time.time() - 120
    for path in (*killed.iterdir(), live / ".corkit-inpaint-lock", foreign):
        os.utime(path, (old, old))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    with held(live / ".corkit-inpaint-lock"):
        level_1(orig, calib_dir=calib, inpaint=None, neighbours="none")
    assert sorted(p.name for p in tmp.iterdir()) == sorted([foreign.name, live.name])


def test_level1_of_a_refill_keeps_the_earlier_fill_s_history(tmp_path, calib):
    """corkit's reader deletes the input's HISTORY: the level-1 file of a refill named only the last fill's
    method, though its INPMASK holds the earlier fill's blocks too."""
    data, header = read_real()
    first = write(tmp_path / "first.fts", blank(data, BLANK[:3]), header)
    ci.inpaint_fits(first, tmp_path / "filled.fts", method="biharmonic")
    with fits.open(tmp_path / "filled.fts") as h:
        h[0].data = blank(h[0].data, BLANK[3:6])
        h.writeto(tmp_path / "more.fts", output_verify="ignore")
    img, hdr, m = level_1(tmp_path / "more.fts", calib_dir=calib, inpaint=legacy_method(), refill=True,
                          return_mask=True)
    history = " ".join(str(c) for c in hdr["HISTORY"])
    assert hdr["INPAINT"] == "legacy" and hdr["INPNBLK"] == 6 and m.sum() > 6 * 1024
    assert "filled 3 missing blocks (3072 px) with biharmonic" in history            # the earlier fill's line
    assert history.index("with biharmonic") < history.index("with legacy")
    assert history.count("corkit-inpaint") == 2


def test_an_all_zero_level1_image_is_warned_about(tmp_path, caplog):
    """Battery 27: calibration files whose roll does not fit the frame (the stand-in's roll 0 on the real C3 frame
    of 2010, CROTA1 180) made corkit's level-1 image all zero, and the fill's pixels with it, in silence."""
    from helpers import C3_FULL

    from corkit_inpaint.testing import write_standin_calibration
    data, hdr = read_file(C3_FULL)
    src = write(tmp_path / "c3.fts", blank(data, [(12, 20)]), hdr)
    for roll, silent in ((0.0, False), (180.0, True)):
        caplog.clear()
        img, _, mask = level_1([src], None, calib_dir=write_standin_calibration(tmp_path / f"calib{roll}", roll=roll),
                               device="cpu", return_mask=True)[0]
        assert bool(np.count_nonzero(img)) == bool(np.count_nonzero(mask)) == silent
        assert any("level-1 image is all zero" in r.getMessage() for r in caplog.records) != silent


def test_level1_file_has_a_wcs_astropy_and_sunpy_can_build(tmp_path, calib):
    """Science battery: corkit 1.0.16 names both level-1 axes HPLN-TAN, so astropy's and sunpy's WCS of every
    level-1 file (and of its INPMASK and INPSIGMA) raised InconsistentAxisTypesError, and `read_map` of it gave a
    map with no coordinates. The second axis is helioprojective latitude; the image and its values are corkit's."""
    import warnings

    from astropy.wcs import WCS
    from helpers import C3_SEQ, seq_blocks
    data, header = read_file(C3_SEQ[1])
    src = write(tmp_path / "holes.fts", blank(data, seq_blocks(data, header, 3, seed=7)), header)
    level_1(src, tmp_path / "l1", calib_dir=calib, inpaint="biharmonic")
    img, hdr = level_1(src, calib_dir=calib, inpaint="biharmonic")
    assert (hdr["CTYPE1"], hdr["CTYPE2"]) == ("HPLN-TAN", "HPLT-TAN")
    with fits.open(tmp_path / "l1" / "holes.fits") as h, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ext in (0, "INPMASK", "INPSIGMA"):
            w = WCS(h[ext].header)
            assert list(w.wcs.ctype) == ["HPLN-TAN", "HPLT-TAN"]
            x, y = w.world_to_pixel_values(0.0, 0.0)           # the Sun centre is at CRPIX
            assert (x + 1, y + 1) == pytest.approx((h[0].header["CRPIX1"], h[0].header["CRPIX2"]), abs=1e-6)
    pytest.importorskip("sunpy.map")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ci.read_map(tmp_path / "l1" / "holes.fits")
        centre = m.wcs.world_to_pixel(m.center)
    assert m.mask.sum() > 0 and np.allclose(centre, ((m.data.shape[1] - 1) / 2, (m.data.shape[0] - 1) / 2))


def test_inpmask_is_the_pixels_the_fill_moves_at_the_edge_of_corkits_c3_mask(tmp_path, calib):
    """Review s33: INPMASK was the filled mask warped alone. With blocks across the edge of corkit's C3 mask, 2950 of
    6636 flagged level-1 pixels read no filled pixel (2928 of them zeroed by that mask), with INPSIGMA 0 under
    the flag. Now both come from the same derivative of corkit's level 1."""
    from helpers import C3_SEQ
    data, header = read_file(C3_SEQ[1])
    blocks = [(by, bx) for by in range(32) for bx in range(32)       # centres 485-515 px from the mask's centre
              if 485 < np.hypot(by * 32 + 15.5 - 530, bx * 32 + 15.5 - 516) < 515
              and np.all(data[by * 32:(by + 1) * 32, bx * 32:(bx + 1) * 32] > 0)][::6][:6]
    holes = write(tmp_path / "edge.fts", blank(data, blocks), header)
    img, hdr, mask, sigma = level_1(holes, calib_dir=calib, device="cpu", return_mask=True, return_sigma=True)
    assert len(blocks) == 6 and 3000 < mask.sum() < 4500
    assert np.array_equal(mask != 0, sigma > 0)            # every filled pixel has a sigma > 0: the same pixels
    assert not np.any(np.asarray(img)[mask != 0] == 0)     # none is a pixel corkit's mask left at 0
    assert hdr["FILENAME"] == "edge.fits"                  # corkit wrote 'null' (its output folder, given none)


def test_no_calfac_on_a_c3_clear_frame_is_refused_naming_it(tmp_path, calib):
    """Review s33: with NOSTAT too, corkit scales C3 Clear to integers between 0 and 6.5e-09 MSB, so an uncalibrated
    (DN/s) image came out a constant 32767 under an INPSIGMA of up to 8.7e13 counts."""
    from helpers import C3_SEQ
    data, header = read_file(C3_SEQ[1])
    assert header["FILTER"] == "Clear"
    holes = write(tmp_path / "clear.fts", blank(data, [(10, 10)]), header)
    with pytest.raises(CalibrationError, match="NO_CALFAC on a C3 Clear frame") as ei:
        level_1(holes, tmp_path / "out", calib_dir=calib, NO_CALFAC=True, NOSTAT=True)
    assert str(holes) in str(ei.value) and "\n" not in str(ei.value)
    assert not any((tmp_path / "out").glob("*.fits"))
