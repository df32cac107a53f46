"""The examples in the docstrings run and print what they say (doctest)."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "companion.events", "companion.errors", "companion.data", "companion.stats",
    "companion.io.lobster", "companion.io.binance", "companion.book", "companion.book_kernels",
    "companion.flow.ofi", "companion.flow.kyle", "companion.flow.microprice",
    "companion.flow.tradesign", "companion.flow.vpin",
    "companion.labels", "companion.signals", "companion.latency", "companion.backtest.metrics",
    "companion.models.cv", "companion.models.metrics", "companion.execution.measures",
    "companion.features.sampling", "companion.plotting", "companion.execution.plots",
    "companion.backtest.plots", "companion.features.plots",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.failed == 0, f"{res.failed} of {res.attempted} docstring examples failed in {name}"
