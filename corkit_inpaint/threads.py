"""How many threads torch may use for a fill: one by default, chosen on purpose rather than left to torch.

torch's own default is one thread per core. A fill runs the network on a few
small windows, too small to share well between threads: on a 2-core machine a
second thread gained nothing measurable for one fill, while a second process
on the other core nearly doubled the throughput (the numbers are in the
README, "Threads" and "Batch runs"). One thread per process, and one process
per core (`corkit_inpaint.batch`), never oversubscribes the machine.

The count is applied only around the network's forward passes and restored
afterwards, so a program that set its own torch thread count keeps it.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
import os
from collections.abc import Iterator

from .exceptions import InputError

__all__ = ["DEFAULT_THREADS", "ENV_VAR", "max_threads", "check_threads", "default_threads", "set_threads",
           "get_threads", "using_threads", "torch_threads"]

#: The package default: one torch thread per fill.
DEFAULT_THREADS = 1
#: Environment variable that overrides `DEFAULT_THREADS` for a process (0: torch's own default).
ENV_VAR = "CORKIT_INPAINT_THREADS"

_process: int | None = None                          # set_threads(); None: the default
_call: contextvars.ContextVar[int | None] = contextvars.ContextVar("corkit_inpaint_threads", default=None)


def max_threads() -> int:
    """The largest thread count accepted: 4 per CPU core, at least 64 (a million crashes OpenMP)."""
    return max(64, 4 * (os.cpu_count() or 1))


def check_threads(n, what: str = "threads") -> int:
    """``n`` as a thread count (0: torch's own default); `InputError` for anything else, or above `max_threads`."""
    text = n.strip() if isinstance(n, str) else None
    if text is not None and text.isdecimal():
        n = int(text)
    if isinstance(n, numbers.Integral) and not isinstance(n, bool) and 0 <= n <= max_threads():
        return int(n)
    if isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > max_threads():
        raise InputError(f"{what} = {n}: more than {max_threads()} (4 per CPU core of this machine, at least "
                         "64) would only slow the fill, or crash it")
    raise InputError(f"{what} = {n!r}: give a whole number >= 1 (0: torch's own default)")


def default_threads() -> int:
    """``$CORKIT_INPAINT_THREADS`` when set, else `DEFAULT_THREADS`."""
    env = os.environ.get(ENV_VAR, "").strip()
    return check_threads(env, ENV_VAR) if env else DEFAULT_THREADS


def set_threads(n: int | None) -> None:
    """Set the process-wide thread count of fills (None: back to `default_threads`; 0: torch's own).

    Raises
    ------
    InputError
        Not a whole number >= 0.
    """
    global _process
    _process = None if n is None else check_threads(n)


def get_threads() -> int:
    """The thread count a fill uses now: `using_threads`, else `set_threads`, else `default_threads` (0: torch's)."""
    for v in (_call.get(), _process):
        if v is not None:
            return v
    return default_threads()


@contextlib.contextmanager
def using_threads(n: int | None) -> Iterator[None]:
    """Within the block (this thread or task only), fills use ``n`` threads; None changes nothing."""
    if n is None:
        yield
        return
    token = _call.set(check_threads(n))
    try:
        yield
    finally:
        _call.reset(token)


@contextlib.contextmanager
def torch_threads() -> Iterator[int]:
    """Set torch's intra-op thread count to `get_threads` for the block, and restore it after.

    Yields the count torch runs with. With 0, torch's setting is left as it is.
    """
    import torch
    n, before = get_threads(), torch.get_num_threads()
    if n == 0 or n == before:
        yield before
        return
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)
