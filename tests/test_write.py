"""The write step's content: provenance, HISTORY, INPMASK, INPSIGMA, sky keywords, the other extensions."""


import numpy as np
from astropy.io import fits
from helpers import read_real, truncated_cards

from corkit_inpaint.fill import FilledImage
from corkit_inpaint.methods import Provenance
from corkit_inpaint.outputs import write_atomic
from corkit_inpaint.write import output_hdulist, stamp_header


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


def test_the_factor_of_the_holes_filled_alone_is_written_only_when_checked_apart():
    from dataclasses import replace
    f = filled_image()
    apart = stamp_header(fits.Header(), replace(f, provenance=replace(f.provenance, sigma_factor=1.57,
                                                                      sigma_factor_alone=0.98)))
    assert (apart["INPSGFAC"], apart["INPSGFAL"]) == (1.57, 0.98)
    again = stamp_header(apart, f)                          # a refill with one factor: the earlier one goes
    assert "INPSGFAL" not in again and again["INPSGFAC"] == 1.0


def test_no_card_of_ours_is_cut_to_fit_80_characters():
    from dataclasses import replace
    f = filled_image()
    prov = replace(f.provenance, sigma_factor=1.57, sigma_factor_alone=0.98, sigma_blocks=2, precision="bfloat16",
                   neighbours=("32310943.fts", "32310945.fts"), neighbour_dt=(-720.09, 719.99))
    hdul = output_hdulist(replace(f, provenance=prov, sigma=np.where(f.filled, 2.5, 0.0)), fits.Header())
    assert [h.name for h in hdul] == ["PRIMARY", "INPMASK", "INPSIGMA"] and "INPSGFAL" in hdul[0].header
    for h in hdul:
        assert truncated_cards(h.header) == [], h.name


def test_history_names_a_model_only_where_one_ran():
    from dataclasses import replace
    f = filled_image()
    text = lambda prov: " ".join(str(h) for h in stamp_header(fits.Header(), replace(f, provenance=prov))["HISTORY"])
    assert "with biharmonic on cpu," in text(Provenance("biharmonic"))
    assert "with pconv pconv-lasco-v3 on cpu," in text(f.provenance)


def test_output_hdulist_has_inpmask():
    hdul = output_hdulist(filled_image(), fits.Header())
    assert hdul["INPMASK"].data.dtype == np.uint8 and hdul["INPMASK"].data.sum() == 1024


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
    assert "neighbouring frames a.fts (-720 s), b.fts (+1440 s)" in text
    one = stamp_header(fits.Header(), replace(f, provenance=replace(f.provenance, neighbours=("a.fts",),
                                                                    neighbour_dt=(-720.5,))))
    assert "the neighbouring frame a.fts (-720 s)" in " ".join(str(v) for v in one["HISTORY"])   # one: singular
    assert one.comments["INPNNB"] == "number of neighbouring frames that gave data"
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
    assert ext.data.dtype == np.dtype(">f4") and np.array_equal(ext.data, sigma.astype(np.float32))
    assert ext.header["BUNIT"] == "DN" and ext.header["UTYPE"] == "StdDevUncertainty"
    assert "not 'no error'" in " ".join(str(c) for c in ext.header["COMMENT"])
    assert hdul[0].header["INPSIGMA"] is True
    assert "INPSIGMA holds the fill's 1-sigma" in " ".join(str(v) for v in hdul[0].header["HISTORY"])
    write_atomic(hdul, tmp_path / "s.fts")
    ccd = CCDData.read(tmp_path / "s.fts", hdu_uncertainty="INPSIGMA", hdu_mask="INPMASK", unit="DN")
    assert isinstance(ccd.uncertainty, StdDevUncertainty)
    assert np.array_equal(ccd.uncertainty.array, sigma.astype(np.float32))
    assert np.array_equal(ccd.mask, f.filled) and np.array_equal(ccd.data, f.data)


