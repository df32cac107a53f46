"""Tests of the strict LOBSTER reader (companion.io.lobster) and data_scripts/get_lobster_sample.py."""
from __future__ import annotations

import gzip
import importlib.util
import os
import threading
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import lobster_samples

from companion.errors import DataFormatError
from companion.events import DUMMY_ASK, DUMMY_BID, EVENT_DTYPE, HALT
from companion.io import lobster as lob
from companion.io.lobster import read_lobster

REPO = Path(__file__).resolve().parents[1]
STEM = "TEST_2012-06-21_34200000_57600000"
A, B = DUMMY_ASK, DUMMY_BID

# A tiny valid level-2 day, worked by hand. Row i of BOOK is the book after message i.
MSGS = [
    "34200.000000001,1,11,100,5853300,1",      # bid 585.33 x 100 (asks empty)
    "34200.18960767,1,12,50,5853400,-1",       # ask 585.34 x 50  (8 decimals: ...189607670 ns)
    "34201.5,1,13,30,5853200,1",               # second bid level
    "34202,5,0,10,5853350,1",                  # hidden execution at the half tick (midpoint)
    "34202.5,7,0,0,-1,-1",                     # trading halt: price -1 is a flag, not a price
    "34203.999999999,4,12,20,5853400,-1",      # visible execution of the ask
    "34204,3,11,100,5853300,1",                # delete the best bid
]
BOOK = [
    [A, 0, 5853300, 100, A, 0, B, 0],
    [5853400, 50, 5853300, 100, A, 0, B, 0],
    [5853400, 50, 5853300, 100, A, 0, 5853200, 30],
    [5853400, 50, 5853300, 100, A, 0, 5853200, 30],
    [5853400, 50, 5853300, 100, A, 0, 5853200, 30],
    [5853400, 30, 5853300, 100, A, 0, 5853200, 30],
    [5853400, 30, 5853200, 30, A, 0, B, 0],
]
TS = [34200000000001, 34200189607670, 34201500000000, 34202000000000, 34202500000000, 34203999999999, 34204000000000]


@pytest.fixture(autouse=True, params=[None, 16, 61], ids=["chunk-1MB", "chunk-16B", "chunk-61B"])
def streamed_chunk(request, monkeypatch):
    """Every test of this module runs with the default streaming buffer and with tiny ones, so lines
    cross block boundaries and outgrow the buffer (a plain file's rows are read in blocks)."""
    if request.param is not None:
        monkeypatch.setattr(lob, "_CHUNK", request.param)
    return request.param


def book_lines(rows=BOOK) -> list[str]:
    return [",".join(str(v) for v in r) for r in rows]


def write(path: Path, lines: list[str], newline_at_end: bool = True, gz: bool = False) -> Path:
    text = ("\n".join(lines) + ("\n" if newline_at_end else "")).encode()
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def pair(tmp_path: Path, msgs=MSGS, book=None, level: int = 2, gz: bool = False, msg_nl: bool = True,
         ob_nl: bool = True) -> tuple[Path, Path]:
    ext = ".csv.gz" if gz else ".csv"
    m = write(tmp_path / f"{STEM}_message_{level}{ext}", msgs, msg_nl, gz)
    o = write(tmp_path / f"{STEM}_orderbook_{level}{ext}", book_lines() if book is None else book, ob_nl, gz)
    return m, o


def raises(path: Path, line: int | None, field: str | None, *fragments: str, **kw) -> DataFormatError:
    """Read the pair and check the error names the file, the 1-based line, the field and the problem."""
    m = kw.pop("msg")
    o = kw.pop("ob", None)
    with pytest.raises(DataFormatError) as info:
        read_lobster(m, o, **kw)
    e = info.value
    text = str(e)
    assert path.name in text and e.path == str(path)
    if line is not None:
        assert f"line {line}" in text and e.line == line
    if field is not None:
        assert f"field '{field}'" in text and e.field == field
    for frag in fragments:
        assert frag in text, text
    return e


def replaced(lines: list[str], i: int, new: str) -> list[str]:
    out = list(lines)
    out[i] = new
    return out


# ---------------------------------------------------------------------------------------------
# round trip on the hand-written day
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True], ids=["csv", "csv.gz"])
def test_round_trip_exact(tmp_path, gz):
    m, o = pair(tmp_path, gz=gz)
    d = read_lobster(m, o)
    ev = d.events
    assert ev.dtype == EVENT_DTYPE and len(d) == 7
    assert ev["ts"].tolist() == TS  # exact ns, no float rounding
    assert (ev["ts_local"] == ev["ts"]).all()
    assert ev["kind"].tolist() == [1, 1, 1, 5, 7, 4, 3]
    assert ev["side"].tolist() == [1, -1, 1, 1, -1, -1, 1]
    assert ev["price"].tolist() == [5853300, 5853400, 5853200, 5853350, -1, 5853400, 5853300]
    assert ev["size"].tolist() == [100, 50, 30, 10, 0, 20, 100]
    assert ev["order_id"].tolist() == [11, 12, 13, 0, 0, 12, 11]
    assert ev["kind"][4] == HALT and ev["price"][4] == -1
    assert d.book.dtype == np.float64 and d.book.shape == (7, 8)
    np.testing.assert_array_equal(d.book, np.array(BOOK, dtype=np.float64))
    assert d.book[0, 0] == 9999999999.0 and d.book[0, 6] == -9999999999.0  # dummies are exact
    inst = d.instrument
    assert (inst.symbol, inst.tick, inst.price_scale, inst.date, inst.levels, inst.venue) == (
        "TEST", 100, 10000, "2012-06-21", 2, "NASDAQ")
    assert (inst.session_open_ns, inst.session_close_ns) == (34_200_000 * 10**6, 57_600_000 * 10**6)
    assert d.message_path == m and d.orderbook_path == o


def test_messages_to_events_matches_numpy_column_copies():
    """The one-pass kernel writes what assigning each column through numpy writes, byte for byte."""
    rng = np.random.default_rng(3)
    n = 1_000
    m = np.column_stack([rng.integers(0, 2**53, n), rng.integers(1, 8, n), rng.integers(0, 2**40, n),
                         rng.integers(0, 10**9, n), rng.integers(-10**10, 10**10, n), rng.choice([-1, 1], n)])
    want = np.zeros(n, EVENT_DTYPE)
    for name, col in (("ts", 0), ("ts_local", 0), ("kind", 1), ("order_id", 2), ("size", 3), ("price", 4),
                      ("side", 5)):
        want[name] = m[:, col]
    got = np.zeros(n, EVENT_DTYPE)
    lob.messages_to_events_nb(m, got)
    assert got.tobytes() == want.tobytes()


