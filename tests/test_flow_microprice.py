"""Micro-price: weighted mid by hand (Stoikov's counter-example), transition counts vs a Python
reference, symmetry and convergence of G*, recovery of a known g on a synthetic chain, scoring."""
from __future__ import annotations

import numpy as np
import pytest

from companion.flow.microprice import (
    MicroPrice,
    imbalance_nb,
    micro_states_nb,
    score_predictors,
    transition_counts_nb,
    weighted_mid,
)


def test_weighted_mid_stoikov_counter_example():
    # Pb = 10.00, Qb = 9; Pa = 10.02, Qa = 27 -> W = 10.005; after a 1-lot sell at 10.01, W = 10.009 (it moves UP)
    book = np.array([[10.02, 27, 10.00, 9], [10.01, 1, 10.00, 9]])
    np.testing.assert_allclose(weighted_mid(book), [10.005, 10.009], rtol=0, atol=1e-12)
    np.testing.assert_allclose(imbalance_nb(book), [0.25, 0.9])


def test_states_by_hand():
    # the last row's bid holds 0 shares: an empty level (companion.events.level_ok_nb), no state
    book = np.array([[102, 1, 101, 9], [103, 5, 101, 5], [104, 5, 101, 5], [102, 10, 101, 0.5],
                     [102, 10, 101, 0.0]], float)
    edges = np.array([0.5, 1.5, 2.5])          # Stoikov: spreads 1 and 2 ticks
    np.testing.assert_array_equal(micro_states_nb(book, 1.0, 10, edges), [9, 15, -1, 0, -1])


