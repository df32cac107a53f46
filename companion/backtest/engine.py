"""Event-driven backtest: a strategy run through :class:`companion.sim.simulator.Simulator` over the events.

Usage on the full synthetic day (:func:`run_backtest` has a runnable one-minute example)::

    d = companion.data.load("synthetic")
    res = run_backtest(d.events, d.book, d.instrument, ImbalanceScalper(entry="market"))
    res.trades.head(); res.metrics(); res.equity()

Two paths over the same events give identical runs: ``path="numba"`` (the strategy's jitted
kernel inside :func:`companion.sim.kernels.run_strategy_nb`) and ``path="python"`` (its Python
twin called from :meth:`~companion.sim.simulator.Simulator.run_python`, the teaching path).

Money: the simulator keeps cash in price units x size; every frame here is in **currency**
(``/ instrument.price_scale``, e.g. dollars for LOBSTER).

Round-trip trades (:attr:`BacktestResult.trades`): a trade opens when the position leaves 0 and
closes when it returns to 0; a fill that flips the position is split in two (its fee pro rata).
Per trade: ``gross = sum over its fills of -side x price x qty`` (cash flow at the fill prices),
``fees = sum of fees``, ``net = gross - fees``, and ``pnl_mid = sum of -side x mid_decision x qty``
(the same trades at the mid the strategy saw when it decided: before spread, slippage and fees).
A position still open at the end is closed on paper at the last mid (``closed = False``), so
``final equity = sum of net over the trades`` always holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from companion.backtest import metrics as M
from companion.backtest.strategies import D_K, D_MID, D_SIGNAL
from companion.events import NS, Instrument
from companion.sim import Fees, RiskAverseQueue, RiskLimits, Simulator
from companion.sim.risk import ACTION_CLOSE, ACTION_HALT

__all__ = ["ExecutionConfig", "BacktestResult", "run_backtest", "round_trips", "summarize"]


@dataclass(frozen=True)
class ExecutionConfig:
    """How orders meet the replayed market (see :mod:`companion.sim`).

    fees: :class:`~companion.sim.fees.Fees` in the simulator's units (price units per share, or bps).
    feed / entry / response latency: ns or a latency model. ``flat_before_close_s``: the risk
    manager flattens and halts at ``session_close - margin`` (None: off). ``risk``: other limits.
    ``impact``: a :class:`~companion.sim.impact.SqrtImpact` pricing aggressive size beyond the visible
    book (None: the unfilled remainder of a market order expires).

    Attributes
    ----------
    fees : companion.sim.fees.Fees
        Maker / taker fees in the simulator's units.
    feed_latency, entry_latency, response_latency : int or object
        Market data to strategy, strategy to exchange, exchange to strategy (ns, or a model of
        :mod:`companion.sim.latency`).
    queue : object
        Queue-position model of resting orders (:mod:`companion.sim.queue`).
    risk : companion.sim.risk.RiskLimits
        Pre-trade and position limits.
    flat_before_close_s : float or None
        Flatten and halt this many seconds before the session close (None: off).
    seed : int
        Seed of the simulator's random draws (latency, queue).
    wake_interval_ns : int
        Wake the strategy at most once per interval (0 = on every event it sees).
    max_orders : int
        Size of the order buffer (a run that overflows raises).
    impact : companion.sim.impact.SqrtImpact or None
        Prices aggressive size beyond the visible book (None: the remainder expires).
    """

    fees: Fees = Fees()
    feed_latency: object = 0
    entry_latency: object = 100_000
    response_latency: object = 100_000
    queue: object = RiskAverseQueue()
    risk: RiskLimits = RiskLimits()
    flat_before_close_s: float | None = 60.0
    seed: int = 0
    wake_interval_ns: int = 0
    max_orders: int = 100_000
    impact: object = None

    def risk_limits(self, instrument: Instrument) -> RiskLimits:
        """``risk`` with ``flat_at_ns`` set from ``flat_before_close_s`` and the session close."""
        r = self.risk
        if self.flat_before_close_s is not None and instrument.session_close_ns:
            flat = int(instrument.session_close_ns - self.flat_before_close_s * NS)
            r = RiskLimits(**{**r.__dict__, "flat_at_ns": flat if r.flat_at_ns is None
                              else min(flat, r.flat_at_ns)})
        return r


@dataclass
class BacktestResult:
    """A run: the simulator's arrays plus the strategy's decision log, and their frames.

    Attributes
    ----------
    sim : companion.sim.SimResult
        The simulator's arrays (orders, fills, risk events, position and cash per event).
    instrument : companion.events.Instrument
        The instrument traded.
    strategy : str
        The strategy's name.
    path : str
        ``"numba"`` (the jitted kernel path) or ``"python"`` (the Python callback path).
    decisions : numpy.ndarray or None
        The strategy's decision log (one row per decision), when it keeps one.
    """

    sim: object  # companion.sim.SimResult
    instrument: Instrument
    strategy: str
    path: str
    decisions: np.ndarray | None
    _trades: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def scale(self) -> float:
        """Price units per currency unit (money in the frames is divided by it)."""
        return float(self.instrument.price_scale)

    @property
    def orders(self) -> pd.DataFrame:
        """The simulator's orders as a DataFrame (:meth:`companion.sim.simulator.SimResult.orders_frame`)."""
        return self.sim.orders_frame()

    @property
    def fills(self) -> pd.DataFrame:
        """Fills with ``decision_mid`` (price units), ``signal`` at the decision, and
        ``slippage_bps = 1e4 side (price - decision_mid) / decision_mid`` (positive = cost)."""
        f = self.sim.fills_frame()
        mid, sig = self._fill_decision()
        f["decision_mid"] = mid
        f["signal"] = sig
        f["slippage_bps"] = 1e4 * f["side"] * (f["price"] - mid) / mid
        return f

    def positions(self) -> pd.Series:
        """Exchange-truth position after each event (shares/contracts)."""
        return pd.Series(self.sim.position, index=pd.Index(self.sim.ts, name="ts"), name="position")

    def equity(self) -> pd.Series:
        """Mark-to-mid equity (currency) after each event, starting from 0."""
        return (self.sim.equity() / self.scale).rename("equity")

    # ----------------------------------------------------------------------------------------
    def _mids(self) -> np.ndarray:
        return pd.Series(self.sim.mid()).ffill().to_numpy()

    def _order_decision(self) -> tuple[np.ndarray, np.ndarray]:
        """(decision mid, signal) per order: the strategy's log; a risk order: the book row of its
        risk decision; else the last event at or before its submission time."""
        o = self.sim.orders
        n = len(o)
        mids = self._mids()
        ts = self.sim.ts
        mid = np.full(n, np.nan)
        sig = np.full(n, np.nan)
        if self.decisions is not None and n:
            d = self.decisions[:n]
            has = d[:, D_K] >= 0
            mid[has] = d[has, D_MID]
            sig[has] = d[has, D_SIGNAL]
        rk = self.sim.risk_events
        rk = rk[(rk["action"] == ACTION_CLOSE) | (rk["action"] == ACTION_HALT)]
        risk_k = dict(zip(rk["ts"].tolist(), rk["event_idx"].tolist()))
        for j in np.flatnonzero(np.isnan(mid)):
            k = risk_k.get(int(o["ts_submit"][j])) if o["by_risk"][j] else None
            if k is None:
                k = int(np.searchsorted(ts, o["ts_submit"][j], side="right") - 1)
            if k >= 0:
                mid[j] = mids[k]
        return mid, sig

    def _fill_decision(self) -> tuple[np.ndarray, np.ndarray]:
        mid, sig = self._order_decision()
        oid = self.sim.fills["order_id"]
        return mid[oid], sig[oid]

    @property
    def trades(self) -> pd.DataFrame:
        """Round-trip trades (see module docstring); money in currency, times in ns."""
        if self._trades is None:
            f = self.sim.fills
            mid, sig = self._fill_decision()
            m = self._mids()
            last_mid = m[-1] if len(m) else np.nan
            self._trades = round_trips(f, mid, sig, last_mid=last_mid, last_ts=int(self.sim.ts[-1]),
                                       scale=self.scale)
        return self._trades

    def pnl(self) -> dict:
        """Gross vs net P&L (currency): ``mid`` (before spread and fees), ``gross`` (after spread
        and slippage, before fees), ``fees``, ``net``; ``spread_cost = mid - gross``."""
        t = self.trades
        mid, gross, fees, net = (float(t[c].sum()) for c in ("pnl_mid", "gross", "fees", "net"))
        return {"pnl_mid": mid, "gross": gross, "fees": fees, "net": net,
                "spread_cost": mid - gross, "final_equity": float(self.equity().iloc[-1])}

    def metrics(self, bar: str = "1min", periods_per_year: float | None = None) -> dict:
        """Every metric of ``companion.backtest.metrics`` for this run (see :func:`summarize`)."""
        return summarize(self, bar=bar, periods_per_year=periods_per_year)


