"""Signal decay (chapter 10): how fast a forecast's information goes stale.

The information coefficient of a forecast that is used ``d`` late: on sample times ``t_j`` (a
clock grid), the signal observed at ``t_j - d`` against the forward mid move over
``(t_j, t_j + h]`` in ticks,

.. math:: \\mathrm{IC}(d) = \\rho_S\\big(x(t_j - d),\\; M(t_j + h) - M(t_j)\\big),

Spearman's rank correlation (:func:`companion.stats.spearman_ic`, mid-ranks for ties) on one
common set of samples for every ``d``. The decay is fitted by least squares in IC units over the
delay grid,

.. math:: \\mathrm{IC}(d) = \\mathrm{IC}_0\\, e^{-d/\\tau}, \\qquad t_{1/2} = \\tau \\ln 2,

by profiling: for fixed ``tau`` the best ``IC_0`` is closed-form,
``IC_0(tau) = sum_d IC(d) e^{-d/tau} / sum_d e^{-2d/tau}``, and ``tau`` minimises the residual sum
of squares over a log-spaced grid of candidates (refined by a parabola through the three grid
points around the minimum, in ``log tau``). A minimum at the top of the candidate range means
no decay is visible on the delay grid: ``tau`` is then reported as ``inf``. The confidence
interval is a **block bootstrap**: the samples are cut into contiguous blocks (default 30 min,
or one block per day for several days), blocks are drawn with replacement, the IC curve is
recomputed and refitted per replicate, and the interval is the percentile interval of the
replicates' half-lives. (A replicate's IC is the Pearson correlation of the full-sample ranks
(:func:`companion.stats.ranks`) over the drawn blocks: the ranks are not recomputed per
replicate; for the sample sizes here the difference is far below the sampling error.)
Published anchor: Cont, Kukanov & Stoikov (2014, section 4.1) find that pre-trade OFI predicts
post-trade moves only over 50-200 ms.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from companion.events import NS
from companion.stats import align_predictions, ranks, spearman_ic

__all__ = ["value_at", "delayed_ic", "fit_exponential_decay", "DecayFit", "signal_decay"]


def value_at(ts: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``x`` after the last event with ``ts <= t`` (NaN before the first event): the value an
    observer sees at times ``t``: :func:`companion.stats.align_predictions` with the events as
    the prediction stamps (``ts`` non-decreasing, else ValueError).

    Examples
    --------
    >>> import numpy as np
    >>> value_at(np.array([10, 20]), np.array([1.0, 2.0]), np.array([5, 10, 15, 25])).tolist()
    [nan, 1.0, 1.0, 2.0]
    """
    return align_predictions(ts, x, t)


