"""Find a verified weights file and load the network from it, never executing code.

Resolution order for a model name (`resolve_weights`):

1. an explicit path to a file;
2. the package's own data folder (`corkit_inpaint.network.registry.DATA_DIR`),
   where the default model ships;
3. the per-user cache (`corkit_inpaint.network.cache.cache_dir`);
4. the ``weights/`` folder of a source checkout;
5. a download from the registry's mirrors (`corkit_inpaint.network.download.fetch`;
   ``$CORKIT_INPAINT_WEIGHTS_URL`` replaces them: the file name is appended to it).

``CORKIT_INPAINT_OFFLINE=1`` forbids step 5. Every file of steps 2-5 is checked
against the registry's size and sha256 before use. Weights are plain tensors
loaded with ``torch.load(weights_only=True)``: loading never executes code, and
a file's ``model_config`` is bounded and checked against its state dict before
the network is built (`check_model_config`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path

from ..exceptions import WeightsError, first_line, shown
from .cache import cache_dir, has_mirror, how_to_provide
from .download import fetch
from .registry import (
    CHECKOUT_WEIGHTS,
    DATA_DIR,
    Weights,
    default_model_name,
    file_sha256,
    matches,
    model_entry,
    registry,
)

__all__ = ["WEIGHTS_FORMAT", "CONFIG_BOUNDS", "load_tensors", "load_failure", "names_a_file", "weights_inputs",
           "resolve_weights", "verify_cache", "read_weights_file", "check_model_config", "load_model"]

log = logging.getLogger(__name__)

WEIGHTS_FORMAT = "corkit-inpaint-pconv"
#: Inclusive bounds of a weights file's ``model_config`` (``widths``: its length, then each width).
CONFIG_BOUNDS = {"stages": (1, 8), "levels": (1, 8), "width": (1, 1024), "extra_channels": (1, 8),
                 "ring": (0, 64)}


def weights_inputs(name_or_path) -> list[Path]:
    """The weights file a run reads, as an input that no output of the run may be written over (``[]`` for
    None, a registry name, or a path that is no file: nothing there to lose)."""
    if isinstance(name_or_path, (str, os.PathLike)) and os.fspath(name_or_path).strip() and \
            Path(name_or_path).is_file():
        return [Path(name_or_path)]
    return []


def names_a_file(name_or_path: str | os.PathLike | None) -> bool:
    """Whether `resolve_weights` takes ``name_or_path`` as a file rather than a registry name.

    A name with a path separator, one naming an existing file (or a folder the registry does not name), or one
    with a suffix that the registry does not know (``my.pt``) is a file.
    """
    if name_or_path is None:
        return False
    p = Path(name_or_path)
    unknown = str(name_or_path) not in registry()["models"]
    # an existing folder not named in the registry is a path too (battery s36: "unknown model 'seq'")
    return os.sep in str(name_or_path) or p.is_file() or bool(p.suffix and unknown) or (unknown and p.is_dir())


def resolve_weights(name_or_path: str | os.PathLike | None = None, *, download: bool = True,
                    progress: bool = True) -> Weights:
    """Find a verified weights file (see the module docstring for the order).

    Parameters
    ----------
    name_or_path : str or path-like, optional
        A registry name, or a path to a weights file; the default model when None.
        A name with a path separator, one with a suffix that the registry does not
        know (``my.pt``), or one naming an existing file is a path.
    download : bool
        Allow step 5 (download).

    Raises
    ------
    WeightsError
        An empty name, a path that is not a regular file, or no verified file was found (and, with ``download``,
        none could be fetched).
    """
    if name_or_path is not None and not isinstance(name_or_path, (str, os.PathLike)):
        raise WeightsError(f"weights: expected a model name or a file path, got {type(name_or_path).__name__}")
    if name_or_path is not None and not os.fspath(name_or_path).strip():   # not the default model: a slip
        raise WeightsError("weights: an empty name; give a model name or a weights file (None: the default model)")
    if names_a_file(name_or_path):
        p = Path(name_or_path)
        if not p.is_file():
            what = "is a folder" if p.is_dir() else "is not a regular file" if p.exists() else "does not exist"
            raise WeightsError(f"weights file {shown(os.fspath(name_or_path))} {what}")    # as given: no // folded
        sha = file_sha256(p)
        models = registry()["models"]
        for n, e in models.items():                    # a known file keeps its registry name
            if e["sha256"] == sha:
                return Weights(n, p, sha)
        # another file: named by its stem, or by its whole name where the stem is a registered model's
        return Weights(p.name if p.stem in models else p.stem, p, sha)
    name = str(name_or_path) if name_or_path else default_model_name()
    e = model_entry(name)
    packaged = DATA_DIR / e["file"]
    if matches(packaged, e):
        return Weights(name, packaged, e["sha256"])
    cached = cache_dir() / e["file"]
    if matches(cached, e):
        return Weights(name, cached, e["sha256"])
    if cached.exists():
        log.warning("cached %s does not match the registry's checksum; ignoring it", cached)
    local = CHECKOUT_WEIGHTS / e["file"]
    if matches(local, e):
        return Weights(name, local, e["sha256"])
    if not download:
        fetch_hint = f"run 'corkit-inpaint weights fetch {name}', or " if has_mirror(e) else ""
        raise WeightsError(f"{e['file']} (model {name!r}) is neither in the package, in the cache "
                           f"{cache_dir()} nor in {CHECKOUT_WEIGHTS}: {fetch_hint}{how_to_provide(e['file'])}")
    return fetch(name, progress=progress)


def verify_cache() -> list[tuple[str, Path, bool]]:
    """Re-check every registered file present in the cache, reading each again: ``(name, path, ok)``."""
    out = []
    for n in registry()["models"]:
        e = model_entry(n)
        p = cache_dir() / e["file"]
        if p.exists():
            out.append((n, p, matches(p, e, fresh=True)))
    return out


def read_weights_file(path: str | os.PathLike, sha256: str | None = None) -> dict:
    """Load a weights file without executing code and check its format.

    With ``sha256``, the bytes loaded are the bytes checked: a file replaced
    after it was verified (a shared cache) is refused, not run under the
    checksum the provenance records.

    Raises
    ------
    WeightsError
        Not loadable, not this package's format, no ``model_config`` or
        ``state_dict``, a ``model_config`` outside `check_model_config`'s bounds,
        or not ``sha256``.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise WeightsError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise WeightsError(f"{path}: changed after it was verified (sha256 is no longer {sha256[:16]}...)")
    if bad := _damaged_part(raw):       # torch.load does not check its archive's CRCs: a file given by path
        raise WeightsError(f"{path}: damaged ({bad}); not loaded")
    try:
        blob = load_tensors(io.BytesIO(raw))
    except Exception as exc:
        raise WeightsError(f"{path}: not a loadable weights file ({load_failure(exc)})") from None
    if not isinstance(blob, dict) or blob.get("format") != WEIGHTS_FORMAT:
        raise WeightsError(f"{path}: not a corkit-inpaint weights file (format != {WEIGHTS_FORMAT!r})")
    missing = [k for k in ("model_config", "state_dict") if k not in blob]
    if missing:
        raise WeightsError(f"{path}: malformed weights file: no {' or '.join(map(repr, missing))}")
    bad = check_model_config(blob["model_config"])
    if bad:
        raise WeightsError(f"{path}: malformed weights file: {bad}")
    if not isinstance(blob["state_dict"], dict):
        raise WeightsError(f"{path}: malformed weights file: state_dict must be a mapping, "
                           f"got {type(blob['state_dict']).__name__}")
    return blob


