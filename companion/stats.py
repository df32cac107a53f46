"""Descriptive statistics of a trading day: activity, spread, depth, execution share; and the one
rank correlation of the package (:func:`spearman_ic`, the information coefficient).

Used by chapter 01 (synthetic vs real comparison) and by the replication script. All statistics
are event-weighted over the book rows (row i = the book after event i), over rows whose best
levels are both occupied.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from companion.events import ADD, CANCEL, DELETE, DUMMY_ASK, DUMMY_BID, EXEC_HIDDEN, EXEC_VISIBLE, NS, Instrument


# --------------------------------------------------------------------------------------------
# the one empty-level rule and the one level-1 mid: kernels, then their numpy forms
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def price_ok_nb(px: float) -> bool:
    """True when ``px`` is a real price, strictly between the dummies :data:`DUMMY_BID` and
    :data:`DUMMY_ASK` (False for the dummies, +-inf and NaN): the price half of
    :func:`level_ok_nb`, for a tracked best price that has no size beside it.

    Examples
    --------
    >>> price_ok_nb(10100.0), price_ok_nb(float(DUMMY_BID)), price_ok_nb(float("inf"))
    (True, False, False)
    """
    return px > DUMMY_BID and px < DUMMY_ASK


@njit(cache=True)
def level_ok_nb(px: float, sz: float) -> bool:
    """The package's one empty-level rule: a book level is occupied iff its size is positive and
    its price lies strictly between the dummies :data:`DUMMY_BID` and :data:`DUMMY_ASK`.

    Parameters
    ----------
    px : float
        Level price (price units); an empty level holds ``DUMMY_ASK`` / ``DUMMY_BID``.
    sz : float
        Level size (size units).

    Returns
    -------
    bool

    Examples
    --------
    >>> level_ok_nb(10100.0, 3.0), level_ok_nb(float(DUMMY_ASK), 0.0), level_ok_nb(10100.0, 0.0)
    (True, False, False)
    """
    return sz > 0.0 and price_ok_nb(px)


@njit(cache=True)
def level_size_nb(px: float, sz: float) -> float:
    """Size of a book level, 0 when the level is empty (:func:`level_ok_nb`).

    Examples
    --------
    >>> level_size_nb(10100.0, 3.0), level_size_nb(float(DUMMY_BID), 7.0)
    (3.0, 0.0)
    """
    return sz if level_ok_nb(px, sz) else 0.0


@njit(cache=True)
def imbalance_ratio_nb(bid: float, ask: float) -> float:
    """Normalised imbalance ``(bid - ask) / (bid + ask)`` in [-1, 1] of two non-negative side
    totals (sizes, weighted sizes or order counts; Cao, Hansch & Wang 2009); NaN when both are 0.

    Examples
    --------
    >>> imbalance_ratio_nb(300.0, 100.0), imbalance_ratio_nb(0.0, 0.0)
    (0.5, nan)
    """
    if bid + ask > 0.0:
        return (bid - ask) / (bid + ask)
    return np.nan


@njit(cache=True)
def row_mid_nb(row: np.ndarray) -> float:
    """Level-1 mid :math:`(P^a_1 + P^b_1)/2` of one LOBSTER-layout book row (price units); NaN
    when either best level is empty (:func:`level_ok_nb`). The one mid of the package's kernels
    (:func:`mid_price` is its vectorised form).

    Examples
    --------
    >>> import numpy as np
    >>> row_mid_nb(np.array([10100., 3, 10000, 5])), row_mid_nb(np.array([float(DUMMY_ASK), 0, 10000, 5]))
    (10050.0, nan)
    """
    return quote_mid_nb(row[0], row[1], row[2], row[3])


@njit(cache=True)
def quote_mid_nb(ask: float, ask_size: float, bid: float, bid_size: float) -> float:
    """:func:`row_mid_nb` from the four best-level numbers (price units, sizes): for a loop over a
    book array, where a row view per event would cost more than the mid itself.

    Examples
    --------
    >>> quote_mid_nb(10100.0, 3.0, 10000.0, 5.0), quote_mid_nb(10100.0, 0.0, 10000.0, 5.0)
    (10050.0, nan)
    """
    if level_ok_nb(ask, ask_size) and level_ok_nb(bid, bid_size):
        return 0.5 * (ask + bid)
    return np.nan


def best_quotes(book: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Level-1 columns of a LOBSTER-layout book array.

    Parameters
    ----------
    book : numpy.ndarray
        float64 ``(n, 4L)`` snapshots.

    Returns
    -------
    tuple of numpy.ndarray
        ``(ask_px, ask_sz, bid_px, bid_sz)`` (price units, shares), views of ``book``.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[10100., 3, 10000, 5, 10200, 4, 9900, 6]])
    >>> ask_px, ask_sz, bid_px, bid_sz = best_quotes(book)
    >>> ask_px.tolist(), bid_sz.tolist()
    ([10100.0], [5.0])
    """
    return book[:, 0], book[:, 1], book[:, 2], book[:, 3]


