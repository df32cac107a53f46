"""Risk manager: pre-trade limits and per-wake-up checks that can close the position.

Checked by the exchange loop at every strategy wake-up, on the strategy's own (delayed) view of
its position and cash, marked at the mid of the book it sees. Rules, in priority order:

======================  =========  ==================================================================
rule                    action     breach
======================  =========  ==================================================================
END_OF_DAY              HALT       ``t >= flat_at_ns`` (session close minus a margin)
DAILY_LOSS              HALT       ``equity <= -daily_loss`` (equity since the start of the run)
MAX_LOSS                CLOSE      ``equity_at_open - equity > max_loss`` for the current position
POSITION_TIMEOUT        CLOSE      position held longer than ``position_timeout_ns``
MAX_POSITION            CLOSE      ``|position| > max_position`` (pre-trade also: REJECT)
MAX_SPREAD              BLOCK      ``ask - bid > max_spread`` (price units)
TRADE_RATE              BLOCK      ``>= max_trades_per_min`` fills in the last 60 s
======================  =========  ==================================================================

CLOSE: cancel every open order and send a market order for ``-position``; the strategy is not
called at that wake-up. HALT: CLOSE, then never call the strategy again. BLOCK: cancel open
orders and skip the strategy while the condition lasts. REJECT: the pre-trade check refuses an
order whose worst-case position (position + all open same-side quantity + the order) exceeds
``max_position``; it is never sent (reason ``RISK``). Every decision is logged once per breach
as a row of :data:`RISK_DTYPE`. A disabled limit is ``inf``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

RULE_NONE, RULE_END_OF_DAY, RULE_DAILY_LOSS, RULE_MAX_LOSS = 0, 1, 2, 3
RULE_POSITION_TIMEOUT, RULE_MAX_POSITION, RULE_MAX_SPREAD, RULE_TRADE_RATE = 4, 5, 6, 7
RULE_NAMES = {RULE_END_OF_DAY: "END_OF_DAY", RULE_DAILY_LOSS: "DAILY_LOSS",
              RULE_MAX_LOSS: "MAX_LOSS", RULE_POSITION_TIMEOUT: "POSITION_TIMEOUT",
              RULE_MAX_POSITION: "MAX_POSITION", RULE_MAX_SPREAD: "MAX_SPREAD",
              RULE_TRADE_RATE: "TRADE_RATE"}
ACTION_NONE, ACTION_CLOSE, ACTION_BLOCK, ACTION_HALT, ACTION_REJECT = 0, 1, 2, 3, 4
RISK_ACTION_NAMES = {ACTION_CLOSE: "CLOSE", ACTION_BLOCK: "BLOCK", ACTION_HALT: "HALT",
                     ACTION_REJECT: "REJECT"}

# indices of the limits vector
L_MAX_POSITION, L_MAX_LOSS, L_POSITION_TIMEOUT, L_MAX_SPREAD = 0, 1, 2, 3
L_MAX_TRADES_PER_MIN, L_FLAT_AT, L_DAILY_LOSS = 4, 5, 6
N_LIMITS = 7

RISK_DTYPE = np.dtype([
    ("ts", np.int64),          # local time of the decision
    ("event_idx", np.int64),   # the book row the strategy was looking at
    ("rule", np.int8),
    ("action", np.int8),
    ("position", np.float64),  # local position at the decision
    ("equity", np.float64),    # local equity (cash + position * mid), price units x size
    ("value", np.float64),     # the measured quantity that breached (loss, spread, count, ...)
])

MINUTE_NS = 60_000_000_000


@dataclass(frozen=True)
class RiskLimits:
    """Risk limits (``None`` = off). Money in price units x size, times in ns.

    Attributes
    ----------
    max_position : float or None
        ``|position|`` limit: an order whose worst case exceeds it is rejected, a position
        beyond it is closed.
    max_loss : float or None
        Loss of the open position (from its opening equity) that flattens it.
    position_timeout_ns : int or None
        A position held this long is flattened (ns).
    max_spread : float or None
        Spreads wider than this (price units) block new orders.
    max_trades_per_min : int or None
        Fills in the last minute that block new orders.
    flat_at_ns : int or None
        Flatten and halt at this time (ns; the end of day).
    daily_loss : float or None
        Session loss that flattens and halts.
    """

    max_position: float | None = None
    max_loss: float | None = None
    position_timeout_ns: int | None = None
    max_spread: float | None = None
    max_trades_per_min: int | None = None
    flat_at_ns: int | None = None
    daily_loss: float | None = None

    def to_array(self) -> np.ndarray:
        """The limits as the float64 array the kernels read (``inf`` = off); raises on a negative limit."""
        v = [self.max_position, self.max_loss, self.position_timeout_ns, self.max_spread,
             self.max_trades_per_min, self.flat_at_ns, self.daily_loss]
        out = np.array([np.inf if x is None else float(x) for x in v], dtype=np.float64)
        if (out[[0, 1, 2, 3, 4, 6]] < 0).any():
            raise ValueError("risk limits must be >= 0")
        return out


@njit(cache=True)
def risk_check_nb(limits: np.ndarray, t: int, position: float, equity: float, spread: float,
                  pos_open_t: int, pos_open_equity: float, n_recent_fills: int
                  ) -> tuple[int, int, float]:
    """(rule, action, measured value) of the first breached rule, or (RULE_NONE, ACTION_NONE, 0)."""
    if t >= limits[L_FLAT_AT]:
        return RULE_END_OF_DAY, ACTION_HALT, float(t)
    if -equity > limits[L_DAILY_LOSS]:
        return RULE_DAILY_LOSS, ACTION_HALT, -equity
    if position != 0.0:
        loss = pos_open_equity - equity
        if loss > limits[L_MAX_LOSS]:
            return RULE_MAX_LOSS, ACTION_CLOSE, loss
        if pos_open_t >= 0 and t - pos_open_t > limits[L_POSITION_TIMEOUT]:
            return RULE_POSITION_TIMEOUT, ACTION_CLOSE, float(t - pos_open_t)
        if abs(position) > limits[L_MAX_POSITION]:
            return RULE_MAX_POSITION, ACTION_CLOSE, abs(position)
    if spread > limits[L_MAX_SPREAD]:
        return RULE_MAX_SPREAD, ACTION_BLOCK, spread
    if n_recent_fills >= limits[L_MAX_TRADES_PER_MIN]:
        return RULE_TRADE_RATE, ACTION_BLOCK, float(n_recent_fills)
    return RULE_NONE, ACTION_NONE, 0.0


@njit(cache=True)
def risk_pretrade_ok_nb(limits: np.ndarray, position: float, open_buy: float, open_sell: float,
                        side: int, qty: float) -> bool:
    """Worst-case position after this order within ``max_position``?"""
    if side > 0:
        return position + open_buy + qty <= limits[L_MAX_POSITION] + 1e-9
    return -(position - open_sell - qty) <= limits[L_MAX_POSITION] + 1e-9
