"""Live feeds: paced LOBSTER replay, and the Binance websocket client against a loopback replay server.

The Binance tests run the real protocol (combined-stream text frames over a 127.0.0.1 websocket,
REST snapshot over HTTP) on the real recordings and use ``read_binance`` of the same span as the
answer key. Every async test runs under ``asyncio.wait_for`` with a hard timeout and closes its
sockets (``async with``).
"""
from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from companion.events import ASK, BID, CLEAR, EVENT_DTYPE, LEVEL_SET, TRADE
from companion.io.binance import DIFF_DTYPE, compare_tickers, diff_end_index, read_binance, top_of_book_reference
from companion.live.feeds import (
    BinanceStreamDecoder,
    BinanceWebSocketFeed,
    FeedChunk,
    FeedClosed,
    LobsterReplayFeed,
    SimulatedClock,
    StaleFeed,
    WallClock,
    http_get,
    http_snapshot,
)
from companion.live.replay_server import ReplayServer

HARD_TIMEOUT = 60.0


def run(coro, timeout: float = HARD_TIMEOUT):
    return asyncio.run(asyncio.wait_for(coro, timeout))


# ============================================================================ LOBSTER replay
def _events(ts: list[int]) -> np.ndarray:
    ev = np.zeros(len(ts), dtype=EVENT_DTYPE)
    ev["ts"] = ts
    ev["ts_local"] = ts
    ev["kind"] = 1
    ev["side"] = np.where(np.arange(len(ts)) % 2, BID, ASK)
    ev["price"] = 5_000_000 + np.arange(len(ts)) * 100
    ev["size"] = 100
    ev["order_id"] = np.arange(len(ts)) + 1
    return ev


TS = [1_000, 1_000, 51_000, 51_000, 51_000, 71_000, 1_001_000]


@pytest.mark.parametrize("speed", [1.0, 10.0, float("inf")])
def test_lobster_replay_simulated_clock_chunks_and_times(speed):
    ev = _events(TS)
    clock = SimulatedClock(start_ns=500)
    chunks = list(LobsterReplayFeed(ev, speed=speed, clock=clock))
    # one chunk per distinct timestamp, in order, views covering every event exactly once
    assert [len(c.events) for c in chunks] == [2, 3, 1, 1]
    assert np.array_equal(np.concatenate([c.events for c in chunks]), ev)
    for c in chunks:
        assert (c.events["ts"] == c.events["ts"][0]).all()
    nows = [now for now, _ in chunks]   # unpacks as (now_ns, events)
    expect = {1.0: [500, 50_500, 70_500, 1_000_500],
              10.0: [500, 5_500, 7_500, 100_500],
              float("inf"): [500, 500, 500, 500]}[speed]
    assert nows == expect
    assert clock.now_ns() == expect[-1]


def test_lobster_replay_async_equals_sync_and_max_chunk():
    ev = _events(TS)
    sync = [(n, e.copy()) for n, e in LobsterReplayFeed(ev, speed=10.0, clock=SimulatedClock(), max_chunk=2)]
    assert [len(e) for _, e in sync] == [2, 2, 1, 1, 1]   # the 3-event timestamp is split 2 + 1

    async def collect():
        return [(n, e.copy()) async for n, e in LobsterReplayFeed(ev, speed=10.0, clock=SimulatedClock(), max_chunk=2)]

    asy = run(collect(), 10)
    assert [n for n, _ in asy] == [n for n, _ in sync] == [0, 5_000, 5_000, 7_000, 100_000]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(asy, sync))


def test_lobster_replay_wall_clock_never_releases_early():
    ev = _events([0, 2_000_000, 4_000_000])      # 4 ms of exchange time at 2x -> >= 2 ms of wall time
    clock = WallClock()
    t0 = clock.now_ns()
    nows = [n for n, _ in LobsterReplayFeed(ev, speed=2.0, clock=clock)]
    assert all(n >= t0 + off for n, off in zip(nows, [0, 1_000_000, 2_000_000]))
    assert nows == sorted(nows)


