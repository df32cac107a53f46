"""Numba kernels of the L2 book engine (aggregated price levels, no per-order state).

Data structure
--------------
Each side of the book is a pair of arrays ``key`` (int64) and ``qty`` (float64) holding the
occupied price levels **sorted so that the best level is last**: bids keyed by ``+price``
(ascending), asks keyed by ``-price`` (ascending, i.e. prices descending). Both sides then share
one code path: the best level is ``key[n - 1]``, the k-th best ``key[n - k]``. Almost all order
flow lands within a few levels of the touch, so a lookup scans from the end (a few steps) and falls
back to binary search when the level is deep; an insert or delete only moves the levels *better*
than the one touched, again a few. Capacity doubles when full.

Writing the top-``L`` snapshot per event (LOBSTER orderbook layout: ``ask_px_1, ask_sz_1,
bid_px_1, bid_sz_1, ask_px_2, ...``; empty level = dummy price ``+-9999999999`` with size 0) is
then a copy of the last ``L`` entries of each side.

Event semantics (codes of :mod:`companion.events`; Huang & Polak 2011, LOBSTER ReadMe)
-------------------------------------------------------------------------------------------
* 1 ADD: ``q(side, price) += size``;
* 2 CANCEL, 3 DELETE, 4 EXEC_VISIBLE: ``q(side, price) -= size`` (``side`` is the resting side);
  a level whose size reaches 0 is removed;
* 5 EXEC_HIDDEN, 6 CROSS, 7 HALT, 11 TRADE: no change to the visible book;
* 10 LEVEL_SET: ``q(side, price) = size`` (0 removes the level);
* 12 CLEAR: both sides emptied.

A reduction at a price that is not in the book is ignored and counted (``unknown`` in the
stats); the book is never uncrossed (LOBSTER and Binance books never need it).

Every function here is a plain ``@njit(cache=True)`` kernel over arrays: no pandas, no I/O.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.experimental import structref

from companion.events import ADD, CANCEL, CLEAR, DELETE, EXEC_HIDDEN, EXEC_VISIBLE, LEVEL_SET, TRADE
from companion.events import DUMMY_ASK as _DUMMY_ASK_INT
from companion.events import DUMMY_BID as _DUMMY_BID_INT

#: the empty-level prices of :mod:`companion.events` as floats (the book rows are float64)
DUMMY_ASK = float(_DUMMY_ASK_INT)
DUMMY_BID = float(_DUMMY_BID_INT)

_LINEAR_STEPS = 24   # scan this many levels from the touch before switching to binary search
_REL_EPS = 1e-9      # a level whose size falls to <= _REL_EPS x its previous size is empty (float sizes)


# --------------------------------------------------------------------------------------------
# full-depth state: sorted level arrays, best last
# --------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _locate_nb(key: np.ndarray, n: int, k: int) -> int:
    """Position of key ``k`` in ``key[:n]`` (ascending): index ``i`` with ``key[i] == k``, else
    ``-(insertion point) - 1``.

    Order flow concentrates at the touch (on the synthetic day the median event is 5 levels from
    it), so the last ``_LINEAR_STEPS`` keys are scanned from the best one with an early exit;
    deeper keys are found by binary search, keeping the worst case logarithmic for deep books."""
    lo = n - _LINEAR_STEPS
    if lo < 0:
        lo = 0
    i = n - 1
    while i >= lo and key[i] > k:
        i -= 1
    if i >= lo:
        if key[i] == k:
            return i
        return -(i + 1) - 1
    if lo == 0:
        return -1  # insertion point 0
    a, b = 0, lo  # every key[lo:] > k: search key[0:lo]
    while a < b:
        mid = (a + b) >> 1
        if key[mid] < k:
            a = mid + 1
        else:
            b = mid
    if a < lo and key[a] == k:
        return a
    return -a - 1


@njit(cache=True)
def grow_pair_nb(key: np.ndarray, qty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(key, qty)`` copied into arrays of twice the size (int64, float64; the tail uninitialised):
    how a book side (and any int64 / float64 buffer pair) grows."""
    cap = 2 * key.size
    k2 = np.empty(cap, dtype=np.int64)
    q2 = np.empty(cap, dtype=np.float64)
    k2[: key.size] = key
    q2[: qty.size] = qty
    return k2, q2


@njit(cache=True, inline="always")
def _update_side_nb(key: np.ndarray, qty: np.ndarray, n: int, k: int, delta: float, setv: bool) -> tuple[int, int, int]:
    """Apply ``q += delta`` (or ``q = delta`` when ``setv``) at key ``k``; needs ``n < key.size``.

    Returns ``(new n, unknown, depth)``: ``unknown`` is 1 when a reduction hit a missing level;
    ``depth`` is the touched level's rank from the touch (0 = best; a new level's rank after
    insertion) -- the snapshot is unchanged when ``depth >= L``."""
    pos = _locate_nb(key, n, k)
    if pos >= 0:
        old = qty[pos]
        new = delta if setv else old + delta
        if new <= _REL_EPS * old:
            for j in range(pos, n - 1):  # remove: shift the better levels down
                key[j] = key[j + 1]
                qty[j] = qty[j + 1]
            return n - 1, 0, n - 1 - pos
        qty[pos] = new
        return n, 0, n - 1 - pos
    if delta <= 0.0:
        if setv:
            return n, 0, 1 << 30  # LEVEL_SET 0 on a missing level: nothing to do
        return n, 1, 1 << 30
    ins = -pos - 1
    for j in range(n, ins, -1):  # insert: shift the better levels up
        key[j] = key[j - 1]
        qty[j] = qty[j - 1]
    key[ins] = k
    qty[ins] = delta
    return n + 1, 0, n - ins


