"""The signal stage, streamed: market-data chunks -> book rows -> features -> model -> signal codes.

The public protocol of the stage: a state record (``FrontState``, a numba ``StructRef``) and a
step kernel over one chunk of events (:func:`~companion.streaming.front_chunk_nb`), with Python handles:

* :class:`FrontPipeline` builds the state (from a stream below and a
  :class:`companion.book.kernels.BookState`) and runs the step kernel chunk by chunk;
* :class:`ImbalanceStream`: the scalper's composite imbalance per event (:mod:`companion.signals`
  kernels on the chunk's rows, the order-count maps carried across chunks) == the batch codes;
* :class:`ModelStream`: 1-s features (:class:`companion.features.FeatureEngine`, its own state
  arrays and batch kernels, chunk by chunk) -> compiled model P(up) -> latest P(up) per event and
  causal trailing OFI -> THE model rule :func:`companion.signals.model_rule_nb` (the one the batch
  :func:`companion.signals.model_rule` runs) == the batch codes.

Streaming == batch is tested (``tests/test_live_parity.py``, ``tests/test_live_fused.py``).
The live executor (:mod:`companion.live.executor`) composes this stage with the paper venue.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.experimental import structref

from companion import signals as sg
from companion.book.kernels import BookState, book_step_nb, grow_pair_nb
from companion.cycles import cycles_nb
from companion.events import NS, Instrument
from companion.features import kernels as K
from companion.features.kernels import new_order_maps
from companion.flow.ofi import cks_e_nb
from companion.models.compiled import convert_output_nb, predict_row_flat_into_nb
from companion.stats import level_size_nb

__all__ = ["ImbalanceStream", "ModelStream", "FrontPipeline", "FrontState", "front_chunk_nb",
           "imbalance_codes_into_nb", "trailing_sum_into_nb", "sum_levels_nb", "FRONT_OK", "FRONT_ERRORS"]


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
    ``ImbalanceScalper.codes`` in batch.

    Attributes: ``levels`` book levels used, ``weak`` / ``strong`` class thresholds, ``tick`` price
    units, ``w`` the composite's weights (volume, distance-weighted, order count), ``orders`` /
    ``counts`` the order-count part's per-order maps."""

    def __init__(self, levels: int, weak: float, strong: float, tick: float, weights=sg.DEFAULT_WEIGHTS):
        self.levels, self.weak, self.strong, self.tick = int(levels), float(weak), float(strong), float(tick)
        self.w = tuple(float(x) for x in weights)
        #: the order-count part's per-order maps (typed dicts carried across chunks)
        self.orders, self.counts = new_order_maps()

    def codes_into(self, ev: np.ndarray, rows: np.ndarray, codes: np.ndarray, values: np.ndarray, a: int) -> None:
        """Codes and composite values of the chunk ``ev`` (book ``rows``) into ``codes[a:]`` / ``values[a:]``."""
        L = min(self.levels, rows.shape[1] // 4)
        imbalance_codes_into_nb(ev["kind"], ev["side"], ev["price"], ev["size"], ev["order_id"], rows, L, self.tick,
                                *self.w, self.weak, self.strong, self.orders, self.counts, codes, values, a)


@njit(cache=True)
def trailing_sum_into_nb(ts: np.ndarray, x: np.ndarray, start: int, stop: int, window_ns: int,
                         state: np.ndarray, lo_state: np.ndarray, out: np.ndarray) -> None:
    """Streaming ``companion.signals.trailing_sum_nb`` over ``start..stop-1`` (the same additions
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

    Attributes: ``model`` the compiled model, ``engine`` its feature engine, ``step`` the grid step
    (ns), ``p_long`` / ``p_short`` / ``thr`` the rule's thresholds, ``window`` the OFI window (ns),
    ``ofi_levels``, ``p_last`` the latest P(up), ``samples_t`` / ``samples_p`` the scored samples
    (stage-by-stage path; the fused front keeps them in its state: :meth:`predictions`).
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

    def attach_front(self, state) -> None:
        """The fused front kernel (a :class:`FrontPipeline`'s ``state``) scores the samples from now on:
        :meth:`predictions` reads them from it."""
        self._front = state

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
#: ``FrontState.sched`` (int64, the feature grid's schedule): the next sample time, the session end,
#: the step (ns), the last event time seen and whether there is one, the time flushed to and whether
#: any, the grid origin, 1 = flush the sample at exactly a chunk's time (a session is set)
SC_NEXT, SC_END, SC_STEP, SC_LAST, SC_HAS_LAST, SC_FLUSHED, SC_HAS_FLUSHED, SC_ORIGIN, SC_FLUSH_EXACT = range(9)
#: ``FrontState.sig_f`` (float64, the model rule): the latest P(up), p_long, p_short, the OFI threshold
SF_P_LAST, SF_P_LONG, SF_P_SHORT, SF_OFI_THR = range(4)
#: ``FrontState.sig_i`` (int64, the trailing OFI): window (ns), OFI levels, 1 = a previous row is
#: known, events in the window buffers, the window's first index
SI_WINDOW, SI_LEVELS, SI_HAS_PREV, SI_N, SI_LO = range(5)
#: ``FrontState.sc_par`` (float64, the scalper's imbalance): weights (volume, distance, count),
#: weak / strong thresholds, tick, levels
SP_W_V, SP_W_D, SP_W_N, SP_WEAK, SP_STRONG, SP_TICK, SP_LEVELS = range(7)
#: ``FrontState.m_par`` (float64, the compiled model): output kind, sigmoid, trees averaged,
#: internal nodes, 1 = plain trees (companion.models.compiled.flat_layout)
MP_OUT_KIND, MP_SIGMOID, MP_N_AVERAGE, MP_N_INTERNAL, MP_PLAIN = range(5)
#: ``FrontState.g_ipar`` (int64, the feature groups): grid origin, bin (ns), the book group's
#: z-window, VPIN buckets, session open / close (ns)
GI_T0, GI_BIN, GI_M_Z, GI_VPIN_NB, GI_SESS0, GI_SESS1 = range(6)
#: ``FrontState.g_fpar`` (float64, the feature groups): tick, the large-trade size, the VPIN bucket
#: volume, the bin in seconds
GF_TICK, GF_LARGE, GF_VPIN_V, GF_BIN_S = range(4)
#: ``FrontState.cyc`` (int64): CPU-cycle stamps after the book, the features, the model, the signal;
#: the chunk's exchange time (ns); after the strategy (written by companion.live.drive.live_chunk_nb)
CYC_BOOK, CYC_FEATURES, CYC_MODEL, CYC_SIGNAL, CYC_TS, CYC_STRATEGY = range(6)

#: front-kernel error code -> message
FRONT_ERRORS = {FRONT_UNSORTED: "event timestamps must be non-decreasing",
                FRONT_BEFORE_LAST: "chunk starts before the last event seen",
                FRONT_FLUSHED: "chunk has a timestamp already flushed"}

# the fields of FrontState, in constructor order
_FRONT_FIELDS = (
    # mode: 0 imbalance scalper, 1 model; stage cycle stamps (book, features, model, signal)
    "mode", "cyc",
    # book (a companion.book.kernels.BookState) and the rows scratch
    "book", "rows",
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
    """Every piece of state of the fused front kernel (:func:`~companion.streaming.front_chunk_nb`) in one object, so a
    call unboxes one pointer instead of ~60 arrays and 4 typed dicts. Built by :class:`FrontPipeline`."""


structref.define_proxy(FrontState, FrontStateType, list(_FRONT_FIELDS))


@njit(cache=True)
def _new_front_nb(mode, cyc, book, rows, c_ts, c_kind, c_side,
                   c_price, c_size, c_oid, sched, g_codes, g_nf, g_ipar, g_fpar, select, g_need, g_out, sel_g,
                   sel_k, ofi_wb, ofi_sf, ofi_si,
                   ofi_ring, imb_sf, imb_si, imb_orders, imb_counts, bg_sf, bg_si, bg_ring, tr_wb, tr_sf, tr_si,
                   tr_ring, q_wb, q_sf, q_si, q_ring, vol_wb, vol_sf, vol_si, vol_ring, vp_sf, vp_si, vp_ring,
                   m_roots, m_feature, m_threshold, m_children, m_dirs, m_leaf, m_gdepth, m_par, smp_t, smp_p,
                   smp_n, sig_f, sig_i, prev_row, o_ts, o_e, o_acc, sc_orders, sc_counts, sc_par, e_i64, e_2d):
    return FrontState(mode, cyc, book, rows, c_ts, c_kind, c_side,
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
def sum_levels_nb(e: np.ndarray, M: int) -> float:
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
    t0, b, m_z, vnb = ip[GI_T0], ip[GI_BIN], ip[GI_M_Z], ip[GI_VPIN_NB]
    sess0, sess1 = ip[GI_SESS0], ip[GI_SESS1]
    tick, large, V, b_sec = fp[GF_TICK], fp[GF_LARGE], fp[GF_VPIN_V], fp[GF_BIN_S]
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
                                 s.m_leaf, s.m_gdepth, int(s.m_par[MP_N_INTERNAL]), s.m_par[MP_PLAIN] != 0.0)
    p = convert_output_nb(raw, int(s.m_par[MP_OUT_KIND]), s.m_par[MP_SIGMOID], int(s.m_par[MP_N_AVERAGE]))
    k = s.smp_n[0]
    while k + ns > s.smp_t.shape[0]:
        s.smp_t, s.smp_p = grow_pair_nb(s.smp_t, s.smp_p)
    for j in range(ns):
        s.smp_t[k + j] = st[j]
        s.smp_p[k + j] = p[j, 0]
    s.smp_n[0] = k + ns
    s.sig_f[SF_P_LAST] = p[ns - 1, 0]


@njit(cache=True)
def _features_model_nb(s, m):
    """Schedule (:class:`companion.features.sampling.Schedule`, clock grid) + groups + model for the
    chunk ``s.c_*[:m]``; the sample at exactly the chunk's time is flushed too (a chunk holds every
    event of its timestamp). Returns a FRONT_* code; stamps ``s.cyc[CYC_FEATURES]`` / ``s.cyc[CYC_MODEL]``."""
    sc = s.sched
    ts = s.c_ts
    for i in range(1, m):
        if ts[i] < ts[i - 1]:
            return FRONT_UNSORTED
    if sc[SC_HAS_LAST] == 1 and ts[0] < sc[SC_LAST]:
        return FRONT_BEFORE_LAST
    if sc[SC_HAS_FLUSHED] == 1 and ts[0] <= sc[SC_FLUSHED]:
        return FRONT_FLUSHED
    step = sc[SC_STEP]
    T = ts[m - 1]
    hi = min(T - 1, sc[SC_END])
    ns = 0 if hi < sc[SC_NEXT] else (hi - sc[SC_NEXT]) // step + 1
    nfeat = s.select.shape[0]
    if ns:
        st = np.empty(ns, np.int64)
        for j in range(ns):
            st[j] = sc[SC_NEXT] + step * j
        sc[SC_NEXT] = st[ns - 1] + step
        sp = np.searchsorted(ts[:m], st, side="right").astype(np.int64)
        X = np.empty((ns, nfeat))
    else:
        st, sp, X = s.e_i64, s.e_i64, s.e_2d
    sc[SC_LAST] = T
    sc[SC_HAS_LAST] = 1
    _run_groups_nb(s, m, s.rows[:m], st, sp, X)
    c1 = cycles_nb()
    _score_nb(s, st, X)
    c2 = cycles_nb()
    if sc[SC_FLUSH_EXACT] == 1 and T >= sc[SC_ORIGIN] and (T - sc[SC_ORIGIN]) % step == 0:  # the sample at T
        sc[SC_FLUSHED] = T if sc[SC_HAS_FLUSHED] == 0 else max(sc[SC_FLUSHED], T)
        sc[SC_HAS_FLUSHED] = 1
        hf = min(T, sc[SC_END])
        nf2 = 0 if hf < sc[SC_NEXT] else (hf - sc[SC_NEXT]) // step + 1
        if nf2:
            st2 = np.empty(nf2, np.int64)
            for j in range(nf2):
                st2[j] = sc[SC_NEXT] + step * j
            sc[SC_NEXT] = st2[nf2 - 1] + step
            X2 = np.empty((nf2, nfeat))
            _run_groups_nb(s, 0, s.rows[:0], st2, np.zeros(nf2, np.int64), X2)
            c1b = cycles_nb()
            _score_nb(s, st2, X2)
            c2b = cycles_nb()
            c1 += c1b - c2  # the flush's features belong to the features stage
            c2 = c2b
    s.cyc[CYC_FEATURES] = c1
    s.cyc[CYC_MODEL] = c2
    return FRONT_OK


@njit(cache=True)
def _model_codes_nb(s, m, rows, codes, values, a):
    """The model rule per event: causal trailing OFI (CKS eq. 10 summed over ``ofi_levels``, the same
    additions as :func:`companion.signals.trailing_ofi`) and the latest P(up)."""
    si, sf = s.sig_i, s.sig_f
    window, M = si[SI_WINDOW], si[SI_LEVELS]
    p = sf[SF_P_LAST]
    n, lo = si[SI_N], si[SI_LO]
    if n + m > s.o_ts.shape[0]:  # compact (drop events out of every window), else grow
        if lo > 0:
            keep = n - lo
            s.o_ts[:keep] = s.o_ts[lo:n].copy()
            s.o_e[:keep] = s.o_e[lo:n].copy()
            n, lo = keep, 0
        while n + m > s.o_ts.shape[0]:
            s.o_ts, s.o_e = grow_pair_nb(s.o_ts, s.o_e)
    ots, oe = s.o_ts, s.o_e
    prev = s.prev_row
    e = np.zeros(M)
    acc = s.o_acc[0]
    thr, pl, ps = sf[SF_OFI_THR], sf[SF_P_LONG], sf[SF_P_SHORT]
    for j in range(m):
        if si[SI_HAS_PREV] == 1:
            for lv in range(M):
                c = 4 * lv
                pa0, pb0, pa, pb = prev[c], prev[c + 2], rows[j, c], rows[j, c + 2]
                qa0 = level_size_nb(pa0, prev[c + 1])
                qb0 = level_size_nb(pb0, prev[c + 3])
                qa = level_size_nb(pa, rows[j, c + 1])
                qb = level_size_nb(pb, rows[j, c + 3])
                e[lv] = cks_e_nb(pa0, qa0, pb0, qb0, pa, qa, pb, qb)
            x = sum_levels_nb(e, M)
        else:
            x = 0.0
        for c in range(prev.shape[0]):
            prev[c] = rows[j, c]
        si[SI_HAS_PREV] = 1
        i = n + j
        ots[i] = s.c_ts[j]
        oe[i] = x
        acc += x
        while ots[lo] <= ots[i] - window:
            acc -= oe[lo]
            lo += 1
        codes[a + j] = sg.model_rule_nb(p, acc, thr, pl, ps)
        values[a + j] = p
    s.o_acc[0] = acc
    si[SI_N] = n + m
    si[SI_LO] = lo


@njit(cache=True)
def front_chunk_nb(s, ev, rows_in, codes, values, a):
    """One feed chunk through book -> features -> compiled model -> signal, in one call.

    ``ev``: the chunk (EVENT_DTYPE); ``rows_in``: the book after each event from the data source, or
    ``(0, 4L)`` to rebuild it (:func:`companion.book.kernels.book_step_nb` on ``s.book``);
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
        book_step_nb(s.book, s.c_kind[:m], s.c_side[:m], s.c_price[:m], s.c_size[:m], rows)
    c0 = cycles_nb()
    s.cyc[CYC_BOOK] = c0
    if s.mode == 1:
        r = _features_model_nb(s, m)
        if r != FRONT_OK:
            return r
        _model_codes_nb(s, m, rows, codes, values, a)
    else:
        s.cyc[CYC_FEATURES] = c0
        s.cyc[CYC_MODEL] = c0
        p = s.sc_par
        L = min(int(p[SP_LEVELS]), rows.shape[1] // 4)
        imbalance_codes_into_nb(s.c_kind[:m], s.c_side[:m], s.c_price[:m], s.c_size[:m], s.c_oid[:m], rows, L,
                                p[SP_TICK], p[SP_W_V], p[SP_W_D], p[SP_W_N], p[SP_WEAK], p[SP_STRONG], s.sc_orders,
                                s.sc_counts, codes, values, a)
    s.cyc[CYC_SIGNAL] = cycles_nb()
    s.cyc[CYC_TS] = s.c_ts[m - 1]
    return FRONT_OK


class FrontPipeline:
    """The Python handle of the fused front kernel: builds the ``FrontState`` of a stream
    (:class:`ImbalanceStream` or :class:`ModelStream`, whose state arrays it shares) and a book, and
    runs :func:`~companion.streaming.front_chunk_nb` on each chunk. ``rows`` / ``cyc``: views of the state's rows scratch
    and stage stamps (the same memory as the compiled object's fields). The book's arrays are taken
    over at construction: the front steps the same :class:`companion.book.kernels.BookState`.
    ``no_rows``: the empty rows array that asks the front to rebuild the book from the events."""

    def __init__(self, stream, book: BookState, levels: int, first_ts: int, chunk_capacity: int = 1024):
        L4 = 4 * int(levels)
        self.rows = np.empty((chunk_capacity, L4))
        # cycle stamps after book, features, model, signal; the chunk's ts; stamp after the strategy (live_chunk_nb)
        self.cyc = np.zeros(6, np.int64)
        self.no_rows = np.empty((0, L4))
        cap = chunk_capacity
        f: dict = {"cyc": self.cyc, "book": book, "rows": self.rows, "c_ts": np.zeros(cap, np.int64), "c_kind": np.zeros(cap, np.int8),
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
            f["sc_orders"], f["sc_counts"] = stream.orders, stream.counts
            f["sc_par"] = np.array([*stream.w, stream.weak, stream.strong, stream.tick, stream.levels], np.float64)
        #: the ``FrontState`` (one pointer for the compiled call)
        self.state = _new_front_nb(*(f[k] for k in _FRONT_FIELDS))
        if isinstance(stream, ModelStream):
            stream.attach_front(self.state)  # predictions() reads the scored samples from the state

    @staticmethod
    def _model_fields(f: dict, stream: ModelStream, first_ts: int) -> None:
        eng = stream.engine
        if eng.grid.kind != "clock":
            raise ValueError("the live model pipeline needs a clock grid")
        flush_exact = eng.start_ns is not None
        # no session: origin = the first event's time floored to the step (as update_arrays)
        eng.start(int(first_ts) // eng.grid.step_ns * eng.grid.step_ns)
        sc = eng.schedule
        f["sched"] = np.array([sc.next_t, sc.end, eng.grid.step_ns, sc.last_ts or 0, sc.last_ts is not None,
                               sc.flushed_to or 0, sc.flushed_to is not None, eng.start_ns or 0, flush_exact],
                              np.int64)
        groups = eng.group_states
        if max(g.nf for g in groups) > 16:
            raise ValueError("a feature group has more than 16 outputs (the front kernel's scratch width)")
        f["g_codes"] = np.array([_G_CODES[g.name] for g in groups], np.int64)
        f["g_nf"] = np.array([g.nf for g in groups], np.int64)
        f["select"] = eng.selection.astype(np.int64)
        # each model column's group and output index; per group, the bit mask of the outputs read
        starts = np.cumsum([0] + [g.nf for g in groups])
        sel = eng.selection.astype(np.int64)
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
                ip[GI_M_Z] = g.m_z
            elif g.name == "trades":
                fp[GF_LARGE] = g.large
            elif g.name == "vpin":
                fp[GF_VPIN_V], ip[GI_VPIN_NB] = g.V, g.nb
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
            raise ValueError(FRONT_ERRORS.get(code, f"front kernel error {code}"))
        return self.rows[:m]


