"""Where a training run writes: `check_place` refuses an output folder or a device before the data are built."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import torch

from ..exceptions import InputError, first_line
from .config import TrainConfig

__all__ = ["check_place", "check_writable"]


def check_place(out: Path, device: str, cfg: TrainConfig | None = None) -> None:
    """Refuse an ``out`` that cannot be a folder or cannot be written in, one that holds ``cfg``'s ``init`` or
    ``vgg`` file where the run writes, or a ``device`` torch cannot use here (`InputError`)."""
    p = out.absolute()
    while not p.exists() and not p.is_symlink() and p != p.parent:    # the first part that is there
        p = p.parent
    if not p.is_dir():
        what = "a link to nothing" if not p.exists() else "a file"
        raise InputError(f"--out {out}: {'' if p == out.absolute() else f'{p} '}is {what}, not a folder")
    check_writable(out)
    for opt, f in (("--init", cfg and cfg.init), ("--vgg", cfg and cfg.vgg)):
        for name in ("model.pt", "config.json", "checkpoint.pt") if f and Path(f).is_file() else ():
            if (out / name).exists() and os.path.samefile(f, out / name):
                raise InputError(f"{opt} {f}: is the {name} this run writes into --out {out}: give another --out "
                                 "(or copy the file elsewhere first)")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise InputError(f"--device {device}: {first_line(exc)}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {device}: torch sees no CUDA device here")
    if dev.type != "cpu":
        try:                              # mps, xpu, ...: known to torch, perhaps not built in or not here
            torch.empty(1, device=dev)
        except (RuntimeError, AssertionError, ValueError) as exc:
            raise InputError(f"--device {device}: {first_line(exc)}") from None


def check_writable(out: Path, opt: str = "--out") -> None:
    """Refuse (`InputError`) a folder ``out`` that cannot be made, or in which a file cannot be made.

    The check leaves no trace: the folders it makes and the file it writes are removed again, so a run
    refused later (or a `corkit_inpaint.training.loop.check_run` alone) leaves nothing behind.
    """
    where = Path(out).absolute()
    made = [q for q in (where, *where.parents) if not q.exists()]     # deepest first: the order to remove them
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".corkit-inpaint-probe-", dir=where)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise InputError(f"{opt} {out}: cannot be made a folder or written in ({exc.strerror or exc})") from None
    finally:
        for q in made:
            with contextlib.suppress(OSError):
                q.rmdir()
