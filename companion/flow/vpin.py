r"""VPIN (Easley, Lopez de Prado & O'Hara 2012) with bulk or exact trade classification, and the
diagnostics of the Andersen & Bondarenko (2014) critique.

Algorithm:

1. volume buckets of size :math:`V` (default: the day's volume / 50, i.e. ADV/50 on one day); an
   item (a bar or a trade) that straddles a bucket boundary is split, its buy share kept;
2. buy volume per item: BVC :math:`V_i\,Z(\Delta P_i / \sigma_{\Delta P})` on 1-min bars
   (``mode="bars"``, EHO 2012 eq. 7), BVC on the buckets themselves (``mode="bucket"``:
   :math:`V^B_\tau = V\,Z(\Delta P_\tau / \sigma)`, :math:`\Delta P_\tau` the change of the last
   trade price from the previous bucket), or exact signs (``mode="exact"``: LOBSTER's true
   aggressor side);
3. VPIN (EHO 2012 eq. 10), with :math:`n = 50`:

   .. math::

       \mathrm{VPIN}_\tau = \frac{\sum_{j=\tau-n+1}^{\tau} |V^S_j - V^B_j|}{n V}

4. :math:`\mathrm{CDF}(\mathrm{VPIN})`: the empirical CDF of the VPIN series (alarm: CDF > 0.9).

:func:`vpin_diagnostics` returns the numbers of the critique: the correlation of VPIN with
trading intensity (volume per second over the n-bucket window) and realised volatility (over the
same window), with the next bucket's absolute price change, and the t-statistic of VPIN in a
regression of that next :math:`|\Delta P|` on VPIN, intensity and volatility (no incremental
power: :math:`|t|` small). Consecutive VPIN values share :math:`n - 1` of their :math:`n` buckets
(and so do intensity and volatility), so the regression's errors are serially correlated and
classical standard errors overstate :math:`|t|`; the t-statistic uses Newey-West (HAC) standard
errors with a Bartlett kernel and a lag of at least the window, :math:`L = n`
(:func:`ols_newey_west`).

Whole-day quantities are **descriptive**: the bucket size (the day's volume / 50), the BVC
:math:`\sigma_{\Delta P}` (the day's bars) and the CDF (the day's VPIN series) all use the whole
day, so the series describes the day after the fact; it is not an alarm that could have been
raised live. A live alarm needs them from past days (bucket size from the previous days' volume,
:math:`\sigma` and the CDF from earlier VPIN values only).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from companion.flow.kyle import design_matrix, ols
from companion.flow.tradesign import bvc_bars, bvc_buy_fraction

__all__ = ["volume_buckets_nb", "rolling_vpin_nb", "volume_buckets", "vpin", "vpin_diagnostics", "empirical_cdf",
           "ols_newey_west"]


@njit(cache=True)
def volume_buckets_nb(vol: np.ndarray, buy: np.ndarray, V: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fill buckets of exactly ``V`` from items, splitting items across bucket boundaries.

    A split item gives each bucket its share of the item's volume with the item's buy fraction
    :math:`b_i / v_i` (EHO 2012, step 2).

    Parameters
    ----------
    vol : numpy.ndarray
        float64 volume per item (bar or trade).
    buy : numpy.ndarray
        float64 buyer-initiated volume per item.
    V : float
        Bucket size (same unit as ``vol``).

    Returns
    -------
    bucket_buy, bucket_sell : numpy.ndarray
        float64 per complete bucket (a final partial bucket is dropped).
    first_item, last_item : numpy.ndarray
        int64 index of the first and last item of each bucket.

    Examples
    --------
    >>> import numpy as np
    >>> bb, bs, first, last = volume_buckets_nb(np.array([3., 3]), np.array([3., 0]), 2.0)
    >>> bb.tolist(), bs.tolist(), first.tolist(), last.tolist()
    ([2.0, 1.0, 0.0], [0.0, 1.0, 2.0], [0, 0, 1], [0, 1, 1])
    """
    total = 0.0
    for i in range(vol.shape[0]):
        total += vol[i]
    nb = int(np.floor(total / V + 1e-9))
    bb = np.zeros(nb)
    bs = np.zeros(nb)
    first = np.zeros(nb, dtype=np.int64)
    last = np.zeros(nb, dtype=np.int64)
    k = 0
    cap = V
    eps = 1e-9 * V
    first_i = 0
    for i in range(vol.shape[0]):
        if k >= nb:
            break
        a = vol[i]
        if a <= 0:
            continue
        f = buy[i] / a
        while a > eps and k < nb:
            take = a if a < cap else cap
            bb[k] += take * f
            bs[k] += take * (1.0 - f)
            a -= take
            cap -= take
            if cap <= eps:
                first[k] = first_i
                last[k] = i
                k += 1
                cap = V
                first_i = i if a > eps else i + 1
    return bb, bs, first, last


