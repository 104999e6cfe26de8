"""The training loop: Adam with gradient clipping, fixed seeds, resumable checkpoints.

Checkpoints hold tensors and plain data only and are read with
``torch.load(weights_only=True)``: resuming never executes code from the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from ..exceptions import InputError, WeightsError, first_line
from ..network.registry import sha256sum
from ..network.unet import PConvUNet
from ..network.weights import WEIGHTS_FORMAT, load_failure, load_tensors, resolve_weights
from ..provenance import source_provenance
from ..tempfiles import removed_on_sigterm, write_text_atomic
from .config import TrainConfig
from .dataset import build_dataset
from .finetune import init_from, zero_heads
from .losses import compute_losses
from .losses.perceptual import VGGFeatures
from .place import check_place

__all__ = ["train", "check_run", "check_place", "load_checkpoint", "batch_tensors", "save_torch", "source_provenance"]

log = logging.getLogger(__name__)

_BATCH_KEYS = ("image", "valid", "guides", "truth", "hole", "noise", "texture")


def save_torch(obj: dict, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it into place.

    Parameters
    ----------
    obj : dict
        Tensors and plain data (what ``torch.load(weights_only=True)`` reads back).
    path : pathlib.Path
        The destination.
    """
    # a fixed temporary name, not `tempfiles.write_through_temp`'s random one: torch.save names the archive's
    # records after the file, so a random name would make the same weights different bytes each run
    tmp = path.with_name(f".{path.name}.tmp")
    with removed_on_sigterm("a training write", WeightsError(f"{path}: interrupted while it was written")):
        try:
            torch.save(obj, tmp)
            os.replace(tmp, path)
        except BaseException as exc:    # a failed or interrupted write (SIGTERM too) leaves no temporary behind
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(exc, (OSError, RuntimeError)) and not isinstance(exc, WeightsError):
                raise WeightsError(f"{path}: could not be written ({first_line(exc)})") from None
            raise


def load_checkpoint(path: str | os.PathLike, device: str = "cpu") -> dict:
    """Read a training checkpoint without executing code (tensors and plain data only).

    Raises
    ------
    WeightsError
        The file is not a checkpoint this package wrote.
    """
    try:
        state = load_tensors(path, device)
    except Exception as exc:
        raise WeightsError(f"{path}: not a loadable checkpoint ({load_failure(exc)})") from None
    need = {"model", "opt", "sched", "step", "history", "wall", "rng", "torch_rng"}
    if not isinstance(state, dict) or not need <= set(state):
        raise WeightsError(f"{path}: not a corkit-inpaint training checkpoint")
    return state


def batch_tensors(data: dict, idx, flip: bool, device: str) -> dict:
    """Samples ``idx`` of a dataset as tensors on ``device``.

    Parameters
    ----------
    data : dict of numpy.ndarray
        A `corkit_inpaint.training.dataset.build_dataset` result.
    idx : array-like of int
        The samples.
    flip : bool
        Transpose every image (rays and rows in other orientations).
    device : str
        A torch device.

    Returns
    -------
    dict of torch.Tensor
        ``image``, ``valid``, ``truth``, ``hole``, ``texture`` as ``(N, 1, H, W)``, ``guides`` as
        ``(N, C, H, W)``, ``noise`` as ``(N,)``; ``valid``, ``hole`` and ``noise`` float.
    """
    b = {k: torch.from_numpy(np.ascontiguousarray(data[k][idx])).to(device) for k in _BATCH_KEYS}
    for k in ("image", "valid", "truth", "hole", "texture"):
        b[k] = b[k][:, None]
    b["valid"], b["hole"], b["noise"] = b["valid"].float(), b["hole"].float(), b["noise"].float()
    if flip:   # transpose: rays and rows in other orientations
        for k in ("image", "valid", "guides", "truth", "hole", "texture"):
            b[k] = b[k].transpose(-1, -2)
    return b


def _model(cfg: TrainConfig) -> PConvUNet:
    return PConvUNet(stages=cfg.stages, widths=tuple(cfg.widths), ring=cfg.ring, extra_channels=cfg.extra_channels,
                     base=cfg.base_guide, step=cfg.step, arch=cfg.arch)


#: Settings added after checkpoints were written, and the value every run before them had.
ADDED_LATER = {"alone_share": 0.12, "pylon_masks": 0.0, "change_masks": 0.0}


