"""Catalog of ticker-days: LOBSTER folders, daily Binance recordings, universes and SPECs."""
from __future__ import annotations

import gzip
import inspect
import shutil
from pathlib import Path

import numpy as np
import pytest

import companion
from companion.catalog import DayData, TickerDay, binance_name, discover, frame, load_day
from companion.data import parse_spec
from companion.errors import DataFormatError
from companion.events import CLEAR, EVENT_DTYPE, LEVEL_SET
from companion.io.binance import read_binance
from companion.io.lobster import read_lobster
from companion.synth import SynthConfig, write_day

SHORT = SynthConfig(session=(34200.0, 34230.0))


def _lobster_day(folder: Path, symbol: str, date: str = "2012-06-21", levels: int = 2, seed: int = 1,
                 gz: bool = False, orderbook: bool = True) -> None:
    """A valid LOBSTER ticker-day in LOBSTER naming (a short synthetic day without its meta)."""
    cfg = SynthConfig(session=SHORT.session, symbol=symbol, date=date)
    msg, ob = write_day(folder, seed=seed, levels=levels, config=cfg)
    (folder / f"{msg.name.split('_message_')[0]}_meta.json").unlink()
    for p in (msg, ob):
        if gz:
            with gzip.open(str(p) + ".gz", "wb") as fh:
                fh.write(p.read_bytes())
            p.unlink()
    if not orderbook:
        for p in folder.glob(f"{symbol}_{date}_*_orderbook_{levels}.csv*"):
            p.unlink()


def _replay(ev: np.ndarray) -> dict:
    """Reference book of LEVEL_SET / CLEAR events: {(side, price): size}."""
    book: dict = {}
    for e in ev:
        if e["kind"] == CLEAR:
            book = {}
        elif e["kind"] == LEVEL_SET:
            k = (int(e["side"]), int(e["price"]))
            if e["size"] > 0:
                book[k] = float(e["size"])
            else:
                book.pop(k, None)
    return book


def test_folder_of_hand_made_files(tmp_path):
    _lobster_day(tmp_path, "MSFT", levels=2)
    _lobster_day(tmp_path / "sub", "AAPL", levels=1, gz=True)
    _lobster_day(tmp_path / "sub", "AAPL", date="2012-06-22", levels=1, seed=2)
    _lobster_day(tmp_path, "IBM", levels=3, orderbook=False)
    (tmp_path / "notes.txt").write_text("not data")
    _lobster_day(tmp_path / ".partial", "TMP")               # hidden: a day being written
    (tmp_path / "MSFT_2012-06-21_34200000_34230000_message_x.csv").write_text("1,2")
    days = discover(tmp_path)
    got = [(d.source, d.ticker, d.date, d.level, len(d.paths)) for d in days]
    assert got == [
        ("lobster", "AAPL", "2012-06-21", 1, 2), ("lobster", "AAPL", "2012-06-22", 1, 2),
        ("lobster", "IBM", "2012-06-21", 3, 1), ("lobster", "MSFT", "2012-06-21", 2, 2),
    ]
    assert days[0].paths[0].endswith("_message_1.csv.gz") and days[0].paths[1].endswith("_orderbook_1.csv.gz")
    assert all(d.spec == d.paths[0] for d in days)
    # every day loads alone, equal to the reader on its files
    for d in days:
        dd = load_day(d)
        ref = read_lobster(*d.paths)
        assert isinstance(dd, DayData) and np.array_equal(dd.events, ref.events)
        assert (dd.book is None) == (len(d.paths) == 1)
        assert dd.instrument.symbol == d.ticker and dd.instrument.date == d.date
        # a day's SPEC names it alone
        assert discover(d.spec) == [d]
    f = frame(days)
    assert list(f["ticker"]) == ["AAPL", "AAPL", "IBM", "MSFT"]
    assert f["bytes"].gt(0).all() and list(f["files"]) == [2, 2, 1, 2]


def test_synthetic_files_are_labelled_synthetic(tmp_path):
    write_day(tmp_path, seed=1, levels=2, config=SHORT)      # with its _meta.json
    (d,) = discover(tmp_path)
    assert (d.source, d.ticker, d.level) == ("synthetic", "SYNTH", 2)


def test_empty_folder_and_bad_spec(tmp_path):
    assert discover(tmp_path) == []
    with pytest.raises(ValueError, match="not understood"):
        discover("nonsense:1")
    with pytest.raises(ValueError, match="universe"):
        discover("universe:1:0x3")
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        discover(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError):
        discover(str(tmp_path / "AAPL_2012-06-21_34200000_57600000_message_1.csv"))


def test_key_is_filesystem_safe():
    d = TickerDay("binance", "BTC/USD:x", "2024-08-08", 0, (), "s")
    assert d.key == "binance/BTC_USD_x/2024-08-08/0"


def test_binance_names():
    assert binance_name("usdm/btcusdt_20240808.gz") == ("BTCUSDT", "2024-08-08")
    assert binance_name("btcusd_perp_20240808.gz") == ("BTCUSD_PERP", "2024-08-08")
    assert binance_name("btcusdt_2024080.gz") is None
    assert binance_name("AAPL_2012-06-21_34200000_57600000_message_1.csv") is None