@njit(cache=True)
def rolling_vpin_nb(bb: np.ndarray, bs: np.ndarray, V: float, n: int) -> np.ndarray:
    r""":math:`\mathrm{VPIN}_\tau = \sum_{j=\tau-n+1}^{\tau} |V^S_j - V^B_j| / (n V)` (EHO 2012 eq. 10).

    Parameters
    ----------
    bb, bs : numpy.ndarray
        float64 buy and sell volume per bucket.
    V : float
        Bucket size.
    n : int
        Buckets per window (EHO: 50).

    Returns
    -------
    numpy.ndarray
        float64 per bucket in [0, 1]; NaN for the first n - 1 buckets.

    Examples
    --------
    >>> import numpy as np
    >>> rolling_vpin_nb(np.array([2., 1, 0]), np.array([0., 1, 2]), 2.0, 2).tolist()
    [nan, 0.5, 0.5]
    """
    m = bb.shape[0]
    out = np.full(m, np.nan)
    s = 0.0
    for t in range(m):
        s += abs(bs[t] - bb[t])
        if t >= n:
            s -= abs(bs[t - n] - bb[t - n])
        if t >= n - 1:
            out[t] = s / (n * V)
    return out


def empirical_cdf(x) -> np.ndarray:
    r"""Empirical CDF value of each element among the finite elements, :math:`F(x_i) = \operatorname{rank}(x_i) / N`.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    numpy.ndarray
        float64 in (0, 1]; NaN stays NaN.

    Examples
    --------
    >>> empirical_cdf([0.3, float("nan"), 0.1]).tolist()
    [1.0, nan, 0.5]
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    ok = np.isfinite(x)
    s = np.sort(x[ok])
    out[ok] = np.searchsorted(s, x[ok], side="right") / max(len(s), 1)
    return out


def volume_buckets(ts, price, vol, buy, V: float) -> pd.DataFrame:
    """Volume buckets (:func:`volume_buckets_nb`) as a DataFrame.

    Parameters
    ----------
    ts : array_like
        int64 ns per item.
    price : array_like
        Item price (last trade price of a bar).
    vol, buy : array_like
        Volume and buyer-initiated volume per item.
    V : float
        Bucket size.

    Returns
    -------
    pandas.DataFrame
        ``buy``, ``sell`` (volume per complete bucket, same unit as ``vol``; they sum to ``V``),
        ``start_ts``, ``end_ts`` (ns of the first / last item in the bucket), ``price_end`` (item
        price at the close). A final partial bucket is dropped.

    References
    ----------
    Easley, Lopez de Prado & O'Hara (2012), Flow Toxicity and Liquidity in a High-frequency World,
    Review of Financial Studies 25(5), step 2 (volume buckets).

    Examples
    --------
    Two items of volume 3 (the first all buys) into buckets of 2; the first item is split:

    >>> volume_buckets([0, 1], [10.0, 11.0], [3.0, 3.0], [3.0, 0.0], V=2.0)
       buy  sell  start_ts  end_ts  price_end
    0  2.0   0.0         0       0       10.0
    1  1.0   1.0         0       1       11.0
    2  0.0   2.0         1       1       11.0
    """
    ts = np.asarray(ts, dtype=np.int64)
    price = np.asarray(price, dtype=np.float64)
    bb, bs, first, last = volume_buckets_nb(np.ascontiguousarray(vol, dtype=np.float64), np.ascontiguousarray(buy, dtype=np.float64), float(V))
    first = np.minimum(first, len(ts) - 1)
    return pd.DataFrame({"buy": bb, "sell": bs, "start_ts": ts[first], "end_ts": ts[last], "price_end": price[last]})


def vpin(ts, price, size, aggressor=None, *, V: float | None = None, n: int = 50, mode: str = "bars",
         freq="1min", t0: int | None = None, df: float | None = None) -> pd.DataFrame:
    """VPIN per volume bucket (see the module docstring; EHO 2012 eqs. 7 and 10).

    Parameters
    ----------
    ts : array_like
        int64 ns per trade, in time order.
    price : array_like
        Trade prices.
    size : array_like
        Trade sizes.
    aggressor : array_like, optional
        True aggressor side (+1 buyer-initiated), needed by ``mode="exact"``.
    V : float, optional
        Bucket size; default total volume / 50.
    n : int
        Buckets per VPIN window.
    mode : str
        ``"bars"`` (BVC on ``freq`` clock bars, EHO 2012), ``"bucket"`` (BVC per bucket) or
        ``"exact"``.
    freq : str
        Bar width for ``mode="bars"``.
    t0 : int, optional
        Bar origin (ns).
    df : float, optional
        Student-t degrees of freedom for BVC (None: normal).

    Returns
    -------
    pandas.DataFrame
        ``buy``, ``sell``, ``start_ts``, ``end_ts``, ``price_end``,
        ``oi`` :math:`= |V^S - V^B| / V`, ``vpin``, ``cdf``; ``attrs``: ``V``, ``n``, ``mode``.

    Raises
    ------
    ValueError
        For an unknown ``mode``, or ``mode="exact"`` without ``aggressor``.

    References
    ----------
    Easley, Lopez de Prado & O'Hara (2012), Flow Toxicity and Liquidity in a High-frequency World, Review of Financial Studies 25(5), eqs. 7 and 10.

    Examples
    --------
    >>> b = vpin([0, 1, 2, 3], [1.0] * 4, [1.0] * 4, [1, 1, -1, 1], V=1.0, n=2, mode="exact")
    >>> b["vpin"].tolist()
    [nan, 1.0, 1.0, 1.0]
    """
    ts = np.asarray(ts, dtype=np.int64)
    price = np.asarray(price, dtype=np.float64)
    size = np.asarray(size, dtype=np.float64)
    if V is None:
        V = float(size.sum()) / 50.0
    if mode == "exact":
        if aggressor is None:
            raise ValueError("mode='exact' needs the true aggressor sides")
        b = volume_buckets(ts, price, size, np.where(np.asarray(aggressor) > 0, size, 0.0), V)
    elif mode == "bars":
        bars = bvc_bars(ts, price, size, freq=freq, t0=t0, df=df)
        end = bars.attrs["t0"] + (bars["bar"].to_numpy() + 1) * bars.attrs["dt"]
        b = volume_buckets(end, bars["price"], bars["volume"], bars["buy_volume"], V)
    elif mode == "bucket":
        b = volume_buckets(ts, price, size, 0.5 * size, V)
        prev = np.concatenate([[price[0]], b["price_end"].to_numpy()[:-1]])
        dp = b["price_end"].to_numpy() - prev
        sigma = float(np.std(dp, ddof=1)) if len(dp) > 1 else float("nan")
        frac = bvc_buy_fraction(dp, sigma, df) if np.isfinite(sigma) and sigma > 0 else np.full(len(dp), 0.5)
        b["buy"] = V * frac
        b["sell"] = V - b["buy"]
    else:
        raise ValueError(f"mode must be 'bars', 'bucket' or 'exact', got {mode!r}")
    b["oi"] = (b["sell"] - b["buy"]).abs() / V
    b["vpin"] = rolling_vpin_nb(b["buy"].to_numpy(), b["sell"].to_numpy(), float(V), int(n))
    b["cdf"] = empirical_cdf(b["vpin"].to_numpy())
    b.attrs.update(V=float(V), n=int(n), mode=mode)
    return b


def ols_newey_west(y, X, lag: int, const: bool = True) -> dict:
    r"""OLS with Newey-West (1987) heteroskedasticity and autocorrelation consistent (HAC) errors.

    .. math::

        \hat b = (X^\top X)^{-1} X^\top y, \qquad
        \widehat{\mathrm{Cov}}(\hat b) = (X^\top X)^{-1} \hat S (X^\top X)^{-1},

        \hat S = \sum_t u_t^2 x_t x_t^\top + \sum_{l=1}^{L} w_l \sum_{t > l} u_t u_{t-l}
        (x_t x_{t-l}^\top + x_{t-l} x_t^\top), \qquad w_l = 1 - \frac{l}{L + 1}

    (Bartlett weights; no small-sample correction; rows with NaN dropped, the remaining rows taken
    as consecutive). :math:`L = 0` gives White's heteroskedasticity-robust errors.

    Parameters
    ----------
    y, X, const
        As for :func:`companion.flow.kyle.ols` (rows with a NaN dropped by the same
        :func:`~companion.flow.kyle.design_matrix`).
    lag : int
        :math:`L`, the largest autocovariance lag (>= 0).

    Returns
    -------
    dict
        ``coef``, ``se`` (HAC), ``t`` (HAC), ``t_ols`` (classical), ``n``, ``lag``.

    References
    ----------
    Newey & West (1987), A simple, positive semi-definite, heteroskedasticity and autocorrelation
    consistent covariance matrix, Econometrica 55(3):703-708.

    Examples
    --------
    >>> y = np.array([1., 3, 5, 7.5, 8, 11])
    >>> r = ols_newey_west(y, np.arange(6.0), lag=2)
    >>> np.round(r["coef"], 3).tolist(), r["lag"], bool(r["se"][1] > 0)
    ([1.095, 1.929], 2, True)
    """
    if int(lag) < 0:
        raise ValueError(f"lag must be >= 0, got {lag}")
    L = int(lag)
    r = ols(y, X, const=const)
    out = {"coef": r["coef"], "se": np.full_like(r["coef"], np.nan), "t": np.full_like(r["coef"], np.nan),
           "t_ols": r["t"], "n": r["n"], "lag": L}
    if not np.isfinite(r["coef"]).all():
        return out
    _, Xm = design_matrix(y, X, const)
    u = r["resid"]
    xu = Xm * u[:, None]
    S = xu.T @ xu
    for lg in range(1, min(L, len(u) - 1) + 1):
        G = xu[lg:].T @ xu[:-lg]
        S += (1.0 - lg / (L + 1.0)) * (G + G.T)
    inv = np.linalg.inv(Xm.T @ Xm)
    se = np.sqrt(np.clip(np.diag(inv @ S @ inv), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        out.update(se=se, t=r["coef"] / se)
    return out


def vpin_diagnostics(buckets: pd.DataFrame, n: int | None = None, hac_lag: int | None = None) -> dict:
    r"""Correlations of VPIN with trading intensity and volatility (Andersen & Bondarenko 2014).

    Over each bucket :math:`\tau` with a VPIN value (window = buckets :math:`\tau-n+1..\tau`):
    intensity :math:`= nV / \text{(window duration in s)}`; volatility
    :math:`= \sqrt{\sum \Delta P_j^2}` over the window's bucket price changes; next
    :math:`|\Delta P_{\tau+1}|` the absolute price change of the next bucket.

    Parameters
    ----------
    buckets : pandas.DataFrame
        :func:`vpin` output.
    n : int, optional
        Window length (default ``buckets.attrs["n"]``).
    hac_lag : int, optional
        Newey-West lag :math:`L` (default ``n``; must be >= ``n``: consecutive windows overlap by
        ``n - 1`` buckets).

    Returns
    -------
    dict
        ``corr_intensity``, ``corr_volatility``, ``corr_next_abs_dp``, ``t_vpin_controlled`` (t of
        VPIN in the OLS of next :math:`|\Delta P|` on VPIN, intensity, volatility, with Newey-West
        errors at lag ``hac_lag``), ``t_vpin_controlled_ols`` (the same t with classical errors,
        which overstate it), ``hac_lag``, ``vpin_mean``, ``vpin_sd``, ``n_vpin``.

    References
    ----------
    Andersen & Bondarenko (2014), VPIN and the Flash Crash, J. Financial Markets 17:1-46.

    Examples
    --------
    A seeded random tape of 400 trades, buckets of 20 shares, windows of 5 buckets:

    >>> rng = np.random.default_rng(0)
    >>> ts = np.cumsum(rng.integers(1, 10**9, 400))
    >>> price = 100 + np.cumsum(rng.choice([-1.0, 1.0], 400))
    >>> size = rng.integers(1, 10, 400).astype(float)
    >>> b = vpin(ts, price, size, rng.choice([-1, 1], 400), V=20.0, n=5, mode="exact")
    >>> d = vpin_diagnostics(b)
    >>> d["n_vpin"] == len(b) - 4, 0 <= d["vpin_mean"] <= 1, abs(d["corr_intensity"]) <= 1
    (True, True, True)
    """
    n = int(buckets.attrs.get("n", 50) if n is None else n)
    lag = n if hac_lag is None else int(hac_lag)
    if lag < n:
        raise ValueError(f"hac_lag must be at least the window n = {n} (windows overlap by n - 1 buckets), got {lag}")
    V = float(buckets.attrs.get("V", (buckets["buy"] + buckets["sell"]).iloc[0]))
    v = buckets["vpin"].to_numpy()
    start = buckets["start_ts"].to_numpy(np.int64)
    end = buckets["end_ts"].to_numpy(np.int64)
    p = buckets["price_end"].to_numpy(np.float64)
    dp = np.diff(p, prepend=np.nan)
    m = len(v)
    inten = np.full(m, np.nan)
    vol = np.full(m, np.nan)
    nxt = np.full(m, np.nan)
    for t in range(n - 1, m):
        dur = (end[t] - start[t - n + 1]) / 1e9
        inten[t] = n * V / dur if dur > 0 else np.nan
        w = dp[max(t - n + 2, 1): t + 1]
        vol[t] = np.sqrt(np.nansum(w ** 2))
        if t + 1 < m:
            nxt[t] = abs(dp[t + 1])

    def corr(a, b):
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
            return float("nan")
        return float(np.corrcoef(a[ok], b[ok])[0, 1])

    r = ols_newey_west(nxt, np.column_stack([v, inten, vol]), lag=lag)
    ok = np.isfinite(v)
    return {"corr_intensity": corr(v, inten), "corr_volatility": corr(v, vol), "corr_next_abs_dp": corr(v, nxt),
            "t_vpin_controlled": float(r["t"][1]), "t_vpin_controlled_ols": float(r["t_ols"][1]), "hac_lag": lag,
            "vpin_mean": float(np.nanmean(v)) if ok.any() else float("nan"),
            "vpin_sd": float(np.nanstd(v)) if ok.any() else float("nan"), "n_vpin": int(ok.sum())}
