"""Crash-test worker for :mod:`companion.live.journal` (run as a subprocess by tests/test_live_journal.py).

    python tests/live_crash_worker.py DB --n N --seed S [--pause-after K] [--synchronous FULL]

Plays a deterministic (seeded) script of ``N`` executor inputs -- new orders, acks, rejects,
partial and full fills, cancels, late fills on cancelled orders, risk events, checkpoints --
against the journal at ``DB``, with *resume* semantics: it first calls ``recover()`` and starts at
the last checkpoint + 1, so every input after the checkpoint is re-sent (fills, orders, updates
and risk events after it are journal duplicates that must be ignored).

Progress protocol on stdout (one flushed line per step)::

    open                      about to open the journal (a kill now lands in open/recover)
    start <resume_seq>        recovered; replay starts at this input
    op <i> <kind> <changed>   input i applied and committed (changed 0 = journal duplicate)
    paused <i> <kind>         --pause-after: stopped right after the first input >= K; waits for SIGKILL
    done                      all N inputs processed
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SYMBOLS = {"BTCUSDT": 6_500_000, "ETHUSDT": 340_000}  # mid prices in price units (cents)


def make_script(n: int, seed: int) -> list[tuple]:
    """The deterministic input script: a list of ``(kind, *args)`` tuples, input ``i`` = entry ``i``.

    It tracks a tiny model of each order so that every input is legal for the journal (acks only
    on NEW orders, fills never beyond the order quantity, ...).
    """
    rng = random.Random(seed)
    ops: list[tuple] = []
    orders: dict[str, dict] = {}
    n_ord = n_fill = 0
    while len(ops) < n:
        i = len(ops)
        ts = 1_000_000 * (i + 1)
        new = [c for c, o in orders.items() if o["status"] == "NEW"]
        live = [c for c, o in orders.items() if o["status"] in ("NEW", "ACK", "PARTIAL")]
        fillable = [c for c, o in orders.items() if o["status"] in ("ACK", "PARTIAL")]
        late = [c for c, o in orders.items() if o["status"] == "CANCELLED" and o["qty"] > o["filled"]]
        r = rng.random()
        if r < 0.20 or not live:
            cid = f"c{n_ord:05d}"
            n_ord += 1
            sym = rng.choice(sorted(SYMBOLS))
            side = rng.choice((1, -1))
            price = SYMBOLS[sym] + rng.randint(-50, 50)
            qty = rng.randint(1, 12) * 0.25
            orders[cid] = {"status": "NEW", "qty": qty, "filled": 0.0, "side": side, "price": price}
            ops.append(("order", cid, sym, ts, side, price, qty, rng.choice(("LIMIT", "IOC", "POST_ONLY")),
                        rng.choice(("ofi", "mm"))))
        elif r < 0.36 and new:
            cid = rng.choice(new)
            if rng.random() < 0.12:
                orders[cid]["status"] = "REJECTED"
                ops.append(("update", cid, "REJECTED", ts, None, "POST_ONLY_WOULD_CROSS"))
            else:
                orders[cid]["status"] = "ACK"
                ops.append(("update", cid, "ACK", ts, f"V{cid}", ""))
        elif r < 0.72 and (fillable or late):
            cid = rng.choice(late) if late and rng.random() < 0.1 else rng.choice(fillable or late)
            o = orders[cid]
            rem_q = round((o["qty"] - o["filled"]) / 0.25)
            q = (rem_q if rng.random() < 0.4 else rng.randint(1, rem_q)) * 0.25
            o["filled"] += q
            if o["status"] != "CANCELLED":
                o["status"] = "FILLED" if o["filled"] >= o["qty"] else "PARTIAL"
            liq = rng.choice(("MAKER", "TAKER"))
            px = o["price"] + (0 if liq == "MAKER" else -o["side"] * rng.randint(0, 3))
            fee = (-0.5e-4 if liq == "MAKER" else 2e-4) * px * q
            ops.append(("fill", f"T{n_fill:06d}", cid, ts, px, q, o["side"], liq, fee))
            n_fill += 1
        elif r < 0.82 and live:
            cid = rng.choice(live)
            orders[cid]["status"] = "CANCELLED"
            ops.append(("update", cid, "CANCELLED", ts, None, rng.choice(("USER", "EXPIRED"))))
        elif r < 0.88:
            ops.append(("risk", ts, rng.choice(("MAX_POSITION", "LATENCY", "STALE_FEED")),
                        {"value": rng.randint(0, 100), "limit": 50}))
        else:
            ops.append(("checkpoint", ts))
    return ops


def apply(journal, i: int, op: tuple) -> bool:
    """Apply input ``i`` to the journal; return whether it changed anything."""
    kind, *a = op
    if kind == "order":
        cid, sym, ts, side, price, qty, otype, strat = a
        return journal.record_order(cid, sym, ts, side, price, qty, order_type=otype, strategy=strat, seq=i)
    if kind == "update":
        cid, status, ts, venue_id, reason = a
        return journal.update_order(cid, status, ts, venue_order_id=venue_id, reason=reason, seq=i)
    if kind == "fill":
        fid, cid, ts, px, q, side, liq, fee = a
        return journal.record_fill(fid, cid, ts, px, q, side, liquidity=liq, fee=fee, seq=i)
    if kind == "risk":
        ts, rkind, detail = a
        return journal.record_risk_event(ts, rkind, detail, seq=i)
    if kind == "checkpoint":
        return journal.checkpoint(i, ts=a[0], state={"inputs_done": i + 1})
    raise ValueError(f"unknown op kind {kind!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--pause-after", type=int, default=None)
    ap.add_argument("--synchronous", default="FULL")
    args = ap.parse_args(argv)

    from companion.live.journal import Journal

    script = make_script(args.n, args.seed)
    print("open", flush=True)
    with Journal(args.db, synchronous=args.synchronous) as journal:
        state = journal.recover()
        print(f"start {state.resume_seq}", flush=True)
        for i in range(state.resume_seq, args.n):
            changed = apply(journal, i, script[i])
            print(f"op {i} {script[i][0]} {int(changed)}", flush=True)
            if args.pause_after is not None and i >= args.pause_after:
                print(f"paused {i} {script[i][0]}", flush=True)
                while True:  # wait for the SIGKILL
                    time.sleep(1.0)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
