"""OFI: every case of CKS (2014) eq. 10 by hand, empty levels, kernels vs a plain-Python reference,
the stylised-book identity dP = OFI / (2D), clock/event bins, multi-level and integrated OFI."""
from __future__ import annotations

import numpy as np
import pytest

from companion.events import DUMMY_ASK, DUMMY_BID
from companion.flow.ofi import (
    bin_bounds,
    integrated_ofi,
    multilevel_ofi_bins,
    ofi_bins,
    ofi_event_windows,
    ofi_events,
    ofi_multilevel_events,
    pc1_weights,
)

# previous state: ask 103 x 5, bid 99 x 7
PREV = (103.0, 5.0, 99.0, 7.0)
# (new bid px, new bid sz, hand-worked bid part): up -> +q^B_n, same -> q^B_n - q^B_{n-1}, down -> -q^B_{n-1}
BID_CASES = {"up": (100.0, 3.0, +3.0), "same": (99.0, 10.0, +3.0), "down": (98.0, 4.0, -7.0)}
# (new ask px, new ask sz, hand-worked ask part): up -> +q^A_{n-1}, same -> -(q^A_n - q^A_{n-1}), down -> -q^A_n
ASK_CASES = {"up": (104.0, 8.0, +5.0), "same": (103.0, 2.0, +3.0), "down": (102.0, 6.0, -6.0)}


@pytest.mark.parametrize("bid_case", list(BID_CASES))
@pytest.mark.parametrize("ask_case", list(ASK_CASES))
def test_eq10_every_case_by_hand(bid_case, ask_case):
    pb, qb, eb = BID_CASES[bid_case]
    pa, qa, ea = ASK_CASES[ask_case]
    book = np.array([PREV, (pa, qa, pb, qb)])
    e = ofi_events(book)
    assert e[0] == 0.0
    assert e[1] == eb + ea


def test_eq10_worked_sequence():
    # a small sequence worked by hand: add to bid, market buy eats part of the ask, ask depleted,
    # bid cancelled down to a lower level
    book = np.array([
        [101, 4, 100, 6],
        [101, 4, 100, 9],   # +3 bid add                       -> +3
        [101, 1, 100, 9],   # market buy of 3 at the ask       -> +3
        [102, 7, 100, 9],   # ask depleted, next ask 102 x 7   -> +q^A_{n-1} = +1
        [102, 7, 99, 5],    # bid queue cancelled, next bid 99  -> -9
        [101, 2, 99, 5],    # new ask inside the spread        -> -2
    ], dtype=float)
    np.testing.assert_array_equal(ofi_events(book), [0, 3, 3, 1, -9, -2])


def test_empty_levels_count_as_size_zero():
    book = np.array([
        [101, 4, 100, 6],
        [101, 4, DUMMY_BID, 0],      # bid side empties: -q^B_{n-1} = -6
        [101, 4, 99, 2],             # bid reappears: +q^B_n = +2
        [DUMMY_ASK, 0, 99, 2],       # ask empties: +q^A_{n-1} = +4
        [DUMMY_ASK, 5, 99, 2],       # dummy with a (bad) size: still size 0 -> 0
        [102, 3, 99, 2],             # ask reappears: -q^A_n = -3
    ], dtype=float)
    np.testing.assert_array_equal(ofi_events(book), [0, -6, 2, 4, 0, -3])


# ---------------------------------------------------------------------------------------------
# plain-Python references
# ---------------------------------------------------------------------------------------------
def _ref_e(book, level):
    c = 4 * (level - 1)
    out = [0.0]
    for i in range(1, len(book)):
        def side(r):
            pa, qa, pb, qb = book[r][c:c + 4]
            return pa, (qa if abs(pa) < 9e9 else 0.0), pb, (qb if abs(pb) < 9e9 else 0.0)
        pa0, qa0, pb0, qb0 = side(i - 1)
        pa, qa, pb, qb = side(i)
        e = 0.0
        if pb > pb0:
            e += qb
        elif pb == pb0:
            e += qb - qb0
        else:
            e -= qb0
        if pa < pa0:
            e -= qa
        elif pa == pa0:
            e -= qa - qa0
        else:
            e += qa0
        out.append(e)
    return np.array(out)


