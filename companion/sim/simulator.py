"""The user layer over :mod:`companion.sim.kernels`: build the arrays, run, return frames.

A sketch (``events``, ``book`` and ``my_numba_strategy`` are yours; runnable examples are in
:class:`Simulator` and :func:`companion.backtest.run_backtest`)::

    sim = Simulator(events, book, tick=100, queue=PowerProbQueue(2),
                    entry_latency=ConstantLatency(50_000), response_latency=50_000,
                    fees=Fees(maker=-0.2, taker=0.3))
    res = sim.run(my_numba_strategy, params)                           # fast path (jitted strategy)
    res = sim.run_python(lambda ctx: ctx.submit(1, 100, 0, MARKET))    # teaching path
    res.fills_frame(); res.equity()
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from companion.events import EVENT_DTYPE, as_dataset
from companion.sim import kernels as ex
from companion.sim.fees import Fees
from companion.sim.impact import SqrtImpact
from companion.sim.latency import as_latency
from companion.sim.orders import (
    ACT_CANCEL,
    ACT_SUBMIT,
    ACTION_DTYPE,
    FILL_DTYPE,
    LIMIT,
    MARKET,
    NEW,
    ORDER_DTYPE,
    ORDER_TYPE_NAMES,
    PARTIAL,
    PENDING,
    REASON_NAMES,
    REQ_DTYPE,
    RESP_DTYPE,
    STATUS_NAMES,
)
from companion.sim.queue import Q_FIFO, QUEUE_NAMES, RiskAverseQueue
from companion.sim.risk import RISK_ACTION_NAMES, RISK_DTYPE, RULE_NAMES, RiskLimits
from companion.stats import mid_price


@dataclass
class SimResult:
    """Arrays written by the run (exchange truth), plus pandas views.

    ``position[i]`` / ``cash[i]``: exchange-truth position and cash after event ``i`` (every fill
    with ``fill.event_idx <= i`` included). ``local_position`` / ``local_cash``: the strategy's
    view at the end (all responses delivered, so equal to the truth).

    Attributes
    ----------
    orders : numpy.ndarray
        Every order of the run (:data:`companion.sim.orders.ORDER_DTYPE`), by order id.
    fills : numpy.ndarray
        Every fill (:data:`companion.sim.orders.FILL_DTYPE`), in time order.
    risk_events : numpy.ndarray
        Every risk-check rejection or halt (:data:`companion.sim.risk.RISK_DTYPE`).
    position : numpy.ndarray
        Exchange-truth position after each market event (size units).
    cash : numpy.ndarray
        Exchange-truth cash after each market event (price units x size).
    ts : numpy.ndarray
        Time of each market event (ns).
    book : numpy.ndarray
        The book rows the run replayed (one per market event).
    local_position, local_cash : float
        The strategy's view of position and cash at the end.
    bad_cancels : int
        Cancels the strategy sent for order ids that do not exist (ignored).
    """

    orders: np.ndarray
    fills: np.ndarray
    risk_events: np.ndarray
    position: np.ndarray
    cash: np.ndarray
    ts: np.ndarray
    book: np.ndarray
    local_position: float
    local_cash: float
    bad_cancels: int

    def mid(self) -> np.ndarray:
        """Mid price per event (nan when a side is empty)."""
        return mid_price(self.book)

    def equity(self) -> pd.Series:
        """Mark-to-mid equity ``cash + position * mid`` after each event (price units x size)."""
        m = pd.Series(self.mid()).ffill().to_numpy()
        eq = self.cash + self.position * np.nan_to_num(m)
        return pd.Series(eq, index=pd.Index(self.ts, name="ts"), name="equity")

    def orders_frame(self) -> pd.DataFrame:
        """The orders as a DataFrame indexed by order id, codes as names (status, reason, type)."""
        df = pd.DataFrame(self.orders)
        df["status"] = df["status"].map(STATUS_NAMES)
        df["local_status"] = df["local_status"].map(STATUS_NAMES)
        df["reason"] = df["reason"].map(REASON_NAMES)
        df["otype"] = df["otype"].map(ORDER_TYPE_NAMES)
        return df.set_index("order_id")

    def fills_frame(self) -> pd.DataFrame:
        """The fills as a DataFrame indexed by time, liquidity and queue model as names."""
        df = pd.DataFrame(self.fills)
        df["liquidity"] = df["liquidity"].map({1: "maker", 2: "taker"})
        df["queue_model"] = df["queue_model"].map(QUEUE_NAMES)
        return df.set_index("ts")

    def risk_frame(self) -> pd.DataFrame:
        """The risk events as a DataFrame indexed by time, rule and action as names."""
        df = pd.DataFrame(self.risk_events)
        df["rule"] = df["rule"].map(RULE_NAMES)
        df["action"] = df["action"].map(RISK_ACTION_NAMES)
        return df.set_index("ts")


class Context:
    """What a Python strategy sees at a wake-up, and how it acts (teaching path).

    Read: ``t`` (local ns), ``k`` (book row index), ``book`` (the row), ``best_bid``,
    ``best_ask``, ``mid``, ``position``, ``cash`` (delayed local view), ``orders`` (all our
    orders so far; use ``local_status`` / ``local_filled``), ``open_orders()``.
    Act: ``buy`` / ``sell`` / ``submit`` (return the new order id), ``cancel``.
    """

    def __init__(self, sim: Simulator):
        self._sim = sim
        self._n = 0

    def _refresh(self):
        s = self._sim
        istate, fstate = s._st[0], s._st[1]
        self.t = int(istate[ex.I_WAKE_T])
        self.k = int(istate[ex.I_WAKE_EV])
        self.book = s._book[self.k]
        self.best_bid = float(ex.best_price_nb(self.book, 1))
        self.best_ask = float(ex.best_price_nb(self.book, -1))
        self.mid = 0.5 * (self.best_bid + self.best_ask)
        self.position = float(fstate[ex.F_LPOS])
        self.cash = float(fstate[ex.F_LCASH])
        self.orders = s._out[0][: istate[ex.I_NORD]]
        self._n = 0

    def open_orders(self) -> np.ndarray:
        """Ids of our orders the strategy believes are live (pending, new or partly filled)."""
        ls = self.orders["local_status"]
        return np.flatnonzero((ls == PENDING) | (ls == NEW) | (ls == PARTIAL))

    def submit(self, side: int, qty: float, price: int = 0, otype: int = LIMIT) -> int:
        """Send a new order (``side`` +1 / -1, ``price`` price units, ``otype`` an order-type
        code) at this wake-up; returns the id the order will get."""
        acts = self._sim._actions
        if self._n >= acts.shape[0]:
            raise RuntimeError(f"more than {acts.shape[0]} actions in one wake-up")
        a = acts[self._n]
        a["kind"], a["side"], a["otype"], a["price"], a["qty"] = ACT_SUBMIT, side, otype, price, qty
        oid = int(self._sim._st[0][ex.I_NORD]) + sum(
            1 for m in range(self._n) if acts[m]["kind"] == ACT_SUBMIT)
        self._n += 1
        return oid

    def buy(self, qty: float, price: int | None = None, otype: int = LIMIT) -> int:
        """Buy ``qty``: a market order without ``price``, else an ``otype`` order at ``price``."""
        return self.submit(1, qty, 0 if price is None else int(price),
                           MARKET if price is None else otype)

    def sell(self, qty: float, price: int | None = None, otype: int = LIMIT) -> int:
        """Sell ``qty``: a market order without ``price``, else an ``otype`` order at ``price``."""
        return self.submit(-1, qty, 0 if price is None else int(price),
                           MARKET if price is None else otype)

    def cancel(self, order_id: int) -> None:
        """Send a cancel of ``order_id`` at this wake-up."""
        acts = self._sim._actions
        if self._n >= acts.shape[0]:
            raise RuntimeError(f"more than {acts.shape[0]} actions in one wake-up")
        acts[self._n]["kind"] = ACT_CANCEL
        acts[self._n]["order_id"] = order_id
        self._n += 1


class ExchangeState:
    r"""The exchange stage's state: everything :mod:`companion.sim.kernels`'s loop reads and writes
    besides the market buffers, built once from the execution settings.

    Attributes (the kernels' argument names): ``cfg`` float64 config vector (``C_*`` of
    :mod:`companion.sim.kernels`); ``lat`` the latency specs ``(spec (3, 3), (feed, entry, response
    tables))``; ``limits`` the risk vector (:meth:`companion.sim.risk.RiskLimits.to_array`); ``st``
    ``(istate, fstate, rng)``; ``out`` ``(orders, fills, requests, responses, risk log, position
    series, cash series)``; ``actions`` the strategy's action buffer (``ACTION_DTYPE``).

    Built by :class:`Simulator` (a day in memory) and by the paper venue
    (:class:`companion.live.venue.PaperVenue`, a feed): the same configuration path, so a backtest
    and a live run of one :class:`companion.backtest.ExecutionConfig` are configured identically.

    Parameters
    ----------
    tick : int
        Price increment (price units).
    n_events : int
        Length of the per-event position / cash series (:meth:`resize_series` grows them).
    levels : int
        Book levels of the rows (the state keeps the shares taken per level).
    lot, queue, feed_latency, entry_latency, response_latency, fees, impact, risk, seed
        As :class:`Simulator`.
    wake_interval_ns, max_orders, max_fills, max_actions, max_risk_events
        As :class:`Simulator`.
    has_ids : bool
        The events carry order ids (the FIFO queue model then tracks ADDs by id).

    Examples
    --------
    >>> xs = ExchangeState(tick=1, n_events=3, levels=2)
    >>> xs.cfg.shape == (ex.N_CFG,), len(xs.out), xs.out[5].shape
    (True, 7, (3,))
    """

    def __init__(self, *, tick: int, n_events: int, levels: int, lot: float = 0.0, queue=RiskAverseQueue(),
                 feed_latency=0, entry_latency=0, response_latency=0, fees: Fees = Fees(),
                 impact: SqrtImpact | None = None, risk: RiskLimits | None = None, seed: int = 0,
                 wake_interval_ns: int = 0, max_orders: int = 100_000, max_fills: int | None = None,
                 max_actions: int = 64, max_risk_events: int = 10_000, has_ids: bool = False):
        if tick <= 0:
            raise ValueError("tick must be > 0")
        imp = impact or SqrtImpact(0.0, 0.0, 0.0)
        cfg = np.zeros(ex.N_CFG)
        cfg[ex.C_QMODEL], cfg[ex.C_QN] = queue.code, queue.n
        cfg[ex.C_FEE_UNIT], cfg[ex.C_MAKER], cfg[ex.C_TAKER] = fees.unit_code, fees.maker, fees.taker
        cfg[ex.C_TICK], cfg[ex.C_LOT] = tick, lot
        cfg[ex.C_IMP_Y], cfg[ex.C_IMP_SIGMA], cfg[ex.C_IMP_V] = imp.y, imp.sigma, imp.daily_volume
        cfg[ex.C_WAKE_INTERVAL] = wake_interval_ns
        cfg[ex.C_HAS_IDS] = float(bool(has_ids))
        #: float64 config vector (``C_*``)
        self.cfg = cfg
        specs = [as_latency(x).spec() for x in (feed_latency, entry_latency, response_latency)]
        #: latency specs and tables
        self.lat = (np.array([s[0] for s in specs], dtype=np.float64), (specs[0][1], specs[1][1], specs[2][1]))
        #: risk vector
        self.limits = (risk or RiskLimits()).to_array()
        #: seeds every random latency draw
        self.seed = int(seed)
        #: order buffer size (+1000 for risk closes and cancels)
        self.max_orders = int(max_orders)
        #: fill buffer size
        self.max_fills = int(max_fills if max_fills is not None else 4 * max_orders + 1000)
        #: risk-log buffer size
        self.max_risk_events = int(max_risk_events)
        #: book levels of the rows
        self.levels = int(levels)
        #: the queue model
        self.queue = queue
        #: the strategy's action buffer
        self.actions = np.zeros(max_actions, dtype=ACTION_DTYPE)
        self.reset(n_events)

    @classmethod
    def from_execution(cls, execution, instrument, n_events: int, levels: int, has_ids: bool = False):
        """The state configured by a :class:`companion.backtest.ExecutionConfig` for ``instrument``
        (exactly as :func:`companion.backtest.run_backtest` configures its :class:`Simulator`)."""
        e = execution
        return cls(tick=int(instrument.tick), n_events=n_events, levels=levels, queue=e.queue,
                   feed_latency=e.feed_latency, entry_latency=e.entry_latency,
                   response_latency=e.response_latency, fees=e.fees, risk=e.risk_limits(instrument),
                   seed=e.seed, wake_interval_ns=e.wake_interval_ns, max_orders=e.max_orders,
                   impact=getattr(e, "impact", None), has_ids=has_ids)

    def reset(self, n_events: int) -> None:
        """Fresh state and output buffers (no order, flat, the seeded RNG), series of ``n_events``."""
        istate = np.zeros(ex.N_ISTATE, dtype=np.int64)
        istate[[ex.I_SEEN_T, ex.I_LAST_WAKE, ex.I_POS_OPEN_T, ex.I_CLOSE_OID, ex.I_TAKEN_EV]] = -1
        istate[[ex.I_LAST_FEED, ex.I_LAST_ENTRY, ex.I_LAST_RESP]] = np.iinfo(np.int64).min
        rng = np.array([(self.seed * 0x9E3779B97F4A7C15 + 1) % 2**64], dtype=np.uint64)
        #: ``(istate, fstate, rng)``
        self.st = (istate, np.zeros(ex.N_FSTATE + 2 * self.levels), rng)  # + taken per level
        mo = self.max_orders + 1000  # room for risk closes and cancels
        # orders, fills, requests, responses and risk log are append-only buffers read only below
        # their counters, and the loop writes every field of a row it appends: left uninitialised
        # (a day's buffers are ~90 MB; zeroing them cost more than a no-op strategy's whole run)
        #: ``(orders, fills, requests, responses, risk log, position series, cash series)``
        self.out = (np.empty(mo, ORDER_DTYPE), np.empty(self.max_fills, FILL_DTYPE),
                    np.empty(4 * mo, REQ_DTYPE), np.empty(self.max_fills + 2 * mo, RESP_DTYPE),
                    np.empty(self.max_risk_events, RISK_DTYPE), np.zeros(n_events), np.zeros(n_events))

    def resize_series(self, capacity: int, keep: int) -> None:
        """Grow the per-event position / cash series to ``capacity``, keeping the first ``keep``."""
        pos, cash = np.zeros(capacity), np.zeros(capacity)
        pos[:keep] = self.out[5][:keep]
        cash[:keep] = self.out[6][:keep]
        self.out = (*self.out[:5], pos, cash)


class Simulator:
    r"""Exchange simulator over replayed events and their book snapshots.

    Accounting per fill (exchange truth): :math:`x \mathrel{+}= s\,q`,
    :math:`c \mathrel{-}= s\,p\,q + f` (:math:`s` side, :math:`q` quantity, :math:`p` price in price
    units, :math:`f` fee from :mod:`companion.sim.fees`); equity at mark :math:`m` is :math:`c + x m`.
    Queue position, latency, fees and impact follow the models of :mod:`companion.sim.queue`,
    :mod:`companion.sim.latency`, :mod:`companion.sim.fees` and :mod:`companion.sim.impact`
    (hftbacktest's design; Toth et al. 2011 for the square-root impact).

    Parameters
    ----------
    events : companion.events.Dataset or numpy.ndarray
        A dataset (``companion.data.load``: its events, book and instrument tick), or a
        :data:`~companion.events.EVENT_DTYPE` array, ``ts`` non-decreasing.
    book : numpy.ndarray
        With an event array: float64 ``(len(events), 4L)`` LOBSTER-layout snapshots, row ``i`` =
        book after event ``i``.
    tick : int
        Price increment (price units); limit prices off the tick are rejected. Default: the
        dataset's ``instrument.tick`` (required with an event array).
    lot : float
        Quantity increment (0 = any positive quantity).
    queue : object
        A queue model from :mod:`companion.sim.queue`.
    feed_latency, entry_latency, response_latency : int or object
        ns, or a model from :mod:`companion.sim.latency`.
    fees : companion.sim.fees.Fees
        Maker / taker rates.
    impact : companion.sim.impact.SqrtImpact, optional
        Pricing of the part of an aggressive order beyond visible depth (None: it expires).
    risk : companion.sim.risk.RiskLimits, optional
        Risk limits (None: none).
    seed : int
        Seeds every random latency draw.
    wake_interval_ns : int
        Wake the strategy at most once per interval (0 = on every event it sees).
    max_orders, max_fills, max_actions, max_risk_events : int
        Sizes of the output buffers (a run that overflows raises ``RuntimeError``).

    Raises
    ------
    ValueError
        When the events lack fields, are not sorted, the book has the wrong shape, or ``tick <= 0``.

    Examples
    --------
    A market buy of 5 shares sent at the wake-up after the third event, when the book holds asks
    101 x 3 and 102 x 4: it walks both levels (prices in price units, sizes in shares):

    >>> import numpy as np
    >>> from companion.book import replay
    >>> from companion.events import ADD, EVENT_DTYPE
    >>> from companion.sim import MARKET
    >>> ev = np.zeros(4, EVENT_DTYPE)
    >>> ev["ts"] = ev["ts_local"] = [1000, 2000, 3000, 4000]
    >>> ev["kind"], ev["side"], ev["price"], ev["size"], ev["order_id"] = ADD, [1, -1, -1, 1], [100, 101, 102, 99], [5, 3, 4, 1], [1, 2, 3, 4]
    >>> sim = Simulator(ev, replay(ev, 2), tick=1)
    >>> def buy_once(ctx):
    ...     if ctx.k == 2:
    ...         ctx.submit(1, 5.0, 0, MARKET)
    >>> res = sim.run_python(buy_once)
    >>> res.fills["price"].tolist(), res.fills["qty"].tolist()
    ([101.0, 102.0], [3.0, 2.0])
    """

    def __init__(self, events, book: np.ndarray | None = None, *, tick: int | None = None, lot: float = 0.0,
                 queue=RiskAverseQueue(), feed_latency=0, entry_latency=0, response_latency=0,
                 fees: Fees = Fees(), impact: SqrtImpact | None = None,
                 risk: RiskLimits | None = None, seed: int = 0, wake_interval_ns: int = 0,
                 max_orders: int = 100_000, max_fills: int | None = None,
                 max_actions: int = 64, max_risk_events: int = 10_000):
        if not isinstance(events, np.ndarray):  # a Dataset: its book, and its tick unless given
            data = as_dataset(events)
            events, book = data.events, data.book
            tick = data.tick if tick is None else tick
        if book is None or tick is None:
            raise ValueError("Simulator takes a Dataset, or events with book= and tick=")
        missing = set(EVENT_DTYPE.names) - set(events.dtype.names or ())
        if missing:
            raise ValueError(f"events lack fields {sorted(missing)}")
        book = np.ascontiguousarray(book, dtype=np.float64)
        if book.ndim != 2 or book.shape[0] != len(events) or book.shape[1] % 4 or book.shape[1] == 0:
            raise ValueError(f"book must be (len(events), 4L); got {book.shape} for {len(events)} events")
        n = len(events)
        cols = (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int8), np.empty(n, np.int8),
                np.empty(n, np.int64), np.empty(n, np.float64))
        fifo = queue.code == Q_FIFO
        oid = np.empty(n if fifo else 0, np.int64)
        has_ids, is_sorted = ex.write_market_columns_nb(events, cols, oid, 0)
        if not is_sorted:
            raise ValueError("events must be sorted by ts")
        if tick <= 0:
            raise ValueError("tick must be > 0")
        self._book = book
        # the ADD index is read by the FIFO queue model only (a typed-dict pass costs ~35 ns per
        # event): -1 everywhere for the other models
        add_index = ex.order_add_index_nb(cols[2], oid) if fifo else np.full(n, -1, dtype=np.int64)
        self._mkt = (*cols, add_index, book)
        self._xs = ExchangeState(tick=tick, n_events=len(book), levels=book.shape[1] // 4, lot=lot, queue=queue,
                                 feed_latency=feed_latency, entry_latency=entry_latency,
                                 response_latency=response_latency, fees=fees, impact=impact, risk=risk,
                                 seed=seed, wake_interval_ns=wake_interval_ns, max_orders=max_orders,
                                 max_fills=max_fills, max_actions=max_actions, max_risk_events=max_risk_events,
                                 has_ids=bool(has_ids))
        self._cfg, self._lat, self._limits = self._xs.cfg, self._xs.lat, self._xs.limits
        self.seed = self._xs.seed
        self.max_orders = self._xs.max_orders
        self.max_fills = self._xs.max_fills
        self.max_risk_events = self._xs.max_risk_events
        self._actions = self._xs.actions
        self.queue = queue
        self._fresh = True

    def _reset(self):
        if not self._fresh:  # the constructor's state is fresh: reset before every later run
            self._xs.reset(len(self._book))
        self._fresh = False
        self._st, self._out = self._xs.st, self._xs.out

    def _result(self, code: int) -> SimResult:
        if code != ex.DONE:
            raise RuntimeError(f"simulator {ex.ERROR_NAMES.get(code, code)} buffer full: raise "
                               "max_orders / max_fills / max_risk_events")
        istate, fstate = self._st[0], self._st[1]
        o = self._out
        return SimResult(orders=o[0][: istate[ex.I_NORD]].copy(),
                         fills=o[1][: istate[ex.I_NFILL]].copy(),
                         risk_events=o[4][: istate[ex.I_NRISK]].copy(), position=o[5], cash=o[6],
                         ts=self._mkt[0], book=self._book, local_position=float(fstate[ex.F_LPOS]),
                         local_cash=float(fstate[ex.F_LCASH]),
                         bad_cancels=int(istate[ex.I_BAD_CANCELS]))

    def run(self, strategy, params: np.ndarray | None = None,
            user_state: np.ndarray | None = None) -> SimResult:
        """Fast path: run a jitted strategy over the whole day.

        Parameters
        ----------
        strategy : callable
            An ``@njit`` function; see :func:`~companion.sim.kernels.run_strategy_nb` for its
            signature.
        params : numpy.ndarray, optional
            float64 strategy parameters (default ``[0.0]``).
        user_state : numpy.ndarray, optional
            Mutable strategy state (default ``[0.0]``).

        Returns
        -------
        SimResult
        """
        self._reset()
        params = np.zeros(1) if params is None else np.asarray(params, dtype=np.float64)
        user_state = np.zeros(1) if user_state is None else user_state
        code = ex.run_strategy_nb(strategy, self._mkt, self._cfg, self._lat, self._limits,
                                  self._st, self._out, self._actions, params, user_state)
        return self._result(int(code))

    def run_python(self, callback: Callable[[Context], None] | None = None) -> SimResult:
        """Teaching path: ``callback(ctx)`` at every wake-up (see :class:`Context`).

        Parameters
        ----------
        callback : callable, optional
            Called with the :class:`Context` at every wake-up; None runs without a strategy.

        Returns
        -------
        SimResult
        """
        self._reset()
        ctx = Context(self)
        n_act = 0
        while True:
            code = ex.step_nb(self._mkt, self._cfg, self._lat, self._limits, self._st,
                              self._out, self._actions, n_act)
            if code != ex.WAKEUP:
                return self._result(int(code))
            ctx._refresh()
            if callback is not None:
                callback(ctx)
            n_act = ctx._n
