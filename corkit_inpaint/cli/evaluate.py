"""``corkit-inpaint evaluate``: blank valid blocks in real or simulated frames and score fill methods.

Blanks valid blocks in the four telemetry-loss patterns, fills them with every
method, and scores the fills inside the blanked blocks. With ``--neighbours``,
FILES are a sequence: its middle frames are blanked and filled with and without
the frames before and after them (and ``--synthetic N`` scores simulated
sequences).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
from pathlib import Path

import numpy as np

from ..register import MAX_GAP_MINUTES
from .common import add_model_options, err, file_err, naming_file, say
from .evaluate_options import DEFAULT_METHODS, check_args, reliability_path

__all__ = ["NAME", "add_arguments", "run"]

NAME = "evaluate"


def add_arguments(e: argparse.ArgumentParser) -> None:
    """The options of ``evaluate``."""
    from ..training.simulator import GENERATOR_VERSION, VERSIONS
    e.add_argument("files", nargs="*", metavar="FILES", help="level-0.5 FITS files to blank and fill")
    e.add_argument("--methods", default=None,
                   help=f"comma-separated methods (default: {DEFAULT_METHODS}; telea where OpenCV is installed)")
    e.add_argument("--synthetic", type=int, default=0, metavar="N", help="also score N held-out synthetic frames")
    e.add_argument("--generator-version", dest="generator_version", choices=VERSIONS, default=None,
                   help=f"synthetic generator version for --synthetic (default {GENERATOR_VERSION})")
    e.add_argument("--seed", type=int, default=12345, help="seed of the blanked masks (default: 12345)")
    e.add_argument("--repeats", type=int, default=None,
                   help="masks per pattern per file of FILES (default: 8; each simulated frame or sequence gets one)")
    e.add_argument("--neighbours", action="store_true",
                   help="FILES are a sequence: fill its middle frames from the frames before and after "
                        "(and alone); --synthetic N scores N simulated sequences")
    e.add_argument("--other-day", metavar="FILE",
                   help="with --neighbours: also fill with one neighbour replaced by this frame of another day")
    e.add_argument("--max-gap", type=float, default=None, metavar="MIN",
                   help=f"with --neighbours: largest time to a neighbouring frame, minutes, as a fill takes it "
                        f"(default: {MAX_GAP_MINUTES:g}; a frame farther away, such as --other-day's, is left "
                        "out; inf reads it)")
    e.add_argument("--against", metavar="METHOD",
                   help="one of --methods: every table also gives each method's RMSE over this one's, with a "
                        "90%% bootstrap interval over the same masks (default: biharmonic, when it is scored: "
                        "the yardstick of the targets, which the best classical method need not be)")
    e.add_argument("--json", metavar="OUT", help="write the summary as JSON")
    e.add_argument("--plot", metavar="PNG", help="write a bar chart of the ratios to the best single-frame "
                   "classical method scored (biharmonic, telea or fuzzy; not ratio)")
    e.add_argument("--reliability", metavar="PNG",
                   help="write the reliability diagram of the methods' sigma (one figure per set: PNG's stem "
                        "gets the set's number)")
    add_model_options(e, workers=False)


def run(args: argparse.Namespace) -> int:
    """The ``evaluate`` command."""
    from ..abandoned import inputs_kept
    filters = [(h, _Once()) for h in logging.getLogger().handlers]     # one each: a record reaches every handler
    for h, once in filters:
        h.addFilter(once)
    try:
        with inputs_kept([*args.files, *([args.other_day] if args.other_day else [])]):  # never taken for a temporary
            return _run(args)
    finally:
        for h, once in filters:
            h.removeFilter(once)


class _Once(logging.Filter):
    """Each log message once: `evaluate` fills each frame many times, and a method's warning (weights without an
    error table, ...) came once per fill (battery s36). In a run over several files a warning names its file
    (`corkit_inpaint.cli.common.naming_file`), so it is said once per file."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _run(args: argparse.Namespace) -> int:
    from ..evaluation.protocol import evaluate_synthetic
    from ..exceptions import CorkitInpaintError
    from ..methods import available_methods
    from ..outputs import distinct_files
    args.files = [str(f) for f in distinct_files(args.files)]      # a file given twice is scored once
    given = args.methods is not None
    methods = list(dict.fromkeys(m.strip() for m in (args.methods or DEFAULT_METHODS).split(",") if m.strip()))
    if "telea" in methods:
        try:
            import cv2  # noqa: F401
        except ImportError:
            why = "telea needs OpenCV (pip install opencv-python-headless)"
            if given and (methods == ["telea"] or args.against == "telea"):
                err(f"{'--against' if args.against == 'telea' else '--methods'} telea: {why}")
                return 2
            if given:           # asked for: say it is left out; the default's telea is left out where it cannot run
                logging.getLogger(__name__).warning("%s; skipping it", why)
            methods.remove("telea")
    unknown = [m for m in methods if m not in available_methods()]
    if unknown:
        err(f"unknown method(s) {', '.join(unknown)}; available: {', '.join(sorted(available_methods()))}")
        return 2
    if args.against is not None and args.against not in methods:
        err(f"--against {args.against}: not one of --methods ({', '.join(methods)})")
        return 2
    if not args.files and not args.synthetic:
        err("give FILES and/or --synthetic N")
        return 2
    why = check_args(args, methods)
    if why:
        err(why)
        return 2
    rng = np.random.default_rng(args.seed)
    if args.neighbours:
        return _run_sequences(args, methods, rng)
    try:
        recs, failed = _score_files(args, methods, rng)
        sets = {"real files": recs} if recs else {}
        if args.synthetic:
            sets[f"{args.synthetic} synthetic frames"] = evaluate_synthetic(
                args.synthetic, methods, rng=rng, version=args.generator_version, device=args.device,
                weights=args.weights, progress=not args.quiet)
    except CorkitInpaintError as exc:      # the weights or a method, not a file: nothing more can be scored
        err(str(exc))
        return 1
    if not sets:            # nothing was scored (each file's error said why): a report at --json stays as it was
        return 1
    return _report(args, methods, sets, failed) or (1 if failed else 0)


