"""`corkit_inpaint.training.dataset`: training samples are crops of exactly the inputs inference builds."""

import numpy as np
import pytest
from helpers import BLANK, blank, read_real

from corkit_inpaint.blocks import blocks_to_mask, find_missing_blocks
from corkit_inpaint.frame import Frame
from corkit_inpaint.network.windows import frame_windows
from corkit_inpaint.training import dataset
from corkit_inpaint.training.config import TrainConfig
from corkit_inpaint.training.dataset import (
    SAMPLE_KEYS,
    build_dataset,
    frame_samples,
    neighbour_case,
    sequence_scene,
    training_windows,
)
from corkit_inpaint.training.simulator import make_frame

ARRAYS = ("image", "valid", "guides", "texture")


def inference_windows(truth, hole, header):
    """The network inputs inference builds for ``truth`` with ``hole`` lost: blank, detect, build, window."""
    blanked = np.where(hole, 0, truth)
    mask, _ = find_missing_blocks(blanked, header)
    assert np.array_equal(mask, hole)                      # inference finds exactly the lost blocks
    return frame_windows(Frame.build(blanked, mask, header))


def test_training_windows_are_the_inference_windows_on_the_real_frame():
    data, header = read_real()
    hole = blocks_to_mask(data.shape, BLANK)
    blanked = blank(data, BLANK)
    mask, blocks = find_missing_blocks(blanked, header)
    assert sorted(blocks) == sorted(BLANK)
    windows, owned, declined = frame_windows(Frame.build(blanked, mask, header))
    train = training_windows(data, hole, header)
    assert len(train) == len(windows) > 1 and not declined.any()
    for (tw, truth, mine), w, own in zip(train, windows, owned):
        assert tw.box == w.box
        for key in ARRAYS:
            assert np.array_equal(getattr(tw, key), getattr(w, key)), key
        assert (tw.centre, tw.scale, tw.noise) == (w.centre, w.scale, w.noise)
        assert np.array_equal(mine, own)
        # the truth is in the same units: equal to the network's input wherever that is valid
        assert truth.dtype == np.float32 and truth.shape == w.image.shape
        assert np.array_equal(truth[w.valid], w.image[w.valid])
        assert np.all(np.isfinite(truth)) and not np.array_equal(truth[mine], w.image[mine])


@pytest.fixture(scope="module")
def simulated():
    """frame_samples of one simulated frame, with the holes it drew (recorded by wrapping training_windows)."""
    cfg = TrainConfig(masks_per_frame=3, crop=32, crops_per_window=2, first_frame_seed=1_000_003)
    seen = []
    real = dataset.training_windows

    def recording(truth, hole, header, neighbours=()):
        out = real(truth, hole, header, neighbours)
        seen.append((hole.copy(), out))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dataset, "training_windows", recording)
        samples = frame_samples(cfg.first_frame_seed, cfg)
    return cfg, samples, seen


def test_samples_are_crops_of_the_inference_windows(simulated):
    cfg, samples, seen = simulated
    img, hdr = make_frame(cfg.first_frame_seed, version=cfg.generator_version)
    assert len(seen) == cfg.masks_per_frame and len(samples) >= 4
    inference = [inference_windows(img, hole, hdr) for hole, _ in seen]
    c = cfg.crop
    for s in samples:
        # the mask a sample came from: the training window whose arrays it is a view of
        (k,) = [k for k, (_, tws) in enumerate(seen) if any(np.shares_memory(s["image"], tw.image) for tw, _, _ in tws)]
        box, cy, cx = s["origin"]
        windows, owned, _ = inference[k]
        (j,) = [j for j, w in enumerate(windows) if w.box == box]
        w, sl = windows[j], (slice(cy, cy + c), slice(cx, cx + c))
        assert s["image"].shape == (c, c)
        assert np.array_equal(s["image"], w.image[sl])
        assert np.array_equal(s["valid"], w.valid[sl])
        assert np.array_equal(s["guides"], w.guides[:cfg.extra_channels, cy:cy + c, cx:cx + c])
        assert np.array_equal(s["texture"], w.texture[sl])
        assert np.array_equal(s["hole"], owned[j][sl]) and s["hole"].any()
        assert s["noise"] == w.noise
        assert np.array_equal(s["truth"][s["valid"]], s["image"][s["valid"]])


def test_build_dataset_stacks_the_samples(simulated):
    cfg, samples, _ = simulated
    one = TrainConfig(frames=1, masks_per_frame=cfg.masks_per_frame, crop=cfg.crop,
                      crops_per_window=cfg.crops_per_window, first_frame_seed=cfg.first_frame_seed)
    data = build_dataset(one, progress=False)
    assert set(data) == set(SAMPLE_KEYS)
    assert all(len(data[k]) == len(samples) for k in SAMPLE_KEYS)
    assert data["guides"].shape == (len(samples), 3, cfg.crop, cfg.crop)
    for k in SAMPLE_KEYS:
        assert np.array_equal(data[k], np.stack([np.asarray(s[k]) for s in samples])), k


