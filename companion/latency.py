"""Latency analysis: what delay costs a strategy, how fast a signal decays, where the compute goes.

Three measurements, each a function returning a tidy ``DataFrame`` (or a small result object):

1. **Latency sweep** (:func:`latency_sweep`). The same strategy runs through
   :class:`companion.sim.simulator.Simulator` (via :func:`companion.backtest.run_backtest`) once per
   latency ``L`` on a log-spaced grid (:data:`LATENCY_GRID_NS`: 0, 10 us, 100 us, 1 ms, 10 ms,
   100 ms, 1 s) and per *channel*:

   * ``"feed"``: market data reach the strategy ``L`` late (hftbacktest's feed latency);
   * ``"order"``: every order takes ``L`` to reach the matching engine and every response
     (ack, fill, cancel) takes ``L`` to come back: entry = response = ``L`` (round trip ``2L``);
   * ``"all"``: the three channels at ``L`` each.

   The channels not swept keep the latencies of the ``execution`` config (default 0). Per run:
   trades, fill rate, net / gross / mid P&L (currency), slippage against the decision mid (bps),
   and the **adverse selection** of the fills over horizons ``h``,

   .. math:: A_h = -\\frac{\\sum_f q_f\\, s_f\\,\\big(M(t_f + h) - M(t_f^-)\\big)}{\\delta \\sum_f q_f}

   in ticks (``s_f`` +1 buy / -1 sell, ``q_f`` quantity, ``M(t_f^-)`` the mid of the book row
   before the fill, ``M(t)`` the mid after the last event with ``ts <= t``, ``delta`` the tick):
   positive when the mid moves against the fill (the classic cost of being picked off,
   Glosten & Milgrom 1985; Moallemi & Yuan's ``beta(q)``).

2. **Signal decay** (:func:`signal_decay`). The information coefficient of a forecast that is
   used ``d`` late: on sample times ``t_j`` (a clock grid), the signal observed at ``t_j - d``
   against the forward mid move over ``(t_j, t_j + h]`` in ticks,

   .. math:: \\mathrm{IC}(d) = \\rho_S\\big(x(t_j - d),\\; M(t_j + h) - M(t_j)\\big),

   Spearman's rank correlation (mid-ranks for ties) on one common set of samples for every
   ``d``. The decay is fitted by least squares in IC units over the delay grid,

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
   over the drawn blocks: the ranks are not recomputed per replicate; for the sample sizes here the
   difference is far below the sampling error.) Published anchor: Cont, Kukanov & Stoikov (2014,
   section 4.1) find that pre-trade OFI predicts post-trade moves only over 50-200 ms.

3. **Compute budget** (:func:`compute_budget`). Per event, in process, ``time.perf_counter_ns``
   around each stage of a tick-to-trade path, after warm-up (JIT compiled, caches filled):
   book update (:mod:`companion.book.kernels`' hot loop on one event), imbalance signal,
   feature update (:class:`companion.features.FeatureEngine` on a one-event chunk), model
   (:class:`companion.models.compiled.CompiledModel`, one row) and decision. The table gives p50 /
   p99 per stage and path, next to the *batch* cost (one kernel call over all the events, divided
   by their number: the compute without Python's per-call overhead) and the design targets
   (:data:`TARGETS_NS`: signal path < 10 us; features + model < 1 ms). Timings vary from run to
   run and machine to machine: never assert on them.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit

from companion.events import NS, Instrument
from companion.signals import (
    classify_nb,
    composite_nb,
    distance_weighted_imbalance_nb,
    mid_price,
    model_rule_nb,
    volume_imbalance_nb,
)
from companion.stats import pearson

__all__ = [
    "LATENCY_GRID_NS", "CHANNELS", "TARGETS_NS", "adverse_selection", "run_summary", "latency_sweep",
    "value_at", "delayed_ic", "fit_exponential_decay", "DecayFit", "signal_decay", "imbalance_signal_nb",
    "model_decision_nb", "compute_budget", "format_ns",
]

#: the latency grid of the sweep in ns (0, 10 us, 100 us, 1 ms, 10 ms, 100 ms, 1 s)
LATENCY_GRID_NS = (0, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000)
#: swept channel -> which of (feed, entry, response) take the swept value
CHANNELS = {"feed": (True, False, False), "order": (False, True, True), "all": (True, True, True)}
#: design targets of the tick-to-trade path (ns)
TARGETS_NS = {"signal path": 10_000, "features + model": 1_000_000}


# --------------------------------------------------------------------------------------------
# 1. latency sweep
# --------------------------------------------------------------------------------------------
def _mid_ffill(book: np.ndarray) -> np.ndarray:
    return pd.Series(mid_price(book)).ffill().to_numpy()


def adverse_selection(fills: np.ndarray, ts: np.ndarray, mid: np.ndarray, horizon_ns: int,
                      tick: float) -> np.ndarray:
    """Per fill: ``-s (M(t_f + h) - M(t_f^-)) / tick`` (ticks; positive = the mid moved against us).

    ``fills``: :data:`companion.sim.FILL_DTYPE` rows; ``ts``/``mid``: per event (mid forward-filled);
    ``M(t_f^-)`` is the mid of row ``event_idx - 1`` (the book the fill met), ``M(t)`` the mid after
    the last event with ``ts <= t``. NaN when ``t_f + h`` is past the last event.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.sim import FILL_DTYPE
    >>> f = np.zeros(1, FILL_DTYPE)
    >>> f["ts"], f["event_idx"], f["side"] = 10, 1, 1          # a buy filled by event 1
    >>> ts = np.array([0, 10, 20, 30])
    >>> adverse_selection(f, ts, np.array([10000.0, 10000.0, 9900.0, 9800.0]), horizon_ns=15, tick=100.0).tolist()
    [1.0]
    """
    ts = np.asarray(ts, dtype=np.int64)
    if len(fills) == 0:
        return np.empty(0)
    k0 = np.maximum(np.asarray(fills["event_idx"], dtype=np.int64) - 1, 0)
    t_end = np.asarray(fills["ts"], dtype=np.int64) + int(horizon_ns)
    k1 = np.searchsorted(ts, t_end, side="right") - 1
    out = -np.asarray(fills["side"], dtype=np.float64) * (mid[k1] - mid[k0]) / float(tick)
    out[t_end > ts[-1]] = np.nan
    return out


def _wavg(x: np.ndarray, w: np.ndarray) -> float:
    ok = ~np.isnan(x)
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok])) if ok.any() and np.sum(w[ok]) > 0 else float("nan")


def run_summary(res, horizons_ns=(NS, 10 * NS), mid: np.ndarray | None = None) -> dict:
    """The sweep's numbers of one :class:`companion.backtest.BacktestResult` (money in currency,
    adverse selection ``adverse_<h>`` in ticks, quantity-weighted over all fills, see
    :func:`adverse_selection`).

    Examples
    --------
    >>> from companion import synth  # doctest: +SKIP
    >>> from companion.backtest import ImbalanceScalper, run_backtest  # doctest: +SKIP
    >>> cfg = synth.SynthConfig(session=(34200.0, 34320.0))  # doctest: +SKIP
    >>> d = synth.simulate(seed=1, levels=5, config=cfg)  # doctest: +SKIP
    >>> res = run_backtest(synth.to_events(d.messages), d.orderbook, synth.instrument(cfg, 5), ImbalanceScalper())  # doctest: +SKIP
    >>> sorted(run_summary(res))[:4]  # doctest: +SKIP
    ['adverse_10s', 'adverse_1s', 'fees', 'fill_rate']
    """
    from companion.backtest import metrics as M

    sim = res.sim
    inst = res.instrument
    mid = _mid_ffill(sim.book) if mid is None else mid
    t = res.trades
    pn = res.pnl()
    o = sim.orders
    own = o[o["by_risk"] == 0]
    f = sim.fills
    out = {
        "trades": int(len(t)), "orders": int(len(own)), "fills": int(len(f)),
        "fill_rate": M.fill_rate(own["filled"], own["qty"]),
        "maker_share": float(np.mean(f["liquidity"] == 1)) if len(f) else float("nan"),
        "net_pnl": pn["net"], "gross_pnl": pn["gross"], "pnl_mid": pn["pnl_mid"], "fees": pn["fees"],
        "pnl_per_trade": pn["net"] / len(t) if len(t) else float("nan"),
    }
    if len(f):
        fr = res.fills
        out["slippage_bps"] = M.slippage_bps(fr["side"].to_numpy(float), fr["price"].to_numpy(float),
                                              fr["decision_mid"].to_numpy(float), fr["qty"].to_numpy(float))
    else:
        out["slippage_bps"] = float("nan")
    q = np.asarray(f["qty"], dtype=np.float64)
    for h in horizons_ns:
        a = adverse_selection(f, sim.ts, mid, int(h), float(inst.tick))
        out[f"adverse_{_label(int(h))}"] = _wavg(a, q)
    return out


def _label(ns: int) -> str:
    """``1_000_000_000 -> '1s'``, ``10_000_000 -> '10ms'``, ``10_000 -> '10us'``, ``0 -> '0'``."""
    for unit, div in (("s", NS), ("ms", 1_000_000), ("us", 1_000), ("ns", 1)):
        if ns and ns % div == 0:
            return f"{ns // div}{unit}"
    return "0"


def format_ns(ns: float) -> str:
    """Human-readable duration: ``'850 ns'``, ``'12.3 us'``, ``'4.1 ms'``, ``'1.2 s'``.

    Examples
    --------
    >>> format_ns(850), format_ns(12_300), format_ns(4.1e6), format_ns(1.2e9)
    ('850 ns', '12.3 us', '4.1 ms', '1.2 s')
    """
    if ns != ns:
        return "n/a"
    for unit, div in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if abs(ns) >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.0f} ns"


def latency_sweep(events: np.ndarray, book: np.ndarray, instrument: Instrument, strategy, *,
                  latencies_ns=LATENCY_GRID_NS, channels=("feed", "order"), execution=None,
                  horizons_ns=(NS, 10 * NS)) -> pd.DataFrame:
    """Run ``strategy`` once per (channel, latency) and collect :func:`run_summary`.

    Parameters
    ----------
    events, book, instrument
        The dataset (:func:`companion.data.load`).
    strategy
        A strategy of ``companion.backtest.strategies`` (e.g. ``ImbalanceScalper()``).
    latencies_ns : tuple[int, ...]
        One-way latencies ``L`` (ns), default :data:`LATENCY_GRID_NS`.
    channels : tuple[str, ...]
        Names of :data:`CHANNELS` (``"feed"``, ``"order"``, ``"all"``).
    execution : companion.backtest.ExecutionConfig or None
        Everything else (fees, queue, risk, seed, and the latencies of the channels not swept);
        default: that config with all latencies 0.
    horizons_ns : tuple[int, ...]
        Adverse-selection horizons (ns).

    Returns
    -------
    DataFrame, one row per (channel, latency): ``channel``, ``latency_ns``, ``latency_s``,
    ``feed_ns``, ``entry_ns``, ``response_ns`` and the columns of :func:`run_summary`. Runs with the
    same three latencies are computed once (at ``L = 0`` every channel is the same run).

    Examples
    --------
    >>> from companion import synth  # doctest: +SKIP
    >>> from companion.backtest import ImbalanceScalper  # doctest: +SKIP
    >>> cfg = synth.SynthConfig(session=(34200.0, 34320.0))  # doctest: +SKIP
    >>> d = synth.simulate(seed=1, levels=5, config=cfg)  # doctest: +SKIP
    >>> sw = latency_sweep(synth.to_events(d.messages), d.orderbook, synth.instrument(cfg, 5), ImbalanceScalper(),
    ...                    latencies_ns=(0, 10**6), channels=("order",))  # doctest: +SKIP
    >>> sw[["channel", "latency_s", "net_pnl", "fill_rate"]]  # doctest: +SKIP
      channel  latency_s  net_pnl  fill_rate
    0   order      0.000  -162.48        0.8
    1   order      0.001  -162.48        1.0
    """
    from companion.backtest import ExecutionConfig, run_backtest

    ex = execution if execution is not None else ExecutionConfig(feed_latency=0, entry_latency=0,
                                                                 response_latency=0)
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValueError(f"unknown channels {unknown}; choose from {list(CHANNELS)}")
    lats = [int(x) for x in latencies_ns]
    if any(x < 0 for x in lats):
        raise ValueError("latencies must be >= 0 ns")
    mid = _mid_ffill(book)
    cache: dict[tuple, dict] = {}
    rows = []
    for ch in channels:
        sw = CHANNELS[ch]
        for L in lats:
            lat = tuple(L if s else base for s, base in
                        zip(sw, (ex.feed_latency, ex.entry_latency, ex.response_latency)))
            key = tuple(repr(x) for x in lat)
            if key not in cache:
                cfg = ExecutionConfig(**{**ex.__dict__, "feed_latency": lat[0], "entry_latency": lat[1],
                                         "response_latency": lat[2]})
                res = run_backtest(events, book, instrument, strategy, execution=cfg)
                cache[key] = run_summary(res, horizons_ns, mid=mid)
            ns = [x if isinstance(x, (int, np.integer)) else getattr(x, "ns", np.nan) for x in lat]
            rows.append({"channel": ch, "latency_ns": L, "latency_s": L / NS, "feed_ns": ns[0],
                         "entry_ns": ns[1], "response_ns": ns[2], **cache[key]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# 2. signal decay
# --------------------------------------------------------------------------------------------
def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x, method="average")


def value_at(ts: np.ndarray, x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``x`` after the last event with ``ts <= t`` (NaN before the first event): the value an
    observer sees at times ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> value_at(np.array([10, 20]), np.array([1.0, 2.0]), np.array([5, 10, 15, 25])).tolist()
    [nan, 1.0, 1.0, 2.0]
    """
    j = np.searchsorted(ts, t, side="right") - 1
    return np.where(j >= 0, x[np.maximum(j, 0)], np.nan)


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

    Returns ``{"delays_ns", "ic", "rx" (n_delays, n) ranks, "ry" (n,) ranks, "block" (n,) ids,
    "t" (n,) sample times, "n"}``.

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
    ry = _ranks(y)
    rx = np.stack([_ranks(r) for r in X])
    block = ((t - t0) // int(block_ns)) if block_ns else (t // (86_400 * NS))
    _, block = np.unique(block, return_inverse=True)
    ic = np.array([pearson(r, ry) for r in rx])
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


# --------------------------------------------------------------------------------------------
# 3. compute budget
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def imbalance_signal_nb(rows: np.ndarray, levels: int, tick: float, w_v: float, w_d: float,
                        weak: float, strong: float) -> np.ndarray:
    """Class codes of the scalper's composite imbalance (volume and distance-weighted parts of
    :mod:`companion.signals`; the order-count part needs the per-order map and is left out, the
    weights renormalise) for book rows ``rows`` (n, 4L): one fused call per event.

    Examples
    --------
    >>> import numpy as np
    >>> rows = np.array([[10100., 100, 10000, 900], [10100, 900, 10000, 100]])
    >>> imbalance_signal_nb(rows, 1, 100.0, 0.7, 0.2, 0.15, 0.35).tolist()    # strong buy, strong sell
    [2, -2]
    """
    iv = volume_imbalance_nb(rows, levels)
    idw = distance_weighted_imbalance_nb(rows, levels, tick)
    s = composite_nb(iv, idw, np.full(rows.shape[0], np.nan), w_v, w_d, 0.0)
    return classify_nb(s, weak, strong)


@njit(cache=True)
def model_decision_nb(raw: float, ofi: float, ofi_threshold: float, p_long: float, p_short: float) -> int:
    """The model rule of :func:`companion.signals.model_rule` on one raw score:
    ``p = 1 / (1 + exp(-raw))``; +1 when ``p > p_long`` and ``ofi > theta``, -1 when ``p < p_short``
    and ``ofi < -theta``, else 0.

    Examples
    --------
    >>> model_decision_nb(1.0, 5.0, 1.0, 0.55, 0.45), model_decision_nb(-1.0, -5.0, 1.0, 0.55, 0.45)
    (1, -1)
    """
    return model_rule_nb(1.0 / (1.0 + math.exp(-raw)), ofi, ofi_threshold, p_long, p_short)


def _stats(x: np.ndarray) -> dict:
    return {"p50_ns": float(np.percentile(x, 50)), "p99_ns": float(np.percentile(x, 99)),
            "mean_ns": float(np.mean(x))}


def compute_budget(events: np.ndarray, book: np.ndarray, instrument: Instrument, *, model=None,
                   features: list[str] | None = None, start: int | None = None, n_events: int = 20_000,
                   warmup: int = 2_000, levels: int = 5, ofi_feature: str = "ofi_10s",
                   grid="1s") -> pd.DataFrame:
    """p50 / p99 per event of each stage of a tick-to-trade path, measured in this process.

    Stages, each timed with ``time.perf_counter_ns`` around one call per event, over ``n_events``
    consecutive events from ``start`` (default: the middle of the day) after ``warmup`` untimed ones:

    * ``book update``: the book engine's hot loop (:mod:`companion.book.kernels`) applied to one
      event on a persistent full-depth state seeded with the row before ``start``;
    * ``imbalance signal``: :func:`imbalance_signal_nb` on the new top-``levels`` row;
    * ``features``: :meth:`companion.features.FeatureEngine.update_arrays` on the one-event chunk
      (``features``; default: the model's features, else ``[ofi_feature, "composite_imb"]``);
    * ``model``: :meth:`companion.models.compiled.CompiledModel.predict_raw_row` on the latest feature row (skipped when
      ``model`` is None);
    * ``decision``: :func:`model_decision_nb` on the raw score and ``ofi_feature``.

    Paths (per-event sums, then percentiles): ``signal path`` = book + signal (the scalper's
    tick-to-decision compute; the scalper's decision is a comparison of the code), ``features +
    model`` = features + model + decision. Columns: ``stage``, ``p50_ns``, ``p99_ns``,
    ``mean_ns``, ``batch_ns`` (one call over all the timed events / their number; NaN for paths),
    ``target_ns`` (:data:`TARGETS_NS`), ``within_target`` (p99 <= target).

    Examples
    --------
    >>> from companion import synth  # doctest: +SKIP
    >>> cfg = synth.SynthConfig(session=(34200.0, 34320.0))  # doctest: +SKIP
    >>> d = synth.simulate(seed=1, levels=5, config=cfg)  # doctest: +SKIP
    >>> b = compute_budget(synth.to_events(d.messages), d.orderbook, synth.instrument(cfg, 5), n_events=500,
    ...                    warmup=100)  # doctest: +SKIP
    >>> b["stage"].tolist()  # doctest: +SKIP
    ['book update', 'imbalance signal', 'features', 'decision', 'signal path', 'features + model', 'timer overhead']
    """
    from companion.book import kernels as bk
    from companion.features import FeatureEngine, parse_grid
    from companion.features import compute as features_compute
    from companion.models.compiled import predict_raw_nb

    n_all = len(events)
    if n_all < 3:
        raise ValueError("need events")
    book = np.ascontiguousarray(book, dtype=np.float64)
    L = min(levels, book.shape[1] // 4)
    if features is None:
        features = list(model.feature_names) if (model is not None and model.feature_names) else [ofi_feature, "composite_imb"]
    if ofi_feature not in features:
        features = [*features, ofi_feature]
    j_ofi = features.index(ofi_feature)
    if model is not None and model.feature_names:
        missing = [f for f in model.feature_names if f not in features]
        if missing:
            raise ValueError(f"features lack the model's inputs {missing}")
        col = [features.index(f) for f in model.feature_names]
    elif model is not None:
        if model.n_features > len(features):
            raise ValueError(f"the model takes {model.n_features} features, {len(features)} given")
        col = list(range(model.n_features))
    else:
        col = []
    n_events = int(min(n_events, n_all - 2))
    warmup = int(min(warmup, n_all - 1 - n_events))
    s0 = int(n_all // 2 - (n_events + warmup) // 2) if start is None else int(start)
    s0 = max(1, min(s0, n_all - n_events - warmup))
    kind = np.ascontiguousarray(events["kind"], np.int8)
    side = np.ascontiguousarray(events["side"], np.int8)
    price = np.ascontiguousarray(events["price"], np.int64)
    size = np.ascontiguousarray(events["size"], np.float64)
    bst = bk.BookState(book[s0 - 1].copy(), 1 << 14)
    row_out = np.empty((1, 4 * L), dtype=np.float64)
    # the feature engine starts at the grid point before the warm-up: its state needs history,
    # but the per-event cost does not depend on how full its windows are
    eng = FeatureEngine(instrument, grid=grid, features=features, start_ns=None, end_ns=None)
    pre = max(0, s0 - 50_000)
    eng.update_arrays(events[pre:s0], book[pre:s0])
    x = np.zeros(len(features))
    x_model = np.zeros(len(col))
    raw = np.zeros(1)
    arrs = model.arrays if model is not None else None
    w_v, w_d = 0.7, 0.2
    tick = float(instrument.tick)
    n_tot = warmup + n_events
    T = np.zeros((5, n_events), dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(n_tot):
        e = s0 + i
        t_a = clock()
        bk.book_step_nb(bst, kind[e:e + 1], side[e:e + 1], price[e:e + 1], size[e:e + 1], row_out)
        t_b = clock()
        imbalance_signal_nb(row_out, L, tick, w_v, w_d, 0.15, 0.35)
        t_c = clock()
        st, vals = eng.update_arrays(events[e:e + 1], book[e:e + 1])
        if len(st):
            x[:] = vals[-1]
        t_d = clock()
        if model is not None:
            x_model[:] = x[col]
            model.predict_raw_row(x_model, raw)
        t_e = clock()
        model_decision_nb(float(raw[0]), float(x[j_ofi]), 0.0, 0.55, 0.45)
        t_f = clock()
        if i >= warmup:
            k = i - warmup
            T[0, k], T[1, k], T[2, k], T[3, k], T[4, k] = t_b - t_a, t_c - t_b, t_d - t_c, t_e - t_d, t_f - t_e
    # the clock's own cost: an empty timed region
    T0 = np.empty(n_events, dtype=np.int64)
    for k in range(n_events):
        t_a = clock()
        T0[k] = clock() - t_a
    # batch references: one call over the timed events (each kernel called once before, so the
    # timing holds no compilation or cache loading)
    sl = slice(s0 + warmup, s0 + n_tot)
    out = np.empty((n_events, 4 * L))
    rows_L = np.ascontiguousarray(book[sl, :4 * L])
    ts_sl = events["ts"][sl]
    step = parse_grid(grid).step_ns if parse_grid(grid).kind == "clock" else NS
    f_kw = dict(grid=grid, features=features, start_ns=int(ts_sl[0]) // step * step, end_ns=int(ts_sl[-1]))
    bk.replay_into_nb(kind[sl][:100], side[sl][:100], price[sl][:100], size[sl][:100], book[s0 + warmup - 1],
                      out[:100])
    imbalance_signal_nb(rows_L[:100], L, tick, w_v, w_d, 0.15, 0.35)
    features_compute(events[sl][:100], book[sl][:100], instrument, **{**f_kw, "end_ns": int(ts_sl[99])})
    t_a = clock()
    bk.replay_into_nb(kind[sl], side[sl], price[sl], size[sl], book[s0 + warmup - 1], out)
    t_b = clock()
    imbalance_signal_nb(rows_L, L, tick, w_v, w_d, 0.15, 0.35)
    t_c = clock()
    features_compute(events[sl], book[sl], instrument, **f_kw)
    t_d = clock()
    batch = {"book update": (t_b - t_a) / n_events, "imbalance signal": (t_c - t_b) / n_events,
             "features": (t_d - t_c) / n_events}
    if model is not None:
        Xm = np.ascontiguousarray(np.repeat(x_model[None, :], n_events, axis=0))
        predict_raw_nb(Xm[:10], *arrs, model.num_class)
        t_a = clock()
        predict_raw_nb(Xm, *arrs, model.num_class)
        batch["model"] = (clock() - t_a) / n_events
    names = ["book update", "imbalance signal", "features", "model", "decision"]
    rows = []
    for j, nm in enumerate(names):
        if nm == "model" and model is None:
            continue
        rows.append({"stage": nm, **_stats(T[j]), "batch_ns": batch.get(nm, np.nan), "target_ns": np.nan})
    paths = {"signal path": T[0] + T[1], "features + model": T[2] + T[3] + T[4]}
    for nm, v in paths.items():
        rows.append({"stage": nm, **_stats(v), "batch_ns": np.nan, "target_ns": float(TARGETS_NS[nm])})
    rows.append({"stage": "timer overhead", **_stats(T0), "batch_ns": np.nan, "target_ns": np.nan})
    df = pd.DataFrame(rows)
    df["within_target"] = np.where(df["target_ns"].isna(), None, df["p99_ns"] <= df["target_ns"])
    df.attrs.update({"n_events": n_events, "warmup": warmup, "start": s0, "features": features})
    return df
