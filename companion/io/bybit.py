"""Bybit ``orderbook.500`` daily files (``YYYY-MM-DD_SYMBOL_ob500.data``) into the one event dtype.

Each line is one websocket message as Bybit's public history server stores it (Bybit V5 API,
*Orderbook*): ``{"topic": "orderbook.500.SYMBOL", "type": "snapshot" | "delta", "ts": ms,
"data": {"s": SYMBOL, "b": [[price, size], ...], "a": [...], "u": update id, "seq": cross seq},
"cts": ms}``. A snapshot replaces the book (CLEAR, then LEVEL_SET per level); a delta sets each
listed level to its new size (``"0"`` deletes it). Update ids ``u`` of consecutive deltas increase
by exactly 1; ``u == 1`` is a service restart, sent as a snapshot. A gap raises
:class:`~companion.errors.SequenceGapError` (``on_gap="raise"``) or waits for the next snapshot
(``on_gap="resync"``: the deltas until then are dropped and counted).

``ts`` = ``cts`` (matching-engine time, ms -> ns) when present, else ``ts``; ``ts_local`` = ``ts``
(system time at which Bybit published the message; the file has no receive clock). Prices and
sizes are decimal strings: prices become exact integers at the file's price scale.

What ob500 cannot tell us: order ids and queue positions, cancels vs fills (a level just changes
size), trades (a separate stream), hidden liquidity, and anything below the 500th level: a level
that drifts beyond depth 500 silently leaves the book (Bybit sends no delete for it).
"""
from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.errors import DataFormatError, SequenceGapError
from companion.events import ASK, BID, CLEAR, EVENT_DTYPE, LEVEL_SET, Instrument
from companion.io.tardis import parse_decimals

__all__ = ["BybitData", "read_bybit_ob500", "write_bybit_ob500"]


@dataclass
class BybitData:
    """What :func:`read_bybit_ob500` returns.

    Attributes
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` (CLEAR / LEVEL_SET).
    instrument : Instrument
    line : numpy.ndarray
        1-based source line per event.
    update_id : numpy.ndarray
        Bybit ``u`` per event.
    stats : dict
        ``lines``, ``snapshots``, ``deltas``, ``gaps``, ``dropped``.

    Examples
    --------
    >>> BybitData.__name__
    'BybitData'
    """

    events: np.ndarray
    instrument: Instrument
    line: np.ndarray
    update_id: np.ndarray
    stats: dict = field(default_factory=dict)


