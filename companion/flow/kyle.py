r"""Price impact of order flow: CKS window regressions, the depth law, Kyle's lambda, multi-level and
integrated OFI.

Cont, Kukanov & Stoikov (2014) (CKS): inside each window :math:`i` (30 min) of bins :math:`k`
(10 s),

.. math::

    \Delta P_k &= \alpha_i + \beta_i\,\mathrm{OFI}_k + \varepsilon_k
        \quad \text{(eq. 7/14, OLS)} \\
    \Delta P_k &= \alpha + \beta\,\mathrm{OFI}_k + \gamma\,\mathrm{OFI}_k |\mathrm{OFI}_k| + \varepsilon_k
        \quad \text{(eq. 15, quadratic-term test)} \\
    \Delta P_k &= \alpha + \theta\,\mathrm{TI}_k + \varepsilon_k \text{ (and with } \mathrm{OFI}_k)
        \quad \text{(eq. 16a/b, TI = buy - sell volume)} \\
    \beta_i &= c / D_i^{\lambda} + \nu_i \;\Rightarrow\;
        \log \beta_i = \log c - \lambda \log D_i \quad \text{(eq. 8, log-log OLS)}

:math:`\Delta P` = mid change in ticks (eq. 11); OFI, TI and D in lots of ``size_unit`` shares
(CKS: round lots, ``size_unit = 100``). The stylised book (depth D beyond the best) gives
:math:`\beta = 1/(2D)`, i.e. :math:`c = 1/2, \lambda = 1` (eq. 3-4).

Depth :math:`D_i` (CKS p.10: "the average queue size just before or after a price change,
averaged over bid and ask"). Our exact choice, ``depth="cks"``: at every move of a best price,
take the queue one level away from the touch -- the newly exposed best queue just AFTER a
depletion (bid down, ask up), the overtaken best queue just BEFORE an improvement (bid up, ask
down); :math:`D_i` is the mean of these samples over both sides in the window (the plain mean
when the window has no price move). In the stylised book every sample equals D, so the depth law
is recovered exactly (tested). ``depth="mean"``: the event average of :math:`(q^B + q^A)/2` over
all rows of the window. Which of the two is larger depends on the data: CKS report that the plain
average gives a :math:`\hat c` about 40% lower on their stocks, while on the course's synthetic day
the event average is the larger (1.587 against 1.535 lots in chapter 2, exercise 2.3), so compare
both rather than assume a direction.

Multi-level / integrated OFI (Cont, Cucuringu & Zhang 2023, CCZ): per window, OLS of
:math:`\Delta P` on the depth-normalised level-1 OFI, on all L normalised levels, and on the
integrated OFI whose PC1 weights come from the PREVIOUS window (first window: NaN). CCZ regress
log returns at 1 min; here the dependent variable is :math:`\Delta P` in ticks at the same bins as
CKS (within one stock-day the two differ by a near-constant factor). Gains are reported in
adjusted :math:`R^2` (L regressors vs 1).

OLS is plain numpy (``lstsq``) with classical (homoskedastic) standard errors; "significant"
means :math:`|t| >` ``t_crit`` (default 1.96, 5% two-sided).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit

from companion.flow.ofi import (
    as_book,
    bin_bounds,
    clean_sizes_nb,
    integrated_ofi,
    mid_nb,
    ofi_events_nb,
    ofi_multilevel_events_nb,
    pc1_weights,
    segment_depth_nb,
    segment_sums_nb,
    to_ns,
)

__all__ = [
    "ols", "depth_at_price_changes_nb", "window_depth", "ImpactResult", "impact_regressions",
    "depth_law", "kyle_lambda", "summarise_impact",
]


def ols(y, X, const: bool = True) -> dict:
    r"""OLS of ``y`` on ``X`` (plus an intercept first); rows with NaN dropped.

    .. math::

        \hat b = (X^\top X)^{-1} X^\top y, \quad
        \mathrm{se} = \sqrt{\operatorname{diag}(s^2 (X^\top X)^{-1})}, \quad
        s^2 = \frac{\mathrm{RSS}}{n-k}, \quad R^2 = 1 - \frac{\mathrm{RSS}}{\mathrm{TSS}}

    (TSS centred when ``const``; adjusted :math:`R^2 = 1 - (1-R^2)(n-1)/(n-k)`).

    Parameters
    ----------
    y : array_like
        ``(n,)``.
    X : array_like
        ``(n,)`` or ``(n, k)`` regressors.
    const : bool
        Add an intercept (first coefficient).

    Returns
    -------
    dict
        ``coef``, ``se``, ``t`` (arrays, intercept first when ``const``), ``r2``, ``adj_r2``, ``n``,
        ``k`` (regressors incl. intercept), ``resid``. Degenerate fits (:math:`n \le k`, singular X,
        zero TSS) give NaN statistics.

    References
    ----------
    Greene, Econometric Analysis, ch. 4 (classical OLS standard errors).

    Examples
    --------
    >>> import numpy as np
    >>> r = ols(np.array([1., 3, 5, 7.5]), np.array([0., 1, 2, 3]))
    >>> np.round(r["coef"], 3).tolist(), r["n"], r["k"]
    ([0.9, 2.15], 4, 2)
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if const:
        X = np.column_stack([np.ones(len(y)), X])
    ok = np.isfinite(y) & np.isfinite(X).all(axis=1)
    y, X = y[ok], X[ok]
    n, k = X.shape
    nan = np.full(k, np.nan)
    res = {"coef": nan.copy(), "se": nan.copy(), "t": nan.copy(), "r2": np.nan, "adj_r2": np.nan, "n": int(n), "k": int(k),
           "resid": np.full(n, np.nan)}
    if n <= k:
        return res
    coef, _, rank, _ = np.linalg.lstsq(X, y, rcond=None)
    if rank < k:
        return res
    resid = y - X @ coef
    rss = float(resid @ resid)
    tss = float(((y - y.mean()) ** 2).sum() if const else (y @ y))
    s2 = rss / (n - k)
    cov = s2 * np.linalg.inv(X.T @ X)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = coef / se
    res.update(coef=coef, se=se, t=t, resid=resid)
    if tss > 0:
        r2 = 1.0 - rss / tss
        res["r2"] = r2
        res["adj_r2"] = 1.0 - (1.0 - r2) * (n - 1) / (n - k) if const else np.nan
    return res


