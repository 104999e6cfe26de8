"""``corkit-inpaint fill``: fill missing blocks in level-0.5 FITS files.

Writes the filled image with provenance keywords, HISTORY, an INPMASK extension
and (for a method that gives one) an INPSIGMA extension with the fill's 1-sigma,
atomically. Inputs are never modified.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from .. import header as H
from ..abandoned import inputs_kept
from ..exceptions import InputError
from ..methods import DEFAULT_METHOD
from ..outputs import check_output_path, distinct_files, input_clash, output_clash, remove_stale_temps
from ..read import MAX_PIXELS
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
    run_inputs,
    say,
)

__all__ = ["NAME", "add_arguments", "run"]

log = logging.getLogger("corkit_inpaint")

NAME = "fill"


def add_arguments(f: argparse.ArgumentParser) -> None:
    """The options of ``fill``."""
    add_sources(f, "level-0.5 FITS file(s)")
    g = f.add_mutually_exclusive_group(required=True)
    g.add_argument("-o", "--output", metavar="OUT", help="output file (one SRC)")
    g.add_argument("--outdir", metavar="DIR", help="output folder (same file names)")
    f.add_argument("--method", default=DEFAULT_METHOD,
                   help=f"fill method (default: {DEFAULT_METHOD}; 'pconv' adds a texture, for pictures)")
    add_neighbour_options(f)
    add_model_options(f)
    f.add_argument("--overwrite", action="store_true", help="replace existing outputs (never an input)")
    f.add_argument("--refill", action="store_true",
                   help="fill files an earlier run filled, keeping their INPMASK pixels flagged")
    f.add_argument("--max-pixels", type=int, default=MAX_PIXELS, metavar="N",
                   help=f"refuse larger images before reading them (default: {MAX_PIXELS}, 2048x2048)")
    f.add_argument("--plot", metavar="PNG", help="write a before/after/mask picture")
    add_batch_options(f)


def _plot(src: Path, hdul, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..evaluation.report import save_figure
    from ..read import read_level05
    before = read_level05(src, refill=True).data
    after = hdul[0].data.astype(float)
    mask = hdul["INPMASK"].data
    lo = max(float(np.percentile(after[after > 0], 1)), 1e-3) if np.any(after > 0) else 1e-3
    fig, ax = plt.subplots(1, 3, figsize=(13, 4.6), constrained_layout=True)
    for a, img, title in ((ax[0], before, "before"), (ax[1], after, "after")):
        a.imshow(np.log10(np.clip(img.astype(float), lo, None)), origin="lower", cmap="gray")
        a.set_title(f"{title} (log10 DN)")
    ax[2].imshow(mask, origin="lower", cmap="magma", vmin=0, vmax=1)
    ax[2].set_title(f"INPMASK: {int(mask.sum())} px filled")
    for a in ax:
        a.set_xticks([]), a.set_yticks([])
    fig.suptitle(f"{src.name}: {hdul[0].header.get('INPAINT')} {hdul[0].header.get('INPMODEL')}")
    save_figure(fig, png, dpi=90)       # through a temporary (review s36: its own, not removed after a kill)


def _plot_path(args, src: Path, several: bool) -> Path:
    png = Path(args.plot)
    if several:
        png = png.with_name(f"{png.stem}_{src.stem}{png.suffix or '.png'}")
    return png


def _output_path(args, src: Path) -> Path:
    """Where ``src``'s fill is written: ``-o``, else its name in ``--outdir``."""
    return Path(args.output) if args.output is not None else Path(args.outdir) / src.name


def _check_plot(args, srcs: list[Path]) -> str:
    """Why ``--plot`` cannot be written ("" when it can): before any file is filled."""
    if not args.plot:
        return ""
    if Path(args.plot).suffix.lower() not in (".png", ""):
        return f"--plot {args.plot}: the picture is a PNG; give a name ending in .png"
    outs = [_output_path(args, src) for src in srcs]
    pngs = [_plot_path(args, src, len(srcs) > 1) for src in srcs]
    # an --outdir not there yet is made before any file is filled: a picture in it has a folder then (and no file
    # there to overwrite)
    new = Path(args.outdir).resolve() if args.outdir is not None and not Path(args.outdir).exists() else None
    for png in pngs:
        in_new = new is not None and png.parent.resolve() == new
        if not in_new and not png.parent.is_dir():
            return f"--plot {png}: folder {png.parent} does not exist"
        if input_clash([png], run_inputs(args, srcs)):
            return f"--plot {png}: is an input file"
        if input_clash([png], outs):
            return f"--plot {png}: is also a FITS output of the run"
        try:
            if not in_new:
                check_output_path(png, overwrite=args.overwrite)
        except InputError as exc:
            return f"--plot {exc}"
    why = output_clash(zip(srcs, pngs))
    return f"--plot {why}" if why else ""       # (battery s37: it did not say it was about --plot)