def _score_files(args, methods, rng) -> tuple[list[dict], list[dict]]:
    """The records of FILES, and those that failed (``{"file", "why"}``, each also on stderr); a file's
    `InputError` fails it alone, any other `CorkitInpaintError` (weights, a method) is raised."""
    import warnings

    from astropy.io.fits.verify import VerifyWarning
    from tqdm import tqdm

    from ..evaluation.protocol import evaluate_frame, image_digest
    from ..exceptions import InputError
    from ..read import read_level05
    failed = []
    recs = []
    seen: dict[str, str] = {}           # each image's digest: a copy of a frame is scored once
    for f in tqdm(args.files, desc="real files", disable=args.quiet or len(args.files) < 2 or None):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VerifyWarning)
                r = read_level05(f)
            digest = image_digest(r.data)
            if digest in seen:
                logging.getLogger(__name__).warning("%s: the same image as %s: scored once", f, seen[digest])
                continue
            seen[digest] = str(f)
            with naming_file(f) if len(args.files) > 1 else contextlib.nullcontext():   # (review s37)
                recs += evaluate_frame(r.data, r.header, methods, rng=rng, repeats=args.repeats,
                                       device=args.device, weights=args.weights, label=str(f))
        except InputError as exc:
            file_err(f, exc)
            failed.append({"file": str(f), "why": str(exc) or type(exc).__name__})
    if args.files and not recs and len(failed) < len(args.files):
        why = "no block could be blanked in FILES: no transmitted block with signal to score a fill on"
        err(why)
        failed.append({"file": None, "why": why})
    return recs, failed


def _report(args, methods, sets: dict, failed: list[dict] = ()) -> int:
    """Write the JSON (with the FILES that ``failed``) and the figures, then print the tables of each set of
    records; 1 when a file cannot be written or stdout is closed (``| head``: the files are written by then)."""
    from ..evaluation.calibration import calibration_table, plot_reliability, reliability
    from ..evaluation.report import mask_errors, plot_summaries, summarise, summarise_zones
    from ..exceptions import first_line
    from ..tempfiles import write_text_atomic
    against = args.against if args.against is not None else "biharmonic" if "biharmonic" in methods else None
    results = {title: summarise(rs, against) for title, rs in sets.items()}
    zones = {title: summarise_zones(rs, against) for title, rs in sets.items()}
    calib = {title: calibration_table(rs) for title, rs in sets.items()}
    rel = {title: reliability(rs) for title, rs in sets.items()}
    writes = []                 # (path, write): each through a temporary moved into place
    if args.json:
        doc = json.dumps(_finite_or_null(
            {"methods": methods, "seed": args.seed, "repeats": args.repeats, "against": against,
             "failed": list(failed), "run": run_record(args), "fills": fill_record(sets), "results": results,
             "zones": zones, "calibration": calib, "reliability": rel,
             "masks": {title: mask_errors(rs) for title, rs in sets.items()}}), indent=1, allow_nan=False)
        writes.append((args.json, lambda: write_text_atomic(args.json, doc)))
    if args.plot and results:
        writes.append((args.plot, lambda: plot_summaries(results, args.plot)))
    have = [(title, r) for title, r in rel.items() if r] if args.reliability else []
    if args.reliability and not have:
        logging.getLogger(__name__).warning("--reliability %s: not written: no fill was scored per radial zone with "
                                            "a sigma (no C2 or C3 frame, or no method gives a sigma)", args.reliability)
    for k, (title, r) in enumerate(have, start=1):      # one figure per set with a sigma: <stem>-k when several
        path = str(reliability_path(args.reliability, k if len(have) > 1 else 0))
        writes.append((path, lambda r=r, path=path, title=title: plot_reliability(r, path, title)))
    why = ""
    for path, write in writes:
        try:
            write()
        except (OSError, ValueError) as exc:
            why = f"{path}: could not be written ({getattr(exc, 'strerror', None) or first_line(exc)})"
            break
    if not _print_tables(results, zones, calib):
        return 1
    if why:
        err(why)
    return 1 if why else 0


