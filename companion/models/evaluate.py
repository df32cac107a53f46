"""Walk-forward evaluation with baselines, importance, and the shuffled-label leakage audit.

For each split of a purged CV (:class:`companion.models.cv.PurgedWalkForward`) a fresh model is
fitted on the training rows and predicts the test rows; the pooled out-of-sample predictions are
scored with :func:`companion.models.metrics.classification_metrics`. Baselines are fitted on the
same folds: the majority class of the training fold (constant probabilities = training class
shares), the sign of an order-flow-imbalance column (Cont, Kukanov & Stoikov 2014: price moves in
the direction of OFI), and a standardised logistic regression (median-imputed).

Leakage audit: refit with the training labels permuted within each fold. A pipeline without
leakage then has nothing to learn and must score at chance out of sample (AUC ~ 0.5); a score
above chance means information about the test labels reaches the model another way (overlapping
labels, look-ahead features, a bug in the split).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from companion.models.cv import to_ns
from companion.models.metrics import classification_metrics, direction_of

METRIC_COLUMNS = ["model", "n", "folds", "accuracy", "balanced_accuracy", "macro_f1", "roc_auc",
                  "log_loss", "ic", "hit_rate"]


@dataclass
class WalkForwardResult:
    """``metrics``: one row per model (pooled out-of-sample); ``fold_metrics``: one row per
    (model, fold); ``predictions``: tidy out-of-sample rows (sample time, model, fold, y, ret,
    pred, score, ``p_<class>``); ``folds``: sizes and periods; ``importance``: gain per fold
    (rows) and feature (columns) of the main model; ``models``: the fitted main model per fold.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per model: pooled out-of-sample metrics.
    fold_metrics : pandas.DataFrame
        One row per (model, fold).
    predictions : pandas.DataFrame
        Tidy out-of-sample rows: sample time, model, fold, y, ret, pred, score, ``p_<class>``.
    folds : pandas.DataFrame
        Sizes and periods of each fold (train, purged, test).
    importance : pandas.DataFrame
        Gain of the main model per fold (rows) and feature (columns).
    models : list
        The fitted main model of each fold.
    """

    metrics: pd.DataFrame
    fold_metrics: pd.DataFrame
    predictions: pd.DataFrame
    folds: pd.DataFrame
    importance: pd.DataFrame
    models: list = field(default_factory=list, repr=False)


def _aligned(name: str, v, X: pd.DataFrame) -> np.ndarray:
    if isinstance(v, pd.Series) and not v.index.equals(X.index):
        raise ValueError(f"{name} is not aligned with X (different index)")
    arr = np.asarray(v)
    if arr.shape[0] != len(X):
        raise ValueError(f"{name} has {arr.shape[0]} rows, X has {len(X)}")
    return arr


def _make(model_factory):
    if not isinstance(model_factory, type) and hasattr(model_factory, "fit"):
        from sklearn.base import clone
        return clone(model_factory)
    return model_factory()


def _logistic(random_state: int = 0):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                         LogisticRegression(max_iter=2000, random_state=random_state))


def _proba_in(model, X, classes: np.ndarray) -> np.ndarray:
    """predict_proba re-indexed onto the full class list (a fold may miss a class)."""
    p = model.predict_proba(X)
    out = np.zeros((len(X), classes.size))
    out[:, np.searchsorted(classes, model.classes_)] = p
    return out


def _ofi_scores(ofi: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OFI-sign baseline: predicted class and per-class ranking scores (up: ofi, down: -ofi,
    flat / middle: -|ofi|)."""
    c = classes.astype(np.float64)
    mid = (c.min() + c.max()) / 2
    d = np.sign(np.nan_to_num(ofi))
    if classes.size == 2:
        pred = np.where(d > 0, classes[1], classes[0])
    else:
        pred = np.where(d > 0, classes[-1], np.where(d < 0, classes[0], classes[np.argmin(np.abs(c - mid))]))
    s = np.empty((ofi.size, classes.size))
    for k, ck in enumerate(c):
        s[:, k] = ofi if ck > mid else (-ofi if ck < mid else -np.abs(ofi))
    return pred, np.nan_to_num(s)