@njit(cache=True, inline="always")
def _copy_row_nb(out: np.ndarray, t: int, levels: int) -> None:
    """``out[t] = out[t - 1]`` (one contiguous 32*levels-byte copy)."""
    for j in range(4 * levels):
        out[t, j] = out[t - 1, j]


@njit(cache=True, inline="always")
def _patch_side_nb(out: np.ndarray, t: int, levels: int, c: int, key: np.ndarray, qty: np.ndarray, n: int,
                   d: int, sgn: float, dummy: float) -> None:
    """Rewrite one side (column offset ``c``: 0 asks, 2 bids) of row ``t`` from rank ``d`` down:
    the ranks above ``d`` are unchanged by an update at rank ``d``."""
    m = min(levels, n)
    for j in range(d, m):
        out[t, 4 * j + c] = sgn * key[n - 1 - j]
        out[t, 4 * j + c + 1] = qty[n - 1 - j]
    for j in range(max(d, m), levels):
        out[t, 4 * j + c] = dummy
        out[t, 4 * j + c + 1] = 0.0


@njit(cache=True)
def _seed_nb(init: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray, int]:
    """Full-depth state from one LOBSTER-layout row ``init`` (length ``4*L0``, may be empty)."""
    L0 = init.size // 4
    while cap < L0 + 2:
        cap *= 2
    akey = np.empty(cap, dtype=np.int64)
    aqty = np.empty(cap, dtype=np.float64)
    bkey = np.empty(cap, dtype=np.int64)
    bqty = np.empty(cap, dtype=np.float64)
    na = 0
    nb = 0
    for j in range(L0):  # the row lists best first; the state stores best last
        if init[4 * j + 1] > 0.0 and init[4 * j] != DUMMY_ASK:
            na += 1
        if init[4 * j + 3] > 0.0 and init[4 * j + 2] != DUMMY_BID:
            nb += 1
    for j in range(na):
        akey[na - 1 - j] = -np.int64(init[4 * j])
        aqty[na - 1 - j] = init[4 * j + 1]
    for j in range(nb):
        bkey[nb - 1 - j] = np.int64(init[4 * j + 2])
        bqty[nb - 1 - j] = init[4 * j + 3]
    return akey, aqty, na, bkey, bqty, nb


@njit(cache=True, _nrt=False)
def _replay_run_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray, t0: int,
                   akey: np.ndarray, aqty: np.ndarray, na: int, bkey: np.ndarray, bqty: np.ndarray, nb: int,
                   out: np.ndarray, counters: np.ndarray) -> tuple[int, int, int]:
    """The hot loop of :func:`replay_into_nb` from event ``t0``; stops early (returning the event
    index to resume at) when a side is full and must grow.

    Compiled without numba's runtime (``_nrt=False``): it allocates nothing and only reads and
    writes arrays its caller holds, so the ~3 atomic reference-count updates per event that numba
    otherwise emits for the inlined helpers' array arguments are gone (compiling fails loudly if an
    allocation is ever added here)."""
    n = kind.size
    levels = out.shape[1] // 4
    unknown = 0
    max_na = counters[1]
    max_nb = counters[2]
    t = max(t0, 0)  # t >= 0: LLVM then drops the negative-index wraparound of every column read
    while t < n:
        k = kind[t]
        if k == ADD or k == CANCEL or k == DELETE or k == EXEC_VISIBLE or k == LEVEL_SET:
            q = size[t]
            setv = k == LEVEL_SET
            if not (k == ADD or setv):
                q = -q
            if side[t] > 0:
                if nb == bkey.size:
                    break
                nb, u, d = _update_side_nb(bkey, bqty, nb, price[t], q, setv)
                max_nb = max(max_nb, nb)
            else:
                if na == akey.size:
                    break
                na, u, d = _update_side_nb(akey, aqty, na, -price[t], q, setv)
                max_na = max(max_na, na)
            unknown += u
            if t > t0:  # incremental: the previous row, patched from the touched rank down
                _copy_row_nb(out, t, levels)
                if d < levels:
                    if side[t] > 0:
                        _patch_side_nb(out, t, levels, 2, bkey, bqty, nb, d, 1.0, DUMMY_BID)
                    else:
                        _patch_side_nb(out, t, levels, 0, akey, aqty, na, d, -1.0, DUMMY_ASK)
                t += 1
                continue
        elif k == CLEAR:
            na = 0
            nb = 0
        elif t > t0:  # a kind that leaves the book unchanged
            _copy_row_nb(out, t, levels)
            t += 1
            continue
        _patch_side_nb(out, t, levels, 0, akey, aqty, na, 0, -1.0, DUMMY_ASK)  # the whole row
        _patch_side_nb(out, t, levels, 2, bkey, bqty, nb, 0, 1.0, DUMMY_BID)
        t += 1
    counters[0] += unknown
    counters[1] = max_na
    counters[2] = max_nb
    return t, na, nb