def test_lobster_replay_rejects_bad_input():
    with pytest.raises(ValueError, match="time order"):
        LobsterReplayFeed(_events([5, 3]), clock=SimulatedClock())
    with pytest.raises(ValueError, match="speed"):
        LobsterReplayFeed(_events([1]), speed=0.0)
    with pytest.raises(TypeError):
        LobsterReplayFeed(np.zeros(3), speed=1.0)
    assert list(LobsterReplayFeed(_events([]), clock=SimulatedClock())) == []


def test_lobster_replay_real_sample_at_10x(shared_data):
    from companion.io.lobster import read_lobster

    msg = shared_data / "lobster" / "GOOG_2012-06-21_34200000_57600000_message_1.csv"
    if not msg.exists():
        pytest.skip("GOOG level-1 sample absent")
    ev = read_lobster(msg).events
    clock = SimulatedClock(start_ns=7)
    chunks = list(LobsterReplayFeed(ev, speed=10.0, clock=clock))
    got = np.concatenate([c.events for c in chunks])
    assert np.array_equal(got, ev)
    assert len(chunks) == len(np.unique(ev["ts"]))
    first_ts = np.array([c.events["ts"][0] for c in chunks])
    nows = np.array([c.now_ns for c in chunks])
    assert np.array_equal(nows, 7 + np.round((first_ts - ev["ts"][0]) / 10.0).astype(np.int64))
    # simulated session length is a tenth of the exchange session
    assert nows[-1] - nows[0] == round((ev["ts"][-1] - ev["ts"][0]) / 10)


# ============================================================================ Binance: helpers
def _recording(shared_data: Path, market: str) -> Path:
    p = shared_data / "crypto" / "hftbacktest" / market / "btcusdt_20240808.gz"
    if not p.exists():
        pytest.skip(f"{p} absent")
    return p


def _head(path: Path, n_lines: int, tmp_path: Path) -> Path:
    """The first ``n_lines`` lines of a recording, in a temporary file (the span a replay sent)."""
    out = tmp_path / f"head_{path.parent.name}.txt"
    with gzip.open(path, "rt", encoding="utf-8") as fh, open(out, "w", encoding="utf-8") as g:
        for i, line in enumerate(fh):
            if i >= n_lines:
                break
            g.write(line)
    return out


def _join(chunks: list[FeedChunk]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate chunks; diff ``start``/``stop`` become indices into the joined events."""
    evs, tks, dfs, off = [], [], [], 0
    for c in chunks:
        d = c.diffs.copy()
        d["start"] += off
        d["stop"] += off
        evs.append(c.events)
        tks.append(c.tickers)
        dfs.append(d)
        off += len(c.events)
    return (np.concatenate(evs) if evs else np.zeros(0, EVENT_DTYPE),
            np.concatenate(tks), np.concatenate(dfs) if dfs else np.zeros(0, DIFF_DTYPE))


async def _session(srv_kwargs: dict, feed_kwargs: dict, path: Path, consume=None):
    """Run one replay server + feed session; returns (chunks, feed, server, error raised or None)."""
    chunks: list[FeedChunk] = []
    err = None
    async with ReplayServer(path, **srv_kwargs) as srv:
        feed = BinanceWebSocketFeed(srv.ws_url, srv.symbol, http_snapshot(srv.snapshot_url),
                                    market=srv.market, **feed_kwargs)
        async with feed:
            try:
                async for chunk in feed:
                    chunks.append(chunk)
                    if consume is not None:
                        consume(chunk, feed, srv)
            except (StaleFeed, FeedClosed) as exc:
                err = exc
                err.server_sent = srv.sent
    return chunks, feed, srv, err


BOOK_COLS = ("ts", "kind", "side", "price", "size", "order_id")


# ============================================================================ Binance: real protocol, real data
@pytest.mark.parametrize("market, n_messages", [("usdm", 30_000), ("spot", 20_000)])
def test_binance_feed_equals_read_binance_over_the_wire(shared_data, tmp_path, market, n_messages):
    path = _recording(shared_data, market)
    chunks, feed, srv, err = run(_session({"max_messages": n_messages}, {"stale_after": 10.0}, path))
    assert err is None
    assert srv.sent == n_messages and srv.snapshots_served == {"recorded": 1, "built": 0}
    ref = read_binance(_head(path, srv.lines, tmp_path))
    ev, tk, diffs = _join(chunks)

    # the same events: the book stream (CLEAR/LEVEL_SET) and the trade stream, each in order.
    # Their interleaving around the snapshot may differ: the REST answer races the websocket.
    assert len(ev) == len(ref.events)
    for kinds in ((CLEAR, LEVEL_SET), (TRADE,)):
        a = ev[np.isin(ev["kind"], kinds)]
        b = ref.events[np.isin(ref.events["kind"], kinds)]
        assert len(a) == len(b) > 0
        for col in BOOK_COLS:
            same = a[col] == b[col]
            if col == "ts" and market == "spot":
                # a spot snapshot carries no exchange time: its ts is the latest one seen before it,
                # which depends on when the REST answer arrived
                same |= b["order_id"] == ref.events["order_id"][ref.events["kind"] == CLEAR][0]
            assert same.all(), (col, int(np.argmin(same)))
    assert (np.diff(ev["ts_local"]) >= 0).all()
    assert feed.stats["gaps"] == 0 and feed.stats["resyncs"] == 0 and feed.stats["snapshots"] == 1
    assert feed.stats["diffs_stale"] == ref.diffs_stale
    assert feed.instrument.price_scale == ref.instrument.price_scale

    # the applied diffs and the tickers are the recording's
    assert np.array_equal(diffs[["U", "u", "pu", "ts"]], ref.diffs[["U", "u", "pu", "ts"]])
    assert np.array_equal(tk[["u", "bid_px", "bid_qty", "ask_px", "ask_qty", "ts"]],
                          ref.tickers[["u", "bid_px", "bid_qty", "ask_px", "ask_qty", "ts"]])
    # best quotes rebuilt from the live events match every bookTicker at an equal update id
    best = top_of_book_reference(ev, diff_end_index(diffs))
    compared, matched = compare_tickers(best, diffs["u"], tk)
    ref_best = top_of_book_reference(ref.events, diff_end_index(ref.diffs))
    assert compared == compare_tickers(ref_best, ref.diffs["u"], ref.tickers)[0] > 50
    assert matched == compared


def _segments(ev: np.ndarray, diffs: np.ndarray) -> list[np.ndarray]:
    """Applied diffs split at every CLEAR (gap or snapshot)."""
    clears = np.flatnonzero(ev["kind"] == CLEAR)
    seg = np.searchsorted(clears, diffs["start"], side="right")
    return [diffs[seg == s] for s in np.unique(seg)]


def _chained(market: str, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Binance's continuity rule between consecutive applied diffs."""
    return nxt["pu"] == prev["u"] if market == "usdm" else nxt["U"] == prev["u"] + 1


@pytest.mark.parametrize("market", ["usdm", "spot"])
def test_binance_gap_triggers_resync_and_no_diff_crosses_it(shared_data, tmp_path, market):
    path = _recording(shared_data, market)
    n = 15_000
    ref = read_binance(_head(path, n + 1, tmp_path))
    victim = ref.diffs[300]                  # an applied diff, well after the snapshot
    chunks, feed, srv, err = run(_session({"max_messages": n, "drop_lines": {int(victim["line"])}},
                                          {"stale_after": 10.0}, path))
    assert err is None and srv.dropped == 1
    ev, tk, diffs = _join(chunks)
    st = feed.stats
    assert st["gaps"] == 1 and st["resyncs"] == 1 and st["snapshots"] == 2
    assert srv.snapshots_served == {"recorded": 1, "built": 1}
    assert victim["u"] not in diffs["u"]
    # the diff after the missing one (whose pu names it) is never applied on the old book
    assert _chained(market, victim, ref.diffs[301])
    gap_clear = np.flatnonzero((ev["kind"] == CLEAR) & (ev["order_id"] == 0))
    assert len(gap_clear) == 1
    before = diffs[diffs["start"] < gap_clear[0]]
    assert np.array_equal(before["u"], ref.diffs["u"][:300])
    # within every synced segment the chain is unbroken (futures pu == previous u, spot U == u + 1)
    segs = _segments(ev, diffs)
    assert len(segs) == 2
    for s in segs:
        assert len(s) > 10
        assert _chained(market, s[:-1], s[1:]).all()
    # the resync anchored on the server-built snapshot: its first diff straddles lastUpdateId
    snap_clear = np.flatnonzero((ev["kind"] == CLEAR) & (ev["order_id"] > 0))
    assert len(snap_clear) == 2
    last_id = ev["order_id"][snap_clear[1]]
    first = segs[1][0]
    anchor = last_id if market == "usdm" else last_id + 1
    assert first["U"] <= anchor <= first["u"]
    # the resynced book (server-built snapshot + diffs) still matches the bookTickers, before and after
    best = top_of_book_reference(ev, diff_end_index(diffs))
    after = diffs["start"] > gap_clear[0]
    c1, m1 = compare_tickers(best[~after], diffs["u"][~after], tk)
    c2, m2 = compare_tickers(best[after], diffs["u"][after], tk)
    assert c1 > 10 and c2 > 10 and (m1, m2) == (c1, c2)


def test_binance_paused_server_trips_stale_feed(shared_data):
    path = _recording(shared_data, "usdm")
    seen: list[StaleFeed] = []
    chunks, feed, srv, err = run(_session(
        {"max_messages": 3_000, "pause_after": 1_000, "pause_s": 5.0},
        {"stale_after": 1.0, "on_stale": seen.append}, path), 30)
    assert isinstance(err, StaleFeed)
    assert err.server_sent == 1_000          # tripped while the server was still paused
    assert err.silent_s >= 1.0 and err.stale_after == 1.0
    assert seen == [err] and feed.stale.is_set() and feed.stats["stale_trips"] == 1
    assert sum(len(c.events) for c in chunks) > 0


def test_binance_stale_flag_only_mode_clears_when_data_resumes(shared_data):
    path = _recording(shared_data, "usdm")
    seen: list[StaleFeed] = []
    flags: list[bool] = []

    def consume(chunk, feed, srv):
        flags.append(feed.stale.is_set())

    chunks, feed, srv, err = run(_session(
        {"max_messages": 2_000, "pause_after": 1_000, "pause_s": 2.5},
        {"stale_after": 0.5, "on_stale": seen.append, "raise_on_stale": False}, path, consume), 30)
    assert err is None and srv.sent == 2_000
    assert len(seen) == 1 and feed.stats["stale_trips"] == 1
    assert not feed.stale.is_set()           # cleared by the first message after the pause
    assert feed.stats["messages"] == 2_001   # every message (+ the snapshot) still decoded


def test_replay_server_protocol_subscribe_and_rest(shared_data):
    """SUBSCRIBE handshake, stream filter, REST errors, and one session per server."""
    from websockets.asyncio.client import connect

    path = _recording(shared_data, "usdm")

    async def go():
        async with ReplayServer(path, max_messages=50, snapshot_wait_s=0.0) as srv:
            with pytest.raises(ConnectionError, match="400"):
                await http_get(srv.snapshot_url.replace("BTCUSDT", "ETHUSDT"), 5)
            with pytest.raises(ConnectionError, match="404"):
                await http_get(f"http://127.0.0.1:{srv.port}/nope", 5)
            async with connect(f"{srv.ws_url}/stream") as ws:
                await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 7}))
                ack = json.loads(await ws.recv())
                assert ack == {"result": None, "id": 7}
                async with connect(f"{srv.ws_url}/stream?streams=btcusdt@trade") as ws2:
                    await ws2.wait_closed()
                    assert ws2.close_code == 1013
                msgs = [json.loads(m) async for m in ws]
            assert ws.close_code == 1000
            assert len(msgs) == 50 and {m["stream"] for m in msgs} == {"btcusdt@trade"}
            assert all(m["data"]["e"] == "trade" for m in msgs)
            assert srv.skipped > 0
            # the replay is over: a snapshot is still served, built from the server's book
            snap = json.loads(await http_get(srv.snapshot_url, 5))
            assert set(snap) >= {"lastUpdateId", "bids", "asks", "E"}
            assert len(snap["bids"]) == 1000
            bids = [float(p) for p, _ in snap["bids"]]
            assert bids == sorted(bids, reverse=True) and max(bids) < min(float(p) for p, _ in snap["asks"])

    run(go(), 30)


