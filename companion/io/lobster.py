"""Strict reader for LOBSTER message and orderbook files (Huang & Polak 2011, SSRN 1977207).

A LOBSTER day comes as two header-less CSV files named
``TICKER_YYYY-MM-DD_STARTMS_ENDMS_message_L.csv`` and ``..._orderbook_L.csv`` (optionally ``.gz``):

* message file, ``N x 6``: ``time, type, order_id, size, price, direction`` -- ``time`` in
  seconds after midnight with up to 9 decimals, ``price`` in dollars x 10000, ``direction``
  +1 buy / -1 sell limit order;
* orderbook file, ``N x 4L``: ``ask_price_1, ask_size_1, bid_price_1, bid_size_1, ask_price_2, ...``;
  row *i* is the book **after** message *i*; an empty level holds the dummy price
  ``+9999999999`` (ask) / ``-9999999999`` (bid) with size 0.

:func:`read_lobster` maps the messages onto :data:`companion.events.EVENT_DTYPE`
(``ts = ts_local`` = exact integer nanoseconds since midnight, ``kind`` = type, ``side`` =
direction) and the orderbook onto a float64 ``(N, 4L)`` array (integers, exact in float64).

Speed: one numba pass over the raw bytes parses every field into int64 (the time decimal string
is converted to nanoseconds digit by digit, so ``34200.18960767`` is exactly
``34200189607670`` ns, with no float rounding), then numba checks validate every row. A plain
(uncompressed, regular) file is streamed in blocks of whole lines through one reused 1 MB buffer
per thread, so the text is never held whole: reading needs the parsed arrays and little else
(``.gz`` files and pipes are read whole). Files of 4 MB or more are parsed in two pieces in
parallel. Only when the fast pass flags a problem does a slow pure-Python pass re-read the
offending line to describe it. Every problem raises :class:`companion.errors.DataFormatError`
naming the file, the 1-based line and the field.

What is checked (all rows, always)
----------------------------------
* both files: a readable file, not a directory (``.gz``: a complete, uncorrupted gzip stream),
  non-empty, exactly the expected number of comma-separated integer fields per line, no blank
  lines between rows; ``\\r\\n`` line ends, a leading UTF-8 byte-order mark and blank lines after
  the last row are accepted (and dropped); an error quotes at most ~200 characters of a field;
* message ``time``: digits with an optional ``.`` and up to 9 decimals; decimals 10 to 18 are
  accepted only as float noise (the time lies within 0.02 ns of a whole nanosecond, e.g.
  ``34201.123456789004`` as printed by a float64 writer) and rounded to the nanosecond, any other
  digit beyond the 9th decimal is an error (see :func:`time_to_ns`);
* truncated last line: a file that does not end in a newline is accepted only if its last line is
  complete; a short last line, an empty or cut field (e.g. ``-`` of ``-1``) is reported as
  truncated. (A message line always ends in ``direction`` = ``1``/``-1``, which cannot be cut to a
  valid value, so a cut message file is always caught; an orderbook line cut inside the digits of
  its last size cannot be told from a complete one -- the row-count check then still holds.)
* messages: ``type`` in 1..7; ``time`` non-decreasing and inside the file name's window;
  ``direction`` in {-1, +1} (type 7 also 0); ``size > 0`` for types 1-5, ``>= 0`` for 6-7;
  ``order_id >= 0`` except type 6 (LOBSTER gives crosses negative pseudo ids -1..-4);
  prices > 0 on the tick grid (``price % tick == 0``) for types 1-4 and 6; type 5 (hidden
  executions, which include NASDAQ midpoint-peg fills) on the half-tick grid; type 7 (halt)
  prices are the flags -1 halt / 0 quote / 1 resume and are never grid-checked;
* orderbook: ``4L`` columns with ``L`` from the file name (or ``levels=``); values within
  :math:`2^{53}` (held in float64, never rounded); each level either a real level (price > 0 on
  the tick grid, size > 0, both below the placeholder 9999999999) or the side's dummy price with
  size 0; real levels packed before empty ones, asks strictly increasing and bids strictly
  decreasing; no crossed book (best ask <= best bid with both sides non-empty); same row count as
  the messages;
* message sizes and prices below the placeholder 9999999999 (an ask at 10000000000 would read as
  an empty level);
* the orderbook agrees with the messages: message *t* applied to row *t-1* gives row *t* on every
  level it determines, checked on every 8th row and the last row;
* order audit: a duplicate order id on an add, a cancel/delete/execution of an id not resting, a
  cancel or execution larger than the resting size, a delete of another size, a reduction at
  another price or side -- errors on a full-depth day (the book starts empty and every order is
  seen: the synthetic day), counted in ``LobsterData.anomalies`` on a truncated-depth day
  (LOBSTER level-N files: orders beyond the N visible levels or resting since before the
  session; see :func:`read_lobster`). Messages with order id 0 carry no order (LOBSTER's hidden
  executions; files converted from level-based formats, which have no ids) and are not audited.

File names that do not follow LOBSTER's pattern are readable too: pass ``ticker=``, ``date=``
(``YYYY-MM-DD``), ``levels=`` and ``session_ms=(start_ms, end_ms)`` as needed. Defaults when
neither the name nor a keyword gives them: ticker = file name up to the first ``_`` or ``.``,
date unknown (frames then use a TimedeltaIndex since midnight), levels = orderbook columns / 4
(0 without an orderbook), session = NASDAQ regular hours 09:30-16:00 without a window check.
Keywords override the file name.
"""
from __future__ import annotations

import gzip
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from numba import njit

from companion import events
from companion.book import OrderAnomalies, audit_orders, order_anomalies
from companion.book.kernels import first_bad_transition_nb
from companion.errors import DataFormatError
from companion.events import Dataset, Instrument, time_index

__all__ = ["LobsterData", "read_lobster", "parse_lobster_name", "time_to_ns", "MESSAGE_FIELDS", "orderbook_fields"]

MESSAGE_FIELDS = ("time", "type", "order_id", "size", "price", "direction")
LOBSTER_TICK = 100          #: $0.01 in LOBSTER price units
LOBSTER_PRICE_SCALE = 10000  #: LOBSTER price units per dollar
NASDAQ_OPEN_MS = 34_200_000   #: 09:30:00 in ms after midnight
NASDAQ_CLOSE_MS = 57_600_000  #: 16:00:00 in ms after midnight
_MS = 1_000_000  # ns per ms
PLACEHOLDER = int(events.DUMMY_ASK)  #: 9999999999: real prices and sizes lie strictly below it

_NAME = re.compile(
    r"^(?P<ticker>[A-Za-z0-9.^-]+?)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<start>\d+)_(?P<end>\d+)_"
    r"(?P<what>message|orderbook)_(?P<levels>\d+)\.csv(?:\.gz)?$"
)


