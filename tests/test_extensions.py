"""The input's other extensions carried into the output: within a bound on their size."""

import numpy as np
from astropy.io import fits

import corkit_inpaint as ci


def test_extensions_beyond_the_image_s_limit_are_not_read_or_carried(blanked_file, tmp_path, caplog):
    """Battery s34: a 2.7 MB .fits.fz whose second extension decompressed to 12000 x 12000 (and a sparse file
    whose extension claimed 20000 x 20000) were read whole and copied, past --max-pixels: 642 MB and 1.6 GB."""
    big = fits.CompImageHDU(np.zeros((4000, 4000), dtype=np.int16), name="BIG")       # 32 MB, compressed tiny
    small = fits.ImageHDU(np.arange(6, dtype=np.int16).reshape(2, 3), name="AUX")
    with fits.open(blanked_file) as h:
        fits.HDUList([h[0].copy(), big, small]).writeto(tmp_path / "in.fits", output_verify="ignore")
    assert (tmp_path / "in.fits").stat().st_size < 3e6
    out = ci.inpaint_fits(tmp_path / "in.fits", method="biharmonic", device="cpu", max_pixels=1024 * 1024)
    assert [x.name for x in out] == ["PRIMARY", "INPMASK", "INPSIGMA", "AUX"]          # 32 MB > 8 MB: left out
    assert "extension 1 (BIG) holds 30.5 MiB of data, beyond the 8.0 MiB" in caplog.text
    out = ci.inpaint_fits(tmp_path / "in.fits", method="biharmonic", device="cpu")    # the default: 32 MiB
    assert [x.name for x in out] == ["PRIMARY", "INPMASK", "INPSIGMA", "BIG", "AUX"]


def test_an_image_extension_is_said_to_be_carried_unfilled(blanked_file, tmp_path, caplog):
    """Battery s34: a 2x2 primary with the real frame, holes and all, in extension 1 was "filled" (nothing) and
    the frame copied unfilled, without a word."""
    with fits.open(blanked_file) as h:
        frame = fits.ImageHDU(h[0].data.copy(), h[0].header.copy(), name="FRAME")
        fits.HDUList([fits.PrimaryHDU(np.full((2, 2), 5, dtype=np.int16)), frame]).writeto(
            tmp_path / "in.fits", output_verify="ignore")
    out = ci.inpaint_fits(tmp_path / "in.fits", method="biharmonic", device="cpu")
    assert out[0].header["INPAINT"] == "none" and [x.name for x in out][-1] == "FRAME"
    assert "extension 1 (FRAME) is a 512 x 512 image too, carried into the output as it is" in caplog.text


def test_a_scaled_extension_counts_as_the_floats_it_is_copied_as(blanked_file, tmp_path, caplog):
    """Review s34: a 4 MiB scaled uint8 extension became a 16 MiB float32 copy, counted as 4 MiB; an unsigned 16-bit
    one (BZERO 32768) stays integers and counts as such."""
    scaled = fits.ImageHDU(np.zeros((2048, 2048), dtype=np.uint8), name="SCALED")      # 4 MiB of bytes
    scaled.scale("uint8", bscale=0.5, bzero=10)
    with fits.open(blanked_file) as h:
        fits.HDUList([h[0].copy(), scaled]).writeto(tmp_path / "in.fits", output_verify="ignore")
    out = ci.inpaint_fits(tmp_path / "in.fits", method="biharmonic", device="cpu", max_pixels=1024 * 1024)
    assert [x.name for x in out] == ["PRIMARY", "INPMASK", "INPSIGMA"]                  # 16 MiB as float32 > 8
    assert "extension 1 (SCALED) holds 16.0 MiB of data" in caplog.text
    unsigned = fits.ImageHDU(np.zeros((2048, 1024), dtype=np.uint16), name="U16")         # 4 MiB, stays uint16
    with fits.open(blanked_file) as h:
        fits.HDUList([h[0].copy(), unsigned]).writeto(tmp_path / "u.fits", output_verify="ignore")
    out = ci.inpaint_fits(tmp_path / "u.fits", method="biharmonic", device="cpu", max_pixels=1024 * 1024)
    assert [x.name for x in out] == ["PRIMARY", "INPMASK", "INPSIGMA", "U16"] and out["U16"].data.dtype == np.uint16
