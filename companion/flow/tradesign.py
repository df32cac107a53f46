r"""Trade-sign classification: tick rule, quote rule, Lee-Ready (1991), bulk volume classification
(BVC), scored against LOBSTER's true aggressor side.

Rules (sign +1 = buyer-initiated, -1 = seller-initiated, 0 = unclassified):

* **tick rule**: +1 if the trade price is above the previous trade price, -1 if below, the
  previous trade's sign on a zero tick (zero-uptick / zero-downtick); the first trade is 0.
* **quote rule**: +1 above the prevailing mid, -1 below, 0 at the mid. The prevailing quote is the
  book just BEFORE the execution (row i-1 when the execution is event i); LOBSTER's clock is the
  exchange's, so Lee & Ready's 5-second quote lag is not needed.
* **Lee-Ready** (Lee & Ready 1991, J. Finance 46(2)): quote rule, tick rule for trades at the mid.
* **BVC** (Easley, Lopez de Prado & O'Hara 2012): per bar, a fraction
  :math:`Z(\Delta P / \sigma_{\Delta P})` of the bar's volume is buyer-initiated, :math:`Z` the
  standard normal CDF (or Student-t with ``df``), :math:`\Delta P` the change of the last trade
  price from the previous non-empty bar, :math:`\sigma_{\Delta P}` the std of the bars'
  :math:`\Delta P`. BVC classifies volume in bulk, so it is scored by volume at the bar level:
  :math:`\text{accuracy} = 1 - \sum_{\text{bars}} |V^B_{est} - V^B_{true}| / \sum V` (Andersen &
  Bondarenko 2014; Chakrabarty, Pascual & Shkilko 2015). The trade-level rules are scored the same
  way for comparison.

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

from companion.book.kernels import trades_nb
from companion.events import EXEC_HIDDEN

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
    r"""Tick-rule signs of a trade-price sequence.

    :math:`s_j = \operatorname{sign}(p_j - p_{j-1})`, and :math:`s_j = s_{j-1}` on a zero tick;
    :math:`s_0 = 0` (Lee & Ready 1991).

    Parameters
    ----------
    price : numpy.ndarray
        float64 trade prices (any unit).

    Returns
    -------
    numpy.ndarray
        int8 signs.

    Examples
    --------
    >>> import numpy as np
    >>> tick_rule_nb(np.array([10., 11, 11, 9])).tolist()
    [0, 1, 1, -1]
    """
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
    r"""Quote-rule signs :math:`s_j = \operatorname{sign}(p_j - m_j)` against the prevailing mid.

    Parameters
    ----------
    price, mid : numpy.ndarray
        float64 trade price and prevailing mid (same unit).

    Returns
    -------
    numpy.ndarray
        int8: +1 above ``mid``, -1 below, 0 at the mid or when ``mid`` is NaN.
    """
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
    """Lee-Ready signs (Lee & Ready 1991) over the arrays of :func:`quote_rule_nb`: its sign, and
    the tick rule's (:func:`tick_rule_nb`) where it gives 0; int8."""
    q = quote_rule_nb(price, mid)
    t = tick_rule_nb(price)
    for i in range(price.shape[0]):
        if q[i] == 0:
            q[i] = t[i]
    return q


@njit(cache=True)
def bar_ids_nb(ts: np.ndarray, t0: int, dt: int) -> np.ndarray:
    r"""Clock-bar id of each timestamp: bar :math:`k` covers :math:`(t_0 + k\,\Delta t, t_0 + (k+1)\,\Delta t]`.

    Parameters
    ----------
    ts : numpy.ndarray
        int64 ns.
    t0 : int
        Start (ns); a time at or before ``t0`` is bar 0.
    dt : int
        Bar width (ns).

    Returns
    -------
    numpy.ndarray
        int64 bar ids.

    Examples
    --------
    >>> import numpy as np
    >>> bar_ids_nb(np.array([0, 10, 11, 25]), 0, 10).tolist()
    [0, 0, 1, 2]
    """
    n = ts.shape[0]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        d = ts[i] - t0
        out[i] = (d - 1) // dt if d > 0 else 0
    return out


# --------------------------------------------------------------------------------------------
# user layer
# --------------------------------------------------------------------------------------------
def _trade_rows(events: np.ndarray, hidden: bool) -> tuple[np.ndarray, np.ndarray]:
    """Event indices of trades and their aggressor side: the one rule of
    :func:`companion.book.kernels.trades_nb` (LOBSTER executions ``-direction``, TRADE events their
    own side), optionally without hidden executions."""
    rows, aggressor = trades_nb(events["kind"], events["side"])
    if not hidden:
        keep = events["kind"][rows] != EXEC_HIDDEN
        rows, aggressor = rows[keep], aggressor[keep]
    return rows, aggressor


