"""Training data: simulated frames, loss masks, and crops of the network's inference windows.

A training sample is made exactly as inference makes its input: the simulated
frame with the loss mask's blocks set to zero becomes a `Frame`
(`corkit_inpaint.frame.Frame.build`), and `training_windows` takes its windows
from `corkit_inpaint.network.windows.frame_windows`, the function inference
calls. Only then is the truth added, in each window's normalised units.
"""

from __future__ import annotations

import numpy as np

from ..blocks import blocks_to_mask
from ..exceptions import InputError
from ..frame import Frame
from ..network.windows import Window, frame_windows
from ..register import register_all
from . import sequence, simulator
from .config import TrainConfig
from .loss_masks import PATTERNS, block_change, change_cluster, eligible_blocks, loss_mask, pylon_cluster

__all__ = ["training_windows", "frame_samples", "build_dataset", "SAMPLE_KEYS", "sequence_scene", "neighbour_case",
           "other_day", "GAPS"]

#: The arrays of a sample, stacked over samples by `build_dataset`.
SAMPLE_KEYS = ("image", "valid", "guides", "texture", "truth", "hole", "noise")


def training_windows(truth: np.ndarray, hole: np.ndarray, header, neighbours=()
                     ) -> list[tuple[Window, np.ndarray, np.ndarray]]:
    """The network inputs for ``truth`` with ``hole`` lost, and the truth they should give.

    Parameters
    ----------
    truth : numpy.ndarray
        The whole frame, as stored.
    hole : numpy.ndarray of bool
        The pixels of the lost blocks.
    header : astropy.io.fits.Header
    neighbours : sequence of (numpy.ndarray, astropy.io.fits.Header)
        Neighbouring frames, registered as inference registers them
        (`corkit_inpaint.register.register_all`).

    Returns
    -------
    list of (Window, numpy.ndarray, numpy.ndarray)
        Per window: the inference window, the truth in its normalised units
        (float32), and the hole pixels the window fills.
    """
    blanked = np.where(hole, 0, truth)
    frame = Frame.build(blanked, hole, header)
    # The shipped neighbour models were trained on estimates that kept cosmic-ray hits and read a neighbour
    # with no data in the hole around it (both mended later); training sees them the same way so that
    # weights/train_default.sh remakes those weights.
    windows, owned, _ = frame_windows(frame, register_all(neighbours, header, blanked.shape), despike=False,
                                     only_used=False)
    s_true = frame.stretch.forward(np.asarray(truth, dtype=np.float64))
    out = []
    for w, mine in zip(windows, owned):
        y0, y1, x0, x1 = w.box
        t = ((s_true[y0:y1, x0:x1] - w.centre) / w.scale).astype(np.float32)
        out.append((w, t, mine))
    return out


