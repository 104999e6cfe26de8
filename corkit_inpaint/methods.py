"""Fill methods by name, from the ``corkit.inpainters`` entry-point group.

A method is a callable ``(image, mask, header_or_None) -> numpy.ndarray``. It may
also accept keyword options (``device``, ``weights``, ``info``, ``policy``); the
caller passes only those it declares. A method returns NaN for a pixel it
declines to fill (SolarSoft's fuzzy policy leaves some zones masked): such
pixels keep their input value and are not flagged as filled. A third-party package adds a method by
declaring, in its own ``pyproject.toml``::

    [project.entry-points."corkit.inpainters"]
    mymethod = "mypackage.module:fill"
"""

from __future__ import annotations

import inspect
import logging
from importlib.metadata import entry_points

import numpy as np

__all__ = ["GROUP", "available_methods", "get_method", "call_method", "biharmonic_fill", "windowed_fill"]

log = logging.getLogger(__name__)
GROUP = "corkit.inpainters"


def windowed_fill(image: np.ndarray, mask: np.ndarray, header, fill_window) -> np.ndarray:
    """Run a classical fill on the stretched image, window by window, as ``pconv`` does.

    Parameters
    ----------
    image, mask, header
        As for any method.
    fill_window : callable
        ``fill_window(values, valid) -> filled`` on one window of stretched
        values; it must fill where ``valid`` is False.

    Returns
    -------
    numpy.ndarray
        float64 image with the ``mask`` pixels replaced.
    """
    from .engine import windows_for
    from .network import context_valid, stretch_for
    img = np.asarray(image, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    out = img.copy()
    if not mask.any():
        return out
    valid = context_valid(img, mask)
    st = stretch_for(img, valid, header)
    s = st.forward(np.where(valid, img, st.bias))
    boxes, owner = windows_for(mask)
    for k, (y0, y1, x0, x1) in enumerate(boxes):
        sw, vw = s[y0:y1, x0:x1], valid[y0:y1, x0:x1]
        f = fill_window(np.where(vw, sw, 0.0), vw)
        m = owner[y0:y1, x0:x1] == k
        out[y0:y1, x0:x1][m] = st.inverse(f)[m]
    return out


def biharmonic_fill(image: np.ndarray, mask: np.ndarray, header=None) -> np.ndarray:
    """scikit-image's biharmonic fill, in the same stretched space and windows as ``pconv``.

    References
    ----------
    .. [1] Damelin, S. B., Hoang, N. S. "On Surface Completion and Image
       Inpainting by Biharmonic Functions", Int. J. Math. Math. Sci. 2018.
    """
    from skimage.restoration import inpaint_biharmonic
    return windowed_fill(image, mask, header, lambda values, valid: inpaint_biharmonic(values, ~valid))


def _builtin() -> dict:
    from .fuzzy import fuzzy_fill
    from .network import pconv_fill, pconv_smooth_fill
    return {"pconv": pconv_fill, "pconv-smooth": pconv_smooth_fill, "biharmonic": biharmonic_fill,
            "fuzzy": fuzzy_fill}


def available_methods() -> dict:
    """``{name: callable}`` for every registered method (built-ins first)."""
    methods = _builtin()
    for ep in entry_points(group=GROUP):
        if ep.name in methods:
            continue
        try:
            methods[ep.name] = ep.load()
        except Exception as exc:   # a broken plugin must not break the others
            log.warning("could not load inpainting method %r from %s: %s", ep.name, ep.value, exc)
    return methods


def get_method(name: str):
    """The method registered under ``name``; ValueError names the known ones."""
    methods = available_methods()
    if name not in methods:
        raise ValueError(f"unknown inpainting method {name!r}; available: {', '.join(sorted(methods))}")
    return methods[name]


def call_method(fn, image, mask, header, **options) -> np.ndarray:
    """Call ``fn(image, mask, header)`` with the keyword options it accepts."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kw = options
    else:
        kw = {k: v for k, v in options.items() if k in params}
    return fn(image, mask, header, **kw)