def orderbook_fields(levels: int) -> tuple[str, ...]:
    """Column names of a LOBSTER orderbook file.

    Parameters
    ----------
    levels : int
        Number of levels :math:`L`.

    Returns
    -------
    tuple of str
        :math:`4L` names ``ask_price_1, ask_size_1, bid_price_1, bid_size_1, ask_price_2, ...``.

    Examples
    --------
    >>> orderbook_fields(1)
    ('ask_price_1', 'ask_size_1', 'bid_price_1', 'bid_size_1')
    """
    return tuple(f"{s}_{k}" for k in range(1, levels + 1) for s in ("ask_price", "ask_size", "bid_price", "bid_size"))


def parse_lobster_name(name: str | Path) -> dict | None:
    """Parse ``TICKER_YYYY-MM-DD_STARTMS_ENDMS_{message|orderbook}_L.csv[.gz]``.

    Parameters
    ----------
    name : str or pathlib.Path
        A file name or path (only the name is read).

    Returns
    -------
    dict or None
        ``{"ticker", "date", "start_ms", "end_ms", "what", "levels"}`` (times in ms after midnight),
        or None when the name does not follow the pattern.

    References
    ----------
    LOBSTER ReadMe (Huang & Polak 2011), file naming convention.

    Examples
    --------
    >>> parse_lobster_name("AAPL_2012-06-21_34200000_57600000_message_1.csv")["levels"]
    1
    >>> parse_lobster_name("notes.txt") is None
    True
    """
    m = _NAME.match(Path(name).name)
    if m is None:
        return None
    return {
        "ticker": m["ticker"], "date": m["date"], "start_ms": int(m["start"]), "end_ms": int(m["end"]),
        "what": m["what"], "levels": int(m["levels"]),
    }


# --------------------------------------------------------------------------------------------
# fast path: one numba pass over the raw bytes
# --------------------------------------------------------------------------------------------
_OK, _TOO_FEW, _TOO_MANY, _BAD_NUMBER, _TOO_MANY_DECIMALS, _TOO_LONG, _NOT_NOISE, _TOO_BIG = 0, 1, 2, 3, 4, 5, 6, 7
MAX_DECIMALS = 18        #: a time may carry up to this many decimals (digits 10.. must be float noise)
NOISE_NS = 0.02          #: digits beyond the 9th decimal may move a time by at most this many ns
FLOAT_EXACT = 1 << 53    #: orderbook values are held in float64: |value| <= 2**53 is exact
NO_LIMIT = (1 << 63) - 1
_PIECES = 2                   # parallel parse of large files: pieces cut at line ends
_PIECE_MIN_BYTES = 4 << 20    # ... for files of at least this many bytes
_PARALLEL_MIN_ROWS = 1 << 16  # row checks of larger arrays run on two halves at once


@njit(cache=True, nogil=True)
def count_lines_nb(buf: np.ndarray) -> int:
    """Number of lines in a byte buffer.

    Parameters
    ----------
    buf : numpy.ndarray
        uint8 bytes.

    Returns
    -------
    int
        Newlines, plus one for a last line without a newline.
    """
    n = buf.size
    count = 0
    for i in range(n):
        if buf[i] == 10:
            count += 1
    if n > 0 and buf[n - 1] != 10:
        count += 1
    return count


@njit(cache=True, nogil=True)
def parse_int_csv_nb(buf: np.ndarray, out: np.ndarray, time_col: int,
                     max_abs: int = NO_LIMIT) -> tuple[int, int, int, int]:
    r"""Parse comma-separated integer fields of ``buf`` (uint8 bytes) into ``out`` (rows x cols).

    Every field is ``-?[0-9]{1,18}`` with absolute value at most ``max_abs``, except column
    ``time_col`` (-1: none), which is a LOBSTER time ``[0-9]{1,9}(\.[0-9]{1,18})?`` in seconds,
    stored as exact integer nanoseconds :math:`t_{ns} = s \cdot 10^9 + f \cdot 10^{9 - \ell(f)}`
    (``s`` integer part, ``f`` the first 9 fraction digits, :math:`\ell(f)` their count), with no
    float rounding. Digits beyond the 9th decimal (``e``, ``m`` of them) are accepted only as float
    noise: the time must lie within :data:`NOISE_NS` = 0.02 ns of a whole nanosecond,
    :math:`50 \min(e, 10^m - e) \le 10^m`, and is then rounded to it (``34201.123456789004`` ->
    ``34201123456789`` ns). 0.02 ns exceeds half the float64 spacing of any time of day
    (:math:`2^{-37}` s = 0.0073 ns below :math:`2^{17}` s) plus the rounding of an 11-decimal
    print (0.005 ns), so every print of a 9-decimal value passes; ``34201.1234567891`` (0.1 ns off)
    does not. Lines end in ``\n`` or ``\r\n``; the last line may lack it.

    Parameters
    ----------
    buf : numpy.ndarray
        uint8 bytes of the whole file.
    out : numpy.ndarray
        int64, or float64 (exact for the absolute values below :math:`2^{53}` of LOBSTER files),
        shape ``(rows, cols)``; written in place.
    time_col : int
        Index of the time column, or -1.
    max_abs : int
        Largest absolute value of an integer field (``2**53`` for a float64 ``out``: larger values
        would be rounded).

    Returns
    -------
    tuple of int
        ``(status, row, col, line_start_byte)``; status 0 means every row parsed (``row`` = rows
        parsed), else the code of the first problem found.
    """
    n = buf.size
    ncols = out.shape[1]
    pos = 0
    row = 0
    while pos < n:
        line_start = pos
        for col in range(ncols):
            neg = False
            if pos < n and buf[pos] == 45:  # '-'
                if col == time_col:
                    return _BAD_NUMBER, row, col, line_start
                neg = True
                pos += 1
            val = 0
            nd = 0
            maxd = 9 if col == time_col else 18
            while pos < n:
                c = buf[pos]
                if c < 48 or c > 57:
                    break
                if nd >= maxd:
                    return _TOO_LONG, row, col, line_start
                val = val * 10 + (c - 48)
                nd += 1
                pos += 1
            if nd == 0:
                return _BAD_NUMBER, row, col, line_start
            if col == time_col:
                frac = 0
                nf = 0
                extra = 0
                p10 = 1
                if pos < n and buf[pos] == 46:  # '.'
                    pos += 1
                    while pos < n:
                        c = buf[pos]
                        if c < 48 or c > 57:
                            break
                        if nf >= 18:
                            return _TOO_MANY_DECIMALS, row, col, line_start
                        if nf < 9:
                            frac = frac * 10 + (c - 48)
                        else:
                            extra = extra * 10 + (c - 48)
                            p10 *= 10
                        nf += 1
                        pos += 1
                    if nf == 0:
                        return _BAD_NUMBER, row, col, line_start
                for _ in range(9 - min(nf, 9)):
                    frac *= 10
                if p10 > 1:  # digits beyond the ns: float noise within NOISE_NS of a whole ns
                    if 50 * min(extra, p10 - extra) > p10:
                        return _NOT_NOISE, row, col, line_start
                    if 2 * extra > p10:
                        frac += 1
                val = val * 1_000_000_000 + frac
            # field terminator
            if col < ncols - 1:
                if pos < n and buf[pos] == 44:  # ','
                    pos += 1
                elif pos >= n or buf[pos] == 10 or buf[pos] == 13:
                    return _TOO_FEW, row, col, line_start
                else:
                    return _BAD_NUMBER, row, col, line_start
            else:
                if pos >= n:
                    pass
                elif buf[pos] == 10:
                    pos += 1
                elif buf[pos] == 13 and pos + 1 < n and buf[pos + 1] == 10:
                    pos += 2
                elif buf[pos] == 13 and pos + 1 == n:  # a last line ending in a bare \r
                    pos += 1
                elif buf[pos] == 44:
                    return _TOO_MANY, row, col, line_start
                else:
                    return _BAD_NUMBER, row, col, line_start
            if val > max_abs and col != time_col:
                return _TOO_BIG, row, col, line_start
            out[row, col] = -val if neg else val
        row += 1
    return _OK, row, 0, 0


