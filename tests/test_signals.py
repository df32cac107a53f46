"""Signals: imbalance parts on hand-built books, classes, fit/predict, model rule, sweep, calibration."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from companion import signals as sg
from companion.book import replay
from companion.events import ADD, CANCEL, DELETE, DUMMY_ASK, DUMMY_BID, EVENT_DTYPE, EXEC_VISIBLE

A, B = DUMMY_ASK, DUMMY_BID


def _row(*levels):
    """levels = [(ask_px, ask_sz, bid_px, bid_sz), ...] -> one LOBSTER row."""
    return np.array([x for lv in levels for x in lv], dtype=np.float64)


def test_volume_and_distance_weighted_imbalance_by_hand():
    book = np.vstack([
        _row((101, 100, 99, 300), (102, 100, 98, 100)),
        _row((A, 0, 99, 300), (A, 0, 98, 100)),       # empty ask side
        _row((A, 0, B, 0), (A, 0, B, 0)),             # empty book
    ])
    iv1 = sg.volume_imbalance_nb(book, 1)
    iv2 = sg.volume_imbalance_nb(book, 2)
    assert iv1[0] == pytest.approx(0.5)               # (300-100)/400
    assert iv2[0] == pytest.approx(1 / 3)             # (400-200)/600
    assert iv2[1] == 1.0 and np.isnan(iv2[2])
    dw = sg.distance_weighted_imbalance_nb(book, 2, 1.0)
    # mid 100: w = 1/2 at 1 tick, 1/3 at 2 ticks -> (150+33.3 - 50-33.3) / (183.3+83.3)
    wb, wa = 300 / 2 + 100 / 3, 100 / 2 + 100 / 3
    assert dw[0] == pytest.approx((wb - wa) / (wb + wa))
    assert np.isnan(dw[1]) and np.isnan(dw[2])        # no mid
    # tick scaling: prices in units of 100 with tick 100 give the same weights
    book100 = book[:1].copy()
    book100[0, [0, 2, 4, 6]] *= 100
    assert sg.distance_weighted_imbalance_nb(book100, 2, 100.0)[0] == pytest.approx(dw[0])


def _events(rows):
    ev = np.zeros(len(rows), EVENT_DTYPE)
    for i, (k, s, p, v, oid) in enumerate(rows):
        ev[i] = ((i + 1) * 1000, (i + 1) * 1000, k, s, p, v, oid)
    return ev


def _count_ref(ev, book, levels):
    """Slow reference: live orders in a dict, count at each row's level prices."""
    live = {}
    out = np.full(len(ev), np.nan)
    for i, e in enumerate(ev):
        k, s, p, v, oid = int(e["kind"]), int(e["side"]), int(e["price"]), float(e["size"]), int(e["order_id"])
        if k == ADD:
            live[oid] = [s, p, v]
        elif k in (CANCEL, EXEC_VISIBLE) and oid in live:
            live[oid][2] -= v
            if live[oid][2] <= 1e-9:
                del live[oid]
        elif k == DELETE and oid in live:
            del live[oid]
        na = nb = 0
        for lv in range(levels):
            pa, pb = book[i, 4 * lv], book[i, 4 * lv + 2]
            na += sum(1 for (s_, p_, _) in live.values() if s_ == -1 and p_ == pa)
            nb += sum(1 for (s_, p_, _) in live.values() if s_ == 1 and p_ == pb)
        if na + nb:
            out[i] = (nb - na) / (na + nb)
    return out


