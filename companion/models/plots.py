"""Figures and small computations for the labeling (05) and model-training (06) chapters.

Plot helpers draw on given axes and return them (no ``plt.show``); the labels come from
:mod:`companion.labels`, the splits from :mod:`companion.models.cv`, the predictions from
:func:`companion.models.evaluate.walk_forward_evaluate`. Times on x-axes are hours after midnight.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from companion.models.cv import to_ns

__all__ = ["hours", "concurrency", "label_intervals", "cv_splits", "class_balance_plot", "barrier_path",
           "reliability_table", "reliability_plot", "importance_bars", "split_roles"]

_NS_PER_H = 3600e9


def hours(t) -> np.ndarray:
    """Times (DatetimeIndex / int ns since midnight) as hours after midnight.

    Examples
    --------
    >>> hours(np.array([34200, 36000]) * 10**9).tolist()            # 09:30 and 10:00
    [9.5, 10.0]
    """
    ns = to_ns(t)
    return (ns % (86400 * 10**9)) / _NS_PER_H


def concurrency(t, t_end) -> np.ndarray:
    """Number of labels whose interval ``[t_j, e_j]`` contains ``t_i`` (itself included); its mean
    inverse over a label's life is AFML's average uniqueness (López de Prado 2018, §4.4).

    ``c_i = #{j : t_j <= t_i <= e_j}`` (a count; ``t`` sorted).

    Examples
    --------
    >>> t = np.arange(5) * 10**9                                     # a sample a second, labels 2 s long
    >>> concurrency(t, t + 2 * 10**9).tolist()
    [1, 2, 3, 3, 3]
    """
    tn, en = to_ns(t), to_ns(t_end)
    started = np.searchsorted(tn, tn, side="right")           # labels with t_j <= t_i
    ended = np.searchsorted(np.sort(en), tn, side="left")      # labels with e_j < t_i
    return (started - ended).astype(np.int64)


def label_intervals(ax, t, t_end, y=None, *, color_by_label: bool = True):
    """One horizontal segment ``[t_i, e_i]`` per label (seconds after the first sample), coloured
    by the label when given (up green, down red, flat grey).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> t = np.arange(5) * 10**9
    >>> ax = label_intervals(Figure().subplots(), t, t + 2 * 10**9, y=np.array([1, -1, 0, 1, 1]))
    >>> len(ax.lines), ax.get_xlabel()                              # a segment and a dot per label
    (10, 'time after the first sample (s)')
    """
    tn, en = to_ns(t), to_ns(t_end)
    x0 = (tn - tn[0]) / 1e9
    x1 = (en - tn[0]) / 1e9
    colors = {1: "tab:green", -1: "tab:red", 0: "0.6"}
    for i in range(tn.size):
        c = colors.get(int(y[i]), "C0") if (y is not None and color_by_label) else "C0"
        ax.plot([x0[i], x1[i]], [i, i], color=c, lw=2, solid_capstyle="butt")
        ax.plot([x0[i]], [i], "o", color="k", ms=2.5)
    ax.invert_yaxis()
    ax.set_xlabel("time after the first sample (s)")
    ax.set_ylabel("sample (row number)")
    return ax


def split_roles(cv, t, t_end) -> np.ndarray:
    """``(n_splits, n)`` role codes per fold: 2 test, 1 train, -1 purged or embargoed (would train
    but its label overlaps the test period), 0 unused (after the test block).

    Examples
    --------
    >>> from companion.models.cv import PurgedWalkForward
    >>> t = np.arange(10) * 10**9                                    # labels 2 s long: 2 purged before each test
    >>> split_roles(PurgedWalkForward(n_splits=2, min_train=4), t, t + 2 * 10**9).tolist()
    [[1, 1, -1, -1, 2, 2, 2, 0, 0, 0], [1, 1, 1, 1, 1, -1, -1, 2, 2, 2]]
    """
    tn = to_ns(t)
    roles = []
    for tr, te in cv.split(t, t_end):
        r = np.zeros(tn.size, np.int8)
        a = te[0]
        r[:a] = -1
        r[tr] = 1
        r[te] = 2
        roles.append(r)
    return np.array(roles)


def cv_splits(ax, cv, t, t_end):
    """Walk-forward folds as coloured bands over the day: train, purged + embargoed, test
    (:func:`split_roles`).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from companion.models.cv import PurgedWalkForward
    >>> t = 34200 * 10**9 + np.arange(10) * 10**9
    >>> ax = cv_splits(Figure().subplots(), PurgedWalkForward(n_splits=2, min_train=4), t, t + 2 * 10**9)
    >>> [x.get_text() for x in ax.get_yticklabels()]
    ['fold 0', 'fold 1']
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    roles = split_roles(cv, t, t_end)
    h = hours(t)
    cmap = ListedColormap(["tab:red", "0.93", "tab:blue", "tab:orange"])
    ax.pcolormesh(np.r_[h, h[-1] + (h[-1] - h[-2])], np.arange(roles.shape[0] + 1), roles, cmap=cmap,
                  vmin=-1.5, vmax=2.5, shading="flat")
    ax.set_yticks(np.arange(roles.shape[0]) + 0.5)
    ax.set_yticklabels([f"fold {k}" for k in range(roles.shape[0])])
    ax.invert_yaxis()
    ax.set_xlabel("time of day (h after midnight)")
    ax.set_ylabel("CV fold")
    ax.legend(handles=[Patch(color="tab:blue", label="train"), Patch(color="tab:red", label="purged / embargo"),
                       Patch(color="tab:orange", label="test")], loc="upper right", fontsize=8, ncols=3)
    ax.grid(False)
    return ax


