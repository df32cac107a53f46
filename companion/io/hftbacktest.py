"""Export our events to hftbacktest's event format (and read it back).

`hftbacktest <https://github.com/nkaz001/hftbacktest>`_ (v2, Rust core with a numba binding)
replays one structured array of events, its ``event_dtype`` (``hftbacktest/types.py``; 64 bytes,
``align=True``)::

    ev u8 | exch_ts i8 | local_ts i8 | px f8 | qty f8 | order_id u8 | ival i8 | fval f8

``ev`` is a kind in its low byte -- ``DEPTH_EVENT`` 1, ``TRADE_EVENT`` 2, ``DEPTH_CLEAR_EVENT`` 3,
``DEPTH_SNAPSHOT_EVENT`` 4 -- or-ed with flag bits: ``EXCH_EVENT`` (1<<31: the exchange processor
handles the row at ``exch_ts``), ``LOCAL_EVENT`` (1<<30: the local processor, i.e. the strategy's
view, handles it at ``local_ts``), ``BUY_EVENT`` (1<<29) / ``SELL_EVENT`` (1<<28): the bid / ask
side of a depth row, the *initiator* of a trade row (``types.py`` docstrings). ``Event::is``
(``src/types.rs``) matches the flag bits *and* the exact low byte, so a ``DEPTH_CLEAR_EVENT`` (3)
is never mistaken for a depth (1) or trade (2) row.

Semantics the export follows (hftbacktest ``src/depth/hashmapmarketdepth.rs``,
``src/backtest/proc/local.rs``, ``nopartialfillexchange.rs``, ``models/queue.rs``):

* a depth / snapshot row **sets** the level ``px`` on its side to ``qty`` (market by price, L2);
  ``round(qty / lot_size) == 0`` deletes the level;
* a clear row with a side bit clears that side from ``px`` to the touch; without a side bit it
  clears the whole book (``clear_depth(Side::None)``);
* a trade row advances the queue of our resting orders at ``px`` (``front -= qty``, and the
  probabilistic models subtract the trades already seen from the next depth decrease at that
  price: ``chg = prev - new - cum_trade``), so the trade must come **before** the depth row
  that removes the executed quantity -- which is what we write;
* rows are consumed in file order by two independent cursors: ``exch_ts`` must not decrease over
  the ``EXCH_EVENT`` rows, nor ``local_ts`` over the ``LOCAL_EVENT`` rows
  (``data/validation.py: validate_event_order``). When our exchange and local clocks disagree on
  the order (Binance: ``E`` is not monotone in arrival order), a row is split into an
  exchange-only and a local-only copy, merged as hftbacktest's ``correct_event_order`` does.

Mapping of :data:`companion.events.EVENT_DTYPE` kinds (one input event -> 0, 1 or 2 rows):

==================  =============================================================================
ours                hftbacktest rows
==================  =============================================================================
ADD / CANCEL /      ``DEPTH_EVENT | side``, ``qty`` = the level size at the event's price **after**
DELETE              the event (our book engine, :func:`level_after_nb`; 0 = level gone)
EXEC_VISIBLE        ``TRADE_EVENT | aggressor`` (aggressor = ``-side``: LOBSTER gives the resting
                    order's side) with the executed size, then the ``DEPTH_EVENT`` as above
EXEC_HIDDEN         ``TRADE_EVENT | aggressor`` (``hidden_trades=True``), else nothing
CROSS, HALT         nothing (no aggressor side, no visible-book change)
LEVEL_SET           ``DEPTH_EVENT | side`` with ``qty = size``; ``DEPTH_SNAPSHOT_EVENT`` when it
                    belongs to a snapshot (a run of LEVEL_SETs right after a CLEAR with the same
                    ``ts``, ``ts_local`` and ``order_id``, as our Binance reader writes them)
TRADE               ``TRADE_EVENT | aggressor`` (``side`` is already the aggressor)
CLEAR               ``DEPTH_CLEAR_EVENT`` without a side bit (whole book)
==================  =============================================================================

``side`` +1 -> ``BUY_EVENT``, -1 -> ``SELL_EVENT``. ``px`` = ``price / price_scale`` (currency
units by default; pass ``price_scale=1`` to keep integer price units, exact in float64), so the
backtest's ``tick_size`` is ``instrument.tick / price_scale`` (:func:`asset_params`). ``exch_ts``
= ``ts``, ``local_ts`` = ``ts_local + feed_latency_ns`` (hftbacktest's feed latency *is*
``local_ts - exch_ts``). ``order_id`` = ours (LOBSTER order id; Binance update / trade id).
``ival`` = the index of the source event in the input, ``fval`` = the source event's own size
(the message's shares, where ``qty`` is the level size) -- hftbacktest ignores both for L2 rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numba import njit

from companion.book.kernels import book_apply_nb, level_qty_nb, new_book_state_nb
from companion.events import (
    ADD,
    CANCEL,
    CLEAR,
    CROSS,
    DELETE,
    EVENT_DTYPE,
    EXEC_HIDDEN,
    EXEC_VISIBLE,
    HALT,
    LEVEL_SET,
    TRADE,
    Instrument,
)

__all__ = [
    "HBT_EVENT_DTYPE", "DEPTH_EVENT", "TRADE_EVENT", "DEPTH_CLEAR_EVENT", "DEPTH_SNAPSHOT_EVENT",
    "EXCH_EVENT", "LOCAL_EVENT", "BUY_EVENT", "SELL_EVENT", "level_after", "level_after_nb",
    "to_hftbacktest", "snapshot_to_hftbacktest", "from_hftbacktest", "write_npz", "export",
    "asset_params", "validate_event_order",
]

# hftbacktest/types.py (v2.4.4); tests check them against the installed package
DEPTH_EVENT = 1
TRADE_EVENT = 2
DEPTH_CLEAR_EVENT = 3
DEPTH_SNAPSHOT_EVENT = 4
EXCH_EVENT = 1 << 31
LOCAL_EVENT = 1 << 30
BUY_EVENT = 1 << 29
SELL_EVENT = 1 << 28

HBT_EVENT_DTYPE = np.dtype(
    [("ev", "u8"), ("exch_ts", "i8"), ("local_ts", "i8"), ("px", "f8"), ("qty", "f8"),
     ("order_id", "u8"), ("ival", "i8"), ("fval", "f8")],
    align=True,
)
"""Identical to ``hftbacktest.types.event_dtype`` (64 bytes per row)."""

_KIND_MASK = 0xFF


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def level_after_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray,
                   init: np.ndarray) -> tuple[np.ndarray, int]:
    """Size of the price level ``(side[t], price[t])`` right after event ``t``, by the full-depth
    book engine of :mod:`companion.book.kernels` (same state, same update rule as
    :func:`companion.book.replay`).

    ``q_t(s, p)`` after ADD ``q += size``, CANCEL / DELETE / EXEC_VISIBLE ``q -= size`` (a level
    at or below ``1e-9 x`` its previous size is removed: 0), LEVEL_SET ``q = size``, CLEAR: every
    level 0. Other kinds leave the book alone and get NaN. ``init``: the book before event 0 as a
    LOBSTER-layout row (empty array: empty book). Returns ``(qty_after float64[n], unknown)``,
    ``unknown`` = reductions at prices not in the book (ignored, as in the replay).
    """
    n = kind.size
    out = np.empty(n, dtype=np.float64)
    st = new_book_state_nb(init, 256)
    unknown = 0
    for t in range(n):
        k = kind[t]
        if k == ADD or k == CANCEL or k == DELETE or k == EXEC_VISIBLE or k == LEVEL_SET:
            unknown += book_apply_nb(st, k, side[t], price[t], size[t])
            out[t] = level_qty_nb(st, side[t], price[t])
        elif k == CLEAR:
            book_apply_nb(st, k, side[t], price[t], size[t])
            out[t] = 0.0
        else:
            out[t] = np.nan
    return out, unknown


@njit(cache=True)
def _count_rows_nb(kind: np.ndarray, hidden_trades: bool) -> int:
    m = 0
    for t in range(kind.size):
        k = kind[t]
        if k == EXEC_VISIBLE:
            m += 2
        elif k == EXEC_HIDDEN:
            m += 1 if hidden_trades else 0
        elif k == CROSS or k == HALT:
            pass
        elif k == ADD or k == CANCEL or k == DELETE or k == LEVEL_SET or k == TRADE or k == CLEAR:
            m += 1
    return m


@njit(cache=True)
def _side_bit(s: int) -> np.uint64:
    return np.uint64(BUY_EVENT) if s > 0 else np.uint64(SELL_EVENT)


@njit(cache=True, inline="always")
def _write_row_nb(out: np.ndarray, m: int, ev: np.uint64, exch_ts: int, local_ts: int, px: float, qty: float,
                  order_id: np.uint64, ival: int, fval: float) -> None:
    """Fill row ``m`` of ``out`` (:data:`HBT_EVENT_DTYPE`)."""
    r = out[m]
    r.ev = ev
    r.exch_ts = exch_ts
    r.local_ts = local_ts
    r.px = px
    r.qty = qty
    r.order_id = order_id
    r.ival = ival
    r.fval = fval


@njit(cache=True)
def encode_nb(kind: np.ndarray, side: np.ndarray, price: np.ndarray, size: np.ndarray,
              order_id: np.ndarray, ts: np.ndarray, ts_local: np.ndarray, level_qty: np.ndarray,
              price_scale: float, feed_latency: int, hidden_trades: bool, out: np.ndarray) -> int:
    """Write the hftbacktest rows of every event into ``out`` (:data:`HBT_EVENT_DTYPE`, sized by
    the row count; ``EXCH``/``LOCAL`` bits not set yet) following the module's mapping table.
    ``level_qty``: :func:`level_after_nb`. Returns the number of rows written."""
    m = 0
    snap = False  # inside a CLEAR + LEVEL_SET snapshot run
    for t in range(kind.size):
        k = kind[t]
        s = side[t]
        px = price[t] / price_scale
        tl = ts_local[t] + feed_latency
        oid = np.uint64(order_id[t]) if order_id[t] > 0 else np.uint64(0)
        if k == CLEAR:
            snap = True
        elif k == LEVEL_SET:
            snap = snap and t > 0 and ts[t] == ts[t - 1] and ts_local[t] == ts_local[t - 1] \
                and order_id[t] == order_id[t - 1] and (kind[t - 1] == CLEAR or kind[t - 1] == LEVEL_SET)
        else:
            snap = False
        if k == EXEC_VISIBLE or (k == EXEC_HIDDEN and hidden_trades) or k == TRADE:
            agg = s if k == TRADE else -s
            _write_row_nb(out, m, np.uint64(TRADE_EVENT) | _side_bit(agg), ts[t], tl, px, size[t], oid, t, size[t])
            m += 1
        if k == ADD or k == CANCEL or k == DELETE or k == EXEC_VISIBLE or k == LEVEL_SET:
            base = DEPTH_SNAPSHOT_EVENT if (k == LEVEL_SET and snap) else DEPTH_EVENT
            _write_row_nb(out, m, np.uint64(base) | _side_bit(s), ts[t], tl, px, level_qty[t], oid, t, size[t])
            m += 1
        elif k == CLEAR:
            _write_row_nb(out, m, np.uint64(DEPTH_CLEAR_EVENT), ts[t], tl, 0.0, 0.0, oid, t, 0.0)
            m += 1
    return m


@njit(cache=True)
def _monotone_nb(x: np.ndarray) -> bool:
    for i in range(1, x.size):
        if x[i] < x[i - 1]:
            return False
    return True


@njit(cache=True)
def merge_exch_local_nb(exch_ts: np.ndarray, local_ts: np.ndarray, by_exch: np.ndarray,
                        by_local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Interleave the rows sorted by exchange time (``by_exch``, stable) and by local time
    (``by_local``) so that both clocks are non-decreasing over their own rows; a row at the head
    of both orders is written once with both flags (hftbacktest ``correct_event_order``).
    Returns ``(row index, EXCH/LOCAL flags)`` of the output rows (at most ``2n``)."""
    n = exch_ts.size
    idx = np.empty(2 * n, dtype=np.int64)
    flg = np.empty(2 * n, dtype=np.uint64)
    i = 0
    j = 0
    m = 0
    while i < n or j < n:
        if i < n and j < n and by_exch[i] == by_local[j]:
            idx[m] = by_exch[i]
            flg[m] = np.uint64(EXCH_EVENT) | np.uint64(LOCAL_EVENT)
            i += 1
            j += 1
        elif j >= n or (i < n and exch_ts[by_exch[i]] <= local_ts[by_local[j]]):
            idx[m] = by_exch[i]
            flg[m] = np.uint64(EXCH_EVENT)
            i += 1
        else:
            idx[m] = by_local[j]
            flg[m] = np.uint64(LOCAL_EVENT)
            j += 1
        m += 1
    return idx[:m], flg[:m]


