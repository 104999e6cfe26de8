"""Start a model from an existing weights file (fine-tuning), widening its input for new guides."""

from __future__ import annotations

import os

from ..exceptions import WeightsError
from ..network.unet import PConvUNet
from ..network.weights import read_weights_file, resolve_weights

__all__ = ["init_from", "zero_heads"]


def init_from(model: PConvUNet, path: str | os.PathLike, expect: str | None = None) -> str:
    """Start ``model`` from a weights file or registry name, for fine-tuning; returns its sha256.

    Tensors of equal shape are copied. A tensor the file has with fewer input
    channels (a model trained with fewer guides) is copied into the first ones
    and the new input channels start at zero, so the new guide is ignored at
    first and the network starts from what the file's model does. The file's
    spread head (`corkit_inpaint.network.spread`) is left out: it was trained
    for that fill, which fine-tuning changes.

    Raises
    ------
    WeightsError
        No such file or name, not a weights file, or (with ``expect``) a file whose sha256 is not ``expect``:
        a run remade from its record must start from the parent it recorded.
    ValueError
        Its tensors do not fit ``model``'s architecture.
    """
    w = resolve_weights(path)
    if expect and w.sha256 != expect.lower():
        raise WeightsError(f"--init {path}: its sha256 is {w.sha256[:16]}..., not the {expect[:16]}... the run "
                           "recorded (the parent changed)")
    blob = read_weights_file(w.path, sha256=w.sha256)      # the bytes read are the bytes recorded
    own = {k: v.clone() for k, v in model.state_dict().items()}    # the model changes only on success
    for k, v in blob["state_dict"].items():
        if k.startswith("spread_head."):
            continue
        if k not in own:
            raise ValueError(f"{path}: tensor {k!r} does not fit this architecture{_built_with(blob, model)}")
        t = own[k]
        if t.shape == v.shape:
            t.copy_(v)
        elif t.ndim == v.ndim and t.ndim > 1 and t.shape[0] == v.shape[0] and t.shape[2:] == v.shape[2:] \
                and t.shape[1] > v.shape[1]:
            t.zero_()
            t[:, :v.shape[1]] = v
        else:
            raise ValueError(f"{path}: tensor {k!r} has shape {tuple(v.shape)}, this model {tuple(t.shape)}"
                             f"{_built_with(blob, model)}")
    model.load_state_dict(own)
    return w.sha256


#: ``train``'s option for each architecture entry of a model's config, and the entry's value when it is absent.
_OPTIONS = {"stages": ("--stages", None), "widths": ("--widths", None), "ring": ("--ring", None),
            "extra_channels": ("--extra-channels", None), "base": ("--base-guide", 0), "step": ("--step", "scale"),
            "arch": ("--arch", "pconv")}


def _built_with(blob: dict, model: PConvUNet) -> str:
    """``"; its model was built with --extra-channels 8 ..."``: the options whose value the file's model had and
    ``model`` has not ("" where the file names none; battery s36: ``--init pconv-lasco-nb3`` said only that a
    tensor's shape differed)."""
    theirs = blob.get("model_config") if isinstance(blob.get("model_config"), dict) else {}
    said = []
    for key, (option, absent) in _OPTIONS.items():
        want, have = theirs.get(key, absent), model.config.get(key, absent)
        if want is not None and (list(want) if isinstance(want, (list, tuple)) else want) != (
                list(have) if isinstance(have, (list, tuple)) else have):
            said.append(f"{option} {' '.join(map(str, want)) if isinstance(want, (list, tuple)) else want}")
    return f"; its model was built with {' '.join(said)}" if said else ""


def zero_heads(model: PConvUNet) -> None:
    """Set the last layer of every stage to zero, so the model starts by returning its base guide.

    A fine-tuned model whose base changes (a neighbour model based on the
    neighbours' estimate) then starts from that estimate, not from a
    correction learned for another base, and learns only what improves on it.
    """
    import torch
    with torch.no_grad():
        for net in model.nets:
            head = net.ups[-1].conv
            head.weight.zero_()
            if head.bias is not None:
                head.bias.zero_()