def class_balance_plot(ax, balance: pd.DataFrame, title: str | None = None, xlabel: str = "threshold c (ticks)"):
    """Stacked down / flat / up shares against the threshold (``labels.balance_by_threshold``).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> bal = pd.DataFrame({"down": [0.4, 0.2], "flat": [0.2, 0.6], "up": [0.4, 0.2]}, index=[0.0, 1.0])
    >>> ax = class_balance_plot(Figure().subplots(), bal)
    >>> len(ax.collections), ax.get_ylabel()                        # three stacked areas
    (3, 'share of labels (fraction)')
    """
    x = balance.index.to_numpy(np.float64)
    ax.stackplot(x, balance["down"], balance["flat"], balance["up"], labels=["down", "flat", "up"],
                 colors=["tab:red", "0.75", "tab:green"], alpha=0.85)
    ax.set_ylim(0, 1)
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of labels (fraction)")
    if title:
        ax.set_title(title)
    return ax


def barrier_path(ax, mid: pd.Series, samples: pd.DataFrame, *, pt: float, sl: float, horizon, tick: float):
    """A mid path (ticks relative to its first value) with the triple barriers of a few samples
    (``samples``: rows of :func:`companion.labels.triple_barrier_labels`, index = sample time)
    and the touch point of each: green profit-take, red stop-loss, grey vertical.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from companion.labels import triple_barrier_labels
    >>> idx = pd.date_range("2012-06-21 09:30", periods=6, freq="1s")
    >>> mid = pd.Series([10000.0, 10100, 10300, 10200, 9900, 9800], index=idx)   # price units, tick 100
    >>> tb = triple_barrier_labels(mid, pt=2, sl=2, horizon="3s", unit="ticks", tick=100)
    >>> tb["barrier"].tolist()                                      # +1 profit-take, -1 stop-loss
    [1, 1, -1, -1]
    >>> ax = barrier_path(Figure().subplots(), mid, tb.iloc[:2], pt=2, sl=2, horizon="3s", tick=100)
    >>> len(ax.patches), ax.get_ylabel()
    (2, 'mid - first mid (ticks)')
    """
    m0 = mid.iloc[0]
    x = hours(mid.index)
    ax.step(x, (mid.to_numpy() - m0) / tick, where="post", color="0.25", lw=0.9, label="mid")
    hz = pd.Timedelta(horizon).value / _NS_PER_H
    col = {1: "tab:green", -1: "tab:red", 0: "0.5"}
    for t0, row in samples.iterrows():
        s = hours(pd.DatetimeIndex([t0]))[0] if isinstance(t0, pd.Timestamp) else hours(np.array([t0]))[0]
        p0 = (mid.asof(t0) - m0) / tick
        ax.add_patch(_rect(s, p0 - sl, hz, pt + sl, col[int(row["barrier"])]))
        ax.hlines([p0 + pt, p0 - sl], s, s + hz, colors=["tab:green", "tab:red"], lw=1)
        ax.vlines(s + hz, p0 - sl, p0 + pt, colors="0.5", lw=1)
        te = hours(pd.DatetimeIndex([row["t_end"]]))[0] if isinstance(row["t_end"], pd.Timestamp) else None
        if te is not None:
            ax.plot([te], [p0 + row["ret"]], "o", color=col[int(row["barrier"])], ms=5, mec="k", mew=0.5)
    ax.set_xlabel("time of day (h after midnight)")
    ax.set_ylabel("mid - first mid (ticks)")
    return ax


