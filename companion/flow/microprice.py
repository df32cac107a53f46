r"""Weighted mid and Stoikov's (2018) micro-price, fitted on one sample and scored on another.

Definitions (Stoikov 2018, Quantitative Finance 18(12)):

* mid :math:`M = (P^a + P^b)/2`; imbalance :math:`I = Q^b / (Q^b + Q^a)`;
* weighted mid :math:`W = I P^a + (1 - I) P^b`;
* micro-price :math:`P^{micro} = M + g(I, S)`,
  :math:`g = \lim_i E[M_{\tau_i} - M_t \mid I, S]` over the times :math:`\tau_i` of the next mid
  changes.

Estimator (Stoikov 2018, sec. 3-4): the book is sampled on a clock grid (``dt``, default 1 s; or
every event); the state is (imbalance bucket, spread bucket), with ``n_imb`` equal-width imbalance
buckets on [0, 1] and, as in the paper, spreads of 1..``n_spread`` ticks (pairs whose spread is not
a state are dropped from the fit, and the micro-price falls back to the mid there). For small-tick
stocks whose spread spans many ticks (the LOBSTER samples: median 13-29 ticks) use
``spread_bins="quantile"``. One observation is :math:`(x_t, x_{t+dt}, \Delta M)` with
:math:`\Delta M = M_{t+dt} - M_t` rounded to half ticks, :math:`\Delta M \in K`.

**The move set K follows the spread regime.** Stoikov's :math:`K = \{\pm\tfrac12, \pm 1\}`
ticks is made for books whose spread is one or two ticks, where the mid rarely moves further in
one step. On a book whose spread is many ticks the mid moves by several ticks at a time (a queue
depleted inside a 14-tick spread moves the mid by half the gap), and truncating K at one tick
drops most of the pairs that moved and shrinks :math:`G^*` towards 0. The default
``max_move="auto"`` therefore keeps **every** move, on the half-tick grid
:math:`K = \{\pm\tfrac12, \pm 1, \dots, \pm H/2\}` with :math:`H/2` the largest
:math:`|\Delta M|` of the fitted sample; a number ``max_move`` reproduces the paper's truncation
(pairs with :math:`|\Delta M| >` ``max_move`` ticks are dropped; ``max_move=1`` gives Stoikov's K).
The fitted model reports the pairs used and dropped (:meth:`MicroPrice.summary`). The data are symmetrised:
each observation :math:`(b, S, b', S', \Delta M)` also enters as
:math:`(n_{imb}-1-b, S, n_{imb}-1-b', S', -\Delta M)`. Row-normalising the counts of each state
gives Q (no mid move, next state), R (mid move of size K) and T (mid move, next state); then

.. math::

    G^1 = (1 - Q)^{-1} R K, \qquad B = (1 - Q)^{-1} T, \qquad
    G^* = G^1 + \sum_{i \ge 1} B^i G^1,

summed until the increment is below ``tol`` (symmetrisation makes it converge, Thm 3.1). A state
never seen has an all-zero row: its adjustment is 0.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from companion.flow.ofi import DUMMY_ABS, as_book, bin_bounds_nb, to_ns

__all__ = ["imbalance_nb", "weighted_mid_nb", "micro_states_nb", "transition_counts_nb",
           "weighted_mid", "MicroPrice", "score_predictors"]


@njit(cache=True)
def imbalance_nb(book: np.ndarray) -> np.ndarray:
    """Level-1 imbalance :math:`I = Q^b / (Q^b + Q^a)` per row (Stoikov 2018, eq. 1).

    Parameters
    ----------
    book : numpy.ndarray
        float64 ``(n, 4L)`` LOBSTER layout.

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)`` in [0, 1]; NaN when a best level is empty.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 1]])
    >>> imbalance_nb(book).tolist()
    [0.25]
    """
    n = book.shape[0]
    out = np.empty(n)
    for i in range(n):
        qa = book[i, 1]
        qb = book[i, 3]
        if abs(book[i, 0]) >= DUMMY_ABS or abs(book[i, 2]) >= DUMMY_ABS or qa + qb <= 0:
            out[i] = np.nan
        else:
            out[i] = qb / (qa + qb)
    return out


@njit(cache=True)
def weighted_mid_nb(book: np.ndarray) -> np.ndarray:
    """Weighted mid :math:`W = I P^a + (1 - I) P^b` per row (Stoikov 2018, eq. 2).

    Parameters
    ----------
    book : numpy.ndarray
        float64 ``(n, 4L)`` LOBSTER layout.

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)`` in price units; NaN when a best level is empty.
    """
    imb = imbalance_nb(book)
    n = book.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = imb[i] * book[i, 0] + (1.0 - imb[i]) * book[i, 2]
    return out


@njit(cache=True)
def micro_states_nb(book: np.ndarray, tick: float, n_imb: int, spread_edges: np.ndarray) -> np.ndarray:
    r"""Micro-price state index per row: ``spread_bucket * n_imb + imbalance_bucket``.

    Imbalance buckets are equal-width, :math:`b = \min(\lfloor I\,n_{imb} \rfloor, n_{imb} - 1)`.
    Spread bucket j holds spreads (in ticks) in ``[spread_edges[j], spread_edges[j+1])``; Stoikov's
    states "spread = 1..m ticks" are ``spread_edges = [0.5, 1.5, ..., m + 0.5]``.

    Parameters
    ----------
    book : numpy.ndarray
        float64 ``(n, 4L)`` LOBSTER layout.
    tick : float
        Tick size in price units.
    n_imb : int
        Imbalance buckets.
    spread_edges : numpy.ndarray
        float64 increasing edges in ticks.

    Returns
    -------
    numpy.ndarray
        int64 ``(n,)``; -1 when the row is not a state (one-sided book or spread outside the edges).

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 1]])
    >>> micro_states_nb(book, 1.0, 4, np.array([0.5, 1.5, 2.5])).tolist()
    [1]
    """
    imb = imbalance_nb(book)
    n = book.shape[0]
    m = spread_edges.shape[0] - 1
    out = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        if np.isnan(imb[i]):
            continue
        s = (book[i, 0] - book[i, 2]) / tick
        if s < spread_edges[0] or s >= spread_edges[m]:
            continue
        j = np.searchsorted(spread_edges, s, side="right") - 1
        b = int(np.floor(imb[i] * n_imb))
        if b > n_imb - 1:
            b = n_imb - 1
        out[i] = j * n_imb + b
    return out


@njit(cache=True)
def transition_counts_nb(state: np.ndarray, mid: np.ndarray, tick: float, n_imb: int, n_states: int,
                         max_half_ticks: int, lag: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Symmetrised counts of :math:`(x_t \to x_{t+lag}, \Delta M)` over a sampled state sequence.

    :math:`\Delta M` is rounded to half ticks :math:`h`; pairs with :math:`|h| > H` (``max_half_ticks``)
    are skipped. Each pair also enters mirrored: imbalance bucket :math:`b \to n_{imb} - 1 - b`, same
    spread bucket, :math:`h \to -h` (Stoikov 2018, sec. 3).

    Parameters
    ----------
    state : numpy.ndarray
        int64 states (:func:`micro_states_nb`; -1 = skip).
    mid : numpy.ndarray
        float64 mid per sample (price units).
    tick : float
        Tick size in price units.
    n_imb, n_states : int
        Imbalance buckets and total states.
    max_half_ticks : int
        :math:`H`.
    lag : int
        Samples between the two ends of a pair.

    Returns
    -------
    Qc : numpy.ndarray
        ``(ns, ns)`` no-move transitions.
    Rc : numpy.ndarray
        ``(ns, 2H)`` moves :math:`h = -H..-1, 1..H` (column :math:`h + H` for :math:`h < 0`,
        :math:`h + H - 1` for :math:`h > 0`).
    Tc : numpy.ndarray
        ``(ns, ns)`` move transitions.
    """
    H = max_half_ticks
    Qc = np.zeros((n_states, n_states))
    Rc = np.zeros((n_states, 2 * H))
    Tc = np.zeros((n_states, n_states))
    for t in range(state.shape[0] - lag):
        x = state[t]
        y = state[t + lag]
        if x < 0 or y < 0:
            continue
        h = int(round(2.0 * (mid[t + lag] - mid[t]) / tick))
        if h < -H or h > H:
            continue
        xs = (x // n_imb) * n_imb + (n_imb - 1 - x % n_imb)
        ys = (y // n_imb) * n_imb + (n_imb - 1 - y % n_imb)
        if h == 0:
            Qc[x, y] += 1.0
            Qc[xs, ys] += 1.0
        else:
            k = h + H if h < 0 else h + H - 1
            Rc[x, k] += 1.0
            Rc[xs, 2 * H - 1 - k] += 1.0
            Tc[x, y] += 1.0
            Tc[xs, ys] += 1.0
    return Qc, Rc, Tc


def weighted_mid(book) -> np.ndarray:
    """Weighted (imbalance-weighted) mid :math:`W = I P^a + (1 - I) P^b` (Stoikov 2018, eq. 2).

    Parameters
    ----------
    book : array_like
        ``(n, 4L)`` LOBSTER layout.

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)``, price units; NaN when a best level is empty.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 1]])
    >>> weighted_mid(book).tolist()
    [100.25]
    """
    return weighted_mid_nb(as_book(book))


class MicroPrice:
    r"""Stoikov (2018) micro-price estimator (see the module docstring for the construction).

    Parameters
    ----------
    n_imb : int
        Imbalance buckets (equal width on [0, 1]).
    n_spread : int
        Spread states.
    spread_bins : str or array_like
        ``"ticks"`` (Stoikov): spreads of exactly 1..n_spread ticks; ``"quantile"``: n_spread
        buckets at the quantiles of the fitted sample's spread (for small-tick stocks whose spread
        spans many ticks); or an explicit array of n_spread + 1 edges in ticks.
    max_move : float or str
        Largest mid change kept, in ticks. ``"auto"`` (default): every move of the fitted sample
        (K on the half-tick grid up to the largest move seen: the move set follows the spread
        regime); 1: Stoikov's :math:`K = \{-1, -\tfrac12, \tfrac12, 1\}`, made for 1-2 tick spreads.
    dt : str or None
        Sampling step (``"1s"``), or None to sample every event (event time).
    tick : float
        Tick size in price units.
    tol, max_iter : float, int
        Stopping rule of the series :math:`G^*`.

    Attributes
    ----------
    g_ : numpy.ndarray
        ``(n_spread, n_imb)`` adjustment :math:`g(I, S)` in ticks.
    spread_edges_ : numpy.ndarray
        Spread bucket edges (ticks).
    K_ : numpy.ndarray
        Mid moves kept (ticks).
    G1_ : numpy.ndarray
        :math:`G^1` of the module docstring.
    B_ : numpy.ndarray
        :math:`B` of the module docstring.
    n_iter_ : int
        Terms of the series summed.
    counts_ : numpy.ndarray
        Symmetrised observations per state.
    n_obs_ : int
        Pairs used, before symmetrising.
    n_pairs_ : int
        Pairs whose two ends are both states (used + dropped).
    n_dropped_ : int
        Pairs dropped (:math:`|\Delta M| >` ``max_move``; 0 with ``"auto"``).

    References
    ----------
    Stoikov (2018), The micro-price: a high-frequency estimator of future prices, Quantitative
    Finance 18(12), eqs. 1-3, Thm 3.1.

    Examples
    --------
    >>> mp = MicroPrice(n_imb=10, n_spread=2, tick=100).fit(d.book, d.events["ts"])  # doctest: +SKIP
    >>> mp.predict(d.book)                                                            # doctest: +SKIP
    """

    def __init__(self, n_imb: int = 10, n_spread: int = 2, spread_bins="ticks", max_move="auto", dt="1s",
                 tick: float = 1.0, tol: float = 1e-12, max_iter: int = 10_000):
        self.n_imb = n_imb
        self.n_spread = n_spread
        self.spread_bins = spread_bins
        self.max_move = max_move
        self.dt = dt
        self.tick = tick
        self.tol = tol
        self.max_iter = max_iter

    def _rows(self, ts: np.ndarray, t0: int | None, t1: int | None) -> np.ndarray:
        """Rows of the sampled states on [t0, t1]: every ``dt`` (state at t0 + k dt), or every event."""
        t0 = int(ts[0]) if t0 is None else int(t0)
        t1 = int(ts[-1]) if t1 is None else int(t1)
        if self.dt is None:
            return np.flatnonzero((ts >= t0) & (ts <= t1))
        dt = to_ns(self.dt)
        return bin_bounds_nb(ts, t0, dt, max((t1 - t0) // dt, 1))

    def _edges(self, sb: np.ndarray) -> np.ndarray:
        if isinstance(self.spread_bins, str) and self.spread_bins == "ticks":
            return np.arange(self.n_spread + 1) + 0.5
        if isinstance(self.spread_bins, str) and self.spread_bins == "quantile":
            ok = (np.abs(sb[:, 0]) < DUMMY_ABS) & (np.abs(sb[:, 2]) < DUMMY_ABS)
            s = (sb[ok, 0] - sb[ok, 2]) / self.tick
            e = np.unique(np.quantile(s, np.linspace(0, 1, self.n_spread + 1)))
            if len(e) < 2:  # one spread only: one bucket
                e = np.append(e, e[-1])
            e[-1] = np.nextafter(e[-1], np.inf)  # the largest spread belongs to the last bucket
            return e
        e = np.asarray(self.spread_bins, dtype=np.float64)
        if e.ndim != 1 or len(e) < 2 or np.any(np.diff(e) <= 0):
            raise ValueError("spread_bins must be 'ticks', 'quantile' or increasing edges (ticks)")
        return e

    def fit(self, book, ts, t0: int | None = None, t1: int | None = None) -> MicroPrice:
        """Estimate :math:`g(I, S)` from the book sampled every ``dt`` (or every event) on ``[t0, t1]``.

        Parameters
        ----------
        book : array_like
            ``(n, 4L)`` LOBSTER layout.
        ts : array_like
            int64 ns per row.
        t0, t1 : int, optional
            Fit window (ns); default the whole sample.

        Returns
        -------
        MicroPrice
            ``self``, fitted.
        """
        b = as_book(book)
        ts = np.ascontiguousarray(ts, dtype=np.int64)
        sb = b[self._rows(ts, t0, t1)]
        self.spread_edges_ = self._edges(sb)
        ns_spread = len(self.spread_edges_) - 1
        ns = self.n_imb * ns_spread
        state = micro_states_nb(sb, float(self.tick), self.n_imb, self.spread_edges_)
        mid = 0.5 * (sb[:, 0] + sb[:, 2])
        both = (state[:-1] >= 0) & (state[1:] >= 0)
        if isinstance(self.max_move, str):
            if self.max_move != "auto":
                raise ValueError(f"max_move must be 'auto' or a number of ticks, got {self.max_move!r}")
            h = np.round(2.0 * np.diff(mid)[both] / float(self.tick))
            H = max(int(np.abs(h).max()) if h.size else 1, 1)
        else:
            if not float(self.max_move) > 0:
                raise ValueError(f"max_move must be 'auto' or a positive number of ticks, got {self.max_move!r}")
            H = max(int(round(2 * float(self.max_move))), 1)
        Qc, Rc, Tc = transition_counts_nb(state, mid, float(self.tick), self.n_imb, ns, H, 1)
        tot = Qc.sum(1) + Rc.sum(1)
        inv = np.where(tot > 0, 1.0 / np.maximum(tot, 1.0), 0.0)
        Q, R, T = Qc * inv[:, None], Rc * inv[:, None], Tc * inv[:, None]
        self.K_ = np.concatenate([np.arange(-H, 0), np.arange(1, H + 1)]) / 2.0
        rhs = np.column_stack([R @ self.K_, T])
        try:
            A = np.linalg.solve(np.eye(ns) - Q, rhs)
        except np.linalg.LinAlgError:  # a state that never leaves itself without a mid move
            A = np.linalg.pinv(np.eye(ns) - Q) @ rhs
        G1, B = A[:, 0], A[:, 1:]
        G, term, it = G1.copy(), G1.copy(), 0
        while it < self.max_iter:
            term = B @ term
            G += term
            it += 1
            if np.abs(term).max() < self.tol:
                break
        self.G1_, self.B_, self.n_iter_ = G1, B, it
        self.g_ = G.reshape(ns_spread, self.n_imb)
        self.counts_ = tot.reshape(ns_spread, self.n_imb)
        self.n_obs_ = int(Qc.sum() + Rc.sum()) // 2
        self.n_pairs_ = int(both.sum())
        self.n_dropped_ = self.n_pairs_ - self.n_obs_
        return self

    def summary(self) -> dict:
        """What the fit used: pairs used / total / dropped, the move set and the range of :math:`G^*`.

        Returns
        -------
        dict
            ``pairs_used``, ``pairs_total`` (pairs whose two ends are states), ``pairs_dropped``,
            ``share_used``, ``max_move_ticks`` (largest move in K), ``g_min_ticks`` and
            ``g_max_ticks`` (range of :math:`G^*` over the states seen), ``spread_edges_ticks``.

        Examples
        --------
        >>> import numpy as np
        >>> book = np.array([[101., 5, 100, 5], [102, 5, 101, 1], [100, 1, 99, 5]] * 50)  # 1-tick spread
        >>> ts = np.arange(150, dtype=np.int64) * 10**9
        >>> s = MicroPrice(n_imb=2, n_spread=1, tick=1.0).fit(book, ts).summary()
        >>> s["pairs_used"], s["pairs_total"], s["pairs_dropped"], s["max_move_ticks"]
        (149, 149, 0, 2.0)
        >>> MicroPrice(n_imb=2, n_spread=1, tick=1.0, max_move=1).fit(book, ts).summary()["pairs_dropped"]
        50
        """
        seen = self.counts_ > 0
        g = self.g_[seen] if seen.any() else np.zeros(1)
        return {"pairs_used": int(self.n_obs_), "pairs_total": int(self.n_pairs_),
                "pairs_dropped": int(self.n_dropped_),
                "share_used": float(self.n_obs_ / self.n_pairs_) if self.n_pairs_ else float("nan"),
                "max_move_ticks": float(np.abs(self.K_).max()),
                "g_min_ticks": float(g.min()), "g_max_ticks": float(g.max()),
                "spread_edges_ticks": [float(e) for e in self.spread_edges_]}

    def adjustment(self, book) -> np.ndarray:
        """:math:`g(I, S)` per row in ticks (0 outside the fitted states).

        Parameters
        ----------
        book : array_like
            ``(n, 4L)`` LOBSTER layout.

        Returns
        -------
        numpy.ndarray
            float64 ``(n,)``, ticks.
        """
        state = micro_states_nb(as_book(book), float(self.tick), self.n_imb, self.spread_edges_)
        g = self.g_.ravel()
        return np.where(state >= 0, g[np.maximum(state, 0)], 0.0)

    def predict(self, book) -> np.ndarray:
        r"""Micro-price per row, :math:`M + g(I, S)\cdot\text{tick}` (price units).

        Parameters
        ----------
        book : array_like
            ``(n, 4L)`` LOBSTER layout.

        Returns
        -------
        numpy.ndarray
            float64 ``(n,)``, price units.
        """
        b = as_book(book)
        return 0.5 * (b[:, 0] + b[:, 2]) + self.adjustment(b) * self.tick

    def table(self) -> pd.DataFrame:
        """:math:`g(I, S)` in ticks as a table.

        Returns
        -------
        pandas.DataFrame
            Rows = spread bucket (lower edge, ticks), columns = imbalance bucket midpoints.
        """
        mids = (np.arange(self.n_imb) + 0.5) / self.n_imb
        return pd.DataFrame(self.g_, index=pd.Index(self.spread_edges_[:-1], name="spread_ticks_from"),
                            columns=pd.Index(np.round(mids, 4), name="imbalance"))


def score_predictors(book, ts, *, tick: float = 1.0, split: float = 0.5, horizons=("1s", "10s", "60s", "180s"),
                     dt="1s", t0: int | None = None, t1: int | None = None, **model_kw) -> tuple[pd.DataFrame, MicroPrice]:
    r"""Fit the micro-price on the first ``split`` of ``[t0, t1]`` and score it on the rest.

    On the test part, sampled every ``dt``: mean squared error (ticks squared) of mid, weighted mid
    and micro-price at :math:`t` as predictors of the mid at :math:`t + h`,
    :math:`\mathrm{MSE}_h = \overline{(\hat P_t - M_{t+h})^2}/\text{tick}^2`, for each horizon
    :math:`h` (only times whose state is two-sided and :math:`t + h \le t_1`).

    Parameters
    ----------
    book : array_like
        ``(n, 4L)`` LOBSTER layout.
    ts : array_like
        int64 ns per row.
    tick : float
        Tick size in price units.
    split : float
        Fraction of ``[t0, t1]`` used to fit.
    horizons : list of str
        Prediction horizons.
    dt : str
        Sampling step of the model and of the scoring grid.
    t0, t1 : int, optional
        Sample window (ns).
    **model_kw
        Passed to :class:`MicroPrice` (``n_imb``, ``n_spread``, ``spread_bins``, ``max_move``).

    Returns
    -------
    table : pandas.DataFrame
        Index = horizon; columns ``mse_mid``, ``mse_weighted_mid``, ``mse_micro``, ``n``.
    model : MicroPrice
        The fitted model.

    References
    ----------
    Stoikov (2018), sec. 4 (out-of-sample comparison of mid, weighted mid and micro-price).

    Examples
    --------
    On a one-minute synthetic day (fit on the first 30 s, score on the last 30 s):

    >>> from companion import synth
    >>> day = synth.simulate(seed=1, levels=5, config=synth.SynthConfig(session=(34200.0, 34260.0)))
    >>> table, model = score_predictors(day.orderbook, day.messages["time_ns"], tick=100, horizons=("1s", "10s"))
    >>> list(table.index), list(table.columns)
    (['1s', '10s'], ['n', 'mse_mid', 'mse_weighted_mid', 'mse_micro'])
    >>> bool((table["n"] > 0).all()), isinstance(model, MicroPrice)
    (True, True)
    """
    b = as_book(book)
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    t0 = int(ts[0]) if t0 is None else int(t0)
    t1 = int(ts[-1]) if t1 is None else int(t1)
    ts_split = t0 + int(split * (t1 - t0))
    model = MicroPrice(dt=dt, tick=tick, **model_kw).fit(b, ts, t0, ts_split)
    step = to_ns(dt)
    n = (t1 - ts_split) // step
    rows = bin_bounds_nb(ts, ts_split, step, n)
    sb = b[rows]
    mid = 0.5 * (sb[:, 0] + sb[:, 2])
    preds = {"mid": mid, "weighted_mid": weighted_mid_nb(sb), "micro": model.predict(sb)}
    ok_now = (np.abs(sb[:, 0]) < DUMMY_ABS) & (np.abs(sb[:, 2]) < DUMMY_ABS)
    out = []
    for h in horizons:
        lag = to_ns(h) // step
        if lag < 1 or lag >= len(rows):
            continue
        fut = mid[lag:]
        ok = ok_now[:-lag] & ok_now[lag:]
        row = {"horizon": str(h), "n": int(ok.sum())}
        for name, p in preds.items():
            err = (fut - p[:-lag])[ok] / tick
            row[f"mse_{name}"] = float(np.mean(err ** 2))
        out.append(row)
    return pd.DataFrame(out).set_index("horizon"), model
