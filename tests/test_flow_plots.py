"""Plot and report helpers of chapters 02-03 (companion.flow.plots): hand-worked tables, smoke plots."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from companion.flow import plots
from companion.flow.kyle import depth_law
from companion.flow.microprice import MicroPrice
from companion.flow.vpin import vpin

S = 1_000_000_000  # ns per second


def _buckets(starts_s, ends_s, v, n):
    b = pd.DataFrame({"start_ts": np.asarray(starts_s, dtype=np.int64) * S,
                      "end_ts": np.asarray(ends_s, dtype=np.int64) * S, "vpin": v})
    b.attrs["n"] = n
    return b


def test_episode_overlap_hand_worked():
    # four buckets of 10 s each from t = 0; n = 2 -> windows [0,20], [10,30], [20,40]
    b = _buckets([0, 10, 20, 30], [10, 20, 30, 40], [np.nan, 0.1, 0.2, 0.3], n=2)
    share = plots.episode_overlap(b, [{"start": 15.0, "end": 25.0}])
    assert np.isnan(share[0])
    np.testing.assert_allclose(share[1:], [5 / 20, 10 / 20, 5 / 20])


def test_episode_overlap_n1_two_episodes():
    b = _buckets([0, 10], [10, 20], [0.1, 0.2], n=1)
    share = plots.episode_overlap(b, [{"start": 0.0, "end": 2.0}, {"start": 8.0, "end": 12.0}])
    np.testing.assert_allclose(share, [4 / 10, 2 / 10])


def test_episode_detection_auc_and_means():
    # windows 1..3 outside, 4..5 inside (n = 1 so each bucket is its own window)
    starts = [0, 10, 20, 30, 40, 50]
    ends = [10, 20, 30, 40, 50, 60]
    eps = [{"start": 30.0, "end": 50.0}]
    high_inside = _buckets(starts, ends, [0.1, 0.2, 0.15, 0.5, 0.6, 0.12], n=1)
    low_inside = _buckets(starts, ends, [0.5, 0.6, 0.7, 0.1, 0.2, 0.55], n=1)
    t = plots.episode_detection({"good": high_inside, "bad": low_inside}, eps)
    assert t.loc["good", "auc"] == pytest.approx(1.0)
    assert t.loc["bad", "auc"] == pytest.approx(0.0)
    assert t.loc["good", "vpin_inside"] == pytest.approx(0.55)
    assert t.loc["good", "vpin_outside"] == pytest.approx((0.1 + 0.2 + 0.15 + 0.12) / 4)
    assert (t["n_inside"] == 2).all() and (t["n_outside"] == 4).all()


def test_episode_detection_leaves_out_partial_windows():
    b = _buckets([0, 10, 20], [10, 20, 30], [0.9, 0.1, 0.5], n=1)
    # bucket 0 fully inside, bucket 1 a quarter inside (left out), bucket 2 outside
    t = plots.episode_detection({"x": b}, [{"start": 0.0, "end": 12.5}])
    assert t.loc["x", "n_inside"] == 1 and t.loc["x", "n_outside"] == 1
    assert t.loc["x", "auc"] == pytest.approx(1.0)


def test_bvc_bar_check_true_share():
    # two 1-min bars from t0 = 0: bar 0 = buy 100 + sell 300, bar 1 = buy 50
    trades = pd.DataFrame({"ts": np.array([1, 30, 59, 61], dtype=np.int64) * S,
                           "price": [100.0, 101.0, 100.0, 102.0], "size": [100.0, 200.0, 100.0, 50.0],
                           "aggressor": np.array([1, -1, -1, 1], dtype=np.int8)})
    bars = plots.bvc_bar_check(trades, freq="1min", t0=0)
    np.testing.assert_allclose(bars["true_buy_frac"], [0.25, 1.0])
    np.testing.assert_allclose(bars["volume"], [400.0, 50.0])
    assert ((bars["buy_frac"] >= 0) & (bars["buy_frac"] <= 1)).all()


def test_impact_comparison_formats_and_sources():
    summ = {"r2_mean": 0.5, "beta_mean": 0.04123, "t_beta_mean": 12.3456, "c": float("nan"), "pc1_share_mean": 0.9}
    t = plots.impact_comparison(summ, "mine")
    assert t.loc["R² of dP on OFI (mean over windows)", "mine"] == "50.0%"
    assert t.loc["mean β (ticks per lot)", "mine"] == "0.0412"
    assert t.loc["mean t(β)", "mine"] == "12.35"
    assert t.loc["depth law ĉ", "mine"] == "n/a"
    assert t.loc["PC1 share of multi-level OFI variance", "source"] == "CCZ 2023"
    assert t.loc["mean t(β)", "published"] == "12.08"
    assert len(t) == 5  # only the statistics present in the summary


def test_hhmm_and_hours():
    ts = np.array([34200, 57599], dtype=np.int64) * S
    assert plots.hhmm(ts) == ["09:30", "15:59"]
    np.testing.assert_allclose(plots.hours(ts), [9.5, 57599 / 3600])


def _windows(k=6, seed=0):
    rng = np.random.default_rng(seed)
    depth = np.geomspace(1.0, 8.0, k)
    beta = 0.5 / depth * np.exp(0.05 * rng.standard_normal(k))
    return pd.DataFrame({"start_ns": (34200 + 1800 * np.arange(k)) * S, "beta": beta, "depth": depth,
                         "r2": rng.uniform(0.3, 0.7, k), "r2_ti": rng.uniform(0.1, 0.4, k)})


def test_plot_helpers_draw():
    fig = Figure()
    ax1, ax2, ax3, ax4, ax5 = fig.subplots(1, 5)
    rng = np.random.default_rng(1)
    ofi = rng.normal(0, 10, 500)
    bins = pd.DataFrame({"ofi": ofi, "dp": 0.1 * ofi + rng.normal(0, 1, 500)})
    r = plots.ofi_scatter(ax1, bins, max_points=100)
    assert r["coef"][1] == pytest.approx(0.1, abs=0.02)
    assert len(ax1.collections[0].get_offsets()) == 100

    win = _windows()
    plots.window_bars(ax2, win, {"r2": "OFI", "r2_ti": "TI", "missing": "skipped"})
    assert len(ax2.patches) == 2 * len(win)

    law = depth_law(win["beta"], win["depth"])
    assert law["lambda"] == pytest.approx(1.0, abs=0.15)
    plots.depth_law_plot(ax3, win, law)
    assert ax3.get_xscale() == "log" and len(ax3.lines) == 2

    m = MicroPrice(n_imb=4, n_spread=2)
    m.g_ = np.array([[-0.3, -0.1, 0.1, 0.3], [-0.2, -0.05, 0.05, 0.2]])
    m.spread_edges_ = np.array([0.5, 1.5, 2.5])
    plots.micro_price_curve(ax4, m)
    assert len(ax4.lines) == 2 * 2 + 1  # micro + weighted mid per spread, and the zero line

    ts = np.sort(rng.integers(34200 * S, 36000 * S, 2000))
    size = rng.integers(1, 300, 2000).astype(float)
    side = np.where(rng.random(2000) < 0.5, 1, -1)
    price = 10000 + np.cumsum(rng.choice([-1, 0, 1], 2000)).astype(float)
    b = vpin(ts, price, size, side, V=size.sum() / 40, n=5, mode="exact")
    eps = [{"start": 34500.0, "end": 34800.0}]
    plots.vpin_timeline(ax5, {"exact": b}, eps)
    assert len(ax5.lines) == 1 and len(ax5.patches) == 1
    share = plots.episode_overlap(b, eps)
    assert np.all((share[np.isfinite(share)] >= 0) & (share[np.isfinite(share)] <= 1))
