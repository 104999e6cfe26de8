"""Choose each file's neighbouring frames: the nearest earlier and later of the same kind within a maximum gap.

Frames of the same kind share detector, filter, polarizer, summing and image
size; their time is DATE-OBS (with TIME-OBS). Only headers are read here. A
frame whose headers or size say it cannot serve as a neighbour (its data cut
short, EXPTIME not positive, an earlier fill's keywords without its INPMASK:
`corkit_inpaint.read.header_and_problem`) is passed over for the next one on
that side.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from . import header as H
from .exceptions import CorkitInpaintError, InputError, not_a_file, shown
from .header import observation_time
from .outputs import file_key
from .read import MAX_PIXELS, header_and_problem
from .register import MAX_GAP_MINUTES, check_max_gap

__all__ = ["MAX_GAP_MINUTES", "FrameInfo", "frame_info", "pair_neighbours", "neighbours_for"]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class FrameInfo:
    """What pairing needs from one file's header.

    Attributes
    ----------
    path : pathlib.Path
    kind : tuple
        ``(DETECTOR, FILTER, POLAR, summing, shape, exposure)``: only frames of equal kind are paired (the
        exposure, `corkit_inpaint.header.exposure`: a calibration-lamp or dark frame is no neighbour of a frame
        of the corona, nor one of them of it; battery and review s37).
    time : datetime.datetime or None
    problem : str or None
        Why it cannot serve as a neighbour (`corkit_inpaint.read.header_and_problem`), or None.
    """

    path: Path
    kind: tuple
    time: datetime | None
    problem: str | None = None


def frame_info(path: str | os.PathLike, *, max_pixels: int = MAX_PIXELS) -> FrameInfo:
    """The `FrameInfo` of a file, from its headers and size (refused above ``max_pixels``, as the fill refuses it:
    `corkit_inpaint.read.MAX_PIXELS`)."""
    hdr, problem = header_and_problem(path, max_pixels=max_pixels)
    shape = (H.number(hdr, "NAXIS2"), H.number(hdr, "NAXIS1"))
    if H.is_level1(hdr) or H.other_instrument(hdr):     # refused as a neighbour when read: never chosen as one
        return FrameInfo(Path(path), (), None, problem)
    kind = (*H.kind(hdr), H.summing(hdr), shape, H.exposure(hdr))
    return FrameInfo(Path(path), kind, observation_time(hdr), problem)


#: A run of at least this many files shows a progress bar while their headers are read for pairing (given
#: ``progress``): about 1.7 ms a file, so an archive's 300,000 take minutes.
PROGRESS_FROM = 1000


def _infos(paths, pool: bool = False, progress: bool = False, max_pixels: int = MAX_PIXELS) -> list[FrameInfo]:
    from tqdm import tqdm
    paths, infos = list(paths), []
    for p in tqdm(paths, desc="reading headers", unit="file", leave=False,
                  disable=not progress or len(paths) < PROGRESS_FROM):
        try:
            info = frame_info(p, max_pixels=max_pixels)
        except (CorkitInpaintError, OSError) as exc:
            # a file to fill: its own fill reports it; a pool file was named on purpose and is never filled
            (log.warning if pool else log.debug)("%s: not %s (%s)", shown(p), "used as a neighbour" if pool
                                                 else "paired with neighbours", exc)
            info = FrameInfo(Path(p), (), None)
        infos.append(info)
    return infos


#: A warning that a frame was passed over names this many of the files it would have served, and how many more.
PASSED_NAMES = 3


class _Kind:
    """The frames of one kind with a time, sorted by (time, path), and those that can serve as a neighbour: each
    target's side is found by bisection, not by a scan of every frame (quadratic: hours for an archive's 300,000),
    and the frames it passes over are index ranges (a scan of them was quadratic too, where many cannot serve)."""

    def __init__(self, frames: list[FrameInfo]):
        frames.sort(key=lambda o: (o.time, str(o.path)))
        self.frames, self.times = frames, [o.time for o in frames]
        self.good = [i for i, o in enumerate(frames) if o.problem is None]
        self.good_times = [self.times[i] for i in self.good]
        self.diff = [0] * (len(frames) + 1)       # targets passing over each frame, as a difference array
        self.names: list[list] = [[] for _ in frames]     # the first few of them, nearest first, per side
        self.names_later: list[list] = [[] for _ in frames]

    def earlier(self, t, limit: float) -> tuple[int | None, list[range]]:
        """The nearest frame before ``t`` that can serve within ``limit`` seconds (its index, or None), and the
        frames passed over for it: those between, and those of its time whose paths sort before its."""
        hi = bisect.bisect_left(self.times, t)
        g = bisect.bisect_left(self.good_times, t)
        if g and (t - self.good_times[g - 1]).total_seconds() <= limit:
            tg = self.good_times[g - 1]
            chosen = self.good[bisect.bisect_left(self.good_times, tg)]
            return chosen, [range(hi - 1, bisect.bisect_right(self.times, tg) - 1, -1),
                            range(chosen - 1, bisect.bisect_left(self.times, tg) - 1, -1)]
        return None, [range(hi - 1, _index_within(self.times, t, -limit) - 1, -1)]

    def later(self, t, limit: float) -> tuple[int | None, list[range]]:
        """As `earlier`, after ``t``: the frames passed over are those that sort between."""
        lo = bisect.bisect_right(self.times, t)
        g = bisect.bisect_right(self.good_times, t)
        if g < len(self.good) and (self.good_times[g] - t).total_seconds() <= limit:
            return self.good[g], [range(lo, self.good[g])]
        return None, [range(lo, _index_within(self.times, t, limit))]

    def pass_over(self, ranges: list[range], target: Path, names: list[list]) -> None:
        """Count ``target`` for each frame in ``ranges`` and name it where fewer than `PASSED_NAMES` are named,
        walking from the target outwards: a frame already naming that many means every farther one does (each
        target before it on this side that passed over it passed over the farther ones too)."""
        for r in ranges:
            if r:
                lo, hi = min(r[0], r[-1]), max(r[0], r[-1])
                self.diff[lo] += 1
                self.diff[hi + 1] -= 1
        for r in ranges:
            for i in r:
                if len(names[i]) >= PASSED_NAMES:
                    return
                names[i].append(target)


def _index_within(times: list, t, limit: float) -> int:
    """The index, in sorted ``times``, bounding those within ``limit`` seconds of ``t`` (after it for a positive
    ``limit``: the first beyond; before it for a negative one: the first within)."""
    try:
        edge = t + timedelta(seconds=limit)
    except (OverflowError, ValueError):                 # no gap, or one beyond the calendar: every frame
        return len(times) if limit > 0 else 0
    return bisect.bisect_right(times, edge) if limit > 0 else bisect.bisect_left(times, edge)


def _by_kind(candidates: list[FrameInfo]) -> dict[tuple, _Kind]:
    groups: dict[tuple, list[FrameInfo]] = {}
    for o in {o.path: o for o in reversed(candidates)}.values():      # a path given twice is one frame
        if o.kind and o.time is not None:
            groups.setdefault(o.kind, []).append(o)
    return {kind: _Kind(frames) for kind, frames in groups.items()}


def _warn_passed_over(by_kind: dict[tuple, _Kind]) -> None:
    """One warning per frame passed over, naming the first few files it would have served and how many more."""
    for k in by_kind.values():
        count = 0
        for i, o in enumerate(k.frames):
            count += k.diff[i]
            if count:
                named = [shown(t.name) for t in k.names_later[i][::-1] + k.names[i]][:PASSED_NAMES]
                more = f" and {count - len(named)} more" if count > len(named) else ""
                log.warning("%s passed over as a neighbour of %s%s (%s)", shown(o.path), ", ".join(named), more,
                            o.problem)


def pair_neighbours(paths, *, max_gap: float | None = MAX_GAP_MINUTES, pool=(), progress: bool = False,
                    max_pixels: int = MAX_PIXELS) -> dict[Path, list[Path]]:
    """For each file, its nearest earlier and nearest later frame of the same kind.

    Parameters
    ----------
    paths : iterable of path-like
        The files of a run; only their headers are read.
    max_gap : float or None
        Largest time between a file and a neighbour, in minutes; None: any.
    pool : iterable of path-like
        More files that may serve as neighbours (not paired themselves).
    progress : bool
        A progress bar while the headers are read, for `PROGRESS_FROM` files or more.
    max_pixels : int
        Files with larger images are not paired, as their fill refuses them (`corkit_inpaint.read.MAX_PIXELS`;
        battery s37: frames a run's ``--max-pixels`` let through were filled alone, said only at DEBUG).

    Returns
    -------
    dict
        ``{path: [earlier, later]}`` with the ones found (0, 1 or 2), earlier first.
        A file whose header cannot be read, or that has no time, gets none.

    Raises
    ------
    InputError
        A ``pool`` entry that is not a file (missing, or a folder).
    """
    max_gap = check_max_gap(max_gap)
    limit = math.inf if max_gap is None else 60.0 * max_gap
    pool = list(pool)
    for p in pool:                        # files named on purpose: one that is not a file is a mistake
        if why := not_a_file(p):
            raise InputError(f"neighbour pool {p}: {why}")
    infos = _infos(paths, progress=progress, max_pixels=max_pixels)
    seen = {i.path for i in infos}
    pooled = _infos((p for p in pool if Path(p) not in seen), pool=True, progress=progress, max_pixels=max_pixels)
    for info in pooled:                   # named on purpose, so say why it cannot serve (a file to fill: below)
        if info.kind and info.time is None:
            log.warning("neighbour pool %s: no observation time (DATE-OBS, TIME-OBS): not used as a neighbour",
                        shown(info.path))
    candidates = infos + pooled
    by_kind = _by_kind(candidates)
    out: dict[Path, list[Path]] = {}
    targets = {}
    for info in infos:
        if info.kind and info.time is None:
            # INFO: a file whose header has no time is often one its fill refuses, in one line of its own
            log.info("%s: no observation time (DATE-OBS, TIME-OBS): not paired with neighbours", shown(info.path))
        out[info.path] = []
        if info.time is not None and info.kind:
            targets.setdefault(info.path, info)          # a file given twice is paired (and counted) once
    # the earlier side in order of time, the later side against it, so a frame names the nearest files it failed
    for later in (False, True):
        for info in sorted(targets.values(), key=lambda o: (o.time, str(o.path)), reverse=later):
            k = by_kind.get(info.kind)
            if k is None:         # a path named twice whose headers read differently (it changed mid-run): unpaired
                continue
            chosen, ranges = (k.later if later else k.earlier)(info.time, limit)
            k.pass_over(ranges, info.path, k.names_later if later else k.names)
            if chosen is not None:
                out[info.path].append(k.frames[chosen].path)
    _warn_passed_over(by_kind)
    used = {q for ns in out.values() for q in ns}
    unused = [i.path for i in pooled if i.kind and i.time is not None and i.path not in used]
    if unused:                            # named on purpose: say so (once, a pool may be a day's files)
        more = f" and {len(unused) - PASSED_NAMES} more" if len(unused) > PASSED_NAMES else ""
        log.warning("neighbour pool %s%s: the nearest frame of its kind (detector, filter, polarizer, summing, "
                    "size) to none of the files%s: not used", ", ".join(shown(p) for p in unused[:PASSED_NAMES]),
                    more, "" if max_gap is None else f" within {max_gap:g} min")
    return out


def neighbours_for(files, neighbours="auto", *, max_gap: float | None = MAX_GAP_MINUTES, pool=(),
                   progress: bool = False, max_pixels: int = MAX_PIXELS) -> dict[Path, list[Path]]:
    """Each file's neighbours, as a run's ``neighbours`` option asks.

    Parameters
    ----------
    files : list of path-like
    neighbours : {"auto", "none"}, None or mapping
        ``"auto"``: `pair_neighbours` among ``files`` and ``pool``; ``"none"`` or
        None: no neighbours; a mapping ``{file: [neighbour files]}``: as given (a key is matched to the
        file it names, however the path is written; a key that names none of ``files`` is warned of).
    max_gap, pool, progress, max_pixels
        As for `pair_neighbours`; ``pool`` with ``"auto"`` only.

    Raises
    ------
    InputError
        Another value of ``neighbours``, a ``pool`` without ``"auto"`` (it would not be read; battery s37), or a
        ``max_gap`` that is not a number >= 0 or None (a `ValueError` too).
    """
    check_max_gap(max_gap)
    auto = isinstance(neighbours, str) and neighbours.lower() == "auto"
    pool = list(pool)                   # an iterator is read once (review s37)
    if pool and not auto:
        raise InputError(f"a neighbour pool is read only with neighbours 'auto', not {neighbours!r}")
    if neighbours is None or (isinstance(neighbours, str) and neighbours.lower() == "none"):
        return {Path(f): [] for f in files}
    if auto:
        return pair_neighbours(files, max_gap=max_gap, pool=pool, progress=progress, max_pixels=max_pixels)
    if isinstance(neighbours, dict):        # keys match the files they name: relative, absolute or through a link
        keys = {k: file_key(k) for k in neighbours}
        given = {keys[k]: [Path(x) for x in ([v] if isinstance(v, (str, os.PathLike)) else v)]
                 for k, v in neighbours.items()}
        mine = {Path(f): file_key(f) for f in files}
        known = set(mine.values())
        stray = sorted(str(k) for k, key in keys.items() if key not in known)
        if stray:
            log.warning("neighbours: %d key(s) name none of the files to fill, so they are not used (%s)",
                        len(stray), ", ".join(stray[:3]))
        return {f: given.get(key, []) for f, key in mine.items()}
    raise InputError(f"neighbours = {neighbours!r}: give 'auto', 'none' or a mapping of file to neighbour files")
