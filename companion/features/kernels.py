"""Numba state machines of the feature library: one kernel per feature group.

Every kernel has the same shape::

    <group>_update_nb(<event columns>, book, samp_t, samp_pos, <state arrays>, <params>, out)

It consumes the events of a chunk one by one (``book[i]`` = the book AFTER event ``i``, LOBSTER
layout), updates its explicit state arrays in place, and writes one row of ``out`` per requested
sample: sample ``j`` (time ``samp_t[j]``) is emitted *before* event ``samp_pos[j]`` is applied
(``samp_pos[j] == n``: after the last event of the chunk). That schedule is one loop,
:func:`sample_loop_nb`; a group supplies how it applies a run of events (``_<group>_events_nb``) and
how it writes a sample (``_<group>_emit_nb``), both over the tuple of its arguments. The caller
(:class:`companion.features.FeatureEngine`) puts a clock sample ``T`` before the first event with
``ts > T``, so its value is the state after the last event with ``ts <= T``. Nothing else is read:
a kernel cannot see an event before it has consumed it, and calling it on the whole day or chunk by
chunk with the state carried over executes the same floating-point operations in the same order
(batch == streaming, bit for bit).

The step kernels allocate nothing and are compiled without numba's runtime (``_nrt=False``;
``imbalance`` keeps it for its typed dict). With it, numba reference-counts the arrays of the state
tuple at every inlined event run and sample (~4 increments and ~4 decrements an event in ``ofi``),
which cost 8-10 % of the feature set. An allocation added to one of them fails to compile.

Emission masks: the kernels whose emission loops over a window's bins (``book``: the 5-min spread
z-score; ``volatility``: the Parkinson ranges) take ``need``, a bit mask of the outputs to compute
(bit ``f`` = output ``f``; default ``-1`` = all). An output left out is NaN and costs nothing; the
others are computed by the same operations, so every requested output is bit-identical. The live
executor passes the bits of its model's columns (a sample then costs ~1-2 us less); the batch path
requests everything.

Trailing clock windows (exact)
------------------------------
Time is cut into right-closed bins of width ``b`` aligned to the origin ``t0``: bin ``k`` holds the
events with ``t0 + (k-1) b < ts <= t0 + k b`` (:func:`bin_of_nb`). A window of ``m`` bins at a
sample in bin ``K`` covers bins ``K-m+1 .. K``; for a clock sample ``T = t0 + K b`` that is exactly
the events with ``T - m b < ts <= T``. Additive quantities keep a running total ``C`` and a ring of
the totals at the close of the last ``R = max m + 1`` bins, so a window sum is
``C_now - C_close(K - m)`` in O(1) (exact for integer sizes; deterministic always). Level
quantities (mid, spread) keep a ring of bin closes / highs / lows. Event-grid samples
(``T = ts_i``) use the same bins: their window is ``(t0 + (K-m) b, ts_i]``.

Per-event OFI: CKS (2014) eq. 10 at levels 1..5 (:func:`companion.flow.ofi.cks_e_nb`). :mod:`companion.flow.ofi` has
the same rule only as a whole-array kernel (``ofi_multilevel_events_nb``); the tests check the two
agree exactly. Aggressor sides follow :func:`companion.book.trades` (LOBSTER executions carry the
resting side: aggressor = -side; TRADE events carry the aggressor side).
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit, types
from numba.typed import Dict

from companion.events import ADD, CANCEL, CLEAR, DELETE, EXEC_HIDDEN, EXEC_VISIBLE, TRADE
from companion.flow.ofi import cks_e_nb
from companion.stats import level_ok_nb, level_size_nb, price_ok_nb, quote_mid_nb, row_mid_nb

SQRT_4LN2 = 2.0 * math.sqrt(math.log(2.0))  # Parkinson (1980): sigma = ln(H/L) / sqrt(4 ln 2)
BPS = 1.0e4


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def bin_of_nb(t: int, t0: int, b: int) -> int:
    """Bin index ``ceil((t - t0) / b)``: bin k holds ``t0 + (k-1) b < t <= t0 + k b``."""
    return -((t0 - t) // b)


@njit(cache=True)
def roll_closes_nb(ring: np.ndarray, cur_k: int, k: int, values: np.ndarray, q0: int, nq: int) -> None:
    """Record ``values[q0 + q]`` as the close of quantity ``q < nq`` for bins ``cur_k .. k-1`` (the
    last ``R - 1`` of them). An offset, not a slice of ``values``: building a slice of ``sf`` at
    every event made the ``ofi`` kernel ~30 % slower."""
    R = ring.shape[1]
    lo = cur_k if cur_k > k - R + 1 else k - R + 1
    for j in range(lo, k):
        s = j % R
        for q in range(nq):
            ring[q, s] = values[q0 + q]


@njit(cache=True)
def close_at_nb(ring: np.ndarray, q: int, j: int, cur_k: int, k_init: int, now: float, before: float) -> float:
    """Value of quantity ``q`` at the close of bin ``j``: ``now`` for ``j >= cur_k`` (no event after
    bin cur_k yet), ``before`` for bins before the first event, else the ring."""
    if j >= cur_k:
        return now
    if j < k_init:
        return before
    return ring[q, j % ring.shape[1]]


#: What :func:`advance_bins_nb` returns on the first event (there is no previous bin).
FIRST_BIN = -(2 ** 62)


def state_layout(name: str, **sizes: int) -> tuple:
    """Named offsets into a group's state vector (``sf`` or ``si``): one field a block, in order,
    then ``size``, the vector's length. A namedtuple: in a kernel ``sf[OFI_SF.sums + m]`` compiles to
    a constant offset.

    Examples
    --------
    >>> state_layout("OfiSf", prev=20, sums=5)
    OfiSf(prev=0, sums=20, size=25)
    """
    offsets, o = [], 0
    for n in sizes.values():
        offsets.append(o)
        o += n
    return namedtuple(name, [*sizes, "size"])(*offsets, o)


#: ``si`` of the binned groups starts with the bin bookkeeping (:func:`advance_bins_nb`):
#: initialised (0/1), current bin, first bin.
BIN_SI = state_layout("BinSi", init=1, cur=1, first=1)


@njit(cache=True)
def advance_bins_nb(t: int, t0: int, b: int, si: np.ndarray) -> int:
    """Bin bookkeeping at an event: returns the previous bin (:data:`FIRST_BIN` on the first
    event) and sets ``si[BIN_SI.init]`` (initialised), ``si[BIN_SI.cur]`` (current bin), ``si[BIN_SI.first]``
    (first bin)."""
    k = bin_of_nb(t, t0, b)
    if si[BIN_SI.init] == 0:
        si[BIN_SI.init] = 1
        si[BIN_SI.cur] = k
        si[BIN_SI.first] = k
        return FIRST_BIN
    prev = si[BIN_SI.cur]
    si[BIN_SI.cur] = k
    return prev


@njit(cache=True)
def open_bin_nb(t: int, t0: int, b: int, si: np.ndarray, ring: np.ndarray, sf: np.ndarray, q0: int) -> int:
    """:func:`advance_bins_nb`, then, when the event opens a later bin, record the running values
    ``sf[q0 : q0 + ring.shape[0]]`` as the close of the bins it leaves (:func:`roll_closes_nb`).
    Returns the previous bin."""
    prev = advance_bins_nb(t, t0, b, si)
    if prev > FIRST_BIN and si[BIN_SI.cur] > prev:
        roll_closes_nb(ring, prev, si[BIN_SI.cur], sf, q0, ring.shape[0])
    return prev


@njit(cache=True)
def bin_changed_nb(t: int, t0: int, b: int, si: np.ndarray) -> bool:
    """True when the event at ``t`` is the first or falls in another bin than the current one:
    only then has :func:`open_bin_nb` anything to do. The groups test this first and call
    :func:`open_bin_nb` only on a change: the function that records the closes is not inlined,
    and calling it at every event made the ``ofi`` kernel ~45 % slower."""
    return si[BIN_SI.init] == 0 or bin_of_nb(t, t0, b) != si[BIN_SI.cur]


@njit(cache=True, inline="always")
def sample_loop_nb(n, samp_pos, events_nb, emit_nb, state):
    """The schedule every step kernel runs over a chunk of ``n`` events: sample ``j`` is emitted
    (``emit_nb(j, state)``) once the events before ``samp_pos[j]`` (non-decreasing, at most ``n``)
    are applied (``events_nb(i0, i1, state)`` applies events ``i0 .. i1-1``); then the events after
    the last sample. ``events_nb`` / ``emit_nb`` are the group's jitted functions and ``state`` the
    tuple of their arguments; all three are inlined into the group's step kernel (no call per
    event or sample, no Python object in the loop)."""
    i = 0
    for j in range(samp_pos.shape[0]):
        stop = min(samp_pos[j], n)
        if stop > i:
            events_nb(i, stop, state)
            i = stop
        emit_nb(j, state)
    if n > i:
        events_nb(i, n, state)


@njit(cache=True, inline="always")
def nan_row_nb(out: np.ndarray, j: int, nf: int) -> None:
    """``out[j, :nf] = NaN``: a sample's outputs before the group fills those it can."""
    for f in range(nf):
        out[j, f] = np.nan


