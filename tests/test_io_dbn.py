"""Databento DBN reader/writer: official decoder agreement, round trip of the synthetic day,
action semantics on hand-made records, malformed inputs, verify dbn."""
from __future__ import annotations

import numpy as np
import pytest

dbn = pytest.importorskip("databento_dbn")

from companion.book import replay, trades
from companion.cli import main
from companion.errors import DataFormatError
from companion.events import ADD, CANCEL, CLEAR, DELETE, EXEC_VISIBLE, TRADE
from companion.io.dbn import (
    F_LAST,
    MBO_DTYPE,
    MBP10_DTYPE,
    read_dbn_mbo,
    read_dbn_mbp10,
    verify_dbn,
    write_dbn_mbo,
    write_dbn_mbp10,
)
from companion.synth import SynthConfig, generate_day, instrument, to_events

CFG = SynthConfig(session=(34200.0, 34500.0))


@pytest.fixture(scope="module")
def day():
    msgs, ob = generate_day(seed=3, levels=10, config=CFG)
    return to_events(msgs), ob, instrument(CFG, 10)


@pytest.fixture(scope="module")
def written(day, tmp_path_factory):
    ev, ob, ins = day
    d = tmp_path_factory.mktemp("dbn")
    return write_dbn_mbo(d / "day.mbo.dbn", ev, ins), write_dbn_mbp10(d / "day.mbp10.dbn", ev, ob, ins)


def _official(path):
    dec = dbn.DBNDecoder()
    dec.write(path.read_bytes())
    return dec.decode()[1:]


def test_record_layouts_match_the_official_sizes():
    m = dbn.MBOMsg(publisher_id=1, instrument_id=1, ts_event=1, order_id=1, price=1, size=1,
                   action=dbn.Action.ADD, side=dbn.Side.BID, ts_recv=1)
    assert MBO_DTYPE.itemsize == len(bytes(m)) == 56
    p = dbn.MBP10Msg(publisher_id=1, instrument_id=1, ts_event=1, price=1, size=1, action=dbn.Action.ADD,
                     side=dbn.Side.BID, depth=0, ts_recv=1)
    assert MBP10_DTYPE.itemsize == len(bytes(p)) == 368


def test_round_trip_book_equals_lobster_path_on_every_row(day, written):
    ev, ob, ins = day
    d = read_dbn_mbo(written[0], price_scale=ins.price_scale)
    rows = replay(d.events, 10)[d.last]
    assert rows.shape == ob.shape
    assert np.array_equal(rows, ob)
    # the trade tape (aggressor sides, prices, sizes) survives T+F+C and lone T
    a, b = trades(ev), trades(d.events)
    assert np.array_equal(a["price"], b["price"]) and np.array_equal(a["side"], b["side"])
    assert np.array_equal(a["size"], b["size"])
    assert d.stats["unknown_orders"] == 0 and d.stats["fills_without_cancel"] == 0
    # order-level events keep the order ids of adds
    assert np.array_equal(d.events["order_id"][d.events["kind"] == ADD], ev["order_id"][ev["kind"] == ADD])


def test_numpy_view_equals_official_decoder(written):
    from companion.io.dbn import _split

    for path, schema in ((written[0], "mbo"), (written[1], "mbp-10")):
        _, arr = _split(path, path.read_bytes(), schema)
        recs = _official(path)
        assert len(arr) == len(recs)
        for a, r in zip(arr[::97], recs[::97]):
            assert int(a["price"]) == r.price and int(a["size"]) == r.size
            assert a["action"].decode() == str(r.action) and a["side"].decode() == str(r.side)
            assert int(a["ts_recv"]) == r.ts_recv and int(a["sequence"]) == r.sequence
            if schema == "mbo":
                assert int(a["order_id"]) == r.order_id
            else:
                assert int(a["bid_px_00"]) == r.levels[0].bid_px and int(a["ask_sz_09"]) == r.levels[9].ask_sz


def test_mbp10_round_trip_and_verify(day, written):
    _ev, ob, ins = day
    b = read_dbn_mbp10(written[1], price_scale=ins.price_scale)
    assert np.array_equal(b.book, ob)
    r = verify_dbn(*written)
    assert r["ok"] and r["book_determinable"] and r["rows_equal"] == r["rows_compared"] == len(ob)
    assert r["transitions_checked"] > 100


