"""SIGTERM at every point of a window of a real call, each point in a forked child (test helper).

The technique of ``test_tempfiles``: a profile function counts the profiler's
events from the window's start and raises SIGTERM at the n-th one
(``signal.raise_signal``: deterministic, handled there as a signal from outside
would be); the child for point n must die of SIGTERM, and what it left is
listed. The sweep ends with the first child that gets past the window.
`run_driver` runs a script that calls `sweep` in a fresh interpreter, so the
forks are not of pytest's process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TESTS = Path(__file__).parent


def _profile(n: int, start, last: Callable) -> Callable:
    """A profile function raising SIGTERM at the n-th event from the call of code ``start`` (0: that call)
    to the event ``last(start_frame, frame, event, arg)`` says is the window's last, both included."""
    seen, origin, done = -1, None, False

    def prof(frame, event, arg):
        nonlocal seen, origin, done
        if origin is None:
            if not (event == "call" and frame.f_code is start):
                return
            origin = frame
        seen += 1
        if seen == n:
            signal.raise_signal(signal.SIGTERM)
        done = done or last(origin, frame, event, arg)
        if done or seen >= n:
            sys.setprofile(None)
    return prof


def sweep(run: Callable[[], object], start, last: Callable, left: Callable[[], list], limit: int = 5000) -> dict:
    """SIGTERM at each point of the window in a forked child running ``run()``.

    Parameters
    ----------
    run : callable
        The call, made in each child.
    start : code
        The window starts at the call of this code object.
    last : callable
        ``last(start_frame, frame, event, arg)``: True at the window's last event.
    left : callable
        What a child left behind (a list of names, empty when nothing); each is removed before the next child.
    limit : int
        Most points (a window that never ends fails the sweep).

    Returns
    -------
    dict
        ``points`` (children killed in the window), ``leftovers`` (``[point, names]`` of those that left
        something), ``exit`` (the exit code of the child past the window) and ``left`` (what it left).
    """
    leftovers = []
    for n in range(limit):
        pid = os.fork()
        if pid == 0:
            sys.setprofile(_profile(n, start, last))
            try:
                run()
            except BaseException as exc:              # past the window yet failed: say why
                sys.setprofile(None)
                print(n, repr(exc), file=sys.stderr)
                os._exit(1)
            os._exit(0)
        status = os.waitpid(pid, 0)[1]
        names = left()
        if os.WIFEXITED(status):
            return {"points": n, "leftovers": leftovers, "exit": os.WEXITSTATUS(status), "left": names}
        assert os.WTERMSIG(status) == signal.SIGTERM, (n, status)
        if names:
            leftovers.append([n, names])
    raise AssertionError(f"the window did not end within {limit} points")


def run_driver(code: str, *args: str, timeout: float = 600, env: dict | None = None) -> dict:
    """Run ``code`` (which prints `sweep`'s result as its last line of JSON) in a fresh interpreter."""
    path = os.pathsep.join([str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])])
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=path, **(env or {})))
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.splitlines()[-1])
