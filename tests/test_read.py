"""The read step: what is refused, with one line, before anything large is read."""

import gzip

import numpy as np
import pytest
from astropy.io import fits
from helpers import BLANK, LEVEL1, REAL, blank, read_real, sha, write

from corkit_inpaint import inpaint_fits
from corkit_inpaint.earlier import check_own_sigma
from corkit_inpaint.exceptions import InputError
from corkit_inpaint.read import MAX_PIXELS, read_fits, read_level05, read_neighbours


def card(key, value):
    """One 80-character header card; ``value`` is written as given (a FITS value string)."""
    return f"{key:<8}= {value:>20}".ljust(80)


def raw_fits(path, cards, data=b""):
    """A FITS file written byte by byte, so its header can say what astropy would not write."""
    head = "".join(cards) + "END".ljust(80)
    head += " " * (-len(head) % 2880)
    path.write_bytes(head.encode("ascii") + data + b"\0" * (-len(data) % 2880))
    return path


def real_cards(**changes):
    """The real file's header cards with keywords replaced (``None`` deletes one)."""
    _, header = read_real()
    out = []
    for c in header.cards:
        if c.keyword in changes:
            if changes[c.keyword] is not None:
                out.append(card(c.keyword, changes.pop(c.keyword)))
            else:
                changes.pop(c.keyword)
            continue
        out.append(c.image)
    return out + [card(k, v) for k, v in changes.items() if v is not None]


def real_bytes():
    data, _ = read_real()
    return blank(data, BLANK).astype(">i4").tobytes()


def test_reads_the_real_file():
    r = read_level05(REAL)
    data, header = read_real()
    assert np.array_equal(r.data, data) and r.data.dtype == data.dtype
    assert header["DETECTOR"] == r.header["DETECTOR"] and r.previous_fill is None


@pytest.mark.parametrize("changes,match", [
    ({"NAXIS1": None}, "NAXIS1"),                                   # KeyError in astropy before
    ({"BITPIX": None}, "BITPIX|not a FITS file"),
    ({"BITPIX": "7"}, "BITPIX|not a FITS file"),
    ({"NAXIS": "3"}, "NAXIS3"),                                      # NAXIS = 3 without NAXIS3
    ({"NAXIS1": "100000", "NAXIS2": "100000"}, "claims 100000 x 100000"),   # 37 GiB claimed
    ({"LEBXSUM": "1E999"}, "LEBXSUM"),                              # OverflowError before
    ({"SUMROW": "1E999"}, "SUMROW"),
    ({"EXPTIME": "1E999"}, "EXPTIME"),
    ({"OFFSET": "'abc'"}, "OFFSET"),                                 # ValueError before
    ({"CRPIX1": "'centre'"}, "CRPIX1"),
    ({"SUMCOL": "'two'"}, "SUMCOL"),
    ({"R1COL": "'x'"}, "R1COL"),
    ({"LEVEL_1": "1"}, "already level 1"),                           # corkit's level-1 marker
    ({"LEVEL_1": "''"}, "already level 1"),
    ({"LEVEL": "'Level 1'"}, r"already level 1 \(LEVEL='Level 1'\)"),  # passed as level 0.5 before
    ({"LEVEL": "'LEVEL1'"}, "already level 1"),
    ({"LEVEL": "'L2'"}, "already level 1"),
    ({"LEVEL": "2"}, "already level 1"),
    ({"INSTRUME": "'EIT'"}, "INSTRUME = 'EIT': the fill is made for LASCO level-0.5 frames"),   # filled before
    ({"EXPTIME": "NAN"}, "EXPTIME cannot be read as a number"),      # unparsable: taken as absent before
    ({"CRPIX1": "INF"}, "CRPIX1 cannot be read as a number"),
    ({"CROTA1": "NaN"}, "CROTA1 has a value that cannot be read"),  # a traceback when the output repeated it
    ({"BUNIT": "DN"}, "BUNIT has a value that cannot be read"),
    ({"DETECTOR": "'C3'"}, "DETECTOR = 'C3' with CDELT1 = 23.8 arcsec/px.*contradicts itself"),  # filled as C3
    # battery s36: resampled after read-out (sunpy's superpixel keeps LEBXSUM): 16x16 losses, left unfilled silently
    ({"CDELT1": "47.6"}, r"CDELT1 = 47.6 arcsec/px is 2 times C2's plate scale \(11.9 arcsec/px\) times its summing "
                         r"\(LEBXSUM x SUMCOL = 2\): the image was resampled after read-out"),
    ({"CDELT2": "11.9"}, r"CDELT2 = 11.9 arcsec/px is 0.5 times .* \(LEBYSUM x SUMROW = 2\)"),
    ({"LEBXSUM": "1000000"}, "LEBXSUM = 1000000.0 is not a summing factor"),     # clipped to 64 before
    ({"SUMROW": "-2"}, "SUMROW = -2.0 is not a summing factor"),                 # taken as 1 before
])
def test_malformed_headers_give_one_line_input_errors(tmp_path, changes, match):
    path = raw_fits(tmp_path / "bad.fts", real_cards(**changes), real_bytes())
    before = sha(path)
    with pytest.raises(InputError, match=match) as ei:
        read_level05(path)
    assert "\n" not in str(ei.value) and str(path) in str(ei.value)
    assert sha(path) == before


