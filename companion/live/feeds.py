"""Live market-data feeds for the mini live executor: a paced LOBSTER replay and a Binance websocket client.

Both produce :data:`companion.events.EVENT_DTYPE` chunks in arrival order, as ``(now_ns, events)``
pairs (a :class:`FeedChunk` unpacks to exactly that), so the executor loop is the same for a replay
and for a live venue.

:class:`LobsterReplayFeed`
    Replays an event array in exchange-time order. Events sharing one timestamp form one chunk.
    Chunk ``k`` is released at clock time ``t0 + (ts_k - ts_0) / speed`` (``t0`` = the clock's time
    when iteration starts; ``speed = inf`` never waits). The clock is swappable: a
    :class:`SimulatedClock` jumps to the target without sleeping (deterministic, for tests and
    backtests); a :class:`WallClock` sleeps.

:class:`BinanceWebSocketFeed`
    An asyncio client (``websockets.asyncio.client``) of Binance's combined streams
    ``/stream?streams=<sym>@depth@0ms/<sym>@trade/<sym>@bookTicker``. It follows Binance's
    "How to manage a local order book correctly" (USD-M futures and spot): buffer depth diffs,
    fetch the REST depth snapshot (``snapshot_fn``), drop diffs older than its ``lastUpdateId``,
    apply the first diff that straddles it and then only an unbroken chain (futures
    ``pu == previous u``, spot ``U == previous u + 1``). A broken chain is a *gap*: the book is
    dropped (a ``CLEAR`` event), diffs are buffered again, a new snapshot is fetched (a *resync*,
    counted in :attr:`BinanceWebSocketFeed.stats` and logged). A diff is never applied across a gap.

    The sync state machine and the JSON -> event mapping are **not** re-implemented here: every
    message is fed, as a recording line ``"<ts_local> <json>"``, to the same incremental reader
    that :func:`companion.io.binance.read_binance` runs over a file (``on_gap="resync"``), and the
    events it accumulated are drained after every batch of messages. A live session therefore
    yields exactly the events ``read_binance`` gives for a recording of the same messages (up to
    ``ts_local``), which the tests check on the real recordings. The only difference: prices use a
    fixed ``price_scale`` chosen up front (the reader picks it from the whole file), by default
    ``10**decimals(tick)`` from :data:`companion.io.binance.KNOWN_FILTERS` (BTCUSDT: 10 futures,
    100 spot, the same scales ``read_binance`` infers for the recordings); a price with more
    decimals than that raises :class:`~companion.errors.DataFormatError`.

    *Stale data*: when no message has arrived for ``stale_after`` seconds the feed trips a stale
    condition: ``BinanceWebSocketFeed.stale`` (an ``asyncio.Event``) is set, ``on_stale``
    is called with a :class:`StaleFeed`, and (``raise_on_stale=True``, default) the iterator raises
    :class:`StaleFeed`. The executor's kill switch hooks any of the three. The event clears on the
    next message.

    ``ts_local`` of each event is the local receive time (``clock_ns()``, default
    ``time.time_ns``) of its message; a diff buffered until its snapshot arrived gets the
    snapshot's receive time, as in ``read_binance``.

:func:`http_snapshot` builds a ``snapshot_fn`` that GETs a REST depth snapshot URL (``http://`` or
``https://``) with the standard library only.

**Fail-safe rules** (issue 17): a frame is a REST snapshot only when it comes from the REST request
(a stream frame with a top-level ``lastUpdateId`` is a :class:`FeedProtocolError`); a REST reply
that is not a snapshot (an error body sent with HTTP 200) is retried with exponential backoff
(``snapshot_retry_s`` x 2^k, at most 30 s, ``snapshot_attempts`` tries), then
:class:`SnapshotError`; at most ``max_buffered_diffs`` diffs are buffered while unsynced; frames
over ``max_frame_bytes`` close the socket (1009). Every such failure is a :class:`FeedError`
(one line naming the URL), on which :meth:`companion.live.executor.LiveExecutor.arun` trips the
kill switch.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import numpy as np

from companion.errors import DataFormatError
from companion.events import EVENT_DTYPE, Instrument
from companion.io.binance import (
    DIFF_DTYPE,
    KNOWN_FILTERS,
    MARKETS,
    TICKER_DTYPE,
    VENUES,
    WAIT,
    Decimals,
    Reader,
    decimal_places,
    exact_units,
    shift_exact,
)

__all__ = [
    "Clock",
    "SimulatedClock",
    "WallClock",
    "FeedChunk",
    "LobsterReplayFeed",
    "StaleFeed",
    "FeedClosed",
    "FeedError",
    "FeedProtocolError",
    "SnapshotError",
    "check_snapshot",
    "monotone_clock",
    "BinanceWebSocketFeed",
    "BinanceStreamDecoder",
    "http_get",
    "http_snapshot",
]

log = logging.getLogger(__name__)

_NO_TICKERS = np.zeros(0, dtype=TICKER_DTYPE)
_NO_DIFFS = np.zeros(0, dtype=DIFF_DTYPE)


# ============================================================================ clocks
class Clock(Protocol):
    """What a paced feed needs from a clock: the time and a way to wait for a time (ns)."""

    def now_ns(self) -> int:
        """The current time (ns)."""

    def sleep_until(self, t_ns: int) -> None:
        """Return once the clock reads ``t_ns`` or later."""

    async def asleep_until(self, t_ns: int) -> None:
        """:meth:`sleep_until` for an event loop."""


class SimulatedClock:
    """A deterministic clock that jumps to the requested time instead of sleeping.

    ``now_ns()`` starts at ``start_ns`` and only moves when ``sleep_until``/``asleep_until`` (or
    :meth:`advance`) ask for a later time; it never goes backwards.
    """

    def __init__(self, start_ns: int = 0) -> None:
        self._t = int(start_ns)

    def now_ns(self) -> int:
        """The simulated time (ns)."""
        return self._t

    def advance(self, dt_ns: int) -> None:
        """Move the clock forward by ``dt_ns >= 0``."""
        if dt_ns < 0:
            raise ValueError("a clock does not go backwards")
        self._t += int(dt_ns)

    def sleep_until(self, t_ns: int) -> None:
        """Jump to ``t_ns`` at once (never backwards)."""
        self._t = max(self._t, int(t_ns))

    async def asleep_until(self, t_ns: int) -> None:
        """Jump to ``t_ns`` and yield to the event loop once."""
        self.sleep_until(t_ns)
        await asyncio.sleep(0)  # still a scheduling point, as a real sleep would be


class WallClock:
    """The machine's clock (``source``, default ``time.time_ns``, ns since the epoch); waits sleep."""

    def __init__(self, source: Callable[[], int] = time.time_ns) -> None:
        self._source = source

    def now_ns(self) -> int:
        """The machine's time (ns since the epoch, from ``source``)."""
        return self._source()

    def sleep_until(self, t_ns: int) -> None:
        """Sleep until the machine's clock reads ``t_ns``."""
        dt = t_ns - self._source()
        if dt > 0:
            time.sleep(dt / 1e9)

    async def asleep_until(self, t_ns: int) -> None:
        """Sleep until ``t_ns`` without blocking the event loop."""
        dt = t_ns - self._source()
        if dt > 0:
            await asyncio.sleep(dt / 1e9)


