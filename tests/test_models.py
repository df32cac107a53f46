"""Models: purged walk-forward CV, metrics vs scikit-learn, LightGBM determinism, save/load,
walk-forward evaluation with baselines, and the shuffled-label leakage audit."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn import metrics as skm

from companion import labels as L
from companion.models import PurgedKFold, PurgedWalkForward
from companion.models import metrics as M
from companion.models.cv import overlaps

pytest.importorskip("lightgbm")
from companion.models import (  # noqa: E402
    DirectionClassifier,
    MoveRegressor,
    data_sha256,
    leakage_audit,
    load_model,
    save_model,
    walk_forward_evaluate,
)


# ------------------------------------------------------------------ synthetic data
def synthetic(n=3000, signal=1.0, seed=0, horizon_s=5):
    """y depends on x1 (and on ofi_10s) plus noise; label intervals [t, t + horizon]."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2024-01-02 09:30", periods=n, freq="1s")
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["x1", "x2", "ofi_10s", "noise"], index=t)
    ret = signal * (0.6 * X["x1"] + 0.3 * X["ofi_10s"]) + rng.normal(size=n)
    y = np.sign(ret).astype(np.int64)
    return X, y, ret, t + pd.Timedelta(seconds=horizon_s)


SMALL = dict(n_estimators=40)


# ------------------------------------------------------------------ metrics vs sklearn / scipy
@pytest.mark.parametrize("k", [2, 3])
def test_metrics_match_sklearn(k):
    rng = np.random.default_rng(k)
    n = 500
    classes = np.array([0, 1]) if k == 2 else np.array([-1, 0, 1])
    y = rng.choice(classes, size=n)
    p = rng.dirichlet(np.ones(k), size=n)
    p[np.arange(n), np.searchsorted(classes, y)] += 0.3 * rng.random(n)  # some skill
    p /= p.sum(axis=1, keepdims=True)
    pred = classes[np.argmax(p, axis=1)]
    assert M.accuracy(y, pred) == pytest.approx(skm.accuracy_score(y, pred), abs=1e-15)
    assert M.balanced_accuracy(y, pred) == pytest.approx(skm.balanced_accuracy_score(y, pred), abs=1e-15)
    assert M.macro_f1(y, pred) == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-15)
    want_auc = skm.roc_auc_score(y, p[:, 1]) if k == 2 else skm.roc_auc_score(y, p, multi_class="ovr", labels=classes)
    assert M.roc_auc(y, p, classes) == pytest.approx(want_auc, abs=1e-12)
    assert M.log_loss(y, p, classes) == pytest.approx(skm.log_loss(y, p, labels=classes), rel=1e-12)
    # a predicted class absent from y_true, and a tied score: F1 and AUC still agree
    pred2 = pred.copy()
    pred2[:5] = 7
    assert M.macro_f1(y, pred2) == pytest.approx(skm.f1_score(y, pred2, average="macro"), abs=1e-15)
    s = np.round(p[:, -1], 1)  # many ties
    assert M.binary_auc(y == classes[-1], s) == pytest.approx(skm.roc_auc_score(y == classes[-1], s), abs=1e-12)


def test_ic_and_hit_rate():
    rng = np.random.default_rng(1)
    a = np.round(rng.normal(size=300), 1)
    b = np.round(a + rng.normal(size=300), 0)  # ties on both sides
    assert M.spearman_ic(a, b) == pytest.approx(spearmanr(a, b).statistic, abs=1e-12)
    assert np.isnan(M.spearman_ic(np.ones(10), np.arange(10.0)))
    # calls +1, -1, 0(no call), +1, -1; moves +2, +1, -3, 0(no move), -1 -> 2 hits of 3
    assert M.hit_rate([1, -1, 0, 1, -1], [2, 1, -3, 0, -1]) == pytest.approx(2 / 3)
    np.testing.assert_array_equal(M.direction_of([0, 1], [0, 1]), [-1, 1])
    np.testing.assert_array_equal(M.direction_of([-1, 0, 1], [-1, 0, 1]), [-1, 0, 1])


