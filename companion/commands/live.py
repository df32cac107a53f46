"""``python -m companion live``: run the mini live executor on a replayed day or a Binance websocket (paper venue).

    python -m companion live --replay synthetic --speed inf --config live.yaml --journal run.db [--json]
    python -m companion live --ws wss://fstream.binance.com --symbol BTCUSDT --max-events 100000

``--replay`` a dataset SPEC (``synthetic[:SEED]``, ``lobster:TICKER:LEVEL`` or a LOBSTER message
file); ``--speed`` the replay speed (``1`` real time, ``10`` ten times faster, ``inf`` as fast as
possible); ``--clock wall`` sleeps to pace the replay, ``--clock simulated`` jumps (deterministic;
the default for ``--speed inf``). ``--config`` the YAML of :mod:`companion.live.config`;
``--journal`` the SQLite journal: an existing one is *resumed* (crash recovery from its last
checkpoint) -- only with the dataset, config, model and companion version it was started with
(else one line naming what differs, exit 2; ``--new-segment`` starts a recorded new segment
instead). A journal problem (damaged, in use by another executor, not reconciled at the end) is
one line and exit 2. A live status line goes to stderr unless ``--json`` or ``--quiet``. SIGUSR1 or the
kill-switch file stops trading. ``--json`` prints the summary as one JSON object on the last line:
``events``, ``orders``, ``fills``, ``pnl`` (currency, marked at the last mid), ``position``,
``killed``, ``resumed_from``, ``latency`` (per stage ``p50_us`` / ``p99_us``), ...

``--ws URL`` trades a live Binance combined stream instead
(:class:`companion.live.feeds.BinanceWebSocketFeed`, through :meth:`LiveExecutor.arun`): ``--symbol``,
``--market`` (``usdm`` futures / ``spot``), ``--snapshot-url`` the REST depth snapshot (default:
Binance's own for ``*.binance.com``, else the same host's ``/fapi/v1/depth`` / ``/api/v3/depth``, as a
``companion.live.replay_server.ReplayServer`` serves). It runs until the stream ends, ``--max-events``,
a stale feed (``feed.stale_after_s``: the kill switch trips) or Ctrl-C.
"""
from __future__ import annotations

import argparse
import math

from companion.cli import print_json_last


def register(subparsers) -> None:
    p = subparsers.add_parser("live", help="run the live executor on a replayed day (paper venue)",
                              description=__doc__.splitlines()[0])
    p.add_argument("--replay", default="synthetic", metavar="SPEC",
                   help="dataset SPEC to replay: synthetic[:SEED] | lobster:TICKER:LEVEL | message file")
    p.add_argument("--speed", default="inf", help="replay speed x exchange time (inf: as fast as possible)")
    p.add_argument("--clock", choices=["wall", "simulated"], default=None,
                   help="wall: sleep to pace the replay; simulated: deterministic (default with --speed inf)")
    p.add_argument("--ws", metavar="URL", default=None,
                   help="trade a Binance websocket (e.g. wss://fstream.binance.com) instead of a replay")
    p.add_argument("--symbol", default="BTCUSDT", help="with --ws: the symbol (default BTCUSDT)")
    p.add_argument("--market", choices=["usdm", "spot"], default="usdm", help="with --ws: futures or spot sync rules")
    p.add_argument("--snapshot-url", default=None, help="with --ws: REST depth snapshot URL (default: derived)")
    p.add_argument("--config", help="live YAML config (see companion.live.config)")
    p.add_argument("--journal", help="SQLite journal; an existing one is resumed from its last checkpoint")
    p.add_argument("--new-segment", action="store_true",
                   help="with --journal: start a new, recorded segment (another dataset, config or model) "
                        "instead of resuming; the previous segment must be flat")
    p.add_argument("--model", help="compiled model for strategy: model (overrides model.path)")
    p.add_argument("--max-events", type=int, default=None, help="stop after this many events")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object on the last line")
    p.add_argument("--quiet", action="store_true", help="no live status line")
    p.add_argument("--crash-after-events", type=int, default=None, help=argparse.SUPPRESS)  # crash demo: SIGKILL itself
    p.set_defaults(handler=run)


def _speed(text: str) -> float:
    try:
        s = float(text)
    except ValueError:
        raise ValueError(f"--speed must be a number or inf, got {text!r}") from None
    if not s > 0:
        raise ValueError(f"--speed must be > 0, got {text!r}")
    return s


def summary_json(s) -> dict:
    """The ``--json`` object of a :class:`companion.live.metrics.LiveSummary`."""
    d = s.to_dict()
    d["latency"] = {k: {"p50_us": v["p50_us"], "p99_us": v["p99_us"], "n": v["n"]} for k, v in s.latency.items()}
    for k in ("pnl", "cash", "fees", "elapsed_s", "events_per_s"):
        d[k] = None if d[k] is None or not math.isfinite(d[k]) else round(float(d[k]), 6)
    return d


def snapshot_url(ws: str, symbol: str, market: str) -> str:
    """The REST depth snapshot URL that goes with a websocket base URL."""
    from urllib.parse import urlsplit

    u = urlsplit(ws)
    if u.scheme not in ("ws", "wss") or not u.hostname:
        raise ValueError(f"--ws must be a ws:// or wss:// URL, got {ws!r}")
    path = "/fapi/v1/depth" if market == "usdm" else "/api/v3/depth"
    q = f"?symbol={symbol.upper()}&limit=1000"
    if u.hostname.endswith("binance.com"):
        return ("https://fapi.binance.com" if market == "usdm" else "https://api.binance.com") + path + q
    return f"{'https' if u.scheme == 'wss' else 'http'}://{u.netloc}{path}{q}"


