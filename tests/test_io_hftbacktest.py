"""companion.io.hftbacktest: export to hftbacktest's event format, flags, ordering, round trip;
with hftbacktest installed, its own HashMapMarketDepth backtest reproduces our best bid/ask."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from companion.book import replay
from companion.events import (
    ADD,
    CANCEL,
    CLEAR,
    CROSS,
    DELETE,
    DUMMY_ASK,
    DUMMY_BID,
    EVENT_DTYPE,
    EXEC_HIDDEN,
    EXEC_VISIBLE,
    HALT,
    LEVEL_SET,
    TRADE,
    Instrument,
)
from companion.io import hftbacktest as H

HAS_HBT = importlib.util.find_spec("hftbacktest") is not None
INS = Instrument("TEST", tick=100, price_scale=10000, lot=1.0)
KIND = 0xFF


def make_events(rows: list[tuple], dt: int = 1000) -> np.ndarray:
    """Events from ``(kind, side, price, size)`` tuples; ts = ts_local = dt * (index + 1)."""
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (k, s, p, q) in enumerate(rows):
        ev[i] = (dt * (i + 1), dt * (i + 1), k, s, p, q, 100 + i)
    return ev


# a tiny hand-built LOBSTER-like day: prices in units of $0.0001, tick 100
HAND = make_events([
    (ADD, 1, 100_00_00, 100),     # 0 bid 100.00 x100
    (ADD, 1, 100_00_00, 50),      # 1 bid 100.00 -> 150
    (ADD, -1, 100_02_00, 30),     # 2 ask 100.02 x30
    (ADD, 1, 99_99_00, 20),       # 3 bid 99.99 x20
    (CANCEL, 1, 100_00_00, 40),   # 4 bid 100.00 -> 110
    (EXEC_VISIBLE, -1, 100_02_00, 10),  # 5 buyer lifts 10 of the ask: ask -> 20
    (EXEC_HIDDEN, 1, 100_01_00, 5),     # 6 hidden sell-side fill inside the spread
    (CROSS, 0, 100_01_00, 0),     # 7 cross: not exported
    (DELETE, -1, 100_02_00, 20),  # 8 ask level gone
    (ADD, -1, 100_03_00, 7),      # 9 ask 100.03 x7
    (EXEC_VISIBLE, 1, 100_00_00, 110),  # 10 seller takes the whole best bid
    (HALT, 0, -1, 0),             # 11 halt flag: not exported
    (ADD, 1, 99_98_00, 3),        # 12
])


def reference_levels(data: np.ndarray, levels: int, scale: float) -> np.ndarray:
    """Pure-Python hftbacktest L2 semantics over the EXCH rows: depth / snapshot rows set a
    level (0 deletes), side-less clears empty the book. Top ``levels`` after every row."""
    bids: dict[int, float] = {}
    asks: dict[int, float] = {}
    out = []
    for r in data:
        ev = int(r["ev"])
        if not ev & H.EXCH_EVENT:
            continue
        k = ev & KIND
        book = bids if ev & H.BUY_EVENT else asks
        p = int(round(r["px"] * scale))
        if k in (H.DEPTH_EVENT, H.DEPTH_SNAPSHOT_EVENT):
            if r["qty"] > 0:
                book[p] = float(r["qty"])
            else:
                book.pop(p, None)
        elif k == H.DEPTH_CLEAR_EVENT:
            bids.clear()
            asks.clear()
        a = sorted(asks)[:levels]
        b = sorted(bids, reverse=True)[:levels]
        row = []
        for j in range(levels):
            row += [a[j], asks[a[j]]] if j < len(a) else [DUMMY_ASK, 0.0]
            row += [b[j], bids[b[j]]] if j < len(b) else [DUMMY_BID, 0.0]
        out.append(row)
    return np.array(out, dtype=np.float64)


def last_row_of_each_event(data: np.ndarray) -> np.ndarray:
    iv = data["ival"]
    return np.r_[iv[1:] != iv[:-1], True]


def random_stream(n: int, seed: int) -> np.ndarray:
    """Seeded LOBSTER-like stream around a fixed mid (adds, cancels, deletes, executions)."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    live: dict[tuple[int, int], float] = {}
    for i in range(n):
        u = rng.random()
        if u < 0.5 or not live:
            s = 1 if rng.random() < 0.5 else -1
            p = (1000 - s * int(rng.integers(1, 8))) * 100
            q = float(rng.integers(1, 50))
            live[(s, p)] = live.get((s, p), 0.0) + q
            k = ADD
        else:
            keys = sorted(live)
            s, p = keys[int(rng.integers(len(keys)))]
            have = live[(s, p)]
            k = [CANCEL, DELETE, EXEC_VISIBLE, EXEC_HIDDEN][int(rng.integers(4))]
            q = float(rng.integers(1, int(have) + 1)) if k != DELETE else have
            if k != EXEC_HIDDEN:
                live[(s, p)] = have - q
                if live[(s, p)] <= 0:
                    del live[(s, p)]
        t = 1000 * (i // 3 + 1)  # some events share a timestamp
        ev[i] = (t, t, k, s, p, q, i + 1)
    return ev


# --------------------------------------------------------------------------------------------
def test_dtype_and_flags_match_installed_hftbacktest() -> None:
    assert H.HBT_EVENT_DTYPE.itemsize == 64
    if not HAS_HBT:
        pytest.skip("hftbacktest not installed")
    import hftbacktest as hb

    assert H.HBT_EVENT_DTYPE == hb.event_dtype
    for name in ("DEPTH_EVENT", "TRADE_EVENT", "DEPTH_CLEAR_EVENT", "DEPTH_SNAPSHOT_EVENT",
                 "EXCH_EVENT", "LOCAL_EVENT", "BUY_EVENT", "SELL_EVENT"):
        assert getattr(H, name) == getattr(hb, name), name


def test_level_after_hand_worked() -> None:
    q = H.level_after(HAND)
    want = [100, 150, 30, 20, 110, 20, np.nan, np.nan, 0, 7, 0, np.nan, 3]
    np.testing.assert_array_equal(q, np.array(want, dtype=float))


def test_hand_stream_rows_and_flags() -> None:
    d = H.to_hftbacktest(HAND, INS)
    kinds = [(int(e) & KIND, int(e) & (H.BUY_EVENT | H.SELL_EVENT)) for e in d["ev"]]
    B, S = H.BUY_EVENT, H.SELL_EVENT
    assert kinds == [
        (H.DEPTH_EVENT, B), (H.DEPTH_EVENT, B), (H.DEPTH_EVENT, S), (H.DEPTH_EVENT, B),
        (H.DEPTH_EVENT, B),
        (H.TRADE_EVENT, B), (H.DEPTH_EVENT, S),   # exec of a resting sell: buyer-initiated, trade first
        (H.TRADE_EVENT, S),                       # hidden exec of a buy order: seller-initiated
        (H.DEPTH_EVENT, S), (H.DEPTH_EVENT, S),
        (H.TRADE_EVENT, S), (H.DEPTH_EVENT, B),
        (H.DEPTH_EVENT, B),
    ]
    assert ((d["ev"] & np.uint64(H.EXCH_EVENT | H.LOCAL_EVENT)) == H.EXCH_EVENT | H.LOCAL_EVENT).all()
    np.testing.assert_array_equal(d["ival"], [0, 1, 2, 3, 4, 5, 5, 6, 8, 9, 10, 10, 12])
    np.testing.assert_array_equal(d["qty"], [100, 150, 30, 20, 110, 10, 20, 5, 0, 7, 110, 0, 3])
    np.testing.assert_array_equal(d["fval"], HAND["size"][d["ival"]])
    np.testing.assert_allclose(d["px"], HAND["price"][d["ival"]] / 10000)
    np.testing.assert_array_equal(d["exch_ts"], HAND["ts"][d["ival"]])
    np.testing.assert_array_equal(d["order_id"], HAND["order_id"][d["ival"]])
    # hidden executions can be left out
    d2 = H.to_hftbacktest(HAND, INS, hidden_trades=False)
    assert len(d2) == len(d) - 1 and 6 not in d2["ival"]


def test_trade_clear_snapshot_flags_binance_like() -> None:
    ev = make_events([
        (CLEAR, 0, 0, 0.0), (LEVEL_SET, 1, 600, 1.5), (LEVEL_SET, -1, 601, 0.25),
        (TRADE, 1, 601, 0.1), (TRADE, -1, 600, 0.2), (LEVEL_SET, 1, 600, 0.0),
    ])
    ev["ts"][:3] = ev["ts"][0]
    ev["ts_local"][:3] = ev["ts_local"][0]
    ev["order_id"][:3] = 7  # snapshot rows share the snapshot's lastUpdateId
    d = H.to_hftbacktest(ev, price_scale=10)
    got = [(int(e) & KIND, int(e) & (H.BUY_EVENT | H.SELL_EVENT)) for e in d["ev"]]
    assert got == [(H.DEPTH_CLEAR_EVENT, 0), (H.DEPTH_SNAPSHOT_EVENT, H.BUY_EVENT),
                   (H.DEPTH_SNAPSHOT_EVENT, H.SELL_EVENT), (H.TRADE_EVENT, H.BUY_EVENT),
                   (H.TRADE_EVENT, H.SELL_EVENT), (H.DEPTH_EVENT, H.BUY_EVENT)]
    np.testing.assert_allclose(d["px"], [0.0, 60.0, 60.1, 60.1, 60.0, 60.0])
    np.testing.assert_array_equal(d["qty"], [0.0, 1.5, 0.25, 0.1, 0.2, 0.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_round_trip_levels_equal_our_replay(seed: int) -> None:
    ev = random_stream(3000, seed)
    d = H.to_hftbacktest(ev, INS)
    last = last_row_of_each_event(d)
    ours = replay(ev, 5)[d["ival"][last]]
    # hftbacktest semantics, pure Python
    np.testing.assert_array_equal(reference_levels(d, 5, INS.price_scale)[last], ours)
    # and back through our reader + book engine
    back = H.from_hftbacktest(d, INS.price_scale)
    np.testing.assert_array_equal(replay(back, 5)[last], ours)
    # every book-changing event is represented (crosses / halts are not exported)
    assert set(np.unique(d["ival"])) == set(np.flatnonzero(~np.isin(ev["kind"], (CROSS, HALT))))


def test_initial_book_slice_and_snapshot_rows() -> None:
    ev = random_stream(2000, 5)
    full = replay(ev, 50)
    cut = 700
    init = full[cut - 1]
    d = H.to_hftbacktest(ev[cut:], INS, initial=init)
    snap = H.snapshot_to_hftbacktest(init, INS)
    assert ((snap["ev"].astype(np.uint64) & np.uint64(KIND)) == H.DEPTH_SNAPSHOT_EVENT).all()
    both = np.concatenate([snap, d])
    last = last_row_of_each_event(d)
    lv = reference_levels(both, 5, INS.price_scale)[len(snap):][last]
    np.testing.assert_array_equal(lv, full[cut:, :20][d["ival"][last]])


def test_timestamps_monotone_and_split_when_clocks_disagree() -> None:
    ev = random_stream(500, 3)
    d = H.to_hftbacktest(ev, INS, feed_latency_ns=250)
    H.validate_event_order(d)
    assert (np.diff(d["exch_ts"]) >= 0).all() and (np.diff(d["local_ts"]) >= 0).all()
    np.testing.assert_array_equal(d["local_ts"] - d["exch_ts"], 250)
    # exchange clock out of arrival order (Binance E): rows split into EXCH-only / LOCAL-only
    ev2 = make_events([(LEVEL_SET, 1, 600, 1.0), (LEVEL_SET, 1, 601, 2.0), (TRADE, 1, 602, 0.5)])
    ev2["ts"] = [3000, 1000, 2000]  # exchange times not monotone; ts_local 1000, 2000, 3000
    d2 = H.to_hftbacktest(ev2, price_scale=1)
    H.validate_event_order(d2)
    ex = (d2["ev"] & np.uint64(H.EXCH_EVENT)) != 0
    lo = (d2["ev"] & np.uint64(H.LOCAL_EVENT)) != 0
    assert ex.sum() == 3 and lo.sum() == 3 and len(d2) > 3
    np.testing.assert_array_equal(d2["exch_ts"][ex], [1000, 2000, 3000])
    np.testing.assert_array_equal(d2["local_ts"][lo], [1000, 2000, 3000])
    bad = d2.copy()
    bad["exch_ts"][ex] = bad["exch_ts"][ex][::-1]
    with pytest.raises(ValueError, match="exchange events"):
        H.validate_event_order(bad)


def test_write_npz_loads_back(tmp_path) -> None:
    d = H.to_hftbacktest(HAND, INS)
    p = H.export(HAND, tmp_path / "hand", INS)
    assert p.suffix == ".npz"
    with np.load(p) as z:
        assert z["data"].dtype == H.HBT_EVENT_DTYPE
        np.testing.assert_array_equal(z["data"], d)
    with pytest.raises(ValueError):
        H.write_npz(tmp_path / "x.npz", HAND)
    assert H.asset_params(INS) == {"tick_size": 0.01, "lot_size": 1.0}


def test_from_hftbacktest_rejects_one_sided_clear() -> None:
    d = np.zeros(1, dtype=H.HBT_EVENT_DTYPE)
    d["ev"] = H.DEPTH_CLEAR_EVENT | H.BUY_EVENT | H.EXCH_EVENT | H.LOCAL_EVENT
    with pytest.raises(ValueError, match="one-sided"):
        H.from_hftbacktest(d)


# --------------------------------------------------------------------------------------------
@pytest.mark.skipif(not HAS_HBT, reason="hftbacktest not installed (optional 'bench' extra)")
@pytest.mark.parametrize("source", ["hand", "random", "synthetic_slice"])
def test_hftbacktest_backtest_reproduces_best_quotes(tmp_path, source) -> None:
    import hftbacktest as hb
    from numba import njit

    if source == "hand":
        ev = HAND
    elif source == "random":
        ev = random_stream(5000, 11)
    else:
        from companion import data as cdata

        ev = cdata.load("synthetic").events[:30_000]
    path = H.export(ev, tmp_path / "feed.npz", INS)

    @njit
    def record(hbt, ts, bb, ba):
        n = 0
        while n < ts.size and hbt.wait_next_feed(False, 1 << 62) == 2:
            ts[n] = hbt.current_timestamp
            depth = hbt.depth(0)
            bb[n] = depth.best_bid_tick
            ba[n] = depth.best_ask_tick
            n += 1
        return n

    p = H.asset_params(INS)
    asset = (hb.BacktestAsset().data([str(path)]).linear_asset(1.0)
             .constant_order_latency(0, 0).risk_adverse_queue_model().no_partial_fill_exchange()
             .tick_size(p["tick_size"]).lot_size(p["lot_size"]))
    bt = hb.HashMapMarketDepthBacktest([asset])
    cap = len(ev) + 10
    ts, bb, ba = np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int64)
    n = record(bt, ts, bb, ba)
    bt.close()
    assert n > 0.5 * len(np.unique(ev["ts"]))
    ts, bb, ba = ts[:n], bb[:n], ba[:n]
    top = replay(ev, 1)
    j = np.searchsorted(ev["ts"], ts, side="right") - 1  # our book after every event up to ts
    assert (j >= 0).all()
    our_bid = np.where(top[j, 3] > 0, top[j, 2] / INS.tick, -np.inf)
    our_ask = np.where(top[j, 1] > 0, top[j, 0] / INS.tick, np.inf)
    their_bid = np.where(bb <= -(1 << 62), -np.inf, bb.astype(float))
    their_ask = np.where(ba >= (1 << 62), np.inf, ba.astype(float))
    np.testing.assert_array_equal(their_bid, our_bid)
    np.testing.assert_array_equal(their_ask, our_ask)
