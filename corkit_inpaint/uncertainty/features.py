"""What a filled pixel's error depends on: radial zone, distance to the hole edge, noise, structure, neighbours.

Every feature is computed from what a fill knows (the blanked frame and the
neighbouring frames), never from the truth, so the same features serve the fit
on simulated holes and the sigma of a real fill. The error's unit is
``hypot(noise, spread)``: the window's noise, and the disagreement at the pixel
of the three classical guide fills (biharmonic, radial, azimuthal,
`corkit_inpaint.network.windows.prepare_window`) and the fill itself, which is
large where the structure around the hole does not say what is inside it, or
where the fill departs from what the classical fills say; it follows a real
frame's structure where a noise-only unit would follow the simulator's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..frame import Frame
from ..geometry import ZONE_NAMES, zone_of
from ..network.windows import GUIDES, prepare_window

__all__ = ["DIST_EDGES", "SPREAD_EDGES", "N_ZONES", "DETECTORS", "ZONE_CELLS", "TABLE_SHAPE", "PixelFeatures",
           "pixel_features", "neighbour_cover", "window_noise", "window_cap", "hole_distance", "SPREADS"]

#: Distance to the nearest valid pixel, px: 1, 2, 3-4, 5-8, 9-16, 17-32, 33-64, more (the last three only in
#: losses of several blocks across: clusters, rows of blocks).
DIST_EDGES = (0.0, 1.5, 2.5, 4.5, 8.5, 16.5, 32.5, 64.5, np.inf)
#: The guides' spread over the window's noise.
SPREAD_EDGES = (0.0, 1.0, 3.0, 10.0, np.inf)
#: How a table measures the spread (`PixelFeatures.spread_of`): ``"range"``, the range of the three guide fills
#: and the fill; ``"near"``, the same without the guide farthest from the fill, so that one guide far off (a
#: ray that crosses the occulter's shadow, a circle along a long loss), which the network leaves aside, does not
#: widen the sigma (the default model's table since 0.1.18, `docs/spread_2026-12-06.json`).
SPREADS = ("range", "near")
#: The radial zones of `corkit_inpaint.geometry.ZONES`, and last everything outside them (or no geometry).
N_ZONES = len(ZONE_NAMES) + 1
#: The detectors whose zones have cells of their own: the simulator says a C3 fill's error, in the table's
#: unit, is smaller in the inner and mid field than a C2 fill's (z 0.63-0.88 with one table for both).
DETECTORS = ("C2", "C3")
#: The tables' zone cells: each detector's zones in turn (C2 inner, mid, outer, C3 inner, ...), then the rest.
ZONE_CELLS = len(DETECTORS) * len(ZONE_NAMES) + 1
#: (neighbour data: no / yes, zone cell, distance bin, spread bin)
TABLE_SHAPE = (2, ZONE_CELLS, len(DIST_EDGES) - 1, len(SPREAD_EDGES) - 1)


@dataclass(frozen=True, eq=False)
class PixelFeatures:
    """The features of a set of pixels, each a 1-D array in ``numpy.nonzero(pixels)`` order.

    Attributes
    ----------
    pixels : numpy.ndarray of bool
        The pixels described (a frame-shaped mask).
    zone : numpy.ndarray of int
        Index in `corkit_inpaint.geometry.ZONE_NAMES`; ``N_ZONES - 1`` outside them.
    dist : numpy.ndarray of float
        Distance to the nearest valid context pixel, px.
    noise : numpy.ndarray of float
        Noise sigma of the pixel's window, in the frame's stretched units.
    spread : numpy.ndarray of float
        Largest minus smallest of the three classical guide fills and the fill at the pixel, stretched units.
    cap : numpy.ndarray of float
        Twice the range of the window's valid context, plus its noise, stretched: the
        largest sigma given (the network's fill stays within half that range of the
        context, and a sigma beyond it would say nothing).
    neighbour : numpy.ndarray of bool
        Whether a neighbouring frame has data at the pixel.
    detector : str
        The frame's detector (``"C2"``, ``"C3"``; ``""`` without a geometry).
    near : numpy.ndarray or None
        As ``spread``, without the guide farthest from the fill (from the guides' median where no fill
        was given); None: the same as ``spread``.
    misfit : numpy.ndarray or None
        Where the window read neighbouring frames: how far their estimate misses this frame's valid
        pixels around the pixel (the network's misfit guide, `corkit_inpaint.match.neighbour_estimate`),
        over the window's noise; 0 where they have no data there. None: not known (windows prepared
        without the neighbours).
    disagree : numpy.ndarray or None
        As ``misfit``, the neighbours' spread at the pixel (largest minus smallest of their estimates,
        where two or more have data) over the window's noise.
    """

    pixels: np.ndarray
    zone: np.ndarray
    dist: np.ndarray
    noise: np.ndarray
    spread: np.ndarray
    cap: np.ndarray
    neighbour: np.ndarray
    detector: str = ""
    near: np.ndarray | None = None
    misfit: np.ndarray | None = None
    disagree: np.ndarray | None = None

    def spread_of(self, kind: str = "range") -> np.ndarray:
        """The spread a table of `SPREADS` kind ``kind`` reads: ``spread`` or ``near``."""
        if kind not in SPREADS:
            raise ValueError(f"spread {kind!r}: one of {', '.join(SPREADS)}")
        return self.near if kind == "near" and self.near is not None else self.spread

    def unit_of(self, kind: str = "range") -> np.ndarray:
        """The error's unit, ``hypot(noise, spread)``, stretched, for a table of `SPREADS` kind ``kind``."""
        return np.hypot(self.noise, self.spread_of(kind))

    @property
    def unit(self) -> np.ndarray:
        """The error's unit with the whole range, ``hypot(noise, spread)``, stretched."""
        return self.unit_of("range")

    def zone_cells(self) -> np.ndarray:
        """Each pixel's zone cell (`ZONE_CELLS`): its detector's zone, or the last cell outside the zones."""
        if self.detector not in DETECTORS:
            return np.full(self.zone.shape, ZONE_CELLS - 1)
        inside = (self.zone >= 0) & (self.zone < len(ZONE_NAMES))          # -1 (`zone_of`'s outside) too
        return np.where(inside, self.zone + DETECTORS.index(self.detector) * len(ZONE_NAMES), ZONE_CELLS - 1)

    def cells(self, kind: str = "range") -> np.ndarray:
        """Each pixel's flat index into an array of `TABLE_SHAPE`, for a table of `SPREADS` kind ``kind``."""
        d = np.searchsorted(DIST_EDGES, self.dist, side="right") - 1
        n = np.searchsorted(SPREAD_EDGES, self.spread_of(kind) / np.maximum(self.noise, 1e-12), side="right") - 1
        d = np.clip(d, 0, TABLE_SHAPE[2] - 1)
        n = np.clip(n, 0, TABLE_SHAPE[3] - 1)
        return np.ravel_multi_index((self.neighbour.astype(int), self.zone_cells(), d, n), TABLE_SHAPE)


