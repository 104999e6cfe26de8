"""The fill step: every method's result is checked, valid pixels are copied, refills keep the old mask."""

from dataclasses import dataclass

import numpy as np
import pytest
from astropy.io import fits
from helpers import BLANK, C2_FULL, blank, read_file, read_real

from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.exceptions import MethodError
from corkit_inpaint.fill import cast_filled, fill_level05, run_method
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods import FillMethod, FillResult, Provenance
from corkit_inpaint.write import stamp_header


@dataclass(frozen=True)
class Scripted(FillMethod):
    """A method that returns what a test tells it to, to check what `run_method` accepts."""

    how: str = "good"

    def fill(self, frame, *, neighbours=(), device="auto", weights=None):
        values = frame.image + 7.0                  # also "changes" valid pixels: must be ignored
        filled = frame.missing.copy()
        if self.how == "shape":
            return FillResult(values[:-1], filled[:-1], Provenance(self.name))
        if self.how == "outside":
            filled[0, 0] = True
        if self.how == "nan":
            values[frame.missing] = np.nan
        if self.how == "type":
            return values
        sigma = np.ones(frame.shape)
        if self.how in ("sigma-nan", "sigma-negative"):
            sigma[frame.missing] = np.nan if self.how == "sigma-nan" else -1.0
        if self.how == "sigma-shape":
            sigma = sigma[:-1]
        return FillResult(values, filled, Provenance(self.name), sigma=sigma)


def frame():
    img = np.arange(64 * 64, dtype=float).reshape(64, 64) + 10
    mask = np.zeros((64, 64), bool)
    mask[32:, 32:] = True
    return Frame.build(np.where(mask, 0, img), mask)


def test_valid_pixels_are_copied_and_sigma_is_zero_outside():
    f = frame()
    res = run_method(Scripted("s"), f)
    assert np.array_equal(res.values[~f.missing], f.image[~f.missing])
    assert np.all(res.values[f.missing] == 7.0)
    assert np.all(res.sigma[~f.missing] == 0) and np.all(res.sigma[f.missing] == 1)


@pytest.mark.parametrize("how,match", [("shape", "shape"), ("outside", "not missing"),
                                       ("nan", "NaN or inf"), ("type", "not a FillResult"),
                                       ("sigma-nan", "NaN or negative 1-sigma"),
                                       ("sigma-negative", "NaN or negative 1-sigma"),
                                       ("sigma-shape", "1-sigma of shape")])
def test_bad_results_are_refused(how, match):
    with pytest.raises(MethodError, match=match):
        run_method(Scripted("s", how), frame())


def test_cast_rounds_and_clips_only_filled_pixels():
    data = np.array([5, 6, 7, 8], np.int16)
    m = np.array([True, True, True, False])
    out = cast_filled(np.array([1e6, -1e6, 2.5, 99.0]), data, m)
    assert out.dtype == np.int16 and out.tolist() == [32767, -32768, 2, 8]
    f32 = cast_filled(np.array([1.25, 2.0]), np.array([3.0, 4.0], np.float32), np.array([True, False]))
    assert f32.dtype == np.float32 and f32.tolist() == [1.25, 4.0]


def test_no_blocks_and_no_method():
    data, header = read_real()
    none = fill_level05(data, header, "biharmonic")
    assert none.provenance is None and not none.filled.any()
    assert none.note == ("no missing blocks; 8 all-zero blocks judged not lost (never transmitted: behind the "
                         "occulter or beyond the field stop; or with no signal around) are left as they are")
    holes = blank(data, BLANK)
    asked = fill_level05(holes, header, None)
    assert asked.missing_blocks == len(BLANK) and not asked.filled.any() and np.array_equal(asked.data, holes)


