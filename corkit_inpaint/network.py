"""The ``pconv`` method: fill missing blocks of a frame with the partial-convolution UNet."""

from __future__ import annotations

import logging
from collections import defaultdict

import numpy as np

from .blocks import _hget, zero_block_pixels
from .engine import MULTIPLE, prepare_window, windows_for
from .stretch import Stretch

__all__ = ["select_device", "pconv_fill", "pconv_smooth_fill", "stretch_for"]

log = logging.getLogger(__name__)


def select_device(device: str = "auto") -> str:
    """Resolve ``"auto"`` to ``"cuda"``, then ``"mps"``, then ``"cpu"``; pass others through."""
    if device != "auto":
        return device
    import torch
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def _hnum(header, key):
    try:
        v = _hget(header, key)
        return None if v is None else float(v)
    except (TypeError, ValueError):
        return None


def stretch_for(image: np.ndarray, valid: np.ndarray, header=None) -> Stretch:
    """The stretch used for a frame: DN -> (DN - OFFSET)/EXPTIME -> asinh, when the header allows."""
    bias = _hnum(header, "OFFSET")
    exptime = _hnum(header, "EXPTIME")
    if bias is None or exptime is None or not exptime > 0:
        bias, exptime = 0.0, 1.0
    return Stretch.from_image(image, valid, bias=bias, exptime=exptime)


def context_valid(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pixels a fill may read: finite, not missing, not in any all-zero block."""
    return np.isfinite(image) & ~mask & ~zero_block_pixels(image)


def sun_centre(header) -> tuple[float, float] | None:
    """``(cy, cx)``, 0-based, from CRPIX2/CRPIX1, or None."""
    c1, c2 = _hnum(header, "CRPIX1"), _hnum(header, "CRPIX2")
    return None if c1 is None or c2 is None else (c2 - 1.0, c1 - 1.0)


def _pad(a, shape):
    """Zero-pad the last two axes of ``a`` to ``shape`` (windows smaller than the UNet's multiple)."""
    ph, pw = shape[0] - a.shape[-2], shape[1] - a.shape[-1]
    if ph == 0 and pw == 0:
        return a
    return np.pad(a, [(0, 0)] * (a.ndim - 2) + [(0, ph), (0, pw)])


def _run(model, windows, device):
    """Run the model on windows, batching windows of equal shape; returns final-stage outputs."""
    import torch
    out = {}
    groups = defaultdict(list)
    for i, w in enumerate(windows):
        groups[w.image.shape].append(i)
    with torch.inference_mode():
        for shape, idx in groups.items():
            full = (-(-shape[0] // MULTIPLE) * MULTIPLE, -(-shape[1] // MULTIPLE) * MULTIPLE)
            for k in range(0, len(idx), 16):
                part = idx[k:k + 16]
                img = np.stack([_pad(windows[i].image, full) for i in part])[:, None]
                val = np.stack([_pad(windows[i].valid.astype(np.float32), full) for i in part])[:, None]
                gd = np.stack([_pad(windows[i].guides, full) for i in part])
                img, val, gd = (torch.from_numpy(np.ascontiguousarray(a)).to(device) for a in (img, val, gd))
                res = model(img * val, val, gd)[-1][:, 0].float().cpu().numpy()
                for j, i in enumerate(part):
                    out[i] = res[j, :shape[0], :shape[1]]
    return [out[i] for i in range(len(windows))]


def pconv_fill(image: np.ndarray, mask: np.ndarray, header=None, *, device: str = "auto",
               weights=None, texture: bool = True, info: dict | None = None) -> np.ndarray:
    """Fill ``mask`` pixels of ``image`` with the partial-convolution UNet.

    Parameters
    ----------
    image : numpy.ndarray
        2-D frame, linear units (DN for level 0.5).
    mask : numpy.ndarray of bool
        True where pixels are missing.
    header : astropy.io.fits.Header, optional
        OFFSET and EXPTIME set the value space, CRPIX1/2 the Sun centre.
    device : str
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``... If a non-CPU device
        fails, the fill is redone on the CPU with a logged warning.
    weights : str or path-like, optional
        Registry name or weights file (default model when None).
    texture : bool
        Add noise with the sigma measured around each hole (seeded by the
        window position, so deterministic) to the network's expected value,
        so the fill has the texture of real data. False gives the smooth
        expected value, which has the lowest RMSE.
    info : dict, optional
        Filled with ``model``, ``sha256`` and ``device`` actually used.

    Returns
    -------
    numpy.ndarray
        float64 image with the holes filled; other pixels equal ``image``.
        Holes with almost no valid pixel around them (fewer than 16 in their
        window) are returned as NaN: left masked, not filled.
    """
    from .weights import load_model
    img = np.asarray(image, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    out = img.copy()
    dev = select_device(device)
    if info is not None:
        info.setdefault("device", dev)
    if not mask.any():
        return out
    valid = context_valid(img, mask)
    st = stretch_for(img, valid, header)
    s = st.forward(np.where(valid, img, st.bias))
    centre = sun_centre(header)
    windows, owned = [], []
    boxes, owner = windows_for(mask)
    for k, box in enumerate(boxes):
        y0, y1, x0, x1 = box
        mine = owner[y0:y1, x0:x1] == k
        try:
            windows.append(prepare_window(s, valid, box, centre))
            owned.append(mine)
        except ValueError as exc:             # no context to learn from: leave it masked
            log.warning("pixels in rows %d-%d, columns %d-%d left unfilled: %s", y0, y1, x0, x1, exc)
            out[y0:y1, x0:x1][mine] = np.nan
    if not windows:
        return out
    model = load_model(weights, device="cpu")
    if info is not None:
        info.update(model=model.model_id, sha256=model.sha256)
    if dev != "cpu":
        try:
            res = _run(load_model(weights, device=dev), windows, dev)
        except (RuntimeError, AssertionError, MemoryError) as exc:   # OOM is a RuntimeError
            log.warning("inpainting on %s failed (%s: %s); falling back to the CPU",
                        dev, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
            dev = "cpu"
            res = _run(model, windows, "cpu")
    else:
        res = _run(model, windows, "cpu")
    if info is not None:
        info["device"] = dev
        info["texture"] = bool(texture)
    for w, z, m in zip(windows, res, owned):
        y0, y1, x0, x1 = w.box
        vz = w.image[w.valid]
        lo, hi = float(vz.min()), float(vz.max())
        pad = 0.5 * (hi - lo) + 1.0
        zs = np.clip(z.astype(np.float64), lo - pad, hi + pad)
        if texture:
            zs = zs + w.texture
        lin = st.inverse(zs * w.scale + w.centre)
        out[y0:y1, x0:x1][m] = lin[m]
    return out


def pconv_smooth_fill(image: np.ndarray, mask: np.ndarray, header=None, *, device: str = "auto",
                      weights=None, info: dict | None = None) -> np.ndarray:
    """``pconv`` without the added texture: the network's expected value (lowest RMSE).

    See `pconv_fill`; this is ``pconv_fill(..., texture=False)``, registered as ``pconv-smooth``.
    """
    return pconv_fill(image, mask, header, device=device, weights=weights, texture=False, info=info)
