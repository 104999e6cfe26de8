"""`corkit_inpaint.methods`: the registry of built-in and entry-point methods."""

import logging
import sys
import textwrap

import numpy as np
import pytest

from corkit_inpaint.exceptions import MethodError
from corkit_inpaint.fill import run_method
from corkit_inpaint.frame import Frame
from corkit_inpaint.methods import GROUP, FillMethod, LegacyMethod, available_methods, get_method
from corkit_inpaint.methods.biharmonic import BiharmonicFill
from corkit_inpaint.methods.pconv import PConvFill

BUILTIN = ["pconv", "pconv-smooth", "biharmonic", "fuzzy", "telea"]

PLUGIN = '''
import numpy as np
from corkit_inpaint.methods import FillMethod, FillResult, Provenance
from dataclasses import dataclass


@dataclass(frozen=True)
class ConstantFill(FillMethod):
    """Fill with a constant (a toy third-party method)."""

    value: float = 42.0

    def fill(self, frame, *, neighbours=(), device="auto", weights=None):
        values = frame.image.copy()
        values[frame.missing] = self.value
        return FillResult(values, frame.missing.copy(), Provenance(self.name, model="const"))


INSTANCE = ConstantFill("registered-under-another-name", value=-3.0)
NOT_A_METHOD = 17


def legacy(image, mask, header):
    out = image.copy()
    out[mask] = 5.0
    return out
'''


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """Install a fake distribution declaring ``entry_points`` (name -> target) in ``corkit.inpainters``."""
    module = f"corkit_toy_plugin_{tmp_path.name.replace('-', '_')}"

    def install(entry_points: dict[str, str]):
        site = tmp_path / "site"
        dist = site / "corkit_toy_plugin-0.1.dist-info"
        dist.mkdir(parents=True)
        (site / f"{module}.py").write_text(textwrap.dedent(PLUGIN))
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: corkit-toy-plugin\nVersion: 0.1\n")
        lines = "".join(f"{k} = {v.format(module=module)}\n" for k, v in entry_points.items())
        (dist / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}")
        monkeypatch.syspath_prepend(str(site))

    yield install
    sys.modules.pop(module, None)


@pytest.fixture
def frame():
    rng = np.random.default_rng(1)
    img = 100.0 + rng.random((64, 64))
    mask = np.zeros(img.shape, dtype=bool)
    mask[16:48, 16:48] = True
    return Frame.build(np.where(mask, 0, img), mask)


def test_builtins_are_listed_first():
    methods = available_methods()
    assert list(methods)[:5] == BUILTIN
    assert all(isinstance(m, FillMethod) and m.name == n for n, m in methods.items())
    assert isinstance(methods["biharmonic"], BiharmonicFill)
    assert methods["pconv"].texture and not methods["pconv-smooth"].texture
    assert isinstance(get_method("pconv"), PConvFill)


def test_unknown_method_names_the_known_ones():
    with pytest.raises(MethodError) as ei:
        get_method("nope")
    msg = str(ei.value)
    assert "'nope'" in msg and "\n" not in msg
    for name in BUILTIN:
        assert name in msg


def test_third_party_subclass_instance_and_callable(plugin, frame):
    assert "const-class" not in available_methods()
    plugin({"const-class": "{module}:ConstantFill", "const-instance": "{module}:INSTANCE",
            "legacy": "{module}:legacy"})
    methods = available_methods()
    cls, inst, legacy = methods["const-class"], methods["const-instance"], methods["legacy"]
    assert cls.name == "const-class" and cls.value == 42.0
    assert inst.name == "const-instance" and inst.value == -3.0          # renamed to its entry point
    assert isinstance(legacy, LegacyMethod) and legacy.name == "legacy"
    for name, value in (("const-class", 42.0), ("const-instance", -3.0), ("legacy", 5.0)):
        res = run_method(name, frame)
        assert np.all(res.values[frame.missing] == value)
        assert np.array_equal(res.values[~frame.missing], frame.image[~frame.missing])
        assert res.provenance.method == name


def test_a_builtin_is_found_without_loading_plugins(plugin, tmp_path, frame):
    """Asking for a built-in imports no plugin module: its import (here, one that leaves a file) never runs."""
    flag = tmp_path / "imported"
    site = tmp_path / "side"
    site.mkdir()
    (site / "corkit_side_effect_plugin.py").write_text(f"open({str(flag)!r}, 'w').close()\nfill = None\n")
    plugin({"side": "corkit_side_effect_plugin:fill"})
    sys.path.insert(0, str(site))
    try:
        assert isinstance(get_method("biharmonic"), BiharmonicFill)
        assert get_method("pconv-smooth").name == "pconv-smooth"
        assert run_method("biharmonic", frame).provenance.method == "biharmonic"
        assert not flag.exists()
        with pytest.raises(MethodError, match="unknown inpainting method 'nope'"):
            get_method("nope")                   # an unknown name reads them, and so imports the plugin
        assert flag.exists()
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("corkit_side_effect_plugin", None)


def test_broken_entry_points_do_not_break_the_others(plugin, caplog, frame):
    plugin({"no-module": "corkit_no_such_module_here:fill", "no-attr": "{module}:missing",
            "not-callable": "{module}:NOT_A_METHOD", "good": "{module}:legacy",
            "biharmonic": "{module}:legacy"})                            # cannot replace a built-in
    with caplog.at_level(logging.WARNING, logger="corkit_inpaint"):
        methods = available_methods()
    assert list(methods)[:5] == BUILTIN and "good" in methods
    assert not {"no-module", "no-attr", "not-callable"} & set(methods)
    for name in ("no-module", "no-attr", "not-callable"):
        assert f"could not load inpainting method '{name}'" in caplog.text
    assert isinstance(methods["biharmonic"], BiharmonicFill)
    assert np.all(run_method("good", frame).values[frame.missing] == 5.0)
    with pytest.raises(MethodError, match="unknown inpainting method 'not-callable'"):
        get_method("not-callable")
