r"""Market making: two-sided quoting strategies (Avellaneda–Stoikov, GLFT, grid) with an alpha skew.

A market maker rests a bid and an ask around a *reservation price* ``r`` and earns the spread
when both fill; it loses when the mid moves against the inventory it accumulates (adverse
selection). Every quantity below is in **ticks** for prices (``mid / tick``), **seconds** for
time, and **quote units** for inventory (``q = position / quote_size``, as in hftbacktest's GLFT
tutorial where one order is one unit).

Models (``gamma`` = risk aversion :math:`\gamma` per tick, :math:`\sigma` = mid volatility in
ticks per :math:`\sqrt{s}`, trade intensity :math:`\lambda(\delta) = A e^{-k\delta}` with
:math:`A` in trades per second and :math:`k` per tick, :math:`s` the mid):

* **Avellaneda–Stoikov (2008)**, eqs. (29)-(30): reservation price
  :math:`r = s - q\gamma\sigma^2(T-t)` and total spread
  :math:`\delta^a + \delta^b = \gamma\sigma^2(T-t) + \frac{2}{\gamma}\ln(1 + \gamma/k)`, quotes
  :math:`r \mp` half of it. ``T`` = the session close (or a constant horizon ``horizon_s``).
* **GLFT**: Guéant, Lehalle & Fernandez-Tapia (2013), *Dealing with the inventory risk*, the
  asymptotic (large-T) closed form, eqs. (4.6)-(4.7) with :math:`\Delta = 1` quote unit and
  :math:`\xi = \gamma`:

  .. math::
     \delta^b(q) = c_1 + \tfrac{2q+1}{2}\,\sigma c_2,\qquad
     \delta^a(q) = c_1 - \tfrac{2q-1}{2}\,\sigma c_2,\\
     c_1 = \frac{1}{\gamma}\ln\Bigl(1+\frac{\gamma}{k}\Bigr),\qquad
     c_2 = \sqrt{\frac{\gamma}{2Ak}\Bigl(1+\frac{\gamma}{k}\Bigr)^{\frac{k}{\gamma}+1}},

  i.e. half-spread :math:`c_1 + \sigma c_2/2` around :math:`r = s - \sigma c_2\, q` (hftbacktest's
  ``compute_coeff`` / ``half_spread`` / ``skew``, "GLFT market making model and grid trading").
* **Grid** (large-tick names, where the model spread is below one tick): one quote per side at
  ``half_spread_ticks`` from :math:`r = s - \text{skew\_ticks}\cdot q`.

Alpha skew (hftbacktest "market making with alpha"): :math:`r \mathrel{+}= \text{alpha\_scale}
\times f_k`, ``f`` a per-event forecast (imbalance, micro-price minus mid in ticks, normalised
trailing OFI, or a model's P(up) - 0.5: :func:`alpha_forecast`), stored in ``user_state[2]`` so
the live executor can write it as events arrive. ``alpha_scale`` is in ticks per forecast unit.

Quotes are rounded outwards (bid down, ask up) to the tick and never cross the touch
(bid <= ask - 1 tick, ask >= bid + 1 tick); POST_ONLY by default. Order management:
a side is requoted (cancel + new order) only when its target moves by >= ``requote_ticks``
(queue priority is worth keeping); no bid when ``position + quote_size > max_position`` (no ask
symmetrically); both quotes are pulled when the spread exceeds ``max_spread_ticks``, when
:math:`\sigma` exceeds ``max_sigma`` or while the causal estimates are warming up. Flat at the
close: the risk manager's ``flat_before_close_s`` (:class:`~companion.backtest.ExecutionConfig`)
cancels, flattens and halts.

:math:`\sigma`, :math:`A`, :math:`k` are estimated CAUSALLY per event by
:func:`rolling_volatility` and :func:`rolling_intensity` (trailing windows of past events only)
unless fixed by the strategy's ``sigma`` / ``A`` / ``k``.

Live (``companion.live.executor.LiveExecutor(strategy=...)``): the executor calls ``build`` on an
empty day and writes ``user_state[2]`` itself with its front's signal value (the composite
imbalance, or P(up) for the model configuration). So a market maker runs live with ``sigma``,
``A`` and ``k`` fixed (e.g. estimated on the previous day; with the empty tables it would keep
its quotes pulled) and with ``alpha="imbalance"`` or no alpha.

References: Avellaneda & Stoikov (2008), *High-frequency trading in a limit order book*, QF 8(3);
Guéant, Lehalle & Fernandez-Tapia (2013), Math. Fin. Econ. 7(4); hftbacktest tutorials
(nkaz001/hftbacktest, "GLFT market making model and grid trading", "Market making with alpha").
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from companion.backtest.strategies import log_decision_nb, new_decisions
from companion.events import EXEC_HIDDEN, EXEC_VISIBLE, NS, TRADE
from companion.sim.context import best_ask, best_bid, cancel, is_live, submit
from companion.sim.orders import LIMIT, NEW, PARTIAL, PENDING, POST_ONLY

__all__ = ["AvellanedaStoikov", "GLFT", "Grid", "MODEL_AS", "MODEL_GLFT", "MODEL_GRID",
           "market_maker_nb", "quote_targets_nb", "glft_coefficients", "glft_quotes",
           "avellaneda_stoikov_quotes", "rolling_volatility", "rolling_intensity",
           "alpha_forecast", "MarketMakerPython", "ALPHAS", "ROLE_QUOTE"]

MODEL_AS, MODEL_GLFT, MODEL_GRID = 0, 1, 2
#: decisions-table role of a quote (entry = 1, exit = 2 in ``strategies``)
ROLE_QUOTE = 3.0
#: names accepted by :func:`alpha_forecast`
ALPHAS = ("none", "imbalance", "microprice", "ofi")

# params vector
(P_QTY, P_MODEL, P_GAMMA, P_TICK, P_MAX_POS, P_REQUOTE_TICKS, P_ALPHA_SCALE, P_MAX_SPREAD_TICKS,
 P_MAX_SIGMA, P_T_END_NS, P_TAU_S, P_GRID_HALF, P_GRID_SKEW, P_A, P_K, P_SIGMA, P_MAX_ORDERS,
 P_OTYPE, P_C1, P_C2) = range(20)
N_MM_PARAMS = 20
# state vector: our live quote per side (order id, price units)
S_BID_OID, S_ASK_OID, S_BID_PX, S_ASK_PX = 0, 1, 2, 3
N_MM_STATE = 4
# model table columns (per event)
M_SIGMA, M_A, M_K = 0, 1, 2
N_MODEL = 3
_EPS = 1e-9


# --------------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def glft_coefficients_nb(gamma, A, k):
    """``(c1, c2)`` of the GLFT asymptotic quotes (module docstring); nan when undefined."""
    if not (gamma > 0.0 and A > 0.0 and k > 0.0):
        return np.nan, np.nan
    x = 1.0 + gamma / k
    c1 = math.log(x) / gamma
    c2 = math.sqrt(gamma / (2.0 * A * k) * x ** (k / gamma + 1.0))
    return c1, c2


@njit(cache=True)
def model_coefficients_nb(model, A, k, gamma):
    """The constants of ``model``'s quotes that depend on ``(A, k, gamma)`` only: GLFT
    ``(c1, c2)`` (:func:`glft_coefficients_nb`), Avellaneda-Stoikov ``(ln(1 + gamma/k) / gamma,
    nan)`` (nan when ``gamma`` or ``k`` is not > 0), grid ``(nan, nan)``. Computed once per run
    when ``A`` and ``k`` are fixed (the ``P_C1`` / ``P_C2`` parameters), else per wake-up."""
    if model == MODEL_GLFT:
        return glft_coefficients_nb(gamma, A, k)
    if model == MODEL_AS:
        if not (gamma > 0.0 and k > 0.0):
            return np.nan, np.nan
        return math.log(1.0 + gamma / k) / gamma, np.nan
    return np.nan, np.nan


@njit(cache=True)
def targets_from_coefficients_nb(model, mid_t, q, sigma, c1, c2, gamma, tau, alpha, grid_half,
                                 grid_skew):
    """:func:`quote_targets_nb` given :func:`model_coefficients_nb`'s ``(c1, c2)``."""
    if model == MODEL_GLFT:
        half = c1 + 0.5 * sigma * c2
        r = mid_t - sigma * c2 * q + alpha
    elif model == MODEL_AS:
        if not (c1 == c1):
            return np.nan, np.nan
        v = gamma * sigma * sigma * tau
        r = mid_t - q * v + alpha
        half = 0.5 * v + c1
    else:
        half = grid_half
        r = mid_t - grid_skew * q + alpha
    return r - half, r + half