# ------------------------------------------------------------------ purged walk-forward CV
def test_walk_forward_hand_built():
    t = np.arange(10)            # samples at 0..9 ns
    e = t + 2                    # each label spans [t, t + 2]
    cv = PurgedWalkForward(2, min_train=4)
    folds = list(cv.split(t, e))
    # blocks [4, 5, 6] and [7, 8, 9]; a train label must end before the test starts (e < T0)
    assert [f[1].tolist() for f in folds] == [[4, 5, 6], [7, 8, 9]]
    assert folds[0][0].tolist() == [0, 1]          # 2 and 3 end at 4 and 5 >= 4: purged
    assert folds[1][0].tolist() == [0, 1, 2, 3, 4]  # 5, 6 purged (end 7, 8 >= 7)
    emb = list(PurgedWalkForward(2, min_train=4, embargo=1).split(t, e))
    assert emb[0][0].tolist() == [0] and emb[1][0].tolist() == [0, 1, 2, 3]
    roll = list(PurgedWalkForward(2, min_train=4, window="rolling", train_size=4).split(t, e))
    assert roll[0][0].tolist() == [0, 1] and roll[1][0].tolist() == [3, 4]
    # zero-length labels: nothing to purge except equal timestamps
    tied = np.array([0, 1, 2, 3, 3, 4, 5, 6])
    f = list(PurgedWalkForward(2, min_train=4).split(tied, tied))
    assert f[0][1].tolist() == [4, 5] and f[0][0].tolist() == [0, 1, 2]  # index 3 shares t=3


def test_purged_kfold_hand_built():
    t = np.arange(10)
    e = t + 2
    folds = list(PurgedKFold(2, embargo=0).split(t, e))
    # test [0..4] spans [0, 6]: train 5, 6 overlap -> purged; test [5..9] spans [5, 11]: 3, 4 purged
    assert folds[0][0].tolist() == [7, 8, 9] and folds[1][0].tolist() == [0, 1, 2]
    folds = list(PurgedKFold(2, embargo=1).split(t, e))
    assert folds[0][0].tolist() == [8, 9]  # the embargo widens the test period to [0, 7]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("window", ["expanding", "rolling"])
def test_walk_forward_properties(seed, window):
    rng = np.random.default_rng(seed)
    n = 500
    t = np.cumsum(rng.integers(0, 4, size=n)) * 1_000  # ties
    e = t + rng.integers(0, 40_000, size=n)
    emb = int(rng.integers(0, 20_000))
    cv = PurgedWalkForward(5, embargo=emb, min_train=100, window=window, train_size=150)
    tests = []
    for train, test in cv.split(pd.to_datetime(t), pd.to_datetime(e)):
        t0, t1 = t[test[0]], e[test].max()
        assert train.size > 0
        assert t[train].max() <= t0 and train.max() < test.min()     # walk-forward
        assert not overlaps(t[train], e[train], t0 - emb, t1).any()  # purged + embargo
        lo = 0 if window == "expanding" else max(0, test[0] - 150)
        cand = np.arange(lo, test[0])
        kept = cand[~overlaps(t[cand], e[cand], t0 - emb, t1)]
        np.testing.assert_array_equal(train, kept)                   # nothing else dropped
        tests.append(test)
    np.testing.assert_array_equal(np.concatenate(tests), np.arange(100, n))


@pytest.mark.parametrize("seed", range(3))
def test_purged_kfold_properties(seed):
    rng = np.random.default_rng(seed)
    n = 400
    t = np.cumsum(rng.integers(0, 4, size=n))
    e = t + rng.integers(0, 30, size=n)
    emb = int(rng.integers(0, 10))
    for train, test in PurgedKFold(4, embargo=emb).split(t, e):
        t0, t1 = t[test[0]], e[test].max()
        assert not overlaps(t[train], e[train], t0, t1 + emb).any()
        assert np.intersect1d(train, test).size == 0
        # the embargo removes samples right after the test period, not beyond it
        after = np.flatnonzero(t > t1 + emb)
        assert np.isin(after, train).all()


def test_cv_validation():
    with pytest.raises(ValueError):
        list(PurgedWalkForward(2).split([3, 1, 2, 4, 5, 6], [3, 1, 2, 4, 5, 6]))
    with pytest.raises(ValueError):
        list(PurgedWalkForward(2).split(np.arange(6), np.arange(6) - 1))
    with pytest.raises(ValueError):
        list(PurgedWalkForward(5, min_train=8).split(np.arange(10), np.arange(10)))