def test_size_limit_is_checked_before_reading_and_can_be_raised(tmp_path):
    data, header = read_real()
    big = np.zeros((1100, 1100), np.int16)
    big[:512, :512] = data
    path = write(tmp_path / "big.fts", big, header)
    with pytest.raises(InputError, match="more than the limit of 1000000") as ei:
        read_level05(path, max_pixels=1_000_000)
    # it names where the limit is set: `evaluate` and `level_1` have no --max-pixels of their own
    assert "inpaint_fits's max_pixels, or `corkit-inpaint fill --max-pixels`" in str(ei.value)
    assert read_level05(path, max_pixels=1_300_000).data.shape == (1100, 1100)
    assert MAX_PIXELS >= 1024 * 1024


def test_compressed_input_memory_is_bounded(tmp_path):
    # a small .gz whose content claims (and holds) far more than any LASCO frame
    path = tmp_path / "bomb.fts.gz"
    cards = real_cards(NAXIS1="20000", NAXIS2="20000")
    head = ("".join(cards) + "END".ljust(80)).ljust(2880 * 2)
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(head.encode("ascii"))
        zeros = b"\0" * (1 << 24)
        for _ in range(20):                       # 320 MiB of zeros, a few hundred kB compressed
            fh.write(zeros)
    assert path.stat().st_size < 2_000_000
    with pytest.raises(InputError, match="decompresses to more than|claims 20000 x 20000"):
        read_level05(path)


def test_compressed_input_is_read(tmp_path):
    data, header = read_real()
    plain = write(tmp_path / "a.fts", blank(data, BLANK), header)
    gz = tmp_path / "a.fts.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert np.array_equal(read_level05(gz).data, read_level05(plain).data)


