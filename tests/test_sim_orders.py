"""Order types, latency, fees, impact, risk and the numba fast path, on hand-built streams."""
from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from test_sim_helpers import TICK, random_stream, replay_book

from companion.events import ADD, EVENT_DTYPE, EXEC_VISIBLE
from companion.sim import (
    CANCELED,
    EXPIRED,
    FILLED,
    FOK,
    IOC,
    LIMIT,
    MAKER,
    MARKET,
    NEW,
    PARTIAL,
    POST_ONLY,
    REJECTED,
    TAKER,
    ConstantLatency,
    EmpiricalLatency,
    Fees,
    IntpLatency,
    LognormalLatency,
    PowerProbQueue,
    RiskLimits,
    Simulator,
    SqrtImpact,
)
from companion.sim.context import cancel, submit
from companion.sim.fees import FEE_BPS, FEE_PER_SHARE, fee_nb
from companion.sim.impact import sqrt_impact_price_nb
from companion.sim.latency import latency_draw_nb
from companion.sim.orders import (
    R_BAD_PRICE,
    R_BAD_QTY,
    R_BAD_TYPE,
    R_FOK_UNFILLABLE,
    R_NO_DEPTH,
    R_OFF_TICK,
    R_POST_ONLY_CROSS,
    R_RISK,
)
from companion.sim.risk import (
    ACTION_BLOCK,
    ACTION_CLOSE,
    ACTION_HALT,
    RULE_DAILY_LOSS,
    RULE_END_OF_DAY,
    RULE_MAX_LOSS,
    RULE_MAX_SPREAD,
    RULE_POSITION_TIMEOUT,
    RULE_TRADE_RATE,
    risk_check_nb,
)

MS = 1_000_000


def _ladder(extra=()):
    """Asks 101 x 5, 102 x 7, 103 x 9; bids 99 x 4, 98 x 6, 97 x 8 (3 levels), then ``extra``,
    then one deep bid (so orders sent at the last wake-up still reach a live exchange)."""
    rows = [(ADD, -1, 101, 5, 1), (ADD, -1, 102, 7, 2), (ADD, -1, 103, 9, 3),
            (ADD, 1, 99, 4, 4), (ADD, 1, 98, 6, 5), (ADD, 1, 97, 8, 6), *extra,
            (ADD, 1, 90, 1, 999)]
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (k, s, p, v, oid) in enumerate(rows):
        ev[i] = ((i + 1) * MS, (i + 1) * MS, k, s, p, v, oid)
    return ev, replay_book(ev, 3)


def _one(orders, extra=(), at=5, **kw):
    """Run a stream, submitting ``orders`` = [(side, qty, price, otype)] at wake-up ``at``."""
    ev, book = _ladder(extra)
    sim = Simulator(ev, book, tick=1, **kw)

    def cb(ctx):
        if ctx.k == at:
            for o in orders:
                ctx.submit(*o)
    return sim.run_python(cb)


def test_market_walks_the_book_then_expires():
    res = _one([(1, 15.0, 0, MARKET)], fees=Fees(taker=10.0))
    f = res.fills
    assert f["price"].tolist() == [101, 102, 103] and f["qty"].tolist() == [5, 7, 3]
    assert (f["liquidity"] == TAKER).all()
    assert f["fee"] == pytest.approx(10e-4 * f["price"] * f["qty"])
    assert res.orders["status"][0] == FILLED
    res = _one([(1, 30.0, 0, MARKET)])      # beyond the 3 visible levels, no impact model
    assert res.orders["filled"][0] == 21 and res.orders["status"][0] == EXPIRED
    assert res.orders["reason"][0] == R_NO_DEPTH


