"""Out-of-sample metrics, written out in numpy (tested against scikit-learn / scipy).

Classification: accuracy, balanced accuracy (mean per-class recall), macro-F1, ROC-AUC (binary,
or macro one-vs-rest: the mean over classes of the AUC of ``score[:, c]`` for ``y == c``),
log-loss. Signal quality: information coefficient (Spearman rank correlation of a predicted score
with the realised return; Grinold & Kahn 2000, ch. 6) and hit rate (share of directional calls
whose sign matches the realised move).
"""
from __future__ import annotations

import numpy as np

from companion.stats import binary_auc, spearman_ic  # noqa: F401  (the package's one AUC and IC; re-exported here)


def accuracy(y_true, y_pred) -> float:
    """``mean(y_pred == y_true)``.

    Examples
    --------
    >>> accuracy([1, 0, 1, 1], [1, 1, 1, 0])
    0.5
    """
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def balanced_accuracy(y_true, y_pred) -> float:
    """Mean over the classes present in ``y_true`` of the recall ``TP_c / n_c``.

    Examples
    --------
    >>> balanced_accuracy([1, 1, 1, 0], [1, 1, 0, 0])      # (2/3 + 1) / 2
    0.8333333333333333
    """
    y, p = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([np.mean(p[y == c] == c) for c in np.unique(y)]))


def macro_f1(y_true, y_pred) -> float:
    """Unweighted mean over the classes in ``y_true`` or ``y_pred`` of ``2TP / (2TP + FP + FN)``
    (0 when a class is neither true nor predicted).

    Examples
    --------
    >>> round(macro_f1([1, 1, 0, 0], [1, 0, 0, 0]), 4)
    0.7333
    """
    y, p = np.asarray(y_true), np.asarray(y_pred)
    f = []
    for c in np.union1d(y, p):
        tp = np.sum((y == c) & (p == c))
        den = 2 * tp + np.sum((y != c) & (p == c)) + np.sum((y == c) & (p != c))
        f.append(2 * tp / den if den else 0.0)
    return float(np.mean(f))


def roc_auc(y_true, scores, classes) -> float:
    """Binary: AUC of ``scores[:, 1]`` (or a 1-d score) for ``classes[1]``; more classes: macro OvR.

    Examples
    --------
    >>> import numpy as np
    >>> roc_auc([0, 0, 1, 1], np.array([[0.9, 0.1], [0.6, 0.4], [0.65, 0.35], [0.2, 0.8]]), classes=[0, 1])
    0.75
    """
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=np.float64)
    classes = list(classes)
    if len(classes) == 2:
        return binary_auc(y == classes[1], s if s.ndim == 1 else s[:, 1])
    return float(np.mean([binary_auc(y == c, s[:, k]) for k, c in enumerate(classes)]))


def log_loss(y_true, proba, classes, eps: float | None = None) -> float:
    """``-mean_i log p_i(y_i)`` with ``p`` clipped to ``[eps, 1 - eps]`` (eps = float64 epsilon).

    Examples
    --------
    >>> import numpy as np
    >>> round(log_loss([0, 1], np.array([[0.8, 0.2], [0.4, 0.6]]), classes=[0, 1]), 4)
    0.367
    """
    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64)
    eps = np.finfo(np.float64).eps if eps is None else eps
    col = np.searchsorted(np.asarray(classes), y)
    if np.any(np.asarray(classes)[np.minimum(col, len(classes) - 1)] != y):
        raise ValueError("y_true holds a class that is not in classes")
    return float(-np.mean(np.log(np.clip(p[np.arange(y.size), col], eps, 1 - eps))))


def hit_rate(direction, realised) -> float:
    """Share of samples with a call (``direction != 0``) and a move (``realised != 0``) whose signs
    agree; NaN when there are none.

    Examples
    --------
    >>> hit_rate([1, -1, 1, 0], [0.5, 0.2, -0.1, 0.3])       # 1 of 3 calls right
    0.3333333333333333
    """
    d, r = np.sign(np.asarray(direction, dtype=np.float64)), np.sign(np.asarray(realised, dtype=np.float64))
    ok = (d != 0) & (r != 0) & ~np.isnan(d) & ~np.isnan(r)
    return float(np.mean(d[ok] == r[ok])) if ok.any() else float("nan")


def direction_of(pred, classes) -> np.ndarray:
    """The directional call of a predicted class: ``sign(pred - (min c + max c) / 2)`` --
    -1/0/+1 for classes -1/0/1, -1/+1 for classes 0/1 ("up" vs "not up") or -1/+1.

    Examples
    --------
    >>> direction_of([-1, 0, 1], classes=[-1, 0, 1]).tolist(), direction_of([0, 1], classes=[0, 1]).tolist()
    ([-1.0, 0.0, 1.0], [-1.0, 1.0])
    """
    c = np.asarray(classes, dtype=np.float64)
    return np.sign(np.asarray(pred, dtype=np.float64) - (c.min() + c.max()) / 2)


def classification_metrics(y_true, proba, classes, *, pred=None, score=None, realised=None,
                           probabilities: bool = True) -> dict:
    """All metrics of one model's out-of-sample predictions.

    ``proba`` ``(n, K)`` in ``classes`` order, used as per-class scores for ROC-AUC (all NaN: the
    model gives no probabilities, log-loss NaN); ``pred`` default ``argmax proba``; ``score``
    (ranking score for the IC) default the expected class value ``sum_c c p_c`` (P(up) - P(down)
    for classes -1/0/1; P(up) for 0/1); ``realised`` (the move, for IC and hit rate) default
    ``y_true``. ``probabilities=False``: ``proba`` holds scores that are not probabilities (no
    log-loss). Hit rate compares :func:`direction_of` the prediction with ``sign(realised)``
    (with ``realised = y_true`` the class is first mapped by :func:`direction_of`).

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.1, 0.9]])
    >>> m = classification_metrics(np.array([0, 1, 1, 1]), p, classes=[0, 1])
    >>> {k: round(float(m[k]), 4) for k in ("accuracy", "roc_auc", "log_loss", "hit_rate")}
    {'accuracy': 0.75, 'roc_auc': 1.0, 'log_loss': 0.4004, 'hit_rate': 0.75}
    """
    classes = np.asarray(classes)
    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64)
    pred = classes[np.argmax(np.nan_to_num(p, nan=-1.0), axis=1)] if pred is None else np.asarray(pred)
    if score is None:
        score = p @ classes.astype(np.float64)
    move = direction_of(y, classes) if realised is None else np.asarray(realised, dtype=np.float64)
    has_p = probabilities and not np.isnan(p).all()
    return {
        "n": int(y.size),
        "accuracy": accuracy(y, pred),
        "balanced_accuracy": balanced_accuracy(y, pred),
        "macro_f1": macro_f1(y, pred),
        "roc_auc": roc_auc(y, p, classes),
        "log_loss": log_loss(y, p, classes) if has_p else float("nan"),
        "ic": spearman_ic(score, y if realised is None else move),
        "hit_rate": hit_rate(direction_of(pred, classes), move),
    }
