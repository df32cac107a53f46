"""Tardis CSV readers: fixtures, round trip of the synthetic day, malformed inputs, verify tardis."""
from __future__ import annotations

import gzip

import numpy as np
import pytest

from companion.book import replay
from companion.cli import main
from companion.errors import DataFormatError
from companion.events import ASK, BID, CLEAR, LEVEL_SET, TRADE
from companion.io.tardis import (
    parse_decimals,
    read_tardis_incremental,
    read_tardis_snapshots,
    read_tardis_trades,
    verify_tardis,
    write_tardis_incremental,
    write_tardis_snapshots,
)
from companion.synth import SynthConfig, generate_day, instrument, to_events

CFG = SynthConfig(session=(34200.0, 34500.0))
HEAD = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"


@pytest.fixture(scope="module")
def day():
    msgs, ob = generate_day(seed=3, levels=10, config=CFG)
    return to_events(msgs), ob, instrument(CFG, 10)


def test_hand_worked_snapshot_resets(tmp_path):
    p = tmp_path / "i.csv"
    p.write_text(HEAD + "x,S,1,1,true,bid,10.5,3\nx,S,1,1,true,ask,11,2\nx,S,2,2,false,bid,10.5,0\n"
                 "x,S,3,3,true,bid,9,1\nx,S,3,3,true,ask,12.25,4\n")
    d = read_tardis_incremental(p)
    assert d.events["kind"].tolist() == [CLEAR, LEVEL_SET, LEVEL_SET, LEVEL_SET, CLEAR, LEVEL_SET, LEVEL_SET]
    assert d.instrument.price_scale == 100 and d.events["price"].tolist()[1:3] == [1050, 1100]
    assert d.events["ts"][1] == 1000 and d.line.tolist() == [2, 2, 3, 4, 5, 5, 6]
    book = replay(d.events, 1)
    assert book[3].tolist() == [1100, 2, -9999999999, 0]       # the bid level deleted
    assert book[-1].tolist() == [1225, 4, 900, 1]               # after the reset only the new snapshot


def test_round_trip_book_equals_lobster_path(day, tmp_path):
    ev, ob, ins = day
    p = write_tardis_incremental(tmp_path / "inc.csv.gz" if False else tmp_path / "inc.csv", ev, ins)
    gz = tmp_path / "inc.csv.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    d = read_tardis_incremental(gz, price_scale=10000)
    vis = ev["kind"] != 5   # hidden executions change no level: Tardis L2 cannot show them
    assert len(d.events) == int(vis.sum())
    assert np.array_equal(replay(d.events, 10), ob[vis])


def test_verify_on_a_consistent_pair_and_a_wrong_one(day, tmp_path):
    ev, ob, ins = day
    inc = write_tardis_incremental(tmp_path / "inc.csv", ev, ins)
    keep = np.flatnonzero(ev["kind"] != 5)
    us = ev["ts"][keep] // 1000
    at = keep[:-1][us[1:] != us[:-1]][::40]   # snapshots at µs boundaries (Tardis times are µs)
    snap = write_tardis_snapshots(tmp_path / "snap.csv", ob[at], ev["ts"][at], ins)
    r = verify_tardis(inc, snap)
    assert r["ok"] and r["compared"] == len(at) == r["matched"] and r["compared"] > 20
    bad = ob[at].copy()
    bad[5, 3] += 1
    snap2 = write_tardis_snapshots(tmp_path / "snap2.csv", bad, ev["ts"][at], ins)
    r = verify_tardis(inc, snap2)
    assert not r["ok"] and r["matched"] == len(at) - 1 and r["first_mismatch_line"] == 7
    assert main(["verify", "tardis", str(inc), str(snap2)]) == 1
    assert main(["verify", "tardis", str(inc), str(snap)]) == 0


def test_decimals():
    u, s = parse_decimals(["1.50", "2", "0.125"], "f", [2, 3, 4], "price")
    assert u.tolist() == [1500, 2000, 125] and s == 1000
    for bad in ["1e5", "-1", "1.2.3", "", " 1", "０"]:
        with pytest.raises(DataFormatError, match="line 2, field 'price'"):
            parse_decimals([bad], "f", [2], "price")