@njit(cache=True)
def quote_targets_nb(model, mid_t, q, sigma, A, k, gamma, tau, alpha, grid_half, grid_skew):
    """Unrounded ``(bid, ask)`` in ticks for ``model`` (MODEL_AS / MODEL_GLFT / MODEL_GRID) at mid
    ``mid_t`` (ticks), inventory ``q`` (quote units), forecast shift ``alpha`` (ticks) -- the
    formulas of the module docstring. nan when the model is undefined for these inputs."""
    c1, c2 = model_coefficients_nb(model, A, k, gamma)
    return targets_from_coefficients_nb(model, mid_t, q, sigma, c1, c2, gamma, tau, alpha,
                                        grid_half, grid_skew)


def glft_coefficients(gamma: float, A: float, k: float) -> tuple[float, float]:
    r"""GLFT constants :math:`c_1 = \ln(1+\gamma/k)/\gamma` and
    :math:`c_2 = \sqrt{\frac{\gamma}{2Ak}(1+\gamma/k)^{k/\gamma+1}}` (module docstring; units:
    ``gamma`` per tick, ``A`` per second, ``k`` per tick; ``c1`` in ticks, ``c2`` in
    :math:`\sqrt{s}`).

    Examples
    --------
    >>> c1, c2 = glft_coefficients(gamma=0.1, A=2.0, k=0.5)
    >>> round(c1, 6), round(c2, 6)          # 10 ln 1.2, sqrt(0.05 x 1.2^6)
    (1.823216, 0.386393)
    """
    c1, c2 = glft_coefficients_nb(float(gamma), float(A), float(k))
    return float(c1), float(c2)


