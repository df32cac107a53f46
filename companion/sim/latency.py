"""Latency models for the three channels of a backtest (hftbacktest's split):

* **feed**: exchange event -> strategy sees it, ``t_seen = max(ts, ts_local) + feed draw``;
* **order entry**: strategy sends at ``t`` -> the matching engine gets it at ``t + entry draw``;
* **response**: the engine acks / fills at ``t`` -> the strategy learns at ``t + response draw``.

Each channel is FIFO (like one TCP connection): a message never overtakes the one before it, so
a draw that would reorder is lifted to the previous message's time.

Models (all draws in int64 ns, all random draws from one seeded splitmix64 stream, so a run is
a pure function of its inputs and ``seed``):

==========================  =====  ===========================================================
model                       code   draw
==========================  =====  ===========================================================
:class:`ConstantLatency`    0      ``a``
:class:`EmpiricalLatency`   1      i.i.d. bootstrap from recorded samples
:class:`LognormalLatency`   2      ``median * exp(sigma * Z)``, Z ~ N(0, 1)
:class:`IntpLatency`        3      linear interpolation of a recorded ``(time, latency)`` table at
                                   the send time (hftbacktest ``IntpOrderLatency``)
==========================  =====  ===========================================================
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

LAT_CONSTANT, LAT_EMPIRICAL, LAT_LOGNORMAL, LAT_INTERP = 0, 1, 2, 3

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def splitmix64_nb(rng: np.ndarray) -> np.uint64:
    """Next 64-bit output of splitmix64 (Steele, Lea & Flood 2014); state in ``rng[0]``."""
    z = rng[0] + _GOLDEN
    rng[0] = z
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def uniform_nb(rng: np.ndarray) -> float:
    """U(0, 1) with 53 random bits, never exactly 0."""
    return ((splitmix64_nb(rng) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def normal_nb(rng: np.ndarray) -> float:
    """N(0, 1) by Box-Muller (one of the pair)."""
    u1 = uniform_nb(rng)
    u2 = uniform_nb(rng)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True)
def latency_draw_nb(mode: int, a: float, b: float, table: np.ndarray, t: int,
                    rng: np.ndarray) -> int:
    """One latency draw in ns (>= 0) for a message sent at ``t``; see the module table."""
    if mode == LAT_CONSTANT:
        v = a
    elif mode == LAT_EMPIRICAL:
        v = float(table[int(uniform_nb(rng) * table.shape[0]) % table.shape[0], 1])
    elif mode == LAT_LOGNORMAL:
        v = a * np.exp(b * normal_nb(rng))
    else:
        k = table.shape[0]
        if t <= table[0, 0]:
            v = float(table[0, 1])
        elif t >= table[k - 1, 0]:
            v = float(table[k - 1, 1])
        else:
            j = np.searchsorted(table[:, 0], t, side="right")
            t0, t1 = table[j - 1, 0], table[j, 0]
            w = (t - t0) / (t1 - t0)
            v = table[j - 1, 1] + w * (table[j, 1] - table[j - 1, 1])
    if v < 0.0:
        v = 0.0
    return int(np.round(v))


_EMPTY_TABLE = np.zeros((1, 2), dtype=np.int64)


@dataclass(frozen=True)
class ConstantLatency:
    """Fixed latency ``ns`` (hftbacktest ``ConstantLatency``).

    Attributes
    ----------
    ns : int
        The latency (ns, >= 0).
    """

    ns: int = 0

    def spec(self) -> tuple[list[float], np.ndarray]:
        """``([kind code, p1, p2], table)`` for the latency kernels; raises ValueError on bad values."""
        if self.ns < 0:
            raise ValueError("latency must be >= 0 ns")
        return [LAT_CONSTANT, float(self.ns), 0.0], _EMPTY_TABLE


@dataclass(frozen=True)
class EmpiricalLatency:
    """Bootstrap i.i.d. from recorded latencies ``samples_ns`` (e.g. measured round trips / 2).

    Attributes
    ----------
    samples_ns : tuple or numpy.ndarray
        The recorded latencies (ns, >= 0), drawn with replacement.
    """

    samples_ns: tuple | np.ndarray

    def spec(self):
        """``([kind code, p1, p2], table)`` for the latency kernels; raises ValueError on bad values."""
        s = np.asarray(self.samples_ns, dtype=np.int64)
        if s.size == 0 or (s < 0).any():
            raise ValueError("samples_ns must be a non-empty array of latencies >= 0")
        tab = np.zeros((s.size, 2), dtype=np.int64)
        tab[:, 1] = s
        return [LAT_EMPIRICAL, 0.0, 0.0], tab


@dataclass(frozen=True)
class LognormalLatency:
    """``median_ns * exp(sigma * Z)``: the right-skewed shape of measured network latencies.

    Attributes
    ----------
    median_ns : float
        The median latency (ns).
    sigma : float
        Standard deviation of the log latency.
    """

    median_ns: float
    sigma: float = 0.5

    def spec(self):
        """``([kind code, p1, p2], table)`` for the latency kernels; raises ValueError on bad values."""
        if self.median_ns < 0 or self.sigma < 0:
            raise ValueError("median_ns and sigma must be >= 0")
        return [LAT_LOGNORMAL, float(self.median_ns), float(self.sigma)], _EMPTY_TABLE


@dataclass(frozen=True)
class IntpLatency:
    """Latency interpolated in time from a recorded table (hftbacktest ``IntpOrderLatency``).

    ``times_ns`` increasing send times, ``latencies_ns`` the latency measured at each.

    Attributes
    ----------
    times_ns : tuple or numpy.ndarray
        Increasing send times (ns).
    latencies_ns : tuple or numpy.ndarray
        The latency measured at each (ns, >= 0).
    """

    times_ns: tuple | np.ndarray
    latencies_ns: tuple | np.ndarray

    def spec(self):
        """``([kind code, p1, p2], table)`` for the latency kernels; raises ValueError on bad values."""
        t = np.asarray(self.times_ns, dtype=np.int64)
        v = np.asarray(self.latencies_ns, dtype=np.int64)
        if t.size == 0 or t.shape != v.shape or (np.diff(t) <= 0).any() or (v < 0).any():
            raise ValueError("need increasing times_ns and latencies_ns >= 0 of equal length")
        return [LAT_INTERP, 0.0, 0.0], np.stack([t, v], axis=1)


def as_latency(x) -> ConstantLatency | EmpiricalLatency | LognormalLatency | IntpLatency:
    """An int (ns) means :class:`ConstantLatency`; a model passes through.

    Examples
    --------
    >>> as_latency(100_000)                                         # 100 us
    ConstantLatency(ns=100000)
    >>> m = LognormalLatency(median_ns=200_000, sigma=0.5)
    >>> as_latency(m) is m
    True
    """
    if isinstance(x, (int, np.integer)):
        return ConstantLatency(int(x))
    if hasattr(x, "spec"):
        return x
    raise TypeError(f"not a latency model: {x!r}")