def test_order_count_imbalance_matches_reference():
    ev = _events([(ADD, 1, 99, 100, 1), (ADD, 1, 99, 50, 2), (ADD, 1, 99, 10, 3),
                  (ADD, -1, 101, 500, 4), (ADD, -1, 102, 20, 5), (ADD, 1, 98, 5, 6),
                  (CANCEL, 1, 99, 50, 2), (EXEC_VISIBLE, 1, 99, 10, 3), (DELETE, -1, 101, 500, 4),
                  (ADD, -1, 102, 30, 7)])
    book = replay(ev, levels=2)
    for L in (1, 2):
        got = sg.order_count_imbalance_nb(ev["kind"], ev["side"], ev["price"], ev["size"],
                                          ev["order_id"], book, L)
        np.testing.assert_allclose(got, _count_ref(ev, book, L), equal_nan=True)
    got = sg.order_count_imbalance_nb(ev["kind"], ev["side"], ev["price"], ev["size"],
                                      ev["order_id"], book, 1)
    assert got[3] == pytest.approx((3 - 1) / 4)        # 3 bid orders at 99, 1 ask at 101
    assert got[8] == pytest.approx((1 - 1) / 2)        # after the partial cancel, exec and delete
    # no ids at all -> NaN
    ev0 = ev.copy()
    ev0["order_id"] = 0
    assert np.isnan(sg.order_count_imbalance_nb(ev0["kind"], ev0["side"], ev0["price"],
                                                ev0["size"], ev0["order_id"], book, 1)).all()


def test_composite_weights_and_renormalisation():
    book = np.vstack([_row((101, 100, 99, 300), (102, 100, 98, 100))])
    comp = sg.imbalance_components(book, levels=2, tick=1.0)
    iv, dw = comp["vol_imb"][0], comp["dw_imb"][0]
    assert np.isnan(comp["count_imb"][0])
    assert comp["composite"][0] == pytest.approx((0.7 * iv + 0.2 * dw) / 0.9)
    c = sg.composite_nb(np.array([0.5]), np.array([0.2]), np.array([-1.0]), 0.7, 0.2, 0.1)
    assert c[0] == pytest.approx(0.7 * 0.5 + 0.2 * 0.2 - 0.1)
    with pytest.raises(ValueError, match="levels"):
        sg.imbalance_components(book, levels=3)


def test_classify_thresholds():
    s = np.array([0.5, 0.35, 0.2, 0.15, 0.1, 0.0, -0.15, -0.34, -0.35, np.nan])
    assert sg.classify(s).tolist() == [2, 2, 1, 1, 0, 0, -1, -1, -2, 0]
    assert (sg.STRONG_BUY, sg.BUY, sg.NONE, sg.SELL, sg.STRONG_SELL) == (2, 1, 0, -1, -2)
    with pytest.raises(ValueError):
        sg.classify(s, weak=0.5, strong=0.2)


def test_fit_predict_edge_and_confidence_by_hand():
    comp = np.array([0.5, 0.6, 0.4, 0.2, -0.5, -0.2, 0.0])
    fwd = np.array([2.0, -1.0, 3.0, 1.0, -4.0, 0.0, 9.0])
    sig = sg.ImbalanceSignal().fit(comp, fwd)
    assert sig.edge_bps_[2] == pytest.approx((2 - 1 + 3) / 3)
    assert sig.confidence_[2] == pytest.approx(2 / 3)
    assert sig.edge_bps_[1] == 1.0 and sig.confidence_[1] == 1.0
    assert sig.edge_bps_[-2] == 4.0 and sig.confidence_[-2] == 1.0
    assert sig.edge_bps_[-1] == 0.0 and np.isnan(sig.confidence_[-1])   # only a flat move
    out = sig.predict(np.array([0.9, -0.16, 0.01]))
    assert out["code"].tolist() == [2, -1, 0]
    assert out["signal"].astype(str).tolist() == ["STRONG_BUY", "SELL", "NONE"]
    assert out["expected_edge_bps"][0] == pytest.approx(4 / 3)
    assert out["strength"].tolist() == pytest.approx([0.9, 0.16, 0.01])
    assert np.isnan(sg.ImbalanceSignal().predict(np.array([0.9]))["confidence"][0])  # before fit


def test_model_rule_and_causal_alignment():
    p = np.array([0.6, 0.6, 0.4, 0.4, 0.5, np.nan])
    o = np.array([5.0, -5.0, -5.0, 5.0, 100.0, 100.0])
    assert sg.model_rule(p, o, 1.0).tolist() == [1, 0, -1, 0, 0, 0]
    assert sg.model_rule(p, o, 10.0).tolist() == [0, 0, 0, 0, 0, 0]
    a = sg.align_predictions([10, 20], [0.1, 0.2], [5, 10, 15, 20, 25])
    assert np.isnan(a[0]) and a[1:].tolist() == [0.1, 0.1, 0.2, 0.2]
    with pytest.raises(ValueError):
        sg.align_predictions([20, 10], [0.1, 0.2], [5])


