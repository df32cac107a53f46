"""Queue-position models for our resting limit orders against replayed market data.

Our orders never change the replayed market: the model only estimates ``front``, the quantity
ahead of us at our price (hftbacktest ``models/queue.rs``; Rigtorp 2013; quant.SE #3782).

On arrival ``front`` = the visible quantity at our price (we join the back of the queue).
Then, at our side and price:

* **trade** of ``v`` (all models): ``front -= v``; the excess ``max(0, v - front)`` fills us
  (partial fills by traded volume beyond the queue). After the first fill ``front = 0``.
* **depth decrease** of ``chg`` (cancel / delete, or an L2 level update net of the trades
  already counted) from ``prev`` to ``new``:

  - :class:`RiskAverseQueue`: ``front = min(front, new)``: cancels never advance us; the clamp
    only says the queue ahead cannot be longer than the level.
  - probabilistic (:class:`PowerProbQueue`, :class:`LogProbQueue`): with ``back = prev - front``
    and ``p = f(back) / (f(back) + f(front))`` the probability the cancel came from behind us,
    ``front = min(new, front - (1 - p) chg + min(0, back - p chg))``; ``f(x) = x**n`` or
    ``f(x) = log(1 + x)``.
  - :class:`FIFOQueue` (L3 data with order ids, e.g. LOBSTER): exact. An order is ahead of us
    iff it was added before our arrival; a cancel / delete / execution of such an order
    reduces ``front`` by its size; orders added later queue behind us; an execution of an order
    behind us means the aggressor reached us first, so it fills us. On L2 data (no ids) FIFO
    falls back to the risk-averse rule.

* **depth increase**: ``front`` unchanged (new orders join behind).

A trade *through* our price (at a price worse for the aggressor than ours) fills the whole
remainder at our price (hftbacktest's convention). The opposite side crossing our price fills us
at our price by the crossing visible quantity, net of the phantom liquidity we already used
(``shadow``: what our order took on arrival, still shown by the replay). Practice: RiskAverse and a probabilistic model bracket the fill rate from below
and above.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

Q_RISK_AVERSE, Q_POWER, Q_LOG, Q_FIFO = 0, 1, 2, 3
QUEUE_NAMES = {Q_RISK_AVERSE: "risk_averse", Q_POWER: "power_prob", Q_LOG: "log_prob",
               Q_FIFO: "fifo"}


@njit(cache=True)
def queue_prob_nb(model: int, n: float, front: float, back: float) -> float:
    """P(a depth decrease came from behind us) = f(back) / (f(back) + f(front))."""
    if front < 0.0:
        front = 0.0
    if back < 0.0:
        back = 0.0
    if back <= 0.0:
        return 1.0 if front <= 0.0 else 0.0
    if model == Q_LOG:
        fb = np.log1p(back)
        return fb / (fb + np.log1p(front))
    # x**n form written as 1 / (1 + (front/back)**n): no overflow for large queues or n
    r = (front / back) ** n
    return 1.0 / (1.0 + r) if np.isfinite(r) else 0.0


@njit(cache=True)
def queue_on_trade_nb(front: float, v: float) -> tuple[float, float]:
    """Trade of ``v`` at our price: returns (new front >= 0, quantity available to fill us)."""
    if v <= front:
        return front - v, 0.0
    return 0.0, v - front


@njit(cache=True)
def queue_on_decrease_nb(model: int, n: float, front: float, prev_qty: float, new_qty: float,
                         chg: float) -> float:
    """New ``front`` after the level at our price fell from ``prev_qty`` to ``new_qty`` by
    ``chg`` (> 0) not explained by trades. Risk-averse / FIFO-on-L2: ``min(front, new)``;
    probabilistic: hftbacktest ``ProbQueueModel::depth``. Never negative."""
    if new_qty < 0.0:
        new_qty = 0.0
    if model == Q_POWER or model == Q_LOG:
        if chg > 0.0:
            back = prev_qty - front
            p = queue_prob_nb(model, n, front, back)
            est = front - (1.0 - p) * chg + min(0.0, back - p * chg)
            front = min(est, new_qty)
        else:
            front = min(front, new_qty)
    else:
        front = min(front, new_qty)
    if front < 0.0:
        front = 0.0
    return front


@dataclass(frozen=True)
class QueueModel:
    """A queue-position model: its kernel ``code`` (class constant) and parameter ``n``.

    Each model below sets its own ``code``; only :class:`PowerProbQueue` has a parameter.

    Attributes
    ----------
    code : int
        The model's code for the simulator kernels.
    n : float
        The model's parameter (0 when it has none).
    """

    n: float = 0.0
    code: ClassVar[int] = Q_RISK_AVERSE


class RiskAverseQueue(QueueModel):
    """Advance only on trades at our price (the conservative fill bound); ``n`` is unused."""

    code = Q_RISK_AVERSE  #: the model's code for the simulator kernels


@dataclass(frozen=True)
class PowerProbQueue(QueueModel):
    """hftbacktest ``ProbQueueModel(PowerProbQueueFunc(n))``: f(x) = x**n (n = 2 or 3 typical).

    Attributes
    ----------
    n : float
        The exponent of ``f(x) = x**n``.
    """

    n: float = 2.0
    code: ClassVar[int] = Q_POWER  #: the model's code for the simulator kernels


class LogProbQueue(QueueModel):
    """hftbacktest ``ProbQueueModel(LogProbQueueFunc)``: f(x) = log(1 + x); ``n`` is unused."""

    code = Q_LOG  #: the model's code for the simulator kernels


class FIFOQueue(QueueModel):
    """Exact FIFO from order ids (L3 data); risk-averse fallback on events without ids; ``n`` is
    unused."""

    code = Q_FIFO  #: the model's code for the simulator kernels