def test_frames_are_indexed_by_exact_timestamps(tmp_path):
    d = read_lobster(*pair(tmp_path))
    mf = d.messages_frame()
    assert isinstance(mf.index, pd.DatetimeIndex)
    assert mf.index[1] == pd.Timestamp("2012-06-21 09:30:00.189607670")
    assert mf.index[0] == pd.Timestamp("2012-06-21") + pd.Timedelta(TS[0], "ns")
    assert list(mf.columns) == ["ts", "kind", "side", "price", "size", "order_id"]
    assert mf["price"].iloc[3] == 5853350
    bf = d.book_frame()
    assert list(bf.columns[:5]) == ["ask_price_1", "ask_size_1", "bid_price_1", "bid_size_1", "ask_price_2"]
    assert bf.index.equals(mf.index) and bf["bid_price_2"].iloc[2] == 5853200


def test_messages_only_and_crlf_and_no_final_newline(tmp_path):
    m, _ = pair(tmp_path)
    d = read_lobster(m)
    assert d.book is None and d.orderbook_path is None and d.instrument.levels == 2
    with pytest.raises(ValueError, match="no orderbook"):
        d.book_frame()
    crlf = tmp_path / "crlf" / f"{STEM}_message_2.csv"
    crlf.parent.mkdir()
    crlf.write_bytes(("\r\n".join(MSGS) + "\r\n").encode())
    assert read_lobster(crlf).events["ts"].tolist() == TS
    # a complete last line without its newline is not truncated
    (tmp_path / "nonl").mkdir()
    m2, o2 = pair(tmp_path / "nonl", msg_nl=False, ob_nl=False)
    np.testing.assert_array_equal(read_lobster(m2, o2).book, np.array(BOOK, dtype=float))


def test_other_names_with_keywords(tmp_path):
    m = write(tmp_path / "my_messages.csv", MSGS)
    o = write(tmp_path / "my_book.csv", book_lines())
    d = read_lobster(m, o)  # defaults: ticker from the name, levels from the columns, no date
    assert d.instrument.symbol == "my" and d.instrument.levels == 2 and d.instrument.date == ""
    assert isinstance(d.messages_frame().index, pd.TimedeltaIndex)
    d = read_lobster(m, o, ticker="XYZ", date="2012-06-21", levels=2, session_ms=(34_200_000, 34_210_000))
    assert (d.instrument.symbol, d.instrument.date, d.instrument.session_close_ns) == ("XYZ", "2012-06-21", 34_210_000 * 10**6)
    assert d.messages_frame().index[0] == pd.Timestamp("2012-06-21 09:30:00.000000001")
    raises(o, 1, "bid_size_1", "expected 4 comma-separated fields, found 8", "levels=", msg=m, ob=o, levels=1)


def test_parse_lobster_name():
    info = lob.parse_lobster_name(f"/x/{STEM}_orderbook_10.csv.gz")
    assert info == {"ticker": "TEST", "date": "2012-06-21", "start_ms": 34200000, "end_ms": 57600000,
                    "what": "orderbook", "levels": 10}
    assert lob.parse_lobster_name("AAPL_message.csv") is None


def test_kernel_matches_pure_python_reference(tmp_path):
    m, o = pair(tmp_path)
    for path, ncols, tcol in ((m, 6, 0), (o, 8, -1)):
        text = path.read_bytes()
        fast = lob._parse_table(path, text, ncols, tcol, tuple(map(str, range(ncols))))
        slow = np.array([lob._parse_line_py(x, ncols, tcol) for x in text.decode().splitlines()])
        np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("s,ns", [("0", 0), ("1.5", 1_500_000_000), ("34200.000000001", 34_200_000_000_001),
                                  ("57599.9", 57_599_900_000_000), ("86399.123456789", 86_399_123_456_789)])
def test_time_decimal_to_exact_ns(s, ns):
    buf = np.frombuffer(s.encode(), np.uint8)
    out = np.empty((1, 1), np.int64)
    assert lob.parse_int_csv_nb(buf, out, 0)[0] == 0
    assert out[0, 0] == ns == lob._parse_line_py(s, 1, 0)[0]


# ---------------------------------------------------------------------------------------------
# one test per class of bad input: the message names the file, the 1-based line and the field
# ---------------------------------------------------------------------------------------------
def test_wrong_column_count(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, "34201.5,1,13,30,5853200"))
    raises(m, 3, "direction", "missing field", "found 5", msg=m, ob=o)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 1, MSGS[1] + ",7"))
    raises(m, 2, "direction", "expected 6 comma-separated fields, found 7", msg=m, ob=o)


def test_blank_line(tmp_path):
    m, o = pair(tmp_path, msgs=MSGS[:3] + [""] + MSGS[3:])
    raises(m, 4, "time", "empty line", msg=m, ob=o)


def test_non_numeric_field(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 1, "34200.18960767,1,12,5O,5853400,-1"))
    raises(m, 2, "size", "'5O' is not an integer", msg=m, ob=o)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 3, "34202,5,0,10,,1"))
    raises(m, 4, "price", "empty field", msg=m, ob=o)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 5, "34203.99x,4,12,20,5853400,-1"))
    raises(m, 6, "time", "not a time", msg=m, ob=o)
    m, o = pair(tmp_path, book=replaced(book_lines(), 2, "5853400,50,5853300,100,NaN,0,5853200,30"))
    raises(o, 3, "ask_price_2", "'NaN' is not an integer", msg=m, ob=o)


def test_too_many_digits(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, "34201.5,1,1234567890123456789,30,5853200,1"))
    raises(m, 3, "order_id", "more than 18 digits", msg=m, ob=o)


def test_cross_trades_may_carry_negative_pseudo_ids(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 3, "34202,6,-2,500,5853300,1"))  # LOBSTER: -2 = closing cross
    ev = read_lobster(m, o).events
    assert (ev["kind"][3], ev["order_id"][3], ev["size"][3]) == (6, -2, 500)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 3, "34202,6,-2,500,5853350,1"))
    raises(m, 4, "price", "off the tick grid", msg=m, ob=o)


def test_header_row_is_rejected(tmp_path):
    m, o = pair(tmp_path, msgs=["time,type,order_id,size,price,direction"] + MSGS)
    raises(m, 1, "time", "not a time", msg=m, ob=o)


# digits beyond the 9th decimal: accepted (rounded to the ns) when within 0.02 ns of a whole ns
NOISY_OK = [("34201.123456789004", 34_201_123_456_789), ("34200.0000000010", 34_200_000_000_001),
            ("34200.18960767000001", 34_200_189_607_670), ("34200.999999999996", 34_201_000_000_000),
            ("34200.00000000002", 34_200_000_000_000),          # exactly 0.02 ns: the boundary, accepted
            ("34200.000000000980000", 34_200_000_000_001)]      # 0.02 ns below a whole ns