@njit(cache=True)
def depth_at_price_changes_nb(book: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Per segment (rows ``bounds[k]+1 .. bounds[k+1]``): sum and count of the CKS depth samples.

    At each row :math:`n` where a best price moves, sample the queue that is one level away from the
    touch, i.e. the depth D of the stylised book, seen just after or just before the change: bid
    down :math:`\to q^B_n` (after); bid up :math:`\to q^B_{n-1}` (before; it becomes level 2); ask up
    :math:`\to q^A_n` (after); ask down :math:`\to q^A_{n-1}` (before). Empty levels (dummy prices)
    are skipped. In the stylised book every sample equals D (CKS 2014, p. 10).

    Parameters
    ----------
    book : numpy.ndarray
        float64 ``(n, 4L)`` LOBSTER layout.
    bounds : numpy.ndarray
        int64 segment bounds (:func:`companion.flow.ofi.bin_bounds_nb`).

    Returns
    -------
    total : numpy.ndarray
        float64 sum of the samples per segment (size units).
    count : numpy.ndarray
        int64 number of samples per segment.
    """
    nseg = bounds.shape[0] - 1
    tot = np.zeros(nseg)
    cnt = np.zeros(nseg, dtype=np.int64)
    for k in range(nseg):
        for i in range(max(bounds[k] + 1, 1), bounds[k + 1] + 1):
            pb0, pb = book[i - 1, 2], book[i, 2]
            if pb != pb0:
                r = i if pb < pb0 else i - 1
                if abs(book[r, 2]) < 9.0e9:
                    tot[k] += book[r, 3]
                    cnt[k] += 1
            pa0, pa = book[i - 1, 0], book[i, 0]
            if pa != pa0:
                r = i if pa > pa0 else i - 1
                if abs(book[r, 0]) < 9.0e9:
                    tot[k] += book[r, 1]
                    cnt[k] += 1
    return tot, cnt


def window_depth(book, bounds: np.ndarray, method: str = "cks") -> np.ndarray:
    r"""Average level-1 depth :math:`D_k` per segment (size units), CKS (2014) p. 10.

    ``"cks"``: :math:`D_k` = mean of the queues one level from the touch sampled at every move
    of a best price (:func:`depth_at_price_changes_nb`); ``"mean"``: event average of
    :math:`(q^B_n + q^A_n)/2` over the segment's rows.

    Parameters
    ----------
    book : array_like
        ``(n, 4L)`` LOBSTER layout (price units, size units).
    bounds : numpy.ndarray
        int64 segment bounds: segment ``k`` is rows ``bounds[k]+1 .. bounds[k+1]``
        (:func:`companion.flow.ofi.bin_bounds_nb`).
    method : str
        ``"cks"`` (samples at price changes, falling back to the mean for a segment without any) or
        ``"mean"`` (event average of :math:`(q^B + q^A)/2`); see the module docstring.

    Returns
    -------
    numpy.ndarray
        float64 per segment.

    Raises
    ------
    ValueError
        For an unknown ``method``.

    References
    ----------
    Cont, Kukanov & Stoikov (2014), The Price Impact of Order Book Events, J. Financial
    Econometrics 12(1), p. 10 (depth at price changes).

    Examples
    --------
    The bid queue at 100 depletes (the queue of 8 at 99 is exposed), then the ask moves up
    (its new queue holds 4): the CKS samples are 8 and 4.

    >>> import numpy as np
    >>> book = np.array([[101.0, 3, 100, 5], [101.0, 3, 99, 8], [102.0, 4, 99, 8]])
    >>> window_depth(book, np.array([-1, 2])).tolist(), window_depth(book, np.array([-1, 2]), "mean").round(3).tolist()
    ([6.0], [5.167])
    """
    b = as_book(book)
    mean = segment_depth_nb(clean_sizes_nb(b, 1), bounds, 1)
    if method == "mean":
        return mean
    if method != "cks":
        raise ValueError(f"depth method must be 'cks' or 'mean', got {method!r}")
    tot, cnt = depth_at_price_changes_nb(b, bounds)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), mean)


def depth_law(beta, depth) -> dict:
    r"""Fit the CKS depth law :math:`\log \beta_i = \log c - \lambda \log D_i` (CKS 2014 eq. 8).

    Uses the windows with :math:`\beta > 0` and :math:`D > 0`.

    Parameters
    ----------
    beta : array_like
        Per-window price impact, ticks per lot.
    depth : array_like
        Per-window depth, lots.

    Returns
    -------
    dict
        ``c`` (ticks), ``lambda``, ``r2``, ``n``, ``t_lambda``, ``se_lambda``. The stylised book
        gives :math:`c = 1/2, \lambda = 1`.

    References
    ----------
    Cont, Kukanov & Stoikov (2014), eq. 8 and Table 4.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.array([1., 2, 4, 8])
    >>> r = depth_law(1 / (2 * D), D)
    >>> round(r["c"], 6), round(r["lambda"], 6)
    (0.5, 1.0)
    """
    beta = np.asarray(beta, dtype=np.float64)
    depth = np.asarray(depth, dtype=np.float64)
    ok = np.isfinite(beta) & np.isfinite(depth) & (beta > 0) & (depth > 0)
    r = ols(np.log(beta[ok]), np.log(depth[ok]))
    return {"c": float(np.exp(r["coef"][0])), "lambda": float(-r["coef"][1]), "r2": float(r["r2"]), "n": r["n"],
            "t_lambda": float(-r["t"][1]), "se_lambda": float(r["se"][1])}


@dataclass
class ImpactResult:
    """Output of :func:`impact_regressions`.

    Attributes
    ----------
    windows : pandas.DataFrame
        One row per regression window.
    bins : pandas.DataFrame
        The bin-level data.
    summary : dict
        :func:`summarise_impact` of ``windows``.
    """

    windows: pd.DataFrame
    bins: pd.DataFrame
    summary: dict = field(default_factory=dict)


def impact_regressions(book, ts, signed_volume=None, *, tick: float = 1.0, size_unit: float = 100.0,
                       freq="10s", window="30min", t0: int | None = None, t1: int | None = None,
                       levels: int | None = None, depth: str = "cks", t_crit: float = 1.96,
                       min_bins: int = 10) -> ImpactResult:
    r"""CKS (2014) per-window impact regressions, plus TI, depth, multi-level and integrated OFI.

    See the module docstring for the regressions (CKS eqs. 7, 8, 14-16; CCZ 2023 eqs. 1-3).

    Parameters
    ----------
    book : array_like
        ``(n, 4L)`` LOBSTER-layout snapshots (row i = after event i).
    ts : array_like
        int64 ns per row.
    signed_volume : array_like, optional
        Per-row aggressor-signed traded volume
        (:func:`companion.flow.tradesign.signed_volume_events`); None skips the TI regressions.
    tick : float
        Tick size in price units (LOBSTER: 100).
    size_unit : float
        Shares per lot (CKS: 100).
    freq, window : str or int
        Bin width and regression window (CKS: 10 s in 30 min); windows are aligned to ``t0``.
    t0, t1 : int, optional
        Session open (default the first ts floored to ``window``) and end (ns).
    levels : int, optional
        Levels used for multi-level OFI (default all in the book; 1 disables it).
    depth : str
        ``"cks"`` or ``"mean"`` (module docstring).
    t_crit : float
        :math:`|t|` above which a coefficient counts as significant.
    min_bins : int
        Windows with fewer bins are dropped.

    Returns
    -------
    ImpactResult
        ``windows`` (one row per window: ``start_ns``, ``n``, ``alpha``, ``beta``, ``t_alpha``,
        ``t_beta``, ``r2``, ``gamma``/``t_gamma`` (the :math:`\mathrm{OFI}|\mathrm{OFI}|` term),
        ``ti_beta``, ``t_ti``, ``r2_ti``, ``r2_joint``, ``t_ofi_joint``, ``t_ti_joint``, ``depth``
        (lots), ``r2_ofi1n``, ``r2_ml``, ``adj_r2_ofi1n``, ``adj_r2_ml``, ``r2_int``,
        ``pc1_share``), ``bins`` (``ofi``, ``dp``, ``ti``, ``window``, normalised ``ofi1..ofiL``) and
        ``summary`` (:func:`summarise_impact`).

    References
    ----------
    Cont, Kukanov & Stoikov (2014), The Price Impact of Order Book Events, J. Financial
    Econometrics 12(1), eqs. 7-8, 14-16; Cont, Cucuringu & Zhang (2023), eqs. 1-3.

    Examples
    --------
    >>> res = impact_regressions(d.book, d.events["ts"], sv, tick=100)   # doctest: +SKIP
    >>> res.summary["beta_mean"]                                          # doctest: +SKIP
    """
    b = as_book(book)
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    if len(ts) != b.shape[0]:
        raise ValueError(f"ts has {len(ts)} rows but book has {b.shape[0]}")
    dt, wdt = to_ns(freq), to_ns(window)
    if wdt % dt:
        raise ValueError(f"window {window!r} is not a multiple of the bin {freq!r}")
    per = wdt // dt
    if t0 is None:
        t0 = int(ts[0]) // wdt * wdt
    edges, bounds = bin_bounds(ts, dt, t0, t1)
    nb = len(bounds) - 1
    e = ofi_events_nb(b)
    ofi = segment_sums_nb(e.reshape(-1, 1), bounds)[:, 0] / size_unit
    mid = mid_nb(b)
    dp = (mid[bounds[1:]] - mid[bounds[:-1]]) / tick
    bins = pd.DataFrame({"ofi": ofi, "dp": dp, "n_events": np.diff(bounds), "window": np.arange(nb) // per},
                        index=pd.Index(edges[1:], name="t_end_ns"))
    if signed_volume is not None:
        sv = np.ascontiguousarray(signed_volume, dtype=np.float64).reshape(-1, 1)
        bins["ti"] = segment_sums_nb(sv, bounds)[:, 0] / size_unit
    L = b.shape[1] // 4 if levels is None else int(levels)
    if L > 1:
        E = ofi_multilevel_events_nb(b, L)
        D = segment_depth_nb(clean_sizes_nb(b, L), bounds, L)
        with np.errstate(divide="ignore", invalid="ignore"):
            ML = segment_sums_nb(E, bounds) / D[:, None]
        for m in range(L):
            bins[f"ofi{m + 1}"] = ML[:, m]
    # window bounds in rows, for the depth
    wb = bounds[np.minimum(np.arange(0, nb + per, per), nb)]
    wb = wb[: int(np.ceil(nb / per)) + 1]
    Dw = window_depth(b, wb, depth) / size_unit

    rows = []
    w_prev = None
    for w, g in bins.groupby("window", sort=True):
        if len(g) < min_bins:
            continue
        y = g["dp"].to_numpy()
        x = g["ofi"].to_numpy()
        r = ols(y, x)
        q = ols(y, np.column_stack([x, x * np.abs(x)]))
        row = {"window": int(w), "start_ns": int(t0 + w * wdt), "n": r["n"], "alpha": r["coef"][0], "beta": r["coef"][1],
               "t_alpha": r["t"][0], "t_beta": r["t"][1], "r2": r["r2"], "gamma": q["coef"][2], "t_gamma": q["t"][2],
               "depth": float(Dw[w]) if w < len(Dw) else np.nan, "sd_dp": float(np.nanstd(y)), "sd_ofi": float(np.nanstd(x))}
        if "ti" in g:
            ti = g["ti"].to_numpy()
            rt = ols(y, ti)
            rj = ols(y, np.column_stack([x, ti]))
            row.update(ti_beta=rt["coef"][1], t_ti=rt["t"][1], r2_ti=rt["r2"], r2_joint=rj["r2"],
                       t_ofi_joint=rj["t"][1], t_ti_joint=rj["t"][2])
        if L > 1:
            X = g[[f"ofi{m + 1}" for m in range(L)]].to_numpy()
            r1 = ols(y, X[:, 0])
            rm = ols(y, X)
            w1, share = pc1_weights(X)
            r_int = ols(y, integrated_ofi(X, w_prev)) if w_prev is not None and np.isfinite(w_prev).all() else None
            row.update(r2_ofi1n=r1["r2"], adj_r2_ofi1n=r1["adj_r2"], r2_ml=rm["r2"], adj_r2_ml=rm["adj_r2"],
                       r2_int=r_int["r2"] if r_int else np.nan, pc1_share=share)
            w_prev = w1
        rows.append(row)
    win = pd.DataFrame(rows)
    res = ImpactResult(windows=win, bins=bins)
    res.summary = summarise_impact(win, t_crit=t_crit)
    res.summary.update(size_unit=size_unit, freq=str(pd.Timedelta(dt)), window=str(pd.Timedelta(wdt)), levels=L, depth_method=depth)
    return res


def summarise_impact(win: pd.DataFrame, t_crit: float = 1.96) -> dict:
    r"""Summary of a per-window table from :func:`impact_regressions`.

    Parameters
    ----------
    win : pandas.DataFrame
        ``ImpactResult.windows``.
    t_crit : float
        Significance threshold on :math:`|t|`.

    Returns
    -------
    dict
        Mean/min/max :math:`R^2`, shares of significant coefficients, mean :math:`\beta` and t, TI
        and joint :math:`R^2`, multi-level gains, PC1 share, and the depth law (``c``,
        ``lambda``; :func:`depth_law`); ``{"n_windows": 0}`` for an empty table. Units: ``beta``
        ticks per lot, ``depth`` lots, ``c`` ticks.

    References
    ----------
    Cont, Kukanov & Stoikov (2014), Tables 2-4 (the same summaries over 50 stocks);
    Cont, Cucuringu & Zhang (2023) for the multi-level / integrated OFI gains.

    Examples
    --------
    Three windows on the stylised book, :math:`\beta_i = 1 / (2 D_i)`:

    >>> import numpy as np
    >>> D = np.array([1.0, 2, 4])
    >>> win = pd.DataFrame({"r2": [0.3, 0.4, 0.5], "beta": 1 / (2 * D), "t_beta": [3.0, 1.0, 2.5],
    ...                     "t_alpha": [0.1, 0.2, 0.3], "t_gamma": [0.5, 2.5, 0.1], "depth": D})
    >>> s = summarise_impact(win)
    >>> s["n_windows"], round(s["r2_mean"], 3), round(s["beta_significant_share"], 3), round(s["c"], 6), round(s["lambda"], 6)
    (3, 0.4, 0.667, 0.5, 1.0)
    """
    if len(win) == 0:
        return {"n_windows": 0}

    def m(col):
        return float(win[col].mean()) if col in win else float("nan")

    def share(col):
        return float((win[col].abs() > t_crit).mean()) if col in win else float("nan")

    s = {"n_windows": int(len(win)), "r2_mean": m("r2"), "r2_min": float(win["r2"].min()), "r2_max": float(win["r2"].max()),
         "beta_mean": m("beta"), "t_beta_mean": m("t_beta"), "beta_significant_share": share("t_beta"),
         "alpha_significant_share": share("t_alpha"), "t_gamma_mean": m("t_gamma"), "gamma_significant_share": share("t_gamma"),
         "depth_mean": m("depth"), "beta_x_depth_mean": float((win["beta"] * win["depth"]).mean())}
    if "r2_ti" in win:
        s.update(r2_ti_mean=m("r2_ti"), t_ti_mean=m("t_ti"), r2_joint_mean=m("r2_joint"), t_ofi_joint_mean=m("t_ofi_joint"),
                 t_ti_joint_mean=m("t_ti_joint"), ti_joint_significant_share=share("t_ti_joint"))
    if "r2_ml" in win:
        s.update(r2_ofi1n_mean=m("r2_ofi1n"), r2_ml_mean=m("r2_ml"), adj_r2_ofi1n_mean=m("adj_r2_ofi1n"),
                 adj_r2_ml_mean=m("adj_r2_ml"), ml_gain_adj_r2=m("adj_r2_ml") - m("adj_r2_ofi1n"),
                 r2_int_mean=float(win["r2_int"].mean()),
                 int_gain_r2=float((win["r2_int"] - win["r2_ofi1n"]).mean()), pc1_share_mean=m("pc1_share"))
    law = depth_law(win["beta"], win["depth"])
    s.update(c=law["c"], **{"lambda": law["lambda"]}, depth_law_r2=law["r2"], depth_law_n=law["n"])
    return s


def kyle_lambda(book, ts, signed_volume, trade_price=None, *, tick: float = 1.0, size_unit: float = 100.0,
                freq="5min", t0: int | None = None, t1: int | None = None, kind: str = "volume") -> dict:
    r"""Kyle's lambda from a signed-volume regression over clock bins (pooled over the day).

    ``kind="volume"``: :math:`\Delta P_k = a + \lambda\,\mathrm{SV}_k` with :math:`\Delta P` the mid
    change in ticks and SV the aggressor-signed volume in lots (ticks per lot; compare CKS
    :math:`\beta`). ``kind="sqrt_dollar"`` (Hasbrouck 2009; Goyenko, Holden & Trzcinka 2009):
    :math:`r_k = a + \lambda S_k` with :math:`r` the log mid return and
    :math:`S_k = \sum_j \operatorname{sign}_j \sqrt{p_j |v_j|}` over the trades of the bin;
    :math:`\lambda` reported :math:`\times 10^6`.

    Parameters
    ----------
    book : array_like
        ``(n, 4L)`` LOBSTER layout.
    ts : array_like
        int64 ns per row.
    signed_volume : array_like
        Per-row aggressor-signed volume (shares).
    trade_price : array_like, optional
        Per-row trade price in currency units (``kind="sqrt_dollar"`` only).
    tick : float
        Tick size in price units.
    size_unit : float
        Shares per lot.
    freq, t0, t1
        Clock bins, see :func:`companion.flow.ofi.bin_bounds`.
    kind : str
        ``"volume"`` or ``"sqrt_dollar"``.

    Returns
    -------
    dict
        ``lambda``, ``t``, ``r2``, ``n`` (bins), ``kind``.

    References
    ----------
    Kyle (1985), Continuous Auctions and Insider Trading, Econometrica 53(6) (:math:`\lambda`);
    Hasbrouck (2009), Trading costs and returns for U.S. equities, J. Finance 64(3)
    (square-root dollar-volume lambda).

    Examples
    --------
    >>> kyle_lambda(d.book, d.events["ts"], sv, tick=100)["lambda"]   # doctest: +SKIP
    """
    b = as_book(book)
    edges, bounds = bin_bounds(ts, freq, t0, t1)
    mid = mid_nb(b)
    sv = np.asarray(signed_volume, dtype=np.float64)
    if kind == "volume":
        y = (mid[bounds[1:]] - mid[bounds[:-1]]) / tick
        x = segment_sums_nb((sv / size_unit).reshape(-1, 1), bounds)[:, 0]
        scale = 1.0
    elif kind == "sqrt_dollar":
        if trade_price is None:
            raise ValueError("kind='sqrt_dollar' needs trade_price (currency units per row)")
        y = np.log(mid[bounds[1:]]) - np.log(mid[bounds[:-1]])
        s = np.sign(sv) * np.sqrt(np.abs(sv) * np.asarray(trade_price, dtype=np.float64))
        x = segment_sums_nb(np.nan_to_num(s).reshape(-1, 1), bounds)[:, 0]
        scale = 1e6
    else:
        raise ValueError(f"kind must be 'volume' or 'sqrt_dollar', got {kind!r}")
    r = ols(y, x)
    return {"lambda": float(r["coef"][1] * scale), "t": float(r["t"][1]), "r2": float(r["r2"]), "n": r["n"], "kind": kind}
