"""`corkit_inpaint.training.config`: `TrainConfig`'s bounds, and its fields as ``train`` options."""

import argparse
from dataclasses import fields, replace

import pytest

from corkit_inpaint.cli import build_parser
from corkit_inpaint.training.config import TrainConfig

BOUNDED = [f for f in fields(TrainConfig) if "low" in f.metadata or "high" in f.metadata]


def train_parser():
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def test_defaults_pass_and_every_bound_is_enforced():
    TrainConfig().check()
    assert BOUNDED
    for f in BOUNDED:
        step = 1 if isinstance(f.default, int) else 1e-9
        lo, hi = f.metadata.get("low"), f.metadata.get("high")
        if lo is not None:
            replace(TrainConfig(), **{f.name: lo}).check()                     # the bound itself is allowed
            with pytest.raises(ValueError, match=rf"^{f.name} = "):
                replace(TrainConfig(), **{f.name: lo - step}).check()
        if hi is not None:
            replace(TrainConfig(), **{f.name: hi}).check()
            with pytest.raises(ValueError, match=rf"^{f.name} = .*outside \[{lo}, {hi}\]"):
                replace(TrainConfig(), **{f.name: hi + step}).check()


def test_widths_must_be_positive():
    TrainConfig(widths=(1,)).check()
    with pytest.raises(ValueError, match="widths"):
        TrainConfig(widths=(8, 0, 8)).check()


def test_every_visible_field_is_a_train_option_with_its_help():
    opts = {a.dest: a for a in train_parser()._actions}
    for f in fields(TrainConfig):
        a = opts[f.name]
        assert a.option_strings == ["--" + f.name.replace("_", "-")]
        assert f.metadata["help"] and a.help.startswith(f.metadata["help"]) and a.default is None
    assert "init_sha256" in opts                    # a parent pinned by its bytes (review s15)


def test_options_parse_into_a_config():
    from corkit_inpaint.cli.train import config_from_args
    args = build_parser().parse_args(["train", "--out", "x", "--crop", "48", "--widths", "8", "16",
                                      "--lr", "0.5", "--init", "file.pt", "--generator-version", "2"])
    cfg = config_from_args(args)
    assert cfg == replace(TrainConfig(), crop=48, widths=(8, 16), lr=0.5, init="file.pt", generator_version="2")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--out", "x", "--generator-version", "1"])


def test_arch_choices_are_the_networks_architectures():
    from dataclasses import fields

    from corkit_inpaint.network.unet import ARCHES
    from corkit_inpaint.training.config import TrainConfig
    arch = next(f for f in fields(TrainConfig) if f.name == "arch")
    assert arch.metadata["choices"] == ARCHES and arch.default == ARCHES[0]


def test_a_config_that_passes_gives_weights_the_package_can_load():
    """Review: --ring 100 or --widths 2000 (or nine widths) trained a model.pt that no command could load."""
    from corkit_inpaint.network.unet import PConvUNet
    from corkit_inpaint.network.weights import check_model_config
    for bad in ({"ring": 65}, {"widths": (2000,)}, {"widths": (8,) * 9}):
        with pytest.raises(ValueError, match=rf"^{next(iter(bad))} = "):
            replace(TrainConfig(), **bad).check()
    ok = replace(TrainConfig(), ring=64, widths=(8,) * 8)
    ok.check()
    net = PConvUNet(stages=ok.stages, widths=ok.widths, ring=ok.ring, extra_channels=ok.extra_channels)
    assert check_model_config(net.config) is None


def test_an_init_sha256_pin_needs_an_init_and_64_hex_digits():
    """Review: --init-sha256 without --init was recorded, and the same command then could not resume its run."""
    sha = "ab" * 32
    replace(TrainConfig(), init="p.pt", init_sha256=sha).check()
    replace(TrainConfig(), init="p.pt", init_sha256=sha.upper()).check()
    for init, pin in ((None, sha), ("p.pt", "abc"), ("p.pt", sha + "0")):
        with pytest.raises(ValueError, match="^init_sha256 = "):
            replace(TrainConfig(), init=init, init_sha256=pin).check()
