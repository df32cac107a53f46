"""convert: every source into LOBSTER (read back strictly), parquet and hftbacktest."""
from __future__ import annotations

import numpy as np
import pytest

from companion.book import replay
from companion.cli import main
from companion.io.bybit import write_bybit_ob500
from companion.io.dbn import write_dbn_mbo
from companion.io.itch import write_itch
from companion.io.lobster import read_lobster
from companion.io.tardis import write_tardis_incremental
from companion.synth import SynthConfig, generate_day, instrument, to_events

CFG = SynthConfig(session=(34200.0, 34320.0))


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    msgs, ob = generate_day(seed=5, levels=10, config=CFG)
    ev, ins = to_events(msgs), instrument(CFG, 10)
    d = tmp_path_factory.mktemp("src")
    files = {"dbn": write_dbn_mbo(d / "a.dbn", ev, ins), "itch": write_itch(d / "a.itch", ev, ins),
             "tardis": write_tardis_incremental(d / "a.csv", ev, ins), "bybit": write_bybit_ob500(d / "a.data", ev, ins)}
    return ev, ob, files


@pytest.mark.parametrize("fmt", ["dbn", "itch", "tardis", "bybit"])
def test_to_lobster_reproduces_the_book(day, fmt, tmp_path):
    ev, ob, files = day
    assert main(["convert", "--from", fmt, "--to", "lobster", str(files[fmt]), str(tmp_path / "out")]) == 0
    m = min((tmp_path / "out").glob("*_message_10.csv"))
    o = m.with_name(m.name.replace("_message_", "_orderbook_"))
    lob = read_lobster(m, o)           # the strict LOBSTER reader accepts what we wrote
    vis = ev["kind"] != 5 if fmt in ("tardis", "bybit") else np.ones(len(ev), bool)
    assert np.array_equal(replay(lob.events, 10), lob.book)
    if fmt in ("dbn", "itch"):        # order-level: message for message
        assert np.array_equal(lob.book, ob) and np.array_equal(lob.events["order_id"], ev["order_id"])
    else:                             # level-only: one aggregated message per level change
        assert np.array_equal(lob.book, ob[vis])


def test_parquet_and_hftbacktest(day, tmp_path):
    import json

    import pyarrow.parquet as pq

    ev, _ob, files = day
    assert main(["convert", "--from", "itch", "--to", "parquet", str(files["itch"]), str(tmp_path / "e.parquet")]) == 0
    t = pq.read_table(tmp_path / "e.parquet")
    assert t.num_rows == len(ev) and np.array_equal(t.column("price").to_numpy(), ev["price"])
    assert json.loads(t.schema.metadata[b"companion.instrument"])["price_scale"] == 10000
    assert main(["convert", "--from", "dbn", "--to", "hftbacktest", str(files["dbn"]), str(tmp_path / "h.npz")]) == 0
    assert len(np.load(tmp_path / "h.npz")["data"]) > len(ev) // 2


def test_bad_input_and_unrepresentable(tmp_path, capsys):
    p = tmp_path / "x.csv"
    p.write_text("exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\nx,S,1,1,true,bid,1,0.5\n")
    assert main(["convert", "--from", "tardis", "--to", "lobster", str(p), str(tmp_path / "o")]) == 2
    assert "fractional size 0.5" in capsys.readouterr().err
    assert main(["convert", "--from", "tardis", "--to", "parquet", str(p), str(tmp_path / "o.parquet")]) == 0
    assert main(["convert", "--from", "itch", "--to", "lobster", str(p), str(tmp_path / "o")]) == 2