def _damaged_part(raw: bytes) -> str | None:
    """What of the zip archive a torch file is fails its CRC-32, or None (also for bytes that are no archive:
    `torch.load` refuses those). A weights file given by path has no sha256 to check it by: a few bytes
    overwritten in a tensor loaded, and filled holes 10,000 DN off (battery s34)."""
    import zipfile
    try:
        z = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return None
    with z:
        for info in z.infolist():
            if info.CRC == 0:            # torch saves without CRC-32s when told to (set_crc32_options): none to check
                continue
            try:
                with z.open(info) as part:
                    while part.read(1 << 20):
                        pass
            except zipfile.BadZipFile as exc:
                what = "fails its CRC-32 check" if "CRC" in str(exc) else f"cannot be read ({first_line(exc)})"
                return f"its part {info.filename} {what}"
            except Exception as exc:     # noqa: BLE001 - zlib.error and others from a corrupt member's header or stream
                return f"its part {info.filename} cannot be read: {exc.__class__.__name__}"
    return None


def _int_in(cfg: dict, key: str, bounds: tuple[int, int]) -> str | None:
    v = cfg.get(key)
    lo, hi = bounds
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        return f"model_config[{key!r}] must be an integer in {lo}..{hi}, got {v!r}"
    return None


def check_model_config(cfg) -> str | None:
    """Why a weights file's ``model_config`` cannot build a network, or None when it can.

    Bounds (`CONFIG_BOUNDS`) keep a malformed file from allocating huge
    networks: 1-8 stages, 1-8 widths of 1-1024 channels, 1-8 extra channels,
    a ring of 0-64 pixels, a base guide (optional) among the extra channels,
    a step (optional, `corkit_inpaint.network.unet.STEPS`; "noise" needs 8 guides),
    an architecture (optional, `corkit_inpaint.network.unet.ARCHES`) and a
    spread head's width (optional, 1-1024; needs 8 guides).
    """
    if not isinstance(cfg, dict):
        return f"model_config must be a mapping, got {type(cfg).__name__}"
    for key in ("stages", "widths", "ring", "extra_channels"):
        if key not in cfg:
            return f"model_config has no {key!r}"
    for key in ("stages", "extra_channels", "ring"):
        bad = _int_in(cfg, key, CONFIG_BOUNDS[key])
        if bad:
            return bad
    if "base" in cfg:           # optional: the guide the first stage corrects (0 when absent)
        bad = _int_in(cfg, "base", (0, cfg["extra_channels"] - 1))
        if bad:
            return bad
    step = cfg.get("step", "scale")
    if step not in ("scale", "noise") or (step == "noise" and cfg["extra_channels"] != 8):
        return f"model_config['step'] must be 'scale', or 'noise' with 8 extra channels, got {step!r}"
    if "sigma_head" in cfg:     # optional: the spread head's width (none when absent)
        bad = _int_in(cfg, "sigma_head", CONFIG_BOUNDS["width"]) or (
            None if cfg["extra_channels"] == 8 else "model_config['sigma_head'] needs 8 extra channels")
        if bad:
            return bad
    from .unet import ARCHES
    if cfg.get("arch", "pconv") not in ARCHES:
        return f"model_config['arch'] must be one of {', '.join(ARCHES)}, got {cfg.get('arch')!r}"
    widths = cfg["widths"]
    (llo, lhi), (wlo, whi) = CONFIG_BOUNDS["levels"], CONFIG_BOUNDS["width"]
    if (not isinstance(widths, (list, tuple)) or not llo <= len(widths) <= lhi
            or not all(isinstance(w, int) and not isinstance(w, bool) and wlo <= w <= whi for w in widths)):
        return f"model_config['widths'] must be a list of {llo}..{lhi} integers in {wlo}..{whi}, got {widths!r}"
    return None


