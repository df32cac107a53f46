"""Labels: kernels vs slow pure-Python references, hand-worked examples, and causality of the window."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from companion import labels as L

UNIT = {"price": 0, "ticks": 1, "bps": 2}


# ------------------------------------------------------------------ slow references
def ref_move(p0, p1, unit, tick):
    if unit == "price":
        return p1 - p0
    if unit == "ticks":
        return (p1 - p0) / tick
    return float("nan") if p0 == 0 else 1e4 * (p1 / p0 - 1)


def ref_end(t, i, horizon):
    """Index of the book as of the first event time >= t_i + h (clock) or i + k (events); None."""
    n = len(t)
    if isinstance(horizon, int):
        return i + horizon if i + horizon < n else None
    h = pd.Timedelta(horizon).value
    first = next((j for j in range(n) if t[j] >= t[i] + h), None)
    if first is None:
        return None
    return max(j for j in range(n) if t[j] == t[first])


def cls(r, thr):
    return 1 if r > thr else (-1 if r < -thr else 0)


def ref_fixed(t, mid, horizon, thr, unit, tick):
    out = []
    for i in range(len(t)):
        e = ref_end(t, i, horizon)
        r = float("nan") if e is None else ref_move(mid[i], mid[e], unit, tick)
        out.append(None if math.isnan(r) else (r, cls(r, thr), e))
    return out


def ref_smoothed(mid, k, alpha, unit, tick, past_mean):
    out = []
    n = len(mid)
    for i in range(n):
        if i + k >= n or (past_mean and i - k + 1 < 0):
            out.append(None)
            continue
        fut = sum(mid[i + 1:i + k + 1]) / k
        ref = sum(mid[i - k + 1:i + 1]) / k if past_mean else mid[i]
        r = ref_move(ref, fut, unit, tick)
        out.append(None if math.isnan(r) else (r, cls(r, alpha), i + k))
    return out


def ref_triple(t, mid, pt, sl, horizon, unit, tick, vertical_sign, side=None):
    """AFML Snippet 3.2 written as the obvious loop over the path."""
    out = []
    n = len(t)
    for i in range(n):
        s = 1.0 if side is None else side[i]
        if s == 0 or math.isnan(s) or math.isnan(mid[i]):
            out.append(None)
            continue
        v = None if horizon is None else ref_end(t, i, horizon)
        last = n - 1 if v is None else v
        res = None
        for j in range(i + 1, last + 1):
            r = ref_move(mid[i], mid[j], unit, tick)
            if math.isnan(r):
                continue
            if s * r >= pt:
                res = (r, 1, j, 1)
                break
            if s * r <= -sl:
                res = (r, -1, j, -1)
                break
        if res is None and v is not None:
            r = ref_move(mid[i], mid[v], unit, tick)
            if not math.isnan(r):
                lab = (1 if s * r > 0 else (-1 if s * r < 0 else 0)) if vertical_sign else 0
                res = (r, lab, v, 0)
        out.append(res)
    return out


def random_path(seed, n=400, nan_share=0.03):
    """Event times with ties (several events per ns stamp), a tick-valued mid with a few NaNs."""
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.choice([0, 0, 1, 2, 5], size=n)) * 100_000_000  # 0.1 s steps, ties
    mid = 1_000_000 + 50.0 * np.cumsum(rng.choice([-2, -1, 0, 0, 0, 1, 2], size=n))
    mid[rng.random(n) < nan_share] = np.nan
    return pd.Series(mid, index=pd.to_datetime(t, unit="ns"))


def check_against(df, ref, n, extra=None):
    """Compare a dropna=False frame with a reference list of (ret, label, end_pos[, barrier])."""
    t_ns = df.index.asi8
    assert len(df) == n
    for i, want in enumerate(ref):
        row = df.iloc[i]
        if want is None:
            assert pd.isna(row["label"]) and pd.isna(row["t_end"]) and np.isnan(row["ret"]), i
            continue
        assert row["ret"] == pytest.approx(want[0], rel=1e-12, abs=1e-12), i
        assert int(row["label"]) == want[1], i
        assert row["t_end"].value == t_ns[want[2]], i
        if extra is not None:
            assert int(row[extra]) == want[3], i


# ------------------------------------------------------------------ equality with references
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("horizon", ["1s", "250ms", 1, 7])
@pytest.mark.parametrize("unit", ["ticks", "bps"])
def test_fixed_horizon_matches_reference(seed, horizon, unit):
    mid = random_path(seed)
    thr = 1.0 if unit == "ticks" else 0.5
    df = L.fixed_horizon_labels(mid, horizon, threshold=thr, unit=unit, tick=100.0, dropna=False)
    ref = ref_fixed(mid.index.asi8, mid.to_numpy(), horizon, thr, unit, 100.0)
    check_against(df, ref, len(mid))
    assert df["label"].notna().sum() > len(mid) // 2  # the test exercised defined labels


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("k", [1, 10])
@pytest.mark.parametrize("past_mean", [False, True])
def test_smoothed_matches_reference(seed, k, past_mean):
    mid = random_path(seed, nan_share=0.0)
    df = L.smoothed_labels(mid, k, alpha=2.0, unit="bps", past_mean=past_mean, dropna=False)
    check_against(df, ref_smoothed(mid.to_numpy(), k, 2.0, "bps", 1.0, past_mean), len(mid))


@pytest.mark.parametrize("seed", [0, 1, 4])
@pytest.mark.parametrize("pt, sl, horizon", [(2, 2, "1s"), (3, 1, 20), (np.inf, 2, "500ms"),
                                             (2, np.inf, None), (4, 4, None)])
@pytest.mark.parametrize("vertical", ["zero", "sign"])
def test_triple_barrier_matches_reference(seed, pt, sl, horizon, vertical):
    mid = random_path(seed)
    df = L.triple_barrier_labels(mid, pt=pt, sl=sl, horizon=horizon, unit="ticks", tick=50.0,
                                 vertical=vertical, dropna=False)
    ref = ref_triple(mid.index.asi8, mid.to_numpy(), pt, sl, horizon, "ticks", 50.0, vertical == "sign")
    check_against(df, ref, len(mid), extra="barrier")


@pytest.mark.parametrize("seed", [0, 5])
def test_meta_labels_match_reference(seed):
    mid = random_path(seed)
    rng = np.random.default_rng(seed + 100)
    side = rng.choice([-1.0, 1.0, 0.0], size=len(mid), p=[0.45, 0.45, 0.1])
    df = L.meta_labels(mid, side, pt=3, sl=2, horizon="1s", tick=50.0, dropna=False)
    ref = ref_triple(mid.index.asi8, mid.to_numpy(), 3, 2, "1s", "ticks", 50.0, True, side=side)
    for i, want in enumerate(ref):
        row = df.iloc[i]
        if want is None:
            assert pd.isna(row["label"]), i
            continue
        assert int(row["label"]) == int(side[i] * want[0] > 0), i
        assert row["pnl"] == pytest.approx(side[i] * want[0]) and int(row["barrier"]) == want[3]
    # meta-label 1 <=> profit-take or a positive vertical exit; never on a stop-loss
    ok = df["label"].notna()
    assert (df.loc[ok & (df.barrier == 1), "label"] == 1).all()
    assert (df.loc[ok & (df.barrier == -1), "label"] == 0).all()


def test_ewm_std_matches_reference():
    rng = np.random.default_rng(7)
    x = rng.normal(size=300)
    x[[5, 50, 51]] = np.nan
    got = L.ewm_std_nb(x, 20.0, 3)
    a, mu, var, seen, want = 2 / 21, 0.0, 0.0, 0, []
    for v in x:
        if not math.isnan(v):
            if seen == 0:
                mu, var = v, 0.0
            else:
                d = v - mu
                mu, var = mu + a * d, (1 - a) * (var + a * d * d)
            seen += 1
        want.append(math.sqrt(var) if seen >= 3 else float("nan"))
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    # and it is the same recursion as pandas' ewm(adjust=False) variance, up to the bias factor
    y = pd.Series(rng.normal(size=200))
    pd_var = y.ewm(span=20, adjust=False).var(bias=True).to_numpy()
    np.testing.assert_allclose(L.ewm_std_nb(y.to_numpy(), 20.0, 1) ** 2, pd_var, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------ hand-worked examples
def small_path():
    # time (s):   0    1    2    2    3    4    6
    # mid:      100  101  103  102   99   98  104
    t = pd.to_datetime(np.array([0, 1, 2, 2, 3, 4, 6]) * 10**9)
    return pd.Series([100.0, 101, 103, 102, 99, 98, 104], index=t)


def test_fixed_horizon_hand_worked():
    mid = small_path()
    df = L.fixed_horizon_labels(mid, "2s", threshold=1.0, unit="price", dropna=False)
    # t=0 -> first time >= 2 s is 2 s, state as of 2 s is the 2nd event stamped 2 s: 102, r=+2
    # t=1 -> 3 s: 99, r=-2; t=2 (both) -> 4 s: 98, r=-5 / -4; t=3 -> 6 s (first >= 5): 104, r=+5
    # t=4 -> 6 s: r=+6; t=6 -> past the end
    assert df["ret"].tolist()[:6] == [2.0, -2.0, -5.0, -4.0, 5.0, 6.0]
    assert df["label"].tolist()[:6] == [1, -1, -1, -1, 1, 1] and pd.isna(df["label"].iloc[6])
    assert [x.value // 10**9 for x in df["t_end"].iloc[:6]] == [2, 3, 4, 4, 6, 6]
    ev = L.fixed_horizon_labels(mid, 2, unit="price")  # two events ahead
    assert ev["ret"].tolist() == [3.0, 1.0, -4.0, -4.0, 5.0]
    bps = L.fixed_horizon_labels(mid, 1, unit="bps")
    assert bps["ret"].iloc[0] == pytest.approx(100.0)  # 100 -> 101 is +100 bps
    assert len(L.fixed_horizon_labels(mid, "2s")) == 6  # dropna drops the undefined last row
    # sampling on a clock grid is as-of: the sample at 2.5 s sees the book after the 2 s events
    s = L.fixed_horizon_labels(mid, "1s", unit="price", samples=pd.to_datetime([2_500_000_000]))
    assert s["ret"].iloc[0] == 98.0 - 102.0 and s["t_end"].iloc[0].value == 4 * 10**9


def test_smoothed_hand_worked():
    mid = small_path()
    df = L.smoothed_labels(mid, 3, alpha=0.5, unit="price", dropna=False)
    # t0: mean(101, 103, 102) = 102 -> +2 ; t1: mean(103, 102, 99) = 101.33 -> +0.33 (flat)
    assert df["ret"].iloc[0] == pytest.approx(2.0) and df["label"].iloc[0] == 1
    assert df["ret"].iloc[1] == pytest.approx(1 / 3) and df["label"].iloc[1] == 0
    assert df["t_end"].iloc[0].value == 2 * 10**9  # the 3rd event ahead (index 3) is stamped 2 s
    assert df["label"].isna().sum() == 3


def test_triple_barrier_hand_worked():
    mid = small_path()
    df = L.triple_barrier_labels(mid, pt=2.5, sl=1.5, horizon="3s", unit="price", dropna=False)
    # t0 (100): +1, +3 >= 2.5 at 2 s -> upper
    assert (df["label"].iloc[0], df["barrier"].iloc[0], df["ret"].iloc[0]) == (1, 1, 3.0)
    assert df["t_end"].iloc[0].value == 2 * 10**9
    # t1 (101): +2, +1, -2 <= -1.5 at 3 s -> lower
    assert (df["label"].iloc[1], df["ret"].iloc[1]) == (-1, -2.0) and df["t_end"].iloc[1].value == 3e9
    # the vertical barrier: t3 (102, second event at 2 s): 99 -> -3 lower at 3 s
    assert df["label"].iloc[3] == -1
    wide = L.triple_barrier_labels(mid, pt=10, sl=10, horizon="3s", unit="price", dropna=False)
    # t0: no touch in 3 s; vertical = first time >= 3 s = 3 s (99) -> label 0, ret -1
    assert (wide["label"].iloc[0], wide["barrier"].iloc[0], wide["ret"].iloc[0]) == (0, 0, -1.0)
    sgn = L.triple_barrier_labels(mid, pt=10, sl=10, horizon="3s", unit="price", vertical="sign")
    assert sgn["label"].iloc[0] == -1
    # volatility-scaled barriers: width per sample
    w = L.triple_barrier_labels(mid, pt=1, sl=1, width=np.full(7, 2.5), unit="price", dropna=False)
    assert w["ret"].iloc[0] == 3.0
    # no time limit and no touch before the data ends -> undefined
    assert pd.isna(L.triple_barrier_labels(mid, pt=50, sl=50, unit="price", dropna=False)["label"]).all()


def test_meta_labels_hand_worked():
    mid = small_path()
    side = np.array([1, -1, 1, 1, 1, 1, 1], dtype=float)
    df = L.meta_labels(mid, side, pt=2.5, sl=1.5, horizon="3s", unit="price", dropna=False)
    # t0 long: +3 profit-take -> 1; t1 short: path +2 (-2 for a short: stop) -> 0
    assert df["label"].iloc[0] == 1 and df["barrier"].iloc[0] == 1
    assert df["label"].iloc[1] == 0 and df["barrier"].iloc[1] == -1 and df["pnl"].iloc[1] == -2.0


def test_class_balance_helpers():
    r = np.array([-3, -1, 0, 0, 0, 1, 2, 5, np.nan])
    tab = L.balance_by_threshold(r, [0, 1, 10])
    np.testing.assert_allclose(tab.loc[0.0].to_numpy(), [2 / 8, 3 / 8, 3 / 8])
    np.testing.assert_allclose(tab.loc[1.0].to_numpy(), [1 / 8, 5 / 8, 2 / 8])
    assert tab.loc[10.0, "flat"] == 1.0
    thr = L.threshold_for_flat_share(r, 0.6)
    assert thr == 1.0 and np.mean(np.abs(r[:-1]) <= thr) >= 0.6
    assert np.mean(np.abs(r[:-1]) < thr) < 0.6  # the smallest such threshold
    cb = L.class_balance(pd.Series([1, -1, 0, 0, None]))
    assert cb.to_dict() == {-1: 0.25, 0: 0.5, 1: 0.25}


def test_input_validation():
    mid = small_path()
    with pytest.raises(ValueError):
        L.fixed_horizon_labels(mid, 0)
    with pytest.raises(ValueError):
        L.fixed_horizon_labels(mid, "0s")
    with pytest.raises(ValueError):
        L.fixed_horizon_labels(mid, 1, unit="pips")
    with pytest.raises(ValueError):
        L.fixed_horizon_labels(mid.iloc[::-1], 1)
    with pytest.raises(ValueError):
        L.triple_barrier_labels(mid, pt=0.0)


# ------------------------------------------------------------------ causality of the label window
def _labelers():
    return {
        "fixed_clock": lambda m: L.fixed_horizon_labels(m, "1s", threshold=1, tick=50.0, dropna=False),
        "fixed_events": lambda m: L.fixed_horizon_labels(m, 5, tick=50.0, dropna=False),
        "smoothed": lambda m: L.smoothed_labels(m, 5, alpha=1.0, dropna=False),
        "triple": lambda m: L.triple_barrier_labels(m, pt=2, sl=2, horizon="800ms", tick=50.0, dropna=False),
        "meta": lambda m: L.meta_labels(m, np.where(np.arange(len(m)) % 2, 1.0, -1.0), pt=2, sl=1,
                                        horizon=6, tick=50.0, dropna=False),
    }


@pytest.mark.parametrize("name", list(_labelers()))
def test_label_depends_only_on_its_window(name):
    """Label at t is a function of the mid at t and of data stamped in (t, t_end] only."""
    f = _labelers()[name]
    mid = random_path(11, n=300, nan_share=0.0)
    base = f(mid)
    rng = np.random.default_rng(0)
    t_ns = mid.index.asi8
    changed_inside = 0
    checked = 0
    for i in rng.choice(np.flatnonzero(base["label"].notna().to_numpy()), size=25, replace=False):
        e = int(np.searchsorted(t_ns, base["t_end"].iloc[i].value, side="right"))  # first index after t_end
        outside = mid.copy()
        noise = rng.normal(0, 500, size=len(mid))
        outside.iloc[:i] += noise[:i]            # everything before the sample
        outside.iloc[e:] += noise[e:]            # everything stamped after t_end
        # and move the later events' timestamps further out (keeps the order)
        later = t_ns.copy()
        later[e:] += np.cumsum(rng.integers(0, 10**9, size=len(mid) - e))
        outside.index = pd.to_datetime(later)
        got = f(outside).iloc[i]
        want = base.iloc[i]
        assert got["label"] == want["label"] and got["ret"] == want["ret"], (name, i)
        assert got["t_end"] == want["t_end"], (name, i)
        checked += 1
        inside = mid.copy()
        inside.iloc[i + 1:e] += rng.choice([-1, 1]) * 10_000.0  # a large move inside the window
        changed_inside += f(inside).iloc[i]["ret"] != want["ret"]
    assert checked == 25
    assert changed_inside > 0  # the label does react to data inside its window


def test_real_lobster_labels(shared_data):
    """Fixed-horizon and triple-barrier labels on a real LOBSTER day (AAPL level 1)."""
    from conftest import lobster_samples

    from companion.io.lobster import read_lobster

    pairs = [p for p in lobster_samples() if "AAPL" in p[0].name]
    if not pairs:
        pytest.skip("no AAPL LOBSTER sample")
    res = read_lobster(*pairs[0])
    book, events = res.book, res.events
    ok = (book[:, 1] > 0) & (book[:, 3] > 0)
    mid = pd.Series(np.where(ok, (book[:, 0] + book[:, 2]) / 2, np.nan), index=pd.TimedeltaIndex(events["ts"]))
    grid = pd.timedelta_range(mid.index[0].ceil("1min"), mid.index[-1], freq="10s")
    fh = L.fixed_horizon_labels(mid, "1min", threshold=1.0, tick=100.0, samples=grid)
    assert len(fh) > 1000 and (fh["t_end"] > fh.index).all()
    assert set(fh["label"].unique()) == {-1, 0, 1}
    vol = L.ewm_volatility(mid, tick=100.0, samples=grid, span=50)
    tb = L.triple_barrier_labels(mid, pt=2, sl=2, width=vol, horizon="1min", tick=100.0, samples=grid)
    assert len(tb) > 1000 and ((tb["t_end"] - tb.index) <= pd.Timedelta("1min") + pd.Timedelta("5min")).all()