def _check_settings(state: dict, cfg: TrainConfig, ck: Path, device: str = "cpu") -> None:
    """Refuse to resume checkpoint ``ck`` (its ``state``) under settings other than those it was trained with.

    Every field of `TrainConfig` decides the weights (``threads`` too, in the last bits), so a run resumed
    with other settings could not be remade from the settings it records; so does the kind of ``device`` (a
    checkpoint that records one: cpu, cuda...). The parent (``init``) and the VGG
    file are compared by their bytes' sha256, not their names.
    """
    saved = state.get("config")
    if not isinstance(saved, dict):
        raise WeightsError(f"{ck}: the checkpoint records no settings, so it cannot be resumed as this run "
                           "(--restart starts it again)")
    saved = {**ADDED_LATER, **saved}
    now = asdict(cfg)
    now["init_sha256"] = resolve_weights(cfg.init).sha256 if cfg.init else None
    if cfg.init_sha256 and cfg.init_sha256.lower() != now["init_sha256"]:     # the pin, as a fresh run checks it
        raise WeightsError(f"--init {cfg.init}: its sha256 is {now['init_sha256'][:16]}..., not the --init-sha256 "
                           f"{cfg.init_sha256[:16]}... given (the parent changed)")
    norm = lambda v: list(v) if isinstance(v, (tuple, list)) else v
    by_bytes = "vgg_sha256" in state and bool(cfg.vgg)        # both have a VGG file: compare its bytes
    skip = {"init"} | ({"vgg"} if by_bytes else set())
    diffs = [f"{k} {norm(saved.get(k))!r} -> {norm(v)!r}" for k, v in now.items()
             if k not in skip and norm(saved.get(k)) != norm(v)]
    if by_bytes and state["vgg_sha256"] != sha256sum(cfg.vgg):
        diffs.append("the --vgg file's bytes")
    if "device" in state and state["device"] != torch.device(device).type:    # its arithmetic: other last bits
        diffs.append(f"device {state['device']!r} -> {torch.device(device).type!r}")
    if diffs:
        raise WeightsError(f"{ck.parent}: holds a run with other settings ({'; '.join(diffs[:4])}"
                           f"{'; ...' if len(diffs) > 4 else ''}): give its settings to resume it, --restart to "
                           "start it again, or another --out")


def check_run(cfg: TrainConfig, out: str | os.PathLike, *, resume: bool = True, device: str = "cpu") -> None:
    """Everything a run can be refused for, without its data: what `train` checks before it simulates them.

    Raises
    ------
    ValueError
        A setting outside its bounds (`TrainConfig.check`), or an ``init`` whose tensors do not fit.
    InputError
        ``out`` is a file, or a folder that cannot be made or written in, or ``device`` is not one torch has
        here.
    WeightsError
        ``init`` or ``vgg`` missing or not a weights file, an ``init`` whose sha256 is not ``init_sha256``,
        or a checkpoint in ``out`` (with ``resume``) that is unreadable or was trained with other settings.
    """
    cfg.check()
    check_place(Path(out), device, cfg)
    _Run(cfg, Path(out), device, resume)


class _Run:
    """A training run's model, optimiser, schedule and random state, resumable from a checkpoint."""

    def __init__(self, cfg: TrainConfig, out: Path, device: str, resume: bool) -> None:
        self.cfg, self.out, self.device = cfg, out, device
        self.model = _model(cfg).to(device)
        self.ck = out / "checkpoint.pt"
        if resume and not self.ck.exists():        # a run writes its checkpoint before them: these are another's
            other = next((n for n in ("model.pt", "config.json") if (out / n).exists()), None)
            if other:
                raise InputError(f"--out {out}: holds a {other} but no checkpoint.pt of a training run to resume; "
                                 "give another --out, or --restart to replace it")
        state = load_checkpoint(self.ck, device) if resume and self.ck.exists() else None
        if state is not None:
            _check_settings(state, cfg, self.ck, device)
        if cfg.init and state is None:
            cfg.init_sha256 = init_from(self.model, cfg.init, expect=cfg.init_sha256)
        if cfg.zero_head and state is None:
            zero_heads(self.model)
        self.vgg = VGGFeatures(cfg.vgg).to(device) if cfg.vgg else None
        self.vgg_sha256 = sha256sum(cfg.vgg) if cfg.vgg else None
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: (cfg.lr_final / cfg.lr) ** min(s / max(cfg.steps, 1), 1.0))
        self.step, self.history, self.wall = 0, [], 0.0
        self.rng = np.random.default_rng(cfg.seed)
        self.t0 = time.perf_counter()
        if state is not None:
            self._resume(state)

    def _resume(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.sched.load_state_dict(state["sched"])
        self.step, self.history, self.wall = state["step"], state["history"], state["wall"]
        self.cfg.init_sha256 = state.get("config", {}).get("init_sha256", self.cfg.init_sha256)
        self.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"].cpu())       # read onto --device with the rest: the CPU's own
        dev = torch.device(self.device)
        if dev.type == "cuda" and "cuda_rng" in state:       # teacher forcing and the VAE's latent draw on it
            torch.cuda.set_rng_state(state["cuda_rng"].cpu(), dev)
        log.info("resumed at step %d", self.step)

    def start_clock(self) -> None:
        """Count this session's time from now (after the data are built)."""
        self.t0 = time.perf_counter()

    def elapsed(self) -> float:
        return self.wall + time.perf_counter() - self.t0

    def save(self) -> None:
        save_torch({"model": self.model.state_dict(), "opt": self.opt.state_dict(),
                     "sched": self.sched.state_dict(), "step": self.step, "history": self.history,
                     "wall": self.elapsed(), "rng": self.rng.bit_generator.state,
                     "torch_rng": torch.get_rng_state(), "config": asdict(self.cfg),
                     "device": torch.device(self.device).type, **self._device_rng(),
                     **({"vgg_sha256": self.vgg_sha256} if self.vgg_sha256 else {})}, self.ck)

    def _device_rng(self) -> dict:
        """The random state of a CUDA ``device`` (``{"cuda_rng": ...}``), which teacher forcing draws from; {} else."""
        dev = torch.device(self.device)
        return {"cuda_rng": torch.cuda.get_rng_state(dev)} if dev.type == "cuda" else {}

    def one_step(self, data: dict, n: int) -> float:
        cfg = self.cfg
        idx = self.rng.integers(0, n, cfg.batch)
        b = batch_tensors(data, idx, self.rng.random() < 0.5, self.device)
        outs = self.model(b["image"] * b["valid"], b["valid"], b["guides"], teacher=b["truth"],
                          teacher_prob=cfg.teacher_prob)
        loss, terms = compute_losses(outs, b["truth"], b["valid"], b["hole"], b["noise"], b["texture"],
                                     self.model, cfg, self.vgg, guides=b["guides"])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip)
        self.opt.step()
        self.sched.step()
        self.step += 1
        self.history.append([self.step, loss.item()]
                            + [float(terms[k].detach()) for k in ("hole", "ring", "grad", "noise", "kl")
                               if k in terms])
        return loss.item()


