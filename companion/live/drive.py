"""The decision path of the live executor: paper venue + strategy in one compiled loop.

The public protocol of the stage: a state record (:class:`DriveState`, a numba ``StructRef``: the
paper venue's buffers and exchange state, the strategy's parameters and state, the signal code
buffers) and step kernels over it:

* :func:`drive_nb` / :func:`drive_state_nb`: the venue (:func:`companion.live.venue.paper_step_nb`)
  and ANY jitted strategy ``strategy(ctx, params, user_state)`` (called through
  :func:`companion.sim.kernels.wake_strategy_nb`, exactly as the backtest calls it) up to a time;
* :func:`live_chunk_nb`: one feed chunk from market data to the orders it causes, in one compiled
  call: the signal stage's step kernel (:func:`companion.streaming.front_chunk_nb`), the chunk
  appended to the venue, then :func:`drive_state_nb`.

The kernels that take the strategy are generic over it (a function-typed argument), so they are
compiled per strategy in each process (numba cannot cache them):
:meth:`companion.live.executor.LiveExecutor.warm_up` compiles them before a live feed connects.
The backtester's signal trader (``companion.backtest.strategies.signal_trader_nb``, the default
live strategy) also has cached specialisations (:func:`live_chunk_signal_nb`,
:func:`drive_state_signal_nb`), picked by :func:`chunk_kernels`.

:class:`LiveDrive` is the stage's Python side for the executor: the strategy (built on an empty
day), its parameters and state, the signal code buffers, the counters, the :class:`DriveState`
(rebuilt when a buffer grows) and the wake-up loop :meth:`LiveDrive.wakeups_until` (the compiled loop,
back in Python only to write each order ahead to the journal before it is sent, or to trip the
kill switch at a wake-up).
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.experimental import structref

from companion.backtest.strategies import signal_trader_nb
from companion.cycles import cycles_nb
from companion.events import EVENT_DTYPE
from companion.live.venue import NEED_DATA, append_events_nb, paper_step_nb
from companion.sim.kernels import C_HAS_IDS, I_NORD, WAKEUP, add_index_into_nb, wake_strategy_nb
from companion.sim.orders import ACT_SUBMIT
from companion.streaming import CYC_STRATEGY, CYC_TS, FRONT_OK, front_chunk_nb

__all__ = ["LiveDrive", "DriveState", "new_drive_state", "drive_nb", "drive_state_nb", "live_chunk_nb", "entry_point",
           "live_chunk_signal_nb", "drive_state_signal_nb", "drive_signal_nb", "front_append_nb", "chunk_kernels",
           "WAKE_ACTIONS", "K_WAKEUPS", "K_PENDING", "K_ORDERS", "K_SEND_NOW", "N_COUNTERS"]

WAKE_ACTIONS = 10  #: :func:`drive_nb`: the strategy acted; its actions wait in the buffer

#: slots of the executor's counters (int64, ``N_COUNTERS`` long) -- wake-ups so far; actions written and not sent yet
#: (after ``WAKE_ACTIONS``); the venue's order count (left by :func:`drive_state_nb`); 1 = send the
#: strategy's actions at once (no write-ahead journal), 0 = return them to Python first
K_WAKEUPS, K_PENDING, K_ORDERS, K_SEND_NOW = 0, 1, 2, 3
N_COUNTERS = 4



@njit(forceinline=True)
def drive_nb(strategy, mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_pending, params,
             user_state, counters):
    """Run the paper venue (:func:`companion.live.venue.paper_step_nb`) and ``strategy`` (a jitted
    ``strategy(ctx, params, user_state)``, :mod:`companion.sim.context`) in one compiled loop up to
    ``until``.

    Returns ``WAKE_ACTIONS`` (``counters[K_PENDING]`` actions written to ``actions``, not sent yet:
    the caller journals them and calls again with ``n_pending``) or the venue's code
    (``NEED_DATA`` / ``DONE`` / an error). ``counters[K_WAKEUPS]`` counts the wake-ups. With
    ``counters[K_SEND_NOW] == 1`` (nothing to write ahead: no journal) the actions are sent at
    once, without returning. Not cached (generic over ``strategy``).
    """
    n_act = n_pending
    while True:
        code = paper_step_nb(mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_act)
        if code != WAKEUP:
            return code
        counters[K_WAKEUPS] += 1
        n_act = wake_strategy_nb(strategy, mkt, st, out, actions, params, user_state)
        if n_act > 0 and counters[K_SEND_NOW] == 0:
            counters[K_PENDING] = n_act
            return WAKE_ACTIONS


@structref.register
class DriveStateType(types.StructRef):
    """Numba type of :class:`DriveState`."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class DriveState(structref.StructRefProxy):
    """The arguments of :func:`drive_nb` that do not change between chunks in one object (a call
    unboxes one pointer instead of ~30 arrays). Fields: ``mkt`` the venue's market buffers,
    ``cfg`` / ``lat`` / ``limits`` / ``vst`` / ``out`` / ``actions`` its exchange state
    (:class:`companion.sim.simulator.ExchangeState`), ``params`` / ``user_state`` the strategy's,
    ``counters`` the executor's (``K_*``), ``codes`` / ``values`` the signal buffers the front
    writes, ``v_oid`` / ``v_seen`` the venue's order-id column and streaming ADD index, ``v_par``
    ``[1 if the FIFO queue model reads the ADD index]``. Rebuilt when a buffer grows
    (:func:`new_drive_state`)."""