def test_folder_missing_and_not_fits(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        read_level05(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_level05(tmp_path / "nope.fts")
    (tmp_path / "text.fts").write_text("not a fits file\n" * 100)
    with pytest.raises(InputError, match="not a FITS file"):
        read_level05(tmp_path / "text.fts")


def test_level1_and_all_zero_refused(tmp_path):
    with pytest.raises(InputError, match="already level 1"):
        read_level05(LEVEL1)
    data, header = read_real()
    with pytest.raises(InputError, match="all zero"):
        read_level05(write(tmp_path / "z.fts", np.zeros_like(data), header))
    with pytest.raises(InputError, match=r"has no pixels \(\(0, 512\)\)"):       # not "all zero"
        read_level05(write(tmp_path / "empty.fts", np.zeros((0, 512), np.int32), header))


def test_filled_file_needs_refill_and_keeps_its_mask(tmp_path):
    data, header = read_real()
    mask = np.zeros(data.shape, np.uint8)
    mask[96:128, 128:160] = 1
    hdr = header.copy()
    hdr["INPAINT"] = "pconv"
    fits.HDUList([fits.PrimaryHDU(data, hdr), fits.ImageHDU(mask, name="INPMASK")]).writeto(
        tmp_path / "f.fts", output_verify="ignore")
    with pytest.raises(InputError, match="already filled by corkit-inpaint"):
        read_level05(tmp_path / "f.fts")
    r = read_level05(tmp_path / "f.fts", refill=True)
    assert np.array_equal(r.previous_fill, mask.astype(bool))
    # INPAINT alone (the mask extension lost) is refused too
    write(tmp_path / "g.fts", data, hdr)
    with pytest.raises(InputError, match="already filled"):
        read_level05(tmp_path / "g.fts")
    # ... and even with refill, while its header says pixels were estimated: they would be taken for data
    with pytest.raises(InputError, match=r"estimated pixels \(INPAINT='pconv'\), but it carries no INPMASK"):
        read_level05(tmp_path / "g.fts", refill=True)
    hdr["INPNPIX"] = 1024
    write(tmp_path / "h.fts", data, hdr)
    with pytest.raises(InputError, match="estimated 1024 pixels"):
        read_level05(tmp_path / "h.fts", refill=True)
    assert read_neighbours([tmp_path / "h.fts"]) == []          # as a neighbour: left out
    hdr["INPNPIX"], hdr["INPAINT"] = 0, "none"                  # an earlier run that filled nothing
    write(tmp_path / "i.fts", data, hdr)
    assert read_level05(tmp_path / "i.fts", refill=True).previous_fill is None
    # battery s36: a mask that flags fewer pixels than INPNPIX (cleared, or cut) passed the others off as data
    hdr["INPNPIX"], hdr["INPAINT"] = 1024, "pconv"
    for flagged in (0, 512):
        cut = mask.copy()
        cut[96:128, 128:160][:, flagged // 32:] = 0
        fits.HDUList([fits.PrimaryHDU(data, hdr), fits.ImageHDU(cut, name="INPMASK")]).writeto(
            tmp_path / "c.fts", output_verify="ignore", overwrite=True)
        with pytest.raises(InputError, match=f"estimated 1024 pixels \\(INPNPIX\\), but its mask flags {flagged};"):
            read_level05(tmp_path / "c.fts", refill=True)
        assert read_neighbours([tmp_path / "c.fts"]) == []      # as a neighbour: left out
    fits.HDUList([fits.PrimaryHDU(data, hdr), fits.ImageHDU(mask, name="INPMASK")]).writeto(
        tmp_path / "c.fts", output_verify="ignore", overwrite=True)
    assert read_level05(tmp_path / "c.fts", refill=True).previous_fill.sum() == 1024


@pytest.mark.parametrize("case", ["nan", "two", "table"])
def test_a_damaged_inpmask_is_refused_in_one_line(case, tmp_path):
    data, header = read_real()
    hdr = header.copy()
    hdr["INPAINT"] = "pconv"
    if case == "table":
        ext = fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=np.arange(3.0))],
                                            name="INPMASK")
    else:
        mask = np.zeros(data.shape, np.float32)
        mask[96:128, 128:160] = 1
        mask[0, 0] = np.nan if case == "nan" else 2
        ext = fits.ImageHDU(mask, name="INPMASK")
    fits.HDUList([fits.PrimaryHDU(data, hdr), ext]).writeto(tmp_path / "f.fts", output_verify="ignore")
    why = "not an image extension" if case == "table" else "values other than 0 and 1"
    with pytest.raises(InputError, match=why):
        read_level05(tmp_path / "f.fts", refill=True)


def test_read_fits_reads_an_image_extension(tmp_path):
    data, header = read_real()
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, header)]).writeto(tmp_path / "ext.fts",
                                                                          output_verify="ignore")
    assert np.array_equal(read_fits(tmp_path / "ext.fts").data, data)


def test_compressed_content_is_bounded_whatever_the_name(tmp_path):
    path = tmp_path / "looks_plain.fts"                # gzip content, a plain FITS name
    cards = real_cards(NAXIS1="20000", NAXIS2="20000")
    head = ("".join(cards) + "END".ljust(80)).ljust(2880 * 2)
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(head.encode("ascii"))
        for _ in range(12):
            fh.write(b"\0" * (1 << 24))
    with pytest.raises(InputError, match="decompresses to more than|claims 20000 x 20000"):
        read_level05(path)


