"""Databento DBN (MBO and MBP-10) into :data:`companion.events.EVENT_DTYPE`, and back.

DBN is Databento's binary format: a header (``b"DBN"``, version byte, little-endian uint32 metadata
length, metadata) followed by fixed-size little-endian records (Databento, *DBN encoding*). The
metadata is decoded by the official ``databento-dbn`` decoder; the records of the two schemas we
read (MBO, 56 bytes; MBP-10, 368 bytes) are viewed as numpy structured arrays of the documented
layout -- the tests check that view field by field against the official decoder on the official
test files and on a synthetic day written by the official encoder. Files ending ``.zst`` are
decompressed with pyarrow's zstd codec.

MBO -> events (:func:`read_dbn_mbo`), following Databento's order-tracking rules (the book changes
only at Add, Cancel, Modify and cleaR; Trade and Fill "do not affect the book because all fills
are accompanied by cancel actions"; the book is meaningful only after a record with ``F_LAST``):

======  =====================================================================================
action  event(s)
======  =====================================================================================
``A``   ADD (order id, side, price, size)
``C``   CANCEL (partial) or DELETE (the order's last shares); the shares a preceding Fill of the
        same order already removed are skipped
``M``   same price and smaller size: CANCEL of the difference (priority kept); otherwise DELETE of
        the old order + ADD of the new one (priority lost); an unknown order: ADD
``F``   EXEC_VISIBLE (resting side, price, size): the execution, removing the shares at once
``T``   TRADE (aggressor side, ``N`` -> 0) only when its event holds no Fill (a trade against
        hidden / implied liquidity); with Fills the EXEC_VISIBLE events carry the trade
``R``   CLEAR
``N``   nothing (counted)
======  =====================================================================================

Prices are int64 1e-9 units in DBN; the reader rescales them to the coarsest power-of-ten price
scale that represents every price exactly (or the ``price_scale`` you pass) and infers the tick as
the gcd of the prices. ``ts`` = ``ts_event``, ``ts_local`` = ``ts_recv`` (ns since the epoch).

What MBO cannot tell us: orders resting before the first record unless the file starts with a
snapshot (``R`` then ``A`` records flagged ``F_SNAPSHOT``) -- a mid-session file reduces orders it
never saw (counted as ``unknown_orders``, and its book is wrong until those levels clear); hidden
and implied liquidity (only a Trade without Fill); who the participants are.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.errors import DataFormatError
from companion.events import (
    ADD,
    ASK,
    BID,
    CANCEL,
    CLEAR,
    DELETE,
    DUMMY_ASK,
    DUMMY_BID,
    EVENT_DTYPE,
    EXEC_HIDDEN,
    EXEC_VISIBLE,
    TRADE,
    Instrument,
)

__all__ = [
    "MBO_DTYPE",
    "MBP10_DTYPE",
    "DbnMbo",
    "DbnMbp10",
    "read_dbn_bytes",
    "read_dbn_mbo",
    "read_dbn_mbp10",
    "verify_dbn",
    "write_dbn_mbo",
    "write_dbn_mbp10",
]

F_LAST = 128
F_SNAPSHOT = 32
UNDEF_PRICE = 2**63 - 1
DBN_SCALE = 1_000_000_000

_HD = [("length", "u1"), ("rtype", "u1"), ("publisher_id", "<u2"), ("instrument_id", "<u4"), ("ts_event", "<u8")]
MBO_DTYPE = np.dtype(_HD + [
    ("order_id", "<u8"), ("price", "<i8"), ("size", "<u4"), ("flags", "u1"), ("channel_id", "u1"),
    ("action", "S1"), ("side", "S1"), ("ts_recv", "<u8"), ("ts_in_delta", "<i4"), ("sequence", "<u4"),
])
"""The 56-byte DBN MBO record (rtype 160), little-endian, as a numpy structured dtype."""
_LEVEL = [(f"{k}_{i:02d}", t) for i in range(10) for k, t in
          (("bid_px", "<i8"), ("ask_px", "<i8"), ("bid_sz", "<u4"), ("ask_sz", "<u4"), ("bid_ct", "<u4"), ("ask_ct", "<u4"))]
MBP10_DTYPE = np.dtype(_HD + [
    ("price", "<i8"), ("size", "<u4"), ("action", "S1"), ("side", "S1"), ("flags", "u1"), ("depth", "u1"),
    ("ts_recv", "<u8"), ("ts_in_delta", "<i4"), ("sequence", "<u4")] + _LEVEL)
"""The 368-byte DBN MBP-10 record, rtype 10, with the trigger fields then 10 levels (bid/ask px, sz, ct)."""
_RTYPE = {"mbo": (160, MBO_DTYPE), "mbp-10": (10, MBP10_DTYPE)}
_ACTIONS = b"ACMRTFN"
_SIDES = {b"B": BID, b"A": ASK, b"N": 0}


def _rec(path, n: int) -> str:
    return f"{path}, record {n}"


def read_dbn_bytes(path: str | Path) -> bytes:
    """The bytes of a DBN file, zstd-decompressed when the name ends in ``.zst`` (or the zstd magic).

    Parameters
    ----------
    path : str or pathlib.Path
        ``.dbn`` or ``.dbn.zst`` file.

    Returns
    -------
    bytes
        The uncompressed DBN stream.

    Raises
    ------
    DataFormatError
        Missing, empty or corrupt file.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.dbn")
    >>> _ = open(p, "wb").write(b"DBN")
    >>> read_dbn_bytes(p)
    b'DBN'
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, "no such file")
    raw = path.read_bytes()
    if raw[:4] == b"\x28\xb5\x2f\xfd" or path.name.endswith(".zst"):
        import pyarrow as pa

        if raw[:4] != b"\x28\xb5\x2f\xfd":
            raise DataFormatError(path, "not a zstd file (the name ends in .zst but the zstd magic bytes are missing)")
        try:
            with pa.CompressedInputStream(pa.BufferReader(raw), "zstd") as f:
                raw = f.read()
        except Exception as e:  # noqa: BLE001 - pyarrow raises OSError or ArrowInvalid
            raise DataFormatError(path, f"corrupt zstd stream ({type(e).__name__}: {e})") from None
    if not raw:
        raise DataFormatError(path, "empty file (no DBN header)")
    return raw


