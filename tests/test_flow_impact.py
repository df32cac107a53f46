"""Price impact: numpy OLS, CKS window regressions on the stylised book (beta = 1/(2D), R^2 = 1,
depth law c = 1/2, lambda = 1 exactly), the quadratic and TI regressions, Kyle's lambda, and the
OFI report on the real LOBSTER samples."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_flow_ofi import random_book, stylised_book

from companion.flow.kyle import depth_at_price_changes_nb, depth_law, impact_regressions, kyle_lambda, ols, window_depth


def test_ols_simple_regression_closed_form():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    y = 1.5 + 0.7 * x + rng.normal(size=200)
    r = ols(y, x)
    xc = x - x.mean()
    b = (xc * (y - y.mean())).sum() / (xc ** 2).sum()
    a = y.mean() - b * x.mean()
    resid = y - a - b * x
    s2 = (resid ** 2).sum() / (200 - 2)
    se_b = np.sqrt(s2 / (xc ** 2).sum())
    se_a = np.sqrt(s2 * (1 / 200 + x.mean() ** 2 / (xc ** 2).sum()))
    np.testing.assert_allclose(r["coef"], [a, b], rtol=1e-12)
    np.testing.assert_allclose(r["se"], [se_a, se_b], rtol=1e-10)
    np.testing.assert_allclose(r["t"], [a / se_a, b / se_b], rtol=1e-10)
    assert r["r2"] == pytest.approx(np.corrcoef(x, y)[0, 1] ** 2, rel=1e-12)
    assert r["adj_r2"] == pytest.approx(1 - (1 - r["r2"]) * 199 / 198, rel=1e-12)
    assert r["n"] == 200


def test_ols_drops_nan_and_degenerate_cases():
    r = ols([1.0, 2.0, np.nan, 4.0, 5.0], [1.0, 2.0, 3.0, np.nan, 5.0])
    assert r["n"] == 3 and r["coef"][1] == pytest.approx(1.0)
    assert np.isnan(ols([1.0, 2.0], [1.0, 2.0])["r2"])            # n <= k
    assert np.isnan(ols([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])["t"][1])  # singular X


def test_quadratic_term_recovered():
    x = np.linspace(-5, 5, 50)
    y = 0.2 + 0.5 * x - 0.03 * x * np.abs(x)
    r = ols(y, np.column_stack([x, x * np.abs(x)]))
    np.testing.assert_allclose(r["coef"], [0.2, 0.5, -0.03], atol=1e-12)


def test_stylised_book_window_regressions_and_depth_law():
    Ds = np.repeat([2.0, 5.0, 11.0, 23.0, 40.0, 3.0], 30)       # one depth per 30-s window
    book, ts = stylised_book(Ds, len(Ds), seed=11)
    res = impact_regressions(book, ts, tick=1.0, size_unit=1.0, freq="1s", window="30s", t0=0, t1=len(Ds) * 10**9,
                             min_bins=10)
    w = res.windows
    assert len(w) == 6
    np.testing.assert_allclose(w["beta"], 1 / (2 * Ds[::30]), rtol=1e-12)
    np.testing.assert_allclose(w["r2"], 1.0, rtol=1e-12)
    np.testing.assert_allclose(w["alpha"], 0.0, atol=1e-12)
    np.testing.assert_allclose(w["depth"], Ds[::30], rtol=1e-12)   # CKS depth = D exactly
    s = res.summary
    assert s["c"] == pytest.approx(0.5, rel=1e-10)
    assert s["lambda"] == pytest.approx(1.0, rel=1e-10)
    assert s["depth_law_r2"] == pytest.approx(1.0, rel=1e-10)
    assert s["beta_x_depth_mean"] == pytest.approx(0.5, rel=1e-10)
    # the arithmetic-mean depth is smaller (queues shrink before they deplete)
    edges = np.searchsorted(ts, np.arange(0, len(Ds) + 1, 30) * 10**9, side="right") - 1
    mean_depth = window_depth(book, np.maximum(edges, 0), "mean")
    assert (mean_depth <= Ds[::30] * 1.5).all() and (mean_depth < Ds[::30]).mean() > 0.5


def test_size_unit_scales_beta_and_depth():
    Ds = np.repeat([200.0, 500.0, 900.0], 30)
    book, ts = stylised_book(Ds, len(Ds), seed=2)
    a = impact_regressions(book, ts, tick=1.0, size_unit=100.0, freq="1s", window="30s", t0=0, t1=len(Ds) * 10**9)
    np.testing.assert_allclose(a.windows["beta"], 100 / (2 * Ds[::30]), rtol=1e-12)
    np.testing.assert_allclose(a.windows["depth"], Ds[::30] / 100, rtol=1e-12)
    assert a.summary["c"] == pytest.approx(0.5, rel=1e-9)


def test_depth_samples_by_hand():
    book = np.array([
        [103, 5, 100, 7],
        [103, 5, 99, 30],     # bid down: new best bid size (after) = 30
        [103, 5, 101, 2],     # bid up: overtaken queue (before) = 30
        [104, 40, 101, 2],    # ask up: new best ask (after) = 40
        [102, 1, 101, 2],     # ask down: overtaken ask (before) = 40
        [102, 9, 101, 2],     # no price change: no sample
    ], dtype=float)
    tot, cnt = depth_at_price_changes_nb(book, np.array([0, 5]))
    assert cnt[0] == 4 and tot[0] == 30 + 30 + 40 + 40


def test_trade_imbalance_and_multilevel_columns():
    rng = np.random.default_rng(3)
    n = 3000
    book = random_book(n, 3, 3, p_empty=0.0)
    ts = np.sort(rng.integers(0, 600 * 10**9, n))
    sv = np.where(rng.random(n) < 0.2, rng.choice([-1.0, 1.0], n) * rng.integers(1, 300, n), 0.0)
    res = impact_regressions(book, ts, sv, tick=1.0, size_unit=100.0, freq="10s", window="300s", t0=0, t1=600 * 10**9)
    b = res.bins
    # TI per bin = sum of the signed volume of the bin's events, in lots
    k = 7
    inside = (ts > k * 10 * 10**9) & (ts <= (k + 1) * 10 * 10**9)
    assert b["ti"].iloc[k] == pytest.approx(sv[inside].sum() / 100)
    w = res.windows
    assert {"r2_ti", "r2_joint", "r2_ml", "r2_int", "pc1_share"} <= set(w.columns)
    assert np.isnan(w["r2_int"].iloc[0]) and np.isfinite(w["r2_int"].iloc[1])   # PC1 from the previous window
    assert (w["r2_ml"] >= w["r2_ofi1n"] - 1e-12).all()                         # nested regressions
    assert (w["r2_joint"] >= w["r2"] - 1e-12).all()


def test_depth_law_known_values():
    D = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    out = depth_law(0.45 / D ** 1.1, D)
    assert out["c"] == pytest.approx(0.45) and out["lambda"] == pytest.approx(1.1) and out["r2"] == pytest.approx(1.0)
    # non-positive betas are dropped
    assert depth_law(np.r_[0.45 / D ** 1.1, -1.0], np.r_[D, 3.0])["n"] == 5


def test_kyle_lambda_signed_volume():
    rng = np.random.default_rng(1)
    n = 20_000
    ts = np.sort(rng.integers(0, 3600 * 10**9, n))
    sv = rng.choice([-1.0, 1.0], n) * rng.integers(1, 500, n)
    # mid (ticks) responds 0.02 ticks per lot of signed volume, plus noise at every event
    mid_ticks = np.cumsum(0.02 * sv / 100 + rng.normal(0, 0.005, n))
    book = np.zeros((n, 4))
    book[:, 0] = mid_ticks + 0.5
    book[:, 2] = mid_ticks - 0.5
    book[:, 1] = book[:, 3] = 10
    r = kyle_lambda(book, ts, sv, tick=1.0, size_unit=100.0, freq="1min", t0=0, t1=3600 * 10**9)
    assert r["lambda"] == pytest.approx(0.02, rel=0.03) and r["r2"] > 0.9 and r["n"] == 60
    px = np.full(n, 50.0)
    r2 = kyle_lambda(book + 10_000, ts, sv, px, tick=1.0, freq="5min", t0=0, t1=3600 * 10**9, kind="sqrt_dollar")
    assert r2["lambda"] > 0 and r2["n"] == 12


# ---------------------------------------------------------------------------------------------
# real data: the OFI report on the LOBSTER samples
# ---------------------------------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.parametrize("spec,levels", [("lobster:AAPL:1", 1), ("lobster:AMZN:1", 1), ("lobster:GOOG:1", 1),
                                         ("lobster:GOOG:5", 5), ("lobster:GOOG:10", 10)])
def test_ofi_report_on_lobster_samples(shared_data, spec, levels, capsys):
    from companion.cli import main

    assert main(["report", "ofi", spec, "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    s = json.loads(out[-1])
    assert s["n_windows"] == 13                       # 09:30-16:00 in 30-min windows
    assert 0.25 < s["r2_mean"] < 0.8                  # CKS: 35-79% across stocks
    assert s["beta_significant_share"] >= 0.8         # CKS: 98% of windows
    assert 0.1 < s["r2_ti_mean"] < s["r2_mean"] + 0.05  # TI explains less than OFI (CKS: 32% vs 65%)
    assert 0.1 < s["c"] < 10 and 0.2 < s["lambda"] < 3
    assert s["levels"] == levels
    if levels > 1:
        assert s["ml_gain_adj_r2"] > 0.05            # deeper levels add explanatory power
        assert 0.5 < s["pc1_share_mean"] <= 1.0
        assert s["int_gain_r2"] > 0