_DRIVE_FIELDS = ("mkt", "cfg", "lat", "limits", "vst", "out", "actions", "params", "user_state", "counters",
                 "codes", "values", "v_oid", "v_seen", "v_par")
structref.define_proxy(DriveState, DriveStateType, list(_DRIVE_FIELDS))


@njit(cache=True)
def _new_drive_nb(mkt, cfg, lat, limits, vst, out, actions, params, user_state, counters, codes, values, v_oid,
                  v_seen, v_par):
    return DriveState(mkt, cfg, lat, limits, vst, out, actions, params, user_state, counters, codes, values,
                      v_oid, v_seen, v_par)


def new_drive_state(venue, params, user_state, counters, codes, values) -> DriveState:
    """The :class:`DriveState` over a :class:`companion.live.venue.PaperVenue`'s current buffers.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.backtest import ExecutionConfig
    >>> from companion.events import Instrument
    >>> from companion.live.venue import PaperVenue
    >>> v = PaperVenue(Instrument("X", 1, 1), ExecutionConfig(), levels=1, capacity=8)
    >>> d = new_drive_state(v, np.zeros(1), np.zeros(1), np.zeros(N_COUNTERS, np.int64),
    ...                     np.zeros(8, np.int8), np.zeros(8))
    >>> type(d).__name__
    'DriveState'
    """
    x = venue.exchange
    return _new_drive_nb(venue.mkt, x.cfg, x.lat, x.limits, x.st, venue.out, venue.actions,
                         params, user_state, counters, codes, values, venue.order_ids, venue.seen_ids,
                         np.array([int(venue.fifo)], np.int64))


@njit(forceinline=True)
def drive_state_nb(strategy, d, n_known, final, until, n_pending):
    """:func:`drive_nb` on a :class:`DriveState`; also leaves the venue's order count in
    ``counters[K_ORDERS]`` (read by the executor without another call)."""
    code = drive_nb(strategy, d.mkt, n_known, final, until, d.cfg, d.lat, d.limits, d.vst, d.out, d.actions,
                    n_pending, d.params, d.user_state, d.counters)
    d.counters[K_ORDERS] = d.vst[0][I_NORD]
    return code


@njit(cache=True)
def front_append_nb(s, d, ev, rows_in, a, n):
    """The strategy-independent part of a chunk: :func:`companion.streaming.front_chunk_nb` (codes
    into ``d.codes`` / ``d.values`` at ``a``), then the chunk appended to the paper venue's buffers
    at ``n`` (``companion.live.venue.append_events_nb`` and, for the FIFO queue model, the
    streaming ADD index -- exactly ``PaperVenue.on_market``). Returns a FRONT_* code."""
    r = front_chunk_nb(s, ev, rows_in, d.codes, d.values, a)
    if r != FRONT_OK:
        return r
    m = ev.shape[0]
    ids = append_events_nb(ev, s.rows[:m], d.mkt, d.v_oid, n)
    if d.v_par[0] == 1:  # the ADD index is read by the FIFO queue model only
        if ids and d.cfg[C_HAS_IDS] == 0.0:
            d.cfg[C_HAS_IDS] = 1.0
        add_index_into_nb(d.mkt[2], d.v_oid, n, n + m, d.v_seen, d.mkt[6])
    return FRONT_OK


