"""companion: the numba engine of the order-flow imbalance course.

Import what you need from the field-named modules (``companion.book``, ``companion.flow.ofi``,
...); the most used entry points are re-exported here lazily.
"""
from __future__ import annotations

from companion.errors import DataFormatError
from companion.events import EVENT_DTYPE, Instrument

__version__ = "0.1.0"

_LAZY = {
    "read_lobster": ("companion.io.lobster", "read_lobster"),
    "read_binance": ("companion.io.binance", "read_binance"),
    "load": ("companion.data", "load"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'companion' has no attribute {name!r}")


__all__ = ["EVENT_DTYPE", "Instrument", "DataFormatError", *list(_LAZY)]