def _lines(path: Path) -> list[str]:
    if not path.exists():
        raise DataFormatError(path, "no such file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataFormatError(path, f"corrupt gzip stream ({e})") from None
    if raw[:2] == b"PK":
        raise DataFormatError(path, "a zip archive: unzip it first (it holds one .data file)")
    if not raw.strip():
        raise DataFormatError(path, "empty file (no messages)")
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise DataFormatError(path, f"not UTF-8 text ({e})") from None


def read_bybit_ob500(path: str | Path, *, symbol: str | None = None, on_gap: str = "raise",
                     price_scale: int | None = None) -> BybitData:
    """Read a Bybit ``ob500`` JSON-lines file into CLEAR / LEVEL_SET events.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.data`` file (optionally gzipped).
    symbol : str, optional
        Expected symbol; default the first line's.
    on_gap : str
        What to do when a delta's ``u`` is not the previous ``u`` + 1.
    price_scale : int, optional
        A power of ten >= the file's own decimal scale.

    Returns
    -------
    BybitData

    Raises
    ------
    DataFormatError
        Naming file, line and field: invalid JSON, a missing key, ``type`` not snapshot/delta,
        a topic or symbol that differs, a delta before any snapshot, ``u`` / ``ts`` not integers,
        ``b`` / ``a`` not lists of ``[price, size]`` string pairs, non-decimal price or size,
        a time going backwards, an update-id gap (:class:`companion.errors.SequenceGapError`).

    Examples
    --------
    >>> import os

    >>> from companion.data import shared_data_dir
    >>> p = os.path.join(str(shared_data_dir()),
    ...                  "crypto/nautilus_trader/bybit/2024-12-01_XRPUSDT_ob500.data")
    >>> d = read_bybit_ob500(p) if os.path.exists(p) else None
    >>> d is None or (d.stats["snapshots"], d.stats["deltas"], d.instrument.price_scale) == (1, 49, 10000)
    True
    """
    path = Path(path)
    if on_gap not in ("raise", "resync"):
        raise ValueError(f"on_gap must be 'raise' or 'resync', got {on_gap!r}")
    texts = _lines(path)
    rows: list[tuple] = []  # (line, kind, side, price_str, size_str, ts, u)
    prev_u = None
    prev_ts = None
    topic0 = None
    st = {"lines": 0, "snapshots": 0, "deltas": 0, "gaps": 0, "dropped": 0}
    waiting = False
    for ln, text in enumerate(texts, start=1):
        if not text.strip():
            raise DataFormatError(path, "blank line", line=ln)
        try:
            msg = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataFormatError(path, f"invalid JSON ({e.msg} at column {e.colno})", line=ln) from None
        if not isinstance(msg, dict):
            raise DataFormatError(path, "a line must be a JSON object", line=ln)
        st["lines"] += 1
        for k in ("topic", "type", "ts", "data"):
            if k not in msg:
                raise DataFormatError(path, f"missing key {k!r}", line=ln, field=k)
        d = msg["data"]
        if not isinstance(d, dict):
            raise DataFormatError(path, "data must be an object", line=ln, field="data")
        for k in ("s", "b", "a", "u"):
            if k not in d:
                raise DataFormatError(path, f"missing key data.{k}", line=ln, field=f"data.{k}")
        topic = msg["topic"]
        if topic0 is None:
            topic0 = topic
            if not (isinstance(topic, str) and topic.startswith("orderbook.")):
                raise DataFormatError(path, f"topic {topic!r} is not an orderbook topic", line=ln, field="topic")
            symbol = symbol or d["s"]
        if topic != topic0:
            raise DataFormatError(path, f"topic {topic!r} differs from the first line's {topic0!r}", line=ln, field="topic")
        if d["s"] != symbol:
            raise DataFormatError(path, f"symbol {d['s']!r}, expected {symbol!r}", line=ln, field="data.s")
        typ = msg["type"]
        if typ not in ("snapshot", "delta"):
            raise DataFormatError(path, f"type {typ!r} is not snapshot/delta", line=ln, field="type")
        u = d["u"]
        ts = msg.get("cts", msg["ts"])
        for name, v in (("data.u", u), ("ts", msg["ts"]), ("cts", ts)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise DataFormatError(path, f"{name} {v!r} is not a non-negative integer", line=ln, field=name)
        if prev_ts is not None and msg["ts"] < prev_ts:
            raise DataFormatError(path, f"ts {msg['ts']} goes backwards (previous {prev_ts})", line=ln, field="ts")
        prev_ts = msg["ts"]
        if typ == "delta":
            if prev_u is None:
                raise DataFormatError(path, "a delta before any snapshot (nothing anchors it)", line=ln, field="type")
            if waiting:
                st["dropped"] += 1
                continue
            if u != prev_u + 1:
                st["gaps"] += 1
                if on_gap == "raise":
                    raise SequenceGapError(path, f"update id {u} does not follow {prev_u} (gap)", line=ln, field="data.u")
                waiting = True
                st["dropped"] += 1
                continue
            st["deltas"] += 1
        else:
            st["snapshots"] += 1
            waiting = False
            rows.append((ln, CLEAR, 0, None, None, ts, u))
        prev_u = u
        for key, side in (("b", BID), ("a", ASK)):
            lv = d[key]
            if not isinstance(lv, list):
                raise DataFormatError(path, f"data.{key} must be a list", line=ln, field=f"data.{key}")
            for pair in lv:
                if (not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str)
                        or not isinstance(pair[1], str)):
                    raise DataFormatError(path, f"level {pair!r} is not a [price, size] pair of strings", line=ln,
                                          field=f"data.{key}")
                rows.append((ln, LEVEL_SET, side, pair[0], pair[1], ts, u))
    lv_idx = [i for i, r in enumerate(rows) if r[1] == LEVEL_SET]
    lines = [rows[i][0] for i in lv_idx]
    px, scale = parse_decimals([rows[i][3] for i in lv_idx], path, lines, "price")
    parse_decimals([rows[i][4] for i in lv_idx], path, lines, "size", allow_zero=True)
    if price_scale is not None:
        if price_scale < scale or price_scale % scale or len(str(price_scale).rstrip("0")) != 1 or str(price_scale)[0] != "1":
            raise DataFormatError(path, f"price_scale {price_scale} must be a power of ten >= the file's {scale}",
                                  field="price")
        px = px * (price_scale // scale)
        scale = price_scale
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    ev["kind"] = [r[1] for r in rows]
    ev["side"] = [r[2] for r in rows]
    ev["ts"] = np.array([r[5] for r in rows], dtype=np.int64) * 1_000_000
    ev["ts_local"] = ev["ts"]
    idx = np.array(lv_idx, dtype=np.int64)
    ev["price"][idx] = px
    ev["size"][idx] = [float(rows[i][4]) for i in lv_idx]
    pos = px[px > 0]
    sizes = ev["size"][idx]
    nz = sizes[sizes > 0]
    dec = 0
    while dec < 12 and nz.size and not np.allclose(nz * 10**dec, np.round(nz * 10**dec), rtol=0, atol=1e-6):
        dec += 1
    import datetime as _dt

    date = _dt.datetime.fromtimestamp(int(ev["ts"][0]) / 1e9, tz=_dt.UTC).strftime("%Y-%m-%d") if len(ev) else ""
    ins = Instrument(symbol=str(symbol), tick=int(np.gcd.reduce(pos)) if pos.size else 1, price_scale=int(scale),
                     lot=10.0 ** -dec, date=date, venue="BYBIT", levels=0,
                     session_open_ns=int(ev["ts"][0]) if len(ev) else 0,
                     session_close_ns=int(ev["ts"][-1]) if len(ev) else 0, extra={"topic": topic0})
    return BybitData(events=ev, instrument=ins, line=np.array([r[0] for r in rows], dtype=np.int64),
                     update_id=np.array([r[6] for r in rows], dtype=np.int64), stats=st)


def write_bybit_ob500(path: str | Path, events: np.ndarray, instrument: Instrument, *, ts_base_ns: int = 0) -> Path:
    """Write events as an ``ob500`` file: an empty snapshot before the first event, then one
    delta per book-changing event (the changed level's new size), ``u`` counting up from 1.

    Times are written in ms (``(ts + ts_base_ns) // 1_000_000``, as ``ts`` and ``cts``).

    Parameters
    ----------
    path, events
        As for :func:`companion.io.tardis.write_tardis_incremental` (``path``: the ``ob500`` file written).
    instrument : Instrument
        Its symbol names the topic; its price scale (a power of ten) sets the decimals written.
    ts_base_ns : int
        Added to every time.

    Returns
    -------
    pathlib.Path
        ``path``: one JSON message (snapshot or delta) per line.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from companion.events import EVENT_DTYPE, Instrument
    >>> ev = np.zeros(2, EVENT_DTYPE); ev["kind"], ev["side"], ev["price"], ev["size"] = 1, [1, -1], [1000, 1010], 5
    >>> p = write_bybit_ob500(os.path.join(tempfile.mkdtemp(), "x.data"), ev, Instrument("X", 1, 10000))
    >>> read_bybit_ob500(p).stats["deltas"]
    2
    """
    from companion.events import ADD, CANCEL, DELETE, EXEC_VISIBLE
    from companion.io.tardis import format_size, format_units

    path = Path(path)
    sc = instrument.price_scale
    book = {BID: {}, ASK: {}}
    sym = instrument.symbol
    t0 = (int(events["ts"][0]) + ts_base_ns) // 1_000_000 if len(events) else 0
    out = [json.dumps({"topic": f"orderbook.500.{sym}", "type": "snapshot", "ts": t0,
                       "data": {"s": sym, "b": [], "a": [], "u": 1, "seq": 1}, "cts": t0}, separators=(",", ":"))]
    u = 1
    for e in events.tolist():
        ts, k, s, p, q = e[0], e[2], e[3], e[4], e[5]
        if k == CLEAR:
            book = {BID: {}, ASK: {}}
            new = None
        elif k == ADD:
            new = book[s].get(p, 0.0) + q
        elif k in (CANCEL, DELETE, EXEC_VISIBLE):
            new = max(book[s].get(p, 0.0) - q, 0.0)
        elif k == LEVEL_SET:
            new = q
        else:
            continue
        u += 1
        tms = (ts + ts_base_ns) // 1_000_000
        if new is None:
            msg = {"topic": f"orderbook.500.{sym}", "type": "snapshot", "ts": tms,
                   "data": {"s": sym, "b": [], "a": [], "u": u, "seq": u}, "cts": tms}
        else:
            if new:
                book[s][p] = new
            else:
                book[s].pop(p, None)
            lv = [[format_units(p, sc), format_size(new)]]
            msg = {"topic": f"orderbook.500.{sym}", "type": "delta", "ts": tms,
                   "data": {"s": sym, "b": lv if s == BID else [], "a": lv if s == ASK else [], "u": u, "seq": u},
                   "cts": tms}
        out.append(json.dumps(msg, separators=(",", ":")))
    path.write_text("\n".join(out) + "\n")
    return path
