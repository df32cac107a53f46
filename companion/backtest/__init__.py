"""Event-driven backtests over :class:`companion.sim.simulator.Simulator`: engine, strategies, metrics, plots.

* :func:`run_backtest` -- run a strategy over events + book (numba fast path or Python path);
* strategies: :class:`ImbalanceScalper`, :class:`ModelStrategy`, :class:`NoOp`
  (``companion.backtest.strategies``); market makers :class:`GLFT`, :class:`AvellanedaStoikov`,
  :class:`Grid` (``companion.backtest.market_making``);
* ``companion.backtest.pnl`` -- the exact P&L decomposition (spread capture, adverse selection,
  inventory, fees) and market-making statistics;
* ``companion.backtest.metrics`` -- the metrics, each with its formula;
* :func:`performance_figure` -- the standard 2 x 3 figure.
"""
from __future__ import annotations

from companion.backtest.engine import BacktestResult, ExecutionConfig, round_trips, run_backtest, summarize
from companion.backtest.market_making import GLFT, AvellanedaStoikov, Grid
from companion.backtest.plots import performance_figure
from companion.backtest.strategies import STRATEGIES as _TAKERS
from companion.backtest.strategies import ImbalanceScalper, ModelStrategy, NoOp

#: every strategy the CLI knows by name (the signal traders and the market makers)
STRATEGIES = {**_TAKERS, "mm": GLFT, "mm_as": AvellanedaStoikov, "mm_grid": Grid}

__all__ = ["run_backtest", "summarize", "round_trips", "BacktestResult", "ExecutionConfig",
           "ImbalanceScalper", "ModelStrategy", "NoOp", "STRATEGIES", "performance_figure",
           "AvellanedaStoikov", "GLFT", "Grid"]