@njit(forceinline=True)
def live_chunk_nb(strategy, s, d, ev, rows_in, a, n):
    """One feed chunk from market data to the orders it causes, in ONE compiled call:
    :func:`front_append_nb` (book -> features -> model -> signal, the chunk appended to the venue),
    then the venue + ``strategy`` loop up to the chunk's time (:func:`drive_state_nb`, nothing final).

    The caller checks beforehand that no buffer can overflow (venue capacity, code buffers, the
    front's chunk scratch) and that no kill request is pending, and sets ``venue.n += len(ev)``
    afterwards. Returns a FRONT_* error code (< 0; nothing appended) or :func:`drive_nb`'s code.
    ``s.cyc[CYC_STRATEGY]``: cycle stamp at the end (after the strategy).
    """
    r = front_append_nb(s, d, ev, rows_in, a, n)
    if r != FRONT_OK:
        return r
    code = drive_state_nb(strategy, d, n + ev.shape[0], False, s.cyc[CYC_TS], 0)
    s.cyc[CYC_STRATEGY] = cycles_nb()
    return code


# ---- the signal trader (the default live strategy): the generic kernels above called with the strategy a
# global, so numba can cache the caller. A dispatcher passed to a callee makes the caller uncachable
# ("dynamic globals") unless the callee is inlined: hence ``forceinline=True`` on the generic kernels
@njit(cache=True)
def drive_signal_nb(mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_pending, params,
                    user_state, counters):
    """:func:`drive_nb` with ``signal_trader_nb`` (cached)."""
    return drive_nb(signal_trader_nb, mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_pending,
                    params, user_state, counters)


@njit(cache=True)
def drive_state_signal_nb(d, n_known, final, until, n_pending):
    """:func:`drive_state_nb` with ``signal_trader_nb`` (cached)."""
    return drive_state_nb(signal_trader_nb, d, n_known, final, until, n_pending)


@njit(cache=True)
def live_chunk_signal_nb(s, d, ev, rows_in, a, n):
    """:func:`live_chunk_nb` with ``signal_trader_nb`` (cached)."""
    return live_chunk_nb(signal_trader_nb, s, d, ev, rows_in, a, n)


def chunk_kernels(kernel) -> tuple:
    """``(chunk, drive, leading_args)`` for a strategy ``kernel``: call ``chunk(*leading_args, s, d,
    ev, rows_in, a, n)`` and ``drive(*leading_args, d, n_known, final, until, n_pending)``. The
    signal trader gets the cached specialisations (no leading argument); any other kernel the
    generic kernels with the strategy as the leading argument (compiled in this process).

    Examples
    --------
    >>> from companion.backtest.strategies import noop_nb
    >>> chunk_kernels(signal_trader_nb)[2], chunk_kernels(noop_nb)[2] == (noop_nb,)
    ((), True)
    """
    if kernel is signal_trader_nb:
        return live_chunk_signal_nb, drive_state_signal_nb, ()
    return live_chunk_nb, drive_state_nb, (kernel,)


def entry_point(dispatcher, args: tuple):
    """The compiled entry point of ``dispatcher`` for the types of ``args``: calling it skips the
    dispatcher's per-call type resolution (~0.3-0.7 us per structured / StructRef argument). Valid only
    for arguments of exactly these types (the caller checks what can vary: the chunk's dtype and layout).

    Examples
    --------
    >>> from numba import njit
    >>> f = njit(lambda x: x + 1)
    >>> entry_point(f, (1,))(2)
    3
    """
    from numba.core.typing.typeof import Purpose, typeof

    return dispatcher.compile(tuple(typeof(x, Purpose.argument) for x in args))


