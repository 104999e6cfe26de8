"""``pconv`` and ``pconv-smooth``: the partial-convolution UNet's fill of a frame."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from ..exceptions import InputError
from ..frame import Frame
from ..network.batcher import precision_used
from ..network.device import gives_spread, run_windows, select_device
from ..network.weights import load_model
from ..network.windows import GUIDES, frame_windows, mirrored
from ..register import Neighbour
from ..uncertainty.features import neighbour_cover, pixel_features, window_cap, window_noise
from ..uncertainty.tables import table_for, to_linear
from ..uncertainty.widen import factor_applied, widened_note
from .base import FillMethod, FillResult, Provenance, declined_note
from .ring_check import RingVerdict, alone_frame, alone_note, check_rings, suspect_holes

__all__ = ["PConvFill", "PCONV", "PCONV_SMOOTH", "SMOOTH_TABLE"]

log = logging.getLogger(__name__)

#: The error table both methods read: the expected value's (the textured fill adds a draw of it).
SMOOTH_TABLE = "pconv-smooth"


@dataclass(frozen=True)
class PConvFill(FillMethod):
    """Fill with the partial-convolution UNet (or one of its Fourier variants, ``model``).

    Attributes
    ----------
    texture : bool
        Add a draw of the fill's own 1-sigma (white noise seeded by the window
        position, so deterministic) to the network's expected value, so the
        fill has a texture, for pictures. False (``pconv-smooth``, the
        default) gives the expected value, which has the lowest RMSE.
    model : str, optional
        The registry name of the weights used when none are given (None: the default model).
    draws : int
        For a ``fourier-vae`` model: the fill is the prior mean's, and its
        sigma, instead of an error table's, is the standard deviation of this
        many fills from the prior's draws (seeded by the window position)
        combined in quadrature with the window's pixel noise (the part of the
        truth no fill predicts: the decoder's observation noise).
    mirror : bool
        Fill each window with the mean of the network's output for it and for
        the window mirrored left to right (mirrored back). Off by default: on
        the real frames it lowered the hole RMSE by 1-8% pooled, but on a few
        simulated 2x2-summed C3 windows the mirrored output was 2-3 times off
        (docs/evaluation.md, "Mirror averaging"). Not with ``draws``. Its sigma is the
        plain fill's error table's, or with a spread head the geometric mean of
        the head's half-widths for the window and its mirror image.
    arch : str, optional
        The network architecture (`corkit_inpaint.network.unet.PConvUNet`'s ``arch``) this method
        is: weights given to `fill` of another are refused (`InputError`), so that ``INPAINT`` names
        the network that ran. None (``pconv``, ``pconv-smooth``): any.
    ring_check : bool
        With neighbouring frames, fill from the frame alone each hole whose ring
        of valid pixels the frame alone fills better than the neighbours do
        (`corkit_inpaint.methods.ring_check`: where something moved between the
        frames, a CME front above all), and widen the sigma of the holes it
        keeps at most as far as their rings' errors show. On by default; it
        costs two more runs of the network over the holes and their rings, and
        a third over the holes it fills alone. Not with ``draws``.

    Notes
    -----
    The network reads windows of the frame's stretched image
    (`corkit_inpaint.network.windows.frame_windows`); holes with fewer than
    16 valid pixels in their window are left masked. The network's output is
    kept within the range of the window's data (and of the neighbours'
    estimate) widened by half that range. A non-CPU device that
    fails is replaced by the CPU, with a logged warning. A model that reads the
    neighbour guides (``extra_channels`` of 4 or more) fills from the
    neighbouring frames where they have data; an older model ignores them,
    and the provenance then names none.

    Without ``draws`` the sigma comes from the network's spread head when the
    weights have one (`corkit_inpaint.network.spread`; mirror averaged, the
    geometric mean of the two half-widths), else from the error table fitted
    for these weights (`corkit_inpaint.uncertainty`, key
    ``pconv-smooth@<sha256>``); either is capped at twice the window's range of
    values plus its noise. It is the expected value's 1-sigma, and ``sqrt(2)``
    times it for the textured fill, whose draw adds its own spread (where the
    table's sigma is widened because the neighbours disagree,
    `corkit_inpaint.uncertainty.widen`, the draw is of the table's own sigma and
    the textured fill's is the root sum of squares of the two). Weights
    with neither give no sigma (logged). Weights given to `fill` replace ``model``: of any architecture
    for ``pconv`` and ``pconv-smooth``, of ``arch``'s only when it is set (``pconv-fourier``,
    ``fourier-vae``; ``draws`` needs ``fourier-vae`` weights).
    """

    texture: bool = True
    model: str | None = None
    draws: int = 0
    mirror: bool = False
    arch: str | None = None
    ring_check: bool = True
    reads_neighbours: ClassVar[bool] = True
    takes_weights: ClassVar[bool] = True

    @property
    def local(self) -> bool:
        """`FillMethod.local`: True for the expected value; the texture and the draws are seeded by a window's
        place in the frame, so a crop's differ."""
        return not self.texture and not self.draws

    def fill(self, frame: Frame, *, neighbours: Sequence[Neighbour] = (), device: str = "auto",
             weights=None) -> FillResult:
        if weights is not None and self.arch is not None:
            self.check_arch(weights)
        prepared = frame_windows(frame, neighbours)
        verdict = self._check_rings(frame, neighbours, device, weights, prepared)
        res, notes, widening = self._run(frame, neighbours, device, weights, prepared=prepared,
                                         limit=None if verdict is None else verdict.limit)
        if verdict is None or not (verdict.alone & res.filled).any():
            return res
        return self._alone_where_better(frame, res, neighbours, device, weights, verdict.alone & res.filled,
                                        prepared, notes, widening)

    def _check_rings(self, frame: Frame, neighbours, device, weights, prepared) -> RingVerdict | None:
        """`ring_check.check_rings` on the holes whose neighbour estimate is in doubt (`ring_check.suspect_holes`);
        None where nothing is checked: no ring check, draws, a network that reads no neighbours, or no hole in
        doubt."""
        if not (self.ring_check and not self.draws and neighbours and prepared[0]):
            return None
        model = load_model(weights if weights is not None else self.model, device="cpu")
        if not _reads_neighbours(model):
            return None
        suspect = suspect_holes(prepared[0], prepared[1], frame.shape)
        if not suspect.any():
            return None
        plain = replace(self, texture=False, ring_check=False)
        bounds = table_for(SMOOTH_TABLE, model.sha256) is not None      # a table's sigma: what the bound is for

        def fill_ring(f: Frame, with_neighbours: bool):
            if not (with_neighbours and bounds):
                r = plain._fill(f, neighbours if with_neighbours else (), device, weights, with_sigma=False)
                return r.values, r.filled, None
            r = plain._fill(f, neighbours, device, weights, limit=np.ones(f.shape))    # its sigma not widened
            return r.values, r.filled, r.sigma

        return check_rings(frame, fill_ring, suspect)

    def _alone_where_better(self, frame: Frame, res: FillResult, neighbours, device, weights,
                            alone: np.ndarray, prepared, notes: tuple, widening) -> FillResult:
        """``res`` with the ``alone`` holes (those the frame alone fills better, `ring_check.check_rings`)
        filled alone. ``prepared``, ``notes`` and ``widening`` are `_run`'s for ``res``: the provenance
        names only the neighbours that gave data to a window with a pixel not filled alone, and HISTORY's
        widening counts only those pixels."""
        # (no sigma wanted where the fill has none, so a missing table is warned of once; the texture is
        # drawn in the sigma step, so a textured fill takes it)
        own = replace(self, ring_check=False)._fill(alone_frame(frame, alone), (), device, weights,
                                                    with_sigma=res.sigma is not None or self.texture)
        take = alone & own.filled
        values = res.values.copy()
        values[take] = own.values[take]
        sigma = None
        if res.sigma is not None and own.sigma is not None:
            sigma = res.sigma.copy()
            sigma[take] = own.sigma[take]
        prov = res.provenance.with_neighbours(neighbours, _neighbours_used(*prepared[:2], len(neighbours), take))
        how = _history(notes, widening, res.filled & ~take, alone_note(take, res.filled))
        return FillResult(values, res.filled, prov, sigma=sigma, skipped=res.skipped, how=how, alone=take)

    def _fill(self, frame: Frame, neighbours, device, weights, with_sigma: bool = True,
              prepared=None, limit=None) -> FillResult:
        """The fill itself (`fill` without the ring check); ``with_sigma`` False: no sigma (the ring check's);
        ``prepared``: the frame's `frame_windows` with these neighbours, when the caller has them; ``limit``:
        see `_run`."""
        return self._run(frame, neighbours, device, weights, with_sigma, prepared, limit)[0]

    def _run(self, frame: Frame, neighbours, device, weights, with_sigma: bool = True,
             prepared=None, limit=None) -> tuple[FillResult, tuple, np.ndarray | None]:
        """`_fill`'s result, HISTORY's notes but the widening's, and what the widening multiplied each pixel's
        sigma by in the image's unit (frame-shaped; None: no widening). ``limit`` (frame-shaped, NaN: none):
        where finite, the most the widening may multiply a pixel's sigma by, in the image's unit
        (`RingVerdict.limit`; 1: none)."""
        windows, owned, declined = prepared if prepared is not None else frame_windows(frame, neighbours)
        if not windows:
            return FillResult.unchanged(frame, Provenance(self.name, device=select_device(device)),
                                        "too little valid context around the missing pixels"), (), None
        mirror = self.mirror and not self.draws
        res, model, dev = run_windows(weights if weights is not None else self.model,
                                      windows + [mirrored(w) for w in windows] if mirror else windows, device,
                                      draws=self.draws, spread=None)
        if mirror:                  # the mean of the network's fill of each window and of its mirror image
            n = len(windows)
            res = [0.5 * (a + b[..., ::-1]) for a, b in zip(res[:n], res[n:])]
        head = gives_spread(model, self.draws)                # run_windows gave its spread
        values = frame.image.copy()
        filled = np.zeros(frame.shape, dtype=bool)
        tex = _Texture.empty(frame.shape, self.texture)
        spread = np.zeros(frame.shape) if self.draws or head else None
        for w, z, m in zip(windows, res, owned):
            y0, y1, x0, x1 = w.box
            if self.draws:              # the prior mean's fill, then the draws: their spread and the noise
                spread[y0:y1, x0:x1][m] = (np.hypot(z[1:].std(0, ddof=1), w.noise) * w.scale)[m]
                z = z[0]
            vz = w.image[w.valid]
            if head:                    # the head's 68.27% half-width, at most the table's cap (PixelFeatures.cap)
                s = np.exp(z[1].astype(np.float64)) * w.scale
                if not w.noise * w.scale > 0:       # a flat or thin context: the head read no noise; at least the
                    s = np.maximum(s, window_noise(frame, w))     # frame's at this level, as the table's unit has it
                spread[y0:y1, x0:x1][m] = np.minimum(s, window_cap(frame, w))[m]
                z = z[0]
            have = w.guides[GUIDES.index("neighbour_count")] > 0     # the neighbours may see what the context does not
            if have.any():
                vz = np.concatenate([vz, w.guides[GUIDES.index("neighbours")][have]])
            lo, hi = float(vz.min()), float(vz.max())
            pad = 0.5 * (hi - lo) + 1.0
            zs = np.clip(z.astype(np.float64), lo - pad, hi + pad)
            values[y0:y1, x0:x1][m] = frame.stretch.inverse(zs * w.scale + w.centre)[m]
            filled[y0:y1, x0:x1] |= m
            tex.add(w, m, lo, hi)
        reads = _reads_neighbours(model)
        widening = None
        if not with_sigma:
            sigma = None
        elif self.draws:
            sigma = to_linear(frame, values, filled, spread[filled])
        elif head:
            values, sigma = self._textured(frame, values, filled, tex, spread[filled])
        else:
            values, sigma, factor = self._sigma(frame, values, filled, tex, neighbours if reads else (),
                                                model.sha256, (windows, owned), limit)
            if factor is not None and np.any(factor > 1.0):     # else none widened: no frame-sized array of ones
                widening = np.ones(frame.shape)
                widening[filled] = factor
        skipped = declined_note(declined)
        notes = tuple(n for n in (
            "mirror-averaged (the mean of the network's output for each window and for its left-right mirror image)"
            if mirror else "", "1-sigma from the network's spread head" if head and sigma is not None else "",
            "textured: the expected value plus a draw of its 1-sigma (white noise seeded by each window's place), "
            "for pictures, not measurements" if self.texture and not self.draws and sigma is not None else "") if n)
        how = _history(notes, widening, filled)
        prov = Provenance(self.name, model.model_id, model.sha256, dev, precision=precision_used(dev, self.draws))
        if reads:
            prov = prov.with_neighbours(neighbours, _neighbours_used(windows, owned, len(neighbours)))
        elif neighbours:
            log.warning("model %s reads no neighbouring frames: filling from this frame alone", model.model_id)
        return FillResult(values, filled, prov, sigma=sigma, skipped=skipped, how=how), notes, widening

    def check_arch(self, weights) -> None:
        """Refuse ``weights`` of another architecture than ``arch`` (an `InputError` in one line; none without an
        ``arch``). The command line checks it before any file is read (`corkit_inpaint.cli.common.check_weights`)."""
        if self.arch is None:
            return
        model = load_model(weights, device="cpu")
        got = getattr(model, "arch", "pconv")
        if got != self.arch:
            raise InputError(f"method {self.name!r} needs {self.arch} weights; {model.model_id} is a {got} network "
                             f"(method 'pconv-smooth' runs any)")

    def _sigma(self, frame: Frame, values, filled, tex, neighbours, sha256: str, windows, limit=None):
        """The fill (textured if asked), its 1-sigma from the expected value's error table (``neighbours``:
        those the network read, for the table's neighbour feature), and what its widening where the
        neighbours disagree multiplied each filled pixel's sigma by in the image's unit
        (`corkit_inpaint.uncertainty.widen`; None: no table). ``limit``: `_run`'s, a bound on that factor."""
        table = table_for(SMOOTH_TABLE, sha256)
        cover = neighbour_cover(frame, neighbours) if neighbours else None
        if table is None:
            log.warning("no error table for these weights (%s): the fill has no sigma%s", sha256[:12],
                        ", and its texture is the local noise" if self.texture else "")
        feats = pixel_features(frame, filled, cover, windows, values)
        if table is None:
            return (*self._textured(frame, values, filled, tex, None, feats.noise), None)
        # the texture is a draw of the table's own sigma, before the widening where the neighbours disagree:
        # that widening is a miss of the expected value (a front the neighbours put elsewhere), not texture
        own, wide = table.sigmas(feats)
        draw = own if self.texture else None
        if limit is not None:       # the ring bounds the expected value's sigma (a texture's draw adds to it)
            wide = _bounded(own, wide, limit[filled])
        out, sigma = self._textured(frame, values, filled, tex, wide, draw=draw)
        if np.array_equal(own, wide):
            return out, sigma, np.ones(own.shape)
        # what the widening multiplied the sigma by in the image's unit (the stretch makes it more than the
        # table's factor on a bright pixel)
        plain = self._textured(frame, values, filled, tex, own, draw=draw)[1][filled]
        return out, sigma, factor_applied(plain, sigma[filled])

    def _textured(self, frame: Frame, values, filled, tex: _Texture, s, noise=None, draw=None):
        """The fill (with a draw of its stretched 1-sigma ``s``, or of ``draw`` where given, or of ``noise``
        without either, if textured, folded into the range of its window's data and its expected value) and
        its 1-sigma in the image's unit, at the value written."""
        if self.texture:
            z = frame.stretch.forward(values[filled])
            lo, hi = np.minimum(tex.lo[filled], z), np.maximum(tex.hi[filled], z)
            z = _folded(z + tex.white[filled] * (draw if draw is not None else s if s is not None else noise), lo, hi)
            values = values.copy()
            values[filled] = frame.stretch.inverse(z)
            if s is not None:           # the draw's spread adds to the expected value's miss
                s = np.sqrt(2.0) * s if draw is None else np.where(draw == s, np.sqrt(2.0) * s, np.hypot(s, draw))
        return values, None if s is None else to_linear(frame, values, filled, s)


