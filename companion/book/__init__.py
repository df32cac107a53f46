"""L2 order-book reconstruction: events -> top-N snapshots per event, trades, LOBSTER verification.

The kernels live in :mod:`companion.book.kernels` (numba); this module is the thin user layer.

* :func:`~companion.book.replay` -- full-depth aggregated book from the events alone (LOBSTER messages, the
  synthetic day, Binance ``CLEAR``/``LEVEL_SET`` streams with fractional sizes); one snapshot per
  event in LOBSTER orderbook layout. :func:`replay_py` is the dict-based reference.
* :func:`replay_assisted` / :func:`verify_lobster` -- a LOBSTER level-N file holds only the
  messages that touch the N visible levels, so a level that *enters* the visible depth from beyond
  (after the best level empties, say) cannot come from the messages. Snapshot-assisted replay
  applies every message itself and takes from the file only those entering levels; the orderbook
  file is the answer key for everything else (Huang & Polak 2011, LOBSTER ReadMe: row ``t`` is the
  book after message ``t``).
* :func:`audit_orders` -- order-level audit (duplicate ids, unknown ids, oversized reductions)
  and the full-depth test of a LOBSTER day.
* :func:`trades` / :func:`trades_frame` -- the trade tape with aggressor sides.
* :func:`book_frame` -- snapshots as a DataFrame in currency units.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from companion.book.kernels import (
    AUDIT_CLASSES,
    BookState,
    audit_orders_nb,
    book_step_nb,
    check_transitions_nb,
    replay_assisted_nb,
    replay_into_nb,
    replay_nb,
    rows_equal_nb,
    trades_nb,
)
from companion.events import (
    ADD,
    CANCEL,
    CLEAR,
    DELETE,
    DUMMY_ASK,
    DUMMY_BID,
    EXEC_VISIBLE,
    LEVEL_SET,
    Instrument,
    time_index,
)

__all__ = [
    "replay", "replay_nb", "replay_py", "top_of_book", "replay_assisted", "verify_lobster", "trades", "trades_frame",
    "book_frame", "book_columns", "TRADE_DTYPE", "audit_orders", "order_anomalies", "OrderAnomalies", "AUDIT_CLASSES", "IncrementalBook", "time_index",
]

TRADE_DTYPE = np.dtype([("ts", np.int64), ("price", np.int64), ("size", np.float64), ("side", np.int8)])
"""One trade per row, fields ``ts`` (exchange time, ns), ``price`` (price units), ``size``, ``side``
(aggressor, +1 buyer-initiated)."""

_EMPTY_ROW = np.empty(0, dtype=np.float64)


def _columns(events: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The kernel's input columns: views of the structured array, never copies."""
    return events["kind"], events["side"], events["price"], events["size"]


# --------------------------------------------------------------------------------------------
# plain replay
# --------------------------------------------------------------------------------------------
def replay(events: np.ndarray, levels: int = 10, initial: np.ndarray | None = None,
           return_stats: bool = False, out: np.ndarray | None = None):
    r"""Top-``levels`` book after every event, in LOBSTER layout.

    Each event updates a full-depth aggregated book :math:`Q^s(p)` (shares at price :math:`p` on
    side :math:`s`): ADD :math:`Q^s(p) \mathrel{+}= q`; CANCEL / DELETE / EXEC_VISIBLE
    :math:`Q^s(p) \mathrel{-}= q`; LEVEL_SET :math:`Q^s(p) = q`; CLEAR empties both sides; other
    kinds leave the book unchanged. Row :math:`t` holds the best ``levels`` prices and sizes per side
    after event :math:`t` (LOBSTER ReadMe, Huang & Polak 2011).

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array.
    levels : int
        Snapshot depth :math:`L \ge 1`.
    initial : numpy.ndarray, optional
        The book before the first event as one LOBSTER-layout row (any depth), e.g. a LOBSTER
        orderbook row; default empty.
    return_stats : bool
        Also return replay statistics.
    out : numpy.ndarray, optional
        C-contiguous float64 ``(n, 4*levels)`` array to write into (reused buffers skip the page
        faults of a fresh allocation, a third of the cost of a day's replay).

    Returns
    -------
    snapshots : numpy.ndarray
        float64 ``(n, 4*levels)``: prices in price units, sizes in shares; empty levels hold the
        dummy prices with size 0.
    stats : dict
        Only with ``return_stats=True``: ``unknown_reductions`` (reductions at prices not in the
        book, ignored and counted), ``max_ask_levels``, ``max_bid_levels``.

    Raises
    ------
    ValueError
        When ``levels < 1`` or ``out`` has the wrong shape, dtype or layout.

    Examples
    --------

    >>> import numpy as np
    >>> from companion.events import ADD, EVENT_DTYPE
    >>> ev = np.zeros(2, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"], ev["size"] = ADD, [1, -1], [100, 101], [5, 3]
    >>> replay(ev, levels=1).tolist()
    [[9999999999.0, 0.0, 100.0, 5.0], [101.0, 3.0, 100.0, 5.0]]
    """
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    init = _EMPTY_ROW if initial is None else np.ascontiguousarray(initial, dtype=np.float64).ravel()
    if out is None:
        out = np.empty((len(events), 4 * int(levels)), dtype=np.float64)
    elif out.shape != (len(events), 4 * int(levels)) or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous float64 of shape {(len(events), 4 * int(levels))}")
    st = replay_into_nb(*_columns(events), init, out)
    if return_stats:
        return out, {"unknown_reductions": int(st[0]), "max_ask_levels": int(st[1]), "max_bid_levels": int(st[2])}
    return out


