"""``corkit-inpaint level_1``: CorKit's level-1 calibration with missing blocks filled first.

Fills missing blocks on the level-0.5 grid, then runs corkit's level_1;
writes DIR/<name>.fits with provenance, an INPMASK extension and (for a method that
gives one) an INPSIGMA extension, both carried onto the level-1 grid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import header as H
from ..methods import DEFAULT_METHOD
from ..outputs import distinct_files, remove_stale_temps
from .batch import batch_only, run_batch_command, wants_batch
from .common import (
    FILE_ERRORS,
    add_batch_options,
    add_model_options,
    add_neighbour_options,
    add_sources,
    check_device,
    check_method,
    check_pool,
    check_weights,
    check_weights_file,
    err,
    file_err,
    naming_file,
    neighbour_map,
    outputs_clash,
    say,
)

__all__ = ["NAME", "add_arguments", "run"]

NAME = "level_1"


def add_arguments(lv: argparse.ArgumentParser) -> None:
    """The options of ``level_1``."""
    add_sources(lv, "LASCO C2/C3 level-0.5 files")
    lv.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    lv.add_argument("--inpaint", default=DEFAULT_METHOD, metavar="NAME",
                    help=f"fill method, or 'none' (default: {DEFAULT_METHOD})")
    lv.add_argument("--calib-dir", metavar="DIR", help="corkit calibration folder (default: corkit's own)")
    lv.add_argument("--overwrite", action="store_true", help="replace existing outputs (never an input)")
    lv.add_argument("--refill", action="store_true",
                    help="accept files an earlier run filled, keeping their INPMASK pixels flagged")
    add_neighbour_options(lv)
    add_model_options(lv)
    add_batch_options(lv)


def run(args: argparse.Namespace) -> int:
    """Calibrate each SRC; 0 when all succeeded, 1 when some failed, 2 usage."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from ..level1 import level_1, output_name
    inpaint = None if args.inpaint.lower() == "none" else args.inpaint
    if not args.output.strip():             # Path("") is the current folder; blanks are as empty (battery s37)
        err("-o/--output needs a non-empty path")
        return 2
    if Path(args.output).exists() and not Path(args.output).is_dir():
        err(f"-o/--output {args.output}: is a file, not a folder")
        return 2
    if args.calib_dir is not None and not args.calib_dir.strip():       # not the current folder (battery s35)
        err("--calib-dir needs a non-empty path; leave it out for corkit's own folder")
        return 2
    if args.calib_dir and not Path(args.calib_dir).is_dir():
        err(f"--calib-dir {args.calib_dir}: no such folder")
        return 2
    srcs = distinct_files(args.src)          # a file given twice is calibrated once
    # over the whole run, before anything is written (each level_1 call below sees one file only)
    why = (batch_only(args) or (check_method(inpaint, "--inpaint") if inpaint else "")
           or check_weights(args.weights, methods=[inpaint] if inpaint else []) or check_device(args.device)
           or check_pool(args)
           or outputs_clash(args, srcs, [Path(args.output) / output_name(src) for src in srcs])
           or check_weights_file(args.weights))
    if why:
        err(why)
        return 2
    if wants_batch(args):
        return run_batch_command(args, "level_1", args.output, inpaint, srcs)
    try:
        pairs = neighbour_map(args, srcs)
    except ValueError as exc:
        err(str(exc))
        return 2
    remove_stale_temps((Path(args.output) / output_name(src) for src in srcs),      # a killed (SIGKILL) run's
                       keep=[*srcs, *args.neighbour_pool])
    failed = written = blocks = 0
    with logging_redirect_tqdm():          # log records on lines of their own under the bar
        for src in tqdm(srcs, desc="level 1", unit="file", disable=args.quiet or None):
            try:
                with naming_file(src):
                    level_1(src, args.output, inpaint=inpaint, device=args.device, weights=args.weights,
                            calib_dir=args.calib_dir, overwrite=args.overwrite, refill=args.refill,
                            neighbours={src: pairs[src]}, max_gap=args.max_gap)
                written += 1
                blocks += _blocks_written(Path(args.output) / output_name(src))
            except FILE_ERRORS as exc:
                failed += 1
                file_err(src, exc)
    if not args.quiet:          # as `fill` ends
        say(f"corkit-inpaint level_1: {written} of {len(srcs)} files written, {blocks} blocks filled"
            + (f", {failed} failed" if failed else ""))
    return 1 if failed else 0


def _blocks_written(path: Path) -> int:
    """The blocks a level-1 output says were filled (``INPNBLK``; 0 when it has none, or cannot be read)."""
    from astropy.io import fits
    try:
        return H.count(fits.getheader(path), "INPNBLK")
    except (OSError, ValueError, TypeError):
        return 0
