"""The mini live executor: one event loop from market data to journaled fills.

Architecture (one loop iteration per feed chunk = the events of one exchange timestamp)::

    feed chunk ─► book ─► features ─► model ─► signal ─► venue (risk ─► strategy ─► orders) ─► reports ─► journal
    (replay /     (incremental   (streaming     (compiled  (class codes)  (wake-ups of the      (acks,      (SQLite WAL,
     websocket)    L2 rebuild)    FeatureEngine) LightGBM)                 feed-latency model)   fills)      checkpoints)
                                                             └────────── metrics: per-stage latency, counters, status ──┘

1. **book**: the chunk's events update a full-depth aggregated book kept across chunks (the
   kernels of :mod:`companion.book_kernels`); the top-``levels`` row after each event is written
   to a scratch buffer, exactly the rows :func:`companion.book.replay` gives in batch.
2. **features / model** (``strategy: model``): :class:`companion.features.FeatureEngine` consumes
   the chunk (the batch kernels, chunk by chunk) and emits the 1-second samples the chunk
   completes; :class:`companion.models.compiled.CompiledModel` scores them. Each event gets the
   latest P(up) with sample time ``<= ts`` (:func:`companion.signals.align_predictions`).
3. **signal**: one int8 class code per event -- the composite book imbalance classified with the
   weak / strong thresholds (:mod:`companion.signals`, the scalper), or the model rule on P(up)
   and trailing OFI.
4. **venue**: the chunk goes to the venue (``companion.live.venue.PaperVenue``: the
   simulator stepped with the feed). At each wake-up (the moment the strategy sees an event) the
   risk checks run (:func:`companion.sim.risk.risk_check_nb`: max position, max spread, trade
   rate, max loss = the kill switch's DAILY_LOSS rule, end of day), then the strategy state machine
   ``companion.backtest.strategies.signal_trader_nb`` -- the backtester's own kernel -- decides;
   its orders are journaled, then sent.
5. **reports**: acks, fills, cancels delivered by the venue are journaled
   (:class:`companion.live.journal.Journal`: one transaction each, idempotent ids), and every
   ``checkpoint_every`` events a checkpoint marks the inputs whose effects are all journaled.

Kill switch: a stale feed (no chunk for ``feed.stale_after_s`` of feed-clock time), the session
max loss (``risk.max_loss``), or a manual request (SIGUSR1, the ``kill_switch.file`` appearing -- polled every 64 chunks and every
100 ms of feed clock --
:meth:`LiveExecutor.request_kill`) cancels every order, flattens the position with a market order
and stops the strategy; the loop ends once the position is flat.

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

import os
import signal as _signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
from numba import njit

from companion import signals as sg
from companion.book_kernels import _grow_nb, _replay_run_nb, _seed_nb
from companion.events import NS, Instrument
from companion.features.kernels import new_order_maps
from companion.live.config import LiveConfig
from companion.backtest.strategies import signal_trader_nb
from companion.live.metrics import LatencyRecorder, StatusLine
from companion.live.venue import NEED_DATA, paper_step_nb
from companion.sim.exchange import F_LCASH, F_LPOS, I_NORD, I_WAKE_EV, I_WAKE_T, WAKEUP
from companion.sim.orders import ACT_SUBMIT, ORDER_TYPE_NAMES
from companion.sim.risk import ACTION_HALT, RISK_ACTION_NAMES, RULE_DAILY_LOSS, RULE_NAMES

__all__ = ["IncrementalBook", "ImbalanceStream", "ModelStream", "LiveExecutor", "LiveSummary", "STAGES"]

#: the kill file is polled every 64 chunks and at least every 100 ms of feed clock
_POLL_NS = 100_000_000

#: latency stages recorded per chunk (``tick_to_decision`` = book + features + model + signal +
#: strategy: from the chunk's arrival in the loop to the orders it causes; the journal's writes,
#: including the write-ahead record of each order made between its decision and its send, are
#: the ``journal`` stage)
STAGES = ("book", "features", "model", "signal", "strategy", "journal", "tick_to_decision")


# ============================================================================ pipeline stages
class IncrementalBook:
    """Full-depth aggregated L2 book kept across chunks; :meth:`apply` returns the top-``levels`` row
    after each event of a chunk (the kernels of :mod:`companion.book_kernels`, state carried over).

    ``initial``: the book before the first event as one LOBSTER row (default empty).
    """

    def __init__(self, levels: int = 10, initial: np.ndarray | None = None, chunk_capacity: int = 1024):
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        init = np.empty(0) if initial is None else np.ascontiguousarray(initial, dtype=np.float64).ravel()
        self.levels = int(levels)
        self._akey, self._aqty, self._na, self._bkey, self._bqty, self._nb = _seed_nb(init, 256)
        self.counters = np.zeros(3, dtype=np.int64)
        self.counters[1], self.counters[2] = self._na, self._nb
        self._rows = np.empty((chunk_capacity, 4 * self.levels))

    def apply(self, kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Apply a chunk (contiguous columns); returns ``(len, 4*levels)`` rows (a reused buffer)."""
        m = kind.size
        if m > self._rows.shape[0]:
            self._rows = np.empty((max(m, 2 * self._rows.shape[0]), 4 * self.levels))
        out = self._rows[:m]
        t = 0
        while t < m:
            t, self._na, self._nb = _replay_run_nb(kind, side, price, size, t, self._akey, self._aqty, self._na,
                                                   self._bkey, self._bqty, self._nb, out, self.counters)
            if t < m:  # a side is full: grow it and resume
                if self._na == self._akey.size:
                    self._akey, self._aqty = _grow_nb(self._akey, self._aqty)
                if self._nb == self._bkey.size:
                    self._bkey, self._bqty = _grow_nb(self._bkey, self._bqty)
        return out