def test_refill_keeps_the_earlier_mask_and_does_not_read_it():
    data, header = read_real()
    earlier = blocks_to_mask(data.shape, [(10, 6)])          # next to the new hole
    new = [(10, 5)]
    img = blank(data, new)
    # an earlier fill's (bad) estimate, of values a pixel can read (99999 would be left out as no count anyway)
    img[earlier] = np.clip(3 * data[earlier].astype(np.float64), 1, 60000).astype(img.dtype)
    out = fill_level05(img, header, "biharmonic", previous_fill=earlier)
    assert out.kept == int(earlier.sum())
    assert np.array_equal(out.filled, earlier | blocks_to_mask(data.shape, new))
    assert np.array_equal(out.data[earlier], img[earlier])              # kept as it was
    other = img.copy()
    other[earlier] = 7                                                   # another estimate: nothing else moves
    assert np.array_equal(fill_level05(other, header, "biharmonic", previous_fill=earlier).data[~earlier],
                          out.data[~earlier])
    from corkit_inpaint.write import provenance_cards
    assert dict((k, v) for k, v, _ in provenance_cards(out))["INPNPIX"] == out.filled.sum() == 2048  # kept counted
    ref = fill_level05(blank(data, new + [(10, 6)]), header, "biharmonic")  # the estimate is not context
    near = blocks_to_mask(data.shape, new)
    plain = fill_level05(img, header, "biharmonic")
    assert np.abs(out.data[near].astype(float) - ref.data[near]).mean() < \
        np.abs(plain.data[near].astype(float) - ref.data[near]).mean()
    hist = " ".join(str(c) for c in stamp_header(fits.Header(), out)["HISTORY"])
    assert f"filled {len(new) * 1024} px in missing blocks, beside {out.kept} px an earlier fill made" in hist
    assert "(2 blocks, 2048 px flagged in all)" in hist
    again = img.copy()
    again[earlier] = 0                                        # the earlier fill's block is lost again
    redo = fill_level05(again, header, "biharmonic", previous_fill=earlier)
    assert redo.kept == 0 and np.array_equal(redo.filled, earlier | blocks_to_mask(data.shape, new))
    assert "filled 2 missing blocks (2048 px)" in " ".join(str(c) for c in stamp_header(fits.Header(), redo)["HISTORY"])


def test_fill_level05_takes_a_method_instance_and_carries_its_sigma():
    from helpers import legacy_method, sigma_method
    data, header = read_real()
    holes = blank(data, BLANK)
    out = fill_level05(holes, header, sigma_method())
    m = blocks_to_mask(data.shape, BLANK)
    assert np.array_equal(out.filled, m) and out.provenance.method == "with-sigma"
    assert np.all(out.sigma[~m] == 0) and np.all(out.sigma[m] >= 3.0)
    assert np.array_equal(out.data[~m], holes[~m])                        # valid pixels bit-identical
    assert fill_level05(holes, header, legacy_method()).sigma is None     # a legacy plugin gives none


def test_refill_keeps_the_earlier_sigma_on_kept_pixels():
    from helpers import legacy_method, sigma_method
    data, header = read_real()
    earlier = blocks_to_mask(data.shape, [(10, 6)])
    new = blocks_to_mask(data.shape, [(10, 5)])
    img = blank(data, [(10, 5)])
    old_sigma = np.where(earlier, 11.5, 0.0)
    both = fill_level05(img, header, sigma_method(), previous_fill=earlier, previous_sigma=old_sigma)
    assert np.all(both.sigma[earlier] == 11.5) and np.all(both.sigma[new] >= 3.0)
    assert np.all(both.sigma[~(earlier | new)] == 0) and "no 1-sigma" not in both.note
    # the new method gives none: the kept pixels keep theirs, the new ones are 0, and the note says so
    legacy = fill_level05(img, header, legacy_method(), previous_fill=earlier, previous_sigma=old_sigma)
    assert np.all(legacy.sigma[earlier] == 11.5) and np.all(legacy.sigma[new] == 0)
    assert "the method gives no 1-sigma" in legacy.note
    # the earlier fill had none: the new pixels get theirs, the note says the kept ones have none
    fresh = fill_level05(img, header, sigma_method(), previous_fill=earlier)
    assert np.all(fresh.sigma[earlier] == 0) and "have no 1-sigma" in fresh.note
    # nothing new to fill: the earlier sigma stays
    same = fill_level05(data, header, sigma_method(), previous_fill=earlier, previous_sigma=old_sigma)
    assert same.provenance is None and np.array_equal(same.sigma, old_sigma)
    # the earlier fill's block lost again and filled anew by a method without one: its old sigma goes with it
    again = img.copy()
    again[earlier] = 0
    redo = fill_level05(again, header, legacy_method(), previous_fill=earlier, previous_sigma=old_sigma)
    assert redo.kept == 0 and redo.filled[earlier].all() and (redo.sigma is None or np.all(redo.sigma[earlier] == 0))


def test_the_saturation_ceiling_is_the_summed_adc_s_and_no_count_raises_it():
    """Mutation s34: the ceiling without the on-board summing, or raised by a value no pixel can read, passed every
    test: the one frame tried reaches its ceiling anyway."""
    from corkit_inpaint.fill import below_saturation
    data, summed = read_real()                       # 2x2 summed on board: 4 x 16383 = 65532 DN
    _, full = read_file(C2_FULL)                     # full resolution: 16383 DN
    v, f = np.array([30000.0, 20000.0, 70000.0]), np.array([True, False, True])
    out, note = below_saturation(v, f, lambda: np.array([20000.0, 1e7]), summed)     # 1e7: no count
    assert np.array_equal(out, [30000.0, 20000.0, 65532.0]) and "1 filled px" in note and "(65532 DN)" in note
    out, note = below_saturation(v, f, lambda: np.array([20000.0]), full)
    assert np.array_equal(out, [20000.0, 20000.0, 20000.0]) and "(20000 DN)" in note   # the frame's own maximum