# --------------------------------------------------------------------------------------------
# the book stage's public protocol: BookState + book_step_nb (the batch replay is that step
# kernel run over the whole day; the live executor runs it chunk by chunk)
# --------------------------------------------------------------------------------------------
@structref.register
class BookStateType(types.StructRef):
    """Numba type of :class:`BookState`."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


def _field(i: int) -> property:
    """Read-only property: field ``i`` of a :class:`BookState` (read by a compiled getter)."""
    return property(lambda self: _bs_get_nb(self)[i])


class BookState(structref.StructRefProxy):
    """The full-depth aggregated book carried across chunks of events (the state of the book stage).

    ``BookState(initial=None, capacity=256)``: ``initial`` the book before the first event as one
    LOBSTER-layout row (any depth; default empty). Step it with :func:`book_step_nb` (one chunk,
    top-``L`` rows out) or :func:`book_apply_nb` (one event). The fields are arrays shared with
    compiled code (layout: the module docstring); a side's capacity doubles when it is full (its
    arrays are then replaced).

    Attributes
    ----------
    akey, aqty : numpy.ndarray
        Asks: keys ``-price`` (int64, ascending: best level LAST) and sizes (float64),
        capacity-sized; the first ``n[0]`` are valid.
    bkey, bqty : numpy.ndarray
        Bids: keys ``+price`` (ascending: best level LAST) and sizes; the first ``n[1]`` are valid.
    n : numpy.ndarray
        int64 ``[n_ask_levels, n_bid_levels]`` (the live array).
    counters : numpy.ndarray
        int64 ``[unknown_reductions, max_ask_levels, max_bid_levels]``: the replay statistics so
        far (the live array).

    Examples
    --------
    >>> import numpy as np
    >>> st = BookState(np.array([101.0, 3.0, 100.0, 5.0]))
    >>> st.n.tolist(), int(level_qty_nb(st, 1, 100))
    ([1, 1], 5)
    """

    def __new__(cls, initial=None, capacity: int = 256):
        init = np.zeros(0) if initial is None else np.ascontiguousarray(initial, dtype=np.float64).ravel()
        return new_book_state_nb(init, int(capacity))

    akey = _field(0)
    aqty = _field(1)
    bkey = _field(2)
    bqty = _field(3)
    n = _field(4)
    counters = _field(5)


structref.define_proxy(BookState, BookStateType, ["akey", "aqty", "bkey", "bqty", "n", "counters"])


@njit(cache=True)
def _bs_get_nb(s):
    return s.akey, s.aqty, s.bkey, s.bqty, s.n, s.counters


@njit(cache=True)
def new_book_state_nb(init: np.ndarray, capacity: int):
    """A :class:`BookState` seeded from one LOBSTER-layout row ``init`` (may be empty); each side
    holds ``capacity`` levels before it grows."""
    akey, aqty, na, bkey, bqty, nb = _seed_nb(init, capacity)
    n = np.zeros(2, dtype=np.int64)
    n[0] = na
    n[1] = nb
    counters = np.zeros(3, dtype=np.int64)
    counters[1] = na
    counters[2] = nb
    return BookState(akey, aqty, bkey, bqty, n, counters)


@njit(cache=True)
def book_step_nb(s, kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray,
                 out: np.ndarray) -> None:
    """Apply a chunk of events to the :class:`BookState` ``s``; row ``t`` of ``out`` (``(n, 4L)``
    float64) = the top-``L`` book after event ``t`` of the chunk (LOBSTER layout).

    The hot loop (``_replay_run_nb``) runs on the state's arrays; when a side is full it
    stops, the side doubles and the loop resumes at that event. ``s.counters`` accumulates the
    replay statistics. Running it once over a whole day is :func:`replay_into_nb`.

    Examples
    --------
    >>> import numpy as np
    >>> st = new_book_state_nb(np.zeros(0), 256)
    >>> out = np.empty((2, 4))
    >>> book_step_nb(st, np.array([1, 1], np.int8), np.array([1, -1], np.int8), np.array([100, 101]),
    ...              np.array([5.0, 3.0]), out)
    >>> out.tolist()
    [[9999999999.0, 0.0, 100.0, 5.0], [101.0, 3.0, 100.0, 5.0]]
    """
    n = kind.size
    bn = s.n
    na = bn[0]
    nb = bn[1]
    akey, aqty, bkey, bqty = s.akey, s.aqty, s.bkey, s.bqty
    counters = s.counters
    t = 0
    while t < n:
        t, na, nb = _replay_run_nb(kind, side, price, size, t, akey, aqty, na, bkey, bqty, nb, out, counters)
        if t < n:  # a side is full: double it and resume at event t
            if na == akey.size:
                akey, aqty = grow_pair_nb(akey, aqty)
                s.akey = akey
                s.aqty = aqty
            if nb == bkey.size:
                bkey, bqty = grow_pair_nb(bkey, bqty)
                s.bkey = bkey
                s.bqty = bqty
    bn[0] = na
    bn[1] = nb


@njit(cache=True)
def book_apply_nb(s, kind: int, side: int, price: int, size: float) -> int:
    """Apply ONE event to the :class:`BookState` ``s`` (no snapshot written): the update rule of
    :func:`book_step_nb`. Returns 1 when a reduction hit a price not in the book (ignored), else 0;
    ``s.counters`` is updated as by :func:`book_step_nb`."""
    u = 0
    if kind == ADD or kind == CANCEL or kind == DELETE or kind == EXEC_VISIBLE or kind == LEVEL_SET:
        q = size
        setv = kind == LEVEL_SET
        if not (kind == ADD or setv):
            q = -q
        if side > 0:
            if s.n[1] == s.bkey.size:
                s.bkey, s.bqty = grow_pair_nb(s.bkey, s.bqty)
            nb, u, d = _update_side_nb(s.bkey, s.bqty, s.n[1], np.int64(price), q, setv)
            s.n[1] = nb
            s.counters[2] = max(s.counters[2], nb)
        else:
            if s.n[0] == s.akey.size:
                s.akey, s.aqty = grow_pair_nb(s.akey, s.aqty)
            na, u, d = _update_side_nb(s.akey, s.aqty, s.n[0], -np.int64(price), q, setv)
            s.n[0] = na
            s.counters[1] = max(s.counters[1], na)
        s.counters[0] += u
    elif kind == CLEAR:
        s.n[0] = 0
        s.n[1] = 0
    return u


@njit(cache=True)
def level_qty_nb(s, side: int, price: int) -> float:
    """Size resting at ``price`` on ``side`` (+1 bid / -1 ask) of the :class:`BookState` ``s``
    (0.0 when the level is empty)."""
    if side > 0:
        pos = _locate_nb(s.bkey, s.n[1], np.int64(price))
        return s.bqty[pos] if pos >= 0 else 0.0
    pos = _locate_nb(s.akey, s.n[0], -np.int64(price))
    return s.aqty[pos] if pos >= 0 else 0.0


@njit(cache=True)
def replay_into_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray,
                   init: np.ndarray, out: np.ndarray) -> np.ndarray:
    r"""Replay events over a full-depth aggregated book, writing the top-:math:`L` snapshot after every
    event into ``out``.

    Per event (see the module docstring): ADD :math:`q(s,p) \mathrel{+}= v`; CANCEL / DELETE /
    EXEC_VISIBLE :math:`q(s,p) \mathrel{-}= v`; LEVEL_SET :math:`q(s,p) = v`; CLEAR empties both
    sides (Huang & Polak 2011, LOBSTER ReadMe).

    Parameters
    ----------
    kind, side, price, size : numpy.ndarray
        Event columns: int8 code, int8 +1 bid / -1 ask, int64 price units, float64 size. Strided
        views of an EVENT_DTYPE array are fine, nothing is copied.
    init : numpy.ndarray
        The starting book as one LOBSTER-layout row (float64, ``4*L0``; empty for an empty book).
    out : numpy.ndarray
        float64 ``(n, 4*L)``, written in place; row :math:`t` = book after event :math:`t`.
        Allocate it with numpy (``np.empty``): numpy asks the kernel for huge pages on large
        arrays, which halves the page-fault cost of writing the snapshots.

    Returns
    -------
    numpy.ndarray
        int64 ``[unknown_reductions, max_ask_levels, max_bid_levels]``.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty((1, 4))
    >>> replay_into_nb(np.array([1], np.int8), np.array([1], np.int8), np.array([100]),
    ...                np.array([5.0]), np.empty(0), out).tolist()
    [0, 0, 1]
    >>> out.tolist()
    [[9999999999.0, 0.0, 100.0, 5.0]]
    """
    s = new_book_state_nb(init, 256)
    book_step_nb(s, kind, side, price, size, out)
    return s.counters


@njit(cache=True)
def replay_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray, levels: int,
              init: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`companion.book.kernels.replay_into_nb` with the output allocated here.

    Parameters
    ----------
    kind, side, price, size : numpy.ndarray
        Event columns (int8, int8 +1 bid / -1 ask, int64 price units, float64).
    levels : int
        Snapshot depth :math:`L`.
    init : numpy.ndarray
        Starting book as one LOBSTER-layout row (float64, may be empty).

    Returns
    -------
    out : numpy.ndarray
        float64 ``(n, 4*levels)``, row :math:`t` = book after event :math:`t`.
    stats : numpy.ndarray
        int64 ``[unknown_reductions, max_ask_levels, max_bid_levels]``.

    Notes
    -----
    From Python prefer :func:`companion.book.replay`, which allocates the output with numpy (faster
    for large outputs).
    """
    out = np.empty((kind.size, 4 * levels), dtype=np.float64)
    stats = replay_into_nb(kind, side, price, size, init, out)
    return out, stats


