"""VPIN: bucket filling by hand and vs a Python reference, rolling VPIN, exact/BVC modes on
hand-built sequences, CDF, diagnostics; a real-data run."""
from __future__ import annotations

import numpy as np
import pytest

from companion.flow.vpin import (
    empirical_cdf,
    ols_newey_west,
    rolling_vpin_nb,
    volume_buckets_nb,
    vpin,
    vpin_diagnostics,
)


def test_buckets_by_hand():
    vol = np.array([3.0, 5.0, 2.0, 6.0])
    buy = np.array([3.0, 0.0, 1.0, 6.0])
    bb, bs, first, last = volume_buckets_nb(vol, buy, 4.0)
    np.testing.assert_allclose(bb, [3, 0, 3, 4])
    np.testing.assert_allclose(bs, [1, 4, 1, 0])
    np.testing.assert_array_equal(first, [0, 1, 2, 3])
    np.testing.assert_array_equal(last, [1, 1, 3, 3])
    # a partial last bucket is dropped
    bb2, _, _, _ = volume_buckets_nb(np.r_[vol, 1.0], np.r_[buy, 1.0], 4.0)
    assert len(bb2) == 4


def _ref_buckets(vol, buy, V):
    out, cur_b, cur_s, cap = [], 0.0, 0.0, V
    for v, b in zip(vol, buy):
        f = b / v
        while v > 1e-12:
            take = min(v, cap)
            cur_b += take * f
            cur_s += take * (1 - f)
            v -= take
            cap -= take
            if cap <= 1e-9 * V:
                out.append((cur_b, cur_s))
                cur_b = cur_s = 0.0
                cap = V
    return np.array(out)


