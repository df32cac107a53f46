"""Seeded synthetic limit-order-book day in LOBSTER format: the course's default dataset.

One call of :func:`generate_day` simulates a trading day (09:30-16:00, 34200-57600 s after
midnight) of **full-depth, order-level** LOBSTER messages -- type 1 add, 2 partial cancel,
3 delete, 4 visible execution, 5 hidden execution -- and the top-``levels`` book after every
message. Every resting order has an add message, so the book is fully determined by the
messages: a book engine replaying them must reproduce the orderbook on every row.

The model
---------
A queue-reactive zero-intelligence core (Cont, Stoikov & Talreja 2010; Huang, Lehalle & Rosenbaum
2015) with informed flow on top. Time runs in seasonal units ``s(t) = a + b x^2`` (``x`` = -1 at
the open, +1 at the close: U-shaped activity, Admati & Pfleiderer 1988):

* **limit orders** arrive on each side at rate ``lam (1 +- a_lim tau)``. Each is *fleeting*
  (share ``p_fleeting``) or *patient*; with probability ``p_join`` it joins the same-side best
  queue, otherwise it goes ``i >= 1`` ticks from the *opposite* best quote with a discretised
  gamma ``P(i) ~ i^(k-1) exp(-i/scale)`` per class: fleeting orders near the spread (mode 28
  ticks), patient ones deeper (mode 40, mean 80). ``i <`` spread improves the quote; because
  little placement mass lies close to the opposite quote and the orders there are fleeting, the
  spread settles wide (10-20 ticks) and the book is sparse: occupied levels ~5 ticks apart,
  ~150 shares each, as in the high-priced LOBSTER samples. Sizes: round lots and odd lots.
* **cancellations**: each resting order is cancelled at its class rate (fleeting ``theta_f``,
  ~2.5 s life; patient ``theta_p``, ~100 s; so the total rate is proportional to the queue size)
  times a factor ``1 + slope * max(0, d - d_free)`` growing with its distance ``d`` behind the
  same-side best (stale orders are purged), and ``1 + a_cancel |tau|`` near the best of the side
  the price is about to move through. A few cancellations are partial (type 2).
* **market orders** arrive at rate ``mu`` and buy with probability ``(1 + a_mo tau)/2``; they
  execute FIFO against the best queue (one type-4 message per resting order hit), sometimes
  taking the whole queue and walking a level further. **Hidden executions** (type 5, order id 0)
  print inside ``(bid, ask]`` / ``[bid, ask)`` without touching the visible book.
* **informed flow**: a latent fundamental value ``V`` (ticks) follows a Brownian motion with
  jumps plus a constant drift during a few **informed episodes** (start, end, direction and size
  recorded in :attr:`SynthDay.episodes` and the ``_meta.json``), when informed market orders
  also arrive at rate ``episode_mu`` in the episode's direction. The tilt
  ``tau = tanh((V - mid) / g0)`` bends market-order direction, limit-order arrival, placement
  aggressiveness (a share ``a_agg |tau|`` of the favoured side's orders improve the quote,
  uniformly inside the spread) and cancellation towards ``V``, and arbitrageurs send market
  orders at rate ``arb_rate * (V - ask)`` (``arb_rate * (bid - V)``) while ``V`` lies beyond a
  quote. So
  order-flow imbalance carries real information: 10-second OFI explains a large share of the
  contemporaneous mid change (Cont, Kukanov & Stoikov 2014, eq. 10) and predicts a little of the
  next one (the mid lags ``V``).

Calibration against the LOBSTER 2012-06-21 samples, both sides measured with
:func:`companion.stats.day_stats` (event-weighted over book rows; the samples' values are in
``companion/reference/lobster_stats.json``). Only the first five rows were calibrated (and the
mid range through ``sigma_v``); the OFI rows are what comes out:

==========================  =======================  =====================================
statistic                   synthetic, seeds 7/8/9   LOBSTER samples
==========================  =======================  =====================================
messages / day              372k / 372k / 372k       GOOG L10 148k, L5 113k; L1 files
                            (full depth)             49k-118k (AAPL L10 ~400k)
execution share (4+5)       9.0% / 8.9% / 9.3%       GOOG L10 7.9%, L5 10.4%; L1 20-30%
spread, mean (median)       14.5 (14) / 14.1 (13) /  AMZN 13.6 (13), AAPL 15.5 (15),
                            14.9 (14) ticks          GOOG 29.6-31.1 (28-29) ticks
depth at best (shares)      160 / 165 / 161          GOOG 145-154, AAPL 187, AMZN 197
mid range over the day      1.1% / 1.5% / 2.9%       AAPL 1.8%, AMZN 2.5%, GOOG 2.8%
CKS OFI R^2 (10 s, 30 min)  0.34 / 0.34 / 0.32       GOOG 0.41, AAPL 0.51, AMZN 0.53
OFI -> next 10-s mid corr   0.011 / 0.024 / 0.009    0.009-0.076
==========================  =======================  =====================================

The opening mid is $300 with a one-cent tick: a high-priced name whose tick is small relative to
the price, so the spread spans many ticks and "levels" (occupied prices) are not adjacent ticks.
Ten levels span ~29 ticks (GOOG level-10 file: ~41 ticks at twice the spread).

Outputs are deterministic: all randomness comes from ``numpy.random.default_rng(seed)`` (drawn
inside the numba kernel), so the same seed gives byte-identical files.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from companion.events import ADD, DUMMY_ASK, DUMMY_BID, EVENT_DTYPE, EXEC_HIDDEN, EXEC_VISIBLE, NS, Instrument
from companion.flow.ofi import ofi_events_nb
from companion.paths import data_dir
from companion.stats import mid_price, row_mid_nb, two_sided
from companion.synth.kernels import (
    N_PARAMS,
    P_A_AGG,
    P_A_CANCEL,
    P_A_LIM,
    P_A_MO,
    P_ARB,
    P_CAP,
    P_D_FREE,
    P_D_SLOPE,
    P_ETA,
    P_G0,
    P_JUMP_RATE,
    P_JUMP_SD,
    P_LAM,
    P_MAX_WALK,
    P_MU,
    P_NEAR,
    P_P_FAST,
    P_P_JOIN,
    P_P_PARTIAL,
    P_P_SWEEP,
    P_SEASON_A,
    P_SEASON_B,
    P_SEED_GAP,
    P_SEED_LEVELS,
    P_SEED_ORDERS,
    P_SIGMA,
    P_THETA_FAST,
    P_THETA_SLOW,
    SEED_MAX_ORDERS,
    format_int_table_nb,
    format_messages_nb,
    simulate_day_nb,
)

__all__ = [
    "SynthConfig", "SynthDay", "MESSAGE_DTYPE", "simulate", "generate_day", "write_day",
    "ensure_day", "day_dir", "GENERATOR_VERSION", "calibration_stats", "stats_of", "to_events", "file_stem", "instrument",
]

GENERATOR_VERSION = 3
"""Bumped whenever the same ``(seed, config)`` would give different bytes; :func:`ensure_day`
regenerates files written by another version."""

MESSAGE_DTYPE = np.dtype([
    ("time_ns", np.int64),    # ns after midnight (LOBSTER `time` x 1e9, exact)
    ("type", np.int64),       # 1 add, 2 partial cancel, 3 delete, 4 visible exec, 5 hidden exec
    ("order_id", np.int64),   # 0 for hidden executions
    ("size", np.int64),       # shares
    ("price", np.int64),      # dollars x 10000
    ("direction", np.int64),  # +1 buy / -1 sell order (executions: the resting order's side)
])
"""LOBSTER message columns with the time as exact integer nanoseconds after midnight."""


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of the synthetic day (rates per second at seasonal factor 1; prices in ticks).

    ``session`` is in seconds after midnight; a shorter session (e.g. ``(34200, 36000)``) gives
    a quick day for tests. See the module docstring for the model.

    Attributes
    ----------
    session : tuple of float
        Start and end of the trading day (s after midnight; default 09:30-16:00).
    symbol, date : str
        Ticker and trading date (``YYYY-MM-DD``) written to the files and the instrument.
    price0 : float
        Opening mid and initial fundamental value (dollars).
    tick, price_scale : int
        Price units per tick (100 = $0.01) and per dollar (10000, as LOBSTER).
    order_id0 : int
        First order id; ids increase by one per new order.
    lam_limit : float
        Limit-order arrivals per side per second (at seasonal factor 1).
    placement_fleeting, placement_patient : tuple of float
        Gamma ``(shape k, scale in ticks)`` of the placement distance ``i`` from the opposite
        best quote, ``P(i) ~ i^(k-1) exp(-i/scale)``, for fleeting and patient orders.
    placement_max_ticks : int
        Largest placement distance (ticks from the opposite best).
    p_join : float
        Probability that a limit order joins the same-side best queue instead of being placed.
    limit_sizes, limit_size_probs : tuple
        Limit-order sizes (shares; 0 = an odd lot uniform on 1..99) and their probabilities.
    theta_fleeting, theta_patient : float
        Cancellation rate per resting order (1/s) of a fleeting and of a patient order.
    p_fleeting : float
        Share of limit orders that are fleeting (the rest are patient).
    cancel_free_ticks, cancel_slope : float
        Cancellation factor ``1 + cancel_slope * max(0, d - cancel_free_ticks)`` for an order
        ``d`` ticks behind the same-side best (stale orders are purged).
    cancel_cap : float
        Thinning cap of the cancellation factor (a factor above it is cut to it).
    p_partial_cancel : float
        Probability that a cancellation of a multi-share order is partial (message type 2).
    mu_market : float
        Uninformed market orders per second, both sides together.
    eta_hidden : float
        Hidden executions (type 5) per second.
    market_sizes, market_size_probs : tuple
        Market-order sizes (shares; 0 = an odd lot) and their probabilities.
    p_sweep : float
        Probability that a market order takes the whole best queue (sometimes walking further).
    max_walk_levels : int
        Most price levels a sweeping market order walks through.
    sigma_v : float
        Volatility of the fundamental value ``V`` (ticks per square-root second).
    jump_rate, jump_sd : float
        Jumps of ``V``: rate (1/s) and standard deviation (ticks).
    tilt_scale_ticks : float
        ``g0`` of the tilt ``tau = tanh((V - mid) / g0)`` (ticks).
    tilt_market : float
        ``a_mo``: a market order buys with probability ``(1 + a_mo tau) / 2``.
    tilt_limit : float
        ``a_lim``: limit arrivals per side scale by ``1 +- a_lim tau``.
    tilt_aggressive : float
        ``a_agg``: share ``a_agg |tau|`` of the favoured side's orders improve the quote.
    tilt_cancel : float
        ``a_cancel``: cancellations near the best of the side the price moves through scale by
        ``1 + a_cancel |tau|``.
    tilt_near_ticks : float
        "Near the best" for ``tilt_cancel``: at most this many ticks behind the same-side best.
    arb_rate : float
        Arbitrage market orders per second per tick that ``V`` lies beyond a quote.
    episodes_per_hour : float
        Mean number of informed episodes per hour (Poisson; at least one per day).
    episode_minutes, episode_move_ticks : tuple of float
        Uniform ranges of an episode's duration (min) and of its total drift of ``V`` (ticks).
    episode_mu : float
        Informed market orders per second during an episode, in its direction.
    season_a, season_b : float
        Seasonality ``s(x) = a + b x^2`` (``x`` = -1 at the open, +1 at the close).
    seed_levels : int
        Price levels per side of the initial book (every seeded order is an add at the open).
    seed_orders : float
        Mean extra orders per seeded level (1 + Poisson, at most 16).
    seed_gap_ticks : int
        Ticks between seeded levels (and from the opening mid).
    """

    session: tuple[float, float] = (34200.0, 57600.0)
    symbol: str = "SYNTH"
    date: str = "2012-06-21"
    price0: float = 300.00          # opening mid, dollars
    tick: int = 100                 # price units per tick ($0.01)
    price_scale: int = 10000        # price units per dollar (LOBSTER)
    order_id0: int = 10_000_001     # first order id
    # limit orders: i ticks from the opposite best, P(i) ~ i^(shape-1) exp(-i/scale) on 1..max,
    # (shape, scale in ticks) per class
    lam_limit: float = 3.7          # arrivals per side / s
    placement_fleeting: tuple[float, float] = (5.0, 8.5)   # mode 34 ticks, mean 42.5
    placement_patient: tuple[float, float] = (2.0, 40.0)   # mode 40 ticks, mean 80
    placement_max_ticks: int = 200
    p_join: float = 0.1             # prob. an order joins the same-side best queue instead
    limit_sizes: tuple[int, ...] = (0, 100, 200, 300, 500)   # 0 = odd lot U{1..99}
    limit_size_probs: tuple[float, ...] = (0.40, 0.45, 0.08, 0.04, 0.03)
    # cancellations
    theta_fleeting: float = 0.4     # 1/s per order
    theta_patient: float = 0.01     # 1/s per order
    p_fleeting: float = 0.85        # share of limit orders that are fleeting (the rest: patient)
    cancel_free_ticks: float = 60.0
    cancel_slope: float = 0.05
    cancel_cap: float = 6.0
    p_partial_cancel: float = 0.02
    # market orders and hidden executions
    mu_market: float = 0.25         # uninformed market orders / s, both sides
    eta_hidden: float = 0.6         # / s
    market_sizes: tuple[int, ...] = (0, 100, 200, 300, 500)
    market_size_probs: tuple[float, ...] = (0.40, 0.40, 0.10, 0.05, 0.05)
    p_sweep: float = 0.1
    max_walk_levels: int = 3
    # fundamental value and informed flow
    sigma_v: float = 2.0            # ticks / sqrt(s)
    jump_rate: float = 1.0 / 1800.0
    jump_sd: float = 6.0            # ticks
    tilt_scale_ticks: float = 7.0   # g0
    tilt_market: float = 0.8
    tilt_limit: float = 0.8
    tilt_aggressive: float = 0.2
    tilt_cancel: float = 4.0
    tilt_near_ticks: float = 1.0    # "near the best": ticks behind the same-side best
    arb_rate: float = 0.5           # arbitrage market orders / s per tick V lies beyond a quote
    episodes_per_hour: float = 0.7
    episode_minutes: tuple[float, float] = (5.0, 20.0)
    episode_move_ticks: tuple[float, float] = (60.0, 150.0)
    episode_mu: float = 0.3         # informed market orders / s during an episode
    # seasonality s(x) = a + b x^2 (mean a + b/3)
    season_a: float = 0.7
    season_b: float = 0.9
    # initial book (every order is an add message at the open)
    seed_levels: int = 20
    seed_orders: float = 2.0
    seed_gap_ticks: int = 5         # ticks between seeded levels (and from the opening mid)

    def to_dict(self) -> dict:
        """The parameters as a plain dict (JSON-ready; the ``config`` of a ``_meta.json``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SynthConfig:
        """Inverse of :meth:`to_dict` (e.g. the ``config`` of a ``_meta.json``)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass
class SynthDay:
    """A generated day: messages (:data:`MESSAGE_DTYPE`), orderbook (float64 ``(n, 4L)``),
    fundamental value per message (price units), informed episodes, config, seed, levels.

    Attributes
    ----------
    messages : numpy.ndarray
        LOBSTER messages, :data:`MESSAGE_DTYPE`, one row per event.
    orderbook : numpy.ndarray
        The top-``levels`` book after every message, float64 ``(n, 4 levels)`` in LOBSTER
        column order (ask price, ask size, bid price, bid size per level; prices in price units).
    fundamental : numpy.ndarray
        The latent fundamental value ``V`` after every message (price units).
    episodes : list of dict
        The informed episodes: ``start`` and ``end`` (s after midnight), ``direction`` (+1 / -1)
        and ``move_ticks`` (the drift of ``V`` over the episode).
    config : SynthConfig
        The parameters the day was generated with.
    seed : int
        The seed of ``numpy.random.default_rng`` (same seed, byte-identical day).
    levels : int
        Book levels recorded in ``orderbook``.
    meta : dict
        The ``_meta.json`` content (seed, config, episodes, stats, file hashes) once the day has
        been written by :func:`write_day`; empty before.
    """

    messages: np.ndarray
    orderbook: np.ndarray
    fundamental: np.ndarray
    episodes: list[dict]
    config: SynthConfig
    seed: int
    levels: int
    meta: dict = field(default_factory=dict)