def neighbour_cover(frame: Frame, neighbours: Sequence) -> np.ndarray:
    """Missing pixels of ``frame`` where at least one registered neighbour has data."""
    cover = np.zeros(frame.shape, dtype=bool)
    if not neighbours:
        return cover
    boxes, _ = frame.windows
    for y0, y1, x0, x1 in boxes:
        for nb in neighbours:
            cover[y0:y1, x0:x1] |= nb.valid_on((y0, y1, x0, x1))
    return cover & frame.missing


def window_noise(frame: Frame, w) -> float:
    """The noise of window ``w``, stretched: its own, or for a flat context (or one too thin to estimate
    noise in) the frame's noise at the window's level.

    Parameters
    ----------
    frame : Frame
    w : corkit_inpaint.network.windows.Window

    Returns
    -------
    float
    """
    wn = w.noise * w.scale
    if not wn > 0:
        wn = frame.noise / (frame.stretch.softening * float(np.cosh(w.centre)))
    return wn


def window_cap(frame: Frame, w) -> float:
    """The largest 1-sigma given in window ``w``, stretched: twice the range of its valid context, plus its
    noise (`window_noise`); a fill stays within half that range of the context, and a wider sigma says nothing.

    Parameters
    ----------
    frame : Frame
    w : corkit_inpaint.network.windows.Window

    Returns
    -------
    float
    """
    ctx = w.image[w.valid]
    return 2.0 * w.scale * float(ctx.max() - ctx.min()) + window_noise(frame, w)