def test_market_with_sqrt_impact():
    # book: asks 101 x 5, 102 x 7, 103 x 9, best bid 99 -> arrival mid 100; a buy of 30 walks the
    # 21 visible shares at a cost of 5*1 + 7*2 + 9*3 = 46 from the mid, 9 remain
    walk = 5 * 1 + 7 * 2 + 9 * 3
    # (a) small law, 10 * sqrt(30 / 900) = 1.83 per share: the walk dominates, the remainder
    # pays the last visible price (total cost = max(walk, law) = the walk extended)
    res = _one([(1, 30.0, 0, MARKET)], impact=SqrtImpact(sigma=10.0, daily_volume=900.0))
    f = res.fills
    assert f["price"].tolist() == [101, 102, 103, 103] and f["qty"][-1] == 9
    assert res.orders["status"][0] == FILLED
    # (b) large law, 100 * sqrt(30 / 900) = 18.26 per share: the whole order costs the law from the
    # arrival mid -- not the walk plus the law on top (the old model: 103 + ceil(100 * sqrt(9/900)))
    law = 100.0 * np.sqrt(30.0 / 900.0)
    res = _one([(1, 30.0, 0, MARKET)], impact=SqrtImpact(sigma=100.0, daily_volume=900.0))
    o, f = res.orders, res.fills
    assert o["avg_price"][0] - 100.0 == pytest.approx(law, rel=1e-12)
    assert f["price"][-1] == pytest.approx(100.0 + (30 * law - walk) / 9, rel=1e-12)
    assert f["price"][-1] != 103 + 10
    # the kernel, a sell of 400 with nothing visible (mid 99): law 30 * sqrt(4) = 60 -> 39
    assert sqrt_impact_price_nb(-1, 99.0, 97.0, 400.0, 400.0, 0.0, 1.0, 30.0, 100.0) == 39.0
    # a law below the last visible level: never cheaper than the last visible price
    assert sqrt_impact_price_nb(1, 100.0, 103.0, 30.0, 9.0, walk, 1.0, 1.0, 900.0) == 103.0
    assert np.isnan(sqrt_impact_price_nb(1, 100.0, 103.0, 30.0, 9.0, walk, 1.0, 0.0, 900.0))
    assert SqrtImpact(sigma=100.0, daily_volume=900.0).cost(30.0) == pytest.approx(law)


def test_fok_with_sqrt_impact_respects_the_limit():
    imp = SqrtImpact(sigma=100.0, daily_volume=900.0)
    p_rem = 100.0 + (30 * 100.0 * np.sqrt(30.0 / 900.0) - 46) / 9      # 155.75
    o = _one([(1, 30.0, 160, FOK)], impact=imp).orders
    assert o["status"][0] == FILLED and o["filled"][0] == 30
    o = _one([(1, 30.0, 150, FOK)], impact=imp).orders
    assert p_rem > 150 and o["status"][0] == EXPIRED and o["reason"][0] == R_FOK_UNFILLABLE


def test_limit_ioc_fok_post_only():
    o = _one([(1, 8.0, 102, LIMIT)]).orders       # crosses: 5 @ 101 + 3 @ 102, filled as taker
    assert o["status"][0] == FILLED and o["avg_price"][0] == pytest.approx((5 * 101 + 3 * 102) / 8)
    o = _one([(1, 20.0, 102, IOC)]).orders        # 12 within 102, the rest expires
    assert o["status"][0] == EXPIRED and o["filled"][0] == 12
    o = _one([(1, 20.0, 102, FOK)]).orders        # all or nothing: only 12 within 102
    assert o["status"][0] == EXPIRED and o["reason"][0] == R_FOK_UNFILLABLE and o["filled"][0] == 0
    o = _one([(1, 12.0, 102, FOK)]).orders        # exactly 12 available
    assert o["status"][0] == FILLED and o["filled"][0] == 12
    o = _one([(1, 3.0, 101, POST_ONLY), (-1, 3.0, 100, POST_ONLY)]).orders
    assert o["status"][0] == REJECTED and o["reason"][0] == R_POST_ONLY_CROSS
    assert o["status"][1] == NEW and o["queue_ahead"][1] == 0.0        # inside the spread