def test_buckets_match_reference_and_conserve_volume():
    rng = np.random.default_rng(0)
    vol = rng.integers(1, 500, 2000).astype(float)
    buy = vol * rng.random(2000)
    V = 1234.0
    bb, bs, first, last = volume_buckets_nb(vol, buy, V)
    ref = _ref_buckets(vol, buy, V)
    np.testing.assert_allclose(np.column_stack([bb, bs]), ref[: len(bb)], rtol=1e-9)
    np.testing.assert_allclose(bb + bs, V, rtol=1e-9)
    assert len(bb) == int(vol.sum() // V)
    assert (first <= last).all() and (np.diff(last) >= 0).all()


def test_rolling_vpin_by_hand():
    bb = np.array([3.0, 0.0, 3.0, 4.0])
    bs = np.array([1.0, 4.0, 1.0, 0.0])
    v = rolling_vpin_nb(bb, bs, 4.0, 2)
    assert np.isnan(v[0])
    np.testing.assert_allclose(v[1:], [(2 + 4) / 8, (4 + 2) / 8, (2 + 4) / 8])
    v3 = rolling_vpin_nb(bb, bs, 4.0, 3)
    np.testing.assert_allclose(v3[2:], [(2 + 4 + 2) / 12, (4 + 2 + 4) / 12])


def _trades(n, seed):
    rng = np.random.default_rng(seed)
    ts = np.sort(rng.integers(0, 6 * 3600 * 10**9, n))
    side = rng.choice([-1, 1], n)
    price = 100 + np.cumsum(side * 0.01)
    size = rng.integers(1, 200, n).astype(float)
    return ts, price, size, side


def test_exact_mode_extremes():
    ts, price, size, side = _trades(3000, 1)
    all_buy = vpin(ts, price, size, np.ones(3000), V=size.sum() / 100, n=10, mode="exact")
    np.testing.assert_allclose(all_buy["vpin"].dropna(), 1.0)
    # alternating buy/sell trades of equal size inside every bucket -> VPIN 0
    size2 = np.full(3000, 10.0)
    alt = vpin(ts, price, size2, np.tile([1, -1], 1500), V=100.0, n=5, mode="exact")
    np.testing.assert_allclose(alt["vpin"].dropna(), 0.0, atol=1e-12)
    assert len(alt) == 300 and alt.attrs["V"] == 100.0


def test_bvc_modes_and_cdf():
    ts, price, size, side = _trades(20_000, 2)
    for mode in ("bars", "bucket"):
        b = vpin(ts, price, size, V=size.sum() / 200, n=50, mode=mode)
        v = b["vpin"].dropna()
        assert len(b) in (199, 200) and len(v) == len(b) - 49
        assert ((v >= 0) & (v <= 1)).all()
        np.testing.assert_allclose(b["buy"] + b["sell"], b.attrs["V"], rtol=1e-9)
    # default V = day volume / 50 -> 50 buckets (49 or 50 with float rounding) and at most one VPIN value
    d = vpin(ts, price, size, side, mode="exact")
    assert len(d) in (49, 50)
    np.testing.assert_allclose(empirical_cdf([3.0, 1.0, 2.0, np.nan]), [1.0, 1 / 3, 2 / 3, np.nan])
    with pytest.raises(ValueError):
        vpin(ts, price, size, mode="exact")


def test_diagnostics_returns_numbers():
    ts, price, size, side = _trades(20_000, 3)
    b = vpin(ts, price, size, side, V=size.sum() / 300, n=20, mode="exact")
    d = vpin_diagnostics(b)
    assert set(d) >= {"corr_intensity", "corr_volatility", "corr_next_abs_dp", "t_vpin_controlled", "vpin_mean",
                      "t_vpin_controlled_ols", "hac_lag"}
    assert d["n_vpin"] == len(b) - 19
    for k in ("corr_intensity", "corr_volatility", "corr_next_abs_dp"):
        assert -1 <= d[k] <= 1
    # the t-statistic uses Newey-West errors with a lag of the window (n = 20), not classical ones
    assert d["hac_lag"] == 20 and d["t_vpin_controlled"] != d["t_vpin_controlled_ols"]
    assert vpin_diagnostics(b, hac_lag=40)["hac_lag"] == 40
    with pytest.raises(ValueError, match="hac_lag"):
        vpin_diagnostics(b, hac_lag=5)


def _nw_reference(y, X, L):
    """Slow Newey-West: explicit sums over t and l (Bartlett weights), NaN rows dropped first."""
    X = np.column_stack([np.ones(len(y)), X])
    ok = np.isfinite(y) & np.isfinite(X).all(axis=1)
    y, X = y[ok], X[ok]
    b = np.linalg.solve(X.T @ X, X.T @ y)
    u = y - X @ b
    n, k = X.shape
    S = np.zeros((k, k))
    for t in range(n):
        S += u[t] ** 2 * np.outer(X[t], X[t])
    for lag in range(1, L + 1):
        w = 1 - lag / (L + 1)
        for t in range(lag, n):
            S += w * u[t] * u[t - lag] * (np.outer(X[t], X[t - lag]) + np.outer(X[t - lag], X[t]))
    inv = np.linalg.inv(X.T @ X)
    return b, np.sqrt(np.diag(inv @ S @ inv))


@pytest.mark.parametrize("L", [0, 3, 12])
def test_newey_west_matches_reference(L):
    rng = np.random.default_rng(L)
    X = rng.normal(size=(300, 2))
    y = 1 + X @ [0.5, -0.2] + np.convolve(rng.normal(size=304), np.ones(5), "valid")
    y[:7] = np.nan                                                    # leading NaNs (VPIN warm-up)
    r = ols_newey_west(y, X, lag=L)
    b, se = _nw_reference(y, X, L)
    np.testing.assert_allclose(r["coef"], b, rtol=1e-10)
    np.testing.assert_allclose(r["se"], se, rtol=1e-10)
    np.testing.assert_allclose(r["t"], b / se, rtol=1e-10)
    assert r["n"] == 293 and r["lag"] == L


def test_newey_west_corrects_overlapping_windows():
    """y and x are independent moving sums over n = 20 overlapping terms (like VPIN, intensity and
    volatility on rolling windows): classical |t| > 1.96 far more often than 5%, HAC with L = n near it."""
    n, m = 20, 600
    rng = np.random.default_rng(0)
    rej_ols = rej_hac = 0
    reps = 200
    for _ in range(reps):
        x = np.convolve(rng.normal(size=m + n - 1), np.ones(n), "valid")
        y = np.convolve(rng.normal(size=m + n - 1), np.ones(n), "valid")
        r = ols_newey_west(y, x, lag=n)
        rej_ols += abs(r["t_ols"][1]) > 1.96
        rej_hac += abs(r["t"][1]) > 1.96
    assert rej_ols / reps > 0.4
    assert rej_hac / reps < 0.2
    with pytest.raises(ValueError):
        ols_newey_west(y, x, lag=-1)


@pytest.mark.realdata
def test_vpin_on_lobster_sample(shared_data):
    from companion.data import resolve_lobster_paths
    from companion.flow.tradesign import executions
    from companion.io.lobster import read_lobster

    day = read_lobster(*resolve_lobster_paths("lobster:AAPL:1"))
    tr = executions(day.events, day.book)
    V = tr["size"].sum() / 250
    exact = vpin(tr["ts"], tr["price"], tr["size"], tr["aggressor"], V=V, mode="exact")
    bars = vpin(tr["ts"], tr["price"], tr["size"], V=V, mode="bars", t0=day.instrument.session_open_ns)
    assert 0.05 < exact["vpin"].mean() < 0.8 and 0.05 < bars["vpin"].mean() < 0.8
    d = vpin_diagnostics(bars)
    assert np.isfinite(d["corr_intensity"]) and np.isfinite(d["t_vpin_controlled"])