def delayed_ic(ts, signal, mid, delays_ns, *, horizon_ns: int = NS, step_ns: int = NS // 4,
               tick: float = 1.0, t0: int | None = None, t1: int | None = None,
               block_ns: int | None = 30 * 60 * NS) -> dict:
    """The samples of :func:`signal_decay` and the IC per delay.

    Sample times ``t_j = start + j step`` from ``start = t0 + max(delays)`` to ``t1 - horizon``
    (``t0``/``t1`` default to the first / last event). ``signal`` and ``mid`` are per event
    (aligned with ``ts``); the value used at ``t_j`` with delay ``d`` is the one after the last event
    with ``ts <= t_j - d``. Samples where any delayed value or the target is NaN are dropped (one
    common sample set). ``block_ns``: length of the bootstrap blocks (None: one block per calendar
    day of ``ts``).

    Returns ``{"delays_ns", "ic" (per delay, :func:`companion.stats.spearman_ic`), "rx" (n_delays, n)
    and "ry" (n,) mid-ranks (:func:`companion.stats.ranks`), "block" (n,) ids, "t" (n,) sample times,
    "n"}``.

    Examples
    --------
    >>> import numpy as np
    >>> ts = np.arange(200) * 10**8                        # an event every 0.1 s
    >>> mid = 10000.0 + 100 * np.cumsum(np.tile([1.0, -1.0, 1.0, 1.0, -1.0], 40))
    >>> sig = np.r_[np.diff(mid), 0.0]                  # knows the next move
    >>> r = delayed_ic(ts, sig, mid, [0, 10**8], horizon_ns=10**8, step_ns=10**8, tick=100.0, block_ns=None)
    >>> r["n"], np.round(r["ic"], 3).tolist()
    (198, [1.0, -0.664])
    """
    ts = np.asarray(ts, dtype=np.int64)
    x = np.asarray(signal, dtype=np.float64)
    m = pd.Series(np.asarray(mid, dtype=np.float64)).ffill().to_numpy()
    d = np.asarray(delays_ns, dtype=np.int64)
    if ts.size != x.size or ts.size != m.size:
        raise ValueError("ts, signal and mid must have the same length")
    if d.size < 2 or (d < 0).any():
        raise ValueError("need at least two delays, all >= 0")
    if horizon_ns <= 0 or step_ns <= 0:
        raise ValueError("horizon_ns and step_ns must be > 0")
    t0 = int(ts[0]) if t0 is None else int(t0)
    t1 = int(ts[-1]) if t1 is None else int(t1)
    start = t0 + int(d.max())
    if t1 - horizon_ns < start:
        raise ValueError("the data are too short for the largest delay and the horizon")
    t = np.arange(start, t1 - horizon_ns + 1, int(step_ns), dtype=np.int64)
    y = (value_at(ts, m, t + horizon_ns) - value_at(ts, m, t)) / float(tick)
    X = np.stack([value_at(ts, x, t - di) for di in d])
    ok = ~np.isnan(y) & ~np.isnan(X).any(axis=0)
    t, y, X = t[ok], y[ok], X[:, ok]
    if t.size < 10:
        raise ValueError(f"only {t.size} usable samples")
    ry = ranks(y)
    rx = np.stack([ranks(r) for r in X])
    block = ((t - t0) // int(block_ns)) if block_ns else (t // (86_400 * NS))
    _, block = np.unique(block, return_inverse=True)
    ic = np.array([spearman_ic(r, y) for r in X])
    return {"delays_ns": d, "ic": ic, "rx": rx, "ry": ry, "block": block, "t": t, "n": int(t.size)}


def _profile_fit(d_s: np.ndarray, ic: np.ndarray, taus: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised profile least squares over replicates: ``ic`` (R, K) -> (ic0, tau, sse) per row."""
    E = np.exp(-d_s[None, :] / taus[:, None])             # (T, K)
    ee = (E * E).sum(axis=1)                              # (T,)
    ie = ic @ E.T                                         # (R, T)
    sse = (ic * ic).sum(axis=1)[:, None] - ie * ie / ee[None, :]
    j = np.argmin(sse, axis=1)
    R = ic.shape[0]
    lt = np.log(taus)
    tau = np.empty(R)
    for r in range(R):
        jj = j[r]
        if jj == 0 or jj == len(taus) - 1:
            tau[r] = taus[jj] if jj == 0 else np.inf
            continue
        y0, y1, y2 = sse[r, jj - 1], sse[r, jj], sse[r, jj + 1]
        den = y0 - 2 * y1 + y2
        h = lt[1] - lt[0]
        off = 0.5 * (y0 - y2) / den if den > 0 else 0.0
        tau[r] = math.exp(lt[jj] + max(-1.0, min(1.0, off)) * h)
    e = np.exp(-d_s[None, :] / np.where(np.isinf(tau), 1e300, tau)[:, None])
    ic0 = (ic * e).sum(axis=1) / (e * e).sum(axis=1)
    res = ic - ic0[:, None] * e
    return ic0, tau, (res * res).sum(axis=1)


def fit_exponential_decay(delays_s, ic, tau_range_s=(1e-4, 1e4), n_grid: int = 801) -> dict:
    """Least-squares fit of ``IC(d) = IC0 exp(-d / tau)`` (see the module docstring).

    Returns ``{"ic0", "tau_s", "half_life_s" (= tau ln 2), "r2", "rmse"}``; ``tau_s = inf`` when the
    best ``tau`` is beyond ``tau_range_s`` (no visible decay), ``= tau_range_s[0]`` when the IC is
    gone at the first positive delay. ``r2`` is ``1 - SSE / sum (IC - mean IC)^2``.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([0.0, 0.5, 1.0, 2.0])
    >>> f = fit_exponential_decay(d, 0.2 * np.exp(-d / 0.7))
    >>> round(f["ic0"], 3), round(f["tau_s"], 2), round(f["half_life_s"], 2)
    (0.2, 0.7, 0.49)
    """
    d = np.asarray(delays_s, dtype=np.float64)
    y = np.asarray(ic, dtype=np.float64)
    if d.shape != y.shape or d.size < 2 or np.isnan(y).any():
        raise ValueError("need at least two (delay, IC) pairs without NaN")
    taus = np.geomspace(tau_range_s[0], tau_range_s[1], n_grid)
    ic0, tau, sse = _profile_fit(d, y[None, :], taus)
    sst = float(((y - y.mean()) ** 2).sum())
    return {"ic0": float(ic0[0]), "tau_s": float(tau[0]), "half_life_s": float(tau[0] * math.log(2)),
            "r2": 1.0 - float(sse[0]) / sst if sst > 0 else float("nan"),
            "rmse": math.sqrt(float(sse[0]) / d.size)}


@dataclass
class DecayFit:
    """Result of :func:`signal_decay`.

    table: per delay ``delay_ns``, ``delay_s``, ``ic``, ``ic_lo``, ``ic_hi`` (bootstrap percentile
    band), ``ic_fit``. ic0, tau_s, half_life_s, r2: the fit on the full sample. half_life_ci:
    bootstrap percentile interval of the half-life (s; ``inf`` bounds when replicates show no
    decay). n_samples, n_blocks, n_boot, level: the design. boot_half_life: every replicate's.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per delay: ``delay_ns``, ``delay_s``, ``ic``, ``ic_lo``, ``ic_hi`` (bootstrap
        percentile band) and ``ic_fit`` (the fitted curve).
    ic0 : float
        Fitted IC at zero delay (dimensionless).
    tau_s : float
        Fitted decay time of ``IC(d) = ic0 exp(-d / tau)`` (s).
    half_life_s : float
        ``tau ln 2`` (s).
    r2 : float
        R^2 of the fit over the delays.
    half_life_ci : tuple of float
        Bootstrap percentile interval of the half-life (s; ``inf`` bounds when replicates show
        no decay).
    n_samples : int
        Sample times used.
    n_blocks : int
        Time blocks of the block bootstrap.
    n_boot : int
        Bootstrap replicates.
    level : float
        Coverage of the intervals (e.g. 0.9).
    boot_half_life : numpy.ndarray
        The half-life of every bootstrap replicate (s).

    Examples
    --------
    >>> import numpy as np
    >>> ts = np.arange(400) * 10**8
    >>> mid = 10000.0 + 100 * np.cumsum(np.tile([1.0, -1.0, 1.0, 1.0, -1.0], 80))
    >>> sig = np.r_[np.diff(mid), 0.0]
    >>> fit = signal_decay(ts, sig, mid, [0, 10**8, 2 * 10**8], horizon_ns=10**8, step_ns=10**8, tick=100.0,
    ...                    block_ns=10**10, n_boot=20)
    >>> type(fit).__name__, fit.table.columns.tolist()[:3]
    ('DecayFit', ['delay_ns', 'delay_s', 'ic'])
    """

    table: pd.DataFrame
    ic0: float
    tau_s: float
    half_life_s: float
    r2: float
    half_life_ci: tuple[float, float]
    n_samples: int
    n_blocks: int
    n_boot: int
    level: float
    boot_half_life: np.ndarray = field(repr=False)

    def summary(self) -> dict:
        """The fit as a flat dict: ic0, tau_s, half_life_s (with its interval), r2 and the design."""
        return {"ic0": self.ic0, "tau_s": self.tau_s, "half_life_s": self.half_life_s,
                "half_life_lo_s": self.half_life_ci[0], "half_life_hi_s": self.half_life_ci[1],
                "r2": self.r2, "n_samples": self.n_samples, "n_blocks": self.n_blocks}


def _quantile(x: np.ndarray, q: float) -> float:
    """Percentile of values that may be ``+inf`` (no visible decay): ``inf`` when it falls there."""
    v = np.quantile(np.where(np.isinf(x), 1e300, x), q)
    return float("inf") if v > 1e200 else float(v)


def signal_decay(ts, signal, mid, delays_ns, *, horizon_ns: int = NS, step_ns: int = NS // 4,
                 tick: float = 1.0, t0: int | None = None, t1: int | None = None,
                 block_ns: int | None = 30 * 60 * NS, n_boot: int = 500, level: float = 0.9,
                 seed: int = 0, tau_range_s=(1e-4, 1e4)) -> DecayFit:
    """IC of a delayed forecast, exponential decay fit and bootstrap interval of its half-life.

    See the module docstring for the definitions and :func:`delayed_ic` for the sampling
    arguments. ``n_boot`` block-bootstrap replicates (seeded by ``seed``), ``level`` the coverage
    of the percentile intervals.

    Examples
    --------
    >>> import numpy as np
    >>> ts = np.arange(400) * 10**8
    >>> mid = 10000.0 + 100 * np.cumsum(np.tile([1.0, -1.0, 1.0, 1.0, -1.0], 80))
    >>> sig = np.r_[np.diff(mid), 0.0]                     # the next move: IC 1 at delay 0
    >>> fit = signal_decay(ts, sig, mid, [0, 10**8, 2 * 10**8], horizon_ns=10**8, step_ns=10**8, tick=100.0,
    ...                    block_ns=10**10, n_boot=20)
    >>> fit.table["ic"].round(3).tolist()
    [1.0, -0.665, 0.161]
    """
    s = delayed_ic(ts, signal, mid, delays_ns, horizon_ns=horizon_ns, step_ns=step_ns, tick=tick,
                   t0=t0, t1=t1, block_ns=block_ns)
    d_s = s["delays_ns"] / NS
    fit = fit_exponential_decay(d_s, s["ic"], tau_range_s)
    # block sums of the rank moments -> replicate ICs in one matrix product
    B = int(s["block"].max()) + 1
    rx, ry, blk = s["rx"], s["ry"], s["block"]
    cnt = np.bincount(blk, minlength=B).astype(np.float64)
    sy = np.bincount(blk, ry, B)
    syy = np.bincount(blk, ry * ry, B)
    sx = np.stack([np.bincount(blk, r, B) for r in rx], axis=1)          # (B, K)
    sxx = np.stack([np.bincount(blk, r * r, B) for r in rx], axis=1)
    sxy = np.stack([np.bincount(blk, r * ry, B) for r in rx], axis=1)
    rng = np.random.default_rng(seed)
    W = np.stack([np.bincount(rng.integers(0, B, B), minlength=B) for _ in range(n_boot)]).astype(np.float64)
    n = W @ cnt
    mx, my = (W @ sx) / n[:, None], (W @ sy) / n
    cov = (W @ sxy) / n[:, None] - mx * my[:, None]
    vx = (W @ sxx) / n[:, None] - mx * mx
    vy = (W @ syy) / n - my * my
    boot_ic = cov / np.sqrt(np.maximum(vx * vy[:, None], 1e-300))
    taus = np.geomspace(tau_range_s[0], tau_range_s[1], 801)
    _, btau, _ = _profile_fit(d_s, boot_ic, taus)
    bhl = btau * math.log(2)
    a = (1 - level) / 2
    ci = (_quantile(bhl, a), _quantile(bhl, 1 - a))
    tau = fit["tau_s"]
    table = pd.DataFrame({"delay_ns": s["delays_ns"], "delay_s": d_s, "ic": s["ic"],
                          "ic_lo": np.quantile(boot_ic, a, axis=0), "ic_hi": np.quantile(boot_ic, 1 - a, axis=0),
                          "ic_fit": fit["ic0"] * np.exp(-d_s / tau) if np.isfinite(tau) else fit["ic0"]})
    return DecayFit(table=table, ic0=fit["ic0"], tau_s=tau, half_life_s=fit["half_life_s"], r2=fit["r2"],
                    half_life_ci=ci, n_samples=s["n"], n_blocks=B, n_boot=int(n_boot), level=float(level),
                    boot_half_life=bhl)