# --------------------------------------------------------------------------------------------
# slow path: pure-Python line parser, run only to describe a line the fast path rejected
# (also the reference implementation the tests compare the kernel against)
# --------------------------------------------------------------------------------------------
_INT = re.compile(r"-?[0-9]{1,18}")
_TIME = re.compile(r"([0-9]{1,9})(?:\.([0-9]{1,18}))?")
_QUOTE_MAX = 200  # an error message quotes at most this many characters of a field


def _q(s: str) -> str:
    """``repr`` of a field for an error message, cut to about :data:`_QUOTE_MAX` characters."""
    if len(s) <= _QUOTE_MAX:
        return repr(s)
    return f"{s[:_QUOTE_MAX - 20]!r}... ({len(s):,} characters)"


class _LineError(Exception):
    def __init__(self, col: int, problem: str, count: bool = False):
        super().__init__(problem)
        self.col = col          # 0-based column of the problem
        self.problem = problem
        self.count = count      # a wrong number of fields


def time_to_ns(s: str) -> int:
    """A LOBSTER time string (seconds after midnight) as exact integer nanoseconds.

    The pure-Python rule of ``parse_int_csv_nb``: up to 9 integer digits and 18 decimals;
    decimals beyond the 9th must be float noise (the time lies within :data:`NOISE_NS` = 0.02 ns
    of a whole nanosecond) and are rounded to the nearest ns.

    Parameters
    ----------
    s : str
        E.g. ``"34201.123456789004"``.

    Returns
    -------
    int
        Nanoseconds since midnight.

    Raises
    ------
    ValueError
        When ``s`` is not such a time (the message says why).

    Examples
    --------
    >>> time_to_ns("34201.123456789004"), time_to_ns("34200.18960767")
    (34201123456789, 34200189607670)
    >>> time_to_ns("34201.1234567891")
    Traceback (most recent call last):
    ...
    ValueError: time '34201.1234567891' has digits beyond the 9th decimal that are not float noise (0.1 ns from the nearest whole ns; at most 0.02 ns is accepted)
    """
    m = _TIME.fullmatch(s)
    if m is None:
        if re.fullmatch(r"[0-9]{1,9}\.[0-9]{19,}", s):
            raise ValueError(f"time {_q(s)} has more than {MAX_DECIMALS} decimals")
        raise ValueError(f"{_q(s)} is not a time in seconds (digits with at most 9 decimals, "
                         "or float noise beyond them)")
    whole, frac = m.group(1), m.group(2) or ""
    ns = int(whole) * 1_000_000_000 + int((frac[:9] + "000000000")[:9])
    if len(frac) > 9:
        extra, p10 = int(frac[9:]), 10 ** (len(frac) - 9)
        off = min(extra, p10 - extra)
        if 50 * off > p10:
            raise ValueError(f"time {_q(s)} has digits beyond the 9th decimal that are not float noise "
                             f"({off / p10:.3g} ns from the nearest whole ns; at most {NOISE_NS} ns is accepted)")
        ns += int(2 * extra > p10)
    return ns


def _parse_line_py(line: str, ncols: int, time_col: int, max_abs: int = NO_LIMIT) -> list[int]:
    """Parse one line (without its newline) like :func:`parse_int_csv_nb`; raises ``_LineError``."""
    if line.endswith("\r"):
        line = line[:-1]
    if line == "":
        raise _LineError(0, f"empty line (expected {ncols} comma-separated fields)", count=True)
    parts = line.split(",")
    if len(parts) < ncols:  # name the first missing field
        raise _LineError(len(parts), f"missing field: expected {ncols} comma-separated fields, found {len(parts)}", count=True)
    if len(parts) > ncols:
        raise _LineError(ncols - 1, f"expected {ncols} comma-separated fields, found {len(parts):,}", count=True)
    vals = []
    for col, s in enumerate(parts):
        if col == time_col:
            try:
                vals.append(time_to_ns(s))
            except ValueError as e:
                raise _LineError(col, str(e)) from None
        else:
            if not _INT.fullmatch(s):
                if re.fullmatch(r"-?[0-9]{19,}", s):
                    raise _LineError(col, f"{_q(s)} has more than 18 digits")
                what = "an empty field" if s == "" else _q(s)
                raise _LineError(col, f"{what} is not an integer")
            v = int(s)
            if abs(v) > max_abs:
                raise _LineError(col, f"{v} is beyond 2^53 = {FLOAT_EXACT}: it cannot be held exactly in float64"
                                 if max_abs == FLOAT_EXACT else f"|{v}| exceeds {max_abs}")
            vals.append(v)
    return vals


_BLANK = np.frombuffer(b" \t\r\n", dtype=np.uint8)
_SCAN = 4096  # bytes looked at a time when searching for a line end or a blank tail


def _first_where(read: Callable[[int, int], np.ndarray], a: int, b: int,
                 test: Callable[[np.ndarray], np.ndarray]) -> int:
    """First index in ``[a, b)`` where ``test`` holds on the bytes ``read(lo, hi)`` returns; -1 if none."""
    while a < b:
        blk = read(a, min(a + _SCAN, b))
        if not blk.size:
            break
        hit = np.flatnonzero(test(blk))
        if hit.size:
            return a + int(hit[0])
        a += blk.size
    return -1


def _last_where(read: Callable[[int, int], np.ndarray], a: int, b: int,
                test: Callable[[np.ndarray], np.ndarray]) -> int:
    """Last index in ``[a, b)`` where ``test`` holds, scanning back; -1 if none."""
    while b > a:
        lo = max(b - _SCAN, a)
        hit = np.flatnonzero(test(read(lo, b)))
        if hit.size:
            return lo + int(hit[-1])
        b = lo
    return -1


def _is_newline(b: np.ndarray) -> np.ndarray:
    return b == 10


def _is_text(b: np.ndarray) -> np.ndarray:
    return ~np.isin(b, _BLANK)


def _unreadable(path: Path, e: OSError) -> DataFormatError:
    return DataFormatError(path, f"cannot be read ({e.strerror or type(e).__name__})")