def instrument(config: SynthConfig | None = None, levels: int = 10) -> Instrument:
    """The :class:`~companion.events.Instrument` of the synthetic day.

    Parameters
    ----------
    config : SynthConfig, optional
        Day parameters (default :class:`SynthConfig`): symbol, date, tick and price scale, session.
    levels : int
        Book levels recorded in the orderbook.

    Returns
    -------
    companion.events.Instrument
        ``tick`` and ``price_scale`` in price units (LOBSTER: $1 = 10000 units, tick $0.01 = 100),
        session open/close in ns after midnight, venue ``"SYNTHETIC"``.

    Examples
    --------
    >>> ins = instrument(levels=5)
    >>> ins.symbol, ins.tick, ins.price_scale, ins.session_open_ns, ins.levels
    ('SYNTH', 100, 10000, 34200000000000, 5)
    """
    cfg = config or SynthConfig()
    return Instrument(symbol=cfg.symbol, tick=cfg.tick, price_scale=cfg.price_scale, lot=1.0,
                      session_open_ns=int(round(cfg.session[0] * NS)),
                      session_close_ns=int(round(cfg.session[1] * NS)),
                      date=cfg.date, levels=levels, venue="SYNTHETIC")


def _cdf(probs) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1 or len(p) == 0 or np.any(p < 0) or p.sum() <= 0:
        raise ValueError(f"bad probability vector {probs!r}")
    c = np.cumsum(p / p.sum())
    c[-1] = 1.0
    return c


