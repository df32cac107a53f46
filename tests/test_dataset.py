"""Training-set builder: features and labels aligned on the sample grid, label end times, targets,
column dropping; checked against direct calls of the feature engine and the label functions."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from companion import labels as L
from companion import synth
from companion.book import replay
from companion.features import compute
from companion.models.dataset import build_training_set, flow_feature_names, make_target, mid_series


class Day:
    def __init__(self, events, book, instrument):
        self.events, self.book, self.instrument = events, book, instrument


@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 1200.0))
    d = synth.simulate(seed=3, levels=10, config=cfg)
    ev = synth.to_events(d.messages)
    return Day(ev, replay(ev, 10), synth.instrument(cfg, 10))


def test_mid_series_by_hand():
    ev = np.zeros(3, dtype=[("ts", np.int64)])
    ev["ts"] = [1, 2, 3]
    book = np.array([[102.0, 5, 100.0, 5], [9999999999.0, 0, 100.0, 5], [104.0, 1, 101.0, 1]])
    m = mid_series(ev, book)
    assert np.isnan(m.iloc[1]) and m.iloc[0] == 101.0 and m.iloc[2] == 102.5
    assert isinstance(m.index, pd.TimedeltaIndex)


def test_make_target():
    ret = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    lab = np.array([-1, -1, 0, 1, 1])
    y, keep = make_target(ret, lab, "up", 0.0)
    assert y.tolist() == [0, 0, 0, 1, 1] and keep.all()
    y, keep = make_target(ret, lab, "updown", 1.0)
    assert keep.tolist() == [True, False, False, False, True] and y[keep].tolist() == [0, 1]
    y, _ = make_target(ret, lab, "sign", 0.0)
    assert y.tolist() == lab.tolist()
    with pytest.raises(ValueError):
        make_target(ret, lab, "bogus", 0.0)


def test_aligned_with_direct_calls(day):
    ds = build_training_set(day, horizon="10s", warmup="1min")
    X = compute(day.events, day.book, day.instrument, grid="1s")
    X = X.loc[X.index >= X.index[0] + pd.Timedelta("1min")]
    lab = L.fixed_horizon_labels(mid_series(day.events, day.book, day.instrument), "10s",
                                 tick=day.instrument.tick, samples=X.index)
    assert ds.X.index.equals(lab.index) and ds.y.index.equals(ds.X.index) and ds.t_end.index.equals(ds.X.index)
    pd.testing.assert_frame_equal(ds.X, X.loc[lab.index, ds.X.columns])
    assert np.array_equal(ds.y.to_numpy(), (lab["ret"] > 0).astype(np.int8).to_numpy())
    assert np.array_equal(ds.ret.to_numpy(), lab["ret"].to_numpy())
    # every label ends at least one horizon after its sample, and inside the data
    span = (pd.DatetimeIndex(ds.t_end) - ds.t)
    assert (span >= pd.Timedelta("10s")).all()
    assert ds.t_end.max() <= pd.DatetimeIndex(mid_series(day.events, day.book, day.instrument).index).max()
    # dropped columns are mostly-NaN or constant, the rest are kept
    for c, why in ds.dropped.items():
        assert c not in ds.X.columns and why
    assert set(ds.X.columns) | set(ds.dropped) == set(X.columns)
    assert ds.label["kind"] == "fixed_horizon" and ds.label["target"] == "up"


def test_feature_subset_and_triple_barrier(day):
    feats = flow_feature_names()
    assert "ofi_10s" in feats and "tod_frac" not in feats and "depth_total_1" not in feats
    ds = build_training_set(day, horizon="30s", features=feats, label="triple_barrier", threshold=3.0,
                            target="sign", warmup="1min")
    assert set(ds.X.columns) <= set(feats)
    assert set(np.unique(ds.y)) <= {-1, 0, 1}
    assert ((pd.DatetimeIndex(ds.t_end) - ds.t) <= pd.Timedelta("30s") + pd.Timedelta("5s")).all()
    with pytest.raises(ValueError):
        build_training_set(day, label="triple_barrier", threshold=0.0)


def test_deterministic(day):
    a = build_training_set(day, horizon="10s", features=flow_feature_names())
    b = build_training_set(day, horizon="10s", features=flow_feature_names())
    pd.testing.assert_frame_equal(a.X, b.X)
    assert a.y.equals(b.y)
