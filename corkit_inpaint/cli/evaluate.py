"""``corkit-inpaint evaluate``: blank valid blocks in real or simulated frames and score fill methods."""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np

from .common import err

__all__ = ["add_parser", "run"]

log = logging.getLogger("corkit_inpaint")


def add_parser(sub) -> None:
    """Add the ``evaluate`` subcommand."""
    from ..training.simulator import GENERATOR_VERSION, VERSIONS
    e = sub.add_parser("evaluate", help="blank valid blocks in real files and score fill methods",
                       description="Blank valid blocks in the four telemetry-loss patterns, fill them with "
                                   "every method, and score the fills inside the blanked blocks.")
    e.add_argument("files", nargs="*", metavar="FILES", help="level-0.5 FITS files to blank and fill")
    e.add_argument("--methods", default="pconv,biharmonic,telea",
                   help="comma-separated methods (default: pconv,biharmonic,telea)")
    e.add_argument("--synthetic", type=int, default=0, metavar="N", help="also score N held-out synthetic frames")
    e.add_argument("--generator-version", dest="generator_version", choices=VERSIONS, default=GENERATOR_VERSION,
                   help=f"synthetic generator version for --synthetic (default {GENERATOR_VERSION})")
    e.add_argument("--seed", type=int, default=12345, help="seed of the blanked masks (default: 12345)")
    e.add_argument("--repeats", type=int, default=8, help="masks per pattern per file (default: 8)")
    e.add_argument("--json", metavar="OUT", help="write the summary as JSON")
    e.add_argument("--plot", metavar="PNG", help="write a bar chart of the ratios to the best classical method")
    e.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default: auto)")
    e.add_argument("--weights", default=None, help="model name or weights file")
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """The ``evaluate`` command."""
    import warnings
    from astropy.io.fits.verify import VerifyWarning
    from tqdm import tqdm
    from ..evaluation.protocol import evaluate_frame, evaluate_synthetic
    from ..evaluation.report import format_table, plot_summaries, summarise
    from ..exceptions import InputError
    from ..methods import available_methods
    from ..read import read_level05
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if "telea" in methods:
        try:
            import cv2  # noqa: F401
        except ImportError:
            log.warning("telea needs OpenCV (pip install opencv-python-headless); skipping it")
            methods.remove("telea")
    unknown = [m for m in methods if m not in available_methods()]
    if unknown:
        err(f"unknown method(s) {', '.join(unknown)}; available: {', '.join(sorted(available_methods()))}")
        return 2
    if not args.files and not args.synthetic:
        err("give FILES and/or --synthetic N")
        return 2
    rng = np.random.default_rng(args.seed)
    results = {}
    failed = 0
    recs = []
    for f in tqdm(args.files, desc="real files", disable=args.quiet or len(args.files) < 2):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", VerifyWarning)
                data, header = read_level05(f)
        except InputError as exc:
            err(str(exc))
            failed += 1
            continue
        recs += evaluate_frame(data, header, methods, rng=rng, repeats=args.repeats,
                               device=args.device, weights=args.weights, label=str(f))
    if recs:
        results["real files"] = summarise(recs)
    if args.synthetic:
        srecs = evaluate_synthetic(args.synthetic, methods, rng=rng, version=args.generator_version,
                                   device=args.device, weights=args.weights, progress=not args.quiet)
        results[f"{args.synthetic} synthetic frames"] = summarise(srecs)
    for title, summ in results.items():
        print(format_table(summ, title))
        print()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"methods": methods, "seed": args.seed, "repeats": args.repeats, "results": results}, fh, indent=1)
    if args.plot and results:
        plot_summaries(results, args.plot)
    return 1 if failed else 0
