"""Purged cross-validation for labels that span time (López de Prado 2018, ch. 7).

A sample taken at ``t_i`` whose label is fixed at ``e_i >= t_i`` (see :mod:`companion.labels`)
covers the interval ``[t_i, e_i]``. A training sample whose interval overlaps the test period
``[T0, T1]`` -- ``T0`` = first test sample time, ``T1`` = last test *label end* -- shares price
moves with test labels; it is **purged** (AFML §7.4.1, Snippet 7.1):

    purge i  <=>  t_i <= T1 + embargo_after  and  e_i >= T0 - embargo_before.

The **embargo** (AFML §7.4.2, Snippet 7.2) widens the test period: after it in k-fold (training
samples right after a test block carry features computed over the test labels' period), and, in
walk-forward, before it (a gap between the last training label and the first test sample, the
role of ``gap`` in scikit-learn's ``TimeSeriesSplit``). Walk-forward trains strictly before the
test block, so an embargo after the test period never removes anything there.

Times are int64 ns, ``datetime64`` / ``timedelta64`` arrays, or pandas indexes / Series of them.

Both splitters follow scikit-learn's splitter contract, ``split(X, y=None, groups=None)`` and
``get_n_splits(X=None, y=None, groups=None)``, so they can be passed as ``cv=`` to
``cross_val_score``, ``GridSearchCV``, ... The label intervals come, in this order, from
``groups`` (an ``(n, 2)`` array or two-column DataFrame: sample time, label end time per row), from
the constructor (``sample_times=``, ``label_end_times=``), or else from ``X`` and ``y`` themselves:
``split(sample_times, label_end_times)``, the form used by the chapters and
:func:`companion.models.evaluate.walk_forward_evaluate`.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from companion.events import duration_ns


def to_ns(x) -> np.ndarray:
    """Timestamps (DatetimeIndex / TimedeltaIndex / Series / datetime64 / int ns) as int64 ns.

    Examples
    --------
    >>> import pandas as pd
    >>> to_ns(pd.DatetimeIndex(["1970-01-01 00:00:01", "1970-01-01 00:00:02"])).tolist()
    [1000000000, 2000000000]
    """
    if isinstance(x, pd.Series):
        x = x.to_numpy()
    if isinstance(x, (pd.DatetimeIndex, pd.TimedeltaIndex)):
        if x.hasnans:
            raise ValueError("times contain NaT")
        return np.asarray(x.as_unit("ns").asi8, dtype=np.int64)
    arr = np.asarray(x)
    if arr.dtype.kind in "mM":
        if np.isnat(arr).any():
            raise ValueError("times contain NaT")
        return arr.astype("M8[ns]" if arr.dtype.kind == "M" else "m8[ns]").view(np.int64)
    if arr.dtype == object:  # e.g. tz-aware timestamps from a Series
        return to_ns(pd.DatetimeIndex(arr))
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"times must be datetime, timedelta or integer ns, not {arr.dtype}")
    return arr.astype(np.int64)


def _check_intervals(sample_times, label_end_times) -> tuple[np.ndarray, np.ndarray]:
    t, e = to_ns(sample_times), to_ns(label_end_times)
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError(f"sample_times and label_end_times must be 1-d of equal length, got {t.shape} and {e.shape}")
    if t.size > 1 and np.any(np.diff(t) < 0):
        raise ValueError("sample_times must be sorted (non-decreasing)")
    if np.any(e < t):
        raise ValueError("every label must end at or after its sample time (label_end_times >= sample_times)")
    return t, e


def overlaps(t: np.ndarray, e: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Mask of intervals ``[t_i, e_i]`` that intersect ``[lo, hi]`` (closed).

    Examples
    --------
    >>> import numpy as np
    >>> t, e = np.array([0, 10, 20]), np.array([5, 15, 25])
    >>> overlaps(t, e, 12, 20).tolist()
    [False, True, True]
    """
    return (t <= hi) & (e >= lo)


def _num_samples(X) -> int:
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) else len(X)


