r"""Cross-day statistics of the per-day studies: a mean with its confidence interval and a
paired test across days.

A study gives one number per ticker-day (a day's CKS :math:`R^2`, a model's out-of-sample AUC,
the net P&L). Days are treated as independent draws: the mean over :math:`n` days has the
Student-t interval :math:`\bar x \pm t_{0.975,\,n-1}\, s / \sqrt n` (:math:`s` the sample standard
deviation). Two models scored on the same days are compared by the paired differences
:math:`d_i = a_i - b_i`: the paired t-test (:math:`t = \bar d / (s_d / \sqrt n)`, :math:`n-1`
degrees of freedom) and the Wilcoxon signed-rank test (no normality assumption).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["mean_ci", "paired_test"]


def mean_ci(x, level: float = 0.95) -> dict:
    r"""Mean over days with a Student-t confidence interval.

    :math:`\bar x \pm t_{(1+\text{level})/2,\,n-1}\, s/\sqrt n`; NaN values are left out.

    Parameters
    ----------
    x : array_like
        One value per day.
    level : float
        Confidence level (default 0.95).

    Returns
    -------
    dict
        ``n``, ``mean``, ``sd`` (sample, ``ddof=1``), ``se``, ``lo``, ``hi`` (NaN where undefined:
        ``sd``/``se``/``lo``/``hi`` need two values).

    Examples
    --------
    >>> r = mean_ci([1.0, 2.0, 3.0, float("nan")])
    >>> r["n"], r["mean"], round(r["lo"], 3), round(r["hi"], 3)
    (3, 2.0, -0.484, 4.484)
    """
    from scipy import stats

    a = np.asarray(x, dtype=np.float64)
    a = a[np.isfinite(a)]
    n = int(a.size)
    if n == 0:
        return {"n": 0, "mean": math.nan, "sd": math.nan, "se": math.nan, "lo": math.nan, "hi": math.nan}
    m = float(a.mean())
    if n < 2:
        return {"n": 1, "mean": m, "sd": math.nan, "se": math.nan, "lo": math.nan, "hi": math.nan}
    sd = float(a.std(ddof=1))
    se = sd / math.sqrt(n)
    q = float(stats.t.ppf(0.5 + level / 2, n - 1))
    return {"n": n, "mean": m, "sd": sd, "se": se, "lo": m - q * se, "hi": m + q * se}


def paired_test(a, b) -> dict:
    r"""Paired comparison of two scores measured on the same days.

    Differences :math:`d_i = a_i - b_i` over the days where both are finite; paired t-test
    (two-sided) and Wilcoxon signed-rank test (two-sided, exact for small samples).

    Parameters
    ----------
    a, b : array_like
        One score per day each (same order).

    Returns
    -------
    dict
        ``n``, ``mean_diff``, ``lo``/``hi`` (95% CI of the mean difference), ``t``, ``p_t``,
        ``p_wilcoxon``, ``wins`` (days with :math:`d_i > 0`).

    Examples
    --------
    >>> r = paired_test([0.56, 0.55, 0.58, 0.57], [0.52, 0.53, 0.55, 0.52])
    >>> r["n"], round(r["mean_diff"], 3), r["wins"], round(r["p_t"], 4)
    (4, 0.035, 4, 0.0123)
    """
    from scipy import stats

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired scores need the same days: {a.shape} vs {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    ci = mean_ci(d)
    out = {"n": int(d.size), "mean_diff": ci["mean"], "lo": ci["lo"], "hi": ci["hi"],
           "t": math.nan, "p_t": math.nan, "p_wilcoxon": math.nan, "wins": int((d > 0).sum())}
    if d.size >= 2 and np.any(d != 0):
        if ci["sd"] > 0:
            t = stats.ttest_rel(a[ok], b[ok])
            out.update(t=float(t.statistic), p_t=float(t.pvalue))
        out["p_wilcoxon"] = float(stats.wilcoxon(d).pvalue)
    return out
