"""Queue-position models: hand-worked examples, and the kernel against a pure-Python reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
from test_sim_helpers import TICK, random_stream, replay_book

from companion.events import ADD, CANCEL, DELETE, EVENT_DTYPE, EXEC_HIDDEN, EXEC_VISIBLE
from companion.sim import LIMIT, MAKER, FIFOQueue, LogProbQueue, PowerProbQueue, RiskAverseQueue, Simulator
from companion.sim.queue import Q_LOG, Q_POWER, Q_RISK_AVERSE, queue_on_decrease_nb, queue_on_trade_nb, queue_prob_nb

MS = 1_000_000


# ---------------------------------------------------------------- the formulas, by hand
def test_prob_power_hand():
    assert queue_prob_nb(Q_POWER, 2.0, 10.0, 10.0) == pytest.approx(0.5)
    assert queue_prob_nb(Q_POWER, 3.0, 4.0, 8.0) == pytest.approx(512 / 576)
    assert queue_prob_nb(Q_POWER, 2.0, 0.0, 5.0) == 1.0     # nobody ahead: decrease is behind
    assert queue_prob_nb(Q_POWER, 2.0, 5.0, 0.0) == 0.0     # nobody behind
    assert queue_prob_nb(Q_POWER, 50.0, 1e6, 1.0) == pytest.approx(0.0)  # no overflow


def test_decrease_hand():
    # power n=2, front 10, back 10, cancel 5: p = .5 -> 10 - .5*5 + min(0, 10 - 2.5) = 7.5
    assert queue_on_decrease_nb(Q_POWER, 2.0, 10.0, 20.0, 15.0, 5.0) == pytest.approx(7.5)
    # power n=3, front 4, back 8, cancel 6: p = 8/9 -> 4 - 6/9 + min(0, 8 - 48/9) = 3.3333
    assert queue_on_decrease_nb(Q_POWER, 3.0, 4.0, 12.0, 6.0, 6.0) == pytest.approx(4 - 6 / 9)
    # log, front 3, back 9, cancel 4: p = ln10/(ln10+ln4)
    p = math.log(10) / (math.log(10) + math.log(4))
    assert queue_on_decrease_nb(Q_LOG, 0.0, 3.0, 12.0, 8.0, 4.0) == pytest.approx(3 - (1 - p) * 4)
    # p * chg exceeds the back: the overflow comes out of the front.
    # front 1, back 3, p = 9/10, chg 3.5: 1 - .35 + min(0, 3 - 3.15) = 0.5
    assert queue_on_decrease_nb(Q_POWER, 2.0, 1.0, 4.0, 0.5, 3.5) == pytest.approx(0.5)
    # risk averse: cancels never advance us; only the physical clamp to the level size
    assert queue_on_decrease_nb(Q_RISK_AVERSE, 0.0, 10.0, 15.0, 11.0, 4.0) == 10.0
    assert queue_on_decrease_nb(Q_RISK_AVERSE, 0.0, 10.0, 15.0, 6.0, 9.0) == 6.0


def test_trade_hand():
    assert queue_on_trade_nb(3.0, 2.0) == (1.0, 0.0)
    assert queue_on_trade_nb(3.0, 5.0) == (0.0, 2.0)   # 2 traded beyond the queue fill us


# ---------------------------------------------------------------- one worked stream, all models
def _fifo_stream():
    """Bid queue at 100: A(5), B(3) before us, C(4) after us.  Then: cancel 1 of C, cancel 2 of A,
    execute B (3), delete A (3), execute C 2, execute C 1."""
    rows = [(ADD, 1, 100, 5, 1), (ADD, 1, 100, 3, 2), (ADD, -1, 200, 10, 9),   # we join here
            (ADD, 1, 100, 4, 3), (CANCEL, 1, 100, 1, 3), (CANCEL, 1, 100, 2, 1),
            (EXEC_VISIBLE, 1, 100, 3, 2), (DELETE, 1, 100, 3, 1), (EXEC_VISIBLE, 1, 100, 2, 3),
            (EXEC_VISIBLE, 1, 100, 1, 3)]
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (k, s, p, v, oid) in enumerate(rows):
        ev[i] = ((i + 1) * MS, (i + 1) * MS, k, s, p, v, oid)
    return ev, replay_book(ev, 3)


def _run_one(queue, ev, book, k0=2, side=1, price=100, qty=5.0):
    sim = Simulator(ev, book, tick=1, queue=queue)

    def cb(ctx):
        if ctx.k == k0:
            ctx.submit(side, qty, price, LIMIT)
    return sim.run_python(cb)


def test_fifo_hand_example():
    ev, book = _fifo_stream()
    res = _run_one(FIFOQueue(), ev, book)
    f = res.fills
    # we are ahead of C: its executions fill us (2 then 1); A and B leave the queue before us
    assert f["event_idx"].tolist() == [8, 9]
    assert f["qty"].tolist() == [2.0, 1.0]
    assert (f["liquidity"] == MAKER).all() and (f["price"] == 100).all()
    assert res.orders["filled"][0] == 3.0 and res.orders["queue_ahead"][0] == 0.0


def test_risk_averse_hand_example():
    ev, book = _fifo_stream()
    res = _run_one(RiskAverseQueue(), ev, book)
    # front 8; cancels ignored (8); exec B 3 -> 5; delete A: level 3 -> clamp 3; execs 2, 1 -> 0
    assert len(res.fills) == 0
    assert res.orders["queue_ahead"][0] == 0.0


def _prob_reference(f):
    front, level = 8.0, 8.0
    level += 4                                   # C joins behind
    for chg in (1.0, 2.0):                       # cancels
        back = level - front
        p = f(back) / (f(back) + f(front))
        front = min(front - (1 - p) * chg + min(0.0, back - p * chg), level - chg)
        level -= chg
    front -= 3; level -= 3                       # exec B
    back = level - front                         # delete A (3)
    p = f(back) / (f(back) + f(front))
    front = min(front - (1 - p) * 3 + min(0.0, back - p * 3), level - 3)
    fill1 = 2 - front                            # exec C 2 beyond the queue
    return [fill1, 1.0]


@pytest.mark.parametrize("queue,f", [(PowerProbQueue(2.0), lambda x: x ** 2),
                                     (PowerProbQueue(3.0), lambda x: x ** 3),
                                     (LogProbQueue(), lambda x: math.log1p(x))])
def test_prob_hand_example(queue, f):
    ev, book = _fifo_stream()
    res = _run_one(queue, ev, book)
    want = _prob_reference(f)
    assert res.fills["qty"] == pytest.approx(want)
    if isinstance(queue, PowerProbQueue) and queue.n == 2.0:
        assert want[0] == pytest.approx(0.50529, abs=1e-5)   # worked on paper (5 digits)


# ---------------------------------------------------------------- random streams vs reference
def _reference_single(ev, book, k0, side, price, qty, model, n):
    """Plain-Python fills (event index, qty) of one resting limit order that joins after event
    ``k0``. FIFO keeps the explicit list of order ids ahead of us."""
    c = 2 if side > 0 else 0
    front = 0.0
    for lv in range(book.shape[1] // 4):
        if book[k0, 4 * lv + c] == price:
            front = book[k0, 4 * lv + c + 1]
    level = front
    live = {}
    for e in ev[: k0 + 1]:
        k, oid = int(e["kind"]), int(e["order_id"])
        if k == ADD:
            live[oid] = [int(e["side"]), int(e["price"]), float(e["size"])]
        elif k in (CANCEL, EXEC_VISIBLE):
            live[oid][2] -= e["size"]
            if live[oid][2] <= 0:
                del live[oid]
        elif k == DELETE:
            del live[oid]
    ahead = {oid: q[2] for oid, q in live.items() if q[0] == side and q[1] == price}
    filled, fills, shadow = 0.0, [], 0.0
    f = (lambda x: x ** n) if model == "power" else (lambda x: math.log1p(x))
    for j in range(k0 + 1, len(ev)):
        if filled >= qty:
            break
        k, s, p, v, oid = (int(ev[j]["kind"]), int(ev[j]["side"]), int(ev[j]["price"]),
                           float(ev[j]["size"]), int(ev[j]["order_id"]))
        avail = 0.0
        if s == side and p == price:
            if k == ADD:
                level += v
            elif k in (CANCEL, DELETE):
                if model == "fifo":
                    if oid in ahead:
                        ahead[oid] -= v
                        front = sum(ahead.values())
                elif model == "ra":
                    front = min(front, level - v)
                else:
                    back = level - front
                    pr = 1.0 if back <= 0 else f(back) / (f(back) + f(front))
                    front = max(0.0, min(front - (1 - pr) * v + min(0.0, back - pr * v), level - v))
                level -= v
            elif k == EXEC_VISIBLE:
                if model == "fifo" and oid in ahead:
                    ahead[oid] -= v
                    front = sum(ahead.values())
                else:
                    avail = max(0.0, v - front)
                    front = max(0.0, front - v)
                level -= v
        if k in (EXEC_VISIBLE, EXEC_HIDDEN) and s == side and side * (price - p) > 0:
            avail = qty
        if avail > 0:
            q = min(avail, qty - filled)
            fills.append((j, q))
            filled += q
        c_opp = 0 if side > 0 else 2
        cq = sum(book[j, 4 * lv + c_opp + 1] for lv in range(book.shape[1] // 4)
                 if book[j, 4 * lv + c_opp + 1] > 0 and side * (price - book[j, 4 * lv + c_opp]) >= 0)
        shadow = min(shadow, cq)
        if filled < qty and cq > shadow:
            q = min(cq - shadow, qty - filled)
            shadow += q
            fills.append((j, q))
            filled += q
    return fills


@pytest.mark.parametrize("model,queue", [("ra", RiskAverseQueue()), ("power", PowerProbQueue(2.0)),
                                         ("log", LogProbQueue()), ("fifo", FIFOQueue())])
def test_single_order_matches_reference(model, queue):
    n_checked = n_filled = 0
    for seed in range(60):
        ev = random_stream(seed, n=150, strict_ts=True)
        book = replay_book(ev, levels=60)   # deep enough that every price is visible
        rng = np.random.default_rng(seed + 1000)
        k0 = int(rng.integers(5, 60))
        side = 1 if rng.random() < 0.5 else -1
        best = book[k0, 2] if side > 0 else book[k0, 0]
        if (book[k0, 3] if side > 0 else book[k0, 1]) <= 0:
            continue
        price = int(best - side * TICK * int(rng.integers(0, 3)))
        qty = float(rng.integers(1, 15))
        res = _run_one(queue, ev, book, k0=k0, side=side, price=price, qty=qty)
        got = [(int(a), float(b)) for a, b in zip(res.fills["event_idx"], res.fills["qty"])]
        want = _reference_single(ev, book, k0, side, price, qty, model, 2.0)
        assert len(got) == len(want), (seed, got, want)
        for (ga, gb), (wa, wb) in zip(got, want):
            assert ga == wa and gb == pytest.approx(wb, abs=1e-9), (seed, got, want)
        n_checked += 1
        n_filled += bool(got)
    assert n_checked >= 40 and n_filled >= 5


# ---------------------------------------------------------------- the model objects (one QueueModel base)
def test_queue_model_objects():
    from companion.sim.queue import Q_FIFO, QueueModel

    models = [RiskAverseQueue(), PowerProbQueue(3.0), LogProbQueue(), FIFOQueue()]
    assert [m.code for m in models] == [Q_RISK_AVERSE, Q_POWER, Q_LOG, Q_FIFO]
    assert all(isinstance(m, QueueModel) for m in models)
    assert PowerProbQueue().n == 2.0 and RiskAverseQueue().n == 0.0
    assert LogProbQueue() != RiskAverseQueue() and FIFOQueue() == FIFOQueue()   # equal only within a class
    assert repr(PowerProbQueue(3.0)) == "PowerProbQueue(n=3.0)"
    with pytest.raises(AttributeError):
        FIFOQueue().n = 1.0                                                      # frozen
