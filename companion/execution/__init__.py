"""Execution algorithms: schedules (TWAP, VWAP, POV, signal-adaptive), an executor that runs a
parent order's children through :class:`companion.sim.simulator.Simulator`, cost measures (implementation
shortfall and its split, VWAP slippage, impact) and the paired comparison of two algorithms.

A sketch on the default day (runnable examples on a one-minute day are in
:func:`companion.execution.execute`)::

    from companion import data
    from companion.execution import ParentOrder, TWAP, execute
    d = data.load("synthetic")
    p = ParentOrder(side=1, qty=5000, start_ns=d.instrument.session_open_ns + 3600 * 10**9,
                    end_ns=d.instrument.session_open_ns + 5400 * 10**9)
    r = execute(d, p, TWAP(interval_s=30), mode="limit", timeout_s=10)
    r.measures["is_bps"], r.measures["completion"]
"""
from __future__ import annotations

from companion.execution.executor import ExecutionResult, exec_strategy_nb, execute, random_parents, run_many
from companion.execution.measures import impact_bps, paired_comparison, shortfall, sign_test, vwap_slippage_bps
from companion.execution.schedules import (
    POV,
    TWAP,
    VWAP,
    Adaptive,
    ChildSchedule,
    ParentOrder,
    VolumeProfile,
    ofi_signal,
    window_volume,
)

__all__ = [
    "ParentOrder", "ChildSchedule", "VolumeProfile", "TWAP", "VWAP", "POV", "Adaptive",
    "ofi_signal", "window_volume", "execute", "ExecutionResult", "exec_strategy_nb",
    "random_parents", "run_many", "shortfall", "vwap_slippage_bps", "impact_bps",
    "paired_comparison", "sign_test",
]
