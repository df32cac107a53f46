"""Tardis.dev CSV (``incremental_book_L2``, ``trades``, ``book_snapshot_N``) into the one event dtype.

Tardis normalises exchange feeds into CSV with the columns (Tardis.dev, *Downloadable CSV files*):

* ``incremental_book_L2``: ``exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount``
  -- ``amount`` is the level's new total (0 deletes it); a run of ``is_snapshot=true`` rows after a
  ``false`` one (or at the start) is a fresh full book: the reader emits CLEAR before it, then
  LEVEL_SET per row;
* ``trades``: ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount`` -- ``side`` the
  aggressor (``buy`` +1, ``sell`` -1, ``unknown`` 0), emitted as TRADE (order_id = the id when it is
  an integer, else 0);
* ``book_snapshot_25`` / ``_5``: the four time columns then ``asks[i].price, asks[i].amount,
  bids[i].price, bids[i].amount`` for ``i < N`` (empty when the level is absent).

Timestamps are µs since the epoch: ``ts`` = ``timestamp`` x 1000 (exchange), ``ts_local`` =
``local_timestamp`` x 1000. Prices are decimal strings turned into exact integers at the smallest
power-of-ten scale that holds every price of the file (``price_scale``); the tick is the gcd.

What Tardis L2 cannot tell us: order ids and queue positions (levels only), which change was a
cancel and which a fill, hidden liquidity, and -- for exchanges whose feed is itself snapshots --
anything between two snapshots. Trades carry the aggressor side as the exchange reports it.
"""
from __future__ import annotations

import csv
import gzip
import io
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from companion.errors import DataFormatError
from companion.events import ASK, BID, CLEAR, DUMMY_ASK, DUMMY_BID, EVENT_DTYPE, LEVEL_SET, TRADE, Instrument

__all__ = [
    "TardisData",
    "parse_decimals",
    "read_tardis_incremental",
    "read_tardis_snapshots",
    "read_tardis_trades",
    "verify_tardis",
    "write_tardis_incremental",
    "write_tardis_snapshots",
]

INCREMENTAL_COLUMNS = ("exchange", "symbol", "timestamp", "local_timestamp", "is_snapshot", "side", "price", "amount")
TRADES_COLUMNS = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")


def parse_decimals(values: list[str], path, lines: list[int], fld: str, *, positive: bool = True,
                   allow_zero: bool = False) -> tuple[np.ndarray, int]:
    """Exact integers for decimal strings at a common power-of-ten scale.

    ``"6421.5"`` and ``"6422"`` -> ``[64215, 64220]`` with scale 10: each string is split at the
    point, the scale is :math:`10^{d}` with :math:`d` the most decimals of any value.

    Parameters
    ----------
    values : list of str
        Decimal strings (digits, one optional ``.``, no sign, no exponent).
    path, lines, fld
        For error messages: file, the 1-based line of each value, the field name.
    positive, allow_zero : bool
        Require > 0 (or >= 0 with ``allow_zero``).

    Returns
    -------
    units : numpy.ndarray
        int64 values x scale.
    scale : int
        The power of ten.

    Raises
    ------
    DataFormatError
        A value that is not a plain decimal, is zero / negative against the rule, or too large.

    Examples
    --------
    >>> parse_decimals(["6421.5", "6422"], "f.csv", [2, 3], "price")
    (array([64215, 64220]), 10)
    """
    dec = 0
    parts = []
    for v, ln in zip(values, lines):
        a, dot, b = v.partition(".")
        if not (a.isdigit() or (a == "" and b)) or (dot and not (b.isdigit())) or not a.isascii() or not b.isascii():
            raise DataFormatError(path, f"{fld} {v!r} is not a plain decimal number", line=ln, field=fld)
        b = b.rstrip("0")
        parts.append((a or "0", b))
        dec = max(dec, len(b))
    if dec > 12:
        raise DataFormatError(path, f"{fld} has {dec} decimals (at most 12 are read)", field=fld)
    scale = 10 ** dec
    out = np.empty(len(parts), dtype=np.int64)
    for i, (a, b) in enumerate(parts):
        x = int(a + b.ljust(dec, "0")) if dec else int(a)
        if x >= 2**62:
            raise DataFormatError(path, f"{fld} {values[i]!r} is too large", line=lines[i], field=fld)
        if positive and (x < 0 or (x == 0 and not allow_zero)):
            raise DataFormatError(path, f"{fld} {values[i]!r} must be {'>= 0' if allow_zero else '> 0'}",
                                  line=lines[i], field=fld)
        out[i] = x
    return out, scale


