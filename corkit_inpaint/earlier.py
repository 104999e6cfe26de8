"""What an earlier fill left in a file, checked before the file is filled again: its mask against the pixels its
header says were estimated, and an INPSIGMA extension that is no fill's."""

from __future__ import annotations

import logging

import numpy as np

from . import header as H
from .exceptions import InputError

__all__ = ["check_earlier_mask", "check_own_sigma"]

log = logging.getLogger(__name__)


def check_own_sigma(r) -> None:
    """Refuse to fill into an output a file (`corkit_inpaint.read.Level05`) whose INPSIGMA is another's
    (``foreign_sigma``): the output's would replace it (battery s37: without a word). A neighbour, or a frame to
    score fills on, is read as it is."""
    if r.foreign_sigma:
        raise InputError(f"{r.path}: has an INPSIGMA extension but no INPMASK and no INPAINT: not a corkit-inpaint "
                         "output, and its INPSIGMA would be replaced by the fill's; rename that extension")


def check_earlier_mask(header, previous_fill, what: str) -> None:
    """Refuse a frame whose header says an earlier fill estimated pixels when there is no mask to say which, or
    when its mask (``previous_fill``, an array) flags fewer pixels than the header's ``INPNPIX``.

    A copy that kept only the primary HDU, or a map saved with ``Map.save``,
    has the fill's keywords but not its INPMASK: filled again, the earlier
    estimates would be taken for data and their provenance dropped. So would
    those a cleared or cut mask leaves out; but a crop of a filled frame (an
    image that is not the header's whole field, `corkit_inpaint.header.field_shape`)
    flags fewer of them by right, and is only warned of. ``previous_fill`` True:
    a mask is there, not yet read.
    """
    if not H.says_filled(header):
        return
    npix = H.number(header, "INPNPIX")
    if isinstance(previous_fill, np.ndarray):   # a mask: it must flag every pixel the header says were estimated
        flagged = int(np.count_nonzero(previous_fill))
        if npix is None or flagged >= npix:
            return
        said = (f"its header says an earlier fill estimated {int(npix)} pixels (INPNPIX), but its mask flags "
                f"{flagged}")
        ny, nx = np.shape(previous_fill)
        if flagged == 0 or H.field_shape(header) in (None, (nx, ny)):  # battery s36: a cleared or cut INPMASK
            raise InputError(f"{what}: {said}; the others would be taken for data: use the mask the fill wrote")
        log.warning("%s: %s, and the image is not the whole field its header names (a crop?): estimates cut "
                    "from the mask would be taken for data", what, said)       # (review s36: a submap's refill)
        return
    if previous_fill is not None:
        return
    count = f"{int(npix)} pixels" if npix is not None else "pixels"
    raise InputError(f"{what}: its header says an earlier fill estimated {count} (INPAINT="
                     f"{header.get('INPAINT')!r}), but it carries no INPMASK saying which; refilling would take "
                     "them for data: use the file the fill wrote, with its INPMASK")