def hole_distance(valid: np.ndarray, ly: np.ndarray, lx: np.ndarray, grow: int = 2) -> np.ndarray:
    """The distance (px) from each pixel ``(ly, lx)`` to the nearest ``valid`` pixel: the Euclidean distance
    transform of ``~valid`` there, the same values as over the whole array, in less time.

    The transform runs on the pixels' bounding box grown by ``grow`` px (within the array). A pixel
    nearer to a box edge inside the array than to the valid pixel the box found may have a nearer
    one beyond that edge: those pixels take the whole array's transform.
    """
    ny, nx = valid.shape
    if ly.size == 0:
        return np.zeros(0)
    y0, y1 = max(int(ly.min()) - grow, 0), min(int(ly.max()) + 1 + grow, ny)
    x0, x1 = max(int(lx.min()) - grow, 0), min(int(lx.max()) + 1 + grow, nx)
    sub = valid[y0:y1, x0:x1]
    if not sub.any():               # nothing valid in the box: the whole array's transform
        return ndimage.distance_transform_edt(~valid)[ly, lx]
    d = ndimage.distance_transform_edt(~sub)[ly - y0, lx - x0]
    inf = np.inf                    # how far each pixel is from the nearest pixel beyond an edge inside the array
    edge = np.minimum.reduce([ly - y0 + 1 if y0 > 0 else np.full(ly.shape, inf),
                              y1 - ly if y1 < ny else np.full(ly.shape, inf),
                              lx - x0 + 1 if x0 > 0 else np.full(lx.shape, inf),
                              x1 - lx if x1 < nx else np.full(lx.shape, inf)])
    far = d > edge
    if far.any():
        d[far] = ndimage.distance_transform_edt(~valid)[ly[far], lx[far]]
    return d


def _window_terms(frame: Frame, flat: np.ndarray, windows=None):
    """Distance, noise, the three guides (``(3, n)``) and cap (stretched) of the pixels at flat indices ``flat``,
    and the neighbour guides' misfit and spread over the window's noise (``(2, n)``; None without ``windows``).

    ``flat`` is sorted (`numpy.flatnonzero` of a subset of the missing pixels).
    All are computed window by window: the distance to the nearest valid pixel
    inside the window (which reaches 32 px beyond its holes, so it is the
    nearest one in the frame). A pixel no window fills gets distance 0, noise
    1, guides 0 and an infinite cap.

    ``windows`` are ``(windows, owned)`` of `corkit_inpaint.network.windows.frame_windows`
    when the caller has them; otherwise they are prepared here.
    """
    n, nx = flat.size, frame.shape[1]
    dist, noise, guides, cap = np.zeros(n), np.ones(n), np.zeros((3, n)), np.full(n, np.inf)
    nb = None if windows is None else np.zeros((2, n))
    if windows is None:
        boxes, owner = frame.windows
        prepared = []
        for k, box in enumerate(boxes):
            y0, y1, x0, x1 = box
            try:
                w = prepare_window(frame.stretched, frame.valid, box, frame.sun_centre)
            except ValueError:           # too little context: the pixels are not filled
                continue
            prepared.append((w, owner[y0:y1, x0:x1] == k))
    else:
        prepared = list(zip(*windows))
    for w, mine in prepared:
        y0, y1, x0, x1 = w.box
        ly, lx = np.nonzero(mine)
        at = np.searchsorted(flat, (ly + y0) * nx + (lx + x0))
        ours = at < n                    # the window's pixels among ``flat``
        ours[ours] = flat[at[ours]] == (ly[ours] + y0) * nx + (lx[ours] + x0)
        if not ours.any():
            continue
        at, ly, lx = at[ours], ly[ours], lx[ours]
        guides[:, at] = w.guides[:3, ly, lx].astype(np.float64) * w.scale + w.centre
        noise[at] = window_noise(frame, w)
        dist[at] = hole_distance(w.valid, ly, lx)
        cap[at] = window_cap(frame, w)
        if nb is not None and w.noise > 0:      # the guides' misfit is log1p(misfit / noise), their spread / scale
            nb[0, at] = np.expm1(w.guides[GUIDES.index("neighbour_misfit"), ly, lx].astype(np.float64))
            nb[1, at] = w.guides[GUIDES.index("neighbour_spread"), ly, lx].astype(np.float64) / w.noise
    return dist, noise, guides, cap, nb


