"""Train a fill network's spread head: the fill frozen, its misses' Laplace likelihood, then a 68.27% calibration.

The network (``--init``, the default model by default) is copied with a
`corkit_inpaint.network.spread.SpreadHead` added. Only the head learns: the
fill is the same bit for bit. Its data are simulated sequences made as the
network's own last training stage made them (`corkit_inpaint.training.dataset`),
with other seeds, and single simulated frames without neighbours
(``--single``: the fill alone is what most archive frames get). The head first learns a Laplace scale ``b`` per pixel
(`corkit_inpaint.training.losses.laplace.laplace_nll`); then, on held-out
frames, the 68.27% quantile of ``|truth - fill| / b`` is measured and folded
into the head's last bias, so the head gives the 68.27% half-width.

Usage::

    python -m corkit_inpaint.training.spread --out runs/spread [--init pconv-lasco-nb2] [--frames 300] ...
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from ..exceptions import CorkitInpaintError, InputError
from ..network.unet import PConvUNet
from ..network.weights import WEIGHTS_FORMAT, network_kwargs, read_weights_file, resolve_weights
from ..provenance import source_provenance
from ..tempfiles import write_text_atomic
from .config import TrainConfig
from .dataset import build_dataset
from .finetune import init_from
from .loop import batch_tensors, check_place, save_torch
from .losses.laplace import laplace_nll

__all__ = ["train_spread", "QUANTILE", "SINGLE_SEEDS", "main"]

log = logging.getLogger(__name__)

#: Single frames' seeds start this far after the sequences' first seed.
SINGLE_SEEDS = 500_000
#: The share of a Gaussian within 1 sigma: the head gives this quantile of the miss.
QUANTILE = math.erf(1 / math.sqrt(2))


def _model_with_head(init: str, width: int) -> tuple[PConvUNet, str]:
    """``init``'s network with a fresh spread head of ``width``, all but the head frozen; and its sha256."""
    w = resolve_weights(init)
    blob = read_weights_file(w.path, sha256=w.sha256)
    model = PConvUNet(**{**network_kwargs(blob["model_config"]), "sigma_head": width})
    if any(k.startswith("spread_head.") for k in blob["state_dict"]):
        raise ValueError(f"{init} already has a spread head: give the network without one")
    sha = init_from(model, init)                # the fill's tensors; the head keeps its fresh start
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith("spread_head."))
    return model.eval(), sha


