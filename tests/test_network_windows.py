"""`corkit_inpaint.network.windows`: windows around the missing clusters, and a frame's network inputs."""

import numpy as np
import pytest

from corkit_inpaint.frame import Frame
from corkit_inpaint.network.windows import MARGIN, MIN_CONTEXT, MULTIPLE, frame_windows, prepare_window, windows_for


def area(box):
    y0, y1, x0, x1 = box
    return (y1 - y0) * (x1 - x0)


def square(shape, *corners, side=32):
    m = np.zeros(shape, dtype=bool)
    for y, x in corners:
        m[y:y + side, x:x + side] = True
    return m


def check_owner(mask, boxes, owner):
    """Every missing pixel has one window, which contains it; no other pixel has one."""
    assert np.array_equal(owner >= 0, mask)
    assert owner.max() == len(boxes) - 1
    for k, (y0, y1, x0, x1) in enumerate(boxes):
        ys, xs = np.nonzero(owner == k)
        assert ys.size and ys.min() >= y0 and ys.max() < y1 and xs.min() >= x0 and xs.max() < x1


def test_near_clusters_merge_without_adding_work():
    a, b = (100, 100), (140, 100)                     # 8 rows apart: two clusters, overlapping windows
    mask = square((512, 512), a, b)
    boxes, owner = windows_for(mask)
    alone = [windows_for(square((512, 512), c))[0][0] for c in (a, b)]
    assert len(boxes) == 1 and area(boxes[0]) <= sum(area(w) for w in alone)
    check_owner(mask, boxes, owner)
    y0, y1, x0, x1 = boxes[0]
    assert y0 <= 100 - MARGIN and y1 >= 172 + MARGIN and x0 <= 100 - MARGIN and x1 >= 132 + MARGIN


def test_overlapping_windows_stay_apart_when_merging_costs_more():
    a, b = (100, 100), (180, 180)                     # diagonal: the windows overlap in a corner only
    mask = square((512, 512), a, b)
    boxes, owner = windows_for(mask)
    alone = [windows_for(square((512, 512), c))[0][0] for c in (a, b)]
    assert sorted(boxes) == sorted(alone)
    (ay0, ay1, ax0, ax1), (by0, by1, bx0, bx1) = boxes
    assert ay0 < by1 and by0 < ay1 and ax0 < bx1 and bx0 < ax1        # they do overlap
    check_owner(mask, boxes, owner)
    # each window fills only its own cluster, even where the other's pixels lie inside it
    k_a = owner[a]
    assert (owner[mask] != k_a).sum() == 32 * 32


def test_far_clusters_get_one_window_each_with_sides_of_multiples_of_16():
    mask = np.zeros((512, 512), dtype=bool)
    mask[100:117, 60:97] = True                       # 17 x 37: odd sizes
    mask[300:303, 400:401] = True                     # 3 x 1
    mask[0:5, 0:3] = True                             # at the corner: the window cannot reach outwards
    mask[490:512, 250:300] = True                     # at the bottom edge
    boxes, owner = windows_for(mask)
    assert len(boxes) == 4
    check_owner(mask, boxes, owner)
    for y0, y1, x0, x1 in boxes:
        assert 0 <= y0 < y1 <= 512 and 0 <= x0 < x1 <= 512
        assert (y1 - y0) % MULTIPLE == 0 and (x1 - x0) % MULTIPLE == 0
    # every cluster has its margin of context where the image allows
    for k, (y0, y1, x0, x1) in enumerate(boxes):
        hole = np.argwhere(owner[y0:y1, x0:x1] == k)
        assert y0 == 0 or hole[:, 0].min() >= MARGIN
        assert x0 == 0 or hole[:, 1].min() >= MARGIN
        assert y1 == 512 or (y1 - y0) - 1 - hole[:, 0].max() >= MARGIN
        assert x1 == 512 or (x1 - x0) - 1 - hole[:, 1].max() >= MARGIN