# --------------------------------------------------------------------------------------------
# visible-depth step: LOBSTER level-N files (only the N visible levels are known)
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def _step_visible_nb(prev: np.ndarray, L: int, k: int, s: int, p: int, q: float,
                     apx: np.ndarray, asz: np.ndarray, bpx: np.ndarray, bsz: np.ndarray) -> tuple[int, int, bool, bool, int]:
    """Apply one event to the visible book ``prev`` (one LOBSTER row of ``L`` levels).

    Work arrays (capacity ``L + 1``, best FIRST) receive the new visible levels. Returns
    ``(na, nb, a_open, b_open, unknown)``: ``na``/``nb`` levels known after the event (may be
    ``L + 1`` after an add inside a full side; only the first ``L`` are visible); ``a_open`` /
    ``b_open``: the side of ``prev`` showed all ``L`` levels, so the book may hold more beyond and
    positions ``>= na`` are not determined by the message (a level entering from beyond). A side
    that showed fewer than ``L`` levels is known to be empty beyond them.
    """
    na = 0
    nb = 0
    for j in range(L):
        if prev[4 * j + 1] > 0.0 and prev[4 * j] != DUMMY_ASK:
            apx[na] = prev[4 * j]
            asz[na] = prev[4 * j + 1]
            na += 1
        if prev[4 * j + 3] > 0.0 and prev[4 * j + 2] != DUMMY_BID:
            bpx[nb] = prev[4 * j + 2]
            bsz[nb] = prev[4 * j + 3]
            nb += 1
    a_open = na == L
    b_open = nb == L
    unknown = 0
    if k == CLEAR:
        return 0, 0, False, False, 0
    if not (k == ADD or k == CANCEL or k == DELETE or k == EXEC_VISIBLE or k == LEVEL_SET):
        return na, nb, a_open, b_open, 0
    fp = float(p)
    if s > 0:
        px = bpx
        sz = bsz
        m = nb
        sgn = -1.0  # bids: better = higher price; compare on sgn * price ascending
    else:
        px = apx
        sz = asz
        m = na
        sgn = 1.0
    # position of p in the best-first list
    i = 0
    while i < m and sgn * px[i] < sgn * fp:
        i += 1
    found = i < m and px[i] == fp
    if k == ADD or (k == LEVEL_SET and q > 0.0):
        if found:
            sz[i] = q if k == LEVEL_SET else sz[i] + q
        else:
            if i >= L and ((s > 0 and b_open) or (s < 0 and a_open)):
                pass  # an add beyond the visible depth of a full side: not visible
            else:
                if m == L + 1:
                    m -= 1  # drop the level pushed beyond L+1 (never visible)
                for j in range(m, i, -1):
                    px[j] = px[j - 1]
                    sz[j] = sz[j - 1]
                px[i] = fp
                sz[i] = q
                m += 1
    else:
        if found:
            new = 0.0 if k == LEVEL_SET else sz[i] - q
            if new <= _REL_EPS * sz[i]:
                for j in range(i, m - 1):
                    px[j] = px[j + 1]
                    sz[j] = sz[j + 1]
                m -= 1
            else:
                sz[i] = new
        elif k != LEVEL_SET:
            unknown = 1
    if s > 0:
        nb = m
    else:
        na = m
    return na, nb, a_open, b_open, unknown


