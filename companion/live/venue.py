"""Venue adapters of the live executor: the interface, and :class:`PaperVenue` (the simulator in real time).

The interface (:class:`VenueAdapter`)
-------------------------------------
The executor talks to a venue through five calls and three callbacks; a real connector (FIX
session, a REST + websocket API such as Binance's ``POST /fapi/v1/order`` and user-data stream)
implements exactly these:

``on_market(events, rows)``
    market data as the executor received it (a paper venue matches against it; a real connector
    ignores it: the exchange has its own book).
``next_wakeup(until_ns) -> (t_ns, k) | None``
    the next moment the strategy may act, at or before ``until_ns``: ``t_ns`` its local time and
    ``k`` the index of the last event it has seen. A real connector returns ``(now, last event)``
    once per market-data chunk; the paper venue returns the wake-ups of the simulator's feed-latency
    model, so the strategy sees each event when the simulated feed would deliver it.
``submit(side, qty, price, otype) -> order_id`` / ``cancel(order_id)``
    send a new order (``side`` +1 buy / -1 sell, ``price`` int price units, ``otype`` a code of
    :mod:`companion.sim.orders`) or a cancel, at the current wake-up time. Ids are the venue's
    row numbers 0, 1, 2, ...; the executor derives its client order ids from them.
``reports() -> list[Report]``
    the venue's answers (acks, fills, cancels, rejects, expiries) *delivered* since the last call,
    in delivery order; the callbacks ``on_ack`` / ``on_fill`` / ``on_done`` (if set) are called
    with each. A real connector fills this list from its user-data stream.
``kill()``
    cancel every live order, flatten the position with a market order and stop waking the
    strategy (the kill switch). A real connector also sends its venue's cancel-all.

Plus the account view ``position`` / ``cash`` (what the strategy knows: delayed by the response
latency) used for reconciliation after a restart.

:class:`PaperVenue`
-------------------
The exchange simulator of :mod:`companion.sim` (matching, queue position, latency channels, fees,
risk checks at each wake-up) stepped *with the feed*: each chunk of events is appended to its
buffers and :func:`paper_step_nb` runs the simulator's kernels (:mod:`companion.sim.kernels`) up to
the chunk's exchange time. Its loop is the simulator's one loop (:func:`companion.sim.kernels.loop_nb`,
the same code as ``step_nb`` and the backtest fast path) told two things: it knows ``n_known``
events instead of the whole day, and (until the feed ends, ``final``) it returns ``NEED_DATA``
instead of acting past ``until``; a chunk holds every event of its
timestamp, so nothing unknown can come before ``until``. Processing order is therefore exactly
the backtest's (market event, then order arrival, then wake-up, at equal times), and a replay
through the executor gives the backtester's orders and fills, field for field (tested; exact for
any entry / response latency model and a constant feed latency, whose draws consume no random
numbers: a random feed latency draws in a different order once the data are streamed).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numba import njit
from numba.core import types
from numba.typed import Dict

from companion.events import Instrument
from companion.sim.kernels import (
    C_HAS_IDS,
    DONE,
    ERROR_NAMES,
    F_LCASH,
    F_LPOS,
    F_POS,
    I_BAD_CANCELS,
    I_HALTED,
    I_NFILL,
    I_NORD,
    I_NRISK,
    I_RESP_HEAD,
    I_WAKE_EV,
    I_WAKE_T,
    NEED_DATA,
    WAKEUP,
    add_index_into_nb,
    kill_nb,
    loop_nb,
    write_market_columns_nb,
)
from companion.sim.orders import (
    ACT_CANCEL,
    ACT_SUBMIT,
    CANCELED,
    EXPIRED,
    MARKET,
    NEW,
    PARTIAL,
    PENDING,
    R_RISK,
    REASON_NAMES,
    REJECTED,
    RESP_ACK,
    RESP_FILL,
)
from companion.sim.queue import Q_FIFO

__all__ = ["Report", "VenueAdapter", "PaperVenue", "paper_step_nb", "kill_nb", "NEED_DATA"]

# ============================================================================ kernels
@njit(cache=True)
def append_events_nb(ev, rows, mkt, oid, a) -> bool:
    """Copy a chunk of events (EVENT_DTYPE) and its book rows into the buffers at ``a`` (the
    event fields by :func:`companion.sim.kernels.write_market_columns_nb`, as the simulator
    does). Returns whether the chunk carries order ids."""
    ids, _ = write_market_columns_nb(ev, mkt, oid, a)
    book = mkt[7]
    for j in range(ev.shape[0]):
        for c in range(rows.shape[1]):
            book[a + j, c] = rows[j, c]
    return ids


@njit(cache=True)
def paper_step_nb(mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_actions):
    """:func:`companion.sim.kernels.step_nb` over the first ``n_known`` events of the buffers
    (both are :func:`companion.sim.kernels.loop_nb`, returning at every wake-up).

    Sends ``actions[:n_actions]`` at the current wake-up time, then runs market events, order
    arrivals and wake-ups in the simulator's order. Returns ``WAKEUP`` (``st[0][I_WAKE_T]`` /
    ``[I_WAKE_EV]`` say when and which event), ``NEED_DATA`` when the next item is later than
    ``until`` (or needs an event not known yet) and the feed has not ended, ``DONE`` at the end
    (``final``: no more events will come; responses still in flight are delivered as in
    ``step_nb``), or an ``ERR_*`` code. With ``final`` and ``n_known`` = all events it is
    ``step_nb``.
    """
    return loop_nb(mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_actions,
                   None, None, None)


# ============================================================================ interface
@dataclass(frozen=True)
class Report:
    """One venue answer as delivered to the executor.

    ``kind``: ``"ack"``, ``"fill"`` or ``"done"`` (final state other than filled: ``status`` is
    ``"CANCELED"``, ``"REJECTED"`` or ``"EXPIRED"``, ``reason`` a :data:`companion.sim.orders.REASON_NAMES`
    value). ``t_local``: delivery time (ns); ``t_exchange``: when it happened at the venue. Fills carry
    ``fill_id`` (the venue's trade number), ``price`` (price units), ``qty``, ``fee`` (price units x
    size), ``liquidity`` ``"MAKER"`` / ``"TAKER"``.

    Attributes
    ----------
    kind : str
        ``"ack"``, ``"fill"`` or ``"done"``.
    order_id : int
        The venue's order id (its row number: 0, 1, 2, ...).
    t_local : int
        Delivery time to the executor (ns).
    t_exchange : int
        When it happened at the venue (ns).
    status : str
        Final state of a ``"done"``: ``"CANCELED"``, ``"REJECTED"`` or ``"EXPIRED"``.
    reason : str
        Reason code of a ``"done"`` (a :data:`companion.sim.orders.REASON_NAMES` value).
    fill_id : int
        The venue's trade number of a fill (-1 otherwise).
    side : int
        +1 buy, -1 sell.
    price : float
        Fill price (price units).
    qty : float
        Filled quantity.
    fee : float
        Fee of the fill (price units x size; negative = rebate).
    liquidity : str
        ``"MAKER"`` or ``"TAKER"`` for a fill.
    """

    kind: str
    order_id: int
    t_local: int
    t_exchange: int = 0
    status: str = ""
    reason: str = ""
    fill_id: int = -1
    side: int = 0
    price: float = 0.0
    qty: float = 0.0
    fee: float = 0.0
    liquidity: str = ""


class VenueAdapter(Protocol):
    """What the executor needs from a venue (see the module docstring)."""

    #: called with each ``"ack"`` report as :meth:`reports` delivers it (None: not called)
    on_ack: Callable[[Report], None] | None
    #: called with each ``"fill"`` report (None: not called)
    on_fill: Callable[[Report], None] | None
    #: called with each ``"done"`` report: cancelled, rejected or expired (None: not called)
    on_done: Callable[[Report], None] | None

    def on_market(self, events: np.ndarray, rows: np.ndarray) -> None:
        """Market data as the executor received it (events and their book rows)."""

    def next_wakeup(self, until_ns: int) -> tuple[int, int] | None:
        """The next ``(t_ns, k)`` at or before ``until_ns`` when the strategy may act (None: none)."""

    def submit(self, side: int, qty: float, price: int, otype: int) -> int:
        """Send a new order at the current wake-up time; returns the venue's order id."""

    def cancel(self, order_id: int) -> None:
        """Send a cancel of ``order_id`` at the current wake-up time."""

    def reports(self) -> list[Report]:
        """The answers delivered since the last call, in delivery order."""

    def kill(self) -> int:
        """Cancel every live order, flatten the position and stop waking the strategy."""

    @property
    def position(self) -> float:
        """The account's position as the strategy knows it (delayed by the response latency)."""

    @property
    def cash(self) -> float:
        """The account's cash as the strategy knows it (price units x size)."""


