"""The mini live executor: one event loop from market data to journaled fills.

Architecture (one loop iteration per feed chunk = the events of one exchange timestamp)::

    chunk --> [book -> features -> model -> signal -> venue append -> risk -> strategy] --> journal
    (replay/   ONE compiled call, live_chunk_nb, on two state objects (FrontState,      (reports,
     websocket) DriveState); back in Python only to journal an order before it is sent  checkpoints)
               └──── metrics: per-stage latency (cycle counter inside the call), counters, status ────┘

The executor holds no stage logic: it composes the public state and step kernel of each stage,
the same ones the batch path runs --

1. **book**: :class:`companion.book.kernels.BookState` / ``book_step_nb`` (the batch
   :func:`companion.book.replay` is that kernel over the day);
2. **features / model / signal**: :mod:`companion.streaming` (:class:`~companion.streaming.FrontState`
   / :func:`~companion.streaming.front_chunk_nb`: the feature groups' batch kernels chunk by chunk,
   the compiled model, THE model rule :func:`companion.signals.model_rule_nb` or the scalper's
   imbalance classes);
3. **venue**: :class:`companion.live.venue.PaperVenue` over a
   :class:`companion.sim.simulator.ExchangeState` (the backtest's simulator stepped with the feed:
   risk checks at each wake-up, then the strategy);
4. **strategy**: ANY strategy object (``kernel`` + ``build``, e.g. the backtester's
   ``ImbalanceScalper`` / ``ModelStrategy`` or a market maker), run by :mod:`companion.live.drive`
   (:class:`~companion.live.drive.DriveState`, :func:`~companion.live.drive.live_chunk_nb`: front,
   venue append and the venue + strategy loop in one compiled call through its resolved entry point);
5. **journal**: :class:`companion.live.recorder.JournalRecorder` (write-ahead order records,
   reports, risk events, checkpoints in :class:`companion.live.journal.Journal`).

Python checks beforehand, cheaply, that no buffer can overflow and no kill request is pending; when
one can or one is, the chunk takes the three-call path (front kernel, ``venue.on_market``, the
wake-up loop), which grows the buffers and trips the kill switch. With a journal, the compiled call
returns to Python before each order the strategy sends (the write-ahead record).
:meth:`LiveExecutor.run` takes a synchronous feed, :meth:`LiveExecutor.arun` an asynchronous one
(:class:`companion.live.feeds.BinanceWebSocketFeed`); both drive the same loop.

Kill switch: a stale feed (no chunk for ``feed.stale_after_s`` of feed-clock time), the session
max loss (``risk.max_loss``), or a manual request (SIGUSR1, the ``kill_switch.file`` appearing --
polled every 64 chunks and every 100 ms of feed clock -- :meth:`LiveExecutor.request_kill`) cancels
every order, flattens the position with a market order and stops the strategy; the loop ends once the position is flat.

Crash recovery: on start, :meth:`companion.live.journal.Journal.recover` gives the last checkpoint. With a replay the
whole pipeline is deterministic, so the executor re-runs the events up to the checkpoint without
writing (a *catch-up*: the book, features and the paper venue's queues are rebuilt), checks that it
reproduced the checkpoint's counts, then continues; the journal's idempotency (client order ids,
fill ids, input sequence numbers) turns whatever was journaled between the checkpoint and the crash
into no-ops. The final journal equals the one of a run that never crashed (tested).

Because the decisions come from the backtester's kernels on a venue that processes events, orders
and wake-ups in the backtester's order, a replay through the executor produces exactly the
backtester's orders and fills (``tests/test_live_parity.py``).
"""
from __future__ import annotations

import hashlib
import json
import signal as _signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from companion.book import IncrementalBook
from companion.events import NS, Instrument
from companion.live.config import LiveConfig
from companion.live.drive import (
    K_ORDERS,
    K_PENDING,
    K_SEND_NOW,
    K_WAKEUPS,
    N_COUNTERS,
    WAKE_ACTIONS,
    DriveState,
    chunk_kernels,
    entry_point,
    new_drive_state,
)
from companion.live.metrics import LatencyRecorder, LiveSummary, StatusLine, le, ns_per_cycle, sum_p99
from companion.live.recorder import JournalRecorder
from companion.live.venue import NEED_DATA
from companion.sim.orders import ACT_SUBMIT
from companion.streaming import (
    CYC_BOOK,
    CYC_FEATURES,
    CYC_MODEL,
    CYC_SIGNAL,
    CYC_STRATEGY,
    CYC_TS,
    FRONT_ERRORS,
    FrontPipeline,
    ImbalanceStream,
    ModelStream,
)

