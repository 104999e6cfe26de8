"""The frame model: one image, its missing pixels and everything a fill needs, built once.

Every method, the training set-up and the evaluation build a `Frame` the same
way, so they all see the same valid context, value space, geometry and noise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from . import header as H
from .blocks import zero_block_pixels
from .exceptions import InputError
from .geometry import Geometry, frame_centre, optical_geometry
from .stretch import Stretch, noise_sigma

__all__ = ["Frame", "context_valid", "implausible", "COUNT_MAX_DN", "MAX_RATE"]

log = logging.getLogger(__name__)

#: DN/s beyond any frame (LASCO's deepest summed counts over its shortest exposure: ~1e8): a header making
#: more of a frame (a denormal EXPTIME, an OFFSET of 1e300) is refused.
MAX_RATE = 1e12

#: The largest count one read-out pixel can hold in a 16-bit level-0.5 file, in DN (the ADC's full scale is
#: 16383, `corkit_inpaint.register.SATURATION_DN`). A value beyond it, times the on-board summing, is no count.
COUNT_MAX_DN = 65535.0


def context_valid(image: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Pixels a fill may read: finite, not missing, not in any all-zero block (never sent)."""
    return np.isfinite(image) & ~missing & ~zero_block_pixels(image)


def implausible(values: np.ndarray, header) -> np.ndarray:
    """Level-0.5 values that no LASCO read-out can give: beyond +/- `COUNT_MAX_DN` times the on-board summing.

    Only where ``header`` makes the values DN (it has OFFSET and EXPTIME, `corkit_inpaint.header.bias_and_exptime`);
    all False otherwise. Such pixels (a corrupted float file: 1e7 to 1e20 DN) would otherwise set the frame-wide
    noise, value space and saturation ceiling, and so move fills far from them.

    Parameters
    ----------
    values : numpy.ndarray
        DN values, any shape.
    header : astropy.io.fits.Header, mapping or None

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``values``.
    """
    v = np.asarray(values)
    if H.bias_and_exptime(header) is None:
        return np.zeros(v.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.abs(v) > COUNT_MAX_DN * H.leb_summing(header)


@dataclass(frozen=True, eq=False)
class Frame:
    """A 2-D frame prepared for filling.

    Build it with `Frame.build`; the attributes are read-only.

    Attributes
    ----------
    image : numpy.ndarray
        float64 copy of the stored array, in its linear unit (DN for level 0.5).
    header : astropy.io.fits.Header or None
    missing : numpy.ndarray of bool
        The pixels to fill.
    valid : numpy.ndarray of bool
        The context a fill may read (`context_valid`), less `implausible` pixels.
    stretch : corkit_inpaint.stretch.Stretch
        The value space: ``asinh((DN - OFFSET) / EXPTIME / sigma)``.
    noise : float
        Immerkaer noise sigma of the valid pixels, in rate units (DN/s).
    geometry : corkit_inpaint.geometry.Geometry or None
        Detector, Sun centre, solar radius, occulter and field-stop radii.
    sun_centre : tuple of float or None
        ``(cy, cx)``: CRPIX when the header has it, else the detector's
        nominal centre, else None (methods then use the image centre).
    """

    image: np.ndarray
    header: object
    missing: np.ndarray
    valid: np.ndarray
    stretch: Stretch
    noise: float
    geometry: Geometry | None
    sun_centre: tuple[float, float] | None

    @classmethod
    def build(cls, image: np.ndarray, missing: np.ndarray | None = None, header=None, *,
              not_context: np.ndarray | None = None) -> Frame:
        """Prepare a frame.

        Parameters
        ----------
        image : numpy.ndarray
            2-D array in a linear unit.
        missing : numpy.ndarray of bool, optional
            Pixels to fill; none when omitted (a truth frame for scoring).
        header : astropy.io.fits.Header or mapping, optional
            OFFSET and EXPTIME set the value space; DETECTOR, CRPIX and
            summing the geometry.
        not_context : numpy.ndarray of bool, optional
            Pixels that are present but must not be read as data (an earlier fill's estimates).

        Raises
        ------
        InputError
            Not 2-D, a mask of another shape, or a header with non-numeric
            values where numbers are read.
        """
        img = np.array(image, dtype=np.float64)
        if img.ndim != 2:
            raise InputError(f"expected a 2-D image, got shape {img.shape}")
        # a copy: the frame's windows (`windows`) are computed once, so its mask must not change under it
        miss = np.zeros(img.shape, dtype=bool) if missing is None else np.array(missing, dtype=bool)
        if miss.shape != img.shape:
            raise InputError(f"mask shape {miss.shape} differs from image shape {img.shape}")
        H.check_header(header)
        valid = context_valid(img, miss)
        if not_context is not None:
            valid &= ~np.asarray(not_context, dtype=bool)
        absurd = valid & implausible(img, header)
        if absurd.any():        # left as they are, but not read: else they set the noise and value space
            log.warning("%d pixels beyond %g DN are no LASCO counts (corrupted?): not read as data", int(absurd.sum()),
                        COUNT_MAX_DN * H.leb_summing(header))
            valid &= ~absurd
        known = H.bias_and_exptime(header)
        bias, exptime = known or (0.0, 1.0)
        with np.errstate(over="ignore", invalid="ignore"):
            rate = (img - bias) / exptime
        # a header's OFFSET and EXPTIME making DN/s no frame has (NaN too); an array without them is in its own unit
        if known and not (peak := _peak(rate, valid)) <= MAX_RATE:
            raise InputError(f"its DN/s reach {peak:.3g} with a bias of {bias:.6g} DN (OFFSET times the summing) "
                             f"and EXPTIME {exptime:.6g} s, beyond any LASCO frame's ({MAX_RATE:g}): the header is "
                             "wrong")
        noise = noise_sigma(rate, valid)
        st = Stretch.from_rate(rate, valid, bias=bias, exptime=exptime, noise=noise)
        geo = optical_geometry(header)
        return cls(img, header, miss, valid, st, noise, geo, frame_centre(header, geo))

    def blanked(self, pixels: np.ndarray) -> Frame:
        """This frame with its valid ``pixels`` to fill instead of its missing ones (which stay unread).

        The ``pixels`` are set to 0, as a lost block's are; their truth stays in
        this frame's ``image``. The value space, noise and geometry are this
        frame's, so a fill of the blanked pixels can be compared with that truth.
        """
        pixels = np.asarray(pixels, dtype=bool)
        return self.with_missing(pixels, blank=pixels)

    def with_missing(self, missing: np.ndarray, blank: np.ndarray | None = None) -> Frame:
        """This frame with ``missing`` to fill instead of its missing pixels; its other pixels that are not
        `valid` stay unread.

        ``blank``: valid pixels to set to 0 (as a lost block's are; their truth stays in this frame's
        ``image``) and to fill too: they must be in ``missing``. Unlike a `Frame.build` of the pixels, the value
        space, noise, geometry and Sun centre are this frame's (a `cropped` or `blanked` one's included), so a
        fill of the new frame is this frame's fill of those pixels.
        """
        missing = np.array(missing, dtype=bool)
        image = self.image
        for name, m in (("missing", missing), ("blank", blank)):
            if m is not None and np.shape(m) != self.shape:     # broadcast, a row would mark whole columns
                raise InputError(f"{name} has shape {np.shape(m)}, the frame {self.shape}: give a mask of one shape")
        if blank is not None:
            blank = np.asarray(blank, dtype=bool)
            if (blank & ~missing).any():
                raise ValueError("blanked pixels must be missing too")
            image = np.where(blank, 0.0, image)
        out = replace(self, image=image, missing=missing, valid=self.valid & ~missing)
        out.__dict__["stretched"] = np.where(missing, self.stretch.forward(np.float64(self.stretch.bias)),
                                             self.stretched)     # what `stretched` gives, without redoing the stretch
        return out

    def cropped(self, box: tuple[int, int, int, int]) -> Frame:
        """This frame cut to ``box`` = ``(y0, y1, x0, x1)``, with its Sun centre and geometry moved with it.

        A frame without a Sun centre gets the whole frame's image centre (what
        the methods use then), moved. The value space and noise stay the whole frame's; ``header`` is the
        whole frame's too (its CRPIX are not moved). A fill that reads only
        the frame near each hole (`corkit_inpaint.methods.FillMethod.local`)
        gives the same values in a crop as in the whole frame.
        """
        y0, y1, x0, x1 = box
        sl = (slice(y0, y1), slice(x0, x1))
        geo = None if self.geometry is None else replace(self.geometry, cx=self.geometry.cx - x0,
                                                        cy=self.geometry.cy - y0)
        cy, cx = self.sun_centre or ((self.shape[0] - 1) / 2, (self.shape[1] - 1) / 2)   # the methods' default
        sun = (cy - y0, cx - x0)
        out = replace(self, image=self.image[sl].copy(), missing=self.missing[sl].copy(), valid=self.valid[sl].copy(),
                      geometry=geo, sun_centre=sun)
        out.__dict__["stretched"] = self.stretched[sl].copy()
        return out

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``."""
        return self.image.shape

    @cached_property
    def windows(self) -> tuple[tuple[tuple[int, int, int, int], ...], np.ndarray]:
        """The windows that fill `missing`, and for each pixel the index of the one that fills it
        (`corkit_inpaint.network.windows.windows_for`), computed once per frame; both read-only."""
        from .network.windows import windows_for
        boxes, owner = windows_for(self.missing)
        owner.flags.writeable = False
        return tuple(boxes), owner

    @cached_property
    def stretched(self) -> np.ndarray:
        """The image in the value space, the bias where not valid."""
        return self.stretch.forward(np.where(self.valid, self.image, self.stretch.bias))


def _peak(values: np.ndarray, where: np.ndarray) -> float:
    """The largest ``|values|`` where ``where`` (0 for none; NaN if one is NaN), without copying the pixels."""
    hi = np.max(values, where=where, initial=-np.inf)
    lo = np.min(values, where=where, initial=np.inf)
    return float(np.max([hi, -lo, 0.0]))
