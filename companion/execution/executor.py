"""Run a parent order's child schedule through :class:`companion.sim.simulator.Simulator`.

The executor is one numba strategy (:func:`exec_strategy_nb`, the simulator's fast path). At
each wake-up at local time ``t`` (after ``start``) with local filled quantity ``f``:

* ``X(t)``: the schedule's cumulative target of the last release ``<= t``;
  ``X_due = X(t - timeout)`` (``= X(t)`` in ``mode="market"``; ``= Q`` once ``t >= end``).
* **overdue** ``X_due - f > 0``: cancel every working limit order; once none is open (the cancels
  confirmed, so nothing can overfill), send one market order for the overdue quantity
  (a market remainder beyond the visible depth expires and is re-sent at the next wake-up).
* ``mode="limit"``: otherwise work ``X(t) - f`` passively: limit orders at our own touch (best bid
  for a buy); an order whose price is no longer the touch is cancelled and re-posted once the
  cancel is confirmed. Posted quantity never exceeds ``X(t) - f -`` (open quantity), so the parent
  is never overfilled.

Each run replays only the events of ``[start, end + tail]`` (our orders never move the replayed
book, so nothing before ``start`` matters except the book row the first order meets).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit

from companion.book import trades as book_trades
from companion.events import NS, Dataset, as_dataset
from companion.execution.measures import impact_bps, shortfall, vwap_slippage_bps
from companion.execution.schedules import ChildSchedule, ParentOrder
from companion.sim import Simulator
from companion.sim.context import best_ask, best_bid, cancel, n_actions, submit
from companion.sim.kernels import best_price_nb
from companion.sim.orders import LIMIT, MARKET, NEW, PARTIAL, PENDING, TAKER
from companion.stats import row_mid_nb

__all__ = ["execute", "ExecutionResult", "exec_strategy_nb", "random_parents", "run_many",
           "MODE_MARKET", "MODE_LIMIT"]

MODE_MARKET, MODE_LIMIT = 0, 1
# params (float64): side, qty, mode, lot, then the cumulative targets
P_SIDE, P_QTY, P_MODE, P_LOT, P_CUM = 0, 1, 2, 3, 4
# user_state (int64): start, end, timeout, first possibly-open order, n releases, then the release
# times, then one cancel-sent flag per order id
U_START, U_END, U_TIMEOUT, U_FIRST, U_N, U_TIMES = 0, 1, 2, 3, 4, 8
_EPS = 1e-9


@njit(cache=True)
def _target_nb(times: np.ndarray, cum: np.ndarray, t: int) -> float:
    j = np.searchsorted(times, t, side="right") - 1
    return cum[j] if j >= 0 else 0.0


@njit(cache=True)
def exec_strategy_nb(ctx, params, us):
    """The executor (see module docstring); a :mod:`companion.sim.context` strategy."""
    t, position, orders, n_orders = ctx.t, ctx.position, ctx.orders, ctx.n_orders
    if t < us[U_START]:
        return
    side = int(params[P_SIDE])
    qty = params[P_QTY]
    mode = int(params[P_MODE])
    lot = params[P_LOT]
    n = us[U_N]
    times = us[U_TIMES:U_TIMES + n]
    cum = params[P_CUM:P_CUM + n]
    flags0 = U_TIMES + n
    if t >= us[U_END]:
        tgt = qty
        due = qty
    else:
        tgt = _target_nb(times, cum, t)
        due = tgt if mode == MODE_MARKET else _target_nb(times, cum, t - us[U_TIMEOUT])
    filled = side * position
    # open orders (local view)
    first = us[U_FIRST]
    while first < n_orders:
        ls = orders[first].local_status
        if ls == PENDING or ls == NEW or ls == PARTIAL:
            break
        first += 1
    us[U_FIRST] = first
    n_open = 0
    working = 0.0
    for j in range(first, n_orders):
        ls = orders[j].local_status
        if ls == PENDING or ls == NEW or ls == PARTIAL:
            n_open += 1
            working += orders[j].qty - orders[j].local_filled
    overdue = due - filled
    if overdue > _EPS:
        if n_open == 0:
            q = overdue if lot <= 0.0 else np.round(overdue / lot) * lot
            if q > _EPS:
                submit(ctx, side, q, 0, MARKET)
            return
        for j in range(first, n_orders):
            ls = orders[j].local_status
            if (ls == PENDING or ls == NEW or ls == PARTIAL) and orders[j].otype == LIMIT \
                    and us[flags0 + j] == 0 and cancel(ctx, j):
                us[flags0 + j] = 1
        return
    if mode == MODE_MARKET:
        return
    touch = best_bid(ctx) if side > 0 else best_ask(ctx)
    if touch != touch:
        return
    for j in range(first, n_orders):
        ls = orders[j].local_status
        if (ls == PENDING or ls == NEW or ls == PARTIAL) and orders[j].otype == LIMIT \
                and us[flags0 + j] == 0 and orders[j].price != touch and cancel(ctx, j):
            us[flags0 + j] = 1
    need = tgt - filled - working
    if lot > 0.0:
        need = np.floor(need / lot + 1e-9) * lot
    if need > _EPS and n_actions(ctx) < ctx.actions.shape[0] and n_orders + 1 < us.shape[0] - flags0:
        submit(ctx, side, need, int(touch), LIMIT)


@dataclass
class ExecutionResult:
    """One parent order's execution: the parent, the schedule, the fills (with the mid and best
    opposite quote of the book each met), the measures (bps, see
    ``companion.execution.measures``) and the simulator's result.

    Attributes
    ----------
    parent : ParentOrder
        The parent order.
    schedule : ChildSchedule
        The release schedule the algorithm produced.
    fills : pandas.DataFrame
        The child fills, with the mid and best opposite quote of the book each met.
    measures : dict
        Implementation shortfall and its parts, participation, fill counts (bps where a cost).
    sim : companion.sim.SimResult or None
        The simulator's result of the run.
    name : str
        The algorithm's name.
    """

    parent: ParentOrder
    schedule: ChildSchedule
    fills: pd.DataFrame
    measures: dict
    sim: object = field(repr=False, default=None)
    name: str = ""

    def to_dict(self) -> dict:
        """One flat row: algorithm, side, quantity, window and every measure."""
        return {"algo": self.name, "side": self.parent.side, "qty": self.parent.qty,
                "start_ns": self.parent.start_ns, "end_ns": self.parent.end_ns, **self.measures}


def _mid_at(ts: np.ndarray, book: np.ndarray, t: int) -> float:
    """Mid of the last book row with ``ts <= t`` (nan before the first / on a one-sided book)."""
    i = int(np.searchsorted(ts, t, side="right")) - 1
    while i >= 0:
        m = row_mid_nb(book[i])
        if m == m:
            return m
        i -= 1
    return np.nan


def execute(data, parent: ParentOrder, schedule, *, mode: str = "limit", timeout_s: float = 10.0,
            post_s: float = 300.0, tail_s: float = 60.0, wake_interval_ms: float = 100.0,
            trades: np.ndarray | None = None, sim_kwargs: dict | None = None,
            max_orders: int = 20_000) -> ExecutionResult:
    """Execute ``parent`` with ``schedule`` on ``data``, a :class:`~companion.events.Dataset`
    (``companion.data.load``; any object with ``.events``, ``.book``, ``.instrument`` works).

    ``schedule``: a schedule object (``.schedule(parent, trades)``) or a ready
    :class:`~companion.execution.ChildSchedule`. ``mode``: ``"market"`` (market orders only) or ``"limit"`` (limit at
    the touch, crossed after ``timeout_s``). ``post_s``: horizon after ``end`` for the permanent
    impact mid. ``tail_s``: replay beyond ``end`` for the clean-up orders. ``sim_kwargs``: passed
    to :class:`~companion.sim.simulator.Simulator` (default 1 ms entry and response latency, no fees);
    ``tick`` / ``lot`` come from the instrument.

    Returns
    -------
    ExecutionResult
        Fills (price units) with the mid and touch each met, and the measures of
        ``companion.execution.measures`` in bps of the arrival mid (implementation shortfall
        ``is_bps`` = spread + impact + timing + opportunity + fees, Perold 1988 / Kissell 2013),
        ``completion``, ``participation``, ``maker_share``.

    Examples
    --------
    Buy 300 shares over 30 s with a 10 s TWAP, market orders only, then limit orders at the touch
    crossed after 5 s:

    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))                  # a one-minute synthetic day
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> data = Dataset(to_events(day.messages), day.orderbook, instrument(cfg, levels=5))
    >>> t0 = data.instrument.session_open_ns
    >>> from companion.execution.schedules import TWAP
    >>> p = ParentOrder(side=1, qty=300, start_ns=t0 + 5 * NS, end_ns=t0 + 35 * NS)
    >>> r = execute(data, p, TWAP(interval_s=10), mode="market", post_s=10, tail_s=10)
    >>> r.measures["completion"], round(r.measures["is_bps"], 2), round(r.measures["maker_share"], 3)
    (1.0, -2.16, 0.0)
    >>> r = execute(data, p, TWAP(interval_s=10), mode="limit", timeout_s=5, post_s=10, tail_s=10)
    >>> r.measures["completion"], round(r.measures["is_bps"], 2), round(r.measures["maker_share"], 3)
    (1.0, -7.4, 0.423)
    """
    if mode not in ("market", "limit"):
        raise ValueError(f"mode must be 'market' or 'limit', got {mode!r}")
    data = as_dataset(data)
    ev, book, inst = data.events, data.book, data.instrument
    ts = np.asarray(ev["ts"], dtype=np.int64)
    if trades is None:
        trades = book_trades(ev)
    sched = schedule if isinstance(schedule, ChildSchedule) else schedule.schedule(parent, trades)
    name = sched.name or getattr(schedule, "name", "")
    lot = float(inst.lot or 0.0)
    i0 = max(int(np.searchsorted(ts, parent.start_ns, side="left")) - 1, 0)
    i1 = int(np.searchsorted(ts, parent.end_ns + int(tail_s * NS), side="right"))
    kw = dict(entry_latency=1_000_000, response_latency=1_000_000)
    kw.update(sim_kwargs or {})
    kw.setdefault("wake_interval_ns", int(wake_interval_ms * 1e6))
    sim = Simulator(Dataset(ev[i0:i1], book[i0:i1], inst), lot=lot, max_orders=max_orders, **kw)
    n = len(sched.times)
    params = np.concatenate([[parent.side, parent.qty, MODE_LIMIT if mode == "limit" else MODE_MARKET,
                              lot], sched.cum_qty]).astype(np.float64)
    us = np.zeros(U_TIMES + n + max_orders + 1000, dtype=np.int64)
    us[U_START], us[U_END] = parent.start_ns, parent.end_ns
    us[U_TIMEOUT] = int(round(timeout_s * NS))
    us[U_N] = n
    us[U_TIMES:U_TIMES + n] = sched.times
    res = sim.run(exec_strategy_nb, params, us)

    f = res.fills
    rows = np.maximum(f["event_idx"] - 1, 0)
    sub = book[i0:i1]
    fmid = np.array([row_mid_nb(sub[r]) for r in rows])
    ftouch = np.array([best_price_nb(sub[r], -parent.side) for r in rows])
    taker = f["liquidity"] == TAKER
    m0 = _mid_at(ts, book, parent.start_ns - 1)
    m_end = _mid_at(ts, book, parent.end_ns)
    m_post = _mid_at(ts, book, parent.end_ns + int(post_s * NS))
    meas = shortfall(parent.side, parent.qty, m0, f["price"], f["qty"], fmid, ftouch, taker,
                     end_mid=m_end, fees=float(f["fee"].sum()))
    win = (trades["ts"] >= parent.start_ns) & (trades["ts"] < parent.end_ns)
    vol = float(trades["size"][win].sum())
    mvwap = float((trades["price"][win] * trades["size"][win]).sum() / vol) if vol > 0 else np.nan
    filled = meas["filled"]
    meas["vwap_slippage_bps"] = (vwap_slippage_bps(parent.side, meas["avg_price"], mvwap)
                                 if filled > 0 and vol > 0 else np.nan)
    meas.update(impact_bps(parent.side, m0, meas["avg_price"], m_end, m_post))
    meas.update({"arrival_mid": m0, "end_mid": m_end, "post_mid": m_post, "market_vwap": mvwap,
                 "market_volume": vol, "participation": filled / vol if vol > 0 else np.nan,
                 "maker_share": float(f["qty"][~taker].sum() / filled) if filled > 0 else np.nan,
                 "n_orders": int(len(res.orders)), "n_fills": int(len(f)),
                 "last_fill_ns": int(f["ts"].max()) if len(f) else -1})
    fills = pd.DataFrame({"ts": f["ts"], "price": f["price"], "qty": f["qty"],
                          "liquidity": np.where(taker, "taker", "maker"), "fee": f["fee"],
                          "mid": fmid, "touch": ftouch, "order_id": f["order_id"]})
    return ExecutionResult(parent, sched, fills, meas, res, name)


def random_parents(data, n: int, qty: float, duration_s: float = 1800.0, seed: int = 0,
                   earliest_s: float = 1800.0, post_s: float = 300.0) -> list[ParentOrder]:
    """``n`` parent orders with seeded uniform start times in ``[open + earliest_s,
    close - duration - post_s]`` and random sides (+-1 with probability 1/2).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> from companion.events import Instrument
    >>> inst = Instrument("X", tick=100, price_scale=10_000, session_open_ns=34200 * NS,
    ...                   session_close_ns=57600 * NS)                    # 09:30-16:00
    >>> ps = random_parents(SimpleNamespace(instrument=inst), 3, qty=500, duration_s=600, seed=0)
    >>> [(p.side, p.start_ns // NS, (p.end_ns - p.start_ns) // NS) for p in ps]   # start: s after midnight
    [(-1, 36848, 600), (-1, 41584, 600), (-1, 49185, 600)]
    """
    inst = data.instrument
    t_open = inst.session_open_ns or int(data.events["ts"][0])
    t_close = inst.session_close_ns or int(data.events["ts"][-1])
    lo = t_open + int(earliest_s * NS)
    hi = t_close - int((duration_s + post_s) * NS)
    if hi <= lo:
        raise ValueError("session too short for this duration")
    rng = np.random.default_rng(seed)
    starts = np.sort(rng.integers(lo, hi, size=n))
    sides = rng.choice([-1, 1], size=n)
    return [ParentOrder(int(s), float(qty), int(t), int(t + duration_s * NS))
            for s, t in zip(sides, starts)]


def run_many(data, parents, algos: dict, **kwargs) -> pd.DataFrame:
    """Run every parent with every algorithm -> long DataFrame (``parent``, ``algo``, measures).

    ``algos``: ``{name: schedule}`` or ``{name: (schedule, execute_kwargs)}``; a callable
    ``schedule_for(parent) -> schedule`` is accepted too (e.g. a POV rate per parent).
    ``kwargs`` go to every :func:`execute`.

    Examples
    --------
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))                  # a one-minute synthetic day
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> data = Dataset(to_events(day.messages), day.orderbook, instrument(cfg, levels=5))
    >>> t0 = data.instrument.session_open_ns
    >>> from companion.execution.schedules import TWAP
    >>> parents = [ParentOrder(1, 200, t0 + 5 * NS, t0 + 25 * NS), ParentOrder(-1, 200, t0 + 30 * NS, t0 + 50 * NS)]
    >>> df = run_many(data, parents, {"twap_mkt": (TWAP(interval_s=5), {"mode": "market"}),
    ...                               "twap_lim": TWAP(interval_s=5)}, post_s=5, tail_s=5)
    >>> df[["parent", "algo", "side", "completion", "maker_share"]]
       parent      algo  side  completion  maker_share
    0       0  twap_mkt     1         1.0          0.0
    1       1  twap_mkt    -1         1.0          0.0
    2       0  twap_lim     1         1.0          1.0
    3       1  twap_lim    -1         1.0          0.5
    """
    trades = book_trades(data.events)
    rows = []
    for name, spec in algos.items():
        sch, kw = (spec if isinstance(spec, tuple) else (spec, {}))
        for p_id, p in enumerate(parents):
            s = sch(p) if callable(sch) and not hasattr(sch, "schedule") else sch
            r = execute(data, p, s, trades=trades, **{**kwargs, **kw})
            rows.append({"parent": p_id, **r.to_dict(), "algo": name})
    return pd.DataFrame(rows)