def test_sequence_samples_read_the_neighbours_as_inference_does():
    from corkit_inpaint.blocks import blocks_to_mask
    from corkit_inpaint.register import register_all
    from corkit_inpaint.training.dataset import sequence_scene
    cfg = TrainConfig(sequences=True, extra_channels=6, crop=32, first_frame_seed=5_000_000)
    kinds = set()
    for seed in range(5_000_000, 5_000_012):
        img, hdr, nbs = sequence_scene(seed, cfg)
        kinds.add(len(nbs))
        assert all(h["FILENAME"] != hdr["FILENAME"] for _, h in nbs)
    assert kinds == {0, 1, 2}
    img, hdr, nbs = sequence_scene(5_000_002, cfg)
    assert len(nbs) == 2 and img.shape == (1024, 1024)
    hole = blocks_to_mask(img.shape, [(12, 20), (12, 21)])
    got = training_windows(img, hole, hdr, nbs)
    frame = Frame.build(np.where(hole, 0, img), hole, hdr)
    # as the shipped weights were trained: without despiking (inference despikes; see training.dataset)
    windows, owned, _ = frame_windows(frame, register_all(nbs, hdr, img.shape), despike=False)
    assert len(got) == len(windows) == 1
    assert np.array_equal(got[0][0].guides, windows[0].guides) and got[0][0].guides[4][hole[
        windows[0].box[0]:windows[0].box[1], windows[0].box[2]:windows[0].box[3]]].max() == 1.0
    samples = frame_samples(5_000_002, cfg)
    assert samples and all(s["guides"].shape == (6, 32, 32) for s in samples)


def test_neighbour_cases_keep_their_draws_and_take_the_alone_share():
    """The default mix is the one the shipped networks trained on; ``alone_share`` moves only the no-neighbour share."""
    from corkit_inpaint.training.dataset import GAPS, neighbour_case
    seeds = range(7_000_000, 7_004_000)

    def before_the_option(seed):            # the rule of 0.1.11, which the nb networks' records name
        rng = np.random.default_rng(seed + 11)
        before, after = -float(rng.choice(GAPS)), float(rng.choice(GAPS))
        u = rng.random()
        offsets = (before, 0.0, after) if u < 0.55 or u >= 0.82 else \
            ((before, 0.0) if rng.random() < 0.5 else (0.0, after)) if u < 0.70 else (0.0,)
        return offsets, u >= 0.82, rng.integers(2)

    cfg = TrainConfig(sequences=True, extra_channels=6)
    for seed in seeds:
        offsets, stranger, rng = neighbour_case(seed, cfg)
        assert (offsets, stranger, rng.integers(2)) == before_the_option(seed)
    for share in (0.0, 0.5, 1.0):
        cases = [neighbour_case(s, TrainConfig(sequences=True, extra_channels=6, alone_share=share))[:2]
                 for s in seeds]
        alone = np.mean([len(o) == 1 for o, _ in cases])
        both = np.mean([len(o) == 3 and not x for o, x in cases])
        stranger = np.mean([x for _, x in cases])
        assert alone == pytest.approx(share, abs=0.025)
        assert both == pytest.approx(0.55 / 0.88 * (1 - share), abs=0.025)
        assert stranger == pytest.approx(0.18 / 0.88 * (1 - share), abs=0.025)
    with pytest.raises(ValueError, match="alone_share"):
        TrainConfig(alone_share=1.5).check()


def test_pylon_masks_add_crops_of_c2_frames_on_their_own_stream():
    """``pylon_masks`` adds a cluster over C2's pylon at the ring; every other crop stays as without it."""
    import dataclasses
    base = TrainConfig(sequences=True, extra_channels=6, crop=32, sequence_version="5")
    more = dataclasses.replace(base, pylon_masks=1.0)
    for seed, det in ((9_700_000, "C2"), (9_700_001, "C3")):
        assert sequence_scene(seed, base)[1]["DETECTOR"] == det
        a, b = frame_samples(seed, base), frame_samples(seed, more)
        assert (len(b) > len(a)) == (det == "C2") and len(b) >= len(a) > 0
        assert all(np.array_equal(x[k], y[k]) for x, y in zip(a, b) for k in SAMPLE_KEYS)
    with pytest.raises(ValueError, match="pylon_masks"):
        TrainConfig(pylon_masks=1.5).check()


def test_change_masks_add_crops_of_frames_with_neighbours_on_their_own_stream():
    """``change_masks`` adds a cluster where the frame changed most from its neighbours to a sequence with
    neighbours, not to one without; every other crop stays as without it."""
    import dataclasses
    base = TrainConfig(sequences=True, extra_channels=6, crop=32, sequence_version="5")
    more = dataclasses.replace(base, change_masks=1.0)
    seeds = {len(neighbour_case(s, base)[0]) > 1: s for s in range(9_700_000, 9_700_040)}
    for has, seed in seeds.items():
        a, b = frame_samples(seed, base), frame_samples(seed, more)
        assert (len(b) > len(a)) == has and len(a) > 0
        assert all(np.array_equal(x[k], y[k]) for x, y in zip(a, b) for k in SAMPLE_KEYS)
    with pytest.raises(ValueError, match="change_masks"):
        TrainConfig(change_masks=-0.1).check()
