"""The fitted error tables, and the per-pixel 1-sigma they give a fill, in the image's unit.

For each method (and, for a network, each weights file) a table holds, per
cell of `corkit_inpaint.uncertainty.features.TABLE_SHAPE`, the half-width of
the central 68.27% interval of the method's error in the frame's stretched
(asinh) space, in units of ``hypot(noise, guide spread)``
(`corkit_inpaint.uncertainty.features.PixelFeatures.unit_of`, the spread measured as
the table says: `ErrorTable.spread`), fitted on
simulated holes (`corkit_inpaint.uncertainty.fit`). A fill's sigma is that
half-width times the pixel's unit, brought back to the image's unit exactly:
the half-width of the stretched interval ``fill +- sigma`` once unstretched.

The tables are a JSON file (``corkit_inpaint/data/error_tables.json``):
numbers only, nothing in it is executed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..exceptions import WeightsError, first_line
from ..frame import Frame
from ..geometry import ZONE_NAMES
from .features import DETECTORS, SPREADS, TABLE_SHAPE, PixelFeatures, pixel_features
from .widen import Widening, factor_applied, parse_widening, widened_note

__all__ = ["ErrorTable", "MIN_K", "FORMAT", "POOLED_SHAPE", "by_detector", "parse_tables", "load_tables", "table_key",
           "table_for", "table_sigma", "fill_sigma", "to_linear", "TABLES_FILE"]

log = logging.getLogger(__name__)

#: The shipped tables, inside the package.
TABLES_FILE = "data/error_tables.json"


@dataclass(frozen=True, eq=False)
class ErrorTable:
    """One method's error table.

    Attributes
    ----------
    method : str
        The method it was fitted for.
    sha256 : str
        The weights file's sha256 for a network method, ``""`` for a classical one.
    k : numpy.ndarray
        `TABLE_SHAPE` half-widths, in units of `PixelFeatures.unit_of` ``spread``.
    spread : str
        How the table measures the guides' spread (`corkit_inpaint.uncertainty.features.SPREADS`):
        ``"range"`` (a file's table that names none) or ``"near"``.
    widen : Widening or None
        The factors for pixels whose neighbouring frames disagree with the frame or with each other
        (`corkit_inpaint.uncertainty.widen`); None: none.
    """

    method: str
    sha256: str
    k: np.ndarray
    spread: str = "range"
    widen: Widening | None = None

    def sigmas(self, features: PixelFeatures) -> tuple[np.ndarray, np.ndarray]:
        """The table's own 1-sigma of each pixel of ``features`` and the one `widen` makes of it (the same
        array without a `widen`), in stretched units, both at most `PixelFeatures.cap`."""
        s = self.k.ravel()[features.cells(self.spread)] * features.unit_of(self.spread)
        own = np.minimum(s, features.cap)
        return own, own if self.widen is None else np.minimum(s * self.widen.of(features), features.cap)

    def stretched(self, features: PixelFeatures, widened: bool = True) -> np.ndarray:
        """The 1-sigma of each pixel of ``features``, in stretched units (at most `PixelFeatures.cap`);
        without ``widened``, the table's own, before any `widen` (`sigmas`)."""
        return self.sigmas(features)[1 if widened else 0]

    def widened_by(self, features: PixelFeatures) -> np.ndarray:
        """What the widening multiplied each pixel's sigma by once capped (1 where the cap held both, or the
        sigma is 0): what HISTORY reports (`corkit_inpaint.uncertainty.widen.factor_applied`)."""
        return factor_applied(*self.sigmas(features))

    def widening(self, features: PixelFeatures) -> np.ndarray:
        """Each pixel's factor from `widen` (1 without it, `Widening.of`)."""
        return np.ones(features.neighbour.shape) if self.widen is None else self.widen.of(features)


#: The smallest half-width a table may hold, in its unit: below it a fill would be reported exact (the fit's
#: own lowest value is about 1e-3, `corkit_inpaint.uncertainty.fit`).
MIN_K = 1e-4


@lru_cache(maxsize=4)
def load_tables(path: str | None = None) -> dict[str, ErrorTable]:
    """``{key: ErrorTable}`` from a tables file (default: the shipped one); key is ``method`` or ``method@sha256``.

    Raises
    ------
    WeightsError
        The file cannot be read, or is not a tables file as `corkit_inpaint.uncertainty.fit` writes it (one
        line naming it: a damaged installation, not a bad input).
    """
    if path is None:
        res = files("corkit_inpaint") / TABLES_FILE
        if not res.is_file():
            log.warning("%s is missing: fills get no sigma", TABLES_FILE)
            return {}
        where = str(res)
    else:
        where = str(path)
    try:
        text = res.read_text() if path is None else Path(path).read_text()
        return parse_tables(json.loads(text))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WeightsError(f"{where}: not a usable error-tables file ({first_line(exc)}); reinstall the "
                           "package, or remake it with python -m corkit_inpaint.uncertainty.fit") from None


#: The format `corkit_inpaint.uncertainty.fit` writes (a file that names none is read as this one).
FORMAT = 3
#: The shape of a table in a format-2 file (before 0.1.13): one zone axis for both detectors.
POOLED_SHAPE = (TABLE_SHAPE[0], len(ZONE_NAMES) + 1, *TABLE_SHAPE[2:])


def by_detector(k: np.ndarray) -> np.ndarray:
    """A format-2 table (`POOLED_SHAPE`) as a `TABLE_SHAPE` one: each zone's values for every detector.

    Such a table gives the same sigma as it did; only a refit tells the detectors apart.
    """
    nz = len(ZONE_NAMES)
    return np.concatenate([k[:, :nz]] * len(DETECTORS) + [k[:, nz:]], axis=1)


