"""Execution algorithms: schedules, the executor on the simulator, cost measures, paired tests."""
from __future__ import annotations

from math import comb
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from companion import synth
from companion.book import TRADE_DTYPE
from companion.execution import (
    POV,
    TWAP,
    VWAP,
    Adaptive,
    ChildSchedule,
    ParentOrder,
    VolumeProfile,
    execute,
    ofi_signal,
    paired_comparison,
    random_parents,
    run_many,
    shortfall,
    sign_test,
    window_volume,
)

NS = 10**9
OPEN, CLOSE = 34200 * NS, 57600 * NS


def _trades(seed: int, t0: int = OPEN, t1: int = CLOSE, n: int = 20_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    tr = np.zeros(n, dtype=TRADE_DTYPE)
    tr["ts"] = np.sort(rng.integers(t0, t1, size=n))
    tr["size"] = rng.choice([1, 50, 100, 300], size=n)
    tr["price"] = 1_500_000
    return tr


PARENT = ParentOrder(side=1, qty=5000.0, start_ns=OPEN + 3600 * NS + 123, end_ns=OPEN + 5400 * NS + 123)


def _profile() -> VolumeProfile:
    days = [(t["ts"], t["size"]) for t in (_trades(1), _trades(2), _trades(3))]
    return VolumeProfile.from_days(days, OPEN, CLOSE, n_bins=78)


def _signal(seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = np.arange(OPEN, CLOSE, NS, dtype=np.int64)
    return pd.Series(rng.normal(size=idx.size) * 2, index=idx)


def _all_schedules():
    return [TWAP(30), VWAP(_profile(), 30), POV(0.05, 10),
            Adaptive(TWAP(30), _signal(), kind="score", max_dev=0.1)]


# ---------------------------------------------------------------------------------------------
# schedules
@pytest.mark.parametrize("k", range(4))
@pytest.mark.parametrize("side", [1, -1])
def test_schedules_sum_to_parent_and_respect_window(k, side):
    p = ParentOrder(side, PARENT.qty, PARENT.start_ns, PARENT.end_ns)
    s = _all_schedules()[k].schedule(p, _trades(9))
    assert s.cum_qty[-1] == p.qty
    assert s.child_qty.sum() == pytest.approx(p.qty)
    assert (s.child_qty >= 0).all()
    assert np.allclose(s.cum_qty, np.round(s.cum_qty))       # whole lots
    assert s.times[0] >= p.start_ns and s.times[-1] <= p.end_ns
    assert (np.diff(s.times) > 0).all()
    assert s.target_at(p.start_ns - 1) == 0.0 and s.target_at(p.end_ns) == p.qty


def test_twap_equal_slices():
    s = TWAP(60).schedule(ParentOrder(1, 600.0, 0, 600 * NS))
    assert list(s.times) == [i * 60 * NS for i in range(10)]
    assert (s.child_qty == 60).all()


def test_pov_never_exceeds_cap_and_is_causal():
    tr = _trades(5)
    rate, lot = 0.07, 1.0
    pov = POV(rate, 10, lot=lot)
    s = pov.schedule(PARENT, tr)
    body = s.times < PARENT.end_ns                  # the clean-up release at `end` is not POV
    t = s.times[body]
    cap_cum = rate * window_volume(tr["ts"], tr["size"], PARENT.start_ns, t)
    assert (s.cum_qty[body] <= cap_cum + 1e-9).all()
    prev = np.concatenate([[PARENT.start_ns], t[:-1]])
    bin_cap = rate * window_volume(tr["ts"], tr["size"], prev, t)
    assert (s.child_qty[body] <= bin_cap + lot + 1e-9).all()   # per bin, beyond rounding
    assert s.cum_qty[body][-1] > 0.9 * min(PARENT.qty, cap_cum[-1]) - lot
    # causality: volume at/after release j never changes targets up to j
    j = len(t) // 2
    tr2 = tr.copy()
    later = tr2["ts"] >= t[j]
    tr2["size"][later] *= 7
    s2 = pov.schedule(PARENT, tr2)
    np.testing.assert_array_equal(s2.cum_qty[: j + 1], s.cum_qty[: j + 1])


def test_pov_finishes_with_cleanup_when_volume_short():
    s = POV(0.001, 10).schedule(PARENT, _trades(5))
    assert s.times[-1] == PARENT.end_ns and s.cum_qty[-1] == PARENT.qty
    assert s.child_qty[-1] > 0.5 * PARENT.qty


def test_vwap_profile_causal_and_follows_profile():
    prof = _profile()
    v = VWAP(prof, 30)
    tr = _trades(11)
    s1 = v.schedule(PARENT, tr)
    tr2 = tr.copy()
    win = (tr2["ts"] >= PARENT.start_ns) & (tr2["ts"] < PARENT.end_ns)
    tr2["size"][win] = tr2["size"][win] * 10 + 3      # perturb the execution window's volume
    s2 = v.schedule(PARENT, tr2)
    np.testing.assert_array_equal(s1.cum_qty, s2.cum_qty)
    np.testing.assert_array_equal(s1.times, s2.times)
    # the profile is built from other days only: perturbing today's volume cannot enter it
    # targets follow the profile's cumulative share (to within a lot)
    f0, f1 = prof.cum_share([PARENT.start_ns, PARENT.end_ns])
    nxt = np.append(s1.times[1:], PARENT.end_ns)
    want = PARENT.qty * (prof.cum_share(nxt) - f0) / (f1 - f0)
    assert np.all(np.abs(s1.cum_qty - want) <= 1.0 + 1e-9)


def test_vwap_outside_the_profile_session_is_twap():
    """A window the profile gives no volume to (after its close) falls back to the TWAP of the
    same interval, lot and name."""
    late = ParentOrder(side=-1, qty=1000.0, start_ns=CLOSE + 60 * NS, end_ns=CLOSE + 200 * NS)
    v = VWAP(_profile(), 30, lot=100, name="vw").schedule(late)
    t = TWAP(30, lot=100, name="vw").schedule(late)
    np.testing.assert_array_equal(v.times, t.times)
    np.testing.assert_array_equal(v.cum_qty, [200.0, 400.0, 600.0, 800.0, 1000.0])
    np.testing.assert_array_equal(v.cum_qty, t.cum_qty)
    assert v.name == "vw"


def test_volume_profile_from_days_hand_built():
    open_, close = 0, 4 * NS
    d1 = (np.array([0, NS, NS + 1, 3 * NS]), np.array([1.0, 1.0, 2.0, 4.0]))   # bins 1,3,0,4
    d2 = (np.array([2 * NS]), np.array([5.0]))                                   # bin 0,0,1,0
    p = VolumeProfile.from_days([d1, d2], open_, close, n_bins=4)
    np.testing.assert_allclose(p.weights, [(1 / 8 + 0) / 2, (3 / 8) / 2, (0 + 1) / 2, (4 / 8) / 2])
    assert p.daily_volume == pytest.approx(6.5)
    assert p.cum_share(2 * NS) == pytest.approx(0.25)
    u = VolumeProfile.u_shape(0, 100, a=0.7, b=0.9, n_bins=4)
    assert u.weights.sum() == pytest.approx(1.0)
    assert u.weights[0] > u.weights[1] and u.weights[3] > u.weights[2]     # U-shaped
    assert u.weights[0] == pytest.approx(u.weights[3])


def test_adaptive_bounded_directional_and_causal():
    base = TWAP(30)
    b = base.schedule(PARENT)
    q, dev = PARENT.qty, 0.1
    s = Adaptive(base, _signal(3), kind="score", max_dev=dev).schedule(PARENT)
    assert np.all(np.abs(s.cum_qty - b.cum_qty) <= dev * q + 1.0 + 1e-9)
    idx = np.arange(OPEN, CLOSE, NS, dtype=np.int64)
    up = pd.Series(np.ones(idx.size), index=idx)          # P(up) = 1
    down = pd.Series(np.zeros(idx.size), index=idx)
    ahead = Adaptive(base, up, kind="prob", max_dev=dev).schedule(PARENT)
    behind = Adaptive(base, down, kind="prob", max_dev=dev).schedule(PARENT)
    assert (ahead.cum_qty[:-1] >= b.cum_qty[:-1]).all() and ahead.cum_qty[0] > b.cum_qty[0]
    assert (behind.cum_qty[:-1] <= b.cum_qty[:-1]).all()
    sell = ParentOrder(-1, q, PARENT.start_ns, PARENT.end_ns)   # the same signal, other side
    np.testing.assert_array_equal(Adaptive(base, up, kind="prob", max_dev=dev).schedule(sell).cum_qty,
                                  behind.cum_qty)
    flat = Adaptive(base, pd.Series(0.5, index=idx), kind="prob", max_dev=dev).schedule(PARENT)
    np.testing.assert_array_equal(flat.cum_qty, b.cum_qty)
    # causality: changing the signal after release j leaves targets up to j unchanged
    sig = _signal(4)
    j = 20
    sig2 = sig.copy()
    sig2[sig2.index > s.times[j]] = 50.0
    a1 = Adaptive(base, sig, max_dev=dev).schedule(PARENT)
    a2 = Adaptive(base, sig2, max_dev=dev).schedule(PARENT)
    np.testing.assert_array_equal(a1.cum_qty[: j + 1], a2.cum_qty[: j + 1])
    assert not np.array_equal(a1.cum_qty, a2.cum_qty)


def test_child_schedule_validation():
    with pytest.raises(ValueError):
        ChildSchedule([2, 1], [1, 2])
    with pytest.raises(ValueError):
        ChildSchedule([1, 2], [2, 1])
    with pytest.raises(ValueError):
        ParentOrder(0, 1, 0, 1)
    with pytest.raises(ValueError):
        TWAP(30, lot=100).schedule(ParentOrder(1, 150.0, 0, NS))


# ---------------------------------------------------------------------------------------------
# measures
def test_shortfall_hand_built():
    # buy 100 at arrival mid 100: 60 @ 101 taker (mid 100.5, ask 101), 20 @ 100 maker (mid 100.5),
    # 10 @ 102 taker walking (mid 100.5, ask 101); 10 unfilled, end mid 102; fees 3.
    out = shortfall(1, 100.0, 100.0, [101, 100, 102], [60, 20, 10], [100.5, 100.5, 100.5],
                    [101, 101, 101], [True, False, True], end_mid=102.0, fees=3.0)
    # 1 bp of 100 x 100 = 1.0 money unit
    assert out["spread_bps"] == pytest.approx(0.5 * 60 - 0.5 * 20 + 0.5 * 10)      # 25
    assert out["impact_bps"] == pytest.approx(1.0 * 10)                             # 10
    assert out["timing_bps"] == pytest.approx(0.5 * 90)                             # 45
    assert out["opportunity_bps"] == pytest.approx(2.0 * 10)                        # 20
    assert out["fees_bps"] == pytest.approx(3.0)
    assert out["is_bps"] == pytest.approx(103.0)
    parts = sum(out[k] for k in ("spread_bps", "impact_bps", "timing_bps", "opportunity_bps", "fees_bps"))
    assert parts == pytest.approx(out["is_bps"])
    assert out["completion"] == pytest.approx(0.9)
    assert out["avg_price"] == pytest.approx((6060 + 2000 + 1020) / 90)
    # the mirrored sell has the same cost
    sell = shortfall(-1, 100.0, 100.0, [99, 100, 98], [60, 20, 10], [99.5, 99.5, 99.5],
                     [99, 99, 99], [True, False, True], end_mid=98.0, fees=3.0)
    for k in out:
        if k.endswith("bps"):
            assert sell[k] == pytest.approx(out[k])
    with pytest.raises(ValueError):
        shortfall(1, 100.0, 100.0, [101], [50], [100.5])       # unfilled without end_mid


def test_paired_comparison_hand_built():
    a, b = [1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 0.0, 5.0]
    r = paired_comparison(a, b)
    d = np.array([1.0, 2.0, 3.0, -1.0])
    se = np.sqrt(((d - 1.25) ** 2).sum() / 3) / 2
    assert r["n"] == 4 and r["mean_diff"] == pytest.approx(1.25)
    assert r["se"] == pytest.approx(se) and r["t"] == pytest.approx(1.25 / se)
    assert (r["n_pos"], r["n_neg"]) == (3, 1)
    assert r["sign_p"] == pytest.approx(2 * (comb(4, 0) + comb(4, 1)) / 16)
    assert r["mean_a"] == pytest.approx(2.5) and r["mean_b"] == pytest.approx(1.25)
    # dict / DataFrame inputs, nan pairs dropped, zeros ignored by the sign test
    df_a = pd.DataFrame({"is_bps": [1.0, np.nan, 2.0, 5.0]})
    df_b = pd.DataFrame({"is_bps": [1.0, 3.0, 1.0, 1.0]})
    r2 = paired_comparison(df_a, df_b)
    assert r2["n"] == 3 and (r2["n_pos"], r2["n_neg"]) == (2, 0)
    assert r2["sign_p"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        paired_comparison([1.0], [1.0, 2.0])


def test_sign_test_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for _ in range(20):
        d = rng.normal(0.3, 1, size=rng.integers(1, 40))
        npos, nneg, p = sign_test(d)
        assert p == pytest.approx(stats.binomtest(npos, npos + nneg, 0.5).pvalue)


# ---------------------------------------------------------------------------------------------
# end to end on a short synthetic session
@pytest.fixture(scope="module")
def short_data():
    cfg = synth.SynthConfig(session=(34200.0, 35400.0))        # 20 minutes
    day = synth.simulate(seed=5, levels=10, config=cfg)
    return SimpleNamespace(events=synth.to_events(day.messages), book=day.orderbook,
                           instrument=synth.instrument(cfg, levels=10))


def _reference_is(r) -> float:
    f, p, m = r.fills, r.parent, r.measures
    cost = (p.side * (f["price"] - m["arrival_mid"]) * f["qty"]).sum() + f["fee"].sum()
    cost += p.side * (m["end_mid"] - m["arrival_mid"]) * (p.qty - f["qty"].sum())
    return cost / (p.qty * m["arrival_mid"]) * 1e4


@pytest.mark.parametrize("mode", ["market", "limit"])
def test_end_to_end_short_day(short_data, mode):
    o = short_data.instrument.session_open_ns
    p = ParentOrder(1, 3000.0, o + 300 * NS, o + 900 * NS)
    r = execute(short_data, p, TWAP(20), mode=mode, timeout_s=5, tail_s=60)
    m = r.measures
    assert m["completion"] == pytest.approx(1.0)
    assert r.fills["qty"].sum() == pytest.approx(p.qty)                   # never overfilled
    assert (r.fills["ts"] >= p.start_ns).all()
    orders = r.sim.orders
    assert (orders["ts_submit"] >= p.start_ns).all() and (orders["side"] == 1).all()
    assert m["is_bps"] == pytest.approx(_reference_is(r))
    parts = sum(m[k] for k in ("spread_bps", "impact_bps", "timing_bps", "opportunity_bps", "fees_bps"))
    assert parts == pytest.approx(m["is_bps"])
    f = r.fills.sort_values("ts")
    if mode == "market":
        assert (f["liquidity"] == "taker").all() and m["impact_bps"] >= 0
        # never ahead of the schedule: cumulative fills <= target at the fill time
        assert (f["qty"].cumsum().to_numpy() <= r.schedule.target_at(f["ts"].to_numpy()) + 1e-9).all()
        assert f["ts"].max() <= p.end_ns
    else:
        assert m["maker_share"] > 0


def test_end_to_end_pov_adaptive_and_run_many(short_data):
    o = short_data.instrument.session_open_ns
    sig = ofi_signal(short_data.events, short_data.book, z_window_s=300, min_periods=30)
    assert np.isfinite(sig.iloc[-100:]).all()
    parents = random_parents(short_data, 3, 1000.0, duration_s=300, seed=1, earliest_s=300,
                             post_s=60)
    assert all(o + 300 * NS <= p.start_ns for p in parents)
    algos = {"twap": TWAP(15), "pov": POV(0.1, 5),
             "adaptive": Adaptive(TWAP(15), sig, max_dev=0.2)}
    df = run_many(short_data, parents, algos, mode="market", post_s=60)
    assert len(df) == 9 and set(df["algo"]) == set(algos)
    assert np.allclose(df["completion"], 1.0)
    cmp = paired_comparison(df[df.algo == "twap"].reset_index(), df[df.algo == "pov"].reset_index())
    assert cmp["n"] == 3 and np.isfinite(cmp["mean_diff"])


def test_adaptive_max_step_limits_child_jumps():
    base = TWAP(30)
    b = base.schedule(PARENT)
    idx = np.arange(OPEN, CLOSE, NS, dtype=np.int64)
    up = pd.Series(np.ones(idx.size), index=idx)
    fast = Adaptive(base, up, kind="prob", max_dev=0.1).schedule(PARENT)
    slow = Adaptive(base, up, kind="prob", max_dev=0.1, max_step=0.02).schedule(PARENT)
    assert fast.child_qty[0] - b.child_qty[0] == pytest.approx(0.1 * PARENT.qty, abs=1)
    extra = slow.child_qty[:-1] - b.child_qty[:-1]
    assert extra.max() <= 0.02 * PARENT.qty + 1.0
    assert slow.cum_qty[10] - b.cum_qty[10] == pytest.approx(0.1 * PARENT.qty, abs=1)


def test_sqrt_impact_cost_is_the_documented_model_on_a_synthetic_book(short_data):
    """Chapter 8's impact table: a market buy's cost from the arrival mid is the visible walk when
    the book holds it, else max(walk extended at the last visible price, Y sigma sqrt(Q/V))."""
    from companion.events import EXEC_HIDDEN, EXEC_VISIBLE
    from companion.sim import MARKET, Simulator, SqrtImpact

    ev, book = short_data.events, short_data.book
    mid = 0.5 * (book[:, 0] + book[:, 2])
    V = float(ev["size"][np.isin(ev["kind"], (EXEC_VISIBLE, EXEC_HIDDEN))].sum())
    law_model = SqrtImpact(sigma=0.01 * float(np.median(mid)), daily_volume=V)     # 1% a day
    i0 = 1000

    def buy(q):
        done = []

        def cb(ctx):
            if not done:
                ctx.submit(1, q, 0, MARKET)
                done.append(1)
        return cb

    seen = {"walk": 0, "law": 0}
    for q in (100.0, 2_000.0, 20_000.0, V):
        vis, o = (Simulator(ev[i0:i0 + 500], book[i0:i0 + 500], tick=100, impact=imp).run_python(buy(q)).orders
                  for imp in (None, law_model))
        row = book[i0 + o["arr_event"][0] - 1]
        m0 = 0.5 * (row[0] + row[2])
        cost = (o["avg_price"][0] - m0) / m0
        f = vis["filled"][0]
        asks = row[0::4][row[1::4] > 0]
        walk = (f * (vis["avg_price"][0] - m0) + (q - f) * (asks[-1] - m0)) / q / m0
        law = law_model.cost(q) / m0
        assert o["filled"][0] == q
        if f >= q:
            assert cost == pytest.approx(walk, rel=1e-9)
        else:
            assert cost == pytest.approx(max(walk, law), rel=1e-9)
            assert cost < walk + law                          # not the walk plus the law on top
            seen["law" if law > walk else "walk"] += 1
    assert seen["law"] >= 1