def _state_mismatch(model_shapes: dict, sd) -> str | None:
    """Why the state dict ``sd`` does not fit parameter shapes ``model_shapes``, or None."""
    missing = [k for k in model_shapes if k not in sd]
    unexpected = [k for k in sd if k not in model_shapes]
    wrong = [f"{k} {tuple(getattr(sd[k], 'shape', ()))} instead of {model_shapes[k]}" for k in model_shapes
             if k in sd and tuple(getattr(sd[k], "shape", ())) != model_shapes[k]]
    parts = [f"{what}: {', '.join(map(str, keys[:3]))}{' ...' if len(keys) > 3 else ''}"
             for what, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)) if keys]
    return "; ".join(parts) or None


def _not_finite(sd) -> str | None:
    """The tensors of the state dict ``sd`` with a NaN or infinite value (up to three named), or None."""
    import torch
    keys = [k for k, v in sd.items() if isinstance(v, torch.Tensor) and v.is_floating_point()
            and not bool(torch.isfinite(v).all())]
    return f"{', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}" if keys else None


def network_kwargs(cfg: dict) -> dict:
    """`corkit_inpaint.network.unet.PConvUNet`'s arguments from a (checked) weights file's ``model_config``.

    Parameters
    ----------
    cfg : dict
        A ``model_config`` that `check_model_config` accepts; its optional keys take their defaults.

    Returns
    -------
    dict
    """
    return {"stages": cfg["stages"], "widths": tuple(cfg["widths"]), "ring": cfg["ring"],
            "extra_channels": cfg["extra_channels"], "base": cfg.get("base", 0), "step": cfg.get("step", "scale"),
            "arch": cfg.get("arch", "pconv"), "sigma_head": cfg.get("sigma_head", 0)}


