"""Turn a training run into a registered weights file.

Copies ``RUN/model.pt`` to ``weights/NAME.pt`` (with ``--default`` to
``corkit_inpaint/data/NAME.pt`` instead, the package data that ships in the wheel;
the previous default's file moves back to ``weights/``) and ``RUN/config.json`` to
``weights/NAME.config.json``, updates the package registry ``corkit_inpaint/registry.json``
(sha256, size, the ``--url`` mirrors), and records the output checksum of the fill on
a fixed input (the bundled real C2 frame with the test blocks blanked, CPU) in
``weights/NAME.check.json``. The test suite checks that checksum, which guards both
the file and determinism.

Usage::

    python weights/package_weights.py RUN_DIR --name pconv-lasco-v3 [--default] [--url URL ...] [--force]

A model soup's folder (`corkit_inpaint.training.soup`: ``model.pt`` and a
``config.json`` naming its ingredients) is packaged the same way.

Everything is checked before anything is written: the run must be finished
(``steps_done`` equal to its ``steps``: a run stopped by ``--time-limit`` is
refused), its model.pt a weights file, the name plain (no path), and a name
registered already with other bytes needs ``--force`` (the same bytes again are
packaged again), the model must fill the fixed input (NaN weights cannot), and the
registry as it will be written must pass the package's own check (``--url`` http(s)
only). Each file is written to a temporary file and renamed into
place, and the registry is written last.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "corkit_inpaint" / "data"      # package data: the default model ships in the wheel


def fixed_input_checksum(weights: Path) -> dict:
    """sha256 of the int32 output of a pconv-smooth fill of the fixed test input, on the CPU.

    The expected value depends on the weights alone (``pconv``'s texture also
    depends on the error tables), so it is what guards the file.
    """
    sys.path.insert(0, str(ROOT / "tests"))
    import numpy as np
    from helpers import BLANK, blank, read_real  # the same input the test builds

    from corkit_inpaint import inpaint_array
    data, header = read_real()
    img = blank(data, BLANK)
    out = inpaint_array(img, header=header, method="pconv-smooth", device="cpu", weights=str(weights))
    filled = np.clip(np.rint(out), np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype("<i4")
    check = {"input": "tests/data/lasco_clear.fts with tests/helpers.py BLANK blocks zeroed",
             "fill": "pconv-smooth", "method": "pconv-smooth, device='cpu', rounded to int32 little-endian",
             "sha256": hashlib.sha256(filled.tobytes()).hexdigest()}
    from corkit_inpaint.network.weights import load_model
    if load_model(str(weights)).spread_head is not None:     # the head's sigma, without the check
        check.update(sigma_sha256=sigma_checksum(img, header, str(weights)),
                     sigma="the same fill's 1-sigma from the spread head (run_method, check_sigma=False), "
                           "in units of 0.01 DN/s, rounded to int32 little-endian")
    return check


def sigma_checksum(img, header, weights: str) -> str:
    """sha256 of the spread head's 1-sigma of the fixed input's fill, in 0.01 units rounded to int32."""
    import numpy as np

    from corkit_inpaint.blocks import find_missing_blocks
    from corkit_inpaint.fill import run_method
    from corkit_inpaint.frame import Frame
    mask, _ = find_missing_blocks(img, header)
    sigma = run_method("pconv-smooth", Frame.build(img, mask, header), device="cpu", weights=weights,
                       check_sigma=False).sigma
    return hashlib.sha256(np.rint(100 * sigma).astype("<i4").tobytes()).hexdigest()


#: A model name: letters, digits, '.', '_' and '-', starting with a letter or digit (it names files here).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def fail(msg: str) -> None:
    """One error line, exit 1: nothing has been written."""
    print(f"package_weights: error: {msg}", file=sys.stderr)
    raise SystemExit(1)


def check_run(run: Path) -> tuple[bytes, bytes]:
    """The run's model.pt and config.json bytes, after checking it is a finished run of a weights file."""
    from corkit_inpaint.exceptions import CorkitInpaintError
    from corkit_inpaint.network.weights import read_weights_file
    for f in ("model.pt", "config.json"):
        if not (run / f).is_file():
            fail(f"{run}: no {f} (not a training run's folder)")
    try:
        meta = json.loads((run / "config.json").read_text())
        if isinstance(meta, dict) and "soup" in meta:      # a soup's record: its ingredients, no steps of its own
            done = steps = len(meta["soup"]["ingredients"])
            if not all(isinstance(i["sha256"], str) for i in meta["soup"]["ingredients"]) or steps < 2:
                raise ValueError("a soup's record names two or more ingredients by sha256")
            if meta.get("complete") is not True or not isinstance(meta.get("model_sha256"), str):
                fail(f"{run}: an unfinished soup (stopped while it was written): run its soup command again")
        else:
            done, steps = int(meta["steps_done"]), int(meta["config"]["steps"])
    except (ValueError, KeyError, TypeError) as exc:
        fail(f"{run / 'config.json'}: not a training run's record ({type(exc).__name__}: {exc})")
    if done < steps:
        fail(f"{run}: stopped at step {done} of {steps} (--time-limit): run its training command again to finish it")
    model = (run / "model.pt").read_bytes()
    if meta.get("model_sha256") not in (None, hashlib.sha256(model).hexdigest()):    # records before 0.1.12 lack it
        fail(f"{run}: model.pt is not the file config.json records (a run stopped between writing the two): "
             "run its training command again")
    try:
        read_weights_file(run / "model.pt", sha256=hashlib.sha256(model).hexdigest())
    except CorkitInpaintError as exc:
        fail(str(exc))
    return model, (run / "config.json").read_bytes()


