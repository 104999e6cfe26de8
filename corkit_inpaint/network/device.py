"""Run the network on prepared windows: device choice, batching, and the CPU fallback."""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from ..exceptions import InputError
from ..threads import torch_threads
from .windows import MULTIPLE, Window

__all__ = ["select_device", "run_windows", "gives_spread", "run_model", "BATCH", "PRECISIONS"]

log = logging.getLogger(__name__)

BATCH = 16
#: Precisions the network can run in off the CPU (float16/bfloat16 under torch's autocast).
PRECISIONS = ("float32", "float16", "bfloat16")


#: ``(device, error type, message)`` of the device failures already warned of in this process.
_WARNED: set[tuple[str, str, str]] = set()


def select_device(device: str = "auto") -> str:
    """Resolve ``"auto"`` to ``"cuda"``, then ``"mps"``, then ``"cpu"``; check and pass others through.

    Raises
    ------
    InputError
        Not a torch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``...).
    """
    import torch
    if device != "auto":
        try:
            torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            raise InputError(f"device {device!r} is not a torch device (auto, cpu, cuda, cuda:N, mps)") from None
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _pad(a, shape):
    """Zero-pad the last two axes of ``a`` to ``shape`` (windows smaller than the UNet's multiple)."""
    ph, pw = shape[0] - a.shape[-2], shape[1] - a.shape[-1]
    if ph == 0 and pw == 0:
        return a
    return np.pad(a, [(0, 0)] * (a.ndim - 2) + [(0, ph), (0, pw)])


def _autocast(device: str, precision: str):
    """A torch autocast context for ``precision`` on ``device`` (float32: none)."""
    import contextlib

    import torch
    if precision == "float32":
        return contextlib.nullcontext()
    if precision not in PRECISIONS:
        raise InputError(f"precision {precision!r}: give one of {', '.join(PRECISIONS)}")
    return torch.autocast(device_type=torch.device(device).type, dtype=getattr(torch, precision))