@lru_cache(maxsize=4)
def _load_cpu(path: str, sha: str):
    import torch

    from .unet import PConvUNet
    blob = read_weights_file(path, sha256=sha or None)
    kw = network_kwargs(blob["model_config"])
    with torch.device("meta"):           # shapes only, nothing allocated
        shapes = {k: tuple(v.shape) for k, v in PConvUNet(**kw).state_dict().items()}
    bad = _state_mismatch(shapes, blob["state_dict"])
    if bad:
        raise WeightsError(f"{path}: the state dict does not match its model_config ({bad})")
    if bad := _not_finite(blob["state_dict"]):
        raise WeightsError(f"{path}: the state dict holds NaN or infinite values ({bad})")
    model = PConvUNet(**kw)
    try:
        model.load_state_dict(blob["state_dict"])
    except (RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise WeightsError(f"{path}: the state dict does not fit the network ({first_line(exc)})") from None
    model.eval()
    return model


def load_model(name_or_path: str | os.PathLike | None = None, device: str = "cpu"):
    """Load a network (a partial-convolution UNet, or one of its Fourier variants: `PConvUNet`'s ``arch``).

    Parameters
    ----------
    name_or_path : str or path-like, optional
        Registry name or weights file; the default model when None.
    device : str
        A torch device string.

    Returns
    -------
    model : corkit_inpaint.network.unet.PConvUNet
        In eval mode, on ``device``, with ``model_id`` and ``sha256`` attributes.
    """
    import copy
    w = resolve_weights(name_or_path)
    model = _load_cpu(str(w.path), w.sha256)
    if device != "cpu":
        model = copy.deepcopy(model).to(device)
    model.model_id = w.name
    model.sha256 = w.sha256
    return model


def load_tensors(source, map_location: str = "cpu"):
    """``torch.load(source, weights_only=True)``: tensors and plain data only, never a file's code (every file
    this package loads goes through here). torch's warning before it refuses a file that is no archive is
    silenced: its error says why, which `load_failure` words in one line."""
    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.load(source, map_location=map_location, weights_only=True)


def load_failure(exc: Exception) -> str:
    """Why ``torch.load(weights_only=True)`` failed, in a few words: its own reason, without the advice to load with
    ``weights_only=False`` that its message leads with (running the file's code is what this loader never does)."""
    text = " ".join(str(exc).split())
    why = re.search(r"WeightsUnpickler error: (.*?)(?: Please use | Check the documentation|$)", text)
    if why:
        reason = why.group(1).split(" was not an allowed global")[0]
        return (f"torch's weights-only loader refuses it: {reason[:120].strip()}; corkit-inpaint never runs a "
                "file's code to load it")
    return f"{exc.__class__.__name__}: {text.split('. ')[0][:160]}"
