"""A loopback Binance look-alike that replays a websocket recording, for testing live feeds offline.

:class:`ReplayServer` listens on ``127.0.0.1`` only (port 0 = an ephemeral port) and speaks the
real protocol on one port:

* websocket ``/stream?streams=a/b/c`` (or ``/stream`` then a ``{"method": "SUBSCRIBE",
  "params": [...], "id": n}`` message, answered ``{"result": null, "id": n}``): the recording's
  messages of the subscribed streams are sent as text frames, verbatim (the combined-stream
  envelope ``{"stream": ..., "data": ...}`` exactly as recorded), paced at ``speed`` x the
  recording's local receive times (``inf``: as fast as the client reads);
* plain HTTP ``GET .../depth?symbol=...&limit=...`` (the REST snapshot, as Binance's
  ``/fapi/v1/depth`` and ``/api/v3/depth``): answered with a depth snapshot JSON. The answer is
  released *at a point of the replay*, like a real REST call racing the stream: a request made
  before the replay reaches the recording's snapshot line gets that line verbatim when it is
  reached (and the replay holds at that line, up to ``snapshot_wait_s``, until the first request
  comes, so a test client always syncs on the recorded snapshot); a later request (a resync) gets
  a snapshot the server builds from its own book, which is the recorded snapshot plus every newer
  diff of the recording (those streamed before the snapshot line too, and the diffs it was told to
  drop: the "exchange" keeps its book, only the client misses the message), with
  ``lastUpdateId`` = the last diff's ``u`` and, on futures, that diff's ``E``/``T``; ``limit``
  levels per side (default 1000). The REST answer travels on its own TCP connection, so, as with
  the real venue, it races the websocket: messages sent just after it may be decoded before it.

Test hooks: ``drop_lines`` (1-based line numbers of the recording whose message is not sent -- a
sequence gap), ``pause_after`` / ``pause_s`` (stop sending for ``pause_s`` seconds after that
many messages, keeping the connection open -- a stale feed). Bounded: the replay stops at the end
of the file, after ``max_messages`` sent, or ``max_seconds`` of wall time, and then closes the
websocket normally (code 1000). One replay session per server: a second websocket client is
refused (close code 1013).

Usage::

    async with ReplayServer(path, speed=float("inf")) as srv:
        feed = BinanceWebSocketFeed(srv.ws_url, "BTCUSDT", http_snapshot(srv.snapshot_url), market=srv.market)
"""
from __future__ import annotations

import asyncio
import gzip
import json
import logging
import math
import time
from collections.abc import Collection
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

__all__ = ["ReplayServer"]

log = logging.getLogger(__name__)

_REST_PATHS = {"usdm": "/fapi/v1/depth", "spot": "/api/v3/depth"}
#: fault injections (``fault=``, after ``fault_after`` messages): a frame that is not JSON, a
#: snapshot-shaped stream frame (``lastUpdateId`` far ahead), a TCP abort without a close frame,
#: a 2 MiB frame (over the feed's default 1 MiB ``max_frame_bytes``)
FAULTS = ("malformed", "snapshot_frame", "abort", "oversized")


class _Book:
    """The server's own depth book: price string -> quantity string per side, plus the last ids."""

    def __init__(self, snap: dict) -> None:
        self.bids = {p: q for p, q in snap["bids"]}
        self.asks = {p: q for p, q in snap["asks"]}
        self.last_id = int(snap["lastUpdateId"])
        self.E = snap.get("E")
        self.T = snap.get("T")

    def apply(self, d: dict) -> None:
        """Apply a depth diff unless the book already holds it (``u <= lastUpdateId``)."""
        if d["u"] <= self.last_id:
            return
        for side, levels in ((self.bids, d["b"]), (self.asks, d["a"])):
            for p, q in levels:
                if float(q) == 0.0:
                    side.pop(p, None)
                else:
                    side[p] = q
        self.last_id = d["u"]
        self.E = d.get("E", self.E)
        self.T = d.get("T", self.T)

    def snapshot(self, limit: int, futures: bool) -> str:
        bids = sorted(self.bids.items(), key=lambda kv: float(kv[0]), reverse=True)[:limit]
        asks = sorted(self.asks.items(), key=lambda kv: float(kv[0]))[:limit]
        out: dict = {"lastUpdateId": self.last_id}
        if futures and self.E is not None:
            out["E"] = self.E
            out["T"] = self.T if self.T is not None else self.E
        out["bids"] = [list(kv) for kv in bids]
        out["asks"] = [list(kv) for kv in asks]
        return json.dumps(out, separators=(",", ":"))