def round_trips(fills: np.ndarray, decision_mid: np.ndarray, signal: np.ndarray, *,
                last_mid: float, last_ts: int, scale: float = 1.0) -> pd.DataFrame:
    """Round-trip trades from chronological fills (FILL_DTYPE); see the module docstring.

    Columns: ``entry_ts``, ``exit_ts``, ``side`` (+1 long), ``qty``, ``entry_price``,
    ``exit_price`` (volume-weighted, price units), ``entry_mid``, ``exit_mid`` (decision mids),
    ``signal`` (value at the entry decision), ``pnl_mid``, ``gross``, ``fees``, ``net`` (currency),
    ``pnl_bps`` (``1e4 net / (entry_price x qty)``), ``holding_s``, ``n_fills``, ``closed``.

    Parameters
    ----------
    fills : numpy.ndarray
        :data:`companion.sim.orders.FILL_DTYPE`, chronological; prices and fees in price units.
    decision_mid, signal : numpy.ndarray
        Per fill: the mid (price units) and signal value the strategy saw when it decided the order.
    last_mid : float
        Mid (price units) at which a position still open at the end is closed on paper.
    last_ts : int
        Exit time (ns) of that paper close.
    scale : float
        Price units per currency unit (``instrument.price_scale``).

    Examples
    --------
    Buy 100 at 100.01, sell 150 at 100.06 (closes the long, opens a 50 short), buy 50 at 100.00;
    fees 0.3 c/share (30 price units):

    >>> from companion.sim.orders import FILL_DTYPE
    >>> f = np.zeros(3, FILL_DTYPE)
    >>> f["ts"], f["side"] = [0, 2 * NS, 5 * NS], [1, -1, 1]
    >>> f["price"], f["qty"], f["fee"] = [1_000_100, 1_000_600, 1_000_000], [100, 150, 50], [3000, 4500, 1500]
    >>> t = round_trips(f, np.array([1_000_000.0, 1_000_500, 1_000_100]), np.array([0.4, -0.5, 0.45]),
    ...                 last_mid=1_000_100.0, last_ts=9 * NS, scale=10_000)
    >>> t[["side", "qty", "pnl_mid", "gross", "fees", "net", "holding_s"]]
       side    qty  pnl_mid  gross  fees  net  holding_s
    0     1  100.0      5.0    5.0   0.6  4.4        2.0
    1    -1   50.0      2.0    3.0   0.3  2.7        3.0
    """
    rows: list[dict] = []
    cur: dict | None = None
    pos = 0.0
    eps = 1e-9

    def open_trade(ts, side, px, q, fee, dm, sg):
        return {"entry_ts": ts, "side": side, "qty": 0.0, "ein": 0.0, "eout": 0.0, "qout": 0.0,
                "min_": 0.0, "mout": 0.0, "cash": 0.0, "cmid": 0.0, "fees": 0.0, "n": 0,
                "signal": sg, "exit_ts": -1}

    def add(tr, entering, side, px, q, fee, dm):
        tr["cash"] += -side * px * q
        tr["cmid"] += -side * (dm if dm == dm else px) * q
        tr["fees"] += fee
        tr["n"] += 1
        if entering:
            tr["qty"] += q
            tr["ein"] += px * q
            tr["min_"] += (dm if dm == dm else px) * q
        else:
            tr["qout"] += q
            tr["eout"] += px * q
            tr["mout"] += (dm if dm == dm else px) * q

    def close(tr, ts, closed):
        tr["exit_ts"] = ts
        tr["closed"] = closed
        rows.append(tr)

    for i in range(len(fills)):
        f = fills[i]
        s, px, q, fee, ts = int(f["side"]), float(f["price"]), float(f["qty"]), float(f["fee"]), int(f["ts"])
        dm, sgv = float(decision_mid[i]), float(signal[i])
        if abs(pos) < eps:
            cur = open_trade(ts, s, px, q, fee, dm, sgv)
            add(cur, True, s, px, q, fee, dm)
            pos = s * q
            continue
        if np.sign(pos) == s:  # adding to the position
            add(cur, True, s, px, q, fee, dm)
            pos += s * q
            continue
        closing = min(q, abs(pos))
        add(cur, False, s, px, closing, fee * closing / q, dm)
        pos += s * closing
        if abs(pos) < eps:
            pos = 0.0
            close(cur, ts, True)
            cur = None
        rest = q - closing
        if rest > eps:
            cur = open_trade(ts, s, px, rest, fee, dm, sgv)
            add(cur, True, s, px, rest, fee * rest / q, dm)
            pos = s * rest
    if cur is not None and abs(pos) > eps:  # open at the end: close on paper at the last mid
        q = abs(pos)
        add(cur, False, -cur["side"], last_mid, q, 0.0, last_mid)
        close(cur, last_ts, False)
    cols = ["entry_ts", "exit_ts", "side", "qty", "entry_price", "exit_price", "entry_mid",
            "exit_mid", "signal", "pnl_mid", "gross", "fees", "net", "pnl_bps", "holding_s",
            "n_fills", "closed"]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    out = pd.DataFrame({
        "entry_ts": [r["entry_ts"] for r in rows], "exit_ts": [r["exit_ts"] for r in rows],
        "side": [r["side"] for r in rows], "qty": [r["qty"] for r in rows],
        "entry_price": [r["ein"] / r["qty"] for r in rows],
        "exit_price": [r["eout"] / r["qout"] if r["qout"] > 0 else np.nan for r in rows],
        "entry_mid": [r["min_"] / r["qty"] for r in rows],
        "exit_mid": [r["mout"] / r["qout"] if r["qout"] > 0 else np.nan for r in rows],
        "signal": [r["signal"] for r in rows],
        "pnl_mid": [r["cmid"] / scale for r in rows], "gross": [r["cash"] / scale for r in rows],
        "fees": [r["fees"] / scale for r in rows],
        "n_fills": [r["n"] for r in rows], "closed": [bool(r["closed"]) for r in rows]})
    out["net"] = out["gross"] - out["fees"]
    out["pnl_bps"] = 1e4 * out["net"] * scale / (out["entry_price"] * out["qty"])
    out["holding_s"] = (out["exit_ts"] - out["entry_ts"]) / NS
    return out[cols]


