"""Strict reader for Binance websocket recordings, with the documented depth diff-sync.

A recording (e.g. hftbacktest's collector output) is gzip or plain text, one received message per
line: ``<local receive time, ns since epoch> <raw JSON>``. The JSON is a combined-stream envelope
``{"stream": ..., "data": {...}}`` (a bare stream payload is accepted too) or, once per sync, the
REST depth snapshot ``{"lastUpdateId": L, "bids": [[px, qty], ...], "asks": [...]}``.
Payloads read: ``depthUpdate`` (``U`` first / ``u`` last update id, ``pu`` previous ``u`` on
futures, ``b``/``a`` ``[price, qty]`` level sets, qty 0 deletes), ``trade`` / ``aggTrade``
(``p``, ``q``, ``T``, ``m`` = buyer is maker) and ``bookTicker`` (``u``, ``b``, ``B``, ``a``,
``A``). Other payloads (mark price, ...) are skipped and counted in ``messages_ignored``.

Diff-sync (Binance "How to manage a local order book correctly", USD-M / COIN-M futures and
spot docs), with ``L`` = the snapshot's ``lastUpdateId``:

=======================  ====================================  =====================================
step                     futures (``usdm``, ``coinm``)         spot
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

Consecutive daily recordings
----------------------------
``read_binance([day1, day2, ...])`` reads the files as one stream: one reader state runs over all
their lines, so the book is carried across midnight. A daily file after the first usually has no
snapshot: its first depth diff must continue the previous file's ids by the rule above
(``pu == previous u`` / ``U == previous u + 1``). When it does not, the reader emits a ``CLEAR``
and waits; a snapshot later in the same file re-syncs (``boundary_resyncs``), and without one the
read fails with a :class:`~companion.errors.SequenceGapError` naming both files, the lines and
the ids (with ``on_gap="resync"``: a counted gap). A first file without a snapshot is an error
(nothing anchors its diffs). Error lines are each file's own; ``BinanceData.files`` gives per-file
counts and the index ranges of each file's events, diffs and tickers; ``diffs["line"]`` is the
line within the diff's own file.

Markets
-------
``usdm`` (USD-M futures, sizes in the base coin), ``spot`` and ``coinm`` (COIN-M futures on
``dapi``, e.g. ``BTCUSD_PERP``: the payloads carry a pair field ``ps`` and the snapshot
``symbol`` / ``pair``). COIN-M sizes are contracts; the instrument is inverse
(``Instrument.inverse``) with ``contract_size`` USD per contract from
:data:`KNOWN_CONTRACT_SIZES` (BTC: 100 USD, Binance "COIN-Margined Futures Contract
Specifications"), so :meth:`companion.events.Instrument.notional` gives the quote-currency value.

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
raised to the snapshot's (``ts_local`` then never decreases, unless the recorder's clock itself
stepped back: see ``local_ts_backwards`` below). ``order_id`` carries the update id
``u`` of the diff (the snapshot's ``lastUpdateId`` for its events; 0 for a resync ``CLEAR``) and
the trade id ``t`` (aggTrade ``a``) of a trade.

``diffs`` (:data:`DIFF_DTYPE`) has one row per applied diff with its ids, line and event range
``[start, stop)`` -- the book after diff *i* is the book after event ``stop - 1`` (or, for an
empty diff, ``start - 1``). ``tickers`` (:data:`TICKER_DTYPE`) holds every bookTicker.

Prices are decimal strings converted exactly (integer arithmetic on the digit strings, never a
float) to integer price units. For a symbol of :data:`KNOWN_FILTERS`, ``price_scale = 10**d``
with ``d`` the tick's decimals, and every price (of events, tickers and dropped diffs) must lie
on the tick grid: a price with more significant decimals than the tick (trailing zeros dropped,
so spot's ``"61837.63000000"`` counts 2) or between two ticks is a
:class:`~companion.errors.DataFormatError` naming its line and field -- never a silent rescale.
BTCUSDT thus gets ``price_scale`` 10 (futures, tick 0.10 = 1 unit) and 100 (spot, tick 0.01 = 1
unit), which keeps prices far below LOBSTER's dummy price 9999999999. For another symbol the
tick is unknown: ``d`` is the largest number of significant decimals of any price read and the
tick is one unit (``Instrument.extra["tick_source"] == "inferred"``). Quantities become float64
(``float`` of the decimal string: the nearest double).

Malformed input raises :class:`companion.errors.DataFormatError` naming file, line and field
(``local_ts``, ``json``, a missing or non-numeric field such as ``E`` or ``b``). Structure (JSON,
fields, ids) is checked line by line as read; the decimal strings (prices, quantities, including
those of dropped diffs) are checked and converted in one vectorised numpy pass at the end of each
file, which reports the earliest bad one. ``digits[.digits]`` only: no sign, exponent, ``nan`` or
non-ASCII. Each line is decoded on its own, so a byte that is not UTF-8 is reported at its exact
line (a UTF-8 byte-order mark is skipped); an empty file (or one of blank lines only) is an error
that says so.

A local receive time below the previous line's (a recorder clock stepping back, e.g. by NTP) is
not an error -- real recordings may have it and event time comes from the exchange fields -- but
a counted anomaly: ``BinanceData.local_ts_backwards`` and ``local_ts_backwards_first`` (the
first such ``file, line``); the times are kept as recorded. The shared hftbacktest recordings have
none.

Speed: ~2 s for the 94k-line USD-M recording (466k events) on an idle core, ~0.7 s for spot;
about half of it is ``json.loads``. Several files cost the sum of their parts (each file's values
are converted when it ends, so the strings of one file at a time are held).

:func:`verify_recording` replays the events through a small reference book and checks its best
bid/ask (price and quantity) against every bookTicker whose ``u`` equals an applied diff's final
``u`` (:func:`compare_tickers`).
"""
from __future__ import annotations