def _ref_counts(state, mid, n_imb, ns, H):
    Q = np.zeros((ns, ns)); R = np.zeros((ns, 2 * H)); T = np.zeros((ns, ns))
    K = [h for h in range(-H, H + 1) if h != 0]
    for t in range(len(state) - 1):
        x, y = state[t], state[t + 1]
        if x < 0 or y < 0:
            continue
        h = int(round(2 * (mid[t + 1] - mid[t])))
        if abs(h) > H:
            continue
        for (a, b, hh) in ((x, y, h), ((x // n_imb) * n_imb + n_imb - 1 - x % n_imb, (y // n_imb) * n_imb + n_imb - 1 - y % n_imb, -h)):
            if hh == 0:
                Q[a, b] += 1
            else:
                R[a, K.index(hh)] += 1
                T[a, b] += 1
    return Q, R, T


@pytest.mark.parametrize("H", [2, 4])
def test_transition_counts_match_reference(H):
    rng = np.random.default_rng(H)
    n_imb, ns = 5, 10
    state = rng.integers(-1, ns, 500)
    mid = np.cumsum(rng.integers(-3, 4, 500) / 2)
    got = transition_counts_nb(state, mid, 1.0, n_imb, ns, H, 1)
    for a, b in zip(got, _ref_counts(state, mid, n_imb, ns, H)):
        np.testing.assert_array_equal(a, b)


def synthetic_chain(n, seed, persist=False):
    """Spread 1 tick; imbalance I ~ U(0,1) i.i.d.; each second the mid moves +1 tick w.p. I, else -1 tick.

    Then the next state is independent of the move, so g(I) = E[dM | I] = 2 E[I | bucket] - 1 ticks.
    """
    rng = np.random.default_rng(seed)
    imb = rng.random(n)
    move = np.where(rng.random(n) < imb, 1.0, -1.0)
    bid = 1000.0 + np.concatenate([[0.0], np.cumsum(move[:-1])])
    book = np.column_stack([bid + 1, 100 * (1 - imb), bid, 100 * imb])
    ts = np.arange(n, dtype=np.int64) * 10**9
    return book, ts


def test_recovers_known_adjustment_and_is_antisymmetric():
    book, ts = synthetic_chain(200_000, 0)
    m = MicroPrice(n_imb=10, n_spread=2, tick=1.0, dt="1s").fit(book, ts)
    g = m.g_[0]
    expected = 2 * (np.arange(10) + 0.5) / 10 - 1
    np.testing.assert_allclose(g, expected, atol=0.03)
    np.testing.assert_allclose(g, -g[::-1], atol=1e-12)              # symmetrisation
    np.testing.assert_array_equal(m.g_[1], 0.0)                       # spread 2 never seen
    # G* is the fixed point G = G1 + B G
    G = m.g_.ravel()
    np.testing.assert_allclose(G, m.G1_ + m.B_ @ G, atol=1e-10)
    assert m.n_iter_ < m.max_iter
    # max_move drops larger moves: every move here is 2 half-ticks, so max_move=0.5 keeps none
    m2 = MicroPrice(n_imb=10, n_spread=1, tick=1.0, max_move=0.5).fit(book[:1000], ts[:1000])
    assert m2.n_obs_ == 0 and np.all(m2.g_ == 0)


def test_quantile_spread_buckets():
    book, ts = synthetic_chain(5000, 1)
    book[::2, 0] += 3                                                 # spreads of 1 and 4 ticks
    m = MicroPrice(n_imb=4, n_spread=2, spread_bins="quantile", tick=1.0).fit(book, ts)
    assert m.g_.shape == (2, 4) and m.spread_edges_[0] == 1.0 and m.spread_edges_[-1] > 4.0
    assert np.all(m.adjustment(book) != 0)


def test_micro_price_beats_mid_and_weighted_mid_on_the_chain():
    book, ts = synthetic_chain(40_000, 2)
    tab, model = score_predictors(book, ts, tick=1.0, horizons=("1s", "5s"), n_imb=10, n_spread=1)
    one = tab.loc["1s"]
    assert one["mse_micro"] < one["mse_mid"]
    # expected MSE at 1 s: E[1 - g^2] for the mid's error vs the micro-price's E[1 - g^2] ... checked loosely
    assert one["mse_mid"] == pytest.approx(1.0, abs=0.03)             # |dM| = 1 tick always
    assert one["mse_micro"] == pytest.approx(1 - np.mean((2 * (np.arange(10) + 0.5) / 10 - 1) ** 2), abs=0.03)
    assert one["n"] > 19_000


def wide_chain(n, seed, spread=14, step=5):
    """Spread ``spread`` ticks; I ~ U(0, 1) i.i.d.; each second the mid moves +step ticks w.p. I, else
    -step ticks, so g(I) = E[dM | I] = step (2 E[I | bucket] - 1) ticks: up to ~ +-step."""
    rng = np.random.default_rng(seed)
    imb = rng.random(n)
    move = np.where(rng.random(n) < imb, step, -step).astype(float)
    bid = 10_000.0 + np.concatenate([[0.0], np.cumsum(move[:-1])])
    book = np.column_stack([bid + spread, 100 * (1 - imb), bid, 100 * imb])
    return book, np.arange(n, dtype=np.int64) * 10**9


def test_wide_spread_book_keeps_every_pair_and_recovers_g():
    # a 14-tick book whose mid moves 5 ticks at a time: Stoikov's K = {+-1/2, +-1} (max_move=1)
    # drops every pair and G* collapses to 0; the default move set follows the spread regime
    book, ts = wide_chain(50_000, 3)
    old = MicroPrice(n_imb=10, n_spread=3, spread_bins="quantile", tick=1.0, max_move=1).fit(book, ts)
    assert old.summary()["share_used"] < 0.05 and np.abs(old.g_).max() < 1e-12
    m = MicroPrice(n_imb=10, n_spread=3, spread_bins="quantile", tick=1.0).fit(book, ts)
    s = m.summary()
    assert s["pairs_total"] == len(book) - 1 and s["share_used"] >= 0.95 and s["pairs_dropped"] == 0
    assert s["max_move_ticks"] == 5.0
    expected = 5 * (2 * (np.arange(10) + 0.5) / 10 - 1)                # +-4.5 ticks
    np.testing.assert_allclose(m.g_[m.counts_ > 0].reshape(-1, 10), np.tile(expected, (1, 1)), atol=0.15)
    assert s["g_max_ticks"] == pytest.approx(4.5, abs=0.15) and s["g_min_ticks"] == pytest.approx(-4.5, abs=0.15)


def test_wide_spread_synthetic_day_keeps_95_percent_of_pairs():
    from companion import synth
    day = synth.simulate(seed=3, levels=5, config=synth.SynthConfig(session=(34200.0, 34200.0 + 1800)))
    b, ts = day.orderbook, day.messages["time_ns"]
    ok = (b[:, 1] > 0) & (b[:, 3] > 0)
    assert np.median((b[ok, 0] - b[ok, 2]) / 100) > 5                  # a many-tick spread
    kw = {"n_imb": 10, "n_spread": 3, "spread_bins": "quantile", "tick": 100}
    new = MicroPrice(**kw).fit(b, ts).summary()
    old = MicroPrice(max_move=1, **kw).fit(b, ts).summary()
    assert new["share_used"] >= 0.95 and new["pairs_total"] > 1000
    assert old["share_used"] < 0.8                                      # the truncation it replaces
    assert new["g_max_ticks"] > 2 * old["g_max_ticks"]


def test_max_move_is_validated():
    book, ts = synthetic_chain(100, 0)
    for bad in ("big", 0, -1):
        with pytest.raises(ValueError, match="max_move"):
            MicroPrice(max_move=bad).fit(book, ts)
