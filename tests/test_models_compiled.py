"""Compiled LightGBM model (companion.models.compiled): numba predictions equal LightGBM's
``predict(raw_score=True)`` and probabilities on held-out rows, with NaNs, exact zeros, unused
features and rows sitting exactly on split thresholds; hand-written stumps pin LightGBM's
missing-value rules; a pure-Python walk of ``dump_model()`` is the slow reference."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

lgb = pytest.importorskip("lightgbm")

from companion.models import DirectionClassifier, MoveRegressor, save_model  # noqa: E402
from companion.models.compiled import K_ZERO_THRESHOLD, CompiledModel, compile_model, predict_raw_nb, predict_row_nb  # noqa: E402

TOL = 1e-9
FIT = dict(n_estimators=40, num_leaves=15, max_depth=-1, min_child_samples=10, n_jobs=1, random_state=3)
NAMES = ["ofi", "imb", "dead", "noise", "spread"]


def make_data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Features: 'ofi' with 15% NaN, 'imb' with 40% exact zeros, 'dead' constant (never split
    on), 'noise', 'spread' integer-valued (ties sit on thresholds). Latent signal z."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 5)), columns=NAMES)
    X.loc[rng.random(n) < 0.15, "ofi"] = np.nan
    X.loc[rng.random(n) < 0.40, "imb"] = 0.0
    X["dead"] = 0.0
    X["spread"] = rng.integers(1, 5, size=n).astype(np.float64)
    z = np.nan_to_num(X["ofi"].to_numpy(), nan=0.8) + 0.7 * X["imb"] - 0.4 * X["spread"] + rng.normal(size=n)
    return X, z


def held_out(cm: CompiledModel, seed: int = 99) -> np.ndarray:
    """Held-out rows plus rows with special values: all-NaN, all-zero, +-1e-36, and, for every
    split node, a row with that feature exactly at the threshold and one ulp either side."""
    X, _ = make_data(400, seed)
    A = X.to_numpy()
    rng = np.random.default_rng(seed)
    special = [np.full(A.shape[1], np.nan), np.zeros(A.shape[1]), np.full(A.shape[1], 1e-36),
               np.full(A.shape[1], -1e-36)]
    base = A[rng.integers(0, len(A), size=cm.feature.shape[0])]
    rows = []
    for j in range(cm.feature.shape[0]):
        t = cm.threshold[j]
        for v in (t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)):
            r = base[j].copy()
            r[cm.feature[j]] = v
            rows.append(r)
    return np.vstack([A, np.array(special), np.array(rows)])


# ------------------------------------------------------------------ slow reference
def reference_raw(dump: dict, X: np.ndarray) -> np.ndarray:
    """Pure-Python walk of ``Booster.dump_model()`` (LightGBM's tree.h NumericalDecision)."""
    k = dump["num_tree_per_iteration"]
    out = np.zeros((X.shape[0], k))
    for i, row in enumerate(X):
        for t, info in enumerate(dump["tree_info"]):
            nd = info["tree_structure"]
            while "split_index" in nd:
                v = float(row[nd["split_feature"]])
                if abs(v) <= K_ZERO_THRESHOLD:  # dense rows drop |x| <= kZeroThreshold
                    v = 0.0
                m = nd["missing_type"]
                if math.isnan(v) and m != "NaN":
                    v = 0.0
                if (m == "Zero" and v == 0.0) or (m == "NaN" and math.isnan(v)):
                    go_left = nd["default_left"]
                else:
                    go_left = v <= nd["threshold"]
                nd = nd["left_child"] if go_left else nd["right_child"]
            out[i, t % k] += nd["leaf_value"]
    return out[:, 0] if k == 1 else out


def check_equal(booster, cm: CompiledModel, X: np.ndarray) -> None:
    raw = booster.predict(X, raw_score=True)
    got = cm.predict_raw(X)
    assert got.shape == raw.shape
    np.testing.assert_allclose(got, raw, rtol=0, atol=TOL)
    np.testing.assert_allclose(cm.predict_output(X), booster.predict(X), rtol=0, atol=TOL)


# ------------------------------------------------------------------ trained models
@pytest.fixture(scope="module")
def data():
    return make_data(3000, 0)


def test_binary_classifier_matches_lightgbm(data):
    X, z = data
    m = DirectionClassifier(**FIT).fit(X, np.where(z > 0, "up", "down"))
    cm = CompiledModel.from_model(m)
    assert cm.num_class == 1 and cm.is_classifier and list(cm.classes) == ["down", "up"]
    Xt = held_out(cm)
    check_equal(m.booster_, cm, Xt)
    np.testing.assert_allclose(cm.predict_proba(Xt), m.predict_proba(Xt), rtol=0, atol=TOL)
    assert (cm.predict(Xt) == m.predict(Xt)).all()
    # the data exercised what it should: NaN and zero defaults, the unused feature
    assert set(np.unique(cm.decision_type)) & {8, 10}  # missing_type NaN splits
    assert 2 not in set(cm.feature.tolist())  # 'dead' never split on
    assert np.isnan(Xt).any() and (Xt[:, 1] == 0).sum() > 50


def test_multiclass_matches_lightgbm(data):
    X, z = data
    y = np.digitize(z, [-0.5, 0.5]) - 1  # -1 / 0 / +1
    m = DirectionClassifier(**FIT).fit(X, y)
    cm = compile_model(m)
    assert cm.num_class == 3 and cm.n_trees == 3 * FIT["n_estimators"]
    Xt = held_out(cm)
    check_equal(m.booster_, cm, Xt)
    p = cm.predict_proba(Xt)
    np.testing.assert_allclose(p, m.predict_proba(Xt), rtol=0, atol=TOL)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (cm.predict(Xt) == m.predict(Xt)).all()
    np.testing.assert_allclose(cm.predict_raw(Xt), reference_raw(m.booster_.dump_model(), Xt), rtol=0, atol=TOL)


@pytest.mark.parametrize("objective", ["regression", "huber", "regression_l1"])
def test_regressor_matches_lightgbm(data, objective):
    X, z = data
    m = MoveRegressor(objective=objective, **FIT).fit(X, z)
    cm = CompiledModel.from_model(m)
    assert not cm.is_classifier
    Xt = held_out(cm)
    check_equal(m.booster_, cm, Xt)
    np.testing.assert_allclose(cm.predict(Xt), m.predict(Xt), rtol=0, atol=TOL)
    with pytest.raises(AttributeError):
        cm.predict_proba(Xt)


def test_zero_as_missing_and_rf_average_output(data):
    """Missing type 'Zero' (zero_as_missing) and random forest's average_output, trained with the
    wrappers' deterministic parameters."""
    X, z = data
    base = DirectionClassifier(**FIT).lgb_params()
    A, y = X.to_numpy(), (z > 0).astype(np.float64)
    for extra in ({"objective": "binary", "zero_as_missing": True},
                  {"objective": "binary", "boosting": "rf", "bagging_fraction": 0.6, "bagging_freq": 1},
                  {"objective": "multiclass", "num_class": 3, "boosting": "rf", "bagging_fraction": 0.6,
                   "bagging_freq": 1},
                  {"objective": "poisson"}):
        target = (np.digitize(z, [-0.5, 0.5]).astype(np.float64) if extra["objective"] == "multiclass"
                  else np.abs(z) if extra["objective"] == "poisson" else y)
        b = lgb.train({**base, **extra}, lgb.Dataset(A, target, params={"verbose": -1}), num_boost_round=25)
        cm = CompiledModel.from_booster(b)
        if "zero_as_missing" in extra:
            assert ((cm.decision_type >> 2) & 3 == 1).any()
        assert cm.average_output == (extra.get("boosting") == "rf")
        check_equal(b, cm, held_out(cm))


def test_text_and_dump_parsers_agree_and_match_reference(data):
    X, z = data
    m = MoveRegressor(**FIT).fit(X, z)
    a = CompiledModel.from_booster(m.booster_)
    d = CompiledModel.from_dump(m.booster_.dump_model())
    for x, y in zip(a.arrays, d.arrays):
        assert x.dtype == y.dtype and np.array_equal(x, y)
    Xt = held_out(a)
    np.testing.assert_allclose(a.predict_raw(Xt), reference_raw(m.booster_.dump_model(), Xt), rtol=0, atol=TOL)


def test_row_kernel_equals_batch(data):
    X, z = data
    m = DirectionClassifier(**FIT).fit(X, np.digitize(z, [-0.5, 0.5]))
    cm = CompiledModel.from_model(m)
    Xt = held_out(cm)[:200]
    batch = predict_raw_nb(Xt, *cm.arrays, cm.num_class)
    out = np.empty(cm.num_class)
    for i in range(len(Xt)):
        assert np.array_equal(predict_row_nb(Xt[i], *cm.arrays, cm.num_class), batch[i])
        assert np.array_equal(cm.predict_raw_row(Xt[i], out), batch[i])


def test_dataframe_columns_reordered(data):
    X, z = data
    m = MoveRegressor(**FIT).fit(X, z)
    cm = CompiledModel.from_model(m)
    Xt = X.iloc[:100]
    np.testing.assert_array_equal(cm.predict(Xt[NAMES[::-1]]), cm.predict(Xt.to_numpy()))
    with pytest.raises(ValueError, match="lacks"):
        cm.predict(Xt.drop(columns="noise"))
    with pytest.raises(ValueError, match="features"):
        cm.predict(Xt.to_numpy()[:, :3])


def test_from_file_roundtrip(tmp_path, data):
    X, z = data
    m = DirectionClassifier(**FIT).fit(X, z > 0)
    txt, meta = save_model(m, tmp_path / "clf", X=X, y=z > 0)
    Xt = held_out(CompiledModel.from_model(m))
    want = m.predict_proba(Xt)
    for p in (tmp_path / "clf", txt, meta):
        cm = CompiledModel.from_file(p)
        assert cm.feature_names == NAMES and list(cm.classes) == [False, True]
        np.testing.assert_allclose(cm.predict_proba(Xt), want, rtol=0, atol=TOL)
    plain = tmp_path / "plain.txt"
    m.booster_.save_model(str(plain))
    np.testing.assert_allclose(CompiledModel.from_file(plain).predict_proba(Xt), want, rtol=0, atol=TOL)
    txt.write_text(txt.read_text().replace("shrinkage=1", "shrinkage=1 ", 1))
    with pytest.raises(ValueError, match="sha256"):
        CompiledModel.from_file(meta)


def test_rejects_categorical_and_linear_trees():
    rng = np.random.default_rng(1)
    A = np.column_stack([rng.integers(0, 6, 600), rng.normal(size=600)]).astype(np.float64)
    y = (A[:, 0] % 2 == 0).astype(np.float64) + 0.1 * A[:, 1]
    params = {"objective": "regression", "verbose": -1, "num_threads": 1, "deterministic": True,
              "min_data_in_leaf": 5}
    b = lgb.train(params, lgb.Dataset(A, y, categorical_feature=[0]), num_boost_round=5)
    with pytest.raises(ValueError, match="categorical"):
        CompiledModel.from_booster(b)
    with pytest.raises(ValueError, match="categorical"):
        CompiledModel.from_dump(b.dump_model())
    b = lgb.train({**params, "linear_tree": True}, lgb.Dataset(A, y), num_boost_round=5)
    with pytest.raises(ValueError, match="linear"):
        CompiledModel.from_booster(b)
    with pytest.raises(ValueError, match="objective"):
        CompiledModel.from_string("tree\nnum_class=1\nobjective=lambdamart_unknown\nmax_feature_idx=0\n")


# ------------------------------------------------------------------ hand-written stumps
def stump_model(threshold: float, decision_type: int, objective: str = "regression") -> str:
    """Two trees on feature 1 of 2: a stump (leaf -1 left, +1 right) and a one-leaf tree (0.25)."""
    return f"""tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective={objective}
feature_names=a b
feature_infos=[-1:1] [-1:1]

Tree=0
num_leaves=2
num_cat=0
split_feature=1
split_gain=1
threshold={threshold!r}
decision_type={decision_type}
left_child=-1
right_child=-2
leaf_value=-1 1
leaf_weight=1 1
leaf_count=1 1
internal_value=0
internal_weight=0
internal_count=2
is_linear=0
shrinkage=1


Tree=1
num_leaves=1
num_cat=0
split_feature=
split_gain=
threshold=
decision_type=
left_child=
right_child=
leaf_value=0.25
leaf_weight=
leaf_count=
internal_value=
internal_weight=
internal_count=
is_linear=0
shrinkage=1


end of trees

pandas_categorical:null
"""


KZ = K_ZERO_THRESHOLD
VALUES = np.array([np.nan, 0.0, -0.0, 1e-36, -1e-36, KZ, -KZ, 2e-35, -2e-35, 0.5, np.nextafter(0.5, 1.0),
                   np.nextafter(0.5, 0.0), -1.0, 1.0, np.inf, -np.inf])


@pytest.mark.parametrize("threshold", [0.5, KZ, -KZ, 0.0, 1e-36])
@pytest.mark.parametrize("decision_type", [0, 2, 4, 6, 8, 10])  # missing None/Zero/NaN x default right/left
def test_stump_missing_rules_match_lightgbm(threshold, decision_type):
    text = stump_model(threshold, decision_type)
    X = np.column_stack([np.zeros_like(VALUES), VALUES])
    cm = CompiledModel.from_string(text)
    got = cm.predict_raw(X)
    np.testing.assert_array_equal(got, lgb.Booster(model_str=text).predict(X, raw_score=True))
    np.testing.assert_array_equal(got, reference_raw(lgb.Booster(model_str=text).dump_model(), X))


def test_stump_hand_worked():
    """threshold 0.5: '<=' sends x == 0.5 left (-1 + 0.25); NaN with missing None is read as 0
    (left); missing NaN follows default_left; missing Zero sends 0, -0, 1e-36 (read as 0) and NaN
    (read as 0) to the default side."""
    x = np.array([0.5, np.nextafter(0.5, 1.0), np.nan, 0.0, 1e-36, -2.0, 2.0])
    X = np.column_stack([np.zeros_like(x), x])
    L, R = -0.75, 1.25
    cases = {
        0: [L, R, L, L, L, L, R],    # None
        8: [L, R, R, L, L, L, R],    # NaN, default right
        10: [L, R, L, L, L, L, R],   # NaN, default left
        4: [L, R, R, R, R, L, R],    # Zero, default right
        6: [L, R, L, L, L, L, R],    # Zero, default left
    }
    for dt, want in cases.items():
        np.testing.assert_array_equal(CompiledModel.from_string(stump_model(0.5, dt)).predict_raw(X), want)
    # binary: probability is the sigmoid of the raw score (sigmoid:2 scales it)
    cm = CompiledModel.from_string(stump_model(0.5, 0, "binary sigmoid:2"))
    np.testing.assert_allclose(cm.predict_proba(X)[:, 1], 1 / (1 + np.exp(-2 * np.array(cases[0]))), rtol=0,
                               atol=1e-15)
    assert list(cm.classes) == [0, 1]
    assert list(cm.predict(X)) == [0, 1, 0, 0, 0, 0, 1]


@pytest.mark.parametrize("params", [{"objective": "regression", "reg_sqrt": True},
                                    {"objective": "multiclassova", "num_class": 3},
                                    {"objective": "cross_entropy"}, {"objective": "tweedie"}])
def test_other_output_conversions(data, params):
    """reg_sqrt (sign(r) r^2), one-vs-all sigmoids, cross-entropy sigmoid, tweedie exp."""
    X, z = data
    target = {"regression": z, "multiclassova": np.digitize(z, [-0.5, 0.5]).astype(np.float64),
              "cross_entropy": 1 / (1 + np.exp(-z)), "tweedie": np.abs(z)}[params["objective"]]
    base = MoveRegressor(**FIT).lgb_params()
    b = lgb.train({**base, **params}, lgb.Dataset(X.to_numpy(), target, params={"verbose": -1}),
                  num_boost_round=20)
    cm = CompiledModel.from_booster(b)
    check_equal(b, cm, held_out(cm))
