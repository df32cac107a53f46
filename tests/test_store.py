"""Parquet store: round trips, keys (changed source / package -> rebuilt, never stale), derived
tables, dask frames, the book's cell-change encoding against a direct reference."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import companion.store as store_mod
from companion.catalog import TickerDay, discover, load_day
from companion.io.lobster import read_lobster
from companion.store import StaleTableError, Store, book_changes_nb, book_from_changes_nb
from companion.synth import SynthConfig, write_day

UNI = "universe:5:2x2:2"


@pytest.fixture()
def lobster_folder(tmp_path) -> Path:
    """A hand-made LOBSTER ticker-day (a 1-minute synthetic day written without its _meta.json)."""
    folder = tmp_path / "lob"
    write_day(folder, seed=3, levels=5, config=SynthConfig(session=(34200.0, 34260.0), symbol="ABC"))
    for m in folder.glob("*_meta.json"):
        m.unlink()
    return folder


def _count_loads(monkeypatch) -> list:
    calls = []

    def spy(day):
        calls.append(day.key)
        return load_day(day)

    monkeypatch.setattr(store_mod, "load_day", spy)
    return calls


def test_universe_day_round_trip(tmp_path):
    day = discover(UNI)[1]
    st = Store(tmp_path)
    built = st.dataset(day)
    back = st.dataset(day)
    ref = load_day(day)
    assert back.events.dtype == ref.events.dtype
    assert np.array_equal(back.events, ref.events)
    assert np.array_equal(back.book, ref.book) and back.book.flags["C_CONTIGUOUS"]
    assert back.instrument == ref.instrument == built.instrument
    assert back.instrument.extra["vol_mult"] == ref.instrument.extra["vol_mult"]
    assert st.dataset(day, book=False).book is None
    # partitioned by ticker and date
    p = st.table_path(day, "events")
    assert p.exists() and p.parent.name == f"date={day.date}" and p.parent.parent.name == f"ticker={day.ticker}"


def test_lobster_round_trip_and_reuse(tmp_path, lobster_folder, monkeypatch):
    day = discover(lobster_folder)[0]
    assert day.source == "lobster" and day.ticker == "ABC" and day.level == 5
    st = Store(tmp_path / "st")
    calls = _count_loads(monkeypatch)
    st.dataset(day)
    got = st.dataset(day)
    assert calls == [day.key]                       # written once, then reused
    ref = read_lobster(*day.paths)
    assert np.array_equal(got.events, ref.events) and np.array_equal(got.book, ref.book)
    assert got.instrument == ref.instrument


def test_changed_source_is_rebuilt(tmp_path, lobster_folder, monkeypatch):
    day = discover(lobster_folder)[0]
    st = Store(tmp_path / "st")
    st.dataset(day)
    st.write_table(day, "feat", pd.DataFrame({"x": [1.0]}))
    calls = _count_loads(monkeypatch)
    msg = Path(day.paths[0])
    # touched, content unchanged: re-keyed, not rebuilt
    os.utime(msg, ns=(msg.stat().st_atime_ns, msg.stat().st_mtime_ns + 10**9))
    st.dataset(day)
    assert calls == [] and st.has_table(day, "feat")
    # change one size on line 1 of the messages and of the orderbook: same length and the mtime
    # set back, so size and mtime cannot tell (the ctime and the content hash do)
    ob = Path(day.paths[1])
    for path, col in ((msg, 3), (ob, None)):
        st_ = path.stat()
        lines = path.read_text().splitlines(keepends=True)
        f = lines[0].split(",")
        c = col if col is not None else 3
        f[c] = str(int(f[c]) + 1) if len(str(int(f[c]) + 1)) == len(f[c]) else str(int(f[c]) - 1)
        lines[0] = ",".join(f)
        path.write_text("".join(lines))
        os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns))
    got = st.dataset(day)
    assert calls == [day.key]
    ref = read_lobster(*day.paths)
    assert np.array_equal(got.events, ref.events) and np.array_equal(got.book, ref.book)
    # the derived table was built from the old content: stale, never silently reused
    assert not st.has_table(day, "feat")
    with pytest.raises(StaleTableError, match="stale"):
        st.read_table(day, "feat")


def test_changed_package_is_rebuilt(tmp_path, monkeypatch):
    day = discover(UNI)[0]
    st = Store(tmp_path)
    st.dataset(day)
    st.write_table(day, "feat", pd.DataFrame({"x": [1.0]}))
    calls = _count_loads(monkeypatch)
    st.dataset(day)
    assert calls == []
    monkeypatch.setattr(store_mod, "package_hash", lambda: "another-version")
    assert not st.has_table(day, "feat")
    st.dataset(day)
    assert calls == [day.key]
    st.dataset(day)
    assert calls == [day.key]


def test_package_hash_covers_the_readers():
    store_mod.package_hash.cache_clear()
    h = store_mod.package_hash()
    assert len(h) == 16 and h == store_mod.package_hash()
    files = [p for p in store_mod._DATA_MODULES]
    assert "io" in files and "synth" in files and "store.py" in files


def test_derived_table_versions_and_errors(tmp_path):
    day = discover(UNI)[0]
    st = Store(tmp_path)
    df = pd.DataFrame({"a": np.arange(4, dtype=np.int64), "b": np.linspace(0, 1, 4)})
    st.write_table(day, "t", df, version="v1")
    assert st.has_table(day, "t", version="v1") and not st.has_table(day, "t", version="v2")
    pd.testing.assert_frame_equal(st.read_table(day, "t", version="v1"), df)
    with pytest.raises(StaleTableError):
        st.read_table(day, "t", version="v2")
    with pytest.raises(StaleTableError, match="missing"):
        st.read_table(day, "nothing")
    for bad in ("", "a/b", "_keys", ".x"):
        with pytest.raises(ValueError):
            st.table_path(day, bad)
    with pytest.raises(ValueError, match="dataset"):
        st.write_table(day, "events", df)


def test_levels_and_universes_never_share_files(tmp_path):
    a = TickerDay("lobster", "GOOG", "2012-06-21", 1, ("x_1.csv",), "x_1.csv")
    b = TickerDay("lobster", "GOOG", "2012-06-21", 5, ("x_5.csv",), "x_5.csv")
    u1 = discover("universe:1:1x1:2")[0]
    u2 = discover("universe:2:1x1:2")[0]
    st = Store(tmp_path)
    paths = {st.table_path(d, "events") for d in (a, b, u1, u2)}
    assert len(paths) == 4


def test_dask_frame(tmp_path):
    days = discover(UNI)
    st = Store(tmp_path)
    for i, d in enumerate(days):
        st.write_table(d, "f", pd.DataFrame({"x": np.full(3, float(i))}))
    got = st.dask_frame("f", days)
    assert got.npartitions == len(days)
    df = got.compute()
    assert len(df) == 3 * len(days)
    assert sorted(set(zip(df["ticker"], df["date"]))) == sorted((d.ticker, d.date) for d in days)
    assert sorted(df["x"].unique()) == [0.0, 1.0, 2.0, 3.0]
    # the days found from the files' metadata
    assert st.days("f") == days
    ev = st.dask_frame("events", days[:1]).compute()
    assert len(ev) == len(load_day(days[0]).events)


def _changes_reference(book):
    rows, cols, vals = [], [], []
    prev = np.zeros(book.shape[1])
    for i, row in enumerate(book):
        for j, v in enumerate(row):
            if v != prev[j]:
                rows.append(i), cols.append(j), vals.append(v)
        prev = row
    return np.array(rows, np.int32), np.array(cols, np.int16), np.array(vals)


@pytest.mark.parametrize("n,w", [(0, 4), (1, 4), (50, 8), (200, 40)])
def test_book_changes_against_reference(n, w):
    rng = np.random.default_rng(n)
    book = np.zeros((n, w))
    if n:
        book[0] = rng.integers(-3, 3, w)
        for i in range(1, n):            # a few cells change per row, sometimes none
            book[i] = book[i - 1]
            k = rng.integers(0, 3)
            book[i, rng.integers(0, w, k)] = rng.integers(-3, 3, k)
    r, c, v = book_changes_nb(book)
    rr, cc, vv = _changes_reference(book)
    assert np.array_equal(r, rr) and np.array_equal(c, cc) and np.array_equal(v, vv)
    out = book_from_changes_nb(np.bincount(r, minlength=n), c, v, np.full((n, w), np.nan))
    assert np.array_equal(out, book)


def test_default_root_is_in_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path))
    assert Store().root == (tmp_path / "store").resolve()


def test_real_lobster_day_round_trip(tmp_path, shared_data):
    src = shared_data / "lobster"
    for f in src.glob("GOOG_*_5.csv.gz"):
        shutil.copy(f, tmp_path / f.name)
    day = discover(tmp_path)[0]
    assert (day.ticker, day.level, day.source) == ("GOOG", 5, "lobster")
    st = Store(tmp_path / "st")
    st.dataset(day)
    got = st.dataset(day)
    ref = read_lobster(*day.paths)
    assert np.array_equal(got.events, ref.events) and np.array_equal(got.book, ref.book)


def test_mmap_book(tmp_path, monkeypatch):
    day = discover(UNI)[2]
    st = Store(tmp_path)
    ref = st.dataset(day)
    got = st.dataset(day, mmap=True)                 # written from the Parquet tables, then mapped
    again = st.dataset(day, mmap=True)               # mapped
    for g in (got, again):
        assert np.array_equal(g.book, ref.book) and np.array_equal(g.events, ref.events)
        assert not g.book.flags["WRITEABLE"] and g.book.shape == ref.book.shape
    with pytest.raises(ValueError):
        again.book[0, 0] = 1.0
    # keyed like the tables: another package version rebuilds it, never a stale map
    calls = _count_loads(monkeypatch)
    monkeypatch.setattr(store_mod, "package_hash", lambda: "another-version")
    third = st.dataset(day, mmap=True)
    assert calls == [day.key] and np.array_equal(third.book, ref.book)
    arrow = next((tmp_path / "_book_mmap").rglob("*.arrow"))
    assert st.identity(day) in arrow.read_bytes().decode("latin-1")