# --------------------------------------------------------------------------------------------
# user layer
# --------------------------------------------------------------------------------------------
def _check_events(events: np.ndarray) -> None:
    missing = set(EVENT_DTYPE.names) - set(events.dtype.names or ())
    if missing:
        raise ValueError(f"events lack fields {sorted(missing)}")


def _init_row(initial) -> np.ndarray:
    if initial is None:
        return np.empty(0, dtype=np.float64)
    return np.ascontiguousarray(initial, dtype=np.float64).ravel()


def level_after(events: np.ndarray, initial: np.ndarray | None = None) -> np.ndarray:
    """Level size at each event's (side, price) after the event; see :func:`level_after_nb`.

    Parameters
    ----------
    events : numpy.ndarray
        :data:`companion.events.EVENT_DTYPE` events.
    initial : numpy.ndarray, optional
        LOBSTER-layout row of the book before the first event (default: empty book).

    Returns
    -------
    numpy.ndarray
        float64, the level size (shares / contracts) after each event; NaN for kinds that do not
        touch the book (hidden executions, trades, cross, halt).

    Examples
    --------
    Two bids join 100.00 (100 + 50 shares), the first cancels 30, then 20 execute:

    >>> from companion.events import empty_events, ADD, CANCEL, EXEC_VISIBLE
    >>> ev = empty_events(4)
    >>> ev["ts"] = ev["ts_local"] = [1, 2, 3, 4]
    >>> ev["kind"] = [ADD, ADD, CANCEL, EXEC_VISIBLE]
    >>> ev["side"], ev["price"], ev["size"], ev["order_id"] = 1, 1_000_000, [100, 50, 30, 20], [1, 2, 1, 2]
    >>> level_after(ev).tolist()
    [100.0, 150.0, 120.0, 100.0]
    """
    _check_events(events)
    q, _ = level_after_nb(events["kind"], events["side"], events["price"], events["size"],
                          _init_row(initial))
    return q