def test_small_image_windows_are_the_whole_image():
    """Where the image is smaller than a multiple of 16 the window is as large as the image allows."""
    mask = np.zeros((40, 50), dtype=bool)
    mask[10:20, 20:30] = True
    (box,), owner = windows_for(mask)
    assert box == (0, 40, 0, 50)
    check_owner(mask, [box], owner)


def noisy(shape, seed=0):
    rng = np.random.default_rng(seed)
    return 1000.0 + 40.0 * rng.standard_normal(shape)


def test_prepare_window_normalises_and_builds_the_guides():
    img = noisy((128, 128))
    mask = square(img.shape, (48, 48))
    frame = Frame.build(np.where(mask, 0, img), mask)
    box = windows_for(mask)[0][0]
    w = prepare_window(frame.stretched, frame.valid, box, frame.sun_centre)
    y0, y1, x0, x1 = box
    assert w.box == box and w.image.shape == (y1 - y0, x1 - x0) and w.guides.shape == (8, y1 - y0, x1 - x0)
    # without neighbours the neighbour estimate is the biharmonic guide, count, spread and misfit 0
    assert np.array_equal(w.guides[3], w.guides[0]) and not w.guides[4:7].any()
    assert np.all(w.guides[7] == np.float32(w.noise))             # the last guide: the window's noise
    assert w.image.dtype == w.guides.dtype == w.texture.dtype == np.float32
    assert np.array_equal(w.valid, frame.valid[y0:y1, x0:x1])
    assert not w.image[~w.valid].any()
    back = w.image[w.valid].astype(np.float64) * w.scale + w.centre
    np.testing.assert_allclose(back, frame.stretched[y0:y1, x0:x1][w.valid], rtol=1e-6)
    assert abs(np.median(w.image[w.valid])) < 1e-6                # centred on the median
    assert np.all(np.isfinite(w.guides)) and np.all(np.abs(w.guides[:, ~w.valid]) < 10)
    # the texture is seeded by the window's position: the same box gives the same texture
    again = prepare_window(frame.stretched, frame.valid, box, frame.sun_centre)
    moved = prepare_window(frame.stretched, frame.valid, (y0 + 16, y1 + 16, x0, x1), frame.sun_centre)
    assert np.array_equal(again.texture, w.texture) and not np.array_equal(moved.texture, w.texture)
    np.testing.assert_allclose(w.texture.std(), w.noise, rtol=0.1)


def test_prepare_window_refuses_too_little_context():
    s = np.zeros((64, 64))
    valid = np.zeros((64, 64), dtype=bool)
    valid[0, :MIN_CONTEXT - 1] = True
    with pytest.raises(ValueError, match="too few valid pixels"):
        prepare_window(s, valid, (0, 64, 0, 64), None)
    valid[1, 0] = True                                            # exactly MIN_CONTEXT: enough
    assert prepare_window(s + 1.0, valid, (0, 64, 0, 64), None).valid.sum() == MIN_CONTEXT


def test_frame_windows_declines_holes_without_context():
    img = np.zeros((256, 256))
    img[:128] = noisy((128, 256))                                  # signal in the top half only
    with_context = (32, 96)
    without = (192, 96)                                            # amid never-sent (zero) blocks
    mask = square(img.shape, with_context, without)
    frame = Frame.build(np.where(mask, 0, img), mask)
    windows, owned, declined = frame_windows(frame)
    assert len(windows) == 1 and len(owned) == 1
    assert np.array_equal(declined, square(img.shape, without))
    y0, y1, x0, x1 = windows[0].box
    filled = np.zeros(img.shape, dtype=bool)
    filled[y0:y1, x0:x1] = owned[0]
    assert np.array_equal(filled, square(img.shape, with_context))
    # nothing to fill: no window, nothing declined
    none = frame_windows(Frame.build(img, None))
    assert none[0] == [] and none[1] == [] and not none[2].any()
