"""The standard performance figure of a backtest (units on every axis): one 2 x 3 page, or
two figures (the day over time, the trades) that stay legible in a text column."""
from __future__ import annotations

import numpy as np

from companion.backtest.metrics import drawdown
from companion.events import NS

#: the panels of :func:`performance_figure`, by group: ``"time"`` (the day as it unfolds),
#: ``"trades"`` (one point or bar per trade or hour), ``"all"`` (the 2 x 3 overview)
PANEL_GROUPS = {"time": ("cumulative", "drawdown"),
                "trades": ("trade_pnl", "holding", "signal", "by_hour"),
                "all": ("cumulative", "trade_pnl", "holding", "signal", "by_hour", "drawdown")}


def performance_figure(result, currency: str = "$", panels: str = "all"):
    """Cumulative P&L | trade P&L histogram | holding time vs P&L
    signal strength vs P&L | P&L by hour of entry | drawdown.

    ``result``: a :class:`companion.backtest.engine.BacktestResult`. Money in currency
    (``currency`` labels it), times in hours since midnight of the data's time base.
    ``panels``: a key of :data:`PANEL_GROUPS`: ``"all"`` draws the six panels as one 2 x 3
    figure (a report page); ``"time"`` (cumulative P&L and drawdown, 1 x 2) and ``"trades"`` (the
    four per-trade panels, 2 x 2) split it into two figures that stay legible in a book's text
    column. Returns a matplotlib ``Figure`` (not shown).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from types import SimpleNamespace
    >>> from companion.events import Instrument
    >>> H = 3600 * 10**9
    >>> trades = pd.DataFrame({"entry_ts": [10 * H, 11 * H], "exit_ts": [10 * H + 6 * 10**10, 11 * H + 6 * 10**10],
    ...                        "gross": [2.0, -1.0], "pnl_mid": [2.5, -0.5], "net": [1.5, -1.5],
    ...                        "holding_s": [60.0, 60.0], "signal": [0.4, -0.6]})
    >>> res = SimpleNamespace(trades=trades, equity=lambda: pd.Series([0.0, 1.5, 0.0], index=[9 * H, 10 * H, 11 * H]),
    ...                       strategy="demo", instrument=Instrument(symbol="X", tick=100, price_scale=10000, date="2012-06-21"))
    >>> fig = performance_figure(res)              # in practice: performance_figure(run_backtest(...))
    >>> [a.get_ylabel() for a in fig.axes[:3]]
    ['P&L ($)', 'trades (count)', 'P&L per trade ($)']
    >>> [a.get_title() for a in performance_figure(res, panels="time").axes]
    ['Cumulative P&L', 'Drawdown']
    >>> import matplotlib.pyplot as plt
    >>> plt.close("all")
    """
    import matplotlib.pyplot as plt

    if panels not in PANEL_GROUPS:
        raise ValueError(f"panels must be one of {sorted(PANEL_GROUPS)}, got {panels!r}")
    names = PANEL_GROUPS[panels]
    t = result.trades
    eq = result.equity()
    shape, size = {"all": ((2, 3), (14, 7.5)), "time": ((1, 2), (10, 4)), "trades": ((2, 2), (10, 7.5))}[panels]
    fig, axs = plt.subplots(*shape, figsize=size, constrained_layout=True)
    ax = dict(zip(names, axs.ravel()))
    hrs = eq.index.to_numpy() / NS / 3600.0
    net = t["net"].to_numpy(float) if len(t) else np.array([])
    if "cumulative" in ax:
        _cumulative(ax["cumulative"], t, eq, hrs, currency)
    if "trade_pnl" in ax:
        a = ax["trade_pnl"]
        a.hist(net, bins=min(50, max(5, len(net) // 5 + 1)), color="C0")
        a.axvline(0, color="k", lw=0.8)
        a.set(title="Trade P&L (net)", xlabel=f"P&L per trade ({currency})", ylabel="trades (count)")
    if "holding" in ax:
        a = ax["holding"]
        if len(t):
            a.scatter(t["holding_s"], net, s=6, c=np.where(net > 0, "C2", "C3"))
        a.axhline(0, color="k", lw=0.8)
        a.set(title="Holding time vs P&L", xlabel="holding time (s)", ylabel=f"P&L per trade ({currency})")
    if "signal" in ax:
        a = ax["signal"]
        if len(t):
            a.scatter(np.abs(t["signal"]), net, s=6, c=np.where(net > 0, "C2", "C3"))
        a.axhline(0, color="k", lw=0.8)
        a.set(title="Signal strength at entry vs P&L", xlabel="|signal| at entry (dimensionless)",
              ylabel=f"P&L per trade ({currency})")
    if "by_hour" in ax:
        a = ax["by_hour"]
        if len(t):
            hour = (t["entry_ts"].to_numpy() // (3600 * NS)).astype(int)
            hs = np.unique(hour)
            by = np.array([net[hour == h].sum() for h in hs])
            a.bar(hs, by, color=np.where(by > 0, "C2", "C3"), width=0.8)
        a.axhline(0, color="k", lw=0.8)
        a.set(title="P&L by hour of entry", xlabel="hour of day (h)", ylabel=f"net P&L ({currency})")
    if "drawdown" in ax:
        a = ax["drawdown"]
        dd = drawdown(eq.to_numpy())
        a.fill_between(hrs, -dd, 0, color="C3", alpha=0.4, lw=0)
        a.set(title="Drawdown", xlabel="time (hours since midnight)", ylabel=f"drawdown ({currency})")
    fig.suptitle(f"{result.strategy} on {result.instrument.symbol} {result.instrument.date}")
    return fig


def _cumulative(a, t, eq, hrs, currency):
    """The cumulative P&L panel: net equity, gross and at-decision-mid steps; the legend goes
    below the axes (never over the lines, wherever the day's P&L goes)."""
    a.plot(hrs, eq.to_numpy(), lw=1, label="net (mark-to-mid equity)")
    if len(t):
        ex = t["exit_ts"].to_numpy() / NS / 3600.0
        a.step(ex, np.cumsum(t["gross"].to_numpy()), where="post", lw=1, label="gross (before fees)")
        a.step(ex, np.cumsum(t["pnl_mid"].to_numpy()), where="post", lw=1, ls="--",
               label="at decision mids")
    a.set(title="Cumulative P&L", xlabel="time (hours since midnight)", ylabel=f"P&L ({currency})")
    a.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False)