def _split(path: Path, raw: bytes, schema: str):
    """Metadata (official decoder) and the records as a structured array of the schema's dtype."""
    import databento_dbn as dbn

    if raw[:3] != b"DBN":
        raise DataFormatError(path, f"not a DBN stream (magic bytes {raw[:3]!r}, expected b'DBN')", field="header")
    if len(raw) < 8:
        raise DataFormatError(path, "truncated header (shorter than 8 bytes)", field="header")
    version = raw[3]
    if not 1 <= version <= 3:
        raise DataFormatError(path, f"unsupported DBN version {version} (1-3 are read)", field="version")
    mlen = int.from_bytes(raw[4:8], "little")
    if 8 + mlen > len(raw):
        raise DataFormatError(path, f"truncated metadata: header says {mlen} bytes, {len(raw) - 8} present",
                              field="metadata")
    try:
        meta = dbn.Metadata.decode(raw[:8 + mlen])
    except Exception as e:  # noqa: BLE001 - the decoder's error types are not public
        raise DataFormatError(path, f"the official decoder rejects the metadata ({e})", field="metadata") from None
    got = str(meta.schema) if meta.schema is not None else "mixed"
    if got != schema:
        raise DataFormatError(path, f"schema is {got!r}, this reader reads {schema!r}", field="schema")
    rtype, dtype = _RTYPE[schema]
    if meta.ts_out:
        dtype = np.dtype(dtype.descr + [("ts_out", "<u8")])
    body = raw[8 + mlen:]
    n, rest = divmod(len(body), dtype.itemsize)
    recs = np.frombuffer(body[:n * dtype.itemsize], dtype=dtype)
    bad_len = np.flatnonzero(recs["length"].astype(np.int64) * 4 != dtype.itemsize)
    bad_rt = np.flatnonzero(recs["rtype"] != rtype)
    first = min([int(x[0]) for x in (bad_len, bad_rt) if x.size] or [n])
    if first < n:
        r = recs[first]
        if r["rtype"] != rtype:
            raise DataFormatError(_rec(path, first + 1), f"rtype {int(r['rtype'])}, expected {rtype} ({schema})",
                                  field="rtype")
        raise DataFormatError(_rec(path, first + 1), f"record length {4 * int(r['length'])} bytes, expected "
                              f"{dtype.itemsize}", field="length")
    if rest:
        raise DataFormatError(_rec(path, n + 1), f"truncated last record ({rest} of {dtype.itemsize} bytes)",
                              field="length")
    return meta, recs


def _check_codes(path: Path, recs: np.ndarray) -> None:
    act, side = recs["action"], recs["side"]
    bad_a = np.flatnonzero(~np.isin(act, np.frombuffer(_ACTIONS, dtype="S1")))
    bad_s = np.flatnonzero(~np.isin(side, np.array([b"A", b"B", b"N"])))
    for bad, fld in ((bad_a, "action"), (bad_s, "side")):
        if bad.size and (fld == "action" or not bad_a.size or bad[0] < bad_a[0]):
            i = int(bad[0])
            raise DataFormatError(_rec(path, i + 1), f"unknown {fld} code {bytes(recs[fld][i]).decode('latin-1')!r}", field=fld)


def _select(path: Path, recs: np.ndarray, instrument_id: int | None) -> np.ndarray:
    ids = np.unique(recs["instrument_id"])
    if instrument_id is None:
        if ids.size > 1:
            raise DataFormatError(path, f"{ids.size} instruments in the file ({ids[:5].tolist()}...): pass "
                                  "instrument_id=", field="instrument_id")
        return recs
    keep = recs["instrument_id"] == instrument_id
    if not keep.any():
        raise DataFormatError(path, f"instrument_id {instrument_id} not in the file ({ids[:5].tolist()})",
                              field="instrument_id")
    return recs[keep]


def _records(path: Path, schema: str, instrument_id: int | None):
    """Metadata and the records of one instrument of a DBN file of ``schema``, with checked action
    and side codes (:func:`_split`, :func:`_check_codes`, :func:`_select`)."""
    meta, recs = _split(path, read_dbn_bytes(path), schema)
    _check_codes(path, recs)
    return meta, _select(path, recs, instrument_id)


