"""Causal feature library: a registry of named features computed by numba state machines.

* :func:`registry` -- ``{name: FeatureSpec}`` of every feature (formula, window, unit, reference, group);
* :class:`FeatureEngine` -- the streaming engine: ``update(events_chunk, book_chunk)`` returns the
  feature rows of the samples that the chunk completes, ``flush(until_ns)`` / ``finish()`` the rest;
* :func:`compute` -- the batch call, one engine over the whole day -> DataFrame indexed by sample time.

Batch and streaming are the same code: :func:`compute` is one :meth:`FeatureEngine.update` over the
day, the live executor calls it chunk by chunk (or event by event) and gets bit-identical values.
Every value at a sample time ``T`` depends only on the events with ``ts <= T`` (tested by perturbing
the future in ``tests/test_features_causal.py``). Windows and sampling: ``companion.features.kernels``
and ``companion.features.sampling``.

Inputs: ``events`` (:data:`companion.events.EVENT_DTYPE`, non-decreasing ``ts``) and ``book`` =
:func:`companion.book.replay` (or a LOBSTER orderbook file): row ``i`` is the book after event ``i``,
float64 ``(n, 4L)`` LOBSTER layout; features of levels beyond ``L`` are NaN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from companion.events import NS, Dataset, Instrument, as_dataset, duration_ns, time_index
from companion.features import kernels as K
from companion.features.sampling import Grid, Schedule, parse_grid
from companion.features.spec import GROUPS, SPECS, FeatureSpec

__all__ = ["FeatureSpec", "FeatureConfig", "FeatureEngine", "registry", "feature_names", "compute", "Grid",
           "parse_grid", "WINDOWS_NS"]

#: the trailing clock windows used by the registered features
WINDOWS_NS = {"1s": NS, "10s": 10 * NS, "1min": 60 * NS, "5min": 300 * NS}


def registry() -> dict[str, FeatureSpec]:
    """Every registered feature, ``{name: spec}``, in column order.

    Returns
    -------
    dict
        ``{name: FeatureSpec}``; each spec carries the feature's ``formula``, trailing ``window``, ``unit``, literature
        ``reference`` and ``group`` (:mod:`companion.features.spec`).

    Examples
    --------
    >>> spec = registry()["ofi_10s"]
    >>> spec.window, spec.unit, spec.group
    ('10s', 'shares', 'ofi')
    >>> spec.reference
    'Cont, Kukanov & Stoikov (2014), J. Financial Econometrics 12(1), eq. 10'
    """
    return {s.name: s for s in SPECS}


def feature_names(group: str | None = None) -> list[str]:
    """Names of the registered features (of one group), in column order.

    Parameters
    ----------
    group : str, optional
        One of :data:`companion.features.spec.GROUPS` (``"ofi"``, ``"imbalance"``, ``"book"``,
        ``"trades"``, ``"queue"``, ``"volatility"``, ``"vpin"``, ``"time"``); None for all.

    Returns
    -------
    list of str

    Examples
    --------
    >>> feature_names("time")
    ['tod_frac', 'tod_sin', 'tod_cos']
    >>> feature_names()[:2], len(feature_names()) == len(registry())
    (['ofi_1s', 'ofi_10s'], True)
    """
    return [s.name for s in SPECS if group is None or s.group == group]


@dataclass(frozen=True)
class FeatureConfig:
    """Parameters fixed before the data are seen (anything estimated from the day would look ahead).

    bin: base bin of the trailing windows and of the realised-volatility returns (default 1 s, or
        ``gcd(step, 1 s)`` for a clock grid whose step is not a multiple of 1 s); every window and
        the grid step must be multiples of it. large_trade_size: size (shares) from which a trade is
        large. vpin_bucket_volume: VPIN bucket volume V (take the previous day's volume / 50;
        default 50,000 ~ the synthetic day's volume / 50). vpin_buckets: n. tick: tick in price
        units (default: the instrument's, else 1).

    Attributes
    ----------
    bin : str or int or None
        Base bin of the trailing windows and of the realised-volatility returns (a pandas
        duration or ns; None: 1 s or ``gcd(step, 1 s)``).
    large_trade_size : float
        Size (shares) from which a trade is large.
    vpin_bucket_volume : float
        VPIN bucket volume ``V`` (shares; fixed before the day, e.g. the previous day's / 50).
    vpin_buckets : int
        VPIN window ``n`` (buckets).
    tick : float or None
        Tick in price units (None: the instrument's, else 1).
    """

    bin: str | int | None = None
    large_trade_size: float = 500.0
    vpin_bucket_volume: float = 50_000.0
    vpin_buckets: int = 50
    tick: float | None = None


class _Group:
    """One feature group: its kernel and its state arrays."""

    def __init__(self, name: str, t0: int, b: int, tick: float, cfg: FeatureConfig):
        self.name = name
        self.nf = len(feature_names(name))
        self.t0, self.b, self.tick = int(t0), int(b), float(tick)
        wb = {k: v // b for k, v in WINDOWS_NS.items()}
        R = wb["5min"] + 1
        if name in K.STATE_LAYOUTS:
            sf, si = K.STATE_LAYOUTS[name]
            self.sf, self.si = np.zeros(sf.size), np.zeros(si.size, np.int64)
        if name == "ofi":
            self.wb = np.array([wb["1s"], wb["10s"], wb["1min"], wb["5min"]], np.int64)
            self.ring = np.zeros((K.OFI_NQ, R))
        elif name == "imbalance":
            self.orders, self.counts = K.new_order_maps()
        elif name == "book":
            self.m_z = wb["5min"]
            self.ring = np.zeros((1, R))
        elif name == "trades":
            self.wb = np.array([wb["10s"], wb["1min"], wb["5min"]], np.int64)
            self.ring = np.zeros((K.TR_NQ, R))
            self.large = float(cfg.large_trade_size)
        elif name == "queue":
            self.wb = np.array([wb["10s"], wb["1min"]], np.int64)
            self.ring = np.zeros((K.Q_NQ, R))
        elif name == "volatility":
            self.wb = np.array([wb["10s"], wb["1min"], wb["5min"]], np.int64)
            self.ring = np.zeros((4, R))
        elif name == "vpin":
            self.V = float(cfg.vpin_bucket_volume)
            self.nb = int(cfg.vpin_buckets)
            if self.V <= 0 or self.nb < 1:
                raise ValueError("vpin_bucket_volume must be > 0 and vpin_buckets >= 1")
            self.ring = np.zeros((2, self.nb))
        elif name != "time":
            raise ValueError(f"unknown feature group {name!r}")

    def run(self, c: dict, book: np.ndarray, st: np.ndarray, sp: np.ndarray, session: tuple[int, int]) -> np.ndarray:
        out = np.empty((st.size, self.nf))
        n = self.name
        if n == "ofi":
            K.ofi_update_nb(c["ts"], book, st, sp, self.t0, self.b, self.wb, self.sf, self.si, self.ring, out)
        elif n == "imbalance":
            K.imbalance_update_nb(c["kind"], c["side"], c["price"], c["size"], c["order_id"], book, sp, self.sf,
                                  self.si, self.orders, self.counts, self.tick, out)
        elif n == "book":
            K.book_update_nb(c["ts"], book, st, sp, self.t0, self.b, self.m_z, self.sf, self.si, self.ring,
                             self.tick, out, -1)
        elif n == "trades":
            K.trades_update_nb(c["ts"], c["kind"], c["side"], c["price"], c["size"], book, st, sp, self.t0, self.b,
                               self.wb, self.sf, self.si, self.ring, self.tick, self.large, out)
        elif n == "queue":
            K.queue_update_nb(c["ts"], c["kind"], c["side"], c["price"], book, st, sp, self.t0, self.b, self.wb,
                              self.b / NS, self.sf, self.si, self.ring, out)
        elif n == "volatility":
            K.volatility_update_nb(c["ts"], book, st, sp, self.t0, self.b, self.wb, self.sf, self.si, self.ring, out,
                                   -1)
        elif n == "vpin":
            K.vpin_update_nb(c["kind"], c["side"], c["price"], c["size"], sp, self.V, self.nb, self.sf, self.si,
                             self.ring, out)
        else:
            K.time_of_day_nb(st, session[0], session[1], out)
        return out


_EMPTY_BOOK_COLS = 40


class FeatureEngine:
    """Streaming feature engine (the batch path is one :meth:`update` over the day + :meth:`finish`).

    Parameters
    ----------
    instrument : companion.events.Instrument, companion.events.Dataset or None
        Tick and session (open = grid origin, close = last sample; a dataset gives its
        instrument); None: tick 1, origin = the first event's time floored to the grid step, no
        last sample.
    grid : str or int
        ``"1s"`` (clock step; any ``pd.Timedelta`` string or int ns) or ``"events[:N]"``.
    features : list[str] or None
        Names to return (default: all registered); only their groups are run.
    config : FeatureConfig or None
        The feature configuration (:class:`FeatureConfig`).
    start_ns, end_ns : int or None
        Override the grid origin / last sample.
    """

    def __init__(self, instrument: Instrument | None = None, grid="1s", features: list[str] | None = None,
                 config: FeatureConfig | None = None, start_ns: int | None = None, end_ns: int | None = None):
        if isinstance(instrument, Dataset):
            instrument = instrument.instrument
        self.instrument = instrument
        self.grid = parse_grid(grid)
        self.config = config or FeatureConfig()
        reg = registry()
        self.features = list(reg) if features is None else list(features)
        unknown = [f for f in self.features if f not in reg]
        if unknown:
            raise KeyError(f"unknown features {unknown}; see companion.features.registry()")
        self.groups = [g for g in GROUPS if any(reg[f].group == g for f in self.features)]
        cols = [f for g in self.groups for f in feature_names(g)]
        self._select = np.array([cols.index(f) for f in self.features], dtype=np.int64)
        self.tick = float(self.config.tick if self.config.tick is not None
                          else (instrument.tick if instrument is not None else 1.0))
        has_session = instrument is not None and instrument.session_close_ns > instrument.session_open_ns
        self.session = (int(instrument.session_open_ns), int(instrument.session_close_ns)) if has_session else (0, 0)
        self.start_ns = start_ns if start_ns is not None else (self.session[0] if has_session else None)
        self.end_ns = end_ns if end_ns is not None else (self.session[1] if has_session else None)
        step = self.grid.step_ns if self.grid.kind == "clock" else NS
        self.bin_ns = duration_ns(self.config.bin) if self.config.bin is not None else math.gcd(step, NS)
        bad = [w for w, v in WINDOWS_NS.items() if v % self.bin_ns]
        if bad or (self.grid.kind == "clock" and self.grid.step_ns % self.bin_ns):
            raise ValueError(f"bin {self.bin_ns} ns must divide the windows {list(WINDOWS_NS)} and the grid step")
        self._sched: Schedule | None = None
        self._groups: list[_Group] = []
        if self.start_ns is not None:
            self._start(int(self.start_ns))

    def _start(self, origin: int) -> None:
        self._sched = Schedule(self.grid, origin, self.end_ns)
        self._groups = [_Group(g, origin, self.bin_ns, self.tick, self.config) for g in self.groups]
        self._levels = None

    # ---- the engine's state, for a compiled driver (the live front, companion.streaming)
    def start(self, origin: int) -> None:
        """Start the sample schedule and the groups' state at ``origin`` (ns) if not started yet
        (:meth:`update_arrays` does it at the first chunk: the first event's time floored to the step)."""
        if self._sched is None:
            self._start(int(origin))

    @property
    def schedule(self) -> Schedule | None:
        """The sample schedule (``companion.features.sampling.Schedule``; None before the start)."""
        return self._sched

    @property
    def group_states(self) -> list:
        """The feature groups' states in run order (each with ``name``, ``nf`` and its state arrays)."""
        return self._groups

    @property
    def selection(self) -> np.ndarray:
        """Index of each requested feature in the concatenated group outputs (int64)."""
        return self._select

    @property
    def columns(self) -> list[str]:
        """The feature names, in output column order."""
        return list(self.features)

    def update_arrays(self, events: np.ndarray, book: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Consume a chunk -> ``(sample times (int64 ns), values (n_samples, n_features))``."""
        ts = np.ascontiguousarray(events["ts"], dtype=np.int64)
        book = np.ascontiguousarray(book, dtype=np.float64)
        if book.ndim != 2 or book.shape[0] != ts.size or book.shape[1] % 4:
            raise ValueError(f"book must be ({ts.size}, 4L), got {book.shape}")
        if self._sched is None:
            if ts.size == 0:
                return np.empty(0, np.int64), np.empty((0, len(self.features)))
            step = self.grid.step_ns if self.grid.kind == "clock" else NS
            self._start(int(ts[0]) // step * step)
        if self._levels is None and ts.size:
            self._levels = book.shape[1]
        elif ts.size and book.shape[1] != self._levels:
            raise ValueError(f"book has {book.shape[1] // 4} levels, earlier chunks {self._levels // 4}")
        self._sched.check(ts)
        st, sp = self._sched.chunk(ts)
        cols = {"ts": ts}
        for f in ("kind", "side", "price", "size", "order_id"):
            cols[f] = np.ascontiguousarray(events[f])
        return st, self._run(cols, book, st, sp)

    def _run(self, cols, book, st, sp) -> np.ndarray:
        parts = [g.run(cols, book, st, sp, self.session) for g in self._groups]
        vals = np.concatenate(parts, axis=1) if parts else np.empty((st.size, 0))
        return vals[:, self._select]

    def flush_arrays(self, until_ns: int) -> tuple[np.ndarray, np.ndarray]:
        """Emit the clock samples ``T <= until_ns`` (promise: no event with ``ts <= until_ns`` will follow)."""
        if self._sched is None:
            return np.empty(0, np.int64), np.empty((0, len(self.features)))
        st = self._sched.flush(until_ns)
        L4 = self._levels or _EMPTY_BOOK_COLS
        empty = {"ts": np.empty(0, np.int64), "kind": np.empty(0, np.int8), "side": np.empty(0, np.int8),
                 "price": np.empty(0, np.int64), "size": np.empty(0, np.float64), "order_id": np.empty(0, np.int64)}
        return st, self._run(empty, np.empty((0, L4)), st, np.zeros(st.size, np.int64))

    def _frame(self, st: np.ndarray, vals: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(vals, columns=self.features, index=time_index(st, self.instrument))

    def update(self, events: np.ndarray, book: np.ndarray) -> pd.DataFrame:
        """:meth:`update_arrays` as a DataFrame indexed by sample time."""
        return self._frame(*self.update_arrays(events, book))

    def flush(self, until_ns: int) -> pd.DataFrame:
        """:meth:`flush_arrays` as a DataFrame."""
        return self._frame(*self.flush_arrays(until_ns))

    def finish(self) -> pd.DataFrame:
        """Emit the samples up to the session close (or the last event's time when none is known)."""
        if self._sched is None:
            return self._frame(np.empty(0, np.int64), np.empty((0, len(self.features))))
        until = self.end_ns if self.end_ns is not None else self._sched.last_ts
        if until is None:
            return self._frame(np.empty(0, np.int64), np.empty((0, len(self.features))))
        return self.flush(max(int(until), self._sched.last_ts or int(until)))


def compute(events, book: np.ndarray | None = None, instrument: Instrument | None = None, grid="1s",
            features: list[str] | None = None, config: FeatureConfig | None = None,
            start_ns: int | None = None, end_ns: int | None = None) -> pd.DataFrame:
    """All (or the named) features of a day on a sample grid -> DataFrame indexed by sample time.

    One :class:`FeatureEngine` update over the whole day, then the remaining samples up to the
    session close (or the last event). A value at sample time ``T`` uses only the events with
    ``ts <= T`` (causal). Formulas, units and references of the features: :func:`registry`.

    Parameters
    ----------
    events : companion.events.Dataset or numpy.ndarray
        A dataset (``companion.data.load``: events, book, instrument), or the
        :data:`~companion.events.EVENT_DTYPE` events, non-decreasing ``ts`` (ns).
    book : numpy.ndarray
        With events: float64 ``(n, 4L)`` LOBSTER layout, row ``i`` = the book after event ``i``
        (:func:`companion.book.replay`).
    instrument, grid, features, config, start_ns, end_ns
        See :class:`FeatureEngine`.

    Returns
    -------
    pandas.DataFrame
        One row per sample time (index: see :func:`companion.book.trades_frame`), one column per
        feature (in the unit of its spec; NaN until a window has data).

    Raises
    ------
    KeyError
        For an unknown feature name.

    Examples
    --------
    Ten-second samples of a one-minute synthetic day (the first, at the open, precedes every
    event, so its book features are NaN):

    >>> from companion import synth
    >>> cfg = synth.SynthConfig(session=(34200.0, 34260.0))
    >>> day = synth.simulate(seed=1, levels=5, config=cfg)
    >>> X = compute(synth.to_events(day.messages), day.orderbook, synth.instrument(cfg, 5), grid="10s",
    ...             features=["ofi_10s", "spread_ticks", "tod_frac"])
    >>> X.shape, str(X.index[0]), str(X.index[-1])
    ((7, 3), '2012-06-21 09:30:00', '2012-06-21 09:31:00')
    >>> bool(X["spread_ticks"].iloc[1:].ge(1).all()), X["tod_frac"].tolist()[::3]
    (True, [0.0, 0.5, 1.0])
    >>> data = Dataset(synth.to_events(day.messages), day.orderbook, synth.instrument(cfg, 5))
    >>> compute(data, grid="10s", features=["ofi_10s"]).equals(X[["ofi_10s"]])
    True
    """
    if not isinstance(events, np.ndarray):
        data = as_dataset(events)
        events, book, instrument = data.events, data.book, (data.instrument if instrument is None else instrument)
    eng = FeatureEngine(instrument, grid=grid, features=features, config=config, start_ns=start_ns, end_ns=end_ns)
    t1, v1 = eng.update_arrays(events, book)
    a = eng.finish()
    return pd.concat([eng._frame(t1, v1), a]) if len(a) else eng._frame(t1, v1)
