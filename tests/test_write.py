"""The write step: provenance and HISTORY, INPMASK, atomic and exclusive placement, modes, compression."""

import gzip
import multiprocessing as mp
import os
import stat

import numpy as np
import pytest
from astropy.io import fits
from helpers import read_real, write

from corkit_inpaint.exceptions import InputError
from corkit_inpaint.fill import FilledImage
from corkit_inpaint.methods import Provenance
from corkit_inpaint.write import check_output_path, output_clash, output_hdulist, stamp_header, write_atomic


def small_hdul(tag=""):
    h = fits.Header()
    h["WRITER"] = tag
    return fits.HDUList([fits.PrimaryHDU(np.arange(16, dtype=np.int16).reshape(4, 4), h)])


def filled_image(n=3, kept=0, provenance=True):
    data = np.ones((64, 64), np.int16)
    filled = np.zeros((64, 64), bool)
    filled[:32, :32] = True
    prov = Provenance("pconv", "pconv-lasco-v3", "ab" * 32, "cpu") if provenance else None
    return FilledImage(data, filled, [(0, 0)], n, prov, "", None, kept)


def test_provenance_keywords_and_history_wrap_on_words():
    hdr = stamp_header(fits.Header(), filled_image())
    assert hdr["INPAINT"] == "pconv" and hdr["INPMODEL"] == "pconv-lasco-v3"
    assert hdr["INPWSHA"] == "ab" * 8 and hdr["INPNBLK"] == 1 and hdr["INPNPIX"] == 32 * 32
    lines = [str(v) for v in hdr["HISTORY"]]
    assert all(len(line) <= 70 for line in lines)
    words = " ".join(lines).split()
    assert "1024" in [w.strip("(") for w in words]        # the pixel count is never split across cards


def test_nothing_filled_is_written_as_none_and_a_no_op_refill_keeps_provenance():
    hdr = stamp_header(fits.Header(), FilledImage(np.ones((4, 4)), np.zeros((4, 4), bool), [], 0, None,
                                                  "no missing blocks"))
    assert hdr["INPAINT"] == "none" and hdr["INPNBLK"] == 0
    old = fits.Header()
    old["INPAINT"] = "biharmonic"
    kept = stamp_header(old, filled_image(kept=1024, provenance=False))
    assert kept["INPAINT"] == "biharmonic"                 # the earlier fill's keywords stay


def test_output_hdulist_has_inpmask():
    hdul = output_hdulist(filled_image(), fits.Header())
    assert hdul["INPMASK"].data.dtype == np.uint8 and hdul["INPMASK"].data.sum() == 1024


def test_output_is_never_the_input(tmp_path):
    data, header = read_real()
    src = write(tmp_path / "in.fts", data, header)
    with pytest.raises(InputError, match="is the input file"):
        check_output_path(src, overwrite=True, src=src)
    (tmp_path / "link.fts").symlink_to(src)
    with pytest.raises(InputError, match="is the input file"):
        check_output_path(tmp_path / "link.fts", overwrite=True, src=src)
    os.link(src, tmp_path / "hard.fts")
    with pytest.raises(InputError, match="is the input file"):
        write_atomic(small_hdul(), tmp_path / "hard.fts", overwrite=True, src=src)
    assert np.array_equal(fits.getdata(src), data)


def test_existing_output_refused_without_overwrite(tmp_path):
    write_atomic(small_hdul("a"), tmp_path / "o.fts")
    with pytest.raises(InputError, match="exists"):
        write_atomic(small_hdul("b"), tmp_path / "o.fts")
    write_atomic(small_hdul("c"), tmp_path / "o.fts", overwrite=True)
    assert fits.getheader(tmp_path / "o.fts")["WRITER"] == "c"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.fts"]        # no temporaries left


def _writer(args):
    folder, k, n = args
    ok = []
    for i in range(n):
        try:
            write_atomic(small_hdul(f"p{k}"), os.path.join(folder, f"f{i:03d}.fts"))
            ok.append(i)
        except InputError:
            pass
    return k, ok


def test_concurrent_writers_never_write_one_output_twice(tmp_path):
    n = 60
    with mp.get_context("spawn").Pool(4) as pool:
        results = pool.map(_writer, [(str(tmp_path), k, n) for k in range(4)])
    successes = sum(len(ok) for _, ok in results)
    assert successes == n
    for k, ok in results:                      # each file holds the data of the process that reported it
        for i in ok:
            assert fits.getheader(tmp_path / f"f{i:03d}.fts")["WRITER"] == f"p{k}"
    assert len(list(tmp_path.iterdir())) == n