def executions(events: np.ndarray, book: np.ndarray | None = None, hidden: bool = True) -> pd.DataFrame:
    r"""Trades of a LOBSTER event array with their true aggressor side and the prevailing quote.

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array (LOBSTER messages; Binance TRADE events count
        too, with their own aggressor side).
    book : numpy.ndarray, optional
        float64 ``(n, 4L)`` snapshots aligned with ``events``.
    hidden : bool
        Include hidden executions (type 5).

    Returns
    -------
    pandas.DataFrame
        ``row`` (event index), ``ts`` (ns), ``price`` (price units), ``size``, ``aggressor`` (+1
        buyer-initiated :math:`= -\text{direction}`), ``hidden`` (type 5), and with ``book``:
        ``mid_before`` (mid of book row ``row - 1``, just before the execution; NaN if a side is
        empty).

    References
    ----------
    LOBSTER ReadMe (Huang & Polak 2011): executions carry the resting order's direction.

    Examples
    --------
    An ask is added at 101, a buyer lifts 2 of it, then a hidden buy order (direction +1) is hit
    at 100 by a seller:

    >>> from companion.events import ADD, EVENT_DTYPE, EXEC_VISIBLE
    >>> ev = np.zeros(3, EVENT_DTYPE)
    >>> ev["ts"], ev["kind"] = [0, 1, 2], [ADD, EXEC_VISIBLE, EXEC_HIDDEN]
    >>> ev["side"], ev["price"], ev["size"] = [-1, -1, 1], [101, 101, 100], [5, 2, 1]
    >>> book = np.array([[101.0, 5, 99, 4], [101.0, 3, 99, 4], [101.0, 3, 99, 4]])
    >>> executions(ev, book)
       row  ts  price  size  aggressor  hidden  mid_before
    0    1   1  101.0   2.0          1   False       100.0
    1    2   2  100.0   1.0         -1    True       100.0
    """
    rows, aggressor = _trade_rows(events, hidden)
    df = pd.DataFrame({
        "row": rows, "ts": events["ts"][rows], "price": events["price"][rows].astype(np.float64),
        "size": events["size"][rows], "aggressor": aggressor,
        "hidden": events["kind"][rows] == EXEC_HIDDEN,
    })
    if book is not None:
        from companion.flow.ofi import mid_nb

        mid = mid_nb(np.ascontiguousarray(book, dtype=np.float64))
        df["mid_before"] = mid[np.maximum(rows - 1, 0)]
    return df


def signed_volume_events(events: np.ndarray, hidden: bool = True) -> np.ndarray:
    """Per-event signed traded volume :math:`a_i v_i` (aggressor side times size; 0 for non-executions).

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array (LOBSTER messages).
    hidden : bool
        Include hidden executions (type 5).

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)`` in shares, aligned with the book rows.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.events import EVENT_DTYPE
    >>> ev = np.zeros(2, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["size"] = [1, 4], [1, -1], [5, 2]
    >>> signed_volume_events(ev).tolist()
    [0.0, 2.0]
    """
    rows, aggressor = _trade_rows(events, hidden)
    out = np.zeros(len(events), dtype=np.float64)
    out[rows] = aggressor * events["size"][rows]
    return out


def tick_rule(price) -> np.ndarray:
    """Tick-rule signs (see the module docstring and :func:`tick_rule_nb`).

    Parameters
    ----------
    price : array_like
        Trade prices in time order.

    Returns
    -------
    numpy.ndarray
        int8 signs (first = 0).

    References
    ----------
    Lee & Ready (1991), Inferring Trade Direction from Intraday Data, J. Finance 46(2).

    Examples
    --------
    >>> tick_rule([10, 10, 9, 9]).tolist()
    [0, 0, -1, -1]
    """
    return tick_rule_nb(np.ascontiguousarray(price, dtype=np.float64))


def quote_rule(price, mid) -> np.ndarray:
    """Quote-rule signs against the prevailing ``mid`` (see the module docstring).

    Parameters
    ----------
    price, mid : array_like
        Trade price and prevailing mid, same unit.

    Returns
    -------
    numpy.ndarray
        int8 signs.

    References
    ----------
    Lee & Ready (1991), Inferring Trade Direction from Intraday Data, J. Finance 46(2).

    Examples
    --------
    >>> quote_rule([101, 100, 99], [100, 100, 100]).tolist()
    [1, 0, -1]
    """
    return quote_rule_nb(np.ascontiguousarray(price, dtype=np.float64), np.ascontiguousarray(mid, dtype=np.float64))