class _PurgedSplitter:
    """Where a purged splitter finds the label intervals (see the module docstring)."""

    def __init__(self, n_splits: int, embargo, sample_times, label_end_times):
        if (sample_times is None) != (label_end_times is None):
            raise ValueError("give both sample_times and label_end_times, or neither")
        self.n_splits = n_splits
        self.embargo = embargo
        self.sample_times = sample_times
        self.label_end_times = label_end_times

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of splits, ``n_splits`` (scikit-learn's splitter contract; arguments ignored)."""
        return int(self.n_splits)

    def _intervals(self, X, y, groups) -> tuple[np.ndarray, np.ndarray]:
        if groups is not None:
            if isinstance(groups, pd.DataFrame):
                if groups.shape[1] != 2:
                    raise ValueError(f"groups must have 2 columns (sample time, label end time), got {groups.shape[1]}")
                t, e = groups.iloc[:, 0], groups.iloc[:, 1]
            else:
                g = np.asarray(groups)
                if g.ndim != 2 or g.shape[1] != 2:
                    raise ValueError("groups must be an (n, 2) array of (sample time, label end time) rows, "
                                     f"got shape {g.shape}")
                t, e = g[:, 0], g[:, 1]
        elif self.sample_times is not None:
            t, e = self.sample_times, self.label_end_times
        else:
            if y is None or np.ndim(X) != 1:
                raise ValueError("no label intervals: pass groups=(n, 2) array of (sample time, label end time), "
                                 "construct the splitter with sample_times= and label_end_times=, or call "
                                 "split(sample_times, label_end_times)")
            return _check_intervals(X, y)
        t, e = _check_intervals(t, e)
        if X is not None and _num_samples(X) != t.size:
            raise ValueError(f"X has {_num_samples(X)} samples but the label intervals {t.size}")
        return t, e


class PurgedWalkForward(_PurgedSplitter):
    """Walk-forward splits with purging and an embargo (López de Prado 2018, §7.4; ch. 12).

    The first ``min_train`` samples (int count, or a fraction of n; default ``n // (n_splits+1)``)
    are only trained on; the rest are cut into ``n_splits`` contiguous test blocks of equal count.
    For the block ``[a, b)`` with ``T0 = t_a`` and ``T1 = max(e_a..e_{b-1})`` the training set is
    the samples ``i < a`` (``window='expanding'``) or ``a - train_size <= i < a`` (``'rolling'``,
    ``train_size`` default ``min_train``) whose label ends strictly before ``T0 - embargo``:
    ``e_i < T0 - embargo`` (purge + pre-test embargo). Training is thus strictly before testing
    and no training label shares a price move with a test label.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(10) * 10**9                       # one sample a second, labels 2 s long
    >>> cv = PurgedWalkForward(n_splits=2, min_train=4)
    >>> for train, test in cv.split(t, t + 2 * 10**9):
    ...     print(train.tolist(), test.tolist())
    ...
    [0, 1] [4, 5, 6]
    [0, 1, 2, 3, 4] [7, 8, 9]

    As ``cv=`` of a scikit-learn tool, with the intervals as ``groups`` (one row per sample):

    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)
    >>> t = np.arange(40) * 10**9
    >>> cross_val_score(LogisticRegression(), X, y, cv=PurgedWalkForward(n_splits=3),
    ...                 groups=np.column_stack([t, t + 2 * 10**9])).round(2).tolist()
    [0.9, 1.0, 0.8]
    """

    def __init__(self, n_splits: int = 5, *, embargo=0, min_train: int | float | None = None,
                 window: str = "expanding", train_size: int | None = None, sample_times=None,
                 label_end_times=None):
        super().__init__(n_splits, embargo, sample_times, label_end_times)
        self.min_train = min_train
        self.window = window
        self.train_size = train_size

    def _first(self, n: int) -> int:
        m = self.min_train
        if m is None:
            first = n // (self.n_splits + 1)
        elif isinstance(m, float) and 0 < m < 1:
            first = int(round(m * n))
        else:
            first = int(m)
        if not 1 <= first <= n - self.n_splits:
            raise ValueError(f"min_train={m!r} leaves no room for {self.n_splits} test blocks in {n} samples")
        return first

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` integer positions, test blocks in time order.

        ``split(sample_times, label_end_times)``, or scikit-learn's ``split(X, y, groups)`` with the
        intervals in ``groups`` or the constructor (module docstring)."""
        if self.window not in ("expanding", "rolling"):
            raise ValueError("window must be 'expanding' or 'rolling'")
        if int(self.n_splits) < 1:
            raise ValueError("n_splits must be >= 1")
        t, e = self._intervals(X, y, groups)
        emb = duration_ns(self.embargo)
        first = self._first(t.size)
        size = first if self.train_size is None else int(self.train_size)
        for test in np.array_split(np.arange(first, t.size), int(self.n_splits)):
            a = int(test[0])
            lo = 0 if self.window == "expanding" else max(0, a - size)
            cand = np.arange(lo, a)
            keep = e[cand] < t[a] - emb
            yield cand[keep], test


class PurgedKFold(_PurgedSplitter):
    """k-fold with purging and a post-test embargo (López de Prado 2018, Snippets 7.1-7.3).

    Contiguous test blocks; the training set is every other sample whose interval does not
    intersect ``[T0, T1 + embargo]``. Training data after the test block make this a tool for
    model selection on exchangeable periods, not a backtest: prefer :class:`PurgedWalkForward`.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(9) * 10**9
    >>> for train, test in PurgedKFold(n_splits=3).split(t, t + 10**9):
    ...     print(train.tolist(), test.tolist())
    ...
    [4, 5, 6, 7, 8] [0, 1, 2]
    [0, 1, 7, 8] [3, 4, 5]
    [0, 1, 2, 3, 4] [6, 7, 8]
    """

    def __init__(self, n_splits: int = 5, *, embargo=0, sample_times=None, label_end_times=None):
        super().__init__(n_splits, embargo, sample_times, label_end_times)

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train_idx, test_idx)`` integer positions, test blocks in time order.

        ``split(sample_times, label_end_times)``, or scikit-learn's ``split(X, y, groups)`` with the
        intervals in ``groups`` or the constructor (module docstring)."""
        t, e = self._intervals(X, y, groups)
        emb = duration_ns(self.embargo)
        idx = np.arange(t.size)
        for test in np.array_split(idx, int(self.n_splits)):
            t0, t1 = t[test[0]], e[test].max()
            bad = overlaps(t, e, t0, t1 + emb)
            bad[test] = True
            yield idx[~bad], test