def checked(weights: Path, sha: str, new_reg: dict, reg_path: Path) -> dict:
    """The fixed-input checksum of ``weights`` (which loads the whole model), after checking the registry to be
    written: a model that cannot fill, or a registry the package would refuse (``--url ftp://...``), fails here,
    before anything is written."""
    from corkit_inpaint.exceptions import CorkitInpaintError
    from corkit_inpaint.network.registry import validate_registry
    try:
        validate_registry(new_reg, reg_path)
        check = fixed_input_checksum(weights)
    except (CorkitInpaintError, ValueError, RuntimeError) as exc:
        fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if hashlib.sha256(weights.read_bytes()).hexdigest() != sha:
        fail(f"{weights}: changed while it was being packaged")
    return check


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--name", required=True)
    ap.add_argument("--default", action="store_true", help="make it the registry's default model")
    ap.add_argument("--description", default="Partial-conv UNet (2 stages) for LASCO C2/C3 missing "
                                              "blocks, trained on simulated level-0.5 frames")
    ap.add_argument("--url", action="append", default=[],
                    help="a mirror URL that serves the file (repeat for several; none by default)")
    ap.add_argument("--force", action="store_true",
                    help="replace a registered model of this name whose file differs (refused without it)")
    args = ap.parse_args()
    if not NAME.fullmatch(args.name) or ".." in args.name:
        fail(f"--name {args.name!r}: use letters, digits, '.', '_' and '-' only")
    from corkit_inpaint.tempfiles import write_bytes_atomic
    model, config = check_run(args.run)
    sha = hashlib.sha256(model).hexdigest()
    fn = f"{args.name}.pt"
    reg_path = ROOT / "corkit_inpaint" / "registry.json"
    try:
        reg = json.loads(reg_path.read_text())
        old = reg.get("models", {}).get(args.name)
    except (OSError, ValueError, AttributeError) as exc:
        fail(f"{reg_path}: cannot be read as a registry ({type(exc).__name__}: {exc})")
    if old is not None and old.get("sha256") != sha and not args.force:
        fail(f"{args.name} is registered already with other weights ({old.get('sha256', '')[:16]}...): "
             "--force replaces it, or give another --name")
    if old is None:                     # a new name: the files it would write must not be another's
        taken = [f for f in (HERE / fn, DATA / fn, HERE / f"{args.name}.config.json", HERE / f"{args.name}.check.json")
                 if f.exists() or f.is_symlink()]
        if taken:
            fail(f"--name {args.name}: {taken[0]} exists and no registered model names it (another record, or a "
                 "file left by hand): give another --name")
    default = args.default or reg.get("default") == args.name     # the default stays package data
    dst = (DATA if default else HERE) / fn
    new_reg = json.loads(json.dumps(reg))
    new_reg.setdefault("models", {})[args.name] = {
        "file": fn, "sha256": sha, "size": len(model), "urls": list(args.url),
        "license": "BSD-3-Clause", "description": args.description}
    if args.default:
        new_reg["default"] = args.name
    check = checked(args.run / "model.pt", sha, new_reg, reg_path)
    # every check is done: write the files first (each renamed into place), the registry last
    DATA.mkdir(exist_ok=True)
    write_bytes_atomic(dst, model)
    write_bytes_atomic(HERE / f"{args.name}.config.json", config)
    write_bytes_atomic(HERE / f"{args.name}.check.json", (json.dumps(check, indent=1) + "\n").encode())
    if args.default and reg.get("default") and reg["default"] != args.name:
        prev = DATA / reg["models"][reg["default"]]["file"]
        if prev.is_file():                   # only the default ships in the wheel
            shutil.move(prev, HERE / prev.name)
    write_bytes_atomic(reg_path, (json.dumps(new_reg, indent=1) + "\n").encode())
    print(f"{fn}: sha256 {sha}, {len(model)} bytes; fixed-input checksum {check['sha256']}")


if __name__ == "__main__":
    main()