@njit(cache=True)
def _compose_row_nb(L: int, apx: np.ndarray, asz: np.ndarray, na: int, a_open: bool,
                    bpx: np.ndarray, bsz: np.ndarray, nb: int, b_open: bool,
                    ref: np.ndarray, row: np.ndarray) -> tuple[int, int]:
    """Write the known levels into ``row``; positions not determined (entering from beyond on an
    open side) are taken from ``ref`` (the file's row). Returns ``(levels_taken, known_mismatch)``:
    the count of positions taken from ``ref`` and the count of determined positions that differ
    from ``ref``."""
    taken = 0
    bad = 0
    for j in range(L):
        c = 4 * j
        if j < na:
            row[c] = apx[j]
            row[c + 1] = asz[j]
        elif a_open:
            row[c] = ref[c]
            row[c + 1] = ref[c + 1]
            taken += 1
        else:
            row[c] = DUMMY_ASK
            row[c + 1] = 0.0
        if j < nb:
            row[c + 2] = bpx[j]
            row[c + 3] = bsz[j]
        elif b_open:
            row[c + 2] = ref[c + 2]
            row[c + 3] = ref[c + 3]
            taken += 1
        else:
            row[c + 2] = DUMMY_BID
            row[c + 3] = 0.0
        for f in range(4):
            if row[c + f] != ref[c + f]:
                bad += 1
    return taken, bad