@pytest.mark.parametrize("body,match", [
    ("", "empty file"),
    ("a,b,c\n1,2,3\n", "line 1, field 'header'"),
    (HEAD, "line 2: no data rows"),
    (HEAD + "x,S,1,1,true,bid,10\n", "line 2, field 'amount': 7 fields"),
    (HEAD + "x,S,1,1,true,bid,10,1\n\nx,S,1,1,true,bid,10,1\n", "line 3: blank line"),
    (HEAD + "x,S,1.5,1,true,bid,10,1\n", "line 2, field 'timestamp'"),
    (HEAD + "x,S,1,5,true,bid,10,1\nx,S,1,4,true,bid,10,1\n", "line 3, field 'local_timestamp': .*backwards"),
    (HEAD + "x,S,1,1,yes,bid,10,1\n", "line 2, field 'is_snapshot'"),
    (HEAD + "x,S,1,1,true,buy,10,1\n", "line 2, field 'side'"),
    (HEAD + "x,S,1,1,true,bid,abc,1\n", "line 2, field 'price'"),
    (HEAD + "x,S,1,1,true,bid,0,1\n", "line 2, field 'price'.*> 0"),
    (HEAD + "x,S,1,1,true,bid,10,-1\n", "line 2, field 'amount'"),
    (HEAD + "x,S,1,1,true,bid,10,1\nx,T,1,1,true,bid,10,1\n", "line 3, field 'symbol'"),
    (HEAD + "x,S,1,1,true,bid,10,1\ny,S,1,1,true,bid,10,1\n", "line 3, field 'exchange'"),
])
def test_malformed_incremental(tmp_path, body, match):
    p = tmp_path / "bad.csv"
    p.write_text(body)
    with pytest.raises(DataFormatError, match=match) as ei:
        read_tardis_incremental(p)
    assert str(p) in str(ei.value)


def test_malformed_other_files(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\nx,S,1,1,a,up,1,1\n")
    with pytest.raises(DataFormatError, match="line 2, field 'side'"):
        read_tardis_trades(p)
    p.write_text("exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,"
                 "bids[0].amount\nx,S,1,1,10,1,11,1\n")
    with pytest.raises(DataFormatError, match="line 2.*crossed"):
        read_tardis_snapshots(p)
    p.write_text("exchange,symbol,timestamp,local_timestamp,asks[0].price,asks[0].amount,bids[0].price,"
                 "bids[0].amount\nx,S,1,1,10,,9,1\n")
    with pytest.raises(DataFormatError, match="line 2, field 'asks\\[0\\].amount'.*no amount"):
        read_tardis_snapshots(p)
    p.write_text("exchange,symbol,timestamp,local_timestamp,asks[0].price\nx,S,1,1,10\n")
    with pytest.raises(DataFormatError, match="line 1, field 'header'"):
        read_tardis_snapshots(p)
    (tmp_path / "c.csv.gz").write_bytes(b"\x1f\x8b" + b"junk" * 5)
    with pytest.raises(DataFormatError, match="corrupt gzip"):
        read_tardis_incremental(tmp_path / "c.csv.gz")


def test_fixtures(shared_data):
    d = shared_data / "crypto" / "nautilus_trader" / "tardis"
    inc = read_tardis_incremental(d / "deribit_incremental_book_L2_BTC-PERPETUAL.csv")
    assert inc.stats == {"rows": 15, "snapshots": 1, "deletes": 0}
    assert inc.instrument.symbol == "BTC-PERPETUAL" and inc.instrument.tick == 5 and inc.instrument.price_scale == 10
    assert set(inc.events["side"][1:].tolist()) <= {BID, ASK}
    tr = read_tardis_trades(d / "bitmex_trades_XBTUSD.csv")
    assert (tr.events["kind"] == TRADE).all() and tr.events["side"][0] == -1 and tr.events["order_id"][0] == 0
    s25 = read_tardis_snapshots(d / "binance-futures_book_snapshot_25_BTCUSDT.csv")
    assert s25.book.shape == (10, 100) and s25.book[0, 0] == 1165708 and s25.book[0, 2] == 1165707
    r = verify_tardis(d / "deribit_incremental_book_L2_BTC-PERPETUAL.csv",
                      d / "binance-futures_book_snapshot_25_BTCUSDT.csv")
    assert not r["same_market"] and r["compared"] == 0


def test_fast_pass_equals_strict_pass(day, tmp_path):
    from companion.io.tardis import _incremental_fast, _incremental_slow

    ev, _, ins = day
    p = write_tardis_incremental(tmp_path / "inc.csv", ev, ins)
    fast, slow = _incremental_fast(p), _incremental_slow(p)
    assert fast is not None                         # the vectorised pass is the one normally used
    for a, b in zip(fast, slow):
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b
    # trailing zeros, integers and fractions mixed: the same exact units and scale
    q = tmp_path / "mix.csv"
    q.write_text(HEAD + "x,S,1,1,true,bid,10.50,3\nx,S,1,1,true,ask,11,0.25\nx,S,2,2,false,ask,10.625,0\n")
    fast, slow = _incremental_fast(q), _incremental_slow(q)
    assert fast[6].tolist() == slow[6].tolist() == [10500, 11000, 10625] and fast[7] == slow[7] == 1000
    # anything unusual goes to the strict pass, which names the line
    r = tmp_path / "bad.csv"
    r.write_text(HEAD + "x,S,1,1,true,bid,1e3,3\n")
    assert _incremental_fast(r) is None
