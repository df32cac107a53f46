"""Binance recordings, part 2: consecutive daily files read as one stream (book carried, id
continuity at each boundary, per-file counts, ``verify binance`` on several files), coin-margined
(COIN-M) recordings with their contract size, and the strict-parsing classes of issue 17 item 15
(tick grid, local time going backwards, exact error lines, empty files)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from companion.cli import main
from companion.errors import DataFormatError, SequenceGapError
from companion.events import BID, CLEAR, LEVEL_SET, TRADE, Instrument
from companion.io.binance import KNOWN_FILTERS, diff_end_index, read_binance, top_of_book_reference, verify_recording

T0 = 1_723_161_255_000_000_000  # local ns
E0 = 1_723_161_256_000          # exchange ms


# ---------------------------------------------------------------------------- tiny recordings
def _env(stream: str, data: dict) -> str:
    return json.dumps({"stream": stream, "data": data})


def snap(last_id: int, bids, asks, E: int | None = E0, **more) -> str:
    d = {"lastUpdateId": last_id, **more, "bids": [list(x) for x in bids], "asks": [list(x) for x in asks]}
    if E is not None:
        d["E"] = E
    return json.dumps(d)


def fdiff(U: int, u: int, pu: int, b=(), a=(), s: str = "BTCUSDT", **more) -> str:
    return _env(f"{s.lower()}@depth@0ms", {"e": "depthUpdate", "E": E0, "T": E0, "s": s, **more, "U": U, "u": u,
                                           "pu": pu, "b": [list(x) for x in b], "a": [list(x) for x in a]})


def sdiff(U: int, u: int, b=(), a=()) -> str:
    return _env("btcusdt@depth@100ms", {"e": "depthUpdate", "E": E0, "s": "BTCUSDT", "U": U, "u": u,
                                        "b": [list(x) for x in b], "a": [list(x) for x in a]})


def trade(p: str, q: str, m: bool, t: int, s: str = "BTCUSDT") -> str:
    return _env(f"{s.lower()}@trade", {"e": "trade", "E": E0, "T": E0, "s": s, "t": t, "p": p, "q": q, "m": m})


def ticker(u: int, b: str, B: str, a: str, A: str) -> str:
    return _env("btcusdt@bookTicker", {"e": "bookTicker", "u": u, "s": "BTCUSDT", "b": b, "B": B, "a": a, "A": A,
                                       "E": E0, "T": E0})


def write(tmp_path: Path, messages: list[str], name: str = "rec.gz", t0: int = T0) -> Path:
    """One line per message, local ns stamps 1 ms apart from ``t0``."""
    p = tmp_path / name
    text = "".join(f"{t0 + i * 1_000_000} {m}\n" for i, m in enumerate(messages))
    if name.endswith(".gz"):
        with gzip.open(p, "wt") as fh:
            fh.write(text)
    else:
        p.write_text(text)
    return p


BOOK = {"bids": [("100.0", "1.0"), ("99.9", "2.0")], "asks": [("100.1", "3.0"), ("100.2", "4.0")]}
DAY2 = T0 + 10_000_000_000  # the second file's receive times start 10 s later


def best(d) -> list:
    return top_of_book_reference(d.events, diff_end_index(d.diffs)).tolist()


# ---------------------------------------------------------------------------- several files
def test_two_futures_days_are_one_stream_with_the_book_carried(tmp_path):
    day1 = write(tmp_path, [snap(100, **BOOK), fdiff(99, 101, 98, b=[("100.0", "2")]), trade("100.1", "1", False, 1),
                            fdiff(102, 103, 101, a=[("100.1", "0")])], "d1.gz")
    day2 = write(tmp_path, [fdiff(104, 106, 103, b=[("99.9", "0")]), trade("100.0", "0.5", True, 2),
                            fdiff(107, 107, 106, a=[("100.2", "1.5")])], "d2.gz", t0=DAY2)
    d = read_binance([day1, day2])
    assert (d.market, d.diffs_applied, d.gaps, d.snapshots, d.trades) == ("usdm", 4, 0, 1, 2)
    assert d.diffs["u"].tolist() == [101, 103, 106, 107]
    assert d.diffs["line"].tolist() == [2, 4, 1, 3]            # lines within each diff's own file
    f1, f2 = d.files
    assert (f1["path"], f1["boundary"], f1["lines"], f1["diffs"], f1["trades"]) == (str(day1), "first", 4, 2, 1)
    assert (f2["path"], f2["boundary"], f2["lines"], f2["diffs"], f2["trades"]) == (str(day2), "continued", 3, 2, 1)
    assert (f1["first_update_id"], f1["last_update_id"], f2["first_update_id"], f2["last_update_id"]) == (99, 103, 104, 107)
    # index ranges: snapshot CLEAR + 4 levels, diff, trade, diff | diff, trade, diff
    assert (f1["event_start"], f1["event_stop"], f2["event_start"], f2["event_stop"]) == (0, 8, 8, 11)
    assert (f1["diff_start"], f1["diff_stop"], f2["diff_start"], f2["diff_stop"]) == (0, 2, 2, 4)
    assert d.events["kind"][8:].tolist() == [LEVEL_SET, TRADE, LEVEL_SET]
    assert (d.events["kind"] == CLEAR).sum() == 1               # no reset at midnight
    # the second day's diffs act on the first day's book: bid 99.9 deleted, best ask 100.2 resized
    assert best(d) == [[1001, 3.0, 1000, 2.0], [1002, 4.0, 1000, 2.0], [1002, 4.0, 1000, 2.0], [1002, 1.5, 1000, 2.0]]
    assert d.paths == [str(day1), str(day2)] and d.instrument.extra["paths"] == d.paths
    # one file in a list reads exactly like the file itself
    one, alone = read_binance([day1]), read_binance(day1)
    assert one.events.tobytes() == alone.events.tobytes() and one.counters() == alone.counters()


def test_spot_days_continue_with_U_equal_previous_u_plus_one(tmp_path):
    day1 = write(tmp_path, [snap(100, E=None, **BOOK), sdiff(99, 101, b=[("100.0", "2")])], "s1.gz")
    day2 = write(tmp_path, [sdiff(102, 105, a=[("100.1", "0.5")])], "s2.gz", t0=DAY2)
    d = read_binance([day1, day2])
    assert d.market == "spot" and [f["boundary"] for f in d.files] == ["first", "continued"]
    assert best(d)[-1] == [10010, 0.5, 10000, 2.0]
    bad = write(tmp_path, [sdiff(103, 105)], "s2bad.gz", t0=DAY2)   # update 102 missing
    with pytest.raises(SequenceGapError, match=r"U=103 != previous u \+ 1 = 102"):
        read_binance([day1, bad])


def test_an_id_gap_between_files_names_both_files_and_the_ids(tmp_path):
    day1 = write(tmp_path, [snap(100, **BOOK), fdiff(99, 101, 98), fdiff(102, 103, 101)], "day1.gz")
    day2 = write(tmp_path, [trade("100.1", "1", False, 1), fdiff(110, 112, 109), fdiff(113, 114, 112)],
                 "day2.gz", t0=DAY2)
    with pytest.raises(SequenceGapError) as exc:
        read_binance([day1, day2])
    e, msg = exc.value, str(exc.value)
    assert (e.path, e.line, e.field) == (str(day2), 2, "pu")
    assert msg.startswith(f"{day2}, line 2, field 'pu': depth diff ids do not continue across files")
    assert "pu=109 != previous u=103" in msg and f"{day1}, line 3 (u=103)" in msg
    # the same pair read in the wrong order is a gap too
    with pytest.raises(SequenceGapError, match="do not continue across files"):
        read_binance([day1, write(tmp_path, [fdiff(50, 60, 49)], "older.gz", t0=DAY2)])
    # with on_gap="resync" the gap is counted and the rest of the stream dropped, not raised
    d = read_binance([day1, day2], on_gap="resync")
    assert (d.gaps, d.diffs_applied, d.diffs_unanchored, d.files[1]["boundary"]) == (1, 2, 2, "gap")
    assert d.events["kind"][-1] == CLEAR and d.trades == 1


def test_a_gap_between_files_followed_by_a_snapshot_resyncs(tmp_path):
    day1 = write(tmp_path, [snap(100, **BOOK), fdiff(99, 101, 98, b=[("100.0", "2")])], "day1.gz")
    day2 = write(tmp_path, [fdiff(150, 152, 149, b=[("100.0", "9")]),      # gap: buffered, stale vs L=155
                            snap(155, bids=[("100.0", "5")], asks=[("100.5", "1")]),
                            fdiff(153, 157, 152, b=[("100.0", "6")]),      # U <= 155 <= u: applied
                            fdiff(158, 158, 157, a=[("100.5", "2")])], "day2.gz", t0=DAY2)
    d = read_binance([day1, day2])
    assert (d.boundary_resyncs, d.gaps, d.snapshots, d.diffs_stale, d.diffs_applied) == (1, 0, 2, 1, 3)
    assert [f["boundary"] for f in d.files] == ["first", "resynced"]
    kinds = d.events["kind"].tolist()
    assert kinds.count(CLEAR) == 3           # snapshot, CLEAR at the gap, second snapshot
    assert best(d) == [[1001, 3.0, 1000, 2.0], [1005, 1.0, 1000, 6.0], [1005, 2.0, 1000, 6.0]]
    # a file that starts with its own snapshot simply re-anchors the book
    day2s = write(tmp_path, [snap(300, bids=[("99.0", "1")], asks=[("99.5", "1")]), fdiff(299, 301, 298)],
                  "day2s.gz", t0=DAY2)
    d = read_binance([day1, day2s])
    assert d.files[1]["boundary"] == "snapshot" and d.boundary_resyncs == 0 and best(d)[-1] == [995, 1.0, 990, 1.0]


def test_errors_in_a_later_file_name_that_file_and_its_own_line(tmp_path):
    day1 = write(tmp_path, [snap(100, **BOOK), fdiff(99, 101, 98)], "day1.gz")
    day2 = write(tmp_path, [fdiff(102, 102, 101), "{broken"], "day2.txt", t0=DAY2)
    with pytest.raises(DataFormatError) as exc:
        read_binance([day1, day2])
    assert (exc.value.path, exc.value.line, exc.value.field) == (str(day2), 2, "json")
    day2 = write(tmp_path, [fdiff(102, 102, 101), fdiff(103, 103, 102, b=[("x", "1")])], "day2b.gz", t0=DAY2)
    with pytest.raises(DataFormatError, match=rf"^{day2}, line 2, field 'b': not a non-negative decimal price"):
        read_binance([day1, day2])
    with pytest.raises(DataFormatError, match=r"line 1, field 's'"):   # one symbol per stream
        read_binance([day1, write(tmp_path, [trade("1", "1", True, 1, s="ETHUSDT")], "eth.gz", t0=DAY2)])
    with pytest.raises(DataFormatError, match="no REST depth snapshot.*read it after that file"):
        read_binance([day2, day1])
    with pytest.raises(ValueError, match="no recording"):
        read_binance([])


def test_verify_several_files_reports_per_file_counts(tmp_path, capsys):
    day1 = write(tmp_path, [snap(100, **BOOK), fdiff(99, 101, 98, b=[("100.0", "2")]),
                            ticker(101, "100.0", "2", "100.1", "3"),
                            ticker(102, "100.0", "2", "100.2", "4")], "day1.gz")   # 102 = day 2's first diff
    day2 = write(tmp_path, [fdiff(102, 102, 101, a=[("100.1", "0")]),
                            ticker(102, "100.0", "2", "100.2", "4"),
                            ticker(103, "100.0", "2", "100.2", "4"),                 # no diff ends at 103
                            fdiff(103, 104, 102, b=[("100.1", "1")]),
                            ticker(104, "100.0", "2", "100.2", "4")], "day2.gz", t0=DAY2)  # wrong bid
    r = verify_recording([day1, day2])
    assert (r["compared"], r["matched"], r["all_matched"], r["recording"]) == (4, 3, False, [str(day1), str(day2)])
    got = [(f["recording"], f["boundary"], f["diffs_applied"], f["tickers"], f["compared"], f["matched"])
           for f in r["files"]]
    # day 1's second ticker describes the book after day 2's first diff: compared only when carried
    assert got == [(str(day1), "first", 1, 2, 2, 2), (str(day2), "continued", 2, 3, 2, 1)]
    assert verify_recording(day1)["compared"] == 1
    # the command: exit 1 on a mismatch, per-file lines, the JSON carries the files
    assert main(["verify", "binance", str(day1), str(day2), "--json"]) == 1
    out = capsys.readouterr().out
    assert f"{day1} (first):" in out and "compared 2, matched 1" in out and "MISMATCH" in out
    last = json.loads(out.strip().splitlines()[-1])
    assert [f["matched"] for f in last["files"]] == [2, 1]
    good = write(tmp_path, [fdiff(102, 102, 101, a=[("100.1", "0")]), ticker(102, "100.0", "2", "100.2", "4")],
                 "day2good.gz", t0=DAY2)
    assert main(["verify", "binance", str(day1), str(good)]) == 0
    assert main(["verify", "binance", str(good)]) == 2                 # no snapshot: bad input
    assert capsys.readouterr().err.startswith("error: ")


# ---------------------------------------------------------------------------- COIN-M
def _coinm(tmp_path: Path, name: str = "btcusd_perp.gz", symbol: str = "BTCUSD_PERP") -> Path:
    ps = symbol.partition("_")[0]
    msgs = [
        snap(500, E=E0, T=E0, symbol=symbol, pair=ps, bids=[("61000.0", "120"), ("60999.9", "7")],
             asks=[("61000.1", "30")]),
        fdiff(499, 501, 498, s=symbol, ps=ps, b=[("61000.0", "100")]),
        _env(f"{symbol.lower()}@aggTrade", {"e": "aggTrade", "E": E0, "T": E0, "s": symbol, "a": 9,
                                            "p": "61000.1", "q": "25", "f": 1, "l": 2, "m": False}),
        fdiff(502, 503, 501, s=symbol, ps=ps, a=[("61000.1", "5")]),
    ]
    return write(tmp_path, msgs, name)


def test_coin_margined_recording_is_labelled_coinm_with_contract_size(tmp_path):
    d = read_binance(_coinm(tmp_path))
    inst = d.instrument
    assert d.market == "coinm" and inst.venue == "BINANCE-COINM" and inst.extra["market"] == "coinm"
    assert (inst.symbol, inst.price_scale, inst.tick, inst.lot) == ("BTCUSD_PERP", 10, 1, 1.0)
    assert inst.inverse and inst.contract_size == 100.0 and inst.extra["contract_size_source"] == "known"
    # futures diff-sync rules (pu) apply
    assert (d.diffs_applied, d.diffs["pu"].tolist()) == (2, [498, 501])
    tr = d.events[d.events["kind"] == TRADE]
    assert tr["size"].tolist() == [25.0] and tr["side"].tolist() == [BID]   # 25 contracts
    # 25 contracts x 100 USD = 2,500 USD whatever the price; = 2500 / 61000.1 BTC
    assert inst.notional(tr["price"], tr["size"]).tolist() == [2500.0]
    assert inst.base_quantity(tr["price"], tr["size"])[0] == pytest.approx(2500 / 61000.1, rel=1e-12)
    # the label comes from the data (pair field / symbol), or from market="coinm"
    assert read_binance(_coinm(tmp_path), market="coinm").instrument.inverse
    # a USD-M recording keeps linear contracts of one coin
    usdm = read_binance(write(tmp_path, [snap(100, **BOOK), fdiff(99, 101, 98), trade("100.1", "2", False, 1)], "u.gz"))
    assert usdm.market == "usdm" and not usdm.instrument.inverse and usdm.instrument.contract_size == 1.0
    t = usdm.events[usdm.events["kind"] == TRADE]
    assert usdm.instrument.notional(t["price"], t["size"]).tolist() == [200.2]


def test_unknown_coinm_contract_size_is_unknown_until_given(tmp_path):
    p = _coinm(tmp_path, "ethusd_perp.gz", "ETHUSD_PERP")
    d = read_binance(p)
    assert d.market == "coinm" and d.instrument.contract_size == 0.0
    assert d.instrument.extra["contract_size_source"] == "unknown"
    with pytest.raises(ValueError, match="contract size unknown"):
        d.instrument.notional(d.events["price"], d.events["size"])
    d = read_binance(p, contract_size=10)
    assert d.instrument.contract_size == 10.0 and d.instrument.extra["contract_size_source"] == "argument"
    with pytest.raises(ValueError, match="contract_size"):
        read_binance(p, contract_size=float("nan"))


def test_instrument_notional_linear_and_inverse():
    lin = Instrument("BTCUSDT", tick=1, price_scale=100)
    assert lin.contract_size == 1.0 and not lin.inverse
    np.testing.assert_array_equal(lin.notional(np.array([6_000_000, 6_100_000]), np.array([0.5, 2.0])),
                                  [30_000.0, 122_000.0])
    np.testing.assert_array_equal(lin.base_quantity(np.array([6_000_000]), np.array([0.5])), [0.5])
    inv = Instrument("BTCUSD_PERP", tick=1, price_scale=10, contract_size=100.0, inverse=True)
    np.testing.assert_array_equal(inv.notional(np.array([500_000, 600_000]), np.array([3.0, 3.0])), [300.0, 300.0])
    np.testing.assert_allclose(inv.base_quantity(np.array([500_000, 600_000]), np.array([3.0, 3.0])),
                               [0.006, 0.005], rtol=1e-12)


# ---------------------------------------------------------------------------- issue 17, item 15
@pytest.mark.parametrize("where, price, field, why", [
    ("diff", "100.05", "b", "more decimals than the tick 0.10 of usdm BTCUSDT allows"),
    ("trade", "100.15", "p", "more decimals than the tick 0.10"),
    ("ticker", "100.11", "a", "more decimals than the tick 0.10"),
    ("stale", "100.01", "b", "more decimals than the tick 0.10"),   # a dropped diff is checked too
])
def test_price_off_the_tick_grid_is_an_error_naming_the_line(tmp_path, where, price, field, why):
    msgs = {"diff": [fdiff(99, 101, 98), fdiff(102, 102, 101, b=[(price, "1")]), fdiff(103, 103, 102)],
            "trade": [fdiff(99, 101, 98), trade(price, "1", True, 1), fdiff(102, 103, 101)],
            "ticker": [fdiff(99, 101, 98), ticker(101, "100.0", "1", price, "1"), fdiff(102, 103, 101)],
            "stale": [fdiff(80, 90, 79), fdiff(91, 95, 90, b=[(price, "1")]), fdiff(96, 101, 95)]}[where]
    p = write(tmp_path, [snap(100, **BOOK)] + msgs)
    with pytest.raises(DataFormatError) as exc:
        read_binance(p)
    assert (exc.value.line, exc.value.field) == (3, field)
    assert str(exc.value).startswith(f"{p}, line 3, field '{field}': price '{price}'") and why in str(exc.value)


def test_price_between_ticks_with_allowed_decimals_is_off_the_grid(tmp_path, monkeypatch):
    monkeypatch.setitem(KNOWN_FILTERS, ("spot", "XYZUSDT"), ("0.05", "1"))
    msgs = [snap(1, bids=[("1.00", "1")], asks=[("1.05", "1")], E=None),
            trade("1.10", "1", True, 1, s="XYZUSDT"), trade("1.12", "1", True, 2, s="XYZUSDT")]
    with pytest.raises(DataFormatError, match=r"line 3, field 'p': price '1.12' is not on the tick grid .*0\.05"):
        read_binance(write(tmp_path, msgs), market="spot")
    d = read_binance(write(tmp_path, msgs[:2]), market="spot")
    assert (d.instrument.price_scale, d.instrument.tick, d.events["price"][1:].tolist()) == (100, 5, [100, 105, 110])


def test_local_time_going_backwards_is_counted_with_its_first_line(tmp_path):
    msgs = [snap(100, **BOOK), fdiff(99, 101, 98), trade("100.1", "1", False, 1), fdiff(102, 102, 101, b=[("99.9", "3")])]
    stamps = [T0, T0 + 5, T0 + 3, T0 + 2]              # lines 3 and 4 go back
    p = tmp_path / "back.txt"
    p.write_text("".join(f"{t} {m}\n" for t, m in zip(stamps, msgs)))
    d = read_binance(p)                                 # a real recorder's clock can step back: not rejected
    assert d.local_ts_backwards == 2 and d.local_ts_backwards_first == f"{p}, line 3"
    assert d.counters()["local_ts_backwards"] == 2 and d.diffs_applied == 2
    assert d.events["ts_local"][-1] == T0 + 2           # times are kept as recorded
    # across files, the first line of a later file is compared with the last line of the previous one
    p2 = write(tmp_path, [fdiff(103, 103, 102)], "next.txt", t0=T0 + 1)
    d = read_binance([p, p2])
    assert d.local_ts_backwards == 3 and [f["local_ts_backwards"] for f in d.files] == [2, 1]
    r = verify_recording([p, p2])
    assert r["local_ts_backwards"] == 3 and r["local_ts_backwards_first"] == f"{p}, line 3"


@pytest.mark.parametrize("name", ["bad.gz", "bad.txt"])
def test_non_utf8_byte_is_reported_at_its_exact_line(tmp_path, name):
    lines = [f"{T0} {snap(100, **BOOK)}"] + [f"{T0 + i} {trade('100.1', '1', False, i)}" for i in range(1, 1200)]
    raw = "\n".join(lines).encode() + b"\n"
    parts = raw.split(b"\n")
    parts[1099] = parts[1099].replace(b'"m": false', b'"m": false, "x": "\xff"')   # line 1100
    data = b"\n".join(parts)
    p = tmp_path / name
    p.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    with pytest.raises(DataFormatError) as exc:
        read_binance(p)
    assert exc.value.line == 1100 and "not UTF-8" in str(exc.value) and "b'\\xff'" in str(exc.value)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
@pytest.mark.parametrize("name", ["empty.gz", "empty.txt"])
def test_an_empty_file_says_it_is_empty(tmp_path, content, name):
    p = tmp_path / name
    p.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    with pytest.raises(DataFormatError, match="empty file") as exc:
        read_binance(p)
    assert exc.value.path == str(p)
    # an empty day in a sequence names that day
    day1 = write(tmp_path, [snap(100, **BOOK), fdiff(99, 101, 98)], "day1.gz")
    with pytest.raises(DataFormatError, match=rf"^{p}: empty file"):
        read_binance([day1, p])


def test_a_byte_order_mark_is_accepted(tmp_path):
    p = tmp_path / "bom.txt"
    p.write_bytes(b"\xef\xbb\xbf" + f"{T0} {snap(100, **BOOK)}\n{T0 + 1} {fdiff(99, 101, 98)}\n".encode())
    assert read_binance(p).diffs_applied == 1


# ---------------------------------------------------------------------------- the real consecutive days
@pytest.mark.realdata
def test_real_consecutive_spot_days_match_every_book_ticker(shared_data):
    spot = shared_data / "crypto" / "hftbacktest" / "spot"
    days = [spot / "btcusdt_20240808.gz", spot / "btcusdt_20240809.gz"]
    if not all(p.exists() for p in days):
        pytest.skip("the two spot days are absent")
    with pytest.raises(DataFormatError, match="no REST depth snapshot"):
        read_binance(days[1])                           # the second day alone cannot be anchored
    d = read_binance(days)
    r = verify_recording(days, data=d)
    assert r["gaps"] == 0 and r["crossed"] == 0 and r["boundary_resyncs"] == 0 and r["local_ts_backwards"] == 0
    f1, f2 = r["files"]
    assert (f1["boundary"], f2["boundary"]) == ("first", "continued")
    assert f2["first_update_id"] == f1["last_update_id"] + 1      # README: day 2 continues day 1's ids
    assert (f1["diffs_applied"], f2["diffs_applied"]) == (3449, 3044)
    assert (f1["trades"], f1["tickers"], f2["trades"], f2["tickers"]) == (9757, 28040, 10147, 45134)
    # every compared bookTicker matches on both days (564 on day 1 alone, + the last ticker of
    # day 1, whose u is the final u of day 2's first diff)
    assert (f1["compared"], f2["compared"]) == (565, 507)
    assert f1["matched"] == f1["compared"] and f2["matched"] == f2["compared"] and r["all_matched"]
    assert d.instrument.date == "2024-08-08" and d.instrument.price_scale == 100
    assert (np.diff(d.events["ts_local"]) >= 0).all()


def test_long_offending_values_are_quoted_short_and_a_directory_is_one_line(tmp_path):
    long = "9" * 5000
    p = write(tmp_path, [snap(100, **BOOK), fdiff(99, 101, 98, b=[(long + "x", "1")])])
    with pytest.raises(DataFormatError, match=r"line 2, field 'b'") as exc:
        read_binance(p)
    assert len(str(exc.value)) < 400 and "(5003 characters)" in str(exc.value)
    with pytest.raises(DataFormatError, match="is a directory"):
        read_binance(tmp_path)
    with pytest.raises(DataFormatError, match="is a directory"):
        read_binance([p, tmp_path])
