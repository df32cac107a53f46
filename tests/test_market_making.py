"""Market making (companion.backtest.market_making): GLFT / AS closed forms to 1e-12, the kernel's
quotes on hand-built contexts (rounding, inventory skew, alpha, max position, pulls, requote
threshold), the causal estimators against slow references with no-lookahead perturbation tests,
numba path == Python path on a short synthetic day, flat at the close; venue fee schedules."""
from __future__ import annotations

import math

import numpy as np
import pytest

from companion import synth
from companion.backtest import ExecutionConfig, run_backtest
from companion.backtest.market_making import (
    GLFT,
    AvellanedaStoikov,
    Grid,
    avellaneda_stoikov_quotes,
    glft_coefficients,
    glft_quotes,
    market_maker_nb,
    rolling_intensity,
    rolling_volatility,
)
from companion.backtest.strategies import N_DEC
from companion.events import EVENT_DTYPE, EXEC_VISIBLE, NS, TRADE, Instrument
from companion.sim import Fees, RiskLimits
from companion.sim.context import new_context
from companion.sim.orders import ACT_CANCEL, ACT_SUBMIT, ACTION_DTYPE, NEW, ORDER_DTYPE, POST_ONLY

INST = Instrument("TEST", tick=100, price_scale=10_000, session_open_ns=0,
                  session_close_ns=3600 * NS, levels=1, venue="NASDAQ")


# ------------------------------------------------------------------------------------------
# closed forms
def _glft_by_hand(q, sigma, A, k, gamma):
    c1 = 1.0 / gamma * math.log(1.0 + gamma / k)
    c2 = math.sqrt(gamma / (2.0 * A * k) * (1.0 + gamma / k) ** (k / gamma + 1.0))
    return c1 + (2 * q + 1) / 2 * sigma * c2, c1 - (2 * q - 1) / 2 * sigma * c2   # delta_b, delta_a


@pytest.mark.parametrize("gamma,A,k,sigma", [(0.1, 2.0, 0.5, 1.0), (0.05, 3.0, 0.8, 1.7),
                                             (1.0, 0.4, 2.5, 0.3)])
@pytest.mark.parametrize("q", [-3.0, -1.0, 0.0, 0.5, 2.0, 5.0])
def test_glft_quotes_equal_the_closed_form(gamma, A, k, sigma, q):
    db, da = _glft_by_hand(q, sigma, A, k, gamma)
    b, a = glft_quotes(0.0, q, sigma=sigma, A=A, k=k, gamma=gamma)
    assert abs(-b - db) < 1e-12 and abs(a - da) < 1e-12
    # alpha shifts both quotes; the spread is inventory-free
    b2, a2 = glft_quotes(0.0, q, sigma=sigma, A=A, k=k, gamma=gamma, alpha=0.75)
    assert abs(b2 - b - 0.75) < 1e-12 and abs(a2 - a - 0.75) < 1e-12
    assert abs((a - b) - (db + da)) < 1e-12


def test_glft_coefficients_by_hand():
    # gamma 0.1, A 2, k 0.5: c1 = 10 ln 1.2, c2 = sqrt(0.05 * 1.2**6)
    c1, c2 = glft_coefficients(0.1, 2.0, 0.5)
    assert c1 == pytest.approx(10 * math.log(1.2), abs=1e-12)
    assert c2 == pytest.approx(math.sqrt(0.05 * 1.2 ** 6), abs=1e-12)
    assert all(math.isnan(x) for x in glft_coefficients(0.0, 2.0, 0.5))


def test_avellaneda_stoikov_closed_form():
    g, s, k, tau, q = 0.2, 0.8, 1.5, 30.0, -2.0
    r = 0.0 - q * g * s * s * tau
    half = 0.5 * g * s * s * tau + math.log(1 + g / k) / g
    b, a = avellaneda_stoikov_quotes(0.0, q, sigma=s, k=k, gamma=g, tau=tau)
    assert abs(b - (r - half)) < 1e-12 and abs(a - (r + half)) < 1e-12


# ------------------------------------------------------------------------------------------
# the kernel on hand-built contexts
def _run_kernel(strategy, row, *, position=0.0, value=0.0, orders=None, state=None, t=0):
    p = strategy._param_vector(INST, 1000)
    orders = np.zeros(0, ORDER_DTYPE) if orders is None else orders
    st = np.array([-1.0, -1.0, 0.0, 0.0]) if state is None else state
    us = (st, np.zeros(1, np.int8), np.array([value]), np.zeros((1000, N_DEC)),
          np.full((1, 3), np.nan))
    acts = np.zeros(8, ACTION_DTYPE)
    ctx = new_context(t, 0, np.asarray(row, np.float64), position, 0.0, orders, len(orders), acts,
                      np.zeros(2, np.int64))
    market_maker_nb(ctx, p, us)
    n = int(ctx.counters[0])
    return acts[:n], st


