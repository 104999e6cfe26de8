"""Train the partial-convolution UNet on synthetic LASCO frames.

Data: `corkit_inpaint.synthetic` frames with `corkit_inpaint.masks` losses;
each loss window is prepared exactly as at inference (`engine.prepare_window`)
and cut into ``crop x crop`` training crops that contain hole pixels.

Losses, in normalised units, summed over the ``L`` stages (teacher forcing:
every stage's output is compared with the truth; earlier stages weigh half):

- ``hole``: L1 inside the missing blocks;
- ``hole_l2`` (weight 0 unless set): squared error inside the missing blocks,
  which the RMSE of the evaluation rewards: where the guides disagree, the
  mean of the plausible fills beats committing to one of them;
- ``ring``: L1 on the ring between successive stage masks;
- ``grad``: L1 between the spatial gradients of fill and truth in the hole;
- ``noise`` (physics-informed): the network predicts the expected value and
  the engine adds white noise with the sigma measured around the hole
  (Poisson + read + compression noise is white at these scales); the term
  asks the high-frequency std of that sum, in the hole, to match the noise
  model, ``(std_hf(fill + noise) / (0.943 sigma) - 1)^2``, so the network
  neither adds spurious structure nor double-counts noise.

Optional perceptual and style (Gram-matrix) terms, as in Liu et al. (2018),
use a VGG19 feature extractor whose weights file the user supplies
(``--vgg PATH``, torchvision's ``vgg19`` state-dict layout). They are off by
default, and the default weights were trained without them, because ImageNet
weights cannot be downloaded here.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import synthetic
from .blocks import find_missing_blocks
from .engine import prepare_window, windows_for
from .masks import PATTERNS, blocks_to_mask, eligible_blocks, loss_mask
from .pconv import PConvUNet, ring_masks
from .stretch import Stretch

__all__ = ["TrainConfig", "build_dataset", "train", "init_from", "VGGFeatures", "vgg19_layers"]

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved beside the weights."""

    seed: int = 20261122
    frames: int = 800
    first_frame_seed: int = 1_000_000
    masks_per_frame: int = 3
    crop: int = 96
    crops_per_window: int = 2
    steps: int = 10000
    batch: int = 16
    lr: float = 1e-3
    lr_final: float = 1e-4
    clip: float = 1.0
    stages: int = 2
    widths: tuple = (32, 48, 64, 96)
    ring: int = 6
    extra_channels: int = 3         # guides used: biharmonic, radial, azimuthal
    init: str | None = None         # weights file to start from (fine-tuning); its sha256 is recorded
    init_sha256: str | None = None
    teacher_prob: float = 0.5
    w_hole: float = 1.0
    w_hole_l2: float = 0.0          # squared error in the hole: the mean, not the median, where the fill is uncertain
    w_ring: float = 1.0
    w_grad: float = 0.5
    w_noise: float = 0.05
    vgg: str | None = None          # VGG19 weights file (torchvision layout) for the optional terms
    w_perceptual: float = 0.05
    w_style: float = 120.0
    threads: int = 2
    generator_version: str = field(default=synthetic.GENERATOR_VERSION)


