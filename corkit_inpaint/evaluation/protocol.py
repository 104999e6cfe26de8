"""Score fill methods on real or synthetic frames by blanking blocks that are really there.

For each frame and loss pattern (`corkit_inpaint.masks`), valid blocks are
blanked with a fixed seed, every method fills the same input, and the fill is
compared with the truth inside the blanked blocks only:

- hole RMSE and MAE in DN/s (``(DN - OFFSET) / EXPTIME``);
- RMSE in the stretched (asinh) space of `corkit_inpaint.stretch`;
- the noise ratio: robust std (1.4826 MAD) of the fill's high-frequency part
  (pixel minus its 3x3 mean, in stretched space, away from the hole edge) over
  the truth's, per mask, median over masks; 1.0 is realistic texture. The
  robust std measures the noise and ignores stars and cosmic-ray hits; the JSON
  also has ``noise_ratio_pooled``, plain std pooled over all masks, which those
  few bright pixels dominate;
- the hole RMSE without point sources (DN/s): the same, leaving out the
  truth's pixels that stand more than 6 noise sigma (Immerkaer), and at least
  0.5 in asinh units (1.6x where bright), above its opening by 9-px lines in
  eight directions, grown by 2 px. A ring, streamer or bleed column survives
  the opening along its own direction and is kept; a star, planet or
  cosmic-ray hit, smaller than 9 px every way, is not. No fill can predict a
  point source that falls wholly inside a missing block, and a single one can
  dominate the pooled RMSE of every method alike; this column shows the error
  on what a fill can know. Every method is scored on the same pixels;
- the mean radial-profile error (DN/s) over 1-pixel radial bins in the hole;
- the seconds per image;
- the mean signed error per zone (bias, as a share of the truth): noise averages
  out of a sum over filled pixels, a bias does not;
- for methods that give a sigma, the histogram of z = (fill - truth) / sigma
  per radial zone, and z of each blanked block's mean
  (`corkit_inpaint.evaluation.calibration`);
- for the ratio to the best classical method, a 90% bootstrap interval over the
  masks (2,000 resamples): on one real frame a few blanked blocks on the
  occulter's bright ring dominate the pooled RMSE, and the interval says how
  much the ratio depends on which blocks were drawn.

Methods: any registered one (``pconv``, ``biharmonic``, ``telea``...).
"""

from __future__ import annotations

import hashlib
import logging
import time

import numpy as np

from .. import header as H
from ..exceptions import InputError
from ..fill import as_method, below_saturation, run_method
from ..frame import Frame
from ..methods import get_method
from ..register import MAX_GAP_MINUTES, register_all
from ..training.loss_masks import PATTERNS, blanked_copies
from ..wrap import unwrapped
from .calibration import block_z, z_counts
from .metrics import point_sources, score, truth_terms, zone_map, zone_noise

__all__ = ["evaluate_frame", "evaluate_synthetic", "SYNTHETIC_SEED0", "image_digest"]

log = logging.getLogger(__name__)

#: Seed of the first held-out synthetic frame (never used in training).
SYNTHETIC_SEED0 = 90_000_000


def image_digest(data: np.ndarray) -> str:
    """sha256 of an image's shape, type and values: a frame given twice under two names is scored once."""
    return hashlib.sha256(f"{data.shape}{data.dtype}".encode() + np.ascontiguousarray(data).tobytes()).hexdigest()


def evaluate_frame(image, header, methods, *, rng, repeats=4, patterns=PATTERNS, device="auto",
                   weights=None, label="", neighbours=None, max_gap=MAX_GAP_MINUTES):
    """Blank, fill and score one frame; returns a list of records.

    ``neighbours`` maps a suffix of the method label to the neighbouring frames
    that run reads (`corkit_inpaint.register.register_all` items): for example
    ``{"": [before, after], " (alone)": [], " (other day)": [before, stranger]}``
    scores every method three ways. None: every method once, alone. A method
    that reads no neighbours (`FillMethod.reads_neighbours` False) is run only
    once, under its own name. A neighbour more than ``max_gap`` minutes away
    is left out, as in a fill (`corkit_inpaint.register.register_all`; None: none is).
    """
    img = np.asarray(unwrapped(np.asarray(image), header), dtype=np.float64)   # counts (corkit_inpaint.wrap)
    runs = _runs(methods, neighbours, header, img.shape, max_gap)
    whole = Frame.build(img, None, header)
    if H.bias_and_exptime(header) is None:      # Frame.build works in DN then: say the scores are too
        log.warning("%s: no usable OFFSET and EXPTIME in its header: its scores are in DN, not DN/s", label or "frame")
    if not whole.noise > 0:         # every valid value equal: no fill error has a scale, nor a sigma a check
        raise InputError("no noise in the frame's valid pixels (a constant or saturated field): a fill of it "
                         "cannot be scored")
    st, centre = whole.stretch, whole.sun_centre
    truth = truth_terms(img, st)
    zones = zone_map(img.shape, whole.geometry)
    records = []
    for pattern, r, blocks, mask, test in blanked_copies(img, header, rng, repeats, patterns):
        points = point_sources(truth["s"], mask)
        noise = zone_noise(truth["rate"], mask, zones, points)
        frame = Frame.build(test, mask, header)
        for name, m, nbs in runs:
            t0 = time.perf_counter()
            res = run_method(m, frame, neighbours=nbs, device=device, warn_alone=False,
                             weights=weights if as_method(m).takes_weights else None)   # no warning per fill
            # scored as a fill writes it: at most the detector's saturation
            values = below_saturation(res.values, res.filled, lambda t=test, k=mask: t[~k], header)[0]
            dt = time.perf_counter() - t0
            rec = score(truth, values, mask, st, centre, points, zones) | noise
            if res.sigma is not None:
                rec |= z_counts(values, img, res.sigma, res.filled & mask, zones)
                rec |= block_z(values, img, res.sigma, res.filled & mask, zones, blocks)
            rec.update(method=name, pattern=pattern, frame=label, seconds=dt, blocks=len(blocks),
                       mask_id=f"{label}:{pattern}:{r}", neighbours_used=len(res.provenance.neighbours),
                       model=res.provenance.model, weights_sha256=res.provenance.sha256,
                       device=res.provenance.device)
            records.append(rec)
    return records


def _runs(methods, neighbours, header, shape, max_gap=MAX_GAP_MINUTES):
    """``(label, method, registered neighbours)`` for every run of `evaluate_frame`."""
    if not neighbours:
        return [(m, m, []) for m in methods]
    regs = {suffix: register_all(items, header, shape, max_gap=max_gap) for suffix, items in neighbours.items()}
    runs = []
    for m in methods:
        if not get_method(m).reads_neighbours:
            runs.append((m, m, []))
            continue
        runs += [(m + suffix, m, nbs) for suffix, nbs in regs.items()]
    return runs




def evaluate_synthetic(n: int, methods, *, rng, version: str, device: str = "auto", weights=None,
                       progress: bool = True) -> list[dict]:
    """Score ``n`` held-out synthetic frames (C2 and C3, full and 2x2-summed in turn), one mask per pattern."""
    from tqdm import tqdm

    from ..training.simulator import KINDS, make_frame
    recs = []
    for i in tqdm(range(n), desc="synthetic frames", disable=not progress or None):
        det, summed = KINDS[i % len(KINDS)]
        img, hdr = make_frame(SYNTHETIC_SEED0 + i, detector=det, summed=summed, version=version)
        recs += evaluate_frame(img, hdr, methods, rng=rng, repeats=1, device=device,
                               weights=weights, label=f"synthetic {SYNTHETIC_SEED0 + i}")
    return recs