def glft_quotes(mid: float, q: float, *, sigma: float, A: float, k: float, gamma: float,
                alpha: float = 0.0) -> tuple[float, float]:
    r"""GLFT bid and ask (ticks, unrounded): :math:`s + \alpha - \delta^b(q)` and
    :math:`s + \alpha + \delta^a(q)` with the asymptotic :math:`\delta^{b,a}` of Guéant,
    Lehalle & Fernandez-Tapia (2013) (module docstring). ``mid`` in ticks, ``q`` in quote units,
    ``sigma`` ticks/√s, ``A`` trades/s, ``k`` per tick, ``gamma`` per tick, ``alpha`` ticks.

    Examples
    --------
    Flat: symmetric around the mid; long 2 units: both quotes shift down by ``2 sigma c2``:

    >>> b, a = glft_quotes(1000.0, 0.0, sigma=1.0, A=2.0, k=0.5, gamma=0.1)
    >>> round(1000 - b, 4), round(a - 1000, 4)
    (2.0164, 2.0164)
    >>> b2, a2 = glft_quotes(1000.0, 2.0, sigma=1.0, A=2.0, k=0.5, gamma=0.1)
    >>> round(b - b2, 4), round(a - a2, 4)
    (0.7728, 0.7728)
    """
    b, a = quote_targets_nb(MODEL_GLFT, float(mid), float(q), float(sigma), float(A), float(k),
                            float(gamma), 0.0, float(alpha), 0.0, 0.0)
    return float(b), float(a)


def avellaneda_stoikov_quotes(mid: float, q: float, *, sigma: float, k: float, gamma: float,
                              tau: float, alpha: float = 0.0) -> tuple[float, float]:
    r"""Avellaneda–Stoikov (2008) bid and ask (ticks, unrounded): :math:`r \mp \tfrac12[\gamma
    \sigma^2\tau + \tfrac{2}{\gamma}\ln(1+\gamma/k)]`, :math:`r = s - q\gamma\sigma^2\tau +
    \alpha`; ``tau = T - t`` in seconds (other units as :func:`glft_quotes`).

    Examples
    --------
    >>> b, a = avellaneda_stoikov_quotes(1000.0, 1.0, sigma=0.5, k=0.5, gamma=0.1, tau=60.0)
    >>> round(b, 4), round(a, 4)       # r = 1000 - 1.5 = 998.5, half-spread 0.75 + 1.8232
    (995.9268, 1001.0732)
    """
    b, a = quote_targets_nb(MODEL_AS, float(mid), float(q), float(sigma), np.nan, float(k),
                            float(gamma), float(tau), float(alpha), 0.0, 0.0)
    return float(b), float(a)


# --------------------------------------------------------------------------------------------
# the kernel
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _targets_px(params, sigma_e, A_e, k_e, t, bid, ask, position, value):
    """Target (bid, ask) prices in price units (nan = no quote on that side)."""
    tick = params[P_TICK]
    if not (bid == bid and ask == ask) or ask <= bid:
        return np.nan, np.nan
    if (ask - bid) / tick > params[P_MAX_SPREAD_TICKS] + _EPS:
        return np.nan, np.nan
    mdl = int(params[P_MODEL])
    sigma = params[P_SIGMA] if params[P_SIGMA] == params[P_SIGMA] else sigma_e
    A = params[P_A] if params[P_A] == params[P_A] else A_e
    k = params[P_K] if params[P_K] == params[P_K] else k_e
    if sigma == sigma and sigma > params[P_MAX_SIGMA]:
        return np.nan, np.nan
    if mdl != MODEL_GRID and not (sigma == sigma):
        return np.nan, np.nan
    alpha = 0.0
    if params[P_ALPHA_SCALE] != 0.0 and value == value:
        alpha = params[P_ALPHA_SCALE] * value
    tau = params[P_TAU_S]
    if params[P_T_END_NS] == params[P_T_END_NS]:
        tau = max(0.0, (params[P_T_END_NS] - t) / NS)
    q = position / params[P_QTY]
    c1, c2 = params[P_C1], params[P_C2]  # of the fixed A / k (GLFT), k (AS)
    if not (k == params[P_K] and (A == params[P_A] or mdl != MODEL_GLFT)):
        c1, c2 = model_coefficients_nb(mdl, A, k, params[P_GAMMA])  # estimated: this wake-up's
    b_t, a_t = targets_from_coefficients_nb(mdl, 0.5 * (bid + ask) / tick, q, sigma, c1, c2,
                                            params[P_GAMMA], tau, alpha, params[P_GRID_HALF],
                                            params[P_GRID_SKEW])
    if not (b_t == b_t and a_t == a_t):
        return np.nan, np.nan
    bpx = min(math.floor(b_t + _EPS) * tick, ask - tick)
    apx = max(math.ceil(a_t - _EPS) * tick, bid + tick)
    if position + params[P_QTY] > params[P_MAX_POS] + _EPS or bpx <= 0.0:
        bpx = np.nan
    if position - params[P_QTY] < -params[P_MAX_POS] - _EPS:
        apx = np.nan
    return bpx, apx