def _parse_table(path: Path, rows: _Rows | bytes, ncols: int, time_col: int, names: tuple[str, ...],
                 cols_hint: str = "", dtype: type = np.int64) -> np.ndarray:
    """Fast parse of a file's rows (a :class:`_Rows` source, or bytes) into
    ``dtype`` (rows x ncols); on a problem, describe it and raise."""
    if not isinstance(rows, _Rows):
        rows = _Bytes(path, np.frombuffer(rows, dtype=np.uint8))
    # large files are parsed in pieces cut at line ends, in parallel (the kernel releases the GIL);
    # the first problem in file order is reported, with its line number in the whole file
    cuts = [rows.start]
    size = rows.stop - rows.start
    for k in range(1, _PIECES if size >= _PIECE_MIN_BYTES else 1):
        nl = rows.newline_at_or_after(rows.start + k * size // _PIECES)
        if nl < 0 or nl + 1 <= cuts[-1] or nl + 1 >= rows.stop:
            break
        cuts.append(nl + 1)
    cuts.append(rows.stop)
    spans = list(zip(cuts[:-1], cuts[1:]))
    counts = _each(lambda j: sum(count_lines_nb(blk) for blk, _ in rows.blocks(*spans[j])), len(spans))
    first = np.cumsum([0] + counts)
    nrows = int(first[-1])
    out = np.empty((nrows, ncols), dtype=dtype)
    max_abs = FLOAT_EXACT if np.dtype(dtype).kind == "f" else NO_LIMIT

    def parse(j: int) -> tuple[int, int, int, str] | None:
        r, end = int(first[j]), int(first[j + 1])
        for blk, offset in rows.blocks(*spans[j]):
            k = count_lines_nb(blk)
            if r + k > end:
                break
            status, row, col, start = parse_int_csv_nb(blk, out[r:r + k], time_col, max_abs)
            if status != _OK:
                return status, r + row, col, rows.line_at(offset + start)
            r += k
        return None if r == end else (_CHANGED, r, 0, "")

    found = [f for f in _each(parse, len(spans)) if f is not None]
    if not found:
        return out
    status, row, col, line = found[0]
    if status == _CHANGED:
        raise DataFormatError(path, "the file changed while it was being read", line=row + 1)
    # slow pass over the offending line, to describe the problem
    count_problem = status in (_TOO_FEW, _TOO_MANY)
    try:
        _parse_line_py(line, ncols, time_col, max_abs)
        err_col, problem = col, f"unparseable field (code {status})"  # pragma: no cover - kernel/py disagree
    except _LineError as e:
        err_col, problem, count_problem = e.col, e.problem, e.count
    if count_problem and cols_hint:
        problem += f" ({cols_hint})"
    if row == nrows - 1 and rows.last_byte() != 10:
        problem = f"truncated last line (the file does not end in a newline and its last line is incomplete): {problem}"
    excerpt = line if len(line) <= 120 else line[:100] + f"... ({len(line):,} characters)"
    field = names[err_col]
    raise DataFormatError(path, f"{problem}; line reads {excerpt!r}", line=row + 1, field=field)


def _each(fn: Callable[[int], object], n: int) -> list:
    """``[fn(0), ..., fn(n - 1)]``, in parallel threads when ``n > 1`` (the numba kernels release the GIL)."""
    if n == 1:
        return [fn(0)]
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, range(n)))


_BOM = b"\xef\xbb\xbf"  # UTF-8 byte-order mark (spreadsheet exports): dropped
_CHUNK = 1 << 20          # bytes read at a time from a streamed file (one reused buffer per thread)
_CHANGED = -1             # parse status: a piece holds another number of lines than when counted


class _Rows:
    """The rows of a LOBSTER file: bytes ``[start, stop)``, after a leading UTF-8 byte-order mark
    and before blank lines at the end (both dropped); a file without rows is an error. A subclass
    says how bytes are read (:meth:`read`) and handed to the parser (:meth:`blocks`)."""

    def __init__(self, path: Path, size: int):
        self.path = path
        start = len(_BOM) if self.read(0, len(_BOM)).tobytes() == _BOM else 0
        end = _last_where(self.read, start, size, _is_text) + 1  # end of the last row
        if end <= start:
            raise DataFormatError(path, "empty file (no rows)" if size == start else "empty file (no rows, only blank lines)")
        nl = _first_where(self.read, end, size, _is_newline)  # the newline ending the last row
        self.start, self.stop = start, (nl + 1 if 0 <= nl < size - 1 else size)

    def read(self, a: int, b: int) -> np.ndarray:
        """Bytes ``[a, b)`` of the file, uint8."""
        raise NotImplementedError

    def blocks(self, a: int, b: int) -> Iterator[tuple[np.ndarray, int]]:
        """Bytes ``[a, b)`` in blocks of whole lines, ``(uint8 view, file offset)``; the last block
        may end without a newline. Each view is valid until the next block is asked for."""
        raise NotImplementedError

    def newline_at_or_after(self, pos: int) -> int:
        return _first_where(self.read, pos, self.stop, _is_newline)

    def line_at(self, pos: int) -> str:
        """The line starting at byte ``pos``, without its newline."""
        nl = self.newline_at_or_after(pos)
        return self.read(pos, self.stop if nl < 0 else nl).tobytes().decode("utf-8", errors="replace")

    def first_line(self) -> str:
        return self.line_at(self.start)

    def last_byte(self) -> int:
        return int(self.read(self.stop - 1, self.stop)[0])


class _Bytes(_Rows):
    """The rows of a file held in memory (a gzip file, a pipe, bytes given directly): one block
    per piece."""

    def __init__(self, path: Path, buf: np.ndarray):
        self.buf = buf
        super().__init__(path, buf.size)

    def read(self, a: int, b: int) -> np.ndarray:
        return self.buf[a:b]

    def blocks(self, a: int, b: int) -> Iterator[tuple[np.ndarray, int]]:
        yield self.buf[a:b], a


class _Streamed(_Rows):
    """The rows of a regular, uncompressed file, read in blocks of whole lines through one reused
    buffer of :data:`_CHUNK` bytes per piece: the text is never held whole, so reading needs the
    parsed array plus ~1 MB per thread, and no fresh memory for the text (on a VM, first touches of
    fresh memory are what makes a read's system time vary most)."""

    def __init__(self, path: Path, fd: int, size: int):
        self.fd = fd
        super().__init__(path, size)

    def read(self, a: int, b: int) -> np.ndarray:
        try:
            return np.frombuffer(os.pread(self.fd, b - a, a), dtype=np.uint8)
        except OSError as e:
            raise _unreadable(self.path, e) from None

    def blocks(self, a: int, b: int) -> Iterator[tuple[np.ndarray, int]]:
        buf = np.empty(_CHUNK, dtype=np.uint8)
        have, pos = 0, a  # buf[:have] holds the file's bytes [pos - have, pos)
        while True:
            want = min(buf.size - have, b - pos)
            try:
                got = os.preadv(self.fd, [buf[have:have + want]], pos) if want > 0 else 0
            except OSError as e:
                raise _unreadable(self.path, e) from None
            pos += got
            have += got
            if pos >= b or got == 0:  # the span's end (or the file shrank: the counts will disagree)
                if have:
                    yield buf[:have], pos - have
                return
            nl = _last_where(lambda x, y, v=buf: v[x:y], 0, have, _is_newline)
            if nl < 0:  # a line longer than the buffer
                buf = np.concatenate((buf, np.empty_like(buf)))
                continue
            yield buf[:nl + 1], pos - have
            rest = have - nl - 1
            buf[:rest] = buf[nl + 1:have].copy()
            have = rest