class LiveDrive:
    """The decision stage of the live executor on the Python side (see the module docstring).

    Parameters
    ----------
    strategy : object
        ``companion.backtest.strategies`` shape: ``kernel`` a jitted ``kernel(ctx, params,
        user_state)``, ``build(events, book, instrument, max_orders) -> (params, user_state)``
        (called here on an empty day). When ``user_state`` is a tuple, its items 1 and 2 are the
        live signal buffers ``codes`` / ``values`` (written by the front as events arrive).
    venue : companion.live.venue.PaperVenue
        The venue the strategy trades on.
    recorder : companion.live.recorder.JournalRecorder
        Writes each order ahead (before it is sent) and the venue's new orders.
    kill : companion.live.kill_switch.KillSwitch
        Its pending request is tripped at the next wake-up.
    instrument : Instrument
    levels : int
        Book levels of the rows.
    max_orders : int
        Passed to ``strategy.build``.
    send_now : bool
        True: the strategy's orders are sent inside the compiled loop (no write-ahead journal).

    Examples
    --------
    >>> from companion.backtest import ExecutionConfig
    >>> from companion.backtest.strategies import ImbalanceScalper
    >>> from companion.events import Instrument
    >>> from companion.live.venue import PaperVenue
    >>> inst = Instrument("X", 1, 1)
    >>> v = PaperVenue(inst, ExecutionConfig(), levels=1, capacity=8)
    >>> drv = LiveDrive(ImbalanceScalper(), v, None, None, inst, levels=1, max_orders=16, send_now=True)
    >>> drv.kargs, drv.codes.dtype.name, drv.wakeups
    ((), 'int8', 0)
    """

    def __init__(self, strategy, venue, recorder, kill, instrument, levels: int, max_orders: int,
                 send_now: bool):
        self.strategy, self.venue, self.rec, self.kill = strategy, venue, recorder, kill
        params, us = strategy.build(np.zeros(0, EVENT_DTYPE), np.zeros((0, 4 * levels)), instrument, max_orders)
        self.params = np.asarray(params, dtype=np.float64)
        #: ``(chunk, drive, leading_args)`` of :func:`chunk_kernels` for the strategy's kernel
        self.chunk_nb, self.drive_nb, self.kargs = chunk_kernels(strategy.kernel)
        self.codes = np.zeros(1 << 16, np.int8)
        self.values = np.zeros(1 << 16)
        self._items = list(us) if isinstance(us, tuple) and len(us) >= 3 else None
        self.user_state = self._with_buffers(us)
        #: ``K_*`` slots: wake-ups, pending actions, venue orders, send at once
        self.counters = np.zeros(N_COUNTERS, np.int64)
        self.counters[K_SEND_NOW] = bool(send_now)
        #: the :class:`DriveState` over the current buffers (None until :meth:`state`, and after a buffer grew)
        self.current: DriveState | None = None
        self._key: tuple = ()

    def _with_buffers(self, us):
        if self._items is None:
            return us
        self._items[1], self._items[2] = self.codes, self.values
        return tuple(self._items)

    @property
    def wakeups(self) -> int:
        """Strategy wake-ups so far."""
        return int(self.counters[K_WAKEUPS])

    def state(self) -> DriveState:
        """The :class:`DriveState` over the venue's current buffers ((re)built when a buffer grew)."""
        v = self.venue
        key = (v.mkt, v.out, self.user_state, v.order_ids, self.codes)
        if self.current is None or any(a is not b for a, b in zip(key, self._key)):
            self.current = new_drive_state(v, self.params, self.user_state, self.counters, self.codes, self.values)
            self._key = key
        return self.current

    def ensure_capacity(self, n: int) -> None:
        """Grow the signal buffers to hold ``n`` events (doubling; the state is rebuilt at its next use)."""
        if n > self.codes.size:
            cap = max(n, 2 * self.codes.size)
            self.codes = np.concatenate([self.codes, np.zeros(cap - self.codes.size, np.int8)])
            self.values = np.concatenate([self.values, np.zeros(cap - self.values.size)])
            self.user_state = self._with_buffers(self.user_state)
            self.current = None

    def wakeups_until(self, until_ns: int, code: int | None = None) -> None:
        """Wake-ups up to ``until_ns``: the compiled venue + strategy loop; back in Python only to
        journal the strategy's orders before they are sent (:meth:`JournalRecorder.order
        <companion.live.recorder.JournalRecorder.order>`), or to trip a pending kill request at the
        next wake-up. ``code``: the result of a drive call already made (by :func:`live_chunk_nb`,
        its new orders already recorded): go on from it."""
        v, rec, kill, cnt = self.venue, self.rec, self.kill, self.counters
        pending = 0
        d = self.state()
        while True:
            if code is None:
                if kill.request is not None and not v.halted:
                    if not kill.trip_at_next_wakeup(until_ns):
                        break
                    cnt[K_WAKEUPS] += 1
                    continue
                code = self.drive_nb(*self.kargs, d, v.n, v.final, until_ns, pending)
                v.set_actions(0)
                if cnt[K_ORDERS] > rec.n_orders:
                    rec.new_orders()
            if code != WAKE_ACTIONS:
                if code != NEED_DATA and code != 0:
                    raise RuntimeError(f"paper venue error code {code} (buffer full: raise max_orders)")
                break
            pending = int(cnt[K_PENDING])
            t, nxt = v.wake_time, v.n_orders
            for a in v.actions[:pending]:
                if a["kind"] == ACT_SUBMIT:  # journal the order before it is sent
                    rec.order(nxt, t, int(a["side"]), int(a["price"]), float(a["qty"]), int(a["otype"]), rec.tag)
                    nxt += 1
            code = None