@njit(cache=True)
def _manage_side(ctx, params, state, dec, side, target, k, m, value):
    s_oid = S_BID_OID if side > 0 else S_ASK_OID
    s_px = S_BID_PX if side > 0 else S_ASK_PX
    oid = int(state[s_oid])
    live = 0 <= oid < ctx.n_orders and is_live(ctx.orders[oid].local_status)
    if target != target:
        if live:
            cancel(ctx, oid)
        state[s_oid] = -1.0
        return
    if live:
        if abs(target - state[s_px]) < max(params[P_REQUOTE_TICKS], 1.0) * params[P_TICK] - _EPS:
            return
        cancel(ctx, oid)
    state[s_oid] = -1.0
    if ctx.n_orders + ctx.counters[1] >= params[P_MAX_ORDERS]:
        return
    new = submit(ctx, side, params[P_QTY], target, int(params[P_OTYPE]))
    if new >= 0:
        state[s_oid] = new
        state[s_px] = target
        log_decision_nb(dec, new, k, m, value, ROLE_QUOTE)


@njit(cache=True)
def market_maker_nb(ctx, params, user_state):
    """Two-sided quoting (module docstring) as a :mod:`companion.sim.context` strategy.

    ``user_state = (state float64[N_MM_STATE], codes int8[n] (unused, zeros), values
    float64[n] (forecast per event), decisions float64[(max orders, N_DEC)], model
    float64[(n, 3)] (sigma, A, k per event))``. Allocates nothing (runs under ``_nrt=False``)."""
    state, codes, values, dec, model = user_state
    k = ctx.k
    bid = best_bid(ctx)
    ask = best_ask(ctx)
    value = values[k] if k < values.shape[0] else np.nan
    sig_e = A_e = k_e = np.nan
    if k < model.shape[0]:  # the live executor builds on an empty day: no causal tables
        sig_e, A_e, k_e = model[k, M_SIGMA], model[k, M_A], model[k, M_K]
    bpx, apx = _targets_px(params, sig_e, A_e, k_e, ctx.t, bid, ask, ctx.position, value)
    m = 0.5 * (bid + ask)
    _manage_side(ctx, params, state, dec, 1, bpx, k, m, value)
    _manage_side(ctx, params, state, dec, -1, apx, k, m, value)


class MarketMakerPython:
    """The Python twin of :func:`market_maker_nb` on :class:`companion.sim.simulator.Context` (teaching
    path): the same targets (:func:`quote_targets_nb` through the same rounding) and the same
    order management, so both paths give identical runs."""

    def __init__(self, params: np.ndarray, user_state: tuple):
        self.p = params
        self.state, self.codes, self.values, self.dec, self.model = user_state

    def _side(self, ctx, side, target, k, m, value):
        p, state = self.p, self.state
        s_oid, s_px = (S_BID_OID, S_BID_PX) if side > 0 else (S_ASK_OID, S_ASK_PX)
        oid = int(state[s_oid])
        live = 0 <= oid < len(ctx.orders) and int(ctx.orders[oid]["local_status"]) in (PENDING, NEW, PARTIAL)
        if target != target:
            if live:
                ctx.cancel(oid)
            state[s_oid] = -1.0
            return
        if live:
            if abs(target - state[s_px]) < max(p[P_REQUOTE_TICKS], 1.0) * p[P_TICK] - _EPS:
                return
            ctx.cancel(oid)
        state[s_oid] = -1.0
        if len(ctx.orders) + self._n_sub >= p[P_MAX_ORDERS]:
            return
        new = ctx.submit(side, float(p[P_QTY]), int(np.int64(target)), int(p[P_OTYPE]))
        self._n_sub += 1
        state[s_oid] = new
        state[s_px] = target
        log_decision_nb(self.dec, new, k, m, value, ROLE_QUOTE)

    def __call__(self, ctx) -> None:
        k = ctx.k
        self._n_sub = 0  # our submits at this wake-up (order ids are n_orders + this)
        value = self.values[k] if k < len(self.values) else np.nan
        bid, ask = ctx.best_bid, ctx.best_ask
        mr = self.model[k] if k < len(self.model) else np.full(N_MODEL, np.nan)
        bpx, apx = _targets_px(self.p, mr[M_SIGMA], mr[M_A], mr[M_K], ctx.t, bid, ask, ctx.position, value)
        m = 0.5 * (bid + ask)
        self._side(ctx, 1, bpx, k, m, value)
        self._side(ctx, -1, apx, k, m, value)