@njit(cache=True, inline="always")
def keep_row_nb(book: np.ndarray, i: int, levels: int, sf: np.ndarray, at: int) -> None:
    """``sf[at : at + 4 levels] = book[i, :4 levels]``: a group that reads the book at its samples
    keeps the row of the last event applied, copied once per run of events (``events_nb``), not at
    every event."""
    for c in range(4 * levels):
        sf[at + c] = book[i, c]


#: Size of a level, 0 when empty: the package's one rule, :func:`companion.stats.level_size_nb`.
clean_size_nb = level_size_nb
#: Level-1 mid of a LOBSTER row, NaN when a side is empty: :func:`companion.stats.row_mid_nb`.
mid_of_nb = row_mid_nb


@njit(cache=True)
def aggressor_nb(kind: int, side: int) -> int:
    """Aggressor side of a fill (+1 buyer-initiated), 0 when the event is not a trade."""
    if kind == EXEC_VISIBLE or kind == EXEC_HIDDEN:
        return -side
    if kind == TRADE:
        return side
    return 0


# --------------------------------------------------------------------------------------------
# group "ofi": CKS OFI over 1 s / 10 s / 1 min / 5 min, multi-level OFI (levels 2..5, 10 s)
# --------------------------------------------------------------------------------------------
OFI_NQ = 5  # cumulative e^1..e^5
OFI_NF = 9
#: ``sf``: the previous (pa, qa, pb, qb) of levels 1..5; the running sums of e^1..e^5.
OFI_SF = state_layout("OfiSf", prev=20, sums=OFI_NQ)
#: ``si``: the bin bookkeeping; the flag "a previous book row exists".
OFI_SI = state_layout("OfiSi", bins=BIN_SI.size, has_prev=1)


@njit(cache=True, inline="always")
def _ofi_emit_nb(j, state):
    ts, book, samp_t, t0, b, wb, sf, si, ring, nl, out = state
    K = bin_of_nb(samp_t[j], t0, b)
    cur_k = si[BIN_SI.cur]
    k_init = si[BIN_SI.first]
    init = si[BIN_SI.init] == 1
    for w in range(4):
        out[j, w] = sf[OFI_SF.sums] - close_at_nb(ring, 0, K - wb[w], cur_k, k_init, sf[OFI_SF.sums], 0.0) if init else 0.0
    tot = out[j, 1]
    for m in range(1, 5):
        if m < nl:
            q = OFI_SF.sums + m
            v = sf[q] - close_at_nb(ring, m, K - wb[1], cur_k, k_init, sf[q], 0.0) if init else 0.0
            out[j, 3 + m] = v
            tot += v
        else:
            out[j, 3 + m] = np.nan
    out[j, 8] = tot if nl >= 5 else np.nan


