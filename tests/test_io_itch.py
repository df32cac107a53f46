"""ITCH 5.0 encoder/decoder: exact round trip of the synthetic day, hand-made messages, malformed input."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from companion.book import replay
from companion.errors import DataFormatError
from companion.events import ADD, CANCEL, DELETE, EXEC_HIDDEN, EXEC_VISIBLE
from companion.io.itch import ITCH_LENGTHS, read_itch, write_itch
from companion.synth import SynthConfig, generate_day, instrument, to_events

CFG = SynthConfig(session=(34200.0, 34500.0))


@pytest.fixture(scope="module")
def day():
    msgs, ob = generate_day(seed=3, levels=10, config=CFG)
    return to_events(msgs), ob, instrument(CFG, 10)


def test_round_trip_is_exact(day, tmp_path):
    ev, ob, ins = day
    d = read_itch(write_itch(tmp_path / "d.itch", ev, ins), date=ins.date)
    assert np.array_equal(d.events, ev)            # every field of every event
    assert np.array_equal(replay(d.events, 10), ob)
    assert d.instrument.symbol == "SYNTH" and d.stats["unknown_orders"] == 0


def msg(typ, t=1, locate=1, body=b""):
    m = struct.pack(">cHH", typ, locate, 0) + t.to_bytes(6, "big") + body
    return len(m).to_bytes(2, "big") + m


def add(ref, side=b"B", sh=100, px=100_0000, stock=b"ABC     ", t=1, locate=1, typ=b"A"):
    return msg(typ, t, locate, struct.pack(">QcI8sI", ref, side, sh, stock, px) + (b"MPID" if typ == b"F" else b""))


def test_hand_worked_messages(tmp_path):
    data = (add(1) + add(2, b"S", 50, 101_0000, typ=b"F")
            + msg(b"E", 2, body=struct.pack(">QIQ", 1, 30, 1))
            + msg(b"C", 3, body=struct.pack(">QIQcI", 2, 10, 2, b"Y", 100_9900))
            + msg(b"X", 4, body=struct.pack(">QI", 1, 20))
            + msg(b"U", 5, body=struct.pack(">QQII", 2, 3, 60, 101_5000))
            + msg(b"D", 6, body=struct.pack(">Q", 1))
            + msg(b"P", 7, body=struct.pack(">QcI8sIQ", 0, b"S", 7, b"ABC     ", 100_5000, 3))
            + msg(b"S", 8, body=b"C"))
    p = tmp_path / "h.itch"
    p.write_bytes(data)
    d = read_itch(p)
    e = d.events
    assert e["kind"].tolist() == [ADD, ADD, EXEC_VISIBLE, EXEC_VISIBLE, CANCEL, DELETE, ADD, DELETE, EXEC_HIDDEN]
    assert e["size"].tolist() == [100, 50, 30, 10, 20, 40, 60, 50, 7]
    assert e["price"].tolist()[5:7] == [101_0000, 101_5000] and e["order_id"].tolist()[5:7] == [2, 3]
    assert d.stats["exec_price_differs"] == 1 and d.message.tolist()[-1] == 8
    assert replay(e, 1)[-1].tolist() == [101_5000, 60, -9999999999, 0]


def _bad(tmp_path, data, match, **kw):
    p = tmp_path / "bad.itch"
    p.write_bytes(data)
    with pytest.raises(DataFormatError, match=match) as ei:
        read_itch(p, **kw)
    assert str(p) in str(ei.value)


def test_malformed(tmp_path):
    _bad(tmp_path, b"", "empty file")
    _bad(tmp_path, add(1) + b"\x00", r"message 2, field 'length': truncated length prefix")
    _bad(tmp_path, add(1)[:-3], r"message 1, field 'length': truncated message")
    _bad(tmp_path, add(1) + msg(b"Z", body=b"12345678"), r"message 2, field 'type'.*not in ITCH 5.0")
    _bad(tmp_path, msg(b"A", body=b"\x00" * 5), r"message 1, field 'length': type A is 36 bytes")
    _bad(tmp_path, add(1, side=b"Q"), r"message 1, field 'side'")
    _bad(tmp_path, add(1, sh=0), r"message 1, field 'shares'")
    _bad(tmp_path, add(1, px=0), r"message 1, field 'price'")
    _bad(tmp_path, add(1) + add(1), r"message 2, field 'order_ref'.*already live")
    _bad(tmp_path, add(1, t=5) + add(2, t=4), r"message 2, field 'timestamp'.*backwards")
    _bad(tmp_path, add(1) + msg(b"E", body=struct.pack(">QIQ", 1, 500, 1)), r"message 2, field 'shares'.*100 left")
    _bad(tmp_path, add(1) + add(2, locate=2), r"field 'stock_locate'.*2 stock locates")
    _bad(tmp_path, add(1), r"field 'stock'.*'XYZ' not in the stock directory", symbol="XYZ")
    _bad(tmp_path, msg(b"\x00"), r"message 1, field 'length': zero-length|message 1, field 'type'")


def test_locate_selection_and_skipping(tmp_path):
    p = tmp_path / "two.itch"
    p.write_bytes(add(1) + add(2, locate=2, stock=b"XYZ     ") + msg(b"S", body=b"O"))
    assert read_itch(p, symbol="XYZ").events["order_id"].tolist() == [2]
    d = read_itch(p, locate=1)
    assert d.events["order_id"].tolist() == [1] and d.stats["skipped"] == 2
    assert ITCH_LENGTHS[b"A"] == 36 and ITCH_LENGTHS[b"P"] == 44