def _scale(instrument: Instrument | None, price_scale: float | None) -> float:
    if price_scale is not None:
        if not price_scale > 0:
            raise ValueError("price_scale must be > 0")
        return float(price_scale)
    return float(instrument.price_scale) if instrument is not None else 1.0


def to_hftbacktest(events: np.ndarray, instrument: Instrument | None = None, *,
                   initial: np.ndarray | None = None, price_scale: float | None = None,
                   feed_latency_ns: int = 0, hidden_trades: bool = True) -> np.ndarray:
    """Our events -> an hftbacktest event array (:data:`HBT_EVENT_DTYPE`), see the module table.

    ``instrument``: gives ``price_scale`` (``px = price / price_scale``; without it prices stay in
    price units). ``initial``: the book before the first event (LOBSTER-layout row, e.g. the
    orderbook row before a slice), so the level sizes of a slice are right; pass the same rows to
    hftbacktest with :func:`snapshot_to_hftbacktest` (``BacktestAsset.initial_snapshot``).
    ``feed_latency_ns``: added to ``ts_local`` (the local clock hftbacktest's strategy sees).
    ``hidden_trades``: export EXEC_HIDDEN as trade rows (they advance hftbacktest's queue at
    their price; our simulator ignores hidden executions at our price and only fills on those
    through it).

    Returns
    -------
    numpy.ndarray
        :data:`HBT_EVENT_DTYPE` rows: ``px`` in currency (``price / price_scale``), ``qty`` the level
        size after the event (depth rows) or the executed size (trade rows), ``exch_ts`` /
        ``local_ts`` in ns.

    References
    ----------
    hftbacktest v2 (nkaz001), ``py-hftbacktest/hftbacktest/types.py`` (``event_dtype``, flags) and
    ``data/validation.py`` (``correct_event_order``).

    Examples
    --------
    The visible execution of 20 shares becomes a sell-initiated trade row, then the depth row
    setting the level to 100 shares:

    >>> from companion.events import empty_events, Instrument, ADD, CANCEL, EXEC_VISIBLE
    >>> ev = empty_events(4)
    >>> ev["ts"] = ev["ts_local"] = [1, 2, 3, 4]
    >>> ev["kind"] = [ADD, ADD, CANCEL, EXEC_VISIBLE]
    >>> ev["side"], ev["price"], ev["size"], ev["order_id"] = 1, 1_000_000, [100, 50, 30, 20], [1, 2, 1, 2]
    >>> inst = Instrument("X", tick=100, price_scale=10_000)       # $100.00 = 1,000,000 price units
    >>> h = to_hftbacktest(ev, inst)
    >>> [(int(e) & 0xFF, bool(int(e) & BUY_EVENT)) for e in h["ev"]]    # (kind, buy side?)
    [(1, True), (1, True), (1, True), (2, False), (1, True)]
    >>> h["px"].tolist(), h["qty"].tolist()
    ([100.0, 100.0, 100.0, 100.0, 100.0], [100.0, 150.0, 120.0, 20.0, 100.0])
    """
    _check_events(events)
    if feed_latency_ns < 0:
        raise ValueError("feed_latency_ns must be >= 0")
    scale = _scale(instrument, price_scale)
    kind, side, price, size = events["kind"], events["side"], events["price"], events["size"]
    qlev, _ = level_after_nb(kind, side, price, size, _init_row(initial))
    out = np.zeros(_count_rows_nb(kind, bool(hidden_trades)), dtype=HBT_EVENT_DTYPE)
    m = encode_nb(kind, side, price, size, events["order_id"], events["ts"], events["ts_local"],
                  qlev, scale, int(feed_latency_ns), bool(hidden_trades), out)
    assert m == len(out)
    if _monotone_nb(out["exch_ts"]) and _monotone_nb(out["local_ts"]):
        out["ev"] |= np.uint64(EXCH_EVENT | LOCAL_EVENT)
        return out
    by_exch = np.argsort(out["exch_ts"], kind="stable")
    by_local = np.argsort(out["local_ts"], kind="stable")
    idx, flg = merge_exch_local_nb(out["exch_ts"], out["local_ts"], by_exch, by_local)
    res = out[idx]
    res["ev"] |= flg
    return res