def random_book(n, levels, seed, p_empty=0.05):
    """Random LOBSTER-layout books: a random-walk best bid, spreads 1-3 ticks, random gaps, empty levels."""
    rng = np.random.default_rng(seed)
    book = np.zeros((n, 4 * levels))
    bid = 10_000 + np.cumsum(rng.integers(-1, 2, n))
    spread = rng.integers(1, 4, n)
    for m in range(levels):
        gap_a = rng.integers(1, 3, n) if m else 0
        gap_b = rng.integers(1, 3, n) if m else 0
        ask_px = (book[:, 4 * (m - 1)] + gap_a) if m else bid + spread
        bid_px = (book[:, 4 * (m - 1) + 2] - gap_b) if m else bid
        book[:, 4 * m] = ask_px
        book[:, 4 * m + 1] = rng.integers(1, 20, n)
        book[:, 4 * m + 2] = bid_px
        book[:, 4 * m + 3] = rng.integers(1, 20, n)
    # empty the deepest levels at random (packed: an empty level's deeper levels are empty too)
    for side, dummy in ((0, DUMMY_ASK), (2, DUMMY_BID)):
        depth = np.where(rng.random(n) < p_empty, rng.integers(0, levels, n), levels)
        for m in range(levels):
            gone = m >= depth
            book[gone, 4 * m + side] = dummy
            book[gone, 4 * m + side + 1] = 0
    return book


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernels_match_python_reference(seed):
    book = random_book(400, 5, seed)
    np.testing.assert_array_equal(ofi_events(book), _ref_e(book, 1))
    ml = ofi_multilevel_events(book)
    assert ml.shape == (400, 5)
    for m in range(1, 6):
        np.testing.assert_array_equal(ml[:, m - 1], _ref_e(book, m))


def test_bins_match_python_reference():
    rng = np.random.default_rng(5)
    book = random_book(300, 2, 5, p_empty=0.0)
    ts = np.sort(rng.integers(0, 60 * 10**9, 300))
    ts[10:14] = ts[10]                             # ties
    df = ofi_bins(book, ts, "5s", t0=0, t1=60 * 10**9, tick=1.0, size_unit=1.0)
    assert len(df) == 12
    e = _ref_e(book, 1)
    mid = (book[:, 0] + book[:, 2]) / 2
    for k in range(12):
        lo, hi = k * 5 * 10**9, (k + 1) * 5 * 10**9
        inside = (ts > lo) & (ts <= hi)
        assert df["ofi"].iloc[k] == pytest.approx(e[inside].sum(), abs=1e-9)
        last_hi = np.flatnonzero(ts <= hi)
        last_lo = np.flatnonzero(ts <= lo)
        end = mid[last_hi[-1]] if last_hi.size else mid[0]
        start = mid[last_lo[-1]] if last_lo.size else mid[0]
        assert df["dp"].iloc[k] == end - start
        assert df["n_events"].iloc[k] == inside[1:].sum()   # row 0 is the initial state, not an event


def test_empty_bins_are_zero_and_aligned_to_t0():
    book = np.array([[101, 4, 100, 6], [101, 4, 100, 9], [102, 1, 100, 9]], dtype=float)
    ts = np.array([0, 2_500_000_000, 9_000_000_000])
    edges, bounds = bin_bounds(ts, "1s", t0=0, t1=10 * 10**9)
    assert len(edges) == 11 and edges[0] == 0
    df = ofi_bins(book, ts, "1s", t0=0, t1=10 * 10**9)
    np.testing.assert_array_equal(df["ofi"], [0, 0, 3, 0, 0, 0, 0, 0, 4, 0])
    np.testing.assert_array_equal(df["dp"], [0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0])


def test_event_windows():
    book = random_book(101, 1, 9, p_empty=0.0)
    df = ofi_event_windows(book, 10)
    e = _ref_e(book, 1)
    assert len(df) == 10
    np.testing.assert_allclose(df["ofi"], [e[1 + 10 * k: 11 + 10 * k].sum() for k in range(10)])
    assert df["dp"].sum() == pytest.approx(((book[100, 0] + book[100, 2]) - (book[0, 0] + book[0, 2])) / 2)