def placement_pmf(config: SynthConfig | None = None) -> np.ndarray:
    """Limit-order placement, ``(2, placement_max_ticks)``: row 0 (fleeting orders), row 1
    (patient) give ``P(i)`` for ``i = 1..placement_max_ticks`` ticks from the opposite best quote,
    a discretised gamma shape ``i^(k-1) exp(-i/scale)`` with ``(k, scale)`` =
    ``placement_fleeting`` / ``placement_patient``. Orders with ``i`` below the current spread
    improve the quote."""
    cfg = config or SynthConfig()
    i = np.arange(1, cfg.placement_max_ticks + 1, dtype=np.float64)
    out = np.empty((2, len(i)))
    for row, (k, scale) in enumerate((cfg.placement_fleeting, cfg.placement_patient)):
        w = np.exp((k - 1.0) * np.log(i) - i / scale)
        out[row] = w / w.sum()
    return out


def _pack_params(cfg: SynthConfig) -> np.ndarray:
    p = np.zeros(N_PARAMS, dtype=np.float64)
    p[P_LAM] = cfg.lam_limit
    p[P_MU] = cfg.mu_market
    p[P_ETA] = cfg.eta_hidden
    p[P_THETA_FAST] = cfg.theta_fleeting
    p[P_THETA_SLOW] = cfg.theta_patient
    p[P_P_FAST] = cfg.p_fleeting
    p[P_D_FREE] = cfg.cancel_free_ticks
    p[P_D_SLOPE] = cfg.cancel_slope
    p[P_CAP] = cfg.cancel_cap
    p[P_P_PARTIAL] = cfg.p_partial_cancel
    p[P_SIGMA] = cfg.sigma_v
    p[P_JUMP_RATE] = cfg.jump_rate
    p[P_JUMP_SD] = cfg.jump_sd
    p[P_G0] = cfg.tilt_scale_ticks
    p[P_A_MO] = cfg.tilt_market
    p[P_A_LIM] = cfg.tilt_limit
    p[P_A_AGG] = cfg.tilt_aggressive
    p[P_A_CANCEL] = cfg.tilt_cancel
    p[P_NEAR] = cfg.tilt_near_ticks
    p[P_SEASON_A] = cfg.season_a
    p[P_SEASON_B] = cfg.season_b
    p[P_P_SWEEP] = cfg.p_sweep
    p[P_MAX_WALK] = cfg.max_walk_levels
    p[P_SEED_LEVELS] = cfg.seed_levels
    p[P_SEED_ORDERS] = cfg.seed_orders
    p[P_SEED_GAP] = cfg.seed_gap_ticks
    p[P_ARB] = cfg.arb_rate
    p[P_P_JOIN] = cfg.p_join
    return p


def _draw_episodes(rng: np.random.Generator, cfg: SynthConfig) -> list[dict]:
    """Informed episodes: ``max(1, Poisson(rate * hours))`` non-overlapping windows, one per equal
    slot of the session, each with a random direction and a fundamental move in ticks."""
    t0, t1 = cfg.session
    hours = (t1 - t0) / 3600.0
    k = max(1, int(rng.poisson(cfg.episodes_per_hour * hours)))
    slot = (t1 - t0) / k
    out = []
    for j in range(k):
        dur = min(rng.uniform(*cfg.episode_minutes) * 60.0, 0.8 * slot)
        start = t0 + j * slot + rng.uniform(0.0, slot - dur)
        direction = 1 if rng.random() < 0.5 else -1
        move = rng.uniform(*cfg.episode_move_ticks)
        out.append({
            "start": round(float(start), 3), "end": round(float(start + dur), 3),
            "direction": direction, "move_ticks": round(float(move), 3),
        })
    return out