# ============================================================================ chunks
@dataclass(frozen=True, eq=False)
class FeedChunk:
    """One batch of a feed: ``now_ns`` (the feed clock when it was released) and ``events``.

    Unpacks as the pair ``now_ns, events = chunk``. A Binance chunk also carries the
    ``tickers`` (:data:`~companion.io.binance.TICKER_DTYPE`) received in it and the applied
    ``diffs`` (:data:`~companion.io.binance.DIFF_DTYPE`, ``start``/``stop`` index ``events``).

    Attributes
    ----------
    now_ns : int
        The feed clock when the chunk was released (ns).
    events : numpy.ndarray
        The chunk's events (:data:`~companion.events.EVENT_DTYPE`).
    tickers : numpy.ndarray
        Binance ticker messages received in the chunk (empty otherwise).
    diffs : numpy.ndarray
        Binance depth diffs applied in the chunk (empty otherwise).
    """

    now_ns: int
    events: np.ndarray
    tickers: np.ndarray = field(default_factory=lambda: _NO_TICKERS)
    diffs: np.ndarray = field(default_factory=lambda: _NO_DIFFS)

    def __iter__(self) -> Iterator:
        yield self.now_ns
        yield self.events


# ============================================================================ LOBSTER replay
class LobsterReplayFeed:
    r"""Replay an event array in exchange-time order, paced at ``speed`` x exchange time.

    Chunk :math:`k` (the events of one exchange timestamp :math:`ts_k`) is released at clock time
    :math:`t_0 + \operatorname{round}((ts_k - ts_0) / \text{speed})` (ns), where :math:`t_0` is the
    clock's time when the iteration starts and :math:`ts_0` the first event's time.

    Parameters
    ----------
    events : numpy.ndarray
        :data:`~companion.events.EVENT_DTYPE` array (e.g. ``read_lobster(...).events``), with
        non-decreasing ``ts``.
    speed : float
        Replay speed relative to exchange time (1.0 real time, 10.0 ten times faster,
        ``float('inf')`` as fast as possible, never waiting on the clock).
    clock : Clock, optional
        Default :class:`WallClock`. With :class:`SimulatedClock` the replay is instantaneous and
        deterministic.
    max_chunk : int
        Split a run of equal timestamps into chunks of at most this many events.

    Raises
    ------
    TypeError
        When ``events`` is not of :data:`~companion.events.EVENT_DTYPE`.
    ValueError
        For a non-positive ``speed`` or ``max_chunk``, or events out of time order.

    Notes
    -----
    Iterating (``for now_ns, chunk in feed`` or ``async for``) yields :class:`FeedChunk` objects
    whose events are views into ``events``, never copies.

    Examples
    --------
    >>> import numpy as np
    >>> from companion.events import EVENT_DTYPE
    >>> ev = np.zeros(3, EVENT_DTYPE); ev["ts"] = [0, 0, 5]
    >>> feed = LobsterReplayFeed(ev, speed=float("inf"), clock=SimulatedClock())
    >>> [len(chunk) for _, chunk in feed]
    [2, 1]
    """

    def __init__(self, events: np.ndarray, speed: float = 1.0, clock: Clock | None = None,
                 max_chunk: int = 1 << 16) -> None:
        if events.dtype != EVENT_DTYPE:
            raise TypeError(f"events must have EVENT_DTYPE, got {events.dtype}")
        if not (speed > 0):
            raise ValueError(f"speed must be > 0 (or inf), got {speed!r}")
        if max_chunk < 1:
            raise ValueError("max_chunk must be >= 1")
        ts = events["ts"]
        if len(ts) > 1 and (np.diff(ts) < 0).any():
            i = int(np.argmax(np.diff(ts) < 0)) + 1
            raise ValueError(f"events are not in time order: ts[{i}] = {ts[i]} < ts[{i - 1}] = {ts[i - 1]}")
        self.events = events
        self.speed = float(speed)
        self.clock: Clock = clock if clock is not None else WallClock()
        self.max_chunk = int(max_chunk)

    def bounds(self) -> np.ndarray:
        """Chunk boundaries ``b``: chunk ``k`` is ``events[b[k]:b[k + 1]]``."""
        ts = self.events["ts"]
        n = len(ts)
        if n == 0:
            return np.zeros(1, dtype=np.int64)
        starts = np.concatenate(([0], np.flatnonzero(ts[1:] != ts[:-1]) + 1, [n])).astype(np.int64)
        if self.max_chunk < n and (np.diff(starts) > self.max_chunk).any():
            starts = np.unique(np.concatenate([np.arange(a, b, self.max_chunk)
                                               for a, b in zip(starts[:-1], starts[1:])] + [[n]]))
        return starts

    def _schedule(self) -> Iterator[tuple[int, int, int]]:
        """(target clock offset ns, start, stop) per chunk."""
        ts = self.events["ts"]
        b = self.bounds()
        if len(b) < 2:
            return
        ts0 = int(ts[0])
        inf = math.isinf(self.speed)
        for a, z in zip(b[:-1].tolist(), b[1:].tolist()):
            off = 0 if inf else int(round((int(ts[a]) - ts0) / self.speed))
            yield off, a, z

    def __iter__(self) -> Iterator[FeedChunk]:
        t0 = self.clock.now_ns()
        inf = math.isinf(self.speed)
        for off, a, z in self._schedule():
            if not inf:
                self.clock.sleep_until(t0 + off)
            yield FeedChunk(self.clock.now_ns(), self.events[a:z])

    async def __aiter__(self) -> AsyncIterator[FeedChunk]:
        t0 = self.clock.now_ns()
        inf = math.isinf(self.speed)
        for i, (off, a, z) in enumerate(self._schedule()):
            if not inf:
                await self.clock.asleep_until(t0 + off)
            elif i % 256 == 0:
                await asyncio.sleep(0)
            yield FeedChunk(self.clock.now_ns(), self.events[a:z])