NOISY_BAD = [("34200.0000000011", "not float noise"),          # 0.1 ns off
             ("34200.000000000021", "not float noise"),        # 0.021 ns: just beyond the boundary
             ("34200.1234567895", "not float noise"),          # half a ns
             ("34200.0000000000000000001", "more than 18 decimals"),
             ("34200.12.5", "not a time"), ("34200.1e-5", "not a time"), ("3420O.5", "not a time")]


@pytest.mark.parametrize("s,ns", NOISY_OK)
def test_time_float_noise_beyond_ns_is_rounded(tmp_path, s, ns):
    buf = np.frombuffer(s.encode(), np.uint8)
    out = np.empty((1, 1), np.int64)
    assert lob.parse_int_csv_nb(buf, out, 0, lob.NO_LIMIT)[0] == 0
    assert out[0, 0] == ns == lob._parse_line_py(s, 1, 0)[0] == lob.time_to_ns(s)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 0, f"{s},1,11,100,5853300,1"))
    if ns <= TS[1]:
        assert read_lobster(m, o).events["ts"][0] == ns


@pytest.mark.parametrize("s,fragment", NOISY_BAD)
def test_time_beyond_ns_that_is_not_float_noise_is_rejected(tmp_path, s, fragment):
    buf = np.frombuffer(s.encode(), np.uint8)
    assert lob.parse_int_csv_nb(buf, np.empty((1, 1), np.int64), 0, lob.NO_LIMIT)[0] != 0
    with pytest.raises(lob._LineError, match=fragment):
        lob._parse_line_py(s, 1, 0)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 0, f"{s},1,11,100,5853300,1"))
    raises(m, 1, "time", fragment, msg=m, ob=o)


def test_float_printed_times_round_trip_to_the_ns():
    """Every float64 print of a 9-decimal time (repr, %.12f, %.15f) reads back as that time, in
    the kernel and the Python reference alike."""
    rng = np.random.default_rng(0)
    t = rng.integers(34_200 * 10**9, 57_600 * 10**9, 3000)
    texts = [f(x / 1e9) for x in t.tolist() for f in (repr, lambda v: f"{v:.12f}", lambda v: f"{v:.15f}")]
    buf = np.frombuffer(("\n".join(texts) + "\n").encode(), np.uint8)
    out = np.empty((len(texts), 1), np.int64)
    assert lob.parse_int_csv_nb(buf, out, 0, lob.NO_LIMIT)[0] == 0
    want = np.repeat(t, 3)
    np.testing.assert_array_equal(out[:, 0], want)
    assert [lob.time_to_ns(x) for x in texts] == want.tolist()
    assert sum(len(x.split(".")[1]) > 9 for x in texts) > 3000  # the noisy prints were exercised


def test_bom_and_trailing_blank_lines_are_accepted(tmp_path):
    m, o = pair(tmp_path)
    m.write_bytes(b"\xef\xbb\xbf" + m.read_bytes() + b"\n\n  \n")
    o.write_bytes(b"\xef\xbb\xbf" + o.read_bytes() + b"\r\n\r\n")
    d = read_lobster(m, o)
    assert d.events["ts"].tolist() == TS and d.book.shape == (7, 8)
    (tmp_path / "gz").mkdir()
    gm, go = pair(tmp_path / "gz", gz=True)
    gm.write_bytes(gzip.compress(b"\xef\xbb\xbf" + ("\n".join(MSGS) + "\n\n\n").encode()))
    assert read_lobster(gm, go).events["ts"].tolist() == TS
    # a blank line inside the file is still an error, and so is a file of blank lines only
    m.write_bytes(("\n".join(MSGS[:2]) + "\n\n" + "\n".join(MSGS[2:]) + "\n\n").encode())
    raises(m, 3, "time", "empty line", msg=m, ob=o)
    m.write_bytes(b"\xef\xbb\xbf\n\n")
    raises(m, None, None, "empty file", msg=m, ob=o)
    # trailing spaces on the last row are not a blank line
    m.write_bytes(("\n".join(MSGS) + " \n\n").encode())
    raises(m, 7, "direction", msg=m, ob=o)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need POSIX")
@pytest.mark.parametrize("gz", [False, True], ids=["csv", "csv.gz"])
def test_named_pipes_are_read_whole(tmp_path, gz):
    """A pipe reports size 0 (``<(zcat day.csv.gz)``, a FIFO): it is read to its end, not taken as empty."""
    m, o = pair(tmp_path, gz=gz)
    want = read_lobster(m, o)
    (tmp_path / "p").mkdir()
    fifos = [tmp_path / "p" / m.name, tmp_path / "p" / o.name]
    writers = []
    for src, fifo in zip((m, o), fifos):
        os.mkfifo(fifo)
        writers.append(threading.Thread(target=fifo.write_bytes, args=(src.read_bytes(),), daemon=True))
        writers[-1].start()
    got = read_lobster(*fifos)
    for w in writers:
        w.join(timeout=60)
    assert np.array_equal(got.events, want.events) and np.array_equal(got.book, want.book)


def test_directory_and_unreadable_paths_give_one_line(tmp_path):
    m, o = pair(tmp_path)
    d = tmp_path / "adir_message_2.csv"
    d.mkdir()
    raises(d, None, None, "is a directory", msg=d, ob=o)
    raises(d, None, None, "is a directory", msg=m, ob=d)
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "companion", "verify", "lobster", str(d), str(o)],
                       check=False, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 2 and "is a directory" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_error_quotes_at_most_about_200_characters_of_a_field(tmp_path):
    huge = "9" * 50 + "x" * 100_000
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, f"34201.5,1,13,{huge},5853200,1"))
    e = raises(m, 3, "size", "is not an integer", "100,050 characters", msg=m, ob=o)
    assert len(str(e)) < 200 + 200 + 120 + len(str(m))
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, "34201.5" + "1" * 5000 + ",1,13,30,5853200,1"))
    e = raises(m, 3, "time", msg=m, ob=o)
    assert len(str(e)) < 600 + len(str(m))
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, "3" * 30 + ",1,13,30,5853200,1" + ",1" * 40_000))
    e = raises(m, 3, "direction", "found 40,006", msg=m, ob=o)
    assert len(str(e)) < 600 + len(str(m))


