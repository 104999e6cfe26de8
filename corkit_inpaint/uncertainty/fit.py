"""Fit the error tables on simulated holes: blank blocks of simulated frames, fill them, collect each method's error.

Frames come from the single-frame simulator (seeds from `FRAME_SEED0`; with
``--frames-from sequence``, the sequence simulator's target frames alone) and,
for methods that read neighbouring frames, from the sequence simulator (seeds
from `SEQUENCE_SEED0`, each middle frame with its frames 12 minutes before and
after; version ``--sequence-version``). Neither range is used in training or in `evaluate`. For every filled
pixel the error in the blanked frame's stretched space, over its unit
(`PixelFeatures.unit_of`, the guides' spread measured as ``--spread`` says), goes into a histogram per table
cell; a cell's value is the histogram's
68.27% quantile. A cell with fewer than `MIN_COUNT` pixels takes the value of
the coarser group it falls in (all spread bins, then all distances, then all
zones). The base losses are the patterns training and evaluation draw
(`corkit_inpaint.training.loss_masks.PATTERNS`, ``repeats`` of each), which
reach at most 48 px from their edge; then one loss of each of `LARGE_PATTERNS`
(whole rows of blocks, clusters up to 6x6, from their own random stream
seeded `LARGE_SEED`) adds only its pixels deeper than `LARGE_MIN_DIST`, so
that the deep cells are fitted and the shallow ones keep the base losses'
mixture. Run as ``python -m corkit_inpaint.uncertainty.fit --out FILE``; ``--add-to FILE
--weights NAME`` adds the tables of other weights to a file fitted on the same holes (give
the file's ``--frames-from`` and ``--sequence-version``: the shipped file's are ``sequence``
and ``5``, since 0.1.19).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
from pathlib import Path

import numpy as np

from ..exceptions import CorkitInpaintError, MethodError
from ..fill import run_method
from ..frame import Frame
from ..methods import get_method
from ..provenance import source_provenance
from ..register import register_all
from ..tempfiles import write_text_atomic
from ..training.loss_masks import LARGE_PATTERNS, PATTERNS, blanked_copies
from ..training.sequence import SEQUENCE_VERSION, SEQUENCE_VERSIONS, make_sequence
from .features import DIST_EDGES, SPREADS, TABLE_SHAPE, neighbour_cover, pixel_features
from .tables import FORMAT, parse_tables, table_key

__all__ = ["FRAME_SEED0", "SEQUENCE_SEED0", "LARGE_SEED", "LARGE_MIN_DIST", "MIN_COUNT", "QUANTILE", "R_EDGES",
           "TABLE_AXES", "Accumulator", "hist_quantile", "collect",
           "write_tables", "read_tables_file", "main", "SHARED_SETTINGS"]

log = logging.getLogger(__name__)

FRAME_SEED0 = 70_000_000
SEQUENCE_SEED0 = 71_000_000
#: The random stream of the large losses (`corkit_inpaint.training.loss_masks.LARGE_PATTERNS`).
LARGE_SEED = 72_000_000
#: A large loss adds only its pixels farther than this from a valid pixel (px): the base losses' deepest bins.
LARGE_MIN_DIST = 16.5
MIN_COUNT = 400
QUANTILE = math.erf(1 / math.sqrt(2))          # 0.6827: the central 1-sigma share of a Gaussian
#: Bin edges of |error| / unit (log-spaced, 6% apart).
R_EDGES = np.geomspace(1e-3, 1e3, 241)
#: Where the single frames come from: `simulator.make_frame`, or the sequence simulator's target frames.
FRAMES_FROM = ("simulator", "sequence")


class Accumulator:
    """Histograms of |error| / unit per table cell, for one method; ``spread``: how the unit measures the guides'
    spread (`corkit_inpaint.uncertainty.features.SPREADS`)."""

    def __init__(self, spread: str = "range") -> None:
        if spread not in SPREADS:
            raise ValueError(f"spread {spread!r}: one of {', '.join(SPREADS)}")
        self.spread = spread
        self.hist = np.zeros((int(np.prod(TABLE_SHAPE)), R_EDGES.size + 1), dtype=np.int64)

    def add(self, features, err: np.ndarray, keep: np.ndarray | None = None) -> None:
        """Add the stretched errors ``err`` of the pixels of ``features`` (those where ``keep``, when given)."""
        r = np.abs(err) / np.maximum(features.unit_of(self.spread), 1e-12)
        cells, bins = features.cells(self.spread), np.searchsorted(R_EDGES, r)
        if keep is not None:
            cells, bins = cells[keep], bins[keep]
        np.add.at(self.hist, (cells, bins), 1)

    def table(self) -> np.ndarray:
        """The `TABLE_SHAPE` half-widths, with the coarser groups' values where a cell is thin."""
        h = self.hist.reshape(*TABLE_SHAPE, -1)
        k = np.full(TABLE_SHAPE, np.nan)
        for axes in ((), (3,), (2, 3), (1, 2, 3), (0, 1, 2, 3)):   # the cell, then ever coarser groups
            g = h.sum(axis=axes, keepdims=True) if axes else h
            q = np.broadcast_to(hist_quantile(g), TABLE_SHAPE)
            enough = np.broadcast_to(g.sum(-1) >= MIN_COUNT, TABLE_SHAPE)
            k = np.where(np.isnan(k) & enough, q, k)
        return np.where(np.isnan(k), 1.0, k)


