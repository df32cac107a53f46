"""Trade-sign classification: tick rule, quote rule, Lee-Ready (1991), bulk volume classification
(BVC), scored against LOBSTER's true aggressor side.

Rules (sign +1 = buyer-initiated, -1 = seller-initiated, 0 = unclassified):

* **tick rule**: +1 if the trade price is above the previous trade price, -1 if below, the
  previous trade's sign on a zero tick (zero-uptick / zero-downtick); the first trade is 0.
* **quote rule**: +1 above the prevailing mid, -1 below, 0 at the mid. The prevailing quote is the
  book just BEFORE the execution (row i-1 when the execution is event i); LOBSTER's clock is the
  exchange's, so Lee & Ready's 5-second quote lag is not needed.
* **Lee-Ready** (Lee & Ready 1991, J. Finance 46(2)): quote rule, tick rule for trades at the mid.
* **BVC** (Easley, Lopez de Prado & O'Hara 2012): per bar, a fraction ``Z(dP / sigma_dP)`` of the
  bar's volume is buyer-initiated, ``Z`` the standard normal CDF (or Student-t with ``df``),
  ``dP`` the change of the last trade price from the previous non-empty bar, ``sigma_dP`` the std of
  the bars' ``dP``. BVC classifies volume in bulk, so it is scored by volume at the bar level:
  ``accuracy = 1 - sum_bars |V^B_est - V^B_true| / sum V`` (Andersen & Bondarenko 2014; Chakrabarty,
  Pascual & Shkilko 2015). The trade-level rules are scored the same way for comparison.

Ground truth: LOBSTER executions (type 4 visible, 5 hidden) carry the side of the RESTING order,
so the aggressor side is ``-direction`` (an executed sell limit order is a buyer-initiated trade).
Accuracy by count is the share of trades whose sign is right (unclassified counts as wrong); by
volume, the share of shares. Random guessing scores 0.5.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit
from scipy import stats

from companion.events import EXEC_HIDDEN, EXEC_VISIBLE

__all__ = [
    "tick_rule_nb", "quote_rule_nb", "lee_ready_nb", "bar_ids_nb",
    "executions", "signed_volume_events", "tick_rule", "quote_rule", "lee_ready",
    "bvc_buy_fraction", "bvc_bars", "accuracy", "bulk_accuracy", "classify_trades", "score_trade_signs",
]


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def tick_rule_nb(price: np.ndarray) -> np.ndarray:
    """Tick-rule signs (int8) of a trade-price sequence; zero ticks carry the previous sign; first = 0."""
    n = price.shape[0]
    out = np.zeros(n, dtype=np.int8)
    s = 0
    for i in range(1, n):
        if price[i] > price[i - 1]:
            s = 1
        elif price[i] < price[i - 1]:
            s = -1
        out[i] = s
    return out


@njit(cache=True)
def quote_rule_nb(price: np.ndarray, mid: np.ndarray) -> np.ndarray:
    """Quote-rule signs (int8): +1 above ``mid``, -1 below, 0 at the mid or when ``mid`` is NaN."""
    n = price.shape[0]
    out = np.zeros(n, dtype=np.int8)
    for i in range(n):
        if price[i] > mid[i]:
            out[i] = 1
        elif price[i] < mid[i]:
            out[i] = -1
    return out


@njit(cache=True)
def lee_ready_nb(price: np.ndarray, mid: np.ndarray) -> np.ndarray:
    """Lee-Ready signs (int8): the quote rule, and the tick rule where the quote rule gives 0."""
    q = quote_rule_nb(price, mid)
    t = tick_rule_nb(price)
    for i in range(price.shape[0]):
        if q[i] == 0:
            q[i] = t[i]
    return q


@njit(cache=True)
def bar_ids_nb(ts: np.ndarray, t0: int, dt: int) -> np.ndarray:
    """Clock-bar id of each timestamp: bar k covers ``(t0 + k dt, t0 + (k+1) dt]`` (a time <= t0 is bar 0)."""
    n = ts.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        d = ts[i] - t0
        out[i] = (d - 1) // dt if d > 0 else 0
    return out


# --------------------------------------------------------------------------------------------
# user layer
# --------------------------------------------------------------------------------------------
def executions(events: np.ndarray, book: np.ndarray | None = None, hidden: bool = True) -> pd.DataFrame:
    """Trades of a LOBSTER event array with their true aggressor side and the prevailing quote.

    Columns: ``row`` (event index), ``ts`` (ns), ``price`` (price units), ``size``, ``aggressor``
    (+1 buyer-initiated = ``-direction``), ``hidden`` (type 5), and with ``book``: ``mid_before``
    (mid of book row ``row - 1``, i.e. just before the execution; NaN if a side is empty).
    """
    kind = events["kind"]
    mask = kind == EXEC_VISIBLE
    if hidden:
        mask |= kind == EXEC_HIDDEN
    rows = np.flatnonzero(mask)
    df = pd.DataFrame({
        "row": rows, "ts": events["ts"][rows], "price": events["price"][rows].astype(np.float64),
        "size": events["size"][rows], "aggressor": (-events["side"][rows]).astype(np.int8),
        "hidden": kind[rows] == EXEC_HIDDEN,
    })
    if book is not None:
        from companion.flow.ofi import mid_nb

        mid = mid_nb(np.ascontiguousarray(book, dtype=np.float64))
        df["mid_before"] = mid[np.maximum(rows - 1, 0)]
    return df


def signed_volume_events(events: np.ndarray, hidden: bool = True) -> np.ndarray:
    """Per-event signed traded volume (aggressor x size; 0 for non-executions), aligned with book rows."""
    kind = events["kind"]
    mask = kind == EXEC_VISIBLE
    if hidden:
        mask |= kind == EXEC_HIDDEN
    return np.where(mask, -events["side"].astype(np.float64) * events["size"], 0.0)


def tick_rule(price) -> np.ndarray:
    """Tick-rule signs (see module doc)."""
    return tick_rule_nb(np.ascontiguousarray(price, dtype=np.float64))


def quote_rule(price, mid) -> np.ndarray:
    """Quote-rule signs against the prevailing ``mid`` (see module doc)."""
    return quote_rule_nb(np.ascontiguousarray(price, dtype=np.float64), np.ascontiguousarray(mid, dtype=np.float64))


def lee_ready(price, mid) -> np.ndarray:
    """Lee-Ready (1991) signs (see module doc)."""
    return lee_ready_nb(np.ascontiguousarray(price, dtype=np.float64), np.ascontiguousarray(mid, dtype=np.float64))


def bvc_buy_fraction(dp, sigma: float, df: float | None = None) -> np.ndarray:
    """BVC buy share ``Z(dp / sigma)``: standard normal CDF, or Student-t CDF with ``df`` degrees of freedom."""
    z = np.asarray(dp, dtype=np.float64) / sigma
    return stats.norm.cdf(z) if df is None else stats.t.cdf(z, df)


def bvc_bars(ts, price, size, freq="1min", t0: int | None = None, df: float | None = None) -> pd.DataFrame:
    """Bulk volume classification on clock bars (Easley, Lopez de Prado & O'Hara 2012).

    Non-empty bars only. Columns: ``bar`` (id from ``t0``), ``volume``, ``price`` (last trade price),
    ``dp`` (change from the previous non-empty bar; the first bar 0), ``buy_frac`` = Z(dp / sigma),
    ``buy_volume``; ``sigma`` (std of ``dp`` over the bars, ddof=1) is stored in ``attrs``.
    """
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    dt = int(pd.Timedelta(freq).value)
    if t0 is None:
        t0 = int(ts[0]) // dt * dt
    bar = bar_ids_nb(ts, int(t0), dt)
    g = pd.DataFrame({"bar": bar, "price": np.asarray(price, dtype=np.float64), "size": np.asarray(size, dtype=np.float64)})
    agg = g.groupby("bar", sort=True).agg(volume=("size", "sum"), price=("price", "last")).reset_index()
    agg["dp"] = agg["price"].diff().fillna(0.0)
    sigma = float(agg["dp"].std(ddof=1)) if len(agg) > 1 else float("nan")
    if not np.isfinite(sigma) or sigma <= 0:
        agg["buy_frac"] = 0.5
    else:
        agg["buy_frac"] = bvc_buy_fraction(agg["dp"].to_numpy(), sigma, df)
    agg["buy_volume"] = agg["buy_frac"] * agg["volume"]
    agg.attrs["sigma"] = sigma
    agg.attrs["t0"] = int(t0)
    agg.attrs["dt"] = dt
    return agg


def accuracy(est, true, size=None) -> tuple[float, float]:
    """(accuracy by count, accuracy by volume) of estimated signs ``est`` vs ``true`` (0 counts as wrong)."""
    est = np.asarray(est)
    true = np.asarray(true)
    ok = est == true
    by_count = float(ok.mean()) if ok.size else float("nan")
    if size is None:
        return by_count, float("nan")
    size = np.asarray(size, dtype=np.float64)
    return by_count, float(size[ok].sum() / size.sum()) if size.sum() > 0 else float("nan")


def bulk_accuracy(bar, size, true_sign, est_buy_volume_per_trade) -> float:
    """Bar-level volume accuracy ``1 - sum_bars |V^B_est - V^B_true| / sum V``.

    ``est_buy_volume_per_trade``: each trade's estimated buyer-initiated volume (a trade-level rule
    gives ``size * (sign == +1)``, plus half the size when unclassified).
    """
    size = np.asarray(size, dtype=np.float64)
    true_buy = np.where(np.asarray(true_sign) > 0, size, 0.0)
    g = pd.DataFrame({"bar": bar, "t": true_buy, "e": est_buy_volume_per_trade, "v": size}).groupby("bar").sum()
    return float(1.0 - np.abs(g["e"] - g["t"]).sum() / g["v"].sum())


def classify_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """Add ``tick``, ``quote``, ``lee_ready`` sign columns to :func:`executions` output (needs ``mid_before``)."""
    out = trades.copy()
    p = out["price"].to_numpy(np.float64)
    m = out["mid_before"].to_numpy(np.float64)
    out["tick"] = tick_rule(p)
    out["quote"] = quote_rule(p, m)
    out["lee_ready"] = lee_ready(p, m)
    return out


def score_trade_signs(events: np.ndarray, book: np.ndarray, bvc_freq="1min", t0: int | None = None,
                      hidden: bool = True, df: float | None = None) -> pd.DataFrame:
    """Accuracy of tick, quote, Lee-Ready and BVC against LOBSTER's true aggressor side.

    One row per method; columns ``accuracy_count``, ``accuracy_volume`` (trade level; NaN for BVC),
    ``bulk_accuracy_volume`` (bar level at ``bvc_freq``), ``coverage`` (share of trades classified,
    i.e. sign != 0), ``n_trades``. ``hidden=False`` scores visible executions (type 4) only.
    """
    tr = classify_trades(executions(events, book, hidden=hidden))
    if len(tr) == 0:
        raise ValueError("no executions (LOBSTER types 4/5) in the events")
    bars = bvc_bars(tr["ts"], tr["price"], tr["size"], freq=bvc_freq, t0=t0, df=df)
    bar = bar_ids_nb(tr["ts"].to_numpy(np.int64), bars.attrs["t0"], bars.attrs["dt"])
    size = tr["size"].to_numpy(np.float64)
    true = tr["aggressor"].to_numpy()
    rows = {}
    for name in ("tick", "quote", "lee_ready"):
        s = tr[name].to_numpy()
        c, v = accuracy(s, true, size)
        est_buy = np.where(s > 0, size, np.where(s == 0, 0.5 * size, 0.0))
        rows[name] = {"accuracy_count": c, "accuracy_volume": v, "bulk_accuracy_volume": bulk_accuracy(bar, size, true, est_buy),
                      "coverage": float((s != 0).mean()), "n_trades": int(len(s))}
    frac = pd.Series(bars["buy_frac"].to_numpy(), index=bars["bar"].to_numpy())
    est_buy = frac.reindex(bar).to_numpy() * size
    rows["bvc"] = {"accuracy_count": float("nan"), "accuracy_volume": float("nan"),
                   "bulk_accuracy_volume": bulk_accuracy(bar, size, true, est_buy), "coverage": 1.0, "n_trades": int(len(size))}
    out = pd.DataFrame(rows).T
    out.index.name = "method"
    out["n_trades"] = out["n_trades"].astype(int)
    return out
