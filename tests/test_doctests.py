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


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.failed == 0, f"{res.failed} of {res.attempted} docstring examples failed in {name}"
