"""SunPy maps in and out: fill a LASCO level-0.5 `sunpy.map.GenericMap`, get a new map with a mask and uncertainty.

`read_map` reads a file corkit-inpaint wrote as one such map.

sunpy is an optional dependency (``pip install 'corkit-inpaint[sunpy]'``); it is
imported only when `inpaint_map` is called, so ``import corkit_inpaint`` works
without it. The fill itself is the one `corkit_inpaint.inpaint_fits` runs
(`corkit_inpaint.fill.fill_level05`), on the map's data and on its metadata as
a FITS header (``map.fits_header``).
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Iterable

import astropy.units as u
import numpy as np

from . import header as H
from .earlier import check_earlier_mask
from .exceptions import InputError, check_switch, first_line
from .fill import FilledImage, as_method, fill_level05
from .methods import DEFAULT_METHOD, FillMethod
from .read import Level05, read_fits, read_neighbours, refuse_not_level05
from .register import MAX_GAP_MINUTES, check_max_gap
from .threads import using_threads
from .write import stamp_header

__all__ = ["inpaint_map", "read_map", "INSTALL_HINT"]

log = logging.getLogger(__name__)

#: How to get the optional dependency `inpaint_map` needs.
INSTALL_HINT = "pip install 'corkit-inpaint[sunpy]'"
_COMMENTARY = ("HISTORY", "COMMENT", "")


def _sunpy_map():
    """The `sunpy.map` module, or an ImportError that says how to install it."""
    try:
        import sunpy.map
    except ImportError:
        raise ImportError(f"corkit_inpaint.inpaint_map needs sunpy, which is not installed: {INSTALL_HINT}") from None
    return sunpy.map


def _fits_header(smap):
    """The map's meta as a FITS header for the fill.

    sunpy drops cards it cannot write (a HISTORY line with a tab, as LASCO
    headers have) with a warning; the fill reads none of them, and
    `_stamped_meta` keeps the map's own HISTORY, so the warning is not shown.
    """
    from sunpy.util.exceptions import SunpyMetadataWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SunpyMetadataWarning)
        try:
            return smap.fits_header
        except ValueError as exc:          # astropy's "Illegal value" for a meta value FITS cannot hold
            raise InputError(f"{smap.meta.get('filename') or 'map'}: its meta cannot be a FITS header "
                             f"({first_line(exc)})") from None


def _map_name(smap, default: str = "map") -> str:
    """How messages name a map: a map does not know the file it was read from, so by its ``FILENAME`` (the
    archive file's, kept through fills and ``map.save``), as such."""
    name = smap.meta.get("filename")
    return f"the map of {name} (FILENAME)" if name else default


def _checked(smap, max_gap):
    """sunpy's ``GenericMap`` and how messages name ``smap`` (`_map_name`); refuses what is no map, or a map
    sunpy cannot rebuild (`_rebuildable`), and a bad ``max_gap``."""
    gmap = _sunpy_map().GenericMap
    if not isinstance(smap, gmap):
        raise InputError(f"expected a sunpy.map.GenericMap, got {type(smap).__name__}")
    check_max_gap(max_gap)
    what = _map_name(smap)
    _rebuildable(smap, what)
    return gmap, what


def _rebuildable(smap, what: str) -> None:
    """One line, before the fill, when sunpy cannot build a map of ``smap``'s class from its data and meta (the
    filled map is one): a LASCO map whose meta lost ``detector`` fails in sunpy's own code (battery s34)."""
    try:
        with warnings.catch_warnings():         # sunpy's metadata warnings come with the result, once
            warnings.simplefilter("ignore")
            type(smap)(smap.data, smap.meta.copy())
    except Exception as exc:            # noqa: BLE001 - sunpy's own, of any kind
        raise InputError(f"{what}: sunpy cannot make a {type(smap).__name__} of its data and meta "
                         f"({type(exc).__name__}: {first_line(exc)})") from None


def _level05(smap, what: str, refill: bool, neighbour: bool = False) -> Level05:
    """A map's data, metadata as a FITS header and earlier fill, refusing what `read_level05` refuses in a file.

    For a ``neighbour``, the map's ``mask`` (an earlier fill, or pixels flagged otherwise) is never data, and its
    ``uncertainty`` is not read (registering a neighbour uses none).
    """
    data = np.asarray(smap.data)
    H.check_header(smap.meta, what)
    header = _fits_header(smap)
    if data.ndim != 2 or data.dtype.kind not in "iuf":
        raise InputError(f"{what}: expected 2-D numeric data, got {data.dtype} of shape {data.shape}")
    if (bad := _not_finite(data)) is not None:      # NDData's way: NaN under the mask, which is never data
        own = _own_mask(smap, what)
        if own is None or (bad & ~own).any():
            n = int((bad if own is None else bad & ~own).sum())
            raise InputError(f"{what}: the data hold {n} NaN or inf values{'' if own is None else ' outside its mask'}")
        data = np.where(bad, 0, data)      # 0, as a lost pixel: a whole block of them is filled, the rest stay NaN
    refuse_not_level05(header, what)
    if not np.any(data):            # (battery s36: all NaN under the mask was "all zero")
        raise InputError(f"{what}: the data are all zero" + ("" if bad is None else ", NaN or inf"))
    if "INPAINT" in header and not refill:
        raise InputError(f"{what}: already filled by corkit-inpaint (INPAINT={header['INPAINT']!r}); "
                         "use refill=True to fill it again and keep its mask")
    filled_before = refill and "INPAINT" in header        # a refill of a map never filled is a first fill
    prev = _own_mask(smap, what) if filled_before or neighbour else None     # a neighbour's mask: not data
    if filled_before:
        check_earlier_mask(header, prev, what)
    sig = None if prev is None or neighbour else _own_sigma(smap, what)
    return Level05(data, header, prev, sig)


def _not_finite(data: np.ndarray) -> np.ndarray | None:
    """Where ``data`` is NaN or infinite, or None where it is finite everywhere."""
    bad = ~np.isfinite(data) if data.dtype.kind == "f" else None
    return bad if bad is not None and bad.any() else None


def _nan_kept(smap, filled: FilledImage) -> np.ndarray:
    """The filled data with the map's NaN and inf (under its mask, `_level05` gave them as 0) back wherever this
    fill did not fill them: on a refill too, where the earlier fill's pixels are kept as they are."""
    bad = _not_finite(np.asarray(smap.data))
    if bad is None:
        return filled.data
    return np.where(bad if filled.new is None else bad & ~filled.new, smap.data, filled.data)


def _shaped(a, shape, what: str, name: str) -> np.ndarray:
    """``a`` broadcast to the data's ``shape``, or one line saying it cannot be."""
    try:
        return np.broadcast_to(a, shape)
    except ValueError:
        raise InputError(f"{what}: its {name} has shape {np.shape(a)}, the data {shape}") from None


def _own_mask(smap, what: str) -> np.ndarray | None:
    """The map's ``mask`` as a bool array of the data's shape, or None."""
    return None if smap.mask is None else _shaped(np.asarray(smap.mask, dtype=bool), smap.data.shape, what, "mask")


def _own_sigma(smap, what: str) -> np.ndarray | None:
    """The map's ``uncertainty`` as a 1-sigma array of the data's shape (a variance is converted), or None."""
    from astropy.nddata import StdDevUncertainty
    unc = getattr(smap, "uncertainty", None)
    if unc is None:
        return None
    try:
        unc = unc if isinstance(unc, StdDevUncertainty) else unc.represent_as(StdDevUncertainty)
    except (TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{what}: its uncertainty ({type(unc).__name__}) cannot be made a 1-sigma: {exc}") from None
    sigma = np.asarray(unc.array, dtype=np.float64)
    if unc.unit is not None and smap.unit is not None and unc.unit != smap.unit:   # the fill's sigma is in map units
        try:
            sigma = sigma * unc.unit.to(smap.unit)
        except u.UnitConversionError:
            raise InputError(f"{what}: its uncertainty is in {unc.unit}, which is not a unit of its data "
                             f"({smap.unit})") from None
    return _shaped(sigma, smap.data.shape, what, "uncertainty")


def _neighbours(neighbours, gmap) -> list[Level05]:
    """Neighbouring frames given as maps or files; one that cannot be used is left out with a logged warning."""
    out = []
    if isinstance(neighbours, (str, os.PathLike, gmap)):         # one neighbour, given alone
        neighbours = [neighbours]
    if isinstance(neighbours, (dict, bytes)):       # battery s36: a dict's keys were taken for file names
        raise InputError(f"neighbours: expected a sequence of sunpy maps or file names, got "
                         f"{type(neighbours).__name__}")
    try:
        neighbours = list(neighbours or ())
    except TypeError:
        raise InputError(f"neighbours: expected a sequence of sunpy maps or file names, got "
                         f"{type(neighbours).__name__}") from None
    for k, nb in enumerate(neighbours):
        if isinstance(nb, (str, os.PathLike)):
            out += read_neighbours([nb])
        elif isinstance(nb, gmap):
            try:
                out.append(_level05(nb, _map_name(nb, f"neighbouring map {k + 1}"), refill=True,
                                    neighbour=True))
            except InputError as exc:
                log.warning("neighbouring frame left out: %s", exc)
        else:
            raise InputError(f"neighbour {k + 1}: expected a sunpy map or a file name, got {type(nb).__name__}")
    return out


def _stamped_meta(smap, header, filled: FilledImage):
    """A copy of the map's meta with the provenance keywords and HISTORY `stamp_header` adds to ``header``."""
    stamped = stamp_header(header, filled, stage="map")
    meta = copy.deepcopy(smap.meta)
    for key in set(header) - set(stamped):             # an earlier fill's neighbour keywords
        meta.pop(key.lower(), None)
    comments = dict(meta.get("keycomments") or {})
    for card in stamped.cards:
        key = card.keyword
        if key not in _COMMENTARY and (key not in header or header[key] != card.value):
            meta[key.lower()] = card.value
            comments[key] = card.comment
    meta["keycomments"] = comments
    added = list(stamped["HISTORY"])[len(header.get("HISTORY", [])):]     # stamp_header appends
    history = meta.get("history")
    if history is not None and not isinstance(history, str):     # a map made from an astropy header
        # (battery s36: a number raised TypeError after the whole fill)
        history = "\n".join(map(str, history)) if isinstance(history, Iterable) else str(history)
    meta["history"] = "\n".join([history, *added] if history else added)
    return meta


def _uncertainty(filled: FilledImage, method: str, own: np.ndarray | None, finite: np.ndarray):
    """The fill's 1-sigma as a `StdDevUncertainty` (an earlier fill's on a refill that filled nothing), or None.

    ``own``: the input map's own 1-sigma, kept on every pixel this fill (and an earlier one) did not estimate.
    ``finite``: where the output's data are finite; a filled pixel that is not (an earlier fill's, NaN in the
    input and kept NaN) has 0, not estimated.
    """
    from astropy.nddata import StdDevUncertainty
    if filled.sigma is None:
        if filled.provenance is not None:     # something was filled, without a sigma
            log.warning("method %r gives no per-pixel sigma: the filled map has no uncertainty%s", method,
                        "; the input map's own uncertainty is dropped" if own is not None else "")
            return None
        return None if own is None else StdDevUncertainty(np.array(own))
    sigma = np.asarray(filled.sigma, dtype=np.float64)
    if not finite.all():                # a pixel an earlier fill estimated, NaN now (`_nan_kept`): none estimated
        sigma = np.where(filled.filled & ~finite, 0.0, sigma)
    return StdDevUncertainty(sigma if own is None else np.where(filled.filled, sigma, own))


def inpaint_map(smap, *, neighbours=None, method: str | FillMethod = DEFAULT_METHOD, device: str = "auto", weights=None,
                threads: int | None = None, refill: bool = False, max_gap: float | None = MAX_GAP_MINUTES):
    """Fill the missing blocks of a LASCO level-0.5 SunPy map.

    Parameters
    ----------
    smap : sunpy.map.GenericMap
        A level-0.5 map, e.g. ``sunpy.map.Map("22075759.fts")``; it is only read.
    neighbours : sequence of sunpy.map.GenericMap or path-like, optional
        Level-0.5 frames of the same field before and after ``smap``, as maps or files (one may be
        given alone; see `corkit_inpaint.inpaint_array`); only read, and only for a method that reads
        neighbours. One that cannot be used is left out with a logged warning. A neighbour map's
        ``mask`` (an earlier fill) is not read as data. None: fill from ``smap`` alone.
    method, device, weights, threads, max_gap
        As for `corkit_inpaint.inpaint_array`.
    refill : bool
        Fill a map an earlier run filled (its meta has ``INPAINT``): the pixels its ``mask`` flags keep
        their values, their ``uncertainty`` (when it has one) and stay flagged; the whole mask is then
        taken as the earlier fill's, pixels you flagged yourself included. A map without ``INPAINT``
        is filled as with ``refill=False``.

    Returns
    -------
    sunpy.map.GenericMap
        A new map of the same class. ``data``: the input's type, filled pixels replaced, every other
        pixel bit-identical. ``mask``: bool, True where a pixel was filled (NDData's convention: True
        flags a pixel whose value is not a measurement), or where the input map's own ``mask`` flagged
        one (those pixels are not read as context, and left as they are unless they lie in a missing
        block, which is filled whole). ``uncertainty``: an `astropy.nddata.StdDevUncertainty`, the
        fill's 1-sigma in the data's unit on the filled pixels (0 on an earlier fill's pixels a refill's
        input holds as NaN, kept NaN); elsewhere the input map's own
        uncertainty (a variance or inverse variance converted, and brought to the data's unit), or 0
        when it has none (the fill says nothing of the valid pixels' own noise); None when the method
        gives no sigma (then a warning is logged). ``meta``: the input's, with the provenance keywords
        (``INPAINT``, ``INPMODEL``, ... as in `corkit_inpaint.inpaint_fits`) and a HISTORY line added.

    Raises
    ------
    ImportError
        sunpy is not installed (the message says ``pip install 'corkit-inpaint[sunpy]'``).
    InputError
        Not a map; data that are not 2-D, numeric and finite, or all zero; a map of another instrument
        (``INSTRUME`` not LASCO); an already level-1 map; an already filled map without ``refill``; meta
        that cannot be a FITS header; an uncertainty in a unit not convertible to the data's;
        ``neighbours`` that are not maps or file names.
    MethodError
        An unknown method, or one that is not available here.

    Examples
    --------
    >>> import sunpy.map
    >>> import corkit_inpaint as ci
    >>> m = sunpy.map.Map("out/lasco_clear_holes.fts")   # examples/fill_real_c2.py: 12 blocks blanked  # doctest: +SKIP
    >>> filled = ci.inpaint_map(m, method="biharmonic")         # doctest: +SKIP
    >>> int(filled.mask.sum()), filled.meta["inpaint"]          # doctest: +SKIP
    (12288, 'biharmonic')
    >>> filled.save("lasco_clear_filled_map.fts")               # doctest: +SKIP
    """
    gmap, what = _checked(smap, max_gap)
    r = _level05(smap, what, check_switch(refill, "refill"))
    own_mask = None if r.previous_fill is not None else _own_mask(smap, what)    # a first fill: the map's own flags
    try:
        own_sigma = _own_sigma(smap, what)                    # kept wherever this fill estimates nothing
    except InputError as exc:
        log.warning("%s; the filled map's uncertainty is the fill's alone", exc)
        own_sigma = None
    nbs = _neighbours(neighbours, gmap) if as_method(method).reads_neighbours else []
    with using_threads(threads):
        filled = fill_level05(r.data, r.header, method, device=device, weights=weights, neighbours=nbs, max_gap=max_gap,
                              previous_fill=r.previous_fill, previous_sigma=r.previous_sigma, not_data=own_mask)
    log.info("%s: %d blocks filled%s", what, len(filled.blocks),
             f" ({filled.note})" if filled.note else "")
    data = _nan_kept(smap, filled)
    return type(smap)(data, _stamped_meta(smap, r.header, filled), plot_settings=dict(smap.plot_settings),
                      mask=filled.filled if own_mask is None else filled.filled | own_mask,
                      uncertainty=_uncertainty(filled, method, own_sigma, np.isfinite(data)))


def read_map(path: str | os.PathLike):
    """A FITS file corkit-inpaint wrote, as one SunPy map with its ``INPMASK`` and ``INPSIGMA`` attached.

    ``sunpy.map.Map(path)`` makes a map of every image HDU: a list of the
    image, ``INPMASK`` and ``INPSIGMA``. This gives the image's map with the
    two as its ``mask`` and ``uncertainty``, as `inpaint_map` returns them.

    Parameters
    ----------
    path : path-like
        A level-0.5 or level-1 output of `corkit_inpaint.inpaint_fits`, ``corkit-inpaint fill`` or
        ``level_1`` (also a file without the extensions: then no mask or uncertainty).

    Returns
    -------
    sunpy.map.GenericMap
        ``data`` and ``meta`` as ``sunpy.map.Map`` reads the image; ``mask``: bool, True where
        ``INPMASK`` is 1; ``uncertainty``: `astropy.nddata.StdDevUncertainty` from ``INPSIGMA``
        (0 where nothing was estimated), or None without it.

    Raises
    ------
    ImportError
        sunpy is not installed.
    InputError
        What `corkit_inpaint.read.read_fits` refuses, or a file sunpy cannot make a map of.
    """
    from astropy.nddata import StdDevUncertainty
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"path: expected a file path, got {type(path).__name__}")
    r = read_fits(path)
    if r.previous_fill is None and H.says_filled(r.header):      # the rule `check_earlier_mask` refuses by
        log.warning("%s says it was filled (INPAINT = %s) but has no INPMASK (a map.save() file?): the map has no "
                    "mask, so its filled pixels cannot be told from measured ones", path, r.header["INPAINT"])
    sunpy_map = _sunpy_map()            # without sunpy: its ImportError, not the file's fault
    try:                # sunpy's own errors (battery s36: a file without DETECTOR, one whose INSTRUME is EIT)
        smap = sunpy_map.Map((r.data, r.header))
        return type(smap)(smap.data, smap.meta, plot_settings=dict(smap.plot_settings), mask=r.previous_fill,
                          uncertainty=None if r.previous_sigma is None else StdDevUncertainty(r.previous_sigma))
    except Exception as exc:            # noqa: BLE001 - sunpy's own, of any kind
        raise InputError(f"{path}: sunpy cannot make a map of it ({type(exc).__name__}: {first_line(exc)})") from None