class ReplayServer:
    """Replay a ``<local ns> <json>`` Binance recording over a loopback websocket (see the module doc).

    Parameters
    ----------
    path: the recording (``.gz`` or plain text).
    speed: pace relative to the recording's local receive times; ``float("inf")`` = no pacing.
    max_messages: stop after sending this many websocket messages (None: the whole file).
    max_seconds: stop after this much wall time of replay.
    drop_lines: 1-based line numbers whose message is not sent (gap injection).
    pause_after, pause_s: after ``pause_after`` messages sent, send nothing for ``pause_s`` s.
    subscribe_timeout: seconds to wait for a SUBSCRIBE when the URL names no streams.
    snapshot_wait_s: at the recorded snapshot line the replay waits (at most this long) for the
        client's first snapshot request, so that request gets the recorded snapshot at its recorded
        place in the stream (deterministic tests); after the wait it goes on without.
    port: 0 for an ephemeral port. The host is always ``127.0.0.1``.

    Counters after (or during) the replay: ``sent``, ``dropped``, ``skipped`` (not subscribed),
    ``snapshots_served`` (``recorded`` / ``built``), ``lines``, ``finished`` (an
    :class:`asyncio.Event`).
    """

    host = "127.0.0.1"

    def __init__(self, path: str | Path, *, speed: float = float("inf"), max_messages: int | None = None,
                 max_seconds: float = 120.0, drop_lines: Collection[int] = (), pause_after: int | None = None,
                 pause_s: float = 0.0, subscribe_timeout: float = 5.0, snapshot_wait_s: float = 5.0,
                 port: int = 0, fault: str | None = None, fault_after: int = 0, rest_errors: int = 0) -> None:
        if fault not in (None, *FAULTS):
            raise ValueError(f"fault must be one of {FAULTS}, got {fault!r}")
        self.fault, self.fault_after, self.rest_errors = fault, int(fault_after), int(rest_errors)
        self.faults_injected = 0
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such recording")
        if not (speed > 0):
            raise ValueError("speed must be > 0")
        self.speed = float(speed)
        self.max_messages = max_messages
        self.max_seconds = float(max_seconds)
        self.drop_lines = frozenset(int(x) for x in drop_lines)
        self.pause_after = pause_after
        self.pause_s = float(pause_s)
        self.subscribe_timeout = float(subscribe_timeout)
        self.port = int(port)
        self.market, self.symbol = self._peek()
        self.sent = self.dropped = self.skipped = self.lines = 0
        self.snapshots_served = {"recorded": 0, "built": 0}
        self.snapshot_wait_s = float(snapshot_wait_s)
        self.finished = asyncio.Event()
        self._requested = asyncio.Event()
        self._stop = asyncio.Event()
        self._server = None
        self._busy = False
        self._pending: list[tuple[asyncio.Future, int]] = []
        self._book: _Book | None = None
        self._early: list[dict] = []
        self._snapshot_line: str | None = None
        self._done = False

    # ---------------------------------------------------------------- setup
    def _peek(self) -> tuple[str, str]:
        """(market, symbol) from the first depth diff of the recording (``pu`` -> usdm)."""
        opener = gzip.open if self.path.suffix == ".gz" else open
        with opener(self.path, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i > 10_000:
                    break
                if "depthUpdate" in line:
                    d = json.loads(line.split(" ", 1)[1])
                    d = d.get("data", d)
                    return ("usdm" if "pu" in d else "spot"), d["s"]
        raise ValueError(f"{self.path}: no depthUpdate in the first 10000 lines")

    async def start(self) -> ReplayServer:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handler, self.host, self.port, process_request=self._process_request,
                                   open_timeout=None, compression=None, max_size=2**20)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aenter__(self) -> ReplayServer:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the replay (interrupting a pause), answer waiting snapshot requests, close every socket."""
        self._stop.set()
        self._done = True
        self._release_pending(final=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def ws_url(self) -> str:
        """Websocket base URL (the client appends ``/stream?streams=...``)."""
        return f"ws://{self.host}:{self.port}"

    @property
    def snapshot_url(self) -> str:
        """REST depth snapshot URL for the recording's symbol."""
        return f"http://{self.host}:{self.port}{_REST_PATHS[self.market]}?symbol={self.symbol}&limit=1000"

    # ---------------------------------------------------------------- REST snapshot
    async def _process_request(self, connection, request):
        u = urlsplit(request.path)
        if u.path.endswith("/depth"):
            qs = parse_qs(u.query)
            sym = qs.get("symbol", [""])[0].upper()
            if sym != self.symbol:
                return connection.respond(HTTPStatus.BAD_REQUEST, json.dumps({"code": -1121, "msg": "Invalid symbol."}))
            limit = int(qs.get("limit", ["1000"])[0])
            if self.rest_errors > 0:  # an error body with HTTP 200, as a rate-limited venue may send
                self.rest_errors -= 1
                resp = connection.respond(HTTPStatus.OK, json.dumps({"code": -1003, "msg": "Too many requests."}))
                resp.headers["Content-Type"] = "application/json"
                return resp
            fut = asyncio.get_running_loop().create_future()
            self._pending.append((fut, limit))
            self._requested.set()
            if self._done:
                self._release_pending(final=True)
            body = await fut
            if body is None:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "replay finished\n")
            resp = connection.respond(HTTPStatus.OK, body)
            resp.headers["Content-Type"] = "application/json"
            return resp
        if u.path.rstrip("/") != "/stream":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        return None  # websocket handshake

    def _release_pending(self, final: bool = False) -> None:
        """Answer waiting snapshot requests from the server's book (None = 503 when there is none)."""
        if not self._pending:
            return
        if self._book is None and not final:
            return  # not at the recorded snapshot yet: keep waiting
        pending, self._pending = self._pending, []
        for fut, limit in pending:
            if fut.done():
                continue
            if self._book is None:
                fut.set_result(None)
            else:
                fut.set_result(self._book.snapshot(limit, self.market == "usdm"))
                self.snapshots_served["built"] += 1

    def _at_recorded_snapshot(self, raw: str) -> None:
        snap = json.loads(raw)
        self._book = _Book(snap)
        for d in self._early:  # diffs streamed before the REST snapshot line but newer than it
            self._book.apply(d)
        self._early = []
        pending, self._pending = self._pending, []
        for fut, _ in pending:
            if not fut.done():
                fut.set_result(raw)
                self.snapshots_served["recorded"] += 1

    # ---------------------------------------------------------------- websocket
    async def _handler(self, ws) -> None:
        if self._busy:
            await ws.close(1013, "one replay session per server")
            return
        self._busy = True
        try:
            streams = self._query_streams(ws.request.path)
            if streams is None:
                streams = await self._await_subscribe(ws)
                if streams is None:
                    return
            await self._replay(ws, streams)
        finally:
            self._done = True
            self._release_pending(final=True)
            self.finished.set()

    @staticmethod
    def _query_streams(path: str) -> set[str] | None:
        qs = parse_qs(urlsplit(path).query)
        if "streams" in qs:
            return {s for s in qs["streams"][0].split("/") if s}
        return None

    async def _await_subscribe(self, ws) -> set[str] | None:
        try:
            async with asyncio.timeout(self.subscribe_timeout):
                msg = json.loads(await ws.recv())
        except (TimeoutError, ValueError):
            await ws.close(1008, "expected a SUBSCRIBE message")
            return None
        if msg.get("method") != "SUBSCRIBE" or not isinstance(msg.get("params"), list):
            await ws.close(1008, "expected a SUBSCRIBE message")
            return None
        await ws.send(json.dumps({"result": None, "id": msg.get("id")}))
        return set(msg["params"])

    async def _sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the server is closed meanwhile; True when it was."""
        try:
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        except TimeoutError:
            return False
        return True

    async def _inject(self, ws) -> bool:
        """Send the configured fault; True when the connection is gone (abort)."""
        if self.fault == "malformed":
            await ws.send('{"stream":"' + self.symbol.lower() + '@depth@0ms","data":{"e":"depthUpdate",')
        elif self.fault == "snapshot_frame":
            await ws.send(json.dumps({"lastUpdateId": 10**15, "bids": [], "asks": []}))
        elif self.fault == "oversized":
            await ws.send('{"pad":"' + "x" * (2 * 2**20) + '"}')
        elif self.fault == "abort":
            ws.transport.abort()  # no close frame: the client sees 1006
            return True
        return False

    async def _replay(self, ws, streams: set[str]) -> None:
        from websockets.exceptions import ConnectionClosed

        opener = gzip.open if self.path.suffix == ".gz" else open
        wall0 = time.monotonic()
        t0 = None
        inf = math.isinf(self.speed)
        paused = False
        try:
            with opener(self.path, "rt", encoding="utf-8") as fh:
                for lineno, text in enumerate(fh, 1):
                    self.lines = lineno
                    if self._pending and self._book is not None:
                        self._release_pending()
                    sp = text.find(" ")
                    if sp <= 0:
                        continue
                    raw = text[sp + 1:].rstrip("\r\n")
                    if raw.startswith('{"lastUpdateId"'):
                        if not self._pending:  # hold the stream until the client asks (bounded)
                            try:
                                async with asyncio.timeout(self.snapshot_wait_s):
                                    await self._requested.wait()
                            except TimeoutError:
                                pass
                        self._at_recorded_snapshot(raw)
                        continue
                    stream = None
                    if raw.startswith('{"stream":"'):
                        stream = raw[11:raw.find('"', 11)]
                        if stream not in streams:
                            self.skipped += 1
                            continue
                    if "depthUpdate" in raw[:80]:
                        d = json.loads(raw)
                        d = d.get("data", d)
                        if self._book is not None:
                            self._book.apply(d)
                        else:
                            self._early.append(d)  # newer than the snapshot that comes later? see below
                    if lineno in self.drop_lines:
                        self.dropped += 1
                        continue
                    if not inf:
                        ts = int(text[:sp])
                        t0 = ts if t0 is None else t0
                        delay = wall0 + (ts - t0) / 1e9 / self.speed - time.monotonic()
                        if delay > 0 and await self._sleep(delay):
                            break
                    if self.fault is not None and not self.faults_injected and self.sent >= self.fault_after:
                        self.faults_injected += 1
                        if await self._inject(ws):
                            return
                    await ws.send(raw)
                    self.sent += 1
                    if self.sent % 256 == 0:
                        await asyncio.sleep(0)  # let snapshot requests in
                    if self.pause_after is not None and not paused and self.sent >= self.pause_after:
                        paused = True
                        if await self._sleep(self.pause_s):
                            break
                        wall0 += self.pause_s
                    if self.max_messages is not None and self.sent >= self.max_messages:
                        break
                    if time.monotonic() - wall0 > self.max_seconds:
                        log.warning("replay stopped after max_seconds=%s", self.max_seconds)
                        break
            await ws.close(1000, "replay finished")
        except ConnectionClosed:
            pass