def test_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(small_hdul(), tmp_path / "m.fts")
        assert (tmp_path / "m.fts").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        write_atomic(small_hdul(), tmp_path / "n.fts")
        assert (tmp_path / "n.fts").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_gz_name_gets_gzip_content(tmp_path):
    write_atomic(small_hdul("z"), tmp_path / "o.fts.gz")
    raw = (tmp_path / "o.fts.gz").read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw)[:6] == b"SIMPLE"


def test_failed_write_leaves_nothing(tmp_path):
    class Broken(fits.HDUList):
        def writeto(self, *a, **k):
            raise OSError(28, "No space left on device")

    with pytest.raises(InputError, match="No space left"):
        write_atomic(Broken([fits.PrimaryHDU()]), tmp_path / "o.fts")
    assert list(tmp_path.iterdir()) == []


def test_neighbours_are_named_in_the_header_and_history():
    from dataclasses import replace
    f = filled_image()
    f = replace(f, provenance=replace(f.provenance, neighbours=("a.fts", "b.fts"), neighbour_dt=(-720.5, 1440.0)))
    old = fits.Header()
    old["INPNB3"], old["INPDT3"] = "stale.fts", 99.0            # an earlier fill's third neighbour
    hdr = stamp_header(old, f)
    assert (hdr["INPNNB"], hdr["INPNB1"], hdr["INPDT1"], hdr["INPNB2"], hdr["INPDT2"]) == \
        (2, "a.fts", -720.5, "b.fts", 1440.0)
    assert "INPNB3" not in hdr and "INPDT3" not in hdr
    text = " ".join(str(v) for v in hdr["HISTORY"])
    assert "a.fts (-720 s), b.fts (+1440 s)" in text
    alone = stamp_header(fits.Header(), filled_image())
    assert alone["INPNNB"] == 0 and "from this frame alone" in " ".join(str(v) for v in alone["HISTORY"])


def with_sigma(f, sigma):
    from dataclasses import replace
    return replace(f, sigma=sigma)


def test_inpsigma_extension_is_read_by_ccddata_as_stddev_uncertainty(tmp_path):
    from astropy.nddata import CCDData, StdDevUncertainty
    f = filled_image()
    sigma = np.where(f.filled, 2.5 + np.arange(64 * 64).reshape(64, 64) * 1e-3, 0.0)
    hdul = output_hdulist(with_sigma(f, sigma), fits.Header())
    assert [h.name for h in hdul] == ["PRIMARY", "INPMASK", "INPSIGMA"]
    ext = hdul["INPSIGMA"]
    assert ext.data.dtype == np.float32 and np.array_equal(ext.data, sigma.astype(np.float32))
    assert ext.header["BUNIT"] == "DN" and ext.header["UTYPE"] == "StdDevUncertainty"
    assert "not 'no error'" in " ".join(str(c) for c in ext.header["COMMENT"])
    assert hdul[0].header["INPSIGMA"] is True
    assert "INPSIGMA holds the fill's 1-sigma" in " ".join(str(v) for v in hdul[0].header["HISTORY"])
    write_atomic(hdul, tmp_path / "s.fts")
    ccd = CCDData.read(tmp_path / "s.fts", hdu_uncertainty="INPSIGMA", hdu_mask="INPMASK", unit="DN")
    assert isinstance(ccd.uncertainty, StdDevUncertainty)
    assert np.array_equal(ccd.uncertainty.array, sigma.astype(np.float32))
    assert np.array_equal(ccd.mask, f.filled) and np.array_equal(ccd.data, f.data)


def test_inpsigma_unit_is_the_primarys_bunit():
    h = fits.Header()
    h["BUNIT"] = "DN/s"
    hdul = output_hdulist(with_sigma(filled_image(), np.zeros((64, 64))), h)
    assert hdul["INPSIGMA"].header["BUNIT"] == "DN/s"


def test_no_sigma_writes_no_inpsigma_and_says_so():
    hdul = output_hdulist(filled_image(), fits.Header())
    assert [h.name for h in hdul] == ["PRIMARY", "INPMASK"]
    assert hdul[0].header["INPSIGMA"] is False
    assert "no uncertainty" in " ".join(str(v) for v in hdul[0].header["HISTORY"])


def test_a_sigma_beyond_float32_is_written_as_inf_and_read_back(tmp_path):
    from corkit_inpaint.read import read_fits
    f = filled_image()
    sigma = np.where(f.filled, 1e54, 0.0)
    write_atomic(output_hdulist(with_sigma(f, sigma), fits.Header()), tmp_path / "inf.fts")
    back = read_fits(tmp_path / "inf.fts").previous_sigma
    assert np.all(np.isposinf(back[f.filled])) and np.all(back[~f.filled] == 0)


