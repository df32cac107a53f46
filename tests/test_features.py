"""Feature library: specs, streaming == batch (exact), pure-Python references, hand-worked examples."""
from __future__ import annotations

import bisect
import math

import numpy as np
import pandas as pd
import pytest

from companion import synth
from companion.book import replay, trades
from companion.events import ADD, CANCEL, DELETE, EVENT_DTYPE, EXEC_HIDDEN, EXEC_VISIBLE, NS, Instrument
from companion.features import FeatureConfig, FeatureEngine, compute, feature_names, registry
from companion.features.kernels import cks_e_nb
from companion.features.spec import GROUPS
from companion.flow.microprice import weighted_mid
from companion.flow.ofi import ofi_bins, ofi_events, ofi_multilevel_events
from companion.flow.vpin import vpin as flow_vpin

SESSION = (34200.0, 34200.0 + 900.0)
CFG = FeatureConfig(vpin_bucket_volume=1000.0, vpin_buckets=20, large_trade_size=300.0)


@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=SESSION)
    d = synth.simulate(seed=11, levels=10, config=cfg)
    ev = synth.to_events(d.messages)
    book = replay(ev, 10)
    return ev, book, synth.instrument(cfg, 10)


@pytest.fixture(scope="module")
def batch(day):
    ev, book, ins = day
    return compute(ev, book, ins, config=CFG)


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def assert_bitwise(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    diff = bits(a) != bits(b)
    assert not diff.any(), f"{diff.sum()} values differ, first at {np.argwhere(diff)[0]}"


# ----------------------------------------------------------------------------------------------
# specs
# ----------------------------------------------------------------------------------------------
def test_registry_has_50_complete_specs():
    reg = registry()
    assert len(reg) >= 50
    assert len(set(reg)) == len(reg)
    for name, s in reg.items():
        assert s.name == name and s.complete(), s
        assert s.group in GROUPS
    for w in ("1s", "10s", "1min", "5min"):
        assert f"ofi_{w}" in reg
    assert all(f"vol_imb_{k}" in reg for k in range(1, 11))


def test_state_layouts_size_the_engine_state(day):
    """Each group's ``sf`` is as long as its layout says, and every ``si`` layout fits the engine's
    ``si``: an offset past the end would write into a neighbour's state."""
    from companion.features import kernels as K

    ev, book, inst = day
    eng = FeatureEngine(inst, grid="1s")
    eng.update(ev[:10], book[:10])
    groups = {g.name: g for g in eng.group_states}
    assert set(groups) == set(K.STATE_LAYOUTS) | {"time"}
    for name, (sf, si) in K.STATE_LAYOUTS.items():
        g = groups[name]
        assert g.sf.size == sf.size, name
        assert si.size <= g.si.size, name
        assert list(sf[:-1]) == sorted(sf[:-1]) and sf[-2] < sf.size, name
    assert K.state_layout("X", a=2, b=3) == (0, 2, 5)
    # the groups whose running totals close into a ring keep them first in ``sf``: the emit kernels
    # read ring row ``q`` for the total at ``sf[q]``
    assert K.TR_SF.buy == 0 and K.Q_SF.adds == 0
    assert groups["trades"].ring.shape[0] == K.TR_SF.q + 1 and groups["queue"].ring.shape[0] == K.Q_SF.execs + 1


def test_columns_are_registry_order(batch):
    assert list(batch.columns) == list(registry())


# ----------------------------------------------------------------------------------------------
# streaming == batch
# ----------------------------------------------------------------------------------------------
def _stream(ev, book, ins, cuts, grid="1s", flush_between=False, config=CFG):
    eng = FeatureEngine(ins, grid=grid, config=config)
    ts, vals = [], []
    bounds = [0, *cuts, len(ev)]
    for a, b in zip(bounds[:-1], bounds[1:]):
        t, v = eng.update_arrays(ev[a:b], book[a:b])
        ts.append(t)
        vals.append(v)
        if flush_between and b < len(ev) and ev["ts"][b] > ev["ts"][b - 1]:
            t, v = eng.flush_arrays(int(ev["ts"][b]) - 1)
            ts.append(t)
            vals.append(v)
    t, v = eng.flush_arrays(max(eng.end_ns, int(ev["ts"][-1]))) if eng.end_ns else eng.flush_arrays(int(ev["ts"][-1]))
    ts.append(t)
    vals.append(v)
    return np.concatenate(ts), np.concatenate(vals)


def _batch_arrays(ev, book, ins, grid="1s", config=CFG):
    df = compute(ev, book, ins, grid=grid, config=config)
    return df, df.to_numpy()


@pytest.mark.parametrize("chunk", [7, 1000])
def test_streaming_equals_batch_fixed_chunks(day, batch, chunk):
    ev, book, ins = day
    t, v = _stream(ev, book, ins, list(range(chunk, len(ev), chunk)))
    assert t.size == len(batch)
    assert_bitwise(v, batch.to_numpy())


def test_streaming_event_by_event(day):
    ev, book, ins = day
    n = 2500
    _, ref = _batch_arrays(ev[:n], book[:n], ins)
    t, v = _stream(ev[:n], book[:n], ins, list(range(1, n)))
    assert_bitwise(v, ref)


@pytest.mark.parametrize("seed", [0, 1])
def test_streaming_random_splits_with_flushes(day, batch, seed):
    ev, book, ins = day
    rng = np.random.default_rng(seed)
    cuts = sorted(set(rng.integers(1, len(ev), 300).tolist()))
    t, v = _stream(ev, book, ins, cuts, flush_between=bool(seed))
    assert_bitwise(v, batch.to_numpy())
    assert np.array_equal(t, batch.index.asi8 - np.datetime64("2012-06-21", "ns").astype(np.int64))


@pytest.mark.parametrize("grid", ["events:50", "250ms"])
def test_streaming_equals_batch_other_grids(day, grid):
    ev, book, ins = day
    n = 8000
    cfg = FeatureConfig(vpin_bucket_volume=1000.0, vpin_buckets=20, large_trade_size=300.0)
    df, ref = _batch_arrays(ev[:n], book[:n], ins, grid=grid, config=cfg)
    assert len(df) > 100
    rng = np.random.default_rng(5)
    cuts = sorted(set(rng.integers(1, n, 200).tolist()))
    _, v = _stream(ev[:n], book[:n], ins, cuts, grid=grid, config=cfg)
    assert_bitwise(v, ref)


# ----------------------------------------------------------------------------------------------
# pure-Python references
# ----------------------------------------------------------------------------------------------
def _sample_times(batch):
    return batch.index.asi8 - np.datetime64("2012-06-21", "ns").astype(np.int64)


def _last_row(ts_list, T):
    """Index of the last event with ts <= T (-1 when none)."""
    return bisect.bisect_right(ts_list, T) - 1


def _cks_py(prev, cur, level):
    c = 4 * (level - 1)
    def side(row):
        pa, qa, pb, qb = row[c], row[c + 1], row[c + 2], row[c + 3]
        return pa, (qa if abs(pa) < 9e9 else 0.0), pb, (qb if abs(pb) < 9e9 else 0.0)
    pa0, qa0, pb0, qb0 = side(prev)
    pa, qa, pb, qb = side(cur)
    e = 0.0
    e += qb if pb >= pb0 else 0.0
    e -= qb0 if pb <= pb0 else 0.0
    e -= qa if pa <= pa0 else 0.0
    e += qa0 if pa >= pa0 else 0.0
    return e


def _window_sum_py(ts_list, values, T, W):
    lo = bisect.bisect_right(ts_list, T - W)
    hi = bisect.bisect_right(ts_list, T)
    return float(sum(values[lo:hi]))


def test_ofi_10s_matches_python_and_flow(day, batch):
    ev, book, _ = day
    rows = book.tolist()
    e_py = [0.0] + [_cks_py(rows[i - 1], rows[i], 1) for i in range(1, len(rows))]
    assert np.array_equal(np.array(e_py), ofi_events(book))           # same rule as flow.ofi
    e3 = [0.0] + [_cks_py(rows[i - 1], rows[i], 3) for i in range(1, len(rows))]
    assert np.array_equal(np.array(e3), ofi_multilevel_events(book, 5)[:, 2])
    ts_list = ev["ts"].tolist()
    T = _sample_times(batch)
    want = [_window_sum_py(ts_list, e_py, t, 10 * NS) for t in T.tolist()]
    assert np.array_equal(batch["ofi_10s"].to_numpy(), np.array(want))
    want3 = [_window_sum_py(ts_list, e3, t, 10 * NS) for t in T.tolist()[::7]]
    assert np.array_equal(batch["ofi_l3_10s"].to_numpy()[::7], np.array(want3))
    # flow.ofi's clock bins aligned to the session open are the 10 s windows at T = open + 10 k s
    open_ns = int(SESSION[0] * NS)
    fb = ofi_bins(book, ev["ts"], "10s", t0=open_ns, t1=int(SESSION[1] * NS))
    got = batch["ofi_10s"].to_numpy()[10::10][: len(fb)]
    assert np.array_equal(got, fb["ofi"].to_numpy()[: len(got)])


def test_cks_scalar_kernel_matches_flow(day):
    _, book, _ = day
    E = ofi_multilevel_events(book[:3000], 5)
    for m in range(5):
        c = 4 * m
        for i in range(1, 3000, 13):
            p, q = book[i - 1], book[i]
            clean = lambda r, k: r[k + 1] if abs(r[k]) < 9e9 else 0.0  # noqa: E731
            e = cks_e_nb(p[c], clean(p, c), p[c + 2], clean(p, c + 2), q[c], clean(q, c), q[c + 2], clean(q, c + 2))
            assert e == E[i, m]


def test_book_state_features_match_python(day, batch):
    ev, book, ins = day
    ts_list = ev["ts"].tolist()
    T = _sample_times(batch)
    wm = weighted_mid(book)
    for j in range(0, len(T), 5):
        i = _last_row(ts_list, int(T[j]))
        r = batch.iloc[j]
        if i < 0:
            assert np.isnan(r["vol_imb_3"])
            continue
        row = book[i]
        db = sum(row[4 * k + 3] for k in range(3) if abs(row[4 * k + 2]) < 9e9)
        da = sum(row[4 * k + 1] for k in range(3) if abs(row[4 * k]) < 9e9)
        assert r["vol_imb_3"] == pytest.approx((db - da) / (db + da), abs=1e-15)
        mid = 0.5 * (row[0] + row[2])
        assert r["spread_bps"] == pytest.approx(1e4 * (row[0] - row[2]) / mid, rel=1e-14)
        assert r["spread_ticks"] == (row[0] - row[2]) / ins.tick
        assert r["microprice_dev_ticks"] == pytest.approx((wm[i] - mid) / ins.tick, abs=1e-9)
        assert r["depth_total_10"] == sum(row[1::2][k] for k in range(20) if abs(row[0::2][k]) < 9e9)


def _order_counts_py(ev, upto):
    """Resting orders per (side, price) after events[:upto], from a dict order map."""
    orders, counts = {}, {}
    for k, s, p, q, oid in zip(*(ev[f][:upto].tolist() for f in ("kind", "side", "price", "size", "order_id"))):
        if oid == 0:
            continue
        if k == ADD:
            orders[oid] = [s, p, q]
            counts[(s, p)] = counts.get((s, p), 0) + 1
        elif k in (CANCEL, DELETE, EXEC_VISIBLE) and oid in orders:
            o = orders[oid]
            o[2] -= q
            if k == DELETE or o[2] <= 0:
                del orders[oid]
                counts[(o[0], o[1])] -= 1
    return counts


def test_order_count_imbalance_matches_python(day, batch):
    ev, book, _ = day
    ts_list = ev["ts"].tolist()
    T = _sample_times(batch)
    for j in range(3, len(T), 97):
        i = _last_row(ts_list, int(T[j]))
        counts = _order_counts_py(ev, i + 1)
        nb = counts.get((1, int(book[i, 2])), 0)
        na = counts.get((-1, int(book[i, 0])), 0)
        assert nb > 0 and na > 0  # the synthetic day is full depth: every resting order was added
        assert batch["ocount_imb_1"].iloc[j] == pytest.approx((nb - na) / (nb + na), abs=1e-15)


def _trades_py(ev):
    """Aggregated trades: maximal runs of consecutive fills with the same ts and aggressor side."""
    out = []
    cur = None
    for k, s, t, q in zip(*(ev[f].tolist() for f in ("kind", "side", "ts", "size"))):
        agg = -s if k in (EXEC_VISIBLE, EXEC_HIDDEN) else (s if k == 11 else 0)
        if cur is not None and (agg == 0 or t != cur[0] or agg != cur[1]):
            out.append(cur)
            cur = None
        if agg:
            cur = [t, agg, q] if cur is None else [cur[0], cur[1], cur[2] + q]
    if cur is not None:
        out.append(cur)
    return out


def test_trade_features_match_python(day, batch):
    ev, book, ins = day
    tr = trades(ev)
    T = _sample_times(batch)
    tl = tr["ts"].tolist()
    buy = np.where(tr["side"] > 0, tr["size"], 0.0).tolist()
    sell = np.where(tr["side"] < 0, tr["size"], 0.0).tolist()
    agg = _trades_py(ev)
    at = [a[0] for a in agg]
    big = [1.0 if a[2] >= CFG.large_trade_size else 0.0 for a in agg]
    for j in range(0, len(T), 3):
        t = int(T[j])
        b = _window_sum_py(tl, buy, t, 10 * NS)
        s = _window_sum_py(tl, sell, t, 10 * NS)
        got = batch["trade_imb_10s"].iloc[j]
        if b + s == 0:
            assert np.isnan(got)
        else:
            assert got == pytest.approx((b - s) / (b + s), abs=1e-15)
        assert batch["trade_count_1min"].iloc[j] == _window_sum_py(at, [1.0] * len(at), t, 60 * NS)
        assert batch["large_trade_count_5min"].iloc[j] == _window_sum_py(at, big, t, 300 * NS)


def test_realised_vol_momentum_parkinson_match_python(day, batch):
    ev, book, ins = day
    ts_list = ev["ts"].tolist()
    ok = (np.abs(book[:, 0]) < 9e9) & (np.abs(book[:, 2]) < 9e9)
    mids = pd.Series(np.where(ok, 0.5 * (book[:, 0] + book[:, 2]), np.nan)).ffill().tolist()  # last valid mid
    T = _sample_times(batch)
    open_ns = int(SESSION[0] * NS)

    def mid_at(t):
        i = _last_row(ts_list, t)
        return mids[i] if i >= 0 else float("nan")

    first_bin = -((open_ns - ts_list[0]) // NS)
    for j in range(0, len(T), 11):
        t = int(T[j])
        if _last_row(ts_list, t) < 0:  # no event yet: no mid
            assert np.isnan(batch[["rv_1min", "mom_1min", "parkinson_1min"]].iloc[j]).all()
            continue
        K = (t - open_ns) // NS
        # realised vol: 1 s bin closes from the first event's bin on; the first bin's return is 0
        r2 = 0.0
        for k in range(max(K - 59, first_bin + 1), K + 1):
            a, b = mid_at(open_ns + (k - 1) * NS), mid_at(open_ns + k * NS)
            r2 += math.log(b / a) ** 2
        assert batch["rv_1min"].iloc[j] == pytest.approx(1e4 * math.sqrt(r2), rel=1e-9, abs=1e-9)
        then = mid_at(t - 60 * NS) if t - 60 * NS >= open_ns + first_bin * NS else float("nan")
        want = 1e4 * math.log(mid_at(t) / then) if then == then else float("nan")
        got = batch["mom_1min"].iloc[j]
        assert (np.isnan(got) and np.isnan(want)) or got == pytest.approx(want, rel=1e-12, abs=1e-12)
        # Parkinson: range of the mid over [t - 60 s, t] (state at the window start + every event in it)
        lo_i = bisect.bisect_right(ts_list, t - 60 * NS)
        hi_i = bisect.bisect_right(ts_list, t)
        path = [m for m in mids[max(lo_i - 1, 0):hi_i] if m == m]
        if path:
            want = 1e4 * math.log(max(path) / min(path)) / math.sqrt(4 * math.log(2))
            assert batch["parkinson_1min"].iloc[j] == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_queue_rates_match_python(day, batch):
    ev, book, _ = day
    T = _sample_times(batch)
    ts_list = ev["ts"].tolist()
    flags = []
    prev = (np.inf, -np.inf)
    for i, (k, s, p) in enumerate(zip(*(ev[f].tolist() for f in ("kind", "side", "price")))):
        best = prev[1] if s > 0 else prev[0]
        empty = abs(best) >= 9e9
        flags.append(1.0 if k == ADD and (empty or (s > 0 and p >= best) or (s < 0 and p <= best)) else 0.0)
        prev = (book[i, 0], book[i, 2])
    for j in range(0, len(T), 13):
        want = _window_sum_py(ts_list, flags, int(T[j]), 10 * NS) / 10.0
        assert batch["add_rate_best_10s"].iloc[j] == pytest.approx(want, rel=1e-15)


def test_vpin_matches_flow_exact(day, batch):
    ev, _, _ = day
    tr = trades(ev)
    ref = flow_vpin(tr["ts"], tr["price"], tr["size"], tr["side"], V=CFG.vpin_bucket_volume,
                    n=CFG.vpin_buckets, mode="exact")
    T = _sample_times(batch)
    done = np.searchsorted(ref["end_ts"].to_numpy(), T, side="right")  # buckets complete at T
    got = batch["vpin"].to_numpy()
    ok = done >= CFG.vpin_buckets
    assert ok.sum() > 100
    np.testing.assert_allclose(got[ok], ref["vpin"].to_numpy()[done[ok] - 1], rtol=1e-12)
    assert np.isnan(got[~ok]).all()
    oi = batch["vpin_oi_last"].to_numpy()
    np.testing.assert_allclose(oi[done > 0], ref["oi"].to_numpy()[done[done > 0] - 1], rtol=1e-12)


def test_time_of_day(batch):
    f = batch["tod_frac"].to_numpy()
    assert f[0] == 0.0 and f[-1] == 1.0
    np.testing.assert_allclose(batch["tod_sin"] ** 2 + batch["tod_cos"] ** 2, 1.0)


# ----------------------------------------------------------------------------------------------
# hand-worked example
# ----------------------------------------------------------------------------------------------
def _ev(rows):
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (t, k, s, p, q, oid) in enumerate(rows):
        ev[i] = (t, t, k, s, p, q, oid)
    return ev


def test_hand_worked_stream():
    s = NS
    ev = _ev([
        (100 * s + 1, ADD, 1, 9900, 100, 1),      # bid 99.00 x 100
        (100 * s + 2, ADD, -1, 10100, 50, 2),     # ask 101.00 x 50
        (100 * s + 3, ADD, 1, 9900, 30, 3),       # bid queue 130 (2 orders)
        (100 * s + 4, ADD, -1, 10200, 70, 4),     # ask level 2
        (101 * s + 0, EXEC_VISIBLE, -1, 10100, 20, 2),  # buyer lifts 20 of the ask
        (101 * s + 5, CANCEL, 1, 9900, 30, 3),    # order 3 cancelled in full (count drops to 1)
    ])
    book = replay(ev, 2)
    ins = Instrument("X", tick=100, price_scale=100, session_open_ns=100 * s, session_close_ns=103 * s)
    df = compute(ev, book, ins, grid="1s")
    T = (df.index.asi8 - np.datetime64("1970-01-01", "ns").astype(np.int64)).tolist() if df.index.dtype.kind == "M" \
        else df.index.asi8.tolist()
    assert T == [100 * s, 101 * s, 102 * s, 103 * s]
    r1, r2, r3 = df.iloc[1], df.iloc[2], df.iloc[3]
    # at 101 s: bid 99.00 x 130 (2 orders), ask 101.00 x 30 (1 order), ask 102.00 x 70
    assert r1["vol_imb_1"] == pytest.approx((130 - 30) / 160)
    assert r1["vol_imb_2"] == pytest.approx((130 - 100) / 230)
    assert r1["ocount_imb_1"] == pytest.approx((2 - 1) / 3)
    assert r1["spread_ticks"] == 2.0
    # e_n: event 2 (ask appears, bid unchanged) -> -50 (ask 101 x 50 appears: pa <= pa0 dummy) ...
    # OFI over (100, 101]: e = [0, -50, +30, 0, +20]: ask 2 level-1 exec +20
    assert r1["ofi_1s"] == 0 - 50 + 30 + 0 + 20
    assert r1["buy_vol_10s"] == 20 and r1["sell_vol_10s"] == 0 and r1["trade_imb_10s"] == 1.0
    assert r1["exec_rate_best_10s"] == pytest.approx(0.1)
    assert r1["tod_frac"] == pytest.approx(1 / 3)
    # at 102 s: order 3 cancelled -> bid 99.00 x 100 (1 order)
    assert r2["ocount_imb_1"] == 0.0
    assert r2["vol_imb_1"] == pytest.approx((100 - 30) / 130)
    assert r2["ofi_1s"] == -30 and r2["ofi_10s"] == 0 - 50 + 30 + 20 - 30
    assert r2["cancel_rate_best_10s"] == pytest.approx(0.1)
    assert r3["ofi_1s"] == 0 and r3["buy_vol_10s"] == 20
    # vwap of the one trade = 101.00; mid at 102 s = 100.00 -> -1 tick
    assert r2["vwap_dist_1min"] == pytest.approx(-1.0)


def test_validation_errors(day):
    ev, book, ins = day
    eng = FeatureEngine(ins, config=CFG)
    eng.update_arrays(ev[:100], book[:100])
    with pytest.raises(ValueError):
        eng.update_arrays(ev[:10], book[:10])  # goes back in time
    eng.flush_arrays(int(ev["ts"][200]))
    with pytest.raises(ValueError):
        eng.update_arrays(ev[150:160], book[150:160])  # already flushed past these
    with pytest.raises(KeyError):
        FeatureEngine(ins, features=["no_such_feature"])
    with pytest.raises(ValueError):
        FeatureEngine(ins, grid="1s", config=FeatureConfig(bin="7s"))


def test_feature_selection_subset(day, batch):
    ev, book, ins = day
    names = ["ofi_10s", "vol_imb_3", "vpin", "tod_cos"]
    df = compute(ev, book, ins, features=names, config=CFG)
    assert list(df.columns) == names
    assert_bitwise(df.to_numpy(), batch[names].to_numpy())
    assert feature_names("ofi")[0] == "ofi_1s"


# ----------------------------------------------------------------------------------------------
# real data
# ----------------------------------------------------------------------------------------------
def test_lobster_goog_ofi_matches_flow_bins(shared_data):
    from companion.data import load

    try:
        data = load("lobster:GOOG:10")
    except FileNotFoundError:
        pytest.skip("GOOG level 10 sample absent")
    ev, book, ins = data.events, data.book, data.instrument
    n = min(len(ev), 60_000)
    ev, book = ev[:n], book[:n]
    df = compute(ev, book, ins, features=["ofi_10s", "vol_imb_1", "spread_bps", "ocount_imb_1", "vpin"],
                 end_ns=int(ev["ts"][-1]))
    assert len(df) > 100 and np.isfinite(df["vol_imb_1"].to_numpy()[5:]).all()
    fb = ofi_bins(book, ev["ts"], "10s", t0=ins.session_open_ns, t1=int(ev["ts"][-1]))
    got = df["ofi_10s"].to_numpy()[10::10]
    m = min(len(got), len(fb) - 1)
    assert np.array_equal(got[:m], fb["ofi"].to_numpy()[:m])
