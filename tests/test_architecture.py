"""Architecture rules of the package, checked on the source with :mod:`ast` (issue 14).

(a) No module imports a private name (``_x``, not a dunder) from ANOTHER module of ``companion``:
    ``from companion.x import _y`` and ``import companion.x as m`` / ``from companion import x``
    followed by ``m._y`` / ``x._y`` are refused unless the importing module IS ``companion.x``.
    A private name is private to the module that defines it; a helper two modules need is public.
(b) Inside ``companion/live`` and ``companion/commands`` (the layers that compose the others), no
    attribute reach-in ``obj._name`` on anything but ``self`` / ``cls``: another object's private
    state (``eng._sched``, ``sim._cfg``, ``book._akey``, ``v._n_act = 0``) is reached through its
    public API.
(c) One kernel convention: a numba kernel is a module-level ``@njit`` function named ``*_nb``
    (private helpers ``_x`` and the strategy verbs of :mod:`companion.sim.context`, which keep
    hftbacktest's names, excepted); a stage whose kernels form a unit keeps them in the ``kernels``
    module of its package (``book.kernels``, ``synth.kernels``, ``features.kernels``,
    ``sim.kernels``) beside the wrappers, and a ``kernels`` module imports no pandas or matplotlib.
(d) No import circle: no two modules of ``companion`` import each other, directly or through
    others, at module level or inside a function (the modules form layers).

Each violation is reported as ``path:line: name`` so the message says what to fix.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "companion"
COMPOSING = ("live", "commands")  # rule (b) applies to these subpackages


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    p = ROOT.joinpath(*dotted.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def _resolve(node: ast.ImportFrom, here: str, is_pkg: bool) -> str | None:
    """The absolute module name of a ``from ... import`` (relative imports resolved)."""
    if node.level == 0:
        return node.module
    base = here.split(".") if is_pkg else here.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _sources() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def private_imports(path: Path) -> list[str]:
    """Rule (a) violations of one file, as ``path:line: module._name``."""
    here = _module_name(path)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(ROOT)
    bad: list[str] = []
    aliases: dict[str, str] = {}  # local name -> companion module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            mod = _resolve(node, here, is_pkg)
            if not mod or not (mod == "companion" or mod.startswith("companion.")):
                continue
            for a in node.names:
                if _private(a.name) and mod != here:
                    bad.append(f"{rel}:{node.lineno}: {mod}.{a.name}")
                elif _is_module(f"{mod}.{a.name}"):
                    aliases[a.asname or a.name] = f"{mod}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("companion"):
                    if a.asname:
                        aliases[a.asname] = a.name
                    else:
                        aliases["companion"] = "companion"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            dotted = _dotted(node.value)
            if dotted is None:
                continue
            head, _, rest = dotted.partition(".")
            if head not in aliases:
                continue
            mod = aliases[head] + ("." + rest if rest else "")
            if _is_module(mod) and mod != here:
                bad.append(f"{rel}:{node.lineno}: {mod}.{node.attr}")
    return bad


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return None if inner is None else f"{inner}.{node.attr}"
    return None


def reach_ins(path: Path) -> list[str]:
    """Rule (b) violations of one file, as ``path:line: expr._name``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(ROOT)
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            bad.append(f"{rel}:{node.lineno}: {ast.unparse(node)}")
    return bad


def test_no_private_imports_across_modules():
    bad = [v for p in _sources() for v in private_imports(p)]
    assert not bad, "private names imported from another module:\n" + "\n".join(bad)


def test_no_private_reach_ins_in_composing_layers():
    files = [p for p in _sources() if p.relative_to(PKG).parts[0] in COMPOSING]
    assert files
    bad = [v for p in files for v in reach_ins(p)]
    assert not bad, "private attributes of other objects reached:\n" + "\n".join(bad)


