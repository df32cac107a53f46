"""Bybit ob500 reader: fixture, round trip of the synthetic day, malformed inputs, gaps."""
from __future__ import annotations

import json

import numpy as np
import pytest

from companion.book import replay
from companion.errors import DataFormatError, SequenceGapError
from companion.events import CLEAR, LEVEL_SET
from companion.io.bybit import read_bybit_ob500, write_bybit_ob500
from companion.synth import SynthConfig, generate_day, instrument, to_events

CFG = SynthConfig(session=(34200.0, 34500.0))


def line(typ="delta", u=2, b=(("1.5", "10"),), a=(), ts=1000, s="XRPUSDT", **kw):
    d = {"topic": f"orderbook.500.{s}", "type": typ, "ts": ts,
         "data": {"s": s, "b": [list(x) for x in b], "a": [list(x) for x in a], "u": u, "seq": 1}, "cts": ts}
    d.update(kw)
    return json.dumps(d)


SNAP = line("snapshot", 1, b=(("1.5", "10"), ("1.4", "5")), a=(("1.6", "7"),))


def test_hand_worked(tmp_path):
    p = tmp_path / "x.data"
    p.write_text("\n".join([SNAP, line(u=2, b=(("1.5", "0"),)), line(u=3, b=(), a=(("1.55", "2"),))]) + "\n")
    d = read_bybit_ob500(p)
    assert d.events["kind"].tolist() == [CLEAR] + [LEVEL_SET] * 5
    assert d.instrument.price_scale == 100 and d.update_id.tolist() == [1, 1, 1, 1, 2, 3]
    assert replay(d.events, 2)[-1].tolist() == [155, 2, 140, 5, 160, 7, -9999999999, 0]


@pytest.fixture(scope="module")
def day():
    msgs, ob = generate_day(seed=3, levels=10, config=CFG)
    return to_events(msgs), ob, instrument(CFG, 10)


def test_round_trip(day, tmp_path):
    ev, ob, ins = day
    p = write_bybit_ob500(tmp_path / "d.data", ev, ins)
    d = read_bybit_ob500(p, price_scale=10000)
    vis = ev["kind"] != 5
    assert d.stats["deltas"] == int(vis.sum()) and d.stats["gaps"] == 0
    assert np.array_equal(replay(d.events, 10)[1:], ob[vis])


def test_gap_raise_and_resync(tmp_path):
    p = tmp_path / "g.data"
    p.write_text("\n".join([SNAP, line(u=2), line(u=4), line(u=5), line("snapshot", 9, b=(("1.1", "1"),)),
                            line(u=10, b=(("1.2", "3"),))]) + "\n")
    with pytest.raises(SequenceGapError, match="line 3, field 'data.u'"):
        read_bybit_ob500(p)
    d = read_bybit_ob500(p, on_gap="resync")
    assert d.stats["gaps"] == 1 and d.stats["dropped"] == 2 and d.stats["snapshots"] == 2
    assert replay(d.events, 1)[-1].tolist() == [9999999999, 0, 12, 3]   # price scale 10: one decimal in the file


@pytest.mark.parametrize("lines,match", [
    ([], "empty file"),
    ([SNAP, "{not json"], "line 2: invalid JSON"),
    ([SNAP, "[1, 2]"], "line 2: a line must be a JSON object"),
    ([SNAP, json.dumps({"topic": "orderbook.500.XRPUSDT", "type": "delta", "ts": 1})], "line 2, field 'data'"),
    ([SNAP, line(u=2).replace('"u": 2', '"x": 2')], "line 2, field 'data.u'"),
    ([SNAP, line(typ="update")], "line 2, field 'type'"),
    ([SNAP, line(s="BTCUSDT")], "line 2, field 'topic'"),
    ([line(u=2)], "line 1, field 'type'.*before any snapshot"),
    ([SNAP, line(u="2")], "line 2, field 'data.u'.*not a non-negative integer"),
    ([SNAP, line(b=(("1.5",),))], r"line 2, field 'data.b'.*pair"),
    ([SNAP, line(b=((1.5, "3"),))], r"line 2, field 'data.b'.*pair of strings"),
    ([SNAP, line(b=(("1,5", "3"),))], "line 2, field 'price'"),
    ([SNAP, line(b=(("1.5", "-3"),))], "line 2, field 'size'"),
    ([SNAP, line(ts=10)], "line 2, field 'ts'.*backwards"),
    ([SNAP, ""], "line 2: blank line"),
])
def test_malformed(tmp_path, lines, match):
    p = tmp_path / "bad.data"
    p.write_text("\n".join(lines) + ("\n" if lines else ""))
    with pytest.raises(DataFormatError, match=match) as ei:
        read_bybit_ob500(p)
    assert str(p) in str(ei.value)


def test_zip_is_refused(tmp_path):
    (tmp_path / "z.data").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(DataFormatError, match="zip archive"):
        read_bybit_ob500(tmp_path / "z.data")


def test_fixture(shared_data):
    d = read_bybit_ob500(shared_data / "crypto" / "nautilus_trader" / "bybit" / "2024-12-01_XRPUSDT_ob500.data")
    assert d.stats == {"lines": 50, "snapshots": 1, "deltas": 49, "gaps": 0, "dropped": 0}
    assert d.instrument.symbol == "XRPUSDT" and d.instrument.price_scale == 10000
    book = replay(d.events, 1)
    ends = np.r_[d.line[1:] != d.line[:-1], True]       # the book after each whole message
    top = book[ends]
    crossed = (top[:, 0] <= top[:, 2]) & (top[:, 1] > 0) & (top[:, 3] > 0)
    assert ends.sum() == 50 and not crossed.any()
