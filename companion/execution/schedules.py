"""Execution schedules: how much of a parent order should be done by when.

A schedule turns a :class:`ParentOrder` (side, quantity, start, end) into **child-order targets**:
release times ``tau_0 < tau_1 < ...`` in ``[start, end]`` and the cumulative quantity
``X_j`` the executor should have done once ``tau_j`` has passed (non-decreasing, in lots,
``X_last = Q``). The child released at ``tau_j`` is ``X_j - X_{j-1}``.

==========  ================================================================================
TWAP        ``X_j = Q (j + 1) / n``: equal slices on an equal time grid (Almgren & Chriss 2000
            with zero risk aversion give the same straight line).
VWAP        ``X_j = Q [F(tau_{j+1}) - F(start)] / [F(end) - F(start)]`` with ``F`` the cumulative
            *expected* volume share of a :class:`VolumeProfile` estimated from past days (or the
            generator's U-shape): never from the execution window's own volume.
POV         ``X_j = min(Q, rate * V[start, tau_j))``: a fixed fraction of the market volume
            printed *before* each release (causal), plus a clean-up release at ``end``.
Adaptive    ``X_j = clip(B_j + d Q u_j, X_{j-1}, Q)``: a base schedule ``B`` bent by an urgency
            ``u_j in [-1, 1]`` read from a signal known before ``tau_j`` -- trade ahead of the
            base when the signal says the price will move against the order, behind it
            otherwise; ``|X_j - B_j| <= d Q`` (beyond rounding).
==========  ================================================================================

Quantities are rounded *down* to the lot on the cumulative curve (so a POV child never exceeds
its cap); the last target is exactly ``Q``. Times are int64 ns in the data's time base.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from companion.events import NS

__all__ = ["ParentOrder", "ChildSchedule", "VolumeProfile", "TWAP", "VWAP", "POV", "Adaptive",
           "window_volume", "ofi_signal"]


@dataclass(frozen=True)
class ParentOrder:
    """A parent order: ``side`` +1 buy / -1 sell, ``qty`` (a multiple of the lot), the execution
    window ``[start_ns, end_ns)`` in the data's time base.

    Attributes
    ----------
    side : int
        +1 buy, -1 sell.
    qty : float
        Quantity to execute (> 0, a multiple of the lot).
    start_ns, end_ns : int
        The execution window ``[start_ns, end_ns)`` (ns, the data's time base).
    """

    side: int
    qty: float
    start_ns: int
    end_ns: int

    def __post_init__(self):
        if self.side not in (1, -1):
            raise ValueError(f"side must be +1 or -1, got {self.side!r}")
        if not (self.qty > 0 and np.isfinite(self.qty)):
            raise ValueError(f"qty must be > 0, got {self.qty!r}")
        if self.end_ns <= self.start_ns:
            raise ValueError(f"end_ns {self.end_ns} must be after start_ns {self.start_ns}")


@dataclass
class ChildSchedule:
    """Release times (int64 ns, increasing, in ``[start, end]``) and cumulative targets
    (non-decreasing, last = parent quantity).

    Attributes
    ----------
    times : numpy.ndarray
        Release times (int64 ns, strictly increasing).
    cum_qty : numpy.ndarray
        Cumulative target quantity at each release (non-decreasing; last = parent quantity).
    name : str
        The schedule's name (the algorithm that made it).
    """

    times: np.ndarray
    cum_qty: np.ndarray
    name: str = ""

    def __post_init__(self):
        self.times = np.asarray(self.times, dtype=np.int64)
        self.cum_qty = np.asarray(self.cum_qty, dtype=np.float64)
        if self.times.shape != self.cum_qty.shape or self.times.size == 0:
            raise ValueError("times and cum_qty must be non-empty and of equal length")
        if (np.diff(self.times) <= 0).any():
            raise ValueError("release times must be strictly increasing")
        if (np.diff(self.cum_qty) < -1e-9).any():
            raise ValueError("cumulative targets must be non-decreasing")

    @property
    def child_qty(self) -> np.ndarray:
        """Quantity released at each time (``diff`` of the cumulative targets)."""
        return np.diff(self.cum_qty, prepend=0.0)

    def target_at(self, t) -> np.ndarray | float:
        """Cumulative target once time ``t`` has passed (0 before the first release)."""
        j = np.searchsorted(self.times, t, side="right") - 1
        return np.where(j >= 0, self.cum_qty[np.maximum(j, 0)], 0.0)

    def frame(self) -> pd.DataFrame:
        """``child_qty`` and ``cum_qty`` per release, indexed by ``release_ns``."""
        return pd.DataFrame({"child_qty": self.child_qty, "cum_qty": self.cum_qty},
                            index=pd.Index(self.times, name="release_ns"))


def _grid(parent: ParentOrder, interval_ns: int) -> np.ndarray:
    """Release grid ``start, start + dt, ...`` strictly before ``end`` (at least one release)."""
    if interval_ns <= 0:
        raise ValueError("interval must be > 0")
    n = max(1, int(np.ceil((parent.end_ns - parent.start_ns) / interval_ns)))
    return parent.start_ns + interval_ns * np.arange(n, dtype=np.int64)


def _lots(x: np.ndarray, qty: float, lot: float) -> np.ndarray:
    """Round a cumulative curve down to lots, clip to ``[0, qty]``, last = ``qty``."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, qty)
    if lot > 0:
        if abs(qty / lot - round(qty / lot)) > 1e-9:
            raise ValueError(f"parent qty {qty} is not a multiple of the lot {lot}")
        x = np.floor(x / lot + 1e-9) * lot
    x = np.maximum.accumulate(x)
    x[-1] = qty
    return x


# ---------------------------------------------------------------------------------------------
# volume profile
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VolumeProfile:
    """Expected intraday volume shares on equal bins of the session.

    ``weights[b]``: expected share of the day's volume in bin ``b`` (sums to 1) of a session
    ``session_ns`` long starting at ``open_ns``; ``daily_volume``: expected shares per day (0 when
    unknown). ``F(t)`` = :meth:`cum_share` interpolates the cumulative share linearly inside a bin.

    Attributes
    ----------
    weights : numpy.ndarray
        Expected share of the day's volume per bin (sums to 1).
    open_ns : int
        Session open (ns, the data's time base).
    session_ns : int
        Session length (ns); the bins split it equally.
    daily_volume : float
        Expected volume per day (shares; 0 when unknown).
    n_days : int
        Days the profile was estimated from (0 for a parametric shape).
    meta : dict
        Free-form provenance (e.g. the U-shape's parameters).
    """

    weights: np.ndarray
    open_ns: int
    session_ns: int
    daily_volume: float = 0.0
    n_days: int = 0
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def edges(self) -> np.ndarray:
        """The ``len(weights) + 1`` bin edges from the open to the close (int64 ns)."""
        n = len(self.weights)
        return self.open_ns + np.round(np.linspace(0, self.session_ns, n + 1)).astype(np.int64)

    def cum_share(self, t) -> np.ndarray:
        """``F(t)``: expected share of the day's volume printed before time ``t`` (0..1)."""
        cum = np.concatenate([[0.0], np.cumsum(self.weights)])
        return np.interp(np.asarray(t, dtype=np.float64), self.edges.astype(np.float64), cum)

    def expected_volume(self, start_ns: int, end_ns: int) -> float:
        """Expected volume in ``[start, end)``: ``daily_volume * (F(end) - F(start))``."""
        return float(self.daily_volume * (self.cum_share(end_ns) - self.cum_share(start_ns)))

    @classmethod
    def u_shape(cls, open_ns: int, close_ns: int, a: float = 0.7, b: float = 0.9,
                n_bins: int = 78, daily_volume: float = 0.0) -> VolumeProfile:
        """The synthetic generator's seasonal intensity ``s(x) = a + b x^2``, ``x`` from -1 (open)
        to +1 (close) (:mod:`companion.synth`; Admati & Pfleiderer 1988), integrated over bins."""
        x = np.linspace(-1.0, 1.0, n_bins + 1)
        prim = a * x + b * x ** 3 / 3.0
        w = np.diff(prim)
        return cls(w / w.sum(), int(open_ns), int(close_ns - open_ns), float(daily_volume), 0,
                   {"source": "u_shape", "a": a, "b": b})

    @classmethod
    def from_days(cls, days, open_ns: int, close_ns: int, n_bins: int = 78) -> VolumeProfile:
        """Average of the per-day volume shares of past days.

        ``days``: iterable of ``(trade_ts_ns, trade_size)`` pairs, times in the same time-of-day
        base as ``open_ns``/``close_ns`` (e.g. ns after midnight). Each day is normalised to
        shares before averaging, so a busy day does not dominate the shape.
        """
        edges = open_ns + np.round(np.linspace(0, close_ns - open_ns, n_bins + 1)).astype(np.int64)
        shares, totals = [], []
        for ts, size in days:
            ts = np.asarray(ts, dtype=np.int64)
            size = np.asarray(size, dtype=np.float64)
            b = np.searchsorted(edges, ts, side="right") - 1
            ok = (b >= 0) & (b < n_bins)
            v = np.bincount(b[ok], weights=size[ok], minlength=n_bins)
            if v.sum() > 0:
                shares.append(v / v.sum())
                totals.append(v.sum())
        if not shares:
            raise ValueError("no volume inside the session in any of the days")
        w = np.mean(shares, axis=0)
        return cls(w / w.sum(), int(open_ns), int(close_ns - open_ns), float(np.mean(totals)),
                   len(shares), {"source": "past_days"})


def window_volume(trade_ts: np.ndarray, trade_size: np.ndarray, t0, t1) -> np.ndarray:
    """Market volume printed in ``[t0, t1)`` (vectorised over ``t0``/``t1``); ``trade_ts`` sorted.

    ``V[t0, t1) = sum of trade_size[i] over t0 <= trade_ts[i] < t1`` (shares), from one cumulative
    sum and two binary searches: the POV schedule's causal volume.

    Examples
    --------
    >>> import numpy as np
    >>> ts, size = np.array([0, 5, 10, 15]), np.array([100.0, 200, 300, 400])
    >>> window_volume(ts, size, np.array([0, 10]), np.array([10, 20])).tolist()   # [0, 10) and [10, 20)
    [300.0, 700.0]
    """
    c = np.concatenate([[0.0], np.cumsum(np.asarray(trade_size, dtype=np.float64))])
    i0 = np.searchsorted(trade_ts, t0, side="left")
    i1 = np.searchsorted(trade_ts, t1, side="left")
    return c[i1] - c[i0]


# ---------------------------------------------------------------------------------------------
# schedules
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TWAP:
    """Equal slices every ``interval_s`` seconds from ``start``; the last slice is released at
    the last grid time before ``end``.

    Examples
    --------
    >>> p = ParentOrder(side=1, qty=1000, start_ns=0, end_ns=120 * NS)      # buy 1000 in 2 minutes
    >>> s = TWAP(interval_s=30).schedule(p)
    >>> (s.times // NS).tolist(), s.child_qty.tolist()
    ([0, 30, 60, 90], [250.0, 250.0, 250.0, 250.0])

    Attributes
    ----------
    interval_s : float
        Time between releases (s).
    lot : float
        Round every target down to a multiple of this (0: no rounding).
    name : str
        The name on the schedule and in tables.
    """

    interval_s: float = 30.0
    lot: float = 1.0
    name: str = "TWAP"

    def schedule(self, parent: ParentOrder, trades: np.ndarray | None = None) -> ChildSchedule:
        """The child schedule of ``parent`` (``trades``: the replayed tape, where the rule needs it)."""
        t = _grid(parent, int(round(self.interval_s * NS)))
        x = parent.qty * np.arange(1, len(t) + 1) / len(t)
        return ChildSchedule(t, _lots(x, parent.qty, self.lot), self.name)


@dataclass(frozen=True)
class VWAP:
    """Slices proportional to the expected volume of the next interval under ``profile``
    (a :class:`VolumeProfile` from past days / the U-shape). The day's own trades are ignored.

    Attributes
    ----------
    profile : VolumeProfile
        The expected intraday volume curve.
    interval_s, lot, name
        As for :class:`TWAP`.
    """

    profile: VolumeProfile
    interval_s: float = 30.0
    lot: float = 1.0
    name: str = "VWAP"

    def schedule(self, parent: ParentOrder, trades: np.ndarray | None = None) -> ChildSchedule:
        """The child schedule of ``parent`` (``trades``: the replayed tape, where the rule needs it)."""
        f0, f1 = self.profile.cum_share([parent.start_ns, parent.end_ns])
        if f1 - f0 <= 0:  # the window lies outside the profile's session: fall back to TWAP
            return TWAP(self.interval_s, self.lot, self.name).schedule(parent)
        t = _grid(parent, int(round(self.interval_s * NS)))
        fj = self.profile.cum_share(np.append(t[1:], parent.end_ns))
        x = parent.qty * (fj - f0) / (f1 - f0)
        return ChildSchedule(t, _lots(x, parent.qty, self.lot), self.name)


@dataclass(frozen=True)
class POV:
    """Percentage of volume: at each release ``tau_j`` the target is ``rate`` times the market
    volume printed in ``[start, tau_j)`` (trades strictly before the release: causal), capped at
    the parent quantity. If the window's volume does not suffice, a clean-up release at ``end``
    asks for the rest (``finish=True``; the executor crosses it). Market volume is the replayed
    tape, which does not contain our own fills.

    Attributes
    ----------
    rate : float
        Target share of the market volume, in (0, 1].
    finish : bool
        Add a clean-up release at ``end`` for what the volume did not allow.
    interval_s, lot, name
        As for :class:`TWAP`.
    """

    rate: float = 0.1
    interval_s: float = 10.0
    lot: float = 1.0
    finish: bool = True
    name: str = "POV"

    def schedule(self, parent: ParentOrder, trades: np.ndarray) -> ChildSchedule:
        """The child schedule of ``parent`` (``trades``: the replayed tape, where the rule needs it)."""
        if not 0 < self.rate <= 1:
            raise ValueError(f"rate must be in (0, 1], got {self.rate}")
        t = _grid(parent, int(round(self.interval_s * NS)))
        v = window_volume(trades["ts"], trades["size"], parent.start_ns, t)
        x = np.minimum(self.rate * v, parent.qty)
        if self.lot > 0:
            x = np.floor(x / self.lot + 1e-9) * self.lot
        x = np.maximum.accumulate(x)
        if self.finish and x[-1] < parent.qty:
            t = np.append(t, parent.end_ns)
            x = np.append(x, parent.qty)
        return ChildSchedule(t, x, self.name)


def _urgency(values: np.ndarray, kind: str, scale: float) -> np.ndarray:
    if kind == "prob":      # P(up) in [0, 1] -> 2p - 1
        return np.clip(2.0 * values - 1.0, -1.0, 1.0)
    if kind == "score":     # any score (e.g. OFI z-score) -> tanh(x / scale)
        return np.tanh(values / scale)
    raise ValueError(f"kind must be 'prob' or 'score', got {kind!r}")


@dataclass(frozen=True)
class Adaptive:
    """A base schedule bent by a signal.

    ``signal``: a ``pd.Series`` indexed by int64 ns (the time each value became known), e.g. a
    per-second P(up) (``kind="prob"``) or OFI z-score (``kind="score"``). At release ``tau_j`` the
    last value with index ``<= tau_j - lag_ns`` gives the price-direction forecast
    ``g in [-1, 1]`` and the urgency ``u_j = side * g`` (positive: the price is expected to move
    against the order). ``X_j = clip(B_j + D_j, X_{j-1}, Q)``, rounded down to lots, with the
    deviation ``D_j`` moving towards ``max_dev Q u_j`` by at most ``max_step Q`` per release
    (``None``: jump at once; a jump of ``max_dev Q`` in one child walks the book):
    ``|X_j - B_j| <= max_dev Q`` (plus one lot).

    Attributes
    ----------
    base : object
        The schedule that is bent (e.g. a :class:`TWAP`).
    signal : pandas.Series
        The forecast, indexed by int64 ns (when each value became known).
    kind : str
        ``"prob"`` (P(up), ``g = 2p - 1``) or ``"score"`` (``g = tanh(x / scale)``).
    max_dev : float
        Largest deviation from the base, as a share of the parent quantity (in [0, 1]).
    scale : float
        Scale of a ``"score"`` signal.
    lag_ns : int
        Use only values known ``lag_ns`` before each release (ns).
    max_step : float or None
        Largest change of the deviation per release, share of the parent (None: at once).
    lot, name
        As for :class:`TWAP`.
    """

    base: object
    signal: pd.Series
    kind: str = "score"
    max_dev: float = 0.1
    scale: float = 1.0
    lag_ns: int = 0
    max_step: float | None = None
    lot: float = 1.0
    name: str = "Adaptive"

    def schedule(self, parent: ParentOrder, trades: np.ndarray | None = None) -> ChildSchedule:
        """The child schedule of ``parent`` (``trades``: the replayed tape, where the rule needs it)."""
        if not 0 <= self.max_dev <= 1:
            raise ValueError("max_dev must be in [0, 1]")
        b = self.base.schedule(parent, trades)
        idx = np.asarray(self.signal.index, dtype=np.int64)
        if (np.diff(idx) < 0).any():
            raise ValueError("signal index must be sorted")
        vals = np.asarray(self.signal.to_numpy(), dtype=np.float64)
        j = np.searchsorted(idx, b.times - self.lag_ns, side="right") - 1
        g = np.where(j >= 0, vals[np.maximum(j, 0)], 0.0)
        u = parent.side * _urgency(np.nan_to_num(g, nan=0.5 if self.kind == "prob" else 0.0),
                                   self.kind, self.scale)
        dev = self.max_dev * parent.qty * u
        if self.max_step is not None:
            step, d = self.max_step * parent.qty, 0.0
            for i in range(len(dev)):
                d += min(max(dev[i] - d, -step), step)
                dev[i] = d
        raw = b.cum_qty + dev
        x = np.maximum.accumulate(np.clip(raw, 0.0, parent.qty))
        return ChildSchedule(b.times, _lots(x, parent.qty, self.lot), self.name)


def ofi_signal(events: np.ndarray, book: np.ndarray, window_s: float = 10.0, step_s: float = 1.0,
               z_window_s: float = 1800.0, min_periods: int = 60) -> pd.Series:
    """Causal per-``step_s`` trailing OFI z-score (a price-direction score for :class:`Adaptive`).

    ``OFI(t) = sum of e_n over events with ts in (t - window, t]`` (Cont, Kukanov & Stoikov 2014,
    eq. 10/12, level 1) on the grid ``t = first ts + k step``; ``z(t) = OFI(t) / std`` of the
    previous ``z_window_s`` of grid values (``t`` excluded). Index: int64 ns, the time the value is
    known. Positive: net buying pressure over the trailing window. OFI moves the mid over the
    *same* window (CKS eq. 3); what it says about the *next* move is small: on the course's data
    the correlation of 10-s OFI with the next bin's mid change is about 0.01 (chapter 2, exercise
    2.4), and an :class:`Adaptive` schedule driven by this score does not beat TWAP (chapter 8).

    Parameters
    ----------
    events : numpy.ndarray
        Events with an int64 ``ts`` field (ns), aligned with ``book``.
    book : numpy.ndarray
        LOBSTER-layout rows after each event (level 1 is used).
    window_s, step_s, z_window_s : float
        Trailing OFI window, grid step and the z-score's look-back (seconds).
    min_periods : int
        Grid values needed before a z-score is defined (NaN before).

    Returns
    -------
    pandas.Series
        ``ofi_z`` (dimensionless) indexed by grid time ``ts`` (int64 ns).

    References
    ----------
    Cont, Kukanov & Stoikov (2014), "The price impact of order book events", J. Financial
    Econometrics 12(1), eq. 10 and 12.

    Examples
    --------
    One event per second; the level-1 contributions are ``e = 0, +2, -7, +1, -1, +2`` (shares), so
    the 1 s OFI on the grid is ``2, -7, 1, -1, 2`` and ``z(3 s) = 1 / std(2, -7)``:

    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 5], [101, 3, 100, 7], [101, 3, 99, 4],
    ...                  [101, 2, 99, 4], [100, 1, 99, 4], [100, 1, 99, 6]])
    >>> ev = np.zeros(6, dtype=[("ts", "i8")])
    >>> ev["ts"] = np.arange(6) * NS
    >>> ofi_signal(ev, book, window_s=1, step_s=1, z_window_s=3, min_periods=2).round(4).tolist()
    [nan, nan, 0.1571, -0.2027, 0.4804]
    """
    from companion.flow.ofi import ofi_events_nb

    ts = np.asarray(events["ts"], dtype=np.int64)
    e = ofi_events_nb(np.ascontiguousarray(book, dtype=np.float64))
    c = np.concatenate([[0.0], np.cumsum(e)])
    step, win = int(round(step_s * NS)), int(round(window_s * NS))
    grid = np.arange(ts[0] + step, ts[-1] + 1, step, dtype=np.int64)
    ofi = c[np.searchsorted(ts, grid, side="right")] - c[np.searchsorted(ts, grid - win, side="right")]
    s = pd.Series(ofi, index=pd.Index(grid, name="ts"), name="ofi")
    sd = s.rolling(int(round(z_window_s / step_s)), min_periods=min_periods).std().shift(1)
    return (s / sd).rename("ofi_z")