def walk_forward_evaluate(X: pd.DataFrame, y, t=None, t_end=None, model_factory=None, cv=None, *,
                          ret=None, baselines: bool = True, ofi_column: str | None = None,
                          shuffle_labels: bool = False, random_state: int = 0) -> WalkForwardResult:
    """Out-of-sample walk-forward predictions and metrics of a classifier and its baselines.

    ``X`` feature matrix (rows = samples in time order); ``y`` label classes; ``t`` sample times
    (default ``X.index``); ``t_end`` label end times (purging); ``model_factory`` a callable
    returning a fresh estimator, or an estimator to clone (default :class:`companion.models.train.DirectionClassifier`);
    ``cv`` a splitter with ``split(t, t_end)`` (default ``PurgedWalkForward(5)``); ``ret`` the
    realised move for IC and hit rate (default: the label's direction); ``ofi_column`` adds the
    sign-of-OFI baseline; ``shuffle_labels`` permutes the training labels inside each fold (the
    leakage audit; seeded by ``random_state``).

    Returns
    -------
    WalkForwardResult
        Pooled out-of-sample metrics per model (``accuracy``, ``balanced_accuracy``, ``macro_f1``,
        ``roc_auc``, ``log_loss`` in nats, ``ic`` Spearman, ``hit_rate``; see
        :mod:`companion.models.metrics`), per-fold metrics, predictions, folds, importance.

    References
    ----------
    López de Prado (2018), *Advances in Financial Machine Learning*, ch. 7 (purged CV) and ch. 12
    (walk-forward backtesting).

    Examples
    --------
    The main model against the baselines (majority class, sign of OFI, logistic regression) on
    five purged walk-forward folds:

    >>> import numpy as np, pandas as pd
    >>> from companion.models.train import DirectionClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ofi": rng.normal(size=400), "noise": rng.normal(size=400)},
    ...                  index=pd.Index(np.arange(400) * 10**9, name="ts"))       # one sample a second
    >>> y = np.where(X["ofi"] + 0.5 * rng.normal(size=400) > 0, 1, -1)           # the OFI carries the label
    >>> res = walk_forward_evaluate(X, y, t_end=X.index + 10**9, ofi_column="ofi",
    ...                             model_factory=lambda: DirectionClassifier(n_estimators=20, min_child_samples=10))
    >>> res.metrics.set_index("model")[["n", "accuracy", "roc_auc"]].round(3)
                n  accuracy  roc_auc
    model
    model     334     0.841    0.919
    majority  334     0.533    0.481
    ofi_sign  334     0.862    0.948
    logistic  334     0.859    0.940
    """
    from companion.models.cv import PurgedWalkForward
    from companion.models.train import DirectionClassifier

    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a DataFrame (rows = samples indexed by time)")
    y = _aligned("y", y, X)
    t = X.index if t is None else t
    if t_end is None:
        raise ValueError("t_end (label end times) is required to purge overlapping labels")
    tt, te = to_ns(_aligned("t", t, X)), to_ns(_aligned("t_end", t_end, X))
    r = None if ret is None else _aligned("ret", ret, X).astype(np.float64)
    model_factory = DirectionClassifier if model_factory is None else model_factory
    cv = PurgedWalkForward(5) if cv is None else cv
    classes = np.unique(y)
    rng = np.random.default_rng(random_state)
    Xn = X.to_numpy(dtype=np.float64)

    rows, preds, folds, imps, models = [], [], [], [], []
    for fold, (tr, te_idx) in enumerate(cv.split(tt, te)):
        if tr.size == 0:
            raise ValueError(f"fold {fold} has no training samples left after purging")
        y_tr = y[tr].copy()
        if shuffle_labels:
            y_tr = y_tr[rng.permutation(tr.size)]
        Xtr, Xte = X.iloc[tr], X.iloc[te_idx]
        folds.append({"fold": fold, "n_train": tr.size, "n_test": te_idx.size,
                      "train_start": X.index[tr[0]], "train_end": X.index[tr[-1]],
                      "test_start": X.index[te_idx[0]], "test_end": X.index[te_idx[-1]]})
        outs = {}
        m = _make(model_factory).fit(Xtr, y_tr)
        models.append(m)
        outs["model"] = (_proba_in(m, Xte, classes), True)
        if hasattr(m, "feature_importance"):
            imps.append(m.feature_importance("gain").rename(fold))
        if baselines:
            vals, counts = np.unique(y_tr, return_counts=True)
            prior = np.zeros(classes.size)
            prior[np.searchsorted(classes, vals)] = counts / counts.sum()
            outs["majority"] = (np.tile(prior, (te_idx.size, 1)), True)
            if ofi_column is not None:
                outs["ofi_sign"] = (_ofi_scores(Xn[te_idx, X.columns.get_loc(ofi_column)], classes), False)
            lr = _logistic(random_state).fit(Xn[tr], y_tr)
            outs["logistic"] = (_proba_in(lr, Xn[te_idx], classes), True)
        for name, (p, is_proba) in outs.items():
            if is_proba:
                pred = classes[np.argmax(p, axis=1)]
                score = p @ classes.astype(np.float64)
            else:
                pred, p = p
                score = Xn[te_idx, X.columns.get_loc(ofi_column)]
            fr = pd.DataFrame({"model": name, "fold": fold, "y": y[te_idx],
                               "ret": np.nan if r is None else r[te_idx], "pred": pred, "score": score},
                              index=X.index[te_idx])
            for k, c in enumerate(classes):
                fr[f"p_{c}"] = p[:, k] if is_proba else np.nan
            fr["_proba"] = is_proba
            preds.append(fr)

    pred_df = pd.concat(preds)
    for (name, fold), g in pred_df.groupby(["model", "fold"], sort=False):
        rows.append({"model": name, "fold": fold, **_score(g, classes, r is not None)})
    fold_metrics = pd.DataFrame(rows)
    pooled = []
    for name, g in pred_df.groupby("model", sort=False):
        pooled.append({"model": name, "folds": g["fold"].nunique(), **_score(g, classes, r is not None)})
    metrics = pd.DataFrame(pooled)[METRIC_COLUMNS].reset_index(drop=True)
    importance = pd.DataFrame(imps) if imps else pd.DataFrame()
    return WalkForwardResult(metrics=metrics, fold_metrics=fold_metrics,
                             predictions=pred_df.drop(columns="_proba"), folds=pd.DataFrame(folds),
                             importance=importance, models=models)