def test_trailing_sum_and_forward_move_reference():
    rng = np.random.default_rng(0)
    ts = np.cumsum(rng.integers(0, 5, 300)).astype(np.int64)
    x = rng.normal(size=300)
    got = sg.trailing_sum_nb(ts, x, 7)
    ref = np.array([x[: i + 1][ts[: i + 1] > ts[i] - 7].sum() for i in range(300)])
    np.testing.assert_allclose(got, ref, atol=1e-12)
    mid = 100 + np.cumsum(rng.normal(size=300))
    fwd = sg.forward_mid_move_bps(ts, mid, 10)
    for i in (0, 50, 200):
        j = np.flatnonzero(ts <= ts[i] + 10).max()
        assert fwd[i] == pytest.approx(1e4 * (mid[j] - mid[i]) / mid[i])
    assert np.isnan(fwd[-1])


def test_threshold_sweep_toy():
    s = np.array([0.1, 0.2, -0.3, 0.4, -0.05, np.nan])
    f = np.array([1.0, -2.0, -3.0, 4.0, 5.0, 1.0])
    tab = sg.threshold_sweep(s, f, [0.0, 0.15, 0.35, 0.9])
    # theta 0: pnl [1, -2, 3, 4, -5]
    r = tab.loc[0.0]
    pnl = np.array([1, -2, 3, 4, -5.0])
    assert r["trades"] == 5 and r["hit_rate"] == pytest.approx(0.6)
    assert r["avg_pnl_bps"] == pytest.approx(0.2) and r["total_pnl_bps"] == pytest.approx(1.0)
    assert r["sharpe"] == pytest.approx(pnl.mean() / pnl.std(ddof=1))
    r = tab.loc[0.15]
    assert r["trades"] == 3 and r["avg_pnl_bps"] == pytest.approx(5 / 3) and r["hit_rate"] == pytest.approx(2 / 3)
    assert tab.loc[0.35, "trades"] == 1 and np.isnan(tab.loc[0.35, "sharpe"])
    assert tab.loc[0.9, "trades"] == 0
    tc = sg.threshold_sweep(s, f, [0.15], cost_bps=1.0)
    assert tc.loc[0.15, "avg_pnl_bps"] == pytest.approx(5 / 3 - 1)


def test_calibration_chooses_on_fit_and_reports_on_test():
    rng = np.random.default_rng(1)
    n = 4000
    ts = np.arange(n, dtype=np.int64) * 10
    s = rng.uniform(-1, 1, n)
    # fit half: only strong signals (|s| > 0.5) predict; test half: the same law plus noise
    f = np.where(np.abs(s) > 0.5, 3 * np.sign(s), 0.0) + rng.normal(0, 1, n)
    out = sg.calibrate_threshold(s, f, ts, [0.0, 0.25, 0.5, 0.75], fit_fraction=0.5, horizon_ns=50)
    assert out["threshold"] in (0.5, 0.75)
    assert out["fit_end"] == int(np.quantile(ts, 0.5))
    fit = ts <= out["fit_end"] - 50
    pd.testing.assert_frame_equal(out["fit"], sg.threshold_sweep(s[fit], f[fit], [0.0, 0.25, 0.5, 0.75]))
    test = ts > out["fit_end"]
    ref = sg.threshold_sweep(s[test], f[test], [out["threshold"]]).iloc[0]
    assert out["test_row"]["avg_pnl_bps"] == pytest.approx(ref["avg_pnl_bps"])
    # too few fit trades everywhere -> no choice
    out = sg.calibrate_threshold(s, f, ts, [0.99], min_trades=10_000)
    assert np.isnan(out["threshold"])


def test_sample_on_grid_is_causal():
    ts = np.array([0, 5, 10, 12, 31], dtype=np.int64)
    g = sg.sample_on_grid(ts, {"x": np.arange(5.0)}, 10)
    assert g.index.tolist() == [10, 20, 30] and g["x"].tolist() == [2.0, 3.0, 3.0]
