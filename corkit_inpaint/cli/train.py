"""``corkit-inpaint train``: train the partial-convolution UNet on simulated frames.

Writes checkpoint.pt (resumable), model.pt and config.json into --out. The
options are generated from the fields of `TrainConfig`. Exit status: 0 when the
run has all its steps, 3 when ``--time-limit`` stopped it first (rerun the command,
without ``--restart``, to go on from its checkpoint), 2 for an option out of range, 1
for an input that cannot serve (a parent, checkpoint, device, output folder or data
set that cannot be used, or that does not match).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

__all__ = ["NAME", "add_arguments", "run", "config_from_args"]

NAME = "train"


def _add_config_options(t: argparse.ArgumentParser) -> None:
    """One ``--field-name`` option per `TrainConfig` field, typed by its default, help from its metadata."""
    from ..training.config import TrainConfig
    from ..training.sequence import SEQUENCE_VERSIONS
    from ..training.simulator import VERSIONS
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        default = f.default
        kw = {"dest": f.name, "default": None, "help": f"{meta['help']} (default: {default})"}
        if "nargs" in meta:
            kw.update(nargs=meta["nargs"], type=type(default[0]))
        elif isinstance(default, bool):
            kw["action"] = "store_true"
        elif f.name == "generator_version":
            kw.update(choices=VERSIONS)
        elif f.name == "sequence_version":
            kw.update(choices=SEQUENCE_VERSIONS)
        elif "choices" in meta:
            kw.update(choices=meta["choices"])
        elif default is not None:
            kw["type"] = type(default)
        t.add_argument("--" + f.name.replace("_", "-"), **kw)


def add_arguments(t: argparse.ArgumentParser) -> None:
    """The options of ``train``: one per `TrainConfig` field, and the run's own."""
    t.add_argument("--out", required=True, help="output folder (checkpoint, model.pt, config.json)")
    _add_config_options(t)
    t.add_argument("--workers", type=int, default=1, help="processes simulating frames (default: 1)")
    t.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    t.add_argument("--time-limit", type=float, default=None,
                   help="stop after this many seconds of training, with a checkpoint (exit 3: rerun to go on)")
    t.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")


def config_from_args(args: argparse.Namespace):
    """A `TrainConfig` with the options given on the command line."""
    from ..training.config import TrainConfig
    cfg = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        v = getattr(args, f.name, None)
        if v is not None:
            setattr(cfg, f.name, tuple(v) if isinstance(f.default, tuple) else v)
    return cfg


def run(args: argparse.Namespace) -> int:
    """Check everything, build the data set and train; prints the weights file."""
    import json
    import math

    from ..exceptions import CorkitInpaintError
    from ..training.loop import train
    from .common import err
    for opt in ("vgg", "init"):            # battery s36: "" was taken for none, in silence
        if getattr(args, opt, None) is not None and not str(getattr(args, opt)).strip():
            err(f"--{opt}: give a file (or leave the option out)")
            return 2
    if args.vgg and not Path(args.vgg).is_file():
        err(f"--vgg {args.vgg}: {'is a folder' if Path(args.vgg).is_dir() else 'no such file'}")
        return 2
    if not str(args.out).strip():           # battery s36: "" trained into the current folder
        err("--out: give a folder name")
        return 2
    most = 4 * (os.cpu_count() or 1)         # battery s36: 10000 were all started at once, even for 2 frames
    if not 1 <= args.workers <= most:
        err(f"--workers {args.workers}: give 1 to {most} processes (4 per core of this machine)")
        return 2
    if args.time_limit is not None and not (math.isfinite(args.time_limit) and args.time_limit > 0):
        err(f"--time-limit {args.time_limit}: give a number of seconds > 0")
        return 2
    if getattr(args, "alone_share", None) is not None and not args.sequences:
        err("--alone-share is the share of simulated sequences without a neighbour: it needs --sequences")
        return 2
    cfg = config_from_args(args)
    try:
        cfg.check()
    except ValueError as exc:
        err(f"train: {exc}")
        return 2
    try:          # train refuses what it can before the data: simulating them takes minutes at full size
        path = train(cfg, args.out, workers=args.workers, resume=not args.restart, progress=not args.quiet,
                     device=args.device, time_limit=args.time_limit)
    except (CorkitInpaintError, ValueError) as exc:
        err(str(exc) if isinstance(exc, CorkitInpaintError) else f"train: {exc}")
        return 1
    print(path)
    done = json.loads((Path(args.out) / "config.json").read_text())["steps_done"]
    if done < cfg.steps:
        err(f"stopped by --time-limit at step {done} of {cfg.steps}: {Path(args.out) / 'checkpoint.pt'} holds it; "
            f"run the same command{' without --restart' if args.restart else ''} again to go on")
        return 3
    return 0
