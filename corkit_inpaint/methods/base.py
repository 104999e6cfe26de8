"""The method contract: a `FillMethod` takes a `Frame` and returns a `FillResult`.

A method never signals through NaN, mutated dicts or attributes: what it did is
in the result. ``FillResult.filled`` names the pixels it really filled (a subset
of ``frame.missing``; a method may leave some masked and say why in
``skipped``), ``sigma`` is an optional per-pixel 1-sigma, and ``provenance``
says which model, weights, device and precision made it.

Third-party methods registered in ``corkit.inpainters`` as plain callables
``fn(image, mask, header) -> ndarray`` keep working through `LegacyMethod`:
there, NaN in the returned array still means "left masked".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from ..exceptions import MethodError
from ..frame import Frame
from ..register import Neighbour

__all__ = ["Provenance", "FillResult", "FillMethod", "LegacyMethod", "declined_note"]


@dataclass(frozen=True)
class Provenance:
    """Where a fill came from.

    Attributes
    ----------
    method : str
        Registered method name.
    model : str
        Model id (``"none"`` for classical methods).
    sha256 : str
        Full sha256 of the weights file, ``""`` when there is none.
    device : str
        Device actually used.
    neighbours : tuple of str
        Names (FILENAME) of the neighbouring frames that gave data to the fill, if any.
    neighbour_dt : tuple of float
        Each of those neighbours' observation time minus the frame's, in seconds.
    sigma_factor : float
        What the method's 1-sigma was multiplied by after its check on the frame's
        own valid blocks (`corkit_inpaint.uncertainty.probe`); 1.0 when unchecked.
    sigma_blocks : int
        The valid blocks it was checked on (0: not checked).
    sigma_factor_alone : float or None
        Where a fill from neighbouring frames filled some holes from the frame
        alone (its ring check, `corkit_inpaint.methods.ring_check`) and the check
        had blocks filled each way: the factor of those holes' 1-sigma, checked on
        the blocks filled alone (``sigma_factor`` is then the other holes'). None:
        one factor for every hole.
    precision : str
        The precision the network actually ran in: ``"float32"``, or ``"float16"``/``"bfloat16"`` on a GPU in a
        batch run with ``--precision`` (`corkit_inpaint.network.batcher.precision_used`); always ``"float32"``
        on the CPU. ``"none"`` (the default) for a method that runs no network.
    """

    method: str
    model: str = "none"
    sha256: str = ""
    device: str = "cpu"
    neighbours: tuple[str, ...] = ()
    neighbour_dt: tuple[float, ...] = ()
    sigma_factor: float = 1.0
    sigma_blocks: int = 0
    precision: str = "none"
    sigma_factor_alone: float | None = None

    def with_neighbours(self, neighbours: Sequence, used: Sequence[bool]) -> Provenance:
        """This provenance naming the ``neighbours`` (`corkit_inpaint.register.Neighbour`) whose ``used`` is True."""
        picked = [nb for nb, u in zip(neighbours, used) if u]
        return replace(self, neighbours=tuple(nb.name for nb in picked),
                       neighbour_dt=tuple(float(nb.dt) for nb in picked))


@dataclass(frozen=True, eq=False)
class FillResult:
    """What a method returns.

    Attributes
    ----------
    values : numpy.ndarray
        float64, the frame's shape; equal to ``frame.image`` outside ``filled``.
    filled : numpy.ndarray of bool
        The pixels really filled (a subset of ``frame.missing``).
    provenance : Provenance
    sigma : numpy.ndarray or None
        Per-pixel 1-sigma of the fill in the image's unit (0 outside ``filled``), if the method gives one.
    skipped : str
        Why some missing pixels were left masked (``""`` when none were).
    how : str
        Anything the HISTORY card should say of how the fill was made (``""``: nothing).
    alone : numpy.ndarray of bool or None
        The filled pixels a fill from neighbouring frames took from the frame alone
        (its ring check, `corkit_inpaint.methods.ring_check`), so that the sigma's check
        calibrates them apart (`corkit_inpaint.uncertainty.probe`); None: none.
    """

    values: np.ndarray
    filled: np.ndarray
    provenance: Provenance
    sigma: np.ndarray | None = None
    skipped: str = ""
    how: str = ""
    alone: np.ndarray | None = None

    @classmethod
    def unchanged(cls, frame: Frame, provenance: Provenance, skipped: str) -> FillResult:
        """A result that fills nothing, with the reason."""
        return cls(frame.image.copy(), np.zeros(frame.shape, dtype=bool), provenance, None, skipped)


def declined_note(declined: np.ndarray) -> str:
    """`FillResult.skipped` for the missing pixels a method left unfilled for too little context ("" for none)."""
    return f"{int(declined.sum())} pixels had too little context" if declined.any() else ""


@dataclass(frozen=True)
class FillMethod:
    """Base class of fill methods; subclasses implement `fill`.

    Attributes
    ----------
    name : str
        The name it is registered under.
    reads_neighbours : bool
        Class attribute: whether `fill` uses ``neighbours``. Callers read and
        register neighbouring frames only for methods that do.
    local : bool
        Class attribute: whether each hole's fill reads only the frame (and
        the neighbours) within 64 pixels of it, beside the frame's value space,
        noise and geometry, so that a fill of a crop (`Frame.cropped`) equals
        the whole frame's fill there. The check of the sigma
        (`corkit_inpaint.uncertainty.probe`) then fills small crops, which is
        cheaper. False (the safe default): it fills the whole frame.
    alone : str
        Class attribute: for a method that is a neighbour fill, what it is when no neighbouring
        frame gave data (``ratio``: ``"the biharmonic fill"``); `corkit_inpaint.fill.run_method`
        then warns and HISTORY says so. ``""`` (the default): the method is itself without them.
    takes_weights : bool
        Class attribute: whether `fill` runs the ``weights`` it is given; weights given to a method
        that does not are named in a warning (`corkit_inpaint.fill.run_method`), not used.
    """

    name: str = field(default="")
    reads_neighbours: ClassVar[bool] = False
    local: ClassVar[bool] = False
    alone: ClassVar[str] = ""
    takes_weights: ClassVar[bool] = False

    def fill(self, frame: Frame, *, neighbours: Sequence[Neighbour] = (), device: str = "auto",
             weights=None) -> FillResult:
        """Fill ``frame.missing``.

        Parameters
        ----------
        frame : Frame
        neighbours : sequence of Neighbour
            Neighbouring frames of the same field, registered on ``frame``'s grid
            (`corkit_inpaint.register.register`); methods that cannot use them ignore them.
        device : str
            ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``.
        weights : str or path-like, optional
            Model name or weights file, for methods with a model.
        """
        raise NotImplementedError

    def for_level1(self) -> FillMethod:
        """The method as ``level_1`` runs it (SolarSoft's fuzzy policy overrides this)."""
        return self

    def skip_reason(self, frame: Frame) -> str:
        """Why ``level_1`` should not fill this frame at all (``""``: fill it)."""
        return ""


@dataclass(frozen=True)
class LegacyMethod(FillMethod):
    """Adapter for a plain callable ``fn(image, mask, header) -> ndarray``.

    The callable gets a float64 copy of the image, the missing mask and the
    header (or None); NaN in its output marks pixels it left masked.
    """

    fn: Callable | None = None

    def fill(self, frame: Frame, *, neighbours: Sequence[Neighbour] = (), device: str = "auto",
             weights=None) -> FillResult:
        out = np.asarray(self.fn(frame.image.copy(), frame.missing.copy(), frame.header), dtype=np.float64)
        if out.shape != frame.shape:
            raise MethodError(f"method {self.name!r} returned shape {out.shape}, expected {frame.shape}")
        filled = frame.missing & ~np.isnan(out)
        values = frame.image.copy()
        values[filled] = out[filled]
        left = int(frame.missing.sum() - filled.sum())
        return FillResult(values, filled, Provenance(self.name),
                          skipped=f"{left} pixels returned as NaN" if left else "")
