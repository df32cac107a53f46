r"""Synthetic universes: N tickers x D days of the synthetic LOBSTER market, each day reproducible alone.

SPEC ``universe:SEED:NxD[:MINUTES][:factor=RHO]``, e.g. ``universe:1:3x5:30`` = 3 tickers
(``SYN0``, ``SYN1``, ``SYN2``) x 5 weekdays from 2012-06-21, 30-minute sessions from 09:30
(``MINUTES`` default 390, the full day). One ticker-day is named
``universe:1:3x5:30/SYN1/2012-06-22``.

Every ticker-day is one run of :func:`companion.synth.simulate` (the queue-reactive market with
informed flow of the course's default day) under a config derived from the SPEC:

* **seeds**: the day of ticker ``k`` on day ``d`` draws from
  ``numpy.random.SeedSequence([SEED, k, d])``; day-level draws (regime, common episodes) from
  ``SeedSequence([SEED, d, 2**32 - 1])`` (the same for all tickers of the day). So any
  ticker-day is generated alone, identical to the same day generated within the whole universe
  and independent of N, D and the other days.
* **day regimes**: a volatility multiplier :math:`m_v = e^{0.35 z_1}` (scales ``sigma_v`` and
  ``jump_sd``) and an activity multiplier :math:`m_a = e^{0.30 z_2}` (scales the limit, market
  and hidden arrival rates), :math:`z_1, z_2 \sim N(0, 1)` drawn per day, common to all tickers.
* **tick-to-price ratio**: ticker ``k`` opens at ``PRICES[k % 6]`` dollars (``$20, $300, $60,
  $120, $40, $200``) with a one-cent tick. The default day's parameters are for a $300 name; every
  parameter measured in ticks (placement distances, cancellation-free distance, seeded gaps, value
  diffusion and jumps, tilt scale, episode moves) is scaled by :math:`r = p_0 / 300`, so the
  market is the same in relative price terms and the tick is :math:`1/r` times larger relative to
  the price. ``SYN0`` ($20, :math:`r = 1/15`) is a **large-tick** name: its spread is one tick most
  of the time (share of book time at one tick > 50 %, tested); ``SYN1`` is the default $300 name.
* **common factor** (``factor=RHO``, :math:`0 \le \rho \le 1`; off = 0): the session is cut
  into :data:`FACTOR_SLOT_S`-second slots, each with a direction :math:`s_k = \pm 1` drawn from
  the day stream (the same for every ticker). Each ticker takes each slot with probability
  :math:`\rho` (its own uniform stream ``SeedSequence([SEED, k, d, 1])``); in a taken slot it
  gets an extra informed episode of the synthetic market: informed market orders in direction
  :math:`s_k` at :data:`FACTOR_MU` per s (times the day's activity multiplier) and a latent-value
  drift of :data:`FACTOR_MOVE_TICKS` :math:`\times r` ticks in that direction. Order flow is then
  correlated across tickers (10-s OFI correlation ~0.1-0.3 between tickers at :math:`\rho = 1`
  on 60-minute days; ~0 without), the situation Cont, Cucuringu & Zhang (2023) study.

**Cross-impact target.** Prices of a ticker move only through its own book: no event of ticker
``j`` ever changes ticker ``i``'s book or latent value. The structural cross-impact
(:func:`true_cross_impact`) is therefore the zero matrix, with or without the factor. Without
the factor the tickers are independent, so the regression of each ticker's mid change per bin on
its own OFI and the other tickers' OFI (Cont, Cucuringu & Zhang 2023, eq. 8) has cross
coefficients whose population value is exactly 0. With the factor the other tickers' OFI is
correlated with the ticker's own OFI and price: a regression on the *other* tickers' OFI alone
finds a positive "cross-impact"; adding the own OFI absorbs it -- the coefficients that remain
are the structural ones (zero up to the part of the own price move that the own level-1 OFI
does not capture linearly). Measured on ``universe:11:3x8:60`` (10-s bins, OFI in standard
deviations, mean over the 24 ticker-days of the mean cross coefficient, ticks per sd): without
the factor, joint 0.019 (se 0.028), cross-only -0.024 (se 0.042); with ``factor=1``, joint
-0.023 (se 0.035), cross-only 0.278 (se 0.061, t 4.6) -- the regression with the own OFI recovers
the zero target, the one without it does not. :func:`factor_correlation` gives :math:`\rho`.

A 30-minute ticker-day takes ~0.05 s to simulate (~1 s for the first call of a process, which
loads the compiled kernel); 250 ticker-days of 30 minutes generate and store serially in ~25 s.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date as _date
from datetime import timedelta

import numpy as np

from companion.events import DayData, TickerDay

__all__ = [
    "PRICES",
    "UniverseSpec",
    "day_config",
    "factor_correlation",
    "generate_day",
    "parse_universe",
    "true_cross_impact",
    "universe_day",
    "universe_days",
]

PRICES = (20.0, 300.0, 60.0, 120.0, 40.0, 200.0)
"""Opening mid (dollars) of ticker ``k``: ``PRICES[k % 6]``."""
START_DATE = "2012-06-21"
LEVELS = 10
_DAY_STREAM = 2**32 - 1


@dataclass(frozen=True)
class UniverseSpec:
    """A parsed universe SPEC.

    Attributes
    ----------
    seed : int
        Universe seed.
    tickers : int
        N.
    days : int
        D (weekdays from 2012-06-21).
    minutes : float
        Session length from 09:30, minutes (390 = full day).
    factor : float
        Common-factor share :math:`\\rho` in [0, 1] (0 = off).
    text : str
        The canonical SPEC.

    Examples
    --------
    >>> parse_universe("universe:1:3x5:30").text
    'universe:1:3x5:30'
    """

    seed: int
    tickers: int
    days: int
    minutes: float
    factor: float
    text: str

    def dates(self) -> list[str]:
        """The D weekdays from 2012-06-21, ``YYYY-MM-DD``."""
        out, d = [], _date.fromisoformat(START_DATE)
        while len(out) < self.days:
            if d.weekday() < 5:
                out.append(d.isoformat())
            d += timedelta(days=1)
        return out


_SPEC = re.compile(r"^universe:(?P<seed>\d+):(?P<n>\d+)x(?P<d>\d+)(?::(?P<min>\d+(?:\.\d+)?))?(?::factor=(?P<f>[0-9.]+))?$")


def parse_universe(spec: str) -> UniverseSpec:
    """Parse ``universe:SEED:NxD[:MINUTES][:factor=RHO]`` (a day suffix ``/TICKER/DATE`` is ignored).

    Parameters
    ----------
    spec : str
        The SPEC, e.g. ``universe:7:20x5`` (seed 7, 20 tickers, 5 days of 390 minutes).

    Returns
    -------
    UniverseSpec

    Raises
    ------
    ValueError
        Naming the part not understood (N, D >= 1; 0 < MINUTES <= 390; 0 <= RHO <= 1).

    Examples
    --------
    >>> u = parse_universe("universe:7:2x3:15:factor=0.5")
    >>> u.seed, u.tickers, u.days, u.minutes, u.factor
    (7, 2, 3, 15.0, 0.5)
    >>> parse_universe("universe:7:2x3").minutes
    390.0
    """
    s = spec.strip().split("/", 1)[0]
    m = _SPEC.match(s)
    if m is None:
        raise ValueError(f"universe SPEC {spec!r} not understood: expected universe:SEED:NxD[:MINUTES][:factor=RHO], "
                         "e.g. universe:1:3x5:30")
    n, d = int(m["n"]), int(m["d"])
    minutes = float(m["min"]) if m["min"] else 390.0
    factor = float(m["f"]) if m["f"] else 0.0
    if n < 1 or d < 1:
        raise ValueError(f"universe SPEC {spec!r}: N and D must be >= 1")
    if not 0 < minutes <= 390:
        raise ValueError(f"universe SPEC {spec!r}: MINUTES must be in (0, 390]")
    if not 0 <= factor <= 1:
        raise ValueError(f"universe SPEC {spec!r}: factor must be in [0, 1]")
    text = f"universe:{int(m['seed'])}:{n}x{d}"
    if m["min"] or m["f"]:
        text += f":{m['min'] or 390}"
    if m["f"]:
        text += f":factor={m['f']}"
    return UniverseSpec(int(m["seed"]), n, d, minutes, factor, text)


def universe_days(spec: str) -> list[TickerDay]:
    """All N x D ticker-days of a universe (source ``"synthetic"``, level 10, no files).

    Examples
    --------
    >>> days = universe_days("universe:1:2x2:30")
    >>> [(d.ticker, d.date) for d in days]
    [('SYN0', '2012-06-21'), ('SYN0', '2012-06-22'), ('SYN1', '2012-06-21'), ('SYN1', '2012-06-22')]
    >>> days[0].spec
    'universe:1:2x2:30/SYN0/2012-06-21'
    """
    u = parse_universe(spec)
    return [TickerDay("synthetic", f"SYN{k}", d, LEVELS, (), f"{u.text}/SYN{k}/{d}")
            for k in range(u.tickers) for d in u.dates()]


def universe_day(spec: str) -> TickerDay:
    """The ticker-day named by ``universe:.../TICKER/DATE``.

    Raises
    ------
    ValueError
        For a ticker or a date the universe does not hold.

    Examples
    --------
    >>> universe_day("universe:1:3x5:30/SYN1/2012-06-22").key
    'synthetic/SYN1/2012-06-22/10'
    """
    parts = spec.strip().split("/")
    if len(parts) != 3:
        raise ValueError(f"universe day SPEC {spec!r}: expected universe:SEED:NxD[:MINUTES]/TICKER/DATE")
    for d in universe_days(parts[0]):
        if d.ticker == parts[1].upper() and d.date == parts[2]:
            return d
    u = parse_universe(parts[0])
    raise ValueError(f"universe day SPEC {spec!r}: {parts[1]} / {parts[2]} is not one of the "
                     f"{u.tickers} tickers SYN0..SYN{u.tickers - 1} x {u.days} dates {u.dates()[0]}..{u.dates()[-1]}")


def _indices(day: TickerDay) -> tuple[UniverseSpec, int, int]:
    u = parse_universe(day.spec)
    return u, int(day.ticker[3:]), u.dates().index(day.date)


def _day_regime(u: UniverseSpec, d: int) -> tuple[float, float, np.random.Generator]:
    rng = np.random.default_rng(np.random.SeedSequence([u.seed, d, _DAY_STREAM]))
    z = rng.standard_normal(2)
    return float(np.exp(0.35 * z[0])), float(np.exp(0.30 * z[1])), rng


def _seed_int(*words: int) -> int:
    st = np.random.SeedSequence(list(words)).generate_state(4, np.uint32)
    return int.from_bytes(st.astype("<u4").tobytes(), "little")


def day_config(day: TickerDay):
    """The :class:`companion.synth.SynthConfig`, seed and regime of a universe ticker-day.

    Returns
    -------
    tuple
        ``(config, seed, info)``: ``seed`` is a 128-bit integer from
        ``SeedSequence([SEED, k, d])``; ``info`` holds ``vol_mult``, ``activity_mult``,
        ``tick_ratio`` (:math:`1/r`, the tick relative to the default $300 name) and ``price0``.

    Examples
    --------
    >>> cfg, seed, info = day_config(universe_day("universe:1:3x5:30/SYN0/2012-06-22"))
    >>> cfg.symbol, cfg.date, cfg.session, cfg.price0, info["tick_ratio"]
    ('SYN0', '2012-06-22', (34200.0, 36000.0), 20.0, 15.0)
    """
    from companion.synth import SynthConfig

    u, k, d = _indices(day)
    vm, am, _ = _day_regime(u, d)
    base = SynthConfig()
    p0 = PRICES[k % len(PRICES)]
    r = p0 / base.price0
    t0 = base.session[0]
    cfg = replace(
        base, symbol=day.ticker, date=day.date, session=(t0, t0 + 60.0 * u.minutes), price0=p0,
        lam_limit=base.lam_limit * am, mu_market=base.mu_market * am, eta_hidden=base.eta_hidden * am,
        placement_fleeting=(base.placement_fleeting[0], base.placement_fleeting[1] * r),
        placement_patient=(base.placement_patient[0], base.placement_patient[1] * r),
        placement_max_ticks=max(20, round(base.placement_max_ticks * r)),
        cancel_free_ticks=base.cancel_free_ticks * r,
        seed_gap_ticks=max(1, round(base.seed_gap_ticks * r)),
        sigma_v=base.sigma_v * r * vm, jump_sd=base.jump_sd * r * vm,
        tilt_scale_ticks=base.tilt_scale_ticks * r,
        episode_move_ticks=(base.episode_move_ticks[0] * r, base.episode_move_ticks[1] * r),
    )
    info = {"vol_mult": round(vm, 6), "activity_mult": round(am, 6), "tick_ratio": round(1 / r, 6),
            "price0": p0, "ticker_index": k, "day_index": d, "universe": u.text}
    return cfg, _seed_int(u.seed, k, d), info


FACTOR_SLOT_S = 30.0
"""Length (s) of one slot of the common factor."""
FACTOR_MU = 0.6
"""Common informed market orders per s during a taken slot (times the day's activity multiplier)."""
FACTOR_MOVE_TICKS = 3.0
"""Latent-value move per taken slot, in ticks of the default $300 name (scaled by :math:`r`)."""


def _common_episodes(u: UniverseSpec, d: int, cfg) -> list[dict]:
    """The common factor of day ``d``: the session cut into :data:`FACTOR_SLOT_S` slots, each with
    a direction drawn from the day stream (the same for every ticker)."""
    _, am, rng = _day_regime(u, d)
    t0, t1 = cfg.session
    k = max(1, int(np.floor((t1 - t0) / FACTOR_SLOT_S)))
    signs = np.where(rng.random(k) < 0.5, 1, -1)
    r = cfg.price0 / 300.0
    return [{"start": t0 + i * FACTOR_SLOT_S, "end": min(t1, t0 + (i + 1) * FACTOR_SLOT_S),
             "direction": int(signs[i]), "move_ticks": FACTOR_MOVE_TICKS * r, "mu": FACTOR_MU * am}
            for i in range(k)]


def generate_day(day: TickerDay) -> DayData:
    """Generate one universe ticker-day (deterministic from (seed, ticker, day) alone).

    Parameters
    ----------
    day : TickerDay
        From :func:`universe_days` / :func:`universe_day`.

    Returns
    -------
    companion.events.DayData
        Events, 10-level book (LOBSTER layout, price units = dollars x 10000), instrument
        (venue ``"SYNTHETIC"``; ``extra`` holds the regime, seed and episodes).

    Examples
    --------
    >>> day = universe_day("universe:1:2x2:2/SYN1/2012-06-22")
    >>> a, b = generate_day(day), generate_day(day)
    >>> bool((a.events == b.events).all()), a.instrument.date, a.book.shape[1]
    (True, '2012-06-22', 40)
    """
    from companion.synth import instrument, simulate, to_events

    cfg, seed, info = day_config(day)
    u, k, d = _indices(day)
    extra = None
    if u.factor > 0:
        extra, info = _with_factor(cfg, info, u, k, d)
    sd = simulate(seed=seed, levels=LEVELS, config=cfg, extra_episodes=extra)
    ins = instrument(cfg, LEVELS)
    ins = replace(ins, extra={**info, "seed": str(seed), "episodes": sd.episodes})
    return DayData(to_events(sd.messages), sd.orderbook, ins, day)


def _with_factor(cfg, info, u, k, d):
    """The common episodes this ticker takes (each with probability rho), on top of its own."""
    common = _common_episodes(u, d, cfg)
    # uniforms from a stream of their own: which episodes a ticker takes is monotone in rho
    pick = np.random.default_rng(np.random.SeedSequence([u.seed, k, d, 1])).random(len(common))
    taken = [i for i in range(len(common)) if pick[i] < u.factor]
    info = {**info, "factor": u.factor, "common_episodes": taken}
    return [common[i] for i in taken], info


def true_cross_impact(spec: str) -> np.ndarray:
    """The structural cross-impact matrix of a universe: entry ``(i, j)``, ``i != j``, is the
    change of ticker ``i``'s mid (ticks) per share of ticker ``j``'s OFI holding ticker ``i``'s own
    flow fixed -- the coefficient the cross-impact regression (Cont, Cucuringu & Zhang 2023)
    targets. Zero in this generator (see the module docstring); the diagonal is NaN (own impact
    is emergent, estimated by the study).

    Examples
    --------
    >>> m = true_cross_impact("universe:1:3x5:30:factor=0.8")
    >>> m.shape, float(np.nansum(np.abs(m)))
    ((3, 3), 0.0)
    """
    u = parse_universe(spec)
    m = np.zeros((u.tickers, u.tickers))
    np.fill_diagonal(m, np.nan)
    return m


def factor_correlation(spec: str) -> float:
    """The common-factor share :math:`\\rho` of a universe (0 = independent tickers).

    Examples
    --------
    >>> factor_correlation("universe:1:3x5:30:factor=0.8"), factor_correlation("universe:1:3x5:30")
    (0.8, 0.0)
    """
    return parse_universe(spec).factor
