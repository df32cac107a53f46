"""Execution cost measures and the paired comparison of two algorithms.

**Implementation shortfall** (Perold 1988), in bps of the arrival value ``Q m_0``::

    IS = [ sum_i s (p_i - m_0) q_i  +  s (m_end - m_0) (Q - sum_i q_i)  +  fees ] / (Q m_0) * 1e4

``s`` the side (+1 buy), ``m_0`` the arrival mid (last book before ``start``), ``p_i``, ``q_i``
the fills, ``m_end`` the mid at the end of the window (opportunity cost of the unfilled part).
It splits exactly, fill by fill, with ``m_i`` the mid of the book the fill met and ``a_i`` the
best opposite quote of that book (taker fills)::

    s (p_i - m_0) = s (a_i - m_i)      spread: half spread paid (taker); maker fills earn
                                       s (p_i - m_i) < 0 here and pay no impact
                  + s (p_i - a_i)      impact: walking beyond the touch (and the square-root law
                                       beyond visible depth), >= 0, takers only
                  + s (m_i - m_0)      timing: the mid's drift from arrival to the fill

so ``IS = spread + impact + timing + opportunity + fees``.

**VWAP slippage**: ``s (p_bar - VWAP_mkt) / VWAP_mkt * 1e4``, ``VWAP_mkt`` of the market tape over
the window. **Impact** (Almgren, Thum, Hauptmann & Li 2005, "Direct estimation of equity market
impact", Risk): permanent ``I = s (m_post - m_0) / m_0``, temporary ``J = s (p_bar - m_0) / m_0 -
I / 2`` (the average fill of a steady execution sees half the permanent move). In a replay
simulator our orders do not move the replayed mid, so ``I`` measures the market's own drift
(zero on average over random sides): a check on the simulator's footprint, not an impact estimate.

**Paired comparison**: the same parent orders run with two algorithms; ``d_k = a_k - b_k``;
mean, standard error ``sd(d)/sqrt(n)``, ``t = mean / se``, and the exact two-sided sign test on
the non-zero ``d_k`` (binomial(n, 1/2)).
"""
from __future__ import annotations

from collections.abc import Sequence
from math import comb, sqrt

import numpy as np
import pandas as pd

__all__ = ["shortfall", "vwap_slippage_bps", "impact_bps", "paired_comparison", "sign_test"]


def shortfall(side: int, qty: float, arrival_mid: float, price, fill_qty, fill_mid,
              fill_touch=None, taker=None, end_mid: float | None = None,
              fees: float = 0.0) -> dict:
    """Perold implementation shortfall and its split, in bps of ``qty * arrival_mid``.

    ``price``, ``fill_qty``, ``fill_mid``: per fill; ``fill_touch``: best opposite quote of the
    book each fill met (used for taker fills); ``taker``: bool per fill (default all taker);
    ``end_mid``: mid at the end of the window (needed when not fully filled); ``fees``: total fees
    in price units x size (positive = paid). Returns ``is_bps, spread_bps, impact_bps,
    timing_bps, opportunity_bps, fees_bps, filled, completion, avg_price``.

    Examples
    --------
    >>> r = shortfall(side=1, qty=100, arrival_mid=100.0, price=[100.05, 100.10], fill_qty=[50, 50],
    ...               fill_mid=[100.0, 100.04], fill_touch=[100.05, 100.06])
    >>> {k: round(r[k], 3) for k in ("is_bps", "spread_bps", "impact_bps", "timing_bps", "completion")}
    {'is_bps': 7.5, 'spread_bps': 3.5, 'impact_bps': 2.0, 'timing_bps': 2.0, 'completion': 1.0}
    """
    p = np.asarray(price, dtype=np.float64)
    q = np.asarray(fill_qty, dtype=np.float64)
    m = np.asarray(fill_mid, dtype=np.float64)
    tk = np.ones(p.shape, bool) if taker is None else np.asarray(taker, dtype=bool)
    a = np.full(p.shape, np.nan) if fill_touch is None else np.asarray(fill_touch, dtype=np.float64)
    s = float(side)
    base = qty * arrival_mid / 1e4
    imp = np.where(tk & np.isfinite(a), s * (p - a), 0.0)
    spread = s * (p - m) - imp
    timing = s * (m - arrival_mid)
    filled = float(q.sum())
    rest = qty - filled
    if rest > 1e-9:
        if end_mid is None or not np.isfinite(end_mid):
            raise ValueError("end_mid is needed when the order is not fully filled")
        opp = s * (end_mid - arrival_mid) * rest
    else:
        opp = 0.0
    out = {
        "spread_bps": float((spread * q).sum() / base),
        "impact_bps": float((imp * q).sum() / base),
        "timing_bps": float((timing * q).sum() / base),
        "opportunity_bps": float(opp / base),
        "fees_bps": float(fees / base),
    }
    out["is_bps"] = (float((s * (p - arrival_mid) * q).sum() / base) + out["opportunity_bps"]
                     + out["fees_bps"])
    out["filled"] = filled
    out["completion"] = filled / qty
    out["avg_price"] = float((p * q).sum() / filled) if filled > 0 else np.nan
    return out


