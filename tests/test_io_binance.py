"""Binance recording reader: diff-sync rules, gaps, resync, trade sides, exact prices, bad input,
the reference top-of-book replay, and the bookTicker answer key on the real recordings."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from companion.errors import DataFormatError, SequenceGapError
from companion.events import ASK, BID, CLEAR, DUMMY_ASK, DUMMY_BID, EVENT_DTYPE, LEVEL_SET, TRADE
from companion.io.binance import (
    TICKER_DTYPE,
    compare_tickers,
    diff_end_index,
    read_binance,
    top_of_book_reference,
    verify_recording,
)

T0 = 1_723_161_255_000_000_000  # local ns
E0 = 1_723_161_256_000          # exchange ms


# ---------------------------------------------------------------------------- tiny recordings
def _env(stream: str, data: dict) -> str:
    return json.dumps({"stream": stream, "data": data})


def snap(last_id: int, bids, asks, E: int | None = E0) -> str:
    d = {"lastUpdateId": last_id, "bids": [list(x) for x in bids], "asks": [list(x) for x in asks]}
    if E is not None:
        d["E"] = E
    return json.dumps(d)


def fdiff(U: int, u: int, pu: int, b=(), a=(), E: int = E0) -> str:
    return _env("btcusdt@depth@0ms", {"e": "depthUpdate", "E": E, "T": E, "s": "BTCUSDT", "U": U, "u": u,
                                      "pu": pu, "b": [list(x) for x in b], "a": [list(x) for x in a]})


def sdiff(U: int, u: int, b=(), a=(), E: int = E0) -> str:
    return _env("btcusdt@depth@100ms", {"e": "depthUpdate", "E": E, "s": "BTCUSDT", "U": U, "u": u,
                                        "b": [list(x) for x in b], "a": [list(x) for x in a]})


def trade(p: str, q: str, m: bool, t: int, T: int = E0) -> str:
    return _env("btcusdt@trade", {"e": "trade", "E": T, "T": T, "s": "BTCUSDT", "t": t, "p": p, "q": q, "m": m})


def ticker(u: int, b: str, B: str, a: str, A: str, E: int | None = E0) -> str:
    d = {"u": u, "s": "BTCUSDT", "b": b, "B": B, "a": a, "A": A}
    if E is not None:
        d = {"e": "bookTicker", **d, "E": E, "T": E}
    return _env("btcusdt@bookTicker", d)


def write(tmp_path: Path, messages: list[str], name: str = "rec.gz") -> Path:
    """One line per message, local ns stamps 1 ms apart (line i+1 at T0 + i ms)."""
    p = tmp_path / name
    text = "".join(f"{T0 + i * 1_000_000} {m}\n" for i, m in enumerate(messages))
    if name.endswith(".gz"):
        with gzip.open(p, "wt") as fh:
            fh.write(text)
    else:
        p.write_text(text)
    return p


BOOK = dict(bids=[("100.0", "1.0"), ("99.9", "2.0")], asks=[("100.1", "3.0"), ("100.2", "4.0")])


def best(data) -> np.ndarray:
    return top_of_book_reference(data.events, diff_end_index(data.diffs))


# ---------------------------------------------------------------------------- futures sync
def test_futures_sync_start_drops_stale_and_buffers_pre_snapshot(tmp_path):
    msgs = [
        fdiff(80, 90, 79, b=[("100.0", "9.0")]),            # line 1: stale (u < L), dropped
        fdiff(91, 102, 90, b=[("100.0", "5.0")]),           # line 2: U <= 100 <= u: first applied
        snap(100, **BOOK),                                  # line 3
        fdiff(103, 105, 102, a=[("100.1", "0")]),           # line 4: deletes best ask
        fdiff(106, 106, 105, b=[("100.1", "0.5")]),         # line 5: new best bid
    ]
    d = read_binance(write(tmp_path, msgs))
    assert d.market == "usdm"
    assert (d.diffs_applied, d.diffs_stale, d.diffs_dropped, d.gaps) == (3, 1, 1, 0)
    ev = d.events
    # snapshot: CLEAR + 4 levels (bids then asks), then 1 + 1 + 1 diff levels
    assert ev["kind"].tolist() == [CLEAR] + [LEVEL_SET] * 7
    assert ev["side"][1:5].tolist() == [BID, BID, ASK, ASK]
    assert ev["order_id"].tolist() == [100] * 5 + [102, 105, 106]
    assert d.diffs["line"].tolist() == [2, 4, 5]
    # the buffered diff is applied when the snapshot arrives: its ts_local is the snapshot's
    assert d.diffs["ts_local"][0] == T0 + 2_000_000
    assert (np.diff(ev["ts_local"]) >= 0).all()
    assert ev["ts"][0] == E0 * 1_000_000
    # price scale: BTCUSDT futures tick 0.10 -> scale 10, tick 1 unit (an off-grid price such as
    # 100.05 is an error, see test_price_off_the_tick_grid_is_an_error_naming_the_line)
    assert d.instrument.price_scale == 10 and d.instrument.tick == 1
    assert ev["price"][1:5].tolist() == [1000, 999, 1001, 1002]
    b = best(d)
    assert b.tolist() == [[1001, 3.0, 1000, 5.0], [1002, 4.0, 1000, 5.0], [1002, 4.0, 1001, 0.5]]


def test_futures_first_event_must_cover_last_update_id(tmp_path):
    msgs = [snap(100, **BOOK), fdiff(101, 103, 100)]  # U = 101 > L: update 100 ... missing
    with pytest.raises(SequenceGapError) as exc:
        read_binance(write(tmp_path, msgs))
    assert exc.value.line == 2 and exc.value.field == "U"
    assert "line 2" in str(exc.value) and "field 'U'" in str(exc.value)


def test_futures_pu_gap_raises_naming_line_and_field(tmp_path):
    msgs = [snap(100, **BOOK), fdiff(99, 101, 98), trade("100.1", "1", False, 1), fdiff(103, 104, 102)]
    with pytest.raises(SequenceGapError) as exc:
        read_binance(write(tmp_path, msgs))
    msg = str(exc.value)
    assert exc.value.line == 4 and exc.value.field == "pu"
    assert "rec.gz, line 4, field 'pu'" in msg and "pu=102 != previous u=101" in msg
    assert isinstance(exc.value, DataFormatError)


def test_boundary_u_equal_last_update_id_futures_applies_spot_drops(tmp_path):
    f = read_binance(write(tmp_path, [snap(100, **BOOK), fdiff(95, 100, 94, b=[("100.0", "7")])], "f.gz"))
    assert (f.diffs_applied, f.diffs_stale) == (1, 0)
    s = read_binance(write(tmp_path, [snap(100, **BOOK), sdiff(95, 100, b=[("100.0", "7")]),
                                      sdiff(101, 101, b=[("100.0", "8")])], "s.gz"))
    assert s.market == "spot"
    assert (s.diffs_applied, s.diffs_stale) == (1, 1)
    assert best(s)[0, 3] == 8.0


# ---------------------------------------------------------------------------- spot sync
def test_spot_sync_rules(tmp_path):
    msgs = [
        sdiff(90, 100, b=[("100.0", "9")]),          # u <= L: stale
        snap(100, E=None, **BOOK),                   # spot snapshot has no E
        sdiff(99, 101, a=[("100.1", "0.5")]),        # U <= L+1 <= u: first applied
        sdiff(102, 110, b=[("99.9", "0")]),
    ]
    d = read_binance(write(tmp_path, msgs))
    assert (d.market, d.diffs_applied, d.diffs_stale) == ("spot", 2, 1)
    assert d.diffs["pu"].tolist() == [-1, -1]
    # the snapshot's ts is the latest exchange time seen before it (spot sends none)
    assert d.events["ts"][0] == E0 * 1_000_000
    # spot BTCUSDT tick 0.01: price_scale 100 although these prices have one decimal
    assert d.instrument.price_scale == 100 and d.instrument.tick == 1
    assert best(d).tolist() == [[10010, 0.5, 10000, 1.0], [10010, 0.5, 10000, 1.0]]


def test_spot_first_event_past_last_update_id_plus_one_is_a_gap(tmp_path):
    with pytest.raises(SequenceGapError) as exc:
        read_binance(write(tmp_path, [snap(100, **BOOK), sdiff(102, 105)]))
    assert (exc.value.line, exc.value.field) == (2, "U")


def test_spot_U_gap_raises(tmp_path):
    msgs = [snap(100, **BOOK), sdiff(101, 103), sdiff(105, 106)]
    with pytest.raises(SequenceGapError, match=r"line 3, field 'U'.*U=105 != previous u \+ 1 = 104"):
        read_binance(write(tmp_path, msgs))


# ---------------------------------------------------------------------------- resync
def test_resync_emits_clear_and_resyncs_on_next_snapshot(tmp_path):
    msgs = [
        snap(100, **BOOK),                                   # 1
        fdiff(99, 101, 98, b=[("100.0", "2")]),              # 2 applied
        fdiff(110, 112, 109, b=[("100.0", "3")]),            # 3 gap (pu 109 != 101): CLEAR, buffered
        fdiff(113, 115, 112, b=[("100.0", "4")]),            # 4 buffered; stale vs the next snapshot
        fdiff(116, 121, 115, b=[("100.0", "5")]),            # 5 buffered; covers L = 120
        snap(120, bids=[("100.0", "1")], asks=[("101.0", "1")]),  # 6
        fdiff(122, 125, 121, a=[("101.0", "2")]),            # 7 applied
    ]
    d = read_binance(write(tmp_path, msgs), on_gap="resync")
    assert d.gaps == 1 and d.snapshots == 2
    assert (d.diffs_applied, d.diffs_stale, d.diffs_unanchored) == (3, 2, 0)
    kinds = d.events["kind"].tolist()
    assert kinds.count(CLEAR) == 3  # snapshot, explicit resync CLEAR, second snapshot
    gap_clear = [i for i, k in enumerate(kinds) if k == CLEAR][1]
    assert d.events["ts_local"][gap_clear] == T0 + 2_000_000 and d.events["order_id"][gap_clear] == 0
    assert d.diffs["line"].tolist() == [2, 5, 7]
    assert best(d).tolist() == [[1001, 3.0, 1000, 2.0], [1010, 1.0, 1000, 5.0], [1010, 2.0, 1000, 5.0]]


def test_resync_without_following_snapshot_counts_the_rest_as_dropped(tmp_path):
    msgs = [snap(100, **BOOK), fdiff(99, 101, 98), fdiff(110, 112, 109), fdiff(113, 115, 112),
            trade("100.1", "1", True, 7)]
    d = read_binance(write(tmp_path, msgs), on_gap="resync")
    assert (d.gaps, d.diffs_applied, d.diffs_unanchored, d.diffs_dropped) == (1, 1, 2, 2)
    assert d.events["kind"][-2:].tolist() == [CLEAR, TRADE]  # trades keep flowing
    with pytest.raises(ValueError, match="on_gap"):
        read_binance(write(tmp_path, msgs), on_gap="ignore")


# ---------------------------------------------------------------------------- trades, tickers, prices
def test_trade_side_is_the_aggressor(tmp_path):
    msgs = [snap(100, **BOOK), trade("100.1", "0.5", False, 11, T=E0 + 5), trade("100.0", "0.25", True, 12)]
    d = read_binance(write(tmp_path, msgs))
    tr = d.events[d.events["kind"] == TRADE]
    assert tr["side"].tolist() == [BID, ASK]  # m=false: buyer took the ask; m=true: seller hit the bid
    assert tr["order_id"].tolist() == [11, 12]
    assert tr["ts"].tolist() == [(E0 + 5) * 1_000_000, E0 * 1_000_000]
    assert tr["ts_local"].tolist() == [T0 + 1_000_000, T0 + 2_000_000]
    assert tr["price"].tolist() == [1001, 1000] and tr["size"].tolist() == [0.5, 0.25]
    assert d.trades == 2


def test_exact_decimal_to_integer_price_units(tmp_path):
    # 123456789.123456789 has 18 significant digits: float64 cannot hold it, int64 units can
    # (a symbol without known filters: BTCUSDT's 0.01 tick would reject these prices)
    xyz = _env("xyzusdt@trade", {"e": "trade", "E": E0, "T": E0, "s": "XYZUSDT", "t": 1,
                                 "p": "123456789.12345679", "q": "0.3", "m": False})
    msgs = [snap(1, bids=[("123456789.123456789", "1.00000000"), ("0.000000001", "2")],
                 asks=[("123456789.123456790", "0.10000000")]), xyz]
    d = read_binance(write(tmp_path, msgs, "plain.txt"), market="spot")
    assert d.instrument.price_scale == 10**9 and d.instrument.tick == 1  # inferred: 1 unit
    assert d.events["price"][1:4].tolist() == [123456789123456789, 1, 123456789123456790]
    assert d.events["price"][4] == 123456789123456790
    assert float("123456789.123456789") * 1e9 != 123456789123456789  # what a float path would lose
    # spot-style trailing zeros do not inflate the scale
    s = read_binance(write(tmp_path, [snap(1, bids=[("61837.63000000", "3.78826000")],
                                           asks=[("61837.64000000", "1.54698000")], E=None)], "s.gz"),
                     market="spot", symbol="BTCUSDT")
    assert s.instrument.price_scale == 100 and s.instrument.tick == 1 and s.instrument.lot == 1e-5
    assert s.events["price"][1:].tolist() == [6183763, 6183764]
    assert s.events["size"][1:].tolist() == [3.78826, 1.54698]


def test_tickers_are_read_in_price_units(tmp_path):
    msgs = [ticker(5, "100.0", "1.5", "100.1", "2", E=None), snap(100, **BOOK), ticker(101, "100.0", "1", "100.2", "4")]
    d = read_binance(write(tmp_path, msgs), market="usdm")
    t = d.tickers
    assert t.dtype == TICKER_DTYPE
    assert t["u"].tolist() == [5, 101] and t["ts"].tolist() == [0, E0 * 1_000_000]
    assert t["bid_px"].tolist() == [1000, 1000] and t["ask_px"].tolist() == [1001, 1002]
    assert t["bid_qty"].tolist() == [1.5, 1.0] and t["ask_qty"].tolist() == [2.0, 4.0]
    assert list(d.tickers_frame().columns) == ["u", "bid_px", "bid_qty", "ask_px", "ask_qty"]


# ---------------------------------------------------------------------------- malformed input
@pytest.mark.parametrize(
    "bad, field",
    [
        ("{not json", "json"),
        ("[1, 2]", "json"),
        (fdiff(101, 102, 101, b=[("abc", "1")]), "b"),
        (fdiff(101, 102, 101, a=[("1e5", "1")]), "a"),
        (fdiff(101, 102, 101, a=[("100.1", "-1")]), "a"),
        (fdiff(101, 102, 101, b=[("100.0", "1", "x")]), "b"),
        (trade("1,5", "1", True, 1), "p"),
        (trade("100.0", "nan", True, 1), "q"),
        (ticker(5, "100.0", "1", "100.1", "x"), "A"),
        (_env("btcusdt@depth@0ms", {"e": "depthUpdate", "U": 1, "u": 2, "pu": 0, "b": [], "a": []}), "E"),
        (_env("btcusdt@trade", {"e": "trade", "T": 1, "p": "1", "q": "1", "t": 1}), "m"),
        (_env("btcusdt@depth@0ms", {"e": "depthUpdate", "E": 1, "U": "1", "u": 2, "pu": 0, "b": [], "a": []}), "U"),
    ],
)
def test_malformed_lines_name_file_line_field(tmp_path, bad, field):
    msgs = [snap(100, **BOOK), fdiff(99, 100, 98), bad, fdiff(101, 101, 100)]
    p = write(tmp_path, msgs)
    with pytest.raises(DataFormatError) as exc:
        read_binance(p, on_gap="resync")
    assert not isinstance(exc.value, SequenceGapError)
    assert (exc.value.line, exc.value.field) == (3, field)
    assert str(exc.value).startswith(f"{p}, line 3, field '{field}'")


def test_bad_local_timestamp_and_stale_diff_values_are_checked(tmp_path):
    p = tmp_path / "r.txt"
    p.write_text(f"{T0} {snap(100, **BOOK)}\n12x4 {fdiff(99, 100, 98)}\n")
    with pytest.raises(DataFormatError, match=r"line 2, field 'local_ts'"):
        read_binance(p)
    # a dropped (stale) diff is still validated
    q = write(tmp_path, [snap(100, **BOOK), fdiff(1, 2, 0, b=[("oops", "1")])])
    with pytest.raises(DataFormatError, match=r"line 2, field 'b'"):
        read_binance(q)


def test_whole_file_problems(tmp_path):
    with pytest.raises(DataFormatError, match="no REST depth snapshot"):
        read_binance(write(tmp_path, [fdiff(1, 2, 0), trade("1", "1", True, 1)]))
    other = _env("ethusdt@trade", {"e": "trade", "s": "ETHUSDT", "T": 1, "p": "1", "q": "1", "m": True, "t": 1})
    with pytest.raises(DataFormatError, match=r"line 3, field 's'"):
        read_binance(write(tmp_path, [snap(100, **BOOK), trade("1", "1", True, 1), other]))
    with pytest.raises(DataFormatError, match=r"line 2, field 's'"):
        read_binance(write(tmp_path, [snap(100, **BOOK), trade("1", "1", True, 1)]), symbol="ETHUSDT")
    p = tmp_path / "cut.gz"
    p.write_bytes(gzip.compress(f"{T0} {snap(100, **BOOK)}\n".encode() * 50)[:-20])
    with pytest.raises(DataFormatError, match="unreadable or truncated"):
        read_binance(p)
    with pytest.raises(FileNotFoundError):
        read_binance(tmp_path / "absent.gz")


# ---------------------------------------------------------------------------- reference book + comparison
def _brute_top(events: np.ndarray) -> np.ndarray:
    """Recompute the top of book from scratch after every event (O(n * levels))."""
    book = {BID: {}, ASK: {}}
    out = []
    for e in events:
        if e["kind"] == CLEAR:
            book = {BID: {}, ASK: {}}
        elif e["kind"] == LEVEL_SET:
            side = book[int(e["side"])]
            if e["size"] > 0:
                side[int(e["price"])] = float(e["size"])
            else:
                side.pop(int(e["price"]), None)
        a = min(book[ASK]) if book[ASK] else None
        b = max(book[BID]) if book[BID] else None
        out.append([a if a is not None else DUMMY_ASK, book[ASK].get(a, 0.0),
                    b if b is not None else DUMMY_BID, book[BID].get(b, 0.0)])
    return np.array(out, dtype=np.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top_of_book_reference_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["kind"] = rng.choice([LEVEL_SET, LEVEL_SET, LEVEL_SET, LEVEL_SET, TRADE], n)
    ev["kind"][rng.choice(n, 5, replace=False)] = CLEAR
    ev["side"] = rng.choice([BID, ASK], n)
    ev["price"] = np.where(ev["side"] == BID, rng.integers(90, 101, n), rng.integers(100, 111, n))
    ev["size"] = np.where(rng.random(n) < 0.4, 0.0, rng.integers(1, 5, n) / 4)
    at = np.sort(rng.choice(n, 500, replace=False))
    np.testing.assert_array_equal(top_of_book_reference(ev, at), _brute_top(ev)[at])
    empty = top_of_book_reference(ev, np.array([-1]))
    assert empty.tolist() == [[DUMMY_ASK, 0.0, DUMMY_BID, 0.0]]


def test_compare_tickers_counts_only_equal_update_ids():
    best = np.array([[1001, 2.0, 1000, 1.0], [1002, 1.0, 1000, 1.0], [1002, 1.0, 999, 3.0]])
    final_u = np.array([10, 12, 15])
    tk = np.zeros(5, dtype=TICKER_DTYPE)
    tk["u"] = [9, 10, 12, 15, 16]
    tk["ask_px"], tk["ask_qty"] = [0, 1001, 1002, 1002, 0], [0, 2.0, 1.0, 1.0, 0]
    tk["bid_px"], tk["bid_qty"] = [0, 1000, 1000, 999, 0], [0, 1.0, 1.0, 2.5, 0]  # u=15: bid qty differs
    assert compare_tickers(best, final_u, tk) == (3, 2)
    assert compare_tickers(best[::-1], final_u[::-1], tk) == (3, 2)  # order of diffs is irrelevant
    assert compare_tickers(np.zeros((0, 4)), np.zeros(0, np.int64), tk) == (0, 0)
    with pytest.raises(ValueError):
        compare_tickers(best, final_u[:2], tk)


def test_verify_recording_on_a_tiny_recording(tmp_path):
    msgs = [
        snap(100, **BOOK),
        fdiff(99, 101, 98, b=[("100.0", "2")]),
        ticker(101, "100.0", "2", "100.1", "3"),      # matches the book after u=101
        ticker(102, "100.0", "9", "100.1", "3"),      # no diff ends at 102: not compared
        fdiff(102, 103, 101, a=[("100.1", "0")]),
        ticker(103, "100.0", "2", "100.1", "3"),      # wrong: best ask is now 100.2 x 4
    ]
    p = write(tmp_path, msgs)
    r = verify_recording(p)
    assert r == {"recording": str(p), "market": "usdm", "diffs_applied": 2, "diffs_dropped": 0,
                 "compared": 2, "matched": 1, "all_matched": False, "gaps": 0, "crossed": 0, "tickers": 3}
    # a different top-of-book engine plugs in through top_of_book=
    calls = []

    def engine(events, at):
        calls.append(len(at))
        return top_of_book_reference(events, at)

    assert verify_recording(p, top_of_book=engine)["matched"] == 1 and calls == [2]


# ---------------------------------------------------------------------------- real recordings
_CACHE: dict[str, object] = {}

# market -> (bookTicker points with a diff's final u, README), diffs applied, price scale
REAL = {"usdm": (629, 6547, 10), "spot": (564, 3449, 100)}


def _real(shared_data: Path, market: str):
    if market not in _CACHE:
        p = shared_data / "crypto" / "hftbacktest" / market / "btcusdt_20240808.gz"
        if not p.exists():
            pytest.skip(f"{p} absent")
        d = read_binance(p)
        _CACHE[market] = (p, d, verify_recording(p, data=d))
    return _CACHE[market]


@pytest.mark.realdata
@pytest.mark.parametrize("market", ["usdm", "spot"])
def test_real_recording_matches_every_book_ticker(shared_data, market):
    p, d, r = _real(shared_data, market)
    compared, applied, scale = REAL[market]
    assert r["market"] == market and r["gaps"] == 0 and r["crossed"] == 0
    assert r["compared"] == compared and r["matched"] == compared and r["all_matched"]
    assert d.diffs_applied == applied and 0 < d.diffs_stale < 10 and d.diffs_unanchored == 0
    assert d.instrument.price_scale == scale and d.instrument.tick == 1 and d.instrument.symbol == "BTCUSDT"
    assert d.instrument.date == "2024-08-08"


@pytest.mark.realdata
@pytest.mark.parametrize("market", ["usdm", "spot"])
def test_real_recording_counts_and_invariants(shared_data, market):
    p, d, _ = _real(shared_data, market)
    ev = d.events
    n_trades, n_tickers = {"usdm": (21313, 66089), "spot": (9757, 28040)}[market]
    assert d.trades == n_trades and len(d.tickers) == n_tickers and d.snapshots == 1
    assert (ev["kind"] == CLEAR).sum() == 1
    last_id = ev["order_id"][ev["kind"] == CLEAR][0]
    assert ((ev["kind"] == LEVEL_SET) & (ev["order_id"] == last_id)).sum() == 2000  # 1000 + 1000 levels
    assert (np.diff(ev["ts_local"]) >= 0).all()
    # diffs chain without gaps and every diff's events sit inside its index range
    u = d.diffs["u"]
    if market == "usdm":
        assert (d.diffs["pu"][1:] == u[:-1]).all()
    else:
        assert (d.diffs["U"][1:] == u[:-1] + 1).all()
    assert (d.diffs["start"][1:] >= d.diffs["stop"][:-1]).all()
    # exchange clock ~1.27 s ahead of the recorder (README)
    lag = np.median(d.diffs["ts"] - d.diffs["ts_local"]) / 1e9
    assert 1.0 < lag < 1.6
    tr = ev[ev["kind"] == TRADE]
    px = tr["price"] / d.instrument.price_scale
    if market == "usdm":
        assert px.min() == pytest.approx(61590.3) and px.max() == pytest.approx(61839.9)
        assert 0.44 < (tr["side"] == BID).mean() < 0.46
    assert 61000 < px.min() < px.max() < 62500


def test_the_earliest_bad_value_is_reported(tmp_path):
    msgs = [snap(100, **BOOK), ticker(5, "100.0", "1", "100.1", "-2"), fdiff(99, 100, 98, b=[("x", "1")]),
            fdiff(101, 101, 100, a=[("100.1", "y")])]
    with pytest.raises(DataFormatError, match=r"line 2, field 'A'"):
        read_binance(write(tmp_path, msgs))
    with pytest.raises(DataFormatError, match=r"line 2, field 'b'.*'x'"):
        read_binance(write(tmp_path, [msgs[0]] + msgs[2:]))
    big = fdiff(99, 100, 98, b=[("1234567890123456789", "1")])
    with pytest.raises(DataFormatError, match=r"line 2, field 'b'.*more than 18 significant digits"):
        read_binance(write(tmp_path, [msgs[0], big]))


def test_unknown_symbol_infers_tick_and_lot_from_the_data(tmp_path):
    d = read_binance(write(tmp_path, [snap(7, bids=[("0.05", "0.5")], asks=[("0.10", "1.25")])]))
    inst = d.instrument
    assert (inst.symbol, inst.price_scale, inst.tick, inst.lot) == ("", 100, 1, 0.01)
    assert inst.extra["tick_source"] == "inferred" and d.market == "usdm"  # futures snapshots carry E
    assert d.events["price"][1:].tolist() == [5, 10]