# --------------------------------------------------------------------------------------------
# causal estimators
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def rolling_volatility_nb(ts, mid, window_ns):
    """Kernel of :func:`rolling_volatility` (``mid`` already in ticks)."""
    n = ts.shape[0]
    out = np.full(n, np.nan)
    dm2 = np.zeros(n)
    last = np.nan
    for i in range(n):
        if mid[i] == mid[i]:
            if last == last:
                d = mid[i] - last
                dm2[i] = d * d
            last = mid[i]
    acc = 0.0
    lo = 0
    w = window_ns / NS
    for i in range(n):
        acc += dm2[i]
        while ts[lo] <= ts[i] - window_ns:
            acc -= dm2[lo]
            lo += 1
        if ts[i] - ts[0] >= window_ns:
            out[i] = math.sqrt(max(acc, 0.0) / w)
    return out


def rolling_volatility(ts, mid, *, window_s: float = 60.0, tick: float = 1.0) -> np.ndarray:
    r"""Causal mid volatility per event, ticks per :math:`\sqrt{s}`:
    :math:`\hat\sigma_i = \sqrt{\frac{1}{W}\sum_{j:\,t_i-W<t_j\le t_i,\ j\le i}(m_j-m_{j-1})^2}`
    (realised variance of the mid changes of the trailing window ``W = window_s``, mids in ticks,
    NaN mids carried forward). NaN until a full window has elapsed since the first event. Uses
    events ``<= i`` only: changing anything after event ``i`` leaves ``sigma[:i+1]`` unchanged.

    Parameters
    ----------
    ts : array_like
        int64 event times (ns), non-decreasing.
    mid : array_like
        Mid per event (price units; NaN when a side is empty).
    window_s : float
        Trailing window (s).
    tick : float
        Price units per tick.

    Examples
    --------
    One-tick moves every second (price units, tick 100): variance 1 tick^2 per second:

    >>> ts = np.arange(6) * 1_000_000_000
    >>> rolling_volatility(ts, np.array([100., 101, 100, 101, 100, 101]) * 100, window_s=2, tick=100).tolist()
    [nan, nan, 1.0, 1.0, 1.0, 1.0]
    """
    if not window_s > 0:
        raise ValueError(f"window_s must be > 0, got {window_s}")
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    m = np.ascontiguousarray(mid, dtype=np.float64) / float(tick)
    return rolling_volatility_nb(ts, m, int(window_s * NS))


@njit(cache=True)
def rolling_intensity_nb(ts, is_trade, price_t, mid_t, window_ns, n_depths):
    """Kernel of :func:`rolling_intensity` (prices and mids in ticks)."""
    n = ts.shape[0]
    A = np.full(n, np.nan)
    kk = np.full(n, np.nan)
    depth = np.full(n, -1.0)
    last = np.nan
    for i in range(n):
        if is_trade[i] and last == last:
            depth[i] = abs(price_t[i] - last)
        if mid_t[i] == mid_t[i]:
            last = mid_t[i]
    cnt = np.zeros(n_depths)
    w = window_ns / NS
    lo = 0
    for i in range(n):
        if depth[i] >= 0.0:
            for j in range(n_depths):
                if depth[i] >= 0.5 * (j + 1) - _EPS:
                    cnt[j] += 1.0
        while ts[lo] <= ts[i] - window_ns:
            if depth[lo] >= 0.0:
                for j in range(n_depths):
                    if depth[lo] >= 0.5 * (j + 1) - _EPS:
                        cnt[j] -= 1.0
            lo += 1
        if ts[i] - ts[0] < window_ns:
            continue
        # OLS of ln(lambda_j) on delta_j over the depths with trades
        sx = sy = sxx = sxy = 0.0
        m = 0
        for j in range(n_depths):
            if cnt[j] > 0.5:
                x = 0.5 * (j + 1)
                y = math.log(cnt[j] / w)
                sx += x
                sy += y
                sxx += x * x
                sxy += x * y
                m += 1
        if m < 2:
            continue
        den = m * sxx - sx * sx
        slope = (m * sxy - sx * sy) / den
        if slope >= 0.0:
            continue
        kk[i] = -slope
        A[i] = math.exp((sy - slope * sx) / m)
    return A, kk


