"""CorKit level 1 with the fill: the real corkit 1.0.16, stand-in calibration files, synthetic and real frames."""

import contextlib
import io

import corkit.lasco
import corkit.reconstruction
import corkit.utils
import numpy as np
import pytest
from astropy.io import fits
from helpers import BLANK, REAL, blank, frame_files, read_real, sha, write

import corkit_inpaint as ci
from corkit_inpaint.corkit_bridge import c3_args, corkit_calibration_dir
from corkit_inpaint.exceptions import CalibrationError
from corkit_inpaint.level1 import level_1, output_name


def corkit_reference(path, calib, detector):
    """corkit's own level 1 of a file, with the same switched-off network step."""
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
    # INPMASK covers the blocks and nothing else: about a block's area per block, in one piece each
    per_block = inp.sum() / len(blocks) / 1024
    assert 0.9 < per_block < 1.5
    # one INPMASK piece per cluster of blocks: (nb/2-5, nb/2+1) and (nb/2-5, nb/2+2) touch
    from scipy import ndimage
    assert ndimage.label(inp, np.ones((3, 3)))[1] == 3
    # the fill really reaches level 1: pixels that depend on the fill change with the method...
    img_b, _, m_b = level_1(holes, calib_dir=calib, inpaint="biharmonic", return_mask=True)
    changed = np.asarray(img_b, dtype=np.float64) != img
    assert np.array_equal(m_b, m) and changed.any() and not (changed & ~inp).any()
    # ...and no hole remains in the field of view: where corkit's level 1 of the full
    # frame has signal, the filled one has too
    fov = ref != 0
    assert np.all(img[inp & fov] != 0)
    for key in ("INPAINT", "INPMODEL", "INPWSHA", "INPVER", "INPDEV", "INPNBLK", "INPNPIX"):
        assert key in hdr
    assert hdr["INPAINT"] == "pconv" and hdr["INPNBLK"] == len(blocks) and hdr["INPNPIX"] == len(blocks) * 1024
    assert any("corkit-inpaint" in str(h) for h in hdr["HISTORY"])


def test_level1_without_fill_keeps_holes(tmp_path, calib):
    orig, holes, blocks = frame_files(tmp_path, "C2", True)
    img, hdr, m = level_1(holes, calib_dir=calib, inpaint=None, return_mask=True)
    filled, _, mf = level_1(holes, calib_dir=calib, inpaint="biharmonic", return_mask=True)
    assert hdr["INPAINT"] == "none" and hdr["INPNBLK"] == 0 and m.sum() == 0
    assert np.sum(np.asarray(img) == 0) > np.sum(np.asarray(filled) == 0) + 1000    # the holes stay masked


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
