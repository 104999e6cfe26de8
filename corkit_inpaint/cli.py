"""The ``corkit-inpaint`` command line.

Exit codes: 0 success; 1 some inputs failed (the others were processed, each
failure is named on stderr); 2 usage error.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path

__all__ = ["main"]

log = logging.getLogger("corkit_inpaint")


def _err(msg: str) -> None:
    print(f"corkit-inpaint: error: {msg}", file=sys.stderr)


def _file_err(src, exc: Exception) -> None:
    """One line naming the file and the reason (the reason often names it already)."""
    msg = str(exc)
    _err(msg if str(src) in msg else f"{src}: {msg}")


def _plot(src: Path, hdul, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from .fitsio import read_level05
    before, _ = read_level05(src)
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
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=90)
    plt.close(fig)


def _same(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def cmd_fill(args) -> int:
    from tqdm import tqdm
    from . import inpaint_fits
    from .fitsio import InputError
    from .weights import WeightsError
    srcs = [Path(s) for s in args.src]
    if args.output and len(srcs) != 1:
        _err("-o/--output takes exactly one SRC; use --outdir for several")
        return 2
    failed = 0
    for src in tqdm(srcs, desc="filling", unit="file", disable=len(srcs) < 2 or args.quiet):
        dst = Path(args.output) if args.output else Path(args.outdir) / src.name
        try:
            if _same(src, dst):
                raise InputError(f"{src}: output {dst} is the input file; refusing to overwrite it")
            hdul = inpaint_fits(src, dst, method=args.method, device=args.device,
                                weights=args.weights, overwrite=args.overwrite)
            h = hdul[0].header
            log.info("%s -> %s: %d blocks, %d px, %s on %s", src, dst, h["INPNBLK"], h["INPNPIX"],
                     h["INPAINT"], h["INPDEV"])
            if args.plot:
                png = Path(args.plot)
                if len(srcs) > 1:
                    png = png.with_name(f"{png.stem}_{src.stem}{png.suffix or '.png'}")
                _plot(src, hdul, png)
        except (InputError, WeightsError, ValueError, OSError) as exc:
            failed += 1
            _file_err(src, exc)
    return 1 if failed else 0


def cmd_weights(args) -> int:
    from . import weights as W
    try:
        if args.action == "list":
            reg = W.registry()
            for name, e in reg["models"].items():
                star = "*" if name == reg["default"] else " "
                print(f"{star} {name:24s} {e['file']:28s} {e['size']:>10d} B  sha256 {e['sha256'][:16]}  {e['description']}")
        elif args.action == "fetch":
            w = W.fetch(args.name, progress=not args.quiet)
            print(w.path)
        elif args.action == "path":
            print(W.resolve_weights(args.name, download=False).path)
        elif args.action == "verify":
            res = W.verify_cache()
            if not res:
                print(f"no cached weights in {W.cache_dir()}")
            bad = [p for _, p, ok in res if not ok]
            for name, p, ok in res:
                print(f"{'OK ' if ok else 'BAD'} {name} {p}")
            if bad:
                _err(f"{len(bad)} cached file(s) do not match the registry: {', '.join(map(str, bad))}")
                return 1
        elif args.action == "clear":
            d = W.cache_dir()
            if d.is_dir():
                shutil.rmtree(d)
            print(f"cleared {d}")
    except (W.WeightsError, OSError) as exc:
        _err(str(exc))
        return 1
    return 0


def cmd_train(args) -> int:
    import dataclasses
    from .train import TrainConfig, build_dataset, train
    cfg = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        v = getattr(args, f.name, None)
        if v is not None:
            setattr(cfg, f.name, tuple(v) if f.name == "widths" else v)
    data = build_dataset(cfg, workers=args.workers, progress=not args.quiet)
    path = train(cfg, args.out, data=data, resume=not args.restart, progress=not args.quiet,
                 device=args.device, time_limit=args.time_limit)
    print(path)
    return 0


def cmd_level1(args) -> int:
    from tqdm import tqdm
    from .fitsio import InputError
    from .level1 import CalibrationError, level_1
    from .weights import WeightsError
    inpaint = None if args.inpaint.lower() == "none" else args.inpaint
    if args.calib_dir and not Path(args.calib_dir).is_dir():
        _err(f"--calib-dir {args.calib_dir}: no such folder")
        return 2
    failed = 0
    for src in tqdm(args.src, desc="level 1", unit="file", disable=args.quiet):
        try:
            level_1(src, args.output, inpaint=inpaint, device=args.device, weights=args.weights,
                    calib_dir=args.calib_dir)
        except (InputError, CalibrationError, WeightsError, ValueError, OSError) as exc:
            failed += 1
            _file_err(src, exc)
    return 1 if failed else 0


def cmd_evaluate(args) -> int:
    from .evaluate import main_evaluate
    return main_evaluate(args)


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .synthetic import GENERATOR_VERSION, VERSIONS
    p = argparse.ArgumentParser(prog="corkit-inpaint",
                                description="Fill missing 32x32 telemetry blocks in LASCO level-0.5 FITS files.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    f = sub.add_parser("fill", help="fill missing blocks in level-0.5 FITS files",
                       description="Fill missing blocks; writes the filled image, provenance keywords and an INPMASK extension.")
    f.add_argument("src", nargs="+", metavar="SRC", help="level-0.5 FITS file(s); never modified")
    g = f.add_mutually_exclusive_group(required=True)
    g.add_argument("-o", "--output", metavar="OUT", help="output file (one SRC)")
    g.add_argument("--outdir", metavar="DIR", help="output folder (same file names)")
    f.add_argument("--method", default="pconv", help="fill method (default: pconv)")
    f.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default: auto)")
    f.add_argument("--weights", default=None, help="model name or weights file (default model if omitted)")
    f.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    f.add_argument("--plot", metavar="PNG", help="write a before/after/mask picture")
    f.set_defaults(func=cmd_fill)

    lv = sub.add_parser("level_1", help="CorKit level-1 calibration with missing blocks filled first",
                        description="Fill missing blocks on the level-0.5 grid, then run corkit's level_1; "
                                    "writes DIR/<name>.fits with provenance and an INPMASK extension.")
    lv.add_argument("src", nargs="+", metavar="SRC", help="LASCO C2/C3 level-0.5 files; never modified")
    lv.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    lv.add_argument("--inpaint", default="pconv", metavar="NAME", help="fill method, or 'none' (default: pconv)")
    lv.add_argument("--calib-dir", metavar="DIR", help="corkit calibration folder (default: corkit's own)")
    lv.add_argument("--device", default="auto", help="auto, cpu, cuda, mps (default: auto)")
    lv.add_argument("--weights", default=None, help="model name or weights file")
    lv.set_defaults(func=cmd_level1)

    w = sub.add_parser("weights", help="list, fetch, verify, locate or clear model weights")
    w.add_argument("action", choices=["list", "fetch", "verify", "path", "clear"])
    w.add_argument("name", nargs="?", default=None, help="model name (default model if omitted)")
    w.set_defaults(func=cmd_weights)

    t = sub.add_parser("train", help="train the partial-convolution UNet on synthetic frames")
    t.add_argument("--out", required=True, help="output folder (checkpoint, model.pt, config.json)")
    t.add_argument("--steps", type=int)
    t.add_argument("--frames", type=int)
    t.add_argument("--batch", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--stages", type=int)
    t.add_argument("--widths", type=int, nargs="+")
    t.add_argument("--extra-channels", type=int, dest="extra_channels",
                   help="guides the model reads: 2 (biharmonic, radial) or 3 (+ azimuthal, the default)")
    t.add_argument("--w-hole-l2", type=float, dest="w_hole_l2", help="weight of the squared hole error (default 0)")
    t.add_argument("--init", help="weights file or registry name to start from (fine-tuning)")
    t.add_argument("--first-frame-seed", type=int, dest="first_frame_seed",
                   help="seed of the first simulated frame (frames use consecutive seeds)")
    t.add_argument("--generator-version", dest="generator_version", choices=VERSIONS,
                   help=f"synthetic generator version (default {GENERATOR_VERSION})")
    t.add_argument("--threads", type=int)
    t.add_argument("--vgg", help="VGG19 weights file (torchvision vgg19 state dict) to add perceptual and style terms")
    t.add_argument("--workers", type=int, default=1, help="processes simulating frames")
    t.add_argument("--device", default="cpu")
    t.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="blank valid blocks in real files and score fill methods")
    e.add_argument("files", nargs="*", metavar="FILES")
    e.add_argument("--methods", default="pconv,biharmonic,telea")
    e.add_argument("--synthetic", type=int, default=0, metavar="N", help="also score N held-out synthetic frames")
    e.add_argument("--generator-version", dest="generator_version", choices=VERSIONS, default=GENERATOR_VERSION,
                   help=f"synthetic generator version for --synthetic (default {GENERATOR_VERSION})")
    e.add_argument("--seed", type=int, default=12345)
    e.add_argument("--repeats", type=int, default=8, help="masks per pattern per file")
    e.add_argument("--json", metavar="OUT")
    e.add_argument("--plot", metavar="PNG")
    e.add_argument("--device", default="auto")
    e.add_argument("--weights", default=None)
    e.set_defaults(func=cmd_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s")
    if args.command == "train" and args.vgg and not Path(args.vgg).is_file():
        parser.error(f"--vgg {args.vgg}: no such file")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