@njit(cache=True)
def check_transitions_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray,
                         book: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Check every transition of a LOBSTER orderbook file against its messages.

    For every :math:`t \ge 1`: apply event :math:`t` to the file's row :math:`t-1` and compare with
    row :math:`t` on every level the event determines (all visible positions except those a level
    enters from beyond the visible depth on a side that was full).

    Parameters
    ----------
    kind, side, price, size : numpy.ndarray
        Event columns.
    book : numpy.ndarray
        float64 ``(n, 4L)`` orderbook file (price units, shares).

    Returns
    -------
    matched : numpy.ndarray
        bool per row (``[0]`` unused: no transition into row 0).
    entering : numpy.ndarray
        int64 per row, positions not determined by the message.
    unknown : numpy.ndarray
        int8 per row, 1 when the event reduced a price not in row :math:`t-1`.
    """
    n, w = book.shape
    L = w // 4
    matched = np.zeros(n, dtype=np.bool_)
    entering = np.zeros(n, dtype=np.int64)
    unknown = np.zeros(n, dtype=np.int8)
    apx = np.empty(L + 1)
    asz = np.empty(L + 1)
    bpx = np.empty(L + 1)
    bsz = np.empty(L + 1)
    row = np.empty(w)
    for t in range(1, n):
        na, nb, ao, bo, u = _step_visible_nb(book[t - 1], L, kind[t], side[t], price[t], size[t], apx, asz, bpx, bsz)
        taken, bad = _compose_row_nb(L, apx, asz, na, ao, bpx, bsz, nb, bo, book[t], row)
        matched[t] = bad == 0
        entering[t] = taken
        unknown[t] = u
    return matched, entering, unknown


@njit(cache=True)
def replay_assisted_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray,
                       book: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Snapshot-assisted replay of a LOBSTER level-:math:`L` day.

    Row 0 is the seed (taken whole from ``book[0]``). For :math:`t \ge 1` event :math:`t` is applied
    to the replayed row :math:`t-1` (not the file's); only positions that a level enters from beyond
    the visible depth are copied from ``book[t]``.

    Parameters
    ----------
    kind, side, price, size, book : numpy.ndarray
        As for :func:`check_transitions_nb`.

    Returns
    -------
    out : numpy.ndarray
        float64, shaped like ``book``.
    taken : numpy.ndarray
        int64 per row, positions copied from the file (row 0: :math:`2L`).
    """
    n, w = book.shape
    L = w // 4
    out = np.empty((n, w), dtype=np.float64)
    taken = np.zeros(n, dtype=np.int64)
    if n == 0:
        return out, taken
    out[0] = book[0]
    taken[0] = 2 * L
    apx = np.empty(L + 1)
    asz = np.empty(L + 1)
    bpx = np.empty(L + 1)
    bsz = np.empty(L + 1)
    for t in range(1, n):
        na, nb, ao, bo, u = _step_visible_nb(out[t - 1], L, kind[t], side[t], price[t], size[t], apx, asz, bpx, bsz)
        tk, bad = _compose_row_nb(L, apx, asz, na, ao, bpx, bsz, nb, bo, book[t], out[t])
        taken[t] = tk
    return out, taken


