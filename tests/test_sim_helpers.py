"""Helpers for the simulator tests: a pure-Python L3 book replay and a random LOBSTER-like stream.

(The project's numba book engine lives in ``companion.book``; these tests keep their own
obviously-correct reference so the simulator can be tested on its own.)
"""
from __future__ import annotations

import numpy as np

from companion.events import ADD, CANCEL, DELETE, DUMMY_ASK, DUMMY_BID, EVENT_DTYPE, EXEC_HIDDEN, EXEC_VISIBLE

TICK = 100


def replay_book(events: np.ndarray, levels: int = 5) -> np.ndarray:
    """LOBSTER-layout snapshots (row i = book after event i) from L3 events, in plain Python."""
    live: dict[int, list] = {}   # id -> [side, price, size]
    out = np.zeros((len(events), 4 * levels))
    for i, e in enumerate(events):
        k, s, p, v, oid = int(e["kind"]), int(e["side"]), int(e["price"]), float(e["size"]), int(e["order_id"])
        if k == ADD:
            live[oid] = [s, p, v]
        elif k in (CANCEL, EXEC_VISIBLE):
            live[oid][2] -= v
            if live[oid][2] <= 1e-12:
                del live[oid]
        elif k == DELETE:
            del live[oid]
        agg = {1: {}, -1: {}}
        for s_, p_, v_ in live.values():
            agg[s_][p_] = agg[s_].get(p_, 0.0) + v_
        asks = sorted(agg[-1].items())
        bids = sorted(agg[1].items(), reverse=True)
        for lv in range(levels):
            out[i, 4 * lv: 4 * lv + 2] = asks[lv] if lv < len(asks) else (DUMMY_ASK, 0)
            out[i, 4 * lv + 2: 4 * lv + 4] = bids[lv] if lv < len(bids) else (DUMMY_BID, 0)
    return out


def random_stream(seed: int, n: int = 120, strict_ts: bool = False) -> np.ndarray:
    """A random but consistent L3 stream: adds, partial cancels, deletes, FIFO executions at the
    best price, a few hidden executions; prices in multiples of ``TICK`` around 10000*TICK."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    live: dict[int, list] = {}   # id -> [side, price, size, add_seq]
    next_id = 1
    t = 34_200 * 10**9
    mid = 10_000
    for i in range(n):
        t += int(rng.integers(1 if strict_ts else 0, 2_000_000))
        bids = [p for s, p, _, _ in live.values() if s == 1]
        asks = [p for s, p, _, _ in live.values() if s == -1]
        bb = max(bids) if bids else (mid - 1) * TICK
        ba = min(asks) if asks else (mid + 1) * TICK
        u = rng.random()
        if u < 0.42 or len(live) < 4:
            s = 1 if rng.random() < 0.5 else -1
            p = (bb // TICK - int(rng.integers(-1, 4))) * TICK if s == 1 else \
                (ba // TICK + int(rng.integers(-1, 4))) * TICK
            if s == 1 and p >= ba:
                p = ba - TICK
            if s == -1 and p <= bb:
                p = bb + TICK
            v = float(rng.integers(1, 20))
            live[next_id] = [s, p, v, i]
            ev[i] = (t, t, ADD, s, p, v, next_id)
            next_id += 1
        elif u < 0.6:
            oid = list(live)[int(rng.integers(len(live)))]
            s, p, v, _ = live[oid]
            if v > 1:
                c = float(rng.integers(1, int(v)))
                live[oid][2] -= c
                ev[i] = (t, t, CANCEL, s, p, c, oid)
            else:
                del live[oid]
                ev[i] = (t, t, DELETE, s, p, v, oid)
        elif u < 0.72:
            oid = list(live)[int(rng.integers(len(live)))]
            if rng.random() < 0.6:   # mostly at the touch, so that prices move
                touch = [o for o, q in live.items() if q[1] in (bb, ba)]
                oid = touch[int(rng.integers(len(touch)))] if touch else oid
            s, p, v, _ = live.pop(oid)
            ev[i] = (t, t, DELETE, s, p, v, oid)
        elif u < 0.95:
            s = 1 if rng.random() < 0.5 else -1
            side_orders = [(q[3], oid) for oid, q in live.items() if q[0] == s]
            if not side_orders:
                ev[i] = (t, t, EXEC_HIDDEN, s, (bb + ba) // 2 // TICK * TICK, 1.0, 0)
                continue
            best = max(live[o][1] for _, o in side_orders) if s == 1 else \
                min(live[o][1] for _, o in side_orders)
            first = min((seq, o) for seq, o in side_orders if live[o][1] == best)[1]
            v = float(rng.integers(1, int(live[first][2]) + 1)) if rng.random() < 0.5 else \
                live[first][2]
            live[first][2] -= v
            if live[first][2] <= 0:
                del live[first]
            ev[i] = (t, t, EXEC_VISIBLE, s, best, v, first)
        else:
            s = 1 if rng.random() < 0.5 else -1
            ev[i] = (t, t, EXEC_HIDDEN, s, (bb + ba) // 2 // TICK * TICK, float(rng.integers(1, 5)), 0)
    return ev


def test_replay_book_hand_example():
    ev = np.zeros(4, dtype=EVENT_DTYPE)
    ev["kind"] = [ADD, ADD, ADD, EXEC_VISIBLE]
    ev["side"] = [1, 1, -1, 1]
    ev["price"] = [100, 100, 200, 100]
    ev["size"] = [5, 3, 7, 6]
    ev["order_id"] = [1, 2, 3, 1]
    ev[3]["size"] = 5
    b = replay_book(ev, levels=2)
    assert b[1, 2:4].tolist() == [100, 8]
    assert b[2, 0:2].tolist() == [200, 7]
    assert b[3, 2:4].tolist() == [100, 3]
    assert b[3, 6] == DUMMY_BID and b[3, 7] == 0


def test_random_stream_is_consistent():
    for seed in range(20):
        ev = random_stream(seed)
        b = replay_book(ev)  # raises KeyError if an event refers to a dead order
        assert (np.diff(ev["ts"]) >= 0).all()
        ok = (b[:, 1] == 0) | (b[:, 3] == 0) | (b[:, 0] > b[:, 2])
        assert ok.all(), "book crossed"
