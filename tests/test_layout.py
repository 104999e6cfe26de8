"""The package's layout rules: small modules and functions, public imports only, no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "corkit_inpaint"
MODULES = sorted(PKG.rglob("*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".")
    base = base if is_pkg else base[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, *, top_level_only: bool):
    """``(imported module, name)`` pairs of the package's own imports in ``path``."""
    mod = _name(path)
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            target = _resolve(mod, path.name == "__init__.py", node)
            if target.startswith("corkit_inpaint"):
                for a in node.names:
                    yield target, a.name


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _name(p))
def test_module_and_function_size(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= MAX_MODULE_LINES, f"{path.name}: {len(lines)} lines"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            n = node.end_lineno - node.lineno + 1
            assert n <= MAX_FUNCTION_LINES, f"{path.name}:{node.lineno} {node.name}() has {n} lines"


def test_no_underscore_names_imported_from_other_modules():
    bad = [f"{_name(p)} imports {t}.{n}" for p in MODULES for t, n in _imports(p, top_level_only=False)
           if n.startswith("_") and n != "__version__"]
    assert not bad, bad


def test_no_import_cycles():
    graph = {}
    for p in MODULES:
        deps = set()
        for target, name in _imports(p, top_level_only=True):
            sub = f"{target}.{name}"
            deps.add(sub if any(_name(q) == sub for q in MODULES) else target)
        graph[_name(p)] = deps - {_name(p)}

    def visit(node, stack, done):
        if node in stack:
            return stack[stack.index(node):] + [node]
        if node in done:
            return None
        done.add(node)
        for d in graph.get(node, ()):
            cyc = visit(d, stack + [node], done)
            if cyc:
                return cyc
        return None

    done: set = set()
    for m in graph:
        cyc = visit(m, [], done)
        assert cyc is None, " -> ".join(cyc)


def test_every_module_declares_all():
    missing = [_name(p) for p in MODULES if p.name != "__main__.py" and "__all__" not in p.read_text()]
    assert not missing, missing