@njit(cache=True, inline="always")
def _ofi_events_nb(i0, i1, state):
    ts, book, samp_t, t0, b, wb, sf, si, ring, nl, out = state
    for i in range(i0, i1):
        if bin_changed_nb(ts[i], t0, b, si):
            open_bin_nb(ts[i], t0, b, si, ring, sf, OFI_SF.sums)
        for m in range(nl):
            c = 4 * m
            pa = book[i, c]
            qa = clean_size_nb(pa, book[i, c + 1])
            pb = book[i, c + 2]
            qb = clean_size_nb(pb, book[i, c + 3])
            p = OFI_SF.prev + 4 * m
            if si[OFI_SI.has_prev] == 1:
                sf[OFI_SF.sums + m] += cks_e_nb(sf[p], sf[p + 1], sf[p + 2], sf[p + 3], pa, qa, pb, qb)
            sf[p] = pa
            sf[p + 1] = qa
            sf[p + 2] = pb
            sf[p + 3] = qb
        si[OFI_SI.has_prev] = 1


@njit(cache=True, _nrt=False)
def ofi_update_nb(ts, book, samp_t, samp_pos, t0, b, wb, sf, si, ring, out):
    """Group ``ofi``. ``wb``: window lengths in bins (1 s, 10 s, 1 min, 5 min).

    State: ``sf`` as :data:`OFI_SF`, ``si`` as :data:`OFI_SI`; ``ring`` (5, R) bin closes of the sums.
    e_0 = 0 for the first event ever (no previous row), as in :func:`companion.flow.ofi.ofi_events`.
    """
    L = book.shape[1] // 4
    nl = L if L < 5 else 5
    sample_loop_nb(ts.shape[0], samp_pos, _ofi_events_nb, _ofi_emit_nb,
                   (ts, book, samp_t, t0, b, wb, sf, si, ring, nl, out))


# --------------------------------------------------------------------------------------------
# group "imbalance": volume imbalance 1..10, distance-weighted, order-count, composite
# --------------------------------------------------------------------------------------------
IMB_NF = 14
#: ``sf``: the last book row (first 10 levels, 4 per level).
IMB_SF = state_layout("ImbSf", row=40)
#: ``si``: the number of levels of the kept row (0: no row yet).
IMB_SI = state_layout("ImbSi", levels=1)


def new_order_maps():
    """Typed dicts of the per-order map: ``order_id -> (side-price code, remaining size)`` and
    ``code -> number of resting orders``; code = ``2 price + (1 if bid else 0)``.

    Examples
    --------
    Two bids at 100 (price units), one of them then deleted (LOBSTER kinds 1 add, 3 delete):

    >>> orders, counts = new_order_maps()
    >>> order_map_step_nb(1, 1, 100, 50.0, 7, orders, counts)
    >>> order_map_step_nb(1, 1, 100, 20.0, 8, orders, counts)
    >>> dict(counts)                                                # code 2 x 100 + 1 (bid)
    {201: 2}
    >>> order_map_step_nb(3, 1, 100, 50.0, 7, orders, counts)
    >>> dict(counts), dict(orders)
    ({201: 1}, {8: (201, 20.0)})
    """
    orders = Dict.empty(key_type=types.int64, value_type=types.Tuple((types.int64, types.float64)))
    counts = Dict.empty(key_type=types.int64, value_type=types.int64)
    return orders, counts


@njit(cache=True)
def _count_remove_nb(counts, code):
    c = counts.get(code, 0) - 1
    if c <= 0:
        if code in counts:
            del counts[code]
    else:
        counts[code] = c


@njit(cache=True)
def order_map_step_nb(kind, side, price, size, oid, orders, counts):
    """Apply one event to the per-order map (LOBSTER semantics: 1 add, 2 partial cancel, 3 delete,
    4 visible execution; 12 clears). Unknown order ids (orders resting before the file starts,
    hidden executions with id 0) are ignored."""
    if kind == CLEAR:
        orders.clear()
        counts.clear()
        return
    if oid == 0:
        return
    if kind == ADD:
        if oid in orders:  # a re-used id: drop the old order first
            old = orders[oid]
            _count_remove_nb(counts, old[0])
        code = 2 * price + (1 if side > 0 else 0)
        orders[oid] = (code, size)
        counts[code] = counts.get(code, 0) + 1
    elif kind == CANCEL or kind == EXEC_VISIBLE or kind == DELETE:
        if oid in orders:
            o = orders[oid]
            left = o[1] - size
            if kind == DELETE or left <= 1e-9 * o[1]:
                del orders[oid]
                _count_remove_nb(counts, o[0])
            else:
                orders[oid] = (o[0], left)


@njit(cache=True, inline="always")
def _imb_emit_nb(j, state):
    kind, side, price, size, oid, book, L, sf, si, orders, counts, tick, out = state
    nan_row_nb(out, j, IMB_NF)
    L = si[IMB_SI.levels]
    if L == 0:
        return
    row = sf[IMB_SF.row:IMB_SF.row + 40]
    db = 0.0
    da = 0.0
    for k in range(L):
        da += clean_size_nb(row[4 * k], row[4 * k + 1])
        db += clean_size_nb(row[4 * k + 2], row[4 * k + 3])
        if db + da > 0:
            out[j, k] = (db - da) / (db + da)
    mid = mid_of_nb(row)
    # distance-weighted imbalance over the visible levels: w = 1 / (1 + |p - mid| / tick)
    if not np.isnan(mid):
        wb = 0.0
        wa = 0.0
        for k in range(L):
            pa = row[4 * k]
            pb = row[4 * k + 2]
            if level_ok_nb(pa, row[4 * k + 1]):
                wa += row[4 * k + 1] / (1.0 + abs(pa - mid) / tick)
            if level_ok_nb(pb, row[4 * k + 3]):
                wb += row[4 * k + 3] / (1.0 + abs(mid - pb) / tick)
        if wa + wb > 0:
            out[j, 10] = (wb - wa) / (wa + wb)
    # order-count imbalance at level 1 and cumulative to level 5
    nb = 0.0
    na = 0.0
    for k in range(L if L < 5 else 5):
        pa = row[4 * k]
        pb = row[4 * k + 2]
        if level_ok_nb(pa, row[4 * k + 1]):
            na += counts.get(2 * np.int64(pa), 0)
        if level_ok_nb(pb, row[4 * k + 3]):
            nb += counts.get(2 * np.int64(pb) + 1, 0)
        if k == 0 and na + nb > 0:
            out[j, 11] = (nb - na) / (na + nb)
        if k == 4 and na + nb > 0:
            out[j, 12] = (nb - na) / (na + nb)
    # composite 0.7 volume(1) + 0.2 weighted + 0.1 order-count(1), renormalised over available parts
    num = 0.0
    den = 0.0
    if not np.isnan(out[j, 0]):
        num += 0.7 * out[j, 0]
        den += 0.7
    if not np.isnan(out[j, 10]):
        num += 0.2 * out[j, 10]
        den += 0.2
    if not np.isnan(out[j, 11]):
        num += 0.1 * out[j, 11]
        den += 0.1
    if den > 0:
        out[j, 13] = num / den


