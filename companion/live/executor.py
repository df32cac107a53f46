"""The mini live executor: one event loop from market data to journaled fills.

One loop iteration per feed chunk (the events of one exchange timestamp)::

    chunk --> [book -> features -> model -> signal -> venue append -> risk -> strategy] --> journal
              ONE compiled call (live_chunk_nb) on two states (FrontState, DriveState);
              back in Python only to journal an order before it is sent

The executor holds no stage logic: it composes each stage's public state and step, the same ones
the batch path runs --

* **book / features / model / signal**: :mod:`companion.streaming` (``FrontPipeline``, ``ModelStream``
  / ``ImbalanceStream`` over :class:`companion.book.kernels.BookState`);
* **venue**: :class:`companion.live.venue.PaperVenue` (the backtest's exchange state, stepped with the feed);
* **strategy**: any strategy object, run by :class:`companion.live.drive.LiveDrive` (the compiled
  venue + strategy loop, the wake-ups, the write-ahead order records);
* **kill switch**: :class:`companion.live.kill_switch.KillSwitch` (stale feed, kill file, SIGUSR1,
  :meth:`LiveExecutor.request_kill`; the max loss is the venue's risk manager);
* **journal**: :class:`companion.live.recorder.JournalRecorder` over :class:`companion.live.journal.Journal`;
* **metrics**: :mod:`companion.live.metrics` (per-stage latency, :class:`~companion.live.metrics.LiveSummary`).

Python checks beforehand, cheaply, that no buffer can overflow and no kill request is pending; when
one can or one is, the chunk takes the three-call path (front, ``venue.on_market``, the wake-up
loop), which grows the buffers and trips the kill switch. :meth:`LiveExecutor.run` takes a
synchronous feed, :meth:`LiveExecutor.arun` an asynchronous one; both drive the same loop.

Crash recovery: :meth:`companion.live.journal.Journal.recover` gives the last checkpoint; the
deterministic pipeline re-runs the events up to it without writing (a *catch-up*), checks that it
reproduced the checkpoint's counts, then continues; the journal's idempotency keys make whatever
was journaled after the checkpoint no-ops. A replay through the executor produces exactly the
backtester's orders and fills (``tests/test_live_parity.py``).
"""
from __future__ import annotations

import signal as _signal
import time
from collections.abc import Callable, Iterable

import numpy as np

from companion.book import IncrementalBook
from companion.cycles import ns_per_cycle
from companion.events import Instrument
from companion.live.config import LiveConfig
from companion.live.drive import K_ORDERS, LiveDrive, entry_point
from companion.live.kill_switch import KillSwitch
from companion.live.metrics import STAGES, LatencyRecorder, LiveSummary, StatusLine
from companion.live.recorder import JournalRecorder, run_identity
from companion.live.venue import NEED_DATA
from companion.streaming import (
    CYC_BOOK,
    CYC_FEATURES,
    CYC_MODEL,
    CYC_SIGNAL,
    CYC_STRATEGY,
    CYC_TS,
    FRONT_ERRORS,
    FrontPipeline,
    ModelStream,
)