@njit(cache=True)
def rows_equal_nb(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-row exact equality of two equally shaped 2-d arrays (no temporary ``a == b`` array).

    Parameters
    ----------
    a, b : numpy.ndarray
        2-d, same shape.

    Returns
    -------
    numpy.ndarray
        bool ``(n,)``.

    Examples
    --------
    >>> import numpy as np
    >>> rows_equal_nb(np.array([[1., 2], [3, 4]]), np.array([[1., 2], [3, 5]])).tolist()
    [True, False]
    """
    n, w = a.shape
    eq = np.ones(n, dtype=np.bool_)
    for t in range(n):
        for j in range(w):
            if a[t, j] != b[t, j]:
                eq[t] = False
                break
    return eq


@njit(cache=True)
def trades_nb(kind: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of trade events and their aggressor side.

    LOBSTER executions (4 visible, 5 hidden): ``side`` is the resting order's side, so the
    aggressor is ``-side`` (an execution of a sell limit order is a buyer-initiated trade); TRADE
    events carry the aggressor side already (LOBSTER ReadMe).

    Parameters
    ----------
    kind, side : numpy.ndarray
        Event columns (int8).

    Returns
    -------
    idx : numpy.ndarray
        int64 event indices of trades.
    aggressor : numpy.ndarray
        int8 aggressor side per trade (+1 buyer-initiated).
    """
    n = kind.size
    idx = np.empty(n, dtype=np.int64)
    agg = np.empty(n, dtype=np.int8)
    m = 0
    for t in range(n):
        k = kind[t]
        if k == EXEC_VISIBLE or k == EXEC_HIDDEN:
            idx[m] = t
            agg[m] = -side[t]
            m += 1
        elif k == TRADE:
            idx[m] = t
            agg[m] = side[t]
            m += 1
    return idx[:m].copy(), agg[:m].copy()


# --------------------------------------------------------------------------------------------
# order-level audit: every reduction must hit a resting order, seen when it was added
# --------------------------------------------------------------------------------------------
AUDIT_CLASSES = ("duplicate_add", "unknown_cancel", "unknown_delete", "unknown_execution",
                 "cancel_exceeds_resting", "execution_exceeds_resting", "delete_size_differs",
                 "price_or_side_differs")
"""Names of the order anomalies counted by :func:`audit_orders_nb`, in the order of its arrays."""

_EMPTY_KEY = np.int64(-(1 << 62))
_GONE_KEY = np.int64(-(1 << 62) + 1)


@njit(cache=True, inline="always")
def _slot_nb(keys: np.ndarray, oid: int, mask: int, shift: int) -> int:
    """Slot of ``oid`` in the open-addressing table, or ``-(first empty slot) - 1`` when absent
    (Fibonacci hashing: the top bits of ``oid * 2^64/phi``, which depend on every bit of the id;
    linear probing; removed orders leave a tombstone that lookups step over)."""
    h = np.uint64(oid) * np.uint64(0x9E3779B97F4A7C15)
    i = np.int64(h >> np.uint64(shift))
    while True:
        k = keys[i]
        if k == oid:
            return i
        if k == _EMPTY_KEY:
            return -i - 1
        i = (i + 1) & mask


@njit(cache=True, nogil=True)
def audit_orders_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray,
                    order_id: np.ndarray, book: np.ndarray, stride: int
                    ) -> tuple[np.ndarray, np.ndarray, int]:
    r"""Order-level audit of LOBSTER messages, and (optionally) a full-depth replay check.

    Each ADD (1) with id :math:`i` must not reuse a resting id and enters the table with its side,
    price and size :math:`q_i`; a CANCEL (2) of :math:`v` needs a resting :math:`i` with
    :math:`v \le q_i` (then :math:`q_i \mathrel{-}= v`); a DELETE (3) needs a resting :math:`i` with
    :math:`v = q_i` (removed); an EXEC_VISIBLE (4) needs :math:`v \le q_i` (removed at 0); every
    reduction must carry the order's side and price. Each violation is counted in the class of
    :data:`AUDIT_CLASSES` (an unknown id is not added; an oversized reduction removes the order).
    Hidden executions, crosses and halts carry no resting order (LOBSTER ReadMe); nor does a
    message with order id :math:`\le 0` (LOBSTER's id of hidden executions; files converted from
    level-based formats such as Tardis or Bybit, which have no order ids): those are not audited.

    When ``book`` has rows (the LOBSTER orderbook, ``(n, 4L)``), the messages are also replayed on a
    full-depth aggregated book that starts **empty** and compared with the file on all ``L``
    levels of every ``stride``-th row (row 0 included) and of the last row.

    Parameters
    ----------
    kind, side, price, size, order_id : numpy.ndarray
        Event columns (int8, int8, int64, float64, int64).
    book : numpy.ndarray
        float64 ``(n, 4L)`` orderbook rows, or ``(0, 4)`` to skip the replay check.
    stride : int
        Row spacing of the comparison (>= 1; 1 compares every row).

    Returns
    -------
    counts : numpy.ndarray
        int64 per class of :data:`AUDIT_CLASSES`.
    first : numpy.ndarray
        int64 first event index per class (-1: none).
    replay_mismatch : int
        First row where the replay from an empty book differs from ``book`` (-1: none, or no
        check).

    Examples
    --------
    >>> import numpy as np
    >>> kind = np.array([1, 1, 3, 4], np.int8)
    >>> side = np.ones(4, np.int8)
    >>> c, f, r = audit_orders_nb(kind, side, np.full(4, 100), np.array([5.0, 3, 5, 4]),
    ...                           np.array([7, 7, 7, 8]), np.zeros((0, 4)), 8)
    >>> c.tolist()[:4], f.tolist()[:4]
    ([1, 0, 0, 1], [1, -1, -1, 3])
    """
    n = kind.size
    nclass = 8
    counts = np.zeros(nclass, dtype=np.int64)
    first = np.full(nclass, -1, dtype=np.int64)
    n_add_a = 0
    n_add_b = 0
    for t in range(n):
        if kind[t] == ADD:
            if side[t] > 0:
                n_add_b += 1
            else:
                n_add_a += 1
    cap = 16
    shift = 60
    while cap < 2 * (n_add_a + n_add_b) + 2:
        cap *= 2
        shift -= 1
    mask = cap - 1
    keys = np.full(cap, _EMPTY_KEY, dtype=np.int64)
    vals = np.empty((cap, 3), dtype=np.float64)  # resting size, price, side: one cache line per order
    # replay state (full depth from an empty book): at most one level per add
    check = book.shape[0] == n and n > 0
    L = book.shape[1] // 4
    akey = np.empty(n_add_a + 2 if check else 1, dtype=np.int64)
    aqty = np.empty(akey.size, dtype=np.float64)
    bkey = np.empty(n_add_b + 2 if check else 1, dtype=np.int64)
    bqty = np.empty(bkey.size, dtype=np.float64)
    na = 0
    nb = 0
    mismatch = -1
    for t in range(n):
        k = kind[t]
        c = -1
        if (k == ADD or k == CANCEL or k == DELETE or k == EXEC_VISIBLE) and order_id[t] > 0:
            i = order_id[t]
            pos = _slot_nb(keys, i, mask, shift)
            if k == ADD:
                if pos >= 0:
                    c = 0  # the later add replaces the resting one
                    j = pos
                else:
                    j = -pos - 1
                    keys[j] = i
                vals[j, 0] = size[t]
                vals[j, 1] = price[t]
                vals[j, 2] = side[t]
            elif pos < 0:
                c = 1 if k == CANCEL else (2 if k == DELETE else 3)
            else:
                if vals[pos, 1] != price[t] or vals[pos, 2] != side[t]:
                    c = 7
                left = vals[pos, 0] - size[t]
                if left < 0.0:
                    c = 4 if k == CANCEL else (6 if k == DELETE else 5)
                elif k == DELETE and left != 0.0:
                    c = 6
                if k == DELETE or left <= 0.0:
                    keys[pos] = _GONE_KEY
                else:
                    vals[pos, 0] = left
            if c >= 0:
                counts[c] += 1
                if first[c] < 0:
                    first[c] = t
        if check and mismatch < 0:
            if k == ADD or k == CANCEL or k == DELETE or k == EXEC_VISIBLE:
                q = size[t] if k == ADD else -size[t]
                if side[t] > 0:
                    nb, _u, _d = _update_side_nb(bkey, bqty, nb, price[t], q, False)
                else:
                    na, _u, _d = _update_side_nb(akey, aqty, na, -price[t], q, False)
            if t % stride != 0 and t != n - 1:
                continue
            for j in range(L):
                c0 = 4 * j
                if j < na:
                    ok = book[t, c0] == -akey[na - 1 - j] and book[t, c0 + 1] == aqty[na - 1 - j]
                else:
                    ok = book[t, c0] == DUMMY_ASK and book[t, c0 + 1] == 0.0
                if j < nb:
                    ok = ok and book[t, c0 + 2] == bkey[nb - 1 - j] and book[t, c0 + 3] == bqty[nb - 1 - j]
                else:
                    ok = ok and book[t, c0 + 2] == DUMMY_BID and book[t, c0 + 3] == 0.0
                if not ok:
                    mismatch = t
                    break
    return counts, first, mismatch