def two_sided(book: np.ndarray) -> np.ndarray:
    """Mask of rows whose best bid and best ask are both occupied: the package's empty-level rule
    for the level-1 quotes (:func:`level_ok_nb`, vectorised): a level is occupied
    iff ``size > 0`` and its price lies strictly between LOBSTER's dummies ``DUMMY_BID`` and
    ``DUMMY_ASK`` (``∓9999999999``).

    Parameters
    ----------
    book : numpy.ndarray
        float64 ``(n, 4L)`` LOBSTER-layout snapshots.

    Returns
    -------
    numpy.ndarray
        bool ``(n,)``, True where the row is two-sided.

    Examples
    --------
    >>> import numpy as np
    >>> two_sided(np.array([[101., 5, 100, 3], [9999999999, 0, 100, 3]])).tolist()
    [True, False]
    """
    ap, asz, bp, bsz = best_quotes(book)
    return ((asz > 0) & (bsz > 0) & (ap > DUMMY_BID) & (ap < DUMMY_ASK)
            & (bp > DUMMY_BID) & (bp < DUMMY_ASK))


def mid_price(book: np.ndarray) -> np.ndarray:
    """Level-1 mid ``(P^a_1 + P^b_1) / 2`` per row (price units of ``book``); NaN where a side is
    empty (:func:`companion.stats.two_sided`).

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[10100., 300, 10000, 100], [9999999999, 0, 10000, 100], [10100, 0, 10000, 100]])
    >>> mid_price(book).tolist()
    [10050.0, nan, nan]
    """
    b = np.asarray(book, dtype=np.float64)
    return np.where(two_sided(b), 0.5 * (b[:, 0] + b[:, 2]), np.nan)


def day_stats(events: np.ndarray, book: np.ndarray, instrument: Instrument) -> dict:
    r"""Activity, spread and depth statistics of one day.

    Statistics are event-weighted over the two-sided book rows (row :math:`i` = book after event
    :math:`i`): spread :math:`s_i = (a_i - b_i)/\text{tick}` (ticks), best depth
    :math:`(q^a_i + q^b_i)/2` (shares), mid :math:`(a_i + b_i)/(2\,\text{price\_scale})` (currency).

    Parameters
    ----------
    events : numpy.ndarray
        Events of :data:`~companion.events.EVENT_DTYPE`.
    book : numpy.ndarray
        float64 ``(len(events), 4L)`` LOBSTER-layout snapshots.
    instrument : companion.events.Instrument
        For ``tick`` and ``price_scale``.

    Returns
    -------
    dict
        ``messages``, ``hours``, ``messages_per_min``, shares of adds, cancels (partial + full)
        and executions (visible + hidden) among messages (``add_share``, ``cancel_share``,
        ``execution_share``, ``hidden_execution_share``), ``spread_ticks_mean`` / ``_median``,
        ``depth_best_mean``, ``trade_size_mean`` (visible + hidden executions, shares),
        ``mid_start`` / ``mid_end`` / ``mid_range_pct``.

    References
    ----------
    Huang & Polak (2011), LOBSTER: Limit Order Book Reconstruction System (SSRN 1977207), whose
    sample days these statistics describe.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.events import EVENT_DTYPE, Instrument
    >>> ev = np.zeros(3, EVENT_DTYPE)
    >>> ev["ts"] = [0, 30 * 10**9, 60 * 10**9]
    >>> ev["kind"] = [1, 3, 4]
    >>> ev["size"] = [0, 0, 100]
    >>> book = np.array([[10200., 5, 10000, 5], [10100, 5, 10000, 3], [10100, 5, 10000, 1]])
    >>> s = day_stats(ev, book, Instrument(symbol="X", tick=100, price_scale=10000))
    >>> s["messages"], s["spread_ticks_mean"], s["depth_best_mean"], s["trade_size_mean"]
    (3, 1.3333333333333333, 4.0, 100.0)
    """
    kind = events["kind"]
    n = len(events)
    ts = events["ts"]
    hours = float(ts[-1] - ts[0]) / NS / 3600 if n > 1 else 0.0
    ok = two_sided(book)
    ap, asz, bp, bsz = (x[ok] for x in best_quotes(book))
    spread = (ap - bp) / instrument.tick
    mid = (ap + bp) / 2 / instrument.price_scale
    execs = (kind == EXEC_VISIBLE) | (kind == EXEC_HIDDEN)
    return {
        "messages": int(n),
        "hours": round(hours, 3),
        "messages_per_min": float(n / (hours * 60)) if hours > 0 else float("nan"),
        "add_share": float(np.mean(kind == ADD)),
        "cancel_share": float(np.mean((kind == CANCEL) | (kind == DELETE))),
        "execution_share": float(np.mean(execs)),
        "hidden_execution_share": float(np.mean(kind == EXEC_HIDDEN)),
        "spread_ticks_mean": float(spread.mean()),
        "spread_ticks_median": float(np.median(spread)),
        "depth_best_mean": float(((asz + bsz) / 2).mean()),
        "trade_size_mean": float(events["size"][execs].mean()) if execs.any() else float("nan"),
        "mid_start": float(mid[0]),
        "mid_end": float(mid[-1]),
        "mid_range_pct": float(100 * (mid.max() - mid.min()) / mid.mean()),
    }


