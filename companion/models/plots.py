"""Figures and small computations for the labeling (05) and model-training (06) chapters.

Plot helpers draw on given axes and return them (no ``plt.show``); the labels come from
:mod:`companion.labels`, the splits from :mod:`companion.models.cv`, the predictions from
:func:`companion.models.walk_forward_evaluate`. Times on x-axes are hours after midnight.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from companion.models.cv import to_ns

__all__ = ["hours", "concurrency", "label_intervals", "cv_splits", "class_balance_plot", "barrier_path",
           "reliability_table", "reliability_plot", "importance_bars", "split_roles"]

_NS_PER_H = 3600e9


def hours(t) -> np.ndarray:
    """Times (DatetimeIndex / int ns since midnight) as hours after midnight."""
    ns = to_ns(t)
    return (ns % (86400 * 10**9)) / _NS_PER_H


def concurrency(t, t_end) -> np.ndarray:
    """Number of labels whose interval ``[t_j, e_j]`` contains ``t_i`` (itself included); its mean
    inverse over a label's life is AFML's average uniqueness (López de Prado 2018, §4.4)."""
    tn, en = to_ns(t), to_ns(t_end)
    started = np.searchsorted(tn, tn, side="right")           # labels with t_j <= t_i
    ended = np.searchsorted(np.sort(en), tn, side="left")      # labels with e_j < t_i
    return (started - ended).astype(np.int64)


def label_intervals(ax, t, t_end, y=None, *, color_by_label: bool = True):
    """One horizontal segment ``[t_i, e_i]`` per label (seconds after the first sample), coloured
    by the label when given (up green, down red, flat grey)."""
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
    but its label overlaps the test period), 0 unused (after the test block)."""
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
    """Walk-forward folds as coloured bands over the day: train, purged + embargoed, test."""
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
    """Stacked down / flat / up shares against the threshold (``labels.balance_by_threshold``)."""
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
    and the touch point of each: green profit-take, red stop-loss, grey vertical."""
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
    frequency, count and the binomial standard error of the frequency per bin."""
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
    perfect calibration."""
    lo = min(t["p_mean"].min() for t in tables.values())
    hi = max(t["p_mean"].max() for t in tables.values())
    pad = 0.02
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.4", ls="--", lw=1, label="perfect calibration")
    for j, (name, t) in enumerate(tables.items()):
        ax.errorbar(t["p_mean"], t["freq"], yerr=2 * t["se"], fmt="o-", ms=4, color=f"C{j}", label=name, capsize=2)
    ax.set_xlabel("mean predicted P(up) in the bin (probability)")
    ax.set_ylabel("observed share of up moves (fraction)")
    ax.legend(fontsize=8)
    return ax


def importance_bars(ax, importance: pd.Series, top: int = 15, xlabel: str = "share of total gain (fraction)",
                    ylabel: str = "feature"):
    """Horizontal bars of the ``top`` largest values (e.g. gain shares), largest on top."""
    s = importance.sort_values().iloc[-top:]
    ax.barh(np.arange(s.size), s.to_numpy(), color="C0")
    ax.set_yticks(np.arange(s.size))
    ax.set_yticklabels(s.index, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