def _text(path: Path) -> str:
    if not path.exists():
        raise DataFormatError(path, "no such file")
    raw = path.read_bytes()
    if path.name.endswith(".gz") or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataFormatError(path, f"unreadable or corrupt gzip stream ({type(e).__name__}: {e})") from None
    if not raw.strip():
        raise DataFormatError(path, "empty file (no header)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataFormatError(path, f"not UTF-8 text ({e})") from None


def _rows(path: Path, expect: tuple[str, ...] | None, prefix: tuple[str, ...] = ()) -> tuple[list[str], list[list[str]]]:
    text = _text(path)
    rd = csv.reader(io.StringIO(text))
    header = next(rd)
    if expect is not None and tuple(header) != expect:
        missing = [c for c in expect if c not in header]
        raise DataFormatError(path, f"header {','.join(header)[:120]!r} is not the Tardis layout "
                              f"({','.join(expect)}); missing: {missing}", line=1, field="header")
    if prefix and tuple(header[:len(prefix)]) != prefix:
        raise DataFormatError(path, f"header must start with {','.join(prefix)}", line=1, field="header")
    rows = list(rd)
    if not rows:
        raise DataFormatError(path, "no data rows after the header", line=2)
    for i, r in enumerate(rows):
        if len(r) != len(header):
            what = "blank line" if not r else f"{len(r)} fields, the header has {len(header)}"
            raise DataFormatError(path, what, line=i + 2, field=header[min(len(r), len(header) - 1)] if r else None)
    return header, rows


def _times(path: Path, rows: list[list[str]], col: int, name: str) -> np.ndarray:
    out = np.empty(len(rows), dtype=np.int64)
    for i, r in enumerate(rows):
        v = r[col]
        if not v.isdigit() or not v.isascii():
            raise DataFormatError(path, f"{name} {v!r} is not an integer number of microseconds", line=i + 2, field=name)
        out[i] = int(v) * 1000
    return out


def _one_market(path: Path, rows: list[list[str]]) -> tuple[str, str]:
    ex, sy = rows[0][0], rows[0][1]
    for i, r in enumerate(rows):
        if r[0] != ex:
            raise DataFormatError(path, f"exchange {r[0]!r} differs from the first row's {ex!r}", line=i + 2, field="exchange")
        if r[1] != sy:
            raise DataFormatError(path, f"symbol {r[1]!r} differs from the first row's {sy!r} (one symbol per file)",
                                  line=i + 2, field="symbol")
    return ex, sy


def _instrument(ex: str, sy: str, units: np.ndarray, scale: int, sizes: np.ndarray, ts: np.ndarray, levels: int) -> Instrument:
    pos = units[units > 0]
    tick = int(np.gcd.reduce(pos)) if pos.size else 1
    lot = 1.0
    if sizes.size:
        nz = sizes[sizes > 0]
        d = 0
        while d < 12 and nz.size and not np.allclose(nz * 10**d, np.round(nz * 10**d), rtol=0, atol=1e-6):
            d += 1
        lot = 10.0 ** -d
    import datetime as _dt

    date = _dt.datetime.fromtimestamp(int(ts[0]) / 1e9, tz=_dt.UTC).strftime("%Y-%m-%d") if ts.size else ""
    return Instrument(symbol=sy, tick=tick, price_scale=scale, lot=lot, date=date, levels=levels,
                      venue=ex.upper(), session_open_ns=int(ts[0]) if ts.size else 0,
                      session_close_ns=int(ts[-1]) if ts.size else 0)


def _check_local_order(path: Path, tsl: np.ndarray) -> None:
    bad = np.flatnonzero(np.diff(tsl) < 0)
    if bad.size:
        raise DataFormatError(path, "local_timestamp goes backwards", line=int(bad[0]) + 3, field="local_timestamp")


def _market_times(path: Path, rows: list[list[str]]) -> tuple[str, str, np.ndarray, np.ndarray]:
    """The columns every Tardis CSV starts with: its one exchange and symbol, and the exchange and
    local times of each row (int64 ns; the local times checked non-decreasing)."""
    ex, sy = _one_market(path, rows)
    ts = _times(path, rows, 2, "timestamp")
    tsl = _times(path, rows, 3, "local_timestamp")
    _check_local_order(path, tsl)
    return ex, sy, ts, tsl


@dataclass
class TardisData:
    """What the Tardis readers return.

    Attributes
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` (empty for snapshots).
    instrument : Instrument
    book : numpy.ndarray or None
        Snapshot files: float64 ``(n, 4N)`` LOBSTER-layout rows in price units.
    ts : numpy.ndarray or None
        Snapshot files: per-row exchange times (ns).
    ts_local : numpy.ndarray or None
        Snapshot files: per-row local receive times (ns).
    line : numpy.ndarray
        1-based source line per event (or per snapshot row).
    stats : dict

    Examples
    --------
    >>> TardisData.__name__
    'TardisData'
    """

    events: np.ndarray
    instrument: Instrument
    book: np.ndarray | None = None
    ts: np.ndarray | None = None
    ts_local: np.ndarray | None = None
    line: np.ndarray | None = None
    stats: dict = field(default_factory=dict)


def read_tardis_incremental(path: str | Path, *, price_scale: int | None = None) -> TardisData:
    """Read a Tardis ``incremental_book_L2`` CSV into CLEAR / LEVEL_SET events.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv`` or ``.csv.gz``.
    price_scale : int, optional
        Price units per currency unit (a power of ten >= the file's own); default the file's.

    Returns
    -------
    TardisData
        ``events`` (a CLEAR before each snapshot run, a LEVEL_SET per row), ``instrument``,
        ``line``, ``stats``.

    Raises
    ------
    DataFormatError
        Naming file, line and field: wrong header, field count, blank line, non-integer time,
        ``local_timestamp`` going backwards, ``is_snapshot`` not true/false, ``side`` not bid/ask,
        price not a positive decimal, amount not a decimal >= 0, a second exchange or symbol.

    Examples
    --------
    >>> import os

    >>> from companion.data import shared_data_dir
    >>> p = os.path.join(str(shared_data_dir()),
    ...                  "crypto/nautilus_trader/tardis/deribit_incremental_book_L2_BTC-PERPETUAL.csv")
    >>> d = read_tardis_incremental(p) if os.path.exists(p) else None
    >>> d is None or (len(d.events), int(d.events["kind"][0]), d.instrument.price_scale) == (16, 12, 10)
    True
    """
    path = Path(path)
    cols = _incremental_fast(path)
    if cols is None:  # the strict pass finds and describes the problem (or agrees with the data)
        cols = _incremental_slow(path)
    ex, sy, ts, tsl, snap, side, px, scale, sizes, ndel = cols
    lines = list(range(2, len(ts) + 2))
    px, scale = _rescale(path, px, scale, price_scale)
    starts = snap & ~np.r_[False, snap[:-1]]
    n = len(ts) + int(starts.sum())
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    pos = np.arange(len(ts)) + np.cumsum(starts)
    ev["kind"] = CLEAR
    ev["kind"][pos] = LEVEL_SET
    ev["side"][pos], ev["price"][pos], ev["size"][pos] = side, px, sizes
    clear_pos = pos[starts] - 1
    ev["ts"][pos], ev["ts_local"][pos] = ts, tsl
    ev["ts"][clear_pos], ev["ts_local"][clear_pos] = ts[starts], tsl[starts]
    line = np.zeros(n, dtype=np.int64)
    line[pos] = lines
    line[clear_pos] = np.array(lines)[starts]
    ins = _instrument(ex, sy, px, scale, sizes, ts, 0)
    return TardisData(events=ev, instrument=ins, line=line,
                      stats={"rows": len(ts), "snapshots": int(starts.sum()), "deletes": int(ndel)})


def _incremental_slow(path: Path):
    """Row-by-row strict parse of an incremental_book_L2 file (raises on the first bad line)."""
    _, rows = _rows(path, INCREMENTAL_COLUMNS)
    ex, sy, ts, tsl = _market_times(path, rows)
    lines = list(range(2, len(rows) + 2))
    snap = []
    side = np.empty(len(rows), dtype=np.int8)
    for i, r in enumerate(rows):
        if r[4] not in ("true", "false"):
            raise DataFormatError(path, f"is_snapshot {r[4]!r} is not true/false", line=i + 2, field="is_snapshot")
        snap.append(r[4] == "true")
        if r[5] == "bid":
            side[i] = BID
        elif r[5] == "ask":
            side[i] = ASK
        else:
            raise DataFormatError(path, f"side {r[5]!r} is not bid/ask", line=i + 2, field="side")
    px, scale = parse_decimals([r[6] for r in rows], path, lines, "price")
    amt, _ = parse_decimals([r[7] for r in rows], path, lines, "amount", allow_zero=True)
    sizes = np.array([float(r[7]) for r in rows])
    return ex, sy, ts, tsl, np.array(snap, dtype=bool), side, px, scale, sizes, int((amt == 0).sum())


_DECIMAL = r"^([0-9]+|[0-9]*\.[0-9]+)$"


def _incremental_fast(path: Path):
    """Vectorised parse with pyarrow; None whenever anything is unusual (the slow pass then decides).

    Every check of :func:`_incremental_slow` is made on whole columns; prices are converted as
    ``round(float(s) * 10**d)``, exact while the result stays below 2**52 (checked), then reduced
    to the smallest power-of-ten scale, which is what the slow pass computes digit by digit.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    try:
        raw = path.read_bytes()
        if path.name.endswith(".gz") or raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        if not raw.startswith(",".join(INCREMENTAL_COLUMNS).encode() + b"\n") or b"\r" in raw[:4096]:
            return None
        names = list(INCREMENTAL_COLUMNS)
        t = pacsv.read_csv(pa.py_buffer(raw), read_options=pacsv.ReadOptions(use_threads=False),
                           parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
                           convert_options=pacsv.ConvertOptions(
                               column_types={c: pa.string() for c in names}, strings_can_be_null=False,
                               quoted_strings_can_be_null=False))
    except Exception:  # noqa: BLE001 - any parse problem: the strict pass describes it
        return None
    n = t.num_rows
    if n == 0 or t.column_names != names or raw.count(b"\n") - (0 if raw.endswith(b"\n") else -1) != n + 1:
        return None
    col = {c: t.column(c) for c in names}
    for c in ("exchange", "symbol"):
        if pc.count_distinct(col[c]).as_py() != 1:
            return None
    for c in ("timestamp", "local_timestamp"):
        if not pc.all(pc.match_substring_regex(col[c], r"^[0-9]{1,18}$")).as_py():
            return None
    if not pc.all(pc.is_in(col["is_snapshot"], value_set=pa.array(["true", "false"]))).as_py():
        return None
    if not pc.all(pc.is_in(col["side"], value_set=pa.array(["bid", "ask"]))).as_py():
        return None
    for c in ("price", "amount"):
        if not pc.all(pc.match_substring_regex(col[c], _DECIMAL)).as_py():
            return None
    ts = pc.cast(col["timestamp"], pa.int64()).to_numpy() * 1000
    tsl = pc.cast(col["local_timestamp"], pa.int64()).to_numpy() * 1000
    if np.any(np.diff(tsl) < 0):
        return None
    frac = pc.utf8_length(pc.replace_substring_regex(col["price"], r"^[0-9]*\.?", "")).to_numpy()
    has_dot = pc.match_substring(col["price"], ".").to_numpy(zero_copy_only=False)
    dec = int(np.where(has_dot, frac, 0).max())
    if dec > 12:
        return None
    pf = pc.cast(col["price"], pa.float64()).to_numpy()
    units = np.round(pf * 10.0**dec)
    if units.max() >= 2.0**52 or units.min() <= 0:
        return None
    px = units.astype(np.int64)
    while dec > 0 and not np.any(px % 10):
        px //= 10
        dec -= 1
    sizes = pc.cast(col["amount"], pa.float64()).to_numpy()
    snap = pc.equal(col["is_snapshot"], "true").to_numpy(zero_copy_only=False)
    side = np.where(pc.equal(col["side"], "bid").to_numpy(zero_copy_only=False), BID, ASK).astype(np.int8)
    return (col["exchange"][0].as_py(), col["symbol"][0].as_py(), ts, tsl, snap, side, px, 10**dec, sizes,
            int((sizes == 0).sum()))


def _rescale(path: Path, units: np.ndarray, scale: int, price_scale: int | None) -> tuple[np.ndarray, int]:
    if price_scale is None:
        return units, scale
    k = round(math.log10(price_scale)) if price_scale > 0 else -1
    if price_scale <= 0 or 10**k != price_scale or price_scale < scale:
        raise DataFormatError(path, f"price_scale {price_scale} must be a power of ten >= the file's {scale}", field="price")
    return units * (price_scale // scale), price_scale


def read_tardis_trades(path: str | Path, *, price_scale: int | None = None) -> TardisData:
    """Read a Tardis ``trades`` CSV into TRADE events (``side`` = aggressor, ``buy`` +1).

    Parameters
    ----------
    path, price_scale
        As for :func:`read_tardis_incremental` (here a ``trades`` file).

    Returns
    -------
    TardisData
        ``events`` (one TRADE per line), ``instrument``, ``line``, ``stats``.

    Raises
    ------
    DataFormatError
        As :func:`read_tardis_incremental`; ``side`` must be buy / sell / unknown, ``amount`` > 0.

    Examples
    --------
    >>> import os

    >>> from companion.data import shared_data_dir
    >>> p = os.path.join(str(shared_data_dir()),
    ...                  "crypto/nautilus_trader/tardis/bitmex_trades_XBTUSD.csv")
    >>> d = read_tardis_trades(p) if os.path.exists(p) else None
    >>> d is None or (len(d.events), int(d.events["side"][0]), float(d.events["size"][0])) == (10, -1, 2152.0)
    True
    """
    path = Path(path)
    _, rows = _rows(path, TRADES_COLUMNS)
    ex, sy, ts, tsl = _market_times(path, rows)
    lines = list(range(2, len(rows) + 2))
    sides = {"buy": BID, "sell": ASK, "unknown": 0}
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, r in enumerate(rows):
        if r[5] not in sides:
            raise DataFormatError(path, f"side {r[5]!r} is not buy/sell/unknown", line=i + 2, field="side")
        ev["side"][i] = sides[r[5]]
        ev["order_id"][i] = int(r[4]) if r[4].isdigit() and len(r[4]) < 18 else 0
    px, scale = parse_decimals([r[6] for r in rows], path, lines, "price")
    parse_decimals([r[7] for r in rows], path, lines, "amount")
    px, scale = _rescale(path, px, scale, price_scale)
    ev["kind"] = TRADE
    ev["price"] = px
    ev["size"] = [float(r[7]) for r in rows]
    ev["ts"], ev["ts_local"] = ts, tsl
    ins = _instrument(ex, sy, px, scale, ev["size"], ts, 0)
    return TardisData(events=ev, instrument=ins, line=np.array(lines, dtype=np.int64), stats={"rows": len(rows)})


def read_tardis_snapshots(path: str | Path, *, price_scale: int | None = None) -> TardisData:
    """Read a Tardis ``book_snapshot_N`` CSV into LOBSTER-layout book rows.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv`` or ``.csv.gz`` with ``asks[i].price, asks[i].amount, bids[i].price, bids[i].amount``.
    price_scale : int, optional
        As for :func:`read_tardis_incremental`.

    Returns
    -------
    TardisData
        ``book`` float64 ``(n, 4N)`` (empty levels: dummy prices, size 0), ``ts``, ``ts_local``.

    Raises
    ------
    DataFormatError
        Wrong header, field count, times, a level with a price but no amount (or the reverse),
        non-decimal values, levels out of order or a crossed book.

    Examples
    --------
    >>> import os

    >>> from companion.data import shared_data_dir
    >>> p = os.path.join(str(shared_data_dir()),
    ...                  "crypto/nautilus_trader/tardis/binance-futures_book_snapshot_25_BTCUSDT.csv")
    >>> d = read_tardis_snapshots(p) if os.path.exists(p) else None
    >>> d is None or (d.book.shape, d.instrument.levels) == ((10, 100), 25)
    True
    """
    path = Path(path)
    header, rows = _rows(path, None, prefix=("exchange", "symbol", "timestamp", "local_timestamp"))
    L = (len(header) - 4) // 4
    expect = tuple(f"{s}[{i}].{f}" for i in range(L) for s in ("asks", "bids") for f in ("price", "amount"))
    if L < 1 or tuple(header[4:]) != expect:
        raise DataFormatError(path, "columns after the times must be asks[i].price, asks[i].amount, "
                              "bids[i].price, bids[i].amount for i = 0..N-1", line=1, field="header")
    ex, sy, ts, tsl = _market_times(path, rows)
    n = len(rows)
    vals, lines, where = [], [], []
    for i, r in enumerate(rows):
        for c in range(4, 4 + 4 * L, 2):
            p, a = r[c], r[c + 1]
            if (p == "") != (a == ""):
                raise DataFormatError(path, "a level with a price and no amount (or the reverse)", line=i + 2,
                                      field=header[c + (p != "")])
            if p:
                vals.append(p)
                lines.append(i + 2)
                where.append((i, c - 4, a))
    px, scale = parse_decimals(vals, path, lines, "price") if vals else (np.zeros(0, np.int64), 1)
    if vals:
        parse_decimals([w[2] for w in where], path, lines, "amount")
    px, scale = _rescale(path, px, scale, price_scale)
    book = np.zeros((n, 4 * L), dtype=np.float64)
    book[:, 0::4] = DUMMY_ASK
    book[:, 2::4] = DUMMY_BID
    for (i, c, a), p in zip(where, px.tolist()):
        book[i, c] = p
        book[i, c + 1] = float(a)
    a, b = book[:, 0::4], book[:, 2::4]
    bad = np.any((np.diff(a, axis=1) <= 0) & (a[:, 1:] != DUMMY_ASK), axis=1)
    bad |= np.any((np.diff(b, axis=1) >= 0) & (b[:, 1:] != DUMMY_BID), axis=1)
    bad |= np.any((a[:, :-1] == DUMMY_ASK) & (a[:, 1:] != DUMMY_ASK), axis=1)
    bad |= np.any((b[:, :-1] == DUMMY_BID) & (b[:, 1:] != DUMMY_BID), axis=1)
    bad |= (a[:, 0] != DUMMY_ASK) & (b[:, 0] != DUMMY_BID) & (a[:, 0] <= b[:, 0])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(path, "levels out of order, a gap between levels, or a crossed book", line=i + 2,
                              field="asks/bids")
    ins = _instrument(ex, sy, px, scale, np.zeros(0), ts, L)
    return TardisData(events=np.zeros(0, EVENT_DTYPE), instrument=ins, book=book, ts=ts, ts_local=tsl,
                      line=np.arange(2, n + 2, dtype=np.int64), stats={"rows": n, "levels": L})


# --------------------------------------------------------------------------------------------
# writing (for round trips and the converter) and verification
# --------------------------------------------------------------------------------------------
def format_units(units: int, scale: int) -> str:
    """Exact decimal string of ``units / scale`` (``scale`` a power of ten), trailing zeros cut.

    Examples
    --------
    >>> format_units(6168600, 100), format_units(7, 1), format_units(5, 1000)
    ('61686', '7', '0.005')
    """
    if scale == 1:
        return str(units)
    d = len(str(scale)) - 1
    s = f"{units // scale}.{units % scale:0{d}d}".rstrip("0").rstrip(".")
    return s


def format_size(x: float) -> str:
    """A size as written in CSV: an integer without ``.0``, else Python's shortest repr.

    Examples
    --------
    >>> format_size(3.0), format_size(0.125)
    ('3', '0.125')
    """
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def write_tardis_incremental(path: str | Path, events: np.ndarray, instrument: Instrument, *,
                             exchange: str = "synthetic", ts_base_ns: int = 0) -> Path:
    """Write events as a Tardis ``incremental_book_L2`` CSV: one row per changed level.

    The full-depth aggregated book is tracked; every event that changes a level writes
    ``side, price, new amount`` (CLEAR starts a snapshot run: the rows after it until the next
    non-LEVEL_SET event are flagged ``is_snapshot=true``). Times are written in µs
    (``(ts + ts_base_ns) // 1000``).

    Parameters
    ----------
    path : str or pathlib.Path
        Output CSV.
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` (LOBSTER kinds, LEVEL_SET, CLEAR).
    instrument : Instrument
        Symbol and price scale (a power of ten).
    exchange : str
        The ``exchange`` column.
    ts_base_ns : int
        Added to every time (e.g. midnight of the day for times since midnight).

    Returns
    -------
    pathlib.Path
        ``path``: a header line, then a row per changed level.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from companion.events import EVENT_DTYPE, Instrument
    >>> ev = np.zeros(2, EVENT_DTYPE); ev["kind"], ev["side"], ev["price"], ev["size"] = 1, [1, 1], 1000, [5, 2]
    >>> p = write_tardis_incremental(os.path.join(tempfile.mkdtemp(), "x.csv"), ev, Instrument("X", 1, 10000))
    >>> open(p).read().splitlines()[2]
    'synthetic,X,0,0,false,bid,0.1,7'
    """
    from companion.events import ADD, CANCEL, DELETE, EXEC_VISIBLE

    path = Path(path)
    book = {BID: {}, ASK: {}}
    out = [",".join(INCREMENTAL_COLUMNS)]
    in_snap = False
    sc = instrument.price_scale
    for e in events.tolist():
        ts, tsl, k, s, p, q = e[0], e[1], e[2], e[3], e[4], e[5]
        if k == CLEAR:
            book = {BID: {}, ASK: {}}
            in_snap = True
            continue
        if k == ADD:
            new = book[s].get(p, 0.0) + q
        elif k in (CANCEL, DELETE, EXEC_VISIBLE):
            new = book[s].get(p, 0.0) - q
        elif k == LEVEL_SET:
            new = q
        else:
            in_snap = False
            continue
        if k != LEVEL_SET:
            in_snap = False
        new = max(new, 0.0)
        if new:
            book[s][p] = new
        else:
            book[s].pop(p, None)
        out.append(f"{exchange},{instrument.symbol},{(ts + ts_base_ns) // 1000},{(tsl + ts_base_ns) // 1000},"
                   f"{'true' if in_snap else 'false'},{'bid' if s == BID else 'ask'},{format_units(p, sc)},{format_size(new)}")
    path.write_text("\n".join(out) + "\n")
    return path


def write_tardis_snapshots(path: str | Path, book: np.ndarray, ts: np.ndarray, instrument: Instrument, *,
                           exchange: str = "synthetic", ts_base_ns: int = 0) -> Path:
    """Write LOBSTER-layout book rows as a Tardis ``book_snapshot_N`` CSV (N = columns / 4).

    Parameters
    ----------
    path : str or pathlib.Path
        Output CSV.
    book : numpy.ndarray
        ``(n, 4N)`` rows in price units.
    ts : numpy.ndarray
        int64 ns per row (``timestamp`` = ``local_timestamp`` = ``(ts + ts_base_ns) // 1000``).
    instrument : Instrument
    exchange, ts_base_ns : optional
        As for :func:`write_tardis_incremental`.

    Returns
    -------
    pathlib.Path
        ``path``: a header line, then a row per book row.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from companion.events import Instrument
    >>> p = write_tardis_snapshots(os.path.join(tempfile.mkdtemp(), "s.csv"), np.array([[1010., 2, 1000, 5]]),
    ...                            np.array([0]), Instrument("X", 1, 10000))
    >>> read_tardis_snapshots(p).book.tolist()
    [[101.0, 2.0, 100.0, 5.0]]
    """
    path = Path(path)
    L = book.shape[1] // 4
    head = ["exchange", "symbol", "timestamp", "local_timestamp"] + [
        f"{s}[{i}].{f}" for i in range(L) for s in ("asks", "bids") for f in ("price", "amount")]
    out = [",".join(head)]
    sc = instrument.price_scale
    for r, t in zip(book.tolist(), np.asarray(ts).tolist()):
        cells = [exchange, instrument.symbol, str((t + ts_base_ns) // 1000), str((t + ts_base_ns) // 1000)]
        for j in range(0, 4 * L, 2):
            p, q = r[j], r[j + 1]
            cells += ["", ""] if q == 0 else [format_units(int(p), sc), format_size(q)]
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n")
    return path


def verify_tardis(incremental_path: str | Path, snapshot_path: str | Path) -> dict:
    """Rebuild the book from ``incremental_book_L2`` and compare it with ``book_snapshot_N`` rows.

    Each snapshot row is compared with the rebuilt top-N book after every incremental row whose
    ``timestamp`` is at or before the snapshot's (Tardis stamps a snapshot with the time of the last
    update it includes), for snapshots inside the incremental stream's span, when both files are
    of the same exchange and symbol. Levels beyond the depth the incremental stream has seen are
    not determinable; the comparison is exact on prices and sizes.

    Parameters
    ----------
    incremental_path, snapshot_path : str or pathlib.Path
        The two Tardis CSV files.

    Returns
    -------
    dict
        ``compared``, ``matched``, ``first_mismatch_line`` (snapshot file line), ``same_market``,
        ``ok`` (every compared snapshot matched; nothing compared is not a failure but is reported).

    Examples
    --------
    >>> import os

    >>> from companion.data import shared_data_dir
    >>> d = os.path.join(str(shared_data_dir()), "crypto/nautilus_trader/tardis")
    >>> r = verify_tardis(f"{d}/deribit_incremental_book_L2_BTC-PERPETUAL.csv",
    ...                   f"{d}/binance-futures_book_snapshot_25_BTCUSDT.csv") if os.path.isdir(d) else None
    >>> r is None or (r["same_market"], r["compared"]) == (False, 0)
    True
    """
    from companion.book import replay

    inc = read_tardis_incremental(incremental_path)
    snp = read_tardis_snapshots(snapshot_path)
    scale = max(inc.instrument.price_scale, snp.instrument.price_scale)
    if inc.instrument.price_scale != scale:
        inc = read_tardis_incremental(incremental_path, price_scale=scale)
    if snp.instrument.price_scale != scale:
        snp = read_tardis_snapshots(snapshot_path, price_scale=scale)
    same = (inc.instrument.venue == snp.instrument.venue and inc.instrument.symbol == snp.instrument.symbol)
    L = snp.instrument.levels
    compared = matched = 0
    first = None
    crossed = 0
    if same and len(inc.events):
        rows = replay(inc.events, L)
        ts = inc.events["ts"]
        a, b = rows[:, 0], rows[:, 2]
        crossed = int(np.sum((a != DUMMY_ASK) & (b != DUMMY_BID) & (a <= b)))
        for j in range(len(snp.book)):
            t = snp.ts[j]
            if t < ts[0] or t > ts[-1]:
                continue
            k = int(np.searchsorted(ts, t, side="right")) - 1
            compared += 1
            if np.array_equal(rows[k], snp.book[j]):
                matched += 1
            elif first is None:
                first = int(snp.line[j])
    return {"exchange": inc.instrument.venue.lower(), "symbol": inc.instrument.symbol,
            "snapshot_market": f"{snp.instrument.venue.lower()} {snp.instrument.symbol}", "same_market": bool(same),
            "incremental_rows": inc.stats["rows"], "snapshots": len(snp.book), "depth": L,
            "compared": compared, "matched": matched, "first_mismatch_line": first, "crossed_rows": crossed,
            "ok": bool(matched == compared)}

