r"""Where a strategy's money comes from: an exact P&L decomposition for any backtest, and the
market-making statistics (fill rate, time at the touch, inventory, queue position at fill).

Notation: fills :math:`i` with side :math:`s_i` (+1 buy), quantity :math:`q_i`, price
:math:`p_i`, fee :math:`\phi_i` (negative = rebate) at exchange time :math:`t_i`;
:math:`m_i` = the **mid at the fill** = the mid of the book the fill met (book row
``event_idx - 1`` of the fill, i.e. just before the event that filled it; NaN mids carried
forward); :math:`m(t)` = the mid of the last event with ``ts <= t``; :math:`M` = the final mid.
With the position flat at the start, the net P&L (= the final mark-to-mid equity of the run,
``cash + position x M``) is, exactly,

.. math::
   \text{net} = \underbrace{\sum_i s_i q_i (m_i - p_i)}_{\text{spread capture}}
   + \underbrace{\sum_i s_i q_i (M - m_i)}_{\text{inventory P\&L}}
   - \underbrace{\sum_i \phi_i}_{\text{fees}}

because :math:`\text{cash} = -\sum_i (s_i p_i q_i + \phi_i)` and
:math:`\text{position} = \sum_i s_i q_i`. Spread capture is positive for a maker (it buys below
the mid) and negative for a taker (the half-spread it pays). The inventory P&L is split, for each
markout horizon :math:`h` (100 ms, 1 s, 10 s, 60 s), into

.. math::
   \text{markout}_h = \sum_i s_i q_i\,(m(t_i + h) - m_i),\qquad
   \text{inventory P\&L} = \text{markout}_h + \text{rest}_h,\quad
   \text{rest}_h = \sum_i s_i q_i\,(M - m(t_i + h)),

(:math:`m(t_i + h)` clipped to :math:`M` beyond the last event). The **adverse selection** at
:math:`h` is :math:`-\text{markout}_h` (positive = the mid moved against the fills). So for every
``h``: ``net = spread_capture - adverse_selection[h] + rest[h] - fees``. Money is reported in
currency (``/ instrument.price_scale``).

References: the markout / "realised spread" decomposition of Huang & Stoll (1996) and
Hendershott, Jones & Menkveld (2011); hftbacktest's P&L split (equity, fees) for the fee side.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from companion.events import NS
from companion.sim.orders import LIMIT, MAKER, POST_ONLY, REJECTED

__all__ = ["MARKOUT_HORIZONS", "decompose", "fill_markouts", "fill_mids", "mm_stats", "quote_time_at_touch"]

#: default markout horizons (labels -> ns)
MARKOUT_HORIZONS = {"100ms": NS // 10, "1s": NS, "10s": 10 * NS, "60s": 60 * NS}


def _mids(res) -> np.ndarray:
    return pd.Series(res.sim.mid()).ffill().to_numpy()


def fill_markouts(res, horizons: dict | None = None) -> pd.DataFrame:
    r"""One row per fill: ``ts``, ``side``, ``qty``, ``price``, ``fee``, ``liquidity``,
    ``mid_at_fill`` (:math:`m_i`, price units), ``spread_capture`` (:math:`s_i q_i (m_i - p_i)`),
    ``inventory_pnl`` (:math:`s_i q_i (M - m_i)`) and ``markout_<h>`` (:math:`s_i q_i
    (m(t_i + h) - m_i)`) per horizon; money in currency (module docstring).

    Examples
    --------
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> from companion.backtest import ExecutionConfig, ImbalanceScalper, run_backtest
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> res = run_backtest(to_events(day.messages), day.orderbook, instrument(cfg, levels=5),
    ...                    ImbalanceScalper(), execution=ExecutionConfig(flat_before_close_s=5))
    >>> f = fill_markouts(res)
    >>> len(f) == len(res.sim.fills), bool((f["spread_capture"] <= 0).all())   # a taker pays
    (True, True)
    """
    hz = MARKOUT_HORIZONS if horizons is None else horizons
    f = res.sim.fills
    scale = res.scale
    mids = _mids(res)
    n = len(mids)
    M = float(mids[-1]) if n else np.nan
    m_fill, m_h = fill_mids(f, res.sim.ts, mids, [int(h) for h in hz.values()])
    sq = f["side"].astype(np.float64) * f["qty"]
    out = pd.DataFrame({"ts": f["ts"], "side": f["side"], "qty": f["qty"], "price": f["price"],
                        "fee": f["fee"] / scale,
                        "liquidity": np.where(f["liquidity"] == MAKER, "maker", "taker"),
                        "order_id": f["order_id"], "mid_at_fill": m_fill,
                        "spread_capture": sq * (m_fill - f["price"]) / scale,
                        "inventory_pnl": sq * (M - m_fill) / scale})
    for k, lab in enumerate(hz):
        out[f"markout_{lab}"] = sq * (m_h[k] - m_fill) / scale
    return out


def fill_mids(fills: np.ndarray, ts: np.ndarray, mids: np.ndarray, horizons_ns) -> tuple[np.ndarray, np.ndarray]:
    r"""The mids a markout reads, per fill :math:`i`: :math:`m_i`, the mid of book row
    ``event_idx - 1`` (the book the fill met), and per horizon :math:`h` the mid :math:`m(t_i + h)`
    of the last event with ``ts <= t_i + h`` (the final mid :math:`M` beyond the last event).

    ``fills``: :data:`companion.sim.FILL_DTYPE` rows; ``ts``, ``mids``: per event (``mids``
    forward-filled, price units); ``horizons_ns``: the horizons (ns). Returns ``(m_fill (n_fills,),
    m_h (n_horizons, n_fills))``; NaN everywhere when there are no events. :func:`fill_markouts`
    and :func:`companion.backtest.latency.adverse_selection` read their mids here.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.sim import FILL_DTYPE
    >>> f = np.zeros(1, FILL_DTYPE)
    >>> f["ts"], f["event_idx"] = 10, 1                  # filled by event 1: it met row 0
    >>> m0, mh = fill_mids(f, np.array([0, 10, 20]), np.array([100.0, 101.0, 103.0]), [5, 10, 99])
    >>> m0.tolist(), mh.tolist()
    ([100.0], [[101.0], [103.0], [103.0]])
    """
    ts = np.asarray(ts, dtype=np.int64)
    hs = [int(h) for h in horizons_ns]
    n = len(mids)
    if n == 0:
        nan = np.full(len(fills), np.nan)
        return nan, np.tile(nan, (len(hs), 1))
    M = float(mids[-1])
    m_fill = mids[np.clip(np.asarray(fills["event_idx"], dtype=np.int64) - 1, 0, n - 1)]
    m_h = np.empty((len(hs), len(fills)))
    t_f = np.asarray(fills["ts"], dtype=np.int64)
    for k, h in enumerate(hs):
        j = np.searchsorted(ts, t_f + h, side="right") - 1
        m_h[k] = np.where(j >= n - 1, M, mids[np.clip(j, 0, n - 1)])
    return m_fill, m_h


def decompose(res, horizons: dict | None = None) -> dict:
    r"""The exact decomposition of the module docstring for a
    :class:`~companion.backtest.BacktestResult` (currency).

    Returns
    -------
    dict
        ``net`` (final mark-to-mid equity), ``spread_capture``, ``inventory_pnl``, ``fees``
        (positive = paid; rebates negative), ``adverse_selection`` ({horizon: -markout}),
        ``inventory_rest`` ({horizon: rest_h}), ``residual`` (``net - (spread_capture +
        inventory_pnl - fees)``, float rounding only), ``maker_fills``, ``taker_fills``,
        ``volume``.

    Examples
    --------
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> from companion.backtest import ExecutionConfig, ImbalanceScalper, run_backtest
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> res = run_backtest(to_events(day.messages), day.orderbook, instrument(cfg, levels=5),
    ...                    ImbalanceScalper(), execution=ExecutionConfig(flat_before_close_s=5))
    >>> d = decompose(res)
    >>> abs(d["spread_capture"] + d["inventory_pnl"] - d["fees"] - d["net"]) < 0.005
    True
    >>> all(abs(d["spread_capture"] - d["adverse_selection"][h] + d["inventory_rest"][h]
    ...         - d["fees"] - d["net"]) < 0.005 for h in d["adverse_selection"])
    True
    """
    fm = fill_markouts(res, horizons)
    hz = MARKOUT_HORIZONS if horizons is None else horizons
    net = float(res.equity().iloc[-1]) if len(res.sim.ts) else 0.0
    sc = float(fm["spread_capture"].sum())
    inv = float(fm["inventory_pnl"].sum())
    fees = float(fm["fee"].sum())
    adv = {lab: -float(fm[f"markout_{lab}"].sum()) for lab in hz}
    rest = {lab: inv + adv[lab] for lab in hz}
    return {"net": net, "spread_capture": sc, "inventory_pnl": inv, "fees": fees,
            "adverse_selection": adv, "inventory_rest": rest,
            "residual": net - (sc + inv - fees),
            "maker_fills": int((fm["liquidity"] == "maker").sum()),
            "taker_fills": int((fm["liquidity"] == "taker").sum()),
            "volume": float(fm["qty"].sum())}


def quote_time_at_touch(res) -> dict:
    r"""Fraction of the run's duration (first to last event) during which our resting limit
    order was at the best bid (``bid``) / best ask (``ask``) of the replayed book: an event
    interval :math:`[t_j, t_{j+1})` counts for a side when one of our orders of that side is
    resting at the exchange (``ts_arrive <= t_j < ts_done``) at a price equal to that side's best
    price in book row ``j``.

    Examples
    --------
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> from companion.backtest import ExecutionConfig, run_backtest
    >>> from companion.backtest.market_making import Grid
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> res = run_backtest(to_events(day.messages), day.orderbook, instrument(cfg, levels=5),
    ...                    Grid(), execution=ExecutionConfig(flat_before_close_s=5))
    >>> q = quote_time_at_touch(res)
    >>> 0 <= q["bid"] <= 1 and 0 <= q["ask"] <= 1
    True
    """
    ts = res.sim.ts
    n = len(ts)
    if n < 2:
        return {"bid": 0.0, "ask": 0.0}
    dt = np.diff(ts).astype(np.float64)
    book = res.sim.book
    total = float(ts[-1] - ts[0])
    o = res.sim.orders
    o = o[((o["otype"] == LIMIT) | (o["otype"] == POST_ONLY)) & (o["ts_arrive"] >= 0) & (o["by_risk"] == 0)]
    out = {}
    for side, name, col in ((1, "bid", 2), (-1, "ask", 0)):
        mask = np.zeros(n - 1, dtype=bool)
        best = book[:-1, col]
        for r in o[o["side"] == side]:
            j0 = int(np.searchsorted(ts, r["ts_arrive"], side="left"))
            end = r["ts_done"] if r["ts_done"] >= 0 else ts[-1]
            j1 = int(np.searchsorted(ts, end, side="left"))
            if j1 > j0:
                seg = slice(j0, min(j1, n - 1))
                mask[seg] |= best[seg] == r["price"]
        out[name] = float(dt[mask].sum() / total) if total > 0 else 0.0
    return out


def mm_stats(res, quantiles=(0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)) -> dict:
    r"""Market-making statistics of a run:

    * ``fill_rate_qty`` = filled quantity / quoted quantity of our own (non-risk) orders;
      ``fill_rate_orders`` = orders with a fill / orders;
    * ``touch_time_bid`` / ``touch_time_ask``: :func:`quote_time_at_touch`;
    * ``inventory_q<p>``: quantiles of the position sampled once per second over the run
      (time-weighted, shares/contracts);
    * ``queue_at_arrival_filled_mean`` / ``_median``: the queue position our maker-filled orders
      had when they joined the book = the visible quantity at their price on their side in the
      book the exchange showed on arrival (row ``arr_event - 1``; what every queue model of
      :mod:`companion.sim.queue` starts from); ``queue_at_arrival_all_mean``: the same over all
      our resting orders (fills come from short queues when the first is the smaller). The
      model's queue ahead at the fill itself is 0 by construction (a resting order fills when
      the queue in front has gone), so it is not reported.

    Examples
    --------
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> from companion.backtest import ExecutionConfig, run_backtest
    >>> from companion.backtest.market_making import Grid
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> res = run_backtest(to_events(day.messages), day.orderbook, instrument(cfg, levels=5),
    ...                    Grid(), execution=ExecutionConfig(flat_before_close_s=5))
    >>> s = mm_stats(res)
    >>> 0 <= s["fill_rate_qty"] <= 1, s["inventory_q0.5"] <= s["inventory_q0.99"]
    (True, True)
    """
    o = res.sim.orders
    own = o[o["by_risk"] == 0]
    qq = float(own["qty"].sum())
    out = {"orders": int(len(own)),
           "fill_rate_qty": float(own["filled"].sum() / qq) if qq > 0 else float("nan"),
           "fill_rate_orders": float((own["filled"] > 0).mean()) if len(own) else float("nan")}
    tt = quote_time_at_touch(res)
    out["touch_time_bid"], out["touch_time_ask"] = tt["bid"], tt["ask"]
    ts = res.sim.ts
    if len(ts):
        grid = np.arange(ts[0], ts[-1] + 1, NS)
        j = np.searchsorted(ts, grid, side="right") - 1
        pos = res.sim.position[np.clip(j, 0, None)]
    else:
        pos = np.zeros(1)
    for p in quantiles:
        out[f"inventory_q{p:g}"] = float(np.quantile(pos, p))
    qa = _queue_at_arrival(res)
    mk = np.unique(res.sim.fills["order_id"][res.sim.fills["liquidity"] == MAKER])
    qf = qa[mk] if len(mk) else np.array([])
    qf = qf[~np.isnan(qf)]
    out["queue_at_arrival_filled_mean"] = float(qf.mean()) if len(qf) else float("nan")
    out["queue_at_arrival_filled_median"] = float(np.median(qf)) if len(qf) else float("nan")
    qr = qa[~np.isnan(qa)]
    out["queue_at_arrival_all_mean"] = float(qr.mean()) if len(qr) else float("nan")
    return out


def _queue_at_arrival(res) -> np.ndarray:
    """Per order: visible quantity at its price and side in book row ``arr_event - 1`` (NaN for
    orders that never rested: market / IOC / rejected / never arrived / risk orders)."""
    from companion.sim.kernels import visible_qty_at_nb

    o = res.sim.orders
    book = res.sim.book
    out = np.full(len(o), np.nan)
    rest = (((o["otype"] == LIMIT) | (o["otype"] == POST_ONLY)) & (o["arr_event"] >= 0)
            & (o["by_risk"] == 0) & (o["status"] != REJECTED))
    for j in np.flatnonzero(rest):
        r = max(int(o["arr_event"][j]) - 1, 0)
        out[j] = visible_qty_at_nb(book[r], int(o["side"][j]), float(o["price"][j]))
    return out
