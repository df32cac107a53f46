"""Trading signals: the imbalance scalper's composite signal, the model rule, threshold calibration.

Composite book imbalance (over the first ``L`` visible levels of a LOBSTER-layout row; ``Q^b_k``,
``Q^a_k`` sizes and ``P^b_k``, ``P^a_k`` prices at level ``k``, ``M = (P^a_1 + P^b_1) / 2``;
empty levels, i.e. LOBSTER dummy prices, count as size 0):

* **volume imbalance** ``I_V = (sum_k Q^b_k - sum_k Q^a_k) / (sum_k Q^b_k + sum_k Q^a_k)``
  (Cao, Hansch & Wang 2009 "depth imbalance"; ``L = 1`` is the classic top-of-book imbalance);
* **distance-weighted imbalance** ``I_D = (sum_k w^b_k Q^b_k - sum_k w^a_k Q^a_k) /
  (sum_k w^b_k Q^b_k + sum_k w^a_k Q^a_k)`` with ``w_k = 1 / (1 + |P_k - M| / tick)``: depth near
  the mid counts more (the same weights as the ``dw_imb`` feature of :mod:`companion.features`);
* **order-count imbalance** ``I_N = (sum_k N^b_k - sum_k N^a_k) / (sum_k N^b_k + sum_k N^a_k)``,
  ``N_k`` = number of resting orders at level ``k``'s price, from a per-order map fed by the
  add / cancel / delete / execute messages (``companion.features.kernels.order_map_step_nb``;
  orders resting before the file starts are unknown, so early values under-count);
* **composite** ``S = (0.7 I_V + 0.2 I_D + 0.1 I_N) / (sum of the weights of the defined parts)``
  (undefined parts, e.g. ``I_N`` on data without order ids, drop out and the rest renormalise).

Every value at event ``i`` uses the book after event ``i`` and the messages up to ``i``: causal.

Classes (int codes, sign = direction, ``|code|`` = strength level), thresholds weak ``w`` / strong
``s`` (defaults 0.15 / 0.35): ``S >= s`` STRONG_BUY (2), ``w <= S < s`` BUY (1), ``|S| < w`` NONE
(0), ``-s < S <= -w`` SELL (-1), ``S <= -s`` STRONG_SELL (-2); NaN -> NONE.

Strength, confidence, expected edge (:class:`ImbalanceSignal`): strength = ``|S|``; confidence and
expected edge of a class are estimated by :meth:`ImbalanceSignal.fit` on a *fit sample* (an earlier
period, never the sample being evaluated): expected edge = mean of ``direction x forward mid move``
(bps over the horizon ``h``) of the fit-sample events of that class, confidence = share of those
with a nonzero move whose move had the signal's sign. Before ``fit`` both are NaN.

Model rule (:func:`model_rule`): long (+1) when ``P(up) > 0.55`` and ``OFI > theta``, short (-1)
when ``P(up) < 0.45`` and ``OFI < -theta``, else 0 -- a model call confirmed by the order flow.

Threshold calibration: :func:`threshold_sweep` (per threshold: trades, hit rate, average P&L in bps,
per-trade Sharpe) and :func:`calibrate_threshold` (choose on a fit period, report on the later one).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit

from companion.events import NS
from companion.features.kernels import new_order_maps, order_map_step_nb
from companion.stats import (  # the one empty-level rule
    align_predictions,
    imbalance_ratio_nb,
    level_size_nb,
    mid_price,
    price_ok_nb,
)

NONE, BUY, SELL, STRONG_BUY, STRONG_SELL = 0, 1, -1, 2, -2
SIGNAL_NAMES = {NONE: "NONE", BUY: "BUY", SELL: "SELL", STRONG_BUY: "STRONG_BUY",
                STRONG_SELL: "STRONG_SELL"}
CODES = (STRONG_SELL, SELL, NONE, BUY, STRONG_BUY)
DEFAULT_WEIGHTS = (0.7, 0.2, 0.1)

__all__ = [
    "NONE", "BUY", "SELL", "STRONG_BUY", "STRONG_SELL", "SIGNAL_NAMES",
    "volume_imbalance_nb", "distance_weighted_imbalance_nb", "order_count_imbalance_nb",
    "composite_nb", "classify_nb", "imbalance_components", "classify", "ImbalanceSignal",
    "forward_mid_move_bps", "mid_price", "trailing_ofi", "align_predictions", "model_rule",
    "model_rule_nb", "model_rule_into_nb",
    "threshold_sweep", "calibrate_threshold", "sample_on_grid",
    "MODEL_FEATURES", "OutOfSampleDirection", "walk_forward_direction",
]


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def volume_imbalance_nb(book: np.ndarray, levels: int) -> np.ndarray:
    """``I_V`` per row over levels ``1..levels`` (NaN when both sides are empty).

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[10100., 300, 10000, 100, 10200, 100, 9900, 300]])   # ask 101 x 300, bid 100 x 100; level 2
    >>> volume_imbalance_nb(book, 1).tolist(), volume_imbalance_nb(book, 2).tolist()
    ([-0.5], [0.0])
    """
    n = book.shape[0]
    out = np.empty(n)
    for i in range(n):
        db = 0.0
        da = 0.0
        for k in range(levels):
            da += level_size_nb(book[i, 4 * k], book[i, 4 * k + 1])
            db += level_size_nb(book[i, 4 * k + 2], book[i, 4 * k + 3])
        out[i] = imbalance_ratio_nb(db, da)
    return out


@njit(cache=True)
def distance_weighted_imbalance_nb(book: np.ndarray, levels: int, tick: float) -> np.ndarray:
    """``I_D`` per row, ``w = 1 / (1 + |P - M| / tick)`` (NaN when a best quote is missing).

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[10100., 300, 10000, 100, 10200, 100, 9900, 300]])   # ask 101 x 300, bid 100 x 100; level 2
    >>> np.round(distance_weighted_imbalance_nb(book, 2, 100.0), 4).tolist()
    [-0.125]
    """
    n = book.shape[0]
    out = np.full(n, np.nan)
    for i in range(n):
        pa1 = book[i, 0]
        pb1 = book[i, 2]
        if not price_ok_nb(pa1) or not price_ok_nb(pb1) or book[i, 1] <= 0 or book[i, 3] <= 0:
            continue
        mid = 0.5 * (pa1 + pb1)
        wa = 0.0
        wb = 0.0
        for k in range(levels):
            pa = book[i, 4 * k]
            pb = book[i, 4 * k + 2]
            wa += level_size_nb(pa, book[i, 4 * k + 1]) / (1.0 + abs(pa - mid) / tick) if price_ok_nb(pa) else 0.0
            wb += level_size_nb(pb, book[i, 4 * k + 3]) / (1.0 + abs(mid - pb) / tick) if price_ok_nb(pb) else 0.0
        out[i] = imbalance_ratio_nb(wb, wa)
    return out


def order_count_imbalance_nb(kind, side, price, size, oid, book, levels):
    """``I_N`` per row: resting-order counts at the first ``levels`` prices after each event.

    Events with id 0 are ignored by the per-order map; when no event carries an id the result is
    all NaN. (A thin wrapper: the typed-dict order map is created here, the loop is jitted.)
    """
    if not np.any(oid != 0):
        return np.full(book.shape[0], np.nan)
    orders, counts = new_order_maps()
    return count_imbalance_rows_nb(kind, side, price, size, oid, book, levels, orders, counts)


@njit(cache=True)
def count_imbalance_rows_nb(kind, side, price, size, oid, book, levels, orders, counts):
    """Kernel of :func:`order_count_imbalance_nb`: feed each event to the per-order map, then
    count the resting orders at the first ``levels`` prices of its book row."""
    n = book.shape[0]
    out = np.full(n, np.nan)
    for i in range(n):
        order_map_step_nb(kind[i], side[i], price[i], size[i], oid[i], orders, counts)
        nb = 0.0
        na = 0.0
        for k in range(levels):
            pa = book[i, 4 * k]
            pb = book[i, 4 * k + 2]
            if price_ok_nb(pa) and book[i, 4 * k + 1] > 0:
                na += counts.get(2 * np.int64(pa), 0)
            if price_ok_nb(pb) and book[i, 4 * k + 3] > 0:
                nb += counts.get(2 * np.int64(pb) + 1, 0)
        out[i] = imbalance_ratio_nb(nb, na)
    return out


@njit(cache=True)
def composite_nb(iv: np.ndarray, idw: np.ndarray, icount: np.ndarray, w_v: float, w_d: float,
                 w_n: float) -> np.ndarray:
    """``S = (w_v I_V + w_d I_D + w_n I_N) / (sum of the weights of the non-NaN parts)``.

    Examples
    --------
    >>> import numpy as np
    >>> composite_nb(np.array([0.5]), np.array([0.2]), np.array([np.nan]), 0.7, 0.2, 0.1).round(4).tolist()
    [0.4333]
    """
    n = iv.shape[0]
    out = np.full(n, np.nan)
    for i in range(n):
        num = 0.0
        den = 0.0
        if iv[i] == iv[i]:
            num += w_v * iv[i]
            den += w_v
        if idw[i] == idw[i]:
            num += w_d * idw[i]
            den += w_d
        if icount[i] == icount[i]:
            num += w_n * icount[i]
            den += w_n
        if den > 0.0:
            out[i] = num / den
    return out


@njit(cache=True)
def classify_nb(s: np.ndarray, weak: float, strong: float) -> np.ndarray:
    """Int8 class codes of a signal ``S``: STRONG_BUY (2) when ``S >= strong``, BUY (1) when
    ``weak <= S < strong``, NONE (0) when ``|S| < weak`` or NaN, SELL (-1) / STRONG_SELL (-2) mirrored.

    Examples
    --------
    >>> import numpy as np
    >>> classify_nb(np.array([0.1, 0.2, -0.4, np.nan]), 0.15, 0.35).tolist()
    [0, 1, -2, 0]
    """
    n = s.shape[0]
    out = np.zeros(n, dtype=np.int8)
    for i in range(n):
        x = s[i]
        if x >= strong:
            out[i] = STRONG_BUY
        elif x >= weak:
            out[i] = BUY
        elif x <= -strong:
            out[i] = STRONG_SELL
        elif x <= -weak:
            out[i] = SELL
    return out


@njit(cache=True)
def trailing_sum_nb(ts: np.ndarray, x: np.ndarray, window_ns: int) -> np.ndarray:
    """``y[i] = sum of x[j]`` over events ``j`` with ``ts[i] - window < ts[j] <= ts[i]``, ``j <= i``
    (events sharing ``ts[i]`` but after ``i`` are excluded: causal in event order)."""
    n = ts.shape[0]
    out = np.empty(n)
    acc = 0.0
    lo = 0
    for i in range(n):
        acc += x[i]
        while ts[lo] <= ts[i] - window_ns:
            acc -= x[lo]
            lo += 1
        out[i] = acc
    return out


# --------------------------------------------------------------------------------------------
# user layer
# --------------------------------------------------------------------------------------------
def imbalance_components(book: np.ndarray, events: np.ndarray | None = None, *, levels: int = 5,
                         tick: float = 1.0, weights=DEFAULT_WEIGHTS) -> pd.DataFrame:
    """Columns ``vol_imb``, ``dw_imb``, ``count_imb``, ``composite`` per event (row of ``book``).

    ``events`` (EVENT_DTYPE, same length) feed the order-count part; without them it is NaN and
    the composite renormalises over the volume and distance-weighted parts.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[10100., 300, 10000, 100, 10200, 100, 9900, 300]])   # ask 101 x 300, bid 100 x 100; level 2
    >>> imbalance_components(book, levels=2, tick=100.0).round(4)
       vol_imb  dw_imb  count_imb  composite
    0      0.0  -0.125        NaN    -0.0278
    """
    b = np.ascontiguousarray(book, dtype=np.float64)
    L = b.shape[1] // 4
    if not 1 <= levels <= L:
        raise ValueError(f"levels must be in 1..{L} (the book has {L}), got {levels}")
    if tick <= 0:
        raise ValueError("tick must be > 0")
    iv = volume_imbalance_nb(b, levels)
    idw = distance_weighted_imbalance_nb(b, levels, float(tick))
    if events is not None:
        if len(events) != len(b):
            raise ValueError("events and book must have the same length")
        ic = order_count_imbalance_nb(np.ascontiguousarray(events["kind"], np.int8),
                                      np.ascontiguousarray(events["side"], np.int8),
                                      np.ascontiguousarray(events["price"], np.int64),
                                      np.ascontiguousarray(events["size"], np.float64),
                                      np.ascontiguousarray(events["order_id"], np.int64), b, levels)
    else:
        ic = np.full(len(b), np.nan)
    w = tuple(float(x) for x in weights)
    if len(w) != 3 or min(w) < 0 or sum(w) <= 0:
        raise ValueError(f"weights must be three non-negative numbers, got {weights!r}")
    comp = composite_nb(iv, idw, ic, *w)
    return pd.DataFrame({"vol_imb": iv, "dw_imb": idw, "count_imb": ic, "composite": comp})


def classify(s, weak: float = 0.15, strong: float = 0.35) -> np.ndarray:
    """Int8 class codes (NONE/BUY/SELL/STRONG_*) of a signal in [-1, 1].

    Examples
    --------
    >>> classify([0.1, 0.2, 0.5, -0.2, -0.5]).tolist()      # NONE, BUY, STRONG_BUY, SELL, STRONG_SELL
    [0, 1, 2, -1, -2]
    """
    if not 0 <= weak <= strong:
        raise ValueError(f"need 0 <= weak <= strong, got weak={weak}, strong={strong}")
    return classify_nb(np.ascontiguousarray(s, dtype=np.float64), float(weak), float(strong))


def forward_mid_move_bps(ts: np.ndarray, mid: np.ndarray, horizon_ns: int) -> np.ndarray:
    """``1e4 (M(t_i + h) - M_i) / M_i``, ``M(t)`` = mid after the last event with ``ts <= t``
    (NaN when ``t_i + h`` is past the last event or a mid is undefined). A *label*: it looks ahead.

    Examples
    --------
    >>> import numpy as np
    >>> ts = np.array([0, 10**9, 2 * 10**9])
    >>> forward_mid_move_bps(ts, np.array([10000.0, 10010.0, 10020.0]), 10**9).round(4).tolist()
    [10.0, 9.99, nan]
    """
    ts = np.asarray(ts, dtype=np.int64)
    m = pd.Series(np.asarray(mid, dtype=np.float64)).ffill().to_numpy()
    j = np.searchsorted(ts, ts + int(horizon_ns), side="right") - 1
    out = 1e4 * (m[j] - m) / m
    if len(ts):
        out[ts + int(horizon_ns) > ts[-1]] = np.nan
    return out


def trailing_ofi(book: np.ndarray, ts: np.ndarray, window_ns: int = 10 * NS, levels: int = 1) -> np.ndarray:
    """Causal trailing OFI per event: sum of the CKS (2014, eq. 10) contributions ``e_n`` (summed
    over levels ``1..levels``, CCZ 2023 eq. 1) of the events in ``(t_i - window, t_i]``; shares.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 5], [101, 3, 100, 7], [101, 3, 99, 4]])
    >>> trailing_ofi(book, np.array([0, 10**9, 2 * 10**9]), window_ns=10**9).tolist()   # e = 0, +2, -7
    [0.0, 2.0, -7.0]
    """
    from companion.flow.ofi import ofi_multilevel_events

    e = ofi_multilevel_events(book, levels).sum(axis=1)
    return trailing_sum_nb(np.asarray(ts, dtype=np.int64), np.ascontiguousarray(e), int(window_ns))


@njit(cache=True, inline="always")
def model_rule_nb(p: float, ofi: float, ofi_threshold: float, p_long: float, p_short: float) -> int:
    """THE model rule of the package, on one event: +1 when ``p > p_long`` and ``ofi > theta``, -1
    when ``p < p_short`` and ``ofi < -theta``, else 0 (a NaN compares false: 0). ``p``: P(up),
    ``ofi``: trailing OFI (shares), ``theta`` = ``ofi_threshold``. :func:`model_rule` (batch),
    the live front (:mod:`companion.streaming`) and :func:`companion.live.budget.model_decision_nb` call it.

    Examples
    --------
    >>> model_rule_nb(0.6, 5.0, 1.0, 0.55, 0.45), model_rule_nb(0.4, -5.0, 1.0, 0.55, 0.45)
    (1, -1)
    """
    if p > p_long and ofi > ofi_threshold:
        return 1
    if p < p_short and ofi < -ofi_threshold:
        return -1
    return 0


@njit(cache=True)
def model_rule_into_nb(p: np.ndarray, ofi: np.ndarray, ofi_threshold: float, p_long: float, p_short: float,
                       out: np.ndarray) -> None:
    """:func:`model_rule_nb` per element: ``out[i] = rule(p[i], ofi[i])`` (int8 codes)."""
    for i in range(p.shape[0]):
        out[i] = model_rule_nb(p[i], ofi[i], ofi_threshold, p_long, p_short)


def model_rule(p_up, ofi, ofi_threshold: float, p_long: float = 0.55, p_short: float = 0.45) -> np.ndarray:
    """+1 when ``P(up) > p_long`` and ``OFI > theta``; -1 when ``P(up) < p_short`` and
    ``OFI < -theta``; else 0 (NaN inputs -> 0). Int8. (:func:`model_rule_nb` per event.)

    Examples
    --------
    >>> model_rule([0.6, 0.6, 0.4, 0.5], [5.0, -5.0, -5.0, 5.0], ofi_threshold=1.0).tolist()
    [1, 0, -1, 0]
    """
    p = np.asarray(p_up, dtype=np.float64)
    o = np.asarray(ofi, dtype=np.float64)
    p, o = np.broadcast_arrays(p, o)
    out = np.zeros(p.shape, dtype=np.int8)
    model_rule_into_nb(np.ascontiguousarray(p).ravel(), np.ascontiguousarray(o).ravel(), float(ofi_threshold),
                       float(p_long), float(p_short), out.reshape(-1))
    return out


@dataclass
class ImbalanceSignal:
    """The imbalance scalper's signal: composite imbalance -> class, strength, confidence, edge.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[10100., 100, 10000, 900], [10100, 500, 10000, 500], [10100, 900, 10000, 100]] * 4)
    >>> fwd_bps = np.array([2.0, 0.0, -2.0] * 4)           # forward mid move (bps), a label
    >>> sig = ImbalanceSignal(levels=1, tick=100)
    >>> comp = sig.compute(book)                           # composite per event (causal)
    >>> comp[:3].round(3).tolist()
    [0.8, 0.0, -0.8]
    >>> sig = sig.fit(comp[:6], fwd_bps[:6])               # edge / confidence from the fit period
    >>> sig.edge_bps_[STRONG_BUY], sig.edge_bps_[STRONG_SELL]
    (2.0, 2.0)
    >>> out = sig.predict(comp[6:])                        # per event: code, signal, strength, confidence, edge
    >>> out.columns.tolist()
    ['code', 'signal', 'strength', 'confidence', 'expected_edge_bps']

    Attributes
    ----------
    levels : int
        Book levels of the imbalances.
    weak, strong : float
        Class thresholds on ``|S|``: BUY / SELL from ``weak``, STRONG_BUY / STRONG_SELL from
        ``strong``.
    tick : float
        Tick size in price units (distances in the distance-weighted imbalance).
    weights : tuple of float
        Weights of the volume, distance-weighted and order-count imbalances in the composite.
    edge_bps_ : dict
        Mean forward move in the class's direction per class code (bps), set by :meth:`fit`.
    confidence_ : dict
        Share of nonzero forward moves in the class's direction per class code, set by :meth:`fit`.
    support_ : dict
        Fit samples per class code, set by :meth:`fit`.
    """

    levels: int = 5
    weak: float = 0.15
    strong: float = 0.35
    tick: float = 1.0
    weights: tuple = DEFAULT_WEIGHTS
    edge_bps_: dict = field(default_factory=dict, repr=False)
    confidence_: dict = field(default_factory=dict, repr=False)
    support_: dict = field(default_factory=dict, repr=False)

    def components(self, book, events=None) -> pd.DataFrame:
        """The three imbalances and the composite per event (:func:`imbalance_components`)."""
        return imbalance_components(book, events, levels=self.levels, tick=self.tick,
                                    weights=self.weights)

    def compute(self, book, events=None) -> np.ndarray:
        """The composite ``S`` per event."""
        return self.components(book, events)["composite"].to_numpy()

    def fit(self, composite, fwd_bps) -> ImbalanceSignal:
        """Estimate expected edge and confidence per class on a fit sample (see module docstring).
        ``fwd_bps``: forward mid move in bps over the horizon, aligned with ``composite``."""
        s = np.asarray(composite, dtype=np.float64)
        f = np.asarray(fwd_bps, dtype=np.float64)
        code = classify(s, self.weak, self.strong)
        ok = ~np.isnan(f)
        self.edge_bps_, self.confidence_, self.support_ = {}, {}, {}
        for c in CODES:
            m = ok & (code == c)
            d = np.sign(c)
            self.support_[c] = int(m.sum())
            if c == NONE or not m.any():
                self.edge_bps_[c] = float("nan") if c != NONE else 0.0
                self.confidence_[c] = float("nan")
                continue
            self.edge_bps_[c] = float(np.mean(d * f[m]))
            mv = m & (f != 0)
            self.confidence_[c] = float(np.mean(np.sign(f[mv]) == d)) if mv.any() else float("nan")
        return self

    def predict(self, composite) -> pd.DataFrame:
        """Columns ``code`` (int8), ``signal`` (name), ``strength`` = ``|S|``, ``confidence``,
        ``expected_edge_bps`` (NaN before :meth:`fit`)."""
        s = np.asarray(composite, dtype=np.float64)
        code = classify(s, self.weak, self.strong)
        conf = np.array([self.confidence_.get(int(c), np.nan) for c in CODES])
        edge = np.array([self.edge_bps_.get(int(c), np.nan) for c in CODES])
        idx = code.astype(np.int64) + 2
        return pd.DataFrame({"code": code, "signal": pd.Categorical.from_codes(idx, [SIGNAL_NAMES[c] for c in CODES]),
                             "strength": np.abs(s), "confidence": conf[idx],
                             "expected_edge_bps": edge[idx]})


# --------------------------------------------------------------------------------------------
# threshold sweep and out-of-sample calibration
# --------------------------------------------------------------------------------------------
def sample_on_grid(ts, values: dict, step_ns: int, t0: int | None = None) -> pd.DataFrame:
    """Sample per-event series on a clock grid: at each grid time ``T`` the value after the last
    event with ``ts <= T`` (no lookahead). Non-overlapping grid samples make a sweep's trades
    less dependent than one trade per event.

    Examples
    --------
    >>> import numpy as np
    >>> sample_on_grid(np.array([0, 4, 12]), {"x": np.array([1.0, 2.0, 3.0])}, step_ns=5, t0=0)
          x
    ts
    5   2.0
    10  2.0
    """
    ts = np.asarray(ts, dtype=np.int64)
    start = int(ts[0] if t0 is None else t0)
    grid = np.arange(start + step_ns, ts[-1] + 1, step_ns, dtype=np.int64)
    j = np.searchsorted(ts, grid, side="right") - 1
    ok = j >= 0
    out = {k: np.asarray(v)[j[ok]] for k, v in values.items()}
    return pd.DataFrame(out, index=pd.Index(grid[ok], name="ts"))


def threshold_sweep(signal, fwd_bps, thresholds, cost_bps: float = 0.0) -> pd.DataFrame:
    """One row per threshold ``theta``: trade every sample with ``|signal| >= theta`` in the
    direction ``sign(signal)``; per-trade P&L ``= sign(signal) x fwd_bps - cost_bps`` (bps).

    Columns: ``trades`` (count), ``hit_rate`` (share of trades with P&L > 0), ``avg_pnl_bps``
    (mean P&L), ``total_pnl_bps``, ``sharpe`` (per-trade Sharpe ``mean / std`` with ``ddof=1``,
    not annualised; NaN under 2 trades or zero dispersion). NaN samples are skipped.

    Examples
    --------
    >>> threshold_sweep([0.1, 0.5, -0.6, 0.2], [2.0, 3.0, -1.0, -1.0], thresholds=[0.0, 0.4])[["trades", "hit_rate", "avg_pnl_bps"]]
               trades  hit_rate  avg_pnl_bps
    threshold
    0.0             4      0.75         1.25
    0.4             2      1.00         2.00
    """
    s = np.asarray(signal, dtype=np.float64)
    f = np.asarray(fwd_bps, dtype=np.float64)
    if s.shape != f.shape:
        raise ValueError("signal and fwd_bps must have the same shape")
    ok = ~(np.isnan(s) | np.isnan(f))
    s, f = s[ok], f[ok]
    rows = []
    for th in thresholds:
        m = (np.abs(s) >= th) & (s != 0)
        pnl = np.sign(s[m]) * f[m] - cost_bps
        n = int(m.sum())
        sd = float(np.std(pnl, ddof=1)) if n > 1 else float("nan")
        rows.append({"threshold": float(th), "trades": n,
                     "hit_rate": float(np.mean(pnl > 0)) if n else float("nan"),
                     "avg_pnl_bps": float(np.mean(pnl)) if n else float("nan"),
                     "total_pnl_bps": float(np.sum(pnl)),
                     "sharpe": float(np.mean(pnl) / sd) if n > 1 and sd > 0 else float("nan")})
    return pd.DataFrame(rows).set_index("threshold")


def calibrate_threshold(signal, fwd_bps, ts, thresholds, *, fit_end: int | None = None,
                        fit_fraction: float = 0.5, horizon_ns: int = 0, cost_bps: float = 0.0,
                        objective: str = "sharpe", min_trades: int = 30) -> dict:
    """Choose the threshold on a fit period, report it on the later test period.

    Fit = samples with ``ts <= fit_end - horizon_ns`` (their forward window ends inside the fit
    period: purged, no label overlap with the test); test = samples with ``ts > fit_end``.
    ``fit_end`` defaults to the ``fit_fraction`` quantile of ``ts``. The chosen threshold
    maximises ``objective`` (a :func:`threshold_sweep` column) among thresholds with at least
    ``min_trades`` fit trades (ties: the smaller threshold). Returns ``{"threshold", "fit_end",
    "fit" (sweep table), "test" (sweep table), "test_row" (the chosen row on the test period)}``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> s = rng.uniform(-1, 1, 400)
    >>> fwd = 2 * s + rng.normal(0, 1, 400)           # the signal carries the move
    >>> r = calibrate_threshold(s, fwd, np.arange(400), [0.0, 0.3, 0.6], min_trades=20)
    >>> r["threshold"], r["fit_end"], int(r["test_row"]["trades"])
    (0.6, 199, 88)
    """
    t = np.asarray(ts, dtype=np.int64)
    s = np.asarray(signal, dtype=np.float64)
    f = np.asarray(fwd_bps, dtype=np.float64)
    if fit_end is None:
        fit_end = int(np.quantile(t, fit_fraction))
    fit = t <= fit_end - horizon_ns
    test = t > fit_end
    tab_fit = threshold_sweep(s[fit], f[fit], thresholds, cost_bps)
    tab_test = threshold_sweep(s[test], f[test], thresholds, cost_bps)
    if objective not in tab_fit.columns:
        raise ValueError(f"objective must be one of {list(tab_fit.columns)}, got {objective!r}")
    cand = tab_fit[(tab_fit["trades"] >= min_trades) & tab_fit[objective].notna()]
    if cand.empty:
        chosen = float("nan")
        row = pd.Series(np.nan, index=tab_test.columns)
    else:
        chosen = float(cand[objective].idxmax())
        row = tab_test.loc[chosen]
    return {"threshold": chosen, "fit_end": int(fit_end), "fit": tab_fit, "test": tab_test,
            "test_row": row}


# --------------------------------------------------------------------------------------------
# out-of-sample P(up) for the model rule
# --------------------------------------------------------------------------------------------
MODEL_FEATURES = ("ofi_1s", "ofi_10s", "ofi_1min", "ofi_sum5_10s", "vol_imb_1", "vol_imb_5", "dw_imb",
                  "ocount_imb_1", "composite_imb", "spread_ticks", "microprice_dev_ticks", "trade_imb_10s",
                  "trade_imb_1min", "mom_10s", "mom_1min", "rv_1min")
"""Features of the model rule's direction classifier (chapters 7 and 9)."""


