"""The discoverable API (issue 14): ``import companion`` is cheap, and every subpackage / module is
reachable from it (``companion.book``, ``companion.flow``, ...), imported on first use."""
from __future__ import annotations

import doctest
import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import companion

ROOT = Path(companion.__file__).resolve().parents[1]
TOP_NAMES = {"EVENT_DTYPE", "Instrument", "DataFormatError", "read_lobster", "read_binance", "load",
             "lazy_submodules"}


def _fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (nothing imported yet) and return its JSON output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_is_cheap():
    """``import companion`` loads numpy and three small modules, never numba/pandas/matplotlib."""
    got = _fresh("import json, sys, companion; print(json.dumps(sorted(m for m in sys.modules if "
                 "m.split('.')[0] in ('companion', 'numba', 'pandas', 'matplotlib', 'scipy', 'sklearn'))))")
    assert got == ["companion", "companion.errors", "companion.events"]


def test_subpackages_reachable_from_a_fresh_import():
    """In a fresh process, ``companion.flow.ofi`` etc. work after a bare ``import companion``
    (before issue 14 this raised AttributeError)."""
    got = _fresh("import json, companion; print(json.dumps([companion.book.__name__, "
                 "companion.flow.ofi.__name__, companion.io.lobster.__name__, companion.sim.__name__, "
                 "companion.study.__name__, companion.models.cv.__name__, "
                 "companion.load.__module__, companion.read_lobster.__module__]))")
    assert got == ["companion.book", "companion.flow.ofi", "companion.io.lobster", "companion.sim",
                   "companion.study", "companion.models.cv", "companion.data", "companion.io.lobster"]


def test_all_lists_every_module_of_the_package():
    """``__all__`` = the top-level names + every module / subpackage on disk (a new module cannot be
    forgotten)."""
    on_disk = {m.name for m in pkgutil.iter_modules(companion.__path__)} - {"__main__"}
    assert set(companion.__all__) == TOP_NAMES | on_disk
    assert len(companion.__all__) == len(set(companion.__all__))


@pytest.mark.parametrize("name", sorted(set(companion.__all__) - TOP_NAMES))
def test_each_submodule_resolves_and_binds(name):
    mod = getattr(companion, name)
    assert mod is sys.modules[f"companion.{name}"] is importlib.import_module(f"companion.{name}")
    assert vars(companion)[name] is mod          # bound: the next access skips __getattr__


@pytest.mark.parametrize("pkg", ["io", "live"])
def test_namespace_subpackages_are_lazy_too(pkg):
    """``companion.io`` / ``companion.live`` have no code of their own: their modules load on first
    attribute access, and ``__all__`` lists them all."""
    p = getattr(companion, pkg)
    on_disk = sorted(m.name for m in pkgutil.iter_modules(p.__path__))
    assert p.__all__ == on_disk and len(on_disk) >= 5
    assert set(on_disk) <= set(dir(p))
    for name in on_disk:
        assert getattr(p, name) is importlib.import_module(f"companion.{pkg}.{name}")
    with pytest.raises(AttributeError, match=f"module 'companion.{pkg}' has no attribute 'nope'"):
        p.nope  # noqa: B018


def test_dir_and_star_import():
    assert set(companion.__all__) <= set(dir(companion))
    assert dir(companion) == sorted(dir(companion))
    ns: dict = {}
    exec("from companion import *", ns)
    assert set(companion.__all__) <= set(ns)
    assert ns["load"] is companion.data.load and ns["flow"] is companion.flow


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="module 'companion' has no attribute 'nope'"):
        companion.nope  # noqa: B018
    assert not hasattr(companion, "book_kernel")        # a near miss is not silently imported


def test_package_docstring_examples():
    res = doctest.testmod(companion, verbose=False)
    assert res.attempted >= 2 and res.failed == 0
