"""Score fills that read neighbouring frames: blocks blanked in the middle frames of a real or simulated sequence.

Each middle frame (one with a frame before and after it, `corkit_inpaint.pairing`)
is blanked and filled as `corkit_inpaint.evaluation.protocol.evaluate_frame`
does, and every method that reads neighbours is scored three ways: with its
two neighbours, alone (``"<method> (alone)"``), and, when a frame of another
day is given, with one neighbour replaced by it (``"<method> (other day)"``):
a useless neighbour that must not make the fill worse.
"""

from __future__ import annotations

import logging

from ..exceptions import InputError
from ..pairing import MAX_GAP_MINUTES, frame_info, pair_neighbours
from ..read import read_header, read_level05
from .protocol import evaluate_frame, image_digest

__all__ = ["SEQUENCE_SEED0", "evaluate_sequence", "evaluate_synthetic_sequences", "variants", "cme_records"]

log = logging.getLogger(__name__)

#: Seed of the first held-out synthetic sequence (never used in training).
SEQUENCE_SEED0 = 91_000_000


def variants(before, after, stranger=None) -> dict:
    """The neighbour sets `evaluate_frame` scores: both neighbours, none, and one replaced by ``stranger``."""
    out = {"": [before, after], " (alone)": []}
    if stranger is not None:
        out[" (other day)"] = [before, stranger]
    return out


def evaluate_sequence(files, methods, *, rng, repeats: int = 4, other_day=None, max_gap: float = MAX_GAP_MINUTES,
                      device: str = "auto", weights=None, progress: bool = True) -> list[dict]:
    """Blank and fill every middle frame of a sequence of level-0.5 files.

    Parameters
    ----------
    files : list of path-like
        The sequence (any order); frames with a neighbour on both sides within
        ``max_gap`` minutes are scored.
    methods : list of str
    rng : numpy.random.Generator
        Draws the blanked blocks.
    repeats : int
        Masks per loss pattern per frame.
    other_day : path-like, optional
        A frame of the same kind from another day, for the ``(other day)`` runs.
        More than ``max_gap`` minutes away, it is left out as a fill leaves it
        out (`corkit_inpaint.register.register_all`), so those runs read the
        one neighbour left.

    Returns
    -------
    list of dict
        Records as `evaluate_frame` makes them.

    Raises
    ------
    InputError
        A file that cannot be read (`corkit_inpaint.read.read_header`), or no
        frame with a neighbour on both sides.
    """
    from tqdm import tqdm
    for f in files:                       # pairing passes over what it cannot read: here that is a mistake
        read_header(f)
    pairs = pair_neighbours(files, max_gap=max_gap)
    middle = [p for p, nb in pairs.items() if len(nb) == 2]
    if not middle:
        gap = "" if max_gap is None else f" within {max_gap:g} min"
        untimed = [str(f) for f in files if (i := frame_info(f)).kind and i.time is None]
        why = (f"; {len(untimed)} of the {len(files)} have no readable observation time (DATE-OBS, TIME-OBS), "
               f"among them {untimed[0]}" if untimed else "")
        raise InputError("no frame of the sequence has a neighbour of the same detector, filter, polarizer, "
                         f"summing and size on both sides{gap}: give 3 or more consecutive frames of one kind{why}")
    used = {str(q) for p in middle for q in (p, *pairs[p])}
    for f in files:
        if str(f) not in used:         # scored frames and their neighbours: the others are left out
            log.warning("%s: not scored and not read as a neighbour: neither it nor a frame of its kind beside it "
                        "has a frame of its kind on both sides within %s", f,
                        "any time" if max_gap is None else f"{max_gap:g} min")
    stranger = read_level05(other_day, refill=True) if other_day is not None else None
    if stranger is not None:
        _warn_if_beyond_gap(other_day, middle, max_gap)
    recs = []
    seen: dict[str, str] = {}             # each image's digest: a copy of a frame is scored once
    for p in tqdm(middle, desc="sequence frames", disable=not progress or None):
        r = read_level05(p)
        digest = image_digest(r.data)
        if digest in seen:
            log.warning("%s: the same image as %s: scored once", p, seen[digest])
            continue
        seen[digest] = str(p)
        before, after = (read_level05(q, refill=True) for q in pairs[p])
        recs += evaluate_frame(r.data, r.header, methods, rng=rng, repeats=repeats, device=device,
                               weights=weights, label=str(p), neighbours=variants(before, after, stranger),
                               max_gap=max_gap)
    return recs


def _warn_if_beyond_gap(other_day, middle, max_gap: float | None) -> None:
    """Say so once when the frame of another day is beyond ``max_gap`` of every scored frame: a fill leaves it
    out, so its ``(other day)`` rows are fills from the one neighbour left."""
    t, times = frame_info(other_day).time, [frame_info(p).time for p in middle]
    if max_gap is None or t is None or None in times:
        return
    gap = min(abs((t - u).total_seconds()) for u in times) / 60.0
    if gap > max_gap:
        log.warning("%s is %.1f h from the scored frames, beyond the largest gap of %g min: a fill leaves it out, "
                    "so the '(other day)' rows are fills from the frame before alone; --max-gap inf reads it",
                    other_day, gap / 60.0, max_gap)


def evaluate_synthetic_sequences(n: int, methods, *, rng, gap: float = 12.0, device: str = "auto", weights=None,
                                 progress: bool = True) -> list[dict]:
    """Score ``n`` held-out simulated sequences (C2 and C3, full and 2x2-summed in turn), one mask per pattern.

    Each is the frame at 0 with neighbours at ``-gap`` and ``+gap`` minutes;
    the other-day frame is an unrelated simulated corona of the same kind
    (`corkit_inpaint.training.dataset.other_day`).
    Each record says whether its sequence has a CME (``cme``) and its speed.
    """
    from tqdm import tqdm

    from ..training.dataset import other_day
    from ..training.sequence import make_sequence
    from ..training.simulator import KINDS
    recs = []
    for i in tqdm(range(n), desc="synthetic sequences", disable=not progress or None):
        det, summed = KINDS[i % len(KINDS)]
        seed = SEQUENCE_SEED0 + i
        seq = make_sequence(seed, (-gap, 0.0, gap), detector=det, summed=summed)
        (b, (img, hdr), a) = seq.frames
        stranger = other_day(seed, hdr)
        rs = evaluate_frame(img, hdr, methods, rng=rng, repeats=1, device=device, weights=weights,
                            label=f"sequence {seed}", neighbours=variants(b, a, stranger))
        speed = seq.events.get("cme_speed_kms")
        for r in rs:
            r.update(cme=speed is not None, cme_speed_kms=speed)
        recs += rs
    return recs


def cme_records(records) -> list[dict]:
    """The records of sequences with a CME (`evaluate_synthetic_sequences`)."""
    return [r for r in records if r.get("cme")]