def snapshot_to_hftbacktest(row: np.ndarray, instrument: Instrument | None = None, *,
                            ts: int = 0, price_scale: float | None = None) -> np.ndarray:
    """A LOBSTER-layout book row -> ``DEPTH_SNAPSHOT_EVENT`` rows (bids best first, then asks),
    flagged ``EXCH | LOCAL``, for ``BacktestAsset.initial_snapshot`` (hftbacktest
    ``HashMapMarketDepth::apply_snapshot`` reads side and level from each row). Empty levels
    (dummy price or size 0) are skipped.

    Returns
    -------
    numpy.ndarray
        :data:`HBT_EVENT_DTYPE`, ``px`` in currency (``price / price_scale``), ``qty`` in shares.

    Examples
    --------
    >>> from companion.events import Instrument
    >>> row = np.array([1_010_000., 300, 1_000_000, 100])        # ask 101.00 x 300, bid 100.00 x 100
    >>> s = snapshot_to_hftbacktest(row, Instrument("X", tick=100, price_scale=10_000))
    >>> s["px"].tolist(), s["qty"].tolist(), [bool(int(e) & BUY_EVENT) for e in s["ev"]]
    ([100.0, 101.0], [100.0, 300.0], [True, False])
    """
    r = np.asarray(row, dtype=np.float64).ravel()
    if r.size % 4:
        raise ValueError(f"a LOBSTER row has 4*L values, got {r.size}")
    scale = _scale(instrument, price_scale)
    L = r.size // 4
    rows = []
    for c, bit in ((2, BUY_EVENT), (0, SELL_EVENT)):
        for j in range(L):
            px, sz = r[4 * j + c], r[4 * j + c + 1]
            if sz > 0 and abs(px) < 9_999_999_999:
                rows.append((DEPTH_SNAPSHOT_EVENT | bit | EXCH_EVENT | LOCAL_EVENT, ts, ts,
                             px / scale, sz, 0, 0, 0.0))
    return np.array(rows, dtype=HBT_EVENT_DTYPE)


