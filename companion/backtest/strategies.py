"""Strategies for :mod:`companion.backtest`: a numba kernel (fast path) and its Python twin.

All trading strategies here are one state machine, :func:`signal_trader_nb`, driven by a
precomputed per-event signal code (int8; sign = direction, ``|code|`` = strength level, see
:mod:`companion.signals`). The code of event ``k`` uses only data up to ``k``, and the strategy
reads it when it wakes up on event ``k`` (after the feed latency): causal by construction.

At each wake-up (local time ``t``, book row ``k``, delayed local position ``q``):

1. if any of our orders is live (pending / resting, ours or the risk manager's): wait; an entry
   limit order live for longer than ``entry_ttl`` is cancelled (once);
2. flat (``q = 0``): after the cooldown since the last exit, enter ``qty`` in direction
   ``sign(code)`` when ``|code| >= min_level`` -- a market order, or a limit order at our own
   best quote shifted ``offset`` ticks towards the other side (0 = join the best bid / ask);
3. in a position: exit with a market order for ``-q`` when it has been held ``>= hold`` (since the
   strategy first saw it open) or when the signal turned against it (``code x sign(q) <=
   -exit_level``; ``exit_level = 0`` disables this). Risk exits (max loss, end of day, ...) come
   from :class:`companion.sim.risk.RiskLimits` inside the simulator.

Each order's decision (book row, mid, signal value, role entry/exit) is logged in ``decisions`` so
slippage is measured against the mid the strategy saw when it decided.

Strategies: :class:`ImbalanceScalper` (codes from the composite imbalance, enters on STRONG only),
:class:`ModelStrategy` (codes from :func:`companion.signals.model_rule` on a causal P(up) series and
trailing OFI), :class:`NoOp`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from companion import signals as sg
from companion.events import NS
from companion.sim.context import best_ask, best_bid, cancel, is_live, submit
from companion.sim.orders import LIMIT, MARKET, NEW, PARTIAL, PENDING

# params vector
P_QTY, P_ENTRY_OTYPE, P_MIN_LEVEL, P_HOLD_NS, P_EXIT_LEVEL = 0, 1, 2, 3, 4
P_ENTRY_TTL_NS, P_COOLDOWN_NS, P_OFFSET_TICKS, P_TICK = 5, 6, 7, 8
N_PARAMS = 9
# state vector
S_PTR, S_ENTRY_T, S_LAST_EXIT_T = 0, 1, 2
N_STATE = 4
# decisions table columns (one row per order id)
D_K, D_MID, D_SIGNAL, D_ROLE, D_CANCEL_SENT = 0, 1, 2, 3, 4
N_DEC = 5
ROLE_ENTRY, ROLE_EXIT = 1.0, 2.0
_EPS = 1e-9


def new_decisions(max_orders: int) -> np.ndarray:
    """An empty decisions table for ``max_orders`` orders (+1000 for the risk manager's): float64
    ``(rows, N_DEC)``, ``D_K = -1`` (no decision) everywhere, other columns 0. Column-major, so
    marking the rows touches one column and the rest is written only where orders are logged
    (a day's table is 16 MB).

    Examples
    --------
    >>> d = new_decisions(2)
    >>> d.shape == (1002, N_DEC), float(d[0, D_K]), float(d[0, D_MID])
    (True, -1.0, 0.0)
    """
    dec = np.zeros((N_DEC, int(max_orders) + 1000)).T
    dec[:, D_K] = -1.0
    return dec


@njit(cache=True)
def log_decision_nb(dec, oid, k, mid, value, role):
    """Row ``oid`` of the decisions table (``N_DEC`` columns ``D_*``): the book row ``k`` the order
    was decided on, the mid and signal value there, its ``role`` (entry / exit / quote), no cancel
    sent yet. Ignored for an id outside the table (``-1``: not sent)."""
    if 0 <= oid < dec.shape[0]:
        dec[oid, D_K] = k
        dec[oid, D_MID] = mid
        dec[oid, D_SIGNAL] = value
        dec[oid, D_ROLE] = role
        dec[oid, D_CANCEL_SENT] = 0.0


@njit(cache=True)
def track_entry_time_nb(state, position, t):
    """``state[S_ENTRY_T]``: the local time the strategy first saw its current position (-1 when
    flat)."""
    if abs(position) < _EPS:
        state[S_ENTRY_T] = -1.0
    elif state[S_ENTRY_T] < 0.0:
        state[S_ENTRY_T] = t


@njit(cache=True)
def signal_trader_nb(ctx, params, user_state):
    """The state machine of the module docstring (a :mod:`companion.sim.context` strategy).
    ``user_state = (state float64[N_STATE], codes int8[n], values float64[n], decisions
    float64[(max orders, N_DEC)])``."""
    state, codes, values, dec = user_state
    t, k, orders, n_orders = ctx.t, ctx.k, ctx.orders, ctx.n_orders
    # 1. live orders?
    ptr = int(state[S_PTR])
    while ptr < n_orders and not is_live(orders[ptr].local_status):
        ptr += 1
    state[S_PTR] = ptr
    live = False
    for j in range(ptr, n_orders):
        o = orders[j]
        if is_live(o.local_status):
            live = True
            if (o.by_risk == 0 and j < dec.shape[0] and dec[j, D_ROLE] == ROLE_ENTRY
                    and dec[j, D_CANCEL_SENT] == 0.0 and t - o.ts_submit >= params[P_ENTRY_TTL_NS]):
                cancel(ctx, j)
                dec[j, D_CANCEL_SENT] = 1.0
    q = ctx.position
    track_entry_time_nb(state, q, t)
    if live:
        return
    code = codes[k]
    bid = best_bid(ctx)
    ask = best_ask(ctx)
    m = 0.5 * (bid + ask)
    if abs(q) < _EPS:
        # 2. flat: enter?
        if t < state[S_LAST_EXIT_T] + params[P_COOLDOWN_NS]:
            return
        lvl = params[P_MIN_LEVEL]
        side = 0
        if code >= lvl:
            side = 1
        elif code <= -lvl:
            side = -1
        if side == 0:
            return
        otype = int(params[P_ENTRY_OTYPE])
        price = 0
        if otype != MARKET:
            base = bid if side > 0 else ask
            if base != base:
                return
            price = np.int64(base + side * params[P_OFFSET_TICKS] * params[P_TICK])
        oid = submit(ctx, side, params[P_QTY], price, otype)
        if oid >= 0:
            log_decision_nb(dec, oid, k, m, values[k], ROLE_ENTRY)
        return
    # 3. in a position: exit?
    d = 1 if q > 0 else -1
    held = t - state[S_ENTRY_T]
    ex = held >= params[P_HOLD_NS]
    if params[P_EXIT_LEVEL] > 0 and code * d <= -params[P_EXIT_LEVEL]:
        ex = True
    if ex:
        oid = submit(ctx, -d, abs(q), 0, MARKET)
        if oid >= 0:
            log_decision_nb(dec, oid, k, m, values[k], ROLE_EXIT)
        state[S_LAST_EXIT_T] = t


@njit(cache=True)
def noop_nb(ctx, params, user_state):
    """Never trades (measures the simulator's own cost)."""
    return


class SignalTraderPython:
    """The Python twin of :func:`signal_trader_nb` on :class:`companion.sim.simulator.Context` (teaching
    path). Same state arrays, same decisions, so both paths give identical runs."""

    def __init__(self, params: np.ndarray, user_state: tuple):
        self.p = params
        self.state, self.codes, self.values, self.dec = user_state

    def __call__(self, ctx) -> None:
        p, state, dec = self.p, self.state, self.dec
        orders = ctx.orders
        n_orders = len(orders)
        t = ctx.t
        ls = orders["local_status"]
        live_ids = np.flatnonzero((ls == PENDING) | (ls == NEW) | (ls == PARTIAL))
        live_ids = live_ids[live_ids >= int(state[S_PTR])]
        state[S_PTR] = live_ids[0] if len(live_ids) else max(int(state[S_PTR]), n_orders)
        for j in live_ids:
            o = orders[j]
            if (o["by_risk"] == 0 and j < len(dec) and dec[j, D_ROLE] == ROLE_ENTRY
                    and dec[j, D_CANCEL_SENT] == 0.0 and t - o["ts_submit"] >= p[P_ENTRY_TTL_NS]):
                ctx.cancel(int(j))
                dec[j, D_CANCEL_SENT] = 1.0
        q = ctx.position
        track_entry_time_nb(state, q, t)
        if len(live_ids):
            return
        k = ctx.k
        code = int(self.codes[k])
        mid = ctx.mid
        if abs(q) < _EPS:
            if t < state[S_LAST_EXIT_T] + p[P_COOLDOWN_NS]:
                return
            side = 1 if code >= p[P_MIN_LEVEL] else (-1 if code <= -p[P_MIN_LEVEL] else 0)
            if side == 0:
                return
            otype = int(p[P_ENTRY_OTYPE])
            price = 0
            if otype != MARKET:
                base = ctx.best_bid if side > 0 else ctx.best_ask
                if base != base:
                    return
                price = int(np.int64(base + side * p[P_OFFSET_TICKS] * p[P_TICK]))
            oid = ctx.submit(side, float(p[P_QTY]), price, otype)
            log_decision_nb(dec, oid, k, mid, self.values[k], ROLE_ENTRY)
            return
        d = 1 if q > 0 else -1
        ex = t - state[S_ENTRY_T] >= p[P_HOLD_NS]
        if p[P_EXIT_LEVEL] > 0 and code * d <= -p[P_EXIT_LEVEL]:
            ex = True
        if ex:
            oid = ctx.submit(-d, abs(q), 0, MARKET)
            log_decision_nb(dec, oid, k, mid, self.values[k], ROLE_EXIT)
            state[S_LAST_EXIT_T] = t



# --------------------------------------------------------------------------------------------
# strategy objects (parameters in __init__, arrays built per dataset by ``build``)
# --------------------------------------------------------------------------------------------
def _ns(seconds) -> float:
    return np.inf if seconds is None else float(seconds) * NS


@dataclass
class _SignalTrader:
    """Execution parameters shared by the signal-driven strategies (times in seconds)."""

    qty: float = 100.0
    entry: str = "market"           # "market" | "limit"
    limit_offset_ticks: float = 0.0  # limit entry: ticks from our own best towards the other side
    entry_ttl_s: float | None = 2.0  # cancel an unfilled entry limit after this
    hold_s: float | None = 10.0      # timeout exit
    exit_level: int = 1             # exit when code * dir <= -exit_level (0: never on signal)
    cooldown_s: float = 0.0

    min_level = 2  # overridden

    def _params(self, tick: float) -> np.ndarray:
        if self.entry not in ("market", "limit"):
            raise ValueError(f"entry must be 'market' or 'limit', got {self.entry!r}")
        if not self.qty > 0:
            raise ValueError("qty must be > 0")
        p = np.zeros(N_PARAMS)
        p[P_QTY] = self.qty
        p[P_ENTRY_OTYPE] = MARKET if self.entry == "market" else LIMIT
        p[P_MIN_LEVEL] = self.min_level
        p[P_HOLD_NS] = _ns(self.hold_s)
        p[P_EXIT_LEVEL] = self.exit_level
        p[P_ENTRY_TTL_NS] = _ns(self.entry_ttl_s)
        p[P_COOLDOWN_NS] = _ns(self.cooldown_s)
        p[P_OFFSET_TICKS] = self.limit_offset_ticks
        p[P_TICK] = tick
        return p

    def params(self, tick: float) -> np.ndarray:
        """The float64 parameter vector of :func:`signal_trader_nb` (``P_*`` slots) for a
        ``tick`` (price units); raises ValueError on an invalid ``entry`` or ``qty``."""
        return self._params(tick)

    def codes(self, events, book, instrument) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def build(self, events, book, instrument, max_orders: int) -> tuple[np.ndarray, tuple]:
        """``(params, user_state)`` for :func:`signal_trader_nb` on this dataset."""
        codes, values = self.codes(events, book, instrument)
        state = np.zeros(N_STATE)
        state[S_ENTRY_T] = -1.0
        state[S_LAST_EXIT_T] = -np.inf
        dec = new_decisions(max_orders)
        return self._params(float(instrument.tick)), (state, np.ascontiguousarray(codes, np.int8),
                                                       np.ascontiguousarray(values, np.float64), dec)

    kernel = staticmethod(signal_trader_nb)

    @staticmethod
    def python_callback(params, user_state):
        return SignalTraderPython(params, user_state)


@dataclass
class ImbalanceScalper(_SignalTrader):
    """Enter on STRONG composite-imbalance signals (:class:`companion.signals.ImbalanceSignal`),
    exit on timeout / opposite signal (``exit_level``: 1 = any opposite signal, 2 = opposite STRONG)
    / risk.

    Attributes
    ----------
    levels : int
        Book levels of the composite imbalance.
    weak, strong : float
        Class thresholds on ``|S|`` (BUY / SELL from ``weak``, STRONG from ``strong``).
    weights : tuple of float
        Weights of the volume, distance-weighted and order-count imbalances.
    min_level : int
        Smallest ``|code|`` that enters: STRONG signals only.
    name : str
        ``"scalper"``.
    """

    levels: int = 5
    weak: float = 0.15
    strong: float = 0.35
    weights: tuple = sg.DEFAULT_WEIGHTS
    min_level = sg.STRONG_BUY
    name = "scalper"

    def signal(self, instrument) -> sg.ImbalanceSignal:
        """The :class:`companion.signals.ImbalanceSignal` with this strategy's parameters."""
        return sg.ImbalanceSignal(levels=self.levels, weak=self.weak, strong=self.strong,
                                  tick=float(instrument.tick), weights=tuple(self.weights))

    def codes(self, events, book, instrument):
        """Signal class code (int8) and composite ``S`` per event (causal)."""
        L = min(self.levels, book.shape[1] // 4)
        sig = sg.ImbalanceSignal(levels=L, weak=self.weak, strong=self.strong,
                                 tick=float(instrument.tick), weights=tuple(self.weights))
        s = sig.compute(book, events)
        return sg.classify(s, self.weak, self.strong), s


@dataclass
class ModelStrategy(_SignalTrader):
    """Trade the model rule (:func:`companion.signals.model_rule`) on a P(up) series.

    ``p_up``: per-event array (aligned with the events, value at ``k`` from data up to ``k``) or,
    with ``p_ts``, a series stamped at times ``p_ts`` (e.g. one per second) aligned causally by
    :func:`companion.stats.align_predictions`. OFI: trailing ``ofi_window_s`` level-1..
    ``ofi_levels`` OFI (shares), threshold ``ofi_threshold``. The signal value logged is P(up).

    Attributes
    ----------
    p_up : numpy.ndarray or None
        P(up) per event, or per ``p_ts`` time.
    p_ts : numpy.ndarray or None
        Times (ns) of ``p_up`` when it is not per event.
    p_long, p_short : float
        Long when P(up) >= ``p_long``, short when P(up) <= ``p_short`` (with the OFI agreeing).
    ofi_threshold : float
        Size the OFI must exceed in the trade's direction (shares).
    ofi_window_s : float
        Window of the trailing OFI (s).
    ofi_levels : int
        Book levels of the OFI.
    min_level : int
        Smallest ``|code|`` that enters (1: any signal of the rule).
    name : str
        ``"model"``.
    """

    p_up: np.ndarray | None = None
    p_ts: np.ndarray | None = None
    p_long: float = 0.55
    p_short: float = 0.45
    ofi_threshold: float = 0.0
    ofi_window_s: float = 10.0
    ofi_levels: int = 1
    min_level = 1
    name = "model"

    def codes(self, events, book, instrument):
        """Model-rule code per event and the P(up) aligned on the events."""
        if self.p_up is None:
            raise ValueError("ModelStrategy needs p_up (per-event, or with p_ts)")
        ts = events["ts"]
        if self.p_ts is None:
            p = np.asarray(self.p_up, dtype=np.float64)
            if len(p) != len(events):
                raise ValueError(f"p_up has {len(p)} values for {len(events)} events; pass p_ts to align")
        else:
            p = sg.align_predictions(self.p_ts, self.p_up, ts)
        ofi = sg.trailing_ofi(book, ts, int(self.ofi_window_s * NS), self.ofi_levels)
        return sg.model_rule(p, ofi, self.ofi_threshold, self.p_long, self.p_short), p


@dataclass
class NoOp:
    """Never trades.

    Attributes
    ----------
    name : str
        ``"noop"``.
    """

    name = "noop"
    kernel = staticmethod(noop_nb)

    def build(self, events, book, instrument, max_orders: int):
        """Empty ``(params, user_state)``: nothing to prepare."""
        return np.zeros(1), np.zeros(1)

    @staticmethod
    def python_callback(params, user_state):
        """The Python path's strategy: does nothing."""
        return None


STRATEGIES = {"scalper": ImbalanceScalper, "model": ModelStrategy, "noop": NoOp}