def _frame_samples(seed: int, cfg: TrainConfig) -> list[dict]:
    img, hdr = synthetic.make_frame(seed, version=cfg.generator_version)
    rng = np.random.default_rng(seed + 7)
    d = img.astype(np.float64)
    elig = eligible_blocks(d, hdr)
    never = np.zeros(d.shape, dtype=bool)
    never[d <= 0] = True
    st = Stretch.from_image(d, ~never, bias=hdr["OFFSET"], exptime=hdr["EXPTIME"])
    s_true = st.forward(d)
    centre = (hdr["CRPIX2"] - 1.0, hdr["CRPIX1"] - 1.0)
    out = []
    for k in range(cfg.masks_per_frame):
        _, blocks = loss_mask(rng, elig, PATTERNS[k % len(PATTERNS)] if k < 2 else None)
        if not blocks:
            continue
        hole = blocks_to_mask(d.shape, blocks)
        valid = ~never & ~hole
        for box in windows_for(hole)[0]:
            try:
                w = prepare_window(s_true, valid, box, centre)
            except ValueError:
                continue
            y0, y1, x0, x1 = box
            truth = ((s_true[y0:y1, x0:x1] - w.centre) / w.scale).astype(np.float32)
            hw = hole[y0:y1, x0:x1]
            ok_truth = ~never[y0:y1, x0:x1]
            c = cfg.crop
            h, wd = hw.shape
            ys, xs = np.nonzero(hw)
            for _ in range(cfg.crops_per_window):
                i = int(rng.integers(len(ys)))
                cy = int(np.clip(ys[i] - c // 2 + rng.integers(-16, 17), 0, max(h - c, 0)))
                cx = int(np.clip(xs[i] - c // 2 + rng.integers(-16, 17), 0, max(wd - c, 0)))
                sl = (slice(cy, cy + c), slice(cx, cx + c))
                if hw[sl].shape != (c, c) or not hw[sl].any():
                    continue
                out.append({"image": w.image[sl], "valid": w.valid[sl], "guides": w.guides[(slice(None),) + sl],
                            "texture": w.texture[sl], "truth": truth[sl], "hole": hw[sl] & ok_truth[sl],
                            "noise": w.noise})
    return out


def build_dataset(cfg: TrainConfig, *, workers: int = 1, progress: bool = True) -> dict[str, np.ndarray]:
    """Simulate frames and cut training crops.

    Returns
    -------
    dict of numpy.ndarray
        ``image, valid, guides, truth, hole, noise`` stacked over samples.
    """
    from tqdm import tqdm
    seeds = [cfg.first_frame_seed + i for i in range(cfg.frames)]
    samples: list[dict] = []
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor
        from functools import partial
        with ProcessPoolExecutor(workers) as ex:
            for r in tqdm(ex.map(partial(_frame_samples, cfg=cfg), seeds, chunksize=4),
                          total=len(seeds), disable=not progress, desc="simulating"):
                samples.extend(r)
    else:
        for s in tqdm(seeds, disable=not progress, desc="simulating"):
            samples.extend(_frame_samples(s, cfg))
    keys = ("image", "valid", "guides", "texture", "truth", "hole", "noise")
    return {k: np.stack([np.asarray(s[k]) for s in samples]) for k in keys}


_VGG19 = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M")


def vgg19_layers() -> torch.nn.Sequential:
    """VGG19's convolutional stack up to the third pooling, indexed like torchvision's."""
    cut = [i for i, v in enumerate(_VGG19) if v == "M"][2]
    layers, cin = [], 3
    for v in _VGG19[:cut + 1]:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2))
        else:
            layers += [torch.nn.Conv2d(cin, v, 3, padding=1), torch.nn.ReLU(inplace=False)]
            cin = v
    return torch.nn.Sequential(*layers)


class VGGFeatures(torch.nn.Module):
    """VGG19 features (pool1..pool3) from a user-supplied weights file.

    The file is a torchvision ``vgg19`` state dict (``features.N.weight`` keys,
    optionally under ``state_dict``), loaded with ``weights_only=True``; layers
    past the third pooling are ignored. ImageNet weights cannot be downloaded here.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__()
        self.features = vgg19_layers()
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state)
        n = len(self.features)
        self.features.load_state_dict({k[len("features."):]: v for k, v in state.items()
                                       if k.startswith("features.") and int(k.split(".")[1]) < n})
        self.taps = [i for i, m in enumerate(self.features) if isinstance(m, torch.nn.MaxPool2d)]
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x.expand(-1, 3, -1, -1)
        out = []
        for i, m in enumerate(self.features):
            x = m(x)
            if i in self.taps:
                out.append(x)
        return out


def _gram(f: torch.Tensor) -> torch.Tensor:
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def perceptual_style(vgg: VGGFeatures, out: torch.Tensor, truth: torch.Tensor, valid: torch.Tensor):
    """Perceptual (feature L1) and style (Gram L1) terms of Liu et al. (2018), on output and composite."""
    comp = valid * truth + (1 - valid) * out
    ft = vgg(truth)
    perc = style = 0.0
    for x in (out, comp):
        for a, b in zip(vgg(x), ft):
            perc = perc + (a - b).abs().mean()
            style = style + (_gram(a) - _gram(b)).abs().mean()
    return perc, style


def _hf(x: torch.Tensor) -> torch.Tensor:
    return x - F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


def compute_losses(outs, truth, valid, hole, noise, texture, model: PConvUNet, cfg: TrainConfig,
                   vgg: VGGFeatures | None = None):
    """Loss terms for a batch (see the module docstring)."""
    masks = ring_masks(valid, model.stages + 1, model.ring)
    terms = {"hole": 0.0, "hole_l2": 0.0, "ring": 0.0, "grad": 0.0, "noise": 0.0}
    hsum = hole.sum().clamp(min=1)
    for l, out in enumerate(outs):
        wl = 1.0 if l == len(outs) - 1 else 0.5
        err = (out - truth).abs()
        terms["hole"] = terms["hole"] + wl * (err * hole).sum() / hsum
        terms["hole_l2"] = terms["hole_l2"] + wl * (err ** 2 * hole).sum() / hsum
        ring = (masks[l + 1] - masks[l]) * hole
        terms["ring"] = terms["ring"] + wl * (err * ring).sum() / ring.sum().clamp(min=1)
        d = out - truth
        gx = (d[..., :, 1:] - d[..., :, :-1]).abs() * hole[..., :, 1:] * hole[..., :, :-1]
        gy = (d[..., 1:, :] - d[..., :-1, :]).abs() * hole[..., 1:, :] * hole[..., :-1, :]
        terms["grad"] = terms["grad"] + wl * (gx.sum() + gy.sum()) / (2 * hsum)
        inner = -F.max_pool2d(-hole, 3, stride=1, padding=1)     # hole pixels away from its edge
        hf = _hf(out + texture * hole) * inner
        n = inner.sum((1, 2, 3)).clamp(min=1)
        std = torch.sqrt((hf ** 2).sum((1, 2, 3)) / n + 1e-12)
        target = 0.943 * noise.view(-1)
        has = (inner.sum((1, 2, 3)) > 8).float()
        terms["noise"] = terms["noise"] + wl * ((std / target.clamp(min=1e-6) - 1) ** 2 * has).sum() / has.sum().clamp(min=1)
    total = (cfg.w_hole * terms["hole"] + cfg.w_hole_l2 * terms["hole_l2"] + cfg.w_ring * terms["ring"]
             + cfg.w_grad * terms["grad"] + cfg.w_noise * terms["noise"])
    if vgg is not None:
        terms["perceptual"], terms["style"] = perceptual_style(vgg, outs[-1], truth, valid)
        total = total + cfg.w_perceptual * terms["perceptual"] + cfg.w_style * terms["style"]
    return total, terms


def init_from(model: PConvUNet, path: str | os.PathLike) -> str:
    """Start ``model`` from a weights file or registry name, for fine-tuning; returns its sha256.

    Tensors of equal shape are copied. A tensor the file has with fewer input
    channels (a model trained with fewer guides) is copied into the first ones
    and the new input channels start at zero, so the new guide is ignored at
    first and the network starts from what the file's model does.
    """
    from .weights import read_weights_file, resolve_weights
    w = resolve_weights(path)
    blob = read_weights_file(w.path)
    own = model.state_dict()
    for k, v in blob["state_dict"].items():
        if k not in own:
            raise ValueError(f"{path}: tensor {k!r} does not fit this architecture")
        t = own[k]
        if t.shape == v.shape:
            t.copy_(v)
        elif t.ndim == v.ndim and t.ndim > 1 and t.shape[0] == v.shape[0] and t.shape[2:] == v.shape[2:] \
                and t.shape[1] > v.shape[1]:
            t.zero_()
            t[:, :v.shape[1]] = v
        else:
            raise ValueError(f"{path}: tensor {k!r} has shape {tuple(v.shape)}, this model {tuple(t.shape)}")
    model.load_state_dict(own)
    return w.sha256


def train(cfg: TrainConfig, out_dir: str | os.PathLike, *, data: dict | None = None,
          resume: bool = True, progress: bool = True, device: str = "cpu",
          checkpoint_every: int = 250, time_limit: float | None = None) -> Path:
    """Train and write ``model.pt`` (a plain state dict) and ``config.json``.

    Parameters
    ----------
    cfg : TrainConfig
    out_dir : path-like
        Folder for the checkpoint (``checkpoint.pt``, resumable), weights and config.
    data : dict, optional
        A dataset from `build_dataset`; built from ``cfg`` when None.
    resume : bool
        Continue from ``checkpoint.pt`` when it exists.
    time_limit : float, optional
        Stop (with a checkpoint) after this many seconds.

    Returns
    -------
    pathlib.Path
        The weights file.
    """
    from tqdm import tqdm
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    if data is None:
        data = build_dataset(cfg, progress=progress)
    n = len(data["noise"])
    if n == 0:
        raise ValueError("the dataset is empty")
    model = PConvUNet(stages=cfg.stages, widths=tuple(cfg.widths), ring=cfg.ring,
                      extra_channels=cfg.extra_channels).to(device)
    if cfg.init and not (resume and (out / "checkpoint.pt").exists()):
        cfg.init_sha256 = init_from(model, cfg.init)
    vgg = VGGFeatures(cfg.vgg).to(device) if cfg.vgg else None
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (cfg.lr_final / cfg.lr) ** min(s / max(cfg.steps, 1), 1.0))
    step, history, wall = 0, [], 0.0
    ck = out / "checkpoint.pt"
    rng = np.random.default_rng(cfg.seed)
    if resume and ck.exists():
        state = torch.load(ck, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        step, history, wall = state["step"], state["history"], state["wall"]
        cfg.init_sha256 = state.get("config", {}).get("init_sha256", cfg.init_sha256)
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed at step %d", step)
    T = lambda k, idx: torch.from_numpy(np.ascontiguousarray(data[k][idx])).to(device)
    t0 = time.perf_counter()
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc="training")

    def save():
        tmp = ck.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "step": step, "history": history, "wall": wall + time.perf_counter() - t0,
                    "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                    "config": asdict(cfg)}, tmp)
        os.replace(tmp, ck)

    while step < cfg.steps:
        idx = rng.integers(0, n, cfg.batch)
        flip = rng.random() < 0.5
        img = T("image", idx)[:, None]
        valid = T("valid", idx)[:, None].float()
        guides = T("guides", idx)          # the model reads its first extra_channels guides
        truth = T("truth", idx)[:, None]
        hole = T("hole", idx)[:, None].float()
        noise = T("noise", idx).float()
        texture = T("texture", idx)[:, None]
        if flip:   # transpose: rays and rows in other orientations
            img, valid, guides, truth, hole, texture = (
                t.transpose(-1, -2) for t in (img, valid, guides, truth, hole, texture))
        outs = model(img * valid, valid, guides, teacher=truth, teacher_prob=cfg.teacher_prob)
        loss, terms = compute_losses(outs, truth, valid, hole, noise, texture, model, cfg, vgg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        sched.step()
        step += 1
        history.append([step, loss.item()] + [float(terms[k].detach()) for k in ("hole", "ring", "grad", "noise")])
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{np.mean([h[1] for h in history[-20:]]):.4f}")
        if step % checkpoint_every == 0:
            save()
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            log.warning("time limit reached at step %d", step)
            break
    bar.close()
    save()
    wall_total = wall + time.perf_counter() - t0
    weights = out / "model.pt"
    tmp = weights.with_suffix(".tmp")
    from .weights import WEIGHTS_FORMAT
    torch.save({"format": WEIGHTS_FORMAT, "model_config": model.config,
                "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}},
               tmp)
    os.replace(tmp, weights)
    meta = {"config": asdict(cfg), "model_config": model.config, "steps_done": step,
            "samples": n, "wall_seconds": wall_total, "device": device,
            "torch": torch.__version__, "final_loss_mean_last100": float(np.mean([h[1] for h in history[-100:]])),
            "history_every_100": history[::100]}
    (out / "config.json").write_text(json.dumps(meta, indent=1))
    return weights