def from_hftbacktest(data: np.ndarray, price_scale: float = 1.0) -> np.ndarray:
    """hftbacktest L2 rows -> our events: depth / snapshot rows become LEVEL_SET, trades TRADE
    (``side`` = initiator), side-less clears CLEAR; only ``EXCH_EVENT`` rows are read (each market
    event once), ``price = round(px * price_scale)``. A one-sided clear (``clear up to px``) has
    no equivalent in our kinds and raises ``ValueError``; other kinds (BBO, L3 orders, custom
    ids) are skipped. :func:`companion.book.replay` of the result gives hftbacktest's book.

    Parameters
    ----------
    data : numpy.ndarray
        :data:`HBT_EVENT_DTYPE` rows.
    price_scale : float
        Price units per currency unit (``10_000`` for LOBSTER dollars; 1 keeps ``px`` as is).

    Returns
    -------
    numpy.ndarray
        :data:`companion.events.EVENT_DTYPE` events.

    Examples
    --------
    A round trip through :func:`to_hftbacktest`: every depth row comes back as a LEVEL_SET (10)
    of the level size, the trade as a TRADE (11) with the initiator's side:

    >>> from companion.events import empty_events, Instrument, ADD, CANCEL, EXEC_VISIBLE
    >>> ev = empty_events(4)
    >>> ev["ts"] = ev["ts_local"] = [1, 2, 3, 4]
    >>> ev["kind"] = [ADD, ADD, CANCEL, EXEC_VISIBLE]
    >>> ev["side"], ev["price"], ev["size"], ev["order_id"] = 1, 1_000_000, [100, 50, 30, 20], [1, 2, 1, 2]
    >>> inst = Instrument("X", tick=100, price_scale=10_000)       # $100.00 = 1,000,000 price units
    >>> back = from_hftbacktest(to_hftbacktest(ev, inst), price_scale=10_000)
    >>> back[["kind", "side", "price", "size"]].tolist()
    [(10, 1, 1000000, 100.0), (10, 1, 1000000, 150.0), (10, 1, 1000000, 120.0), (11, -1, 1000000, 20.0), (10, 1, 1000000, 100.0)]
    """
    ev = np.asarray(data["ev"], dtype=np.uint64)
    d = data[(ev & np.uint64(EXCH_EVENT)) != 0]
    ev = d["ev"].astype(np.uint64)
    k = (ev & np.uint64(_KIND_MASK)).astype(np.int64)
    buy = (ev & np.uint64(BUY_EVENT)) != 0
    sell = (ev & np.uint64(SELL_EVENT)) != 0
    if ((k == DEPTH_CLEAR_EVENT) & (buy | sell)).any():
        raise ValueError("one-sided DEPTH_CLEAR_EVENT (clear up to a price) is not representable")
    keep = np.isin(k, (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, TRADE_EVENT, DEPTH_CLEAR_EVENT))
    keep &= (k == DEPTH_CLEAR_EVENT) | buy | sell
    d, k, buy = d[keep], k[keep], buy[keep]
    out = np.zeros(len(d), dtype=EVENT_DTYPE)
    out["ts"] = d["exch_ts"]
    out["ts_local"] = d["local_ts"]
    out["kind"] = np.where(k == TRADE_EVENT, TRADE, np.where(k == DEPTH_CLEAR_EVENT, CLEAR, LEVEL_SET))
    out["side"] = np.where(k == DEPTH_CLEAR_EVENT, 0, np.where(buy, 1, -1))
    out["price"] = np.rint(d["px"] * price_scale).astype(np.int64)
    out["size"] = d["qty"]
    out["order_id"] = d["order_id"].astype(np.int64)
    return out