def test_values_beyond_the_placeholders_or_2_53_are_errors(tmp_path):
    # an add of 10**10 shares, the orderbook agreeing: no real size reaches the placeholder
    big = 10_000_000_000
    b = [list(r) for r in BOOK]
    b[0][3] = big
    m, o = pair(tmp_path, msgs=replaced(MSGS, 0, f"34200.000000001,1,11,{big},5853300,1"), book=book_lines(b))
    raises(m, 1, "size", "not below the empty-level placeholder 9999999999", msg=m, ob=o)
    # an ask beyond the placeholder would read as an empty level
    m, o = pair(tmp_path, msgs=replaced(MSGS, 1, "34200.18960767,1,12,50,10000000000,-1"))
    raises(m, 2, "price", "not below the empty-level placeholder", msg=m, ob=o)
    # the orderbook alone
    m, o = pair(tmp_path, book=replaced(book_lines(), 6, "5853400,30,5853200,30,10000000000,5,-9999999999,0"))
    raises(o, 7, "ask_price_2", "not below the empty-level placeholder", msg=m, ob=o)
    m, o = pair(tmp_path, book=replaced(book_lines(), 6, "5853400,30,5853200,30,5853500,99999999999,-9999999999,0"))
    raises(o, 7, "ask_size_2", "not below the empty-level placeholder", msg=m, ob=o)
    # beyond 2**53 (float64 would round 9007199254740993 to ...992): an error, not a rounding
    m, o = pair(tmp_path, book=replaced(book_lines(), 6, "5853400,30,5853200,30,5853500,9007199254740993,-9999999999,0"))
    raises(o, 7, "ask_size_2", "beyond 2^53", msg=m, ob=o)
    m, o = pair(tmp_path, book=replaced(book_lines(), 6, "5853400,30,5853200,30,-9007199254740993,0,-9999999999,0"))
    raises(o, 7, "ask_price_2", "beyond 2^53", msg=m, ob=o)
    line = "1,9007199254740993"
    buf = np.frombuffer(line.encode(), np.uint8)
    assert lob.parse_int_csv_nb(buf, np.empty((1, 2)), -1, lob.FLOAT_EXACT)[0] != 0
    assert lob.parse_int_csv_nb(buf, np.empty((1, 2), np.int64), -1, lob.NO_LIMIT)[0] == 0


def test_unknown_event_type(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, "34201.5,8,13,30,5853200,1"))
    raises(m, 3, "type", "unknown event type 8", msg=m, ob=o)


def test_decreasing_time(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 3, "34201.499999999,5,0,10,5853350,1"))
    raises(m, 4, "time", "time decreases: 34201.499999999 s after 34201.5 s", msg=m, ob=o)


def test_time_outside_the_file_name_window(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 0, "34199.999999999,1,11,100,5853300,1"))
    raises(m, 1, "time", "outside the session window 34200-57600 s", msg=m, ob=o)


def test_non_positive_size(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 1, "34200.18960767,1,12,0,5853400,-1"))
    raises(m, 2, "size", "size 0 must be > 0 for event type 1", msg=m, ob=o)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 6, "34204,3,11,-100,5853300,1"))
    raises(m, 7, "size", "size -100 must be > 0 for event type 3", msg=m, ob=o)


def test_bad_direction_and_order_id(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, "34201.5,1,13,30,5853200,0"))
    raises(m, 3, "direction", "direction 0", msg=m, ob=o)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, "34201.5,1,-13,30,5853200,1"))
    raises(m, 3, "order_id", "negative", msg=m, ob=o)


def test_price_off_the_tick_grid(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, "34201.5,1,13,30,5853250,1"))
    raises(m, 3, "price", "price 5853250 is off the tick grid (tick = 100", msg=m, ob=o)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 3, "34202,5,0,10,5853325,1"))  # hidden: half tick allowed, not less
    raises(m, 4, "price", "half-tick grid", msg=m, ob=o)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 0, "34200.000000001,1,11,100,0,1"))
    raises(m, 1, "price", "must be > 0", msg=m, ob=o)
    m, o = pair(tmp_path, book=replaced(book_lines(), 5, "5853400,30,5853300,100,5853450,5,5853200,30"))
    raises(o, 6, "ask_price_2", "price 5853450 is off the tick grid", msg=m, ob=o)


def test_halt_prices_are_flags_not_grid_prices(tmp_path):
    for flag in ("-1", "0", "1"):
        m, o = pair(tmp_path, msgs=replaced(MSGS, 4, f"34202.5,7,0,0,{flag},-1"))
        assert read_lobster(m, o).events["price"][4] == int(flag)
    m, o = pair(tmp_path, msgs=replaced(MSGS, 4, "34202.5,7,0,0,5853300,-1"))
    raises(m, 5, "price", "halt message (type 7) price 5853300", msg=m, ob=o)


