"""`corkit_inpaint.wrap`: a summed frame in a signed 16-bit file, its counts above 32767 stored negative."""

import numpy as np
from helpers import blank, read_real

from corkit_inpaint.blocks import find_missing_blocks
from corkit_inpaint.fill import fill_level05
from corkit_inpaint.wrap import WRAP, unwrapped, wrapped_values, wraps


def _as_int16(counts):
    """How a BITPIX 16 file holds counts up to 65535 (review s16: the archive's summed frames)."""
    return np.where(counts > 32767, counts - WRAP, counts).astype(np.int16)


def test_unwrapped_and_wrapped_values_are_inverse_and_only_for_summed_int16():
    hdr = {"LEBXSUM": 2, "LEBYSUM": 2}
    counts = np.array([[0, 1, 32767, 32768], [40000, 65535, 600, 2]], dtype=np.int32)
    stored = _as_int16(counts)
    assert wraps(stored, hdr) and not wraps(stored, {}) and not wraps(counts, hdr)
    assert np.array_equal(unwrapped(stored, hdr), counts) and unwrapped(stored, {}) is stored
    assert unwrapped(counts, hdr) is counts
    assert np.array_equal(wrapped_values(counts.astype(float) + 0.3, np.int16), stored)
    assert wrapped_values(np.array([-5.0, 70000.0]), np.int16).tolist() == [0, -1]     # clipped to 0..65535


def test_a_summed_int16_frame_is_filled_as_its_counts_and_written_back_wrapped():
    data, header = read_real()                        # the real 2x2-summed C2 frame, stored here as int32
    assert header["LEBXSUM"] * header["LEBYSUM"] > 1 and (data > 32767).sum() > 1000
    bright = np.argwhere(data > 40000)[0] // 32       # a block holding wrapped counts, and one far from it
    lost = [tuple(int(v) for v in bright), (10, 12)]
    counts = blank(data, lost)
    stored = _as_int16(counts)
    assert (stored < 0).any()
    assert find_missing_blocks(stored, header)[1] == find_missing_blocks(counts, header)[1] == sorted(lost)
    a = fill_level05(counts, header, "biharmonic", device="cpu")
    b = fill_level05(stored, header, "biharmonic", device="cpu")
    assert b.data.dtype == np.int16 and np.array_equal(b.filled, a.filled) and a.filled.sum() == 2 * 1024
    assert np.array_equal(b.data[~b.filled], stored[~b.filled])                 # valid pixels bit-identical
    assert np.array_equal(unwrapped(b.data, header), a.data)                     # the same counts, wrapped
    assert (b.data[b.filled] < 0).any()                                          # bright fills stored wrapped


def test_a_wrapped_bright_block_is_not_a_lost_one():
    data, header = read_real()
    counts = data.astype(np.int32)
    counts[128:160, 128:160] = 50000                  # a whole block past 32767: every stored value negative
    stored = _as_int16(counts)
    assert (stored[128:160, 128:160] < 0).all()
    res = fill_level05(stored, header, "biharmonic", device="cpu")
    assert not res.filled.any() and np.array_equal(res.data, stored)


def test_inpaint_array_reads_a_wrapped_summed_frame_as_counts():
    import corkit_inpaint as ci
    data, header = read_real()
    counts = blank(data, [(10, 12)])
    out = ci.inpaint_array(_as_int16(counts), header=header, method="biharmonic")
    assert np.array_equal(out, ci.inpaint_array(counts, header=header, method="biharmonic"))
