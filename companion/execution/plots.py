"""Figures for the execution algorithms of chapter 08: schedules against fills, the shortfall split,
paired differences.

Helpers draw on a given ``matplotlib`` axis and return it (no ``plt.show``, no global state). The
numbers come from :func:`companion.execution.execute` / :func:`~companion.execution.run_many` and
:mod:`companion.execution.measures`; times on x-axes are minutes since the parent's start.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from companion.events import NS
from companion.plotting import legend_outside

__all__ = ["IS_PARTS", "schedule_plot", "shortfall_bars", "paired_differences"]

#: the implementation-shortfall components of :func:`companion.execution.shortfall`, in plot order
IS_PARTS = {"spread_bps": "spread", "impact_bps": "impact", "timing_bps": "timing",
            "opportunity_bps": "opportunity", "fees_bps": "fees"}


def schedule_plot(ax, result, color=None, label: str | None = None):
    """Cumulative target (dashed step) and cumulative filled quantity (solid) of one
    :class:`~companion.execution.ExecutionResult`, as shares of the parent quantity.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from companion.execution import ChildSchedule, ExecutionResult, ParentOrder
    >>> p = ParentOrder(side=1, qty=100, start_ns=0, end_ns=600 * 10**9)
    >>> r = ExecutionResult(p, ChildSchedule(np.array([0, 300 * 10**9]), np.array([50.0, 100.0])),
    ...                     pd.DataFrame({"ts": [10 * 10**9, 320 * 10**9], "qty": [50.0, 40.0]}), {}, name="TWAP")
    >>> ax = schedule_plot(Figure().subplots(), r)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ("time since the parent's start (min)", 'cumulative share of the parent (fraction)')
    """
    p = result.parent
    name = label or result.name
    t0 = p.start_ns
    st = result.schedule
    tt = np.concatenate([[t0], st.times, [p.end_ns]])
    cq = np.concatenate([[0.0], st.cum_qty, [st.cum_qty[-1]]]) / p.qty
    line, = ax.step((tt - t0) / NS / 60, cq, where="post", ls="--", lw=1, color=color)
    f = result.fills.sort_values("ts", kind="stable")
    ft = np.concatenate([[t0], f["ts"].to_numpy()])
    fq = np.concatenate([[0.0], np.cumsum(f["qty"].to_numpy())]) / p.qty
    ax.step((ft - t0) / NS / 60, fq, where="post", lw=1.5, color=line.get_color(), label=name)
    ax.set(xlabel="time since the parent's start (min)", ylabel="cumulative share of the parent (fraction)")
    return ax


def shortfall_bars(ax, table: pd.DataFrame, total: str = "is_bps"):
    """Stacked bars of the mean shortfall components per algorithm (rows of ``table``, columns of
    :data:`IS_PARTS`, bps; negative parts stack below zero) and the mean total as a marker.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> t = pd.DataFrame({"spread_bps": [1.0, 2.0], "impact_bps": [0.5, -0.2], "is_bps": [1.5, 1.8]}, index=["TWAP", "POV"])
    >>> ax = shortfall_bars(Figure().subplots(), t)
    >>> ax.get_ylabel(), len(ax.patches)
    ('mean cost (bps of the arrival value)', 4)
    """
    parts = [c for c in IS_PARTS if c in table.columns]
    x = np.arange(len(table))
    pos = np.zeros(len(table))
    neg = np.zeros(len(table))
    for k, c in enumerate(parts):
        v = table[c].to_numpy(dtype=float)
        base = np.where(v >= 0, pos, neg)
        ax.bar(x, v, bottom=base, width=0.6, color=f"C{k}", label=IS_PARTS[c])
        pos += np.where(v >= 0, v, 0)
        neg += np.where(v < 0, v, 0)
    if total in table.columns:
        ax.plot(x, table[total].to_numpy(dtype=float), "kD", ms=6, label="shortfall (total)")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, table.index)
    ax.set(xlabel="algorithm", ylabel="mean cost (bps of the arrival value)")
    legend_outside(ax, "right", fontsize=8)
    return ax


def paired_differences(ax, diffs: dict[str, Sequence[float]], baseline: str):
    """Per-parent differences ``algo - baseline`` (bps) as dots, with the mean and a 95% interval
    (``mean +- 1.96 s.e.``) per algorithm; below zero = cheaper than the baseline.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = paired_differences(Figure().subplots(), {"POV": [0.5, -1.0, 0.2], "VWAP": [-0.3, -0.1, 0.4]}, "TWAP")
    >>> ax.get_ylabel(), [t.get_text() for t in ax.get_xticklabels()]
    ('shortfall minus TWAP (bps)', ['POV', 'VWAP'])
    """
    for k, (_name, d) in enumerate(diffs.items()):
        d = np.asarray(d, dtype=float)
        d = d[np.isfinite(d)]
        jitter = np.linspace(-0.15, 0.15, d.size) if d.size > 1 else np.zeros(d.size)
        ax.plot(k + jitter, d, "o", color=f"C{k}", alpha=0.5, ms=4)
        if d.size > 1:
            m, se = d.mean(), d.std(ddof=1) / np.sqrt(d.size)
            ax.errorbar(k + 0.3, m, yerr=1.96 * se, fmt="s", color="k", capsize=4)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(diffs)), list(diffs))
    ax.set(xlabel="algorithm", ylabel=f"shortfall minus {baseline} (bps)")
    return ax