def validate_event_order(data: np.ndarray) -> None:
    """Raise ``ValueError`` unless ``exch_ts`` is non-decreasing over the ``EXCH_EVENT`` rows and
    ``local_ts`` over the ``LOCAL_EVENT`` rows (hftbacktest ``validate_event_order``).

    Examples
    --------
    >>> rows = np.zeros(2, dtype=HBT_EVENT_DTYPE)
    >>> rows["ev"] = DEPTH_EVENT | BUY_EVENT | EXCH_EVENT | LOCAL_EVENT
    >>> rows["exch_ts"] = rows["local_ts"] = [2, 1]
    >>> validate_event_order(rows)
    Traceback (most recent call last):
        ...
    ValueError: exchange events are out of order
    """
    ev = data["ev"].astype(np.uint64)
    ex = (ev & np.uint64(EXCH_EVENT)) != 0
    lo = (ev & np.uint64(LOCAL_EVENT)) != 0
    if (np.diff(data["exch_ts"][ex]) < 0).any():
        raise ValueError("exchange events are out of order")
    if (np.diff(data["local_ts"][lo]) < 0).any():
        raise ValueError("local events are out of order")


def write_npz(path: str | Path, data: np.ndarray, compress: bool = True) -> Path:
    """Save as hftbacktest's ``.npz`` (one array named ``data``, as its converters write;
    ``BacktestAsset().data(str(path))`` / ``.initial_snapshot(str(path))`` read it).

    Returns
    -------
    pathlib.Path
        The file written (``.npz`` appended when missing).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> rows = snapshot_to_hftbacktest(np.array([101., 300, 100, 100]))
    >>> p = write_npz(pathlib.Path(tempfile.mkdtemp()) / "snap", rows)
    >>> p.name, np.load(p)["data"].dtype == HBT_EVENT_DTYPE
    ('snap.npz', True)
    """
    if data.dtype != HBT_EVENT_DTYPE:
        raise ValueError(f"expected HBT_EVENT_DTYPE rows, got {data.dtype}")
    validate_event_order(data)
    p = Path(path)
    if p.suffix != ".npz":
        p = p.with_name(p.name + ".npz")
    (np.savez_compressed if compress else np.savez)(p, data=data)
    return p