ROW = [10_100.0, 500.0, 10_000.0, 500.0]   # ask 101.00 x 500, bid 100.00 x 500: mid 100.5 ticks
FIX = dict(sigma=1.0, A=2.0, k=0.5, gamma=0.1, quote_size=100.0, max_position=500.0)


@pytest.mark.parametrize("position", [0.0, 200.0, -300.0])
def test_kernel_quotes_are_the_rounded_glft_targets(position):
    acts, st = _run_kernel(GLFT(**FIX), ROW, position=position)
    b, a = glft_quotes(100.5, position / 100.0, sigma=1.0, A=2.0, k=0.5, gamma=0.1)
    exp_b = min(math.floor(b) * 100, 10_100 - 100)
    exp_a = max(math.ceil(a) * 100, 10_000 + 100)
    assert [x["kind"] for x in acts] == [ACT_SUBMIT, ACT_SUBMIT]
    assert (acts[0]["side"], acts[0]["price"], acts[0]["qty"]) == (1, exp_b, 100.0)
    assert (acts[1]["side"], acts[1]["price"]) == (-1, exp_a)
    assert (acts["otype"] == POST_ONLY).all()
    assert st[0] == 0 and st[1] == 1 and st[2] == exp_b and st[3] == exp_a


def test_kernel_alpha_skew_and_max_position():
    base, _ = _run_kernel(GLFT(**FIX), ROW)
    up, _ = _run_kernel(GLFT(**FIX, alpha_scale=4.0), ROW, value=0.5)   # +2 ticks
    assert up[0]["price"] - base[0]["price"] == 200 and up[1]["price"] - base[1]["price"] == 200
    nan_alpha, _ = _run_kernel(GLFT(**FIX, alpha_scale=4.0), ROW, value=np.nan)  # no forecast yet
    assert (nan_alpha["price"] == base["price"]).all()
    long_, _ = _run_kernel(GLFT(**FIX), ROW, position=450.0)          # 450 + 100 > 500: no bid
    assert len(long_) == 1 and long_[0]["side"] == -1
    short, _ = _run_kernel(GLFT(**FIX), ROW, position=-500.0)
    assert len(short) == 1 and short[0]["side"] == 1


def test_kernel_never_crosses_and_rounds_outwards():
    # a huge alpha pushes the bid target above the ask: clamped to ask - 1 tick (post-only)
    acts, _ = _run_kernel(Grid(half_spread_ticks=0.5, skew_ticks=0.0, alpha_scale=10.0), ROW, value=1.0)
    assert acts[0]["price"] == 10_000 and acts[1]["price"] == 11_100
    # grid at 0.5 ticks around mid 100.5: exactly the touch
    acts, _ = _run_kernel(Grid(half_spread_ticks=0.5, skew_ticks=0.0), ROW)
    assert (acts[0]["price"], acts[1]["price"]) == (10_000, 10_100)


def _live(side, price, n=2):
    o = np.zeros(n, ORDER_DTYPE)
    o["local_status"] = NEW
    o["side"] = [1, -1][:n]
    o["price"][0] = price
    return o


def test_kernel_pulls_on_wide_spread_and_high_sigma():
    wide = [10_400.0, 500.0, 10_000.0, 500.0]                          # 4-tick spread
    acts, _ = _run_kernel(GLFT(**FIX, max_spread_ticks=3), wide)
    assert len(acts) == 0
    # with live quotes: both are cancelled
    o = _live(1, 9_800)
    acts, st = _run_kernel(GLFT(**FIX, max_spread_ticks=3), wide, orders=o,
                           state=np.array([0.0, 1.0, 9_800.0, 10_300.0]))
    assert [(x["kind"], x["order_id"]) for x in acts] == [(ACT_CANCEL, 0), (ACT_CANCEL, 1)]
    assert st[0] == -1 and st[1] == -1
    acts, _ = _run_kernel(GLFT(**{**FIX, "sigma": 5.0}, max_sigma=4.0), ROW)
    assert len(acts) == 0