@contextmanager
def _rows_of(path: Path) -> Iterator[_Rows]:
    """The rows of a LOBSTER file: streamed from a regular uncompressed file, else held in memory."""
    if path.is_dir():
        raise DataFormatError(path, "is a directory, not a LOBSTER file")
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise
    except OSError as e:
        raise _unreadable(path, e) from None
    with f:
        st = os.fstat(f.fileno())
        if stat.S_ISREG(st.st_mode) and not path.name.endswith(".gz") and os.pread(f.fileno(), 2, 0) != b"\x1f\x8b":
            yield _Streamed(path, f.fileno(), st.st_size)
        else:
            yield _Bytes(path, _in_memory(path, f))


def _in_memory(path: Path, f: BinaryIO) -> np.ndarray:
    """The bytes of an open file that cannot be streamed, as uint8, gunzipped when the name ends in
    .gz (or the bytes carry the gzip magic)."""
    try:
        raw = np.frombuffer(f.read(), dtype=np.uint8)
    except OSError as e:
        raise _unreadable(path, e) from None
    magic = raw[:2].tobytes() == b"\x1f\x8b"
    if path.name.endswith(".gz") or magic:
        if not magic:
            raise DataFormatError(path, "not a gzip file (the name ends in .gz but the gzip magic bytes are missing)")
        try:
            raw = np.frombuffer(gzip.decompress(raw), dtype=np.uint8)
        except (OSError, EOFError, zlib.error) as e:
            raise DataFormatError(path, f"unreadable or corrupt gzip stream ({type(e).__name__}: {e})") from None
    return raw


# --------------------------------------------------------------------------------------------
# validation of the parsed message rows: one pass; the earliest offending line is reported
# --------------------------------------------------------------------------------------------
_MSG_PROBLEMS = (  # check_messages_nb's code - 1 -> (field, problem), formatted with the row's values
    ("type", "unknown event type {typ} (LOBSTER types are 1..7)"),
    ("time", "time decreases: {t} s after {t_before} s on the line before"),
    ("time", "time {t} s is outside the session window {lo}-{hi} s"),
    ("direction", "direction {side} is not +1 (buy) or -1 (sell)"),
    ("size", "size {size} must be > 0 for event type {typ}"),
    ("size", "size {size} is not below the empty-level placeholder {placeholder} (no real size is that large)"),
    ("price", "price {price} is not below the empty-level placeholder {placeholder} (it would read as an empty level)"),
    ("size", "size {size} must be >= 0 for event type {typ}"),
    ("order_id", "order id {oid} is negative (only type 6 crosses have negative pseudo ids)"),
    ("price", "price {price} must be > 0"),
    ("price", "price {price} is off the tick grid (tick = {tick} price units)"),
    ("price", "price {price} must be > 0"),
    ("price", "price {price} of a hidden execution is off the half-tick grid ({half} price units)"),
    ("price", "halt message (type 7) price {price} is not -1 (halt), 0 (quote) or 1 (resume)"),
)


@njit(cache=True, nogil=True)
def check_messages_nb(m: np.ndarray, tick: int, half: int, lo: int, hi: int, window: bool,
                      placeholder: int) -> tuple[int, int]:
    """First problem of a parsed LOBSTER message array in file order, in one pass.

    Columns of ``m`` (int64): time (ns), type, order id, size, price, direction. A row's checks,
    in the order of their codes (the first failing one is reported): 1 type in 1..7; 2 time not
    below the previous row's; 3 time in ``[lo, hi]`` (when ``window``); 4 direction +1/-1 (0 also
    for a halt); 5 size > 0 for types 1..5; 6 size below ``placeholder``; 7 ``|price|`` below it
    (not for halts); 8 size >= 0 for types 6, 7; 9 order id >= 0 except for crosses; 10, 11 price
    > 0 and on the ``tick`` grid for types 1..4 and 6; 12, 13 price > 0 and on the ``half`` grid
    for hidden executions; 14 a halt's price in {-1, 0, 1}.

    Returns
    -------
    tuple of int
        ``(code, row)``; ``(0, -1)`` when every row is valid.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.array([[10, 1, 5, 100, 2000, 1], [9, 1, 6, 100, 2050, -1]])   # time goes back on row 1
    >>> check_messages_nb(m, 100, 50, 0, 10**18, True, 9999999999)
    (2, 1)
    """
    for r in range(m.shape[0]):
        t = m[r, 0]
        typ = m[r, 1]
        oid = m[r, 2]
        size = m[r, 3]
        price = m[r, 4]
        side = m[r, 5]
        if typ < events.ADD or typ > events.HALT:
            return 1, r
        halt = typ == events.HALT
        if r > 0 and t < m[r - 1, 0]:
            return 2, r
        if window and (t < lo or t > hi):
            return 3, r
        if not (side == 1 or side == -1 or (halt and side == 0)):
            return 4, r
        need_pos = typ <= events.EXEC_HIDDEN
        if need_pos and size <= 0:
            return 5, r
        if size >= placeholder:
            return 6, r
        if not halt and abs(price) >= placeholder:
            return 7, r
        if not need_pos and size < 0:
            return 8, r
        if typ != events.CROSS and oid < 0:
            return 9, r
        if typ == events.ADD or typ == events.CANCEL or typ == events.DELETE or typ == events.EXEC_VISIBLE \
                or typ == events.CROSS:
            if price <= 0:
                return 10, r
            if price % tick != 0:
                return 11, r
        if typ == events.EXEC_HIDDEN:
            if price <= 0:
                return 12, r
            if price % half != 0:
                return 13, r
        if halt and not (price == -1 or price == 0 or price == 1):
            return 14, r
    return 0, -1