def test_verify_catches_a_wrong_book(day, tmp_path):
    ev, ob, ins = day
    bad = ob.copy()
    bad[len(bad) // 2, 1] += 1  # one ask size off by one share
    m = write_dbn_mbo(tmp_path / "m.dbn", ev, ins)
    p = write_dbn_mbp10(tmp_path / "p.dbn", ev, bad, ins)
    r = verify_dbn(m, p)
    assert not r["ok"] and r["rows_equal"] == len(ob) - 1 and r["first_unequal_row"] == len(ob) // 2 + 1
    assert main(["verify", "dbn", str(m), str(p)]) == 1


def test_zst_round_trip(written, tmp_path):
    import pyarrow as pa

    z = tmp_path / "day.mbo.dbn.zst"
    with pa.CompressedOutputStream(str(z), "zstd") as f:
        f.write(written[0].read_bytes())
    assert np.array_equal(read_dbn_mbo(z).events, read_dbn_mbo(written[0]).events)


def _write(path, recs, schema=None):
    meta = dbn.Metadata(dataset="TEST", start=0, stype_in=dbn.SType.RAW_SYMBOL, stype_out=dbn.SType.INSTRUMENT_ID,
                        schema=schema or dbn.Schema.MBO, symbols=["T"])
    out = bytearray(meta.encode())
    for i, r in enumerate(recs):
        kw = {"publisher_id": 1, "instrument_id": 1, "ts_event": i + 1, "order_id": 0, "price": 0, "size": 0, "ts_recv": i + 1,
                  "flags": F_LAST, "sequence": i + 1}
        kw.update(r)
        kw["action"] = getattr(dbn.Action, kw["action"])
        kw["side"] = getattr(dbn.Side, kw.get("side", "NONE"))
        out += bytes(dbn.MBOMsg(**kw))
    path.write_bytes(bytes(out))
    return path


P = 10**9  # $1 in DBN units


def test_action_semantics_hand_worked(tmp_path):
    recs = [
        {"action": "ADD", "side": "BID", "order_id": 1, "price": 10 * P, "size": 100},
        {"action": "MODIFY", "side": "BID", "order_id": 1, "price": 10 * P, "size": 60},   # smaller: CANCEL 40, priority kept
        {"action": "MODIFY", "side": "BID", "order_id": 1, "price": 10 * P, "size": 80},   # larger: DELETE 60 + ADD 80
        {"action": "ADD", "side": "ASK", "order_id": 2, "price": 11 * P, "size": 50},
        {"action": "TRADE", "side": "BID", "price": 11 * P, "size": 20, "flags": 0},       # dropped: its event has a fill
        {"action": "FILL", "side": "ASK", "order_id": 2, "price": 11 * P, "size": 20, "flags": 0},
        {"action": "CANCEL", "side": "ASK", "order_id": 2, "price": 11 * P, "size": 20},   # consumed by the fill
        {"action": "TRADE", "side": "ASK", "price": 10 * P, "size": 5},                 # lone trade: TRADE, aggressor -1
        {"action": "CANCEL", "side": "ASK", "order_id": 9, "price": 12 * P, "size": 3},    # never added: unknown
        {"action": "CLEAR"},
    ]
    d = read_dbn_mbo(_write(tmp_path / "h.dbn", recs), price_scale=100)
    e = d.events
    assert e["kind"].tolist() == [ADD, CANCEL, DELETE, ADD, ADD, EXEC_VISIBLE, TRADE, DELETE, CLEAR]
    assert e["size"].tolist() == [100, 40, 60, 80, 50, 20, 5, 3, 0]
    assert e["side"].tolist() == [1, 1, 1, 1, -1, -1, -1, -1, 0]
    assert d.stats["unknown_orders"] == 1 and d.stats["trades_with_fills_dropped"] == 1
    # the book after each complete venue event
    snap = replay(e, 1)[d.last]
    assert snap[:, 3].tolist() == [100, 60, 80, 80, 80, 80, 80, 0]       # bid size
    assert snap[:, 1].tolist() == [0, 0, 0, 50, 30, 30, 30, 0]          # ask size


# ---- malformed inputs: every error names the file, the record and the field -------------------
def _good(tmp_path):
    return _write(tmp_path / "g.dbn", [{"action": "ADD", "side": "BID", "order_id": 1, "price": 10 * P, "size": 1},
                                       {"action": "ADD", "side": "ASK", "order_id": 2, "price": 11 * P, "size": 1}])


def _raises(path, match, **kw):
    with pytest.raises(DataFormatError, match=match) as ei:
        read_dbn_mbo(path, **kw)
    assert str(path) in str(ei.value)
    return str(ei.value)


def test_missing_and_empty(tmp_path):
    _raises(tmp_path / "none.dbn", "no such file")
    (tmp_path / "e.dbn").write_bytes(b"")
    _raises(tmp_path / "e.dbn", "empty file")


def test_bad_magic_and_version(tmp_path):
    raw = _good(tmp_path).read_bytes()
    (tmp_path / "m.dbn").write_bytes(b"XYZ" + raw[3:])
    _raises(tmp_path / "m.dbn", "field 'header'.*not a DBN")
    (tmp_path / "v.dbn").write_bytes(raw[:3] + bytes([9]) + raw[4:])
    _raises(tmp_path / "v.dbn", "field 'version'.*unsupported DBN version 9")


def test_truncated_metadata_and_record(tmp_path):
    raw = _good(tmp_path).read_bytes()
    (tmp_path / "t.dbn").write_bytes(raw[:40])
    _raises(tmp_path / "t.dbn", "field 'metadata'.*truncated metadata")
    (tmp_path / "r.dbn").write_bytes(raw[:-10])
    _raises(tmp_path / "r.dbn", r"record 2, field 'length'.*truncated last record \(46 of 56")


def test_wrong_schema(tmp_path):
    p = _write(tmp_path / "s.dbn", [], schema=dbn.Schema.TRADES)
    _raises(p, "field 'schema'.*'trades'")
    with pytest.raises(DataFormatError, match="schema is 'mbo'"):
        read_dbn_mbp10(_good(tmp_path))


def test_bad_rtype_and_length(tmp_path):
    raw = bytearray(_good(tmp_path).read_bytes())
    off = len(raw) - 56  # record 2
    bad = bytearray(raw)
    bad[off + 1] = 0x11
    (tmp_path / "rt.dbn").write_bytes(bytes(bad))
    _raises(tmp_path / "rt.dbn", "record 2, field 'rtype'.*rtype 17")
    bad = bytearray(raw)
    bad[off] = 15
    (tmp_path / "ln.dbn").write_bytes(bytes(bad))
    _raises(tmp_path / "ln.dbn", "record 2, field 'length'")


def test_bad_action_and_side_codes(tmp_path):
    raw = bytearray(_good(tmp_path).read_bytes())
    off = len(raw) - 56
    a = MBO_DTYPE.fields["action"][1]
    bad = bytearray(raw)
    bad[off + a] = ord("Z")
    (tmp_path / "a.dbn").write_bytes(bytes(bad))
    _raises(tmp_path / "a.dbn", "record 2, field 'action'.*unknown action code 'Z'")
    bad = bytearray(raw)
    bad[off + MBO_DTYPE.fields["side"][1]] = ord("Q")
    (tmp_path / "s.dbn").write_bytes(bytes(bad))
    _raises(tmp_path / "s.dbn", "record 2, field 'side'")


def test_add_without_price_or_side(tmp_path):
    p = _write(tmp_path / "np.dbn", [{"action": "ADD", "side": "BID", "order_id": 1, "price": 2**63 - 1, "size": 1}])
    _raises(p, "record 1, field 'price'.*without a price")
    p = _write(tmp_path / "ns.dbn", [{"action": "ADD", "side": "NONE", "order_id": 1, "price": P, "size": 1}])
    _raises(p, "record 1, field 'side'")


def test_several_instruments_and_price_scale(tmp_path):
    p = _write(tmp_path / "i.dbn", [{"action": "ADD", "side": "BID", "order_id": 1, "price": P, "size": 1},
                                    {"action": "ADD", "side": "BID", "order_id": 2, "price": P, "size": 1, "instrument_id": 7}])
    _raises(p, "field 'instrument_id'.*2 instruments")
    assert len(read_dbn_mbo(p, instrument_id=7).events) == 1
    _raises(p, "field 'instrument_id'.*not in the file", instrument_id=99)
    q = _write(tmp_path / "px.dbn", [{"action": "ADD", "side": "BID", "order_id": 1, "price": P + 5, "size": 1}])
    _raises(q, "field 'price'.*not a multiple of 1/100", price_scale=100)


def test_corrupt_zst(tmp_path):
    (tmp_path / "c.dbn.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"garbage" * 10)
    _raises(tmp_path / "c.dbn.zst", "corrupt zstd")


def test_cli_bad_input_exits_2(tmp_path, capsys):
    (tmp_path / "e.dbn").write_bytes(b"nope")
    assert main(["verify", "dbn", str(tmp_path / "e.dbn"), str(tmp_path / "e.dbn")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "e.dbn" in err


# ---- the official test files -------------------------------------------------------------------
def test_official_fixtures(shared_data):
    d = shared_data / "databento"
    m = read_dbn_mbo(d / "test_data.mbo.v3.dbn")
    assert np.array_equal(m.events, read_dbn_mbo(d / "test_data.mbo.v3.dbn.zst").events)
    recs = _official(d / "test_data.mbo.v3.dbn")
    assert [int(x) for x in m.events["order_id"]] == [r.order_id for r in recs]
    assert m.instrument.symbol == "ESH1" and m.instrument.tick == 25 and m.instrument.price_scale == 100
    assert m.stats["unknown_orders"] == 2   # a mid-session file: the cancelled orders were never seen
    b = read_dbn_mbp10(d / "test_data.mbp-10.v3.dbn.zst")
    assert b.book[0, :4].tolist() == [372050.0, 10.0, 372025.0, 24.0]
    assert b.counts[0, :2].tolist() == [8, 15]
    r = verify_dbn(d / "test_data.mbo.v3.dbn", d / "test_data.mbp-10.v3.dbn.zst")
    assert r["ok"] and r["records_matched"] == 1 and r["transitions_matched"] == 1 and not r["book_determinable"]
    assert main(["verify", "dbn", str(d / "test_data.mbo.v3.dbn"), str(d / "test_data.mbp-10.v3.dbn.zst")]) == 0