# ============================================================================ decoder unit tests
def _env(stream: str, data: dict) -> str:
    return json.dumps({"stream": stream, "data": data})


def test_decoder_fixed_price_scale_and_chunk_relative_diffs():
    d = BinanceStreamDecoder("btcusdt", "usdm")
    assert d.price_scale == 10 and d.instrument.tick == 1
    diff = {"e": "depthUpdate", "E": 1, "T": 1, "s": "BTCUSDT", "U": 5, "u": 7, "pu": 4,
            "b": [["100.10", "1.5"]], "a": [["100.20", "0"]]}
    d.feed(10, _env("btcusdt@depth@0ms", diff))            # buffered: no snapshot yet
    assert d.waiting_for_snapshot and len(d.drain()[0]) == 0
    d.feed(20, json.dumps({"lastUpdateId": 6, "E": 2, "T": 2, "bids": [["100.00", "2"]], "asks": []}),
           snapshot=True)  # only the REST reply is a snapshot (issue 17 item 7)
    ev, tk, diffs = d.drain()
    assert d.synced
    assert ev["kind"].tolist() == [CLEAR, LEVEL_SET, LEVEL_SET, LEVEL_SET]
    assert ev["price"].tolist() == [0, 1000, 1001, 1002]
    assert ev["ts_local"].tolist() == [20, 20, 20, 20]       # buffered diff raised to the snapshot's
    assert diffs["start"].tolist() == [2] and diffs["stop"].tolist() == [4]
    d.feed(30, _env("btcusdt@depth@0ms", {**diff, "U": 8, "u": 9, "pu": 7, "b": [], "a": [["100.30", "1"]]}))
    ev, _, diffs = d.drain()
    assert diffs["start"].tolist() == [0] and ev["price"].tolist() == [1003]   # relative to the new chunk
    # a price finer than the fixed scale is refused
    d.feed(40, _env("btcusdt@depth@0ms", {**diff, "U": 10, "u": 11, "pu": 9, "b": [["100.15", "1"]], "a": []}))
    with pytest.raises(Exception, match="more decimals"):
        d.drain()
    with pytest.raises(ValueError):
        BinanceStreamDecoder("FOOUSDT", "usdm")             # unknown tick and no price_scale


def test_binance_snapshot_failure_ends_the_feed(shared_data):
    path = _recording(shared_data, "usdm")

    async def broken():
        raise ConnectionError("REST down")

    async def go():
        async with ReplayServer(path, max_messages=500, snapshot_wait_s=0.0, pause_after=100, pause_s=10.0) as srv:
            async with BinanceWebSocketFeed(srv.ws_url, srv.symbol, broken, market=srv.market,
                                            snapshot_attempts=2, snapshot_retry_s=0.01) as feed:
                with pytest.raises(FeedClosed, match="no depth snapshot after 2 attempts"):
                    async for _now_ns, events in feed:
                        assert not (events["kind"] == LEVEL_SET).any()   # nothing synced without a snapshot
                assert not feed.synced and feed.stats["snapshots"] == 0

    run(go(), 30)