def _score(g: pd.DataFrame, classes: np.ndarray, has_ret: bool) -> dict:
    is_proba = bool(g["_proba"].iloc[0])
    p = g[[f"p_{c}" for c in classes]].to_numpy()
    if not is_proba:  # OFI baseline: rebuild its per-class ranking scores from the raw score
        p = _ofi_scores(g["score"].to_numpy(), classes)[1]
    return classification_metrics(g["y"].to_numpy(), p, classes, pred=g["pred"].to_numpy(),
                                  score=g["score"].to_numpy(),
                                  realised=g["ret"].to_numpy() if has_ret else None,
                                  probabilities=is_proba)


def leakage_audit(X: pd.DataFrame, y, t=None, t_end=None, model_factory=None, cv=None, *, ret=None,
                  n_repeats: int = 3, random_state: int = 0) -> pd.DataFrame:
    """The walk-forward evaluation with training labels shuffled inside each fold, repeated
    ``n_repeats`` times (seeds ``random_state + k``). Returns one metrics row per repeat for the
    main model; with no leakage ``roc_auc`` is ~0.5 (null sd ~ sqrt((n1+n0+1)/(12 n1 n0))).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from companion.models.train import DirectionClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ofi": rng.normal(size=400), "noise": rng.normal(size=400)},
    ...                  index=pd.Index(np.arange(400) * 10**9, name="ts"))       # one sample a second
    >>> y = np.where(X["ofi"] + 0.5 * rng.normal(size=400) > 0, 1, -1)           # the OFI carries the label
    >>> audit = leakage_audit(X, y, t_end=X.index + 10**9, n_repeats=2,
    ...                       model_factory=lambda: DirectionClassifier(n_estimators=20, min_child_samples=10))
    >>> audit[["repeat", "n", "roc_auc"]].round(3)           # shuffled labels: no skill left
       repeat    n  roc_auc
    0       0  334    0.458
    1       1  334    0.382
    """
    out = []
    for k in range(int(n_repeats)):
        res = walk_forward_evaluate(X, y, t, t_end, model_factory, cv, ret=ret, baselines=False,
                                    shuffle_labels=True, random_state=random_state + k)
        out.append(res.metrics.iloc[0].to_dict() | {"repeat": k})
    return pd.DataFrame(out)[["repeat", *METRIC_COLUMNS]]


def direction_score(model, X) -> np.ndarray:
    """A classifier's ranking score: the expected class value ``sum_c c P(c)`` (P(up) - P(down)
    for classes -1/0/1, P(up) for 0/1).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from companion.models.train import DirectionClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ofi": rng.normal(size=400), "noise": rng.normal(size=400)},
    ...                  index=pd.Index(np.arange(400) * 10**9, name="ts"))       # one sample a second
    >>> y = np.where(X["ofi"] + 0.5 * rng.normal(size=400) > 0, 1, -1)           # the OFI carries the label
    >>> m = DirectionClassifier(n_estimators=20, min_child_samples=10).fit(X, y)
    >>> direction_score(m, X.iloc[:3]).round(3).tolist()      # P(up) - P(down)
    [-0.225, -0.109, 0.617]
    """
    return model.predict_proba(X) @ np.asarray(model.classes_, dtype=np.float64)


__all__ = ["WalkForwardResult", "walk_forward_evaluate", "leakage_audit", "direction_score", "direction_of"]