def test_kernel_requote_threshold_keeps_queue_priority():
    acts, _ = _run_kernel(GLFT(**FIX), ROW)
    b, a = int(acts[0]["price"]), int(acts[1]["price"])
    o = _live(1, b)
    o["price"][1] = a
    # target unchanged: nothing to do
    acts, _ = _run_kernel(GLFT(**FIX, requote_ticks=2), ROW, orders=o,
                          state=np.array([0.0, 1.0, b, a]))
    assert len(acts) == 0
    # market up 1 tick: targets move 1 tick < 2: keep
    row1 = [10_200.0, 500.0, 10_100.0, 500.0]
    acts, _ = _run_kernel(GLFT(**FIX, requote_ticks=2), row1, orders=o,
                          state=np.array([0.0, 1.0, b, a]))
    assert len(acts) == 0
    # up 2 ticks: cancel + new on both sides, new ids 2 and 3
    row2 = [10_300.0, 500.0, 10_200.0, 500.0]
    acts, st = _run_kernel(GLFT(**FIX, requote_ticks=2), row2, orders=o,
                           state=np.array([0.0, 1.0, b, a]))
    assert [x["kind"] for x in acts] == [ACT_CANCEL, ACT_SUBMIT, ACT_CANCEL, ACT_SUBMIT]
    assert acts[1]["price"] == b + 200 and acts[3]["price"] == a + 200
    assert st[0] == 2 and st[1] == 3


def test_strategy_parameters_are_validated():
    with pytest.raises(ValueError, match="gamma"):
        GLFT(gamma=0.0).validate(INST)
    with pytest.raises(ValueError, match="quote_size"):
        Grid(quote_size=-1).validate(INST)
    with pytest.raises(ValueError, match="alpha"):
        GLFT(alpha="sentiment").validate(INST)
    with pytest.raises(ValueError, match="horizon_s"):
        AvellanedaStoikov().validate(Instrument("X", tick=1, price_scale=1))
    with pytest.raises(ValueError, match="forecast has"):
        GLFT(forecast=np.zeros(3)).forecast_values(None, np.zeros((5, 4)), INST)


# ------------------------------------------------------------------------------------------
# causal estimators
def _slow_vol(ts, mid, w_ns):
    out = np.full(len(ts), np.nan)
    last = np.nan
    d2 = np.zeros(len(ts))
    for i in range(len(ts)):
        if not np.isnan(mid[i]):
            if not np.isnan(last):
                d2[i] = (mid[i] - last) ** 2
            last = mid[i]
    for i in range(len(ts)):
        if ts[i] - ts[0] >= w_ns:
            sel = [j for j in range(i + 1) if ts[i] - w_ns < ts[j] <= ts[i]]
            out[i] = math.sqrt(sum(d2[j] for j in sel) / (w_ns / NS))
    return out


def _random_path(n=400, seed=3):
    rng = np.random.default_rng(seed)
    ts = np.cumsum(rng.integers(0, 300_000_000, n)).astype(np.int64)
    mid = 100.0 * (10_000 + np.cumsum(rng.choice([-0.5, 0.0, 0.0, 0.5], n)))
    mid[rng.random(n) < 0.05] = np.nan
    return ts, mid


def test_rolling_volatility_matches_slow_reference_and_is_causal():
    ts, mid = _random_path()
    got = rolling_volatility(ts, mid, window_s=5.0, tick=100)
    np.testing.assert_allclose(got, _slow_vol(ts, mid / 100, 5 * NS), rtol=1e-9, equal_nan=True)
    assert np.isfinite(got[-50:]).all()
    for cut in (50, 200, 350):
        m2 = mid.copy()
        m2[cut + 1:] += 1_000.0 * np.arange(len(m2) - cut - 1)
        np.testing.assert_array_equal(rolling_volatility(ts, m2, window_s=5.0, tick=100)[: cut + 1],
                                      got[: cut + 1])
        assert not np.array_equal(rolling_volatility(ts, m2, window_s=5.0, tick=100), got)


def _trades(seed=5, n=600):
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, EVENT_DTYPE)
    ev["ts"] = np.cumsum(rng.integers(1, 200_000_000, n))
    mid = 100.0 * (500 + np.cumsum(rng.choice([-0.5, 0.0, 0.5], n))) + 50.0   # half-tick mids
    depth = rng.geometric(0.5, n) - 0.5                                      # 0.5, 1.5, 2.5 ...
    side = rng.choice([-1, 1], n)
    ev["kind"] = np.where(rng.random(n) < 0.6, EXEC_VISIBLE, TRADE)
    ev["kind"][rng.random(n) < 0.3] = 1      # some ADDs: not trades
    prev = np.concatenate([[mid[0]], mid[:-1]])
    ev["price"] = np.round(prev + side * depth * 100.0).astype(np.int64)
    return ev, mid