def test_read_neighbours_leaves_out_what_cannot_be_read(tmp_path, caplog):
    import logging

    from helpers import C3_SEQ

    from corkit_inpaint.read import read_neighbours
    bad = tmp_path / "bad.fts"
    bad.write_text("not fits")
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        got = read_neighbours([C3_SEQ[0], bad, tmp_path / "missing.fts"])
    assert len(got) == 1 and got[0].header["FILENAME"] == "32310943.fts"
    assert caplog.text.count("neighbouring frame left out") == 2 and read_neighbours(None) == []


def _filled_file(path, sigma):
    data, header = read_real()
    mask = np.zeros(data.shape, np.uint8)
    mask[96:128, 128:160] = 1
    hdr = header.copy()
    hdr["INPAINT"] = "biharmonic"
    fits.HDUList([fits.PrimaryHDU(data, hdr), fits.ImageHDU(mask, name="INPMASK"),
                  fits.ImageHDU(sigma, name="INPSIGMA")]).writeto(path, output_verify="ignore")
    return path, mask.astype(bool)


def test_refill_reads_the_earlier_inpsigma(tmp_path):
    data, _ = read_real()
    sigma = np.zeros(data.shape, np.float32)
    sigma[96:128, 128:160] = 4.25
    path, mask = _filled_file(tmp_path / "s.fts", sigma)
    r = read_level05(path, refill=True)
    assert r.previous_sigma.dtype == np.float64 and np.array_equal(r.previous_sigma, sigma)
    assert np.array_equal(r.previous_fill, mask)
    assert read_level05(REAL).previous_sigma is None


@pytest.mark.parametrize("bad,match", [("shape", "INPSIGMA has shape"), ("nan", "INPSIGMA holds"),
                                       ("negative", "INPSIGMA holds")])
def test_bad_inpsigma_is_refused(tmp_path, bad, match):
    data, _ = read_real()
    sigma = np.zeros((10, 10) if bad == "shape" else data.shape, np.float32)
    sigma[0, 0] = np.nan if bad == "nan" else -1.0
    path, _ = _filled_file(tmp_path / "b.fts", sigma)
    with pytest.raises(InputError, match=match):
        read_level05(path, refill=True)


@pytest.mark.parametrize("value", [7.0, np.nan])
def test_another_s_inpsigma_is_refused_not_replaced(tmp_path, value):
    """Battery s37: a file with an INPSIGMA extension of its own (no INPMASK, no INPAINT) was filled and its
    extension replaced by the fill's without a word (one holding NaN was refused as an earlier fill's, also as a
    neighbour; a valid one is read as one now)."""
    data, header = read_real()
    path = tmp_path / "own.fts"
    own = fits.ImageHDU(np.full(data.shape, value, np.float32), name="INPSIGMA")
    fits.HDUList([fits.PrimaryHDU(blank(data, BLANK), header), own]).writeto(path, output_verify="ignore")
    before = sha(path)
    with pytest.raises(InputError, match=r"^.*own.fts: has an INPSIGMA extension but no INPMASK and no INPAINT: not "
                                         r"a corkit-inpaint output, .*rename that extension$"):
        check_own_sigma(read_level05(path, refill=True))
    assert sha(path) == before
    for fill in (lambda: inpaint_fits(path, tmp_path / "out.fts", method="biharmonic"),
                 lambda: inpaint_fits(path, tmp_path / "out.fts", method="biharmonic", refill=True)):
        with pytest.raises(InputError, match="has an INPSIGMA extension but no INPMASK"):
            fill()
    assert sha(path) == before and not (tmp_path / "out.fts").exists()
    # as a neighbour (nothing of it is written) it is read as it is (review s37)
    assert read_neighbours([path])[0].path == path