def _finite_or_null(obj):
    """``obj`` with every NaN or infinite float replaced by None: JSON has no NaN, and ``jq``, JavaScript and
    strict parsers refuse Python's bare ``NaN`` (a ratio to a baseline that was not scored is one)."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_or_null(v) for v in obj]
    return obj


def run_record(args) -> dict:
    """What else decides the scores, for ``--json``: the inputs (each file's sha256; null for one that cannot be
    read, which failed), the options that pick the
    frames and neighbours, the threads, the error tables' sha256 (the sigmas) and the code's versions and commit.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed options, after `check_args` (which sets the defaults of ``--max-gap`` and
        ``--generator-version``).

    Returns
    -------
    dict
        Plain JSON values.
    """
    from importlib.resources import files

    from ..network.registry import sha256sum
    from ..provenance import source_provenance
    from ..threads import get_threads
    from ..uncertainty.tables import TABLES_FILE
    tables = files("corkit_inpaint") / TABLES_FILE
    simulated_frames = bool(args.synthetic) and not args.neighbours
    def sha(f):          # None for a file that cannot be read now: one of FILES that failed (missing, a folder)
        try:
            return sha256sum(f) if Path(f).is_file() else None
        except OSError:
            return None
    return {"files": [{"file": f, "sha256": sha(f)} for f in args.files],
            "other_day": None if not args.other_day else {"file": args.other_day, "sha256": sha(args.other_day)},
            "synthetic": args.synthetic, "generator_version": args.generator_version if simulated_frames else None,
            "neighbours": args.neighbours, "max_gap": args.max_gap if args.neighbours and args.files else None,
            "weights": args.weights, "device": args.device, "threads": get_threads(),
            "error_tables_sha256": sha256sum(str(tables)) if tables.is_file() else None, **source_provenance()}


def fill_record(sets: dict) -> dict:
    """Per method label scored: the model it ran (``"none"`` for a classical one), its weights' sha256 and the device
    it ran on, as its fills' provenance says (`corkit_inpaint.methods.base.Provenance`)."""
    out: dict = {}
    for recs in sets.values():
        for r in recs:
            out.setdefault(r["method"], {"model": r.get("model"), "weights_sha256": r.get("weights_sha256"),
                                         "device": r.get("device")})
    return out


def _print_tables(results: dict, zones: dict, calib: dict) -> bool:
    """Print the tables of each set; False when stdout was closed meanwhile (then it is silenced: no traceback)."""
    from ..evaluation.calibration import format_calibration_table
    from ..evaluation.report import format_table, format_zone_table
    out = []
    for title, summ in results.items():
        out.append(format_table(summ, title) + "\n")
        if zones[title]:
            out.append(format_zone_table(zones[title], title, " (C2 2.2-3.2-4.5-6.0 Rsun, C3 4-8-16-28 Rsun)") + "\n")
        if calib[title]:
            out.append(format_calibration_table(calib[title], title) + "\n")
    return say(*out)


def _run_sequences(args, methods, rng) -> int:
    """``evaluate --neighbours``: the real sequence in FILES and/or simulated sequences."""
    from ..evaluation.sequences import cme_records, evaluate_sequence, evaluate_synthetic_sequences
    from ..exceptions import CorkitInpaintError
    sets = {}
    try:
        if args.files:
            sets["real sequence"] = evaluate_sequence(args.files, methods, rng=rng, repeats=args.repeats,
                                                      other_day=args.other_day, max_gap=args.max_gap,
                                                      device=args.device,
                                                      weights=args.weights, progress=not args.quiet)
        if args.synthetic:
            recs = evaluate_synthetic_sequences(args.synthetic, methods, rng=rng, device=args.device,
                                                weights=args.weights, progress=not args.quiet)
            sets[f"{args.synthetic} synthetic sequences"] = recs
            cme = cme_records(recs)
            if cme:
                n = len({r["frame"] for r in cme})
                sets[f"the {n} synthetic sequences with a CME"] = cme
    except CorkitInpaintError as exc:      # a file of the sequence, the weights or a method: one line, no report
        err(str(exc))
        return 1
    if not any(sets.values()):
        err("nothing was scored: no block of the sequences could be blanked")
        return 1
    return _report(args, methods, {k: v for k, v in sets.items() if v})