@pytest.mark.parametrize("key, value, says", [("CRPIX1", 1e7, "Sun centre at x="),
                                              ("OFFSET", 1e5, "bias (400000 DN) is not below"),
                                              ("SUMROW", 1e9, "give a 512x8 image, not the 512x512")])
def test_a_header_that_hides_real_losses_is_warned_about_and_history_says_so(key, value, says, caplog):
    """Losses left as zeros because of a doubtful header are not silent: a warning, and HISTORY counts them."""
    import logging
    data, header = read_real()
    hdr = header.copy()
    hdr[key] = value
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        out = fill_level05(blank(data, BLANK), hdr, "biharmonic")
    assert out.provenance is None and says in caplog.text
    hist = " ".join(str(c) for c in stamp_header(fits.Header(), out)["HISTORY"])
    assert f"{8 + len(BLANK)} all-zero blocks judged not lost" in hist and "image unchanged" in hist


def test_a_header_whose_summing_does_not_fit_the_image_is_warned_about(caplog):
    import logging
    data, header = read_real()
    hdr = header.copy()
    hdr["LEBXSUM"] = hdr["LEBYSUM"] = 1                  # a 2x2-summed frame said to be unsummed
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        fill_level05(blank(data, BLANK), hdr, "biharmonic")
    assert "give a 1024x1024 image, not the 512x512 stored" in caplog.text
    caplog.clear()
    # battery s35: a summing that makes the fill take never-sent blocks behind the occulter for lost ones was not
    # warned about (the warning came only where blocks were left as zeros)
    hdr = header.copy()
    hdr["SUMROW"] = hdr["SUMCOL"] = 2
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        out = fill_level05(blank(data, BLANK), hdr, "biharmonic")
    assert len(out.blocks) > len(BLANK) and "give a 256x256 image, not the 512x512 stored" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        fill_level05(blank(data, BLANK), header, "biharmonic")              # the real header: no warning
    assert caplog.text == ""


def test_a_subfield_without_the_sun_is_not_warned_about(caplog):
    import logging

    from helpers import C2_FULL, read_file
    data, header = read_file(C2_FULL)
    sub, hdr = data[:512, :480].copy(), header.copy()
    hdr["R2COL"], hdr["R2ROW"] = hdr["R1COL"] + 479, hdr["R1ROW"] + 511
    sub[256:288, 64:96] = 0
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        fill_level05(sub, hdr, None)
    assert "Sun centre" not in caplog.text and "give a" not in caplog.text


def test_a_fill_with_no_noise_around_it_warns_that_its_sigma_is_unknown(caplog):
    """Every value equal (an all-saturated field): the table's sigma is 0, which INPSIGMA reserves for 'not
    estimated'; the fill says so (review s13, D10)."""
    import logging

    from corkit_inpaint.fill import fill_level05
    data, hdr = read_real()
    flat = np.where(data > 0, 30000, 0).astype(data.dtype)
    flat[64:96, 64:96] = 0
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        res = fill_level05(flat, hdr, "biharmonic")
    zero = int(np.sum(res.filled & (res.sigma == 0)))
    assert zero > 0 and f"{zero} filled pixels have a 1-sigma of 0" in caplog.text


def test_zero_blocks_inside_the_field_left_unfilled_are_said_and_one_block_is_singular(caplog):
    """Review s15: in a frame with most of its blocks lost, blocks with nothing sent around them stayed zeros
    silently; HISTORY read 'filled 1 missing blocks'."""
    import logging
    data, header = read_real()
    from corkit_inpaint.blocks import zero_blocks_in_field
    lost = [(by, bx) for by in range(1, 15) for bx in range(1, 15)]       # most of the frame
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        out = fill_level05(blank(data, lost), header, "biharmonic")
    left = len(set(zero_blocks_in_field(blank(data, lost), header)) - set(out.blocks))
    assert left > 10 and f"{left} all-zero blocks inside the field left as they are" in caplog.text
    hist = " ".join(str(c) for c in stamp_header(fits.Header(), out)["HISTORY"])
    assert f"{left} all-zero blocks inside the field" in hist
    one = fill_level05(blank(data, BLANK[:1]), header, "biharmonic")
    hist = " ".join(str(c) for c in stamp_header(fits.Header(), one)["HISTORY"])
    assert "filled 1 missing block (1024 px)" in hist and "inside the field" not in hist


def test_a_sigma_that_cannot_be_checked_is_warned_of(caplog):
    """Review s15: HISTORY alone said so, while such a sigma was up to 40 times too small."""
    import logging
    data, _ = read_real()
    crop = data[200:296, 200:296].astype(float)            # 3x3 blocks: none two or three blocks from the hole
    mask = blocks_to_mask(crop.shape, [(1, 1)])
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        res = run_method("biharmonic", Frame.build(np.where(mask, 0.0, crop), mask, None))
    assert res.sigma is not None and "could not be checked on this frame (no valid block" in caplog.text