def test_blank_pixels_are_refused_as_undefined(tmp_path):
    """astropy turns pixels at the BLANK value into NaN: the message says BLANK, not NaN (review s13, D8)."""
    data, hdr = read_real()
    img = blank(data, BLANK).astype(np.int16)
    img[5, 5:9] = -32768
    hdr = hdr.copy()
    hdr["BLANK"] = -32768
    path = write(tmp_path / "blank.fts", img, hdr)
    n = int(np.sum(img == -32768))
    with pytest.raises(InputError, match=f"{n} pixels are undefined \\(BLANK = -32768") as ei:
        read_level05(path)
    assert "\n" not in str(ei.value)
    img[img == -32768] = 100                           # a BLANK keyword alone is fine
    assert read_level05(write(tmp_path / "blank_ok.fts", img, hdr)).data.dtype.kind == "f"


def test_an_unparsable_card_the_output_does_not_repeat_is_kept_as_it_was(tmp_path):
    """Review: refusing every unparsable card refused files the package fills and writes (a card it never reads)."""
    path = raw_fits(tmp_path / "odd.fts", real_cards(XTRA="abc"), real_bytes())
    r = read_level05(path)
    assert "XTRA" in r.header and r.data.shape == read_real()[0].shape


def unreadable_files(tmp_path):
    """Files the system refuses to read: one without read permission (not as root, who reads anything), and
    /proc/self/mem, a regular file whose first bytes no process can read (EIO), root or not."""
    import os
    from pathlib import Path
    out = [Path("/proc/self/mem")] if Path("/proc/self/mem").is_file() else []
    if os.geteuid() != 0:
        (tmp_path / "locked.fts").write_bytes(REAL.read_bytes())
        (tmp_path / "locked.fts").chmod(0)
        out.append(tmp_path / "locked.fts")
    if not out:
        pytest.skip("no file here that the system refuses to read")
    return out


def test_a_file_the_system_will_not_read_is_not_called_corrupt(tmp_path):
    """Battery: a file without read permission was 'not a FITS file, or truncated (PermissionError: ...)'."""
    from corkit_inpaint.read import read_header
    for src in unreadable_files(tmp_path):
        for read in (read_level05, read_header):
            with pytest.raises(InputError) as ei:
                read(src)
            msg = str(ei.value)
            assert msg.startswith(f"{src}: cannot be read (") and "\n" not in msg, msg
            assert "not a FITS" not in msg and "truncated" not in msg
            assert ("Permission denied" if src.name == "locked.fts" else "Input/output error") in msg


@pytest.mark.parametrize("changes", [{"INPAINT": "'pconv"}, {"INPAINT": "'pconv'", "INPNPIX": "1x24"},
                                     {"INPNPIX": "NAN"}])
def test_an_earlier_fill_s_keyword_that_cannot_be_parsed_is_refused_in_one_line(tmp_path, changes, capsys):
    """Hostile-input battery 2: an INPAINT or INPNPIX card astropy cannot parse (an unclosed quote, NAN) raised
    astropy's VerifyError from the checks of an earlier fill (`corkit_inpaint.header.says_filled`, the 'already
    filled' refusal, `read_map`'s warning): ``fill`` of several files ended in a traceback at that file; with
    ``refill`` the card was read as absent and the file filled as never filled. Now one line, the others go on."""
    import shutil

    from corkit_inpaint.cli import main
    path = raw_fits(tmp_path / "odd.fts", real_cards(**changes), real_bytes())
    before = sha(path)
    for refill in (False, True):
        with pytest.raises(InputError, match="keyword INP(AINT|NPIX) has a value that cannot be read") as ei:
            read_level05(path, refill=refill)
        assert "\n" not in str(ei.value) and str(path) in str(ei.value)
    pytest.importorskip("sunpy")
    from corkit_inpaint.maps import read_map
    with pytest.raises(InputError, match="cannot be read"):
        read_map(path)
    good = shutil.copyfile(REAL, tmp_path / "good.fts")
    capsys.readouterr()
    code = main(["-q", "fill", "--method", "biharmonic", "--neighbours", "none", "--outdir", str(tmp_path / "out"),
                 str(path), str(good)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1 and "odd.fts" in err
    assert (tmp_path / "out" / "good.fts").is_file() and not (tmp_path / "out" / "odd.fts").exists()
    assert sha(path) == before