def _rect(x, y, w, h, color):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=color, alpha=0.12, edgecolor="none")


def reliability_table(y01, p, n_bins: int = 10) -> pd.DataFrame:
    """Reliability curve on quantile bins of the predicted probability: mean prediction, observed
    frequency, count and the binomial standard error of the frequency per bin.

    ``se_k = sqrt(f_k (1 - f_k) / n_k)`` (fraction); a calibrated model has ``freq ~ p_mean``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0, 1, 1000)
    >>> y = (rng.uniform(0, 1, 1000) < p).astype(int)                # calibrated by construction
    >>> reliability_table(y, p, n_bins=4).round(3)
       p_mean   freq    n     se
    0   0.138  0.144  250  0.022
    1   0.404  0.412  250  0.031
    2   0.647  0.656  250  0.030
    3   0.878  0.880  250  0.021
    """
    y = np.asarray(y01, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(edges.size - 2, 0))
    rows = []
    for k in np.unique(b):
        m = b == k
        f = y[m].mean()
        rows.append({"p_mean": p[m].mean(), "freq": f, "n": int(m.sum()), "se": np.sqrt(f * (1 - f) / m.sum())})
    return pd.DataFrame(rows)


def reliability_plot(ax, tables: dict[str, pd.DataFrame]):
    """Observed frequency against mean predicted probability per bin (+- 2 s.e.), the diagonal =
    perfect calibration.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> rt = pd.DataFrame({"p_mean": [0.2, 0.5, 0.8], "freq": [0.25, 0.5, 0.7], "n": 100, "se": 0.05})
    >>> ax = reliability_plot(Figure().subplots(), {"model": rt})
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['perfect calibration', 'model']
    """
    lo = min(t["p_mean"].min() for t in tables.values())
    hi = max(t["p_mean"].max() for t in tables.values())
    pad = 0.02
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.4", ls="--", lw=1, label="perfect calibration")
    for j, (name, t) in enumerate(tables.items()):
        ax.errorbar(t["p_mean"], t["freq"], yerr=2 * t["se"], fmt="o-", ms=4, color=f"C{j}", label=name, capsize=2)
    ax.set_xlabel("mean predicted P(up) in the bin (probability)")
    ax.set_ylabel("observed share of up moves (fraction)")
    ax.legend(fontsize=8, loc="upper left")  # above the diagonal at low p: empty for a sane model
    return ax


def importance_bars(ax, importance: pd.Series, top: int = 15, xlabel: str = "share of total gain (fraction)",
                    ylabel: str = "feature"):
    """Horizontal bars of the ``top`` largest values (e.g. gain shares), largest on top.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> gain = pd.Series({"ofi_10s": 0.5, "spread_ticks": 0.2, "dw_imb": 0.3})
    >>> ax = importance_bars(Figure().subplots(), gain, top=2)
    >>> [x.get_text() for x in ax.get_yticklabels()]                # bottom to top
    ['dw_imb', 'ofi_10s']
    """
    s = importance.sort_values().iloc[-top:]
    ax.barh(np.arange(s.size), s.to_numpy(), color="C0")
    ax.set_yticks(np.arange(s.size))
    ax.set_yticklabels(s.index, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