def _misses(model: PConvUNet, data: dict, idx: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """|truth - fill| and the head's scale over the hole pixels of samples ``idx``."""
    miss, scale = [], []
    with torch.inference_mode():
        for k in range(0, len(idx), batch):
            b = batch_tensors(data, idx[k:k + batch], False, "cpu")
            outs, log_b = model(b["image"] * b["valid"], b["valid"], b["guides"], spread=True)
            h = b["hole"] > 0
            miss.append((b["truth"] - outs[-1]).abs()[h].numpy())
            scale.append(torch.exp(log_b)[h].numpy())
    return np.concatenate(miss), np.concatenate(scale)


def _data(cfg: TrainConfig, single: int, held_out: float, workers: int, progress: bool):
    """The samples of ``cfg``'s sequences and of ``single`` single frames, and which are fitted and held out.

    The last ``held_out`` share of each part's samples (its last frames') is held out.
    """
    parts = [build_dataset(cfg, workers=workers, progress=progress)]
    if single:
        parts.append(build_dataset(replace(cfg, sequences=False, frames=single,
                                           first_frame_seed=cfg.first_frame_seed + SINGLE_SEEDS),
                                   workers=workers, progress=progress))
    fit, held, start = [], [], 0
    for part in parts:
        n = len(part["noise"])
        k = int(round(n * (1 - held_out)))
        if k < 1 or k >= n:
            raise ValueError(f"{n} samples cannot be split {1 - held_out:.0%} / {held_out:.0%}")
        fit.append(np.arange(start, start + k))
        held.append(np.arange(start + k, start + n))
        start += n
    data = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return data, np.concatenate(fit), np.concatenate(held)


def _fit_head(model: PConvUNet, data: dict, fit: np.ndarray, cfg: TrainConfig, progress: bool) -> list[float]:
    """Adam on the head's parameters alone, over batches of samples ``fit``; the loss per step."""
    from tqdm import tqdm
    head = model.spread_head
    opt = torch.optim.Adam(head.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (cfg.lr_final / cfg.lr) ** min(s / max(cfg.steps, 1), 1))
    rng = np.random.default_rng(cfg.seed)
    history = []
    for _ in tqdm(range(cfg.steps), disable=not progress, desc="spread head"):
        b = batch_tensors(data, fit[rng.integers(0, len(fit), cfg.batch)], bool(rng.random() < 0.5), "cpu")
        outs, log_b = model(b["image"] * b["valid"], b["valid"], b["guides"], spread=True)
        loss = laplace_nll(outs[-1].detach(), log_b, b["truth"], b["hole"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(head.parameters(), cfg.clip)
        opt.step()
        sched.step()
        history.append(loss.item())
    return history


def _fold(model: PConvUNet, data: dict, held: np.ndarray, batch: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Fold the 68.27% quantile ``q`` of |miss| / b on samples ``held`` into the head's last bias.

    Returns ``q`` and, after the fold, the misses and half-widths on those samples.
    """
    miss, scale = _misses(model, data, held, batch)
    q = float(np.quantile(miss / scale, QUANTILE))
    with torch.no_grad():                       # the head now gives the 68.27% half-width
        model.spread_head.body[-1].bias += math.log(q)
    miss, scale = _misses(model, data, held, batch)
    return q, miss, scale


def train_spread(cfg: TrainConfig, out_dir: str | os.PathLike, *, init: str | None = None, width: int = 16,
                 single: int = 0, held_out: float = 0.15, workers: int = 1, progress: bool = True) -> Path:
    """Train and calibrate the spread head of ``init``; write ``model.pt`` and ``config.json`` into ``out_dir``.

    Parameters
    ----------
    cfg : TrainConfig
        The data (``frames``, ``first_frame_seed``, ``sequences``...), ``steps``, ``batch``,
        ``lr``, ``lr_final``, ``clip``, ``seed`` and ``threads``; the network's own fields are
        taken from ``init``.
    out_dir : path-like
    init : str, optional
        Registry name or weights file of the network (default: the default model).
    single : int
        Single simulated frames (no neighbours, `corkit_inpaint.training.simulator`, seeds from
        ``cfg.first_frame_seed + SINGLE_SEEDS``) added to ``cfg``'s sequences.
    width : int
        The head's hidden width.
    held_out : float
        Share of the samples (the last frames' ones) kept out of training to calibrate the head.
    workers : int
        Processes simulating frames.
    progress : bool
        Show progress bars.

    Returns
    -------
    pathlib.Path
        The weights file: ``init``'s network and the head.
    """
    cfg.check()
    out = Path(out_dir)
    init = init or resolve_weights(None).name
    check_place(out, "cpu", replace(cfg, init=init, vgg=None))     # a folder, and not where the network is
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot be made a folder ({exc.strerror or exc})") from None
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    model, sha = _model_with_head(init, width)
    data, fit, held = _data(cfg, single, held_out, workers, progress)
    history = _fit_head(model, data, fit, cfg, progress)
    q, miss, scale = _fold(model, data, held, cfg.batch)
    weights = out / "model.pt"
    save_torch({"format": WEIGHTS_FORMAT, "model_config": model.config,
                 "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}}, weights)
    meta = {"what": "spread head trained on a frozen network (corkit_inpaint.training.spread)",
            "init": init, "init_sha256": sha, "head_width": width, "config": asdict(cfg),
            "model_config": model.config, "steps_done": cfg.steps, "single_frames": single,
            "single_first_seed": cfg.first_frame_seed + SINGLE_SEEDS if single else None,
            "samples": len(fit) + len(held), "held_out_samples": len(held),
            "held_out": held_out, "laplace_to_q68": q,
            "held_out_note": "the last held_out share of each part's crops (by index, so the boundary frame can "
                             "have crops on both sides); the shares within 1 and 1.96 sigma are on those same "
                             "crops, after the fold: a check of the fold, not a validation",
            "held_out_share_within_1sigma": float(np.mean(miss <= scale)),
            "held_out_share_within_1.96sigma": float(np.mean(miss <= 1.96 * scale)),
            "wall_seconds": time.perf_counter() - t0, "device": "cpu", "torch": torch.__version__,
            **source_provenance(),      # the code that simulated the data and trained the head
            "final_loss_mean_last100": float(np.mean(history[-100:])) if history else None,
            "history_every_100": history[::100]}
    write_text_atomic(out / "config.json", json.dumps(meta, indent=1))
    log.info("spread head: Laplace scale x %.3f is the 68.27%% half-width; held out: %.1f%% within 1 sigma",
             q, 100 * meta["held_out_share_within_1sigma"])
    return weights


def main(argv=None) -> int:
    """The command line (see the module)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder (model.pt, config.json)")
    ap.add_argument("--init", default=None, help="the network (registry name or file; default: the default model)")
    ap.add_argument("--width", type=int, default=16, help="the head's hidden width (default: 16)")
    ap.add_argument("--frames", type=int, default=300, help="simulated sequences (default: 300)")
    ap.add_argument("--first-frame-seed", type=int, default=8_000_000, help="seed of the first (default: 8000000)")
    ap.add_argument("--single", type=int, default=150,
                    help=f"single simulated frames added, seeds from the first + {SINGLE_SEEDS} (default: 150)")
    ap.add_argument("--steps", type=int, default=3000, help="optimiser steps (default: 3000)")
    ap.add_argument("--lr", type=float, default=1e-3, help="initial learning rate (default: 1e-3)")
    ap.add_argument("--held-out", type=float, default=0.15, help="share of samples for the calibration (0.15)")
    ap.add_argument("--workers", type=int, default=1, help="processes simulating frames (default: 1)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not 0 < args.held_out < 1 or args.workers < 1 or args.width < 1 or args.single < 0:
        ap.error("--held-out must be in (0, 1), --workers and --width >= 1, --single >= 0")
    try:
        w = resolve_weights(args.init)
        base = read_weights_file(w.path, sha256=w.sha256)["model_config"]
        cfg = TrainConfig(frames=args.frames, first_frame_seed=args.first_frame_seed, steps=args.steps, lr=args.lr,
                          lr_final=args.lr / 10, threads=args.threads, sequences=True,
                          extra_channels=base["extra_channels"], base_guide=base.get("base", 0),
                          step=base.get("step", "scale"))
        cfg.check()
        path = train_spread(cfg, args.out, init=args.init, width=args.width, single=args.single,
                            held_out=args.held_out, workers=args.workers, progress=not args.quiet)
    except (CorkitInpaintError, ValueError) as exc:     # one line, as the package's commands give
        print(f"corkit_inpaint.training.spread: error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