def _slow_intensity(ev, mid, w_ns, tick, J):
    n = len(ev)
    A, K = np.full(n, np.nan), np.full(n, np.nan)
    depth = np.full(n, np.nan)
    for i in range(1, n):
        if ev["kind"][i] in (EXEC_VISIBLE, TRADE):
            depth[i] = abs(ev["price"][i] - mid[i - 1]) / tick
    ts = ev["ts"]
    grid = 0.5 * np.arange(1, J + 1)
    for i in range(n):
        if ts[i] - ts[0] < w_ns:
            continue
        win = depth[[j for j in range(i + 1) if ts[i] - w_ns < ts[j] <= ts[i]]]
        win = win[~np.isnan(win)]
        lam = np.array([(win >= g - 1e-9).sum() / (w_ns / NS) for g in grid])
        ok = lam > 0
        if ok.sum() < 2:
            continue
        slope, icpt = np.polyfit(grid[ok], np.log(lam[ok]), 1)
        if slope < 0:
            A[i], K[i] = math.exp(icpt), -slope
    return A, K


def test_rolling_intensity_matches_slow_reference_and_is_causal():
    ev, mid = _trades()
    A, k = rolling_intensity(ev, mid, window_s=20.0, tick=100, n_depths=8)
    A0, k0 = _slow_intensity(ev, mid, 20 * NS, 100, 8)
    np.testing.assert_allclose(A, A0, rtol=1e-7, equal_nan=True)
    np.testing.assert_allclose(k, k0, rtol=1e-7, equal_nan=True)
    assert np.isfinite(k[-100:]).sum() > 50 and (k[np.isfinite(k)] > 0).all()
    for cut in (150, 400):
        e2, m2 = ev.copy(), mid.copy()
        e2["price"][cut + 1:] += 700
        m2[cut + 1:] -= 300.0
        A2, k2 = rolling_intensity(e2, m2, window_s=20.0, tick=100, n_depths=8)
        np.testing.assert_array_equal(A2[: cut + 1], A[: cut + 1])
        np.testing.assert_array_equal(k2[: cut + 1], k[: cut + 1])
        assert not np.array_equal(np.nan_to_num(k2), np.nan_to_num(k))


def test_intensity_is_nan_when_all_trades_print_at_the_touch():
    ev, mid = _trades()
    ev["price"] = np.round(np.concatenate([[mid[0]], mid[:-1]]) + 50.0).astype(np.int64)
    A, k = rolling_intensity(ev, mid, window_s=20.0, tick=100)
    assert np.isnan(k).all() and np.isnan(A).all()


# ------------------------------------------------------------------------------------------
# end to end on a short synthetic day
@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 300.0))
    d = synth.simulate(seed=7, levels=5, config=cfg)
    return synth.to_events(d.messages), d.orderbook, synth.instrument(cfg, 5)


EXEC = ExecutionConfig(fees=Fees(maker=-20.0, taker=30.0, unit="per_share"),
                       entry_latency=200_000, response_latency=150_000, feed_latency=50_000,
                       flat_before_close_s=30.0, risk=RiskLimits(max_position=1_000))


def _same(r1, r2):
    for name in ("orders", "fills", "risk_events"):
        a, b = getattr(r1.sim, name), getattr(r2.sim, name)
        assert len(a) == len(b), name
        for fld in a.dtype.names:
            np.testing.assert_array_equal(a[fld], b[fld], err_msg=f"{name}.{fld}")
    np.testing.assert_array_equal(r1.sim.cash, r2.sim.cash)
    np.testing.assert_array_equal(r1.decisions, r2.decisions)


@pytest.mark.parametrize("strat", [
    GLFT(gamma=0.05, vol_window_s=20, intensity_window_s=60, alpha="imbalance", alpha_scale=1.0),
    AvellanedaStoikov(gamma=0.05, k=1.0, horizon_s=30.0, vol_window_s=20, alpha="microprice",
                      alpha_scale=1.0, requote_ticks=2),
    Grid(half_spread_ticks=0.5, skew_ticks=0.5, alpha="ofi", alpha_scale=0.5, max_position=300),
], ids=["glft", "as", "grid"])
def test_market_makers_run_flat_and_paths_agree(day, strat):
    ev, book, inst = day
    r = run_backtest(ev, book, inst, strat, execution=EXEC)
    o = r.sim.orders
    assert (o["by_risk"] == 0).sum() > 20 and len(r.sim.fills) > 5
    assert r.sim.position[-1] == 0 and r.sim.local_position == 0
    flat_at = inst.session_close_ns - 30 * NS
    assert (o["by_risk"][o["ts_submit"] > flat_at] == 1).all()     # nothing quoted after the close
    own = o[o["by_risk"] == 0]
    assert (own["otype"] == POST_ONLY).all() and (own["qty"] == strat.quote_size).all()
    # the strategy's bids never exceeded its inventory limit at decision time: the exchange-truth
    # position stays within max_position + one quote in flight per side
    assert np.abs(r.sim.position).max() <= strat.max_position + 2 * strat.quote_size
    _same(r, run_backtest(ev, book, inst, strat, execution=EXEC))              # deterministic
    _same(r, run_backtest(ev, book, inst, strat, execution=EXEC, path="python"))


