"""record: against the loopback replay server, the recorded files reproduce the served stream;
rotation at UTC midnight continues update ids; a dropped connection resumes with a fresh snapshot."""
from __future__ import annotations

import asyncio
import gzip
import json

import pytest

pytest.importorskip("websockets")

from companion.commands.record import Recorder, record
from companion.live.replay_server import ReplayServer

STREAMS = "btcusdt@depth@100ms/btcusdt@trade/btcusdt@bookTicker"


@pytest.fixture(scope="module")
def source(shared_data):
    p = shared_data / "crypto" / "hftbacktest" / "spot" / "btcusdt_20240808.gz"
    if not p.exists():
        pytest.skip("spot recording absent")
    with gzip.open(p, "rt") as fh:
        lines = [next(fh).rstrip("\n").split(" ", 1)[1] for _ in range(4000)]
    return p, lines


def _read(files):
    out = []
    for f in files:
        with gzip.open(f, "rt") as fh:
            out += [ln.rstrip("\n").split(" ", 1) for ln in fh]
    return out


def _served(lines, n):
    """The first n messages the server sends (the snapshot line is served over REST)."""
    return [ln for ln in lines if not ln.startswith('{"lastUpdateId"')][:n]


def test_recording_reproduces_the_served_stream(source, tmp_path):
    path, lines = source

    async def go():
        async with ReplayServer(path, max_messages=1500) as srv:
            return await record(f"{srv.ws_url}/stream?streams={STREAMS}", tmp_path, snapshot_url=srv.snapshot_url,
                                max_messages=1500, retries=0)

    r = asyncio.run(go())
    got = _read([tmp_path / f for f in sorted(p.name for p in tmp_path.glob("*.gz"))])
    assert r["messages"] == 1500 and r["snapshots"] == 1 and r["connections"] == 1
    raws = [g[1] for g in got]
    snaps = [x for x in raws if x.startswith('{"lastUpdateId"')]
    assert snaps == [ln for ln in lines if ln.startswith('{"lastUpdateId"')]    # the recorded snapshot, verbatim
    assert [x for x in raws if not x.startswith('{"lastUpdateId"')] == _served(lines, 1500)
    ts = [int(g[0]) for g in got]
    assert ts == sorted(ts)
    # the recording reads back with the project's Binance reader
    from companion.io.binance import read_binance

    d = read_binance(r["files"][0])
    assert len(d.events) > 1000


def test_rotation_at_utc_midnight_continues_update_ids(source, tmp_path):
    path, lines = source
    t = [1723161599_000_000_000]   # 2024-08-08 23:59:59 UTC

    def clock():
        t[0] += 1_000_000           # 1 ms per message: midnight after 1000 messages
        return t[0]

    async def go():
        async with ReplayServer(path, max_messages=2500) as srv:
            return await record(f"{srv.ws_url}/stream?streams={STREAMS}", tmp_path, snapshot_url=srv.snapshot_url,
                                max_messages=2500, retries=0, clock=clock)

    r = asyncio.run(go())
    assert [p.rsplit("/", 1)[1] for p in r["files"]] == ["btcusdt_20240808.gz", "btcusdt_20240809.gz"]
    first, second = _read([r["files"][0]]), _read([r["files"][1]])
    assert not any(x[1].startswith('{"lastUpdateId"') for x in second)        # no snapshot in the new file
    assert [x[1] for x in first + second if not x[1].startswith('{"lastUpdateId"')] == _served(lines, 2500)
    diffs1 = [json.loads(x[1])["data"] for x in first if "depthUpdate" in x[1]]
    diffs2 = [json.loads(x[1])["data"] for x in second if "depthUpdate" in x[1]]
    assert diffs2[0]["U"] == diffs1[-1]["u"] + 1                               # ids continue across files


def test_dropped_connection_resumes_with_a_fresh_snapshot(source, tmp_path):
    path, lines = source

    async def go():
        a = await ReplayServer(path, max_messages=400).start()
        port = a.port
        task = asyncio.ensure_future(record(f"{a.ws_url}/stream?streams={STREAMS}", tmp_path,
                                            snapshot_url=a.snapshot_url, max_messages=700, retries=20,
                                            retry_delay=0.3))
        await a.finished.wait()
        await a.close()                      # the venue drops us after 400 messages
        b = await ReplayServer(path, max_messages=300, port=port).start()
        try:
            return await asyncio.wait_for(task, 60)
        finally:
            await b.close()

    r = asyncio.run(go())
    raws = [x[1] for x in _read(r["files"])]
    snap_at = [i for i, x in enumerate(raws) if x.startswith('{"lastUpdateId"')]
    assert r["connections"] == 2 and r["snapshots"] == 2 and len(snap_at) == 2
    assert r["messages"] == 700
    msgs = [x for x in raws if not x.startswith('{"lastUpdateId"')]
    assert msgs[:400] == _served(lines, 400) and msgs[400:] == _served(lines, 300)
    # the fresh snapshot is recorded within the second connection (it races the stream, as on the
    # real venue: the REST answer travels on its own connection)
    assert sum(1 for x in raws[:snap_at[1]] if not x.startswith('{"lastUpdateId"')) >= 400
    assert raws[snap_at[0]] == raws[snap_at[1]]    # the replay server serves the recorded snapshot again


def test_recorder_layout(tmp_path):
    rec = Recorder(tmp_path, "ETHUSDT", clock=lambda: 86_400 * 10**9 - 1)
    rec.write('{"a":1}')
    rec.write('{"b":2}', ts=86_400 * 10**9)
    rec.close()
    assert [p.name for p in rec.files] == ["ethusdt_19700101.gz", "ethusdt_19700102.gz"]
    with gzip.open(rec.files[0], "rt") as fh:
        assert fh.read() == '86399999999999 {"a":1}\n'