@njit(cache=True, inline="always")
def _imb_events_nb(i0, i1, state):
    kind, side, price, size, oid, book, L, sf, si, orders, counts, tick, out = state
    for i in range(i0, i1):
        order_map_step_nb(kind[i], side[i], price[i], size[i], oid[i], orders, counts)
    keep_row_nb(book, i1 - 1, L, sf, IMB_SF.row)
    si[IMB_SI.levels] = L


@njit(cache=True)
def imbalance_update_nb(kind, side, price, size, oid, book, samp_pos, sf, si, orders, counts, tick, out):
    """Group ``imbalance``. State: ``sf`` as :data:`IMB_SF`, ``si`` as :data:`IMB_SI`;
    ``orders``/``counts`` the per-order map (:func:`order_map_step_nb`)."""
    L = book.shape[1] // 4
    if L > 10:
        L = 10
    sample_loop_nb(kind.shape[0], samp_pos, _imb_events_nb, _imb_emit_nb,
                   (kind, side, price, size, oid, book, L, sf, si, orders, counts, tick, out))


# --------------------------------------------------------------------------------------------
# group "book": spread (ticks, bps, z-score), depth, depth ratio, slope, micro-price deviation
# --------------------------------------------------------------------------------------------
BOOK_NF = 11
#: ``sf``: the last book row (first 10 levels, 4 per level); the spread in ticks (NaN when a side
#: is empty).
BOOK_SF = state_layout("BookSf", row=40, spread=1)
#: ``si``: the bin bookkeeping; the number of levels of the kept row (0: no row yet).
BOOK_SI = state_layout("BookSi", bins=BIN_SI.size, levels=1)


@njit(cache=True, inline="always")
def _spread_window_sum_nb(ring, K, m_z, si, spread, mean, square):
    """Sum of ``v - mean`` (squared when ``square``) over the spread's closes ``v`` of bins
    ``K - m_z + 1 .. K`` from the first bin on, in bin order: the closed bins' closes from the
    ring's row 0, then the running ``spread`` for the current bin and later; NaN closes are
    skipped. Returns ``(sum, count)``: with ``mean = 0`` the sum of the closes (``v - 0.0`` is
    ``v`` exactly), then with the mean the sum of squares."""
    R = ring.shape[1]
    cur_k = si[BIN_SI.cur]
    lo = max(K - m_z + 1, si[BIN_SI.first])
    total = 0.0
    cnt = 0
    r = lo % R
    for jj in range(lo, K + 1):
        if jj < cur_k:
            v = ring[0, r]
            r = r + 1 if r + 1 < R else 0
        else:
            v = spread
        if not np.isnan(v):
            d = v - mean
            total += d * (d if square else 1.0)
            cnt += 1
    return total, cnt


@njit(cache=True, inline="always")
def _book_emit_nb(j, state):
    ts, book, samp_t, t0, b, m_z, L, sf, si, ring, tick, out, need = state
    L = si[BOOK_SI.levels]
    nan_row_nb(out, j, BOOK_NF)
    if L == 0:
        return
    row = sf[BOOK_SF.row:BOOK_SF.row + 40]
    mid = mid_of_nb(row)
    spread = sf[BOOK_SF.spread]
    if not np.isnan(mid):
        out[j, 0] = spread
        out[j, 1] = (row[0] - row[2]) / mid * BPS
        # z-score of the spread against the closes of the last m_z bins (population std); the one
        # output of the group that loops over a window (2 m_z bins): skipped when not requested
        if (need >> 2) & 1:
            K = bin_of_nb(samp_t[j], t0, b)
            s1, cnt = _spread_window_sum_nb(ring, K, m_z, si, spread, 0.0, False)
            if cnt >= 2:
                mean = s1 / cnt
                s2, cnt = _spread_window_sum_nb(ring, K, m_z, si, spread, mean, True)
                sd = math.sqrt(s2 / cnt)
                if sd > 0:
                    out[j, 2] = (spread - mean) / sd
        qa = row[1]
        qb = row[3]
        if qa + qb > 0:  # weighted mid - mid = (Pa - Pb)(I - 1/2), I = qb / (qa + qb)
            out[j, 10] = (row[0] - row[2]) * (qb / (qa + qb) - 0.5) / tick
    da = 0.0
    db = 0.0
    lastb = np.nan
    lasta = np.nan
    for k in range(L):
        pa = row[4 * k]
        pb = row[4 * k + 2]
        if level_ok_nb(pa, row[4 * k + 1]):
            da += row[4 * k + 1]
            lasta = pa
        if level_ok_nb(pb, row[4 * k + 3]):
            db += row[4 * k + 3]
            lastb = pb
        if k == 0:
            out[j, 3] = da + db
        if k == 4:
            out[j, 4] = da + db
            if da > 0:
                out[j, 6] = db / da
        if k == 9:
            out[j, 5] = da + db
            if da > 0 and db > 0:
                out[j, 7] = math.log(db / da)
            if not np.isnan(mid):
                if mid - lastb > 0:
                    out[j, 8] = db / ((mid - lastb) / tick)
                if lasta - mid > 0:
                    out[j, 9] = da / ((lasta - mid) / tick)


