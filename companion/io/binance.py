"""Strict reader for Binance websocket recordings, with the documented depth diff-sync.

A recording (e.g. hftbacktest's collector output) is gzip or plain text, one received message per
line: ``<local receive time, ns since epoch> <raw JSON>``. The JSON is a combined-stream envelope
``{"stream": ..., "data": {...}}`` (a bare stream payload is accepted too) or, once per sync, the
REST depth snapshot ``{"lastUpdateId": L, "bids": [[px, qty], ...], "asks": [...]}``.
Payloads read: ``depthUpdate`` (``U`` first / ``u`` last update id, ``pu`` previous ``u`` on
futures, ``b``/``a`` ``[price, qty]`` level sets, qty 0 deletes), ``trade`` / ``aggTrade``
(``p``, ``q``, ``T``, ``m`` = buyer is maker) and ``bookTicker`` (``u``, ``b``, ``B``, ``a``,
``A``). Other payloads (mark price, ...) are skipped and counted in ``messages_ignored``.

Diff-sync (Binance "How to manage a local order book correctly", USD-M futures and spot docs),
with ``L`` = the snapshot's ``lastUpdateId``:

=======================  ====================================  =====================================
step                     USD-M futures (``usdm``)              spot
=======================  ====================================  =====================================
drop as stale            ``u < L``                             ``u <= L``
first applied event      ``U <= L <= u``                       ``U <= L + 1 <= u``
every later event        ``pu == previous u``                  ``U == previous u + 1``
=======================  ====================================  =====================================

Diffs received before the snapshot line are buffered and run through the same rule when it
arrives. A broken rule is a gap: :class:`companion.errors.SequenceGapError` names the file, the
line and the field (``U`` or ``pu``) -- a gapped diff is never applied silently. With
``on_gap="resync"`` the reader instead emits a ``CLEAR`` event, buffers diffs and re-syncs on the
next snapshot line; diffs still buffered at the end of the file are counted as dropped.

Output (:class:`BinanceData`)
-----------------------------
``events`` (:data:`companion.events.EVENT_DTYPE`, in arrival = file order):

* snapshot -> one ``CLEAR`` then one ``LEVEL_SET`` per bid (``side`` +1) and ask (-1) level;
* applied diff -> one ``LEVEL_SET`` per ``b`` then ``a`` entry (``size`` 0 deletes the level);
* trade -> ``TRADE`` with ``side`` = aggressor: ``m = true`` (buyer is maker) is a
  seller-initiated trade, ``side = -1``; ``m = false`` gives ``+1``.

``ts`` is exchange time in ns since the epoch (``E`` of diffs and snapshots, ``T`` of trades);
the spot snapshot carries no exchange time, so its ``ts`` is the latest exchange time seen before
it (a lower bound), or its ``ts_local`` if none. ``ts_local`` is the local receive time; a diff
buffered before its snapshot arrived is applied when the snapshot arrives, so its ``ts_local`` is
raised to the snapshot's (``ts_local`` then never decreases). ``order_id`` carries the update id
``u`` of the diff (the snapshot's ``lastUpdateId`` for its events; 0 for a resync ``CLEAR``) and
the trade id ``t`` (aggTrade ``a``) of a trade.

``diffs`` (:data:`DIFF_DTYPE`) has one row per applied diff with its ids, line and event range
``[start, stop)`` -- the book after diff *i* is the book after event ``stop - 1`` (or, for an
empty diff, ``start - 1``). ``tickers`` (:data:`TICKER_DTYPE`) holds every bookTicker.

Prices are decimal strings converted exactly (integer arithmetic on the digit strings, never a
float) to integer price units; ``price_scale = 10**d`` with ``d`` the largest number of
*significant* decimals of any price in the file (trailing zeros dropped, so spot's
``"61837.63000000"`` counts 2) and at least the tick's decimals. BTCUSDT thus gets
``price_scale`` 10 (futures, tick 0.10 = 1 unit) and 100 (spot, tick 0.01 = 1 unit), which keeps
prices far below LOBSTER's dummy price 9999999999. Quantities become float64 (``float`` of the
decimal string: the nearest double).

Malformed input raises :class:`companion.errors.DataFormatError` naming file, line and field
(``local_ts``, ``json``, a missing or non-numeric field such as ``E`` or ``b``). Structure (JSON,
fields, ids) is checked line by line as read; the decimal strings (prices, quantities, including
those of dropped diffs) are checked and converted in one vectorised numpy pass at the end, which
reports the earliest bad one. ``digits[.digits]`` only: no sign, exponent, ``nan`` or non-ASCII.

Speed: ~2 s for the 94k-line USD-M recording (466k events), ~0.7 s for spot; about half of it is
``json.loads``.

:func:`verify_recording` replays the events through a small reference book and checks its best
bid/ask (price and quantity) against every bookTicker whose ``u`` equals an applied diff's final
``u`` (:func:`compare_tickers`).
"""
from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from companion.errors import DataFormatError, SequenceGapError
from companion.events import (
    ASK,
    BID,
    CLEAR,
    DUMMY_ASK,
    DUMMY_BID,
    EVENT_DTYPE,
    LEVEL_SET,
    TRADE,
    Instrument,
)