def _check_inputs(args, srcs: list[Path]) -> str:
    """Why an output would be an input of the run -- a file to fill or a pool file -- or the output of two
    ("" when none is)."""
    return outputs_clash(args, srcs, [_output_path(args, src) for src in srcs])    # -o: one SRC, no clash of two


def _check_batch(args) -> str:
    """Why ``--workers``/``--scheduler`` cannot be used with the other options ("" when they can)."""
    if not wants_batch(args):
        return batch_only(args)
    if args.outdir is None:
        return "--workers/--scheduler write to a folder: use --outdir DIR, not -o"
    if args.plot:
        return "--plot is not available with --workers/--scheduler"
    return ""


def _fill_one(args, src: Path, neighbours: list, several: bool, inpaint_fits) -> int:
    """Fill ``src`` from ``neighbours`` into its output (and its picture); the number of blocks filled."""
    dst = _output_path(args, src)
    hdul = inpaint_fits(src, dst, neighbours=neighbours, method=args.method, device=args.device,
                        weights=args.weights, overwrite=args.overwrite, refill=args.refill,
                        max_pixels=args.max_pixels, max_gap=args.max_gap)
    h = hdul[0].header
    log.info("%s -> %s: %d blocks, %d px, %s on %s, %d neighbouring frames", src, dst, H.count(h, "INPNBLK"),
             H.count(h, "INPNPIX"), h.get("INPAINT"), h.get("INPDEV"), H.count(h, "INPNNB"))
    if args.plot:
        _plot(src, hdul, _plot_path(args, src, several))
    return H.count(h, "INPNBLK")        # a count that is not one (a refill keeps the input's) is none


def run(args: argparse.Namespace) -> int:
    """Fill each SRC; 0 when all succeeded, 1 when some failed (each named on stderr), 2 usage."""
    with inputs_kept([*args.src, *args.neighbour_pool]):   # no scan for a killed write's temporaries takes one
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from ..api import inpaint_fits
    srcs = distinct_files(args.src)          # a file given twice is filled once
    if args.output is not None and len(srcs) != 1:          # a file given twice is one SRC (battery s37)
        err("-o/--output takes exactly one SRC; use --outdir for several")
        return 2
    if not (args.output if args.output is not None else args.outdir).strip():    # blanks: as empty (battery s37)
        err("-o/--output and --outdir need a non-empty path")
        return 2
    if args.output is not None and args.output.endswith(("/", os.sep)):
        err(f"-o/--output {args.output}: names a folder; give a file name, or use --outdir")
        return 2
    why = ((f"--max-pixels {args.max_pixels}: give a number of pixels >= 1" if args.max_pixels < 1 else "")
           or check_method(args.method, "--method") or check_weights(args.weights, methods=[args.method])
           or check_device(args.device) or check_pool(args)
           or _check_inputs(args, srcs) or _check_plot(args, srcs) or _check_batch(args)
           or check_weights_file(args.weights))
    if why:
        err(why)
        return 2
    if wants_batch(args):
        return run_batch_command(args, "fill", args.outdir, args.method, srcs)
    try:
        pairs = neighbour_map(args, srcs)
    except ValueError as exc:
        err(str(exc))
        return 2
    if args.outdir is not None:          # made as the batch path and level_1 make theirs
        try:
            Path(args.outdir).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            dangling = os.path.lexists(args.outdir) and not os.path.exists(args.outdir)    # never raises (s37)
            err(f"--outdir {args.outdir}: cannot be made a folder "
                f"({'a link to nothing' if dangling else exc.strerror or exc})")
            return 2
    remove_stale_temps((_output_path(args, src) for src in srcs), keep=[*srcs, *args.neighbour_pool])  # SIGKILL's
    failed = written = blocks = 0
    with logging_redirect_tqdm():          # log records on lines of their own under the bar
        for src in tqdm(srcs, desc="filling", unit="file", disable=len(srcs) < 2 or args.quiet or None):
            try:
                with naming_file(src):
                    blocks += _fill_one(args, src, pairs[src], len(srcs) > 1, inpaint_fits)
                written += 1
            except FILE_ERRORS as exc:
                failed += 1
                file_err(src, exc)
    if not args.quiet:
        say(f"corkit-inpaint fill: {written} of {len(srcs)} files written, {blocks} blocks filled"
            + (f", {failed} failed" if failed else ""))
    return 1 if failed else 0