def lee_ready(price, mid) -> np.ndarray:
    """Lee-Ready (1991) signs: quote rule, tick rule at the mid.

    Parameters and result as for :func:`quote_rule` (same reference); only trades exactly at the
    mid differ: they take the tick-rule sign.

    Examples
    --------
    >>> lee_ready([99, 100, 101], [100, 100, 100]).tolist()    # at the mid: tick rule, down
    [-1, 1, 1]
    """
    return lee_ready_nb(np.ascontiguousarray(price, dtype=np.float64), np.ascontiguousarray(mid, dtype=np.float64))


def bvc_buy_fraction(dp, sigma: float, df: float | None = None) -> np.ndarray:
    r"""BVC buy share :math:`Z(\Delta P / \sigma)`.

    Parameters
    ----------
    dp : array_like
        Price change per bar.
    sigma : float
        Std of the bars' price changes (same unit).
    df : float, optional
        Student-t degrees of freedom; None uses the standard normal CDF.

    Returns
    -------
    numpy.ndarray
        float64 in [0, 1].

    References
    ----------
    Easley, Lopez de Prado & O'Hara (2012), Flow Toxicity and Liquidity in a High-frequency World, Review of Financial Studies 25(5), eq. 7 (bulk volume classification).

    Examples
    --------
    >>> bvc_buy_fraction([0.0, 1.0], 1.0).round(4).tolist()
    [0.5, 0.8413]
    """
    z = np.asarray(dp, dtype=np.float64) / sigma
    return stats.norm.cdf(z) if df is None else stats.t.cdf(z, df)