__all__ = [
    "DIFF_DTYPE",
    "TICKER_DTYPE",
    "BinanceData",
    "read_binance",
    "top_of_book_reference",
    "compare_tickers",
    "verify_recording",
]

DIFF_DTYPE = np.dtype(
    [
        ("ts", np.int64),        # exchange time E, ns
        ("ts_local", np.int64),  # local receive time, ns (raised to the snapshot's when buffered)
        ("U", np.int64),         # first update id
        ("u", np.int64),         # final update id
        ("pu", np.int64),        # previous final update id (futures; -1 on spot)
        ("line", np.int64),      # 1-based line in the recording
        ("start", np.int64),     # first event index of this diff in ``events``
        ("stop", np.int64),      # one past its last event index
    ]
)
"""One row per applied depth diff."""

TICKER_DTYPE = np.dtype(
    [
        ("ts", np.int64),        # exchange time E, ns (0 on spot, which sends none)
        ("ts_local", np.int64),  # local receive time, ns
        ("u", np.int64),         # order-book update id
        ("bid_px", np.int64),    # best bid, price units
        ("bid_qty", np.float64),
        ("ask_px", np.int64),    # best ask, price units
        ("ask_qty", np.float64),
    ]
)
"""One row per bookTicker message."""

MARKETS = ("usdm", "spot")
VENUES = {"usdm": "BINANCE-USDM", "spot": "BINANCE-SPOT"}

#: Exchange filters (tick size, lot step) as decimal strings, for symbols we know; others are
#: inferred from the data (``Instrument.extra["tick_source"]``).
KNOWN_FILTERS: dict[tuple[str, str], tuple[str, str]] = {
    ("usdm", "BTCUSDT"): ("0.10", "0.001"),
    ("spot", "BTCUSDT"): ("0.01", "0.00001"),
}

_MS = 1_000_000  # ns per ms
_MAX_DIGITS = 18  # an int64 mantissa holds any 18-digit decimal

# sync states
_WAIT, _SYNCING, _SYNCED = 0, 1, 2


@dataclass(frozen=True)
class BinanceData:
    """A read recording: events, per-diff index, tickers, instrument and sync counters.

    Counters: ``diffs_applied``; ``diffs_dropped`` = ``diffs_stale`` (older than the snapshot,
    dropped before sync) + ``diffs_unanchored`` (buffered with no snapshot following);
    ``gaps`` (sequence gaps resynced; always 0 with ``on_gap="raise"``); ``snapshots``;
    ``messages_ignored`` (payload types not read).
    """

    events: np.ndarray
    diffs: np.ndarray
    tickers: np.ndarray
    instrument: Instrument
    market: str
    path: str
    diffs_applied: int
    diffs_dropped: int
    diffs_stale: int
    diffs_unanchored: int
    gaps: int
    snapshots: int
    messages_ignored: int
    trades: int

    def counters(self) -> dict:
        """The sync counters as a plain dict."""
        return {
            "diffs_applied": self.diffs_applied, "diffs_dropped": self.diffs_dropped,
            "diffs_stale": self.diffs_stale, "diffs_unanchored": self.diffs_unanchored,
            "gaps": self.gaps, "snapshots": self.snapshots, "trades": self.trades,
            "tickers": len(self.tickers), "messages_ignored": self.messages_ignored,
        }

    def tickers_frame(self):
        """The bookTickers as a DataFrame indexed by local receive time (UTC), prices in currency."""
        import pandas as pd

        t = self.tickers
        scale = self.instrument.price_scale
        return pd.DataFrame(
            {
                "u": t["u"], "bid_px": t["bid_px"] / scale, "bid_qty": t["bid_qty"],
                "ask_px": t["ask_px"] / scale, "ask_qty": t["ask_qty"],
            },
            index=pd.to_datetime(t["ts_local"], unit="ns", utc=True).rename("ts_local"),
        )


#: (price field, quantity field) names for error messages, by the code stored per value
_FIELDS = (("b", "b"), ("a", "a"), ("bids", "bids"), ("asks", "asks"), ("p", "q"), ("b", "B"), ("a", "A"), ("", ""))
_F_B, _F_A, _F_BIDS, _F_ASKS, _F_TRADE, _F_TK_BID, _F_TK_ASK, _F_NONE = range(8)