def _scale(path: Path, px: np.ndarray, price_scale: int | None) -> tuple[int, int]:
    """(price_scale, divisor): units = dbn_price // divisor, exact for every defined price."""
    defined = px[px != UNDEF_PRICE]
    if price_scale is None:
        price_scale = DBN_SCALE
        while price_scale > 1 and defined.size and not np.any(defined % (DBN_SCALE // (price_scale // 10))):
            price_scale //= 10
        if not defined.size:
            price_scale = 100
    if price_scale <= 0 or DBN_SCALE % price_scale:
        raise DataFormatError(path, f"price_scale {price_scale} must divide 1e9", field="price")
    div = DBN_SCALE // price_scale
    bad = np.flatnonzero(defined % div)
    if bad.size:
        raise DataFormatError(path, f"price {int(defined[bad[0]])} (1e-9 units) is not a multiple of "
                              f"1/{price_scale}", field="price")
    return int(price_scale), int(div)


def _instrument(meta, recs, px_units: np.ndarray, price_scale: int, levels: int) -> Instrument:
    ok = px_units[(px_units > 0) & (px_units < UNDEF_PRICE // 10)]
    tick = int(np.gcd.reduce(ok)) if ok.size else 1
    symbol = meta.symbols[0] if len(meta.symbols) == 1 else (",".join(meta.symbols) or str(int(recs["instrument_id"][0])))
    t0 = int(recs["ts_event"][0]) if len(recs) else int(meta.start)
    date = _dt.datetime.fromtimestamp(t0 / 1e9, tz=_dt.UTC).strftime("%Y-%m-%d")
    return Instrument(symbol=symbol, tick=max(tick, 1), price_scale=price_scale, lot=1.0,
                      session_open_ns=int(meta.start), session_close_ns=int(meta.end or 0), date=date,
                      levels=levels, venue=str(meta.dataset),
                      extra={"dbn_version": int(meta.version), "schema": str(meta.schema)})


@dataclass
class DbnMbo:
    """What :func:`read_dbn_mbo` returns.

    Attributes
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE`, one or more per book-changing record.
    instrument : Instrument
        Tick / price scale inferred from the prices (or given), symbol and dataset from the metadata.
    record : numpy.ndarray
        int64, the 0-based record each event came from.
    last : numpy.ndarray
        bool per event: the event ends a venue event (its record has ``F_LAST``): the book is
        meaningful only after such events.
    sequence : numpy.ndarray
        The source record's venue sequence number per event.
    ts_recv : numpy.ndarray
        The source record's ``ts_recv`` per event.
    stats : dict
        Counts: ``records``, ``unknown_orders`` (cancels / modifies / fills of orders never added),
        ``trades_with_fills_dropped``, ``none_records``, ``snapshot_records``, ``fills_without_cancel``.

    Examples
    --------
    >>> DbnMbo.__name__
    'DbnMbo'
    """

    events: np.ndarray
    instrument: Instrument
    record: np.ndarray
    last: np.ndarray
    sequence: np.ndarray
    ts_recv: np.ndarray
    stats: dict = field(default_factory=dict)


def read_dbn_mbo(path: str | Path, *, instrument_id: int | None = None, price_scale: int | None = None
                 ) -> DbnMbo:
    """Read a DBN MBO file into order-level events (see the module docstring for the action map).

    Parameters
    ----------
    path : str or pathlib.Path
        ``.dbn`` or ``.dbn.zst`` MBO file (DBN versions 1-3).
    instrument_id : int, optional
        Which instrument to keep; required when the file holds more than one.
    price_scale : int, optional
        Price units per currency unit (a divisor of 1e9); default the coarsest exact one.

    Returns
    -------
    DbnMbo

    Raises
    ------
    DataFormatError
        Naming the file, the 1-based record and the field: not DBN, unsupported version, truncated
        metadata or record, wrong schema, rtype or length, unknown action or side code, an add
        without a price, several instruments, prices off the requested scale.

    Examples
    --------
    >>> import os

    >>> from companion.data import shared_data_dir
    >>> p = os.path.join(str(shared_data_dir()), "databento/test_data.mbo.v3.dbn")
    >>> d = read_dbn_mbo(p) if os.path.exists(p) else None
    >>> d is None or (d.instrument.symbol, d.instrument.price_scale, int(d.events["kind"][0])) == ("ESH1", 100, 3)
    True
    """
    path = Path(path)
    meta, recs = _records(path, "mbo", instrument_id)
    act = recs["action"]
    needs_px = np.isin(act, np.array([b"A", b"M", b"F"]))
    bad = np.flatnonzero(needs_px & (recs["price"] == UNDEF_PRICE))
    if bad.size:
        raise DataFormatError(_rec(path, int(bad[0]) + 1), f"action {act[bad[0]].decode()} without a price "
                              "(UNDEF_PRICE)", field="price")
    bad = np.flatnonzero(np.isin(act, np.array([b"A", b"M"])) & (recs["side"] == b"N"))
    if bad.size:
        raise DataFormatError(_rec(path, int(bad[0]) + 1), "an order without a side (N)", field="side")
    scale, div = _scale(path, recs["price"], price_scale)
    px = np.where(recs["price"] == UNDEF_PRICE, 0, recs["price"] // div).astype(np.int64)
    ev, src, stats = _mbo_events(recs, px)
    out = np.zeros(len(ev), dtype=EVENT_DTYPE)
    if len(ev):
        e = np.array(ev, dtype=np.int64)
        src = np.asarray(src, dtype=np.int64)
        out["kind"], out["side"], out["price"], out["size"], out["order_id"] = e[:, 0], e[:, 1], e[:, 2], e[:, 3], e[:, 4]
        out["ts"] = recs["ts_event"][src].astype(np.int64)
        out["ts_local"] = recs["ts_recv"][src].astype(np.int64)
        # the last event of each venue event (records up to one flagged F_LAST) that is complete
        closed = np.cumsum((recs["flags"] & F_LAST) != 0)
        grp = np.concatenate([[0], closed[:-1]])[src]
        last = np.r_[grp[1:] != grp[:-1], True] & (grp < closed[-1])
    else:
        src = np.zeros(0, np.int64)
        last = np.zeros(0, bool)
    stats["records"] = len(recs)
    ins = _instrument(meta, recs, px, scale, 0)
    return DbnMbo(events=out, instrument=ins, record=src, last=last, sequence=recs["sequence"][src].astype(np.int64),
                  ts_recv=recs["ts_recv"][src].astype(np.int64), stats=stats)


def _mbo_events(recs: np.ndarray, px: np.ndarray):
    """The order-tracking pass (pure Python over lists; ~1 us per record)."""
    act = recs["action"].tolist()
    side = [_SIDES[s] for s in recs["side"].tolist()]
    size = recs["size"].tolist()
    oid = recs["order_id"].tolist()
    flags = recs["flags"].tolist()
    pxl = px.tolist()
    # does the venue event (records up to F_LAST) of each record hold a Fill?
    grp = np.concatenate([[0], np.cumsum((recs["flags"] & F_LAST) != 0)[:-1]]) if len(recs) else np.zeros(0, int)
    has_fill = np.zeros(int(grp.max()) + 1 if len(grp) else 0, bool)
    has_fill[grp[recs["action"] == b"F"]] = True
    fill_grp = has_fill[grp].tolist()
    orders: dict[int, list] = {}
    pending: dict[int, int] = {}
    ev: list[tuple] = []
    src: list[int] = []
    st = {"unknown_orders": 0, "trades_with_fills_dropped": 0, "none_records": 0, "snapshot_records": 0,
          "fills_without_cancel": 0, "modifies_without_change": 0}
    for i in range(len(act)):
        a = act[i]
        if flags[i] & F_SNAPSHOT:
            st["snapshot_records"] += 1
        if a == b"A":
            orders[oid[i]] = [side[i], pxl[i], size[i]]
            ev.append((ADD, side[i], pxl[i], size[i], oid[i]))
            src.append(i)
        elif a == b"C":
            q = size[i]
            p = pending.get(oid[i], 0)
            if p:
                used = min(p, q)
                q -= used
                if p - used:
                    pending[oid[i]] = p - used
                else:
                    del pending[oid[i]]
                if q == 0:
                    continue
            o = orders.get(oid[i])
            if o is None:
                st["unknown_orders"] += 1
                ev.append((DELETE, side[i], pxl[i], q, oid[i]))
            else:
                o[2] -= q
                if o[2] <= 0:
                    del orders[oid[i]]
                ev.append((DELETE if o[2] <= 0 else CANCEL, o[0], o[1], q, oid[i]))
            src.append(i)
        elif a == b"M":
            o = orders.get(oid[i])
            if o is None:
                st["unknown_orders"] += 1
                orders[oid[i]] = [side[i], pxl[i], size[i]]
                ev.append((ADD, side[i], pxl[i], size[i], oid[i]))
                src.append(i)
            elif o[1] == pxl[i] and size[i] <= o[2]:
                if size[i] == o[2]:
                    st["modifies_without_change"] += 1
                    continue
                ev.append((CANCEL, o[0], o[1], o[2] - size[i], oid[i]))
                src.append(i)
                o[2] = size[i]
            else:
                ev.append((DELETE, o[0], o[1], o[2], oid[i]))
                ev.append((ADD, side[i], pxl[i], size[i], oid[i]))
                src += [i, i]
                orders[oid[i]] = [side[i], pxl[i], size[i]]
        elif a == b"F":
            o = orders.get(oid[i])
            s = side[i] if side[i] else (o[0] if o else 0)
            if o is None:
                st["unknown_orders"] += 1
            else:
                o[2] -= size[i]
                if o[2] <= 0:
                    del orders[oid[i]]
            pending[oid[i]] = pending.get(oid[i], 0) + size[i]
            ev.append((EXEC_VISIBLE, s, pxl[i], size[i], oid[i]))
            src.append(i)
        elif a == b"T":
            if fill_grp[i]:
                st["trades_with_fills_dropped"] += 1
                continue
            ev.append((TRADE, side[i], pxl[i], size[i], 0))
            src.append(i)
        elif a == b"R":
            orders.clear()
            pending.clear()
            ev.append((CLEAR, 0, 0, 0, 0))
            src.append(i)
        else:
            st["none_records"] += 1
    st["fills_without_cancel"] = len(pending)
    return ev, src, st


@dataclass
class DbnMbp10:
    """What :func:`read_dbn_mbp10` returns.

    Attributes
    ----------
    book : numpy.ndarray
        float64 ``(n, 40)`` LOBSTER-layout rows ``[ask_px_1, ask_sz_1, bid_px_1, bid_sz_1, ...]`` in
        price units (empty levels: dummy prices, size 0): the book after each record.
    counts : numpy.ndarray
        int64 ``(n, 20)`` order counts ``[ask_ct_1, bid_ct_1, ...]``.
    trigger : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` of the record's own action (kind ADD / CANCEL for
        ``A`` / ``C``, TRADE for ``T``, EXEC_VISIBLE for ``F``, CLEAR for ``R``, 0 for ``M``/``N``).
    action : numpy.ndarray
        Raw per-record action (bytes codes).
    sequence : numpy.ndarray
        Raw per-record venue sequence number.
    flags : numpy.ndarray
        Raw per-record flags.
    depth : numpy.ndarray
        Raw per-record book level of the update.
    instrument : Instrument

    Examples
    --------
    >>> DbnMbp10.__name__
    'DbnMbp10'
    """

    book: np.ndarray
    counts: np.ndarray
    trigger: np.ndarray
    action: np.ndarray
    sequence: np.ndarray
    flags: np.ndarray
    depth: np.ndarray
    instrument: Instrument


def read_dbn_mbp10(path: str | Path, *, instrument_id: int | None = None, price_scale: int | None = None
                   ) -> DbnMbp10:
    """Read a DBN MBP-10 file: the top-10 book after every record, plus the triggering action.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.dbn`` or ``.dbn.zst`` MBP-10 file.
    instrument_id, price_scale : optional
        As for :func:`read_dbn_mbo`.

    Returns
    -------
    DbnMbp10

    Raises
    ------
    DataFormatError
        As :func:`read_dbn_mbo`, plus a level with a price but no size (or a size without price),
        and a crossed or unsorted book.

    Examples
    --------
    >>> import os

    >>> from companion.data import shared_data_dir
    >>> p = os.path.join(str(shared_data_dir()), "databento/test_data.mbp-10.v3.dbn.zst")
    >>> d = read_dbn_mbp10(p) if os.path.exists(p) else None
    >>> d is None or (d.book.shape, float(d.book[0, 0]), float(d.book[0, 2])) == ((2, 40), 372050.0, 372025.0)
    True
    """
    path = Path(path)
    meta, recs = _records(path, "mbp-10", instrument_id)
    n = len(recs)
    allpx = np.concatenate([recs["price"]] + [recs[f"{s}_px_{i:02d}"] for i in range(10) for s in ("bid", "ask")])
    scale, div = _scale(path, allpx, price_scale)
    book = np.empty((n, 40), dtype=np.float64)
    counts = np.empty((n, 20), dtype=np.int64)
    for i in range(10):
        for j, (s, dummy) in enumerate((("ask", DUMMY_ASK), ("bid", DUMMY_BID))):
            p, q = recs[f"{s}_px_{i:02d}"], recs[f"{s}_sz_{i:02d}"].astype(np.float64)
            empty = p == UNDEF_PRICE
            bad = np.flatnonzero(empty != (q == 0))
            if bad.size:
                raise DataFormatError(_rec(path, int(bad[0]) + 1), "a level with a price and no size, or a size "
                                      "without a price", field=f"{s}_sz_{i:02d}")
            book[:, 4 * i + 2 * j] = np.where(empty, dummy, p // div)
            book[:, 4 * i + 2 * j + 1] = q
            counts[:, 2 * i + j] = recs[f"{s}_ct_{i:02d}"]
    a, b = book[:, 0::4], book[:, 2::4]
    bad_rows = np.zeros(n, bool)
    if n:
        bad_rows |= np.any((np.diff(a, axis=1) < 0) & (a[:, 1:] != DUMMY_ASK), axis=1)
        bad_rows |= np.any((np.diff(b, axis=1) > 0) & (b[:, 1:] != DUMMY_BID), axis=1)
        bad_rows |= (a[:, 0] != DUMMY_ASK) & (b[:, 0] != DUMMY_BID) & (a[:, 0] <= b[:, 0])
    bad = np.flatnonzero(bad_rows)
    if bad.size:
        raise DataFormatError(_rec(path, int(bad[0]) + 1), "levels out of order or a crossed book", field="levels")
    trig = np.zeros(n, dtype=EVENT_DTYPE)
    trig["ts"] = recs["ts_event"].astype(np.int64)
    trig["ts_local"] = recs["ts_recv"].astype(np.int64)
    code = {b"A": ADD, b"C": CANCEL, b"T": TRADE, b"F": EXEC_VISIBLE, b"R": CLEAR}
    trig["kind"] = np.array([code.get(x, 0) for x in recs["action"].tolist()], dtype=np.int8)
    trig["side"] = np.array([_SIDES[x] for x in recs["side"].tolist()], dtype=np.int8)
    trig["price"] = np.where(recs["price"] == UNDEF_PRICE, 0, recs["price"] // div)
    trig["size"] = recs["size"]
    px_units = trig["price"][trig["price"] > 0]
    ins = _instrument(meta, recs, px_units, scale, 10)
    return DbnMbp10(book=book, counts=counts, trigger=trig, action=recs["action"].copy(),
                    sequence=recs["sequence"].astype(np.int64), flags=recs["flags"].copy(),
                    depth=recs["depth"].astype(np.int64), instrument=ins)


# --------------------------------------------------------------------------------------------
# writing (the official encoder)
# --------------------------------------------------------------------------------------------
def _ts_base(events: np.ndarray, instrument: Instrument, ts_base_ns: int | None) -> int:
    if ts_base_ns is not None:
        return int(ts_base_ns)
    if instrument.date and len(events) and int(events["ts"].max()) < 86_400 * 10**9:
        d = _dt.datetime.strptime(instrument.date, "%Y-%m-%d").replace(tzinfo=_dt.UTC)
        return int(d.timestamp()) * 10**9
    return 0


def _metadata(schema, instrument: Instrument, start: int, end: int, dataset: str):
    import databento_dbn as dbn

    return dbn.Metadata(dataset=dataset, start=start, end=end, stype_in=dbn.SType.RAW_SYMBOL,
                        stype_out=dbn.SType.INSTRUMENT_ID, schema=schema, symbols=[instrument.symbol])


def write_dbn_mbo(path: str | Path, events: np.ndarray, instrument: Instrument, *, instrument_id: int = 1,
                  publisher_id: int = 1, ts_base_ns: int | None = None, dataset: str = "SYNTH.MBO") -> Path:
    """Write LOBSTER-kind events as a DBN MBO file with the official ``databento-dbn`` encoder.

    One event becomes: ADD -> ``A``; CANCEL -> ``C`` (partial); DELETE -> ``C``; EXEC_VISIBLE ->
    ``T`` (aggressor = -resting side, order id 0) + ``F`` (resting order) + ``C`` (its shares);
    EXEC_HIDDEN and TRADE -> ``T`` alone; CLEAR -> ``R``; other kinds are skipped. The last record of
    each event carries ``F_LAST``; ``sequence`` is the event index + 1. Prices are multiplied to
    1e-9 units; times since midnight get ``ts_base_ns`` (default: midnight UTC of
    ``instrument.date``) added.

    Parameters
    ----------
    path : str or pathlib.Path
        Output ``.dbn`` file (uncompressed).
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE`.
    instrument : Instrument
        Price scale (must divide 1e9), symbol, date.
    instrument_id, publisher_id, ts_base_ns, dataset : optional
        DBN header / record fields.

    Returns
    -------
    pathlib.Path
        ``path``: the DBN metadata header, then an MBO record per event.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from companion.events import EVENT_DTYPE, Instrument
    >>> ev = np.zeros(2, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"], ev["size"], ev["order_id"] = [1, 3], 1, 1000, 5, 7
    >>> p = write_dbn_mbo(os.path.join(tempfile.mkdtemp(), "x.dbn"), ev, Instrument("X", 100, 10000))
    >>> read_dbn_mbo(p, price_scale=10000).events["kind"].tolist()
    [1, 3]
    """
    import databento_dbn as dbn

    path = Path(path)
    if DBN_SCALE % instrument.price_scale:
        raise ValueError(f"price_scale {instrument.price_scale} does not divide 1e9")
    mul = DBN_SCALE // instrument.price_scale
    base = _ts_base(events, instrument, ts_base_ns)
    ts = events["ts"].astype(np.int64) + base
    tsl = events["ts_local"].astype(np.int64) + base
    start = int(ts[0]) if len(ts) else base
    end = int(ts[-1]) + 1 if len(ts) else base + 1
    out = bytearray(_metadata(dbn.Schema.MBO, instrument, start, end, dataset).encode())
    A, S = dbn.Action, dbn.Side
    sidec = {1: S.BID, -1: S.ASK, 0: S.NONE}
    kinds, sides, prices, sizes, oids = (events[k].tolist() for k in ("kind", "side", "price", "size", "order_id"))
    tsv, tslv = ts.tolist(), tsl.tolist()

    def rec(i, action, side, price, size, oid, flags):
        return bytes(dbn.MBOMsg(publisher_id=publisher_id, instrument_id=instrument_id, ts_event=tsv[i],
                                order_id=oid, price=price, size=size, action=action, side=sidec[side],
                                ts_recv=tslv[i], flags=flags, sequence=i + 1))

    for i in range(len(kinds)):
        k, s, p, q, o = kinds[i], int(sides[i]), int(prices[i]) * mul, round(sizes[i]), int(oids[i])
        if k == ADD:
            out += rec(i, A.ADD, s, p, q, o, F_LAST)
        elif k in (CANCEL, DELETE):
            out += rec(i, A.CANCEL, s, p, q, o, F_LAST)
        elif k == EXEC_VISIBLE:
            out += rec(i, A.TRADE, -s, p, q, 0, 0)
            out += rec(i, A.FILL, s, p, q, o, 0)
            out += rec(i, A.CANCEL, s, p, q, o, F_LAST)
        elif k == EXEC_HIDDEN:
            out += rec(i, A.TRADE, -s, p, q, 0, F_LAST)
        elif k == TRADE:
            out += rec(i, A.TRADE, s, p, q, 0, F_LAST)
        elif k == CLEAR:
            out += rec(i, A.CLEAR, 0, UNDEF_PRICE, 0, 0, F_LAST)
    path.write_bytes(bytes(out))
    return path


def write_dbn_mbp10(path: str | Path, events: np.ndarray, book: np.ndarray, instrument: Instrument, *,
                    instrument_id: int = 1, publisher_id: int = 1, ts_base_ns: int | None = None,
                    dataset: str = "SYNTH.MBO") -> Path:
    """Write one MBP-10 record per event: the event as trigger, ``book`` row as the 10 levels.

    Order counts are written as 0 (a LOBSTER book has none). Triggers: ADD -> ``A``, CANCEL /
    DELETE -> ``C``, EXEC_VISIBLE / EXEC_HIDDEN / TRADE -> ``T`` (aggressor side), CLEAR -> ``R``.

    Parameters
    ----------
    path : str or pathlib.Path
        Output ``.dbn`` file.
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE`, one per book row.
    book : numpy.ndarray
        ``(n, 4L)`` LOBSTER-layout rows, ``L >= 10`` used up to 10 (fewer: the rest empty).
    instrument : Instrument
    instrument_id, publisher_id, ts_base_ns, dataset : optional
        As for :func:`write_dbn_mbo`.

    Returns
    -------
    pathlib.Path
        ``path``: the DBN metadata header, then an MBP-10 record per book row.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from companion.events import EVENT_DTYPE, Instrument
    >>> ev = np.zeros(1, EVENT_DTYPE); ev["kind"], ev["side"], ev["price"], ev["size"] = 1, 1, 1000, 5
    >>> ob = np.array([[9999999999, 0, 1000, 5]], float)
    >>> p = write_dbn_mbp10(os.path.join(tempfile.mkdtemp(), "x.dbn"), ev, ob, Instrument("X", 100, 10000))
    >>> read_dbn_mbp10(p, price_scale=10000).book[0, :4].tolist()
    [9999999999.0, 0.0, 1000.0, 5.0]
    """
    import databento_dbn as dbn

    path = Path(path)
    mul = DBN_SCALE // instrument.price_scale
    base = _ts_base(events, instrument, ts_base_ns)
    ts = (events["ts"].astype(np.int64) + base).tolist()
    tsl = (events["ts_local"].astype(np.int64) + base).tolist()
    out = bytearray(_metadata(dbn.Schema.MBP_10, instrument, ts[0] if ts else base,
                              (ts[-1] + 1) if ts else base + 1, dataset).encode())
    A, S = dbn.Action, dbn.Side
    sidec = {1: S.BID, -1: S.ASK, 0: S.NONE}
    L = min(10, book.shape[1] // 4)
    bk = np.asarray(book)
    for i in range(len(events)):
        k, s = int(events["kind"][i]), int(events["side"][i])
        if k == ADD:
            act = A.ADD
        elif k in (CANCEL, DELETE):
            act = A.CANCEL
        elif k in (EXEC_VISIBLE, EXEC_HIDDEN, TRADE):
            act, s = A.TRADE, (s if k == TRADE else -s)
        elif k == CLEAR:
            act = A.CLEAR
        else:
            act = A.NONE
        lv = []
        for j in range(10):
            if j < L:
                ap, asz, bp, bsz = bk[i, 4 * j:4 * j + 4]
            else:
                ap, asz, bp, bsz = DUMMY_ASK, 0, DUMMY_BID, 0
            lv.append(dbn.BidAskPair(
                bid_px=UNDEF_PRICE if bsz == 0 else int(bp) * mul, ask_px=UNDEF_PRICE if asz == 0 else int(ap) * mul,
                bid_sz=int(bsz), ask_sz=int(asz), bid_ct=0, ask_ct=0))
        msg = dbn.MBP10Msg(publisher_id=publisher_id, instrument_id=instrument_id, ts_event=ts[i],
                           price=int(events["price"][i]) * mul if k != CLEAR else UNDEF_PRICE,
                           size=round(events["size"][i]), action=act, side=sidec[s], depth=0, ts_recv=tsl[i],
                           flags=F_LAST, sequence=i + 1, levels=lv)
        out += bytes(msg)
    path.write_bytes(bytes(out))
    return path


def _level_size(row: np.ndarray, side: int, price: int) -> float | None:
    """Size at ``price`` on ``side`` in a 10-level row; 0.0 when inside the visible range but absent,
    None when beyond the visible depth (undetermined)."""
    off = 2 if side == BID else 0
    px = row[off::4]
    sz = row[off + 1::4]
    real = sz > 0
    hit = np.flatnonzero(real & (px == price))
    if hit.size:
        return float(sz[hit[0]])
    if real.all():
        worst = px[-1]
        if (side == BID and price < worst) or (side == ASK and price > worst):
            return None
    return 0.0


def verify_dbn(mbo_path: str | Path, mbp10_path: str | Path, *, instrument_id: int | None = None) -> dict:
    """Check a DBN MBO file against the MBP-10 file of the same instrument and session.

    Three checks: (1) records with equal ``sequence`` and ``ts_recv`` in both files and the same
    action carry the same side, price and size; (2) every MBP-10 row follows from the previous one
    by its own trigger (Add: +size at the price, Cancel: -size; Trade / Fill / None: unchanged; the
    size is checked wherever the price lies inside the visible 10 levels of both rows); (3) when the
    MBO file starts from a known book (a cleaR / snapshot first, and no order is ever unknown), the
    10-level book replayed from MBO after each venue event equals the MBP-10 row with the same
    sequence. A mid-session MBO file without a snapshot cannot rebuild the book: (3) is then
    reported as not determinable.

    Parameters
    ----------
    mbo_path, mbp10_path : str or pathlib.Path
        DBN MBO and MBP-10 files (``.dbn`` or ``.dbn.zst``).
    instrument_id : int, optional
        As for :func:`read_dbn_mbo`.

    Returns
    -------
    dict
        Counts and ``ok`` (every determined check matched, at least one check made).

    Examples
    --------
    >>> import os

    >>> from companion.data import shared_data_dir
    >>> d = os.path.join(str(shared_data_dir()), "databento")
    >>> r = verify_dbn(f"{d}/test_data.mbo.v3.dbn", f"{d}/test_data.mbp-10.v3.dbn.zst") if os.path.isdir(d) else None
    >>> r is None or (r["ok"], r["records_matched"], r["book_determinable"]) == (True, 1, False)
    True
    """
    from companion.book import replay

    mbo = read_dbn_mbo(mbo_path, instrument_id=instrument_id)
    mbp = read_dbn_mbp10(mbp10_path, instrument_id=instrument_id)
    s_m, s_p = mbo.instrument.price_scale, mbp.instrument.price_scale
    if s_m != s_p:  # bring both to the finer scale
        scale = max(s_m, s_p)
        mbo = read_dbn_mbo(mbo_path, instrument_id=instrument_id, price_scale=scale)
        mbp = read_dbn_mbp10(mbp10_path, instrument_id=instrument_id, price_scale=scale)
    # (1) raw records with equal sequence / ts_recv
    _, rm = _split(Path(mbo_path), read_dbn_bytes(mbo_path), "mbo")
    _, rp = _split(Path(mbp10_path), read_dbn_bytes(mbp10_path), "mbp-10")
    if instrument_id is not None:
        rm, rp = rm[rm["instrument_id"] == instrument_id], rp[rp["instrument_id"] == instrument_id]
    key_m = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(rm["sequence"], rm["ts_recv"]))}
    matched = same = 0
    first_bad = None
    for j, (a, b) in enumerate(zip(rp["sequence"], rp["ts_recv"])):
        i = key_m.get((int(a), int(b)))
        if i is None or rm["action"][i] != rp["action"][j]:
            continue
        matched += 1
        eq = rm["side"][i] == rp["side"][j] and rm["price"][i] == rp["price"][j] and rm["size"][i] == rp["size"][j]
        same += bool(eq)
        if not eq and first_bad is None:
            first_bad = j + 1
    # (2) MBP-10 transitions
    checked = ok_t = 0
    first_bad_t = None
    bk, tr = mbp.book, mbp.trigger
    for t in range(1, len(bk)):
        k, s, p, q = int(tr["kind"][t]), int(tr["side"][t]), int(tr["price"][t]), float(tr["size"][t])
        if k not in (ADD, CANCEL) or s == 0:
            continue
        before, after = _level_size(bk[t - 1], s, p), _level_size(bk[t], s, p)
        if before is None or after is None:
            continue
        checked += 1
        good = after == (before + q if k == ADD else before - q)
        ok_t += good
        if not good and first_bad_t is None:
            first_bad_t = t + 1
    # (3) the book
    ev = mbo.events
    determinable = bool(len(ev)) and int(ev["kind"][0]) == CLEAR or (mbo.stats["unknown_orders"] == 0 and len(ev) > 0)
    rows_cmp = rows_eq = 0
    first_bad_row = None
    if determinable:
        snap = replay(ev, 10)
        at = np.flatnonzero(mbo.last)
        seq_row = {int(sq): i for i, sq in enumerate(mbp.sequence)}
        for e in at:
            j = seq_row.get(int(mbo.sequence[e]))
            if j is None:
                continue
            rows_cmp += 1
            if np.array_equal(snap[e], bk[j]):
                rows_eq += 1
            elif first_bad_row is None:
                first_bad_row = j + 1
    ok = (same == matched and ok_t == checked and rows_eq == rows_cmp and (matched + checked + rows_cmp) > 0)
    return {"mbo": str(mbo_path), "mbp10": str(mbp10_path), "symbol": mbo.instrument.symbol,
            "mbo_records": mbo.stats["records"], "mbp10_records": len(bk),
            "records_matched": matched, "records_equal": same, "first_unequal_record": first_bad,
            "transitions_checked": checked, "transitions_matched": ok_t, "first_bad_transition": first_bad_t,
            "book_determinable": bool(determinable), "rows_compared": rows_cmp, "rows_equal": rows_eq,
            "first_unequal_row": first_bad_row, "unknown_orders": mbo.stats["unknown_orders"], "ok": bool(ok)}