def hist_quantile(h: np.ndarray) -> np.ndarray:
    """The `QUANTILE` of each histogram along the last axis (geometric bin centres)."""
    step = R_EDGES[1] / R_EDGES[0]
    centres = np.concatenate([[R_EDGES[0] / np.sqrt(step)], R_EDGES[:-1] * np.sqrt(step), [R_EDGES[-1]]])
    c = np.cumsum(h, axis=-1)
    j = np.argmax(c >= QUANTILE * np.maximum(c[..., -1:], 1), axis=-1)
    return centres[j]


def _blank_and_fill(img, hdr, methods, accs, rng, repeats, neighbours, device, weights, patterns=PATTERNS,
                    min_dist=None, spread="range"):
    """Blank ``repeats`` masks per pattern in one frame, fill with every method, add the errors.

    With ``min_dist``, only the errors of pixels farther than that from a valid pixel are added.
    """
    for _, _, _, mask, test in blanked_copies(img, hdr, rng, repeats, patterns):
        frame = Frame.build(test, mask, hdr)
        nbs = register_all(neighbours, hdr, img.shape) if neighbours else []
        cover = neighbour_cover(frame, nbs)
        truth = frame.stretch.forward(np.asarray(img, dtype=np.float64))
        for name in methods:
            res = run_method(name, frame, neighbours=nbs, device=device, weights=weights, check_sigma=False)
            f = res.filled
            err = frame.stretch.forward(res.values[f]) - truth[f]
            key = table_key(name, res.provenance.sha256)
            feats = pixel_features(frame, f, cover, values=res.values)
            accs.setdefault(key, (name, res.provenance.sha256, Accumulator(spread)))[2].add(
                feats, err, None if min_dist is None else feats.dist > min_dist)


def collect(methods, *, n_frames: int, n_sequences: int, repeats: int = 2, version: str | None = None,
            device: str = "cpu", weights=None, progress: bool = True, frames_from: str = "simulator",
            sequence_version: str | None = None, spread: str = "range") -> dict:
    """``{key: (method, sha256, Accumulator)}`` over simulated frames and sequences (see the module).

    ``frames_from`` ``"sequence"`` takes the single frames from the sequence simulator (each
    sequence's target frame alone, version ``sequence_version``) instead of `simulator.make_frame`.
    ``spread``: how the tables' unit measures the guides' spread
    (`corkit_inpaint.uncertainty.features.SPREADS`); the holes and fills do not depend on it.
    """
    from tqdm import tqdm

    from ..training.simulator import GENERATOR_VERSION, KINDS, make_frame
    if frames_from not in FRAMES_FROM:
        raise ValueError(f"frames_from must be one of {', '.join(FRAMES_FROM)}, not {frames_from!r}")
    sv = sequence_version or SEQUENCE_VERSION
    rng, large = np.random.default_rng(FRAME_SEED0), np.random.default_rng(LARGE_SEED)
    accs: dict = {}

    def fill(img, hdr, which, nbs):       # the base losses, then the large ones' deep pixels
        _blank_and_fill(img, hdr, which, accs, rng, repeats, nbs, device, weights, spread=spread)
        _blank_and_fill(img, hdr, which, accs, large, 1, nbs, device, weights, LARGE_PATTERNS, LARGE_MIN_DIST,
                        spread)

    for i in tqdm(range(n_frames), desc="simulated frames", disable=not progress):
        det, summed = KINDS[i % len(KINDS)]
        if frames_from == "sequence":
            img, hdr = make_sequence(FRAME_SEED0 + i, (0.0,), detector=det, summed=summed, version=sv).frames[0]
        else:
            img, hdr = make_frame(FRAME_SEED0 + i, detector=det, summed=summed, version=version or GENERATOR_VERSION)
        fill(img, hdr, methods, None)
    readers = [m for m in methods if get_method(m).reads_neighbours]
    for i in tqdm(range(n_sequences), desc="simulated sequences", disable=not progress or not readers):
        if not readers:
            break
        det, summed = KINDS[i % len(KINDS)]
        (b, (img, hdr), a) = make_sequence(SEQUENCE_SEED0 + i, detector=det, summed=summed, version=sv).frames
        fill(img, hdr, readers, [b, a])
    return accs


