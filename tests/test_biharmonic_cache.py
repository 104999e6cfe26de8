"""`corkit_inpaint.biharmonic_cache`: scikit-image's biharmonic fill, bit for bit, with each mask's system kept."""

import threading

import numpy as np
import pytest
from helpers import read_real
from skimage.restoration import inpaint_biharmonic as reference

from corkit_inpaint import biharmonic_cache
from corkit_inpaint.biharmonic_cache import clear_cache, inpaint_biharmonic
from corkit_inpaint.blocks import blocks_to_mask
from corkit_inpaint.frame import Frame
from corkit_inpaint.network.windows import frame_windows


def _random_case(rng):
    """An image and a mask: rectangles (some cut by the border, where the stencil is truncated), scattered pixels."""
    shape = (int(rng.integers(6, 120)), int(rng.integers(6, 120)))
    image = rng.uniform(-5, 5) + rng.uniform(0.1, 10) * rng.standard_normal(shape)
    mask = rng.random(shape) < rng.choice([0.0, 0.003, 0.05])
    for _ in range(int(rng.integers(1, 4))):
        y, x = (int(rng.integers(-3, n)) for n in shape)
        mask[max(y, 0):max(y, 0) + int(rng.integers(1, 40)), max(x, 0):max(x, 0) + int(rng.integers(1, 40))] = True
    return image, mask


def test_equals_scikit_image_bit_for_bit_on_random_masks():
    rng = np.random.default_rng(11)
    clear_cache()
    checked = 0
    for _ in range(150):
        image, mask = _random_case(rng)
        if mask.all() or not mask.any():
            continue
        want = reference(image, mask)
        first = inpaint_biharmonic(np.where(mask, np.nan, image), mask)   # values under the mask are not read
        again = inpaint_biharmonic(image, mask)                            # from the kept system
        assert first.dtype == np.float64
        assert np.array_equal(first, want) and np.array_equal(again, want)
        checked += 1
    assert checked > 100


def test_real_windows_equal_scikit_image_and_share_one_system():
    """Two lone blocks of a real frame with valid context: one system, each fill scikit-image's."""
    data, header = read_real()
    blocks = [(10, 12), (10, 4)]
    mask = blocks_to_mask(data.shape, blocks)
    frame = Frame.build(np.where(mask, 0, data), mask, header)
    clear_cache()
    windows, _, _ = frame_windows(frame, [])
    assert len(windows) == 2 and len(biharmonic_cache._CACHE) == 1
    for w in windows:           # the guide is the float32 of scikit-image's fill of the window's values
        y0, y1, x0, x1 = w.box
        vw = frame.valid[y0:y1, x0:x1]
        z = np.where(vw, (frame.stretched[y0:y1, x0:x1].astype(np.float64) - w.centre) / w.scale, 0.0)
        assert np.array_equal(w.guides[0], reference(z, ~vw).astype(np.float32))
        assert np.ptp(w.guides[0][~vw]) > 0


def test_extreme_values_give_scikit_images_values_and_no_warning(recwarn):
    """A huge valid value overflows the right-hand side; scikit-image's compiled loop says nothing of it."""
    image = np.zeros((9, 9))
    mask = np.zeros(image.shape, dtype=bool)
    mask[2:5, 2:7] = True
    image[5, 4] = 1e308
    got = inpaint_biharmonic(image, mask)
    assert np.array_equal(got, reference(image, mask), equal_nan=True)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_other_inputs_go_to_scikit_image():
    rng = np.random.default_rng(3)
    image = rng.standard_normal((40, 50))
    mask = np.zeros(image.shape, dtype=bool)
    mask[10:20, 15:30] = True
    clear_cache()
    f32 = image.astype(np.float32)
    assert inpaint_biharmonic(f32, mask).dtype == reference(f32, mask).dtype == np.float32
    assert np.array_equal(inpaint_biharmonic(f32, mask), reference(f32, mask))
    assert np.array_equal(inpaint_biharmonic(image, np.zeros_like(mask)), image)
    assert not biharmonic_cache._CACHE
    masked = np.ma.masked_array(image, mask=mask)
    with pytest.raises(TypeError, match="Masked arrays"):
        inpaint_biharmonic(masked, mask)                        # scikit-image refuses it; so does this
    assert np.array_equal(inpaint_biharmonic(image, mask.astype(np.uint8)), reference(image, mask))
    with pytest.raises(ValueError):
        inpaint_biharmonic(image, np.ones_like(mask))           # no valid pixel: scikit-image's error


def test_the_cache_keeps_the_latest_systems_within_its_limits(monkeypatch):
    rng = np.random.default_rng(5)
    image = rng.standard_normal((48, 48))
    monkeypatch.setattr(biharmonic_cache, "MAX_SYSTEMS", 3)
    clear_cache()
    masks = []
    for k in range(5):
        m = np.zeros(image.shape, dtype=bool)
        m[8 + k:20 + k, 10:22] = True
        masks.append(m)
        inpaint_biharmonic(image, m)
    assert len(biharmonic_cache._CACHE) == 3
    keys = [key[1] for key in biharmonic_cache._CACHE]
    assert keys == [np.packbits(m).tobytes() for m in masks[2:]]           # the oldest went first
    kept = list(biharmonic_cache._CACHE)
    one = biharmonic_cache._CACHE[kept[-1]].nbytes
    monkeypatch.setattr(biharmonic_cache, "MAX_BYTES", 2 * one)        # two lone systems fit, a larger one not
    big = np.zeros(image.shape, dtype=bool)
    big[4:40, 4:40] = True
    assert np.array_equal(inpaint_biharmonic(image, big), reference(image, big))
    assert list(biharmonic_cache._CACHE) == kept                       # used once: it evicts none of the others
    inpaint_biharmonic(image, masks[0])
    assert len(biharmonic_cache._CACHE) == 2 and list(biharmonic_cache._CACHE)[-1][1] == np.packbits(masks[0]).tobytes()
    # what is counted is what the factors hold: SuperLU's own count, not the CSC copies .L and .U would make
    system = biharmonic_cache._CACHE[list(biharmonic_cache._CACHE)[-1]]
    assert system.nbytes >= 12 * system.lu.nnz


def test_threads_sharing_a_system_get_scikit_images_fills():
    rng = np.random.default_rng(8)
    mask = np.zeros((96, 96), dtype=bool)
    mask[32:64, 32:64] = True
    images = [rng.standard_normal(mask.shape) * (k + 1) for k in range(8)]
    want = [reference(im, mask) for im in images]
    clear_cache()
    got = [None] * len(images)
    barrier = threading.Barrier(len(images))

    def run(k):
        barrier.wait()
        for _ in range(20):
            got[k] = inpaint_biharmonic(images[k], mask)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(g, w) for g, w in zip(got, want))
    assert len(biharmonic_cache._CACHE) == 1