@njit(cache=True, inline="always")
def _transition_mismatch_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray,
                            book: np.ndarray, t: int, apx: np.ndarray, asz: np.ndarray, bpx: np.ndarray,
                            bsz: np.ndarray, row: np.ndarray) -> tuple[int, float]:
    """Message t applied to row t-1 against row t: ``(column, expected)``, column -2 when they agree."""
    L = book.shape[1] // 4
    na, nb, ao, bo, u = _step_visible_nb(book[t - 1], L, kind[t], side[t], price[t], size[t], apx, asz, bpx, bsz)
    if u:  # a reduction at a price row t-1 lacks: only legitimate beyond the depth of a full side
        c = 2 if side[t] > 0 else 0
        worst = book[t - 1, 4 * (L - 1) + c]
        full = worst != (DUMMY_BID if side[t] > 0 else DUMMY_ASK)
        beyond = (side[t] > 0 and price[t] < worst) or (side[t] < 0 and price[t] > worst)
        if not (full and beyond):
            return -1, float(price[t])
    _taken, bad = _compose_row_nb(L, apx, asz, na, ao, bpx, bsz, nb, bo, book[t], row)
    if bad:
        for j in range(book.shape[1]):
            if row[j] != book[t, j]:
                return j, row[j]
    return -2, 0.0


@njit(cache=True, nogil=True)
def first_bad_transition_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray,
                            book: np.ndarray, stride: int, start: int = 0, stop: int = -1) -> tuple[int, int, float]:
    r"""First sampled row of a LOBSTER orderbook that its message does not explain.

    The check of :func:`check_transitions_nb` (message :math:`t` applied to the file's row
    :math:`t-1` must give row :math:`t` on every level it determines) on the rows
    :math:`t = \text{stride}, 2\,\text{stride}, \dots` and the last row; ``start``/``stop``
    restrict it to the sampled rows in ``[start, stop)`` (the last row counts when ``stop`` is
    the end), so pieces of the file can be checked in parallel.

    A reduction (types 2-4) at a price that row :math:`t-1` does not hold fails too, unless the
    side shows all :math:`L` levels and the price lies beyond the worst of them.

    Parameters
    ----------
    kind, side, price, size, book : numpy.ndarray
        As for :func:`check_transitions_nb`.
    stride : int
        Row spacing of the check (>= 1).
    start, stop : int
        Row range checked (default: all rows; ``stop`` -1 is the end).

    Returns
    -------
    tuple
        ``(row, column, expected)``: the first failing row, its first differing column and the
        value the message gives there (column -1: the message reduces the price ``expected``,
        absent from row :math:`t-1`); ``(-1, -1, 0.0)`` when every checked row agrees.
    """
    n, w = book.shape
    stop = n if stop < 0 or stop > n else stop
    L = w // 4
    apx = np.empty(L + 1)
    asz = np.empty(L + 1)
    bpx = np.empty(L + 1)
    bsz = np.empty(L + 1)
    row = np.empty(w)
    t = max(stride, -(-start // stride) * stride)
    while t < stop:
        col, expected = _transition_mismatch_nb(kind, side, price, size, book, t, apx, asz, bpx, bsz, row)
        if col != -2:
            return t, col, expected
        t += stride
    last = n - 1
    if stop == n and last >= max(start, 1) and last % stride != 0:
        col, expected = _transition_mismatch_nb(kind, side, price, size, book, last, apx, asz, bpx, bsz, row)
        if col != -2:
            return last, col, expected
    return -1, -1, 0.0
