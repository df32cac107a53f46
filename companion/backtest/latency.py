"""The latency sweep (chapter 10): what delay costs a strategy.

The same strategy runs through :class:`companion.sim.simulator.Simulator` (via
:func:`companion.backtest.run_backtest`) once per latency ``L`` on a log-spaced grid
(:data:`LATENCY_GRID_NS`: 0, 10 us, 100 us, 1 ms, 10 ms, 100 ms, 1 s) and per *channel*:

* ``"feed"``: market data reach the strategy ``L`` late (hftbacktest's feed latency);
* ``"order"``: every order takes ``L`` to reach the matching engine and every response
  (ack, fill, cancel) takes ``L`` to come back: entry = response = ``L`` (round trip ``2L``);
* ``"all"``: the three channels at ``L`` each.

The channels not swept keep the latencies of the ``execution`` config (default 0). Per run:
trades, fill rate, net / gross / mid P&L (currency), slippage against the decision mid (bps),
and the **adverse selection** of the fills over horizons ``h``,

.. math:: A_h = -\\frac{\\sum_f q_f\\, s_f\\,\\big(M(t_f + h) - M(t_f^-)\\big)}{\\delta \\sum_f q_f}

in ticks (``s_f`` +1 buy / -1 sell, ``q_f`` quantity, ``M(t_f^-)`` the mid of the book row
before the fill, ``M(t)`` the mid after the last event with ``ts <= t``, ``delta`` the tick):
positive when the mid moves against the fill (the classic cost of being picked off,
Glosten & Milgrom 1985; Moallemi & Yuan's ``beta(q)``). It is the markout of
:mod:`companion.backtest.pnl` per share and in ticks (the same mids, :func:`companion.backtest.pnl.fill_mids`),
with the fills whose horizon runs past the last event left out instead of marked at the final mid.

The signal-decay analysis of the chapter is :mod:`companion.models.decay`, the compute budget of
the live path :mod:`companion.live.budget`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from companion.backtest import metrics as M
from companion.backtest.engine import ExecutionConfig, run_backtest
from companion.backtest.pnl import fill_mids
from companion.events import NS, Instrument
from companion.stats import mid_price

__all__ = ["LATENCY_GRID_NS", "CHANNELS", "adverse_selection", "run_summary", "latency_sweep", "format_ns"]

#: the latency grid of the sweep in ns (0, 10 us, 100 us, 1 ms, 10 ms, 100 ms, 1 s)
LATENCY_GRID_NS = (0, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000)
#: swept channel -> which of (feed, entry, response) take the swept value
CHANNELS = {"feed": (True, False, False), "order": (False, True, True), "all": (True, True, True)}


def _mid_ffill(book: np.ndarray) -> np.ndarray:
    return pd.Series(mid_price(book)).ffill().to_numpy()


def adverse_selection(fills: np.ndarray, ts: np.ndarray, mid: np.ndarray, horizon_ns: int,
                      tick: float) -> np.ndarray:
    """Per fill: ``-s (M(t_f + h) - M(t_f^-)) / tick`` (ticks; positive = the mid moved against us).

    ``fills``: :data:`companion.sim.FILL_DTYPE` rows; ``ts``/``mid``: per event (mid forward-filled);
    ``M(t_f^-)`` is the mid of row ``event_idx - 1`` (the book the fill met), ``M(t)`` the mid after
    the last event with ``ts <= t``. NaN when ``t_f + h`` is past the last event.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.sim import FILL_DTYPE
    >>> f = np.zeros(1, FILL_DTYPE)
    >>> f["ts"], f["event_idx"], f["side"] = 10, 1, 1          # a buy filled by event 1
    >>> ts = np.array([0, 10, 20, 30])
    >>> adverse_selection(f, ts, np.array([10000.0, 10000.0, 9900.0, 9800.0]), horizon_ns=15, tick=100.0).tolist()
    [1.0]
    """
    ts = np.asarray(ts, dtype=np.int64)
    if len(fills) == 0:
        return np.empty(0)
    m0, mh = fill_mids(fills, ts, np.asarray(mid, dtype=np.float64), [int(horizon_ns)])
    out = -np.asarray(fills["side"], dtype=np.float64) * (mh[0] - m0) / float(tick)
    out[np.asarray(fills["ts"], dtype=np.int64) + int(horizon_ns) > ts[-1]] = np.nan
    return out


def _wavg(x: np.ndarray, w: np.ndarray) -> float:
    ok = ~np.isnan(x)
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok])) if ok.any() and np.sum(w[ok]) > 0 else float("nan")


def run_summary(res, horizons_ns=(NS, 10 * NS), mid: np.ndarray | None = None) -> dict:
    """The sweep's numbers of one :class:`companion.backtest.BacktestResult` (money in currency,
    adverse selection ``adverse_<h>`` in ticks, quantity-weighted over all fills, see
    :func:`adverse_selection`).

    Examples
    --------
    >>> from companion import synth  # doctest: +SKIP
    >>> from companion.backtest import ImbalanceScalper, run_backtest  # doctest: +SKIP
    >>> cfg = synth.SynthConfig(session=(34200.0, 34320.0))  # doctest: +SKIP
    >>> d = synth.simulate(seed=1, levels=5, config=cfg)  # doctest: +SKIP
    >>> res = run_backtest(synth.to_events(d.messages), d.orderbook, synth.instrument(cfg, 5), ImbalanceScalper())  # doctest: +SKIP
    >>> sorted(run_summary(res))[:4]  # doctest: +SKIP
    ['adverse_10s', 'adverse_1s', 'fees', 'fill_rate']
    """
    sim = res.sim
    inst = res.instrument
    mid = _mid_ffill(sim.book) if mid is None else mid
    t = res.trades
    pn = res.pnl()
    o = sim.orders
    own = o[o["by_risk"] == 0]
    f = sim.fills
    out = {
        "trades": int(len(t)), "orders": int(len(own)), "fills": int(len(f)),
        "fill_rate": M.fill_rate(own["filled"], own["qty"]),
        "maker_share": float(np.mean(f["liquidity"] == 1)) if len(f) else float("nan"),
        "net_pnl": pn["net"], "gross_pnl": pn["gross"], "pnl_mid": pn["pnl_mid"], "fees": pn["fees"],
        "pnl_per_trade": pn["net"] / len(t) if len(t) else float("nan"),
    }
    if len(f):
        fr = res.fills
        out["slippage_bps"] = M.slippage_bps(fr["side"].to_numpy(float), fr["price"].to_numpy(float),
                                              fr["decision_mid"].to_numpy(float), fr["qty"].to_numpy(float))
    else:
        out["slippage_bps"] = float("nan")
    q = np.asarray(f["qty"], dtype=np.float64)
    for h in horizons_ns:
        a = adverse_selection(f, sim.ts, mid, int(h), float(inst.tick))
        out[f"adverse_{_label(int(h))}"] = _wavg(a, q)
    return out


def _label(ns: int) -> str:
    """``1_000_000_000 -> '1s'``, ``10_000_000 -> '10ms'``, ``10_000 -> '10us'``, ``0 -> '0'``."""
    for unit, div in (("s", NS), ("ms", 1_000_000), ("us", 1_000), ("ns", 1)):
        if ns and ns % div == 0:
            return f"{ns // div}{unit}"
    return "0"


def format_ns(ns: float) -> str:
    """Human-readable duration: ``'850 ns'``, ``'12.3 us'``, ``'4.1 ms'``, ``'1.2 s'``.

    Examples
    --------
    >>> format_ns(850), format_ns(12_300), format_ns(4.1e6), format_ns(1.2e9)
    ('850 ns', '12.3 us', '4.1 ms', '1.2 s')
    """
    if ns != ns:
        return "n/a"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if abs(ns) >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.0f} ns"


def latency_sweep(events: np.ndarray, book: np.ndarray, instrument: Instrument, strategy, *,
                  latencies_ns=LATENCY_GRID_NS, channels=("feed", "order"), execution=None,
                  horizons_ns=(NS, 10 * NS)) -> pd.DataFrame:
    """Run ``strategy`` once per (channel, latency) and collect :func:`run_summary`.

    Parameters
    ----------
    events, book, instrument
        The dataset (:func:`companion.data.load`).
    strategy
        A strategy of ``companion.backtest.strategies`` (e.g. ``ImbalanceScalper()``).
    latencies_ns : tuple[int, ...]
        One-way latencies ``L`` (ns), default :data:`LATENCY_GRID_NS`.
    channels : tuple[str, ...]
        Names of :data:`CHANNELS` (``"feed"``, ``"order"``, ``"all"``).
    execution : companion.backtest.ExecutionConfig or None
        Everything else (fees, queue, risk, seed, and the latencies of the channels not swept);
        default: that config with all latencies 0.
    horizons_ns : tuple[int, ...]
        Adverse-selection horizons (ns).

    Returns
    -------
    DataFrame, one row per (channel, latency): ``channel``, ``latency_ns``, ``latency_s``,
    ``feed_ns``, ``entry_ns``, ``response_ns`` and the columns of :func:`run_summary`. Runs with the
    same three latencies are computed once (at ``L = 0`` every channel is the same run).

    Examples
    --------
    >>> from companion import synth  # doctest: +SKIP
    >>> from companion.backtest import ImbalanceScalper  # doctest: +SKIP
    >>> cfg = synth.SynthConfig(session=(34200.0, 34320.0))  # doctest: +SKIP
    >>> d = synth.simulate(seed=1, levels=5, config=cfg)  # doctest: +SKIP
    >>> sw = latency_sweep(synth.to_events(d.messages), d.orderbook, synth.instrument(cfg, 5), ImbalanceScalper(),
    ...                    latencies_ns=(0, 10**6), channels=("order",))  # doctest: +SKIP
    >>> sw[["channel", "latency_s", "net_pnl", "fill_rate"]]  # doctest: +SKIP
      channel  latency_s  net_pnl  fill_rate
    0   order      0.000  -162.48        0.8
    1   order      0.001  -162.48        1.0
    """
    ex = execution if execution is not None else ExecutionConfig(feed_latency=0, entry_latency=0,
                                                                 response_latency=0)
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown channels {unknown}; choose from {list(CHANNELS)}")
    lats = [int(x) for x in latencies_ns]
    if any(x < 0 for x in lats):
        raise ValueError("latencies must be >= 0 ns")
    mid = _mid_ffill(book)
    cache: dict[tuple, dict] = {}
    rows = []
    for ch in channels:
        sw = CHANNELS[ch]
        for L in lats:
            lat = tuple(L if s else base for s, base in
                        zip(sw, (ex.feed_latency, ex.entry_latency, ex.response_latency)))
            key = tuple(repr(x) for x in lat)
            if key not in cache:
                cfg = ExecutionConfig(**{**ex.__dict__, "feed_latency": lat[0], "entry_latency": lat[1],
                                         "response_latency": lat[2]})
                res = run_backtest(events, book, instrument, strategy, execution=cfg)
                cache[key] = run_summary(res, horizons_ns, mid=mid)
            ns = [x if isinstance(x, (int, np.integer)) else getattr(x, "ns", np.nan) for x in lat]
            rows.append({"channel": ch, "latency_ns": L, "latency_s": L / NS, "feed_ns": ns[0],
                         "entry_ns": ns[1], "response_ns": ns[2], **cache[key]})
    return pd.DataFrame(rows)