def _check_messages(path: Path, m: np.ndarray, tick: int, window_ns: tuple[int, int] | None) -> None:
    """Raise for the first problem :func:`check_messages_nb` finds (line and field named)."""
    half = max(tick // 2, 1) if tick % 2 == 0 else tick
    lo, hi = window_ns if window_ns is not None else (0, 0)
    code, r = check_messages_nb(m, tick, half, lo, hi, window_ns is not None, PLACEHOLDER)
    if code:
        field, problem = _MSG_PROBLEMS[code - 1]
        t, typ, oid, size, price, side = (int(v) for v in m[r])
        raise DataFormatError(path, problem.format(
            t=_fmt_s(t), t_before=_fmt_s(m[r - 1, 0]) if r else "", lo=_fmt_s(lo), hi=_fmt_s(hi), typ=typ, oid=oid,
            size=size, price=price, side=side, tick=tick, half=half, placeholder=PLACEHOLDER), line=r + 1, field=field)


@njit(cache=True, nogil=True)
def messages_to_events_nb(m: np.ndarray, ev: np.ndarray) -> None:
    """Checked LOBSTER message rows into events, one row at a time (seven column copies through
    numpy took ~5x as long).

    Parameters
    ----------
    m : numpy.ndarray
        int64 ``(n, 6)``: time (ns), type, order id, size, price, direction.
    ev : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` ``(n,)``, written: ``ts`` and ``ts_local`` the time,
        ``kind`` the type, ``side`` the direction, and price, size and order id.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.events import EVENT_DTYPE
    >>> ev = np.empty(1, EVENT_DTYPE)
    >>> messages_to_events_nb(np.array([[34200000000000, 1, 7, 100, 5850000, -1]]), ev)
    >>> ev[0]["ts_local"], ev[0]["kind"], ev[0]["side"], ev[0]["price"], ev[0]["size"], ev[0]["order_id"]
    (np.int64(34200000000000), np.int8(1), np.int8(-1), np.int64(5850000), np.float64(100.0), np.int64(7))
    """
    for i in range(m.shape[0]):
        e = ev[i]
        e.ts = m[i, 0]
        e.ts_local = m[i, 0]
        e.kind = m[i, 1]
        e.order_id = m[i, 2]
        e.size = m[i, 3]
        e.price = m[i, 4]
        e.side = m[i, 5]


def _fmt_s(ns: int) -> str:
    ns = int(ns)
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}".rstrip("0").rstrip(".")


_OB_DUMMY_SIZE, _OB_PRICE_SIGN, _OB_OFF_GRID, _OB_SIZE, _OB_GAP, _OB_ORDER, _OB_CROSSED, _OB_BIG = 1, 2, 3, 4, 5, 6, 7, 8


@njit(cache=True, nogil=True)
def check_orderbook_nb(ob: np.ndarray, tick: int, dummy_ask: int, dummy_bid: int) -> tuple[int, int, int]:
    """First problem of a LOBSTER orderbook array in file order.

    Per level: either the side's dummy price with size 0, or price > 0 with ``price % tick == 0``
    and size > 0, both below the placeholder magnitude ``dummy_ask``; occupied levels come first; asks strictly increase and bids strictly decrease
    with the level; the book is not crossed (:math:`a_1 > b_1` when both are occupied).

    Parameters
    ----------
    ob : numpy.ndarray
        ``(n, 4L)`` float64 or int64, LOBSTER layout (price units, shares).
    tick : int
        Price grid (price units).
    dummy_ask, dummy_bid : int
        Empty-level prices (LOBSTER: +9999999999 and -9999999999).

    Returns
    -------
    tuple of int
        ``(code, row, col)``; ``(0, -1, -1)`` when the array is valid.
    """
    n, ncols = ob.shape
    levels = ncols // 4
    for r in range(n):
        for k in range(levels):
            for off in (0, 2):
                c = 4 * k + off
                px = ob[r, c]
                sz = ob[r, c + 1]
                dummy = dummy_ask if off == 0 else dummy_bid
                if px == dummy:
                    if sz != 0:
                        return _OB_DUMMY_SIZE, r, c + 1
                    continue
                if px <= 0:
                    return _OB_PRICE_SIGN, r, c
                if px >= dummy_ask:
                    return _OB_BIG, r, c
                if sz >= dummy_ask:
                    return _OB_BIG, r, c + 1
                if np.int64(px) % tick != 0:  # integer modulo: exact and much faster than fmod
                    return _OB_OFF_GRID, r, c
                if sz <= 0:
                    return _OB_SIZE, r, c + 1
                if k > 0:
                    prev = ob[r, c - 4]
                    if prev == dummy:
                        return _OB_GAP, r, c
                    if (off == 0 and px <= prev) or (off == 2 and px >= prev):
                        return _OB_ORDER, r, c
            if k == 0 and ob[r, 0] != dummy_ask and ob[r, 2] != dummy_bid and ob[r, 0] <= ob[r, 2]:
                return _OB_CROSSED, r, 0
    return 0, -1, -1