def test_inpsigma_is_written_as_from_native_float32(tmp_path):
    """INPSIGMA is built big-endian, as FITS stores it: the file is the one native float32 data would give."""
    f = filled_image()
    sigma = np.where(f.filled, np.linspace(0.5, 3e5, 64 * 64).reshape(64, 64), 0.0)
    hdul = output_hdulist(with_sigma(f, sigma), fits.Header())
    write_atomic(hdul, tmp_path / "big.fts")
    hdul["INPSIGMA"].data = sigma.astype("<f4")
    write_atomic(hdul, tmp_path / "little.fts")
    assert (tmp_path / "big.fts").read_bytes() == (tmp_path / "little.fts").read_bytes()


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


def test_the_inputs_checksums_are_removed(tmp_path):
    """CHECKSUM and DATASUM of the input no longer hold for the filled data and stamped header (review s16)."""
    import warnings
    hdul = output_hdulist(filled_image(), fits.Header([("CHECKSUM", "0" * 16), ("DATASUM", "12345")]))
    assert "CHECKSUM" not in hdul[0].header and "DATASUM" not in hdul[0].header
    dst = write_atomic(hdul, tmp_path / "out.fts")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with fits.open(dst, checksum=True) as h:
            assert h[0].data.sum() == 64 * 64


def test_an_input_s_batch_stamp_is_not_carried_into_the_output():
    """An input a batch wrote carries its INPBATCH; this output is not that batch's file, so it goes."""
    hdul = output_hdulist(filled_image(), fits.Header([("INPBATCH", "0" * 32)]))
    assert "INPBATCH" not in hdul[0].header and "INPAINT" in hdul[0].header


def test_the_extensions_carry_the_images_sky_keywords_and_the_inputs_other_extensions_follow(tmp_path):
    data, header = read_real()
    extras = (fits.BinTableHDU.from_columns([fits.Column("X", "J", array=np.arange(3))], name="TAB"),
              fits.ImageHDU(np.arange(6, dtype=np.int16).reshape(2, 3), name="MORE"))
    hdul = output_hdulist(FilledImage(data, np.zeros(data.shape, bool), [], 0, None, "", np.zeros(data.shape)),
                          header, extras)
    assert [h.name for h in hdul] == ["PRIMARY", "INPMASK", "INPSIGMA", "TAB", "MORE"]
    for ext in ("INPMASK", "INPSIGMA"):
        for key in ("CRPIX1", "CRPIX2", "CDELT1", "CTYPE1", "DATE-OBS", "DETECTOR", "TELESCOP"):
            assert hdul[ext].header[key] == header[key], (ext, key)
    for suffix in (".fts", ".fts.fz"):
        with fits.open(write_atomic(hdul, tmp_path / f"out{suffix}")) as h:
            assert np.array_equal(h["TAB"].data["X"], np.arange(3)) and h["MORE"].data.tolist() == [[0, 1, 2],
                                                                                                     [3, 4, 5]]




def test_the_network_s_precision_is_in_the_header_and_history():
    """INPPREC: the precision the network ran in, as the provenance says; ``none`` for a method without a
    network and when nothing was filled. HISTORY names it beside the device when there is one."""
    from dataclasses import replace
    f = filled_image()
    half = stamp_header(fits.Header(), replace(f, provenance=replace(f.provenance, device="cuda",
                                                                      precision="float16")))
    assert (half["INPDEV"], half["INPPREC"]) == ("cuda", "float16")
    assert list(half).index("INPPREC") == list(half).index("INPDEV") + 1
    assert "on cuda in float16," in " ".join(str(v) for v in half["HISTORY"])
    plain = stamp_header(fits.Header(), f)                  # Provenance's default: a method with no network
    assert plain["INPPREC"] == "none" and "on cpu, from" in " ".join(str(v) for v in plain["HISTORY"])
    nothing = stamp_header(fits.Header(), FilledImage(np.ones((4, 4)), np.zeros((4, 4), bool), [], 0, None,
                                                      "no missing blocks"))
    assert nothing["INPPREC"] == "none"