def _first_bad_message_ref(m, tick, window):
    """The message checks as one numpy row mask each, in check_messages_nb's code order (the
    obviously-correct reference: the earliest row of any check, ties to the lower code)."""
    from companion import events as E
    t, typ, oid, size, price, side = (m[:, j] for j in range(6))
    P = lob.PLACEHOLDER
    half = max(tick // 2, 1) if tick % 2 == 0 else tick
    known = (typ >= E.ADD) & (typ <= E.HALT)
    halt, hidden = typ == E.HALT, typ == E.EXEC_HIDDEN
    need_pos = known & (typ <= E.EXEC_HIDDEN)
    on_grid = np.isin(typ, (E.ADD, E.CANCEL, E.DELETE, E.EXEC_VISIBLE, E.CROSS))
    dec = np.zeros(t.size, bool)
    dec[1:] = t[1:] < t[:-1]
    masks = [~known, dec, np.zeros(t.size, bool) if window is None else (t < window[0]) | (t > window[1]),
             known & ~((side == 1) | (side == -1) | (halt & (side == 0))), need_pos & (size <= 0), size >= P,
             ~halt & (np.abs(price) >= P), known & ~need_pos & (size < 0), known & (typ != E.CROSS) & (oid < 0),
             on_grid & (price <= 0), on_grid & (price > 0) & (price % tick != 0), hidden & (price <= 0),
             hidden & (price > 0) & (price % half != 0), halt & ~np.isin(price, (-1, 0, 1))]
    found = [(int(np.flatnonzero(mk)[0]), code) for code, mk in enumerate(masks, 1) if mk.any()]
    return (min(found)[1], min(found)[0]) if found else (0, -1)


def test_message_check_kernel_matches_the_numpy_reference():
    # valid rows, then a few fields set to values near each rule's edge; every code is reached
    seen = set()
    for seed in range(400):
        _compare_message_checks(seed, seen)
    assert seen == set(range(15))


def _compare_message_checks(seed, seen):
    rng = np.random.default_rng(seed)
    n, tick = 60, 100
    m = np.empty((n, 6), np.int64)
    m[:, 0] = 34_200 * 10**9 + np.cumsum(rng.integers(0, 10**6, n))
    m[:, 1] = rng.choice([1, 2, 3, 4, 5, 6, 7], n)
    m[:, 2] = rng.integers(1, 10**6, n)
    m[:, 3] = rng.integers(1, 500, n)
    m[:, 4] = rng.integers(50_000, 60_000, n) * tick
    m[:, 5] = rng.choice([1, -1], n)
    m[m[:, 1] == 7, 4] = rng.choice([-1, 0, 1], int((m[:, 1] == 7).sum()))
    m[m[:, 1] == 7, 3] = 0
    edges = {0: [0, 34_200 * 10**9 - 1, 10**18], 1: [0, 8, -1, 1, 5, 6, 7], 2: [-1, 0, 5],
             3: [0, -1, 1, lob.PLACEHOLDER, lob.PLACEHOLDER - 1], 4: [0, -1, 50, 150, 1, lob.PLACEHOLDER, -lob.PLACEHOLDER],
             5: [0, 2, -1, 1]}
    for _ in range(rng.integers(0, 4)):
        c = int(rng.integers(0, 6))
        m[rng.integers(0, n), c] = rng.choice(edges[c])
    for window in (None, (34_200 * 10**9, 57_600 * 10**9)):
        lo, hi = window or (0, 0)
        got = lob.check_messages_nb(m, tick, tick // 2, lo, hi, window is not None, lob.PLACEHOLDER)
        assert got == _first_bad_message_ref(m, tick, window), (seed, window)
        seen.add(got[0])


def test_row_count_mismatch(tmp_path):
    m, o = pair(tmp_path, book=book_lines()[:-1])
    raises(o, 7, None, "row-count mismatch: the orderbook has 6 rows but the message file", m.name, msg=m, ob=o)


def test_crossed_book(tmp_path):
    m, o = pair(tmp_path, book=replaced(book_lines(), 3, "5853300,50,5853300,100,9999999999,0,5853200,30"))
    raises(o, 4, "ask_price_1", "crossed book: best ask 5853300 <= best bid 5853300", msg=m, ob=o)


def test_orderbook_level_rules(tmp_path):
    # dummy price with a size
    m, o = pair(tmp_path, book=replaced(book_lines(), 0, "9999999999,5,5853300,100,9999999999,0,-9999999999,0"))
    raises(o, 1, "ask_size_1", "empty ask level 1 (dummy price 9999999999) has size 5", msg=m, ob=o)
    # occupied level with size 0
    m, o = pair(tmp_path, book=replaced(book_lines(), 1, "5853400,0,5853300,100,9999999999,0,-9999999999,0"))
    raises(o, 2, "ask_size_1", "ask size 0 of an occupied level", msg=m, ob=o)
    # the ask dummy on the bid side
    m, o = pair(tmp_path, book=replaced(book_lines(), 1, "5853400,50,-5853300,100,9999999999,0,-9999999999,0"))
    raises(o, 2, "bid_price_1", "neither > 0 nor the empty-level dummy", msg=m, ob=o)
    # bids out of order
    m, o = pair(tmp_path, book=replaced(book_lines(), 2, "5853400,50,5853300,100,9999999999,0,5853300,30"))
    raises(o, 3, "bid_price_2", "bid prices out of order", msg=m, ob=o)
    # occupied level behind an empty one
    m, o = pair(tmp_path, book=replaced(book_lines(), 0, "9999999999,0,5853300,100,5853500,10,-9999999999,0"))
    raises(o, 1, "ask_price_2", "ask level 2 is occupied but level 1 is empty", msg=m, ob=o)


def test_orderbook_columns_must_match_levels(tmp_path):
    narrow = [",".join(x.split(",")[:4]) for x in book_lines()]
    m, o = pair(tmp_path, book=narrow)  # file name says level 2
    raises(o, 1, "ask_price_2", "found 4", "4 x 2 = 8 fields", "file name", msg=m, ob=o)
    m2 = write(tmp_path / "day_messages.csv", MSGS)
    o2 = write(tmp_path / "day_book.csv", [",".join(x.split(",")[:6]) for x in book_lines()])
    raises(o2, 1, "ask_size_2", "6 fields is not a multiple of 4", msg=m2, ob=o2)


def test_file_names_disagree(tmp_path):
    m, _ = pair(tmp_path)
    o = write(tmp_path / "TEST_2012-06-22_34200000_57600000_orderbook_2.csv", book_lines())
    raises(o, None, None, "date '2012-06-22'", msg=m, ob=o)


@pytest.mark.parametrize("cut", ["34204,3,11,100,58533", "34204,3,11,100,5853300,", "34204,3,11,100,5853300,-", "34204"])
def test_truncated_last_line(tmp_path, cut):
    m, o = pair(tmp_path, msgs=MSGS[:-1] + [cut], msg_nl=False)
    raises(m, 7, None, "truncated last line", "does not end in a newline", msg=m, ob=o)


def test_truncated_orderbook_last_line(tmp_path):
    m, o = pair(tmp_path, book=book_lines()[:-1] + ["5853400,30,5853200,30,99999"], ob_nl=False)
    raises(o, 7, "ask_size_2", "truncated last line", "missing field", msg=m, ob=o)


def test_empty_file(tmp_path):
    m, o = pair(tmp_path)
    m.write_bytes(b"")
    raises(m, None, None, "empty file", msg=m, ob=o)
    m, o = pair(tmp_path, gz=True)
    o.write_bytes(gzip.compress(b""))
    raises(o, None, None, "empty file", msg=m, ob=o)


def test_corrupt_gzip(tmp_path):
    m, o = pair(tmp_path, gz=True)
    good = m.read_bytes()
    m.write_bytes(good[: len(good) // 2])  # cut stream
    raises(m, None, None, "unreadable or corrupt gzip", msg=m, ob=o)
    m.write_bytes(good[:12] + bytes(b ^ 0xFF for b in good[12:20]) + good[20:])  # flipped bytes
    raises(m, None, None, "corrupt gzip", msg=m, ob=o)
    m.write_bytes("\n".join(MSGS).encode())  # plain text named .gz
    raises(m, None, None, "not a gzip file", msg=m, ob=o)


def test_message_problems_are_reported_before_orderbook_problems(tmp_path):
    m, o = pair(tmp_path, msgs=replaced(MSGS, 2, "34201.5,9,13,30,5853200,1"), book=book_lines()[:-1])
    raises(m, 3, "type", msg=m, ob=o)


# ---------------------------------------------------------------------------------------------
# cross-file checks: the orderbook must agree with the messages; order-level audit
# ---------------------------------------------------------------------------------------------
def test_shifted_orderbook_is_an_error_naming_the_row(tmp_path):
    m, o = pair(tmp_path, book=book_lines()[:1] + book_lines()[:-1])  # one row late, same row count
    raises(o, 7, "ask_size_1", "disagrees with the messages", "message line 7", "= 50, the file has 30", msg=m, ob=o)
    m, o = pair(tmp_path, book=book_lines()[1:] + book_lines()[-1:])  # one row early
    raises(o, 6, "bid_price_1", "message line 7", "reduces the bid at 5853300, which row 6 does not hold", msg=m, ob=o)
    m, o = pair(tmp_path, book=replaced(book_lines(), 6, "5853400,30,5853200,31,9999999999,0,-9999999999,0"))
    raises(o, 7, "bid_size_1", "gives bid_size_1 = 30, the file has 31", msg=m, ob=o)
    d = read_lobster(m, o, check=False)  # verify reads like this and reports the mismatch itself
    assert len(d) == 7


@pytest.mark.realdata
def test_shifted_or_cut_real_orderbook_is_caught(shared_data, tmp_path):
    msg, ob = next(p for p in lobster_samples() if p[0].name.startswith("AMZN"))
    lines = ob.read_bytes().splitlines(keepends=True)
    shifted = tmp_path / ob.name
    shifted.write_bytes(b"".join(lines[:1000] + lines[1011:] + lines[-11:]))  # 11 rows cut, the end padded
    with pytest.raises(DataFormatError) as e:
        read_lobster(msg, shifted)
    assert e.value.path == str(shifted) and 1001 <= e.value.line <= 1009 and "disagrees" in str(e.value)
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "companion", "report", "tradesign", str(msg), str(shifted)],
                       check=False, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 2 and shifted.name in r.stderr and "disagrees" in r.stderr, r.stderr
    day = tmp_path / "day"  # backtest finds the orderbook beside the message file
    day.mkdir()
    (day / msg.name).write_bytes(msg.read_bytes())
    (day / ob.name).write_bytes(shifted.read_bytes())
    r = subprocess.run([sys.executable, "-m", "companion", "backtest", "--data", str(day / msg.name),
                        "--strategy", "noop"], check=False, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert r.returncode == 2 and ob.name in r.stderr and "line 10" in r.stderr and "disagrees" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# a level-1 day, full depth: the book starts empty and every order is seen
FD_MSGS = ["34200.1,1,1,10,1000000,1", "34200.2,1,2,40,1000000,1", "34200.3,1,3,5,1010000,-1",
           "34200.4,4,1,10,1000000,1"]
FD_BOOK = [[A, 0, 1000000, 10], [A, 0, 1000000, 50], [1010000, 5, 1000000, 50], [1010000, 5, 1000000, 40]]


def fd_pair(tmp_path, msgs=FD_MSGS, book=FD_BOOK):
    return pair(tmp_path, msgs=msgs, book=book_lines(book), level=1)


def test_full_depth_day_is_recognised(tmp_path):
    d = read_lobster(*fd_pair(tmp_path))
    assert d.full_depth and sum(d.anomalies.values()) == 0
    d = read_lobster(*pair(tmp_path))  # the hand-written level-2 day starts empty too
    assert d.full_depth


@pytest.mark.parametrize("i,new,line,field,fragment,cls", [
    (1, "34200.2,1,1,40,1000000,1", 2, "order_id", "add of order id 1, which is already resting", "duplicate_add"),
    (3, "34200.4,4,9,10,1000000,1", 4, "order_id", "execution of order id 9, which is not resting", "unknown_execution"),
    (3, "34200.4,3,9,10,1000000,1", 4, "order_id", "delete of order id 9, which is not resting", "unknown_delete"),
    (3, "34200.4,2,9,10,1000000,1", 4, "order_id", "cancel of order id 9, which is not resting", "unknown_cancel"),
    (3, "34200.4,4,2,10,1000000,1", None, None, None, None),  # another resting order: fine
])
def test_order_anomalies_are_errors_on_full_depth_and_counted_on_truncated(tmp_path, i, new, line, field, fragment, cls):
    msgs = replaced(FD_MSGS, i, new)
    m, o = fd_pair(tmp_path, msgs=msgs)
    if cls is None:
        assert read_lobster(m, o).full_depth
        return
    raises(m, line, field, fragment, "full-depth day", msg=m, ob=o)
    # the same messages in a truncated-depth file (an ask rests before the session): counted
    book = [[1020000, 7, *r[2:]] if r[0] == A else r for r in FD_BOOK]
    m, o = fd_pair(tmp_path, msgs=msgs, book=book)
    d = read_lobster(m, o)
    assert not d.full_depth and d.anomalies[cls] == 1 and sum(d.anomalies.values()) == 1
    raises(m, line, field, fragment, msg=m, ob=o, full_depth=True)  # declared full depth: an error


def test_execution_larger_than_the_resting_order(tmp_path):
    msgs = replaced(FD_MSGS, 3, "34200.4,4,1,20,1000000,1")   # order 1 rests with 10
    book = [r for r in FD_BOOK[:3]] + [[1010000, 5, 1000000, 30]]
    m, o = fd_pair(tmp_path, msgs=msgs, book=book)
    raises(m, 4, "size", "execution of 20 shares exceeds the 10 shares resting in order 1", msg=m, ob=o)
    d = read_lobster(m, o, full_depth=False)
    assert d.anomalies["execution_exceeds_resting"] == 1
    # messages only: depth unknown, so counted
    assert read_lobster(m).anomalies["execution_exceeds_resting"] == 1 and not read_lobster(m).full_depth


# ---------------------------------------------------------------------------------------------
# real data: every LOBSTER sample in ../shared/data/lobster, against the table in its README.md
# ---------------------------------------------------------------------------------------------
ANOMALIES = {  # (ticker, level): unknown cancel / delete / execution, delete of another size (truncated depth)
    ("AAPL", 1): (86, 6335, 8559, 4), ("AMZN", 1): (4, 4392, 3071, 1), ("GOOG", 1): (1, 2166, 2309, 0),
    ("GOOG", 5): (1, 4139, 811, 0), ("GOOG", 10): (1, 2830, 532, 0),
}
EXPECTED = {  # (ticker, level): rows, counts of types 1..5, first/last time (s, 3 decimals)
    ("AAPL", 1): (118497, [54818, 252, 28437, 23658, 11332], 34200.004, 57599.913),
    ("AMZN", 1): (57515, [27845, 16, 18235, 8974, 2445], 34200.017, 57599.959),
    ("GOOG", 1): (49482, [24368, 7, 13429, 7765, 3913], 34200.015, 57599.321),
    ("GOOG", 5): (112673, [54907, 16, 46072, 7765, 3913], 34200.015, 57599.872),
    ("GOOG", 10): (147916, [71258, 19, 64961, 7765, 3913], 34200.015, 57599.872),
}


def test_every_shared_sample_is_listed(shared_data):
    found = {(lob.parse_lobster_name(m)["ticker"], lob.parse_lobster_name(m)["levels"]) for m, _ in lobster_samples()}
    assert found == set(EXPECTED)


@pytest.mark.realdata
@pytest.mark.parametrize("msg,ob", lobster_samples(), ids=[m.name.split("_")[0] + "_L" + m.name.split("_")[-1].split(".")[0]
                                                           for m, _ in lobster_samples()])
def test_real_samples(shared_data, msg, ob):
    d = read_lobster(msg, ob)
    key = (d.instrument.symbol, d.instrument.levels)
    rows, counts, t0, t1 = EXPECTED[key]
    assert len(d) == rows and d.book.shape == (rows, 4 * key[1])
    assert np.bincount(d.events["kind"], minlength=8)[1:].tolist() == counts + [0, 0]
    assert round(d.events["ts"][0] / 1e9, 3) == t0 and round(d.events["ts"][-1] / 1e9, 3) == t1
    assert (np.diff(d.events["ts"]) >= 0).all()
    assert (d.book[:, 0] > d.book[:, 2]).all()
    assert d.instrument.date == "2012-06-21" and d.instrument.venue == "NASDAQ"
    # hidden executions (type 5) may print at the half tick (midpoint); all other prices are on the grid
    ev = d.events
    assert (ev["price"][ev["kind"] != 5] % 100 == 0).all() and (ev["price"] % 50 == 0).all()
    # truncated depth (level-N, book resting since before 09:30): order anomalies counted, not raised
    a = d.anomalies
    assert not d.full_depth
    assert (a["unknown_cancel"], a["unknown_delete"], a["unknown_execution"], a["delete_size_differs"]) == ANOMALIES[key]
    assert a["duplicate_add"] == a["execution_exceeds_resting"] == a["cancel_exceeds_resting"] == 0
    assert a["price_or_side_differs"] == 0


def test_real_aapl_first_rows_and_reference_parser(shared_data):
    msg, ob = next(p for p in lobster_samples() if p[0].name.startswith("AAPL"))
    d = read_lobster(msg, ob)
    assert d.events[["ts", "kind", "order_id", "size", "price", "side"]][:3].tolist() == [
        (34200004241176, 1, 16113575, 18.0, 5853300, 1),
        (34200025551909, 1, 16120456, 18.0, 5859100, -1),
        (34200201743336, 3, 16120456, 18.0, 5859100, -1),  # README.md misprints this time as ...743127
    ]
    assert d.book[:3].tolist() == [[5859400, 200, 5853300, 18], [5859100, 18, 5853300, 18], [5859200, 18, 5853300, 18]]
    # the numba pass equals the pure-Python reference parser on every line of the file
    slow = np.array([lob._parse_line_py(x, 6, 0) for x in msg.read_text().splitlines()])
    fast = np.column_stack([d.events[f] for f in ("ts", "kind", "order_id", "size", "price", "side")])
    np.testing.assert_array_equal(fast, slow)


# ---------------------------------------------------------------------------------------------
# data_scripts/get_lobster_sample.py (only --from works without network)
# ---------------------------------------------------------------------------------------------
def _script():
    spec = importlib.util.spec_from_file_location("get_lobster_sample", REPO / "data_scripts" / "get_lobster_sample.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _sample_folder(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for t in ("AAPL", "GOOG"):  # CSV pair for AAPL/GOOG level 1 (a readable tiny day)
        write(src / f"{t}_2012-06-21_34200000_57600000_message_1.csv", MSGS)
        write(src / f"{t}_2012-06-21_34200000_57600000_orderbook_1.csv", [",".join(x.split(",")[:4]) for x in book_lines()])
    with zipfile.ZipFile(src / "LOBSTER_SampleFile_MSFT_2012-06-21_5.zip", "w") as zf:  # a sample zip
        zf.writestr("MSFT_2012-06-21_34200000_57600000_message_5.csv", "\n".join(MSGS) + "\n")
        zf.writestr("MSFT_2012-06-21_34200000_57600000_orderbook_5.csv", "1\n")
        zf.writestr("LOBSTER_SampleFiles_ReadMe.txt", "readme")
    return src


def test_get_sample_from_folder(tmp_path, capsys):
    mod = _script()
    src, dest = _sample_folder(tmp_path), tmp_path / "data" / "lobster"
    assert mod.main(["--from", str(src), "--dest", str(dest), "--tickers", "aapl", "GOOG", "--levels", "1"]) == 0
    names = sorted(p.name for p in dest.iterdir())
    assert names == sorted(f"{t}_2012-06-21_34200000_57600000_{w}_1.csv" for t in ("AAPL", "GOOG") for w in ("message", "orderbook"))
    d = read_lobster(dest / names[0], dest / names[1])
    assert len(d) == 7 and d.instrument.symbol == "AAPL"
    assert mod.main(["--from", str(src), "--dest", str(dest), "--tickers", "AAPL"]) == 0
    assert "already in" in capsys.readouterr().out
    # a sample zip in the folder is unzipped (CSVs only)
    assert mod.main(["--from", str(src), "--dest", str(dest), "--tickers", "MSFT", "--levels", "5"]) == 0
    assert (dest / "MSFT_2012-06-21_34200000_57600000_message_5.csv").exists()
    assert not (dest / "LOBSTER_SampleFiles_ReadMe.txt").exists()
    # missing sample: exit 1 with a message naming it
    assert mod.main(["--from", str(src), "--dest", str(dest), "--tickers", "INTC"]) == 1
    assert "INTC level 1" in capsys.readouterr().err


def test_get_sample_env_default_and_shared(tmp_path, monkeypatch, shared_data):
    mod = _script()
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "cd"))
    assert mod.main(["--from", str(shared_data / "lobster"), "--tickers", "GOOG", "--levels", "5"]) == 0
    got = sorted((tmp_path / "cd" / "lobster").iterdir())
    assert [p.name for p in got] == ["GOOG_2012-06-21_34200000_57600000_message_5.csv.gz",
                                     "GOOG_2012-06-21_34200000_57600000_orderbook_5.csv.gz"]
    assert len(read_lobster(*got)) == 112673


def test_get_sample_offline_message(tmp_path, monkeypatch, capsys):
    mod = _script()

    def offline(*a, **k):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(mod.urllib.request, "urlopen", offline)
    assert mod.main(["--dest", str(tmp_path), "--tickers", "AAPL", "AMZN"]) == 1
    err = capsys.readouterr().err
    assert "cannot download https://lobsterdata.com/info/sample/LOBSTER_SampleFile_AAPL_2012-06-21_1.zip" in err
    assert "Offline?" in err and "--from" in err and "AMZN" not in err


def test_large_file_pieces_parse_and_report_like_one(tmp_path, monkeypatch):
    """Files above _PIECE_MIN_BYTES are parsed in pieces in parallel: the same array as one piece,
    and a problem is reported at its line in the whole file (the first one in file order)."""
    from companion.io import lobster as lob

    n = 600_000                                             # ~8 MB: two pieces
    rows = np.arange(n, dtype=np.int64)
    text = "".join(f"{r},{r % 7},-{r % 13}\n" for r in rows).encode()
    assert len(text) >= lob._PIECE_MIN_BYTES
    names = ("a", "b", "c")
    many = lob._parse_table(tmp_path / "x.csv", text, 3, -1, names)
    monkeypatch.setattr(lob, "_PIECE_MIN_BYTES", 1 << 62)
    one = lob._parse_table(tmp_path / "x.csv", text, 3, -1, names)
    monkeypatch.undo()
    assert np.array_equal(many, one) and many[-1].tolist() == [n - 1, (n - 1) % 7, -((n - 1) % 13)]
    lines = text.split(b"\n")
    late = lines.copy()
    late[500_000] = b"500000,x,1"                           # in the second piece
    with pytest.raises(DataFormatError) as e:
        lob._parse_table(tmp_path / "x.csv", b"\n".join(late), 3, -1, names)
    assert e.value.line == 500_001 and e.value.field == "b"
    both = late.copy()
    both[10] = b"10,1"                                      # and one in the first piece
    with pytest.raises(DataFormatError) as e:
        lob._parse_table(tmp_path / "x.csv", b"\n".join(both), 3, -1, names)
    assert e.value.line == 11
    # the same from a file, streamed in blocks (the two pieces read and parsed in parallel)
    f = tmp_path / "x.csv"
    f.write_bytes(text)
    with lob._rows_of(f) as src:
        assert isinstance(src, lob._Streamed) and np.array_equal(lob._parse_table(f, src, 3, -1, names), one)
    for bad, line, field in ((late, 500_001, "b"), (both, 11, "c")):
        f.write_bytes(b"\n".join(bad))
        with pytest.raises(DataFormatError) as e, lob._rows_of(f) as src:
            lob._parse_table(f, src, 3, -1, names)
        assert (e.value.line, e.value.field) == (line, field)


def test_a_file_cut_while_being_read_is_an_error(tmp_path, monkeypatch):
    """A streamed file is counted, then parsed: if it loses lines in between, the read fails (it
    never returns rows that were not parsed)."""
    f = tmp_path / "x.csv"
    f.write_bytes(b"".join(b"%d,1,2\n" % i for i in range(1000)))
    each = lob._each

    def cut_after_count(fn, n):
        out = each(fn, n)
        if isinstance(out[0], (int, np.integer)):  # the count: now cut the file
            os.truncate(f, f.stat().st_size // 2)
        return out

    monkeypatch.setattr(lob, "_each", cut_after_count)
    with pytest.raises(DataFormatError, match="changed while it was being read") as e, lob._rows_of(f) as src:
        lob._parse_table(f, src, 3, -1, ("a", "b", "c"))
    assert e.value.line is not None and 1 < e.value.line <= 1000


def _fuzz_fields(rng: np.random.Generator, n: int) -> list[str]:
    """Random time-like and integer-like fields, valid and broken (seeded)."""
    alphabet = list("0123456789") * 4 + list(".-,x e+") + ["\r"]
    out = []
    for _ in range(n):
        u = rng.random()
        if u < 0.35:  # times with 0-20 decimals, some float noise
            whole = str(int(rng.integers(0, 10 ** int(rng.integers(1, 11)))))
            nd = int(rng.integers(0, 21))
            frac = "".join(rng.choice(list("0123456789"), nd))
            if nd > 9 and rng.random() < 0.5:
                frac = frac[:9] + rng.choice(["0" * (nd - 9), "9" * (nd - 9), "00" + frac[11:], "99" + frac[11:]])
            out.append(whole + ("." + frac if nd or rng.random() < 0.1 else ""))
        elif u < 0.7:  # integers up to 20 digits, around 2**53
            v = int(rng.integers(0, 10 ** int(rng.integers(1, 19)), dtype=np.int64))
            if rng.random() < 0.2:
                v = (1 << 53) + int(rng.integers(-3, 4))
            out.append(("-" if rng.random() < 0.3 else "") + str(v) + ("7" * int(rng.integers(0, 3)) if rng.random() < 0.1 else ""))
        else:  # random garbage
            out.append("".join(rng.choice(alphabet, int(rng.integers(0, 12)))))
    return out


@pytest.mark.parametrize("dtype,max_abs", [(np.int64, "NO_LIMIT"), (np.float64, "FLOAT_EXACT")])
def test_kernel_and_python_reference_agree_on_random_fields(dtype, max_abs):
    """parse_int_csv_nb and _parse_line_py accept the same 2-field lines (time, integer) and give the
    same values; 6000 seeded random lines, valid and broken."""
    limit = getattr(lob, max_abs)
    rng = np.random.default_rng(11)
    a, b = _fuzz_fields(rng, 6000), _fuzz_fields(rng, 6000)
    n_ok = 0
    tcol = 0 if dtype is np.int64 else -1  # float64 holds orderbook values only (no time column)
    for x, y in zip(a, b):
        line = f"{x},{y}"
        out = np.zeros((1, 2), dtype=dtype)
        st = lob.parse_int_csv_nb(np.frombuffer(line.encode(), np.uint8), out, tcol, limit)[0]
        try:
            ref = lob._parse_line_py(line, 2, tcol, limit)
        except lob._LineError:
            ref = None
        assert (st == 0) == (ref is not None), line
        if ref is not None:
            n_ok += 1
            assert int(out[0, 0]) == ref[0] and int(out[0, 1]) == ref[1], line
    assert 500 < n_ok < 5500  # both sides exercised


def test_large_message_file_with_noisy_times_reports_the_first_bad_line(tmp_path):
    """A > 4 MB message file parsed in two pieces: float-noise times are accepted in both pieces and
    a time that is not noise is reported at its line in the whole file."""
    n = 120_000
    t = 34_200 * 10**9 + np.arange(n, dtype=np.int64) * 100_000
    t += np.random.default_rng(1).integers(0, 100_000, n)
    lines = [f"{x / 1e9:.12f},1,{i + 1},100,{1000000 - 100 * (i % 50)},1" for i, x in enumerate(t.tolist())]
    assert sum(len(s.split(",")[0].split(".")[1]) > 9 for s in lines) > 100   # noisy prints present
    text = ("\n".join(lines) + "\n").encode()
    assert len(text) >= lob._PIECE_MIN_BYTES
    m = tmp_path / "big_message.csv"
    got = lob._parse_table(m, text, 6, 0, lob.MESSAGE_FIELDS)
    np.testing.assert_array_equal(got[:, 0], t)
    bad = list(lines)
    bad[80_000] = "34208.0000000005" + bad[80_000][bad[80_000].index(","):]
    bad[80_001] = "34208.000000000500" + bad[80_001][bad[80_001].index(","):]
    with pytest.raises(DataFormatError) as e:
        lob._parse_table(m, ("\n".join(bad) + "\n").encode(), 6, 0, lob.MESSAGE_FIELDS)
    assert e.value.line == 80_001 and e.value.field == "time" and "not float noise" in str(e.value)
