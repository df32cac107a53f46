"""Live metrics: per-stage latency samples (ns) with percentiles and histograms, counters, a status line.

:class:`LatencyRecorder` keeps every sample of every stage in a growable int64 buffer (8 bytes per
sample: a day of 400k events x 8 stages is 26 MB), so percentiles are exact, not bucketed:
``p50`` / ``p99`` are ``numpy.percentile`` (linear interpolation) of the recorded samples.
:meth:`LatencyRecorder.histogram` bins them on a log scale for the plots.

:class:`StatusLine` prints one throttled line (``\\r``-rewritten) to stderr while the executor runs;
off by default (tests and notebooks keep stderr clean).

The stages inside one compiled call are stamped with the CPU's cycle counter
(:func:`companion.cycles.cycles_nb`, calibrated by :func:`companion.cycles.ns_per_cycle`).
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from typing import TextIO

import numpy as np

__all__ = ["LatencyRecorder", "StatusLine", "LiveSummary", "le", "sum_p99", "STAGES"]

#: latency stages the live executor records per chunk (``tick_to_decision`` = book + features +
#: model + signal + strategy: from the chunk's arrival in the loop to the orders it causes; the
#: journal's writes, including the write-ahead record of each order made between its decision and
#: its send, are the ``journal`` stage). ``features`` / ``model`` / ``signal`` / the venue +
#: strategy part are stamped inside the compiled call with :func:`companion.cycles.cycles_nb`; ``book`` is the rest
#: of that call (the Python call itself, unboxing, the chunk's copy, the book update, the return);
#: ``strategy`` = appending the chunk to the venue + the venue / strategy loop (inside the call) +
#: the Python bookkeeping of new orders and any return to Python (``benchmarks/bench_live.py``)
STAGES = ("book", "features", "model", "signal", "strategy", "journal", "tick_to_decision")


class LatencyRecorder:
    """Samples (ns) per named stage.

    >>> rec = LatencyRecorder(["book", "signal"])
    >>> rec.record("book", 1200); rec.record("book", 800)
    >>> float(rec.summary()["book"]["p50_us"])
    1.0
    """

    def __init__(self, stages: list[str], capacity: int = 1 << 14):
        self.stages = list(stages)
        self._buf = {s: np.zeros(capacity, dtype=np.int64) for s in self.stages}
        self._n = dict.fromkeys(self.stages, 0)

    def record(self, stage: str, ns: int) -> None:
        """Add one sample of ``stage`` (ns)."""
        n = self._n[stage]
        buf = self._buf[stage]
        if n == buf.size:
            buf = self._buf[stage] = np.concatenate([buf, np.zeros(buf.size, dtype=np.int64)])
        buf[n] = ns
        self._n[stage] = n + 1

    def record_chunk(self, t0: int, t1: int, t5: int, stamps, ns_per_cycle: float, venue_ns: int, journal_ns: int,
                     model: bool) -> None:
        """Record one chunk's :data:`STAGES` (but ``journal``) from its wall-clock marks (ns: ``t0``
        arrival, ``t1`` after the compiled call, ``t5`` after the strategy) and the front kernel's
        cycle stamps ``stamps = (book, features, model, signal)``: ``features`` / ``model`` /
        ``signal`` = stamp differences x ``ns_per_cycle`` (``features`` / ``model`` only for a
        ``model`` front); ``book`` = ``t1 - t0`` minus those and ``venue_ns`` (the venue + strategy
        part of the call); ``strategy`` = ``t5 - t1 + venue_ns - journal_ns``; ``tick_to_decision``
        = ``t5 - t0 - journal_ns`` (``journal_ns``: write-ahead records made in between).

        Examples
        --------
        >>> rec = LatencyRecorder(list(STAGES))
        >>> rec.record_chunk(0, 5000, 9000, (0, 100, 300, 400), 1.0, 1000, 500, model=True)
        >>> [int(rec.samples(s)[0]) for s in ("book", "features", "model", "signal", "strategy", "tick_to_decision")]
        [3600, 100, 200, 100, 4500, 8500]
        """
        c0, c1, c2, c3 = stamps
        f_ns, m_ns, s_ns = int((c1 - c0) * ns_per_cycle), int((c2 - c1) * ns_per_cycle), int((c3 - c2) * ns_per_cycle)
        self.record("book", t1 - t0 - f_ns - m_ns - s_ns - venue_ns)
        if model:
            self.record("features", f_ns)
            self.record("model", m_ns)
        self.record("signal", s_ns)
        self.record("strategy", t5 - t1 + venue_ns - journal_ns)
        self.record("tick_to_decision", t5 - t0 - journal_ns)

    def samples(self, stage: str) -> np.ndarray:
        """The samples of ``stage`` (ns), a view in recording order."""
        return self._buf[stage][: self._n[stage]]

    def count(self, stage: str) -> int:
        """Number of samples recorded for ``stage``."""
        return self._n[stage]

    def percentile(self, stage: str, q: float) -> float:
        """``q``-th percentile (0-100) of ``stage`` in ns (nan without samples)."""
        s = self.samples(stage)
        return float(np.percentile(s, q)) if s.size else float("nan")

    def summary(self) -> dict:
        """``{stage: {n, p50_us, p99_us, mean_us, max_us}}`` (µs, rounded to 0.01)."""
        out = {}
        for st in self.stages:
            s = self.samples(st)
            if s.size == 0:
                out[st] = {"n": 0, "p50_us": None, "p99_us": None, "mean_us": None, "max_us": None}
                continue
            p50, p99 = np.percentile(s, [50, 99])
            out[st] = {"n": int(s.size), "p50_us": round(p50 / 1e3, 2), "p99_us": round(p99 / 1e3, 2),
                       "mean_us": round(float(s.mean()) / 1e3, 2), "max_us": round(float(s.max()) / 1e3, 2)}
        return out

    def histogram(self, stage: str, bins_per_decade: int = 10, lo_ns: float = 100.0,
                  hi_ns: float = 1e7) -> tuple[np.ndarray, np.ndarray]:
        """``(counts, edges_ns)`` on log-spaced edges from ``lo_ns`` to ``hi_ns`` (samples outside are
        clipped into the end bins)."""
        n_dec = np.log10(hi_ns / lo_ns)
        edges = np.logspace(np.log10(lo_ns), np.log10(hi_ns), int(round(n_dec * bins_per_decade)) + 1)
        s = np.clip(self.samples(stage).astype(np.float64), edges[0], edges[-1] * (1 - 1e-12))
        counts, _ = np.histogram(s, bins=edges)
        return counts, edges


class StatusLine:
    """A one-line live status on ``stream`` (default stderr), rewritten at most every ``interval_s``."""

    def __init__(self, enabled: bool = True, interval_s: float = 1.0, stream: TextIO | None = None):
        self.enabled = bool(enabled)
        self.interval_s = float(interval_s)
        self.stream = stream
        self._last = 0.0
        self._shown = False

    def due(self) -> bool:
        """Time for a new line? (cheap: call it every event)."""
        return self.enabled and time.monotonic() - self._last >= self.interval_s

    def show(self, text: str) -> None:
        """Overwrite the status line with ``text`` (at most 160 characters)."""
        s = self.stream or sys.stderr
        s.write("\r" + text[:160].ljust(100))
        s.flush()
        self._last = time.monotonic()
        self._shown = True

    def close(self) -> None:
        """End the status line (a newline, once something was shown)."""
        if self._shown:
            s = self.stream or sys.stderr
            s.write("\n")
            s.flush()
            self._shown = False


@dataclass
class LiveSummary:
    """What a run did. Money in currency; latency in µs per stage (``{n, p50_us, p99_us, mean_us, max_us}``).

    Attributes
    ----------
    events, chunks : int
        Market events and feed chunks processed.
    wakeups : int
        Strategy wake-ups (calls of the strategy kernel).
    orders, fills : int
        Orders submitted and fills received on the venue.
    risk_events : int
        Risk-check rejections and halts recorded.
    position : float
        Final position (instrument size units).
    cash : float
        Final cash of the run (currency).
    pnl : float
        Cash plus the position marked at the last mid (currency).
    fees : float
        Fees paid (currency).
    killed : str or None
        The kill-switch reason (``"MAX_LOSS"``, ``"FEED_ERROR"``, ...) when the run was killed.
    stopped_early : bool
        True when the loop ended before the feed did (stop requested, kill, error).
    resumed_from : int or None
        The journal checkpoint (event sequence number) a recovered run resumed after.
    checkpoint : int or None
        The last journal checkpoint written (event sequence number).
    reconciled : bool or None
        Whether the journal's position and cash match the venue's at the end (None without a
        journal).
    elapsed_s : float
        Wall time of the run (s).
    events_per_s : float
        Events per second of wall time, warm-up excluded.
    warmup_chunks : int
        Chunks counted as warm-up (see ``warmup_s``).
    latency : dict
        Per-stage latency summary, ``{stage: {n, p50_us, p99_us, mean_us, max_us}}``.
    targets_met : dict
        ``{"signal_us": bool, "features_model_us": bool or None}``: whether the p99 latencies
        met the configured targets (None: not applicable, e.g. no model).

    Examples
    --------
    >>> LiveSummary(events=3, position=1.0).to_dict()["events"]
    3
    """

    events: int = 0
    chunks: int = 0
    wakeups: int = 0
    orders: int = 0
    fills: int = 0
    risk_events: int = 0
    position: float = 0.0
    cash: float = 0.0
    pnl: float = 0.0
    fees: float = 0.0
    killed: str | None = None
    stopped_early: bool = False
    resumed_from: int | None = None
    checkpoint: int | None = None
    reconciled: bool | None = None
    elapsed_s: float = 0.0
    events_per_s: float = 0.0
    #: wall time of the warm-up chunks (the first chunk of a run and the first through the one-call
    #: path: numba compiles or loads the kernels there); left out of the latency histograms and of
    #: ``events_per_s`` (which is events / (elapsed - warm-up))
    warmup_s: float = 0.0
    warmup_chunks: int = 0
    latency: dict = field(default_factory=dict)
    targets_met: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """The summary as a plain dict (JSON-ready)."""
        return asdict(self)

    def finish(self, venue, *, events: int, wakeups: int, ended: bool, last_mid: float, price_scale: float,
               elapsed_s: float, latency: dict, signal_us: float, features_model_us: float | None = None):
        """Fill the end-of-run fields from the venue (a ``PaperVenue``: orders, fills, position,
        cash, and the P&L = :meth:`~companion.live.venue.PaperVenue.equity` at ``last_mid``, in
        currency = price units / ``price_scale``), the counts, the elapsed wall time
        (``events_per_s`` = events / (elapsed - warm-up)), the latency summary
        (:meth:`LatencyRecorder.summary`) and ``targets_met``: tick-to-decision p99 <= ``signal_us``,
        features + model p99 <= ``features_model_us`` (None: not applicable, no model). Returns self.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> v = SimpleNamespace(n_orders=2, n_fills=1, position=1.0, cash=-100.0, equity=lambda mid: -100.0 + mid)
        >>> lat = {"tick_to_decision": {"p99_us": 12.0}}
        >>> s = LiveSummary(warmup_s=1.0).finish(v, events=10, wakeups=4, ended=True, last_mid=101.0,
        ...                                      price_scale=1.0, elapsed_s=3.0, latency=lat, signal_us=20.0)
        >>> s.pnl, s.events_per_s, s.targets_met
        (1.0, 5.0, {'signal_us': True, 'features_model_us': None})
        """
        self.wakeups, self.stopped_early, self.events = int(wakeups), not ended, int(events)
        self.orders, self.fills, self.position = venue.n_orders, venue.n_fills, venue.position
        self.cash = venue.cash / price_scale
        self.pnl = venue.equity(last_mid) / price_scale
        self.elapsed_s = elapsed_s
        busy = elapsed_s - self.warmup_s
        self.events_per_s = events / busy if busy > 0 else float("nan")
        self.latency = latency
        self.targets_met = {
            "signal_us": le(latency["tick_to_decision"]["p99_us"], signal_us),
            "features_model_us": (None if features_model_us is None
                                  else le(sum_p99(latency, ("features", "model")), features_model_us))}
        return self


def le(x, target) -> bool | None:
    """``x <= target`` (None when ``x`` is None: not measured).

    Examples
    --------
    >>> le(12.0, 20.0), le(None, 20.0)
    (True, None)
    """
    return None if x is None else bool(x <= target)


def sum_p99(lat: dict, stages) -> float | None:
    """Sum of the p99s (us) of ``stages`` in a latency summary (None when one is missing).

    Examples
    --------
    >>> sum_p99({"features": {"p99_us": 3.0}, "model": {"p99_us": 1.5}}, ("features", "model"))
    4.5
    """
    vals = [lat[s]["p99_us"] for s in stages]
    return None if any(x is None for x in vals) else float(sum(vals))