def test_universe_specs():
    days = discover("universe:4:3x2:5")
    assert len(days) == 6 and {d.source for d in days} == {"synthetic"}
    assert [d.ticker for d in days[::2]] == ["SYN0", "SYN1", "SYN2"]
    assert discover(days[3].spec) == [days[3]]
    assert all(d.paths == () for d in days)


def test_existing_specs_and_load(tmp_path):
    _lobster_day(tmp_path, "ABC")
    (d,) = discover(tmp_path)
    # the folder is a SPEC everywhere: parse_spec, load (one ticker-day)
    assert parse_spec(str(tmp_path)).kind == "folder"
    got = companion.load(str(tmp_path))
    assert np.array_equal(got.events, load_day(d).events)
    _lobster_day(tmp_path, "XYZ")
    with pytest.raises(ValueError, match="names 2 ticker-days"):
        companion.load(str(tmp_path))
    u = companion.load("universe:1:2x2:1/SYN1/2012-06-21")
    assert np.array_equal(u.events, load_day(discover("universe:1:2x2:1/SYN1/2012-06-21")[0]).events)
    assert u.messages_frame().shape[0] == len(u.events)
    with pytest.raises(ValueError, match="SYN7"):
        companion.load("universe:1:2x2:1/SYN7/2012-06-21")
    with pytest.raises(ValueError, match="names 4 ticker-days"):
        companion.load("universe:1:2x2:1")


def test_shared_lobster_folder(shared_data):
    days = discover(shared_data / "lobster")
    assert [(d.ticker, d.level) for d in days] == [("AAPL", 1), ("AMZN", 1), ("GOOG", 1), ("GOOG", 5), ("GOOG", 10)]
    assert {d.date for d in days} == {"2012-06-21"} and {d.source for d in days} == {"lobster"}
    assert all(len(d.paths) == 2 for d in days)
    g5 = days[3]
    ref = read_lobster(*g5.paths)
    assert np.array_equal(load_day(g5).events, ref.events)
    assert discover("lobster:GOOG:5")[0].paths == g5.paths


def _read_binance_takes_lists() -> bool:
    ann = str(inspect.signature(read_binance).parameters["path"].annotation)
    return "Sequence" in ann or "list" in ann


def test_shared_binance_recordings(shared_data, tmp_path):
    src = shared_data / "crypto" / "hftbacktest"
    for sub in ("spot", "usdm"):
        (tmp_path / sub).mkdir()
        for f in (src / sub).glob("btcusdt_*.gz"):
            shutil.copy(f, tmp_path / sub / f.name)
    (tmp_path / "spot" / "ethusdt_20240808.gz").write_bytes(gzip.compress(b"not a recording\n"))
    days = discover(tmp_path)
    got = [(d.source, d.ticker, d.date, d.level, [Path(p).name for p in d.paths]) for d in days]
    assert got == [
        ("binance", "BTCUSDT.spot", "2024-08-08", 0, ["btcusdt_20240808.gz"]),
        ("binance", "BTCUSDT.spot", "2024-08-09", 0, ["btcusdt_20240808.gz", "btcusdt_20240809.gz"]),
        ("binance", "BTCUSDT.usdm", "2024-08-08", 0, ["btcusdt_20240808.gz"]),
    ]
    first = load_day(days[0])
    assert first.book is None and first.events.dtype == EVENT_DTYPE
    assert np.array_equal(first.events, read_binance(days[0].paths[0]).events)
    assert discover(days[1].own_path) == [days[1]]
    if not _read_binance_takes_lists():
        with pytest.raises(DataFormatError, match="btcusdt_20240809.gz.*no REST snapshot"):
            load_day(days[1])
        return
    # day 2 alone: the carried book as a snapshot (CLEAR + LEVEL_SETs), then the day's own events
    second = load_day(days[1])
    both = read_binance(list(days[1].paths))
    own = both.events[both.files[-1]["event_start"]:]
    assert second.events["kind"][0] == CLEAR
    n_snap = len(second.events) - len(own)
    assert np.array_equal(second.events[n_snap:], own)
    assert _replay(second.events[:n_snap]) == _replay(both.events[: len(both.events) - len(own)])
    assert _replay(second.events) == _replay(both.events)
    assert second.events["ts_local"][0] == own["ts_local"][0]


@pytest.mark.parametrize("argv", [
    ["report", "ofi", "universe:1:1x1:5/SYN3/2012-06-21"],       # no such ticker in the universe
    ["backtest", "--data", "universe:1:2x2:5"],                  # a universe names 4 days, not one
    ["train", "--data", "universe:1:2x2:5:factor=3"],            # factor out of range
])
def test_cli_universe_spec_errors_exit_2(argv, capsys):
    from companion.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "universe" in err and "Traceback" not in err


def test_cli_empty_folder_exits_2(tmp_path, capsys):
    from companion.cli import main

    assert main(["backtest", "--data", str(tmp_path)]) == 2
    assert "names 0 ticker-days" in capsys.readouterr().err