import bisect
import gzip
import json
import os
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from companion.errors import DataFormatError, SequenceGapError
from companion.events import ASK, BID, CLEAR, DUMMY_ASK, DUMMY_BID, EVENT_DTYPE, LEVEL_SET, TRADE, Instrument

__all__ = [
    "DIFF_DTYPE",
    "TICKER_DTYPE",
    "KNOWN_FILTERS",
    "KNOWN_CONTRACT_SIZES",
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

MARKETS = ("usdm", "spot", "coinm")
VENUES = {"usdm": "BINANCE-USDM", "spot": "BINANCE-SPOT", "coinm": "BINANCE-COINM"}
_FUTURES = ("usdm", "coinm")  # markets with ``pu`` and the futures diff-sync rules

#: Exchange filters (tick size, lot step) as decimal strings, for symbols we know; others are
#: inferred from the data (``Instrument.extra["tick_source"]``). Sources: the ``PRICE_FILTER``
#: ``tickSize`` and ``LOT_SIZE`` ``stepSize`` of Binance's ``exchangeInfo`` (``/fapi/v1``,
#: ``/api/v3``, ``/dapi/v1``); COIN-M sizes are whole contracts.
KNOWN_FILTERS: dict[tuple[str, str], tuple[str, str]] = {
    ("usdm", "BTCUSDT"): ("0.10", "0.001"),
    ("spot", "BTCUSDT"): ("0.01", "0.00001"),
    ("coinm", "BTCUSD_PERP"): ("0.1", "1"),
}

#: COIN-M contract size in USD by pair (the symbol before ``_``: ``BTCUSD_PERP`` and the
#: quarterly ``BTCUSD_YYMMDD`` are pair ``BTCUSD``). Source: Binance, "COIN-Margined Futures
#: Contract Specifications" (support FAQ, 2020-06-11): "the contract multiplier for BTC
#: COIN-margined contracts is 100 USD", altcoin contracts usually 10 USD "although this may vary"
#: -- so only BTC is listed; ``exchangeInfo`` (``/dapi/v1``) gives it per symbol as
#: ``contractSize``. Pass ``contract_size=`` to :func:`read_binance` for another pair.
KNOWN_CONTRACT_SIZES: dict[str, float] = {"BTCUSD": 100.0}

_MS = 1_000_000  # ns per ms
_MAX_DIGITS = 18  # an int64 mantissa holds any 18-digit decimal

# sync states
WAIT, SYNCING, SYNCED = 0, 1, 2


@dataclass(frozen=True)
class BinanceData:
    """A read recording (one file or consecutive daily files as one stream): events, per-diff
    index, tickers, instrument and sync counters.

    Attributes
    ----------
    events : numpy.ndarray
        The event stream, :data:`companion.events.EVENT_DTYPE`.
    diffs : numpy.ndarray
        One row per applied depth diff (``DIFF_DTYPE``: exchange and local time, update ids).
    tickers : numpy.ndarray
        Best bid/ask ticker messages (``TICKER_DTYPE``), when the recording has them.
    instrument : companion.events.Instrument
        Tick, price scale, contract size of the symbol.
    market : str
        ``"spot"``, ``"usdm"`` or ``"coinm"`` (the diff-sync rules differ).
    path : str
        The file read (the first one for consecutive daily files).
    diffs_applied : int
        Depth diffs applied to the book.
    diffs_dropped : int
        ``diffs_stale + diffs_unanchored``.
    diffs_stale : int
        Diffs older than the snapshot, dropped before sync.
    diffs_unanchored : int
        Diffs buffered with no snapshot following them, dropped.
    gaps : int
        Sequence gaps resynced (always 0 with ``on_gap="raise"``).
    snapshots : int
        Depth snapshots read.
    messages_ignored : int
        Messages of payload types the reader does not read.
    trades : int
        Trade messages read.
    files : tuple of dict
        One dict per file read, in order: ``path``, ``lines``, ``events``, ``diffs``
        (applied while reading it), ``diffs_stale``, ``trades``, ``tickers``, ``snapshots``,
        ``first_update_id`` / ``last_update_id`` (``U`` of its first and ``u`` of its last applied
        diff, None without one), ``boundary`` (how it joined the stream: ``"first"``,
        ``"continued"`` -- its first diff continued the previous file's ids --, ``"snapshot"`` -- it
        starts with a snapshot --, ``"resynced"``, ``"gap"`` (``on_gap="resync"`` only),
        ``"waiting"`` (``on_gap="resync"``, still waiting for a snapshot) or ``"no diffs"``),
        ``local_ts_backwards``, and the index ranges ``event_start`` / ``event_stop``,
        ``diff_start`` / ``diff_stop``, ``ticker_start`` / ``ticker_stop`` of its rows in
        ``events``, ``diffs`` and ``tickers``.
    boundary_resyncs : int
        Files whose first diff did not continue the previous file's ids, re-synced by a snapshot
        later in that file.
    local_ts_backwards : int
        Lines whose local receive time is below the previous line's, over all files.
    local_ts_backwards_first : str or None
        The first such line, as ``"<file>, line <n>"``.
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
    files: tuple = ()
    boundary_resyncs: int = 0
    local_ts_backwards: int = 0
    local_ts_backwards_first: str | None = None

    def counters(self) -> dict:
        """The sync counters as a plain dict."""
        return {
            "diffs_applied": self.diffs_applied, "diffs_dropped": self.diffs_dropped,
            "diffs_stale": self.diffs_stale, "diffs_unanchored": self.diffs_unanchored,
            "gaps": self.gaps, "snapshots": self.snapshots, "trades": self.trades,
            "tickers": len(self.tickers), "messages_ignored": self.messages_ignored,
            "boundary_resyncs": self.boundary_resyncs, "local_ts_backwards": self.local_ts_backwards,
        }

    @property
    def paths(self) -> list[str]:
        """The files read, in order."""
        return [f["path"] for f in self.files] if self.files else [self.path]

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


_QUOTE_MAX = 200  # characters of an offending value quoted in an error message


def _quote(v) -> str:
    """``repr(v)``, cut to about 200 characters."""
    r = repr(v)
    return r if len(r) <= _QUOTE_MAX else r[:_QUOTE_MAX] + f"... ({len(r)} characters)"


class _Quoted:
    """Formats as :func:`_quote` of the value under ``{value!r}``."""

    def __init__(self, v) -> None:
        self.v = v

    def __repr__(self) -> str:
        return _quote(self.v)


class Decimals:
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
        return DataFormatError(path, problem.format(what=what, value=_Quoted(col[i])), line=self.line[i],
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
                               f"{{what}} {{value!r}} has more than {_MAX_DIGITS} significant digits")
        if not n:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
        mant = digits.astype(np.int64)
        nd = np.strings.str_len(fp).astype(np.int64)
        qty = qb.astype(np.float64)
        return mant, nd, qty


class Reader:
    """One pass over the lines of one or more files; all state of the diff-sync lives here.

    Lines are numbered globally over the files read (file *k*'s line *n* is ``offset_k + n``);
    :func:`read_binance` translates the numbers in errors back to ``(file, line)``.
    """

    def __init__(self, path: Path, symbol: str | None, market: str | None, on_gap: str):
        self.path = path
        self.symbol = symbol
        self.market = market
        self.on_gap = on_gap
        # event columns; prices/quantities stay strings in ``self.dec`` until the file ends
        self.ts: list[int] = []
        self.tsl: list[int] = []
        self.kind: list[int] = []
        self.side: list[int] = []
        self.oid: list[int] = []
        self.dec = Decimals()
        self.unused = Decimals()   # levels of dropped diffs: validated, never emitted
        self.diff_rows: list[tuple] = []
        self.tk_num: list[tuple] = []  # (ts, ts_local, u)
        self.tk_dec = Decimals()      # bid then ask of each ticker, interleaved
        self.state = WAIT
        self.buffer: list[tuple] = []
        self.last_id = 0
        self.prev_u = 0
        self.prev_line = 0             # global line of the last applied diff
        self.last_exch_ts = 0
        self.snapshot_seen = False
        self.snapshot_has_E = False  # futures snapshots carry E, spot ones do not
        self.snapshot_pair = False   # COIN-M snapshots carry "pair"
        self.n_stale = self.n_gaps = self.n_snapshots = self.n_ignored = self.n_trades = 0
        # several files: converted chunks, per-file bookkeeping, boundary checks
        self.ev_base = 0               # events converted into ``self.chunks`` so far
        self.chunks: list[dict] = []
        self.files: list[dict] = []
        self.offsets: list[int] = []   # global line offset of each file
        self.at_boundary = False       # the next diff is the first of a non-first file
        self.pending: tuple | None = None  # boundary gap waiting for a snapshot in this file
        self.n_boundary_resyncs = 0
        # local receive time going backwards (counted anomaly)
        self.prev_tsl = -1
        self.n_back = 0
        self.back_first = 0            # global line of the first one
        self.nonblank = 0

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
            raise self._err(f"expected a non-negative integer, got {_quote(v)}", line, key)
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
            raise self._err(f"expected a [price, qty] pair, got {_quote(bad)}", line, key)
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

    def _check_symbol(self, d: dict, line: int, key: str = "s") -> None:
        s = d.get(key)
        if s is None:
            return
        if self.symbol is None:
            self.symbol = s
        elif s != self.symbol:
            raise self._err(f"symbol {_quote(s)} differs from {self.symbol!r} (one symbol per read)", line, key)

    # ------------------------------------------------------------------ lines
    def feed(self, line: int, text: str) -> None:
        sp = text.find(" ")
        head = text[:sp] if sp > 0 else text.strip()
        if sp <= 0 or not (head.isascii() and head.isdigit()):
            if not text.strip():
                return  # blank line
            raise self._err(f"expected '<local receive ns> <json>', got {text[:40]!r}", line, "local_ts")
        ts_local = int(head)
        self.nonblank += 1
        if ts_local < self.prev_tsl:
            self.n_back += 1
            if self.n_back == 1:
                self.back_first = line
        self.prev_tsl = ts_local
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
        self._check_symbol(d, line, "symbol")  # COIN-M REST snapshots name their symbol
        self.n_snapshots += 1
        self.snapshot_seen = True
        self.snapshot_has_E = self.snapshot_has_E or "E" in d
        self.snapshot_pair = self.snapshot_pair or "pair" in d
        if self.files:
            f = self.files[-1]
            f["snapshots"] += 1
            if self.at_boundary:
                f["boundary"] = "snapshot"
        self.at_boundary = False
        if self.pending is not None:   # a boundary gap re-synced by this snapshot
            self.pending = None
            self.n_boundary_resyncs += 1
            self.files[-1]["boundary"] = "resynced"
        self._emit_one(ts, ts_local, CLEAR, 0, last_id, line, "0", "0", _F_NONE)
        self._emit(ts, ts_local, LEVEL_SET, last_id, line, bids, asks, _F_BIDS, _F_ASKS)
        self.last_id = last_id
        self.state = SYNCING
        pending, self.buffer = self.buffer, []
        for rec in pending:
            if self.state == WAIT:      # a gap while draining: keep buffering
                self.buffer.append(rec)
            else:
                self._process(rec, ts_floor=ts_local)

    def _diff(self, line: int, ts_local: int, d: dict) -> None:
        if self.market is None:
            if "pu" in d:
                self.market = "coinm" if ("ps" in d or "_" in str(d.get("s", ""))) else "usdm"
            else:
                self.market = "spot"
        ts = self._int(d, "E", line) * _MS
        first = self._int(d, "U", line)
        last = self._int(d, "u", line)
        prev = self._int(d, "pu", line) if self.market in _FUTURES else -1
        if first > last:
            raise self._err(f"U={first} > u={last}", line, "U")
        rec = (line, ts_local, ts, first, last, prev, self._levels(d, "b", line), self._levels(d, "a", line))
        self.last_exch_ts = max(self.last_exch_ts, ts)
        if self.state == WAIT:
            self.buffer.append(rec)
        else:
            self._process(rec, ts_floor=0)
        if self.at_boundary:
            self.at_boundary = False
            f = self.files[-1]
            if f["boundary"] is None:
                f["boundary"] = "continued" if self.state != WAIT else "waiting"

    def _drop(self, rec: tuple) -> None:
        line, bids, asks = rec[0], rec[6], rec[7]
        self.unused.add(bids[0], bids[1], line, _F_B)
        self.unused.add(asks[0], asks[1], line, _F_A)

    def _process(self, rec: tuple, ts_floor: int) -> None:
        line, ts_local, ts, first, last, prev, bids, asks = rec
        futures = self.market in _FUTURES
        if self.state == SYNCING:
            anchor = self.last_id if futures else self.last_id + 1
            if last < anchor:
                self.n_stale += 1
                if self.files:
                    self.files[-1]["diffs_stale"] += 1
                self._drop(rec)
                return
            if first > anchor:
                rule = "U <= lastUpdateId" if futures else "U <= lastUpdateId + 1"
                self._gap(rec, "U", f"first diff after the snapshot (lastUpdateId={self.last_id}) has "
                          f"U={first}, u={last}: the rule {rule} <= u fails, updates "
                          f"{anchor}..{first - 1} are missing")
                return
            self.state = SYNCED
        elif futures:
            if prev != self.prev_u:
                self._gap(rec, "pu", f"pu={prev} != previous u={self.prev_u}")
                return
        elif first != self.prev_u + 1:
            self._gap(rec, "U", f"U={first} != previous u + 1 = {self.prev_u + 1}")
            return
        start = self.ev_base + len(self.ts)
        tsl = max(ts_local, ts_floor)
        self._emit(ts, tsl, LEVEL_SET, last, line, bids, asks, _F_B, _F_A)
        self.diff_rows.append((ts, tsl, first, last, prev, line, start, self.ev_base + len(self.ts)))
        self.prev_u = last
        self.prev_line = line

    def _gap(self, rec: tuple, fld: str, problem: str) -> None:
        line, ts_local, ts = rec[0], rec[1], rec[2]
        boundary = self.at_boundary
        if self.on_gap == "raise" and not boundary:
            raise SequenceGapError(
                self.path, f"depth diff sequence gap: {problem} (pass on_gap='resync' to re-sync "
                "on the next snapshot)", line=line, field=fld)
        if boundary:   # decided at the end of this file: a snapshot in it re-syncs, else an error
            self.pending = (line, fld, problem, self.prev_line)
            self.files[-1]["boundary"] = "gap"
        else:
            self.n_gaps += 1
        self._emit_one(ts, ts_local, CLEAR, 0, 0, line, "0", "0", _F_NONE)
        self.state = WAIT
        self.buffer.append(rec)

    def _trade(self, line: int, ts_local: int, d: dict, id_key: str) -> None:
        ts = self._int(d, "T", line) * _MS
        px, qty = self._get(d, "p", line), self._get(d, "q", line)
        m = self._get(d, "m", line)
        if type(m) is not bool:
            raise self._err(f"expected true/false, got {_quote(m)}", line, "m")
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

    # ------------------------------------------------------------------ files
    def locate(self, line: int) -> tuple[str, int]:
        """Global line number -> (file, line in that file)."""
        k = max(bisect.bisect_left(self.offsets, line) - 1, 0)
        return self.files[k]["path"], line - self.offsets[k]

    def where(self, line: int) -> str:
        p, n = self.locate(line)
        return f"{p}, line {n}"

    def begin_file(self, path: Path, offset: int) -> None:
        first = not self.files
        self.path = path
        self.offsets.append(offset)
        self.files.append({
            "path": str(path), "lines": 0, "events": 0, "diffs": 0, "diffs_stale": 0, "trades": 0,
            "tickers": 0, "snapshots": 0, "first_update_id": None, "last_update_id": None,
            "boundary": "first" if first else None, "local_ts_backwards": 0,
            "event_start": self.ev_base + len(self.ts), "diff_start": len(self.diff_rows),
            "ticker_start": self._n_tickers(), "_trades0": self.n_trades, "_back0": self.n_back,
        })
        self.at_boundary = not first
        self.nonblank = 0

    def _n_tickers(self) -> int:
        return sum(len(c["tk_ts"]) for c in self.chunks) + len(self.tk_num)

    def end_file(self, lines: int) -> None:
        f = self.files[-1]
        if self.nonblank == 0:
            raise DataFormatError(self.path, "empty file: no recorded message" + (
                f" ({lines} blank lines)" if lines else ""))
        if len(self.files) == 1 and not self.snapshot_seen:
            raise DataFormatError(self.path, "no REST depth snapshot line (JSON with 'lastUpdateId', "
                                  "'bids', 'asks'): the depth diffs cannot be anchored (a daily "
                                  "recording without one continues the previous day's: read it "
                                  "after that file, read_binance([day1, day2, ...]))")
        if self.pending is not None:
            line, fld, problem, prev_line = self.pending
            self.pending = None
            prev = self.where(prev_line) if prev_line else "the previous file"
            if self.on_gap == "raise":
                raise SequenceGapError(
                    self.path, f"depth diff ids do not continue across files: {problem}; the last "
                    f"diff applied before this file is at {prev} (u={self.prev_u}) and no REST snapshot "
                    f"follows in {self.path} to re-sync (pass on_gap='resync' to drop the book and "
                    "wait for one)", line=line, field=fld)
            self.n_gaps += 1
        self._flush()
        diffs = self.diff_rows[f["diff_start"]:]
        f.update(lines=lines, events=self.ev_base - f["event_start"], diffs=len(diffs),
                 trades=self.n_trades - f.pop("_trades0"), local_ts_backwards=self.n_back - f.pop("_back0"),
                 event_stop=self.ev_base, diff_stop=len(self.diff_rows), ticker_stop=self._n_tickers())
        f["tickers"] = f["ticker_stop"] - f["ticker_start"]
        if diffs:
            f["first_update_id"], f["last_update_id"] = int(diffs[0][2]), int(diffs[-1][3])
        if f["boundary"] is None:
            f["boundary"] = "no diffs"
        self.at_boundary = False

    def _flush(self) -> None:
        """Convert what accumulated (strings, lists) into numpy chunks; report the earliest bad value."""
        parsed = [c.convert(self.path) for c in (self.dec, self.tk_dec, self.unused)]
        errors = [x for x in parsed if isinstance(x, DataFormatError)]
        if errors:
            raise min(errors, key=lambda e: e.line)
        (ev_mant, ev_nd, ev_qty), (tk_mant, tk_nd, tk_qty), (un_mant, un_nd, _) = parsed
        i64 = np.int64
        tk = np.array(self.tk_num, dtype=i64).reshape(-1, 3)
        self.chunks.append({
            "ts": np.array(self.ts, i64), "tsl": np.array(self.tsl, i64), "kind": np.array(self.kind, np.int8),
            "side": np.array(self.side, np.int8), "oid": np.array(self.oid, i64),
            "mant": ev_mant, "nd": ev_nd, "qty": ev_qty,
            "line": np.array(self.dec.line, i64), "field": np.array(self.dec.field, np.int8),
            "tk_ts": tk[:, 0], "tk_tsl": tk[:, 1], "tk_u": tk[:, 2], "tk_mant": tk_mant, "tk_nd": tk_nd,
            "tk_qty": tk_qty, "tk_line": np.array(self.tk_dec.line, i64),
            "tk_field": np.array(self.tk_dec.field, np.int8),
            "un_mant": un_mant, "un_nd": un_nd, "un_line": np.array(self.unused.line, i64),
            "un_field": np.array(self.unused.field, np.int8),
        })
        self.ev_base += len(self.ts)
        self.ts, self.tsl, self.kind, self.side, self.oid = [], [], [], [], []
        self.dec, self.tk_dec, self.unused = Decimals(), Decimals(), Decimals()
        self.tk_num = []

    # ------------------------------------------------------------------ finish
    def finish(self, contract_size: float | None = None) -> BinanceData:
        if not self.snapshot_seen:
            raise DataFormatError(self.path, "no REST depth snapshot line (JSON with 'lastUpdateId', "
                                  "'bids', 'asks'): the depth diffs cannot be anchored")
        n_unanchored = len(self.buffer)
        for rec in self.buffer:
            self._drop(rec)
        self._flush()
        ch = self.chunks

        def cat(key: str, dtype) -> np.ndarray:
            return np.concatenate([c[key] for c in ch]).astype(dtype, copy=False) if ch else np.zeros(0, dtype)

        events = np.zeros(self.ev_base, dtype=EVENT_DTYPE)
        for name, key in (("ts", "ts"), ("ts_local", "tsl"), ("kind", "kind"), ("side", "side"),
                          ("size", "qty"), ("order_id", "oid")):
            events[name] = cat(key, events.dtype[name])
        tickers = np.zeros(sum(len(c["tk_ts"]) for c in ch), dtype=TICKER_DTYPE)
        if len(tickers):
            tickers["ts"], tickers["ts_local"], tickers["u"] = cat("tk_ts", np.int64), cat("tk_tsl", np.int64), cat("tk_u", np.int64)
            tk_qty = cat("tk_qty", np.float64)
            tickers["bid_qty"], tickers["ask_qty"] = tk_qty[0::2], tk_qty[1::2]
        # without depth diffs, tell the market by the snapshot (futures carry E) or the tickers
        symbol = self.symbol or ""
        market = self.market or (
            ("coinm" if self.snapshot_pair or "_" in symbol else "usdm")
            if self.snapshot_has_E or (len(tickers) and tickers["ts"][0] > 0) else "spot")
        tick_s, lot_s = KNOWN_FILTERS.get((market, symbol), (None, None))

        ev_mant, ev_nd = cat("mant", np.int64), cat("nd", np.int64)
        tk_mant, tk_nd = cat("tk_mant", np.int64), cat("tk_nd", np.int64)
        if tick_s:
            # every price (events, tickers, dropped diffs) must lie on the symbol's tick grid
            cols = [(cat(p + "mant", np.int64), cat(p + "nd", np.int64), cat(p + "line", np.int64),
                     cat(p + "field", np.int8)) for p in ("", "tk_", "un_")]
            self._check_grid(cols, tick_s, market, symbol)
            dec = decimal_places(tick_s)
            units = [_to_units(m, n, dec, self.path) for m, n in ((ev_mant, ev_nd), (tk_mant, tk_nd))]
        else:
            # exact rescale of every price mantissa to 10**dec units, dec = max significant decimals
            mants, nds = [ev_mant, tk_mant], [ev_nd, tk_nd]
            top = max([int(x.max()) for x in nds if len(x)] + [0])
            units = [shift_exact(m, top - n, self.path) for m, n in zip(mants, nds)]
            dec = top - _common_pow10(units, top)
            shift = top - dec
            units = [u // 10**shift if shift >= 0 else u * 10**(-shift) for u in units]
        events["price"] = units[0]
        if len(tickers):
            tickers["bid_px"], tickers["ask_px"] = units[1][0::2], units[1][1::2]

        scale = 10**dec
        tick = exact_units(tick_s, dec) if tick_s else 1
        lot = float(lot_s) if lot_s else _infer_lot(events["size"][events["kind"] != CLEAR])
        first_ts = int(events["ts"][0]) if len(events) else 0
        date = datetime.fromtimestamp(first_ts / 1e9, tz=UTC).strftime("%Y-%m-%d") if first_ts else ""
        extra = {"market": market, "tick_source": "known" if tick_s else "inferred", "path": str(self.files[0]["path"])}
        if len(self.files) > 1:
            extra["paths"] = [f["path"] for f in self.files]
        inverse = market == "coinm"
        if inverse:
            pair = symbol.partition("_")[0]
            known = KNOWN_CONTRACT_SIZES.get(pair)
            csize = float(contract_size) if contract_size is not None else (known or 0.0)
            extra["contract_size_source"] = ("argument" if contract_size is not None
                                             else "known" if known else "unknown")
        else:
            csize = float(contract_size) if contract_size is not None else 1.0
        inst = Instrument(
            symbol=symbol, tick=tick, price_scale=scale, lot=lot, date=date, levels=0,
            venue=VENUES.get(market, "BINANCE"), extra=extra, contract_size=csize, inverse=inverse,
        )
        diffs = np.array(self.diff_rows, dtype=DIFF_DTYPE) if self.diff_rows else np.zeros(0, DIFF_DTYPE)
        if len(self.offsets) > 1 and len(diffs):   # lines within each diff's own file
            k = np.searchsorted(np.array(self.offsets), diffs["line"], side="left") - 1
            diffs["line"] -= np.array(self.offsets)[np.maximum(k, 0)]
        files = tuple({k: v for k, v in f.items() if not k.startswith("_")} for f in self.files)
        return BinanceData(
            events=events, diffs=diffs, tickers=tickers, instrument=inst, market=market,
            path=str(self.files[0]["path"]), diffs_applied=len(diffs),
            diffs_dropped=self.n_stale + n_unanchored, diffs_stale=self.n_stale,
            diffs_unanchored=n_unanchored, gaps=self.n_gaps, snapshots=self.n_snapshots,
            messages_ignored=self.n_ignored, trades=self.n_trades, files=files,
            boundary_resyncs=self.n_boundary_resyncs, local_ts_backwards=self.n_back,
            local_ts_backwards_first=self.where(self.back_first) if self.n_back else None,
        )

    def _check_grid(self, cols: list, tick_s: str, market: str, symbol: str) -> None:
        """Raise for the earliest price (by line) with more decimals than ``tick_s`` or off its grid."""
        dec = decimal_places(tick_s)
        tick = exact_units(tick_s, dec)
        worst: tuple | None = None
        for mant, nd, line, fcode in cols:
            if not len(mant):
                continue
            excess = nd - dec
            p = 10 ** np.clip(excess, 0, 18)        # mantissas hold <= 18 digits: 10**18 suffices
            more = (excess > 0) & (mant % p != 0)
            units = np.where(excess > 0, mant // p, 0)
            up = excess <= 0
            units[up] = shift_exact(mant[up], -excess[up], self.path)
            off = ~more & (units % tick != 0)
            bad = more | off
            if bad.any():
                i = int(np.flatnonzero(bad)[np.argmin(line[bad])])
                if worst is None or line[i] < worst[0]:
                    worst = (int(line[i]), int(fcode[i]), int(mant[i]), int(nd[i]), bool(more[i]))
        if worst is None:
            return
        line, fcode, mant, nd, more = worst
        value = _format_decimal(mant, nd)
        why = (f"has more decimals than the tick {tick_s} of {market} {symbol} allows" if more
               else f"is not on the tick grid of {market} {symbol} (a multiple of {tick_s})")
        raise DataFormatError(self.path, f"price {value!r} {why}", line=line, field=_FIELDS[fcode][0])


def _format_decimal(mant: int, nd: int) -> str:
    """The decimal string of ``mant * 10**-nd`` with ``nd`` decimals (``61837630, 3`` -> ``"61837.630"``)."""
    s = str(mant).rjust(nd + 1, "0")
    return s[:len(s) - nd] + "." + s[len(s) - nd:] if nd else s


def _to_units(mant: np.ndarray, nd: np.ndarray, dec: int, path: Path) -> np.ndarray:
    """``mant * 10**(dec - nd)`` exactly (the values were checked to have <= ``dec`` significant decimals)."""
    up = dec - nd
    out = np.empty(len(mant), dtype=np.int64)
    pos = up >= 0
    out[pos] = shift_exact(mant[pos], up[pos], path)
    out[~pos] = mant[~pos] // 10 ** np.minimum(-up[~pos], 18)
    return out


def decimal_places(s: str) -> int:
    """Significant decimals of a decimal string ("0.10" -> 1)."""
    return len(s.partition(".")[2].rstrip("0"))


def exact_units(s: str, dec: int) -> int:
    """A decimal string as exact integer units with ``dec`` decimals ("0.10", 2 -> 10)."""
    ip, _, fp = s.partition(".")
    fp = fp.rstrip("0")
    return int(ip + fp.ljust(dec, "0"))


def shift_exact(mant: np.ndarray, up: np.ndarray, path: Path) -> np.ndarray:
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


def _open_lines(p: Path):
    """The file's lines as bytes (gzip by suffix)."""
    return gzip.open(p, "rb") if p.suffix == ".gz" else open(p, "rb")


def _read_file(reader: Reader, p: Path, offset: int) -> int:
    """Feed every line of ``p`` (global numbers ``offset + n``) to ``reader``; returns its line count."""
    reader.begin_file(p, offset)
    n = 0
    try:
        with _open_lines(p) as fh:
            for n, raw in enumerate(fh, 1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DataFormatError(p, f"not UTF-8 text: byte {raw[exc.start:exc.start + 1]!r} at "
                                          f"column {exc.start + 1}", line=offset + n) from None
                if n == 1 and text.startswith("\ufeff"):
                    text = text[1:]           # a UTF-8 byte-order mark is harmless
                reader.feed(offset + n, text)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(p, f"unreadable or truncated file: {exc}", line=offset + n + 1 if n else None) from None
    reader.end_file(n)
    return n


def read_binance(path: str | Path | Sequence[str | Path], *, symbol: str | None = None,
                 market: str | None = None, on_gap: str = "raise",
                 contract_size: float | None = None) -> BinanceData:
    r"""Read a Binance websocket recording -- or consecutive daily recordings as one stream -- and
    diff-sync its depth stream to its REST snapshot.

    Parameters
    ----------
    path : str, pathlib.Path or list
        ``.gz`` or plain text recording, ``<local ns> <json>`` per line; or consecutive daily
        recordings of one symbol, in time order. The book is carried across files: a file after
        the first usually has no snapshot and its first depth diff must continue the previous
        file's update ids (futures ``pu`` = last ``u``; spot ``U`` = last ``u`` + 1). When it does
        not, a REST snapshot later in that file re-syncs the book (a ``CLEAR`` at the gap,
        counted in ``boundary_resyncs``); without one the read fails with a
        :class:`~companion.errors.SequenceGapError` naming both files and the ids.
    symbol : str, optional
        Expected symbol (checked against every message's ``s``); inferred when None.
    market : str, optional
        ``"usdm"`` (USD-M futures rules, ``pu``), ``"coinm"`` (COIN-M futures: the same rules,
        sizes in contracts) or ``"spot"``; inferred from the first depthUpdate when None (``pu``
        present -> futures; then a pair field ``ps`` or a symbol with ``_``, e.g.
        ``BTCUSD_PERP``, -> coinm).
    on_gap : str
        ``"raise"`` (default) raises :class:`~companion.errors.SequenceGapError` at the first gap;
        ``"resync"`` emits a ``CLEAR`` and re-syncs on the next snapshot line.
    contract_size : float, optional
        Overrides the instrument's contract size (COIN-M: USD per contract, default from
        :data:`KNOWN_CONTRACT_SIZES`, 0.0 = unknown; others: base asset per unit, default 1).

    Returns
    -------
    BinanceData
        One event array and one instrument for all files; ``files`` holds per-file counts and
        index ranges. See the module docstring for the event layout and sync rules.

    Raises
    ------
    companion.errors.DataFormatError
        On malformed lines or values, a price off the symbol's tick grid, an empty file, or a
        first file without a snapshot (the message names the file, line and field).
    companion.errors.SequenceGapError
        On a sequence gap with ``on_gap="raise"``, within a file or between two files.
    FileNotFoundError
        When a path is not a file.

    Notes
    -----
    Diff sync (Binance "How to manage a local order book correctly"), with :math:`L` the
    snapshot's ``lastUpdateId``: the first applied diff has :math:`U \le L \le u` (futures) or
    :math:`U \le L + 1 \le u` (spot); every later diff continues the previous one
    (:math:`pu = u_{prev}` on futures, :math:`U = u_{prev} + 1` on spot), across files too. See
    the module docstring for the stale-drop rule.

    Examples
    --------
    >>> d = read_binance("btcusdt_20240808.gz")   # doctest: +SKIP
    >>> d.counters()["gaps"]                       # doctest: +SKIP
    0
    >>> two = read_binance(["spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz"])  # doctest: +SKIP
    >>> [f["boundary"] for f in two.files]         # doctest: +SKIP
    ['first', 'continued']
    """
    if on_gap not in ("raise", "resync"):
        raise ValueError(f"on_gap must be 'raise' or 'resync', got {on_gap!r}")
    if market is not None and market not in MARKETS:
        raise ValueError(f"market must be one of {MARKETS}, got {market!r}")
    if contract_size is not None and not (float(contract_size) > 0 and np.isfinite(contract_size)):
        raise ValueError(f"contract_size must be a positive number, got {contract_size!r}")
    paths = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]
    if not paths:
        raise ValueError("no recording given")
    for p in paths:
        if p.is_dir():
            raise DataFormatError(p, "is a directory, not a recording")
        if not p.is_file():
            raise FileNotFoundError(f"{p}: no such recording")
    reader = Reader(paths[0], symbol, market, on_gap)
    offset = 0
    try:
        for p in paths:
            offset += _read_file(reader, p, offset)
        return reader.finish(contract_size)
    except DataFormatError as exc:
        if len(paths) == 1 or exc.line is None:
            raise
        where, line = reader.locate(exc.line)     # global line -> the file's own line
        raise type(exc)(where, exc.problem, line=line, field=exc.field) from None


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
    found, ok = _ticker_masks(book_best, event_final_u, tickers)
    return int(found.sum()), int(ok.sum())


def _ticker_masks(book_best: np.ndarray, event_final_u: np.ndarray, tickers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per ticker: (compared, matched) boolean masks of :func:`compare_tickers`."""
    book_best = np.asarray(book_best, dtype=np.float64).reshape(-1, 4)
    fu = np.asarray(event_final_u, dtype=np.int64)
    if len(fu) != len(book_best):
        raise ValueError(f"{len(book_best)} book rows but {len(fu)} update ids")
    found = np.zeros(len(tickers), dtype=bool)
    ok = np.zeros(len(tickers), dtype=bool)
    if len(fu) == 0 or len(tickers) == 0:
        return found, ok
    order = np.argsort(fu, kind="stable")
    sorted_u = fu[order]
    pos = np.searchsorted(sorted_u, tickers["u"])
    pos_c = np.minimum(pos, len(fu) - 1)
    found = sorted_u[pos_c] == tickers["u"]
    rows = book_best[order[pos_c[found]]]
    tk = tickers[found]
    ok[found] = ((rows[:, 0] == tk["ask_px"]) & (rows[:, 1] == tk["ask_qty"])
                 & (rows[:, 2] == tk["bid_px"]) & (rows[:, 3] == tk["bid_qty"]))
    return found, ok


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
    path: str | Path | Sequence[str | Path],
    *,
    top_of_book: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
    data: BinanceData | None = None,
) -> dict:
    """Check a diff-synced Binance recording against its own bookTicker stream.

    Reads ``path`` (strict, ``on_gap="raise"``), rebuilds the top of book after every applied diff
    with ``top_of_book``, then :func:`compare_tickers`. Given consecutive daily recordings, the
    book is carried across the files (:func:`read_binance`) and checked against the bookTickers of
    every file.

    Parameters
    ----------
    path : str, pathlib.Path or list
        The recording, or consecutive daily recordings in time order.
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
        ``crossed`` (diffs after which best bid >= best ask), ``tickers`` (count). Given a
        sequence of paths, also ``recording`` as the list of paths, ``boundary_resyncs``,
        ``local_ts_backwards`` (+ ``local_ts_backwards_first``) and ``files``: per file
        ``recording``, ``boundary``, ``lines``, ``events``, ``diffs_applied``, ``diffs_stale``,
        ``trades``, ``tickers``, ``compared``, ``matched``, ``first_update_id``,
        ``last_update_id``, ``local_ts_backwards``.

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
    found, ok = _ticker_masks(best, d.diffs["u"], d.tickers)
    compared, matched = int(found.sum()), int(ok.sum())
    both = (best[:, 0] != DUMMY_ASK) & (best[:, 2] != DUMMY_BID)
    out = {
        "recording": str(path) if isinstance(path, (str, os.PathLike)) else [str(p) for p in path],
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
    if isinstance(path, (str, os.PathLike)):
        return out
    out["boundary_resyncs"] = d.boundary_resyncs
    out["local_ts_backwards"] = d.local_ts_backwards
    out["local_ts_backwards_first"] = d.local_ts_backwards_first
    out["files"] = [
        {"recording": f["path"], "boundary": f["boundary"], "lines": f["lines"], "events": f["events"],
         "diffs_applied": f["diffs"], "diffs_stale": f["diffs_stale"], "trades": f["trades"],
         "tickers": f["tickers"], "compared": int(found[f["ticker_start"]:f["ticker_stop"]].sum()),
         "matched": int(ok[f["ticker_start"]:f["ticker_stop"]].sum()),
         "first_update_id": f["first_update_id"], "last_update_id": f["last_update_id"],
         "local_ts_backwards": f["local_ts_backwards"]}
        for f in d.files
    ]
    return out