def vwap_slippage_bps(side: int, avg_price: float, market_vwap: float) -> float:
    """``s (p_bar - VWAP) / VWAP * 1e4`` (positive = worse than the market VWAP).

    Examples
    --------
    >>> round(vwap_slippage_bps(1, avg_price=100.02, market_vwap=100.0), 4)
    2.0
    """
    return float(side * (avg_price - market_vwap) / market_vwap * 1e4)


def impact_bps(side: int, arrival_mid: float, avg_price: float, end_mid: float,
               post_mid: float) -> dict:
    """Mid moves and the Almgren et al. (2005) permanent / temporary split, in bps of ``m_0``:
    ``move_during = s (m_end - m_0)``, ``permanent = s (m_post - m_0)``,
    ``temporary = s (p_bar - m_0) - permanent / 2``.

    Examples
    --------
    >>> r = impact_bps(1, arrival_mid=100.0, avg_price=100.05, end_mid=100.08, post_mid=100.04)
    >>> {k: round(v, 3) for k, v in r.items()}
    {'move_during_bps': 8.0, 'permanent_bps': 4.0, 'temporary_bps': 3.0}
    """
    s = float(side)
    perm = s * (post_mid - arrival_mid) / arrival_mid * 1e4
    return {"move_during_bps": float(s * (end_mid - arrival_mid) / arrival_mid * 1e4),
            "permanent_bps": float(perm),
            "temporary_bps": float(s * (avg_price - arrival_mid) / arrival_mid * 1e4 - perm / 2)}


def sign_test(d) -> tuple[int, int, float]:
    """Exact two-sided sign test: ``(n_positive, n_negative, p_value)``; zeros are dropped.

    Examples
    --------
    >>> sign_test([1.0, -2.0, 3.0, 0.0, 4.0])
    (3, 1, 0.625)
    """
    d = np.asarray(d, dtype=np.float64)
    npos, nneg = int((d > 0).sum()), int((d < 0).sum())
    n = npos + nneg
    if n == 0:
        return npos, nneg, 1.0
    k = min(npos, nneg)
    p = 2.0 * sum(comb(n, i) for i in range(k + 1)) / 2.0 ** n
    return npos, nneg, min(1.0, p)


def _values(x, key: str) -> np.ndarray:
    if isinstance(x, pd.DataFrame):
        return x[key].to_numpy(dtype=np.float64)
    if isinstance(x, (pd.Series, np.ndarray)):
        return np.asarray(x, dtype=np.float64)
    return np.array([r.measures[key] if hasattr(r, "measures") else
                     (r[key] if isinstance(r, dict) else r) for r in x], dtype=np.float64)


def paired_comparison(results_a: Sequence, results_b: Sequence, key: str = "is_bps") -> dict:
    """Paired differences ``a - b`` of ``key`` over the same parent orders.

    ``results_a`` / ``results_b``: equal-length, aligned sequences of
    :class:`~companion.execution.executor.ExecutionResult`, dicts, numbers, or DataFrames with a
    ``key`` column. Pairs with a nan on either side are dropped. Returns ``n, mean_a, mean_b,
    mean_diff, se, t, n_pos, n_neg, sign_p`` (negative ``mean_diff`` on a cost: ``a`` is cheaper).

    Examples
    --------
    >>> r = paired_comparison([1.0, 2.0, 3.0, 4.0], [2.0, 2.5, 3.5, 5.0])
    >>> r["n"], r["mean_diff"], r["n_neg"], round(r["sign_p"], 3)
    (4, -0.75, 4, 0.125)
    """
    a, b = _values(results_a, key), _values(results_b, key)
    if a.shape != b.shape:
        raise ValueError(f"results must be aligned pairs: {a.shape} vs {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    d = a - b
    n = d.size
    mean = float(d.mean()) if n else np.nan
    se = float(d.std(ddof=1) / sqrt(n)) if n > 1 else np.nan
    t = mean / se if n > 1 and se > 0 else (np.nan if n < 2 or mean == 0 else np.copysign(np.inf, mean))
    npos, nneg, p = sign_test(d)
    return {"n": int(n), "mean_a": float(a.mean()) if n else np.nan,
            "mean_b": float(b.mean()) if n else np.nan, "mean_diff": mean, "se": se,
            "t": float(t), "n_pos": npos, "n_neg": nneg, "sign_p": float(p)}