def test_back_to_back_takers_share_the_book():
    """Orders arriving before the next market event meet the same book row: what the first took
    is not there for the next (the replay still shows it, the exchange would not)."""
    o = _one([(1, 8.0, 102, LIMIT), (1, 20.0, 102, IOC), (1, 1.0, 102, FOK), (1, 6.0, 0, MARKET)]).orders
    assert o["status"][0] == FILLED and o["avg_price"][0] == pytest.approx((5 * 101 + 3 * 102) / 8)
    assert o["status"][1] == EXPIRED and o["filled"][1] == 4 and o["avg_price"][1] == 102   # 7 - 3 left at 102
    assert o["status"][2] == EXPIRED and o["reason"][2] == R_FOK_UNFILLABLE                 # nothing left within 102
    assert o["status"][3] == FILLED and o["avg_price"][3] == 103                            # 101 and 102 used up
    # the tracking is per book row: after the next market event the replay's row is the reference
    # again (our orders never change the replayed data; the scope of this model, as in hftbacktest)
    ev, book = _ladder([(ADD, 1, 96, 1, 7)])

    def cb(ctx):
        if ctx.k in (5, 6):
            ctx.submit(1, 5.0, 0, MARKET)
    f = Simulator(ev, book, tick=1).run_python(cb).fills
    assert f["price"].tolist() == [101, 101]


def test_limit_remainder_rests_and_fills_as_maker():
    # buy 8 @ 101 takes 5 @ 101 and rests 3 @ 101. The replay still shows 5 @ 101 (our orders do
    # not change it): that phantom liquidity must not fill us again. A later execution of the
    # bid at 99 trades through our 101 bid: we fill the remaining 3 as maker.
    res = _one([(1, 8.0, 101, LIMIT)], extra=[(ADD, 1, 96, 1, 7), (EXEC_VISIBLE, 1, 99, 2, 4)])
    f = res.fills
    assert f["liquidity"].tolist() == [TAKER, MAKER]
    assert f["qty"].tolist() == [5, 3] and f["price"].tolist() == [101, 101]
    assert f["event_idx"].tolist() == [6, 7]


def test_crossing_fills_by_the_crossing_quantity():
    # resting bid 4 @ 100 (inside the spread); an ask of 3 @ 100 appears: fills 3, not 4
    res = _one([(1, 4.0, 100, LIMIT)], extra=[(ADD, -1, 100, 3, 7), (ADD, 1, 96, 1, 8)])
    assert res.fills["qty"].tolist() == [3.0] and res.fills["event_idx"].tolist() == [6]
    assert res.orders["status"][0] == PARTIAL


def test_rejects_have_reasons():
    res = _one([(1, 0.0, 99, LIMIT), (1, -2.0, 99, LIMIT), (1, np.nan, 99, LIMIT),
                (1, 1.0, 99, 42), (1, 1.0, 0, LIMIT), (1, 2.5, 99, LIMIT)], lot=1.0)
    o = res.orders
    assert (o["status"] == REJECTED).all()
    assert o["reason"].tolist() == [R_BAD_QTY, R_BAD_QTY, R_BAD_QTY, R_BAD_TYPE, R_BAD_PRICE,
                                    R_BAD_QTY]
    ev, book = _ladder()
    sim = Simulator(ev, book, tick=TICK)
    res = sim.run_python(lambda ctx: ctx.submit(1, 1.0, 99, LIMIT) if ctx.k == 5 else None)
    assert res.orders["reason"][0] == R_OFF_TICK and len(res.fills) == 0


def test_cancel_and_latency_timing():
    # rest a bid at 99 (queue 4), cancel it at the next wake-up; 2 ms entry, 1 ms response
    ev, book = _ladder([(ADD, 1, 96, 1, 7), (ADD, 1, 96, 1, 8), (ADD, 1, 96, 1, 9)])
    sim = Simulator(ev, book, tick=1, entry_latency=2 * MS, response_latency=ConstantLatency(MS))
    seen = []

    def cb(ctx):
        seen.append((ctx.k, ctx.t, ctx.orders["local_status"].tolist()))
        if ctx.k == 5:
            ctx.buy(1.0, 99)
        if ctx.k == 6:
            ctx.cancel(0)
    res = sim.run_python(cb)
    o = res.orders[0]
    assert o["ts_submit"] == 6 * MS and o["ts_arrive"] == 8 * MS and o["ts_ack"] == 9 * MS
    assert o["status"] == CANCELED and o["ts_done"] == 9 * MS      # sent at 7 ms, arrives 9 ms
    assert o["queue_ahead"] == 0 and o["arr_event"] == 8   # ties: the event at 8 ms goes first
    # the strategy learns of the ack at 9 ms (event 8) and of the cancel at 10 ms (event 9)
    assert [s for k, t, s in seen if k in (6, 7, 8)] == [[0], [0], [1]]
    assert seen[-1][2] == [CANCELED]