# ------------------------------------------------------------------ scikit-learn splitter contract
def _intervals(n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.integers(0, 3, size=n)) * 10**9                  # ties included
    return t, t + rng.integers(0, 8, size=n) * 10**9


def _folds(it):
    return [(tr.tolist(), te.tolist()) for tr, te in it]


@pytest.mark.parametrize("make", [lambda **kw: PurgedWalkForward(4, embargo="2s", **kw),
                                  lambda **kw: PurgedWalkForward(3, min_train=30, window="rolling", **kw),
                                  lambda **kw: PurgedKFold(4, embargo="1s", **kw)],
                         ids=["walk-forward", "rolling", "kfold"])
def test_splitters_take_intervals_from_groups_or_constructor(make):
    """``split(X, y, groups)``: the intervals through ``groups`` ((n, 2) array or DataFrame) or the
    constructor give exactly the folds of the chapters' ``split(sample_times, label_end_times)``."""
    t, e = _intervals()
    X, y = np.zeros((t.size, 3)), np.arange(t.size) % 2
    ref = _folds(make().split(t, e))
    assert len(ref) == make().get_n_splits() and all(tr and te for tr, te in ref)
    assert _folds(make().split(X, y, np.column_stack([t, e]))) == ref
    assert _folds(make().split(X, groups=pd.DataFrame({"t": pd.to_datetime(t), "e": pd.to_datetime(e)}))) == ref
    assert _folds(make(sample_times=t, label_end_times=e).split(X, y)) == ref
    assert _folds(make(sample_times=pd.to_datetime(t), label_end_times=pd.to_datetime(e)).split(X)) == ref
    cv = make()
    assert cv.get_n_splits(X, y, np.column_stack([t, e])) == cv.get_n_splits() == len(ref)


def test_splitters_in_sklearn_cross_val_score():
    """``cv=`` of ``cross_val_score`` on a LogisticRegression: the scores equal a hand loop over
    the purged folds (fit on train, accuracy on test)."""
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, check_cv, cross_val_score

    t, e = _intervals(300, seed=1)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(t.size, 2))
    y = (X[:, 0] + 0.8 * rng.normal(size=t.size) > 0).astype(int)
    groups = np.column_stack([t, e])
    for cv in (PurgedWalkForward(4, embargo=5 * 10**9), PurgedKFold(5, embargo=5 * 10**9)):
        assert check_cv(cv, y, classifier=True) is cv                 # used as given
        got = cross_val_score(LogisticRegression(), X, y, cv=cv, groups=groups)
        want = [clone(LogisticRegression()).fit(X[tr], y[tr]).score(X[te], y[te]) for tr, te in cv.split(t, e)]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        assert len(got) == cv.get_n_splits() and 0.6 < got.mean() <= 1.0   # X[:, 0] carries y
        own = type(cv)(cv.n_splits, embargo=cv.embargo, sample_times=t, label_end_times=e)
        np.testing.assert_allclose(cross_val_score(LogisticRegression(), X, y, cv=own), want, atol=1e-12)
    gs = GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=PurgedWalkForward(3)).fit(X, y, groups=groups)
    assert gs.n_splits_ == 3


def test_splitter_contract_errors():
    t, e = _intervals(20)
    X = np.zeros((20, 2))
    with pytest.raises(ValueError, match="no label intervals"):                 # sklearn call, no times
        list(PurgedWalkForward(2).split(X, np.zeros(20)))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        list(PurgedKFold(2).split(X, groups=t))
    with pytest.raises(ValueError, match="2 columns"):
        list(PurgedKFold(2).split(X, groups=pd.DataFrame({"a": t, "b": e, "c": e})))
    with pytest.raises(ValueError, match="X has 19 samples but the label intervals 20"):
        list(PurgedWalkForward(2).split(X[:19], groups=np.column_stack([t, e])))
    with pytest.raises(ValueError, match="both sample_times and label_end_times"):
        PurgedKFold(2, sample_times=t)
    with pytest.raises(ValueError, match="label_end_times >= sample_times"):   # groups are checked too
        list(PurgedKFold(2).split(X, groups=np.column_stack([t, t - 1])))


