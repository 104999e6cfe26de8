"""A batch's stamp: the id its manifest keeps, written as ``INPBATCH`` into every output the batch writes.

An output that is absent when a batch plans it is not thereby the batch's: a
serial run may write a file of that name into the folder while the batch runs.
So the worker places an output exclusively when the path is empty, and replaces
an existing one only when it is the batch's own: its header carries the
batch's id (`corkit_inpaint.write.BATCH_KEYWORD`), or it is, byte for byte,
the file a ``done`` record says the batch wrote (an output of a release before
the stamp). The id is made once per manifest (`corkit_inpaint.batch.Manifest`)
and kept by every rerun into that folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import uuid
import warnings
from pathlib import Path

from astropy.io import fits

from ..exceptions import first_line
from ..network.registry import sha256sum
from ..write import BATCH_KEYWORD

__all__ = ["new_batch_id", "is_batch_id", "stamp", "stamp_of", "not_this_batch"]

log = logging.getLogger(__name__)


def new_batch_id() -> str:
    """A new batch id: 32 random hex digits."""
    return uuid.uuid4().hex


def is_batch_id(text: str) -> bool:
    """Whether ``text`` is a batch id as `new_batch_id` makes them (a manifest edited by hand may hold others)."""
    return re.fullmatch(r"[0-9a-f]{32}", text) is not None


def stamp(hdul: fits.HDUList, batch: str) -> fits.HDUList:
    """``hdul`` with ``INPBATCH = batch`` in its primary header (in place; a ``.fz`` output moves it to the image's)."""
    hdul[0].header[BATCH_KEYWORD] = (batch, "id of the batch that wrote this")
    return hdul


def stamp_of(path: str | os.PathLike) -> str | None:
    """The ``INPBATCH`` of a FITS file: its primary header's, else a tile-compressed image's (extension 1).

    None when it has none, or is not a regular file (a FIFO is never opened). Raises what astropy raises
    for a file it cannot read.
    """
    if not Path(path).is_file():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path, memmap=False) as h:
            value = h[0].header.get(BATCH_KEYWORD)
            if value is None and not h[0].header.get("NAXIS"):          # fpack's layout: the image follows
                with contextlib.suppress(IndexError):
                    value = h[1].header.get(BATCH_KEYWORD) if isinstance(h[1], fits.CompImageHDU) else None
    return None if value is None else str(value)


def not_this_batch(path: str | os.PathLike, *, batch: str | None, written: str | None = None) -> str:
    """Why the existing file ``path`` is not this batch's output to replace, one line; "" when it is.

    Parameters
    ----------
    path : path-like
        The output, which exists.
    batch : str or None
        The batch's id; None (a task run outside a batch) matches no stamp.
    written : str, optional
        The sha256 of the output a ``done`` record says this batch wrote: a file with
        that content is the batch's own, stamped or not.
    """
    try:
        found = stamp_of(path)
        why = f"its INPBATCH is {found!r}, another batch's" if found is not None else "it carries no INPBATCH"
    except Exception as exc:             # not FITS, cut short, unreadable: not known to be ours
        found, why = None, f"its header cannot be read: {first_line(exc)}"
    if batch is not None and found == batch:
        return ""
    if written is not None and Path(path).is_file():
        try:
            if sha256sum(Path(path)) == written:
                return ""
        except OSError as exc:
            why = f"it cannot be read: {first_line(exc)}"
    return f"{os.fspath(path)}: exists and is not this batch's output ({why}); not replaced (use --overwrite)"