def _crops(w: Window, truth: np.ndarray, hole: np.ndarray, rng, cfg: TrainConfig) -> list[dict]:
    c = cfg.crop
    h, wd = hole.shape
    ys, xs = np.nonzero(hole)
    out = []
    for _ in range(cfg.crops_per_window):
        i = int(rng.integers(len(ys)))
        cy = int(np.clip(ys[i] - c // 2 + rng.integers(-16, 17), 0, max(h - c, 0)))
        cx = int(np.clip(xs[i] - c // 2 + rng.integers(-16, 17), 0, max(wd - c, 0)))
        sl = (slice(cy, cy + c), slice(cx, cx + c))
        if hole[sl].shape != (c, c) or not hole[sl].any():
            continue
        out.append({"image": w.image[sl], "valid": w.valid[sl],
                    "guides": w.guides[(slice(0, cfg.extra_channels),) + sl], "texture": w.texture[sl],
                    "truth": truth[sl], "hole": hole[sl], "noise": w.noise,
                    "origin": (w.box, cy, cx)})
    return out


#: Minutes between a frame and a neighbour in training sequences (LASCO's cadences, 12 most often).
GAPS = (12.0, 12.0, 12.0, 24.0, 24.0, 30.0, 36.0, 48.0, 60.0)


def other_day(seed: int, header, version: str = sequence.SEQUENCE_VERSION):
    """A frame of another simulated corona of the same kind as ``header``'s: a useless neighbour.

    It comes from the sequence simulator, so its brightness and noise are those
    of a real neighbour: only its structure gives it away.
    """
    det, summed = str(header["DETECTOR"]).strip(), int(header["LEBXSUM"]) == 2
    return sequence.make_sequence(seed + 500_000_000, (0.0,), detector=det, summed=summed,
                                  version=version).frames[0]


def neighbour_case(seed: int, cfg: TrainConfig) -> tuple[tuple[float, ...], bool, np.random.Generator]:
    """Which frames a training sample of simulated sequence ``seed`` gets (see `sequence_scene`).

    Returns
    -------
    offsets : tuple of float
        Minutes of the frames to simulate; 0.0 is the target.
    other_day : bool
        Whether one neighbour is then replaced by a frame of another corona.
    rng : numpy.random.Generator
        The sample's stream, to draw which one.
    """
    rng = np.random.default_rng(seed + 11)
    before, after = -float(rng.choice(GAPS)), float(rng.choice(GAPS))
    u = rng.random()
    rest = (1.0 - cfg.alone_share) / 0.88                 # 1 at the default share: the draws of before it
    both, one, other = 0.55 * rest, 0.70 * rest, 0.70 * rest + cfg.alone_share
    offsets = (before, 0.0, after) if u < both or u >= other else \
        ((before, 0.0) if rng.random() < 0.5 else (0.0, after)) if u < one else (0.0,)
    return offsets, u >= other, rng


def sequence_scene(seed: int, cfg: TrainConfig):
    """The target frame of simulated sequence ``seed`` and the neighbours a training sample gets.

    Of the sequences, ``cfg.alone_share`` (by default 12%) give no neighbour, and
    the others both neighbours, one, or one neighbour and a frame of another
    corona (another day: a useless neighbour the network must learn to distrust)
    in the proportions 55:15:18 (by default 55%, 15% and 18%).

    Returns
    -------
    image : numpy.ndarray
    header : astropy.io.fits.Header
    neighbours : list of (numpy.ndarray, astropy.io.fits.Header)
    """
    offsets, stranger, rng = neighbour_case(seed, cfg)
    seq = sequence.make_sequence(seed, offsets, version=cfg.sequence_version)
    k = offsets.index(0.0)
    img, hdr = seq.frames[k]
    nbs = [f for i, f in enumerate(seq.frames) if i != k]
    if stranger:
        nbs[int(rng.integers(len(nbs)))] = other_day(seed, hdr, cfg.sequence_version)
    return img, hdr, nbs


def frame_samples(seed: int, cfg: TrainConfig) -> list[dict]:
    """Crops of every loss window of the simulated frame (or sequence) ``seed`` (see the module docstring)."""
    if cfg.sequences:
        img, hdr, nbs = sequence_scene(seed, cfg)
    else:
        (img, hdr), nbs = simulator.make_frame(seed, version=cfg.generator_version), []
    rng = np.random.default_rng(seed + 7)
    elig = eligible_blocks(img, hdr)
    out = []
    for k in range(cfg.masks_per_frame):
        _, blocks = loss_mask(rng, elig, PATTERNS[k % len(PATTERNS)] if k < 2 else None)
        if not blocks:
            continue
        hole = blocks_to_mask(img.shape, blocks)
        for w, truth, mine in training_windows(img, hole, hdr, nbs):
            out.extend(_crops(w, truth, mine, rng, cfg))
    rp = np.random.default_rng([seed, 0x9170])   # its own stream (no other frame's): the masks above stay as they were
    if cfg.pylon_masks > 0 and rp.random() < cfg.pylon_masks and (blocks := pylon_cluster(rp, elig, hdr)):
        for w, truth, mine in training_windows(img, blocks_to_mask(img.shape, blocks), hdr, nbs):
            out.extend(_crops(w, truth, mine, rp, cfg))
    rc = np.random.default_rng([seed, 0xC4A9])  # the same: its own stream
    if (cfg.change_masks > 0 and nbs and rc.random() < cfg.change_masks
            and (blocks := change_cluster(rc, elig, block_change(img, hdr, nbs)))):
        for w, truth, mine in training_windows(img, blocks_to_mask(img.shape, blocks), hdr, nbs):
            out.extend(_crops(w, truth, mine, rc, cfg))
    return out


def build_dataset(cfg: TrainConfig, *, workers: int = 1, progress: bool = True) -> dict[str, np.ndarray]:
    """Simulate frames and cut training crops.

    Returns
    -------
    dict of numpy.ndarray
        `SAMPLE_KEYS` stacked over samples.
    """
    from functools import partial

    from tqdm import tqdm
    seeds = [cfg.first_frame_seed + i for i in range(cfg.frames)]
    samples: list[dict] = []
    one = partial(frame_samples, cfg=cfg)
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(min(workers, -(-len(seeds) // 4))) as ex:     # no more than there are chunks
            results = ex.map(one, seeds, chunksize=4)
            for r in tqdm(results, total=len(seeds), disable=not progress, desc="simulating"):
                samples.extend(r)
    else:
        for s in tqdm(seeds, disable=not progress, desc="simulating"):
            samples.extend(one(s))
    if not samples:
        raise InputError(f"no training crop could be cut from the {cfg.frames} simulated frame(s): crop = {cfg.crop} "
                         "px is larger than every window, or no block could be blanked")
    return {k: np.stack([np.asarray(s[k]) for s in samples]) for k in SAMPLE_KEYS}