@dataclass(frozen=True)
class _Texture:
    """What a textured fill draws with, frame-shaped: each filled pixel's white noise (its window's seeded
    draw over the window's noise) and its window's context range, stretched (the data it read, with the
    neighbours' estimate). A draw never takes a pixel beyond that range and its expected value (`_folded`):
    a several-sigma draw of a wide sigma is no picture of the corona (one went from 441 to 34901 DN
    in a window whose data reached 1929)."""

    white: np.ndarray | None
    lo: np.ndarray | None
    hi: np.ndarray | None

    @classmethod
    def empty(cls, shape: tuple[int, int], texture: bool) -> _Texture:
        """Nothing drawn yet (None throughout where the fill has no texture)."""
        if not texture:
            return cls(None, None, None)
        return cls(np.zeros(shape), np.full(shape, -np.inf), np.full(shape, np.inf))

    def add(self, w, mine: np.ndarray, lo: float, hi: float) -> None:
        """Window ``w``'s pixels ``mine``: its white noise, and its context's range ``lo``-``hi`` in its unit."""
        if self.white is None:
            return
        y0, y1, x0, x1 = w.box
        if w.noise > 0:
            self.white[y0:y1, x0:x1][mine] = (w.texture / w.noise)[mine]
        self.lo[y0:y1, x0:x1][mine] = lo * w.scale + w.centre
        self.hi[y0:y1, x0:x1][mine] = hi * w.scale + w.centre