def test_order_budget_stops_quoting_instead_of_overflowing(day):
    ev, book, inst = day
    ex = ExecutionConfig(max_orders=40, flat_before_close_s=30.0)
    r = run_backtest(ev, book, inst, Grid(), execution=ex)
    assert (r.sim.orders["by_risk"] == 0).sum() == 40


def test_run_backtest_accepts_a_dataset(day):
    from types import SimpleNamespace

    ev, book, inst = day
    d = SimpleNamespace(events=ev, book=book, instrument=inst)
    a = run_backtest(d, Grid(), execution=EXEC)
    b = run_backtest(ev, book, inst, Grid(), execution=EXEC)
    _same(a, b)
    with pytest.raises(ValueError, match="no orderbook"):
        run_backtest(SimpleNamespace(events=ev, book=None, instrument=inst), Grid())
    with pytest.raises(TypeError):
        run_backtest(ev, book, inst)


# ------------------------------------------------------------------------------------------
# fees per venue
def test_venue_fee_schedules():
    nq = Fees.for_venue(INST)
    assert (nq.maker, nq.taker, nq.unit) == (-20.0, 30.0, "per_share")    # -$0.0020 / +$0.0030
    spot = Fees.for_venue(Instrument("BTCUSDT", tick=1, price_scale=100, venue="BINANCE-SPOT"))
    fut = Fees.for_venue(Instrument("BTCUSDT", tick=1, price_scale=100, venue="BINANCE-USDM"))
    assert (spot.maker, spot.taker, spot.unit) == (10.0, 10.0, "bps")
    assert (fut.maker, fut.taker, fut.unit) == (2.0, 5.0, "bps")
    with pytest.raises(ValueError, match="no fee schedule for venue 'BYBIT'"):
        Fees.for_venue(Instrument("X", tick=1, price_scale=1, venue="BYBIT"))


# ------------------------------------------------------------------------------------------
# live executor on a replay == backtest (the market maker as a strategy object)
def test_live_executor_parity_market_maker():
    from companion.live.config import LiveConfig
    from companion.live.executor import LiveExecutor
    from companion.live.feeds import LobsterReplayFeed, SimulatedClock

    cfg_s = synth.SynthConfig(session=(34200.0, 34200.0 + 600.0))
    d = synth.simulate(seed=7, config=cfg_s)
    ev, book, inst = synth.to_events(d.messages), d.orderbook, synth.instrument(cfg_s)
    cfg = LiveConfig.from_dict({"kill_switch": {"file": None}, "risk": {"max_loss": None},
                                "venue": {"flat_before_close_s": 60}})
    exc = cfg.execution_config(inst)
    # live: sigma / A / k fixed (the executor builds on an empty day), alpha = the live front's
    # composite imbalance, which the backtest computes in batch
    strat = GLFT(gamma=0.05, sigma=1.0, A=1.0, k=1.0, alpha="imbalance", alpha_scale=2.0)
    bt = run_backtest(ev, book, inst, strat, execution=exc)
    ex = LiveExecutor(cfg, inst, strategy=strat)
    ex.run(LobsterReplayFeed(ev, speed=float("inf"), clock=SimulatedClock()))
    live = ex.venue.result()
    assert len(live.orders) == len(bt.sim.orders) > 50 and len(live.fills) == len(bt.sim.fills) > 5
    for name in bt.sim.orders.dtype.names:
        a, b = live.orders[name], bt.sim.orders[name]
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f"orders.{name} differ"
    for name in bt.sim.fills.dtype.names:
        assert np.array_equal(live.fills[name], bt.sim.fills[name]), f"fills.{name} differ"
    assert np.array_equal(live.position, bt.sim.position) and np.array_equal(live.cash, bt.sim.cash)
    # the alpha did move the quotes: the same run without it quotes differently
    flat = run_backtest(ev, book, inst, GLFT(gamma=0.05, sigma=1.0, A=1.0, k=1.0), execution=exc)
    assert not np.array_equal(flat.sim.orders["price"][:50], bt.sim.orders["price"][:50])