def _first_problem(check: Callable[[int, int], tuple | None], n: int) -> tuple | None:
    """``check(start, stop)`` over rows ``[0, n)``: on a large file, the two halves at once (the
    numba kernels release the GIL); the first half's problem if it has one (file order), else the
    second's. ``check`` returns None when its rows are fine."""
    spans = [(0, n)] if n < _PARALLEL_MIN_ROWS else [(0, n // 2), (n // 2, n)]
    return next((f for f in _each(lambda j: check(*spans[j]), len(spans)) if f is not None), None)


def _check_orderbook(path: Path, ob: np.ndarray, levels: int, tick: int) -> None:
    def check(a: int, b: int) -> tuple[int, int, int] | None:
        code, r, c = check_orderbook_nb(ob[a:b], tick, events.DUMMY_ASK, events.DUMMY_BID)
        return (code, r + a, c) if code else None

    found = _first_problem(check, ob.shape[0])
    if found is None:
        return
    code, r, c = found
    names = orderbook_fields(levels)
    k, off = divmod(c, 4)
    side = "ask" if off < 2 else "bid"
    v = int(ob[r, c])
    problem = {
        _OB_DUMMY_SIZE: f"empty {side} level {k + 1} (dummy price {int(ob[r, c - 1])}) has size {v}, expected 0",
        _OB_PRICE_SIGN: f"{side} price {v} is neither > 0 nor the empty-level dummy {events.DUMMY_ASK if side == 'ask' else events.DUMMY_BID}",
        _OB_OFF_GRID: f"price {v} is off the tick grid (tick = {tick} price units)",
        _OB_SIZE: f"{side} size {v} of an occupied level must be > 0",
        _OB_GAP: f"{side} level {k + 1} is occupied but level {k} is empty",
        _OB_ORDER: f"{side} prices out of order: level {k + 1} price {v} vs level {k} price {int(ob[r, c - 4]) if k else v}",
        _OB_CROSSED: f"crossed book: best ask {int(ob[r, 0])} <= best bid {int(ob[r, 2])}",
        _OB_BIG: f"{side} {'size' if c % 2 else 'price'} {v} of an occupied level is not below the empty-level "
                 f"placeholder {PLACEHOLDER}",
    }[code]
    raise DataFormatError(path, problem, line=r + 1, field=names[c])


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def _load_orderbook(opath: Path, levels: int | None, level_source: str, tick: int) -> tuple[np.ndarray, int]:
    """Read, parse and validate an orderbook file -> (float64 array n x 4L, levels)."""
    with _rows_of(opath) as rows:
        if levels is None:  # infer from the first line
            nfields = rows.first_line().rstrip("\r").count(",") + 1
            if nfields % 4 != 0:
                raise DataFormatError(opath, f"{nfields} fields is not a multiple of 4 (ask price, ask size, bid price, "
                                      "bid size per level)", line=1, field=orderbook_fields(nfields // 4 + 1)[nfields - 1])
            levels, level_source = nfields // 4, "the first line"
        if levels < 1:
            raise DataFormatError(opath, f"levels must be >= 1, got {levels}")
        ncols = 4 * levels
        ob = _parse_table(opath, rows, ncols, -1, orderbook_fields(levels),
                          cols_hint=f"an orderbook with {levels} levels (from {level_source}) has 4 x {levels} = {ncols} fields",
                          dtype=np.float64)
    _check_orderbook(opath, ob, levels, tick)
    return ob, levels


@dataclass(frozen=True, eq=False)
class LobsterData(Dataset):
    """A LOBSTER day: events, optional book snapshots, instrument metadata, source paths.

    Attributes
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array, one per message line.
    book : numpy.ndarray or None
        float64 ``(n, 4 * levels)`` in LOBSTER layout (row *i* = book after event *i*).
    instrument : companion.events.Instrument
        Symbol, tick 100, price scale 10000, date, session window (ns since midnight), levels.
    message_path : pathlib.Path
        The message file read.
    orderbook_path : pathlib.Path or None
        The orderbook file read (None: messages only).
    full_depth : bool
        The messages carry the full book (see :func:`read_lobster`): order anomalies are errors.
    anomalies : dict
        Order anomalies counted on a truncated-depth day, ``{class: count}`` for every class of
        :data:`companion.book.AUDIT_CLASSES` (all 0 on a full-depth day).
    """

    message_path: Path
    orderbook_path: Path | None
    full_depth: bool = False
    anomalies: dict = field(default_factory=dict)

    def messages_frame(self) -> pd.DataFrame:
        """Events as a DataFrame indexed by exchange time (naive US/Eastern wall clock, exact ns).

        Returns
        -------
        pandas.DataFrame
            Columns ``ts`` (int ns since midnight), ``kind``, ``side``, ``price`` (price units),
            ``size``, ``order_id``. The index is a DatetimeIndex (date + ts) when the date is known,
            else a TimedeltaIndex since midnight.
        """
        ev = self.events
        return pd.DataFrame(
            {"ts": ev["ts"], "kind": ev["kind"], "side": ev["side"], "price": ev["price"],
             "size": ev["size"], "order_id": ev["order_id"]},
            index=time_index(self.events["ts"], self.instrument),
        )

    def book_frame(self) -> pd.DataFrame:
        """Book snapshots as a DataFrame indexed like :meth:`messages_frame`.

        Returns
        -------
        pandas.DataFrame
            Columns ``ask_price_1, ask_size_1, bid_price_1, ...``; prices in price units, empty levels
            as the dummy prices.
        """
        if self.book is None:
            raise ValueError(f"no orderbook file was read with {self.message_path}")
        return pd.DataFrame(self.book, columns=list(orderbook_fields(self.book.shape[1] // 4)), index=time_index(self.events["ts"], self.instrument))


def read_lobster(
    message_path: str | Path,
    orderbook_path: str | Path | None = None,
    *,
    ticker: str | None = None,
    date: str | None = None,
    levels: int | None = None,
    session_ms: tuple[int, int] | None = None,
    tick: int = LOBSTER_TICK,
    price_scale: int = LOBSTER_PRICE_SCALE,
    full_depth: bool | None = None,
    check: bool = True,
) -> LobsterData:
    r"""Read and strictly validate a LOBSTER message file (and its orderbook file, when given).

    Parameters
    ----------
    message_path : str or pathlib.Path
        ``.csv`` or ``.csv.gz`` message file.
    orderbook_path : str or pathlib.Path, optional
        The matching orderbook file; None reads the messages only (``book`` is then None).
    ticker, date, levels, session_ms : optional
        Override (or supply, for files not named ``TICKER_YYYY-MM-DD_STARTMS_ENDMS_message_L.csv``)
        what the file name says; ``session_ms`` is ``(start, end)`` in ms after midnight.
    tick : int
        Price grid in price units (LOBSTER: 100 = $0.01).
    price_scale : int
        Price units per dollar (LOBSTER: 10000).
    full_depth : bool, optional
        Whether the messages carry the full book. None (default) decides from the data
        (:func:`companion.book.audit_orders`): a day is full depth when its book starts empty
        (orderbook row 0 is message 0 applied to an empty book) and, if any order anomaly was
        found, the messages alone rebuild every orderbook row; without an orderbook file, None
        means truncated.
    check : bool
        Raise on the cross-file checks below (True); False only counts them (for
        :func:`companion.book.verify_lobster`, which reports every mismatch itself).

    Returns
    -------
    LobsterData

    Raises
    ------
    companion.errors.DataFormatError
        On any bad input; the message reads ``"<file>, line <n>, field '<name>': <problem>"``.
    FileNotFoundError
        When a file is missing.

    Notes
    -----
    Times become exact integer nanoseconds since midnight, :math:`t_{ns} = 10^9\,t_s` computed
    digit by digit; prices stay in LOBSTER's units (dollars x 10000).

    Cross-file checks (with an orderbook file): message :math:`t` applied to orderbook row
    :math:`t-1` must give row :math:`t` on every level it determines, on every
    ``CHECK_STRIDE``-th row (8) and on the last row, so a shifted, cut or edited orderbook file is
    an error naming its row (``python -m companion verify lobster`` checks every row).

    Order audit (:func:`companion.book.audit_orders`): a duplicate order id on an add, a cancel,
    delete or execution of an id that is not resting, a cancel or execution larger than the
    resting size, a delete of another size, or a reduction at another price or side than the
    order's. On a **full-depth** day (every order is seen: the synthetic day, or any day whose
    book starts empty and is rebuilt, row by row, by its messages) each is an error naming the
    message line.
    On a **truncated-depth** day -- LOBSTER level-N files, whose messages cover only the N
    visible levels and whose book holds orders placed before the session start -- they are
    legitimate: counted in :attr:`LobsterData.anomalies`. (The 2012-06-21 samples show thousands
    of unknown ids -- deletes and executions of orders resting beyond the visible levels or since
    before 09:30 -- a handful of deletes of another size, and no duplicate add, oversized
    execution or price/side mismatch.)

    Sizes and prices must lie below the empty-level placeholder 9999999999, and orderbook values
    within :math:`2^{53}` (they are held in float64): never silently rounded.

    References
    ----------
    Huang & Polak (2011), LOBSTER: Limit Order Book Reconstruction System, SSRN 1977207 (ReadMe:
    message and orderbook file layouts).

    Examples
    --------
    >>> d = read_lobster("AAPL_2012-06-21_34200000_57600000_message_1.csv",
    ...                  "AAPL_2012-06-21_34200000_57600000_orderbook_1.csv")  # doctest: +SKIP
    >>> d.book.shape[1], d.instrument.tick                                      # doctest: +SKIP
    (4, 100)
    """
    mpath = Path(message_path)
    opath = Path(orderbook_path) if orderbook_path is not None else None
    mname = parse_lobster_name(mpath)
    oname = parse_lobster_name(opath) if opath is not None else None
    if mname is not None and oname is not None:
        for key in ("ticker", "date", "start_ms", "end_ms", "levels"):
            if mname[key] != oname[key]:
                raise DataFormatError(opath, f"file name says {key} {oname[key]!r} but the message file's name says {mname[key]!r}")
    named = mname or oname
    if ticker is None:
        ticker = named["ticker"] if named else re.split(r"[_.]", mpath.name, maxsplit=1)[0]
    if date is None:
        date = named["date"] if named else ""
    elif date and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
        raise ValueError(f"date={date!r}: expected YYYY-MM-DD")
    window_checked = True
    if session_ms is None:
        if named:
            session_ms = (named["start_ms"], named["end_ms"])
        else:
            session_ms, window_checked = (NASDAQ_OPEN_MS, NASDAQ_CLOSE_MS), False
    level_source = "levels="
    if levels is None and named:
        levels, level_source = named["levels"], "the file name"
    window_ns = (int(session_ms[0]) * _MS, int(session_ms[1]) * _MS)

    def load_events() -> tuple[np.ndarray, OrderAnomalies]:
        with _rows_of(mpath) as rows:
            m = _parse_table(mpath, rows, 6, 0, MESSAGE_FIELDS)
        _check_messages(mpath, m, tick, window_ns if window_checked else None)
        ev = np.empty(m.shape[0], dtype=events.EVENT_DTYPE)
        messages_to_events_nb(m, ev)
        return ev, order_anomalies(ev)

    book = None
    if opath is None:
        ev, anomalies = load_events()
        levels = 0 if levels is None else levels
    else:
        # The two files are independent until the row-count check: read the orderbook in a second
        # thread (gunzip, file reads and the numba kernels release the GIL) while this one reads the
        # messages and audits their orders. A problem in the message file is reported first.
        with ThreadPoolExecutor(max_workers=1) as pool:
            fut = pool.submit(_load_orderbook, opath, levels, level_source, tick)
            try:
                ev, anomalies = load_events()
            finally:
                ob_result = fut.exception() or fut.result()
        if isinstance(ob_result, BaseException):
            raise ob_result
        ob, levels = ob_result
        if ob.shape[0] != ev.shape[0]:
            short = min(ob.shape[0], ev.shape[0])
            raise DataFormatError(
                opath, f"row-count mismatch: the orderbook has {ob.shape[0]} rows but the message file "
                f"{mpath.name} has {ev.shape[0]}; line {short + 1} of the longer file has no partner", line=short + 1)
        book = ob
        if check:
            _check_book_agrees(mpath, opath, ev, book)
    audit = audit_orders(ev, book, anomalies)
    fd = audit["full_depth"] if full_depth is None else bool(full_depth)
    if fd and check and audit["total"]:
        _raise_order_anomaly(mpath, ev, audit)
    inst = Instrument(
        symbol=ticker, tick=int(tick), price_scale=int(price_scale), lot=1.0,
        session_open_ns=window_ns[0], session_close_ns=window_ns[1], date=date, levels=int(levels),
        venue="NASDAQ",
    )
    return LobsterData(events=ev, book=book, instrument=inst, message_path=mpath, orderbook_path=opath,
                       full_depth=fd, anomalies=dict(audit["counts"]))


CHECK_STRIDE = 8  #: rows between two transitions checked by :func:`read_lobster` (and the last row)


def _check_book_agrees(mpath: Path, opath: Path, ev: np.ndarray, book: np.ndarray) -> None:
    """Message t applied to orderbook row t-1 must give row t (every CHECK_STRIDE-th row and the last)."""
    def check(a: int, b: int) -> tuple[int, int, float] | None:
        found = first_bad_transition_nb(ev["kind"], ev["side"], ev["price"], ev["size"], book, CHECK_STRIDE, a, b)
        return found if found[0] >= 0 else None

    found = _first_problem(check, book.shape[0])
    if found is None:
        return
    t, col, expected = found
    if col < 0:
        sd = "bid" if ev["side"][t] > 0 else "ask"
        raise DataFormatError(
            opath, f"the row before disagrees with the messages: message line {t + 1} of {mpath.name} reduces the "
            f"{sd} at {int(expected)}, which row {t} does not hold within its visible levels (a shifted, cut or "
            "edited orderbook file? `python -m companion verify lobster` checks every row)", line=t,
            field=f"{sd}_price_1")
    name = orderbook_fields(book.shape[1] // 4)[col]
    raise DataFormatError(
        opath, f"the row disagrees with the messages: message line {t + 1} of {mpath.name} applied to row {t} "
        f"gives {name} = {int(expected)}, the file has {int(book[t, col])} (a shifted, cut or edited orderbook "
        "file? `python -m companion verify lobster` checks every row)", line=t + 1, field=name)


_AUDIT_TEXT = {  # class -> (field, description of message t)
    "duplicate_add": ("order_id", "add of order id {oid}, which is already resting (duplicate order id)"),
    "unknown_cancel": ("order_id", "cancel of order id {oid}, which is not resting (never added, or already gone)"),
    "unknown_delete": ("order_id", "delete of order id {oid}, which is not resting (never added, or already gone)"),
    "unknown_execution": ("order_id", "execution of order id {oid}, which is not resting (never added, or already gone)"),
    "cancel_exceeds_resting": ("size", "cancel of {size} shares exceeds the {rest} shares resting in order {oid}"),
    "execution_exceeds_resting": ("size", "execution of {size} shares exceeds the {rest} shares resting in order {oid}"),
    "delete_size_differs": ("size", "delete of {size} shares, but order {oid} rests with {rest}"),
    "price_or_side_differs": ("price", "price {price} / direction {side} differ from those order {oid} was added with"),
}


def _raise_order_anomaly(mpath: Path, ev: np.ndarray, audit: dict) -> None:
    """Raise for the earliest order anomaly of a full-depth day."""
    cls, t = min(((c, f) for c, f in audit["first"].items() if f is not None), key=lambda x: x[1])
    oid = int(ev["order_id"][t])
    mine = ev[:t][ev["order_id"][:t] == oid]
    adds = mine["kind"] == events.ADD
    last_add = int(np.flatnonzero(adds)[-1]) if adds.any() else 0
    after = mine[last_add:]
    rest = float(after["size"][0] - after["size"][1:].sum()) if adds.any() else 0.0
    fld, text = _AUDIT_TEXT[cls]
    problem = text.format(oid=oid, size=int(ev["size"][t]), rest=f"{rest:g}", price=int(ev["price"][t]),
                          side=int(ev["side"][t]))
    raise DataFormatError(mpath, f"{problem}; a full-depth day (its book starts empty and its messages rebuild the "
                          "orderbook) must show every order", line=t + 1, field=fld)