@njit(cache=True, inline="always")
def _spread_ticks_nb(book, i, tick):
    """The spread of ``book[i]`` in ticks; NaN when a side is empty."""
    if level_ok_nb(book[i, 0], book[i, 1]) and level_ok_nb(book[i, 2], book[i, 3]):
        return (book[i, 0] - book[i, 2]) / tick
    return np.nan


@njit(cache=True, inline="always")
def _book_events_nb(i0, i1, state):
    ts, book, samp_t, t0, b, m_z, L, sf, si, ring, tick, out, need = state
    # the running spread is read only when a bin closes (as its close) and at the samples: it is
    # computed from the row of the event before a bin change and from the run's last row
    for i in range(i0, i1):
        if bin_changed_nb(ts[i], t0, b, si):
            if i > i0:
                sf[BOOK_SF.spread] = _spread_ticks_nb(book, i - 1, tick)
            open_bin_nb(ts[i], t0, b, si, ring, sf, BOOK_SF.spread)
    sf[BOOK_SF.spread] = _spread_ticks_nb(book, i1 - 1, tick)
    keep_row_nb(book, i1 - 1, L, sf, BOOK_SF.row)
    si[BOOK_SI.levels] = L


@njit(cache=True, _nrt=False)
def book_update_nb(ts, book, samp_t, samp_pos, t0, b, m_z, sf, si, ring, tick, out, need=-1):
    """Group ``book``. State: ``sf`` as :data:`BOOK_SF`, ``si`` as :data:`BOOK_SI`; ``ring`` (1, R)
    spread at the close of each bin. ``need``: bit mask of the outputs to compute (module docstring)."""
    L = book.shape[1] // 4
    if L > 10:
        L = 10
    sample_loop_nb(ts.shape[0], samp_pos, _book_events_nb, _book_emit_nb,
                   (ts, book, samp_t, t0, b, m_z, L, sf, si, ring, tick, out, need))


# --------------------------------------------------------------------------------------------
# group "trades": buy/sell volume, trade imbalance, trade count, large trades, VWAP distance
# --------------------------------------------------------------------------------------------
TR_NQ = 6  # buy vol, sell vol, trades, large trades, sum p q, sum q
TR_NF = 12
#: ``sf``: the ``TR_NQ`` running totals (buy volume, sell volume, trades, large trades, sum of
#: price x size, sum of size; their offsets are also their rows in ``ring``); the last valid mid;
#: the size of the open trade.
TR_SF = state_layout("TradesSf", buy=1, sell=1, trades=1, large=1, pq=1, q=1, last_mid=1, open_size=1)
#: ``si``: the bin bookkeeping; the open trade: flag (0/1), timestamp, aggressor side.
TR_SI = state_layout("TradesSi", bins=BIN_SI.size, open=1, open_ts=1, open_side=1)


@njit(cache=True)
def _win_nb(now, ring, q, j0, cur_k, k_init):
    """Window total of quantity ``q`` (running total ``now``): ``now`` minus the total at the close of
    bin ``j0``."""
    return now - close_at_nb(ring, q, j0, cur_k, k_init, now, 0.0)


@njit(cache=True, inline="always")
def _trades_emit_nb(j, state):
    ts, kind, side, price, size, book, samp_t, t0, b, wb, sf, si, ring, tick, large, out = state
    nan_row_nb(out, j, TR_NF)
    buy, sell, pq, qty = sf[TR_SF.buy], sf[TR_SF.sell], sf[TR_SF.pq], sf[TR_SF.q]
    trades, large_trades = sf[TR_SF.trades], sf[TR_SF.large]
    if si[TR_SI.open] == 1:  # the pending (open) trade: all its fills have ts <= T
        trades += 1.0
        if sf[TR_SF.open_size] >= large:
            large_trades += 1.0
    if si[BIN_SI.init] == 0:
        for f in range(4):
            out[j, f] = 0.0
        out[j, 7] = 0.0
        out[j, 8] = 0.0
        out[j, 9] = 0.0
        return
    K = bin_of_nb(samp_t[j], t0, b)
    cur_k = si[BIN_SI.cur]
    k_init = si[BIN_SI.first]
    bv10 = _win_nb(buy, ring, TR_SF.buy, K - wb[0], cur_k, k_init)
    sv10 = _win_nb(sell, ring, TR_SF.sell, K - wb[0], cur_k, k_init)
    bv60 = _win_nb(buy, ring, TR_SF.buy, K - wb[1], cur_k, k_init)
    sv60 = _win_nb(sell, ring, TR_SF.sell, K - wb[1], cur_k, k_init)
    bv300 = _win_nb(buy, ring, TR_SF.buy, K - wb[2], cur_k, k_init)
    sv300 = _win_nb(sell, ring, TR_SF.sell, K - wb[2], cur_k, k_init)
    out[j, 0] = bv10
    out[j, 1] = sv10
    out[j, 2] = bv60
    out[j, 3] = sv60
    if bv10 + sv10 > 0:
        out[j, 4] = (bv10 - sv10) / (bv10 + sv10)
    if bv60 + sv60 > 0:
        out[j, 5] = (bv60 - sv60) / (bv60 + sv60)
    if bv300 + sv300 > 0:
        out[j, 6] = (bv300 - sv300) / (bv300 + sv300)
    out[j, 7] = _win_nb(trades, ring, TR_SF.trades, K - wb[1], cur_k, k_init)
    out[j, 8] = 1.0 if _win_nb(large_trades, ring, TR_SF.large, K - wb[0], cur_k, k_init) > 0 else 0.0
    out[j, 9] = _win_nb(large_trades, ring, TR_SF.large, K - wb[2], cur_k, k_init)
    mid = sf[TR_SF.last_mid]
    for f in range(2):
        m = wb[1] if f == 0 else wb[2]
        vq = _win_nb(qty, ring, TR_SF.q, K - m, cur_k, k_init)
        if vq > 0 and not np.isnan(mid):
            out[j, 10 + f] = (mid - _win_nb(pq, ring, TR_SF.pq, K - m, cur_k, k_init) / vq) / tick


