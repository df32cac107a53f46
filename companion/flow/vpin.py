"""VPIN (Easley, Lopez de Prado & O'Hara 2012) with bulk or exact trade classification, and the
diagnostics of the Andersen & Bondarenko (2014) critique.

Algorithm:

1. volume buckets of size ``V`` (default: the day's volume / 50, i.e. ADV/50 on one day); an item
   (a bar or a trade) that straddles a bucket boundary is split, its buy share kept;
2. buy volume per item: BVC ``V_i Z(dP_i / sigma_dP)`` on 1-min bars (``mode="bars"``, EHO 2012),
   BVC on the buckets themselves (``mode="bucket"``: ``V^B_tau = V Z(dP_tau / sigma)``, dP the change of
   the last trade price from the previous bucket), or exact signs (``mode="exact"``: LOBSTER's true
   aggressor side);
3. ``VPIN_tau = sum_{j=tau-n+1}^{tau} |V^S_j - V^B_j| / (n V)``, n = 50;
4. ``CDF(VPIN)``: the empirical CDF of the VPIN series (alarm: CDF > 0.9).

:func:`vpin_diagnostics` returns the numbers of the critique: the correlation of VPIN with
trading intensity (volume per second over the n-bucket window) and realised volatility (over the
same window), with the next bucket's absolute price change, and the t-statistic of VPIN in a
regression of that next |dP| on VPIN, intensity and volatility (no incremental power: |t| small).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from companion.flow.kyle import ols
from companion.flow.tradesign import bvc_bars, bvc_buy_fraction

__all__ = ["volume_buckets_nb", "rolling_vpin_nb", "volume_buckets", "vpin", "vpin_diagnostics", "empirical_cdf"]


@njit(cache=True)
def volume_buckets_nb(vol: np.ndarray, buy: np.ndarray, V: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fill buckets of exactly ``V`` from items (``vol``, ``buy`` volume per item), splitting items.

    Returns ``(bucket_buy, bucket_sell, first_item, last_item)`` for the complete buckets only (a
    final partial bucket is dropped). A split item gives each bucket its share of the item's volume
    with the item's buy fraction ``buy/vol``.
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
    """``VPIN_tau = sum_{last n buckets} |bs - bb| / (n V)``; NaN for the first n - 1 buckets."""
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
    """Empirical CDF value of each element among the finite elements (rank / count; NaN stays NaN)."""
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    ok = np.isfinite(x)
    s = np.sort(x[ok])
    out[ok] = np.searchsorted(s, x[ok], side="right") / max(len(s), 1)
    return out


def volume_buckets(ts, price, vol, buy, V: float) -> pd.DataFrame:
    """Buckets as a DataFrame: ``buy``, ``sell``, ``start_ts``, ``end_ts``, ``price_end`` (item price at the close)."""
    ts = np.asarray(ts, dtype=np.int64)
    price = np.asarray(price, dtype=np.float64)
    bb, bs, first, last = volume_buckets_nb(np.ascontiguousarray(vol, dtype=np.float64), np.ascontiguousarray(buy, dtype=np.float64), float(V))
    first = np.minimum(first, len(ts) - 1)
    return pd.DataFrame({"buy": bb, "sell": bs, "start_ts": ts[first], "end_ts": ts[last], "price_end": price[last]})


def vpin(ts, price, size, aggressor=None, *, V: float | None = None, n: int = 50, mode: str = "bars",
         freq="1min", t0: int | None = None, df: float | None = None) -> pd.DataFrame:
    """VPIN per volume bucket (module doc). Trades in time order: ``ts`` (ns), ``price``, ``size``.

    ``mode``: ``"bars"`` (BVC on ``freq`` clock bars, EHO 2012), ``"bucket"`` (BVC per bucket) or
    ``"exact"`` (needs ``aggressor``, +1 buyer-initiated). ``V`` default = total volume / 50.
    Columns: ``buy``, ``sell``, ``start_ts``, ``end_ts``, ``price_end``, ``oi`` = |sell - buy| / V,
    ``vpin``, ``cdf``; ``attrs``: ``V``, ``n``, ``mode``.
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


def vpin_diagnostics(buckets: pd.DataFrame, n: int | None = None) -> dict:
    """Correlations of VPIN with trading intensity and volatility (Andersen & Bondarenko 2014).

    Over each bucket tau with a VPIN value (window = buckets tau-n+1..tau): ``intensity`` =
    n V / (window duration in s); ``volatility`` = sqrt(sum of squared bucket price changes in the
    window); ``next_abs_dp`` = |price change of bucket tau+1|. Returns ``corr_intensity``,
    ``corr_volatility``, ``corr_next_abs_dp``, ``t_vpin_controlled`` (t of VPIN in OLS of next |dP| on
    VPIN, intensity, volatility), ``vpin_mean``, ``vpin_sd``, ``n_vpin``.
    """
    n = int(buckets.attrs.get("n", 50) if n is None else n)
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

    r = ols(nxt, np.column_stack([v, inten, vol]))
    ok = np.isfinite(v)
    return {"corr_intensity": corr(v, inten), "corr_volatility": corr(v, vol), "corr_next_abs_dp": corr(v, nxt),
            "t_vpin_controlled": float(r["t"][1]), "vpin_mean": float(np.nanmean(v)) if ok.any() else float("nan"),
            "vpin_sd": float(np.nanstd(v)) if ok.any() else float("nan"), "n_vpin": int(ok.sum())}