#: What the axes of a table are, as the file says.
TABLE_AXES = ["neighbour data (no, yes)", "zone (C2 inner, mid, outer, C3 inner, mid, outer, other)",
              "distance to valid pixel (px)", "guide spread / window noise"]
#: The fit settings a file's tables must share for `write_tables` to add tables to it.
SHARED_SETTINGS = ("frames", "frame_seed0", "sequences", "sequence_seed0", "repeats", "patterns", "mask_seed",
                   "large_patterns", "large_seed", "large_repeats", "large_min_dist", "generator_version",
                   "sequence_version", "quantile", "min_count", "dist_edges", "frames_from")


def write_tables(accs: dict, path: str | Path, meta: dict, *, add: bool = False) -> None:
    """Write the tables of ``accs`` (`collect`) and the fit's settings ``meta`` to a JSON file, atomically.

    With ``add``, the file's other tables are kept and ``meta["methods"]`` (with its ``weights``, ``spread``,
    ``versions`` and ``source_commit``) is added to its record (a table replaced loses its widening,
    `corkit_inpaint.uncertainty.widen_fit`, and the record its ``fit["widen"][key]``, with a logged warning);
    the file must have been fitted with the same `SHARED_SETTINGS` (the same simulated holes), else
    `ValueError`. A format-2 file's tables are written in this format (`read_tables_file`).
    """
    tables = {key: {"method": name, "sha256": sha, "pixels": int(acc.hist.sum()),
                    **({} if acc.spread == "range" else {"spread": acc.spread}),     # absent: "range", as before 0.1.18
                    "k": np.round(acc.table(), 5).tolist()} for key, (name, sha, acc) in sorted(accs.items())}
    doc = {"format": FORMAT, "table_axes": TABLE_AXES, "fit": meta, "tables": tables}
    path = Path(path)
    if add:
        old = read_tables_file(path, meta)
        old["fit"].setdefault("added", []).append(
            {"methods": meta["methods"], "weights": meta.get("weights")}
            | {k: meta[k] for k in ("spread", "versions", "source_commit") if k in meta})    # what fitted these
        unwidened = [k for k in tables if isinstance(old["tables"].get(k), dict) and "widen" in old["tables"][k]]
        if unwidened:       # its widening was fitted against the table replaced: it goes, and so does its record
            log.warning("table %s is refitted: its widening where the neighbours disagree is dropped (fit it "
                        "again: python -m corkit_inpaint.uncertainty.widen_fit --tables %s)", unwidened[0], path)
            records = old["fit"].get("widen")
            if isinstance(records, dict):
                old["fit"]["widen"] = {k: v for k, v in records.items() if k not in unwidened}
        doc = {**old, "tables": {**old["tables"], **tables}}
    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")


def read_tables_file(path: str | Path, meta: dict) -> dict:
    """The tables file ``path`` that the tables of a fit with settings ``meta`` are added to, in this format (a
    format-2 file's tables with each zone's values for both detectors, `corkit_inpaint.uncertainty.tables.by_detector`).

    Raises
    ------
    ValueError
        It cannot be read, is not a tables file this module wrote, or was fitted with other `SHARED_SETTINGS`.
    """
    try:
        old = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not a tables file (not JSON: {exc})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a tables file (nested too deeply to be read)") from None
    if (not isinstance(old, dict) or not isinstance(old.get("fit"), dict) or not isinstance(old.get("tables"), dict)
            or not isinstance(old["fit"].get("added", []), list)):
        raise ValueError(f"{path}: not a tables file (its 'fit' and 'tables' must be mappings)")
    differ = [k for k in SHARED_SETTINGS if old["fit"].get(k) != meta.get(k)]
    if differ:
        said = "; ".join(f"{k} {old['fit'].get(k)!r} there, {meta.get(k)!r} here" for k in differ)
        raise ValueError(f"{path} was fitted with other settings ({said}): cannot add to it")
    try:
        parsed = parse_tables(old)
    except ValueError as exc:
        raise ValueError(f"{path}: not a usable tables file ({exc})") from None
    return {**old, "format": FORMAT, "table_axes": TABLE_AXES,
            "tables": {key: {**t, "k": parsed[key].k.tolist()} for key, t in old["tables"].items()}}