def export(events: np.ndarray, path: str | Path, instrument: Instrument | None = None,
           **kwargs) -> Path:
    """:func:`to_hftbacktest` then :func:`write_npz`; returns the file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from companion.events import empty_events, Instrument, ADD, CANCEL, EXEC_VISIBLE
    >>> ev = empty_events(4)
    >>> ev["ts"] = ev["ts_local"] = [1, 2, 3, 4]
    >>> ev["kind"] = [ADD, ADD, CANCEL, EXEC_VISIBLE]
    >>> ev["side"], ev["price"], ev["size"], ev["order_id"] = 1, 1_000_000, [100, 50, 30, 20], [1, 2, 1, 2]
    >>> inst = Instrument("X", tick=100, price_scale=10_000)       # $100.00 = 1,000,000 price units
    >>> p = export(ev, pathlib.Path(tempfile.mkdtemp()) / "day.npz", inst, feed_latency_ns=1000)
    >>> d = np.load(p)["data"]
    >>> len(d), (d["local_ts"] - d["exch_ts"]).tolist()
    (5, [1000, 1000, 1000, 1000, 1000])
    """
    return write_npz(path, to_hftbacktest(events, instrument, **kwargs))


def asset_params(instrument: Instrument, price_scale: float | None = None) -> dict:
    """``tick_size`` and ``lot_size`` for ``BacktestAsset`` matching an export with this
    instrument (``tick / price_scale``; ``lot``). hftbacktest deletes a level whose size rounds
    to 0 lots, so ``lot_size`` must not exceed the smallest level size (1 share for LOBSTER).

    Examples
    --------
    >>> from companion.events import Instrument
    >>> asset_params(Instrument("AAPL", tick=100, price_scale=10_000))     # one cent, one share
    {'tick_size': 0.01, 'lot_size': 1.0}
    """
    scale = _scale(instrument, price_scale)
    return {"tick_size": instrument.tick / scale, "lot_size": float(instrument.lot)}