def simulate(seed: int = 7, levels: int = 10, config: SynthConfig | None = None,
             _capacity: int | None = None, extra_episodes: list[dict] | None = None) -> SynthDay:
    """Simulate one day; see the module docstring for the model and its references.

    Deterministic in ``(seed, config)``: every draw comes from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    seed : int
        Generator seed.
    levels : int
        How many book levels are recorded (the simulation itself is full depth; ``levels`` does
        not change the messages).
    config : SynthConfig, optional
        Model parameters (default :class:`SynthConfig`: 09:30-16:00, ~372k messages).
    _capacity : int, optional
        Initial message buffer, for tests of the grow-and-rerun path.
    extra_episodes : list of dict, optional
        Informed episodes added to the drawn ones (``start``/``end`` in s after midnight,
        ``direction`` +-1, ``move_ticks``, optionally ``mu``: informed market orders / s, default
        ``config.episode_mu``), e.g. the common factor of a universe (:mod:`companion.universe`);
        overlapping episodes add their drifts and rates. None (default) leaves
        the day exactly as without the argument.

    Returns
    -------
    SynthDay
        ``messages`` (:data:`MESSAGE_DTYPE`: time in ns after midnight, prices in price units =
        dollars x 10000, sizes in shares), ``orderbook`` (float64 ``(n, 4*levels)``, LOBSTER
        layout, row ``i`` = the book after message ``i``), ``fundamental`` (price units),
        ``episodes`` (start/end in s after midnight, direction, move in ticks).

    Raises
    ------
    ValueError
        When ``levels < 1`` or the session is not inside one day.

    Examples
    --------
    A one-minute day (about a second to simulate):

    >>> day = simulate(seed=1, levels=5, config=SynthConfig(session=(34200.0, 34260.0)))
    >>> len(day.messages) == len(day.orderbook) == len(day.fundamental), day.orderbook.shape[1]
    (True, 20)
    >>> int(day.messages["type"][0]), int(day.messages["time_ns"][0]) >= 34200 * 10**9
    (1, True)
    >>> bool((day.orderbook[:, 0] > day.orderbook[:, 2]).all())      # never crossed
    True
    """
    cfg = config or SynthConfig()
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    t0, t1 = map(float, cfg.session)
    if not (0 <= t0 < t1 <= 86400):
        raise ValueError(f"session {cfg.session!r} must satisfy 0 <= start < end <= 86400 s")
    rng = np.random.default_rng(seed)
    episodes = _draw_episodes(rng, cfg)
    if extra_episodes:
        episodes = episodes + [dict(e) for e in extra_episodes]
    ep_start = np.array([e["start"] for e in episodes], dtype=np.float64)
    ep_end = np.array([e["end"] for e in episodes], dtype=np.float64)
    ep_drift = np.array([e["direction"] * e["move_ticks"] / (e["end"] - e["start"]) for e in episodes])
    ep_mu = np.array([e.get("mu", cfg.episode_mu) for e in episodes], dtype=np.float64)

    p0 = int(round(cfg.price0 * cfg.price_scale / cfg.tick))  # ticks
    n_grid = 2 * p0
    place_cdf = np.stack([_cdf(row) for row in placement_pmf(cfg)])
    lim_vals = np.asarray(cfg.limit_sizes, dtype=np.int64)
    mo_vals = np.asarray(cfg.market_sizes, dtype=np.int64)
    seasonal_mean = cfg.season_a + cfg.season_b / 3.0
    per_s = seasonal_mean * (4.4 * cfg.lam_limit + 2.0 * (cfg.mu_market + cfg.eta_hidden))
    capacity = int(per_s * (t1 - t0) * 1.5) + 2 * cfg.seed_levels * SEED_MAX_ORDERS + 10_000
    if _capacity is not None:
        capacity = int(_capacity)
    params = _pack_params(cfg)
    while True:
        state = rng.bit_generator.state
        n, msgs, book, fund, status = simulate_day_nb(
            rng, params, t0, t1, p0, n_grid, levels, cfg.tick, DUMMY_ASK, DUMMY_BID,
            cfg.order_id0, place_cdf, lim_vals, _cdf(cfg.limit_size_probs), mo_vals,
            _cdf(cfg.market_size_probs), ep_start, ep_end, ep_drift, ep_mu, capacity)
        if status == 0:
            break
        rng.bit_generator.state = state  # rerun the same draws with a larger buffer
        capacity *= 2
    messages = np.empty(n, dtype=MESSAGE_DTYPE)
    for j, name in enumerate(MESSAGE_DTYPE.names):
        messages[name] = msgs[:n, j]
    orderbook = book[:n].astype(np.float64)
    fundamental = fund[:n] * cfg.tick
    return SynthDay(messages=messages, orderbook=orderbook, fundamental=fundamental,
                    episodes=episodes, config=cfg, seed=int(seed), levels=int(levels))


