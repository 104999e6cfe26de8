"""Find a verified weights file and load the network from it, never executing code.

Resolution order for a model name (`resolve_weights`):

1. an explicit path to a file;
2. the per-user cache (`corkit_inpaint.network.registry.cache_dir`);
3. the ``weights/`` folder of a source checkout;
4. a download from the registry's mirrors (`corkit_inpaint.network.download.fetch`;
   ``$CORKIT_INPAINT_WEIGHTS_URL`` replaces them: the file name is appended to it).

``CORKIT_INPAINT_OFFLINE=1`` forbids step 4. Every file is checked against the
registry's size and sha256 before use. Weights are plain tensors loaded with
``torch.load(weights_only=True)``: loading never executes code.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

from ..exceptions import WeightsError
from .download import fetch
from .registry import (
    CHECKOUT_WEIGHTS,
    Weights,
    cache_dir,
    default_model_name,
    matches,
    model_entry,
    registry,
    sha256sum,
)

__all__ = ["WEIGHTS_FORMAT", "resolve_weights", "verify_cache", "read_weights_file", "load_model"]

log = logging.getLogger(__name__)

WEIGHTS_FORMAT = "corkit-inpaint-pconv"


def resolve_weights(name_or_path: str | os.PathLike | None = None, *, download: bool = True,
                    progress: bool = True) -> Weights:
    """Find a verified weights file (see the module docstring for the order).

    Parameters
    ----------
    name_or_path : str or path-like, optional
        A registry name, or a path to a weights file; the default model when None.
    download : bool
        Allow step 4 (download).
    """
    if name_or_path is not None and (os.sep in str(name_or_path) or Path(name_or_path).suffix
                                     or Path(name_or_path).is_file()):
        p = Path(name_or_path)
        if not p.is_file():
            raise WeightsError(f"weights file {p} does not exist")
        sha = sha256sum(p)
        for n, e in registry()["models"].items():      # a known file keeps its registry name
            if e["sha256"] == sha:
                return Weights(n, p, sha)
        return Weights(p.stem, p, sha)
    name = str(name_or_path) if name_or_path else default_model_name()
    e = model_entry(name)
    cached = cache_dir() / e["file"]
    if matches(cached, e):
        return Weights(name, cached, e["sha256"])
    if cached.exists():
        log.warning("cached %s does not match the registry's checksum; ignoring it", cached)
    local = CHECKOUT_WEIGHTS / e["file"]
    if matches(local, e):
        return Weights(name, local, e["sha256"])
    if not download:
        raise WeightsError(f"{e['file']} is neither in the cache {cache_dir()} nor in {CHECKOUT_WEIGHTS}")
    return fetch(name, progress=progress)


def verify_cache() -> list[tuple[str, Path, bool]]:
    """Re-check every registered file present in the cache: ``(name, path, ok)``."""
    out = []
    for n in registry()["models"]:
        e = model_entry(n)
        p = cache_dir() / e["file"]
        if p.exists():
            out.append((n, p, matches(p, e)))
    return out


def read_weights_file(path: str | os.PathLike) -> dict:
    """Load a weights file without executing code and check its format."""
    import torch
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"{path}: not a loadable weights file ({exc.__class__.__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(blob, dict) or blob.get("format") != WEIGHTS_FORMAT:
        raise WeightsError(f"{path}: not a corkit-inpaint weights file (format != {WEIGHTS_FORMAT!r})")
    return blob


@lru_cache(maxsize=4)
def _load_cpu(path: str, sha: str):
    from .unet import PConvUNet
    blob = read_weights_file(path)
    cfg = blob["model_config"]
    model = PConvUNet(stages=cfg["stages"], widths=tuple(cfg["widths"]), ring=cfg["ring"],
                      extra_channels=cfg["extra_channels"])
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model


def load_model(name_or_path: str | os.PathLike | None = None, device: str = "cpu"):
    """Load a partial-convolution UNet.

    Parameters
    ----------
    name_or_path : str or path-like, optional
        Registry name or weights file; the default model when None.
    device : str
        A torch device string.

    Returns
    -------
    model : corkit_inpaint.pconv.PConvUNet
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
