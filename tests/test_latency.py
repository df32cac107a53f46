"""Chapter 10's three analyses in their layers (``companion.backtest.latency``,
``companion.models.decay``, ``companion.live.budget``): decay fit on known curves and a process with a known decay, the sweep's
zero-latency row against a direct run, a constructed market where latency must hurt, the
adverse-selection formula by hand, and the compute-budget table's shape (never its timings)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from companion import signals as sg
from companion import synth
from companion.backtest import ExecutionConfig, ImbalanceScalper, run_backtest
from companion.backtest import latency as bl
from companion.backtest.pnl import fill_markouts
from companion.events import EVENT_DTYPE, NS, Instrument
from companion.live import budget as lb
from companion.models import decay as dc
from companion.sim import FILL_DTYPE, Simulator


# ------------------------------------------------------------------------------------------
# decay fit
@pytest.mark.parametrize("tau", [0.05, 0.7, 12.0])
def test_fit_recovers_an_exact_exponential(tau):
    d = np.array([0, 0.01, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60])
    fit = dc.fit_exponential_decay(d, 0.08 * np.exp(-d / tau))
    assert fit["tau_s"] == pytest.approx(tau, rel=2e-3)
    assert fit["ic0"] == pytest.approx(0.08, rel=1e-3)
    assert fit["half_life_s"] == pytest.approx(tau * math.log(2), rel=2e-3)
    assert fit["r2"] > 0.9999


def test_fit_flags_no_decay_and_handles_negative_ic():
    d = np.array([0.0, 1.0, 2.0, 5.0])
    assert math.isinf(dc.fit_exponential_decay(d, np.full(4, 0.05))["tau_s"])
    neg = dc.fit_exponential_decay(d, -0.1 * np.exp(-d / 2.0))
    assert neg["ic0"] == pytest.approx(-0.1, rel=1e-3) and neg["tau_s"] == pytest.approx(2.0, rel=2e-3)
    with pytest.raises(ValueError):
        dc.fit_exponential_decay(d, [0.1, np.nan, 0.0, 0.0])


def _ou_market(tau_s=2.0, dt_ms=20, hours=1.0, seed=3):
    """Events every ``dt``: a signal x following an Ornstein-Uhlenbeck process with
    correlation time ``tau``, and a mid whose increments are ``c x + noise``. Then
    ``corr(x(t - d), M(t + h) - M(t))`` is proportional to ``exp(-d / tau)`` exactly (Gaussian:
    Spearman = (6/pi) arcsin(rho/2), linear in rho to <1% for these small rho)."""
    rng = np.random.default_rng(seed)
    dt = dt_ms / 1000
    n = int(hours * 3600 / dt)
    a = math.exp(-dt / tau_s)
    z = rng.standard_normal(n) * math.sqrt(1 - a * a)
    x = np.empty(n)
    x[0] = rng.standard_normal()
    for i in range(1, n):
        x[i] = a * x[i - 1] + z[i]
    mid = np.cumsum(0.05 * x + rng.standard_normal(n))
    ts = (np.arange(n) * dt_ms * 1_000_000).astype(np.int64)
    return ts, x, mid


def test_signal_decay_recovers_a_known_time_constant():
    ts, x, mid = _ou_market(tau_s=2.0)
    delays = (np.array([0, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16]) * NS).astype(np.int64)
    r = dc.signal_decay(ts, x, mid, delays, horizon_ns=NS // 2, step_ns=NS // 10, block_ns=5 * 60 * NS,
                        n_boot=200, seed=1)
    assert r.tau_s == pytest.approx(2.0, rel=0.15)
    lo, hi = r.half_life_ci
    assert lo < 2.0 * math.log(2) < hi
    assert r.n_blocks == 12 and r.table["ic"].iloc[0] > 0.1
    assert (r.table["ic_lo"] <= r.table["ic_hi"]).all()
    # deterministic given the seed
    r2 = dc.signal_decay(ts, x, mid, delays, horizon_ns=NS // 2, step_ns=NS // 10, block_ns=5 * 60 * NS,
                         n_boot=200, seed=1)
    assert r2.half_life_ci == r.half_life_ci


def test_delayed_ic_uses_the_value_seen_at_t_minus_d():
    # the signal is the future mid move over the next 1 s, known exactly: IC(0) = 1; delayed by
    # 1 s it is the previous move, independent of the next one for a random walk
    rng = np.random.default_rng(0)
    n = 20_000
    ts = np.arange(n, dtype=np.int64) * NS
    mid = np.cumsum(rng.choice([-1.0, 0.0, 1.0], n))
    sig = np.append(mid[1:] - mid[:-1], np.nan)
    s = dc.delayed_ic(ts, sig, mid, [0, NS], horizon_ns=NS, step_ns=NS, block_ns=None)
    assert s["ic"][0] == pytest.approx(1.0)
    assert abs(s["ic"][1]) < 0.03
    # the IC is Spearman's rho of the delayed signal and the target
    from scipy.stats import spearmanr

    t = s["t"]
    tgt = mid[t // NS + 1] - mid[t // NS]
    assert s["ic"][1] == pytest.approx(spearmanr(sig[t // NS - 1], tgt).statistic, abs=1e-12)


# ------------------------------------------------------------------------------------------
# adverse selection by hand
def test_value_at_is_the_causal_alignment_of_signals():
    ts = np.array([10, 20, 20, 30], dtype=np.int64)
    x = np.array([1.0, 2.0, 3.0, 4.0])
    t = np.array([0, 10, 19, 20, 29, 35], dtype=np.int64)
    assert np.array_equal(dc.value_at(ts, x, t), [np.nan, 1.0, 1.0, 3.0, 3.0, 4.0], equal_nan=True)
    np.testing.assert_array_equal(dc.value_at(ts, x, t), sg.align_predictions(ts, x, t))
    with pytest.raises(ValueError, match="non-decreasing"):
        dc.value_at(ts[::-1], x, t)


def test_chapter_analyses_live_in_their_layers():
    """No ``companion.latency`` module any more: each analysis is in the layer it measures."""
    from pathlib import Path

    import companion

    assert not (Path(companion.__file__).parent / "latency.py").exists()
    assert "latency" not in dir(companion)
    assert bl.latency_sweep.__module__ == "companion.backtest.latency"
    assert dc.signal_decay.__module__ == "companion.models.decay"
    assert lb.compute_budget.__module__ == "companion.live.budget"


def test_adverse_selection_by_hand():
    ts = np.array([0, 10, 20, 30], dtype=np.int64) * NS
    mid = np.array([100.0, 100.0, 102.0, 96.0])
    f = np.zeros(2, FILL_DTYPE)
    f["ts"], f["event_idx"], f["side"] = [10 * NS, 10 * NS], [2, 2], [1, -1]  # fills met row 1
    a = bl.adverse_selection(f, ts, mid, 10 * NS, tick=2.0)  # mid at 20 s: 102
    assert a.tolist() == [-1.0, 1.0]                          # buy gained 1 tick, sell lost 1
    b = bl.adverse_selection(f, ts, mid, 25 * NS, tick=2.0)  # 35 s is past the data
    assert np.isnan(b).all()


# ------------------------------------------------------------------------------------------
# sweep
@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 600.0))
    d = synth.simulate(seed=11, levels=5, config=cfg)
    return synth.to_events(d.messages), d.orderbook, synth.instrument(cfg, 5)


def test_adverse_selection_is_the_markout_per_share_in_ticks(day):
    """One implementation: the sweep's adverse selection is ``-markout_h / (q tick)`` of
    ``backtest.pnl.fill_markouts`` (same mids), NaN only where ``t_f + h`` is past the last event."""
    ev, bk, inst = day
    res = run_backtest(ev, bk, inst, ImbalanceScalper(entry="limit"),
                       execution=ExecutionConfig(feed_latency=0, entry_latency=0, response_latency=0))
    f = res.sim.fills
    assert len(f) > 5
    h = int(np.median(res.sim.ts[-1] - f["ts"])) + 1        # half the fills' horizons run past the end
    fm = fill_markouts(res, {"60s": h})
    mids = pd.Series(res.sim.mid()).ffill().to_numpy()
    a = bl.adverse_selection(f, res.sim.ts, mids, h, float(inst.tick))
    past = f["ts"] + h > res.sim.ts[-1]
    assert past.any() and (~past).any()
    assert np.isnan(a[past]).all() and not np.isnan(a[~past]).any()
    ref = -fm["markout_60s"].to_numpy() * res.scale / (f["qty"] * float(inst.tick))
    np.testing.assert_allclose(a[~past], ref[~past], rtol=1e-12, atol=1e-12)


def test_sweep_at_zero_latency_equals_a_direct_run(day):
    ev, bk, inst = day
    strat = ImbalanceScalper(entry="limit")
    sw = bl.latency_sweep(ev, bk, inst, strat, latencies_ns=[0], channels=("feed", "order", "all"))
    assert len(sw) == 3 and (sw["latency_ns"] == 0).all()
    zero = ExecutionConfig(feed_latency=0, entry_latency=0, response_latency=0)
    direct = run_backtest(ev, bk, inst, strat, execution=zero)
    ref = bl.run_summary(direct)
    for c, v in ref.items():
        np.testing.assert_allclose(sw[c].to_numpy(float), v, rtol=0, atol=0, err_msg=c)
    # ... and the backtest is the plain simulator run of the strategy kernel
    sim = Simulator(ev, bk, tick=int(inst.tick), feed_latency=0, entry_latency=0, response_latency=0,
                    queue=zero.queue, fees=zero.fees, risk=zero.risk_limits(inst), seed=zero.seed)
    params, state = strat.build(ev, bk, inst, zero.max_orders)
    res = sim.run(strat.kernel, params, state)
    assert len(res.fills) == sw["fills"].iloc[0] > 0
    assert res.equity().iloc[-1] / inst.price_scale == pytest.approx(sw["net_pnl"].iloc[0])


def _jump_market(n_cycles=5):
    """A 1-level book (tick 100) that jumps 10 ticks up 5 ms after a signal event and back down
    10 s later; a heartbeat event every 100 ms. The signal is STRONG_BUY on the signal events only.
    A market buy that reaches the exchange within 5 ms of the signal buys before the jump."""
    low = [10100.0, 500.0, 10000.0, 500.0]
    high = [11100.0, 500.0, 11000.0, 500.0]
    ts, rows, code = [], [], []
    for c in range(n_cycles):
        T = (c * 20 + 1) * NS
        for k in range(200):
            t = c * 20 * NS + k * 100_000_000
            ts.append(t)
            rows.append(high if T + 5_000_000 <= t < T + 10 * NS else low)
            code.append(2 if t == T else 0)
            if t == T:  # the jumps, between heartbeats
                ts.append(T + 5_000_000)
                rows.append(high)
                code.append(0)
            if t == T + 10 * NS - 100_000_000:
                ts.append(T + 10 * NS - 50_000_000)
                rows.append(low)
                code.append(0)
    ev = np.zeros(len(ts), EVENT_DTYPE)
    ev["ts"] = ev["ts_local"] = ts
    ev["kind"], ev["side"], ev["price"], ev["size"] = 1, 1, 10000, 1.0
    inst = Instrument(symbol="JUMP", tick=100, price_scale=10000, lot=1.0, session_open_ns=0,
                      session_close_ns=0, date="2012-06-21", levels=1, venue="TEST")
    return ev, np.array(rows), inst, np.array(code, np.int8)


def test_latency_must_hurt_on_a_constructed_jump(day):
    ev, bk, inst, code = _jump_market()
    strat = ImbalanceScalper(entry="market", hold_s=1.0, exit_level=0, entry_ttl_s=None)
    strat.codes = lambda e, b, i: (code, code.astype(float))
    sw = bl.latency_sweep(ev, bk, inst, strat, channels=("feed", "order", "all"),
                          execution=ExecutionConfig(feed_latency=0, entry_latency=0, response_latency=0,
                                                    flat_before_close_s=None))
    for ch, g in sw.groupby("channel"):
        pnl = g.sort_values("latency_ns")["net_pnl"].to_numpy()
        assert (np.diff(pnl) <= 1e-9).all(), (ch, pnl)          # never helps
        fast = g[g["latency_ns"] <= 1_000_000]["net_pnl"]
        slow = g[g["latency_ns"] >= 10_000_000]["net_pnl"]
        # 5 round trips: bought at 10100, sold at 11000 -> +9 ticks x 500 shares... per trade
        # (qty 100): (11000 - 10100) x 100 / 10000 = $9; too late: bought at 11100 -> <= -$1
        assert np.allclose(fast, 5 * 9.0) and (slow <= -5 * 1.0 + 1e-9).all(), (ch, g["net_pnl"].tolist())
        assert (g["trades"] == 5).all()
        # adverse selection over 1 s: on time the mid runs 10 ticks our way; late it does not
        assert np.allclose(g[g["latency_ns"] == 0]["adverse_1s"], -5.0)


def test_sweep_rejects_bad_arguments(day):
    ev, bk, inst = day
    with pytest.raises(ValueError):
        bl.latency_sweep(ev, bk, inst, ImbalanceScalper(), channels=("nope",))
    with pytest.raises(ValueError):
        bl.latency_sweep(ev, bk, inst, ImbalanceScalper(), latencies_ns=[-1])


# ------------------------------------------------------------------------------------------
# compute budget: kernels against the reference rules, the table's shape (no timings asserted)
def test_decision_and_signal_kernels_match_the_library(day):
    ev, bk, inst = day
    raw = np.array([-2.0, -0.1, 0.0, 0.3, 2.0, 2.0, -2.0])
    ofi = np.array([-5.0, -5.0, 5.0, 5.0, 5.0, -5.0, 5.0])
    got = [lb.model_decision_nb(r, o, 1.0, 0.55, 0.45) for r, o in zip(raw, ofi)]
    assert got == sg.model_rule(1 / (1 + np.exp(-raw)), ofi, 1.0).tolist()
    rows = np.ascontiguousarray(bk[:2000, :20])
    comp = sg.imbalance_components(rows, None, levels=5, tick=inst.tick)["composite"].to_numpy()
    np.testing.assert_array_equal(lb.imbalance_signal_nb(rows, 5, float(inst.tick), 0.7, 0.2, 0.15, 0.35),
                                  sg.classify(comp))


def test_compute_budget_table(day):
    ev, bk, inst = day
    df = lb.compute_budget(ev, bk, inst, n_events=300, warmup=50)
    assert df["stage"].tolist() == ["book update", "imbalance signal", "features", "decision",
                                    "signal path", "features + model", "timer overhead"]
    assert (df[["p50_ns", "p99_ns", "mean_ns"]] >= 0).all().all()
    assert (df["p99_ns"] >= df["p50_ns"]).all()
    assert df.set_index("stage").loc["signal path", "target_ns"] == 10_000
    assert df.attrs["n_events"] == 300


def test_format_ns():
    assert [bl.format_ns(x) for x in (850, 12_300, 4_100_000, 1.2e9)] == ["850 ns", "12.3 us", "4.1 ms", "1.2 s"]
    assert bl._label(10_000_000) == "10ms" and bl._label(NS) == "1s" and bl._label(0) == "0"


def test_quantile_with_infinite_replicates():
    x = np.array([1.0, 2.0, 3.0, np.inf])
    assert dc._quantile(x, 0.0) == 1.0 and math.isinf(dc._quantile(x, 0.95))
    assert dc._quantile(x, 0.5) == pytest.approx(2.5)
