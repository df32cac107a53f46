"""companion: the numba engine of the order-flow imbalance course.

Every subpackage and module is reachable from the package itself and imported on first use, so
``import companion`` stays cheap (numpy only: no numba, pandas or matplotlib until a module that
needs them is touched):

>>> import companion
>>> "flow" in dir(companion) and "flow" in companion.__all__
True
>>> companion.flow.ofi.__name__, companion.io.lobster.__name__
('companion.flow.ofi', 'companion.io.lobster')

The namespace-only subpackages (:mod:`companion.io`, :mod:`companion.live`) load their modules
the same way (:func:`lazy_submodules`).

The most used entry points are re-exported (also lazily): ``companion.load``,
``companion.read_lobster``, ``companion.read_binance``, plus :data:`EVENT_DTYPE`,
:class:`Instrument` and :class:`DataFormatError`.
"""
from __future__ import annotations

import importlib
import sys

from companion.errors import DataFormatError
from companion.events import EVENT_DTYPE, Instrument

__version__ = "0.1.0"

#: the subpackages and modules of ``companion`` (imported on first attribute access)
_SUBMODULES = (
    # data and events
    "events", "errors", "paths", "spec", "data", "io", "store", "catalog", "synth", "universe",
    # the book and the flow measures
    "book", "flow", "stats", "labels",
    # features, models and signals
    "features", "models", "signals", "streaming",
    # simulation, execution and backtests
    "sim", "execution", "backtest",
    # research at scale, live trading, plots, command line
    "study", "live", "cycles", "plotting", "display", "cli", "commands",
)

_LAZY = {
    "read_lobster": ("companion.io.lobster", "read_lobster"),
    "read_binance": ("companion.io.binance", "read_binance"),
    "load": ("companion.data", "load"),
}


def lazy_submodules(package: str, names, attributes: dict | None = None):
    """Module-level ``(__getattr__, __dir__)`` for a package whose submodules load on first use.

    ``names``: the submodules (``package.<name>``) reachable as attributes; ``attributes``: extra
    lazy names, ``{name: (module, attribute)}``. Python calls a module's ``__getattr__`` only for a
    name not yet bound, and importing a submodule binds it on the package, so each import happens
    once. ``__dir__`` lists the package's bound names plus ``names`` and ``attributes``.

    Examples
    --------
    >>> import sys, types
    >>> pkg = types.ModuleType("pkg_demo"); sys.modules["pkg_demo"] = pkg
    >>> pkg.__getattr__, pkg.__dir__ = lazy_submodules("pkg_demo", [], {"pi": ("math", "pi")})
    >>> round(pkg.pi, 4), "pi" in dir(pkg)
    (3.1416, True)
    >>> pkg.tau
    Traceback (most recent call last):
    AttributeError: module 'pkg_demo' has no attribute 'tau'
    """
    names = frozenset(names)
    attributes = dict(attributes or {})

    def __getattr__(name: str):
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        if name in attributes:
            mod, attr = attributes[name]
            return getattr(importlib.import_module(mod), attr)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | names | set(attributes))

    return __getattr__, __dir__


__getattr__, __dir__ = lazy_submodules(__name__, _SUBMODULES, _LAZY)

__all__ = ["EVENT_DTYPE", "Instrument", "DataFormatError", "lazy_submodules", *_LAZY, *_SUBMODULES]
