"""``corkit-inpaint weights``: list, fetch, verify, locate or clear model weights.

Manages the model files in the per-user cache ($CORKIT_INPAINT_CACHE). clear
removes only what the package put there (the registered model files a mirror
can serve again, their temporaries and lock files), or with NAME only that
model's; with --force also registered model files no mirror serves.
"""

from __future__ import annotations

import argparse

from .common import err

__all__ = ["NAME", "add_arguments", "run"]

NAME = "weights"


def add_arguments(w: argparse.ArgumentParser) -> None:
    """The options of ``weights``."""
    w.add_argument("action", choices=["list", "fetch", "verify", "path", "clear"],
                   help="what to do")
    w.add_argument("name", nargs="?", default=None,
                   help="model name (fetch, path: default model if omitted; clear: every registered model)")
    w.add_argument("--force", action="store_true",
                   help="clear: also remove registered model files no mirror can serve again (a copy you "
                        "put there by hand, a model without a mirror)")


def _shown(text) -> str:
    """``text`` with its control characters (a newline, an escape sequence) escaped: one line on a terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _list() -> None:
    from ..network.registry import registry
    reg = registry()
    for name, e in reg["models"].items():      # a registry ($CORKIT_INPAINT_REGISTRY) may say anything: one line each
        star = "*" if name == reg["default"] else " "
        print(f"{star} {_shown(name):24s} {_shown(e['file']):28s} {e['size']:>10d} B  sha256 {e['sha256'][:16]}  "
              f"{_shown(e.get('description', ''))}")


def _verify() -> int:
    from ..network.cache import cache_dir, cache_problem
    from ..network.weights import verify_cache
    if problem := cache_problem():             # not "no cached weights": the cache named cannot be looked in
        err(problem)
        return 1
    res = verify_cache()
    if not res:
        print(f"no cached weights in {cache_dir()}")
    bad = [p for _, p, ok in res if not ok]
    for name, p, ok in res:
        print(f"{'OK ' if ok else 'BAD'} {name} {p}")
    if bad:
        err(f"{len(bad)} cached file(s) do not match the registry: {', '.join(map(str, bad))}")
        return 1
    return 0


def _clear(name: str | None, force: bool = False) -> int:
    from ..network.cache import cache_dir, cache_problem, clear_cache
    if problem := cache_problem():             # not "removed 0": the cache named cannot be looked in
        err(problem)
        return 1
    removed, busy, by_hand = clear_cache(name, force=force)
    what = f"model {name}" if name else "registered models"
    print(f"removed {len(removed)} file(s) of {what} from {cache_dir()}")
    if by_hand:
        print(f"kept {len(by_hand)} model file(s) no mirror can serve again (--force removes them): "
              f"{', '.join(map(str, by_hand))}")
    if busy:
        err(f"left {len(busy)} file(s) in use by a running fetch: "
            f"{', '.join(map(str, busy))}")
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    """Carry out the action; 0 on success, 1 on failure, 2 for a name given to list or verify."""
    from ..exceptions import WeightsError
    from ..network.weights import names_a_file, read_weights_file, resolve_weights
    if args.name is not None and args.action in ("list", "verify"):
        err(f"weights {args.action} takes no model name (got {args.name!r}): it covers every model")
        return 2
    try:
        if args.action == "list":
            _list()
        elif args.action in ("fetch", "path"):
            w = resolve_weights(args.name, download=args.action == "fetch", progress=not args.quiet)
            if names_a_file(args.name):          # a file given: say only of a loadable weights file that it is one
                read_weights_file(w.path, sha256=w.sha256)
            print(w.path)                        # installed, cached or (fetch) fetched
        elif args.action == "verify":
            return _verify()
        elif args.action == "clear":
            return _clear(args.name, args.force)
    except (WeightsError, OSError) as exc:
        err(str(exc))
        return 1
    return 0
