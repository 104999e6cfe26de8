"""Every exception corkit-inpaint raises, in one place.

All derive from `CorkitInpaintError`, so a caller can catch the package's
errors alone. Each message is one line that names the file, model or keyword
at fault and why.
"""

from __future__ import annotations

__all__ = ["CorkitInpaintError", "InputError", "OutputExistsError", "WeightsError", "CalibrationError", "MethodError",
           "BatchError", "first_line", "naming"]


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


def naming(path, text: str) -> str:
    """``text`` prefixed with ``path`` (``"path: text"``) unless it names it already: a one-line message of a run
    over many files says which file it is about."""
    return text if str(path) in text else f"{path}: {text}"
