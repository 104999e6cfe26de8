"""``corkit-inpaint train``: train the partial-convolution UNet on simulated frames.

Writes checkpoint.pt (resumable), model.pt and config.json into --out. The
options are generated from the fields of `TrainConfig`.
"""

from __future__ import annotations

import argparse
import dataclasses
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
        if not meta.get("cli", True):
            continue
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
    t.add_argument("--time-limit", type=float, default=None, help="stop after this many seconds")
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
    """Build the data set and train; prints the weights file."""
    from ..training.dataset import build_dataset
    from ..training.loop import train
    from .common import err
    if args.vgg and not Path(args.vgg).is_file():
        err(f"--vgg {args.vgg}: no such file")
        return 2
    cfg = config_from_args(args)
    try:
        cfg.check()
    except ValueError as exc:
        err(f"train: {exc}")
        return 2
    data = build_dataset(cfg, workers=args.workers, progress=not args.quiet)
    path = train(cfg, args.out, data=data, resume=not args.restart, progress=not args.quiet,
                 device=args.device, time_limit=args.time_limit)
    print(path)
    return 0
