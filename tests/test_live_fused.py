"""The fused live pipeline's pieces against their batch references.

* the flat, 8-trees-at-a-time tree walk (:func:`companion.models.compiled.predict_row_flat_into_nb`)
  == the reference walk (which ``tests/test_models_compiled.py`` checks against LightGBM), on every
  missing-value rule, NaN / zero / tiny inputs, multiclass, random forests;
* the level sum of the streamed trailing OFI == numpy's ``sum(axis=1)`` (the batch's), bit for bit;
* the executor's streamed model-rule codes and P(up) == the batch strategy's, for multi-level OFI
  and for an instrument without a session (feature grid started at the first event);
* the cycle-counter stage clock advances and is calibrated.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from companion import synth
from companion.cycles import cycles_nb, ns_per_cycle
from companion.live.config import LiveConfig
from companion.live.executor import LiveExecutor
from companion.live.feeds import LobsterReplayFeed, SimulatedClock
from companion.models.compiled import CompiledModel, flat_layout, predict_raw_flat_nb, predict_raw_nb
from companion.streaming import sum_levels_nb


def _tiled(cm: CompiledModel, k: int) -> CompiledModel:
    """``cm``'s trees repeated ``k`` times (so the 8-tree groups and the remainder both see them)."""
    n, nl = cm.feature.size, cm.leaf_value.size
    sh = lambda c, i: np.where(c >= 0, c + i * n, ~(~c + i * nl))  # noqa: E731
    return CompiledModel(roots=np.concatenate([sh(cm.roots, i) for i in range(k)]).astype(np.int32),
                         feature=np.tile(cm.feature, k), threshold=np.tile(cm.threshold, k),
                         decision_type=np.tile(cm.decision_type, k),
                         left=np.concatenate([sh(cm.left, i) for i in range(k)]).astype(np.int32),
                         right=np.concatenate([sh(cm.right, i) for i in range(k)]).astype(np.int32),
                         leaf_value=np.tile(cm.leaf_value, k), num_class=cm.num_class, n_features=cm.n_features,
                         objective=cm.objective)


def _same(cm: CompiledModel, X: np.ndarray) -> None:
    X = np.ascontiguousarray(X, dtype=np.float64)
    ref = predict_raw_nb(X, *cm.arrays, cm.num_class)
    got = predict_raw_flat_nb(X, *cm.flat, cm.num_class)
    np.testing.assert_array_equal(got, ref)
    out = np.empty(cm.num_class)
    for i in range(0, len(X), max(1, len(X) // 7)):
        np.testing.assert_array_equal(cm.predict_raw_row(X[i], out), ref[i])


@pytest.mark.parametrize("threshold", [0.5, 1e-36, 0.0, -1.0000000180025095e-35])
@pytest.mark.parametrize("decision_type", [0, 2, 4, 6, 8, 10])  # missing None/Zero/NaN x default right/left
def test_flat_walk_missing_rules(threshold, decision_type):
    pytest.importorskip("lightgbm")
    from test_models_compiled import VALUES, stump_model

    cm = CompiledModel.from_string(stump_model(threshold, decision_type))
    X = np.column_stack([np.zeros_like(VALUES), VALUES])
    for k in (1, 4, 9):  # 2, 8 and 18 trees
        _same(_tiled(cm, k), X)
    assert cm.flat[-1] == (decision_type >> 2 == 0)  # "plain": no Zero / NaN rule


def test_flat_walk_trained_models_nan_zero_multiclass():
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(3)
    A = rng.standard_normal((600, 5))
    A[rng.random(A.shape) < 0.1] = np.nan
    A[rng.random(A.shape) < 0.1] = 0.0
    y = (np.nan_to_num(A[:, 0]) + 0.5 * np.nan_to_num(A[:, 1]) + 0.3 * rng.standard_normal(600) > 0).astype(float)
    X = A.copy()
    X[rng.random(X.shape) < 0.05] = 1e-36
    base = {"verbose": -1, "seed": 1, "deterministic": True, "num_threads": 1, "num_leaves": 11}
    for extra, target in (({"objective": "binary"}, y),
                          ({"objective": "binary", "zero_as_missing": True}, y),
                          ({"objective": "multiclass", "num_class": 3},
                           np.digitize(np.nan_to_num(A[:, 0]), [-0.5, 0.5]).astype(float)),
                          ({"objective": "binary", "boosting": "rf", "bagging_fraction": 0.6, "bagging_freq": 1}, y)):
        b = lgb.train({**base, **extra}, lgb.Dataset(A, target), num_boost_round=21)
        cm = CompiledModel.from_booster(b)
        _same(cm, X)
        np.testing.assert_array_equal(predict_raw_flat_nb(X, *cm.flat, cm.num_class).reshape(len(X), -1),
                                      b.predict(X, raw_score=True).reshape(len(X), -1))


def test_flat_layout_depths_and_children():
    pytest.importorskip("lightgbm")
    from test_models_compiled import stump_model

    cm = _tiled(CompiledModel.from_string(stump_model(0.5, 2)), 8)  # 16 trees: stump, leaf, stump, ...
    roots, feature, threshold, children, dirs, leaf, gdepth, n_internal, plain = cm.flat
    assert n_internal == 8 and list(gdepth) == [1, 1] and plain
    leaves = np.arange(n_internal, n_internal + leaf.size)
    assert (children[2 * leaves] == leaves).all() and (children[2 * leaves + 1] == leaves).all()  # leaves loop
    assert flat_layout(*cm.arrays)[6].tolist() == [1, 1]


@pytest.mark.parametrize("M", range(1, 11))
def test_level_sum_is_numpys(M):
    rng = np.random.default_rng(M)
    E = rng.standard_normal((4000, M)) * 10.0 ** rng.integers(-3, 6, (4000, M))
    ref = E.sum(axis=1)
    got = np.array([sum_levels_nb(np.ascontiguousarray(r), M) for r in E])
    np.testing.assert_array_equal(got, ref)


def test_cycle_clock():
    a = cycles_nb()
    b = cycles_nb()
    assert b >= a
    r = ns_per_cycle()
    assert np.isnan(r) or 0.01 < r < 100.0


# ============================================================================ streamed model rule == batch
@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 300.0))
    d = synth.simulate(seed=11, config=cfg)
    return synth.to_events(d.messages), d.orderbook, synth.instrument(cfg)


