"""Performance metrics, each a small function of arrays with its formula.

Notation: ``x_1..x_n`` per-trade (or per-bar) P&L, ``E_t`` an equity curve, ``mean`` and ``std``
(sample, ``ddof = 1``). Empty inputs give NaN (counts give 0). Money is in whatever unit the
inputs are (the backtest passes currency). References: Bacon, *Practical Portfolio Performance
Measurement and Attribution* (2008) for Sharpe / Sortino / drawdown; Jorion, *Value at Risk*
(2006) for historical VaR; Grinold & Kahn, *Active Portfolio Management* (2000) for the IC.
"""
from __future__ import annotations

import numpy as np

from companion.stats import spearman_ic

__all__ = ["total_pnl", "average_pnl", "win_rate", "profit_factor", "sharpe_ratio", "sortino_ratio",
           "max_drawdown", "drawdown", "value_at_risk", "average_holding_time", "slippage_bps",
           "fill_rate", "signal_accuracy", "information_coefficient", "losing_days", "bar_pnl"]


def _a(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    return a[~np.isnan(a)]


def total_pnl(pnl) -> float:
    """``sum_i x_i`` (0 for no trades).

    Examples
    --------
    >>> total_pnl([10.0, -5.0, 20.0])
    25.0
    """
    return float(np.sum(_a(pnl)))


def average_pnl(pnl) -> float:
    """``(1/n) sum_i x_i``.

    Examples
    --------
    >>> average_pnl([10.0, -5.0, 20.0])
    8.333333333333334
    """
    a = _a(pnl)
    return float(a.mean()) if a.size else float("nan")


def win_rate(pnl) -> float:
    """``#{x_i > 0} / n`` (a zero P&L trade is not a win).

    Examples
    --------
    >>> win_rate([10.0, -5.0, 0.0, 20.0])
    0.5
    """
    a = _a(pnl)
    return float(np.mean(a > 0)) if a.size else float("nan")


def profit_factor(pnl) -> float:
    """``sum_{x_i > 0} x_i / |sum_{x_i < 0} x_i|`` (inf with wins and no losses, NaN with neither).

    Examples
    --------
    >>> profit_factor([10.0, -5.0, 20.0, -10.0])
    2.0
    """
    a = _a(pnl)
    win, loss = a[a > 0].sum(), -a[a < 0].sum()
    if loss > 0:
        return float(win / loss)
    return float("inf") if win > 0 else float("nan")


def sharpe_ratio(x, periods_per_year: float = 1.0) -> float:
    """``mean(x) / std(x) x sqrt(periods_per_year)`` (ddof 1, zero risk-free rate: intraday).
    With ``periods_per_year = 1`` it is the per-period (e.g. per-trade) Sharpe.

    Examples
    --------
    >>> round(sharpe_ratio([1.0, -1.0, 2.0, 0.0]), 4)
    0.3873
    """
    return _reward_to_risk(x, lambda a: a.std(ddof=1), periods_per_year)


def sortino_ratio(x, periods_per_year: float = 1.0) -> float:
    """``mean(x) / DD x sqrt(periods_per_year)``, downside deviation
    ``DD = sqrt((1/n) sum_i min(x_i, 0)^2)`` (target 0; Sortino & Price 1994). NaN when DD = 0.

    Examples
    --------
    >>> round(sortino_ratio([1.0, -1.0, 2.0, 0.0]), 4)
    1.0
    """
    return _reward_to_risk(x, lambda a: np.sqrt(np.mean(np.minimum(a, 0.0) ** 2)), periods_per_year)


def _reward_to_risk(x, risk, periods_per_year: float) -> float:
    """``mean(x) / risk(x) x sqrt(periods_per_year)`` (Sharpe, Sortino); NaN with fewer than two
    values or ``risk(x) = 0``."""
    a = _a(x)
    if a.size < 2:
        return float("nan")
    r = risk(a)
    return float(a.mean() / r * np.sqrt(periods_per_year)) if r > 0 else float("nan")


def drawdown(equity, start: float | None = 0.0) -> np.ndarray:
    """``D_t = max_{s <= t} E_s - E_t >= 0``; the running peak starts at ``start`` (the initial
    capital, 0 for a P&L curve; None: at ``E_0``).

    Examples
    --------
    >>> drawdown([0.0, 10.0, 4.0, 12.0, 7.0]).tolist()
    [0.0, 0.0, 6.0, 0.0, 5.0]
    """
    e = np.asarray(equity, dtype=np.float64)
    if e.size == 0:
        return e
    peak = np.maximum.accumulate(e)
    if start is not None:
        peak = np.maximum(peak, start)
    return peak - e


def max_drawdown(equity, start: float | None = 0.0) -> float:
    """``max_t D_t`` (money, >= 0), see :func:`drawdown`. For a trade list pass its cumulative sum.

    Examples
    --------
    >>> max_drawdown([0.0, 10.0, 4.0, 12.0, 7.0])
    6.0
    """
    d = drawdown(equity, start)
    return float(d.max()) if d.size else float("nan")


def value_at_risk(pnl, level: float = 0.95) -> float:
    """Historical VaR: ``-Q_{1-level}(x)`` with ``Q`` the empirical quantile (linear
    interpolation between order statistics, numpy's default); a loss is positive.

    Examples
    --------
    >>> value_at_risk([-10.0, -5.0, 0.0, 5.0, 10.0], level=0.75)
    5.0
    """
    a = _a(pnl)
    return float(-np.quantile(a, 1.0 - level)) if a.size else float("nan")


def average_holding_time(holding) -> float:
    """``(1/n) sum_i (t^exit_i - t^entry_i)`` in the unit given (the backtest: seconds).

    Examples
    --------
    >>> average_holding_time([1.5, 2.5, 5.0])
    3.0
    """
    return average_pnl(holding)


def slippage_bps(side, price, decision_mid, qty) -> float:
    """Quantity-weighted slippage against the mid at decision, in bps (positive = cost):
    ``sum_i q_i s_i (p_i - m_i) / m_i x 1e4 / sum_i q_i``, ``s`` = +1 buy / -1 sell. It holds the
    half spread a taker crosses, the walk beyond the best, and the move during the latency.

    Examples
    --------
    >>> round(slippage_bps([1, -1], [100.05, 99.9], [100.0, 100.0], [100, 300]), 4)
    8.75
    """
    s, p, m, q = (np.asarray(v, dtype=np.float64) for v in (side, price, decision_mid, qty))
    ok = ~(np.isnan(p) | np.isnan(m) | np.isnan(q)) & (m != 0)
    if not ok.any() or q[ok].sum() <= 0:
        return float("nan")
    return float(np.sum(q[ok] * s[ok] * (p[ok] - m[ok]) / m[ok]) * 1e4 / q[ok].sum())


def fill_rate(filled, submitted) -> float:
    """``sum filled quantity / sum submitted quantity`` over the strategy's own orders.

    Examples
    --------
    >>> fill_rate([100, 0, 50], [100, 100, 100])
    0.5
    """
    f, s = np.asarray(filled, dtype=np.float64), np.asarray(submitted, dtype=np.float64)
    return float(f.sum() / s.sum()) if s.sum() > 0 else float("nan")


def signal_accuracy(direction, move) -> float:
    """``#{sign(d_i) = sign(r_i)} / #{d_i != 0, r_i != 0}``: share of calls whose direction the
    realised move ``r`` (e.g. the mid move over the trade) confirmed; flat moves are skipped.

    Examples
    --------
    >>> signal_accuracy([1, -1, 1, 1], [0.5, 0.2, -0.1, 0.0])
    0.3333333333333333
    """
    d, r = np.asarray(direction, dtype=np.float64), np.asarray(move, dtype=np.float64)
    ok = ~(np.isnan(d) | np.isnan(r)) & (d != 0) & (r != 0)
    return float(np.mean(np.sign(d[ok]) == np.sign(r[ok]))) if ok.any() else float("nan")


def information_coefficient(signal, realised) -> float:
    """Spearman rank correlation of the signal value and the realised return (Grinold & Kahn):
    ``corr(rank(signal), rank(realised))`` with mid-ranks for ties; NaN under 3 pairs.

    Examples
    --------
    >>> information_coefficient([0.1, 0.4, 0.2, 0.9], [1.0, 3.0, 2.0, 4.0])
    1.0
    """
    return spearman_ic(signal, realised)


def losing_days(daily_pnl) -> int:
    """``#{days with P&L < 0}``.

    Examples
    --------
    >>> losing_days([120.0, -30.0, 0.0, -5.0])
    2
    """
    return int(np.sum(_a(daily_pnl) < 0))


def bar_pnl(ts, equity, bar_ns: int, t0: int, t1: int) -> np.ndarray:
    """Equity changes over consecutive clock bars ``[t0 + j b, t0 + (j+1) b)``: ``E`` at each bar
    end is the equity after the last event at or before it (0 before the first event).

    Examples
    --------
    >>> import numpy as np
    >>> bar_pnl(np.array([5, 15, 25]), np.array([1.0, 3.0, 2.0]), bar_ns=10, t0=0, t1=30).tolist()
    [1.0, 2.0, -1.0]
    """
    ts = np.asarray(ts, dtype=np.int64)
    e = np.asarray(equity, dtype=np.float64)
    ends = np.arange(t0 + bar_ns, t1 + bar_ns, bar_ns, dtype=np.int64)
    j = np.searchsorted(ts, ends, side="right") - 1
    eb = np.where(j >= 0, e[np.maximum(j, 0)], 0.0)
    return np.diff(np.concatenate([[0.0], eb]))