def _folded(z: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``z`` where it is within ``lo``-``hi`` (unchanged to the bit); beyond, reflected back in at the end it
    passed (again at the other end for a draw beyond by more than the range's width), so that draws past the
    range leave no plateau of one value, as clipping them would (3% of a block's pixels by C2's occulter)."""
    out = np.array(z, dtype=np.float64)
    beyond = (z < lo) | (z > hi)
    if beyond.any():
        zb, lb, width = z[beyond], lo[beyond], hi[beyond] - lo[beyond]
        period = np.where(width > 0, 2.0 * width, 1.0)
        t = np.mod(zb - lb, period)
        out[beyond] = np.where(width > 0, lb + width - np.abs(t - width), lb)
    return out


def _bounded(own: np.ndarray, wide: np.ndarray, most: np.ndarray) -> np.ndarray:
    """``wide``, the stretched sigma of the expected values, widened over ``own`` at most ``most`` times in the
    image's unit (NaN: no bound), in the stretched unit (the ring measured its errors in the image's); a textured
    fill's sigma adds its draw's to it (`PConvFill._textured`).

    At a value ``z`` the half-width of ``inverse(z +- s)`` is ``exptime * softening * cosh(z) * sinh(s)``
    exactly (`corkit_inpaint.uncertainty.tables.to_linear`): a bound on its ratio is one on ``sinh(s)``'s.
    """
    at = np.isfinite(most)
    out = np.array(wide, dtype=np.float64)
    out[at] = np.arcsinh(np.minimum(np.sinh(out[at]), most[at] * np.sinh(own[at])))
    return out


def _reads_neighbours(model) -> bool:
    """Whether ``model`` reads the neighbouring frames (its extra input channels reach the neighbour guides)."""
    return model.config["extra_channels"] > GUIDES.index("neighbours")


def _neighbours_used(windows, owned, n: int, alone: np.ndarray | None = None) -> np.ndarray:
    """Which of the ``n`` neighbours gave data to a window (with ``alone``, the pixels filled from the frame alone:
    to a window with a pixel not among them)."""
    used = np.zeros(n, dtype=bool)
    for w, mine in zip(windows, owned):
        y0, y1, x0, x1 = w.box
        if alone is None or (mine & ~alone[y0:y1, x0:x1]).any():
            used |= np.array(w.used or [False] * n, dtype=bool)
    return used


def _history(notes: tuple, widening: np.ndarray | None, pixels: np.ndarray, *more: str) -> str:
    """HISTORY's words for a fill: its ``notes``, the widening of the sigma of ``pixels`` (``widening``: the
    frame-sized factor, None for none) and ``more``."""
    widened = widened_note(widening[pixels]) if widening is not None else ""
    return "; ".join(n for n in (*notes, widened, *more) if n)


PCONV = PConvFill("pconv", texture=True)
PCONV_SMOOTH = PConvFill("pconv-smooth", texture=False)