def bvc_bars(ts, price, size, freq="1min", t0: int | None = None, df: float | None = None) -> pd.DataFrame:
    r"""Bulk volume classification on clock bars (Easley, Lopez de Prado & O'Hara 2012).

    :math:`V^B_k = V_k\,Z(\Delta P_k / \sigma_{\Delta P})` per non-empty bar.

    Parameters
    ----------
    ts : array_like
        int64 ns per trade.
    price : array_like
        Trade prices.
    size : array_like
        Trade sizes.
    freq : str
        Bar width.
    t0 : int, optional
        Bar origin (ns); default the first timestamp floored to ``freq``.
    df : float, optional
        Student-t degrees of freedom (None: normal).

    Returns
    -------
    pandas.DataFrame
        Non-empty bars only: ``bar`` (id from ``t0``), ``volume``, ``price`` (last trade price),
        ``dp`` (change from the previous non-empty bar; the first bar 0), ``buy_frac``,
        ``buy_volume``; ``attrs["sigma"]`` is the std of ``dp`` over the bars (ddof=1).

    References
    ----------
    Easley, Lopez de Prado & O'Hara (2012), Flow Toxicity and Liquidity in a High-frequency World, Review of Financial Studies 25(5).

    Examples
    --------
    Four trades in three one-minute bars; the bar that rose 2 gets 90% buy volume:

    >>> bars = bvc_bars(np.array([0, 30, 70, 130]) * 10**9, [100.0, 101, 103, 102], [1.0, 2, 3, 4])
    >>> bars.round(3)
       bar  volume  price   dp  buy_frac  buy_volume
    0    0     3.0  101.0  0.0     0.500       1.500
    1    1     3.0  103.0  2.0     0.905       2.714
    2    2     4.0  102.0 -1.0     0.256       1.025
    >>> round(bars.attrs["sigma"], 4)
    1.5275
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
    r"""Accuracy of estimated signs against the true ones.

    By count :math:`\frac1N \sum_j \mathbf{1}\{\hat s_j = s_j\}`; by volume
    :math:`\sum_j v_j \mathbf{1}\{\hat s_j = s_j\} / \sum_j v_j`. An unclassified sign (0) counts as
    wrong.

    Parameters
    ----------
    est, true : array_like
        Signs.
    size : array_like, optional
        Trade sizes (for the volume accuracy).

    Returns
    -------
    tuple of float
        ``(by_count, by_volume)``; ``by_volume`` is NaN without ``size``.

    Examples
    --------
    >>> accuracy([1, -1, 0], [1, 1, 1], size=[2, 1, 1])
    (0.3333333333333333, 0.5)
    """
    est = np.asarray(est)
    true = np.asarray(true)
    ok = est == true
    by_count = float(ok.mean()) if ok.size else float("nan")
    if size is None:
        return by_count, float("nan")
    size = np.asarray(size, dtype=np.float64)
    return by_count, float(size[ok].sum() / size.sum()) if size.sum() > 0 else float("nan")


def bulk_accuracy(bar, size, true_sign, est_buy_volume_per_trade) -> float:
    r"""Bar-level volume accuracy :math:`1 - \sum_{\text{bars}} |V^B_{est} - V^B_{true}| / \sum V`.

    Parameters
    ----------
    bar : array_like
        Bar id per trade.
    size : array_like
        Trade sizes.
    true_sign : array_like
        True aggressor signs.
    est_buy_volume_per_trade : array_like
        Each trade's estimated buyer-initiated volume (a trade-level rule gives
        ``size * (sign == +1)``, plus half the size when unclassified).

    Returns
    -------
    float

    References
    ----------
    Andersen & Bondarenko (2014), VPIN and the Flash Crash, J. Financial Markets 17; Chakrabarty,
    Pascual & Shkilko (2015), J. Financial Markets 25.

    Examples
    --------
    >>> bulk_accuracy([0, 0], [1, 1], [1, -1], [1.0, 0.0])
    1.0
    """
    size = np.asarray(size, dtype=np.float64)
    true_buy = np.where(np.asarray(true_sign) > 0, size, 0.0)
    g = pd.DataFrame({"bar": bar, "t": true_buy, "e": est_buy_volume_per_trade, "v": size}).groupby("bar").sum()
    return float(1.0 - np.abs(g["e"] - g["t"]).sum() / g["v"].sum())


def classify_trades(trades: pd.DataFrame) -> pd.DataFrame:
    r"""Add ``tick``, ``quote``, ``lee_ready`` sign columns to :func:`executions` output.

    Signs (+1 buyer-initiated, -1 seller-initiated, 0 unclassified; see the module docstring):
    tick rule :math:`\operatorname{sign}(p_i - p_{i-1})`, carried over zero ticks; quote rule
    :math:`\operatorname{sign}(p_i - m_i)` with :math:`m_i` the mid just before the trade;
    Lee-Ready the quote rule, the tick rule for trades at the mid.

    Parameters
    ----------
    trades : pandas.DataFrame
        :func:`executions` output with ``mid_before`` (``price`` and ``mid_before`` in the same
        price units).

    Returns
    -------
    pandas.DataFrame
        A copy with the three int8 sign columns.

    References
    ----------
    Lee & Ready (1991), Inferring Trade Direction from Intraday Data, J. Finance 46(2).

    Examples
    --------
    >>> tr = pd.DataFrame({"price": [101.0, 100.0, 100.5], "mid_before": [100.0, 100.5, 100.5]})
    >>> classify_trades(tr)[["tick", "quote", "lee_ready"]].to_numpy().tolist()
    [[0, 1, 1], [-1, -1, -1], [1, 0, 1]]
    """
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

    Parameters
    ----------
    events : numpy.ndarray
        LOBSTER :data:`~companion.events.EVENT_DTYPE` messages.
    book : numpy.ndarray
        float64 ``(n, 4L)`` snapshots aligned with ``events``.
    bvc_freq : str
        BVC bar width.
    t0 : int, optional
        Bar origin (ns).
    hidden : bool
        ``False`` scores visible executions (type 4) only.
    df : float, optional
        Student-t degrees of freedom for BVC.

    Returns
    -------
    pandas.DataFrame
        One row per method; ``accuracy_count``, ``accuracy_volume`` (trade level; NaN for BVC),
        ``bulk_accuracy_volume`` (bar level at ``bvc_freq``), ``coverage`` (share of trades
        classified, sign != 0), ``n_trades``.

    Raises
    ------
    ValueError
        When the events hold no execution.

    References
    ----------
    Lee & Ready (1991), Inferring Trade Direction from Intraday Data, J. Finance 46(2); Easley, Lopez de Prado & O'Hara (2012), Flow Toxicity and Liquidity in a High-frequency World, Review of Financial Studies 25(5).

    Examples
    --------
    On a one-minute synthetic day (10-second BVC bars):

    >>> from companion import synth
    >>> day = synth.simulate(seed=1, levels=5, config=synth.SynthConfig(session=(34200.0, 34260.0)))
    >>> sc = score_trade_signs(synth.to_events(day.messages), day.orderbook, bvc_freq="10s")
    >>> list(sc.index), list(sc.columns)
    (['tick', 'quote', 'lee_ready', 'bvc'], ['accuracy_count', 'accuracy_volume', 'bulk_accuracy_volume', 'coverage', 'n_trades'])
    >>> bool(sc.loc["lee_ready", "accuracy_count"] > 0.5)        # better than a coin
    True
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