def _latent_draws(model, windows: list[Window], full: tuple[int, int], draws: int):
    """Standard normal latent draws for ``fourier-vae``, ``(draws N, dims, h, w)``, ordered draw-major.

    Each window's draws come from a CPU generator seeded by its position in the
    frame, so they do not depend on the batch or the device.
    """
    import torch
    down = 2 ** len(model.config["widths"])
    out = []
    for w in windows:
        g = torch.Generator().manual_seed(1_000_003 * w.box[0] + w.box[2])
        out.append(torch.randn(draws, model.latent.dims, full[0] // down, full[1] // down, generator=g))
    return torch.stack(out, 1).reshape(-1, *out[0].shape[1:])


def run_model(model, windows: list[Window], device: str, *, batch: int = BATCH, precision: str = "float32",
              by_padded_shape: bool = False, draws: int = 0, spread: bool = False) -> list[np.ndarray]:
    """Run the model on windows, ``batch`` at a time; returns the final stage's output per window.

    Windows of one shape (``by_padded_shape``: of one shape once padded to the
    UNet's multiple, which makes larger batches from many frames) go
    together. Each window is zero-padded (as missing) to a multiple of 16, or
    of ``2 ** levels`` for a deeper network. The CPU fill uses the defaults, which its checksums were made
    with; ``precision`` other than float32 runs under torch's autocast.
    With ``draws`` (a ``fourier-vae`` model, else `InputError`), each output is
    ``(1 + draws, h, w)``: the fill from the prior's mean, then ``draws`` fills
    from the prior's draws (`_latent_draws`, the same on every device and for
    every batch; a window's draws depend on its position in the frame only),
    with ``batch // (1 + draws)`` windows per call. With ``spread`` (a model
    with a spread head, `corkit_inpaint.network.spread`), each output is
    ``(2, h, w)``: the fill, then the log of its 68.27% half-width.
    """
    import torch
    if draws and getattr(model, "latent", None) is None:
        raise InputError(f"latent draws need fourier-vae weights; {getattr(model, 'model_id', 'this model')} is "
                         f"a {model.config.get('arch', 'pconv')} network")
    if draws:                   # the last stage runs (1 + draws) times per window: keep the rows per call at batch
        batch = max(1, batch // (1 + draws))
    out = {}
    groups = defaultdict(list)
    mult = max(MULTIPLE, 2 ** len(model.config["widths"]))      # each level halves the window
    for i, w in enumerate(windows):
        shape = w.image.shape
        groups[tuple(-(-n // mult) * mult for n in shape) if by_padded_shape else shape].append(i)
    with torch.inference_mode(), _autocast(device, precision):
        for shape, idx in groups.items():
            full = (-(-shape[0] // mult) * mult, -(-shape[1] // mult) * mult)
            for k in range(0, len(idx), batch):
                part = idx[k:k + batch]
                img = np.stack([_pad(windows[i].image, full) for i in part])[:, None]
                val = np.stack([_pad(windows[i].valid.astype(np.float32), full) for i in part])[:, None]
                gd = np.stack([_pad(windows[i].guides, full) for i in part])
                img, val, gd = (torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in (img, val, gd))
                if draws:               # eps = 0 first: the prior's mean, then the draws, in one call
                    eps = _latent_draws(model, [windows[i] for i in part], full, draws)
                    eps = torch.cat([torch.zeros_like(eps[:len(part)]), eps]).to(device)
                    res = model(img * val, val, gd, eps=eps)[-1][:, 0].float().cpu().numpy()
                    res = res.reshape(1 + draws, len(part), *full).swapaxes(0, 1)
                elif spread:
                    outs, log_s = model(img * val, val, gd, spread=True)
                    res = torch.cat([outs[-1], log_s], 1).float().cpu().numpy()
                else:
                    res = model(img * val, val, gd)[-1][:, 0].float().cpu().numpy()
                for j, i in enumerate(part):
                    h, w = windows[i].image.shape
                    out[i] = res[j, ..., :h, :w]
    return [out[i] for i in range(len(windows))]


def gives_spread(model, draws: int = 0) -> bool:
    """Whether `run_windows` with ``spread=None`` gives ``model``'s spread: it has a spread head, and no ``draws``."""
    return getattr(model, "spread_head", None) is not None and not draws


def run_windows(weights, windows: list[Window], device: str = "auto", *, draws: int = 0,
                spread: bool | None = False):
    """Run a model on windows, on ``device``, falling back to the CPU if that device fails.

    Parameters
    ----------
    weights : str, path-like or None
        Model name or weights file (`corkit_inpaint.network.weights.load_model`).
    windows : list of Window
    device : str
        ``"auto"`` or a torch device string.
    draws : int, optional
        Latent draws per window for a ``fourier-vae`` model (`run_model`).
    spread : bool or None, optional
        Also give the spread head's log half-width (`run_model`); None: when
        the model has a spread head and no ``draws`` are asked. False by default.

    Returns
    -------
    outputs : list of numpy.ndarray
        The final stage's output per window (normalised stretched units);
        ``(1 + draws, h, w)`` with ``draws``, ``(2, h, w)`` with ``spread``.
    model : PConvUNet
        The CPU model (its ``model_id`` and ``sha256`` say what ran).
    device : str
        The device actually used.

    Notes
    -----
    torch runs with `corkit_inpaint.threads.get_threads` threads here (one
    by default), restored afterwards. Off the CPU, while a
    `corkit_inpaint.network.batcher.WindowBatcher` is enabled, the windows
    go through the network together with those of the frames other threads
    are filling at the same time.
    """
    from .batcher import active_batcher
    from .weights import load_model
    dev = select_device(device)
    model = load_model(weights, device="cpu")
    if spread is None:
        spread = gives_spread(model, draws)
    with torch_threads():
        if dev != "cpu":
            batcher = active_batcher()
            try:
                on_dev = load_model(weights, device=dev)
                if batcher is not None and not draws:
                    return batcher.run(on_dev, windows, dev, spread=spread), model, dev
                return run_model(on_dev, windows, dev, draws=draws, spread=spread), model, dev
            except (RuntimeError, AssertionError, MemoryError) as exc:   # OOM is a RuntimeError
                why = (dev, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
                # once per device and error: a frame's fill and the check of its sigma would say it twice
                (log.debug if why in _WARNED else log.warning)(
                    "inpainting on %s failed (%s: %s); falling back to the CPU", *why)
                _WARNED.add(why)
        return run_model(model, windows, "cpu", draws=draws, spread=spread), model, "cpu"