# ---- the checkers themselves catch what they must (on small sources)
@pytest.mark.parametrize("src, n", [
    ("from companion.book.kernels import _grow_nb\n", 1),
    ("from companion.book.kernels import grow_nb\n", 0),
    ("from companion.book import kernels as bk\nbk._grow_nb(1)\n", 1),
    ("import companion.book.kernels as bk\nx = bk._seed_nb\n", 1),
    ("import companion.book.kernels\ncompanion.book.kernels._seed_nb(1)\n", 1),
    ("from companion.sim.kernels import (\n    DONE,\n    _submit_nb,\n)\n", 1),
    ("from .kernels import _submit_nb\n", 1),
    ("import numpy as np\nnp.core._x\n", 0),
])
def test_private_import_checker(tmp_path, monkeypatch, src, n):
    f = PKG / "sim" / "_architecture_probe_.py"
    # parsed as if it were companion/sim/_architecture_probe_.py (a module of the package)
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: src if self == f else Path.read_bytes(self).decode())
    assert len(private_imports(f)) == n


def test_reach_in_checker(tmp_path):
    f = PKG / "live" / "_probe_.py"
    src = "class A:\n    def f(self, v):\n        self._x = v._n_act\n        v._n_act = 0\n        cls._y\n"
    import unittest.mock as um

    with um.patch.object(Path, "read_text", lambda self, *a, **k: src):
        bad = reach_ins(f)
    assert [b.split(": ")[1] for b in bad] == ["v._n_act", "v._n_act"]


# ---- (c) one kernel convention
def _njit_functions(path: Path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            for d in node.decorator_list:
                f = d.func if isinstance(d, ast.Call) else d
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name == "njit":
                    yield node


def kernel_convention(path: Path) -> list[str]:
    """Rule (c) violations of one file, as ``path:line: what``."""
    rel = path.relative_to(ROOT).as_posix()
    bad = []
    if path.stem.endswith("_kernels"):
        bad.append(f"{rel}:1: a *_kernels module (kernels go in the package's kernels module)")
    if path.stem == "kernels":
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                bad += [f"{rel}:{node.lineno}: kernels module imports {n}" for n in names
                        if n.split(".")[0] in ("pandas", "matplotlib")]
    if _module_name(path) != "companion.sim.context":
        bad += [f"{rel}:{n.lineno}: kernel {n.name} is not named *_nb" for n in _njit_functions(path)
                if not n.name.endswith("_nb") and not _private(n.name)]
    return bad


def test_one_kernel_convention():
    bad = [v for p in _sources() for v in kernel_convention(p)]
    assert not bad, "kernel convention:\n" + "\n".join(bad)
    for pkg in ("book", "synth", "features", "sim"):
        assert (PKG / pkg / "kernels.py").is_file()


def test_kernel_convention_checker(tmp_path):
    f = tmp_path / "demo_kernels.py"
    f.write_text("from numba import njit\nimport pandas as pd\n@njit(cache=True)\ndef step(x):\n    return x\n"
                 "@njit\ndef _h(x):\n    return x\n")
    g = tmp_path / "kernels.py"
    g.write_text(f.read_text())
    import unittest.mock as um

    with um.patch(__name__ + ".ROOT", tmp_path), um.patch(__name__ + "._module_name", lambda p: "x"):
        assert [b.split(": ")[1] for b in kernel_convention(f)] == [
            "a *_kernels module (kernels go in the package's kernels module)", "kernel step is not named *_nb"]
        assert [b.split(": ")[1] for b in kernel_convention(g)] == [
            "kernels module imports pandas", "kernel step is not named *_nb"]


# ------------------------------------------------------------------------------------------
# (d) no import circle: the modules of companion form layers (every import, at module level or
# inside a function, points to a module that does not import it back, directly or not)
def import_graph() -> dict[str, set[str]]:
    """``module -> companion modules it imports`` (``from p import m`` with ``p.m`` a module counts
    as importing ``p.m``; a name imported from a package counts as importing its ``__init__``)."""
    graph: dict[str, set[str]] = {}
    for path in _sources():
        here = _module_name(path)
        is_pkg = path.name == "__init__.py"
        out: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom):
                mod = _resolve(node, here, is_pkg)
                if not mod or not mod.startswith("companion"):
                    continue
                for a in node.names:
                    sub = f"{mod}.{a.name}"
                    out.add(sub if _is_module(sub) else mod)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("companion."))
        out.discard(here)
        out.discard("companion")  # the root package only hands names on, lazily
        graph[here] = out
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circle():
    graph = import_graph()
    assert "companion.data" in graph and "companion.spec" in graph["companion.data"]
    assert import_circles(graph) == []


def test_import_circle_checker():
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []
