"""The live executor on the asynchronous Binance websocket feed, end to end over loopback.

A :class:`companion.live.replay_server.ReplayServer` replays a real Binance recording (the real
protocol: combined-stream text frames over a 127.0.0.1 websocket, the REST snapshot over HTTP), a
:class:`companion.live.feeds.BinanceWebSocketFeed` decodes it, and :meth:`LiveExecutor.arun` trades
it on the paper venue. Answer keys: the batch book (:func:`companion.book.replay`) of the same events
and the recording's own bookTicker stream. Every session runs under a hard timeout.
"""
from __future__ import annotations

import asyncio
import gzip
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from companion.book import replay
from companion.events import CLEAR, TRADE
from companion.io.binance import compare_tickers, diff_end_index
from companion.live.config import LiveConfig
from companion.live.executor import LiveExecutor
from companion.live.feeds import BinanceWebSocketFeed, http_snapshot
from companion.live.replay_server import ReplayServer

HARD_TIMEOUT = 60.0
LEVELS = 10


def _recording(shared_data: Path, market: str) -> Path:
    p = shared_data / "crypto" / "hftbacktest" / market / "btcusdt_20240808.gz"
    if not p.exists():
        pytest.skip(f"{p} absent")
    return p


def _config(**kw) -> LiveConfig:
    d = {"kill_switch": {"file": None}, "risk": {"max_loss": None},
         "execution": {"size": 0.01, "max_position": 0.05}}
    d.update(kw)
    return LiveConfig.from_dict(d)


async def _session(path: Path, srv_kwargs: dict, feed_kwargs: dict, journal=None):
    """One server + feed + executor session -> (summary, executor, feed, server, chunks, chunk-end rows)."""
    chunks, rows, tickers = [], [], []
    async with ReplayServer(path, **srv_kwargs) as srv:
        feed = BinanceWebSocketFeed(srv.ws_url, srv.symbol, http_snapshot(srv.snapshot_url), market=srv.market,
                                    **feed_kwargs)
        ex = LiveExecutor(_config(), feed.instrument, levels=LEVELS, journal=journal,
                          on_chunk=lambda e, n: rows.append((n, e.last_book_row)))
        ex.warm_up()  # compile before connecting: a cold numba cache must not stall the event loop

        async def recorded():
            async for chunk in feed:
                tickers.append(chunk.tickers)
                if len(chunk.events):
                    chunks.append(chunk)
                yield chunk

        async with feed:
            summary = await ex.arun(recorded())
    ex.tickers = np.concatenate(tickers) if tickers else None  # the bookTickers received (answer key)
    return summary, ex, feed, srv, chunks, rows


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, HARD_TIMEOUT))


def _check_book(chunks, rows, tk, min_compared: int = 20) -> tuple[int, int]:
    """The executor's book after every chunk == the batch book of the same events; its best quotes
    == every bookTicker ``tk`` at an equal update id (chunks whose book ends on a diff: with
    ``max_chunk=1`` every depth message is one chunk). How many chunks end on a diff depends on how
    the loopback delivers frames (48 seen in 12,000 messages on a fresh clone), hence a modest
    minimum; every compared point must match."""
    ev = np.concatenate([c.events for c in chunks])
    ends = np.array([n for n, _ in rows]) - 1
    live = np.array([r for _, r in rows])
    assert len(rows) == len(chunks)
    assert np.array_equal(live, replay(ev, levels=LEVELS)[ends])
    best, us, off = [], [], 0
    for c, (_n, r) in zip(chunks, rows):
        d = c.diffs
        if len(d):
            e = int(diff_end_index(d[-1:])[0])
            if e >= 0 and (c.events["kind"][e + 1:] == TRADE).all():  # nothing but trades after the last diff
                best.append(r[:4])
                us.append(int(d["u"][-1]))
        off += len(c.events)
    compared, matched = compare_tickers(np.array(best), np.array(us, np.int64), tk)
    assert compared >= min_compared and matched == compared
    return compared, matched


@pytest.mark.parametrize("market", ["usdm", "spot"])
def test_ws_feed_drives_the_executor_and_its_book_matches(shared_data, market):
    path = _recording(shared_data, market)
    # stale_after far above a cold numba compile of the first chunk (the stale-feed test is below)
    s, ex, feed, srv, chunks, rows = run(_session(path, {"max_messages": 20_000},
                                                  {"stale_after": 120.0, "max_chunk": 1}))
    n_ev = sum(len(c.events) for c in chunks)
    assert n_ev > 1_000 and s.events == n_ev and s.chunks == len(chunks)
    assert s.killed is None and not s.stopped_early
    assert feed.stats["gaps"] == 0 and feed.stats["resyncs"] == 0
    assert s.wakeups > 0 and s.latency["tick_to_decision"]["n"] + s.warmup_chunks == len(chunks)
    assert 1 <= s.warmup_chunks <= 2     # the first chunk, and the first through the one-call path
    _check_book(chunks, rows, ex.tickers)