def test_an_output_that_is_not_a_regular_file_is_never_replaced(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for overwrite in (False, True):
        with pytest.raises(InputError, match="not a regular file"):
            check_output_path(fifo, overwrite=overwrite)
        with pytest.raises(InputError, match="not a regular file"):
            write_atomic(small_hdul(), fifo, overwrite=overwrite)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo"]           # no temporary file left


def test_two_inputs_with_one_output_are_named():
    assert output_clash([("d1/a.fts", "out/a.fts"), ("d2/b.fts", "out/b.fts")]) == ""
    assert output_clash([("d1/a.fts", "out/a.fts"), ("d1/a.fts", "out/a.fts")]) == ""      # the same file twice
    why = output_clash([("d1/a.fts", "out/a.fts"), ("d2/a.fts", "out/./a.fts")])
    assert "out/./a.fts: would be the output of both d1/a.fts and d2/a.fts" in why


def test_a_blank_flagged_integer_file_comes_out_as_valid_float_fits(tmp_path):
    from helpers import BLANK, blank

    from corkit_inpaint import inpaint_fits
    data, header = read_real()
    hdr = header.copy()
    hdr["BLANK"] = -32768                                  # no pixel uses it; astropy reads the file as float
    src = tmp_path / "in.fts"
    fits.PrimaryHDU(blank(data, BLANK).astype(np.int32), hdr).writeto(src, output_verify="ignore")
    out = inpaint_fits(src, tmp_path / "out.fts", method="biharmonic")
    with fits.open(tmp_path / "out.fts") as h:
        assert h[0].header["BITPIX"] < 0 and "BLANK" not in h[0].header
        valid = h["INPMASK"].data == 0
        assert np.array_equal(h[0].data[valid], blank(data, BLANK)[valid])
    assert out[0].header["INPNBLK"] == len(BLANK)


def test_placing_a_vanished_temporary_claims_nothing(tmp_path, monkeypatch):
    """A temporary swept away before it is placed (another run's cleanup) leaves no empty output behind."""
    import errno

    from corkit_inpaint.tempfiles import temp_beside
    from corkit_inpaint.write import _place
    tmp = temp_beside(tmp_path, ".a.fts.", ".tmp")
    tmp.unlink()
    with pytest.raises(FileNotFoundError):
        _place(tmp, tmp_path / "a.fts", False)
    assert list(tmp_path.iterdir()) == []

    def no_links(src, dst):         # a file system without hard links (FAT, some network mounts)
        raise OSError(errno.EPERM, "hard links not supported")
    monkeypatch.setattr(os, "link", no_links)
    with pytest.raises(FileNotFoundError):
        _place(tmp, tmp_path / "a.fts", False)
    assert list(tmp_path.iterdir()) == []             # the exclusive claim was taken back
    good = temp_beside(tmp_path, ".b.fts.", ".tmp")
    good.write_bytes(b"data")
    _place(good, tmp_path / "b.fts", False)
    assert [p.name for p in tmp_path.iterdir()] == ["b.fts"] and (tmp_path / "b.fts").read_bytes() == b"data"


@pytest.mark.parametrize("suffix,magic", [(".fts.gz", b"\x1f\x8b"), (".fts.bz2", b"BZh"),
                                          (".fts.xz", b"\xfd7zXZ\x00"), (".fts.fz", b"SIMPLE")])
def test_an_output_is_compressed_as_its_name_says(tmp_path, suffix, magic):
    """.bz2 and .xz held plain FITS (review s13b, N2); .fz is tile-compressed, int64 included (N7)."""
    a = np.arange(64 * 64, dtype=np.int64).reshape(64, 64) * 3_000_000_000
    hdul = fits.HDUList([fits.PrimaryHDU(a), fits.ImageHDU(np.ones((64, 64), np.uint8), name="INPMASK")])
    dst = write_atomic(hdul, tmp_path / f"o{suffix}")
    assert dst.read_bytes().startswith(magic) and os.listdir(tmp_path) == [dst.name]
    with fits.open(dst) as h:
        img = h[1] if suffix == ".fts.fz" else h[0]
        assert np.array_equal(img.data, a) and img.data.dtype.kind == "i" and img.data.dtype.itemsize == 8
        if suffix == ".fts.fz":
            assert type(h[1]).__name__ == "CompImageHDU" and h[1].compression_type == "GZIP_2"
