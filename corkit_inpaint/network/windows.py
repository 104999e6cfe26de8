"""Network inputs: windows around the missing blocks, with guide fills and normalisation.

The network never sees a whole frame. Missing blocks are grouped into
8-connected clusters, each cluster gets a window reaching ``MARGIN`` pixels
beyond it, overlapping windows are merged where that saves work (see
`windows_for`), and only those windows are processed, so the cost follows the
number of missing blocks.

In a window of the frame's stretched image, three classical guide fills are made
(biharmonic, and linear interpolation along the ray from the Sun centre and
along the circle about it, `corkit_inpaint.network.guides`), then three from
the neighbouring frames (`corkit_inpaint.match`): their brightness-matched
estimate (each neighbour weighted by how well it matches the context), how
many of them have data, how far they disagree, and how far the estimate is
expected to miss (its misfit to the context, in noise units, log1p-compressed);
and last the window's noise. Everything else is expressed in units of a robust
window scale. `frame_windows` is the one place
where a frame becomes network inputs: inference and training both call it.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from ..biharmonic_cache import inpaint_biharmonic
from ..frame import Frame
from ..match import neighbour_estimate
from ..register import Neighbour
from ..stretch import noise_sigma
from .guides import path_fill

__all__ = ["MARGIN", "MULTIPLE", "MIN_CONTEXT", "GUIDES", "Window", "windows_for", "prepare_window",
           "frame_windows", "mirrored"]

log = logging.getLogger(__name__)

MARGIN = 32
MULTIPLE = 16
MIN_CONTEXT = 16      # fewer valid pixels in a window: its holes are left masked
#: The guide channels, in the order a model reads them (a model reads the first ``extra_channels``).
GUIDES = ("biharmonic", "radial", "azimuthal", "neighbours", "neighbour_count", "neighbour_spread",
          "neighbour_misfit", "noise")


def windows_for(mask: np.ndarray, *, margin: int = MARGIN, multiple: int = MULTIPLE
                ) -> tuple[list[tuple[int, int, int, int]], np.ndarray]:
    """Windows ``(y0, y1, x0, x1)`` covering every cluster of missing pixels with context.

    Parameters
    ----------
    mask : numpy.ndarray of bool
        True where pixels are missing.
    margin : int
        Context in pixels around each cluster's bounding box.
    multiple : int
        Window sides are grown (inside the image where possible) to a multiple of this.

    Returns
    -------
    boxes : list of tuple of int
        One window per group of clusters.
    owner : numpy.ndarray of int
        For each missing pixel, the index of the window that fills it (-1 elsewhere).

    Notes
    -----
    Missing pixels are grouped into 8-connected clusters, each with a window
    reaching ``margin`` pixels beyond it. Overlapping windows are merged when
    their bounding box is no larger than the two windows together, so merging
    never adds work; windows that still overlap stay separate, each filling only
    its own clusters (the other holes in it are invalid context). The cost so
    follows the number of missing blocks, never the frame's area.
    """
    ny, nx = mask.shape
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    groups = []
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        if sl is None:
            continue
        groups.append(([max(sl[0].start - margin, 0), min(sl[0].stop + margin, ny),
                        max(sl[1].start - margin, 0), min(sl[1].stop + margin, nx)], [i]))
    area = lambda b: (b[1] - b[0]) * (b[3] - b[2])
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                a, b = groups[i][0], groups[j][0]
                if a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]:
                    u = [min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])]
                    if area(u) <= area(a) + area(b):
                        groups[i] = (u, groups[i][1] + groups[j][1])
                        del groups[j]
                        merged = True
                        break
            if merged:
                break
    groups.sort(key=lambda g: g[0])
    window_of = np.full(n + 1, -1, dtype=np.int32)        # each cluster's window; -1 for label 0 (not missing)
    boxes = []
    for k, (box, labels) in enumerate(groups):
        y0, y1 = _grow(box[0], box[1], ny, multiple)
        x0, x1 = _grow(box[2], box[3], nx, multiple)
        boxes.append((y0, y1, x0, x1))
        window_of[labels] = k
    return boxes, window_of[lab]


def _grow(a, b, n, multiple):
    need = (-(b - a)) % multiple
    take_hi = min(need, n - b)
    b += take_hi
    a -= min(need - take_hi, a)
    return a, b


@dataclass
class Window:
    """A prepared window: network inputs and what is needed to undo the normalisation."""

    box: tuple[int, int, int, int]
    image: np.ndarray      # normalised stretched values, 0 where invalid
    valid: np.ndarray      # context pixels the network may read
    guides: np.ndarray     # (8, h, w): see GUIDES
    centre: float          # normalisation offset (stretched units)
    scale: float           # normalisation scale (stretched units)
    noise: float           # local noise sigma, in normalised units
    texture: np.ndarray    # seeded white noise times ``noise``: the texture added to the fill
    used: tuple = ()       # for each neighbour, whether it gave data to this window


def mirrored(w: Window) -> Window:
    """The window mirrored left to right, every input (mirror an output for it back with ``[..., ::-1]``)."""
    flip = lambda a: np.ascontiguousarray(a[..., ::-1])
    return replace(w, image=flip(w.image), valid=flip(w.valid), guides=flip(w.guides), texture=flip(w.texture))


def prepare_window(s: np.ndarray, valid: np.ndarray, box, sun_centre: tuple[float, float] | None,
                   neighbours: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, used: tuple = ()
                   ) -> Window:
    """Build the network inputs for one window of a stretched image.

    Parameters
    ----------
    s : numpy.ndarray
        Whole stretched image (any value where invalid).
    valid : numpy.ndarray of bool
        Whole-image validity (False in missing and never-sent blocks, NaN...).
    box : tuple of int
        ``(y0, y1, x0, x1)``.
    sun_centre : (float, float) or None
        ``(cy, cx)`` in whole-image pixels; the window centre's opposite
        default is the image centre.
    neighbours : tuple of numpy.ndarray, optional
        The window's neighbour estimate, the count of neighbours with data,
        their spread and the estimate's misfit (all but the count stretched;
        the misfit guide is its ratio to the window's noise); None or a zero count: the estimate guide is
        the biharmonic fill and the other three are 0.
    used : tuple of bool
        Recorded in the window: which neighbours gave data to it.
    """
    y0, y1, x0, x1 = box
    sw = s[y0:y1, x0:x1].astype(np.float64)
    vw = valid[y0:y1, x0:x1]
    vals = sw[vw]
    if vals.size < MIN_CONTEXT:
        raise ValueError("too few valid pixels around the missing blocks to fill them")
    mu = float(np.median(vals))
    sig_n = noise_sigma(sw, vw)
    q25, q75 = np.percentile(vals, [25, 75])
    scale = max(float(q75 - q25) / 1.349, 4.0 * sig_n, 1e-6)
    z = np.where(vw, (sw - mu) / scale, 0.0)
    bih = inpaint_biharmonic(z, ~vw)
    cy, cx = sun_centre if sun_centre is not None else ((s.shape[0] - 1) / 2, (s.shape[1] - 1) / 2)
    rad, found = path_fill(z, vw, (cy - y0, cx - x0), "radial")
    rad = np.where(found, rad, bih)
    azi, found = path_fill(z, vw, (cy - y0, cx - x0), "azimuthal")
    azi = np.where(found, azi, bih)
    seed = zlib.crc32(np.array(box, dtype=np.int64).tobytes())
    white = np.random.default_rng(seed).standard_normal(z.shape)
    nz = sig_n / scale
    if neighbours is None:
        nb, count, spread, misfit = bih, np.zeros(z.shape), np.zeros(z.shape), np.zeros(z.shape)
    else:
        est, count, spread, misfit = neighbours
        have = count > 0
        nb = np.where(have, (est - mu) / scale, bih)
        count, spread = np.minimum(count, 2) / 2.0, np.where(have, spread / scale, 0.0)
        misfit = np.where(have, np.log1p(misfit / max(sig_n, 1e-12)), 0.0)
    guides = np.stack([bih, rad, azi, nb, count, spread, misfit, np.full(z.shape, nz)]).astype(np.float32)
    return Window(box, z.astype(np.float32), vw, guides, mu, scale, nz, (white * nz).astype(np.float32),
                  tuple(used))


def _neighbour_guides(frame: Frame, neighbours, box, despike: bool = True, only_used: bool = True):
    """The neighbour estimate, count, spread and misfit in ``box``, all but the count stretched (or None).

    With ``only_used``, a neighbour with no data on the window's missing pixels is left out of the
    estimate altogether (it would still move the guides around the hole, and so the fill, while the
    provenance does not name it); without, every neighbour counts, as the shipped weights were trained.
    """
    if not neighbours:
        return None, ()
    e = neighbour_estimate(frame, neighbours, box, weighting="misfit", despike=despike, only_used=only_used)
    if not e.count.any():
        return None, e.used
    fwd = frame.stretch.forward
    width = lambda w: fwd(e.values + 0.5 * w) - fwd(e.values - 0.5 * w)    # a linear width, stretched
    return (fwd(e.values), e.count, width(e.spread), width(e.misfit)), e.used


def frame_windows(frame: Frame, neighbours: Sequence[Neighbour] = (), *, despike: bool = True,
                  only_used: bool = True) -> tuple[list[Window], list[np.ndarray], np.ndarray]:
    """The network inputs of a frame: one `Window` per group of missing-pixel clusters.

    ``neighbours`` (registered on the frame, `corkit_inpaint.register.register`)
    give the neighbour guides; with ``despike`` (the default) a cosmic-ray hit
    in one neighbour is left out of their estimate
    (`corkit_inpaint.match.neighbour_estimate`); with ``only_used`` (the
    default) a neighbour with no data on a window's missing pixels is left out
    of that window, so a fill reads only the neighbours its provenance names.
    Training passes False for both: the estimate the shipped weights were trained on.

    Returns
    -------
    windows : list of Window
    owned : list of numpy.ndarray of bool
        For each window, the missing pixels (in window coordinates) it fills.
    declined : numpy.ndarray of bool
        Missing pixels of windows with too little context (fewer than
        ``MIN_CONTEXT`` valid pixels): left masked.
    """
    windows, owned = [], []
    declined = np.zeros(frame.shape, dtype=bool)
    boxes, owner = frame.windows
    for k, box in enumerate(boxes):
        y0, y1, x0, x1 = box
        mine = owner[y0:y1, x0:x1] == k
        try:
            nb, used = _neighbour_guides(frame, neighbours, box, despike, only_used)
            windows.append(prepare_window(frame.stretched, frame.valid, box, frame.sun_centre, nb, used))
            owned.append(mine)
        except ValueError as exc:             # no context to learn from: leave it masked
            log.warning("pixels in rows %d-%d, columns %d-%d left unfilled: %s", y0, y1, x0, x1, exc)
            declined[y0:y1, x0:x1] |= mine
    return windows, owned, declined