def _write_outputs(run: _Run, n: int) -> Path:
    weights = run.out / "model.pt"
    save_torch({"format": WEIGHTS_FORMAT, "model_config": run.model.config,
                 "state_dict": {k: v.detach().cpu().contiguous() for k, v in run.model.state_dict().items()}},
                weights)
    meta = {"config": asdict(run.cfg), "model_config": run.model.config, "model_sha256": sha256sum(weights),
            "steps_done": run.step,
            "complete": run.step >= run.cfg.steps, "samples": n, "wall_seconds": run.elapsed(),
            "device": run.device, "torch": torch.__version__, **_provenance(run),
            "final_loss_mean_last100": float(np.mean([h[1] for h in run.history[-100:]])) if run.history else None,
            "history_every_100": run.history[::100]}
    write_text_atomic(run.out / "config.json", json.dumps(meta, indent=1))
    return weights


def _provenance(run: _Run) -> dict:
    """What else decides the weights: the versions of the code that simulated and trained, the VGG file."""
    return {**source_provenance(), **({"vgg_sha256": run.vgg_sha256} if run.vgg_sha256 else {})}


def train(cfg: TrainConfig, out_dir: str | os.PathLike, *, data: dict | None = None, workers: int = 1,
          resume: bool = True, progress: bool = True, device: str = "cpu",
          checkpoint_every: int = 250, time_limit: float | None = None) -> Path:
    """Train and write ``model.pt`` (a plain state dict) and ``config.json``.

    Parameters
    ----------
    cfg : TrainConfig
    out_dir : path-like
        Folder for the checkpoint (``checkpoint.pt``, resumable), weights and config.
    data : dict, optional
        A dataset from `build_dataset`; built from ``cfg`` when None (after every check of `check_run`).
    workers : int
        Processes simulating the data when they are built here.
    resume : bool
        Continue from ``checkpoint.pt`` when it exists.
    progress : bool
        Show a progress bar.
    device : str
        Torch device.
    checkpoint_every : int
        Steps between checkpoints.
    time_limit : float, optional
        Stop (with a checkpoint) after this many seconds.

    Returns
    -------
    pathlib.Path
        The weights file.
    """
    from tqdm import tqdm
    cfg.check()
    out = Path(out_dir)
    check_place(out, device, cfg)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    run = _Run(cfg, out, device, resume)    # its checkpoint, parent and VGG file: refused before the data
    if data is None:
        data = build_dataset(cfg, workers=workers, progress=progress)
    n = len(data["noise"])
    if n == 0:
        raise ValueError("the dataset is empty")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot be made a folder ({exc.strerror or exc})") from None
    run.start_clock()
    bar = tqdm(total=cfg.steps, initial=run.step, disable=not progress, desc="training")
    while run.step < cfg.steps:
        loss = run.one_step(data, n)
        if not np.isfinite(loss):     # the weights are NaN from here on: keep the last checkpoint, write nothing
            bar.close()
            raise ValueError(f"the loss is {loss} at step {run.step}: the training diverged (a lower --lr or "
                             "--clip); nothing of this session was written")
        bar.update(1)
        if run.step % 20 == 0:
            bar.set_postfix(loss=f"{np.mean([h[1] for h in run.history[-20:]]):.4f}")
        if run.step % checkpoint_every == 0:
            run.save()
        if time_limit is not None and run.elapsed() - run.wall > time_limit:
            log.warning("time limit reached at step %d", run.step)
            break
    bar.close()
    run.save()
    return _write_outputs(run, n)
