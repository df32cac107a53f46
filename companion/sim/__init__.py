"""Exchange / execution simulator: orders, latency, queue-position models, fees, impact, risk.

The core is :func:`companion.sim.kernels.loop_nb`, one numba loop over replayed market events
that either calls a jitted strategy at each wake-up (fast path) or returns there and is resumed
(:func:`companion.sim.kernels.step_nb`; see :mod:`companion.sim.kernels`);
:class:`~companion.sim.simulator.Simulator` is the user layer with a numba fast path
(:meth:`~companion.sim.simulator.Simulator.run`) and a Python teaching path
(:meth:`~companion.sim.simulator.Simulator.run_python`).
"""
from __future__ import annotations

from companion import lazy_submodules
from companion.sim.fees import Fees
from companion.sim.impact import SqrtImpact
from companion.sim.latency import ConstantLatency, EmpiricalLatency, IntpLatency, LognormalLatency
from companion.sim.queue import FIFOQueue, LogProbQueue, PowerProbQueue, RiskAverseQueue
from companion.sim.risk import RISK_DTYPE, RiskLimits
from companion.sim.simulator import Context, SimResult, Simulator

# the order vocabulary of companion.sim.orders (order types, statuses, liquidity flags, action kinds,
# record dtypes, empty_actions), re-exported here by name: `from companion.sim import FILLED` works
_ORDER_NAMES = (
    "LIMIT", "MARKET", "IOC", "FOK", "POST_ONLY", "PENDING", "NEW", "PARTIAL", "FILLED", "CANCELED", "REJECTED",
    "EXPIRED", "MAKER", "TAKER", "ACT_SUBMIT", "ACT_CANCEL", "ORDER_DTYPE", "FILL_DTYPE", "ACTION_DTYPE", "empty_actions",
)
__getattr__, __dir__ = lazy_submodules(__name__, (), {name: ("companion.sim.orders", name) for name in _ORDER_NAMES})

__all__ = [
    "Simulator", "SimResult", "Context", "Fees", "SqrtImpact", "RiskLimits",
    "ConstantLatency", "EmpiricalLatency", "IntpLatency", "LognormalLatency",
    "RiskAverseQueue", "PowerProbQueue", "LogProbQueue", "FIFOQueue", *_ORDER_NAMES, "RISK_DTYPE",
]
