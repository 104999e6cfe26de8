"""Every exception corkit-inpaint raises, in one place.

All derive from `CorkitInpaintError`, so a caller can catch the package's
errors alone. Each message is one line that names the file, model or keyword
at fault and why.
"""

from __future__ import annotations

import unicodedata

__all__ = ["CorkitInpaintError", "InputError", "OutputExistsError", "WeightsError", "CalibrationError", "MethodError",
           "BatchError", "first_line", "naming", "shown", "not_a_file", "check_switch"]


class CorkitInpaintError(Exception):
    """Base class of the package's errors."""


class InputError(CorkitInpaintError, ValueError):
    """An input file, array, header or output path that cannot be processed."""


class OutputExistsError(InputError):
    """An output path that holds a file which is not to be replaced (no overwrite, or not the batch's own)."""


class WeightsError(CorkitInpaintError, RuntimeError):
    """Weights or a registry could not be found, fetched, verified or read."""


class CalibrationError(CorkitInpaintError, RuntimeError):
    """CorKit's calibration files are missing, or corkit's ``level_1`` failed."""


class MethodError(CorkitInpaintError, ValueError):
    """A fill method is unknown, unavailable here, or returned an invalid result."""


class BatchError(CorkitInpaintError, RuntimeError):
    """A batch run cannot start or go on: dask.distributed missing, a scheduler lost, an output folder in use."""


def first_line(exc: BaseException) -> str:
    """The first line of a foreign exception's message, or its type's name when it has none (for one-line errors)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: Unicode categories of characters a log or error line shows escaped: controls (ESC, BEL, newline, DEL, C1),
#: a file name's undecodable bytes (surrogates), line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cs", "Zl", "Zp"})


def shown(text: object, *, spaces: bool = True) -> str:
    """``text`` with each control character written as Python writes it in a string (ESC as ``\\x1b``), as the
    weights registry shows a name: a file name in a log or error line can neither drive the terminal nor forge or
    break a line. Ordinary names are unchanged.

    Parameters
    ----------
    text : str or path-like
    spaces : bool
        Escape tab, newline and carriage return too; False leaves them (a message's own line breaks).

    Returns
    -------
    str
    """
    keep = "" if spaces else "\t\n\r"
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in _HIDDEN and c not in keep else c for c in str(text))


def not_a_file(path) -> str:
    """Why ``path`` is no regular file to read: ``"is a folder"``, ``"no such file"`` or ``"not a regular file"``
    (a device, a FIFO); ``""`` when it is one."""
    from pathlib import Path
    p = Path(path)
    return "" if p.is_file() else "is a folder" if p.is_dir() else "no such file" if not p.exists() \
        else "not a regular file"


def naming(path, text: str) -> str:
    """``text`` prefixed with ``path`` (``"path: text"``) unless it names it already: a one-line message of a run
    over many files says which file it is about. Control characters in ``path``, and all but tab, newline and
    carriage return in the rest of ``text``, are shown escaped (`shown`)."""
    p = shown(path)
    text = shown(str(text).replace(str(path), p), spaces=False) if str(path) else shown(text, spaces=False)
    return text if p in text else f"{p}: {text}"


def check_switch(value, what: str) -> bool:
    """A keyword switch (``overwrite``, ``refill``, ``return_sigma``) as a bool: True or False (numpy's too), else
    a one-line `InputError`. Battery s36: ``overwrite="no"`` replaced an existing output, any text being true."""
    import numpy as np
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{what}={value!r}: give True or False")