@dataclass
class OutOfSampleDirection:
    """Walk-forward ``P(up)`` on a clock grid (:func:`walk_forward_direction`).

    ``X`` features of the grid samples whose label is defined (index = sample time), ``t`` their
    times (ns, the events' time base), ``ret`` the label's forward mid move (bps; looks ahead),
    ``wf`` the :class:`~companion.models.evaluate.WalkForwardResult`, ``pos`` the rows of ``X``
    with a model prediction, ``p_ts`` / ``p_up`` their times and ``P(up)``, ``theta_ofi`` the OFI
    threshold set before the first prediction (median ``|ofi_10s|`` of the samples before it,
    shares).

    Attributes
    ----------
    X : pandas.DataFrame
        Features of the grid samples whose label is defined (index = sample time).
    t : numpy.ndarray
        Their times (ns, the events' time base).
    ret : numpy.ndarray
        The label's forward mid move (bps; looks ahead).
    wf : companion.models.evaluate.WalkForwardResult
        The walk-forward fit.
    pos : numpy.ndarray
        Rows of ``X`` with a model prediction.
    p_ts, p_up : numpy.ndarray
        Times (ns) and ``P(up)`` of those predictions.
    theta_ofi : float
        The OFI threshold set before the first prediction (shares).
    """

    X: pd.DataFrame
    t: np.ndarray
    ret: np.ndarray
    wf: object
    pos: np.ndarray
    p_ts: np.ndarray
    p_up: np.ndarray
    theta_ofi: float

    @property
    def y(self) -> np.ndarray:
        """1 when the mid is higher ``h`` later, else 0 (the label)."""
        return (self.ret > 0).astype(int)


