"""NASDAQ TotalView-ITCH 5.0: our own encoder and decoder for the order messages of one stock.

No maintained ITCH parser fits our pins, so this module implements the parts of the NASDAQ
TotalView-ITCH 5.0 specification (NASDAQ, 2020) the book needs. A file is a sequence of messages,
each prefixed by a 2-byte big-endian length (the layout of NASDAQ's daily ``*.NASDAQ_ITCH50``
files); every message starts with ``type`` (1 char), ``stock_locate`` (uint16), ``tracking``
(uint16) and ``timestamp`` (uint48, ns since midnight), all big-endian. Prices are uint32 with 4
implied decimals -- exactly LOBSTER's price units.

======  ========================  ======  =================================================
type    message                   bytes   event
======  ========================  ======  =================================================
``A``   add order                 36      ADD (side ``B`` +1 / ``S`` -1)
``F``   add order with MPID       40      ADD
``E``   order executed            31      EXEC_VISIBLE at the order's price
``C``   executed with price       36      EXEC_VISIBLE at the order's (display) price
``X``   order cancel              23      CANCEL (DELETE when it removes the last shares)
``D``   order delete              19      DELETE of the remaining shares
``U``   order replace             35      DELETE (old id) + ADD (new id, new price / size)
``P``   trade (non-cross)         44      EXEC_HIDDEN (hidden / non-displayed liquidity)
``R``   stock directory           39      gives the symbol of a locate
======  ========================  ======  =================================================

All other ITCH 5.0 types (``S H Y L V W K J h I N Q B O``) are skipped by their length; a type
outside the specification is an error. E / C / X / D / U carry only the order reference number:
the reader keeps the book of live orders to find side and price.

What ITCH cannot tell us (for the book): hidden orders until they trade (``P`` only), the
participant behind most orders (MPID only on ``F``), cross / auction prints (``Q``) are skipped,
and the execution price of a ``C`` when it differs from the display price (kept in the stats).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.errors import DataFormatError
from companion.events import ADD, ASK, BID, CANCEL, DELETE, EVENT_DTYPE, EXEC_HIDDEN, EXEC_VISIBLE, TRADE, Instrument

__all__ = ["ITCH_LENGTHS", "ItchData", "read_itch", "write_itch"]

#: message length (bytes, without the 2-byte length prefix) of every ITCH 5.0 message type
ITCH_LENGTHS = {b"S": 12, b"R": 39, b"H": 25, b"Y": 20, b"L": 26, b"V": 35, b"W": 12, b"K": 28, b"J": 35,
                b"h": 21, b"A": 36, b"F": 40, b"E": 31, b"C": 36, b"X": 23, b"D": 19, b"U": 35, b"P": 44,
                b"Q": 40, b"B": 19, b"I": 50, b"N": 20, b"O": 48}
_HDR = struct.Struct(">cHH6s")


def _ts(b6: bytes) -> int:
    return int.from_bytes(b6, "big")


def _where(path, n: int) -> str:
    return f"{path}, message {n}"


@dataclass
class ItchData:
    """What :func:`read_itch` returns.

    Attributes
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE`, ``ts = ts_local`` = ns since midnight.
    instrument : Instrument
        ``tick`` 100, ``price_scale`` 10000 (ITCH prices have 4 decimals), venue ``NASDAQ``.
    message : numpy.ndarray
        1-based message number per event.
    stats : dict
        ``messages``, ``skipped`` (other types / other locates), ``unknown_orders``,
        ``exec_price_differs`` (``C`` messages whose price is not the display price).

    Examples
    --------
    >>> ItchData.__name__
    'ItchData'
    """

    events: np.ndarray
    instrument: Instrument
    message: np.ndarray
    stats: dict = field(default_factory=dict)


def read_itch(path: str | Path, *, locate: int | None = None, symbol: str | None = None,
              date: str = "", tick: int = 100) -> ItchData:
    """Decode the order messages of one stock from an ITCH 5.0 file.

    Parameters
    ----------
    path : str or pathlib.Path
        Length-prefixed ITCH 5.0 message stream.
    locate : int, optional
        Stock locate code to keep.
    symbol : str, optional
        Or the symbol, looked up in the stock directory (``R``) messages / the add orders' stock field.
        With neither, the file must hold order messages of one locate only.
    date : str
        ``YYYY-MM-DD`` for the instrument (ITCH times are since midnight; the file does not say
        which day).
    tick : int
        Price grid in price units (100 = $0.01).

    Returns
    -------
    ItchData

    Raises
    ------
    DataFormatError
        Naming file, 1-based message and field: empty file, truncated length prefix or message,
        a type outside ITCH 5.0, a length that differs from the type's, a side not ``B``/``S``,
        zero shares, a zero price on an add, a duplicate order reference, several locates
        without ``locate=``, an unknown symbol, timestamps going backwards.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from companion.events import EVENT_DTYPE, Instrument
    >>> ev = np.zeros(2, EVENT_DTYPE)
    >>> ev["kind"], ev["side"], ev["price"], ev["size"], ev["order_id"] = [1, 4], 1, 1_000_000, [100, 40], 7
    >>> p = write_itch(os.path.join(tempfile.mkdtemp(), "x.itch"), ev, Instrument("XYZ", 100, 10000))
    >>> d = read_itch(p)
    >>> d.events["kind"].tolist(), d.events["size"].tolist(), d.instrument.symbol
    ([1, 4], [100.0, 40.0], 'XYZ')
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, "no such file")
    buf = path.read_bytes()
    if not buf:
        raise DataFormatError(path, "empty file (no messages)")
    n = len(buf)
    pos = 0
    k = 0
    directory: dict[int, str] = {}
    order_types = (b"A", b"F", b"E", b"C", b"X", b"D", b"U", b"P")
    msgs: list[tuple[int, int, bytes, int]] = []  # (number, offset, type, locate) of order messages
    while pos < n:
        k += 1
        if pos + 2 > n:
            raise DataFormatError(_where(path, k), "truncated length prefix at the end of the file", field="length")
        ln = int.from_bytes(buf[pos:pos + 2], "big")
        pos += 2
        if pos + ln > n:
            raise DataFormatError(_where(path, k), f"truncated message: {ln} bytes announced, {n - pos} left",
                                  field="length")
        if ln < 1:
            raise DataFormatError(_where(path, k), "zero-length message", field="length")
        typ = buf[pos:pos + 1]
        want = ITCH_LENGTHS.get(typ)
        if want is None:
            raise DataFormatError(_where(path, k), f"message type {typ!r} is not in ITCH 5.0", field="type")
        if ln != want:
            raise DataFormatError(_where(path, k), f"type {typ.decode()} is {want} bytes, this one {ln}", field="length")
        loc = int.from_bytes(buf[pos + 1:pos + 3], "big")
        if typ == b"R":
            directory[loc] = buf[pos + 11:pos + 19].decode("ascii", "replace").strip()
        elif typ in order_types:
            msgs.append((k, pos, typ, loc))
            if typ in (b"A", b"F"):
                directory.setdefault(loc, buf[pos + 24:pos + 32].decode("ascii", "replace").strip())
        pos += ln
    locs = {m[3] for m in msgs}
    if locate is None and symbol is not None:
        hits = [lc for lc, s in directory.items() if s == symbol]
        if not hits:
            raise DataFormatError(path, f"symbol {symbol!r} not in the stock directory "
                                  f"({sorted(set(directory.values()))[:5]})", field="stock")
        locate = hits[0]
    if locate is None:
        if len(locs) > 1:
            raise DataFormatError(path, f"order messages of {len(locs)} stock locates ({sorted(locs)[:5]}): pass "
                                  "locate= or symbol=", field="stock_locate")
        locate = next(iter(locs)) if locs else 0
    orders: dict[int, list] = {}
    ev: list[tuple] = []
    src: list[int] = []
    st = {"messages": k, "skipped": k - sum(1 for m in msgs if m[3] == locate), "unknown_orders": 0,
          "exec_price_differs": 0}
    last_t = -1
    side_of = {b"B": BID, b"S": ASK}
    for num, off, typ, loc in msgs:
        if loc != locate:
            continue
        t = _ts(buf[off + 5:off + 11])
        if t < last_t:
            raise DataFormatError(_where(path, num), f"timestamp {t} goes backwards (previous {last_t})",
                                  field="timestamp")
        last_t = t
        if typ in (b"A", b"F"):
            ref, sd, sh, _stock, px = struct.unpack_from(">QcI8sI", buf, off + 11)
            if sd not in side_of:
                raise DataFormatError(_where(path, num), f"side {sd!r} is not B/S", field="side")
            if sh == 0:
                raise DataFormatError(_where(path, num), "zero shares", field="shares")
            if px == 0:
                raise DataFormatError(_where(path, num), "zero price on an add order", field="price")
            if ref in orders:
                raise DataFormatError(_where(path, num), f"order reference {ref} is already live", field="order_ref")
            orders[ref] = [side_of[sd], px, sh]
            ev.append((t, ADD, side_of[sd], px, sh, ref))
            src.append(num)
        elif typ in (b"E", b"C", b"X", b"D"):
            ref = struct.unpack_from(">Q", buf, off + 11)[0]
            o = orders.get(ref)
            if o is None:
                st["unknown_orders"] += 1
                continue
            if typ == b"D":
                q = o[2]
            else:
                q = struct.unpack_from(">I", buf, off + 19)[0]
                if q == 0:
                    raise DataFormatError(_where(path, num), "zero shares", field="shares")
                if q > o[2]:
                    raise DataFormatError(_where(path, num), f"{q} shares, the order has {o[2]} left", field="shares")
            if typ == b"C" and struct.unpack_from(">I", buf, off + 32)[0] != o[1]:
                st["exec_price_differs"] += 1
            o[2] -= q
            kind = EXEC_VISIBLE if typ in (b"E", b"C") else (DELETE if o[2] == 0 else CANCEL)
            ev.append((t, kind, o[0], o[1], q, ref))
            src.append(num)
            if o[2] == 0:
                del orders[ref]
        elif typ == b"U":
            ref, new, sh, px = struct.unpack_from(">QQII", buf, off + 11)
            o = orders.pop(ref, None)
            if o is None:
                st["unknown_orders"] += 1
                continue
            if new in orders:
                raise DataFormatError(_where(path, num), f"new order reference {new} is already live", field="new_order_ref")
            if sh == 0 or px == 0:
                raise DataFormatError(_where(path, num), "zero shares or price in a replace", field="shares")
            ev.append((t, DELETE, o[0], o[1], o[2], ref))
            ev.append((t, ADD, o[0], px, sh, new))
            src += [num, num]
            orders[new] = [o[0], px, sh]
        elif typ == b"P":
            _ref, sd, sh, _stock, px, _match = struct.unpack_from(">QcI8sIQ", buf, off + 11)
            if sd not in side_of:
                raise DataFormatError(_where(path, num), f"side {sd!r} is not B/S", field="side")
            ev.append((t, EXEC_HIDDEN, side_of[sd], px, sh, 0))
            src.append(num)
    out = np.zeros(len(ev), dtype=EVENT_DTYPE)
    if ev:
        a = np.array(ev, dtype=np.int64)
        out["ts"], out["kind"], out["side"], out["price"], out["size"], out["order_id"] = (a[:, j] for j in range(6))
        out["ts_local"] = out["ts"]
    ins = Instrument(symbol=directory.get(locate, str(locate)), tick=tick, price_scale=10000, lot=1.0, date=date,
                     venue="NASDAQ", session_open_ns=int(out["ts"][0]) if len(out) else 0,
                     session_close_ns=int(out["ts"][-1]) if len(out) else 0, extra={"stock_locate": locate})
    return ItchData(events=out, instrument=ins, message=np.array(src, dtype=np.int64), stats=st)


def write_itch(path: str | Path, events: np.ndarray, instrument: Instrument, *, locate: int = 1) -> Path:
    """Encode LOBSTER-kind events as an ITCH 5.0 stream (a stock directory message, then one message per event).

    ADD -> ``A``; CANCEL -> ``X``; DELETE -> ``D``; EXEC_VISIBLE -> ``E``; EXEC_HIDDEN -> ``P``
    (side = the hidden resting side); TRADE -> ``P`` (side = -aggressor); other kinds are skipped.
    ``ts`` must be ns since midnight and prices in 1e-4 units (``price_scale`` 10000); the match
    number counts executions.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file.
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE`.
    instrument : Instrument
        ``price_scale`` must be 10000; ``symbol`` (at most 8 characters) goes into the messages.
    locate : int
        Stock locate code.

    Returns
    -------
    pathlib.Path
        ``path``: length-prefixed ITCH 5.0 messages.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from companion.events import EVENT_DTYPE, Instrument
    >>> ev = np.zeros(1, EVENT_DTYPE); ev["kind"], ev["side"], ev["price"], ev["size"], ev["order_id"] = 1, -1, 10000, 5, 3
    >>> p = write_itch(os.path.join(tempfile.mkdtemp(), "x.itch"), ev, Instrument("XYZ", 100, 10000))
    >>> os.path.getsize(p) == (2 + 39) + (2 + 36)
    True
    """
    path = Path(path)
    if instrument.price_scale != 10000:
        raise ValueError(f"ITCH prices have 4 decimals: price_scale must be 10000, got {instrument.price_scale}")
    sym = instrument.symbol.encode("ascii")[:8].ljust(8)
    out = bytearray()

    def put(typ: bytes, t: int, body: bytes) -> None:
        msg = _HDR.pack(typ, locate, 0, int(t).to_bytes(6, "big")) + body
        out.extend(len(msg).to_bytes(2, "big"))
        out.extend(msg)

    t0 = int(events["ts"][0]) if len(events) else 0
    # R: stock, market category, FSI, round lot size, round lots only, issue class, subtype, authenticity,
    # short sale threshold, IPO flag, LULD tier, ETP flag, ETP leverage, inverse
    put(b"R", t0, sym + b"QN" + struct.pack(">I", 100) + b"NC" + b"Z " + b"PNN" + b"1N" + struct.pack(">I", 0) + b"N")
    match = 0
    for e in events.tolist():
        t, k, s, p, q, oid = e[0], e[2], e[3], e[4], round(e[5]), e[6]
        sd = b"B" if s == BID else b"S"
        if k == ADD:
            put(b"A", t, struct.pack(">QcI8sI", oid, sd, q, sym, p))
        elif k == CANCEL:
            put(b"X", t, struct.pack(">QI", oid, q))
        elif k == DELETE:
            put(b"D", t, struct.pack(">Q", oid))
        elif k == EXEC_VISIBLE:
            match += 1
            put(b"E", t, struct.pack(">QIQ", oid, q, match))
        elif k in (EXEC_HIDDEN, TRADE):
            match += 1
            sd2 = sd if k == EXEC_HIDDEN else (b"S" if s == BID else b"B")
            put(b"P", t, struct.pack(">QcI8sIQ", 0, sd2, q, sym, p, match))
    path.write_bytes(bytes(out))
    return path
