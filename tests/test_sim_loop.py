"""The simulator's one loop (``companion.sim.kernels.loop_nb``) behind its three entry points:
the fused fast path (``run_strategy_nb``: the jitted strategy called inside the loop), the
returning path (``step_nb``: return at every wake-up, re-enter with the actions; the Python
teaching path drives it) and the paper venue (``paper_step_nb``: events known chunk by chunk).

Same events, settings and strategy code: every field of every order, fill and risk-log row, and
the position / cash series, must be identical across the three, on many random streams, with
random (often invalid) orders, every queue model, random latencies and risk limits that fire.
"""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from test_sim_helpers import TICK, random_stream, replay_book

from companion.live.venue import NEED_DATA, paper_step_nb
from companion.sim import (
    EmpiricalLatency,
    Fees,
    FIFOQueue,
    LognormalLatency,
    LogProbQueue,
    PowerProbQueue,
    RiskAverseQueue,
    RiskLimits,
    Simulator,
    SqrtImpact,
)
from companion.sim import kernels as ex
from companion.sim.context import cancel, submit

MS = 1_000_000


@njit
def _random_nb(ctx, params, state):
    """Random orders of every type (and invalid ones: type 0, off-tick prices) and random cancels
    (sometimes of ids that do not exist); xorshift state in ``state[0]``."""
    row, n_orders = ctx.book, ctx.n_orders
    for rep in range(2):
        x = state[0]
        x ^= (x << 13) & 0x7FFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0x7FFFFFFFFFFFFFFF
        if x <= 0:
            x = 88172645463325252
        state[0] = x
        u = (x % 1000) / 1000.0
        if rep == 0 and u < params[0]:
            side = 1 if (x >> 11) % 2 == 0 else -1
            ref = row[2] if side > 0 else row[0]
            if not (ref > 0 and ref < 9e9):
                ref = 10_000.0 * params[1]
            price = np.int64(ref) + np.int64(params[1]) * ((x >> 17) % 7 - 3)
            if (x >> 21) % 25 == 0:
                price += 37
            submit(ctx, side, float(1 + (x >> 25) % 12), price, (x >> 13) % 6)
        elif rep == 1 and n_orders > 0 and u < params[2]:
            cancel(ctx, (x >> 9) % (n_orders + 2))


QUEUES = [RiskAverseQueue(), PowerProbQueue(2.0), LogProbQueue(), FIFOQueue()]
RISKS = [None, RiskLimits(max_position=8, max_loss=2_000 * TICK, position_timeout_ns=50 * MS,
                          max_spread=12 * TICK, max_trades_per_min=40),
         RiskLimits(max_position=5), RiskLimits(max_position=float("inf"))]


def _sim(seed, feed_latency=0):
    ev = random_stream(seed % 16, n=600)
    book = replay_book(ev, levels=3)
    kw = dict(tick=TICK, queue=QUEUES[seed % 4], fees=Fees(maker=-1, taker=3),
              feed_latency=feed_latency,
              entry_latency=LognormalLatency(MS / 5, 0.7) if seed % 2 else MS // 4,
              response_latency=EmpiricalLatency((0, MS // 10, MS)) if seed % 3 else MS // 5,
              risk=RISKS[seed % 4], impact=SqrtImpact(0.5, 0.01, 1e5) if seed % 5 == 0 else None,
              wake_interval_ns=MS // 2 if seed % 7 == 3 else 0, seed=seed, max_risk_events=50_000)
    return ev, book, kw


def _params(seed):
    return np.array([0.3, float(TICK), 0.15]), np.array([1234567 + 7919 * seed], np.int64)


def _assert_same(a, b):
    for what in ("orders", "fills", "risk_events"):
        x, y = getattr(a, what), getattr(b, what)
        assert len(x) == len(y), what
        for name in x.dtype.names:
            assert np.array_equal(x[name], y[name], equal_nan=x[name].dtype.kind == "f"), \
                f"{what}.{name}"
    assert np.array_equal(a.position, b.position) and np.array_equal(a.cash, b.cash)
    assert (a.local_position, a.local_cash, a.bad_cancels) == (b.local_position, b.local_cash,
                                                               b.bad_cancels)


def _run_returning(sim, params, state):
    """The returning loop (``step_nb``) driven from Python with the same jitted strategy."""
    sim._reset()
    n_act = 0
    while True:
        code = ex.step_nb(sim._mkt, sim._cfg, sim._lat, sim._limits, sim._st, sim._out,
                          sim._actions, n_act)
        if code != ex.WAKEUP:
            return sim._result(int(code))
        n_act = ex.wake_strategy_nb(_random_nb, sim._mkt, sim._st, sim._out, sim._actions, params,
                                    state)


def _run_paper(sim, params, state, chunk=37):
    """``paper_step_nb`` with the events revealed chunk by chunk (a chunk always ends at a
    timestamp boundary), then the end of the feed."""
    sim._reset()
    ts = sim._mkt[0]
    n = len(ts)
    n_known, n_act = 0, 0
    while True:
        final = n_known >= n
        until = int(ts[n_known - 1]) if n_known else -1
        code = paper_step_nb(sim._mkt, n_known, final, until, sim._cfg, sim._lat, sim._limits,
                             sim._st, sim._out, sim._actions, n_act)
        n_act = 0
        if code == NEED_DATA:
            m = min(n, n_known + chunk)
            while m < n and ts[m] == ts[m - 1]:
                m += 1
            n_known = m
            continue
        if code != ex.WAKEUP:
            return sim._result(int(code))
        n_act = ex.wake_strategy_nb(_random_nb, sim._mkt, sim._st, sim._out, sim._actions, params,
                                    state)


@pytest.mark.parametrize("seed", range(24))
def test_fused_equals_returning_loop(seed):
    ev, book, kw = _sim(seed, feed_latency=LognormalLatency(MS / 10, 0.5) if seed % 4 == 1
                        else MS // 20)
    params, s0 = _params(seed)
    fast = Simulator(ev, book, **kw).run(_random_nb, params, s0.copy())
    slow = _run_returning(Simulator(ev, book, **kw), params, s0.copy())
    assert len(fast.orders) > 0
    _assert_same(fast, slow)


@pytest.mark.parametrize("seed", range(12))
def test_paper_venue_loop_equals_batch(seed):
    # constant feed latency: a random one draws in a different order once data are streamed
    ev, book, kw = _sim(seed, feed_latency=MS // 20)
    params, s0 = _params(seed)
    fast = Simulator(ev, book, **kw).run(_random_nb, params, s0.copy())
    paper = _run_paper(Simulator(ev, book, **kw), params, s0.copy())
    _assert_same(fast, paper)


def test_risk_shortcut_equals_full_check():
    """No limit set (all inf: the loop skips the risk check) vs a limit that can never fire (the
    full check runs at every wake-up): the same run."""
    ev, book, kw = _sim(5)
    params, s0 = _params(5)
    kw["risk"] = None
    a = Simulator(ev, book, **kw).run(_random_nb, params, s0.copy())
    kw["risk"] = RiskLimits(max_trades_per_min=10**12, flat_at_ns=2**62)
    b = Simulator(ev, book, **kw).run(_random_nb, params, s0.copy())
    assert len(a.orders) > 20 and len(b.risk_events) == 0
    _assert_same(a, b)