def _unpack(events, book, instrument, strategy):
    """``(events, book, instrument, strategy)`` from either call form of :func:`run_backtest`."""
    if hasattr(events, "events") and hasattr(events, "instrument"):  # a dataset object
        if strategy is not None or instrument is not None:
            raise TypeError("run_backtest(dataset, strategy): pass the strategy as the second "
                            "argument and no separate book / instrument")
        d, strategy = events, book
        if getattr(d, "book", None) is None:
            raise ValueError(f"dataset {getattr(d.instrument, 'symbol', '?')} has no orderbook "
                             "snapshots; the backtest needs a book")
        return d.events, d.book, d.instrument, strategy
    if book is None or instrument is None or strategy is None:
        raise TypeError("run_backtest(events, book, instrument, strategy) or run_backtest(dataset, strategy)")
    return events, book, instrument, strategy


def run_backtest(events, book=None, instrument: Instrument | None = None, strategy=None, *,
                 execution: ExecutionConfig | None = None, path: str = "numba") -> BacktestResult:
    """Run ``strategy`` (an object of ``companion.backtest.strategies``) over the events.

    Two call forms: ``run_backtest(events, book, instrument, strategy)`` or
    ``run_backtest(dataset, strategy)`` with a dataset from :func:`companion.data.load`
    (anything with ``events``, ``book`` and ``instrument`` attributes).

    Parameters
    ----------
    events : numpy.ndarray or companion.events.Dataset
        :data:`companion.events.EVENT_DTYPE` events (non-decreasing ``ts``), or a dataset.
    book : numpy.ndarray
        float64 ``(n, 4L)`` LOBSTER-layout book after each event (:func:`companion.book.replay`).
    instrument : companion.events.Instrument
        Tick, price scale (money frames are divided by it) and session (end-of-day flattening).
    strategy : object
        :class:`~companion.backtest.strategies.ImbalanceScalper`,
        :class:`~companion.backtest.strategies.ModelStrategy`,
        :class:`~companion.backtest.strategies.NoOp` or a market maker of
        :mod:`companion.backtest.market_making` (anything with ``name``, ``kernel``, ``build``
        and ``python_callback``).
    execution : ExecutionConfig, optional
        Fees, latencies, queue model, risk limits (default :class:`ExecutionConfig`).
    path : str
        ``"numba"`` (fast) or ``"python"`` (teaching path, same result).

    Returns
    -------
    BacktestResult
        Orders, fills, round-trip trades, equity (currency) and :meth:`BacktestResult.metrics`.

    Examples
    --------
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> from companion.backtest import ImbalanceScalper
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))                  # a one-minute synthetic day
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> events, book, inst = to_events(day.messages), day.orderbook, instrument(cfg, levels=5)
    >>> ex = ExecutionConfig(flat_before_close_s=5)                     # flatten 5 s before the close
    >>> res = run_backtest(events, book, inst, ImbalanceScalper(entry="market"), execution=ex)
    >>> len(res.trades), round(res.pnl()["pnl_mid"], 2), round(res.pnl()["net"], 2)   # dollars
    (9, -24.5, -213.98)
    >>> py = run_backtest(events, book, inst, ImbalanceScalper(entry="market"), execution=ex, path="python")
    >>> py.pnl() == res.pnl()                          # the teaching path gives the same run
    True
    """
    events, book, instrument, strategy = _unpack(events, book, instrument, strategy)
    ex = execution or ExecutionConfig()
    if path not in ("numba", "python"):
        raise ValueError(f"path must be 'numba' or 'python', got {path!r}")
    sim = Simulator(events, book, tick=int(instrument.tick), queue=ex.queue,
                    feed_latency=ex.feed_latency, entry_latency=ex.entry_latency,
                    response_latency=ex.response_latency, fees=ex.fees,
                    risk=ex.risk_limits(instrument), seed=ex.seed,
                    wake_interval_ns=ex.wake_interval_ns, max_orders=ex.max_orders,
                    impact=ex.impact)
    params, user_state = strategy.build(events, book, instrument, ex.max_orders)
    if path == "numba":
        res = sim.run(strategy.kernel, params, user_state)
    else:
        res = sim.run_python(strategy.python_callback(params, user_state))
    dec = user_state[3] if isinstance(user_state, tuple) and len(user_state) >= 4 else None
    return BacktestResult(sim=res, instrument=instrument, strategy=getattr(strategy, "name", "?"),
                          path=path, decisions=dec)