class _Decimals:
    """Decimal strings collected while reading, converted in one vectorised pass at the end.

    Each value keeps its line and field code so a bad one is reported where it came from.
    """

    def __init__(self) -> None:
        self.px: list = []
        self.qty: list = []
        self.line: list[int] = []
        self.field: list[int] = []

    def add(self, px: list | tuple, qty: list | tuple, line: int, fcode: int) -> None:
        n = len(px)
        self.px.extend(px)
        self.qty.extend(qty)
        self.line.extend([line] * n)
        self.field.extend([fcode] * n)

    def _error(self, path: Path, i: int, which: int, problem: str) -> DataFormatError:
        col = self.px if which == 0 else self.qty
        what = "price" if which == 0 else "quantity"
        return DataFormatError(path, problem.format(what=what, value=col[i]), line=self.line[i],
                               field=_FIELDS[self.field[i]][which])

    def _bad(self, col: list) -> tuple[int, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """(index of the first invalid string or len(col), the strings as bytes, integer parts,
        fractions); a valid string is ``digits[.digits]``."""
        if not col:
            e = np.zeros(0, dtype="S1")
            return 0, e, e, e
        if set(map(type, col)) != {str}:
            return next(i for i, s in enumerate(col) if type(s) is not str), None, None, None
        try:
            b = np.array(col, dtype="S")
        except UnicodeEncodeError:
            return next(i for i, s in enumerate(col) if not s.isascii()), None, None, None
        ip, dot, fp = np.strings.partition(b, b".")
        good = np.strings.isdigit(ip) & ((np.strings.str_len(dot) == 0) | np.strings.isdigit(fp))
        return (len(col) if good.all() else int(np.argmin(good))), b, ip, fp

    def convert(self, path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | DataFormatError:
        """(price mantissa int64, price decimals int64, qty float64), or the error of the first bad
        value (prices exactly: integer digits, never a float)."""
        n = len(self.px)
        bad_p, _, ip, fp = self._bad(self.px)
        bad_q, qb, _, _ = self._bad(self.qty)
        if min(bad_p, bad_q) < n:
            which = 0 if bad_p <= bad_q else 1
            return self._error(path, min(bad_p, bad_q), which, "not a non-negative decimal {what}: {value!r}")
        digits = np.strings.add(ip, fp)
        long = np.strings.str_len(np.strings.lstrip(digits, b"0")) > _MAX_DIGITS
        if long.any():
            return self._error(path, int(np.argmax(long)), 0,
                               "{what} {value!r} has more than %d significant digits" % _MAX_DIGITS)
        if not n:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
        mant = digits.astype(np.int64)
        nd = np.strings.str_len(fp).astype(np.int64)
        qty = qb.astype(np.float64)
        return mant, nd, qty


class _Reader:
    """One pass over the lines; all state of the diff-sync lives here."""

    def __init__(self, path: Path, symbol: str | None, market: str | None, on_gap: str):
        self.path = path
        self.symbol = symbol
        self.market = market
        self.on_gap = on_gap
        # event columns; prices/quantities stay strings in ``self.dec`` until the end
        self.ts: list[int] = []
        self.tsl: list[int] = []
        self.kind: list[int] = []
        self.side: list[int] = []
        self.oid: list[int] = []
        self.dec = _Decimals()
        self.unused = _Decimals()   # levels of dropped diffs: validated, never emitted
        self.diff_rows: list[tuple] = []
        self.tk_num: list[tuple] = []  # (ts, ts_local, u)
        self.tk_dec = _Decimals()      # bid then ask of each ticker, interleaved
        self.state = _WAIT
        self.buffer: list[tuple] = []
        self.last_id = 0
        self.prev_u = 0
        self.last_exch_ts = 0
        self.snapshot_seen = False
        self.snapshot_has_E = False  # futures snapshots carry E, spot ones do not
        self.n_stale = self.n_gaps = self.n_snapshots = self.n_ignored = self.n_trades = 0

    # ------------------------------------------------------------------ field helpers
    def _err(self, problem: str, line: int, fld: str | None) -> DataFormatError:
        return DataFormatError(self.path, problem, line=line, field=fld)

    def _get(self, d: dict, key: str, line: int):
        try:
            return d[key]
        except KeyError:
            raise self._err("missing field", line, key) from None

    def _int(self, d: dict, key: str, line: int) -> int:
        v = self._get(d, key, line)
        if type(v) is not int or v < 0:
            raise self._err(f"expected a non-negative integer, got {v!r}", line, key)
        return v

    def _levels(self, d: dict, key: str, line: int) -> tuple[tuple, tuple]:
        """``[[px, qty], ...]`` -> (prices, quantities), structure checked, values still strings."""
        raw = self._get(d, key, line)
        if not isinstance(raw, list):
            raise self._err(f"expected a list of [price, qty], got {type(raw).__name__}", line, key)
        if not raw:
            return (), ()
        if not all(type(lv) is list and len(lv) == 2 for lv in raw):
            bad = next(lv for lv in raw if type(lv) is not list or len(lv) != 2)
            raise self._err(f"expected a [price, qty] pair, got {bad!r}", line, key)
        px, qty = zip(*raw)
        return px, qty

    def _emit(self, ts: int, tsl: int, kind: int, oid: int, line: int,
              bids: tuple, asks: tuple, fb: int, fa: int) -> None:
        """LEVEL_SET events for bid then ask levels ``(prices, quantities)``."""
        for side, (px, qty), fcode in ((BID, bids, fb), (ASK, asks, fa)):
            n = len(px)
            if n:
                self.ts.extend([ts] * n)
                self.tsl.extend([tsl] * n)
                self.kind.extend([kind] * n)
                self.side.extend([side] * n)
                self.oid.extend([oid] * n)
                self.dec.add(px, qty, line, fcode)

    def _emit_one(self, ts: int, tsl: int, kind: int, side: int, oid: int, line: int,
                  px: str, qty: str, fcode: int) -> None:
        self.ts.append(ts)
        self.tsl.append(tsl)
        self.kind.append(kind)
        self.side.append(side)
        self.oid.append(oid)
        self.dec.add((px,), (qty,), line, fcode)

    def _check_symbol(self, d: dict, line: int) -> None:
        s = d.get("s")
        if s is None:
            return
        if self.symbol is None:
            self.symbol = s
        elif s != self.symbol:
            raise self._err(f"symbol {s!r} differs from {self.symbol!r} (one symbol per read)", line, "s")

    # ------------------------------------------------------------------ lines
    def feed(self, line: int, text: str) -> None:
        sp = text.find(" ")
        head = text[:sp] if sp > 0 else text.strip()
        if sp <= 0 or not (head.isascii() and head.isdigit()):
            if not text.strip():
                return  # blank line
            raise self._err(f"expected '<local receive ns> <json>', got {text[:40]!r}", line, "local_ts")
        ts_local = int(head)
        try:
            obj = json.loads(text[sp + 1:])
        except ValueError as exc:
            raise self._err(f"bad JSON: {exc}", line, "json") from None
        if type(obj) is not dict:
            raise self._err(f"expected a JSON object, got {type(obj).__name__}", line, "json")
        if "lastUpdateId" in obj:
            self._snapshot(line, ts_local, obj)
            return
        d = obj.get("data", obj) if "stream" in obj else obj
        if type(d) is not dict:
            raise self._err("expected a JSON object", line, "data")
        e = d.get("e")
        if e == "depthUpdate":
            self._check_symbol(d, line)
            self._diff(line, ts_local, d)
        elif e == "trade" or e == "aggTrade":
            self._check_symbol(d, line)
            self._trade(line, ts_local, d, "t" if e == "trade" else "a")
        elif e == "bookTicker" or (e is None and "B" in d and "A" in d):
            self._check_symbol(d, line)
            self._ticker(line, ts_local, d)
        else:
            self.n_ignored += 1

    def _snapshot(self, line: int, ts_local: int, d: dict) -> None:
        last_id = self._int(d, "lastUpdateId", line)
        ts = self._int(d, "E", line) * _MS if "E" in d else (self.last_exch_ts or ts_local)
        bids = self._levels(d, "bids", line)
        asks = self._levels(d, "asks", line)
        self.n_snapshots += 1
        self.snapshot_seen = True
        self.snapshot_has_E = self.snapshot_has_E or "E" in d
        self._emit_one(ts, ts_local, CLEAR, 0, last_id, line, "0", "0", _F_NONE)
        self._emit(ts, ts_local, LEVEL_SET, last_id, line, bids, asks, _F_BIDS, _F_ASKS)
        self.last_id = last_id
        self.state = _SYNCING
        pending, self.buffer = self.buffer, []
        for rec in pending:
            if self.state == _WAIT:      # a gap while draining: keep buffering
                self.buffer.append(rec)
            else:
                self._process(rec, ts_floor=ts_local)

    def _diff(self, line: int, ts_local: int, d: dict) -> None:
        if self.market is None:
            self.market = "usdm" if "pu" in d else "spot"
        ts = self._int(d, "E", line) * _MS
        first = self._int(d, "U", line)
        last = self._int(d, "u", line)
        prev = self._int(d, "pu", line) if self.market == "usdm" else -1
        if first > last:
            raise self._err(f"U={first} > u={last}", line, "U")
        rec = (line, ts_local, ts, first, last, prev, self._levels(d, "b", line), self._levels(d, "a", line))
        self.last_exch_ts = max(self.last_exch_ts, ts)
        if self.state == _WAIT:
            self.buffer.append(rec)
        else:
            self._process(rec, ts_floor=0)

    def _drop(self, rec: tuple) -> None:
        line, bids, asks = rec[0], rec[6], rec[7]
        self.unused.add(bids[0], bids[1], line, _F_B)
        self.unused.add(asks[0], asks[1], line, _F_A)

    def _process(self, rec: tuple, ts_floor: int) -> None:
        line, ts_local, ts, first, last, prev, bids, asks = rec
        futures = self.market == "usdm"
        if self.state == _SYNCING:
            anchor = self.last_id if futures else self.last_id + 1
            if last < anchor:
                self.n_stale += 1
                self._drop(rec)
                return
            if first > anchor:
                rule = "U <= lastUpdateId" if futures else "U <= lastUpdateId + 1"
                self._gap(rec, "U", f"first diff after the snapshot (lastUpdateId={self.last_id}) has "
                          f"U={first}, u={last}: the rule {rule} <= u fails, updates "
                          f"{anchor}..{first - 1} are missing")
                return
            self.state = _SYNCED
        elif futures:
            if prev != self.prev_u:
                self._gap(rec, "pu", f"pu={prev} != previous u={self.prev_u}")
                return
        elif first != self.prev_u + 1:
            self._gap(rec, "U", f"U={first} != previous u + 1 = {self.prev_u + 1}")
            return
        start = len(self.ts)
        tsl = max(ts_local, ts_floor)
        self._emit(ts, tsl, LEVEL_SET, last, line, bids, asks, _F_B, _F_A)
        self.diff_rows.append((ts, tsl, first, last, prev, line, start, len(self.ts)))
        self.prev_u = last

    def _gap(self, rec: tuple, fld: str, problem: str) -> None:
        line, ts_local, ts = rec[0], rec[1], rec[2]
        if self.on_gap == "raise":
            raise SequenceGapError(
                self.path, f"depth diff sequence gap: {problem} (pass on_gap='resync' to re-sync "
                "on the next snapshot)", line=line, field=fld)
        self.n_gaps += 1
        self._emit_one(ts, ts_local, CLEAR, 0, 0, line, "0", "0", _F_NONE)
        self.state = _WAIT
        self.buffer.append(rec)

    def _trade(self, line: int, ts_local: int, d: dict, id_key: str) -> None:
        ts = self._int(d, "T", line) * _MS
        px, qty = self._get(d, "p", line), self._get(d, "q", line)
        m = self._get(d, "m", line)
        if type(m) is not bool:
            raise self._err(f"expected true/false, got {m!r}", line, "m")
        tid = self._int(d, id_key, line)
        self.last_exch_ts = max(self.last_exch_ts, ts)
        self._emit_one(ts, ts_local, TRADE, ASK if m else BID, tid, line, px, qty, _F_TRADE)
        self.n_trades += 1

    def _ticker(self, line: int, ts_local: int, d: dict) -> None:
        ts = self._int(d, "E", line) * _MS if "E" in d else 0
        u = self._int(d, "u", line)
        g = self._get
        self.tk_dec.add((g(d, "b", line), g(d, "a", line)), (g(d, "B", line), g(d, "A", line)), line, _F_TK_BID)
        self.tk_dec.field[-1] = _F_TK_ASK
        self.tk_num.append((ts, ts_local, u))

    # ------------------------------------------------------------------ finish
    def finish(self) -> BinanceData:
        if not self.snapshot_seen:
            raise DataFormatError(self.path, "no REST depth snapshot line (JSON with 'lastUpdateId', "
                                  "'bids', 'asks'): the depth diffs cannot be anchored")
        n_unanchored = len(self.buffer)
        for rec in self.buffer:
            self._drop(rec)
        # the levels of dropped diffs are validated too; the earliest bad value is reported
        parsed = [c.convert(self.path) for c in (self.dec, self.tk_dec, self.unused)]
        errors = [x for x in parsed if isinstance(x, DataFormatError)]
        if errors:
            raise min(errors, key=lambda e: e.line)
        (ev_mant, ev_nd, ev_qty), (tk_mant, tk_nd, tk_qty) = parsed[0], parsed[1]

        events = np.zeros(len(self.ts), dtype=EVENT_DTYPE)
        events["ts"] = self.ts
        events["ts_local"] = self.tsl
        events["kind"] = self.kind
        events["side"] = self.side
        events["size"] = ev_qty
        events["order_id"] = self.oid
        tickers = np.zeros(len(self.tk_num), dtype=TICKER_DTYPE)
        if len(tickers):
            num = np.array(self.tk_num, dtype=np.int64)
            tickers["ts"], tickers["ts_local"], tickers["u"] = num[:, 0], num[:, 1], num[:, 2]
            tickers["bid_qty"], tickers["ask_qty"] = tk_qty[0::2], tk_qty[1::2]
        # without depth diffs, tell the market by the snapshot (futures carry E) or the tickers
        market = self.market or ("usdm" if self.snapshot_has_E or (len(tickers) and tickers["ts"][0] > 0)
                                 else "spot")
        symbol = self.symbol or ""
        tick_s, lot_s = KNOWN_FILTERS.get((market, symbol), (None, None))

        # exact rescale of every price mantissa to 10**dec units, dec = max significant decimals
        mants, nds = [ev_mant, tk_mant], [ev_nd, tk_nd]
        top = max([int(x.max()) for x in nds if len(x)] + [0])
        units = [_shift(m, top - n, self.path) for m, n in zip(mants, nds)]
        dec = top - _common_pow10(units, top)
        if tick_s:
            dec = max(dec, _decimals(tick_s))
        shift = top - dec
        units = [u // 10**shift if shift >= 0 else u * 10**(-shift) for u in units]
        events["price"] = units[0]
        if len(tickers):
            tickers["bid_px"], tickers["ask_px"] = units[1][0::2], units[1][1::2]

        scale = 10**dec
        tick = _exact_units(tick_s, dec) if tick_s else 1
        lot = float(lot_s) if lot_s else _infer_lot(events["size"][events["kind"] != CLEAR])
        first_ts = int(events["ts"][0]) if len(events) else 0
        date = datetime.fromtimestamp(first_ts / 1e9, tz=timezone.utc).strftime("%Y-%m-%d") if first_ts else ""
        inst = Instrument(
            symbol=symbol, tick=tick, price_scale=scale, lot=lot, date=date, levels=0,
            venue=VENUES.get(market, "BINANCE"),
            extra={"market": market, "tick_source": "known" if tick_s else "inferred",
                   "path": str(self.path)},
        )
        diffs = np.array(self.diff_rows, dtype=DIFF_DTYPE) if self.diff_rows else np.zeros(0, DIFF_DTYPE)
        return BinanceData(
            events=events, diffs=diffs, tickers=tickers, instrument=inst, market=market,
            path=str(self.path), diffs_applied=len(diffs),
            diffs_dropped=self.n_stale + n_unanchored, diffs_stale=self.n_stale,
            diffs_unanchored=n_unanchored, gaps=self.n_gaps, snapshots=self.n_snapshots,
            messages_ignored=self.n_ignored, trades=self.n_trades,
        )



def _decimals(s: str) -> int:
    """Significant decimals of a decimal string ("0.10" -> 1)."""
    return len(s.partition(".")[2].rstrip("0"))


def _exact_units(s: str, dec: int) -> int:
    ip, _, fp = s.partition(".")
    fp = fp.rstrip("0")
    return int(ip + fp.ljust(dec, "0"))


def _shift(mant: np.ndarray, up: np.ndarray, path: Path) -> np.ndarray:
    """``mant * 10**up`` exactly in int64, refusing overflow."""
    mant = np.asarray(mant, dtype=np.int64)
    up = np.asarray(up, dtype=np.int64)
    if not len(mant):
        return mant
    if (mant.astype(np.float64) * 10.0 ** up.astype(np.float64) >= 9.2e18).any():
        raise DataFormatError(path, "a price does not fit int64 price units at the file's precision")
    return mant * 10 ** up


def _common_pow10(units: list[np.ndarray], top: int) -> int:
    """Largest k <= top such that every value is a multiple of 10**k."""
    for k in range(top, 0, -1):
        p = 10**k
        if all((u % p == 0).all() for u in units):
            return k
    return 0


def _infer_lot(sizes: np.ndarray) -> float:
    """Smallest 10**-k step on which every size lies (k <= 12)."""
    nz = sizes[sizes > 0]
    for k in range(0, 13):
        x = nz * 10.0**k
        if np.all(np.abs(x - np.round(x)) <= 1e-9 * np.maximum(1.0, np.abs(x))):
            return 10.0**-k
    return 0.0


def read_binance(path: str | Path, *, symbol: str | None = None, market: str | None = None,
                 on_gap: str = "raise") -> BinanceData:
    r"""Read a Binance websocket recording and diff-sync its depth stream to its REST snapshot.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.gz`` or plain text recording, ``<local ns> <json>`` per line.
    symbol : str, optional
        Expected symbol (checked against every message's ``s``); inferred when None.
    market : str, optional
        ``"usdm"`` (futures rules, ``pu``) or ``"spot"``; inferred from the first depthUpdate
        (``pu`` present -> futures) when None.
    on_gap : str
        ``"raise"`` (default) raises :class:`~companion.errors.SequenceGapError` at the first gap;
        ``"resync"`` emits a ``CLEAR`` and re-syncs on the next snapshot line.

    Returns
    -------
    BinanceData
        See the module docstring for the event layout and sync rules.

    Raises
    ------
    companion.errors.DataFormatError
        On malformed lines or values.
    companion.errors.SequenceGapError
        On a sequence gap with ``on_gap="raise"``.

    Notes
    -----
    Diff sync (Binance "How to manage a local order book correctly"), with :math:`L` the
    snapshot's ``lastUpdateId``: the first applied diff has :math:`U \le L \le u` (futures) or
    :math:`U \le L + 1 \le u` (spot); every later diff continues the previous one
    (:math:`pu = u_{prev}` on futures, :math:`U = u_{prev} + 1` on spot). See the module
    docstring for the stale-drop rule.

    Examples
    --------
    >>> d = read_binance("btcusdt_20240808.gz")   # doctest: +SKIP
    >>> d.counters()["gaps"]                       # doctest: +SKIP
    0
    """
    if on_gap not in ("raise", "resync"):
        raise ValueError(f"on_gap must be 'raise' or 'resync', got {on_gap!r}")
    if market is not None and market not in MARKETS:
        raise ValueError(f"market must be one of {MARKETS}, got {market!r}")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such recording")
    reader = _Reader(p, symbol, market, on_gap)
    opener = gzip.open if p.suffix == ".gz" else open
    line = 0
    try:
        with opener(p, "rt", encoding="utf-8") as fh:
            for line, text in enumerate(fh, 1):
                reader.feed(line, text)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(p, f"unreadable or truncated file: {exc}", line=line + 1 if line else None) from None
    except UnicodeDecodeError as exc:
        raise DataFormatError(p, f"not UTF-8 text: {exc}", line=line + 1) from None
    return reader.finish()


# ---------------------------------------------------------------------- verification
def top_of_book_reference(events: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Best ask/bid after the events at indices ``at``, by a plain dict-per-side book.

    Applies ``CLEAR`` (empty both sides) and ``LEVEL_SET`` (``book[side][price] = size``, size 0
    deletes); other kinds leave the book alone. Best prices are kept incrementally: a set can only
    improve the best, and only deleting the best forces a rescan (O(levels)). This is the slow,
    obviously-correct answer key for :mod:`companion.book`.

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array.
    at : numpy.ndarray
        Sorted event indices; ``-1`` means "before any event".

    Returns
    -------
    numpy.ndarray
        float64 ``(len(at), 4)`` rows ``[ask_px, ask_sz, bid_px, bid_sz]`` (prices in price units,
        sizes in the events' size unit; LOBSTER layout, dummy price and size 0 for an empty side).

    Raises
    ------
    ValueError
        When ``at`` is not sorted.
    IndexError
        When an index is past the last event.

    Examples
    --------
    >>> ev = np.zeros(4, EVENT_DTYPE)
    >>> ev["kind"] = [CLEAR, LEVEL_SET, LEVEL_SET, LEVEL_SET]
    >>> ev["side"] = [0, BID, ASK, BID]
    >>> ev["price"] = [0, 1000, 1001, 1000]
    >>> ev["size"] = [0.0, 2.5, 1.0, 0.0]              # the last event deletes the bid level
    >>> top_of_book_reference(ev, np.array([-1, 2, 3])).tolist()
    [[9999999999.0, 0.0, -9999999999.0, 0.0], [1001.0, 1.0, 1000.0, 2.5], [1001.0, 1.0, -9999999999.0, 0.0]]
    """
    at = np.asarray(at, dtype=np.int64)
    out = np.empty((len(at), 4), dtype=np.float64)
    if len(at) == 0:
        return out
    if (np.diff(at) < 0).any():
        raise ValueError("'at' must be sorted")
    kinds = events["kind"].tolist()
    sides = events["side"].tolist()
    prices = events["price"].tolist()
    sizes = events["size"].tolist()
    bids: dict[int, float] = {}
    asks: dict[int, float] = {}
    best_bid = best_ask = None
    j = 0
    n_at = len(at)
    at_l = at.tolist()

    def row() -> list[float]:
        return [best_ask if best_ask is not None else DUMMY_ASK, asks.get(best_ask, 0.0),
                best_bid if best_bid is not None else DUMMY_BID, bids.get(best_bid, 0.0)]

    while j < n_at and at_l[j] < 0:
        out[j] = row()
        j += 1
    for i in range(len(kinds)):
        if j >= n_at:
            break
        k = kinds[i]
        if k == LEVEL_SET:
            p, s = prices[i], sizes[i]
            if sides[i] == BID:
                if s > 0:
                    bids[p] = s
                    if best_bid is None or p > best_bid:
                        best_bid = p
                elif bids.pop(p, None) is not None and p == best_bid:
                    best_bid = max(bids) if bids else None
            else:
                if s > 0:
                    asks[p] = s
                    if best_ask is None or p < best_ask:
                        best_ask = p
                elif asks.pop(p, None) is not None and p == best_ask:
                    best_ask = min(asks) if asks else None
        elif k == CLEAR:
            bids.clear()
            asks.clear()
            best_bid = best_ask = None
        while j < n_at and at_l[j] == i:
            out[j] = row()
            j += 1
    if j < n_at:
        raise IndexError(f"event index {at_l[j]} out of range ({len(kinds)} events)")
    return out


def compare_tickers(book_best: np.ndarray, event_final_u: np.ndarray, tickers: np.ndarray) -> tuple[int, int]:
    """Compare a rebuilt top of book with bookTicker points at equal update ids.

    A ticker is *compared* when its ``u`` equals some ``event_final_u`` (both then describe the
    book after the same update) and *matched* when all four numbers are equal exactly (prices are
    integers; sizes are ``float`` of the same decimal strings).

    Parameters
    ----------
    book_best : numpy.ndarray
        ``(n, 4)``; ``book_best[i] = [ask_px, ask_sz, bid_px, bid_sz]`` (price units) is the book
        after the diff whose final update id is ``event_final_u[i]``.
    event_final_u : numpy.ndarray
        int64 ``(n,)`` final update ids.
    tickers : numpy.ndarray
        The recording's bookTicker records.

    Returns
    -------
    tuple of int
        ``(compared, matched)``.

    Examples
    --------
    >>> tk = np.zeros(3, TICKER_DTYPE)
    >>> tk["u"] = [7, 8, 99]                              # u = 99: no diff ends there
    >>> tk["ask_px"], tk["ask_qty"], tk["bid_px"], tk["bid_qty"] = [11, 11, 11], 1.0, [10, 9, 10], 2.0
    >>> book = np.array([[11.0, 1.0, 10.0, 2.0], [11.0, 1.0, 10.0, 2.0]])
    >>> compare_tickers(book, np.array([7, 8]), tk)      # u = 8 disagrees on the bid price
    (2, 1)
    """
    book_best = np.asarray(book_best, dtype=np.float64).reshape(-1, 4)
    fu = np.asarray(event_final_u, dtype=np.int64)
    if len(fu) != len(book_best):
        raise ValueError(f"{len(book_best)} book rows but {len(fu)} update ids")
    if len(fu) == 0 or len(tickers) == 0:
        return 0, 0
    order = np.argsort(fu, kind="stable")
    sorted_u = fu[order]
    pos = np.searchsorted(sorted_u, tickers["u"])
    pos_c = np.minimum(pos, len(fu) - 1)
    found = sorted_u[pos_c] == tickers["u"]
    rows = book_best[order[pos_c[found]]]
    tk = tickers[found]
    ok = ((rows[:, 0] == tk["ask_px"]) & (rows[:, 1] == tk["ask_qty"])
          & (rows[:, 2] == tk["bid_px"]) & (rows[:, 3] == tk["bid_qty"]))
    return int(found.sum()), int(ok.sum())


def diff_end_index(diffs: np.ndarray) -> np.ndarray:
    """Event index after which diff *i*'s book holds.

    Parameters
    ----------
    diffs : numpy.ndarray
        :data:`DIFF_DTYPE` records (``start`` / ``stop`` event indices).

    Returns
    -------
    numpy.ndarray
        int64: ``stop - 1``, or ``start - 1`` for a diff that emitted no event.
    """
    return np.where(diffs["stop"] > diffs["start"], diffs["stop"] - 1, diffs["start"] - 1)


def verify_recording(
    path: str | Path,
    *,
    top_of_book: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    data: BinanceData | None = None,
) -> dict:
    """Check a diff-synced Binance recording against its own bookTicker stream.

    Reads ``path`` (strict, ``on_gap="raise"``), rebuilds the top of book after every applied diff
    with ``top_of_book``, then :func:`compare_tickers`.

    Parameters
    ----------
    path : str or pathlib.Path
        The recording.
    top_of_book : callable, optional
        ``top_of_book(events, at) -> (len(at), 4)`` (default :func:`top_of_book_reference`; pass
        :func:`companion.book.top_of_book` to test the book engine).
    data : BinanceData, optional
        An already read recording (skips reading).

    Returns
    -------
    dict
        ``recording``, ``market``, ``diffs_applied``, ``diffs_dropped``, ``compared``,
        ``matched``, ``all_matched`` (requires at least one compared point), ``gaps``,
        ``crossed`` (diffs after which best bid >= best ask), ``tickers`` (count).

    Examples
    --------
    A three-line USD-M recording: the REST snapshot, one diff that straddles its ``lastUpdateId``
    and a bookTicker for the book after that diff.

    >>> import json, os, tempfile
    >>> E = 1_723_161_256_000                       # exchange time, ms
    >>> lines = [
    ...     {"lastUpdateId": 100, "E": E, "bids": [["100.0", "1.0"]], "asks": [["100.1", "3.0"]]},
    ...     {"stream": "btcusdt@depth@0ms", "data": {"e": "depthUpdate", "E": E, "T": E, "s": "BTCUSDT",
    ...      "U": 99, "u": 101, "pu": 98, "b": [["100.0", "2.0"]], "a": []}},
    ...     {"stream": "btcusdt@bookTicker", "data": {"e": "bookTicker", "E": E, "T": E, "s": "BTCUSDT",
    ...      "u": 101, "b": "100.0", "B": "2.0", "a": "100.1", "A": "3.0"}}]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "rec.txt")
    ...     with open(path, "w") as fh:
    ...         for i, msg in enumerate(lines):
    ...             print(1_723_161_255_000_000_000 + i, json.dumps(msg), file=fh)
    ...     r = verify_recording(path)
    >>> r["market"], r["diffs_applied"], r["compared"], r["matched"], r["all_matched"]
    ('usdm', 1, 1, 1, True)
    """
    d = data if data is not None else read_binance(path)
    at = diff_end_index(d.diffs)
    best = (top_of_book or top_of_book_reference)(d.events, at)
    compared, matched = compare_tickers(best, d.diffs["u"], d.tickers)
    both = (best[:, 0] != DUMMY_ASK) & (best[:, 2] != DUMMY_BID)
    return {
        "recording": str(path),
        "market": d.market,
        "diffs_applied": d.diffs_applied,
        "diffs_dropped": d.diffs_dropped,
        "compared": compared,
        "matched": matched,
        "all_matched": bool(compared > 0 and matched == compared),
        "gaps": d.gaps,
        "crossed": int((both & (best[:, 2] >= best[:, 0])).sum()),
        "tickers": int(len(d.tickers)),
    }