# ------------------------------------------------------------------ estimators
def test_fit_is_deterministic_and_uses_x1():
    X, y, ret, _ = synthetic(n=2000)
    p1 = DirectionClassifier(random_state=3).fit(X, y).predict_proba(X)
    p2 = DirectionClassifier(random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    bag = dict(subsample=0.7, subsample_freq=1, colsample_bytree=0.7, **SMALL)
    q1 = DirectionClassifier(random_state=1, **bag).fit(X, y).predict_proba(X)
    q2 = DirectionClassifier(random_state=1, **bag).fit(X, y).predict_proba(X)
    q3 = DirectionClassifier(random_state=2, **bag).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(q1, q2)
    assert not np.array_equal(q1, q3)  # the seed is really used
    m = DirectionClassifier(**SMALL).fit(X, y)
    assert m.get_params()["max_depth"] == 6 and m.lgb_params()["deterministic"] is True
    imp = m.feature_importance("gain")
    assert imp.idxmax() == "x1" and (imp >= 0).all()
    # contributions + bias sum to the raw score (log-odds)
    c = m.contributions(X.iloc[:50])
    raw = m.booster_.predict(X.iloc[:50].to_numpy(), raw_score=True)
    np.testing.assert_allclose(c.sum(axis=1).to_numpy(), raw, rtol=1e-9, atol=1e-9)
    # columns are matched by name
    np.testing.assert_array_equal(m.predict_proba(X[X.columns[::-1]].iloc[:20]), m.predict_proba(X.iloc[:20]))


def test_multiclass_and_regressor():
    X, _, ret, _ = synthetic(n=2000)
    y3 = np.digitize(ret, [-0.5, 0.5]) - 1
    m = DirectionClassifier(**SMALL).fit(X, y3)
    p = m.predict_proba(X)
    assert p.shape == (2000, 3) and np.allclose(p.sum(axis=1), 1)
    assert m.contributions(X.iloc[:5]).columns.nlevels == 2
    r = MoveRegressor(**SMALL).fit(X, np.abs(ret))
    assert M.spearman_ic(r.predict(X), np.abs(ret)) > 0.1
    with pytest.raises(ValueError):
        DirectionClassifier().fit(X, np.ones(len(X)))


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regressor"])
def test_save_load_round_trip(tmp_path, kind):
    X, y, ret, _ = synthetic(n=1500)
    if kind == "binary":
        m, target = DirectionClassifier(**SMALL, random_state=5).fit(X, y), y
    elif kind == "multiclass":
        target = np.digitize(ret, [-0.5, 0.5]) - 1
        m = DirectionClassifier(**SMALL).fit(X, target)
    else:
        target = np.abs(ret.to_numpy())
        m = MoveRegressor(**SMALL, objective="huber").fit(X, target)
    lab = L.fixed_horizon_labels(pd.Series(np.arange(10.0), index=pd.date_range("2024", periods=10, freq="s")), "2s")
    txt, meta_path = save_model(m, tmp_path / "m", label=lab.attrs["label"], X=X, y=target)
    back = load_model(tmp_path / "m")
    if kind == "regressor":
        np.testing.assert_array_equal(back.predict(X), m.predict(X))
    else:
        np.testing.assert_array_equal(back.predict_proba(X), m.predict_proba(X))
        np.testing.assert_array_equal(back.predict(X), m.predict(X))
    meta = json.loads(meta_path.read_text())
    assert meta["feature_names"] == list(X.columns) and meta["data_sha256"] == data_sha256(X, target)
    assert meta["label"]["kind"] == "fixed_horizon" and meta["label"]["horizon"] == "2s"
    assert meta["companion_version"] and meta["params"] == m.get_params()
    assert txt.read_text().startswith("tree")  # LightGBM text format, no pickle
    # tampering with the model file is detected
    txt.write_text(txt.read_text().replace("tree", "tree ", 1))
    with pytest.raises(ValueError):
        load_model(tmp_path / "m.json")


def test_data_hash_sensitivity():
    X, y, _, _ = synthetic(n=100)
    h = data_sha256(X, y)
    assert h == data_sha256(X.copy(), y.copy())
    X2 = X.copy()
    X2.iloc[3, 1] += 1e-12
    assert data_sha256(X2, y) != h and data_sha256(X, -y) != h


# ------------------------------------------------------------------ walk-forward evaluation
def test_walk_forward_evaluate_signal():
    X, y, ret, t_end = synthetic(n=3000)
    cv = PurgedWalkForward(4, embargo="2s")
    res = walk_forward_evaluate(X, y, X.index, t_end, lambda: DirectionClassifier(**SMALL), cv,
                                ret=ret, ofi_column="ofi_10s")
    mt = res.metrics.set_index("model")
    assert list(mt.index) == ["model", "majority", "ofi_sign", "logistic"]
    assert mt.loc["model", "roc_auc"] > 0.65 and mt.loc["model", "ic"] > 0.25
    assert mt.loc["model", "accuracy"] > mt.loc["majority", "accuracy"] + 0.05
    assert 0.55 < mt.loc["ofi_sign", "roc_auc"] < mt.loc["logistic", "roc_auc"]
    assert np.isnan(mt.loc["ofi_sign", "log_loss"])
    fm = res.fold_metrics.set_index(["model", "fold"])
    assert (fm.xs("majority")["roc_auc"] == 0.5).all()  # constant probabilities: chance exactly
    # every test sample is predicted exactly once per model, out of sample
    pr = res.predictions[res.predictions.model == "model"]
    assert pr.index.is_unique and len(pr) == 3000 - 3000 // 5
    assert (res.folds["train_end"] < res.folds["test_start"]).all()
    # the pooled metrics are the sklearn metrics of the stored predictions
    p = pr[["p_-1", "p_1"]].to_numpy()
    assert mt.loc["model", "roc_auc"] == pytest.approx(skm.roc_auc_score(pr["y"], p[:, 1]), abs=1e-12)
    assert mt.loc["model", "log_loss"] == pytest.approx(skm.log_loss(pr["y"], p, labels=[-1, 1]), rel=1e-12)
    assert mt.loc["model", "ic"] == pytest.approx(spearmanr(pr["score"], pr["ret"]).statistic, abs=1e-12)
    assert res.importance.shape == (4, 4) and (res.importance.idxmax(axis=1) == "x1").all()
    # determinism of the whole pipeline
    res2 = walk_forward_evaluate(X, y, X.index, t_end, lambda: DirectionClassifier(**SMALL), cv,
                                 ret=ret, ofi_column="ofi_10s")
    pd.testing.assert_frame_equal(res.metrics, res2.metrics)


def test_leakage_audit_scores_at_chance():
    X, y, ret, t_end = synthetic(n=3000)
    audit = leakage_audit(X, y, X.index, t_end, lambda: DirectionClassifier(**SMALL),
                          PurgedWalkForward(4), ret=ret, n_repeats=2)
    # null sd of the AUC with 2400 balanced test samples ~ 0.012: +-0.05 is > 4 sd
    assert len(audit) == 2 and audit["roc_auc"].between(0.45, 0.55).all()
    assert audit["accuracy"].between(0.45, 0.55).all()


def test_pure_noise_scores_at_chance():
    X, y, ret, t_end = synthetic(n=3000, signal=0.0, seed=9)
    res = walk_forward_evaluate(X, y, X.index, t_end, lambda: DirectionClassifier(**SMALL),
                                PurgedWalkForward(4), ret=ret)
    mt = res.metrics.set_index("model")
    assert 0.45 < mt.loc["model", "roc_auc"] < 0.55
    assert 0.45 < mt.loc["logistic", "roc_auc"] < 0.55
    assert abs(mt.loc["model", "ic"]) < 0.06


def test_evaluate_three_classes():
    X, _, ret, _ = synthetic(n=2000)
    y3 = np.digitize(ret, [-0.5, 0.5]) - 1
    res = walk_forward_evaluate(X, y3, X.index, X.index + pd.Timedelta("5s"),
                                DirectionClassifier(**SMALL), PurgedWalkForward(3), ret=ret,
                                ofi_column="ofi_10s")
    mt = res.metrics.set_index("model")
    assert {"p_-1", "p_0", "p_1"} <= set(res.predictions.columns)
    assert mt.loc["model", "roc_auc"] > 0.6 and mt.loc["model", "hit_rate"] > 0.6
    with pytest.raises(ValueError):
        walk_forward_evaluate(X, y3[:-1], X.index, X.index, DirectionClassifier(**SMALL), PurgedWalkForward(3))
