"""Head-to-head: our execution simulator vs hftbacktest on the same synthetic feed.

Both engines replay the same events (the synthetic day, or its first ``--events``) with the same
settings: constant order-entry and response latency (``--latency-us``), no feed latency, the
power-law probabilistic queue model ``f(x) = x**n`` (ours :class:`~companion.sim.PowerProbQueue`,
hftbacktest ``power_prob_queue_model(n)``), hftbacktest's no-partial-fill exchange, no fees.
hftbacktest gets the feed through :func:`companion.io.hftbacktest.to_hftbacktest`
(L2 level sizes from our book engine) and a ``HashMapMarketDepthBacktest``.

Two strategies, each a jitted loop in both engines:

* **noop**: wake on every market event, do nothing;
* **quote**: wake on every event, read the best bid / ask; keep one post-only lot at each touch
  (ours ``POST_ONLY``, hftbacktest ``GTX``), re-quote once the order is done, cancel it when
  the touch has moved more than ``--requote-ticks`` away. Both produce fills.

Throughput = input events / wall seconds of (engine construction + run); data preparation
(our book snapshots come with the dataset; hftbacktest's export is timed and reported apart) is
excluded from both. Both JITs are warmed on a 20k-event slice first; times are the best of
``--repeat`` runs. Target: ours >= 1.5x hftbacktest per-event (quote) throughput.

Fill counts are not expected to be equal; the models differ in documented ways (printed with
``--json`` under ``differences``). The tolerance: our filled-order count within
``--fill-tol`` (relative, default 0.25) of hftbacktest's.

    python benchmarks/bench_vs_hftbacktest.py [--json] [--events N] [--repeat 3]

Without hftbacktest installed (``pip install hftbacktest --no-deps``: its wheel pins older
numpy/numba than ours, but runs with them) it prints why and exits 0 (``{"skipped": ...}``).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import best_of  # noqa: E402  (benchmarks run as scripts from this folder)

from companion.sim import (  # noqa: E402
    CANCELED,
    EXPIRED,
    FILLED,
    NEW,
    PARTIAL,
    POST_ONLY,
    REJECTED,
    ConstantLatency,
    PowerProbQueue,
    Simulator,
)
from companion.sim.context import cancel, submit  # noqa: E402

DIFFERENCES = [
    "wake-ups: ours wakes the strategy after every event; hftbacktest's wait_next_feed returns "
    "once per distinct local timestamp (events sharing a timestamp are applied together), so it "
    "makes slightly fewer strategy calls and its strategy never sees the intermediate books",
    "partial fills: ours fills the traded volume beyond the queue (a 1-lot order may fill a "
    "fraction when the probabilistic queue front is fractional); hftbacktest's no-partial-fill "
    "exchange fills the whole order once round(front/lot) < 0, i.e. front < -0.5 lot",
    "crossing: ours fills a resting order when the opposite side's visible book crosses its price "
    "by the crossing quantity net of liquidity it already used; hftbacktest fills it in full "
    "when the best opposite price moves to or through it",
    "order arrival: both join the back of the visible queue at the price, ours from the book "
    "before the next event, hftbacktest from its exchange-side depth at the arrival time; ties "
    "between a market event and an order arrival at the same ns are ordered market event first "
    "in ours, and by hftbacktest's processor scheduling there",
    "hidden executions (LOBSTER type 5) are exported as trades: hftbacktest advances the queue on "
    "them at our price; ours ignores hidden executions at our price (fills only on those through it)",
    "cross trades (type 6) and halts (type 7) are not exported; ours does not use them either",
]


# ----------------------------------------------------------------------------------------------
# our strategies (companion.sim.exchange.run_strategy_nb signature)
@njit
def ours_noop(ctx, params, state):
    return


@njit
def ours_quote(ctx, params, state):
    """state: [bid order id, ask order id, bid cancel sent, ask cancel sent] (-1 = none)."""
    tick, requote = params[0], params[1]
    row, orders = ctx.book, ctx.orders
    bid_ok = row[3] > 0.0 and row[2] > -9e9
    ask_ok = row[1] > 0.0 and row[0] < 9e9
    for s in range(2):
        side = 1 if s == 0 else -1
        ok = bid_ok if s == 0 else ask_ok
        touch = row[2] if s == 0 else row[0]
        oid = int(state[s])
        if oid >= 0:
            st = orders[oid].local_status
            if st == FILLED or st == CANCELED or st == REJECTED or st == EXPIRED:
                oid = -1
                state[s] = -1.0
                state[2 + s] = 0.0
            elif (st == NEW or st == PARTIAL) and state[2 + s] == 0.0 and ok:
                if abs(orders[oid].price - touch) > requote * tick and cancel(ctx, oid):
                    state[2 + s] = 1.0
        if oid < 0 and ok:
            state[s] = submit(ctx, side, 1.0, np.int64(touch), POST_ONLY)


# ----------------------------------------------------------------------------------------------
# hftbacktest strategies (built lazily: hftbacktest is an optional dependency)
def _hbt_strategies():
    from hftbacktest import GTX, LIMIT
    from hftbacktest.order import CANCELED as H_CANCELED
    from hftbacktest.order import EXPIRED as H_EXPIRED
    from hftbacktest.order import FILLED as H_FILLED

    @njit
    def hbt_noop(hbt):
        n = 0
        while hbt.wait_next_feed(False, 1 << 62) == 2:
            n += 1
        return n

    @njit
    def hbt_quote(hbt, requote):
        wakes = 0
        oids = np.full(2, -1, dtype=np.int64)
        cxl = np.zeros(2, dtype=np.int64)
        next_id = 1
        filled = 0
        while hbt.wait_next_feed(False, 1 << 62) == 2:
            wakes += 1
            depth = hbt.depth(0)
            bb = depth.best_bid_tick
            ba = depth.best_ask_tick
            tick = depth.tick_size
            orders = hbt.orders(0)
            done = False
            for s in range(2):
                touch = bb if s == 0 else ba
                ok = (bb > -(1 << 62)) if s == 0 else (ba < (1 << 62))
                oid = oids[s]
                if oid >= 0:
                    o = orders.get(oid)
                    st = o.status
                    if st == H_FILLED or st == H_CANCELED or st == H_EXPIRED:
                        if st == H_FILLED:
                            filled += 1
                        oid = -1
                        oids[s] = -1
                        cxl[s] = 0
                        done = True
                    elif o.cancellable and cxl[s] == 0 and ok:
                        if abs(o.price_tick - touch) > requote:
                            hbt.cancel(0, oid, False)
                            cxl[s] = 1
                if oid < 0 and ok:
                    if s == 0:
                        hbt.submit_buy_order(0, next_id, touch * tick, 1.0, GTX, LIMIT, False)
                    else:
                        hbt.submit_sell_order(0, next_id, touch * tick, 1.0, GTX, LIMIT, False)
                    oids[s] = next_id
                    next_id += 1
            if done:
                hbt.clear_inactive_orders(0)
        return wakes, next_id - 1, filled

    return hbt_noop, hbt_quote


def _hbt_backtest(data, tick_size, lot_size, latency_ns, qn):
    import hftbacktest as hb

    a = hb.BacktestAsset().data(data).linear_asset(1.0)
    a = (a.constant_order_latency(latency_ns, latency_ns) if hasattr(a, "constant_order_latency")
         else a.constant_latency(latency_ns, latency_ns))
    a = (a.power_prob_queue_model(qn).no_partial_fill_exchange().trading_value_fee_model(0.0, 0.0)
         .tick_size(tick_size).lot_size(lot_size))
    return hb.HashMapMarketDepthBacktest([a])


def _best(fn, repeat):
    t = best_of(fn, repeat)
    return t.wall, t.out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--events", type=int, default=0, help="first N events of the day (0 = all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--latency-us", type=float, default=50.0, help="entry = response latency")
    ap.add_argument("--queue-n", type=float, default=2.0, help="power of the queue model")
    ap.add_argument("--requote-ticks", type=int, default=2)
    ap.add_argument("--fill-tol", type=float, default=0.25)
    args = ap.parse_args(argv)

    try:
        import hftbacktest  # noqa: F401
    except Exception as e:  # ImportError, or a binary that does not load
        reason = f"hftbacktest not importable ({type(e).__name__}: {e}); pip install hftbacktest --no-deps"
        print(f"bench_vs_hftbacktest: skipped: {reason}")
        if args.json:
            from companion.cli import print_json_last
            print_json_last({"skipped": reason})
        return 0

    import hftbacktest as hb

    from companion import data as cdata
    from companion.io.hftbacktest import asset_params, to_hftbacktest

    d = cdata.load("synthetic")
    ev, book, ins = d.events, d.book, d.instrument
    if args.events:
        ev, book = ev[: args.events], book[: args.events]
    n = len(ev)
    lat = int(round(args.latency_us * 1000))
    t0 = time.perf_counter()
    hdata = to_hftbacktest(ev, ins)
    t_export = time.perf_counter() - t0
    ap_ = asset_params(ins)
    hbt_noop, hbt_quote = _hbt_strategies()
    params = np.array([float(ins.tick), float(args.requote_ticks)])

    def ours(strategy, e, b):
        sim = Simulator(e, b, tick=ins.tick, lot=ins.lot, queue=PowerProbQueue(args.queue_n),
                        entry_latency=ConstantLatency(lat), response_latency=lat,
                        max_orders=100_000)
        return sim.run(strategy, params, np.array([-1.0, -1.0, 0.0, 0.0]))

    def theirs(which, hd):
        bt = _hbt_backtest(hd, ap_["tick_size"], ap_["lot_size"], lat, args.queue_n)
        r = hbt_noop(bt) if which == "noop" else hbt_quote(bt, args.requote_ticks)
        sv = bt.state_values(0)
        res = (r, int(sv.num_trades), float(sv.position))
        bt.close()
        return res

    # warm both JITs on a slice
    m = min(20_000, n)
    hwarm = to_hftbacktest(ev[:m], ins)
    for s in (ours_noop, ours_quote):
        ours(s, ev[:m], book[:m])
    theirs("noop", hwarm)
    theirs("quote", hwarm)

    out = {"events": n, "hbt_rows": int(len(hdata)), "export_s": t_export,
           "latency_ns": lat, "queue_n": args.queue_n, "requote_ticks": args.requote_ticks,
           "hftbacktest_version": getattr(hb, "__version__", "?")}
    for name, s in (("noop", ours_noop), ("quote", ours_quote)):
        t_o, r_o = _best(lambda s=s: ours(s, ev, book), args.repeat)
        t_h, r_h = _best(lambda name=name: theirs(name, hdata), args.repeat)
        row = {"ours_s": t_o, "hbt_s": t_h, "ours_ev_per_s": n / t_o, "hbt_ev_per_s": n / t_h,
               "ratio": t_h / t_o}
        if name == "quote":
            fills = r_o.fills
            of = r_o.orders
            wakes, h_orders, h_filled = r_h[0]
            row.update({
                "ours_orders": int(len(of)), "ours_fill_rows": int(len(fills)),
                "ours_filled_orders": int((of["status"] == FILLED).sum()),
                "ours_filled_qty": float(fills["qty"].sum()),
                "ours_position": float(r_o.position[-1]) if len(r_o.position) else 0.0,
                "hbt_wakeups": int(wakes), "hbt_orders": int(h_orders),
                "hbt_fills": r_h[1], "hbt_filled_orders_seen": int(h_filled),
                "hbt_position": r_h[2],
            })
            ref = max(row["hbt_fills"], 1)
            row["fill_rel_diff"] = (row["ours_filled_orders"] - row["hbt_fills"]) / ref
            row["fills_within_tol"] = abs(row["fill_rel_diff"]) <= args.fill_tol
        else:
            row["hbt_wakeups"] = int(r_h[0])
        out[name] = row
    out["fill_tol"] = args.fill_tol
    out["target_ratio"] = 1.5
    out["target_met"] = out["quote"]["ratio"] >= 1.5
    out["differences"] = DIFFERENCES

    print(f"events: {n:,} (hftbacktest rows {len(hdata):,}; export {t_export:.2f} s)  "
          f"latency {lat} ns, power queue n={args.queue_n}")
    for name in ("noop", "quote"):
        r = out[name]
        print(f"{name:6s} ours {r['ours_ev_per_s'] / 1e6:6.2f} M ev/s   hftbacktest "
              f"{r['hbt_ev_per_s'] / 1e6:6.2f} M ev/s   ratio {r['ratio']:.2f}x")
    q = out["quote"]
    print(f"quote fills: ours {q['ours_filled_orders']} filled orders ({q['ours_fill_rows']} fill rows, "
          f"{q['ours_orders']} orders); hftbacktest {q['hbt_fills']} fills ({q['hbt_orders']} orders); "
          f"rel. diff {q['fill_rel_diff']:+.1%} (tolerance +-{args.fill_tol:.0%}: "
          f"{'ok' if q['fills_within_tol'] else 'OUTSIDE'})")
    print(f"target ours >= 1.5x hftbacktest per-event: {'met' if out['target_met'] else 'NOT met'}")
    if args.json:
        from companion.cli import print_json_last
        print_json_last(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