def rolling_intensity(events, mid, *, window_s: float = 600.0, tick: float = 1.0,
                      n_depths: int = 20) -> tuple[np.ndarray, np.ndarray]:
    r"""Causal fit of the trade intensity :math:`\lambda(\delta) = A e^{-k\delta}` per event.

    Each trade (``EXEC_VISIBLE``, ``EXEC_HIDDEN`` or ``TRADE`` event) has a depth
    :math:`\delta = |p - m^-|` in ticks from the last valid mid *before* it. Over the trailing
    window ``(t_i - W, t_i]`` (events ``<= i``), :math:`\lambda_j` = number of trades with
    depth :math:`\ge \delta_j` per second on the half-tick grid :math:`\delta_j = 0.5, 1, \dots,
    n_{depths}/2`; :math:`(\ln A, -k)` = OLS of :math:`\ln\lambda_j` on :math:`\delta_j` over the
    depths with at least one trade (the estimate behind hftbacktest's GLFT tutorial, which
    measures the depth each interval's trades reached). NaN until a full window has elapsed, when
    fewer than two depths have trades (a large-tick name whose trades all print at the touch:
    use :class:`Grid`) or when the fitted slope is not negative.

    Parameters
    ----------
    events : numpy.ndarray
        :data:`companion.events.EVENT_DTYPE` (``ts``, ``kind``, ``price``).
    mid : array_like
        Mid per event (price units, NaN when a side is empty).
    window_s : float
        Trailing window (s).
    tick : float
        Price units per tick.
    n_depths : int
        Grid size (depths up to ``n_depths / 2`` ticks).

    Returns
    -------
    (A, k) : tuple of numpy.ndarray
        Trades per second at depth 0, and decay per tick, per event.

    Examples
    --------
    Trades every second alternating at 0.5 and 1.5 ticks from a mid of 100.5 ticks: over the last
    4 s, lambda(0.5) = 1/s and lambda(1) = lambda(1.5) = 0.5/s; the OLS line through
    (0.5, 0), (1, -ln 2), (1.5, -ln 2) has slope -ln 2 and ln A = ln(2) / 3:

    >>> from companion.events import EXEC_VISIBLE, ADD, EVENT_DTYPE
    >>> ev = np.zeros(8, EVENT_DTYPE)
    >>> ev["ts"] = np.arange(8) * 1_000_000_000
    >>> ev["kind"], ev["price"] = EXEC_VISIBLE, [101, 102, 101, 102, 101, 102, 101, 102]
    >>> A, k = rolling_intensity(ev, np.full(8, 100.5), window_s=4, tick=1, n_depths=3)
    >>> round(float(A[-1]), 4), round(float(k[-1]), 4)
    (1.2599, 0.6931)
    """
    if not window_s > 0:
        raise ValueError(f"window_s must be > 0, got {window_s}")
    if int(n_depths) < 2:
        raise ValueError(f"n_depths must be >= 2, got {n_depths}")
    ts = np.ascontiguousarray(events["ts"], dtype=np.int64)
    kind = events["kind"]
    is_trade = (kind == EXEC_VISIBLE) | (kind == EXEC_HIDDEN) | (kind == TRADE)
    px = np.ascontiguousarray(events["price"], dtype=np.float64) / float(tick)
    m = np.ascontiguousarray(mid, dtype=np.float64) / float(tick)
    return rolling_intensity_nb(ts, np.ascontiguousarray(is_trade), px, m, int(window_s * NS),
                                int(n_depths))


