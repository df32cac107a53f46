"""``python -m companion record --ws URL --snapshot URL --out DIR``: record a Binance-style feed.

Writes the layout of the shared Binance recordings (``../shared/data/crypto/hftbacktest``): gzip
text files ``DIR/<symbol>_<YYYYMMDD>.gz``, one line per received message ``<local receive ns>
<raw JSON>`` (the websocket text exactly as received), plus the REST depth snapshot as a line of its
own (``{"lastUpdateId": ..., "bids": ..., "asks": ...}``) right after connecting. Files rotate at
UTC midnight of the local clock: the new file carries no snapshot and continues the previous
file's update ids (the stream is not interrupted). When the connection drops, the recorder
reconnects (up to ``--retries`` attempts, ``--retry-delay`` apart) and records a fresh snapshot,
so the file can be resynced there.

``--max-messages`` / ``--max-seconds`` bound a session (for tests and quick looks).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import gzip
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


def register(subparsers) -> None:
    p = subparsers.add_parser("record", help="record a Binance-style websocket feed to daily gzip files",
                              description=__doc__.splitlines()[0])
    p.add_argument("--ws", required=True, help="websocket URL with ?streams=a/b/c (combined streams)")
    p.add_argument("--snapshot", default=None, help="REST depth snapshot URL (recorded after each connect)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--symbol", default=None, help="file-name symbol (default: from the first stream name)")
    p.add_argument("--max-messages", type=int, default=None, help="stop after this many messages")
    p.add_argument("--max-seconds", type=float, default=None, help="stop after this much wall time")
    p.add_argument("--retries", type=int, default=5, help="reconnect attempts after a drop (default 5)")
    p.add_argument("--retry-delay", type=float, default=1.0, help="seconds between reconnect attempts")
    p.set_defaults(handler=run)


class Recorder:
    """Write ``<ns> <json>`` lines into daily gzip files, rotating at UTC midnight of ``clock()``."""

    def __init__(self, out_dir: str | Path, symbol: str, clock=time.time_ns) -> None:
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.symbol = symbol.lower()
        self.clock = clock
        self.day: str | None = None
        self.fh = None
        self.files: list[Path] = []
        self.lines = 0
        self.snapshots = 0

    def write(self, raw: str, ts: int | None = None) -> None:
        ts = self.clock() if ts is None else ts
        day = _dt.datetime.fromtimestamp(ts // 10**9, tz=_dt.UTC).strftime("%Y%m%d")
        if day != self.day:
            self.close()
            path = self.out / f"{self.symbol}_{day}.gz"
            self.fh = gzip.open(path, "at", encoding="utf-8")  # noqa: SIM115 - open across writes
            self.files.append(path)
            self.day = day
        self.fh.write(f"{ts} {raw}\n")
        self.lines += 1

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def _symbol(url: str) -> str:
    streams = parse_qs(urlsplit(url).query).get("streams", [""])[0]
    s = streams.split("/")[0].split("@")[0]
    if not s:
        raise ValueError(f"--ws {url!r} names no stream (expected ...?streams=btcusdt@depth/...); pass --symbol")
    return s


async def record(ws_url: str, out_dir: str | Path, *, snapshot_url: str | None = None, symbol: str | None = None,
                 max_messages: int | None = None, max_seconds: float | None = None, retries: int = 5,
                 retry_delay: float = 1.0, clock=time.time_ns) -> dict:
    """Record until the limits, or until the connection drops and ``retries`` reconnects fail.

    Returns counts: ``messages``, ``snapshots``, ``connections``, ``files``.
    """
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from companion.live.feeds import http_get

    rec = Recorder(out_dir, symbol or _symbol(ws_url), clock)
    messages = connections = 0
    t_end = None if max_seconds is None else time.monotonic() + max_seconds
    failures = 0
    try:
        while True:
            try:
                ws = await connect(ws_url, open_timeout=10, max_size=2**24, compression=None)
            except (OSError, TimeoutError):
                failures += 1
                if failures > retries:
                    break
                await asyncio.sleep(retry_delay)
                continue
            connections += 1
            failures = 0
            snap = asyncio.ensure_future(http_get(snapshot_url)) if snapshot_url else None
            stop = False
            try:
                async with ws:
                    while not stop:
                        timeout = None if t_end is None else max(t_end - time.monotonic(), 0.0)
                        if snap is not None:
                            timeout = 0.05 if timeout is None else min(timeout, 0.05)
                        try:
                            async with asyncio.timeout(timeout):
                                raw = await ws.recv()
                        except TimeoutError:
                            raw = None
                            stop = t_end is not None and time.monotonic() >= t_end
                        if snap is not None and snap.done():  # the snapshot as soon as it has arrived
                            rec.write(snap.result().decode("utf-8").strip())
                            rec.snapshots += 1
                            snap = None
                        if raw is None:
                            continue
                        rec.write(raw if isinstance(raw, str) else raw.decode("utf-8"))
                        messages += 1
                        stop = max_messages is not None and messages >= max_messages
            except ConnectionClosed:
                pass
            finally:
                if snap is not None:
                    try:  # a snapshot still in flight when the stream ended: record it if it comes
                        rec.write((await asyncio.wait_for(snap, 5.0)).decode("utf-8").strip())
                        rec.snapshots += 1
                    except Exception:  # noqa: BLE001, S110 - the drop is already being handled
                        pass
            if stop:
                break
            failures = 1
            if failures > retries:
                break
            await asyncio.sleep(retry_delay)
    finally:
        rec.close()
    return _done(rec, messages, connections)


def _done(rec: Recorder, messages: int, connections: int) -> dict:
    rec.close()
    return {"messages": messages, "snapshots": rec.snapshots, "connections": connections,
            "files": [str(p) for p in rec.files], "lines": rec.lines}


def run(args: argparse.Namespace) -> int:
    from companion.cli import print_json_last

    r = asyncio.run(record(args.ws, args.out, snapshot_url=args.snapshot, symbol=args.symbol,
                           max_messages=args.max_messages, max_seconds=args.max_seconds, retries=args.retries,
                           retry_delay=args.retry_delay))
    print(f"{r['messages']} messages, {r['snapshots']} snapshots, {r['connections']} connections -> "
          + ", ".join(r["files"]))
    print_json_last(r)
    return 0 if r["messages"] else 1
