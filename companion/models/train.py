"""LightGBM estimators with scikit-learn conventions and deterministic defaults.

:class:`DirectionClassifier` predicts the label class (``P(up)`` for up / not-up labels, or
down / flat / up); :class:`MoveRegressor` predicts the size of the move. Both train a
``lightgbm.Booster`` (Ke et al. 2017, "LightGBM: A highly efficient gradient boosting decision
tree", NeurIPS) with ``deterministic=True``, ``force_row_wise=True``, one thread and explicit
seeds, so two fits on the same data give bit-identical predictions. Parameters live in
``__init__`` (``get_params`` / ``clone`` work); fitted state ends in ``_``.
"""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin


def _matrix(X, names: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """X as a C-contiguous float64 matrix and its feature names; a DataFrame is checked against
    (and reordered to) ``names`` when given."""
    if isinstance(X, pd.DataFrame):
        cols = [str(c) for c in X.columns]
        if names is not None:
            missing = [c for c in names if c not in cols]
            if missing:
                raise ValueError(f"X lacks the features the model was fitted on: {missing}")
            X = X.set_axis(cols, axis=1)[names]
            cols = list(names)
        return np.ascontiguousarray(X.to_numpy(dtype=np.float64)), cols
    arr = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    if arr.ndim != 2:
        raise ValueError("X must be 2-d")
    if names is not None and arr.shape[1] != len(names):
        raise ValueError(f"X has {arr.shape[1]} features, the model was fitted on {len(names)}")
    return arr, names if names is not None else [f"x{i}" for i in range(arr.shape[1])]


class _LightGBMEstimator(BaseEstimator):
    """Shared parameters and booster plumbing."""

    _objective = "regression"

    def __init__(self, n_estimators: int = 200, learning_rate: float = 0.05, max_depth: int = 6,
                 num_leaves: int = 31, min_child_samples: int = 20, subsample: float = 1.0,
                 subsample_freq: int = 0, colsample_bytree: float = 1.0, reg_lambda: float = 0.0,
                 reg_alpha: float = 0.0, random_state: int = 0, n_jobs: int = 1):
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.random_state = random_state
        self.n_jobs = n_jobs

    def lgb_params(self) -> dict:
        """The LightGBM parameter dict this estimator trains with."""
        seed = int(self.random_state)
        return {
            "objective": self._objective,
            "learning_rate": float(self.learning_rate),
            "max_depth": int(self.max_depth),
            "num_leaves": int(self.num_leaves),
            "min_data_in_leaf": int(self.min_child_samples),
            "bagging_fraction": float(self.subsample),
            "bagging_freq": int(self.subsample_freq),
            "feature_fraction": float(self.colsample_bytree),
            "lambda_l2": float(self.reg_lambda),
            "lambda_l1": float(self.reg_alpha),
            "seed": seed,
            "bagging_seed": seed + 1,
            "feature_fraction_seed": seed + 2,
            "data_random_seed": seed + 3,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": int(self.n_jobs),
            "verbose": -1,
        }

    def _train(self, X, target: np.ndarray, extra: dict, sample_weight=None):
        arr, names = _matrix(X)
        if arr.shape[0] != target.shape[0]:
            raise ValueError(f"X has {arr.shape[0]} rows, y has {target.shape[0]}")
        params = {**self.lgb_params(), **extra}
        ds = lgb.Dataset(arr, label=target, weight=sample_weight, feature_name=names,
                         params={"verbose": -1}, free_raw_data=True)
        self.booster_ = lgb.train(params, ds, num_boost_round=int(self.n_estimators))
        self.feature_names_in_ = np.array(names, dtype=object)
        self.n_features_in_ = len(names)
        return self

    def _raw(self, X, **kw) -> np.ndarray:
        if not hasattr(self, "booster_"):
            raise AttributeError(f"{type(self).__name__} is not fitted")
        arr, _ = _matrix(X, list(self.feature_names_in_))
        return self.booster_.predict(arr, **kw)

    def feature_importance(self, kind: str = "gain") -> pd.Series:
        """Total gain (``'gain'``: the loss reduction of all splits on a feature) or split count."""
        imp = self.booster_.feature_importance(importance_type=kind)
        return pd.Series(imp, index=list(self.feature_names_in_), name=kind).astype(np.float64)

    def contributions(self, X) -> pd.DataFrame:
        """Per-prediction feature contributions (TreeSHAP, Lundberg et al. 2020; LightGBM
        ``pred_contrib=True``) in raw-score units (log-odds / softmax logits / the target);
        each row sums, with the ``bias`` column, to the raw prediction. Multiclass: columns are
        ``(class, feature)``."""
        c = self._raw(X, pred_contrib=True)
        cols = [*self.feature_names_in_, "bias"]
        index = X.index if isinstance(X, pd.DataFrame) else None
        k = c.shape[1] // len(cols)
        if k == 1:
            return pd.DataFrame(c, columns=cols, index=index)
        mi = pd.MultiIndex.from_product([list(self.classes_), cols], names=["class", "feature"])
        return pd.DataFrame(c, columns=mi, index=index)


class DirectionClassifier(ClassifierMixin, _LightGBMEstimator):
    """LightGBM classifier of the label class: binary (``P(classes_[1])``, e.g. P(up)) or
    multiclass softmax (e.g. down / flat / up). Defaults: 200 trees, learning rate 0.05, depth 6,
    31 leaves; deterministic, one thread, ``random_state`` seeds everything.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ofi": rng.normal(size=400), "noise": rng.normal(size=400)},
    ...                  index=pd.Index(np.arange(400) * 10**9, name="ts"))       # one sample a second
    >>> y = np.where(X["ofi"] + 0.5 * rng.normal(size=400) > 0, 1, -1)           # the OFI carries the label
    >>> m = DirectionClassifier(n_estimators=20, min_child_samples=10).fit(X, y)
    >>> m.classes_.tolist(), m.predict_proba(X.iloc[:2]).round(3).tolist()       # P(-1), P(+1)
    ([-1, 1], [[0.612, 0.388], [0.555, 0.445]])
    >>> m.feature_importance().round(0).to_dict()                               # total gain per feature
    {'ofi': 2635.0, 'noise': 124.0}
    """

    def fit(self, X, y, sample_weight=None):
        """Fit on features ``X`` and class labels ``y`` (optional ``sample_weight``); returns self."""
        y = np.asarray(y)
        if y.ndim != 1 or pd.isna(y).any():
            raise ValueError("y must be a 1-d array without missing labels")
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(f"need at least two classes to fit, got {self.classes_.tolist()}")
        code = np.searchsorted(self.classes_, y).astype(np.float64)
        extra = ({"objective": "binary"} if self.classes_.size == 2
                 else {"objective": "multiclass", "num_class": int(self.classes_.size)})
        return self._train(X, code, extra, sample_weight)

    def predict_proba(self, X) -> np.ndarray:
        """``(n, n_classes)`` probabilities in ``classes_`` order."""
        p = self._raw(X)
        return np.column_stack([1.0 - p, p]) if p.ndim == 1 else p

    def predict(self, X) -> np.ndarray:
        """The most probable class per row."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class MoveRegressor(RegressorMixin, _LightGBMEstimator):
    """LightGBM regressor of the move (e.g. ``|ret|`` in ticks, or the signed return).
    ``objective``: ``'regression'`` (L2), ``'huber'``, ``'regression_l1'``, ...

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ofi": rng.normal(size=400), "noise": rng.normal(size=400)},
    ...                  index=pd.Index(np.arange(400) * 10**9, name="ts"))       # one sample a second
    >>> r = MoveRegressor(n_estimators=20, min_child_samples=10).fit(X, 2 * X["ofi"])    # move = 2 x OFI
    >>> r.predict(pd.DataFrame({"ofi": [-1.0, 1.0], "noise": [0.0, 0.0]})).round(2).tolist()
    [-1.33, 1.26]
    """

    def __init__(self, n_estimators: int = 200, learning_rate: float = 0.05, max_depth: int = 6,
                 num_leaves: int = 31, min_child_samples: int = 20, subsample: float = 1.0,
                 subsample_freq: int = 0, colsample_bytree: float = 1.0, reg_lambda: float = 0.0,
                 reg_alpha: float = 0.0, random_state: int = 0, n_jobs: int = 1,
                 objective: str = "regression"):
        super().__init__(n_estimators=n_estimators, learning_rate=learning_rate, max_depth=max_depth,
                         num_leaves=num_leaves, min_child_samples=min_child_samples, subsample=subsample,
                         subsample_freq=subsample_freq, colsample_bytree=colsample_bytree,
                         reg_lambda=reg_lambda, reg_alpha=reg_alpha, random_state=random_state,
                         n_jobs=n_jobs)
        self.objective = objective

    def fit(self, X, y, sample_weight=None):
        """Fit on features ``X`` and the move ``y`` (optional ``sample_weight``); returns self."""
        y = np.asarray(y, dtype=np.float64)
        if y.ndim != 1 or np.isnan(y).any():
            raise ValueError("y must be a 1-d array without NaN")
        return self._train(X, y, {"objective": self.objective}, sample_weight)

    def predict(self, X) -> np.ndarray:
        """The predicted move per row (the target's unit)."""
        return self._raw(X)