def summarize(res: BacktestResult, bar: str = "1min", periods_per_year: float | None = None) -> dict:
    """All metrics of a run, money in currency (see ``companion.backtest.metrics``).

    Sharpe / Sortino: of the equity changes over ``bar`` bars of the session, annualised with
    ``periods_per_year`` (default ``252 x bars per session``). VaR 95 and win rate: per trade.
    Max drawdown: of the mark-to-mid equity curve.

    Returns
    -------
    dict
        Counts (``trades``, ``fills``, ``orders``), P&L split in currency (``pnl_mid``,
        ``gross_pnl``, ``fees``, ``net_pnl``, ``spread_cost``), ratios (``sharpe``, ``sortino``,
        ``win_rate``, ``profit_factor``, ...), ``max_drawdown`` and ``var_95`` (currency),
        ``slippage_bps``, ``fill_rate``, ``ic``, positions.

    Examples
    --------
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> from companion.backtest import ImbalanceScalper
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))                  # a one-minute synthetic day
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> events, book, inst = to_events(day.messages), day.orderbook, instrument(cfg, levels=5)
    >>> ex = ExecutionConfig(flat_before_close_s=5)                     # flatten 5 s before the close
    >>> m = summarize(run_backtest(events, book, inst, ImbalanceScalper(entry="market"), execution=ex))
    >>> m["trades"], m["fills"], round(m["net_pnl"], 2), round(m["spread_cost"], 2)
    (9, 24, -213.98, 189.48)
    """
    t = res.trades
    eq = res.equity()
    inst = res.instrument
    bar_ns = int(pd.Timedelta(bar).value)
    t0 = inst.session_open_ns or int(res.sim.ts[0])
    t1 = inst.session_close_ns or int(res.sim.ts[-1])
    bars = M.bar_pnl(eq.index.to_numpy(), eq.to_numpy(), bar_ns, t0, t1)
    ppy = periods_per_year if periods_per_year is not None else 252.0 * max(1.0, (t1 - t0) / bar_ns)
    net = t["net"].to_numpy(dtype=float)
    o = res.sim.orders
    own = o[o["by_risk"] == 0]
    f = res.fills
    move_bps = 1e4 * t["side"].to_numpy(float) * (t["exit_mid"] - t["entry_mid"]).to_numpy(float) / t["entry_mid"].to_numpy(float)
    days = (res.sim.ts // (86_400 * NS))
    day_end = np.flatnonzero(np.diff(days, append=days[-1] + 1)) if len(days) else np.array([], int)
    daily = np.diff(np.concatenate([[0.0], eq.to_numpy()[day_end]])) if len(day_end) else np.array([])
    pn = res.pnl()
    out = {
        "strategy": res.strategy, "path": res.path, "symbol": inst.symbol,
        "trades": int(len(t)), "fills": int(len(res.sim.fills)), "orders": int(len(o)),
        "total_pnl": M.total_pnl(net), "average_pnl": M.average_pnl(net),
        "pnl_mid": pn["pnl_mid"], "gross_pnl": pn["gross"], "fees": pn["fees"], "net_pnl": pn["net"],
        "spread_cost": pn["spread_cost"], "final_equity": pn["final_equity"],
        "win_rate": M.win_rate(net), "profit_factor": M.profit_factor(net),
        "sharpe": M.sharpe_ratio(bars, ppy), "sortino": M.sortino_ratio(bars, ppy),
        "sharpe_per_trade": M.sharpe_ratio(net), "max_drawdown": M.max_drawdown(eq.to_numpy()),
        "var_95": M.value_at_risk(net, 0.95),
        "avg_holding_s": M.average_holding_time(t["holding_s"].to_numpy(float)),
        "avg_pnl_bps": M.average_pnl(t["pnl_bps"].to_numpy(float)),
        "slippage_bps": M.slippage_bps(f["side"].to_numpy(float), f["price"].to_numpy(float),
                                       f["decision_mid"].to_numpy(float), f["qty"].to_numpy(float)),
        "fill_rate": M.fill_rate(own["filled"], own["qty"]),
        "signal_accuracy": M.signal_accuracy(t["side"].to_numpy(float), move_bps / np.where(t["side"] != 0, t["side"], 1)),
        "ic": M.information_coefficient(t["signal"].to_numpy(float), move_bps * t["side"].to_numpy(float)),
        "losing_days": M.losing_days(daily), "days": int(len(daily)),
        "max_position": float(np.max(np.abs(res.sim.position))) if len(res.sim.position) else 0.0,
        "final_position": float(res.sim.position[-1]) if len(res.sim.position) else 0.0,
        "currency_per_unit": 1.0 / res.scale,
    }
    return out