# ---------------------------------------------------------------------------------------------
# the stylised book: constant depth D beyond the best -> dP = OFI / (2D) exactly
# ---------------------------------------------------------------------------------------------
def stylised_book(D, n_bins: int, seed: int, levels: int = 3, tick: float = 1.0, dt: int = 10**9):
    """A book sequence with depth D at every level beyond the best (CKS 2014, sec. 2).

    Events: add / partial cancel or trade at either best queue; depletion of a best queue (the next
    level, of size D, becomes best: price moves one tick away); an improvement inside the spread,
    allowed only when the overtaken queue is full (= D, it becomes level 2). Each clock bin ends with
    both best queues topped up to D, so sum(e) over a bin = 2 D x (mid change in ticks) exactly.
    ``D`` may be an array (one depth per bin): a change of D resets both best queues and the
    deeper levels together, which contributes e = dD - dD = 0 at an unchanged mid.
    """
    rng = np.random.default_rng(seed)
    Ds = np.broadcast_to(np.asarray(D, dtype=float), (n_bins,))
    D = float(Ds[0])
    pa, qa, pb, qb = 100.0 + 2 * tick, D, 100.0, D
    rows, ts = [], []

    def emit(t):
        r = []
        for m in range(levels):
            r += [pa + m * tick, qa if m == 0 else D, pb - m * tick, qb if m == 0 else D]
        rows.append(r)
        ts.append(t)

    emit(0)
    for k in range(n_bins):
        if Ds[k] != D:
            D = float(Ds[k])
            qa = qb = D
            emit(k * dt + 1)
        if rng.random() < 0.1:   # an empty bin
            continue
        n_ev = int(rng.integers(1, 12))
        times = np.sort(rng.integers(k * dt + 2, (k + 1) * dt - 1, n_ev + 2))
        for t in times[:-2]:
            side = rng.random() < 0.5
            u = rng.random()
            q = qb if side else qa
            if u < 0.3:
                q += float(rng.integers(1, 5))
            elif u < 0.6 and q > 1:
                q -= float(rng.integers(1, int(q)))
            elif u < 0.8:                     # depletion
                if side:
                    pb, qb = pb - tick, D
                else:
                    pa, qa = pa + tick, D
                emit(int(t))
                continue
            elif q == D and pa - pb > tick:   # improvement: new level inside the spread
                if side:
                    pb, qb = pb + tick, float(rng.integers(1, 5))
                else:
                    pa, qa = pa - tick, float(rng.integers(1, 5))
                emit(int(t))
                continue
            if side:
                qb = q
            else:
                qa = q
            emit(int(t))
        qb = D
        emit(int(times[-2]))
        qa = D
        emit(int(times[-1]))
    return np.array(rows, dtype=float), np.array(ts, dtype=np.int64)


@pytest.mark.parametrize("D", [3.0, 10.0, 57.0])
def test_stylised_book_dp_equals_ofi_over_2d(D):
    book, ts = stylised_book(D, 300, seed=int(D))
    df = ofi_bins(book, ts, "1s", t0=0, t1=300 * 10**9, tick=1.0)
    assert (df["dp"] != 0).sum() > 50 and (df["n_events"] == 0).sum() > 5
    np.testing.assert_allclose(df["dp"].to_numpy(), df["ofi"].to_numpy() / (2 * D), rtol=0, atol=1e-12)


def test_stylised_multilevel_levels_agree():
    # in the stylised book with exactly D at levels 2.., level-2 OFI is 0 whenever nothing crosses levels
    book, ts = stylised_book(5.0, 50, seed=3)
    ml = ofi_multilevel_events(book)
    np.testing.assert_array_equal(ml[:, 0], ofi_events(book))


# ---------------------------------------------------------------------------------------------
# multi-level normalisation, PCA, integrated OFI
# ---------------------------------------------------------------------------------------------
def test_multilevel_normalisation_by_average_depth():
    book = np.array([
        [101, 4, 100, 6, 102, 10, 99, 20],
        [101, 4, 100, 8, 102, 10, 99, 24],   # e1 = +2, e2 = +4
    ], dtype=float)
    ts = np.array([0, 500_000_000])
    df = multilevel_ofi_bins(book, ts, "1s", t0=0, t1=10**9)
    Q = (4 + 8 + 10 + 24) / 4                 # mean of the 2 bid + 2 ask sizes over the bin's events (row 1)
    assert df["depth"].iloc[0] == Q
    assert df["ofi1"].iloc[0] == pytest.approx(2 / Q)
    assert df["ofi2"].iloc[0] == pytest.approx(4 / Q)
    raw = multilevel_ofi_bins(book, ts, "1s", t0=0, t1=10**9, normalise=False)
    assert raw["ofi2"].iloc[0] == 4


def test_pc1_weights_and_integrated_ofi():
    rng = np.random.default_rng(0)
    f = rng.normal(size=2000)
    X = np.column_stack([f + 0.1 * rng.normal(size=2000), 2 * f + 0.1 * rng.normal(size=2000), -0.0 * f + 0.1 * rng.normal(size=2000)])
    w, share = pc1_weights(X)
    assert w.sum() > 0 and np.linalg.norm(w) == pytest.approx(1.0)
    assert w[1] / w[0] == pytest.approx(2.0, rel=0.02)
    assert 0.99 < share <= 1.0
    xi = integrated_ofi(X, w)
    np.testing.assert_allclose(xi, X @ w / np.abs(w).sum())
    # a pure one-factor matrix: share is exactly 1 and integrated OFI is the factor up to scale
    w2, s2 = pc1_weights(np.outer(f, [1.0, 3.0]))
    assert s2 == pytest.approx(1.0)
    # w2 = (1, 3)/sqrt(10): X w2 / ||w2||_1 = f (1 + 9)/sqrt(10) / (4/sqrt(10)) = 2.5 f
    np.testing.assert_allclose(integrated_ofi(np.outer(f, [1.0, 3.0]), w2), 2.5 * f, rtol=1e-9)