_STATUS = {CANCELED: "CANCELED", REJECTED: "REJECTED", EXPIRED: "EXPIRED"}


class _Slot:
    """A read-only attribute of a :class:`PaperVenue`: slot ``index`` of part ``part`` of its
    exchange state (``exchange.st``: 0 the integer vector, 1 the float vector), cast by ``cast``."""

    __slots__ = ("part", "index", "cast")

    def __init__(self, part: int, index: int, cast):
        self.part, self.index, self.cast = part, index, cast

    def __get__(self, venue, owner=None):
        return self if venue is None else self.cast(venue.exchange.st[self.part][self.index])


class PaperVenue:
    """The simulator as a live venue (see the module docstring).

    Parameters
    ----------
    instrument : Instrument
        Tick (limit prices off the tick are rejected).
    execution : companion.backtest.ExecutionConfig
        Latency models, fees, queue model, risk limits, seed: the same object a backtest takes, so
        the two runs are configured identically (:meth:`companion.live.config.LiveConfig.execution_config`).
    levels : int
        Book levels of the rows passed to :meth:`on_market`.
    capacity : int
        Initial event capacity (doubles when full).

    Attributes
    ----------
    exchange : companion.sim.simulator.ExchangeState
        The exchange stage's state (``cfg``, ``lat``, ``limits``, ``st``, ``actions``), for a compiled
        driver (:mod:`companion.live.drive`).
    mkt : tuple
        The market buffers ``(ts, ts_local, kind, side, price, size, add_index, book)``
        (capacity-sized; the first ``n`` rows are the events received). Replaced when the capacity grows.
    order_ids : numpy.ndarray
        The events' order ids (capacity-sized; read by the FIFO queue model's ADD index).
    seen_ids : numba.typed.Dict
        The streaming ADD index (order id -> event index).
    fifo : bool
        The queue model is FIFO (the ADD index is maintained).
    out : tuple
        The output buffers (``exchange.out``; position / cash series capacity-sized).
    n : int
        Events received.

    Examples
    --------
    >>> venue = PaperVenue(inst, ExecutionConfig(), levels=10)          # doctest: +SKIP
    >>> venue.on_market(chunk, rows)                                      # doctest: +SKIP
    >>> while (w := venue.next_wakeup(int(chunk["ts"][-1]))) is not None:  # doctest: +SKIP
    ...     t, k = w; venue.submit(+1, 100, 0, MARKET)
    """

    def __init__(self, instrument: Instrument, execution=None, levels: int = 10, capacity: int = 1 << 16):
        from companion.backtest import ExecutionConfig
        from companion.sim.simulator import ExchangeState

        ex_cfg = execution or ExecutionConfig()
        self.instrument = instrument
        self.execution = ex_cfg
        self.levels = int(levels)
        # the exchange stage's state, configured exactly as companion.backtest.run_backtest configures
        # its Simulator (ExchangeState.from_execution); the ADD index is read by the FIFO model only
        self.exchange = ExchangeState.from_execution(ex_cfg, instrument, int(capacity), self.levels)
        self.fifo = ex_cfg.queue.code == Q_FIFO
        self._n_act = 0
        self.seen_ids = Dict.empty(key_type=types.int64, value_type=types.int64)
        self.n = 0
        self.final = False
        self._resp_seen = 0
        self._fill_seen = 0
        self._alloc(int(capacity))
        self.on_ack: Callable[[Report], None] | None = None
        self.on_fill: Callable[[Report], None] | None = None
        self.on_done: Callable[[Report], None] | None = None

    # ---- buffers
    def _alloc(self, cap: int) -> None:
        L4 = 4 * self.levels
        new = (np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int8), np.zeros(cap, np.int8),
               np.zeros(cap, np.int64), np.zeros(cap, np.float64), np.zeros(cap, np.int64),
               np.zeros((cap, L4), np.float64))
        if self.n:
            for a, b in zip(new, self.mkt):
                a[: self.n] = b[: self.n]
        self.mkt = new
        self.order_ids = np.zeros(cap, np.int64) if not self.n else np.concatenate([self.order_ids[: self.n],
                                                                                 np.zeros(cap - self.n, np.int64)])
        if self.exchange.out[5].shape[0] != cap:
            self.exchange.resize_series(cap, self.n)
        self.out = self.exchange.out
        self.capacity = cap

    # ---- the exchange state's named slots (read-only views)
    #: Local time of the current wake-up (ns).
    wake_time = _Slot(0, I_WAKE_T, int)
    #: Index of the last event the strategy has seen at the current wake-up.
    wake_event = _Slot(0, I_WAKE_EV, int)
    #: Orders submitted so far.
    n_orders = _Slot(0, I_NORD, int)
    #: Fills so far.
    n_fills = _Slot(0, I_NFILL, int)
    #: True once the risk manager or the kill switch has halted trading.
    halted = _Slot(0, I_HALTED, bool)
    #: The strategy's (delayed) view of the position.
    position = _Slot(1, F_LPOS, float)
    #: The strategy's view of cash (price units x size).
    cash = _Slot(1, F_LCASH, float)
    #: The exchange-truth position (not delayed).
    true_position = _Slot(1, F_POS, float)

    def event_ts(self, k: int) -> int:
        """Exchange time of event ``k`` (ns)."""
        return int(self.mkt[0][k])

    def equity(self, mid: float) -> float:
        """The strategy's view of cash + position marked at ``mid`` (price units x size; ``mid`` is
        not read when flat, so a NaN mid before the first two-sided book gives the cash)."""
        p = self.position
        return self.cash + (p * mid if p else 0.0)

    def heartbeat(self, row) -> np.ndarray | None:
        """A market event that lets the paper venue execute a flatten order after the feed died.

        The paper venue matches orders only at market events: one ``LEVEL_SET`` event 1 s after the
        last event received, repeating the best bid of ``row`` (the last book row; a no-op for the
        book), executes a market order against the last book it knows (a real venue fills it at
        the market). None when flat, before any event or without a bid in ``row``.

        Examples
        --------
        >>> from companion.backtest import ExecutionConfig
        >>> v = PaperVenue(Instrument("X", 1, 1), ExecutionConfig(), levels=1, capacity=8)
        >>> v.heartbeat(np.array([101.0, 5.0, 100.0, 3.0])) is None  # flat
        True
        """
        from companion.events import BID, EVENT_DTYPE, LEVEL_SET, NS

        if abs(self.position) <= 1e-9 or row is None or not row[3] > 0 or self.n == 0:
            return None
        hb = np.zeros(1, dtype=EVENT_DTYPE)
        t = self.event_ts(self.n - 1) + NS
        hb["ts"], hb["ts_local"], hb["kind"], hb["side"] = t, t, LEVEL_SET, BID
        hb["price"], hb["size"] = int(row[2]), float(row[3])
        return hb

    # ---- the interface
    def on_market(self, events: np.ndarray, rows: np.ndarray) -> None:
        """Append a chunk of events (non-decreasing ``ts``) and the book row after each."""
        m = len(events)
        if m == 0:
            return
        if self.final:
            raise RuntimeError("the feed has ended (finish() was called)")
        if self.n + m > self.capacity:
            cap = self.capacity
            while cap < self.n + m:
                cap *= 2
            self._alloc(cap)
        ids = append_events_nb(events, rows, self.mkt, self.order_ids, self.n)
        if self.fifo:  # the ADD index is read by the FIFO queue model only (a typed-dict call costs µs)
            if ids and self.exchange.cfg[C_HAS_IDS] == 0.0:
                self.exchange.cfg[C_HAS_IDS] = 1.0
            add_index_into_nb(self.mkt[2], self.order_ids, self.n, self.n + m, self.seen_ids, self.mkt[6])
        self.n += m

    def next_wakeup(self, until_ns: int) -> tuple[int, int] | None:
        """Run the simulator up to ``until_ns`` (all of it after :meth:`finish`); the next wake-up
        ``(t_ns, k)`` or None. Orders submitted since the last wake-up are sent first."""
        code = paper_step_nb(self.mkt, self.n, self.final, int(until_ns), self.exchange.cfg, self.exchange.lat, self.exchange.limits,
                             self.exchange.st, self.out, self.exchange.actions, self._n_act)
        self._n_act = 0
        if code == WAKEUP:
            ist = self.exchange.st[0]
            return int(ist[I_WAKE_T]), int(ist[I_WAKE_EV])
        if code == NEED_DATA or code == DONE:
            return None
        raise RuntimeError(f"paper venue: simulator {ERROR_NAMES.get(int(code), code)} buffer full "
                           "(raise ExecutionConfig.max_orders)")

    def finish(self) -> None:
        """The feed has ended: :meth:`next_wakeup` now runs to the end of the data."""
        self.final = True

    def submit(self, side: int, qty: float, price: int = 0, otype: int = MARKET) -> int:
        """Queue a new order, sent at the current wake-up time; returns its venue order id."""
        a = self._next_action()
        a["kind"], a["side"], a["otype"], a["price"], a["qty"] = ACT_SUBMIT, side, otype, price, qty
        return self.n_orders + sum(1 for m in range(self._n_act - 1) if self.exchange.actions[m]["kind"] == ACT_SUBMIT)

    def cancel(self, order_id: int) -> None:
        """Queue a cancel of ``order_id``, sent at the current wake-up time."""
        a = self._next_action()
        a["kind"], a["order_id"] = ACT_CANCEL, order_id

    def _next_action(self):
        if self._n_act >= len(self.exchange.actions):
            raise RuntimeError(f"more than {len(self.exchange.actions)} actions in one wake-up")
        a = self.exchange.actions[self._n_act]
        self._n_act += 1
        return a

    def set_actions(self, n: int) -> None:
        """``n`` actions were written straight into :attr:`actions` (by a jitted strategy)."""
        self._n_act = int(n)

    def kill(self) -> int:
        """Kill switch at the current wake-up (``companion.sim.kernels.kill_nb``); returns the flattening order id or -1."""
        self._n_act = 0
        return int(kill_nb(self.exchange.lat, self.exchange.st, self.out, self.exchange.limits))

    def reports(self) -> list[Report]:
        """Responses delivered since the last call (see :class:`Report`), callbacks called."""
        ist = self.exchange.st[0]
        head = int(ist[I_RESP_HEAD])
        out: list[Report] = []
        if head == self._resp_seen:
            return out
        resps, orders, fills = self.out[3], self.out[0], self.out[1]
        for r in resps[self._resp_seen:head]:
            oid = int(r["order_id"])
            kind = int(r["kind"])
            if kind == RESP_ACK:
                rep = Report("ack", oid, int(r["t"]), t_exchange=int(orders[oid]["ts_arrive"]), status="NEW")
                cb = self.on_ack
            elif kind == RESP_FILL:
                f = fills[self._fill_seen]
                rep = Report("fill", oid, int(r["t"]), t_exchange=int(f["ts"]), fill_id=self._fill_seen,
                             side=int(f["side"]), price=float(f["price"]), qty=float(f["qty"]), fee=float(f["fee"]),
                             liquidity="MAKER" if int(f["liquidity"]) == 1 else "TAKER")
                self._fill_seen += 1
                cb = self.on_fill
            else:
                rep = Report("done", oid, int(r["t"]), t_exchange=int(orders[oid]["ts_done"]),
                             status=_STATUS.get(int(r["status"]), str(int(r["status"]))),
                             reason=REASON_NAMES.get(int(orders[oid]["reason"]), ""))
                cb = self.on_done
            out.append(rep)
            if cb is not None:
                cb(rep)
        self._resp_seen = head
        return out

    # ---- state
    @property
    def actions(self) -> np.ndarray:
        """The action buffer a jitted strategy writes (:meth:`set_actions` says how many)."""
        return self.exchange.actions

    @property
    def orders(self) -> np.ndarray:
        """Our orders so far (:data:`~companion.sim.orders.ORDER_DTYPE`, a view)."""
        return self.out[0][: self.n_orders]

    @property
    def fills(self) -> np.ndarray:
        """Fills so far, exchange truth (:data:`~companion.sim.orders.FILL_DTYPE`, a view)."""
        return self.out[1][: self.n_fills]

    @property
    def risk_events(self) -> np.ndarray:
        """Risk-check rejections and halts so far (:data:`~companion.sim.risk.RISK_DTYPE`, a view)."""
        return self.out[4][: int(self.exchange.st[0][I_NRISK])]

    def rejected_by_risk(self, order_id: int) -> bool:
        """Refused by the pre-trade check (never sent, no venue answer); False for an id not yet
        used (the order buffer is not zeroed beyond ``n_orders``)."""
        if not 0 <= order_id < self.n_orders:
            return False
        o = self.out[0][order_id]
        return int(o["status"]) == REJECTED and int(o["reason"]) == R_RISK

    def book_row(self, k: int) -> np.ndarray:
        """The book row after market event ``k``."""
        return self.mkt[7][k]

    def has_live_orders(self) -> bool:
        """Whether any order is live in the strategy's view (pending, new or partly filled)."""
        ls = self.orders["local_status"]
        return bool(((ls == PENDING) | (ls == NEW) | (ls == PARTIAL)).any())

    def result(self):
        """The run as a :class:`companion.sim.SimResult` (same fields as a backtest's ``res.sim``)."""
        from companion.sim.simulator import SimResult

        ist, fst = self.exchange.st[0], self.exchange.st[1]
        n = self.n
        return SimResult(orders=self.orders.copy(), fills=self.fills.copy(), risk_events=self.risk_events.copy(),
                         position=self.out[5][:n].copy(), cash=self.out[6][:n].copy(), ts=self.mkt[0][:n].copy(),
                         book=self.mkt[7][:n], local_position=float(fst[F_LPOS]), local_cash=float(fst[F_LCASH]),
                         bad_cancels=int(ist[I_BAD_CANCELS]))