def alpha_forecast(name: str, events, book, instrument, *, ofi_window_s: float = 10.0) -> np.ndarray:
    r"""Per-event forecast ``f_k`` for the alpha skew (causal: data up to event ``k``).

    * ``"none"``: zeros;
    * ``"imbalance"``: the course's composite book imbalance
      (:class:`companion.signals.ImbalanceSignal`, in [-1, 1]);
    * ``"microprice"``: weighted mid minus mid (Stoikov 2018, :func:`companion.flow.microprice.weighted_mid`), ticks;
    * ``"ofi"``: trailing level-1 OFI over ``ofi_window_s`` (:func:`companion.signals.trailing_ofi`)
      divided by the current level-1 depth ``(bid size + ask size) / 2`` (dimensionless).

    A model's ``P(up) - 0.5`` is passed as an array (``forecast=`` of the strategy) instead.

    Examples
    --------
    >>> book = np.array([[101., 3, 100, 1], [101, 1, 100, 3]])
    >>> alpha_forecast("microprice", None, book, type("I", (), {"tick": 1})()).tolist()
    [-0.25, 0.25]
    """
    from companion.stats import mid_price

    if name not in ALPHAS:
        raise ValueError(f"alpha must be one of {', '.join(ALPHAS)}, got {name!r}")
    book = np.ascontiguousarray(book, dtype=np.float64)
    n = len(book)
    tick = float(instrument.tick)
    if name == "none":
        return np.zeros(n)
    if name == "microprice":
        from companion.flow.microprice import weighted_mid

        return (weighted_mid(book) - mid_price(book)) / tick
    if name == "imbalance":
        from companion import signals as sg

        L = min(5, book.shape[1] // 4)
        return sg.ImbalanceSignal(levels=L, tick=tick).compute(book, events)
    from companion import signals as sg

    ofi = sg.trailing_ofi(book, events["ts"], int(ofi_window_s * NS), 1)
    depth = 0.5 * (book[:, 1] + book[:, 3])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(depth > 0, ofi / depth, np.nan)


# --------------------------------------------------------------------------------------------
# strategy objects
# --------------------------------------------------------------------------------------------
def _opt(x) -> float:
    return np.nan if x is None else float(x)


@dataclass
class _MarketMaker:
    """Parameters shared by the quoting strategies (module docstring for the units).

    quote_size: shares / contracts per quote; max_position: no quote that could take
    ``|position|`` beyond it; requote_ticks: move a quote only when its target moved by at least
    this; alpha / alpha_scale: forecast name (:data:`ALPHAS`) and ticks per forecast unit;
    forecast: a per-event array instead (e.g. P(up) - 0.5, aligned with the events, causal);
    max_spread_ticks / max_sigma: pull both quotes above these; vol_window_s /
    intensity_window_s: windows of the causal estimators; sigma / A / k: fixed values instead of
    the estimates; post_only: POST_ONLY quotes (else LIMIT).
    """

    quote_size: float = 100.0
    max_position: float = 500.0
    requote_ticks: float = 1.0
    alpha: str = "none"
    alpha_scale: float = 0.0
    forecast: np.ndarray | None = None
    max_spread_ticks: float = np.inf
    max_sigma: float = np.inf
    vol_window_s: float = 60.0
    intensity_window_s: float = 600.0
    sigma: float | None = None
    A: float | None = None
    k: float | None = None
    post_only: bool = True

    model = MODEL_GLFT
    kernel = staticmethod(market_maker_nb)

    def _check(self) -> None:
        if not self.quote_size > 0:
            raise ValueError(f"quote_size must be > 0, got {self.quote_size}")
        if not self.max_position >= 0:
            raise ValueError(f"max_position must be >= 0, got {self.max_position}")
        if self.alpha not in ALPHAS:
            raise ValueError(f"alpha must be one of {', '.join(ALPHAS)}, got {self.alpha!r}")
        for name in ("requote_ticks", "vol_window_s", "intensity_window_s"):
            v = getattr(self, name)
            if not (v >= 0 and np.isfinite(v)):
                raise ValueError(f"{name} must be finite and >= 0, got {v}")
        if not np.isfinite(self.alpha_scale):
            raise ValueError(f"alpha_scale must be finite, got {self.alpha_scale}")
        for name in ("sigma", "A", "k"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be > 0 (or None: estimated), got {v}")

    def _param_vector(self, instrument, max_orders: int) -> np.ndarray:
        self._check()
        p = np.zeros(N_MM_PARAMS)
        p[P_QTY] = self.quote_size
        p[P_MODEL] = self.model
        p[P_TICK] = float(instrument.tick)
        p[P_MAX_POS] = self.max_position
        p[P_REQUOTE_TICKS] = self.requote_ticks
        p[P_ALPHA_SCALE] = self.alpha_scale
        p[P_MAX_SPREAD_TICKS] = self.max_spread_ticks
        p[P_MAX_SIGMA] = self.max_sigma
        p[P_T_END_NS] = np.nan
        p[P_TAU_S] = 0.0
        p[P_A], p[P_K], p[P_SIGMA] = _opt(self.A), _opt(self.k), _opt(self.sigma)
        p[P_MAX_ORDERS] = max_orders
        p[P_OTYPE] = POST_ONLY if self.post_only else LIMIT
        self._model_params(p, instrument)
        # the quote constants of fixed A / k, once per run (the kernel recomputes estimated ones)
        p[P_C1], p[P_C2] = model_coefficients_nb(int(self.model), p[P_A], p[P_K], p[P_GAMMA])
        return p

    def _model_params(self, p: np.ndarray, instrument) -> None:
        """Validate the model's own parameters and write them into ``p``."""

    def validate(self, instrument) -> None:
        """Raise ValueError naming the first invalid parameter for this instrument."""
        self._param_vector(instrument, 1)

    def forecast_values(self, events, book, instrument) -> np.ndarray:
        """The per-event forecast ``f`` (``forecast`` if given, else :func:`alpha_forecast`)."""
        if self.forecast is not None:
            f = np.ascontiguousarray(self.forecast, dtype=np.float64)
            if len(f) != len(book):
                raise ValueError(f"forecast has {len(f)} values for {len(book)} events")
            return f
        return np.ascontiguousarray(alpha_forecast(self.alpha, events, book, instrument), np.float64)

    def model_table(self, events, book, instrument) -> np.ndarray:
        """float64 ``(n, 3)``: causal sigma (ticks/√s), A (1/s), k (1/tick) per event (NaN columns
        when fixed by the strategy or not used by the model)."""
        from companion.stats import mid_price

        n = len(book)
        out = np.full((n, N_MODEL), np.nan)
        tick = float(instrument.tick)
        fit_intensity = self.model != MODEL_GRID and (self.A is None or self.k is None)
        if self.sigma is None or fit_intensity:
            m = mid_price(book)  # (a strided pass over the whole book: only when estimating)
        if self.sigma is None:
            out[:, M_SIGMA] = rolling_volatility(events["ts"], m, window_s=self.vol_window_s, tick=tick)
        if fit_intensity:
            A, k = rolling_intensity(events, m, window_s=self.intensity_window_s, tick=tick)
            out[:, M_A], out[:, M_K] = A, k
        return out

    def build(self, events, book, instrument, max_orders: int) -> tuple[np.ndarray, tuple]:
        """``(params, user_state)`` for :func:`market_maker_nb` on this dataset (see its docstring)."""
        p = self._param_vector(instrument, max_orders)
        n = len(book)
        state = np.zeros(N_MM_STATE)
        state[S_BID_OID] = state[S_ASK_OID] = -1.0
        dec = new_decisions(max_orders)
        return p, (state, np.zeros(n, np.int8), self.forecast_values(events, book, instrument), dec,
                   np.ascontiguousarray(self.model_table(events, book, instrument)))

    @staticmethod
    def python_callback(params, user_state):
        return MarketMakerPython(params, user_state)


def _set_gamma(p: np.ndarray, gamma: float) -> None:
    if not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be > 0, got {gamma}")
    p[P_GAMMA] = gamma


@dataclass
class GLFT(_MarketMaker):
    """Guéant–Lehalle–Fernandez-Tapia (2013) asymptotic quotes (module docstring); ``gamma``:
    risk aversion per tick.

    Examples
    --------
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> from companion.backtest import ExecutionConfig, run_backtest
    >>> cfg = SynthConfig(session=(34200.0, 34320.0))                  # a two-minute synthetic day
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> ev, book, inst = to_events(day.messages), day.orderbook, instrument(cfg, levels=5)
    >>> mm = GLFT(gamma=0.1, sigma=1.0, A=1.0, k=1.0, vol_window_s=10)
    >>> res = run_backtest(ev, book, inst, mm, execution=ExecutionConfig(flat_before_close_s=5))
    >>> len(res.sim.orders) > 0, float(res.sim.position[-1])
    (True, 0.0)
    """

    #: risk aversion per tick of inventory (1 / (ticks x quote units))
    gamma: float = 0.1
    #: quoting model code read by the kernel (``MODEL_GLFT``)
    model = MODEL_GLFT
    #: registry name (``backtest --strategy mm``)
    name = "glft"

    def _model_params(self, p, instrument):
        _set_gamma(p, self.gamma)


@dataclass
class AvellanedaStoikov(_MarketMaker):
    """Avellaneda–Stoikov (2008) quotes (module docstring); ``gamma`` per tick; ``horizon_s``:
    constant ``T - t`` (s), or None for ``T`` = the session close."""

    #: risk aversion per tick of inventory (1 / (ticks x quote units))
    gamma: float = 0.1
    #: constant time to the horizon ``T - t`` (s); None: ``T`` is the session close
    horizon_s: float | None = None
    #: quoting model code read by the kernel (``MODEL_AS``)
    model = MODEL_AS
    #: registry name (``backtest --strategy mm_as``)
    name = "as"

    def _model_params(self, p, instrument):
        _set_gamma(p, self.gamma)
        if self.horizon_s is not None:
            if not (np.isfinite(self.horizon_s) and self.horizon_s >= 0):
                raise ValueError(f"horizon_s must be >= 0, got {self.horizon_s}")
            p[P_TAU_S] = self.horizon_s
        elif instrument.session_close_ns:
            p[P_T_END_NS] = float(instrument.session_close_ns)
        else:
            raise ValueError("AvellanedaStoikov needs horizon_s when the instrument has no session close")


@dataclass
class Grid(_MarketMaker):
    """Fixed-offset quotes for large-tick names: one quote per side at ``half_spread_ticks``
    from ``r = mid - skew_ticks * q + alpha_scale * f`` (rounded outwards, never crossing)."""

    #: distance of each quote from the reservation price (ticks)
    half_spread_ticks: float = 0.5
    #: reservation-price shift per quote unit of inventory (ticks)
    skew_ticks: float = 0.5
    #: quoting model code read by the kernel (``MODEL_GRID``)
    model = MODEL_GRID
    #: registry name (``backtest --strategy mm_grid``)
    name = "grid"

    def _model_params(self, p, instrument):
        for nm in ("half_spread_ticks", "skew_ticks"):
            v = getattr(self, nm)
            if not (np.isfinite(v) and v >= 0):
                raise ValueError(f"{nm} must be finite and >= 0, got {v}")
        p[P_GRID_HALF] = self.half_spread_ticks
        p[P_GRID_SKEW] = self.skew_ticks