@njit(cache=True, inline="always")
def _trades_events_nb(i0, i1, state):
    ts, kind, side, price, size, book, samp_t, t0, b, wb, sf, si, ring, tick, large, out = state
    for i in range(i0, i1):
        agg = aggressor_nb(kind[i], side[i])
        if si[TR_SI.open] == 1 and (agg == 0 or ts[i] != si[TR_SI.open_ts] or agg != si[TR_SI.open_side]):
            sf[TR_SF.trades] += 1.0  # close the open trade (it belongs to the current bin)
            if sf[TR_SF.open_size] >= large:
                sf[TR_SF.large] += 1.0
            si[TR_SI.open] = 0
        if bin_changed_nb(ts[i], t0, b, si):
            open_bin_nb(ts[i], t0, b, si, ring, sf, TR_SF.buy)
        if agg != 0:
            q = size[i]
            if agg > 0:
                sf[TR_SF.buy] += q
            else:
                sf[TR_SF.sell] += q
            sf[TR_SF.pq] += price[i] * q
            sf[TR_SF.q] += q
            if si[TR_SI.open] == 1:
                sf[TR_SF.open_size] += q
            else:
                si[TR_SI.open] = 1
                si[TR_SI.open_ts] = ts[i]
                si[TR_SI.open_side] = agg
                sf[TR_SF.open_size] = q
        m = quote_mid_nb(book[i, 0], book[i, 1], book[i, 2], book[i, 3])
        if not np.isnan(m):
            sf[TR_SF.last_mid] = m


@njit(cache=True, _nrt=False)
def trades_update_nb(ts, kind, side, price, size, book, samp_t, samp_pos, t0, b, wb, sf, si, ring, tick, large, out):
    """Group ``trades``. ``wb``: windows in bins (10 s, 1 min, 5 min); ``large``: size threshold of a
    large trade. A *trade* is a maximal run of consecutive fills with the same timestamp and
    aggressor side (a market order sweeping several resting orders); volumes count every fill.

    State: ``sf`` as :data:`TR_SF`, ``si`` as :data:`TR_SI`; ``ring`` (``TR_NQ``, R) bin closes of the
    running totals.
    """
    sample_loop_nb(ts.shape[0], samp_pos, _trades_events_nb, _trades_emit_nb,
                   (ts, kind, side, price, size, book, samp_t, t0, b, wb, sf, si, ring, tick, large, out))


# --------------------------------------------------------------------------------------------
# group "queue": arrival / cancellation / execution rates at the best quotes
# --------------------------------------------------------------------------------------------
Q_NQ = 3
Q_NF = 4
#: ``sf``: the ``Q_NQ`` running counts (adds, cancels + deletes, executions; also their rows in
#: ``ring``); the best ask / bid price before the next event.
Q_SF = state_layout("QueueSf", adds=1, cancels=1, execs=1, best_ask=1, best_bid=1)


@njit(cache=True, inline="always")
def _queue_emit_nb(j, state):
    ts, kind, side, price, book, samp_t, t0, b, wb, b_sec, sf, si, ring, out = state
    if si[BIN_SI.init] == 0:
        out[j, 0] = 0.0
        out[j, 1] = 0.0
        out[j, 2] = 0.0
        out[j, 3] = np.nan
        return
    K = bin_of_nb(samp_t[j], t0, b)
    cur_k = si[BIN_SI.cur]
    k_init = si[BIN_SI.first]
    for q in range(3):
        v = sf[Q_SF.adds + q]
        out[j, q] = (v - close_at_nb(ring, q, K - wb[0], cur_k, k_init, v, 0.0)) / (wb[0] * b_sec)
    adds = sf[Q_SF.adds] - close_at_nb(ring, Q_SF.adds, K - wb[1], cur_k, k_init, sf[Q_SF.adds], 0.0)
    canc = sf[Q_SF.cancels] - close_at_nb(ring, Q_SF.cancels, K - wb[1], cur_k, k_init, sf[Q_SF.cancels], 0.0)
    out[j, 3] = canc / adds if adds > 0 else np.nan


@njit(cache=True, inline="always")
def _queue_events_nb(i0, i1, state):
    ts, kind, side, price, book, samp_t, t0, b, wb, b_sec, sf, si, ring, out = state
    for i in range(i0, i1):
        if bin_changed_nb(ts[i], t0, b, si) and open_bin_nb(ts[i], t0, b, si, ring, sf, Q_SF.adds) == FIRST_BIN:
            sf[Q_SF.best_ask] = np.inf
            sf[Q_SF.best_bid] = -np.inf
        k = kind[i]
        p = float(price[i])
        best = sf[Q_SF.best_bid] if side[i] > 0 else sf[Q_SF.best_ask]
        empty = not price_ok_nb(best)
        if k == ADD:
            if empty or (side[i] > 0 and p >= best) or (side[i] < 0 and p <= best):
                sf[Q_SF.adds] += 1.0
        elif k == CANCEL or k == DELETE:
            if p == best:
                sf[Q_SF.cancels] += 1.0
        elif k == EXEC_VISIBLE:
            if p == best:
                sf[Q_SF.execs] += 1.0
        sf[Q_SF.best_ask] = book[i, 0]
        sf[Q_SF.best_bid] = book[i, 2]


