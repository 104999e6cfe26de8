"""Fill methods by name: the built-ins, and any package's through the ``corkit.inpainters`` entry points.

Each method is a `FillMethod` (`corkit_inpaint.methods.base`): it takes a
`corkit_inpaint.frame.Frame` and returns a `FillResult`. One file per method:

==================  ==========================================================
``pconv-smooth``    the partial-convolution UNet's expected value (`pconv`; the default, `DEFAULT_METHOD`)
``pconv``           the same with a draw of its sigma added, a texture for pictures (`pconv`)
``biharmonic``      scikit-image's biharmonic fill (`biharmonic`)
``fuzzy``           SolarSoft's fuzzy-logic DCT fill, written anew (`fuzzy`)
``telea``           OpenCV's Telea fill, when OpenCV is installed (`telea`)
``ratio``           the neighbouring frames scaled by the smoothed ratio around the hole (`ratio`)
``pconv-fourier``   the UNet with Fourier skips and Fourier attention in its decoder (`pconv_fourier`)
``fourier-vae``     the Fourier-space conditional VAE: its prior mean, and the spread of its draws (`fourier_vae`)
==================  ==========================================================

A third-party package adds a method by declaring, in its own ``pyproject.toml``::

    [project.entry-points."corkit.inpainters"]
    mymethod = "mypackage.module:fill"

where ``fill`` is a `FillMethod` instance or subclass, or a plain callable
``fill(image, mask, header) -> ndarray`` (wrapped by `LegacyMethod`: NaN in its
output means "left masked").
"""

from __future__ import annotations

import logging
from dataclasses import replace
from importlib.metadata import entry_points

from ..exceptions import MethodError
from .base import FillMethod, FillResult, LegacyMethod, Provenance

__all__ = ["GROUP", "DEFAULT_METHOD", "available_methods", "get_method", "FillMethod", "FillResult", "Provenance",
           "LegacyMethod"]

log = logging.getLogger(__name__)
GROUP = "corkit.inpainters"
#: The method every entry point uses unless told otherwise: the network's expected value, with its sigma.
DEFAULT_METHOD = "pconv-smooth"


def _builtin() -> dict[str, FillMethod]:
    from .biharmonic import BIHARMONIC
    from .fourier_vae import FOURIER_VAE
    from .fuzzy import FUZZY
    from .pconv import PCONV, PCONV_SMOOTH
    from .pconv_fourier import PCONV_FOURIER
    from .ratio import RATIO
    from .telea import TELEA
    return {m.name: m for m in (PCONV, PCONV_SMOOTH, BIHARMONIC, FUZZY, TELEA, RATIO, PCONV_FOURIER, FOURIER_VAE)}


def _as_method(name: str, obj) -> FillMethod:
    """An entry point's object as a `FillMethod` (an instance, a subclass, or a legacy callable)."""
    if isinstance(obj, FillMethod):
        return obj if obj.name == name else replace(obj, name=name)
    if isinstance(obj, type) and issubclass(obj, FillMethod):
        return obj(name=name)
    if callable(obj):
        return LegacyMethod(name=name, fn=obj)
    raise TypeError(f"{obj!r} is neither a FillMethod nor callable")


def available_methods() -> dict[str, FillMethod]:
    """``{name: FillMethod}`` for every registered method (built-ins first)."""
    methods = _builtin()
    for ep in entry_points(group=GROUP):
        if ep.name in methods:
            continue
        try:
            methods[ep.name] = _as_method(ep.name, ep.load())
        except Exception as exc:   # a broken plugin must not break the others
            log.warning("could not load inpainting method %r from %s: %s", ep.name, ep.value, exc)
    return methods


def get_method(name: str) -> FillMethod:
    """The method registered under ``name``; `MethodError` names the known ones.

    A built-in name is answered without reading the entry points (a plugin cannot replace a
    built-in, and reading them costs about 6 ms per call: twice per file filled).
    """
    if not isinstance(name, str):        # battery s36: a list raised "unhashable type" from the lookup
        raise MethodError(f"method: expected a method name or a FillMethod, got {type(name).__name__}")
    builtin = _builtin()
    if name in builtin:
        return builtin[name]
    methods = available_methods()
    if name not in methods:
        raise MethodError(f"unknown inpainting method {name!r}; available: {', '.join(sorted(methods))}")
    return methods[name]
