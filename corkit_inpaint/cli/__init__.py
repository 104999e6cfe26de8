"""The ``corkit-inpaint`` command line: one module per subcommand.

Exit codes: 0 success; 1 some inputs failed (the others were processed, each
failure is named on one line of stderr); 2 usage error; 130 interrupted. A
hang-up (SIGHUP) ends a run as SIGTERM does, removing its temporary files.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from ..exceptions import shown
from . import evaluate, fill, level1, train, weights
from .common import apply_threads, err, open_standard_streams

__all__ = ["main", "build_parser", "parse_args"]


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with its own errors on one line: the message and where the usage is (its usage block
    ran to 9 lines for ``fill``, above the line that said what was wrong). Subcommands' parsers are of this class
    too (``add_subparsers`` makes its parsers of the parent's class)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {shown(message, spaces=False)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from .. import __version__
    p = _Parser(prog="corkit-inpaint",
                description="Fill missing 32x32 telemetry blocks in LASCO level-0.5 FITS files.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summary line")
    # -v and -q after the subcommand too: counted with those before it (`main`)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", dest="verbose_after", action="count", default=0,
                        help="more log output (-vv for debug; also before the subcommand)")
    common.add_argument("-q", "--quiet", dest="quiet_after", action="store_true",
                        help="no progress bars or summary line")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in (fill, level1, weights, train, evaluate):
        # help: the module docstring's summary after "``corkit-inpaint NAME``: "; description: the rest
        summary, _, rest = mod.__doc__.partition("\n")
        sp = sub.add_parser(mod.NAME, help=summary.split(": ", 1)[1].rstrip("."),
                            description=" ".join(rest.split()) or None, parents=[common])
        mod.add_arguments(sp)
        sp.set_defaults(func=mod.run)
    return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line's options; ``-v`` and ``-q`` count the same before and after the subcommand."""
    args = build_parser().parse_args(argv)
    args.verbose += args.verbose_after
    args.quiet = args.quiet or args.quiet_after
    return args


def _hangup_as_sigterm():
    """Make a hang-up (a closed terminal or ssh session) end the run as SIGTERM does, removing its temporaries
    (`corkit_inpaint.tempfiles.removed_on_sigterm`); returns the handler to restore, or None.

    Only where SIGHUP has its default action (under ``nohup`` it stays ignored) and in the main thread.
    """
    hup = getattr(signal, "SIGHUP", None)
    if hup is None or threading.current_thread() is not threading.main_thread():
        return None
    prev = signal.getsignal(hup)
    if prev != signal.SIG_DFL:
        return None
    signal.signal(hup, lambda signum, frame: signal.raise_signal(signal.SIGTERM))
    return prev


class _Shown(logging.Formatter):
    """Log lines with their control characters but tab, newline and carriage return shown escaped (a file name's
    ESC or BEL would reach the terminal raw); `corkit_inpaint.exceptions.naming` escapes those too in a path."""

    def format(self, record: logging.LogRecord) -> str:
        return shown(super().format(record), spaces=False)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    open_standard_streams()             # a stream closed at start (2>&-) on the null device
    args = parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    handler = logging.StreamHandler()
    handler.setFormatter(_Shown("%(levelname)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    prev_hup = _hangup_as_sigterm()
    try:
        if hasattr(args, "threads"):     # --threads, else $CORKIT_INPAINT_THREADS: a bad value is a usage error
            try:
                apply_threads(args)
            except ValueError as exc:
                err(str(exc))
                return 2
        if getattr(args, "weights", None) is not None and not args.weights.strip():   # not the default model
            err("--weights: empty; give a model name or a weights file, or leave it out for the default model")
            return 2
        return args.func(args)
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    finally:
        if prev_hup is not None:
            signal.signal(signal.SIGHUP, prev_hup)