@njit(cache=True, _nrt=False)
def queue_update_nb(ts, kind, side, price, book, samp_t, samp_pos, t0, b, wb, b_sec, sf, si, ring, out):
    """Group ``queue``. Counts events at the best quote of their side as it stood BEFORE the event:
    adds at or better than the best (or on an empty side), cancels/deletes and visible executions
    at the best price. ``wb``: windows in bins (10 s, 1 min); ``b_sec``: bin width in seconds.

    State: ``sf`` as :data:`Q_SF`, ``si`` as :data:`BIN_SI`; ``ring`` (``Q_NQ``, R) bin closes of the
    counts.
    """
    sample_loop_nb(ts.shape[0], samp_pos, _queue_events_nb, _queue_emit_nb,
                   (ts, kind, side, price, book, samp_t, t0, b, wb, b_sec, sf, si, ring, out))


# --------------------------------------------------------------------------------------------
# group "volatility": realised and Parkinson volatility, momentum
# --------------------------------------------------------------------------------------------
VOL_NF = 7
#: ``sf``: the running sum of closed-bin r^2; the mid now (the two in this order: they are rolled
#: into ``ring`` rows 0, 1); the mid at the close of the previous bin.
VOL_SF = state_layout("VolSf", sum_r2=1, mid=1, prev_close=1)


@njit(cache=True, inline="always")
def _vol_emit_nb(j, state):
    ts, book, samp_t, t0, b, wb, sf, si, ring, out, need = state
    nan_row_nb(out, j, VOL_NF)
    if si[BIN_SI.init] == 0:
        return
    K = bin_of_nb(samp_t[j], t0, b)
    cur_k = si[BIN_SI.cur]
    k_init = si[BIN_SI.first]
    R = ring.shape[1]
    mid = sf[VOL_SF.mid]
    pend = 0.0
    if not np.isnan(mid) and not np.isnan(sf[VOL_SF.prev_close]):
        r = math.log(mid / sf[VOL_SF.prev_close])
        pend = r * r
    now = sf[VOL_SF.sum_r2] + pend
    # realised volatility: sqrt(sum of squared bin log returns of the mid), bps
    for f in range(2):
        m = wb[1 + f]
        v = now - close_at_nb(ring, 0, K - m, cur_k, k_init, now, 0.0)
        out[j, f] = math.sqrt(v if v > 0 else 0.0) * BPS
    # Parkinson: ln(H / L) / sqrt(4 ln 2) of the mid's range over the window, bps (loops over the
    # window's bins: skipped when not requested)
    for f in range(2, 4):
        if not (need >> f) & 1:
            continue
        m = wb[f - 1]
        hi = np.nan
        lo = np.nan
        if K > cur_k:
            hi = mid
            lo = mid
        jlo = K - m + 1
        if jlo < k_init:
            jlo = k_init
        jhi = K if K < cur_k else cur_k
        r = jlo % R  # the ring slot of bin jlo, then stepped: no modulo per bin (the group ~6 % faster)
        for _ in range(jlo, jhi + 1):
            h = ring[2, r]
            l_ = ring[3, r]
            r = r + 1 if r + 1 < R else 0
            if not np.isnan(h) and (np.isnan(hi) or h > hi):
                hi = h
            if not np.isnan(l_) and (np.isnan(lo) or l_ < lo):
                lo = l_
        if not np.isnan(hi) and not np.isnan(lo):
            out[j, f] = math.log(hi / lo) / SQRT_4LN2 * BPS
    # momentum: log mid return over the window, bps
    for f in range(4, 7):
        m = wb[f - 4]
        then = close_at_nb(ring, 1, K - m, cur_k, k_init, mid, np.nan)
        out[j, f] = math.log(mid / then) * BPS


@njit(cache=True, inline="always")
def _vol_events_nb(i0, i1, state):
    ts, book, samp_t, t0, b, wb, sf, si, ring, out, need = state
    for i in range(i0, i1):
        R = ring.shape[1]
        prev = advance_bins_nb(ts[i], t0, b, si)
        k = si[BIN_SI.cur]
        if prev == FIRST_BIN:
            sf[VOL_SF.mid] = np.nan
            sf[VOL_SF.prev_close] = np.nan
            sf[VOL_SF.sum_r2] = 0.0
            ring[2, k % R] = np.nan
            ring[3, k % R] = np.nan
        elif k > prev:
            mid = sf[VOL_SF.mid]
            if not np.isnan(mid) and not np.isnan(sf[VOL_SF.prev_close]):
                r = math.log(mid / sf[VOL_SF.prev_close])
                sf[VOL_SF.sum_r2] += r * r
            roll_closes_nb(ring, prev, k, sf, VOL_SF.sum_r2, 2)  # ring rows 0, 1: sum of r^2, mid
            lo = prev + 1 if prev + 1 > k - R + 1 else k - R + 1
            for jj in range(lo, k + 1):
                ring[2, jj % R] = mid
                ring[3, jj % R] = mid
            sf[VOL_SF.prev_close] = mid
        m = quote_mid_nb(book[i, 0], book[i, 1], book[i, 2], book[i, 3])
        if not np.isnan(m):
            sf[VOL_SF.mid] = m
            s = k % R
            if np.isnan(ring[2, s]) or m > ring[2, s]:
                ring[2, s] = m
            if np.isnan(ring[3, s]) or m < ring[3, s]:
                ring[3, s] = m


@njit(cache=True, _nrt=False)
def volatility_update_nb(ts, book, samp_t, samp_pos, t0, b, wb, sf, si, ring, out, need=-1):
    """Group ``volatility``. ``wb``: windows in bins (10 s, 1 min, 5 min). The mid is the last valid
    level-1 mid. Bin return ``r_k = ln(M_k / M_{k-1})`` between bin closes.

    State: ``sf`` as :data:`VOL_SF`, ``si`` as :data:`BIN_SI`; ``ring`` (4, R): cumulative r^2 at each
    bin close, mid at each bin close, bin high, bin low. ``need``: bit mask of the outputs
    to compute (module docstring).
    """
    sample_loop_nb(ts.shape[0], samp_pos, _vol_events_nb, _vol_emit_nb,
                   (ts, book, samp_t, t0, b, wb, sf, si, ring, out, need))