def test_ws_sequence_gap_resyncs_and_the_executor_book_follows(shared_data):
    path = _recording(shared_data, "usdm")
    # drop one depth diff, well after the snapshot (line numbers of the recording)
    lines = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if "depthUpdate" in line:
                lines.append(i)
            if len(lines) > 400 or i > 12_000:
                break
    victim = lines[300]
    s, ex, feed, srv, chunks, rows = run(_session(path, {"max_messages": 12_000, "drop_lines": {victim}},
                                                  {"stale_after": 120.0, "max_chunk": 1}))
    assert srv.dropped == 1
    st = feed.stats
    assert st["gaps"] == 1 and st["resyncs"] == 1 and st["snapshots"] == 2
    ev = np.concatenate([c.events for c in chunks])
    assert ((ev["kind"] == CLEAR) & (ev["order_id"] == 0)).sum() == 1  # the gap's CLEAR reached the executor
    assert s.events == len(ev) and s.killed is None
    _check_book(chunks, rows, ex.tickers)  # before and after the resync


def test_ws_stale_feed_trips_the_kill_switch(shared_data, tmp_path):
    path = _recording(shared_data, "usdm")
    db = tmp_path / "live.db"
    s, ex, feed, srv, chunks, rows = run(_session(
        path, {"max_messages": 3_000, "pause_after": 1_500, "pause_s": 5.0}, {"stale_after": 1.0}, journal=db))
    assert feed.stats["stale_trips"] == 1
    assert s.killed == "STALE_FEED" and s.stopped_early and ex.venue.halted
    assert s.events == sum(len(c.events) for c in chunks) > 0
    con = sqlite3.connect(db)
    kinds = [r[0] for r in con.execute("SELECT kind FROM risk_events")]
    con.close()
    assert "KILL_STALE_FEED" in kinds


def test_cli_ws_json(shared_data, tmp_path):
    """``python -m companion live --ws URL --json`` against a replay server running in this process."""
    import json
    import subprocess
    import sys
    import threading

    path = _recording(shared_data, "usdm")
    started, stop = threading.Event(), None
    box: dict = {}

    def serve():
        async def main():
            nonlocal stop
            stop = asyncio.Event()
            async with ReplayServer(path, max_messages=20_000) as srv:
                box["url"] = srv.ws_url
                started.set()
                await asyncio.wait_for(stop.wait(), HARD_TIMEOUT)

        box["loop"] = asyncio.new_event_loop()
        try:
            box["loop"].run_until_complete(main())
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            box["error"] = exc

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    assert started.wait(HARD_TIMEOUT)
    cfg = tmp_path / "live.yaml"
    cfg.write_text("risk: {max_loss: null}\nkill_switch: {file: null}\nexecution: {size: 0.01, max_position: 0.05}\n")
    try:
        p = subprocess.run([sys.executable, "-m", "companion", "live", "--ws", box["url"], "--market", "usdm",
                            "--symbol", "BTCUSDT", "--max-events", "3000", "--config", str(cfg), "--json"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=HARD_TIMEOUT)
    finally:
        box["loop"].call_soon_threadsafe(stop.set)
        th.join(HARD_TIMEOUT)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["events"] == 3000 and out["killed"] is None
    assert out["latency"]["tick_to_decision"]["n"] > 0
    assert "error" not in box


def test_cli_ws_snapshot_url():
    from companion.commands.live import snapshot_url

    assert snapshot_url("wss://fstream.binance.com", "btcusdt", "usdm") == \
        "https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000"
    assert snapshot_url("wss://stream.binance.com:9443", "BTCUSDT", "spot") == \
        "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000"
    assert snapshot_url("ws://127.0.0.1:8765", "BTCUSDT", "usdm") == \
        "http://127.0.0.1:8765/fapi/v1/depth?symbol=BTCUSDT&limit=1000"
    with pytest.raises(ValueError, match="ws://"):
        snapshot_url("http://x", "BTCUSDT", "usdm")


def test_arun_feed_error_checkpoints_then_raises(tmp_path):
    """A feed that dies mid-session: the events processed so far are checkpointed, the error propagates."""
    from companion import synth
    from companion.live.journal import Journal

    sc = synth.SynthConfig(session=(34200.0, 34200.0 + 120.0))
    d = synth.simulate(seed=3, config=sc)
    ev, inst = synth.to_events(d.messages), synth.instrument(sc)

    async def dying():
        bounds = np.flatnonzero(np.diff(ev["ts"])) + 1
        for a, b in zip(np.r_[0, bounds][:200], np.r_[bounds, len(ev)][:200]):
            yield int(ev["ts"][a]), ev[a:b]
        raise ConnectionError("socket reset")

    ex = LiveExecutor(LiveConfig.from_dict({"kill_switch": {"file": None}, "journal": {"checkpoint_every": 10**9}}),
                      inst, journal=tmp_path / "j.db")
    with pytest.raises(ConnectionError):
        run(ex.arun(dying()))
    n = ex.summary.events
    assert n > 0 and ex.summary.chunks == 200
    ex.journal.close()  # one writer: the journal is locked while the executor holds it
    with Journal(tmp_path / "j.db") as j:
        assert j.recover().checkpoint == n - 1