def parse_tables(doc) -> dict[str, ErrorTable]:
    """The tables of a parsed tables file (format 2 ones as `TABLE_SHAPE` tables, `by_detector`).

    Raises
    ------
    ValueError
        Naming what is wrong: an unknown format, a table of another shape than its format's, bad values.
    """
    tables = doc.get("tables") if isinstance(doc, dict) else None
    if not isinstance(tables, dict):
        raise ValueError("no 'tables' mapping at its top level")
    fmt = doc.get("format", FORMAT)
    if isinstance(fmt, bool) or fmt not in (2, FORMAT):
        raise ValueError(f"format {fmt!r}: this version reads formats 2 and {FORMAT}")
    pooled, shape = fmt == 2, POOLED_SHAPE if fmt == 2 else TABLE_SHAPE
    out = {}
    for key, t in tables.items():
        if not isinstance(t, dict) or not isinstance(t.get("method"), str) or "k" not in t:
            raise ValueError(f"table {key!r} has no 'method' and 'k'")
        sha = t.get("sha256", "")
        if not isinstance(sha, str) or key != table_key(t["method"], sha):
            raise ValueError(f"table {key!r} is keyed unlike its method {t['method']!r} and sha256")
        try:
            k = np.asarray(t["k"], dtype=np.float64)
        except (TypeError, ValueError, OverflowError):      # OverflowError: a whole number beyond any float
            raise ValueError(f"table {key!r}: 'k' is not an array of numbers") from None
        if k.shape != shape:
            raise ValueError(f"table {key!r} has shape {k.shape}, not {shape} (format {fmt})")
        k = by_detector(k) if pooled else k
        if not (np.all(np.isfinite(k)) and np.all(k >= MIN_K)):
            raise ValueError(f"table {key!r} holds values that are not finite numbers >= {MIN_K}")
        spread = t.get("spread", "range")
        if not isinstance(spread, str) or spread not in SPREADS:
            raise ValueError(f"table {key!r}: spread {spread!r} is not one of {', '.join(SPREADS)}")
        widen = t.get("widen")
        if widen is not None:
            try:
                widen = parse_widening(widen)
            except ValueError as exc:
                raise ValueError(f"table {key!r}: {exc}") from None
        out[key] = ErrorTable(t["method"], sha, k, spread, widen)
    return out


def table_key(method: str, sha256: str = "") -> str:
    """The key of a table in a tables file: ``method``, or ``method@sha256`` for a network's weights."""
    return f"{method}@{sha256}" if sha256 else method


def table_for(method: str, sha256: str = "") -> ErrorTable | None:
    """The table of ``method`` (with these weights, for a network method), or None when none was fitted."""
    tables = load_tables()
    t = tables.get(table_key(method, sha256))
    if t is None:
        log.info("no error table for %s%s: the fill gets no sigma", method, f" with weights {sha256[:12]}"
                 if sha256 else "")
    return t


def to_linear(frame: Frame, values: np.ndarray, pixels: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Stretched 1-sigma ``s`` of ``pixels`` to the image's unit (frame-shaped, 0 elsewhere).

    The half-width of the interval ``forward(value) +- s`` after `Stretch.inverse`:
    exact for the asinh stretch, however bright the pixel.
    """
    st = frame.stretch
    at = np.flatnonzero(pixels)         # one pass over the frame, not two
    z = st.forward(np.asarray(values, dtype=np.float64).reshape(-1)[at])
    out = np.zeros(frame.shape)
    out.reshape(-1)[at] = 0.5 * (st.inverse(z + s) - st.inverse(z - s))
    return out


def table_sigma(table: ErrorTable, frame: Frame, values: np.ndarray, filled: np.ndarray, *,
                neighbour: np.ndarray | None = None, windows=None, factor: float = 1.0) -> tuple[np.ndarray, str]:
    """The 1-sigma ``table`` gives a fill, in the image's unit (0 outside ``filled``), and what HISTORY says of
    its widening where the neighbours disagree (`corkit_inpaint.uncertainty.widen.widened_note`; ``""``: none).

    ``windows`` (``(windows, owned)`` of `corkit_inpaint.network.windows.frame_windows`, made with the
    neighbours) give the neighbour guides the widening reads; without them nothing is widened. The other
    arguments are `fill_sigma`'s.
    """
    own, wide = table.sigmas(pixel_features(frame, filled, neighbour, windows, values))
    return to_linear(frame, values, filled, factor * wide), widened_note(factor_applied(own, wide))


def fill_sigma(method: str, frame: Frame, values: np.ndarray, filled: np.ndarray, *,
               neighbour: np.ndarray | None = None, sha256: str = "", factor: float = 1.0) -> np.ndarray | None:
    """The 1-sigma of a fill in the image's unit (0 outside ``filled``), or None when ``method`` has no table.

    Parameters
    ----------
    method : str
        The method's table name.
    frame : Frame
        The frame as the method saw it.
    values, filled : numpy.ndarray
        The fill (frame-shaped) and the pixels it filled.
    neighbour : numpy.ndarray of bool, optional
        Where a neighbouring frame had data (`corkit_inpaint.uncertainty.features.neighbour_cover`).
    sha256 : str
        The weights' sha256, for a network method.
    factor : float
        Multiplies the stretched sigma (``sqrt(2)`` for a fill with a draw of the sigma added to it).
    """
    table = table_for(method, sha256)
    return None if table is None else table_sigma(table, frame, values, filled, neighbour=neighbour,
                                                  factor=factor)[0]
