"""The mini live executor: one event loop from market data to journaled fills.

Architecture (one loop iteration per feed chunk = the events of one exchange timestamp)::

    chunk --> [book -> features -> model -> signal -> venue append -> risk -> strategy] --> journal
    (replay/   ONE compiled call, live_chunk_nb, on two state objects (FrontState,      (reports,
     websocket) DriveState); back in Python only to journal an order before it is sent  checkpoints)
               └──── metrics: per-stage latency (cycle counter inside the call), counters, status ────┘

Per chunk Python makes one call, :func:`live_chunk_nb`: the fused front kernel
(:func:`front_chunk_nb`), the chunk appended to the paper venue (what ``PaperVenue.on_market``
does) and the venue + strategy loop (:func:`drive_state_nb`). Its arguments are two state objects
(numba ``StructRef``) instead of dozens of arrays and typed dicts, and it is called through its
compiled entry point (resolved once: no per-call type dispatch). Python checks beforehand, cheaply,
that no buffer can overflow and no kill request is pending; when one can or one is, the chunk takes
the three-call path (front kernel, ``venue.on_market``, the wake-up loop), which grows the buffers
and trips the kill switch. With a journal, the call returns to Python before each order the
strategy sends (the write-ahead record), then the loop goes on. The journal, the kill switch and
the metrics stay in Python.

1. **book**: the chunk's events update a full-depth aggregated book kept across chunks (the
   kernels of :mod:`companion.book_kernels`); the top-``levels`` row after each event is written
   to a scratch buffer, exactly the rows :func:`companion.book.replay` gives in batch.
2. **features / model** (``strategy: model``): the group kernels of :mod:`companion.features.kernels`
   run on the :class:`companion.features.FeatureEngine`'s own state arrays (the batch kernels, chunk
   by chunk, so the samples equal the batch ones) and emit the 1-second samples the chunk completes
   (the one at the chunk's own time too: a chunk holds every event of its timestamp); the compiled
   LightGBM model (:func:`companion.models.compiled.predict_row_flat_into_nb`) scores them. Each
   event gets the latest P(up) with sample time ``<= ts`` (:func:`companion.signals.align_predictions`).
3. **signal**: one int8 class code per event -- the composite book imbalance classified with the
   weak / strong thresholds (:mod:`companion.signals`, the scalper), or the model rule on P(up)
   and trailing OFI (the additions of :func:`companion.signals.trailing_ofi`).
4. **venue**: the chunk goes to the venue (``companion.live.venue.PaperVenue``: the
   simulator stepped with the feed). At each wake-up (the moment the strategy sees an event) the
   risk checks run (:func:`companion.sim.risk.risk_check_nb`: max position, max spread, trade
   rate, max loss = the kill switch's DAILY_LOSS rule, end of day), then the strategy state machine
   ``companion.backtest.strategies.signal_trader_nb`` -- the backtester's own kernel -- decides;
   its orders are journaled, then sent (without a journal they are sent from inside the call).
5. **reports**: acks, fills, cancels delivered by the venue are journaled
   (:class:`companion.live.journal.Journal`: one transaction each, idempotent ids), and every
   ``checkpoint_every`` events a checkpoint marks the inputs whose effects are all journaled.

:meth:`LiveExecutor.run` takes a synchronous feed, :meth:`LiveExecutor.arun` an asynchronous one
(:class:`companion.live.feeds.BinanceWebSocketFeed`); both drive the same loop.
:class:`ImbalanceStream` / :class:`ModelStream` keep the stage-by-stage Python path (one call per
stage) as a readable reference.

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
import os
import signal as _signal
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from numba import njit, types
from numba.experimental import structref

from companion import signals as sg
from companion.backtest.strategies import signal_trader_nb
from companion.book_kernels import _grow_nb, _replay_run_nb, _seed_nb
from companion.events import NS, Instrument
from companion.features import kernels as K
from companion.features.kernels import new_order_maps
from companion.flow.ofi import DUMMY_ABS, cks_e_nb
from companion.live.config import LiveConfig
from companion.live.metrics import LatencyRecorder, StatusLine, cycles_nb, ns_per_cycle
from companion.live.venue import NEED_DATA, append_events_nb, paper_step_nb
from companion.models.compiled import convert_output_nb, predict_row_flat_into_nb
from companion.sim.exchange import C_HAS_IDS, I_NORD, I_WAKE_EV, I_WAKE_T, WAKEUP, add_index_into_nb, wake_strategy_nb
from companion.sim.orders import ACT_SUBMIT, ORDER_TYPE_NAMES
from companion.sim.risk import ACTION_HALT, RISK_ACTION_NAMES, RULE_DAILY_LOSS, RULE_NAMES

__all__ = ["IncrementalBook", "ImbalanceStream", "ModelStream", "FrontPipeline", "FrontState", "front_chunk_nb",
           "DriveState", "drive_nb", "drive_state_nb", "live_chunk_nb", "LiveExecutor", "LiveSummary", "STAGES"]

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
        self._front = None

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
        if self._front is not None:  # the executor's fused front kernel scored them
            return _samples_nb(self._front)
        if not self.samples_t:
            return np.empty(0, np.int64), np.empty(0)
        return np.concatenate(self.samples_t), np.concatenate(self.samples_p)


# ============================================================================ the fused front kernel
#: group codes of :data:`companion.features.spec.GROUPS` (ofi, imbalance, book, trades, queue, volatility, vpin, time)
_G_CODES = {"ofi": 0, "imbalance": 1, "book": 2, "trades": 3, "queue": 4, "volatility": 5, "vpin": 6, "time": 7}

#: front-kernel return codes
FRONT_OK, FRONT_UNSORTED, FRONT_BEFORE_LAST, FRONT_FLUSHED = 0, -1, -2, -3
_FRONT_ERRORS = {FRONT_UNSORTED: "event timestamps must be non-decreasing",
                 FRONT_BEFORE_LAST: "chunk starts before the last event seen",
                 FRONT_FLUSHED: "chunk has a timestamp already flushed"}

# the fields of FrontState, in constructor order
_FRONT_FIELDS = (
    # mode: 0 imbalance scalper, 1 model; stage cycle stamps (book, features, model, signal)
    "mode", "cyc",
    # book (companion.book_kernels state) and the rows scratch
    "bk_akey", "bk_aqty", "bk_bkey", "bk_bqty", "bk_n", "bk_cnt", "rows",
    # the chunk's columns, contiguous
    "c_ts", "c_kind", "c_side", "c_price", "c_size", "c_oid",
    # schedule: [next_t, end, step, last_ts, has_last, flushed_to, has_flushed, origin, flush_exact]
    "sched",
    # feature groups (the FeatureEngine's own state arrays; dummies for groups not run)
    "g_codes", "g_nf", "g_ipar", "g_fpar", "select",
    # emission masks per group (bits of the outputs the model reads), a group's output scratch
    # (samples x 16), and each model column's group / output within it
    "g_need", "g_out", "sel_g", "sel_k",
    "ofi_wb", "ofi_sf", "ofi_si", "ofi_ring",
    "imb_sf", "imb_si", "imb_orders", "imb_counts",
    "bg_sf", "bg_si", "bg_ring",
    "tr_wb", "tr_sf", "tr_si", "tr_ring",
    "q_wb", "q_sf", "q_si", "q_ring",
    "vol_wb", "vol_sf", "vol_si", "vol_ring",
    "vp_sf", "vp_si", "vp_ring",
    # compiled model, flat layout (companion.models.compiled.flat_layout); [out_kind, sigmoid, n_average,
    # n_internal, plain]
    "m_roots", "m_feature", "m_threshold", "m_children", "m_dirs", "m_leaf", "m_gdepth", "m_par",
    # the scored samples (time, P(up)); smp_n[0] = count
    "smp_t", "smp_p", "smp_n",
    # model rule: [p_last, p_long, p_short, ofi_threshold]; [window_ns, ofi_levels, has_prev, n, lo]
    "sig_f", "sig_i", "prev_row", "o_ts", "o_e", "o_acc",
    # imbalance scalper: order maps; [w_v, w_d, w_n, weak, strong, tick, levels]
    "sc_orders", "sc_counts", "sc_par",
    # empty arrays standing for the sample times / positions / outputs of a chunk that completes no
    # sample (most chunks: nothing is allocated for them)
    "e_i64", "e_2d",
)


@structref.register
class FrontStateType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class FrontState(structref.StructRefProxy):
    """Every piece of state of the fused front kernel (:func:`front_chunk_nb`) in one object, so a
    call unboxes one pointer instead of ~60 arrays and 4 typed dicts. Built by :class:`FrontPipeline`."""


structref.define_proxy(FrontState, FrontStateType, list(_FRONT_FIELDS))


@njit(cache=True)
def _new_front_nb(mode, cyc, bk_akey, bk_aqty, bk_bkey, bk_bqty, bk_n, bk_cnt, rows, c_ts, c_kind, c_side,
                   c_price, c_size, c_oid, sched, g_codes, g_nf, g_ipar, g_fpar, select, g_need, g_out, sel_g,
                   sel_k, ofi_wb, ofi_sf, ofi_si,
                   ofi_ring, imb_sf, imb_si, imb_orders, imb_counts, bg_sf, bg_si, bg_ring, tr_wb, tr_sf, tr_si,
                   tr_ring, q_wb, q_sf, q_si, q_ring, vol_wb, vol_sf, vol_si, vol_ring, vp_sf, vp_si, vp_ring,
                   m_roots, m_feature, m_threshold, m_children, m_dirs, m_leaf, m_gdepth, m_par, smp_t, smp_p,
                   smp_n, sig_f, sig_i, prev_row, o_ts, o_e, o_acc, sc_orders, sc_counts, sc_par, e_i64, e_2d):
    return FrontState(mode, cyc, bk_akey, bk_aqty, bk_bkey, bk_bqty, bk_n, bk_cnt, rows, c_ts, c_kind, c_side,
                      c_price, c_size, c_oid, sched, g_codes, g_nf, g_ipar, g_fpar, select, g_need, g_out, sel_g,
                      sel_k, ofi_wb, ofi_sf,
                      ofi_si, ofi_ring, imb_sf, imb_si, imb_orders, imb_counts, bg_sf, bg_si, bg_ring, tr_wb,
                      tr_sf, tr_si, tr_ring, q_wb, q_sf, q_si, q_ring, vol_wb, vol_sf, vol_si, vol_ring, vp_sf,
                      vp_si, vp_ring, m_roots, m_feature, m_threshold, m_children, m_dirs, m_leaf, m_gdepth,
                      m_par, smp_t, smp_p, smp_n, sig_f, sig_i, prev_row, o_ts, o_e, o_acc, sc_orders, sc_counts,
                      sc_par, e_i64, e_2d)


@njit(cache=True)
def _set_rows_nb(s, rows):
    s.rows = rows


@njit(cache=True)
def _set_cols_nb(s, cap):
    s.c_ts = np.zeros(cap, np.int64)
    s.c_kind = np.zeros(cap, np.int8)
    s.c_side = np.zeros(cap, np.int8)
    s.c_price = np.zeros(cap, np.int64)
    s.c_size = np.zeros(cap, np.float64)
    s.c_oid = np.zeros(cap, np.int64)


@njit(cache=True)
def _samples_nb(s):
    n = s.smp_n[0]
    return s.smp_t[:n].copy(), s.smp_p[:n].copy()


@njit(cache=True)
def _sum_levels_nb(e, M):
    """``e[:M].sum()`` with numpy's float addition order (sequential below 8 terms, then its
    8-accumulator pairwise block), so the trailing OFI equals :func:`companion.signals.trailing_ofi`."""
    if M < 8:
        acc = 0.0
        for m in range(M):
            acc += e[m]
        return acc
    r0, r1, r2, r3, r4, r5, r6, r7 = e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]
    i = 8
    while i < M - M % 8:
        r0 += e[i]
        r1 += e[i + 1]
        r2 += e[i + 2]
        r3 += e[i + 3]
        r4 += e[i + 4]
        r5 += e[i + 5]
        r6 += e[i + 6]
        r7 += e[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < M:
        res += e[i]
        i += 1
    return res


@njit(cache=True)
def _run_groups_nb(s, n, rows, st, sp, X):
    """One :meth:`companion.features.FeatureEngine` update over the chunk columns ``s.c_*[:n]``: the
    groups' batch kernels on their own state, each writing its samples to the scratch ``s.g_out``
    (only the outputs of ``s.g_need`` computed: the model's columns), which are gathered into ``X``
    (``(len(st), n_features)``)."""
    ns = st.shape[0]
    ts, kind, side, price, size, oid = s.c_ts[:n], s.c_kind[:n], s.c_side[:n], s.c_price[:n], s.c_size[:n], \
        s.c_oid[:n]
    ip, fp = s.g_ipar, s.g_fpar
    t0, b, m_z, vnb, sess0, sess1 = ip[0], ip[1], ip[2], ip[3], ip[4], ip[5]
    tick, large, V, b_sec = fp[0], fp[1], fp[2], fp[3]
    if ns == 0:
        out = s.e_2d
    elif ns <= s.g_out.shape[0]:
        out = s.g_out[:ns]
    else:
        out = np.empty((ns, s.g_out.shape[1]))
    sel_g, sel_k = s.sel_g, s.sel_k
    for g in range(s.g_codes.shape[0]):
        code = s.g_codes[g]
        if code == 0:
            K.ofi_update_nb(ts, rows, st, sp, t0, b, s.ofi_wb, s.ofi_sf, s.ofi_si, s.ofi_ring, out)
        elif code == 1:
            K.imbalance_update_nb(kind, side, price, size, oid, rows, sp, s.imb_sf, s.imb_si, s.imb_orders,
                                  s.imb_counts, tick, out)
        elif code == 2:
            K.book_update_nb(ts, rows, st, sp, t0, b, m_z, s.bg_sf, s.bg_si, s.bg_ring, tick, out, s.g_need[g])
        elif code == 3:
            K.trades_update_nb(ts, kind, side, price, size, rows, st, sp, t0, b, s.tr_wb, s.tr_sf, s.tr_si,
                               s.tr_ring, tick, large, out)
        elif code == 4:
            K.queue_update_nb(ts, kind, side, price, rows, st, sp, t0, b, s.q_wb, b_sec, s.q_sf, s.q_si, s.q_ring,
                              out)
        elif code == 5:
            K.volatility_update_nb(ts, rows, st, sp, t0, b, s.vol_wb, s.vol_sf, s.vol_si, s.vol_ring, out,
                                   s.g_need[g])
        elif code == 6:
            K.vpin_update_nb(kind, side, price, size, sp, V, vnb, s.vp_sf, s.vp_si, s.vp_ring, out)
        else:
            K.time_of_day_nb(st, sess0, sess1, out)
        for c in range(sel_g.shape[0]):
            if sel_g[c] == g:
                k = sel_k[c]
                for j in range(ns):
                    X[j, c] = out[j, k]


@njit(cache=True)
def _score_nb(s, st, X):
    """Compiled model on the new samples; appends ``(t, P(up))`` and updates ``p_last``."""
    ns = st.shape[0]
    if ns == 0:
        return
    raw = np.empty((ns, 1))
    for j in range(ns):
        predict_row_flat_into_nb(X[j], raw[j], s.m_roots, s.m_feature, s.m_threshold, s.m_children, s.m_dirs,
                                 s.m_leaf, s.m_gdepth, int(s.m_par[3]), s.m_par[4] != 0.0)
    p = convert_output_nb(raw, int(s.m_par[0]), s.m_par[1], int(s.m_par[2]))
    k = s.smp_n[0]
    while k + ns > s.smp_t.shape[0]:
        s.smp_t, s.smp_p = _grow_nb(s.smp_t, s.smp_p)
    for j in range(ns):
        s.smp_t[k + j] = st[j]
        s.smp_p[k + j] = p[j, 0]
    s.smp_n[0] = k + ns
    s.sig_f[0] = p[ns - 1, 0]


@njit(cache=True)
def _features_model_nb(s, m):
    """Schedule (:class:`companion.features.sampling.Schedule`, clock grid) + groups + model for the
    chunk ``s.c_*[:m]``; the sample at exactly the chunk's time is flushed too (a chunk holds every
    event of its timestamp). Returns a FRONT_* code; stamps ``s.cyc[1]`` (features) / ``s.cyc[2]`` (model)."""
    sc = s.sched
    ts = s.c_ts
    for i in range(1, m):
        if ts[i] < ts[i - 1]:
            return FRONT_UNSORTED
    if sc[4] == 1 and ts[0] < sc[3]:
        return FRONT_BEFORE_LAST
    if sc[6] == 1 and ts[0] <= sc[5]:
        return FRONT_FLUSHED
    step = sc[2]
    T = ts[m - 1]
    hi = min(T - 1, sc[1])
    ns = 0 if hi < sc[0] else (hi - sc[0]) // step + 1
    nfeat = s.select.shape[0]
    if ns:
        st = np.empty(ns, np.int64)
        for j in range(ns):
            st[j] = sc[0] + step * j
        sc[0] = st[ns - 1] + step
        sp = np.searchsorted(ts[:m], st, side="right").astype(np.int64)
        X = np.empty((ns, nfeat))
    else:
        st, sp, X = s.e_i64, s.e_i64, s.e_2d
    sc[3] = T
    sc[4] = 1
    _run_groups_nb(s, m, s.rows[:m], st, sp, X)
    c1 = cycles_nb()
    _score_nb(s, st, X)
    c2 = cycles_nb()
    if sc[8] == 1 and T >= sc[7] and (T - sc[7]) % step == 0:  # flush the sample at exactly T
        sc[5] = T if sc[6] == 0 else max(sc[5], T)
        sc[6] = 1
        hf = min(T, sc[1])
        nf2 = 0 if hf < sc[0] else (hf - sc[0]) // step + 1
        if nf2:
            st2 = np.empty(nf2, np.int64)
            for j in range(nf2):
                st2[j] = sc[0] + step * j
            sc[0] = st2[nf2 - 1] + step
            X2 = np.empty((nf2, nfeat))
            _run_groups_nb(s, 0, s.rows[:0], st2, np.zeros(nf2, np.int64), X2)
            c1b = cycles_nb()
            _score_nb(s, st2, X2)
            c2b = cycles_nb()
            c1 += c1b - c2  # the flush's features belong to the features stage
            c2 = c2b
    s.cyc[1] = c1
    s.cyc[2] = c2
    return FRONT_OK


@njit(cache=True)
def _model_codes_nb(s, m, rows, codes, values, a):
    """The model rule per event: causal trailing OFI (CKS eq. 10 summed over ``ofi_levels``, the same
    additions as :func:`companion.signals.trailing_ofi`) and the latest P(up)."""
    si, sf = s.sig_i, s.sig_f
    window, M = si[0], si[1]
    p = sf[0]
    n, lo = si[3], si[4]
    if n + m > s.o_ts.shape[0]:  # compact (drop events out of every window), else grow
        if lo > 0:
            keep = n - lo
            s.o_ts[:keep] = s.o_ts[lo:n].copy()
            s.o_e[:keep] = s.o_e[lo:n].copy()
            n, lo = keep, 0
        while n + m > s.o_ts.shape[0]:
            s.o_ts, s.o_e = _grow_nb(s.o_ts, s.o_e)
    ots, oe = s.o_ts, s.o_e
    prev = s.prev_row
    e = np.zeros(M)
    acc = s.o_acc[0]
    thr, pl, ps = sf[3], sf[1], sf[2]
    for j in range(m):
        if si[2] == 1:
            for lv in range(M):
                c = 4 * lv
                pa0, pb0, pa, pb = prev[c], prev[c + 2], rows[j, c], rows[j, c + 2]
                qa0 = prev[c + 1] if abs(pa0) < DUMMY_ABS else 0.0
                qb0 = prev[c + 3] if abs(pb0) < DUMMY_ABS else 0.0
                qa = rows[j, c + 1] if abs(pa) < DUMMY_ABS else 0.0
                qb = rows[j, c + 3] if abs(pb) < DUMMY_ABS else 0.0
                e[lv] = cks_e_nb(pa0, qa0, pb0, qb0, pa, qa, pb, qb)
            x = _sum_levels_nb(e, M)
        else:
            x = 0.0
        for c in range(prev.shape[0]):
            prev[c] = rows[j, c]
        si[2] = 1
        i = n + j
        ots[i] = s.c_ts[j]
        oe[i] = x
        acc += x
        while ots[lo] <= ots[i] - window:
            acc -= oe[lo]
            lo += 1
        code = 0
        if p > pl and acc > thr:
            code = 1
        elif p < ps and acc < -thr:
            code = -1
        codes[a + j] = code
        values[a + j] = p
    s.o_acc[0] = acc
    si[3] = n + m
    si[4] = lo


@njit(cache=True)
def front_chunk_nb(s, ev, rows_in, codes, values, a):
    """One feed chunk through book -> features -> compiled model -> signal, in one call.

    ``ev``: the chunk (EVENT_DTYPE); ``rows_in``: the book after each event from the data source, or
    ``(0, 4L)`` to rebuild it (``companion.book_kernels._replay_run_nb`` on the full-depth state);
    the rows are left in ``s.rows[:m]``. Writes the class codes / values of the events to
    ``codes[a:a+m]`` / ``values[a:a+m]``. Stage boundaries are stamped in ``s.cyc`` (cycle counter:
    after book, features, model, signal). Returns a FRONT_* code.
    """
    m = ev.shape[0]
    for j in range(m):
        e = ev[j]
        s.c_ts[j] = e.ts
        s.c_kind[j] = e.kind
        s.c_side[j] = e.side
        s.c_price[j] = e.price
        s.c_size[j] = e.size
        s.c_oid[j] = e.order_id
    rows = s.rows[:m]
    if rows_in.shape[0] == m and m > 0:
        for j in range(m):
            for c in range(rows.shape[1]):
                rows[j, c] = rows_in[j, c]
    else:
        kind, side, price, size = s.c_kind[:m], s.c_side[:m], s.c_price[:m], s.c_size[:m]
        bn = s.bk_n
        t = 0
        while t < m:
            t, na, nb = _replay_run_nb(kind, side, price, size, t, s.bk_akey, s.bk_aqty, bn[0], s.bk_bkey,
                                       s.bk_bqty, bn[1], rows, s.bk_cnt)
            bn[0], bn[1] = na, nb
            if t < m:  # a side is full: grow it and resume
                if na == s.bk_akey.size:
                    s.bk_akey, s.bk_aqty = _grow_nb(s.bk_akey, s.bk_aqty)
                if nb == s.bk_bkey.size:
                    s.bk_bkey, s.bk_bqty = _grow_nb(s.bk_bkey, s.bk_bqty)
    c0 = cycles_nb()
    s.cyc[0] = c0
    if s.mode == 1:
        r = _features_model_nb(s, m)
        if r != FRONT_OK:
            return r
        _model_codes_nb(s, m, rows, codes, values, a)
    else:
        s.cyc[1] = c0
        s.cyc[2] = c0
        p = s.sc_par
        L = min(int(p[6]), rows.shape[1] // 4)
        imbalance_codes_into_nb(s.c_kind[:m], s.c_side[:m], s.c_price[:m], s.c_size[:m], s.c_oid[:m], rows, L,
                                p[5], p[0], p[1], p[2], p[3], p[4], s.sc_orders, s.sc_counts, codes, values, a)
    s.cyc[3] = cycles_nb()
    s.cyc[4] = s.c_ts[m - 1]
    return FRONT_OK


class FrontPipeline:
    """The Python handle of the fused front kernel: builds the :class:`FrontState` of a stream
    (:class:`ImbalanceStream` or :class:`ModelStream`, whose state arrays it shares) and a book, and
    runs :func:`front_chunk_nb` on each chunk. ``rows`` / ``cyc``: views of the state's rows scratch
    and stage stamps (the same memory as the compiled object's fields). The book's arrays are taken
    over at construction (``book`` itself is not updated afterwards)."""

    def __init__(self, stream, book: IncrementalBook, first_ts: int, chunk_capacity: int = 1024):
        L4 = 4 * book.levels
        self.rows = np.empty((chunk_capacity, L4))
        # cycle stamps after book, features, model, signal; the chunk's ts; stamp after the strategy (live_chunk_nb)
        self.cyc = np.zeros(6, np.int64)
        self.no_rows = np.empty((0, L4))
        cap = chunk_capacity
        f: dict = {"cyc": self.cyc, "bk_akey": book._akey, "bk_aqty": book._aqty, "bk_bkey": book._bkey,
                   "bk_bqty": book._bqty, "bk_n": np.array([book._na, book._nb], np.int64), "bk_cnt": book.counters,
                   "rows": self.rows, "c_ts": np.zeros(cap, np.int64), "c_kind": np.zeros(cap, np.int8),
                   "c_side": np.zeros(cap, np.int8), "c_price": np.zeros(cap, np.int64),
                   "c_size": np.zeros(cap, np.float64), "c_oid": np.zeros(cap, np.int64)}
        z1f, z1i, z2 = np.zeros(1), np.zeros(1, np.int64), np.zeros((1, 1))
        o0, c0 = new_order_maps()
        for k in ("ofi_wb", "tr_wb", "q_wb", "vol_wb", "ofi_si", "imb_si", "bg_si", "tr_si", "q_si", "vol_si",
                  "vp_si", "g_codes", "g_nf", "select", "g_need", "sel_g", "sel_k"):
            f[k] = z1i
        for k in ("ofi_sf", "imb_sf", "bg_sf", "tr_sf", "q_sf", "vol_sf", "vp_sf"):
            f[k] = z1f
        for k in ("ofi_ring", "bg_ring", "tr_ring", "q_ring", "vol_ring", "vp_ring"):
            f[k] = z2
        f.update(imb_orders=o0, imb_counts=c0, sched=np.zeros(9, np.int64), g_ipar=np.zeros(6, np.int64),
                 g_fpar=np.zeros(4), m_roots=np.zeros(1, np.int32), m_feature=np.zeros(1, np.int32),
                 m_threshold=z1f, m_children=np.zeros(1, np.int32), m_dirs=np.zeros(1, np.int8), m_leaf=z1f,
                 m_gdepth=z1i, m_par=np.zeros(5), smp_t=np.zeros(1024, np.int64),
                 smp_p=np.zeros(1024), smp_n=np.zeros(1, np.int64), sig_f=np.zeros(4), sig_i=np.zeros(5, np.int64),
                 prev_row=np.zeros(L4), o_ts=np.zeros(1 << 14, np.int64), o_e=np.zeros(1 << 14),
                 o_acc=np.zeros(1), sc_orders=o0, sc_counts=c0, sc_par=np.zeros(7),
                 e_i64=np.zeros(0, np.int64), e_2d=np.zeros((0, 16)), g_out=np.zeros((64, 16)))
        if isinstance(stream, ModelStream):
            f["mode"] = 1
            self._model_fields(f, stream, first_ts)
        else:
            f["mode"] = 0
            f["sc_orders"], f["sc_counts"] = stream._orders, stream._counts
            f["sc_par"] = np.array([*stream.w, stream.weak, stream.strong, stream.tick, stream.levels], np.float64)
        self.state = _new_front_nb(*(f[k] for k in _FRONT_FIELDS))
        self._book = book
        if isinstance(stream, ModelStream):
            stream._front = self.state  # predictions() reads the scored samples from the state

    @staticmethod
    def _model_fields(f: dict, stream: ModelStream, first_ts: int) -> None:
        eng = stream.engine
        if eng.grid.kind != "clock":
            raise ValueError("the live model pipeline needs a clock grid")
        flush_exact = eng.start_ns is not None
        if eng._sched is None:  # no session: origin = the first event's time floored to the step (as update_arrays)
            eng._start(int(first_ts) // eng.grid.step_ns * eng.grid.step_ns)
        sc = eng._sched
        f["sched"] = np.array([sc.next_t, sc.end, eng.grid.step_ns, sc.last_ts or 0, sc.last_ts is not None,
                               sc.flushed_to or 0, sc.flushed_to is not None, eng.start_ns or 0, flush_exact],
                              np.int64)
        groups = eng._groups
        if max(g.nf for g in groups) > 16:
            raise ValueError("a feature group has more than 16 outputs (the front kernel's scratch width)")
        f["g_codes"] = np.array([_G_CODES[g.name] for g in groups], np.int64)
        f["g_nf"] = np.array([g.nf for g in groups], np.int64)
        f["select"] = eng._select.astype(np.int64)
        # each model column's group and output index; per group, the bit mask of the outputs read
        starts = np.cumsum([0] + [g.nf for g in groups])
        sel = eng._select.astype(np.int64)
        f["sel_g"] = np.searchsorted(starts, sel, side="right").astype(np.int64) - 1
        f["sel_k"] = sel - starts[f["sel_g"]]
        need = np.zeros(len(groups), np.int64)
        for gi, k in zip(f["sel_g"], f["sel_k"]):
            need[gi] |= np.int64(1) << np.int64(k)
        f["g_need"] = need
        g0 = groups[0]
        ip = np.array([g0.t0, g0.b, 0, 0, eng.session[0], eng.session[1]], np.int64)
        fp = np.array([g0.tick, 0.0, 0.0, g0.b / NS])
        pre = {"ofi": "ofi", "imbalance": "imb", "book": "bg", "trades": "tr", "queue": "q", "volatility": "vol",
               "vpin": "vp"}
        for g in groups:
            p = pre.get(g.name)
            if p is None:
                continue
            f[f"{p}_sf"], f[f"{p}_si"] = g.sf, g.si
            if hasattr(g, "ring"):
                f[f"{p}_ring"] = g.ring
            if hasattr(g, "wb"):
                f[f"{p}_wb"] = g.wb
            if g.name == "imbalance":
                f["imb_orders"], f["imb_counts"] = g.orders, g.counts
            elif g.name == "book":
                ip[2] = g.m_z
            elif g.name == "trades":
                fp[1] = g.large
            elif g.name == "vpin":
                fp[2], ip[3] = g.V, g.nb
        f["g_ipar"], f["g_fpar"] = ip, fp
        m = stream.model
        (f["m_roots"], f["m_feature"], f["m_threshold"], f["m_children"], f["m_dirs"], f["m_leaf"], f["m_gdepth"],
         n_internal, plain) = m.flat
        f["m_par"] = np.array([m.out_kind, m.sigmoid, m.n_average, n_internal, plain], np.float64)
        f["sig_f"] = np.array([stream.p_last, stream.p_long, stream.p_short, stream.thr])
        f["sig_i"] = np.array([stream.window, stream.ofi_levels, 0, 0, 0], np.int64)

    @property
    def cap(self) -> int:
        """Chunk capacity of the scratch buffers (grown by :meth:`run`)."""
        return self.rows.shape[0]

    def run(self, ev: np.ndarray, rows_in: np.ndarray | None, codes: np.ndarray, values: np.ndarray,
            a: int) -> np.ndarray:
        """The chunk through the front kernel; returns the book rows after each event (a reused buffer)."""
        m = len(ev)
        if m > self.rows.shape[0]:
            cap = max(m, 2 * self.rows.shape[0])
            self.rows = np.empty((cap, self.rows.shape[1]))
            _set_rows_nb(self.state, self.rows)
            _set_cols_nb(self.state, cap)
        code = front_chunk_nb(self.state, ev, self.no_rows if rows_in is None else rows_in, codes, values, a)
        if code != FRONT_OK:
            raise ValueError(_FRONT_ERRORS.get(code, f"front kernel error {code}"))
        return self.rows[:m]


# ============================================================================ strategy driver
WAKE_ACTIONS = 10  #: :func:`drive_nb`: the strategy acted; its actions wait in the buffer


@njit(cache=True)
def drive_nb(mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_pending, params, user_state,
             counters):
    """Run the paper venue (:func:`companion.live.venue.paper_step_nb`) and the strategy
    (``companion.backtest.strategies.signal_trader_nb``) in one compiled loop up to ``until``.

    Returns ``WAKE_ACTIONS`` (``counters[1]`` actions written to ``actions``, not sent yet: the
    caller journals them and calls again with ``n_pending``) or the venue's code (``NEED_DATA`` /
    ``DONE`` / an error). ``counters[0]`` counts the wake-ups. With ``counters[3] == 1`` (nothing to
    write ahead: no journal) the actions are sent at once, without returning.
    """
    n_act = n_pending
    while True:
        code = paper_step_nb(mkt, n_known, final, until, cfg, lat, limits, st, out, actions, n_act)
        if code != WAKEUP:
            return code
        counters[0] += 1
        n_act = wake_strategy_nb(signal_trader_nb, mkt, st, out, actions, params, user_state)
        if n_act > 0 and counters[3] == 0:
            counters[1] = n_act
            return WAKE_ACTIONS



@structref.register
class DriveStateType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class DriveState(structref.StructRefProxy):
    """The arguments of :func:`drive_nb` that do not change between chunks (the paper venue's
    buffers and state, the strategy's parameters and state) in one object: a call unboxes one
    pointer instead of ~30 arrays. Rebuilt when the venue or the code buffers grow."""


# the venue's buffers / state, the strategy's parameters / state, the executor's counters, and what the
# fused chunk call (live_chunk_nb) needs to append a chunk to the paper venue: its order-id column, the
# streaming ADD index (typed dict) and v_par = [FIFO queue model (the ADD index is read)]
_DRIVE_FIELDS = ("mkt", "cfg", "lat", "limits", "vst", "out", "actions", "params", "user_state", "counters",
                 "v_oid", "v_seen", "v_par")
structref.define_proxy(DriveState, DriveStateType, list(_DRIVE_FIELDS))


@njit(cache=True)
def _new_drive_nb(mkt, cfg, lat, limits, vst, out, actions, params, user_state, counters, v_oid, v_seen, v_par):
    return DriveState(mkt, cfg, lat, limits, vst, out, actions, params, user_state, counters, v_oid, v_seen,
                      v_par)


@njit(cache=True)
def drive_state_nb(d, n_known, final, until, n_pending):
    """:func:`drive_nb` on a :class:`DriveState`; also leaves the venue's order count in
    ``counters[2]`` (read by the executor without another call)."""
    code = drive_nb(d.mkt, n_known, final, until, d.cfg, d.lat, d.limits, d.vst, d.out, d.actions, n_pending,
                    d.params, d.user_state, d.counters)
    d.counters[2] = d.vst[0][I_NORD]
    return code


@njit(cache=True)
def live_chunk_nb(s, d, ev, rows_in, a, n):
    """One feed chunk from market data to the orders it causes, in ONE compiled call:
    :func:`front_chunk_nb` (book -> features -> model -> signal, codes into the strategy's code
    buffers ``d.user_state[1:3]`` at ``a``), then the chunk appended to the paper venue's buffers at
    ``n`` (``companion.live.venue.append_events_nb`` and, for the FIFO queue model, the streaming
    ADD index :func:`companion.sim.exchange.add_index_into_nb` -- exactly ``PaperVenue.on_market``), then
    the venue + strategy loop up to the chunk's time (:func:`drive_state_nb`, nothing final).

    The caller checks beforehand that no buffer can overflow (venue capacity, code buffers, the
    front's chunk scratch) and that no kill request is pending, and sets ``venue.n += len(ev)``
    afterwards. Returns a FRONT_* error code (< 0; nothing appended) or :func:`drive_nb`'s code.
    ``s.cyc[5]``: cycle stamp at the end (after the strategy).
    """
    us = d.user_state
    r = front_chunk_nb(s, ev, rows_in, us[1], us[2], a)
    if r != FRONT_OK:
        return r
    m = ev.shape[0]
    ids = append_events_nb(ev, s.rows[:m], d.mkt, d.v_oid, n)
    if d.v_par[0] == 1:  # the ADD index is read by the FIFO queue model only
        if ids and d.cfg[C_HAS_IDS] == 0.0:
            d.cfg[C_HAS_IDS] = 1.0
        add_index_into_nb(d.mkt[2], d.v_oid, n, n + m, d.v_seen, d.mkt[6])
    code = drive_state_nb(d, n + m, False, s.cyc[4], 0)
    s.cyc[5] = cycles_nb()
    return code

def _entry_point(dispatcher, args: tuple):
    """The compiled entry point of ``dispatcher`` for the types of ``args``: calling it skips the
    dispatcher's per-call type resolution (~0.3-0.7 us per structured / StructRef argument). Valid only
    for arguments of exactly these types (the caller checks what can vary: the chunk's dtype and layout)."""
    from numba.core.typing.typeof import Purpose, typeof

    return dispatcher.compile(tuple(typeof(x, Purpose.argument) for x in args))


# ============================================================================ summary
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
                 venue=None, status: bool = False, on_chunk: Callable | None = None, dataset: str | None = None,
                 new_segment: bool = False):
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
        self._id_prefix = ""
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
        if journal is not None:  # bound to its run: a resume with another dataset / config / model refuses
            try:
                seg = journal.bind(self.run_identity(model if config.strategy == "model" else None),
                                   new_segment=new_segment)
            except BaseException:
                journal.close()
                raise
            self._id_prefix = "" if seg <= 1 else f"S{seg}."
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
        # wake-ups, pending actions, venue orders, send at once (no write-ahead journal)
        self._counters = np.zeros(4, np.int64)
        self._counters[3] = journal is None
        self._drive: DriveState | None = None
        self._drive_key: tuple = ()
        self._journal_ns = 0  # journal writes made inside the strategy stage (write-ahead of orders)
        self._front: FrontPipeline | None = None  # built at the first chunk (the feature grid may need its time)
        self._fused = True  # one compiled call per chunk (live_chunk_nb); False: the three-call path (tests)
        self._last_rows: np.ndarray | None = None
        self._n_seen = 0
        self._last_cp = -1
        self._stopped = False
        self._old_handler = None
        self._t_start = time.perf_counter()
        self._ns_per_cycle = ns_per_cycle()

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

    # ---- journal helpers
    def _seq(self) -> int:
        self._msg_seq += 1
        return self._msg_seq

    def client_id(self, order_id: int) -> str:
        """Our client order id: ``O<n>`` (segment 1), ``S<k>.O<n>`` in a journal's segment k > 1."""
        return f"{self._id_prefix}O{order_id}"

    def _journal_new_orders(self) -> None:
        """Journal the orders the venue created that are not journaled yet (risk-manager orders)."""
        v = self.venue
        n = v.n_orders
        if not self._journal_on:  # nothing is written: the same sequence numbers and reject checks, in bulk
            j0 = self._n_journaled_orders
            if n > j0:
                self._msg_seq += n - j0
                self._to_check.extend(range(j0, n))
                self._n_journaled_orders = n
            return
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
                self.journal.update_order(cid, "ACK", r.t_local, venue_order_id=f"{self._id_prefix}{r.order_id}", seq=seq)
            elif r.kind == "fill":
                self.journal.record_fill(f"{self._id_prefix}F{r.fill_id}", cid, r.t_exchange, int(round(r.price)), r.qty, r.side,
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
    def _drive_state(self) -> DriveState:
        """The :class:`DriveState` over the venue's current buffers ((re)built when a buffer grew)."""
        v = self.venue
        d = self._drive
        if d is None or self._drive_key[0] is not v._mkt or self._drive_key[1] is not v._out \
                or self._drive_key[2] is not self._user_state or self._drive_key[3] is not v._oid:
            d = self._drive = _new_drive_nb(v._mkt, v._cfg, v._lat, v._limits, v._st, v._out, v.actions,
                                            self._params, self._user_state, self._counters, v._oid, v._seen_ids,
                                            np.array([int(v._fifo)], np.int64))
            self._drive_key = (v._mkt, v._out, self._user_state, v._oid)
        return d

    def _wakeups(self, until_ns: int, code: int | None = None) -> None:
        """Wake-ups up to ``until_ns``: compiled venue + strategy loop; back in Python only to journal
        the strategy's orders before they are sent, or to trip the kill switch. ``code``: the result of
        a drive call already made (by :func:`live_chunk_nb`, its new orders already bookkept): go on from it."""
        v = self.venue
        cnt = self._counters
        pending = 0
        d = self._drive_state()
        while True:
            if code is None:
                if self._kill_request is not None and not v.halted:
                    if not self._kill_at_next_wakeup(until_ns):
                        break
                    continue
                code = drive_state_nb(d, v.n, v.final, until_ns, pending)
                v.set_actions(0)
                if cnt[2] > self._n_journaled_orders:
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
            code = None

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
            self._drive = None

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
        loop = self._loop(book_rows, max_events, crash_after_events, handle_sigusr1)
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

        loop = self._loop(None, max_events, None, handle_sigusr1)
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
            t = int(v._mkt[0][self._n_seen - 1]) + NS
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
        twin = LiveExecutor(cfg, synth.instrument(sc, levels=self.levels), levels=self.levels, model=model)
        bounds = np.flatnonzero(np.diff(ev["ts"])) + 1
        twin.run([(int(ev["ts"][a]), ev[a:b]) for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(ev)])])
        return time.perf_counter() - t0

    def _loop(self, book_rows, max_events, crash_after_events, handle_sigusr1):
        """The executor loop as a coroutine: ``send((now_ns, events))`` processes one chunk and
        returns True when the run must stop (``max_events`` reached, or killed and flat); shared by
        :meth:`run` and :meth:`arun`. Set-up happens at the first ``next()``."""
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
            if front is None:
                front = self._front = FrontPipeline(self.stream, self.book, int(ev["ts"][0]))
                fst, cyc, no_rows = front.state, front.cyc, front.no_rows
                ev_dtype = ev.dtype
                fast = None  # the fused call's compiled entry point, resolved at its first use
                cnt = self._counters
                front_cap, v_cap = front.cap, v.capacity  # refreshed after a three-call chunk (buffers grow)
            # ---- tick to decision: book -> features -> model -> signal -> venue -> strategy
            warming = summ.chunks == 0
            t0 = pc()
            rows_in = no_rows if book_rows is None else np.ascontiguousarray(book_rows[a:z], dtype=np.float64)
            if z > self._codes.size:
                self._ensure_capacity(z)
            d = self._drive
            self._journal_ns = 0
            n_v = v.n
            if d is not None and self._kill_request is None and n_v + m <= v_cap and m <= front_cap \
                    and not v.final and self._fused:
                # one compiled call: front kernel, append to the venue, venue + strategy loop
                if fast is not None and ev.dtype is ev_dtype and ev.flags.c_contiguous:
                    code = fast(fst, d, ev, rows_in, a, n_v)
                else:  # first use, or a chunk of another array type: through the dispatcher
                    warming = fast is None
                    code = live_chunk_nb(fst, d, ev, rows_in, a, n_v)
                    if fast is None and ev.dtype is ev_dtype and ev.flags.c_contiguous:
                        fast = _entry_point(live_chunk_nb, (fst, d, ev, rows_in, a, n_v))
                t1 = pc()
                if code < 0:
                    raise ValueError(_FRONT_ERRORS.get(code, f"front kernel error {code}"))
                v.n = n_v + m
                v._n_act = 0
                if cnt[2] > self._n_journaled_orders:
                    self._journal_new_orders()
                if code != NEED_DATA:  # back to Python: journal the strategy's orders, or a venue error
                    self._wakeups(int(cyc[4]), code)
                t5 = pc()
                t_chunk = int(cyc[4])  # the chunk's exchange time, left by the front kernel
                c0, c1, c2, c3, _, c5 = cyc.tolist()  # stage stamps (cycles)
                v_ns = int((c5 - c3) * cns)  # venue append + venue / strategy loop
            else:  # three calls: front kernel, venue.on_market, the wake-up loop (buffers grow, kill switch)
                rows = front.run(ev, None if book_rows is None else rows_in, self._codes, self._values, a)
                t1 = pc()
                v.on_market(ev, rows)
                t_chunk = int(cyc[4])
                self._wakeups(t_chunk)
                t5 = pc()
                c0, c1, c2, c3, _, _ = cyc.tolist()
                v_ns = 0
                front_cap, v_cap = front.cap, v.capacity
            # ---- metrics, reports, journal
            jn = self._journal_ns
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
            self._process_reports()
            n_seen = self._n_seen = z
            summ.chunks += 1
            if self._journal_on and z - 1 - self._last_cp >= every:
                self._checkpoint(z - 1, t_chunk)
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
            if crash_after_events is not None and n_seen >= crash_after_events:
                os.kill(os.getpid(), _signal.SIGKILL)
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
        summ = self.summary
        n_seen = self._n_seen
        try:
            if ended:
                if not self._journal_on and self.journal is not None:
                    self._journal_on = True
                v.finish()
                t4 = time.perf_counter_ns()
                self._wakeups(0)
                self._process_reports()
                self.metrics.record("strategy", time.perf_counter_ns() - t4)
            if self._journal_on and n_seen - 1 > self._last_cp:
                self._checkpoint(n_seen - 1, int(v._mkt[0][n_seen - 1]) if n_seen else 0)
        finally:
            self._cleanup()
        elapsed = time.perf_counter() - self._t_start
        is_model = isinstance(self.stream, ModelStream)
        summ.wakeups = int(self._counters[0])
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
            "signal_us": _le(lat["tick_to_decision"]["p99_us"], cfg.latency.signal_us),
            "features_model_us": (_le(_sum_p99(lat, ("features", "model")), cfg.latency.features_model_us)
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
        t = int(v._st[0][I_WAKE_T])
        oid = v.kill()
        self.summary.killed = reason
        k = int(v._st[0][I_WAKE_EV])
        self._risk_event(t, f"KILL_{reason}", {"event": k, "position": v.position,
                                                "flatten_order": self.client_id(oid) if oid >= 0 else None})
        if not self._journal_on and self.journal is not None:
            self._journal_on = True
        self._journal_new_orders()

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
            from companion.live.journal import JournalMismatchError

            raise JournalMismatchError(f"journal {self.journal.path}: the replay up to the checkpoint does not "
                                       f"reproduce the journal: {got} != {want} (another dataset, config or "
                                       "code version?)")

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