__all__ = ["LiveExecutor"]


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
    dataset : str, optional
        What the journal is bound to (:func:`companion.live.recorder.run_identity`).
    new_segment : bool
        Start a new segment of an existing journal (another day) instead of resuming it.
    strategy : object, optional
        The strategy to run (:class:`companion.live.drive.LiveDrive`), e.g. a market maker.
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
        #: the signal stage (book -> features -> model -> signal, or the imbalance classes)
        self.stream = config.signal_stream(instrument, model)
        #: the strategy object run (its ``kernel`` decides at each wake-up)
        self.strategy = strategy if strategy is not None else config.strategy_object(p_up=np.zeros(0))
        tag = config.strategy if strategy is None else str(getattr(strategy, "name", "strategy"))
        #: the journal stage (message numbers, write-ahead order records, reports, checkpoints)
        self.rec = JournalRecorder(journal, self.venue, instrument.symbol, self.scale, self.summary, tag=tag)
        if journal is not None:  # bound to its run: a resume with another dataset / config / model refuses
            try:
                seg = journal.bind(self.run_identity(getattr(self.stream, "model", None)), new_segment=new_segment)
            except BaseException:
                journal.close()
                raise
            self.rec.id_prefix = "" if seg <= 1 else f"S{seg}."
        ks = config.kill_switch
        self.kill = KillSwitch(self.venue, self.rec, self.summary, file=ks.file, stale_after_s=config.feed.stale_after_s)
        #: The decision stage (strategy state, signal buffers, counters, the compiled wake-up loop).
        self.drive = LiveDrive(self.strategy, self.venue, self.rec, self.kill, instrument, self.levels,
                               self.execution.max_orders, send_now=journal is None)
        self.metrics = LatencyRecorder(list(STAGES))
        self.status = StatusLine(enabled=status)
        self.on_chunk = on_chunk
        self._last_mid = np.nan
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

    @property
    def codes(self) -> np.ndarray:
        """The signal class code of each event so far (int8; the strategy's ``user_state[1]``)."""
        return self.drive.codes[: self._n_seen]

    @property
    def values(self) -> np.ndarray:
        """The signal value of each event so far (float64; ``user_state[2]``)."""
        return self.drive.values[: self._n_seen]

    @property
    def user_state(self):
        """The strategy's state (``build``'s ``user_state`` with the live signal buffers)."""
        return self.drive.user_state

    @property
    def wakeups(self) -> int:
        """Strategy wake-ups so far."""
        return self.drive.wakeups

    @property
    def messages(self) -> int:
        """Journal sequence numbers used so far (one per order, report, risk event)."""
        return self.rec.msg_seq

    @property
    def last_book_row(self) -> np.ndarray | None:
        """The book after the last event processed (LOBSTER layout, ``4 * levels``; a copy)."""
        rows = self._last_rows
        return None if rows is None else rows[-1].copy()

    def run_identity(self, model=None) -> dict:
        """What the journal is bound to: :func:`companion.live.recorder.run_identity` of this
        executor's config and dataset and ``model``."""
        return run_identity(self.config, self.dataset, model)

    def request_kill(self, reason: str = "MANUAL") -> None:
        """Trip the kill switch at the next wake-up (safe from a signal handler)."""
        self.kill.request_kill(reason)

    def client_id(self, order_id: int) -> str:
        """Our client order id: ``O<n>`` (segment 1), ``S<k>.O<n>`` in a journal's segment k > 1."""
        return self.rec.client_id(order_id)

    def status_text(self) -> str:
        """The one-line live status (events, position, P&L, orders, fills, p99 tick-to-decision)."""
        v = self.venue
        p = self.metrics.percentile("tick_to_decision", 99) / 1e3
        pnl = v.equity(self._last_mid) / self.scale
        kill = f" | KILLED {self.summary.killed}" if self.summary.killed else ""
        return (f"[live] events {v.n:,} | pos {v.position:g} | P&L {pnl:,.2f} | orders {v.n_orders} "
                f"fills {v.n_fills} | p99 tick->decision {p:.1f} us{kill}")

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

        The executor's clock is made non-decreasing (:func:`companion.live.feeds.monotone_clock`). A
        :class:`companion.live.feeds.StaleFeed` raised by the feed trips the kill switch at once
        (``STALE_FEED``: cancel every order, flatten with a market order, halt; the paper venue
        fills it only if market data resume) and ends the run. A
        :class:`companion.live.feeds.FeedError` (abrupt close, malformed or oversized frame, a
        snapshot-shaped stream frame, no snapshot) is fail-safe: kill switch (``FEED_ERROR``), the
        flatten order executed against the last book
        (:meth:`companion.live.venue.PaperVenue.heartbeat`), fills journaled, checkpoint, then the
        error is raised again as one line ending ``kill switch tripped: position <p>, checkpoint
        <k>``. Any other feed error propagates after the journal is checkpointed. Call
        :meth:`warm_up` before connecting (the CLI does).
        """
        from companion.live.feeds import FeedError, StaleFeed, monotone_clock

        loop = self._loop(None, max_events, handle_sigusr1)
        next(loop)
        last = np.iinfo(np.int64).min
        ended = True
        try:
            try:
                async for now_ns, ev in feed:
                    if len(ev) == 0:
                        continue
                    ev, last = monotone_clock(ev, last)
                    if loop.send((now_ns, ev)):
                        break
                ended = not self._stopped
            except StaleFeed:
                self.kill.trip_now("STALE_FEED")
                ended = False
            except FeedError as exc:  # closed, malformed, oversized, no snapshot: fail safe
                self.kill.trip_now("FEED_ERROR")
                if self.summary.killed is None:  # already halted by another rule
                    self.summary.killed = "FEED_ERROR"
                hb = self.venue.heartbeat(self.last_book_row)
                if hb is not None:
                    try:
                        loop.send((int(hb["ts"][0]), hb))
                    except StopIteration:
                        pass
                summ = self._end(loop, ended=True)
                raise type(exc)(f"{exc}; kill switch tripped: position {summ.position:g}, "
                                f"checkpoint {summ.checkpoint}") from None
            except Exception:  # a dead feed: checkpoint what was processed, then report the error
                self._end(loop, ended=False)
                raise
            return self._end(loop, ended=ended)
        finally:
            loop.close()
            self._cleanup()

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
        twin = LiveExecutor(cfg, synth.instrument(sc, levels=self.levels), levels=self.levels,
                            model=getattr(self.stream, "model", None), strategy=self.strategy)
        bounds = np.flatnonzero(np.diff(ev["ts"])) + 1
        twin.run([(int(ev["ts"][a]), ev[a:b]) for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(ev)])])
        return time.perf_counter() - t0

    # ---- the loop
    def _loop(self, book_rows, max_events, handle_sigusr1):
        """The executor loop as a coroutine: ``send((now_ns, events))`` processes one chunk and
        returns True when the run must stop (``max_events`` reached, or killed and flat); shared by
        :meth:`run` and :meth:`arun`. Set-up happens at the first ``next()``."""
        v, summ, rec, kill, drv = self.venue, self.summary, self.rec, self.kill, self.drive
        recovery = self.journal.recover() if self.journal is not None else None
        resume_after = -1 if recovery is None or recovery.checkpoint is None else int(recovery.checkpoint)
        summ.resumed_from = None if resume_after < 0 else resume_after
        cp_state = recovery.checkpoint_state if recovery is not None else None
        rec.on = self.journal is not None and resume_after < 0
        every = self.config.journal.checkpoint_every
        self._last_cp = resume_after
        self._n_seen = 0
        self._stopped = False
        self._old_handler = None
        if handle_sigusr1 and hasattr(_signal, "SIGUSR1"):
            self._old_handler = _signal.signal(_signal.SIGUSR1, lambda *_: self.request_kill("MANUAL_SIGNAL"))
        kill.reset()
        rec_ns, record_chunk = self.metrics.record, self.metrics.record_chunk
        pc = time.perf_counter_ns
        is_model = isinstance(self.stream, ModelStream)
        front = self._front
        cns = self._ns_per_cycle
        i_bk, i_ft, i_md, i_sg, i_st = CYC_BOOK, CYC_FEATURES, CYC_MODEL, CYC_SIGNAL, CYC_STRATEGY
        n_seen = 0
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
            kill.poll(now_ns, summ.chunks)  # stale feed, kill file
            if front is None:
                front = self._front = FrontPipeline(self.stream, self.book.state, self.levels, int(ev["ts"][0]))
                fst, cyc, no_rows = front.state, front.cyc, front.no_rows
                ev_dtype = ev.dtype
                fast = None  # the fused call's compiled entry point, resolved at its first use
                cnt = drv.counters
                chunk_nb, kargs = drv.chunk_nb, drv.kargs
                i_ord = K_ORDERS
                front_cap, v_cap = front.cap, v.capacity  # refreshed after a three-call chunk (buffers grow)
            # ---- tick to decision: book -> features -> model -> signal -> venue -> strategy
            warming = summ.chunks == 0
            t0 = pc()
            rows_in = no_rows if book_rows is None else np.ascontiguousarray(book_rows[a:z], dtype=np.float64)
            if z > drv.codes.size:
                drv.ensure_capacity(z)
            d = drv.current
            rec.write_ns = 0
            n_v = v.n
            if d is not None and kill.request is None and n_v + m <= v_cap and m <= front_cap \
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
                    rec.new_orders()
                if code != NEED_DATA:  # back to Python: journal the strategy's orders, or a venue error
                    drv.wakeups_until(int(cyc[CYC_TS]), code)
                t5 = pc()
                t_chunk = int(cyc[CYC_TS])  # the chunk's exchange time, left by the front kernel
                c = cyc.tolist()  # stage stamps (cycles)
                c0, c1, c2, c3, c5 = c[i_bk], c[i_ft], c[i_md], c[i_sg], c[i_st]
                v_ns = int((c5 - c3) * cns)  # venue append + venue / strategy loop
            else:  # three calls: front kernel, venue.on_market, the wake-up loop (buffers grow, kill switch)
                rows = front.run(ev, None if book_rows is None else rows_in, drv.codes, drv.values, a)
                t1 = pc()
                v.on_market(ev, rows)
                t_chunk = int(cyc[CYC_TS])
                drv.wakeups_until(t_chunk)
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
                record_chunk(t0, t1, t5, (c0, c1, c2, c3), cns, v_ns, jn, is_model)
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
        the data), final checkpoint, summary, reconciliation with the journal."""
        v, rec, n_seen = self.venue, self.rec, self._n_seen
        try:
            if ended:
                if not rec.on and self.journal is not None:
                    rec.on = True
                v.finish()
                t4 = time.perf_counter_ns()
                self.drive.wakeups_until(0)
                rec.reports()
                self.metrics.record("strategy", time.perf_counter_ns() - t4)
            if rec.on and n_seen - 1 > self._last_cp:
                rec.checkpoint(n_seen - 1, v.event_ts(n_seen - 1) if n_seen else 0)
        finally:
            self._cleanup()
        lat = self.config.latency
        self.summary.finish(v, events=n_seen, wakeups=self.drive.wakeups, ended=ended, last_mid=self._last_mid,
                            price_scale=self.scale, elapsed_s=time.perf_counter() - self._t_start,
                            latency=self.metrics.summary(), signal_us=lat.signal_us,
                            features_model_us=lat.features_model_us if isinstance(self.stream, ModelStream) else None)
        rec.reconcile()
        return self.summary

    def _cleanup(self) -> None:
        """Close the status line and restore the SIGUSR1 handler (idempotent)."""
        self.status.close()
        if self._old_handler is not None:
            _signal.signal(_signal.SIGUSR1, self._old_handler)
            self._old_handler = None