class IncrementalBook:
    """The book kept across chunks of events (the live path): :meth:`apply` returns the top-``levels``
    row after each event of a chunk, exactly the rows :func:`~companion.book.replay` gives over the whole day.

    A handle over the book stage's public state :class:`companion.book.kernels.BookState`
    (:attr:`state`) and step kernel :func:`companion.book.kernels.book_step_nb`.

    Parameters
    ----------
    levels : int
        Snapshot depth.
    initial : numpy.ndarray, optional
        The book before the first event as one LOBSTER row (default empty).
    chunk_capacity : int
        Initial size of the reused rows buffer (grows with the chunks).

    Examples
    --------
    >>> import numpy as np
    >>> from companion.events import ADD, EVENT_DTYPE
    >>> ev = np.zeros(2, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"], ev["size"] = ADD, [1, -1], [100, 101], [5, 3]
    >>> ib = IncrementalBook(levels=1)
    >>> ib.apply(ev["kind"][:1], ev["side"][:1], ev["price"][:1], ev["size"][:1]).tolist()
    [[9999999999.0, 0.0, 100.0, 5.0]]
    >>> ib.apply(ev["kind"][1:], ev["side"][1:], ev["price"][1:], ev["size"][1:]).tolist()
    [[101.0, 3.0, 100.0, 5.0]]
    """

    def __init__(self, levels: int = 10, initial: np.ndarray | None = None, chunk_capacity: int = 1024):
        if levels < 1:
            raise ValueError(f"levels must be >= 1, got {levels}")
        #: snapshot depth
        self.levels = int(levels)
        #: the full-depth book (:class:`companion.book.kernels.BookState`)
        self.state = BookState(initial)
        self._rows = np.empty((chunk_capacity, 4 * self.levels))

    @property
    def counters(self) -> np.ndarray:
        """int64 ``[unknown_reductions, max_ask_levels, max_bid_levels]`` so far."""
        return self.state.counters

    def apply(self, kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Apply a chunk (event columns); returns ``(len, 4*levels)`` rows (a reused buffer)."""
        m = kind.size
        if m > self._rows.shape[0]:
            self._rows = np.empty((max(m, 2 * self._rows.shape[0]), 4 * self.levels))
        out = self._rows[:m]
        book_step_nb(self.state, kind, side, price, size, out)
        return out


def top_of_book(events: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Best ask/bid after the events at indices ``at``, by :func:`~companion.book.replay` with one level.

    This is the callable :func:`companion.io.binance.verify_recording` takes as ``top_of_book``.

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array.
    at : numpy.ndarray
        Event indices; -1 means before any event (the empty book).

    Returns
    -------
    numpy.ndarray
        float64 ``(len(at), 4)`` rows ``[ask_px, ask_sz, bid_px, bid_sz]`` (price units, shares).

    Examples
    --------

    >>> import numpy as np
    >>> from companion.events import ADD, EVENT_DTYPE
    >>> ev = np.zeros(2, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"], ev["size"] = ADD, [1, -1], [100, 101], [5, 3]
    >>> top_of_book(ev, np.array([-1, 1]))[:, 2].tolist()
    [-9999999999.0, 100.0]
    """
    at = np.asarray(at, dtype=np.int64)
    snap = replay(events, 1)
    out = np.empty((at.size, 4), dtype=np.float64)
    before = at < 0
    out[~before] = snap[at[~before]]
    out[before] = (DUMMY_ASK, 0.0, DUMMY_BID, 0.0)
    return out


def replay_py(events: np.ndarray, levels: int = 10, initial: np.ndarray | None = None) -> np.ndarray:
    """Reference implementation of :func:`~companion.book.replay`.

    One dict ``price -> size`` per side, sorted after every event. Slow and obviously correct; used
    by the tests and the benchmark.

    Parameters
    ----------
    events, levels, initial
        As in :func:`~companion.book.replay`.

    Returns
    -------
    numpy.ndarray
        float64 ``(n, 4*levels)``, equal to ``replay(events, levels, initial)``.

    Examples
    --------

    >>> import numpy as np
    >>> from companion.events import ADD, EVENT_DTYPE
    >>> ev = np.zeros(2, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"], ev["size"] = ADD, [1, -1], [100, 101], [5, 3]
    >>> bool((replay_py(ev, 2) == replay(ev, 2)).all())
    True
    """
    bids: dict[int, float] = {}
    asks: dict[int, float] = {}
    if initial is not None:
        row = np.asarray(initial, dtype=np.float64).ravel()
        for j in range(row.size // 4):
            if row[4 * j + 1] > 0 and row[4 * j] != DUMMY_ASK:
                asks[int(row[4 * j])] = float(row[4 * j + 1])
            if row[4 * j + 3] > 0 and row[4 * j + 2] != DUMMY_BID:
                bids[int(row[4 * j + 2])] = float(row[4 * j + 3])
    n = len(events)
    out = np.empty((n, 4 * levels), dtype=np.float64)
    kinds, sides, prices, sizes = (events[f].tolist() for f in ("kind", "side", "price", "size"))
    for t in range(n):
        k, s, p, q = kinds[t], sides[t], prices[t], sizes[t]
        book = bids if s > 0 else asks
        if k == ADD:
            book[p] = book.get(p, 0.0) + q
        elif k in (CANCEL, DELETE, EXEC_VISIBLE):
            if p in book:
                left = book[p] - q
                if left <= 1e-9 * book[p]:
                    del book[p]
                else:
                    book[p] = left
        elif k == LEVEL_SET:
            if q > 0:
                book[p] = q
            else:
                book.pop(p, None)
        elif k == CLEAR:
            bids.clear()
            asks.clear()
        a = sorted(asks)[:levels]
        b = sorted(bids, reverse=True)[:levels]
        row = []
        for j in range(levels):
            row += [a[j], asks[a[j]]] if j < len(a) else [DUMMY_ASK, 0.0]
            row += [b[j], bids[b[j]]] if j < len(b) else [DUMMY_BID, 0.0]
        out[t] = row
    return out


# --------------------------------------------------------------------------------------------
# LOBSTER: snapshot-assisted replay and verification
# --------------------------------------------------------------------------------------------
def replay_assisted(events: np.ndarray, book_rows: np.ndarray, levels: int | None = None) -> tuple[np.ndarray, dict]:
    """Snapshot-assisted replay of a LOBSTER level-N day.

    Row 0 of ``book_rows`` seeds the book (the state after message 0). For every later message
    :math:`t` the message is applied to the *replayed* row :math:`t-1`; from the file's row
    :math:`t` only the positions that a level enters from beyond the visible depth are taken (on a
    side that showed all N levels and lost one).

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` messages of the day.
    book_rows : numpy.ndarray
        The LOBSTER orderbook file, float64 ``(n, 4N)``.
    levels : int, optional
        N (default: from ``book_rows``).

    Returns
    -------
    snapshots : numpy.ndarray
        float64 ``(n, 4N)``.
    stats : dict
        ``levels_taken`` (positions copied from the file after row 0), ``rows_with_entering``,
        ``rows_reproduced`` (replayed row == file row on every level), ``rows``.

    References
    ----------
    Huang & Polak (2011), LOBSTER ReadMe: row :math:`t` of the orderbook file is the book after
    message :math:`t`.

    Examples
    --------
    A level-1 file: the best bid (100) is deleted and the level at 99, beyond the visible depth,
    enters; only the file can tell its size.

    >>> import numpy as np
    >>> from companion.events import ADD, DELETE, EVENT_DTYPE
    >>> ev = np.zeros(2, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"], ev["size"] = [ADD, DELETE], 1, [100, 100], [5, 5]
    >>> rows = np.array([[101.0, 3, 100, 5], [101.0, 3, 99, 7]])
    >>> snap, st = replay_assisted(ev, rows)
    >>> snap.tolist(), st["levels_taken"], st["rows_reproduced"]
    ([[101.0, 3.0, 100.0, 5.0], [101.0, 3.0, 99.0, 7.0]], 1, 2)
    """
    book_rows = np.asarray(book_rows, dtype=np.float64)
    if levels is not None:
        book_rows = book_rows[:, : 4 * levels]
    book_rows = np.ascontiguousarray(book_rows)
    if len(events) != book_rows.shape[0]:
        raise ValueError(f"{len(events)} events but {book_rows.shape[0]} book rows")
    out, taken = replay_assisted_nb(*_columns(events), book_rows)
    eq = rows_equal_nb(out, book_rows)
    stats = {
        "rows": int(len(out)),
        "levels_taken": int(taken[1:].sum()),
        "rows_with_entering": int(np.count_nonzero(taken[1:])),
        "rows_reproduced": int(eq.sum()),
    }
    return out, stats


def _ns_to_clock(ns: int) -> str:
    s, frac = divmod(int(ns), 1_000_000_000)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h:02d}:{m:02d}:{sec:02d}.{frac:09d}"


def verify_lobster(data) -> dict:
    r"""Check a LOBSTER day's messages against its orderbook file (the answer key).

    * **transitions**: for every :math:`t \ge 1`, message :math:`t` applied to the file's row
      :math:`t-1` must give row :math:`t` on every level the message determines: all visible
      positions, except those where a level enters from beyond the visible depth (a side that
      showed all N levels has fewer than N known levels after the message; a side showing fewer
      than N levels is known to be empty beyond them, so its dummy levels are determined);
    * **assisted replay** (:func:`replay_assisted`): rows reproduced exactly when only the entering
      levels come from the file;
    * **drift**: plain replay seeded with row 0 and fed messages only -- the first row where it
      differs from the file (an approximation by construction for level-N files, never exact);
    * **replay_exact**: fraction of rows that plain replay from an empty book and the messages
      alone reproduces (1.0 for full-depth files such as the synthetic day).

    Parameters
    ----------
    data : companion.io.lobster.LobsterData
        The day as :func:`companion.io.lobster.read_lobster` returns it, with its orderbook file.
        Read it with ``check=False`` to have a file whose rows do not follow from its messages
        reported here (``first_mismatched_transition``) rather than refused by the reader.

    Returns
    -------
    dict
        ``transitions_checked`` / ``_matched`` / ``_matched_frac``,
        ``first_mismatched_transition``, ``transitions_with_entering`` (and ``_frac``),
        ``unknown_reductions``, ``levels_taken_from_snapshot``, ``rows_reproduced``,
        ``all_rows_reproduced``, ``drift_first_mismatch_row`` / ``_time``, ``drift_rows_matched``,
        ``replay_exact`` (fraction), ``replay_exact_rows``, ``replay_exact_first_mismatch_row``,
        ``replay_unknown_reductions``, ``full_depth`` and ``order_anomalies`` (counts per class of
        :func:`audit_orders`), plus the paths, symbol, levels and rows.

    References
    ----------
    Huang & Polak (2011), LOBSTER: Limit Order Book Reconstruction System, SSRN 1977207.

    Examples
    --------
    >>> from companion.io.lobster import read_lobster
    >>> res = verify_lobster(read_lobster(msg_path, ob_path, check=False))       # doctest: +SKIP
    >>> res["transitions_matched_frac"]                # doctest: +SKIP
    1.0
    """
    ev, book = data.events, data.book
    if book is None:
        raise ValueError(f"{data.message_path}: verification needs the orderbook file")
    L = book.shape[1] // 4
    n = len(ev)
    cols = _columns(ev)
    matched, entering, unknown = check_transitions_nb(*cols, book)
    n_trans = max(n - 1, 0)
    n_matched = int(matched[1:].sum())
    bad = np.flatnonzero(~matched[1:]) + 1
    _, st = replay_assisted(ev, book)

    # plain replay seeded with row 0 (full-depth state: levels pushed out stay known)
    drift = replay(ev[1:], L, initial=book[0])
    eq_drift = rows_equal_nb(drift, book[1:])
    first_bad = int(np.argmin(eq_drift)) + 1 if not eq_drift.all() else None
    del drift
    exact, exact_st = replay(ev, L, return_stats=True)
    eq_exact = rows_equal_nb(exact, book)
    del exact
    n_exact = int(eq_exact.sum())
    first_exact_bad = int(np.argmin(eq_exact)) if n_exact < n else None

    res = {
        "message_path": str(data.message_path),
        "orderbook_path": str(data.orderbook_path),
        "symbol": data.instrument.symbol,
        "levels": L,
        "rows": n,
        "transitions_checked": n_trans,
        "transitions_matched": n_matched,
        "transitions_matched_frac": n_matched / n_trans if n_trans else 1.0,
        "first_mismatched_transition": int(bad[0]) if bad.size else None,
        "transitions_with_entering": int(np.count_nonzero(entering[1:])),
        "transitions_with_entering_frac": float(np.count_nonzero(entering[1:]) / n_trans) if n_trans else 0.0,
        "unknown_reductions": int(unknown[1:].sum()),  # reductions at prices not in row t-1 (beyond the visible depth)
        "levels_taken_from_snapshot": st["levels_taken"],
        "rows_reproduced": st["rows_reproduced"],
        "all_rows_reproduced": st["rows_reproduced"] == n,
        "drift_first_mismatch_row": first_bad,
        "drift_first_mismatch_time": _ns_to_clock(ev["ts"][first_bad]) if first_bad is not None else None,
        "drift_rows_matched": int(eq_drift.sum()) + 1,
        "replay_exact": n_exact / n if n else 1.0,
        "replay_exact_rows": n_exact,
        "replay_exact_first_mismatch_row": first_exact_bad,
        "replay_unknown_reductions": exact_st["unknown_reductions"],
        "full_depth": bool(data.full_depth),
        "order_anomalies": dict(data.anomalies),
    }
    res["ok"] = bool(res["transitions_matched"] == n_trans and res["all_rows_reproduced"]
                     and not (data.full_depth and sum(data.anomalies.values())))
    return res


# --------------------------------------------------------------------------------------------
# order-level audit
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderAnomalies:
    """The order-level pass of :func:`audit_orders`, one entry per class of :data:`AUDIT_CLASSES`.

    Attributes
    ----------
    counts : numpy.ndarray
        int64 number of offending messages of each class.
    first : numpy.ndarray
        int64 index of the first offending event of each class, or -1 when there is none.
    """

    counts: np.ndarray
    first: np.ndarray


def order_anomalies(events: np.ndarray) -> OrderAnomalies:
    """The order-level pass of :func:`audit_orders` alone (it needs no orderbook rows), so a
    reader can run it while the orderbook file is still being parsed and hand it to
    :func:`audit_orders` (``anomalies=``).

    Examples
    --------
    >>> import numpy as np
    >>> from companion.events import ADD, DELETE, EVENT_DTYPE
    >>> ev = np.zeros(2, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"], ev["size"], ev["order_id"] = [ADD, DELETE], 1, 100, 5, [1, 2]
    >>> a = order_anomalies(ev)
    >>> dict(zip(AUDIT_CLASSES, a.counts.tolist()))["unknown_delete"], int(a.first.max())
    (1, 1)
    """
    counts, first, _ = audit_orders_nb(events["kind"], events["side"], events["price"], events["size"],
                                       events["order_id"], np.zeros((0, 4)), 1)
    return OrderAnomalies(counts, first)


def audit_orders(events: np.ndarray, book: np.ndarray | None = None, anomalies: OrderAnomalies | None = None) -> dict:
    r"""Order-level audit of LOBSTER-style messages, and whether they carry the full book.

    Every order is followed by its id: an ADD must not reuse a resting id; a CANCEL of :math:`v`
    shares needs a resting order with :math:`v \le q`; a DELETE needs one with :math:`v = q`; a
    visible EXECUTION needs :math:`v \le q`; a reduction must carry the order's price and side.
    One class of :data:`AUDIT_CLASSES` is counted per offending message (size classes before the
    price/side class). With ``book`` (the LOBSTER orderbook rows), ``full_depth`` says whether the
    messages carry the whole book: its first row must be the first message applied to an **empty**
    book, and, when any anomaly was found, the messages replayed from the empty book must
    reproduce every row on every level (then the book starts empty and every order is seen, so
    the anomaly is an error in the data; a truncated file fails this test). On a truncated-depth day
    (LOBSTER level-N files: orders beyond the N visible levels, orders resting since before the
    session) unknown ids are legitimate (Huang & Polak 2011, LOBSTER ReadMe).

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array.
    book : numpy.ndarray, optional
        float64 ``(n, 4L)`` orderbook rows in LOBSTER layout.
    anomalies : OrderAnomalies, optional
        :func:`order_anomalies` of the same ``events``, when already computed.

    Returns
    -------
    dict
        ``counts`` ``{class: n}``, ``first`` ``{class: first event index or None}``, ``total``,
        ``replay_mismatch_row`` (first row the empty-book replay does not reproduce: 0 when the
        book does not start empty; None when not compared or reproduced), ``full_depth`` (bool).

    Examples
    --------
    A delete of an order never added, and an execution larger than the order:

    >>> import numpy as np
    >>> from companion.events import ADD, DELETE, EXEC_VISIBLE, EVENT_DTYPE
    >>> ev = np.zeros(3, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"] = [ADD, DELETE, EXEC_VISIBLE], 1, 100
    >>> ev["size"], ev["order_id"] = [5, 5, 8], [1, 2, 1]
    >>> a = audit_orders(ev)
    >>> a["counts"]["unknown_delete"], a["counts"]["execution_exceeds_resting"], a["first"]["unknown_delete"]
    (1, 1, 1)
    >>> a["full_depth"], audit_orders(ev, replay(ev, 1))["full_depth"]
    (False, True)
    """
    n = len(events)
    rows = np.zeros((0, 4)) if book is None else np.ascontiguousarray(book, dtype=np.float64)
    if book is not None and rows.shape[0] != n:
        raise ValueError(f"{n} events but {rows.shape[0]} book rows")
    cols = (events["kind"], events["side"], events["price"], events["size"], events["order_id"])
    a = order_anomalies(events) if anomalies is None else anomalies
    counts, first, bad = a.counts, a.first, -1
    starts_empty = bool(n and book is not None
                        and (replay(events[:1], max(rows.shape[1] // 4, 1))[0] == rows[0]).all())
    if book is not None and n and not starts_empty:
        bad = 0
    elif starts_empty and counts.any():  # anomalies: every row must be rebuilt from the empty book
        bad = audit_orders_nb(*cols, rows, 1)[2]
    return {
        "counts": {c: int(v) for c, v in zip(AUDIT_CLASSES, counts)},
        "first": {c: (int(v) if v >= 0 else None) for c, v in zip(AUDIT_CLASSES, first)},
        "total": int(counts.sum()),
        "replay_mismatch_row": int(bad) if bad >= 0 else None,
        "full_depth": bool(starts_empty and bad < 0),
    }


# --------------------------------------------------------------------------------------------
# trades
# --------------------------------------------------------------------------------------------
def trades(events: np.ndarray) -> np.ndarray:
    """The trade tape as a :data:`TRADE_DTYPE` array (one row per execution / trade print).

    LOBSTER executions (kinds 4 visible, 5 hidden) carry the *resting* order's direction, so the
    aggressor side is :math:`-d` (LOBSTER ReadMe: an execution of a sell limit order is a
    buyer-initiated trade); TRADE events (Binance) carry the aggressor side. Crosses (6) have no
    aggressor and are left out. Each LOBSTER fill is one row (a market order that sweeps several
    resting orders gives several rows with the same timestamp).

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array.

    Returns
    -------
    numpy.ndarray
        :data:`TRADE_DTYPE`: ``ts`` (ns), ``price`` (price units), ``size``, ``side`` (aggressor,
        +1 buyer-initiated).

    Examples
    --------
    >>> import numpy as np
    >>> from companion.events import EXEC_VISIBLE, EVENT_DTYPE
    >>> ev = np.zeros(1, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"], ev["size"] = EXEC_VISIBLE, -1, 101, 2
    >>> int(trades(ev)["side"][0])    # a sell limit order executed: buyer-initiated
    1
    """
    idx, agg = trades_nb(events["kind"], events["side"])
    out = np.empty(idx.size, dtype=TRADE_DTYPE)
    out["ts"] = events["ts"][idx]
    out["price"] = events["price"][idx]
    out["size"] = events["size"][idx]
    out["side"] = agg
    return out


def trades_frame(events: np.ndarray, instrument: Instrument | None = None) -> pd.DataFrame:
    """:func:`trades` as a DataFrame indexed by time.

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array.
    instrument : companion.events.Instrument, optional
        When given, prices are divided by ``price_scale`` (currency) and the index is a
        DatetimeIndex when the date or epoch is known.

    Returns
    -------
    pandas.DataFrame
        Columns ``price`` (currency units, or price units without ``instrument``), ``size``,
        ``side`` (aggressor, +1 buy).

    Examples
    --------
    >>> import numpy as np
    >>> from companion.events import EXEC_VISIBLE, EVENT_DTYPE
    >>> ev = np.zeros(1, EVENT_DTYPE)
    >>> ev["ts"], ev["kind"], ev["side"], ev["price"], ev["size"] = 34_200 * 10**9, EXEC_VISIBLE, -1, 5853300, 100
    >>> trades_frame(ev, Instrument("AAPL", tick=100, price_scale=10_000, date="2012-06-21"))
                         price  size  side
    time
    2012-06-21 09:30:00  585.33 100.0     1
    """
    tr = trades(events)
    scale = instrument.price_scale if instrument is not None else 1
    return pd.DataFrame({"price": tr["price"] / scale, "size": tr["size"], "side": tr["side"]},
                        index=time_index(tr["ts"], instrument))


# --------------------------------------------------------------------------------------------
# pandas view of snapshots
# --------------------------------------------------------------------------------------------
def book_columns(levels: int) -> list[str]:
    """Column names of a LOBSTER-layout snapshot array.

    Parameters
    ----------
    levels : int

    Returns
    -------
    list of str
        ``ask_px_1, ask_sz_1, bid_px_1, bid_sz_1, ask_px_2, ...``.

    Examples
    --------
    >>> book_columns(1)
    ['ask_px_1', 'ask_sz_1', 'bid_px_1', 'bid_sz_1']
    """
    return [f"{s}_{k}" for k in range(1, levels + 1) for s in ("ask_px", "ask_sz", "bid_px", "bid_sz")]


def book_frame(snapshots: np.ndarray, instrument: Instrument, ts: np.ndarray) -> pd.DataFrame:
    """Snapshots as a DataFrame indexed by time.

    Parameters
    ----------
    snapshots : numpy.ndarray
        float64 ``(n, 4L)``, LOBSTER layout, price units.
    instrument : companion.events.Instrument
        For ``price_scale`` and the date.
    ts : numpy.ndarray
        int64 ns per row.

    Returns
    -------
    pandas.DataFrame
        Columns :func:`book_columns`; prices in currency units (``price / instrument.price_scale``),
        an empty level has price NaN and size 0. Index: see :func:`trades_frame`.

    Raises
    ------
    ValueError
        When ``snapshots`` is not ``(n, 4L)`` or ``ts`` has another length.

    Examples
    --------
    >>> import numpy as np
    >>> snap = np.array([[5853400.0, 100, -9999999999, 0]])          # no bid
    >>> ins = Instrument("AAPL", tick=100, price_scale=10_000, date="2012-06-21")
    >>> book_frame(snap, ins, np.array([34_200 * 10**9])).iloc[0].tolist()
    [585.34, 100.0, nan, 0.0]
    """
    snap = np.asarray(snapshots, dtype=np.float64)
    if snap.ndim != 2 or snap.shape[1] % 4:
        raise ValueError(f"snapshots must be (n, 4*levels), got shape {snap.shape}")
    if len(ts) != snap.shape[0]:
        raise ValueError(f"{len(ts)} timestamps but {snap.shape[0]} snapshots")
    vals = snap.copy()
    px = vals[:, 0::2]
    empty = (px == DUMMY_ASK) | (px == DUMMY_BID)
    px /= instrument.price_scale
    px[empty] = np.nan
    vals[:, 0::2] = px
    return pd.DataFrame(vals, columns=book_columns(snap.shape[1] // 4), index=time_index(ts, instrument))