def pearson(a, b) -> float:
    """Pearson correlation ``sum(a' b') / sqrt(sum(a'^2) sum(b'^2))`` of two equal-length arrays
    without NaN (``x' = x - mean(x)``); NaN when either is constant.

    Examples
    --------
    >>> pearson([1.0, 2.0, 3.0], [2.0, 4.0, 7.0])
    0.9933992677987828
    >>> pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    nan
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean()
    b = b - b.mean()
    den = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return float(np.sum(a * b) / den) if den > 0 else float("nan")


def ranks(x) -> np.ndarray:
    """Mid-ranks of ``x`` (1 for the smallest; tied values share the mean of their ranks), the
    ranks every rank statistic of the package uses (:func:`spearman_ic`, the block bootstrap of
    :func:`companion.models.decay.signal_decay`). ``x`` without NaN; float64 ``(n,)``.

    Examples
    --------
    >>> ranks([0.3, 0.1, 0.3, 0.9]).tolist()
    [2.5, 1.0, 2.5, 4.0]
    """
    from scipy.stats import rankdata

    return rankdata(np.asarray(x, dtype=np.float64), method="average")


def spearman_ic(score, realised) -> float:
    """Information coefficient (Spearman rank correlation; Grinold & Kahn 2000, ch. 6): the
    :func:`pearson` correlation of the mid-ranks (:func:`ranks`, ties averaged) of ``score`` and ``realised``.
    Pairs with a NaN are dropped; NaN under 3 pairs or when either side is constant. Unitless,
    in [-1, 1].

    Examples
    --------
    >>> import numpy as np
    >>> spearman_ic([0.1, 0.4, 0.2, 0.9], [1.0, 3.0, 2.0, 4.0])
    1.0
    >>> spearman_ic(np.array([0.1, 0.4, 0.2, np.nan]), np.array([1.0, 3.0, 2.0, 5.0]))
    1.0
    >>> spearman_ic([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0])
    nan
    """
    a = np.asarray(score, dtype=np.float64)
    b = np.asarray(realised, dtype=np.float64)
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 3:
        return float("nan")
    return pearson(ranks(a[ok]), ranks(b[ok]))


def stats_table(rows: dict[str, dict]) -> pd.DataFrame:
    """A comparison table (one column per dataset).

    Parameters
    ----------
    rows : dict
        ``{name: day_stats(...)}``.

    Returns
    -------
    pandas.DataFrame
        One row per statistic, one column per dataset.

    Examples
    --------
    >>> stats_table({"a": {"messages": 3}, "b": {"messages": 5}}).loc["messages"].tolist()
    [3, 5]
    """
    return pd.DataFrame(rows)


REFERENCE_STATS = __import__("pathlib").Path(__file__).with_name("reference") / "lobster_stats.json"


def binary_auc(y01, score) -> float:
    """ROC-AUC = P(score_pos > score_neg) + P(tie)/2 (Mann-Whitney U / (n_pos n_neg), mid-ranks).

    Examples
    --------
    >>> binary_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y = np.asarray(y01).astype(bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = ranks(score)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def align_predictions(pred_ts, pred, event_ts) -> np.ndarray:
    """Per-event value of a prediction series: the latest prediction with ``pred_ts <= t`` (NaN
    before the first). A prediction stamped ``T`` must use data up to ``T`` only (the feature
    library's convention), so the aligned series is causal.

    Examples
    --------
    >>> import numpy as np
    >>> align_predictions(np.array([10, 20]), np.array([0.6, 0.4]), np.array([5, 10, 15, 25])).tolist()
    [nan, 0.6, 0.6, 0.4]
    """
    pt = np.asarray(pred_ts, dtype=np.int64)
    if len(pt) > 1 and np.any(np.diff(pt) < 0):
        raise ValueError("prediction times must be non-decreasing")
    p = np.asarray(pred, dtype=np.float64)
    j = np.searchsorted(pt, np.asarray(event_ts, dtype=np.int64), side="right") - 1
    out = np.where(j >= 0, p[np.maximum(j, 0)], np.nan)
    return out


def reference_table() -> pd.DataFrame:
    """:func:`day_stats` of every LOBSTER sample, as committed in ``companion/reference``.

    Computed from the real files by ``data_scripts/make_reference_stats.py``; CI re-checks them when
    the samples are present.

    Returns
    -------
    pandas.DataFrame
        One column per sample, e.g. ``lobster:AAPL:1``.

    Examples
    --------
    >>> t = reference_table()
    >>> t.columns.tolist()[:2], round(float(t.loc["add_share", "lobster:AAPL:1"]), 3)
    (['lobster:AAPL:1', 'lobster:AMZN:1'], 0.463)
    """
    import json

    return stats_table(json.loads(REFERENCE_STATS.read_text()))