def _model(ev, book, inst, names):
    pytest.importorskip("lightgbm")
    import pandas as pd

    from companion.features import FeatureEngine
    from companion.models.train import DirectionClassifier
    from companion.signals import forward_mid_move_bps, mid_price

    st, X = FeatureEngine(inst, grid="1s", features=names).update_arrays(ev, book)
    fwd = forward_mid_move_bps(ev["ts"], mid_price(book), 5 * 10**9)
    j = np.searchsorted(ev["ts"], st, side="right") - 1
    keep = (j >= 0) & np.isfinite(fwd[np.maximum(j, 0)])
    y = (fwd[j[keep]] > 0).astype(int)
    clf = DirectionClassifier(n_estimators=20, max_depth=3, random_state=0, n_jobs=1)
    clf.fit(pd.DataFrame(X[keep], columns=names), y)
    return CompiledModel.from_model(clf)


@pytest.mark.parametrize("levels, session", [(3, True), (9, True), (1, False)])
def test_streamed_model_codes_equal_batch(day, levels, session):
    from companion.features import FeatureEngine

    ev, book, inst = day
    if not session:  # no session: the grid starts at the first event's time, floored to the step
        inst = dataclasses.replace(inst, session_open_ns=0, session_close_ns=0)
    names = ["ofi_10s", "vol_imb_1", "spread_ticks", "rv_1min", "trade_imb_1min"]
    from companion.features import registry

    names = [f for f in names if f in registry()]
    model = _model(ev, book, inst, names)
    st, X = FeatureEngine(inst, grid="1s", features=names).update_arrays(ev, book)
    p = model.predict_output(X)
    cfg = LiveConfig.from_dict({"strategy": "model", "kill_switch": {"file": None}, "risk": {"max_loss": None},
                                "model": {"p_long": 0.52, "p_short": 0.48, "ofi_threshold": 0.0,
                                          "ofi_levels": levels}})
    ex = LiveExecutor(cfg, inst, model=model)
    ex.run(LobsterReplayFeed(ev, speed=float("inf"), clock=SimulatedClock(int(ev["ts"][0]))))
    n = len(ev)
    codes_b, p_b = cfg.strategy_object(p_up=p, p_ts=st).codes(ev, book, inst)
    t_live, p_live = ex.stream.predictions()
    assert len(t_live) >= len(st) - 1 and np.array_equal(t_live, st[: len(t_live)])
    np.testing.assert_array_equal(p_live, p[: len(p_live)])
    np.testing.assert_array_equal(ex.values[:n], p_b)
    np.testing.assert_array_equal(ex.codes[:n], codes_b)
    assert (codes_b != 0).any()


def test_front_rejects_unsorted_chunks(day):
    ev, book, inst = day
    model = _model(ev, book, inst, ["ofi_10s", "vol_imb_1"])
    cfg = LiveConfig.from_dict({"strategy": "model", "kill_switch": {"file": None}})
    bad = ev[:50].copy()
    bad["ts"][30] = bad["ts"][10] - 1
    with pytest.raises(ValueError, match="non-decreasing"):
        LiveExecutor(cfg, inst, model=model).run([(0, bad)])