# --------------------------------------------------------------------------------------------
# group "vpin": streaming VPIN with exact and bulk-classified signs
# --------------------------------------------------------------------------------------------
VPIN_NF = 3
#: ``sf``: the room left in the current bucket; its buy / sell volume; the last trade price; the
#: price at the previous bucket end; the Welford mean and M2 of the bucket price changes; the OI
#: of the last complete bucket.
VPIN_SF = state_layout("VpinSf", room=1, buy=1, sell=1, last_price=1, start_price=1, mean=1, m2=1, last_oi=1)
#: ``si``: the number of buckets done; the Welford count; the flag "started".
VPIN_SI = state_layout("VpinSi", done=1, count=1, started=1)


@njit(cache=True, inline="always")
def _vpin_emit_nb(j, state):
    kind, side, price, size, V, nb, eps, sf, si, ring, out = state
    done = si[VPIN_SI.done]
    out[j, 1] = sf[VPIN_SF.last_oi] if done > 0 else np.nan
    if done >= nb:
        s = 0.0
        s2 = 0.0
        for q in range(nb):
            s += ring[0, q]
            s2 += ring[1, q]
        out[j, 0] = s / nb
        out[j, 2] = s2 / nb
    else:
        out[j, 0] = np.nan
        out[j, 2] = np.nan


@njit(cache=True, inline="always")
def _vpin_events_nb(i0, i1, state):
    kind, side, price, size, V, nb, eps, sf, si, ring, out = state
    for i in range(i0, i1):
        agg = aggressor_nb(kind[i], side[i])
        if agg == 0:
            continue
        if si[VPIN_SI.started] == 0:
            si[VPIN_SI.started] = 1
            sf[VPIN_SF.room] = V
            sf[VPIN_SF.start_price] = float(price[i])
        sf[VPIN_SF.last_price] = float(price[i])
        a = size[i]
        while a > eps:
            take = a if a < sf[VPIN_SF.room] else sf[VPIN_SF.room]
            if agg > 0:
                sf[VPIN_SF.buy] += take
            else:
                sf[VPIN_SF.sell] += take
            a -= take
            sf[VPIN_SF.room] -= take
            if sf[VPIN_SF.room] <= eps:
                slot = si[VPIN_SI.done] % nb
                oi = abs(sf[VPIN_SF.sell] - sf[VPIN_SF.buy]) / V
                ring[0, slot] = oi
                sf[VPIN_SF.last_oi] = oi
                dp = sf[VPIN_SF.last_price] - sf[VPIN_SF.start_price]
                si[VPIN_SI.count] += 1
                d = dp - sf[VPIN_SF.mean]
                sf[VPIN_SF.mean] += d / si[VPIN_SI.count]
                sf[VPIN_SF.m2] += d * (dp - sf[VPIN_SF.mean])
                z = 0.5
                if si[VPIN_SI.count] >= 2:
                    sd = math.sqrt(sf[VPIN_SF.m2] / (si[VPIN_SI.count] - 1))
                    if sd > 0:
                        z = 0.5 * (1.0 + math.erf(dp / (sd * math.sqrt(2.0))))
                ring[1, slot] = abs(2.0 * z - 1.0)
                sf[VPIN_SF.start_price] = sf[VPIN_SF.last_price]
                si[VPIN_SI.done] += 1
                sf[VPIN_SF.room] = V
                sf[VPIN_SF.buy] = 0.0
                sf[VPIN_SF.sell] = 0.0


@njit(cache=True, _nrt=False)
def vpin_update_nb(kind, side, price, size, samp_pos, V, nb, sf, si, ring, out):
    """Group ``vpin`` (Easley, Lopez de Prado & O'Hara 2012). Fills go into volume buckets of
    exactly ``V`` (a fill straddling a boundary is split, as :func:`companion.flow.vpin.volume_buckets_nb`);
    ``VPIN = mean of OI_tau over the last nb complete buckets``. Exact signs: ``OI = |S - B| / V``
    with true aggressor sides. BVC: ``OI = |2 Z(dP / sigma) - 1|``, ``dP`` the change of the last
    trade price over the bucket, ``sigma`` the std (ddof 1) of the dP of all buckets completed so
    far (expanding: causal, unlike a whole-day sigma); ``Z`` the standard normal CDF.

    State: ``sf`` as :data:`VPIN_SF`, ``si`` as :data:`VPIN_SI`; ``ring`` (2, nb): OI exact / BVC of the last nb buckets.
    """
    eps = 1e-9 * V
    sample_loop_nb(kind.shape[0], samp_pos, _vpin_events_nb, _vpin_emit_nb,
                   (kind, side, price, size, V, nb, eps, sf, si, ring, out))


#: Each group's (``sf``, ``si``) layouts: the engine sizes the group's state vectors from them.
STATE_LAYOUTS = {"ofi": (OFI_SF, OFI_SI), "imbalance": (IMB_SF, IMB_SI), "book": (BOOK_SF, BOOK_SI),
                 "trades": (TR_SF, TR_SI), "queue": (Q_SF, BIN_SI), "volatility": (VOL_SF, BIN_SI),
                 "vpin": (VPIN_SF, VPIN_SI)}


# --------------------------------------------------------------------------------------------
# group "time": time of day
# --------------------------------------------------------------------------------------------
TIME_NF = 3


@njit(cache=True, _nrt=False)
def time_of_day_nb(samp_t, t_open, t_close, out):
    """Fraction of the session ``(T - open) / (close - open)`` and its sin / cos (period = session).
    Without a session (``t_close <= t_open``) the fraction of the UTC day ``(T mod 1 d) / 1 d``."""
    day = 86400 * 1_000_000_000
    for j in range(samp_t.shape[0]):
        if t_close > t_open:
            f = (samp_t[j] - t_open) / (t_close - t_open)
        else:
            f = (samp_t[j] % day) / day
        out[j, 0] = f
        out[j, 1] = math.sin(2.0 * math.pi * f)
        out[j, 2] = math.cos(2.0 * math.pi * f)