def pixel_features(frame: Frame, pixels: np.ndarray, neighbour: np.ndarray | None = None,
                   windows=None, values: np.ndarray | None = None) -> PixelFeatures:
    """The features of ``pixels`` (a subset of ``frame.missing``).

    Parameters
    ----------
    frame : Frame
        The frame as the fill saw it.
    pixels : numpy.ndarray of bool
        The filled pixels.
    neighbour : numpy.ndarray of bool, optional
        Where a neighbouring frame had data (`neighbour_cover`); None: nowhere.
    windows : tuple, optional
        ``(windows, owned)`` of `corkit_inpaint.network.windows.frame_windows`, to reuse their guides
        (and to know the neighbour guides' ``misfit`` and ``disagree``, which windows prepared here lack).
    values : numpy.ndarray, optional
        The fill (frame-shaped, the image's unit): its distance from the guides widens the spread, and
        the guide farthest from it is the one ``near`` leaves out.

    Returns
    -------
    PixelFeatures
        With both spreads: ``spread`` (all three guides) and ``near`` (`SPREADS`).
    """
    pixels = np.asarray(pixels, dtype=bool)
    flat = np.flatnonzero(pixels)
    ys, xs = np.divmod(flat, frame.shape[1])
    zone = np.full(ys.size, N_ZONES - 1) if frame.geometry is None else zone_of(ys, xs, frame.geometry)
    zone = np.where(zone >= 0, zone, N_ZONES - 1)
    dist, noise, guides, cap, nbt = _window_terms(frame, flat, windows)
    f = None if values is None else frame.stretch.forward(np.asarray(values, dtype=np.float64).reshape(-1)[flat])
    nb = np.zeros(ys.size, dtype=bool) if neighbour is None else np.asarray(neighbour, dtype=bool).reshape(-1)[flat]
    det = "" if frame.geometry is None else frame.geometry.detector
    return PixelFeatures(pixels, zone.astype(int), dist, noise, _range(guides, f), cap, nb, det,
                         near=_range(guides, f, drop_farthest=True), misfit=None if nbt is None else nbt[0],
                         disagree=None if nbt is None else nbt[1])


def _range(guides: np.ndarray, fill: np.ndarray | None, drop_farthest: bool = False) -> np.ndarray:
    """Per pixel, the range of the guides ``(3, n)`` and the ``fill`` (where given); with ``drop_farthest``,
    without the guide farthest from the fill (or, with no fill, from the guides' median; the first in the
    guides' order on a tie)."""
    if drop_farthest:
        ref = np.median(guides, axis=0) if fill is None else fill
        keep = np.ones(guides.shape, dtype=bool)
        keep[np.abs(guides - ref).argmax(0), np.arange(guides.shape[1])] = False
        guides = guides.T[keep.T].reshape(-1, guides.shape[0] - 1).T
    lo, hi = guides.min(0), guides.max(0)
    if fill is not None:
        lo, hi = np.minimum(lo, fill), np.maximum(hi, fill)
    return hi - lo