def test_a_block_zero_but_for_a_stray_value_is_named_not_filled(caplog):
    """Review s16: the real full C2 frame's never-sent corner block is 1023 zeros and one 8192; a loss inside
    the field like it is no candidate (a valid pixel is never changed), so a warning and HISTORY name it."""
    import logging

    from helpers import C2_FULL, C3_SEQ
    with fits.open(C3_SEQ[1]) as h:
        data, header = np.array(h[0].data), h[0].header.copy()
    c2 = fits.getdata(C2_FULL)[0:32, 992:1024]
    assert int((c2 == 0).sum()) == 1023 and c2.max() == 8192
    data[20 * 32:21 * 32, 10 * 32:11 * 32] = 0
    data[20 * 32 + 7, 10 * 32 + 28] = 8192
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint.fill"):
        res = fill_level05(data, header, "biharmonic", device="cpu")
    assert not res.filled.any() and np.array_equal(res.data, data)
    assert "1 block inside the field is zero but for a few pixels" in res.note
    assert any("zero but for a few pixels" in r.getMessage() for r in caplog.records)
    clean = fits.getdata(C3_SEQ[1])
    assert "zero but for a few" not in fill_level05(clean, header, None).note     # the archive frame has none


def test_neighbours_that_lost_the_same_blocks_leave_the_sigma_as_the_frame_alone_has_it():
    """Battery 27: a neighbour that lost the same blocks gives the fill nothing (INPNNB 0, the values of the frame
    alone), but the sigma's check filled the checked valid blocks with its data and scaled the fill's sigma by
    1.57 instead of 0.94 (8 blocks: 90% of the true pixels within 1 sigma instead of 68%), here by 3.0, its
    cap, instead of 0.99."""
    from helpers import C3_SEQ, read_file, seq_blocks
    (before, hb), (data, hdr), (after, ha) = (read_file(p) for p in C3_SEQ)
    blocks = seq_blocks(data, hdr, 4, seed=5)
    test, before, after = (blank(d, blocks) for d in (data, before, after))
    alone = fill_level05(test, hdr, "pconv-smooth", device="cpu")
    same = fill_level05(test, hdr, "pconv-smooth", neighbours=[(before, hb), (after, ha)], device="cpu")
    assert same.provenance.neighbours == ()
    assert np.array_equal(same.data, alone.data)
    assert same.provenance.sigma_factor == alone.provenance.sigma_factor
    assert np.array_equal(same.sigma, alone.sigma)


def test_a_fill_beside_saturated_pixels_stays_at_or_below_the_detectors_saturation():
    """Battery 27: beside the real summed C2 frame's saturated pixels (65532 DN, 4 x 16383) the fill reached
    120324 DN here (75141 with two more blocks blanked), which no pixel of the frame can read; the same frame
    stored as wrapping 16-bit counts was clipped at 65535 instead, so two files of one frame were filled apart."""
    data, header = read_real()
    blocks = [(5, 7), (5, 8), (10, 8)]
    test = blank(data, blocks)
    full = fill_level05(test, header, "pconv-smooth", device="cpu")
    m = full.filled
    assert m.sum() == 3 * 32 * 32
    assert full.data[m].max() == 65532 and "lowered to it (65532 DN)" in full.note
    wrapped = np.where(test > 32767, test - 65536, test).astype(np.int16)            # as a BITPIX 16 file stores it
    w = fill_level05(wrapped, header, "pconv-smooth", device="cpu")
    counts = np.where(w.data < 0, w.data.astype(np.int64) + 65536, w.data)
    assert np.array_equal(counts, full.data)
    from corkit_inpaint import inpaint_array
    from corkit_inpaint.blocks import blocks_to_mask
    arr = inpaint_array(test, blocks_to_mask(data.shape, blocks), header=header, device="cpu")
    assert arr[m].max() == 65532 and np.array_equal(np.rint(arr[m]), full.data[m])   # the array API as the file



def test_weights_given_to_a_method_without_a_network_are_named_not_silently_dropped(caplog):
    """Matrix battery 27: ``--weights`` with biharmonic, fuzzy or ratio was ignored without a word, even a model
    that does not exist; now a warning names them. The network's methods take them without one."""
    import logging
    data, header = read_real()
    frame = Frame.build(blank(data, [(10, 8)]), blocks_to_mask(data.shape, [(10, 8)]), header)
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        run_method("biharmonic", frame, weights="no-such-model", check_sigma=False)
    assert "'biharmonic' runs no network: the weights given (no-such-model) are not used" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        run_method("pconv-smooth", frame, weights="pconv-lasco-nb3", device="cpu", check_sigma=False)
    assert "runs no network" not in caplog.text