# ============================================================================ Binance
class StaleFeed(RuntimeError):
    """No market-data message arrived for ``silent_s`` seconds (limit ``stale_after``)."""

    def __init__(self, silent_s: float, stale_after: float, url: str = "") -> None:
        self.silent_s = silent_s
        self.stale_after = stale_after
        self.url = url
        super().__init__(f"{url}: stale feed, no message for {silent_s:.3f} s (limit {stale_after} s)")


class FeedError(RuntimeError, ValueError):
    """A live feed failure (closed, malformed, oversized, no snapshot): one line naming the URL.

    Also a ValueError, so the CLI reports it on one line (exit 2) after the executor tripped the
    kill switch."""


class FeedProtocolError(FeedError):
    """A frame the feed must not accept: malformed JSON or fields, or a stream frame shaped like a
    REST snapshot (``lastUpdateId``: snapshots come only from the REST request)."""


class FeedClosed(FeedError):
    """The websocket closed abnormally (normal closes just end the iteration)."""


class SnapshotError(FeedClosed):
    """A REST reply that is not a depth snapshot (e.g. an error body sent with HTTP 200); raised
    by the feed (which then ends) when every snapshot attempt failed."""


class BinanceStreamDecoder:
    """Incremental Binance decoder: messages in, drained event/ticker/diff chunks out.

    A thin adapter over the recording reader of :mod:`companion.io.binance` (``Reader``, run with
    ``on_gap="resync"``): :meth:`feed` passes one raw message (a combined-stream envelope or a
    REST snapshot JSON) through the reader's diff-sync state machine; :meth:`drain` converts what
    accumulated into arrays at a fixed ``price_scale`` and resets the reader's output lists.
    ``gaps`` counts sequence gaps (each leaves the reader waiting for a new snapshot).
    """

    def __init__(self, symbol: str, market: str, price_scale: int | None = None, source: str = "live") -> None:
        if market not in MARKETS:
            raise ValueError(f"market must be one of {MARKETS}, got {market!r}")
        symbol = symbol.upper()
        tick_s, lot_s = KNOWN_FILTERS.get((market, symbol), (None, None))
        if price_scale is None:
            if tick_s is None:
                raise ValueError(f"no known tick for {market} {symbol}: pass price_scale=10**decimals")
            price_scale = 10 ** decimal_places(tick_s)
        dec = round(math.log10(price_scale))
        if price_scale < 1 or 10**dec != price_scale:
            raise ValueError(f"price_scale must be a power of 10, got {price_scale}")
        self.dec = dec
        self.price_scale = int(price_scale)
        self.market = market
        self.symbol = symbol
        self.source = source
        self._path = Path(source)
        self.instrument = Instrument(
            symbol=symbol, tick=exact_units(tick_s, dec) if tick_s else 1, price_scale=self.price_scale,
            lot=float(lot_s) if lot_s else 0.0, venue=VENUES[market],
            extra={"market": market, "source": source, "tick_source": "known" if tick_s else "unknown"},
        )
        self._r = Reader(self._path, symbol, market, "resync")
        self.messages = 0

    # ---------------------------------------------------------------- state
    @property
    def gaps(self) -> int:
        """Sequence gaps seen (each drops the sync until the next snapshot)."""
        return self._r.n_gaps

    @property
    def synced(self) -> bool:
        """True once a snapshot anchored the book and no gap has dropped it since."""
        return self._r.state != WAIT

    @property
    def waiting_for_snapshot(self) -> bool:
        """True while no snapshot anchors the book (the opposite of :attr:`synced`)."""
        return self._r.state == WAIT

    def counters(self) -> dict:
        """Messages, snapshots, gaps, stale and buffered diffs, trades and ignored messages."""
        r = self._r
        return {"messages": self.messages, "snapshots": r.n_snapshots, "gaps": r.n_gaps,
                "diffs_stale": r.n_stale, "diffs_buffered": len(r.buffer), "trades": r.n_trades,
                "messages_ignored": r.n_ignored}

    # ---------------------------------------------------------------- in
    @property
    def buffered(self) -> int:
        """Depth diffs buffered while waiting for a snapshot."""
        return len(self._r.buffer)

    def feed(self, ts_local: int, raw: str, snapshot: bool = False) -> None:
        """Pass one message received at ``ts_local`` ns: a websocket frame, or (``snapshot=True``)
        the REST depth snapshot.

        Only ``snapshot=True`` text may be a snapshot: a stream frame whose top level carries
        ``lastUpdateId`` raises :class:`FeedProtocolError` (it would otherwise anchor the book on
        an id no later diff can follow: a frozen book). A snapshot that is not a JSON object with an
        integer ``lastUpdateId`` and ``bids`` / ``asks`` lists raises :class:`SnapshotError`.
        Malformed frames raise :class:`FeedProtocolError` naming the message number.
        """
        if snapshot:
            check_snapshot(raw, self.source)
        elif '"lastUpdateId"' in raw:
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = None  # malformed: the reader names the error below
            if isinstance(obj, dict) and "lastUpdateId" in obj:
                raise FeedProtocolError(f"{self.source}: message {self.messages + 1}: a stream frame carries a "
                                        "depth snapshot (lastUpdateId); snapshots come only from the REST request")
        self.messages += 1
        try:
            self._r.feed(self.messages, f"{int(ts_local)} {raw}")
        except DataFormatError as exc:
            kind = "REST snapshot" if snapshot else "frame"
            msg = " ".join(str(exc).split())
            raise FeedProtocolError(f"{self.source}: malformed {kind} (message {self.messages}): {msg}") from None

    # ---------------------------------------------------------------- out
    def _units(self, mant: np.ndarray, nd: np.ndarray, lines: list[int], fld: str) -> np.ndarray:
        """Decimal mantissas with ``nd`` decimals -> int64 units of ``10**-dec`` exactly."""
        up = self.dec - nd
        out = np.empty(len(mant), dtype=np.int64)
        ok = up >= 0
        out[ok] = shift_exact(mant[ok], up[ok], self._path)
        if not ok.all():
            down = 10 ** (-up[~ok])
            m = mant[~ok]
            if (m % down).any():
                i = np.flatnonzero(~ok)[int(np.argmax(m % down != 0))]
                raise DataFormatError(self._path, f"price has more decimals than price_scale={self.price_scale}",
                                      line=lines[i], field=fld)
            out[~ok] = m // down
        return out

    def drain(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(events, tickers, diffs) produced since the last drain; the reader's buffers are reset."""
        r = self._r
        conv = [c.convert(self._path) for c in (r.dec, r.tk_dec, r.unused)]
        errors = [x for x in conv if isinstance(x, DataFormatError)]
        if errors:
            raise min(errors, key=lambda e: e.line)
        (mant, nd, qty), (tmant, tnd, tqty) = conv[0], conv[1]
        n = len(r.ts)
        ev = np.zeros(n, dtype=EVENT_DTYPE)
        if n:
            ev["ts"] = r.ts
            ev["ts_local"] = r.tsl
            ev["kind"] = r.kind
            ev["side"] = r.side
            ev["order_id"] = r.oid
            ev["size"] = qty
            ev["price"] = self._units(mant, nd, r.dec.line, "p")
        tk = np.zeros(len(r.tk_num), dtype=TICKER_DTYPE)
        if len(tk):
            num = np.array(r.tk_num, dtype=np.int64)
            tk["ts"], tk["ts_local"], tk["u"] = num[:, 0], num[:, 1], num[:, 2]
            units = self._units(tmant, tnd, r.tk_dec.line, "b")
            tk["bid_px"], tk["ask_px"] = units[0::2], units[1::2]
            tk["bid_qty"], tk["ask_qty"] = tqty[0::2], tqty[1::2]
        diffs = np.array(r.diff_rows, dtype=DIFF_DTYPE) if r.diff_rows else _NO_DIFFS
        r.ts, r.tsl, r.kind, r.side, r.oid = [], [], [], [], []
        r.dec, r.tk_dec, r.unused = Decimals(), Decimals(), Decimals()
        r.tk_num, r.diff_rows = [], []
        return ev, tk, diffs


SnapshotFn = Callable[[], Awaitable["str | bytes | dict"]]


def monotone_clock(ev: np.ndarray, last: int) -> tuple[np.ndarray, int]:
    """A chunk's exchange times made non-decreasing, continuing from ``last`` (the latest time
    already processed): ``ts = max.accumulate(max(ts, last))``; returns ``(events, new last)``.

    A live feed's times need not be sorted (Binance's trade ``T`` and depth ``E`` interleave); an
    event stamped before one already processed is processed at the latest time seen, as the venue
    and the feature grid require. The chunk is copied only when a time changes; ``ev`` must not be empty.

    Examples
    --------
    >>> ev = np.zeros(3, EVENT_DTYPE); ev["ts"] = [5, 4, 9]
    >>> out, last = monotone_clock(ev, 6)
    >>> out["ts"].tolist(), last, ev["ts"].tolist()
    ([6, 6, 9], 9, [5, 4, 9])
    """
    ts = ev["ts"]
    if ts[0] < last or (len(ts) > 1 and (np.diff(ts) < 0).any()):
        ev = ev.copy()
        ev["ts"] = np.maximum.accumulate(np.maximum(ts, last))
    return ev, int(ev["ts"][-1])


def check_snapshot(raw: str, source: str = "snapshot") -> dict:
    """Parse a REST depth snapshot; :class:`SnapshotError` unless it is a JSON object with an
    integer ``lastUpdateId`` and ``bids`` / ``asks`` lists (Binance sends errors such as
    ``{"code": -1003, "msg": "..."}``, sometimes with HTTP 200).

    Examples
    --------
    >>> check_snapshot('{"lastUpdateId": 7, "bids": [], "asks": []}')["lastUpdateId"]
    7
    >>> check_snapshot('{"code": -1003, "msg": "Too many requests"}')
    Traceback (most recent call last):
        ...
    companion.live.feeds.SnapshotError: snapshot: REST reply is not a depth snapshot: '{"code": -1003, "msg": "Too many requests"}'
    """
    try:
        obj = json.loads(raw)
    except ValueError:
        obj = None
    if not (isinstance(obj, dict) and type(obj.get("lastUpdateId")) is int
            and isinstance(obj.get("bids"), list) and isinstance(obj.get("asks"), list)):
        raise SnapshotError(f"{source}: REST reply is not a depth snapshot: {raw[:80]!r}")
    return obj


class _Snap(str):
    """Queue marker: this text came from the REST snapshot request."""

_END = object()


class BinanceWebSocketFeed:
    """Binance combined-stream client with documented diff-sync, resync on gaps and a stale alarm.

    Use ``async with BinanceWebSocketFeed(...) as feed: async for now_ns, events in feed: ...``.
    See the module docstring for the sync rules (Binance, "How to manage a local order book
    correctly") and the stale condition.

    Parameters
    ----------
    url : str
        Websocket base, e.g. ``wss://fstream.binance.com`` (futures),
        ``wss://stream.binance.com:9443`` (spot) or a ``companion.live.replay_server.ReplayServer``'s
        ``ws_url``; the feed connects to ``{url}/stream?streams=...`` (a URL already ending in
        ``/stream`` is kept).
    symbol : str
        E.g. ``"BTCUSDT"``.
    snapshot_fn : callable
        ``async () -> str | bytes | dict``, the REST depth snapshot
        (``{"lastUpdateId", "bids", "asks"[, "E"]}``), e.g. ``http_snapshot(url)``.
    market : str
        ``"usdm"`` (futures sync rules) or ``"spot"``.
    streams : tuple of str, optional
        Stream suffixes; default ``("depth@0ms", "trade", "bookTicker")`` on usdm and
        ``("depth@100ms", "trade", "bookTicker")`` on spot.
    price_scale : int, optional
        Price units per currency unit (default from the known tick, see the module docstring).
    stale_after : float
        Seconds without any message before the feed is stale.
    on_stale : callable, optional
        Called with a :class:`StaleFeed` when the feed goes stale.
    raise_on_stale : bool
        The iterator raises :class:`StaleFeed` when the feed goes stale (else it only flags and
        waits).
    max_chunk : int
        Most messages decoded into one chunk.
    snapshot_attempts : int
        Tries per snapshot fetch before the feed fails.
    snapshot_retry_s : float
        Seconds between snapshot tries.
    open_timeout : float
        Seconds to open the websocket.
    clock_ns : callable
        Local receive clock (ns).
    logger : logging.Logger, optional
        Where resyncs and stale trips are logged.

    Raises
    ------
    ValueError
        For a non-positive ``stale_after``, an unknown ``market``, or no usable ``price_scale``.
    """

    def __init__(self, url: str, symbol: str, snapshot_fn: SnapshotFn, *, market: str = "usdm",
                 streams: tuple[str, ...] | None = None, price_scale: int | None = None,
                 stale_after: float = 5.0, on_stale: Callable[[StaleFeed], None] | None = None,
                 raise_on_stale: bool = True, max_chunk: int = 4096, snapshot_attempts: int = 5,
                 snapshot_retry_s: float = 0.5, open_timeout: float = 10.0, max_frame_bytes: int = 2**20,
                 max_buffered_diffs: int = 100_000,
                 clock_ns: Callable[[], int] = time.time_ns, logger: logging.Logger | None = None) -> None:
        if stale_after <= 0:
            raise ValueError("stale_after must be > 0")
        self.symbol = symbol.upper()
        self.market = market
        if streams is None:
            streams = ("depth@0ms", "trade", "bookTicker") if market == "usdm" else ("depth@100ms", "trade", "bookTicker")
        self.streams = tuple(f"{self.symbol.lower()}@{s}" for s in streams)
        base = url.rstrip("/")
        if not base.endswith("/stream"):
            base += "/stream"
        self.url = f"{base}?streams={'/'.join(self.streams)}"
        self.decoder = BinanceStreamDecoder(self.symbol, market, price_scale, source=self.url)
        self.instrument = self.decoder.instrument
        self.snapshot_fn = snapshot_fn
        self.stale_after = float(stale_after)
        self.on_stale = on_stale
        self.raise_on_stale = raise_on_stale
        self.max_chunk = int(max_chunk)
        self.snapshot_attempts = int(snapshot_attempts)
        self.snapshot_retry_s = float(snapshot_retry_s)
        self.open_timeout = open_timeout
        self.max_frame_bytes = int(max_frame_bytes)
        self.max_buffered_diffs = int(max_buffered_diffs)
        self.clock_ns = clock_ns
        self.log = logger or log
        self.stale = asyncio.Event()
        self.resyncs = 0
        self.stale_trips = 0
        self.snapshot_requests = 0
        self.snapshot_failures = 0
        self._ws = None
        self._queue: asyncio.Queue | None = None
        self._recv_task: asyncio.Task | None = None
        self._snap_task: asyncio.Task | None = None
        self._gaps_seen = 0
        self._closed = False

    # ---------------------------------------------------------------- lifecycle
    async def connect(self) -> BinanceWebSocketFeed:
        """Open the websocket, start receiving and request the first snapshot."""
        from websockets.asyncio.client import connect

        if self._ws is not None:
            raise RuntimeError("already connected")
        self._queue = asyncio.Queue()
        self._ws = await connect(self.url, open_timeout=self.open_timeout, max_size=self.max_frame_bytes,
                                 max_queue=1024, compression=None)
        self._recv_task = asyncio.create_task(self._recv_loop(), name="binance-feed-recv")
        self._request_snapshot()
        return self

    async def close(self) -> None:
        """Stop the tasks and close the websocket (idempotent)."""
        self._closed = True
        for t in (self._snap_task, self._recv_task):
            if t is not None and not t.done():
                t.cancel()
                try:
                    await t
                except (asyncio.CancelledError, Exception):
                    pass
        if self._ws is not None:
            await self._ws.close()

    async def __aenter__(self) -> BinanceWebSocketFeed:
        return await self.connect()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # ---------------------------------------------------------------- state
    @property
    def synced(self) -> bool:
        """True once a snapshot anchored the book and no gap has dropped it since."""
        return self.decoder.synced

    @property
    def stats(self) -> dict:
        """The feed's counters (messages, snapshots, gaps, resyncs, diffs_stale, trades, stale_trips, ...)."""
        return {**self.decoder.counters(), "resyncs": self.resyncs, "stale_trips": self.stale_trips,
                "snapshot_requests": self.snapshot_requests, "snapshot_failures": self.snapshot_failures}

    # ---------------------------------------------------------------- tasks
    async def _recv_loop(self) -> None:
        from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

        ws, q = self._ws, self._queue
        last = time.monotonic()
        try:
            while True:
                try:
                    async with asyncio.timeout(self.stale_after):
                        raw = await ws.recv()
                except TimeoutError:
                    if not self.stale.is_set():
                        self._trip_stale(time.monotonic() - last)
                    continue
                last = time.monotonic()
                if self.stale.is_set():
                    self.stale.clear()
                q.put_nowait((self.clock_ns(), raw))
        except ConnectionClosedOK:
            q.put_nowait((_END, None))
        except ConnectionClosed as exc:
            what = ("frame larger than max_frame_bytes" if exc.rcvd is not None and exc.rcvd.code == 1009
                    or exc.sent is not None and exc.sent.code == 1009 else "websocket closed abnormally")
            q.put_nowait((_END, FeedClosed(f"{self.url}: {what}: {exc}")))
        except Exception as exc:  # noqa: BLE001 - never leave the consumer waiting on a dead task
            q.put_nowait((_END, FeedClosed(f"{self.url}: receive loop failed: {exc!r}")))

    def _trip_stale(self, silent: float) -> None:
        self.stale_trips += 1
        self.stale.set()
        exc = StaleFeed(silent, self.stale_after, self.url)
        self.log.warning("%s", exc)
        if self.on_stale is not None:
            try:
                self.on_stale(exc)
            except Exception:  # noqa: BLE001 - a faulty callback must not stop the feed
                self.log.exception("on_stale callback failed")
        if self.raise_on_stale:
            self._queue.put_nowait((_END, exc))

    def _request_snapshot(self) -> None:
        if self._snap_task is not None and not self._snap_task.done():
            return
        self.snapshot_requests += 1
        self._snap_task = asyncio.create_task(self._fetch_snapshot(), name="binance-feed-snapshot")

    async def _fetch_snapshot(self) -> None:
        err: Exception | None = None
        for attempt in range(self.snapshot_attempts):
            try:
                snap = await self.snapshot_fn()
                if isinstance(snap, dict):
                    snap = json.dumps(snap)
                elif isinstance(snap, (bytes, bytearray)):
                    snap = snap.decode()
                check_snapshot(snap, self.url)  # an error body with HTTP 200 is an error
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried, then reported through the iterator
                err = exc
                self.snapshot_failures += 1
                self.log.warning("%s: snapshot attempt %d failed: %s", self.url, attempt + 1, exc)
                # bounded exponential backoff: retry_s, 2 retry_s, 4 retry_s, ... at most 30 s
                await asyncio.sleep(min(self.snapshot_retry_s * 2**attempt, 30.0))
        else:
            msg = " ".join(str(err).split())
            self._queue.put_nowait((_END, SnapshotError(f"{self.url}: no depth snapshot after "
                                                        f"{self.snapshot_attempts} attempts: {msg}")))
            return
        self._queue.put_nowait((self.clock_ns(), _Snap(snap)))

    # ---------------------------------------------------------------- iteration
    async def __aiter__(self) -> AsyncIterator[FeedChunk]:
        if self._queue is None:
            raise RuntimeError("connect() first (or use 'async with')")
        q, dec = self._queue, self.decoder
        while True:
            batch = [await q.get()]
            while len(batch) < self.max_chunk and not q.empty():
                batch.append(q.get_nowait())
            end = None
            for ts_local, raw in batch:
                if ts_local is _END:
                    end = raw if raw is not None else True
                    break
                dec.feed(ts_local, raw, snapshot=type(raw) is _Snap)
                if dec.waiting_for_snapshot and dec.buffered > self.max_buffered_diffs:
                    raise FeedError(f"{self.url}: {dec.buffered} depth diffs buffered while waiting for the "
                                    f"snapshot (max_buffered_diffs={self.max_buffered_diffs})")
                if dec.gaps != self._gaps_seen:
                    self._gaps_seen = dec.gaps
                    self.resyncs += 1
                    self.log.warning("%s: depth diff sequence gap (#%d): book dropped, re-fetching the snapshot",
                                     self.url, dec.gaps)
                    self._request_snapshot()
            try:
                ev, tk, diffs = dec.drain()
            except DataFormatError as exc:
                msg = " ".join(str(exc).split())
                raise FeedProtocolError(f"{self.url}: malformed frame: {msg}") from None
            if len(ev) or len(tk):
                yield FeedChunk(self.clock_ns(), ev, tk, diffs)
            if end is not None:
                if end is True:
                    return
                raise end


# ============================================================================ REST helper
async def http_get(url: str, timeout: float = 10.0) -> bytes:
    """GET ``url`` (http or https) with the standard library; returns the body of a 200 response.

    One request per connection (``Connection: close``, HTTP/1.1); the body is read by
    ``Content-Length`` when given, else to the end of the connection.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL (e.g. Binance's REST depth snapshot,
        ``https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000``).
    timeout : float
        Seconds for the whole exchange (connect, send, read).

    Returns
    -------
    bytes
        The response body.

    Raises
    ------
    ValueError
        For a scheme other than http / https.
    ConnectionError
        On a status other than 200 (the message holds the status and the start of the body).
    TimeoutError
        After ``timeout`` seconds.

    Examples
    --------
    Against a local server on 127.0.0.1 (no network needed):

    >>> import threading
    >>> from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    >>> class Depth(BaseHTTPRequestHandler):
    ...     def do_GET(self):
    ...         body = b'{"lastUpdateId": 100, "bids": [], "asks": []}' if self.path.startswith("/depth") else b"no"
    ...         self.send_response(200 if body != b"no" else 404)
    ...         self.send_header("Content-Length", str(len(body)))
    ...         self.end_headers()
    ...         self.wfile.write(body)
    ...     def log_message(self, *args):
    ...         pass
    >>> server = ThreadingHTTPServer(("127.0.0.1", 0), Depth)
    >>> threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    >>> base = f"http://127.0.0.1:{server.server_address[1]}"
    >>> asyncio.run(http_get(base + "/depth?symbol=BTCUSDT"))
    b'{"lastUpdateId": 100, "bids": [], "asks": []}'
    >>> try:
    ...     asyncio.run(http_get(base + "/other"))
    ... except ConnectionError as exc:
    ...     print(str(exc).split(": ")[1])
    HTTP 404
    >>> server.shutdown(); server.server_close()
    """
    u = urlsplit(url)
    if u.scheme not in ("http", "https"):
        raise ValueError(f"http(s) URL expected, got {url!r}")
    port = u.port or (443 if u.scheme == "https" else 80)
    target = (u.path or "/") + (f"?{u.query}" if u.query else "")
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(u.hostname, port, ssl=u.scheme == "https")
        try:
            writer.write(f"GET {target} HTTP/1.1\r\nHost: {u.netloc}\r\nAccept: application/json\r\n"
                         "Connection: close\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
            if "content-length" in headers:
                body = await reader.readexactly(int(headers["content-length"]))
            else:
                body = await reader.read()
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass
    if status != 200:
        raise ConnectionError(f"GET {url}: HTTP {status}: {body[:200]!r}")
    return body


def http_snapshot(url: str, timeout: float = 10.0) -> SnapshotFn:
    """A ``snapshot_fn`` that GETs a REST depth snapshot URL and returns its JSON text.

    This is what :class:`BinanceWebSocketFeed` awaits to (re)sync its book (Binance, "How to
    manage a local order book correctly": the REST snapshot's ``lastUpdateId`` anchors the diffs).

    Parameters
    ----------
    url : str
        ``http(s)://`` URL of the snapshot, e.g.
        ``https://fapi.binance.com/fapi/v1/depth?symbol=BTCUSDT&limit=1000``.
    timeout : float
        Seconds per request (:func:`http_get`).

    Returns
    -------
    callable
        ``async fetch() -> bytes``: one GET per call.

    Examples
    --------
    Against a local server on 127.0.0.1 (no network needed):

    >>> import threading
    >>> from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    >>> class Depth(BaseHTTPRequestHandler):
    ...     def do_GET(self):
    ...         body = b'{"lastUpdateId": 100, "bids": [], "asks": []}' if self.path.startswith("/depth") else b"no"
    ...         self.send_response(200 if body != b"no" else 404)
    ...         self.send_header("Content-Length", str(len(body)))
    ...         self.end_headers()
    ...         self.wfile.write(body)
    ...     def log_message(self, *args):
    ...         pass
    >>> server = ThreadingHTTPServer(("127.0.0.1", 0), Depth)
    >>> threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    >>> base = f"http://127.0.0.1:{server.server_address[1]}"
    >>> fetch = http_snapshot(base + "/depth?symbol=BTCUSDT&limit=5")
    >>> json.loads(asyncio.run(fetch()))["lastUpdateId"]
    100
    >>> server.shutdown(); server.server_close()
    """

    async def fetch() -> bytes:
        return await http_get(url, timeout)

    return fetch
