"""Exchange / execution simulator: orders, latency, queue-position models, fees, impact, risk.

The core is :func:`companion.sim.kernels.loop_nb`, one numba loop over replayed market events
that either calls a jitted strategy at each wake-up (fast path) or returns there and is resumed
(:func:`companion.sim.kernels.step_nb`; see :mod:`companion.sim.kernels`);
:class:`~companion.sim.simulator.Simulator` is the user layer with a numba fast path
(:meth:`~companion.sim.simulator.Simulator.run`) and a Python teaching path
(:meth:`~companion.sim.simulator.Simulator.run_python`).
"""
from __future__ import annotations

from companion.sim.fees import Fees
from companion.sim.impact import SqrtImpact
from companion.sim.latency import ConstantLatency, EmpiricalLatency, IntpLatency, LognormalLatency
from companion.sim.orders import (
    ACT_CANCEL,
    ACT_SUBMIT,
    ACTION_DTYPE,
    CANCELED,
    EXPIRED,
    FILL_DTYPE,
    FILLED,
    FOK,
    IOC,
    LIMIT,
    MAKER,
    MARKET,
    NEW,
    ORDER_DTYPE,
    PARTIAL,
    PENDING,
    POST_ONLY,
    REJECTED,
    TAKER,
    empty_actions,
)
from companion.sim.queue import FIFOQueue, LogProbQueue, PowerProbQueue, RiskAverseQueue
from companion.sim.risk import RISK_DTYPE, RiskLimits
from companion.sim.simulator import Context, SimResult, Simulator

__all__ = [
    "Simulator", "SimResult", "Context", "Fees", "SqrtImpact", "RiskLimits",
    "ConstantLatency", "EmpiricalLatency", "IntpLatency", "LognormalLatency",
    "RiskAverseQueue", "PowerProbQueue", "LogProbQueue", "FIFOQueue",
    "LIMIT", "MARKET", "IOC", "FOK", "POST_ONLY", "PENDING", "NEW", "PARTIAL", "FILLED",
    "CANCELED", "REJECTED", "EXPIRED", "MAKER", "TAKER", "ACT_SUBMIT", "ACT_CANCEL",
    "ORDER_DTYPE", "FILL_DTYPE", "ACTION_DTYPE", "RISK_DTYPE", "empty_actions",
]
