"""Sample grids: when the feature state machines emit a row.

* **clock grid** (``"1s"``, ``"250ms"``, a ``pd.Timedelta`` or int ns): samples at
  ``T_j = origin + j * step``; the value at ``T_j`` is the state after the last event with
  ``ts <= T_j``. A sample is emitted before the first event with ``ts > T_j`` (so a chunk that ends at
  ``ts = x`` leaves the samples ``T >= x`` pending: more events at ``x`` may follow), or by
  :meth:`Schedule.flush` when the caller knows no event with ``ts <= until`` is still to come.
* **event grid** (``"events"`` or ``"events:N"``): a sample after every N-th event, at its timestamp.

:class:`Schedule` turns a chunk of timestamps into ``(samp_t, samp_pos)``: sample ``j`` is emitted
before event ``samp_pos[j]`` of the chunk (``len(chunk)``: after the last one). All kernels follow
the same schedule, so all groups emit the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

_NO_END = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Grid:
    """``kind`` = ``"clock"`` (``step_ns``) or ``"events"`` (``every``).

    Attributes
    ----------
    kind : str
        ``"clock"`` or ``"events"``.
    step_ns : int
        Step of a clock grid (ns; 0 for an event grid).
    every : int
        Sample every this many events (0 for a clock grid).

    Examples
    --------
    >>> Grid("clock", step_ns=10**9), Grid("events", every=100)
    (Grid(kind='clock', step_ns=1000000000, every=0), Grid(kind='events', step_ns=0, every=100))
    """

    kind: str
    step_ns: int = 0
    every: int = 0


def parse_grid(grid) -> Grid:
    """``"1s"`` / ``pd.Timedelta`` / int ns -> clock grid; ``"events"`` / ``"events:N"`` -> event grid.

    Examples
    --------
    >>> parse_grid("1s"), parse_grid("events:50")
    (Grid(kind='clock', step_ns=1000000000, every=0), Grid(kind='events', step_ns=0, every=50))
    """
    if isinstance(grid, Grid):
        return grid
    if isinstance(grid, str) and grid.startswith("event"):
        every = int(grid.split(":", 1)[1]) if ":" in grid else 1
        if every < 1:
            raise ValueError(f"event grid needs N >= 1, got {grid!r}")
        return Grid("events", every=every)
    step = int(grid) if isinstance(grid, (int, np.integer)) else int(pd.Timedelta(grid).value)
    if step <= 0:
        raise ValueError(f"grid step must be positive, got {grid!r}")
    return Grid("clock", step_ns=step)


class Schedule:
    """Emission schedule of one feature engine (state: next clock sample / events seen so far).

    ``origin``: first clock sample (session open); ``end``: last allowed sample time (inclusive).

    Examples
    --------
    >>> import numpy as np
    >>> s = Schedule(parse_grid("1s"), origin=0)
    >>> t, pos = s.chunk(np.array([0, 400_000_000, 1_500_000_000, 2_100_000_000]))
    >>> t.tolist(), pos.tolist()          # samples at 0 s, 1 s, 2 s (before the last event) and their book rows
    ([0, 1000000000, 2000000000], [1, 2, 3])
    >>> s.flush(3 * 10**9).tolist()
    [3000000000]
    """

    def __init__(self, grid: Grid, origin: int, end: int | None = None):
        self.grid = grid
        self.next_t = int(origin)
        self.end = _NO_END if end is None else int(end)
        self.seen = 0           # events consumed so far
        self.last_ts = None     # timestamp of the last event consumed
        self.flushed_to = None  # a flush promised no more events with ts <= this

    def check(self, ts: np.ndarray) -> None:
        """Timestamps must be non-decreasing, also across chunks and after a flush."""
        if ts.size == 0:
            return
        if np.any(np.diff(ts) < 0):
            raise ValueError("event timestamps must be non-decreasing")
        if self.last_ts is not None and ts[0] < self.last_ts:
            raise ValueError(f"chunk starts at ts={int(ts[0])}, before the last event seen ({self.last_ts})")
        if self.flushed_to is not None and ts[0] <= self.flushed_to:
            raise ValueError(f"chunk has ts={int(ts[0])} <= {self.flushed_to}, already flushed")

    def chunk(self, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Samples emitted while consuming the chunk ``ts`` -> ``(samp_t, samp_pos)``; advances the state."""
        n = ts.size
        if n == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        if self.grid.kind == "events":
            e = self.grid.every
            first = (e - 1 - self.seen % e)
            idx = np.arange(first, n, e, dtype=np.int64)
            self.seen += n
            self.last_ts = int(ts[-1])
            return np.ascontiguousarray(ts[idx], dtype=np.int64), idx + 1
        step = self.grid.step_ns
        hi = min(int(ts[-1]) - 1, self.end)  # samples strictly before the last event's ts
        if hi < self.next_t:
            t = np.empty(0, np.int64)
        else:
            t = self.next_t + step * np.arange((hi - self.next_t) // step + 1, dtype=np.int64)
            self.next_t = int(t[-1]) + step
        pos = np.searchsorted(ts, t, side="right").astype(np.int64)
        self.seen += n
        self.last_ts = int(ts[-1])
        return t, pos

    def flush(self, until: int) -> np.ndarray:
        """Clock samples ``T <= until`` not yet emitted (the caller promises no event with ts <= until
        is still to come); none for an event grid."""
        until = int(until)
        if self.last_ts is not None and until < self.last_ts:
            raise ValueError(f"flush({until}) is before the last event seen ({self.last_ts})")
        self.flushed_to = until if self.flushed_to is None else max(self.flushed_to, until)
        if self.grid.kind == "events":
            return np.empty(0, np.int64)
        hi = min(until, self.end)
        if hi < self.next_t:
            return np.empty(0, np.int64)
        step = self.grid.step_ns
        t = self.next_t + step * np.arange((hi - self.next_t) // step + 1, dtype=np.int64)
        self.next_t = int(t[-1]) + step
        return t
