"""API reference quality: every public function / class of the listed modules has a docstring, and
every public non-kernel function has an ``Examples`` section with a doctest (run by
tests/test_doctests.py). Kernels (``*_nb``, numba dispatchers) need a docstring (formula, units);
their wrapper carries the example.

Public = the module's ``__all__`` when it has one, else the names without a leading underscore
defined in the module itself (not imported).
"""
from __future__ import annotations

import importlib
import inspect

import pytest

#: modules held to the full standard (docstring + Examples); add a module here once it meets it
DOCUMENTED = [
    "companion.labels", "companion.signals", "companion.latency", "companion.stats",
    "companion.backtest.metrics", "companion.models.cv", "companion.models.metrics",
    "companion.execution.measures", "companion.features.sampling", "companion.plotting",
    "companion.execution.plots", "companion.backtest.plots", "companion.features.plots",
    # issue #7, second batch
    "companion.models.train",
    "companion.models.evaluate",
    "companion.models.io",
    "companion.models.dataset",
    "companion.models.plots",
    "companion.backtest.engine",
    "companion.backtest.strategies",
    "companion.execution.schedules",
    "companion.execution.executor",
    "companion.live.config",
    "companion.live.journal",
    "companion.io.hftbacktest",
    "companion.features.kernels",
    "companion.features.spec",
    "companion.flow.plots",
    "companion.sim.plots",
    "companion.sim.orders",
    "companion.sim.queue",
    "companion.sim.latency",
    "companion.sim.fees",
    "companion.sim.impact",
    "companion.sim.risk",
]


def public_objects(modname: str) -> list[tuple[str, object]]:
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n in vars(mod) if not n.startswith("_")]
    out = []
    for n in names:
        obj = getattr(mod, n)
        f = getattr(obj, "py_func", obj)            # numba dispatcher -> its Python function
        if (inspect.isfunction(f) or inspect.isclass(f)) and getattr(f, "__module__", None) == modname:
            out.append((n, obj))
    return out


def is_kernel(name: str, obj) -> bool:
    return name.endswith("_nb") or hasattr(obj, "py_func")


def problems(modname: str) -> list[str]:
    """``"name: why"`` for each public object of ``modname`` below the standard."""
    bad = []
    for n, obj in public_objects(modname):
        f = getattr(obj, "py_func", obj)
        doc = inspect.getdoc(f) or ""
        if not doc.strip():
            bad.append(f"{n}: no docstring")
        elif inspect.isfunction(f) and not is_kernel(n, obj) and not ("Examples\n--------" in doc and ">>>" in doc):
            bad.append(f"{n}: no Examples section with a doctest")
    return bad


@pytest.mark.parametrize("modname", DOCUMENTED)
def test_public_api_documented(modname: str):
    assert public_objects(modname), f"{modname} exports nothing public"
    assert problems(modname) == []


def test_the_check_can_fail(tmp_path, monkeypatch):
    (tmp_path / "api_docs_probe.py").write_text(
        '"""probe"""\n'
        "def documented(x):\n"
        '    """Twice x.\n\n    Examples\n    --------\n    >>> documented(2)\n    4\n    """\n'
        "    return 2 * x\n\n"
        "def no_example(x):\n"
        '    """Twice x."""\n'
        "    return 2 * x\n\n"
        "def undocumented(x):\n"
        "    return x\n\n"
        "def scale_nb(x):\n"
        '    """Kernel: ``2 x`` (units of x)."""\n'
        "    return 2 * x\n\n"
        "class Thing:\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert sorted(problems("api_docs_probe")) == ["Thing: no docstring", "no_example: no Examples section with a doctest",
                                                   "undocumented: no docstring"]