def _run_ws(args, cfg, model) -> tuple:
    import asyncio

    from companion.live.executor import LiveExecutor
    from companion.live.feeds import BinanceWebSocketFeed, http_snapshot

    snap = args.snapshot_url or snapshot_url(args.ws, args.symbol, args.market)
    stale = cfg.feed.stale_after_s if cfg.feed.stale_after_s is not None else 5.0
    feed = BinanceWebSocketFeed(args.ws, args.symbol, http_snapshot(snap), market=args.market, stale_after=stale)
    _check_levels(args, cfg, 10)
    ex = LiveExecutor(cfg, feed.instrument, levels=10, journal=args.journal, model=model,
                      status=not (args.json or args.quiet), dataset=f"ws {args.ws} {args.symbol.upper()} {args.market}",
                      new_segment=args.new_segment)

    ex.warm_up()  # numba compiles / loads here, before the websocket and the snapshot request

    async def main():
        async with feed:
            return await ex.arun(feed, max_events=args.max_events, handle_sigusr1=True)

    try:
        s = asyncio.run(main())
    finally:
        if ex.journal is not None:
            ex.journal.close()
    return s, feed.instrument


def _dataset_identity(spec: str, d) -> str:
    """``<spec> <n> events sha256:<first 16 hex of the events' bytes>``: what a journal is bound to."""
    import hashlib

    import numpy as np

    h = hashlib.sha256(np.ascontiguousarray(d.events).tobytes()).hexdigest()
    return f"{spec} {len(d.events)} events sha256:{h[:16]}"


def _check_levels(args, cfg, levels: int) -> None:
    from companion.live.config import ConfigError, in_file

    try:
        cfg.check_levels(levels)
    except ConfigError as exc:
        raise ConfigError(in_file(exc, args.config or "(defaults)")) from None


def run(args) -> int:
    from companion.data import load, parse_spec
    from companion.live.config import load_config
    from companion.live.executor import LiveExecutor
    from companion.live.feeds import LobsterReplayFeed, SimulatedClock, WallClock

    speed = _speed(args.speed)
    if args.max_events is not None and args.max_events < 1:
        raise ValueError(f"--max-events must be >= 1, got {args.max_events}")
    cfg = load_config(args.config)
    model = None
    if args.model:
        from companion.models.compiled import CompiledModel

        model = CompiledModel.from_file(args.model)
    if args.ws is not None:
        s, inst = _run_ws(args, cfg, model)
        return _report(args, s, inst)
    spec = parse_spec(args.replay)
    d = load(args.replay)
    levels = d.book.shape[1] // 4
    _check_levels(args, cfg, levels)
    # a synthetic day is full depth: the executor rebuilds its book from the messages; a LOBSTER
    # level-N file is not, so its orderbook rows stand for an L2 snapshot feed
    rows = None if spec.kind == "synthetic" else d.book
    clock_kind = args.clock or ("simulated" if math.isinf(speed) else "wall")
    clock = SimulatedClock(int(d.events["ts"][0]) if len(d.events) else 0) if clock_kind == "simulated" else WallClock()
    feed = LobsterReplayFeed(d.events, speed=speed, clock=clock)
    ex = LiveExecutor(cfg, d.instrument, levels=levels, journal=args.journal, model=model,
                      status=not (args.json or args.quiet), dataset=_dataset_identity(args.replay, d),
                      new_segment=args.new_segment, on_chunk=_crash_hook(args.crash_after_events))
    try:
        s = ex.run(feed, book_rows=rows, max_events=args.max_events, handle_sigusr1=True)
    finally:
        if ex.journal is not None:
            ex.journal.close()
    return _report(args, s, d.instrument)


def _crash_hook(after_events):
    """The crash demo (hidden ``--crash-after-events``): an ``on_chunk`` that SIGKILLs this process
    once that many events were processed (kept out of the executor's loop)."""
    if after_events is None:
        return None
    import os
    import signal

    def hook(_executor, n_seen: int) -> None:
        if n_seen >= after_events:
            os.kill(os.getpid(), signal.SIGKILL)

    return hook


def _report(args, s, instrument) -> int:
    """Print the summary; a run whose journal does not reconcile with the venue then fails
    (one line, exit 2)."""
    rc = _report_summary(args, s, instrument)
    if s.reconciled is False:
        from companion.live.journal import JournalCorruptError

        raise JournalCorruptError(f"journal {args.journal}: the run's summary does not reconcile with the "
                                  f"journal (position {s.position:g}); inspect it before trading on")
    return rc


def _report_summary(args, s, instrument) -> int:
    if args.json:
        print_json_last(summary_json(s))
        return 0
    lat = s.latency
    print(f"{instrument.symbol}: {s.events:,} events in {s.elapsed_s:.2f} s ({s.events_per_s:,.0f} events/s)"
          + (f", resumed after event {s.resumed_from:,}" if s.resumed_from is not None else ""))
    print(f"orders {s.orders}  fills {s.fills}  position {s.position:g}  P&L {s.pnl:,.2f}  fees {s.fees:,.2f}"
          + (f"  KILLED: {s.killed}" if s.killed else ""))
    for k in ("book", "features", "model", "signal", "strategy", "journal", "tick_to_decision"):
        if lat[k]["n"]:
            print(f"  {k:<17} p50 {lat[k]['p50_us']:>8.2f} us   p99 {lat[k]['p99_us']:>9.2f} us")
    return 0