__all__ = ["LiveExecutor", "STAGES"]

#: the kill file is polled every 64 chunks and at least every 100 ms of feed clock
_POLL_NS = 100_000_000

#: latency stages recorded per chunk (``tick_to_decision`` = book + features + model + signal +
#: strategy: from the chunk's arrival in the loop to the orders it causes; the journal's writes,
#: including the write-ahead record of each order made between its decision and its send, are
#: the ``journal`` stage). ``features`` / ``model`` / ``signal`` / the venue + strategy part are
#: stamped inside the compiled call with the CPU cycle counter; ``book`` is the rest of that call
#: (the Python call itself, unboxing, the chunk's copy, the book update, the return); ``strategy`` =
#: appending the chunk to the venue + the venue / strategy loop (inside the call) + the Python
#: bookkeeping of new orders and any return to Python (see ``benchmarks/bench_live.py``)
STAGES = ("book", "features", "model", "signal", "strategy", "journal", "tick_to_decision")


# ============================================================================ executor
class LiveExecutor:
    """The live event loop (see the module docstring).

    Parameters
    ----------
    config : ``companion.live.config.LiveConfig``
        The whole live configuration (strategy, signal, model, execution, risk, latency, venue, journal).
    instrument : Instrument
        Tick, price scale, session (the end-of-day flattening uses the session close).
    levels : int
        Book levels of the rows (a signal deeper than the book uses all its levels, as the backtester does).
    journal : companion.live.journal.Journal or str or pathlib.Path, optional
        The SQLite journal (None: nothing is journaled, no recovery).
    model : CompiledModel, optional
        For ``strategy: model`` (default: loaded from ``config.model.path``).
    venue : ``companion.live.venue.PaperVenue``, optional
        Default: a paper venue configured by ``config.venue`` / ``config.risk``.
    status : bool
        Print a one-line live status to stderr (throttled to 1/s).
    on_chunk : callable, optional
        ``on_chunk(executor, events_seen)`` after every chunk (demos, tests, the CLI's crash demo).
    strategy : object, optional
        The strategy to run: any object of ``companion.backtest.strategies`` shape (``name``,
        ``kernel`` a jitted ``kernel(ctx, params, user_state)``, ``build(events, book, instrument,
        max_orders) -> (params, user_state)``), e.g. a market maker. ``build`` is called on an empty
        day; when ``user_state`` is a tuple, its items 1 and 2 are replaced by the live signal
        buffers (int8 codes, float64 values per event, written by the front as events arrive).
        Default: ``config.strategy_object()`` (the scalper or the model strategy, as configured).
    """

    def __init__(self, config: LiveConfig, instrument: Instrument, *, levels: int = 10, journal=None, model=None,
                 venue=None, status: bool = False, on_chunk: Callable | None = None, dataset: str | None = None,
                 new_segment: bool = False, strategy=None):
        from companion.live.journal import Journal
        from companion.live.venue import PaperVenue

        self.config = config
        self.instrument = instrument
        self.levels = int(levels)
        self.scale = float(instrument.price_scale)
        self.dataset = dataset
        if journal is not None and not isinstance(journal, Journal):
            journal = Journal(journal, synchronous=config.journal.synchronous)
        self.journal = journal
        self.execution = config.execution_config(instrument)
        self.venue = venue if venue is not None else PaperVenue(instrument, self.execution, levels=self.levels)
        self.book = IncrementalBook(self.levels)
        self.summary = LiveSummary()
        #: the journal stage (message numbers, write-ahead order records, reports, checkpoints)
        self.rec = JournalRecorder(journal, self.venue, instrument.symbol, self.scale, self.summary)
        if config.strategy == "model":
            if model is None:
                if config.model.path is None:
                    raise ValueError("strategy: model needs model.path in the config or a model argument")
                from companion.models.compiled import CompiledModel

                model = CompiledModel.from_file(config.model.path)
            m = config.model
            self.stream = ModelStream(model, instrument, m.p_long, m.p_short, m.ofi_threshold, m.ofi_window_s,
                                      m.ofi_levels)
        else:
            s = config.signal
            self.stream = ImbalanceStream(s.depth, s.weak, s.strong, float(instrument.tick))
        if journal is not None:  # bound to its run: a resume with another dataset / config / model refuses
            try:
                seg = journal.bind(self.run_identity(model if config.strategy == "model" else None),
                                   new_segment=new_segment)
            except BaseException:
                journal.close()
                raise
            self.rec.id_prefix = "" if seg <= 1 else f"S{seg}."
        from companion.events import EVENT_DTYPE

        #: the strategy object run (its ``kernel`` decides at each wake-up)
        self.strategy = strategy if strategy is not None else config.strategy_object(p_up=np.zeros(0))
        self._params, us = self.strategy.build(np.zeros(0, EVENT_DTYPE), np.zeros((0, 4 * self.levels)),
                                               instrument, self.execution.max_orders)
        self._params = np.asarray(self._params, dtype=np.float64)
        self._kernel = self.strategy.kernel
        # the compiled chunk / drive kernels for this strategy kernel (cached for the signal trader)
        self._chunk_nb, self._drive_nb, self._kargs = chunk_kernels(self._kernel)
        self._tag = config.strategy if strategy is None else str(getattr(strategy, "name", "strategy"))
        self._codes = np.zeros(1 << 16, np.int8)
        self._values = np.zeros(1 << 16)
        self._us_items = list(us) if isinstance(us, tuple) else None  # the code buffers go to items 1, 2
        self._user_state = self._with_buffers(us)
        self.metrics = LatencyRecorder(list(STAGES))
        self.status = StatusLine(enabled=status)
        self.on_chunk = on_chunk
        self._kill_request: str | None = None
        self._kill_file = Path(config.kill_switch.file) if config.kill_switch.file else None
        self._last_mid = np.nan
        # wake-ups, pending actions, venue orders, send at once (no write-ahead journal): K_* of live.drive
        self._counters = np.zeros(N_COUNTERS, np.int64)
        self._counters[K_SEND_NOW] = journal is None
        self._drive: DriveState | None = None
        self._drive_key: tuple = ()
        self._front: FrontPipeline | None = None  # built at the first chunk (the feature grid may need its time)
        #: one compiled call per chunk (``live_chunk_nb``); False: the three-call path (tests compare them)
        self.fused = True
        self._last_rows: np.ndarray | None = None
        self._n_seen = 0
        self._last_cp = -1
        self._stopped = False
        self._old_handler = None
        self._t_start = time.perf_counter()
        self._ns_per_cycle = ns_per_cycle()

    def _with_buffers(self, us):
        if self._us_items is None or len(self._us_items) < 3:
            return us
        items = self._us_items
        items[1], items[2] = self._codes, self._values
        return tuple(items)

    @property
    def codes(self) -> np.ndarray:
        """The signal class code of each event so far (int8; the strategy's ``user_state[1]``)."""
        return self._codes[: self._n_seen]

    @property
    def values(self) -> np.ndarray:
        """The signal value of each event so far (float64; ``user_state[2]``)."""
        return self._values[: self._n_seen]

    @property
    def user_state(self):
        """The strategy's state (``build``'s ``user_state`` with the live signal buffers)."""
        return self._user_state

    @property
    def wakeups(self) -> int:
        """Strategy wake-ups so far."""
        return int(self._counters[K_WAKEUPS])

    @property
    def messages(self) -> int:
        """Journal sequence numbers used so far (one per order, report, risk event)."""
        return self.rec.msg_seq

    # ---- controls
    def run_identity(self, model=None) -> dict:
        """What a journal is bound to (:meth:`companion.live.journal.Journal.bind`): the dataset
        (the caller's ``dataset`` string), the sha256 of the config (without the ``latency``
        targets, ``kill_switch`` and ``journal`` sections, which do not change a decision), the
        sha256 of the model's arrays (None for the scalper) and the companion version."""
        import companion

        cfg = {k: v for k, v in self.config.to_dict().items() if k not in ("latency", "kill_switch", "journal")}
        text = json.dumps(cfg, sort_keys=True, default=str)
        mh = None
        if model is not None:
            h = hashlib.sha256()
            for a in model.arrays:
                h.update(np.ascontiguousarray(a).tobytes())
            h.update(f"{model.num_class}|{model.n_features}|{model.objective}|{model.average_output}".encode())
            mh = h.hexdigest()
        return {"dataset": self.dataset, "config_sha256": hashlib.sha256(text.encode()).hexdigest(),
                "config": json.loads(text), "model_sha256": mh, "companion_version": companion.__version__}

    def request_kill(self, reason: str = "MANUAL") -> None:
        """Trip the kill switch at the next wake-up (safe from a signal handler)."""
        if self._kill_request is None and self.summary.killed is None:
            self._kill_request = reason

    def client_id(self, order_id: int) -> str:
        """Our client order id: ``O<n>`` (segment 1), ``S<k>.O<n>`` in a journal's segment k > 1."""
        return self.rec.client_id(order_id)

    # ---- the wake-up loop
    def _drive_state(self) -> DriveState:
        """The :class:`DriveState` over the venue's current buffers ((re)built when a buffer grew)."""
        v = self.venue
        d = self._drive
        key = (v.mkt, v.out, self._user_state, v.order_ids, self._codes)
        if d is None or any(a is not b for a, b in zip(key, self._drive_key)):
            d = self._drive = new_drive_state(v, self._params, self._user_state, self._counters, self._codes,
                                              self._values)
            self._drive_key = key
        return d

    def _wakeups(self, until_ns: int, code: int | None = None) -> None:
        """Wake-ups up to ``until_ns``: compiled venue + strategy loop; back in Python only to journal
        the strategy's orders before they are sent, or to trip the kill switch. ``code``: the result of
        a drive call already made (by :func:`live_chunk_nb`, its new orders already bookkept): go on from it."""
        v = self.venue
        rec = self.rec
        cnt = self._counters
        pending = 0
        d = self._drive_state()
        while True:
            if code is None:
                if self._kill_request is not None and not v.halted:
                    if not self._kill_at_next_wakeup(until_ns):
                        break
                    continue
                code = self._drive_nb(*self._kargs, d, v.n, v.final, until_ns, pending)
                v.set_actions(0)
                if cnt[K_ORDERS] > rec.n_orders:
                    rec.new_orders(self._tag)
            if code != WAKE_ACTIONS:
                if code != NEED_DATA and code != 0:
                    raise RuntimeError(f"paper venue error code {code} (buffer full: raise max_orders)")
                break
            pending = int(cnt[K_PENDING])
            t, nxt = v.wake_time, v.n_orders
            for a in v.actions[:pending]:
                if a["kind"] == ACT_SUBMIT:  # journal the order before it is sent
                    rec.order(nxt, t, int(a["side"]), int(a["price"]), float(a["qty"]), int(a["otype"]), self._tag)
                    nxt += 1
            code = None

    def _kill_at_next_wakeup(self, until_ns: int) -> bool:
        """Step to the next wake-up (no strategy call) and trip the kill switch there."""
        v = self.venue
        self._kill_request, reason = None, self._kill_request
        w = v.next_wakeup(until_ns)
        if v.n_orders > self.rec.n_orders:
            self.rec.new_orders(self._tag)
        if w is None:  # no wake-up before the next chunk: keep the request
            self._kill_request = reason
            return False
        t, k = w
        self._counters[K_WAKEUPS] += 1
        oid = v.kill()
        self.summary.killed = reason
        self.rec.risk_event(t, f"KILL_{reason}", {"event": k, "position": v.position,
                                                "flatten_order": self.client_id(oid) if oid >= 0 else None})
        self.rec.new_orders(self._tag)
        return True

    def _ensure_capacity(self, n: int) -> None:
        if n > self._codes.size:
            cap = max(n, 2 * self._codes.size)
            self._codes = np.concatenate([self._codes, np.zeros(cap - self._codes.size, np.int8)])
            self._values = np.concatenate([self._values, np.zeros(cap - self._values.size)])
            self._user_state = self._with_buffers(self._user_state)
            self._drive = None

    def _kill_file_present(self) -> bool:
        return self._kill_file is not None and self._kill_file.exists()

    # ---- run
    def run(self, feed: Iterable, book_rows: np.ndarray | None = None, max_events: int | None = None,
            handle_sigusr1: bool = False) -> LiveSummary:
        """Consume ``feed`` (an iterable of ``(now_ns, events)`` chunks, e.g.
        :class:`companion.live.feeds.LobsterReplayFeed`) until it ends, ``max_events`` were
        processed, or the kill switch flattened the position.

        ``book_rows``: the book after each event from the data source (a LOBSTER orderbook file,
        whose depth the messages alone cannot rebuild); default: rebuilt from the events.
        ``handle_sigusr1``: SIGUSR1 trips the kill switch.
        """
        loop = self._loop(book_rows, max_events, handle_sigusr1)
        next(loop)
        try:
            for chunk in feed:
                if loop.send(chunk):
                    break
            return self._end(loop, ended=not self._stopped)
        finally:
            loop.close()
            self._cleanup()

    async def arun(self, feed, max_events: int | None = None, handle_sigusr1: bool = False) -> LiveSummary:
        """:meth:`run` over an asynchronous feed (``async for now_ns, events in feed``), e.g. a
        connected :class:`companion.live.feeds.BinanceWebSocketFeed`: the same loop, chunk for chunk.

        A live feed's exchange times need not be sorted (Binance's trade ``T`` and depth ``E``
        interleave); the executor's clock is made non-decreasing (an event stamped before one
        already processed is processed at the latest time seen), as the venue and the feature grid
        require. A :class:`companion.live.feeds.StaleFeed` raised by the feed trips the kill switch
        at once (``STALE_FEED``: cancel every order, flatten with a market order, halt; the paper
        venue fills it only if market data resume) and ends the run. A
        :class:`companion.live.feeds.FeedError` (abrupt close, malformed or oversized frame, a
        snapshot-shaped stream frame, no snapshot) is fail-safe (``_fail_safe``): kill switch
        (``FEED_ERROR``), the flatten order executed against the last book, fills journaled,
        checkpoint, then the error is raised again as one line ending ``kill switch tripped:
        position <p>, checkpoint <k>``. Any other feed error propagates after the journal is
        checkpointed. Call :meth:`warm_up` before connecting (the CLI does).
        """
        from companion.live.feeds import FeedError, StaleFeed

        loop = self._loop(None, max_events, handle_sigusr1)
        next(loop)
        last = np.iinfo(np.int64).min
        ended = True
        try:
            try:
                async for now_ns, ev in feed:
                    if len(ev) == 0:
                        continue
                    ts = ev["ts"]
                    if ts[0] < last or (len(ts) > 1 and (np.diff(ts) < 0).any()):
                        ev = ev.copy()
                        ev["ts"] = np.maximum.accumulate(np.maximum(ts, last))
                    last = int(ev["ts"][-1])
                    if loop.send((now_ns, ev)):
                        break
                ended = not self._stopped
            except StaleFeed:
                self._kill_now("STALE_FEED")
                ended = False
            except FeedError as exc:  # closed, malformed, oversized, no snapshot: fail safe
                summ = self._fail_safe(loop, exc)
                raise type(exc)(f"{exc}; kill switch tripped: position {summ.position:g}, "
                                f"checkpoint {summ.checkpoint}") from None
            except Exception:  # a dead feed: checkpoint what was processed, then report the error
                self._end(loop, ended=False)
                raise
            return self._end(loop, ended=ended)
        finally:
            loop.close()
            self._cleanup()

    def _fail_safe(self, loop, exc: Exception) -> LiveSummary:
        """A feed that cannot go on: trip the kill switch (cancel, flatten with a market order,
        halt; journaled as ``KILL_FEED_ERROR``), let the paper venue execute the flatten order
        against the last book it knows (the simulator runs to the end of the data received), then
        journal the fills and checkpoint. The summary records the reason in ``killed``."""
        self._kill_now("FEED_ERROR")
        if self.summary.killed is None:  # already halted by another rule
            self.summary.killed = "FEED_ERROR"
        v = self.venue
        r = self._last_rows[-1] if self._last_rows is not None and len(self._last_rows) else None
        if abs(v.position) > 1e-9 and r is not None and r[3] > 0 and self._n_seen:
            # the paper venue matches orders only at market events: one heartbeat, 1 s after the
            # last event, repeating the last best bid (a no-op for the book), lets it execute the
            # flatten order against the last book it knows (a real venue fills it at the market)
            from companion.events import BID, EVENT_DTYPE, LEVEL_SET

            hb = np.zeros(1, dtype=EVENT_DTYPE)
            t = v.event_ts(self._n_seen - 1) + NS
            hb["ts"], hb["ts_local"], hb["kind"], hb["side"] = t, t, LEVEL_SET, BID
            hb["price"], hb["size"] = int(r[2]), float(r[3])
            try:
                loop.send((t, hb))
            except StopIteration:
                pass
        return self._end(loop, ended=True)

    def warm_up(self) -> float:
        """Compile (or load from numba's cache) every kernel of the loop *before* connecting a live
        feed, never inside the event loop (a cold cache took ~90 s in the first chunk: the snapshot
        request timed out and the stale-feed alarm tripped). Runs a twin executor (same config,
        model and levels; no journal) over a 20-second synthetic day; returns the seconds spent."""
        from companion import synth

        t0 = time.perf_counter()
        sc = synth.SynthConfig(session=(34200.0, 34220.0))
        d = synth.simulate(seed=0, config=sc, levels=self.levels)
        ev = synth.to_events(d.messages)
        cfg = self.config.replace(kill_switch={"file": None}, risk={"max_loss": None})
        model = self.stream.model if isinstance(self.stream, ModelStream) else None
        twin = LiveExecutor(cfg, synth.instrument(sc, levels=self.levels), levels=self.levels, model=model,
                            strategy=self.strategy)
        bounds = np.flatnonzero(np.diff(ev["ts"])) + 1
        twin.run([(int(ev["ts"][a]), ev[a:b]) for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(ev)])])
        return time.perf_counter() - t0

    def _loop(self, book_rows, max_events, handle_sigusr1):
        """The executor loop as a coroutine: ``send((now_ns, events))`` processes one chunk and
        returns True when the run must stop (``max_events`` reached, or killed and flat); shared by
        :meth:`run` and :meth:`arun`. Set-up happens at the first ``next()``."""
        cfg = self.config
        v = self.venue
        summ = self.summary
        recovery = self.journal.recover() if self.journal is not None else None
        resume_after = -1 if recovery is None or recovery.checkpoint is None else int(recovery.checkpoint)
        summ.resumed_from = None if resume_after < 0 else resume_after
        cp_state = recovery.checkpoint_state if recovery is not None else None
        rec = self.rec
        rec.on = self.journal is not None and resume_after < 0
        stale_ns = None if cfg.feed.stale_after_s is None else int(cfg.feed.stale_after_s * NS)
        every = cfg.journal.checkpoint_every
        self._last_cp = resume_after
        self._n_seen = 0
        self._stopped = False
        self._old_handler = None
        if handle_sigusr1 and hasattr(_signal, "SIGUSR1"):
            self._old_handler = _signal.signal(_signal.SIGUSR1, lambda *_: self.request_kill("MANUAL_SIGNAL"))
        rec_ns = self.metrics.record
        pc = time.perf_counter_ns
        is_model = isinstance(self.stream, ModelStream)
        front = self._front
        cns = self._ns_per_cycle
        i_bk, i_ft, i_md, i_sg, i_st = CYC_BOOK, CYC_FEATURES, CYC_MODEL, CYC_SIGNAL, CYC_STRATEGY
        n_seen = 0
        last_now = None
        last_poll = -_POLL_NS
        self._t_start = time.perf_counter()
        stop = False
        while True:
            now_ns, ev = yield stop
            if max_events is not None and n_seen + len(ev) > max_events:
                ev = ev[: max_events - n_seen]
            m = len(ev)
            if m == 0:
                stop = True
                continue
            a, z = n_seen, n_seen + m
            if not rec.on and self.journal is not None and z - 1 > resume_after:
                rec.on = True
                rec.verify_catch_up(cp_state)
            # kill switch: stale feed / manual
            if stale_ns is not None and last_now is not None and now_ns - last_now > stale_ns \
                    and summ.killed is None:
                self.request_kill("STALE_FEED")
            last_now = now_ns
            if summ.chunks % 64 == 0 or now_ns - last_poll >= _POLL_NS:  # the kill file
                last_poll = now_ns
                if self._kill_file_present():
                    self.request_kill("MANUAL_FILE")
            if front is None:
                front = self._front = FrontPipeline(self.stream, self.book.state, self.levels, int(ev["ts"][0]))
                fst, cyc, no_rows = front.state, front.cyc, front.no_rows
                ev_dtype = ev.dtype
                fast = None  # the fused call's compiled entry point, resolved at its first use
                cnt = self._counters
                chunk_nb, kargs = self._chunk_nb, self._kargs
                i_ord = K_ORDERS
                front_cap, v_cap = front.cap, v.capacity  # refreshed after a three-call chunk (buffers grow)
            # ---- tick to decision: book -> features -> model -> signal -> venue -> strategy
            warming = summ.chunks == 0
            t0 = pc()
            rows_in = no_rows if book_rows is None else np.ascontiguousarray(book_rows[a:z], dtype=np.float64)
            if z > self._codes.size:
                self._ensure_capacity(z)
            d = self._drive
            rec.write_ns = 0
            n_v = v.n
            if d is not None and self._kill_request is None and n_v + m <= v_cap and m <= front_cap \
                    and not v.final and self.fused:
                # one compiled call: front kernel, append to the venue, venue + strategy loop
                if fast is not None and ev.dtype is ev_dtype and ev.flags.c_contiguous:
                    code = fast(kargs[0], fst, d, ev, rows_in, a, n_v) if kargs else fast(fst, d, ev, rows_in, a, n_v)
                else:  # first use, or a chunk of another array type: through the dispatcher
                    warming = fast is None
                    code = chunk_nb(*kargs, fst, d, ev, rows_in, a, n_v)
                    if fast is None and ev.dtype is ev_dtype and ev.flags.c_contiguous:
                        fast = entry_point(chunk_nb, (*kargs, fst, d, ev, rows_in, a, n_v))
                t1 = pc()
                if code < 0:
                    raise ValueError(FRONT_ERRORS.get(code, f"front kernel error {code}"))
                v.n = n_v + m
                v.set_actions(0)  # the strategy's actions were sent inside the call
                if cnt[i_ord] > rec.n_orders:
                    rec.new_orders(self._tag)
                if code != NEED_DATA:  # back to Python: journal the strategy's orders, or a venue error
                    self._wakeups(int(cyc[CYC_TS]), code)
                t5 = pc()
                t_chunk = int(cyc[CYC_TS])  # the chunk's exchange time, left by the front kernel
                c = cyc.tolist()  # stage stamps (cycles)
                c0, c1, c2, c3, c5 = c[i_bk], c[i_ft], c[i_md], c[i_sg], c[i_st]
                v_ns = int((c5 - c3) * cns)  # venue append + venue / strategy loop
            else:  # three calls: front kernel, venue.on_market, the wake-up loop (buffers grow, kill switch)
                rows = front.run(ev, None if book_rows is None else rows_in, self._codes, self._values, a)
                t1 = pc()
                v.on_market(ev, rows)
                t_chunk = int(cyc[CYC_TS])
                self._wakeups(t_chunk)
                t5 = pc()
                c = cyc.tolist()
                c0, c1, c2, c3 = c[i_bk], c[i_ft], c[i_md], c[i_sg]
                v_ns = 0
                front_cap, v_cap = front.cap, v.capacity
            # ---- metrics, reports, journal
            jn = rec.write_ns
            if warming:  # compiles / loads the kernels: reported apart (LiveSummary.warmup_s)
                summ.warmup_s += (t5 - t0 - jn) / 1e9
                summ.warmup_chunks += 1
            else:
                f_ns, m_ns, s_ns = int((c1 - c0) * cns), int((c2 - c1) * cns), int((c3 - c2) * cns)
                rec_ns("book", t1 - t0 - f_ns - m_ns - s_ns - v_ns)
                if is_model:
                    rec_ns("features", f_ns)
                    rec_ns("model", m_ns)
                rec_ns("signal", s_ns)
                rec_ns("strategy", t5 - t1 + v_ns - jn)
                rec_ns("tick_to_decision", t5 - t0 - jn)
            rows = front.rows[:m]
            rec.reports()
            n_seen = self._n_seen = z
            summ.chunks += 1
            if rec.on and z - 1 - self._last_cp >= every:
                rec.checkpoint(z - 1, t_chunk)
                self._last_cp = z - 1
            rec_ns("journal", pc() - t5 + jn)
            r = rows[-1]
            if r[1] > 0 and r[3] > 0:
                self._last_mid = 0.5 * (r[0] + r[2])
            self._last_rows = rows
            if self.on_chunk is not None:
                self.on_chunk(self, n_seen)
            if self.status.due():
                self.status.show(self.status_text())
            if summ.killed is not None and v.halted and abs(v.position) < 1e-9 and not v.has_live_orders():
                self._stopped = True
                stop = True
            elif max_events is not None and n_seen >= max_events:
                stop = True

    def _end(self, loop, ended: bool) -> LiveSummary:
        """After the feed: drain the venue (``ended``: the feed is over, run the simulator to the end of
        the data), final checkpoint, summary."""
        cfg = self.config
        v = self.venue
        rec = self.rec
        summ = self.summary
        n_seen = self._n_seen
        try:
            if ended:
                if not rec.on and self.journal is not None:
                    rec.on = True
                v.finish()
                t4 = time.perf_counter_ns()
                self._wakeups(0)
                rec.reports()
                self.metrics.record("strategy", time.perf_counter_ns() - t4)
            if rec.on and n_seen - 1 > self._last_cp:
                rec.checkpoint(n_seen - 1, v.event_ts(n_seen - 1) if n_seen else 0)
        finally:
            self._cleanup()
        elapsed = time.perf_counter() - self._t_start
        is_model = isinstance(self.stream, ModelStream)
        summ.wakeups = int(self._counters[K_WAKEUPS])
        summ.stopped_early = not ended
        summ.events = n_seen
        summ.orders = v.n_orders
        summ.fills = v.n_fills
        summ.position = v.position
        summ.cash = v.cash / self.scale
        mid = self._last_mid
        summ.pnl = (v.cash + (v.position * mid if v.position else 0.0)) / self.scale
        summ.elapsed_s = elapsed
        busy = elapsed - summ.warmup_s
        summ.events_per_s = n_seen / busy if busy > 0 else float("nan")
        summ.latency = self.metrics.summary()
        lat = summ.latency
        summ.targets_met = {
            "signal_us": le(lat["tick_to_decision"]["p99_us"], cfg.latency.signal_us),
            "features_model_us": (le(sum_p99(lat, ("features", "model")), cfg.latency.features_model_us)
                                  if is_model else None)}
        if self.journal is not None:
            pos = self.journal.position(self.instrument.symbol)
            cash = pos.cash - self.journal.base_cash  # this segment's cash
            summ.reconciled = bool(abs(pos.qty - v.position) < 1e-9
                                   and abs(cash - v.cash) <= 1e-6 * max(1.0, abs(v.cash)))
            r2 = self.journal.recover(verify=False)
            summ.checkpoint = r2.checkpoint
        return summ

    def _cleanup(self) -> None:
        """Close the status line and restore the SIGUSR1 handler (idempotent)."""
        self.status.close()
        if self._old_handler is not None:
            _signal.signal(_signal.SIGUSR1, self._old_handler)
            self._old_handler = None

    @property
    def last_book_row(self) -> np.ndarray | None:
        """The book after the last event processed (LOBSTER layout, ``4 * levels``; a copy)."""
        rows = self._last_rows
        return None if rows is None else rows[-1].copy()

    def _kill_now(self, reason: str) -> None:
        """Trip the kill switch at the last wake-up, without waiting for market data (a dead feed):
        cancel every order, flatten with a market order, halt; journaled as ``KILL_<reason>``."""
        v = self.venue
        if self.summary.killed is not None or v.halted:
            return
        self._kill_request = None
        t = v.wake_time
        oid = v.kill()
        self.summary.killed = reason
        k = v.wake_event
        self.rec.risk_event(t, f"KILL_{reason}", {"event": k, "position": v.position,
                                                "flatten_order": self.client_id(oid) if oid >= 0 else None})
        if not self.rec.on and self.journal is not None:
            self.rec.on = True
        self.rec.new_orders(self._tag)

    def status_text(self) -> str:
        """The one-line live status (events, position, P&L, orders, fills, p99 tick-to-decision)."""
        v = self.venue
        n = v.n
        p = self.metrics.percentile("tick_to_decision", 99) / 1e3
        pnl = (v.cash + (v.position * self._last_mid if v.position else 0.0)) / self.scale
        kill = f" | KILLED {self.summary.killed}" if self.summary.killed else ""
        return (f"[live] events {n:,} | pos {v.position:g} | P&L {pnl:,.2f} | orders {v.n_orders} "
                f"fills {v.n_fills} | p99 tick->decision {p:.1f} us{kill}")