@njit(cache=True)
def imbalance_codes_into_nb(kind, side, price, size, oid, rows, levels, tick, w_v, w_d, w_n, weak, strong,
                            orders, counts, codes, values, a) -> None:
    """The composite imbalance and its class code of each row of a chunk, written to
    ``codes[a:]`` / ``values[a:]``: the kernels of :mod:`companion.signals` in one call."""
    iv = sg.volume_imbalance_nb(rows, levels)
    idw = sg.distance_weighted_imbalance_nb(rows, levels, tick)
    ic = sg.count_imbalance_rows_nb(kind, side, price, size, oid, rows, levels, orders, counts)
    comp = sg.composite_nb(iv, idw, ic, w_v, w_d, w_n)
    c = sg.classify_nb(comp, weak, strong)
    for j in range(rows.shape[0]):
        codes[a + j] = c[j]
        values[a + j] = comp[j]


class ImbalanceStream:
    """The scalper's composite imbalance per event, streamed (:mod:`companion.signals` kernels on the
    chunk's rows; the per-order map of the order-count part carried across chunks). Equal to
    ``ImbalanceScalper.codes`` in batch."""

    def __init__(self, levels: int, weak: float, strong: float, tick: float, weights=sg.DEFAULT_WEIGHTS):
        self.levels, self.weak, self.strong, self.tick = int(levels), float(weak), float(strong), float(tick)
        self.w = tuple(float(x) for x in weights)
        self._orders, self._counts = new_order_maps()

    def codes_into(self, ev: np.ndarray, rows: np.ndarray, codes: np.ndarray, values: np.ndarray, a: int) -> None:
        """Codes and composite values of the chunk ``ev`` (book ``rows``) into ``codes[a:]`` / ``values[a:]``."""
        L = min(self.levels, rows.shape[1] // 4)
        imbalance_codes_into_nb(ev["kind"], ev["side"], ev["price"], ev["size"], ev["order_id"], rows, L, self.tick,
                                *self.w, self.weak, self.strong, self._orders, self._counts, codes, values, a)


@njit(cache=True)
def trailing_sum_into_nb(ts: np.ndarray, x: np.ndarray, start: int, stop: int, window_ns: int,
                         state: np.ndarray, lo_state: np.ndarray, out: np.ndarray) -> None:
    """Streaming :func:`companion.signals.trailing_sum_nb` over ``start..stop-1`` (the same additions
    in the same order, so the same floats): ``state[0]`` the running sum, ``lo_state[0]`` the window's
    first index."""
    acc = state[0]
    lo = lo_state[0]
    for i in range(start, stop):
        acc += x[i]
        while ts[lo] <= ts[i] - window_ns:
            acc -= x[lo]
            lo += 1
        out[i - start] = acc
    state[0] = acc
    lo_state[0] = lo


class ModelStream:
    """The model rule per event, streamed: 1-s features (:class:`~companion.features.FeatureEngine`)
    -> compiled P(up) -> latest P(up) at or before each event, and causal trailing OFI (CKS 2014
    eq. 10 summed over ``ofi_levels``, window ``ofi_window_s``) -> :func:`companion.signals.model_rule`.
    """

    def __init__(self, model, instrument: Instrument, p_long: float, p_short: float, ofi_threshold: float,
                 ofi_window_s: float, ofi_levels: int = 1, grid: str = "1s"):
        from companion.features import FeatureEngine

        if model.num_class != 1:
            raise ValueError("the model must output one value (binary P(up) or a regression)")
        if not model.feature_names:
            raise ValueError("the compiled model has no feature names (compile it with from_model/from_file)")
        self.model = model
        self.engine = FeatureEngine(instrument, grid=grid, features=list(model.feature_names))
        self.step = self.engine.grid.step_ns
        self.p_long, self.p_short, self.thr = float(p_long), float(p_short), float(ofi_threshold)
        self.window = int(round(ofi_window_s * NS))
        self.ofi_levels = int(ofi_levels)
        self.p_last = np.nan
        self.samples_t: list[np.ndarray] = []
        self.samples_p: list[np.ndarray] = []
        self._prev_row: np.ndarray | None = None
        self._ts = np.zeros(1 << 16, np.int64)
        self._e = np.zeros(1 << 16)
        self._n = 0
        self._acc = np.zeros(1)
        self._lo = np.zeros(1, np.int64)

    def features(self, events: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stage 2: the samples this chunk completes (a chunk holds every event of its timestamp,
        so the sample at exactly that time is complete too)."""
        st, X = self.engine.update_arrays(events, rows)
        T = int(events["ts"][-1])
        start = self.engine.start_ns
        if start is not None and T >= start and (T - start) % self.step == 0:
            st2, X2 = self.engine.flush_arrays(T)
            if len(st2):
                st, X = np.concatenate([st, st2]), np.concatenate([X, X2])
        return st, X

    def predict(self, st: np.ndarray, X: np.ndarray) -> None:
        """Stage 3: score the new samples; keep the latest P(up)."""
        if len(st):
            p = self.model.predict_output(X)
            self.p_last = float(p[-1])
            self.samples_t.append(st)
            self.samples_p.append(p)

    def codes_into(self, ev: np.ndarray, rows: np.ndarray, codes: np.ndarray, values: np.ndarray, a: int) -> None:
        """Stage 4: model-rule codes and the P(up) of each event of the chunk into ``codes[a:]`` / ``values[a:]``."""
        from companion.flow.ofi import ofi_multilevel_events

        m = rows.shape[0]
        if self._prev_row is None:
            e = ofi_multilevel_events(rows, self.ofi_levels).sum(axis=1)
        else:
            e = ofi_multilevel_events(np.vstack([self._prev_row, rows]), self.ofi_levels).sum(axis=1)[1:]
        self._prev_row = rows[-1].copy()
        if self._n + m > self._ts.size:
            cap = max(2 * self._ts.size, self._n + m)
            self._ts = np.concatenate([self._ts, np.zeros(cap - self._ts.size, np.int64)])
            self._e = np.concatenate([self._e, np.zeros(cap - self._e.size)])
        b, z = self._n, self._n + m
        self._ts[b:z] = ev["ts"]
        self._e[b:z] = e
        ofi = np.empty(m)
        trailing_sum_into_nb(self._ts, self._e, b, z, self.window, self._acc, self._lo, ofi)
        self._n = z
        p = np.full(m, self.p_last)
        codes[a:a + m] = sg.model_rule(p, ofi, self.thr, self.p_long, self.p_short)
        values[a:a + m] = p

    def predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """All ``(sample times, P(up))`` scored so far."""
        if not self.samples_t:
            return np.empty(0, np.int64), np.empty(0)
        return np.concatenate(self.samples_t), np.concatenate(self.samples_p)


# ============================================================================ strategy driver
WAKE_ACTIONS = 10  #: :func:`drive_nb`: the strategy acted; its actions wait in the buffer


@njit(cache=True)
def drive_nb(mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_pending, params, user_state,
             counters):
    """Run the paper venue (:func:`companion.live.venue.paper_step_nb`) and the strategy
    (``companion.backtest.strategies.signal_trader_nb``) in one compiled loop up to ``until``.

    Returns ``WAKE_ACTIONS`` (``counters[1]`` actions written to ``actions``, not sent yet: the
    caller journals them and calls again with ``n_pending``) or the venue's code (``NEED_DATA`` /
    ``DONE`` / an error). ``counters[0]`` counts the wake-ups.
    """
    istate, fstate, rng = st
    book = mkt[7]
    n_act = n_pending
    while True:
        code = paper_step_nb(mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_act)
        if code != WAKEUP:
            return code
        counters[0] += 1
        k = istate[I_WAKE_EV]
        n_act = signal_trader_nb(istate[I_WAKE_T], k, book[k], fstate[F_LPOS], fstate[F_LCASH], out[0],
                                 istate[I_NORD], params, user_state, actions)
        if n_act > 0:
            counters[1] = n_act
            return WAKE_ACTIONS


# ============================================================================ summary
@dataclass
class LiveSummary:
    """What a run did. Money in currency; latency in µs per stage (``{n, p50_us, p99_us, mean_us, max_us}``)."""

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
    latency: dict = field(default_factory=dict)
    targets_met: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


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
        ``on_chunk(executor, events_seen)`` after every chunk (demos, tests).
    """

    def __init__(self, config: LiveConfig, instrument: Instrument, *, levels: int = 10, journal=None, model=None,
                 venue=None, status: bool = False, on_chunk: Callable | None = None):
        from companion.live.journal import Journal
        from companion.live.venue import PaperVenue

        self.config = config
        self.instrument = instrument
        self.levels = int(levels)
        self.scale = float(instrument.price_scale)
        if journal is not None and not isinstance(journal, Journal):
            journal = Journal(journal, synchronous=config.journal.synchronous)
        self.journal = journal
        self.execution = config.execution_config(instrument)
        self.venue = venue if venue is not None else PaperVenue(instrument, self.execution, levels=self.levels)
        self.book = IncrementalBook(self.levels)
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
        strat = config.strategy_object()
        self._kernel = strat.kernel
        self._params = strat._params(float(instrument.tick))
        from companion.backtest.strategies import D_K, N_DEC, N_STATE, S_ENTRY_T, S_LAST_EXIT_T

        state = np.zeros(N_STATE)
        state[S_ENTRY_T] = -1.0
        state[S_LAST_EXIT_T] = -np.inf
        dec = np.zeros((self.execution.max_orders + 1000, N_DEC))
        dec[:, D_K] = -1.0
        self._state, self._dec = state, dec
        self._codes = np.zeros(1 << 16, np.int8)
        self._values = np.zeros(1 << 16)
        self._user_state = (self._state, self._codes, self._values, self._dec)
        self.metrics = LatencyRecorder(list(STAGES))
        self.status = StatusLine(enabled=status)
        self.on_chunk = on_chunk
        self.summary = LiveSummary()
        self._kill_request: str | None = None
        self._kill_file = Path(config.kill_switch.file) if config.kill_switch.file else None
        self._n_journaled_orders = 0
        self._n_risk_seen = 0
        self._msg_seq = 0
        self._to_check: list[int] = []
        self._journal_on = False
        self._last_mid = np.nan
        self._counters = np.zeros(2, np.int64)
        self._journal_ns = 0  # journal writes made inside the strategy stage (write-ahead of orders)

    # ---- controls
    def request_kill(self, reason: str = "MANUAL") -> None:
        """Trip the kill switch at the next wake-up (safe from a signal handler)."""
        if self._kill_request is None and self.summary.killed is None:
            self._kill_request = reason

    # ---- journal helpers
    def _seq(self) -> int:
        self._msg_seq += 1
        return self._msg_seq

    @staticmethod
    def client_id(order_id: int) -> str:
        return f"O{order_id}"

    def _journal_new_orders(self) -> None:
        """Journal the orders the venue created that are not journaled yet (risk-manager orders)."""
        v = self.venue
        n = v.n_orders
        while self._n_journaled_orders < n:
            j = self._n_journaled_orders
            o = v.orders[j]
            self._record_order(j, int(o["ts_submit"]), int(o["side"]), int(o["price"]), float(o["qty"]),
                               int(o["otype"]), "risk" if o["by_risk"] else self.config.strategy)
            self._to_check.append(j)

    def _record_order(self, oid: int, t: int, side: int, price: int, qty: float, otype: int, tag: str) -> None:
        seq = self._seq()
        if self._journal_on:
            t0 = time.perf_counter_ns()
            self.journal.record_order(self.client_id(oid), self.instrument.symbol, t, side, price, qty,
                                      order_type=ORDER_TYPE_NAMES[otype], strategy=tag, seq=seq)
            self._journal_ns += time.perf_counter_ns() - t0
        self._n_journaled_orders = max(self._n_journaled_orders, oid + 1)

    def _check_pretrade_rejects(self) -> None:
        v = self.venue
        for j in self._to_check:
            if j < v.n_orders and v.rejected_by_risk(j):
                seq = self._seq()
                if self._journal_on:
                    self.journal.update_order(self.client_id(j), "REJECTED", int(v.orders[j]["ts_submit"]),
                                              reason="RISK", seq=seq)
        self._to_check = [j for j in self._to_check if j >= v.n_orders]

    def _process_reports(self) -> None:
        v = self.venue
        self._check_pretrade_rejects()
        for r in v.reports():
            seq = self._seq()
            if r.kind == "fill":
                self.summary.fees += r.fee / self.scale
            if not self._journal_on:
                continue
            cid = self.client_id(r.order_id)
            if r.kind == "ack":
                self.journal.update_order(cid, "ACK", r.t_local, venue_order_id=str(r.order_id), seq=seq)
            elif r.kind == "fill":
                self.journal.record_fill(f"F{r.fill_id}", cid, r.t_exchange, int(round(r.price)), r.qty, r.side,
                                         liquidity=r.liquidity, fee=r.fee, seq=seq)
            else:
                status = "REJECTED" if r.status == "REJECTED" else "CANCELLED"
                reason = r.reason or (r.status if r.status == "EXPIRED" else "")
                self.journal.update_order(cid, status, r.t_local, reason=reason, seq=seq)
        # risk decisions of the venue's risk checks
        rk = v.risk_events
        while self._n_risk_seen < len(rk):
            e = rk[self._n_risk_seen]
            self._n_risk_seen += 1
            rule, action = RULE_NAMES.get(int(e["rule"]), str(e["rule"])), RISK_ACTION_NAMES.get(int(e["action"]), "")
            if int(e["rule"]) == RULE_DAILY_LOSS and int(e["action"]) == ACTION_HALT and self.summary.killed is None:
                self.summary.killed = "MAX_LOSS"
            self._risk_event(int(e["ts"]), f"{rule}_{action}",
                             {"event": int(e["event_idx"]), "position": float(e["position"]),
                              "equity": float(e["equity"]) / self.scale if e["equity"] == e["equity"] else None,
                              "value": float(e["value"])})

    def _risk_event(self, ts: int, kind: str, detail: dict) -> None:
        seq = self._seq()
        self.summary.risk_events += 1
        if self._journal_on:
            self.journal.record_risk_event(ts, kind, detail, seq=seq)

    # ---- the wake-up loop
    def _wakeups(self, until_ns: int) -> None:
        """Wake-ups up to ``until_ns``: compiled venue + strategy loop; back in Python only to journal
        the strategy's orders before they are sent, or to trip the kill switch."""
        v = self.venue
        cnt = self._counters
        pending = 0
        while True:
            if self._kill_request is not None and not v.halted:
                if not self._kill_at_next_wakeup(until_ns):
                    break
                continue
            code = drive_nb(v._mkt, v.n, v.final, int(until_ns), v._cfg, v._lat, v._limits, v._st, v._out,
                            v.actions, pending, self._params, self._user_state, cnt)
            v.set_actions(0)
            if v.n_orders > self._n_journaled_orders:
                self._journal_new_orders()
            if code != WAKE_ACTIONS:
                if code != NEED_DATA and code != 0:
                    raise RuntimeError(f"paper venue error code {code} (buffer full: raise max_orders)")
                break
            pending = int(cnt[1])
            ist = v._st[0]
            t, nxt = int(ist[I_WAKE_T]), v.n_orders
            for a in v.actions[:pending]:
                if a["kind"] == ACT_SUBMIT:  # journal the order before it is sent
                    self._record_order(nxt, t, int(a["side"]), int(a["price"]), float(a["qty"]), int(a["otype"]),
                                       self.config.strategy)
                    self._to_check.append(nxt)
                    nxt += 1
        self.summary.wakeups = int(cnt[0])

    def _kill_at_next_wakeup(self, until_ns: int) -> bool:
        """Step to the next wake-up (no strategy call) and trip the kill switch there."""
        v = self.venue
        self._kill_request, reason = None, self._kill_request
        w = v.next_wakeup(until_ns)
        if v.n_orders > self._n_journaled_orders:
            self._journal_new_orders()
        if w is None:  # no wake-up before the next chunk: keep the request
            self._kill_request = reason
            return False
        t, k = w
        self._counters[0] += 1
        oid = v.kill()
        self.summary.killed = reason
        self._risk_event(t, f"KILL_{reason}", {"event": k, "position": v.position,
                                                "flatten_order": self.client_id(oid) if oid >= 0 else None})
        self._journal_new_orders()
        return True

    def _ensure_capacity(self, n: int) -> None:
        if n > self._codes.size:
            cap = max(n, 2 * self._codes.size)
            self._codes = np.concatenate([self._codes, np.zeros(cap - self._codes.size, np.int8)])
            self._values = np.concatenate([self._values, np.zeros(cap - self._values.size)])
            self._user_state = (self._state, self._codes, self._values, self._dec)

    def _kill_file_present(self) -> bool:
        return self._kill_file is not None and self._kill_file.exists()

    # ---- run
    def run(self, feed: Iterable, book_rows: np.ndarray | None = None, max_events: int | None = None,
            crash_after_events: int | None = None, handle_sigusr1: bool = False) -> LiveSummary:
        """Consume ``feed`` (an iterable of ``(now_ns, events)`` chunks, e.g.
        :class:`companion.live.feeds.LobsterReplayFeed`) until it ends, ``max_events`` were
        processed, or the kill switch flattened the position.

        ``book_rows``: the book after each event from the data source (a LOBSTER orderbook file,
        whose depth the messages alone cannot rebuild); default: rebuilt from the events.
        ``crash_after_events``: SIGKILL this process once that many events were processed (the
        crash demo). ``handle_sigusr1``: SIGUSR1 trips the kill switch.
        """
        cfg = self.config
        v = self.venue
        summ = self.summary
        rec = self.journal.recover() if self.journal is not None else None
        resume_after = -1 if rec is None or rec.checkpoint is None else int(rec.checkpoint)
        summ.resumed_from = None if resume_after < 0 else resume_after
        cp_state = rec.checkpoint_state if rec is not None else None
        self._journal_on = self.journal is not None and resume_after < 0
        stale_ns = None if cfg.feed.stale_after_s is None else int(cfg.feed.stale_after_s * NS)
        every = cfg.journal.checkpoint_every
        last_cp = resume_after
        old_handler = None
        if handle_sigusr1 and hasattr(_signal, "SIGUSR1"):
            old_handler = _signal.signal(_signal.SIGUSR1, lambda *_: self.request_kill("MANUAL_SIGNAL"))
        rec_ns = self.metrics.record
        pc = time.perf_counter_ns
        is_model = isinstance(self.stream, ModelStream)
        n_seen = 0
        last_now = None
        last_poll = -_POLL_NS
        t_start = time.perf_counter()
        ended = True
        try:
            for now_ns, ev in feed:
                if max_events is not None and n_seen + len(ev) > max_events:
                    ev = ev[: max_events - n_seen]
                m = len(ev)
                if m == 0:
                    break
                a, z = n_seen, n_seen + m
                if not self._journal_on and self.journal is not None and z - 1 > resume_after:
                    self._journal_on = True
                    self._verify_catch_up(cp_state)
                # kill switch: stale feed / manual
                if stale_ns is not None and last_now is not None and now_ns - last_now > stale_ns \
                        and summ.killed is None:
                    self.request_kill("STALE_FEED")
                last_now = now_ns
                if summ.chunks % 64 == 0 or now_ns - last_poll >= _POLL_NS:  # the kill file
                    last_poll = now_ns
                    if self._kill_file_present():
                        self.request_kill("MANUAL_FILE")
                t0 = pc()
                if book_rows is not None:
                    rows = np.ascontiguousarray(book_rows[a:z], dtype=np.float64)
                else:
                    rows = self.book.apply(ev["kind"], ev["side"], ev["price"], ev["size"])
                t1 = pc()
                rec_ns("book", t1 - t0)
                if is_model:
                    st, X = self.stream.features(ev, rows)
                    t2 = pc()
                    self.stream.predict(st, X)
                    t3 = pc()
                    rec_ns("features", t2 - t1)
                    rec_ns("model", t3 - t2)
                else:
                    t3 = t1
                self._ensure_capacity(z)
                self.stream.codes_into(ev, rows, self._codes, self._values, a)
                t4 = pc()
                rec_ns("signal", t4 - t3)
                v.on_market(ev, rows)
                t_chunk = int(ev[m - 1]["ts"])
                self._journal_ns = 0
                self._wakeups(t_chunk)
                t5 = pc()
                jn = self._journal_ns
                rec_ns("strategy", t5 - t4 - jn)
                rec_ns("tick_to_decision", t5 - t0 - jn)
                self._process_reports()
                n_seen = z
                summ.chunks += 1
                if self._journal_on and z - 1 - last_cp >= every:
                    self._checkpoint(z - 1, t_chunk)
                    last_cp = z - 1
                rec_ns("journal", pc() - t5 + jn)
                r = rows[-1]
                if r[1] > 0 and r[3] > 0:
                    self._last_mid = 0.5 * (r[0] + r[2])
                if self.on_chunk is not None:
                    self.on_chunk(self, n_seen)
                if self.status.due():
                    self.status.show(self.status_text())
                if crash_after_events is not None and n_seen >= crash_after_events:
                    os.kill(os.getpid(), _signal.SIGKILL)
                if summ.killed is not None and v.halted and abs(v.position) < 1e-9 and not v.has_live_orders():
                    ended = False
                    break
                if max_events is not None and n_seen >= max_events:
                    break
            if ended:
                if not self._journal_on and self.journal is not None:
                    self._journal_on = True
                v.finish()
                t4 = pc()
                self._wakeups(0)
                self._process_reports()
                rec_ns("strategy", pc() - t4)
            if self._journal_on and n_seen - 1 > last_cp:
                self._checkpoint(n_seen - 1, int(v._mkt[0][n_seen - 1]) if n_seen else 0)
        finally:
            self.status.close()
            if old_handler is not None:
                _signal.signal(_signal.SIGUSR1, old_handler)
        elapsed = time.perf_counter() - t_start
        summ.stopped_early = not ended
        summ.events = n_seen
        summ.orders = v.n_orders
        summ.fills = v.n_fills
        summ.position = v.position
        summ.cash = v.cash / self.scale
        mid = self._last_mid
        summ.pnl = (v.cash + (v.position * mid if v.position else 0.0)) / self.scale
        summ.elapsed_s = elapsed
        summ.events_per_s = n_seen / elapsed if elapsed > 0 else float("nan")
        summ.latency = self.metrics.summary()
        lat = summ.latency
        summ.targets_met = {
            "signal_us": _le(lat["tick_to_decision"]["p99_us"], cfg.latency.signal_us),
            "features_model_us": (_le(_sum_p99(lat, ("features", "model")), cfg.latency.features_model_us)
                                  if is_model else None)}
        if self.journal is not None:
            pos = self.journal.position(self.instrument.symbol)
            summ.reconciled = bool(abs(pos.qty - v.position) < 1e-9 and abs(pos.cash - v.cash) <= 1e-6 * max(1.0, abs(v.cash)))
            r2 = self.journal.recover(verify=False)
            summ.checkpoint = r2.checkpoint
        return summ

    def _checkpoint(self, seq: int, ts: int) -> None:
        v = self.venue
        self.journal.checkpoint(seq, ts=ts, state={"msg_seq": self._msg_seq, "orders": v.n_orders,
                                                   "fills": v.n_fills, "position": v.position})
        self.summary.checkpoint = seq

    def _verify_catch_up(self, state) -> None:
        """After the catch-up replay: the pipeline must have reproduced the checkpoint's counts."""
        if not state:
            return
        v = self.venue
        got = {"msg_seq": self._msg_seq, "orders": v.n_orders, "fills": v.n_fills, "position": v.position}
        want = {k: state.get(k) for k in got}
        if got != want:
            raise RuntimeError(f"the replay up to the checkpoint does not reproduce the journal: {got} != {want} "
                               "(another dataset, config or code version?)")

    def status_text(self) -> str:
        """The one-line live status (events, position, P&L, orders, fills, p99 tick-to-decision)."""
        v = self.venue
        n = v.n
        p = self.metrics.percentile("tick_to_decision", 99) / 1e3
        pnl = (v.cash + (v.position * self._last_mid if v.position else 0.0)) / self.scale
        kill = f" | KILLED {self.summary.killed}" if self.summary.killed else ""
        return (f"[live] events {n:,} | pos {v.position:g} | P&L {pnl:,.2f} | orders {v.n_orders} "
                f"fills {v.n_fills} | p99 tick->decision {p:.1f} us{kill}")


def _le(x, target) -> bool | None:
    return None if x is None else bool(x <= target)


def _sum_p99(lat: dict, stages) -> float | None:
    vals = [lat[s]["p99_us"] for s in stages]
    return None if any(x is None for x in vals) else float(sum(vals))
