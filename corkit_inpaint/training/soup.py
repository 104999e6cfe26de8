"""Average the weights of fine-tunes that share their start: a model soup (Wortsman et al. 2022).

Fine-tunes of one network for a few thousand steps stay close to it, so the
mean of their weights is a network too, and it keeps what they learnt alike
while their luck (which batches, which frames) partly cancels. It costs nothing
at fill time. The mean is taken in float64 and stored in the ingredients' type,
in the order given, so the same ingredients give the same bytes.

Usage::

    python -m corkit_inpaint.training.soup --out runs/NAME WEIGHTS WEIGHTS [WEIGHTS ...]

``WEIGHTS`` are weights files or registry names. ``runs/NAME`` gets ``model.pt``
and ``config.json``: the ingredients' sha256 and, for a file in a training run's
folder, that run's record (`weights/package_weights.py` packages it like a run).

References
----------
.. [1] Wortsman, M. et al. "Model soups: averaging weights of multiple fine-tuned
   models improves accuracy without increasing inference time", ICML 2022.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from ..exceptions import CorkitInpaintError, InputError, WeightsError, first_line
from ..network.registry import sha256sum
from ..network.weights import WEIGHTS_FORMAT, read_weights_file, resolve_weights
from ..tempfiles import write_text_atomic

__all__ = ["soup", "write_soup", "main"]

log = logging.getLogger(__name__)


def soup(ingredients: list[str | os.PathLike]) -> tuple[dict, list[dict]]:
    """The uniform mean of weights files' state dicts.

    Parameters
    ----------
    ingredients : list of str or path-like
        Two or more weights files or registry names with one ``model_config``.

    Returns
    -------
    blob : dict
        A weights file's content (``format``, ``model_config``, ``state_dict``).
    record : list of dict
        Per ingredient: what was given, its sha256, and its run's record (``config.json``
        beside a ``model.pt``) when there is one.

    Raises
    ------
    WeightsError
        Fewer than two, an ingredient that cannot be read (or whose run record beside it cannot),
        different ``model_config``, state dicts with other tensors (names, shapes or types), or a
        spread head (a head is trained for one fill).
    """
    import torch
    if len(ingredients) < 2:
        raise WeightsError("a soup needs two or more weights files")
    blobs, record = [], []
    for ing in ingredients:
        w = resolve_weights(ing)
        blob = read_weights_file(w.path, sha256=w.sha256)
        if blobs and blob["model_config"] != blobs[0]["model_config"]:
            raise WeightsError(f"{ing}: its model_config differs from {ingredients[0]}'s")
        if any(k.startswith("spread_head.") for k in blob["state_dict"]):
            raise WeightsError(f"{ing}: has a spread head, which is trained for one fill: leave it out of a soup")
        entry = {"weights": str(ing), "sha256": w.sha256}
        if (run := _run_record(Path(w.path))) is not None:
            entry["run_record"] = run
        blobs.append(blob)
        record.append(entry)
    keys = list(blobs[0]["state_dict"])
    for ing, b in zip(ingredients[1:], blobs[1:]):
        if set(b["state_dict"]) != set(keys):
            raise WeightsError(f"{ing}: its state dict names other tensors than {ingredients[0]}'s")
    state = {}
    for k in keys:
        vs = [b["state_dict"][k] for b in blobs]
        for ing, v in zip(ingredients, vs):
            if not isinstance(v, torch.Tensor):
                raise WeightsError(f"{ing}: its state dict's {k!r} is a {type(v).__name__}, not a tensor")
            if v.shape != vs[0].shape or v.dtype != vs[0].dtype:
                raise WeightsError(f"{ing}: its tensor {k!r} is {v.dtype} {tuple(v.shape)}, {ingredients[0]}'s "
                                   f"{vs[0].dtype} {tuple(vs[0].shape)}")
        if vs[0].is_floating_point():
            state[k] = torch.stack([v.double() for v in vs]).mean(0).to(vs[0].dtype).contiguous()
        elif all(torch.equal(v, vs[0]) for v in vs[1:]):
            state[k] = vs[0].clone()
        else:
            raise WeightsError(f"the ingredients' integer tensor {k!r} differs")
    return {"format": WEIGHTS_FORMAT, "model_config": blobs[0]["model_config"], "state_dict": state}, record


def _run_record(weights: Path) -> dict | None:
    """The training run's record beside a ``model.pt`` (its ``config.json``), or None where there is none."""
    run = weights.parent / "config.json"
    if weights.name != "model.pt" or not run.is_file():
        return None
    try:
        return json.loads(run.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise WeightsError(f"{run}: the run record beside {weights.name} cannot be read "
                           f"({type(exc).__name__}: {first_line(exc)})") from None


def write_soup(ingredients: list[str | os.PathLike], out: str | os.PathLike) -> Path:
    """Write the soup of ``ingredients`` as ``out/model.pt`` with its record ``out/config.json``; returns the file.

    ``out`` is a new folder, one holding none of a run's files (``model.pt``, ``config.json``,
    ``checkpoint.pt``), or an earlier soup's whose ``model.pt`` is not an ingredient (`InputError`
    otherwise: a training run's folder keeps its weights, and no input is replaced). The record is
    written first, marked unfinished (``"complete": false``), then the weights, then the finished
    record, so a kill leaves an unfinished soup's folder that the same command remakes.
    """
    from .loop import save_torch, source_provenance
    out = Path(out)
    _check_out(out)
    weights = out / "model.pt"
    for ing in ingredients:
        w = resolve_weights(ing)
        if weights.exists() and os.path.samefile(w.path, weights):        # a link to it too
            raise InputError(f"--out {out}: its model.pt is an ingredient ({ing}), which the soup would replace; "
                             "give a new folder")
    blob, record = soup(ingredients)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"soup": {"ingredients": record, "how": "uniform mean of every floating-point tensor, in float64, "
                                                   "stored in the ingredients' type (corkit_inpaint.training.soup)"},
            "model_config": blob["model_config"], "complete": False, **source_provenance()}
    # the record first, marked unfinished: a folder a kill leaves is an unfinished soup's, which the same
    # command remakes and weights/package_weights.py refuses, never weights without a record
    write_text_atomic(out / "config.json", json.dumps(meta, indent=1))
    save_torch(blob, weights)
    meta.update(model_sha256=sha256sum(weights), complete=True)
    write_text_atomic(out / "config.json", json.dumps(meta, indent=1))
    log.info("%s: the mean of %d weights files, sha256 %s", weights, len(ingredients), meta["model_sha256"])
    return weights


def _check_out(out: Path) -> None:
    """Refuse an ``out`` that is not a folder, or that holds a training run (its weights would be replaced).

    An earlier soup's folder (its ``config.json`` a soup's record) is written over: remaking a soup
    with the same command gives the same files.
    """
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise InputError(f"--out {out}: is not a folder")
    record = out / "config.json"
    run_files = [n for n in ("checkpoint.pt", "model.pt", "config.json")
                 if (out / n).exists() or (out / n).is_symlink()]
    if not run_files:
        return
    try:
        obj = json.loads(record.read_text())
        is_soup = isinstance(obj, dict) and "soup" in obj
    except (OSError, ValueError, TypeError, RecursionError):
        is_soup = False
    if not is_soup or (out / "checkpoint.pt").exists():
        raise InputError(f"--out {out}: holds {run_files[0]}, not a soup's: a training run's folder would lose its "
                         "weights; give a new folder")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m corkit_inpaint.training.soup",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path, help="folder for model.pt and config.json")
    ap.add_argument("weights", nargs="+", help="weights files or registry names (two or more)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        write_soup(args.weights, args.out)
    except (CorkitInpaintError, OSError) as exc:
        print(f"soup: error: {first_line(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