def walk_forward_direction(events: np.ndarray, book: np.ndarray, instrument, horizon_ns: int, *,
                           grid: str = "1s", columns=MODEL_FEATURES, n_splits: int = 5, n_trees: int = 100,
                           baselines: bool = True) -> OutOfSampleDirection:
    """Out-of-sample ``P(up)`` for the model rule: features every ``grid`` (causal,
    :func:`companion.features.compute`), label = mid higher ``horizon_ns`` later
    (:func:`forward_mid_move_bps`), a LightGBM :class:`~companion.models.train.DirectionClassifier`
    fitted by purged walk-forward cross-validation (López de Prado 2018, ch. 7 and 12): every
    prediction comes from a model trained on earlier samples only, overlapping labels purged.

    Features absent from the data (all NaN, e.g. deeper levels of a level-1 book) are dropped.
    With ``baselines`` the metrics also score the majority class, the sign of ``ofi_10s`` and a
    logistic regression on the same folds.

    Examples
    --------
    >>> from companion import synth
    >>> from companion.book import replay
    >>> day = synth.simulate(seed=1, levels=5, config=synth.SynthConfig(session=(34200.0, 35400.0)))
    >>> ev = synth.to_events(day.messages)
    >>> oos = walk_forward_direction(ev, replay(ev, 5), synth.instrument(day.config, 5), 10 * NS,
    ...                              n_splits=3, n_trees=10, baselines=False)
    >>> bool((oos.p_ts > oos.t[0]).all()), bool(((oos.p_up > 0) & (oos.p_up < 1)).all())
    (True, True)
    """
    from companion import features
    from companion.models import DirectionClassifier, PurgedWalkForward, walk_forward_evaluate

    ts = np.asarray(events["ts"], dtype=np.int64)
    fwd = forward_mid_move_bps(ts, mid_price(book), horizon_ns)
    X = features.compute(events, book, instrument, grid=grid)
    t_ns = (X.index - X.index.normalize()).to_numpy().view("i8")   # sample times in the events' time base
    j = np.searchsorted(ts, t_ns, side="right") - 1
    ret = fwd[np.maximum(j, 0)]
    keep = (j >= 0) & ~np.isnan(ret)
    cols = [c for c in columns if X[c].notna().any()]
    Xk, tk, rk = X.loc[keep, cols], t_ns[keep], ret[keep]
    wf = walk_forward_evaluate(Xk, (rk > 0).astype(int), t=tk, t_end=tk + horizon_ns,
                               model_factory=DirectionClassifier(n_estimators=n_trees),
                               cv=PurgedWalkForward(n_splits), ret=rk if baselines else None,
                               baselines=baselines, ofi_column="ofi_10s" if baselines else None)
    pred = wf.predictions
    if baselines:
        pred = pred[pred["model"] == "model"]
    pos = Xk.index.get_indexer(pred.index)
    p_ts, p_up = tk[pos], pred["p_1"].to_numpy()
    theta = float(np.median(np.abs(Xk["ofi_10s"].to_numpy()[tk < p_ts[0]])))
    return OutOfSampleDirection(X=Xk, t=tk, ret=rk, wf=wf, pos=pos, p_ts=p_ts, p_up=p_up, theta_ofi=theta)