def test_latency_models():
    rng = np.array([12345], dtype=np.uint64)
    tab = np.array([[0, 100], [1000, 300]], dtype=np.int64)
    assert latency_draw_nb(3, 0.0, 0.0, tab, 500, rng) == 200        # interpolated
    assert latency_draw_nb(3, 0.0, 0.0, tab, 5000, rng) == 300       # clamped
    draws = [latency_draw_nb(2, 1000.0, 0.5, tab, 0, rng) for _ in range(4000)]
    assert np.median(draws) == pytest.approx(1000, rel=0.05)
    assert np.std(np.log(draws)) == pytest.approx(0.5, rel=0.05)
    emp = np.array([[0, 5], [0, 7]], dtype=np.int64)
    assert set(latency_draw_nb(1, 0.0, 0.0, emp, 0, rng) for _ in range(100)) == {5, 7}
    with pytest.raises(ValueError):
        IntpLatency((2, 1), (5, 5)).spec()
    with pytest.raises(ValueError):
        EmpiricalLatency(()).spec()
    # a seeded random latency run is reproducible; another seed differs
    ev = random_stream(3, n=150)
    book = replay_book(ev, 3)

    def cb(ctx):
        if ctx.k % 5 == 0 and ctx.best_bid == ctx.best_bid and ctx.best_ask == ctx.best_ask:
            ctx.submit(1 if ctx.k % 10 else -1, 3.0, int(ctx.best_bid if ctx.k % 10 else ctx.best_ask), LIMIT)
    kw = dict(tick=TICK, entry_latency=LognormalLatency(MS, 1.0), response_latency=MS,
              feed_latency=LognormalLatency(MS / 10, 1.0))
    a = Simulator(ev, book, seed=1, **kw).run_python(cb).orders["ts_arrive"]
    b = Simulator(ev, book, seed=1, **kw).run_python(cb).orders["ts_arrive"]
    c = Simulator(ev, book, seed=2, **kw).run_python(cb).orders["ts_arrive"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_fees():
    assert fee_nb(FEE_BPS, 2.0, 1000.0, 10.0) == pytest.approx(2.0)
    assert fee_nb(FEE_PER_SHARE, -20.0, 1000.0, 10.0) == -200.0
    res = _one([(1, 5.0, 0, MARKET)], fees=Fees(maker=-20, taker=30, unit="per_share"))
    assert res.fills["fee"][0] == 150 and res.cash[-1] == -(5 * 101) - 150
    with pytest.raises(ValueError):
        _ = Fees(unit="percent").unit_code


def test_risk_rules():
    inf = np.inf
    lim = np.array([10.0, 100.0, 1000.0, 5.0, 3.0, 1e6, 500.0])
    assert risk_check_nb(lim, 2_000_000, 0.0, 0.0, 1.0, -1, 0.0, 0)[:2] == (RULE_END_OF_DAY, ACTION_HALT)
    assert risk_check_nb(lim, 0, 0.0, -600.0, 1.0, -1, 0.0, 0)[:2] == (RULE_DAILY_LOSS, ACTION_HALT)
    assert risk_check_nb(lim, 0, 2.0, -150.0, 1.0, 0, 0.0, 0)[:2] == (RULE_MAX_LOSS, ACTION_CLOSE)
    assert risk_check_nb(lim, 5000, 2.0, 0.0, 1.0, 0, 0.0, 0)[:2] == (RULE_POSITION_TIMEOUT, ACTION_CLOSE)
    assert risk_check_nb(lim, 0, 0.0, 0.0, 6.0, -1, 0.0, 0)[:2] == (RULE_MAX_SPREAD, ACTION_BLOCK)
    assert risk_check_nb(lim, 0, 0.0, 0.0, 1.0, -1, 0.0, 3)[:2] == (RULE_TRADE_RATE, ACTION_BLOCK)
    off = np.full(7, inf)
    assert risk_check_nb(off, 10**18, 1e9, -1e18, 1e9, 0, 0.0, 10**6)[0] == 0


def test_risk_closes_on_timeout_and_rejects_over_max_position():
    ev, book = _ladder([(ADD, 1, 96, 1, 10 + j) for j in range(20)])
    sim = Simulator(ev, book, tick=1, entry_latency=MS // 2, response_latency=MS // 2,
                    risk=RiskLimits(max_position=5, position_timeout_ns=3 * MS))

    def cb(ctx):
        if ctx.k == 5:
            ctx.buy(5.0)          # market, fills 5 @ 101
            ctx.buy(1.0, 90)      # would make the worst case 6 > 5: rejected before sending
    res = sim.run_python(cb)
    o = res.orders
    assert o["status"][1] == REJECTED and o["reason"][1] == R_RISK and o["ts_arrive"][1] == -1
    rules = res.risk_frame()["rule"].tolist()
    assert rules[0] == "MAX_POSITION" and "POSITION_TIMEOUT" in rules
    close = o[o["by_risk"] == 1]
    assert len(close) == 1 and close["side"][0] == -1 and close["status"][0] == FILLED
    assert res.position[-1] == 0 and res.local_position == 0


def _mm_decide(book, pos, orders, n_orders, params, state):
    """Quote one lot at the touch on both sides, re-quote when the touch moves: returns
    (order ids to cancel, (side, price) quotes to submit) -- shared by both paths below."""
    bid, ask = book[2], book[0]
    cancels, quotes = [-1][:0], [(0, 0.0)][:0]
    if book[1] <= 0 or book[3] <= 0 or (bid == state[0] and ask == state[1]):
        return cancels, quotes
    first = int(state[2])   # orders before this one are all final
    while first < n_orders and orders[first]["local_status"] >= 3:
        first += 1
    state[2] = first
    for j in range(first, n_orders):
        ls = orders[j]["local_status"]
        if ls == 0 or ls == 1 or ls == 2:
            cancels.append(j)
            if len(cancels) >= 8:
                break
    for side, px in ((1, bid), (-1, ask)):
        if abs(pos + side * params[0]) <= params[1]:
            quotes.append((side, px))
    state[0], state[1] = bid, ask
    return cancels, quotes


_mm_decide_nb = njit(_nrt=True)(_mm_decide)  # allocates lists: NRT on explicitly


@njit(_nrt=True)  # the loop runs without NRT and callees inherit it unless they set it
def _mm_strategy(ctx, params, state):
    cancels, quotes = _mm_decide_nb(ctx.book, ctx.position, ctx.orders, ctx.n_orders, params, state)
    for j in cancels:
        cancel(ctx, j)
    for side, px in quotes:
        submit(ctx, side, params[0], np.int64(px), LIMIT)


def test_numba_fast_path_equals_python_path():
    ev = random_stream(11, n=1500)
    book = replay_book(ev, 3)
    kw = dict(tick=TICK, queue=PowerProbQueue(2.0), entry_latency=LognormalLatency(MS / 5, 0.5),
              response_latency=MS // 5, fees=Fees(maker=-1, taker=3), seed=7)
    params = np.array([2.0, 6.0])
    fast = Simulator(ev, book, **kw).run(_mm_strategy, params, np.zeros(3))
    state = np.zeros(3)

    def cb(ctx):
        cancels, quotes = _mm_decide(ctx.book, ctx.position, ctx.orders, len(ctx.orders), params,
                                     state)
        for j in cancels:
            ctx.cancel(int(j))
        for side, px in quotes:
            ctx.submit(side, float(params[0]), int(np.int64(px)), LIMIT)
    slow = Simulator(ev, book, **kw).run_python(cb)
    assert len(fast.fills) > 5 and (fast.fills["liquidity"] == MAKER).any()
    for name in fast.orders.dtype.names:
        assert np.array_equal(fast.orders[name], slow.orders[name], equal_nan=True), name
    assert np.array_equal(fast.fills, slow.fills)
    assert np.array_equal(fast.cash, slow.cash)
    eq = fast.equity()
    assert eq.index.is_monotonic_increasing and len(eq) == len(ev)