def _meta(args) -> dict:
    """The fit's settings: what `write_tables` records, and what a file added to must share."""
    from ..training.simulator import GENERATOR_VERSION
    frames_from = {} if args.frames_from == "simulator" else {"frames_from": args.frames_from}
    return {"methods": args.methods, "frames": args.frames, "frame_seed0": FRAME_SEED0,
            "sequences": args.sequences, "sequence_seed0": SEQUENCE_SEED0, "repeats": args.repeats,
            "patterns": list(PATTERNS), "mask_seed": FRAME_SEED0, "large_patterns": list(LARGE_PATTERNS),
            "large_seed": LARGE_SEED, "large_repeats": 1, "large_min_dist": LARGE_MIN_DIST,
            "generator_version": GENERATOR_VERSION,
            "sequence_version": args.sequence_version, "quantile": QUANTILE,
            "min_count": MIN_COUNT, "bins_per_decade": 40, "dist_edges": [float(e) for e in DIST_EDGES[1:-1]],
            "weights": args.weights} | frames_from | ({} if args.spread == "range" else {"spread": args.spread})


def _check_destination(args, meta: dict) -> None:
    """Refuse (`ValueError`, `CorkitInpaintError`) what would fail only after the fit: a file to add to that cannot
    take these tables, an --out that cannot be written, weights that cannot be found or that --out would replace."""
    from ..network.weights import resolve_weights
    dest = Path(args.out or args.add_to)
    if args.add_to:
        read_tables_file(dest, meta)
    elif dest.is_dir() or not dest.absolute().parent.is_dir():
        raise ValueError(f"--out {dest}: {'is a folder' if dest.is_dir() else 'its folder does not exist'}")
    w = resolve_weights(args.weights) if args.weights else None
    if w is not None and dest.exists() and os.path.samefile(w.path, dest):
        raise ValueError(f"--out {dest}: is the --weights file")


def main(argv=None) -> int:
    """Fit the tables of the given methods and write them (see the module docstring)."""
    p = argparse.ArgumentParser(prog="python -m corkit_inpaint.uncertainty.fit", description=__doc__.split("\n")[0])
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--out", help="the tables file to write")
    out.add_argument("--add-to", metavar="FILE", help="add these tables to FILE, fitted with the same settings")
    p.add_argument("--methods", nargs="+", default=["pconv-smooth", "biharmonic", "fuzzy", "ratio"])
    p.add_argument("--frames", type=int, default=24, help="simulated frames (default 24)")
    p.add_argument("--sequences", type=int, default=24, help="simulated sequences (default 24)")
    p.add_argument("--repeats", type=int, default=2, help="masks per pattern per frame (default 2)")
    p.add_argument("--weights", default=None, help="weights of the network methods (default: the default model)")
    p.add_argument("--frames-from", choices=FRAMES_FROM, default="simulator",
                   help="single frames from the single-frame simulator (default) or the sequence simulator")
    p.add_argument("--sequence-version", choices=SEQUENCE_VERSIONS, default=SEQUENCE_VERSION,
                   help="sequence simulator version (default %(default)s)")
    p.add_argument("--spread", choices=SPREADS, default="range",
                   help="how the tables' unit measures the guide fills' spread: their range with the fill "
                        "(default), or without the guide farthest from the fill ('near', the default model's)")
    args = p.parse_args(argv)
    if args.frames < 1 or args.sequences < 0 or args.repeats < 1:
        p.error("give --frames and --repeats >= 1, --sequences >= 0")
    try:
        for m in args.methods:
            get_method(m)
    except MethodError as exc:
        p.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    meta = _meta(args)
    try:               # what would fail only after the fit (hours at full size), checked before it
        _check_destination(args, meta)
    except (ValueError, CorkitInpaintError) as exc:
        p.exit(1, f"{p.prog}: {exc}\n")
    from ..threads import set_threads
    set_threads(None)
    source = source_provenance()        # the code that fits, not what the tree holds when it ends
    try:
        accs = collect(args.methods, n_frames=args.frames, n_sequences=args.sequences, repeats=args.repeats,
                       weights=args.weights, frames_from=args.frames_from, sequence_version=args.sequence_version,
                       spread=args.spread)
        write_tables(accs, args.out or args.add_to, meta | source, add=args.add_to is not None)
    except (OSError, ValueError, CorkitInpaintError) as exc:
        p.exit(1, f"{p.prog}: {exc}\n")
    log.info("wrote %d tables to %s", len(accs), args.out or args.add_to)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