# ============================================================================ emission masks
@pytest.mark.parametrize("group, masked", [("book", (2,)), ("volatility", (2, 3))])
def test_emission_mask_keeps_requested_outputs_bit_identical(day, group, masked):
    """``need`` (bit mask of outputs): every requested output is bit-identical to the all-outputs run;
    the window-looping outputs left out are NaN (nothing computed)."""
    from companion.features import FeatureConfig, _Group
    from companion.features import kernels as K

    ev, book, inst = day
    origin = int(ev["ts"][0]) // 10**9 * 10**9
    st = np.arange(origin + 10**9, int(ev["ts"][-1]), 10**9, dtype=np.int64)
    rng = np.random.default_rng(5)
    full = None
    for need in [-1, 0, *rng.integers(0, 1 << 11, 6).tolist()]:
        g = _Group(group, origin, 10**9, float(inst.tick), FeatureConfig())
        outs = []
        for lo, hi in ((0, len(ev) // 3), (len(ev) // 3, len(ev))):  # two chunks: the state carries over
            e, b = ev[lo:hi], np.ascontiguousarray(book[lo:hi])
            # a sample T is emitted before the first event with ts > T (FeatureEngine's rule)
            s = st[((st >= ev["ts"][lo - 1]) if lo else True) & (st < ev["ts"][hi - 1])]
            sp = np.searchsorted(e["ts"], s, side="right").astype(np.int64)
            o = np.empty((s.size, g.nf))
            if group == "book":
                K.book_update_nb(e["ts"], b, s, sp, g.t0, g.b, g.m_z, g.sf, g.si, g.ring, g.tick, o, need)
            else:
                K.volatility_update_nb(e["ts"], b, s, sp, g.t0, g.b, g.wb, g.sf, g.si, g.ring, o, need)
            outs.append(o)
        out = np.concatenate(outs)
        if need == -1:
            full = out
            assert np.isfinite(full[:, list(masked)]).any()
            continue
        for f in range(g.nf):
            if (need >> f) & 1:
                np.testing.assert_array_equal(out[:, f], full[:, f])
            elif f in masked:
                assert np.isnan(out[:, f]).all()


# ============================================================================ one call per chunk
def _run_model(ev, inst, model, fused=True, strided=False, venue_capacity=None):
    from companion.live.venue import PaperVenue

    cfg = LiveConfig.from_dict({"strategy": "model", "kill_switch": {"file": None}, "risk": {"max_loss": None},
                                "model": {"p_long": 0.52, "p_short": 0.48, "ofi_threshold": 0.0}})
    venue = None
    if venue_capacity is not None:
        venue = PaperVenue(inst, cfg.execution_config(inst), levels=10, capacity=venue_capacity)
    ex = LiveExecutor(cfg, inst, model=model, venue=venue)
    ex.fused = fused
    feed = LobsterReplayFeed(ev, speed=float("inf"), clock=SimulatedClock(int(ev["ts"][0])))
    if strided:  # non-contiguous chunks: through the dispatcher, not the resolved entry point
        def gen(src):
            for now, e in src:
                big = np.zeros(2 * len(e), e.dtype)
                big[::2] = e
                yield now, big[::2]
        feed = gen(feed)
    s = ex.run(feed)
    return ex, s


def test_one_call_per_chunk_equals_three_calls(day):
    """The fused chunk call (live_chunk_nb through its resolved entry point) == the three-call path
    (front kernel, venue.on_market, wake-up loop): codes, P(up), orders, fills; also with strided chunks
    and a venue whose buffers grow mid-run (those chunks take the three-call path)."""
    ev, book, inst = day
    names = ["ofi_1s", "ofi_10s", "vol_imb_1", "composite_imb", "spread_ticks", "rv_1min", "signed_volume_10s"]
    from companion.features import registry

    model = _model(ev, book, inst, [f for f in names if f in registry()])
    ref, s_ref = _run_model(ev, inst, model, fused=False)
    assert s_ref.orders > 0 and s_ref.fills > 0
    n = len(ev)
    for kw in ({}, {"strided": True}, {"venue_capacity": 256}):
        ex, s = _run_model(ev, inst, model, **kw)
        np.testing.assert_array_equal(ex.codes[:n], ref.codes[:n])
        np.testing.assert_array_equal(ex.values[:n], ref.values[:n])
        for a, b in zip(ex.stream.predictions(), ref.stream.predictions()):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ex.venue.orders, ref.venue.orders)
        np.testing.assert_array_equal(ex.venue.fills, ref.venue.fills)
        assert (s.orders, s.fills, s.wakeups, s.pnl, s.chunks) == (s_ref.orders, s_ref.fills, s_ref.wakeups,
                                                                   s_ref.pnl, s_ref.chunks)
        assert ex.venue.n == n and ex.messages == ref.messages