def generate_day(seed: int = 7, levels: int = 10, config: SynthConfig | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(messages, orderbook)`` of one synthetic day (:func:`simulate` without the extras).

    Parameters
    ----------
    seed, levels, config
        As for :func:`simulate`.

    Returns
    -------
    messages : numpy.ndarray
        Structured :data:`MESSAGE_DTYPE` (LOBSTER columns, time in integer ns after midnight,
        prices in price units = dollars x 10000, sizes in shares).
    orderbook : numpy.ndarray
        float64 ``(n, 4*levels)`` LOBSTER rows, row ``i`` = the book after message ``i`` (empty
        levels: dummy prices +-9999999999, size 0).

    Examples
    --------
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))
    >>> msgs, ob = generate_day(seed=1, levels=5, config=cfg)
    >>> msgs.dtype == MESSAGE_DTYPE, ob.shape == (len(msgs), 20)
    (True, True)
    >>> bool((msgs == simulate(seed=1, levels=5, config=cfg).messages).all())    # deterministic
    True
    """
    day = simulate(seed=seed, levels=levels, config=config)
    return day.messages, day.orderbook


def to_events(messages: np.ndarray) -> np.ndarray:
    """Messages (:data:`MESSAGE_DTYPE`) -> :data:`companion.events.EVENT_DTYPE` events.

    Field map: ``ts = ts_local = time_ns`` (ns after midnight), ``kind = type`` (LOBSTER codes
    1-5), ``side = direction`` (+1 buy / -1 sell order), ``price`` (price units), ``size``
    (shares), ``order_id``.

    Parameters
    ----------
    messages : numpy.ndarray
        :data:`MESSAGE_DTYPE` records.

    Returns
    -------
    numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE`, one event per message.

    Examples
    --------
    >>> m = np.zeros(1, MESSAGE_DTYPE)
    >>> m[0] = (34200 * 10**9, 1, 10_000_001, 100, 2_999_500, 1)     # add: buy 100 @ $299.95
    >>> ev = to_events(m)
    >>> int(ev["ts"][0]), int(ev["kind"][0]), int(ev["side"][0]), int(ev["price"][0]), float(ev["size"][0])
    (34200000000000, 1, 1, 2999500, 100.0)
    """
    ev = np.zeros(len(messages), dtype=EVENT_DTYPE)
    ev["ts"] = messages["time_ns"]
    ev["ts_local"] = messages["time_ns"]
    ev["kind"] = messages["type"]
    ev["side"] = messages["direction"]
    ev["price"] = messages["price"]
    ev["size"] = messages["size"]
    ev["order_id"] = messages["order_id"]
    return ev


# ---------------------------------------------------------------------------------------------
# statistics (calibration against the LOBSTER samples)
# ---------------------------------------------------------------------------------------------
def _r2(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1] ** 2)


def calibration_stats(times_ns: np.ndarray, types: np.ndarray, orderbook: np.ndarray, tick: int = 100,
                      session: tuple[float, float] = (34200.0, 57600.0), sizes: np.ndarray | None = None,
                      bucket_s: float = 10.0) -> dict:
    """Calibration statistics of a LOBSTER day (synthetic or real): the generator's own
    time-weighted targets (the package's event-weighted descriptive statistics are
    :func:`companion.stats.day_stats`).

    Time-weighted (each book state weighted by its duration): mean/median spread in ticks, share
    of time at 1 tick and <= 3 ticks, depth at the best ask/bid (shares). Message counts by type,
    execution share (types 4+5), messages per 30 minutes. OFI: level-1 OFI summed over
    ``bucket_s`` buckets against the mid change in ticks over the same bucket (R^2 of the
    contemporaneous regression, Cont, Kukanov & Stoikov 2014, eq. 10, pooled over the day and the
    mean of per-30-minute fits) and the correlation with the *next* bucket's mid change.

    Parameters
    ----------
    times_ns : array_like
        int64 message times, ns after midnight.
    types : array_like
        LOBSTER message types (1-5).
    orderbook : array_like
        float64 ``(n, 4L)`` LOBSTER rows (price units, shares), row ``i`` = after message ``i``.
    tick : int
        Tick in price units (LOBSTER $0.01 = 100).
    session : tuple of float
        Session ``(open, close)`` in s after midnight (the last state lasts until the close).
    sizes : array_like, optional
        Message sizes (shares); adds ``add_size_mean`` / ``exec_size_mean``.
    bucket_s : float
        OFI bucket width, s.

    Returns
    -------
    dict
        ``messages``, ``counts_by_type``, ``execution_share``, ``spread_ticks_mean`` /
        ``_median`` / ``share_1_tick`` / ``share_le_3_ticks`` (ticks), ``depth_best_ask_mean`` /
        ``bid`` (shares), ``mid_first_last_ticks``, ``mid_range_ticks``, ``dmid_std_ticks``,
        ``ofi_r2_pooled``, ``ofi_r2_30min_mean`` (NaN without a 30-minute window of > 20
        buckets), ``ofi_next_corr``, ``messages_per_30min``, ``bucket_s``.

    References
    ----------
    Cont, Kukanov & Stoikov (2014), The Price Impact of Order Book Events, J. Financial
    Econometrics 12(1), eqs. 2 and 10.

    Examples
    --------
    Two book states: a 2-tick spread for 1 s, then a 4-tick spread for the remaining 3 s.

    >>> ob = np.array([[10200.0, 100, 10000, 200], [10300.0, 100, 9900, 300]])
    >>> st = calibration_stats([0, 1 * 10**9], [1, 1], ob, tick=100, session=(0.0, 4.0), bucket_s=1.0)
    >>> st["spread_ticks_mean"], st["spread_ticks_median"], st["depth_best_bid_mean"], st["counts_by_type"][1]
    (3.5, 4.0, 275.0, 2)
    """
    t = np.asarray(times_ns, dtype=np.int64) / NS
    typ = np.asarray(types)
    ob = np.asarray(orderbook, dtype=np.float64)
    both = two_sided(ob)
    dt = np.diff(np.r_[t, session[1]])
    w = dt * both
    wsum = w.sum()
    spread = np.where(both, (ob[:, 0] - ob[:, 2]) / tick, np.nan)
    sp = np.nan_to_num(spread)
    order = np.argsort(sp[both], kind="stable")
    cw = np.cumsum(w[both][order])
    med = float(sp[both][order][np.searchsorted(cw, 0.5 * cw[-1])]) if len(cw) else float("nan")
    counts = {int(k): int((typ == k).sum()) for k in range(1, 6)}
    n = len(typ)
    mid = mid_price(ob) / tick
    # last state at each bucket edge
    edges = np.arange(session[0], session[1] + 1e-9, bucket_s)
    idx = np.searchsorted(t, edges, side="right") - 1
    ok = idx >= 0
    e = ofi_events_nb(ob)
    ce = np.r_[0.0, np.cumsum(e)]
    ofi = np.diff(ce[np.maximum(idx, -1) + 1])
    m_at = mid[np.maximum(idx, 0)]
    dmid = np.diff(m_at)
    good = ok[1:] & ok[:-1] & np.isfinite(dmid)
    x, y = ofi[good], dmid[good]
    per_win = []
    k_win = int(round(1800 / bucket_s))
    for s0 in range(0, len(ofi), k_win):
        g = good[s0:s0 + k_win]
        if g.sum() > 20:
            per_win.append(_r2(ofi[s0:s0 + k_win][g], dmid[s0:s0 + k_win][g]))
    nxt_good = good[:-1] & good[1:]
    pred_corr = float(np.corrcoef(ofi[:-1][nxt_good], dmid[1:][nxt_good])[0, 1]) if nxt_good.sum() > 3 else float("nan")
    hist = np.histogram(t, bins=np.arange(session[0], session[1] + 1800, 1800))[0]
    out = {
        "messages": n,
        "counts_by_type": counts,
        "execution_share": round((counts[EXEC_VISIBLE] + counts[EXEC_HIDDEN]) / max(n, 1), 4),
        "spread_ticks_mean": round(float(np.sum(sp * w) / wsum), 3),
        "spread_ticks_median": med,
        "spread_share_1_tick": round(float(np.sum(w * (sp == 1)) / wsum), 3),
        "spread_share_le_3_ticks": round(float(np.sum(w * (sp <= 3)) / wsum), 3),
        "depth_best_ask_mean": round(float(np.sum(ob[:, 1] * w) / wsum), 1),
        "depth_best_bid_mean": round(float(np.sum(ob[:, 3] * w) / wsum), 1),
        "mid_first_last_ticks": [float(mid[both][0]), float(mid[both][-1])] if both.any() else [],
        "mid_range_ticks": round(float(np.nanmax(mid) - np.nanmin(mid)), 1),
        "dmid_std_ticks": round(float(np.std(y)), 3),
        "ofi_r2_pooled": round(_r2(x, y), 4),
        "ofi_r2_30min_mean": round(float(np.nanmean(per_win)), 4) if per_win else float("nan"),
        "ofi_next_corr": round(pred_corr, 4),
        "messages_per_30min": hist.tolist(),
        "bucket_s": bucket_s,
    }
    if sizes is not None:
        sz = np.asarray(sizes)
        out["add_size_mean"] = round(float(sz[typ == ADD].mean()), 1)
        out["exec_size_mean"] = round(float(sz[typ == EXEC_VISIBLE].mean()), 1) if counts[EXEC_VISIBLE] else float("nan")
    return out


def _episode_moves(day: SynthDay) -> list[dict]:
    """Mid move (ticks) over each informed episode, signed by its direction."""
    t = day.messages["time_ns"] / NS
    ob = day.orderbook
    tick = day.config.tick
    out = []
    for e in day.episodes:
        i0 = max(int(np.searchsorted(t, e["start"], side="right")) - 1, 0)
        i1 = max(int(np.searchsorted(t, e["end"], side="right")) - 1, 0)
        m0 = row_mid_nb(ob[i0]) / tick
        m1 = row_mid_nb(ob[i1]) / tick
        out.append({**e, "mid_move_ticks": round(float(m1 - m0), 1)})
    return out


def stats_of(day: SynthDay) -> dict:
    """:func:`calibration_stats` of a generated day (its tick, session and sizes).

    Parameters
    ----------
    day : SynthDay
        From :func:`simulate`.

    Returns
    -------
    dict
        See :func:`calibration_stats` (spreads in ticks, depths in shares).

    Examples
    --------
    >>> day = simulate(seed=1, levels=5, config=SynthConfig(session=(34200.0, 34260.0)))
    >>> st = stats_of(day)
    >>> st["messages"] == len(day.messages), st["spread_ticks_mean"] > 1
    (True, True)
    """
    return calibration_stats(day.messages["time_ns"], day.messages["type"], day.orderbook,
                     tick=day.config.tick, session=day.config.session, sizes=day.messages["size"])


# ---------------------------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------------------------
def file_stem(config: SynthConfig | None = None) -> str:
    """File-name stem in LOBSTER naming: ``SYMBOL_DATE_START_END`` (session window in ms after midnight).

    Parameters
    ----------
    config : SynthConfig, optional
        Default :class:`SynthConfig`.

    Returns
    -------
    str

    Examples
    --------
    >>> file_stem()
    'SYNTH_2012-06-21_34200000_57600000'
    >>> file_stem(SynthConfig(session=(34200.0, 34260.0)))
    'SYNTH_2012-06-21_34200000_34260000'
    """
    cfg = config or SynthConfig()
    a, b = (int(round(x * 1000)) for x in cfg.session)
    return f"{cfg.symbol}_{cfg.date}_{a}_{b}"


def _book_int(orderbook: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(orderbook).astype(np.int64)


def write_day(out_dir: str | Path, seed: int = 7, levels: int = 10,
              config: SynthConfig | None = None, day: SynthDay | None = None) -> tuple[Path, Path]:
    """Generate (or take ``day``) and write the LOBSTER message/orderbook CSVs + ``_meta.json``.

    Files: ``<stem>_message_<levels>.csv``, ``<stem>_orderbook_<levels>.csv`` and
    ``<stem>_meta.json`` (seed, config, episodes with their realised mid moves, stats, sha256 of
    the CSVs). The CSVs follow the LOBSTER ReadMe (Huang & Polak 2011): message columns time (s
    after midnight), type, order id, size, price (dollars x 10000), direction; orderbook rows
    ``ask_px_1, ask_sz_1, bid_px_1, bid_sz_1, ...`` as integers.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder (created if missing).
    seed, levels, config
        As for :func:`simulate` (ignored when ``day`` is given).
    day : SynthDay, optional
        An already simulated day.

    Returns
    -------
    tuple of pathlib.Path
        ``(message_path, orderbook_path)``.

    Examples
    --------
    >>> import tempfile
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     msg, ob = write_day(tmp, seed=1, levels=5, config=cfg)
    ...     meta = json.loads((Path(tmp) / f"{file_stem(cfg)}_meta.json").read_text())
    ...     print(msg.name, ob.name, meta["seed"], meta["levels"])
    SYNTH_2012-06-21_34200000_34260000_message_5.csv SYNTH_2012-06-21_34200000_34260000_orderbook_5.csv 1 5
    """
    if day is None:
        day = simulate(seed=seed, levels=levels, config=config)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(day.config)
    mpath = out / f"{stem}_message_{day.levels}.csv"
    opath = out / f"{stem}_orderbook_{day.levels}.csv"
    m = day.messages
    table = np.column_stack([m[name] for name in MESSAGE_DTYPE.names])
    mbytes = format_messages_nb(np.ascontiguousarray(table)).tobytes()
    obytes = format_int_table_nb(_book_int(day.orderbook)).tobytes()
    mpath.write_bytes(mbytes)
    opath.write_bytes(obytes)
    meta = {
        "generator": "companion.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": day.seed,
        "levels": day.levels,
        "config": day.config.to_dict(),
        "episodes": _episode_moves(day),
        "stats": stats_of(day),
        "files": {
            mpath.name: {"bytes": len(mbytes), "sha256": hashlib.sha256(mbytes).hexdigest()},
            opath.name: {"bytes": len(obytes), "sha256": hashlib.sha256(obytes).hexdigest()},
        },
        "instrument": instrument(day.config, day.levels).to_dict(),
    }
    day.meta = meta
    (out / f"{stem}_meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True, default=float) + "\n")
    return mpath, opath


def _config_tag(cfg: SynthConfig) -> str:
    return hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()[:10]


def day_dir(seed: int = 7, config: SynthConfig | None = None) -> Path:
    """Folder of the synthetic day: ``data_dir()/synthetic/seed_<seed>``.

    A non-default config gets ``seed_<seed>_<config hash>`` (first 10 hex digits of the sha256 of
    the config's JSON), so different configs never share files.

    Parameters
    ----------
    seed : int
        Generator seed.
    config : SynthConfig, optional
        Default :class:`SynthConfig`.

    Returns
    -------
    pathlib.Path
        ``data_dir()/synthetic/seed_<seed>``, created or not.

    Examples
    --------
    >>> day_dir(7).parts[-2:]
    ('synthetic', 'seed_7')
    >>> day_dir(7, SynthConfig(session=(34200.0, 34260.0))).name.startswith("seed_7_")
    True
    """
    cfg = config or SynthConfig()
    name = f"seed_{seed}" if cfg == SynthConfig() else f"seed_{seed}_{_config_tag(cfg)}"
    return data_dir() / "synthetic" / name


def _meta_current(meta_path: Path, cfg: SynthConfig) -> bool:
    """True when ``meta_path`` describes files of this generator version and config."""
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return False
    return (meta.get("generator_version") == GENERATOR_VERSION
            and meta.get("config") == json.loads(json.dumps(cfg.to_dict())))


def ensure_day(seed: int = 7, levels: int = 10, config: SynthConfig | None = None) -> tuple[Path, Path]:
    """The day for ``seed`` under :func:`day_dir` (``data_dir()/synthetic/seed_<seed>``),
    generated first if missing: written to a temporary folder beside it, then renamed into place
    (atomic), so a concurrent reader never sees a half-written file. Files written by another
    :data:`GENERATOR_VERSION` or config are regenerated.

    Parameters
    ----------
    seed, levels, config
        The day to find or generate (as for :func:`simulate`; the files' names carry all three).

    Returns
    -------
    tuple of pathlib.Path
        ``(message_path, orderbook_path)`` of the LOBSTER CSVs (see :func:`write_day`).

    Examples
    --------
    >>> import tempfile
    >>> from unittest import mock
    >>> cfg = SynthConfig(session=(34200.0, 34260.0))
    >>> with tempfile.TemporaryDirectory() as tmp, mock.patch.dict(os.environ, {"COMPANION_DATA": tmp}):
    ...     msg, ob = ensure_day(seed=1, levels=5, config=cfg)     # generated
    ...     again = ensure_day(seed=1, levels=5, config=cfg)       # found, not regenerated
    ...     print(msg.parent == day_dir(1, cfg), again == (msg, ob), ob.stat().st_size > 0)
    True True True
    """
    cfg = config or SynthConfig()
    target = day_dir(seed, cfg)
    stem = file_stem(cfg)
    mpath = target / f"{stem}_message_{levels}.csv"
    opath = target / f"{stem}_orderbook_{levels}.csv"
    meta = target / f"{stem}_meta.json"
    if mpath.exists() and opath.exists() and _meta_current(meta, cfg):
        return mpath, opath
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private
    try:
        write_day(tmp, seed=seed, levels=levels, config=cfg)
        if not target.exists():
            try:
                os.rename(tmp, target)     # atomic: the whole folder appears at once
                return mpath, opath
            except OSError:
                if not target.exists():
                    raise
        # the folder exists (other levels, a stale version, or another process won the race):
        # replace file by file, each atomically, the meta last
        for name in (mpath.name, opath.name, meta.name):
            os.replace(tmp / name, target / name)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return mpath, opath
