"""Figures and small report tables for the order-flow chapters (02 OFI theory, 03 VPIN).

Plot helpers draw on a given ``matplotlib`` axis and return it (no ``plt.show``, no global state);
table helpers return pandas objects. Nothing here computes a measure: the measures live in
:mod:`companion.flow.ofi`, :mod:`~companion.flow.kyle`, :mod:`~companion.flow.microprice`,
:mod:`~companion.flow.tradesign` and :mod:`~companion.flow.vpin`; these helpers only arrange their
outputs. Times on x-axes are hours after midnight (exchange time; ``ts`` in ns since midnight).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from companion.events import NS
from companion.flow.kyle import ols
from companion.plotting import legend_outside
from companion.stats import binary_auc

__all__ = [
    "CKS_2014", "CCZ_2023", "hours", "hhmm", "ofi_scatter", "window_bars", "depth_law_plot", "micro_price_curve",
    "impact_comparison", "shade_episodes", "vpin_timeline", "episode_overlap", "episode_detection",
    "bvc_bar_check",
]

#: Published values of Cont, Kukanov & Stoikov (2014), 50 S&P 500 stocks, 10-s bins in 30-min
#: windows, ticks and round lots (Tables 2-4, eq. 15-16; see references/papers.md).
CKS_2014: dict[str, str] = {
    "r2_mean": "65% (35-79% across stocks)",
    "beta_significant_share": "98%",
    "t_beta_mean": "12.08",
    "beta_mean": "0.0398 ticks/lot",
    "alpha_significant_share": "10%",
    "gamma_significant_share": "17%",
    "t_gamma_mean": "-0.32",
    "r2_ti_mean": "32%",
    "r2_joint_mean": "67%",
    "ti_joint_significant_share": "43%",
    "c": "0.45-0.6 typical (SLB 0.56)",
    "lambda": "1.05 (SLB 1.08)",
    "depth_law_r2": "76% (SLB 92%)",
}

#: Cont, Cucuringu & Zhang (2023), top-100 S&P 500 stocks, 1-min log returns, 10 levels (Tables 2-3).
CCZ_2023: dict[str, str] = {
    "pc1_share_mean": "89.06%",
    "adj_r2_ofi1n_mean": "71.16% (best level)",
    "r2_int_mean": "87.14% (integrated, adj.)",
}


def hours(ts) -> np.ndarray:
    """ns since midnight -> hours since midnight (float).

    Examples
    --------
    >>> hours([34200 * NS, 36000 * NS]).tolist()
    [9.5, 10.0]
    """
    return np.asarray(ts, dtype=np.float64) / NS / 3600.0


def hhmm(ts) -> list[str]:
    """ns since midnight -> ``"HH:MM"`` labels (truncated to the minute).

    Examples
    --------
    >>> hhmm([34200 * NS, 57600 * NS - 1])
    ['09:30', '15:59']
    """
    s = (np.asarray(ts, dtype=np.int64) // NS).tolist()
    return [f"{x // 3600:02d}:{x % 3600 // 60:02d}" for x in s]


# --------------------------------------------------------------------------------------------
# chapter 02: OFI and price impact
# --------------------------------------------------------------------------------------------
def ofi_scatter(ax, bins: pd.DataFrame, x: str = "ofi", y: str = "dp", max_points: int = 4000, seed: int = 0,
                label: str = "OFI (lots)"):
    """Scatter of ``y`` (mid change, ticks) against ``x`` over all bins, with the pooled OLS line.

    At most ``max_points`` bins are drawn (a seeded random subset; the fit uses every bin). The
    legend reports the pooled slope and R^2. Returns the :func:`companion.flow.kyle.ols` result.

    The line is CKS (2014) eq. 13, ``dP_k = alpha + beta OFI_k + eps_k`` pooled over the bins.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> rng = np.random.default_rng(0)
    >>> bins = pd.DataFrame({"ofi": rng.normal(0, 10, 200)})
    >>> bins["dp"] = 0.05 * bins["ofi"] + rng.normal(0, 0.2, 200)    # beta = 0.05 ticks per lot
    >>> r = ofi_scatter(Figure().subplots(), bins)
    >>> np.round(r["coef"], 3).tolist(), round(r["r2"], 3)            # [alpha, beta], R^2
    ([-0.017, 0.049], 0.839)
    """
    xv = bins[x].to_numpy(np.float64)
    yv = bins[y].to_numpy(np.float64)
    ok = np.isfinite(xv) & np.isfinite(yv)
    xv, yv = xv[ok], yv[ok]
    r = ols(yv, xv)
    idx = np.arange(len(xv))
    if len(idx) > max_points:
        idx = np.sort(np.random.default_rng(seed).choice(idx, max_points, replace=False))
    ax.scatter(xv[idx], yv[idx], s=4, alpha=0.25, color="C0", rasterized=True)
    lo, hi = np.percentile(xv, [0.5, 99.5]) if len(xv) else (0.0, 1.0)
    grid = np.linspace(lo, hi, 50)
    ax.plot(grid, r["coef"][0] + r["coef"][1] * grid, color="C3", lw=1.5,
            label=f"OLS: slope {r['coef'][1]:.3f} ticks/lot, $R^2$ = {r['r2']:.2f}")
    ax.set_xlim(lo, hi)
    ax.set_xlabel(label)
    ax.set_ylabel("mid change (ticks)")
    # the empty corner of a scatter around a rising (falling) line is the lower right (upper right)
    ax.legend(loc="lower right" if r["coef"][1] >= 0 else "upper right")
    return r


def window_bars(ax, windows: pd.DataFrame, cols: Mapping[str, str], ylabel: str = "$R^2$"):
    """Grouped bars of per-window columns (``{column: legend label}``) against the window start (HH:MM).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> w = pd.DataFrame({"start_ns": [34200 * NS, 36000 * NS], "r2": [0.6, 0.7], "r2_ti": [0.3, 0.35]})
    >>> ax = window_bars(Figure().subplots(), w, {"r2": "OFI", "r2_ti": "trade imbalance"})
    >>> len(ax.patches), [t.get_text() for t in ax.get_xticklabels()]
    (4, ['09:30', '10:00'])
    """
    cols = {c: lab for c, lab in cols.items() if c in windows}
    n = len(cols)
    x = np.arange(len(windows))
    width = 0.8 / max(n, 1)
    for j, (c, lab) in enumerate(cols.items()):
        ax.bar(x + (j - (n - 1) / 2) * width, windows[c].to_numpy(np.float64), width=width, label=lab, color=f"C{j}")
    ax.set_xticks(x)
    ax.set_xticklabels(hhmm(windows["start_ns"]), rotation=45, ha="right")
    ax.set_xlabel("window start (HH:MM, exchange time)")
    ax.set_ylabel(ylabel)
    if n > 1:  # leave headroom above the bars for the legend
        top = np.nanmax([np.nanmax(windows[c].to_numpy(np.float64)) for c in cols] + [0.0])
        if top > 0:
            ax.set_ylim(top=1.3 * top)
        ax.legend(ncol=n, loc="upper left")
    return ax


def depth_law_plot(ax, windows: pd.DataFrame, law: Mapping[str, float]):
    """Per-window beta against depth D on log-log axes, the fitted law ``c D^-lambda`` (CKS eq. 8)
    and the stylised book's ``1 / (2D)`` (eq. 3-4). ``law`` from :func:`companion.flow.kyle.depth_law`.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> w = pd.DataFrame({"depth": [5.0, 10, 20], "beta": [0.1, 0.05, 0.025]})    # lots, ticks per lot
    >>> ax = depth_law_plot(Figure().subplots(), w, {"c": 0.5, "lambda": 1.0, "r2": 1.0})
    >>> len(ax.lines), ax.get_xscale()                               # the fit and 1 / (2D)
    (2, 'log')
    """
    ok = (windows["beta"] > 0) & (windows["depth"] > 0)
    d = windows.loc[ok, "depth"].to_numpy(np.float64)
    b = windows.loc[ok, "beta"].to_numpy(np.float64)
    ax.scatter(d, b, s=25, color="C0", zorder=3, label="30-min windows")
    if len(d):
        grid = np.geomspace(d.min() / 1.3, d.max() * 1.3, 50)
        ax.plot(grid, law["c"] * grid ** -law["lambda"], color="C3",
                label=rf"fit: $\hat c$ = {law['c']:.2f}, $\hat\lambda$ = {law['lambda']:.2f}, $R^2$ = {law['r2']:.2f}")
        ax.plot(grid, 0.5 / grid, color="0.4", ls="--", label=r"stylised book: $1/(2D)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(plain)
    ax.set_xlabel("depth $D$ (lots)")
    ax.set_ylabel(r"$\hat\beta$ (ticks per lot)")
    legend_outside(ax, "below", ncol=1)
    return ax


def micro_price_curve(ax, model):
    """Stoikov's adjustment ``g(I, S)`` (ticks) per spread bucket against the imbalance, with the
    weighted mid's adjustment ``(I - 1/2) S`` at each bucket's lower spread for comparison.

    ``model``: a fitted :class:`companion.flow.microprice.MicroPrice` (Stoikov 2018, eq. 3).

    Examples
    --------
    A hand-set one-spread model (what :meth:`~companion.flow.microprice.MicroPrice.fit` estimates):

    >>> from matplotlib.figure import Figure
    >>> from companion.flow.microprice import MicroPrice
    >>> mp = MicroPrice(n_imb=4, n_spread=1)
    >>> mp.g_, mp.spread_edges_ = np.array([[-0.3, -0.1, 0.1, 0.3]]), np.array([0.5, 1.5])
    >>> ax = micro_price_curve(Figure().subplots(), mp)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['micro-price, spread 1 ticks', 'weighted mid, spread 1 ticks']
    """
    tab = model.table()
    imb = tab.columns.to_numpy(np.float64)
    edges = np.asarray(model.spread_edges_, dtype=np.float64)
    for j, row in enumerate(tab.to_numpy()):
        lo, hi = edges[j], edges[j + 1]
        s = 0.5 * (lo + hi)  # the bucket's representative spread (ticks)
        name = f"{s:g} ticks" if np.isclose(hi - lo, 1.0) else f"{lo:g}-{hi:.3g} ticks"
        ax.plot(imb, row, marker="o", ms=3, color=f"C{j}", label=f"micro-price, spread {name}")
        ax.plot(imb, (imb - 0.5) * s, ls=":", color=f"C{j}", label=f"weighted mid, spread {s:.3g} ticks")
    ax.axhline(0.0, color="0.3", lw=0.8)
    g = np.abs(tab.to_numpy(np.float64))
    lim = max(1.5 * float(np.nanmax(g)) if g.size else 0.0, 0.5)
    ax.set_ylim(-lim, lim)  # on a wide-spread book the weighted-mid lines run far beyond (clipped)
    ax.set_xlabel("imbalance $I = Q^b / (Q^b + Q^a)$")
    ax.set_ylabel("adjustment to the mid (ticks)")
    ax.legend(loc="upper left")
    return ax


_PCT = {"r2_mean", "beta_significant_share", "alpha_significant_share", "gamma_significant_share", "r2_ti_mean",
        "r2_joint_mean", "ti_joint_significant_share", "depth_law_r2", "pc1_share_mean", "adj_r2_ofi1n_mean",
        "adj_r2_ml_mean", "r2_int_mean"}


def _fmt(key: str, v) -> str:
    """Shares and R^2 as percentages (1 decimal), beta with 4 decimals, the rest with 2."""
    if v is None or not np.isfinite(v):
        return "n/a"
    if key in _PCT:
        return f"{100 * v:.1f}%"
    return f"{v:.4f}" if key == "beta_mean" else f"{v:.2f}"


_ROWS = {
    "r2_mean": "R² of dP on OFI (mean over windows)",
    "beta_significant_share": "β significant (|t| > 1.96)",
    "t_beta_mean": "mean t(β)",
    "beta_mean": "mean β (ticks per lot)",
    "alpha_significant_share": "α significant",
    "gamma_significant_share": "quadratic term OFI·|OFI| significant",
    "t_gamma_mean": "mean t of the quadratic term",
    "r2_ti_mean": "R² of dP on trade imbalance",
    "r2_joint_mean": "R² of dP on OFI and TI",
    "ti_joint_significant_share": "TI significant next to OFI",
    "c": "depth law ĉ",
    "lambda": "depth law λ̂",
    "depth_law_r2": "depth law R² (log β on log D)",
    "pc1_share_mean": "PC1 share of multi-level OFI variance",
    "adj_r2_ofi1n_mean": "adj. R², level-1 OFI (depth-normalised)",
    "adj_r2_ml_mean": "adj. R², all levels",
    "r2_int_mean": "R², integrated OFI (past-window PC1)",
}


def impact_comparison(summary: Mapping[str, float], name: str = "this dataset") -> pd.DataFrame:
    """The chapter's numbers (``summary`` of :func:`companion.flow.kyle.impact_regressions`) beside the
    published values of CKS (2014) and, for the multi-level rows, CCZ (2023). Strings, formatted.

    References
    ----------
    Cont, Kukanov & Stoikov (2014), Tables 2-4; Cont, Cucuringu & Zhang (2023), Tables 2-3
    (:data:`CKS_2014`, :data:`CCZ_2023`).

    Examples
    --------
    >>> impact_comparison({"r2_mean": 0.52, "beta_mean": 0.0412}, name="AAPL")[["AAPL", "published"]]
                                           AAPL                   published
    statistic
    R² of dP on OFI (mean over windows)   52.0%  65% (35-79% across stocks)
    mean β (ticks per lot)               0.0412            0.0398 ticks/lot
    """
    pub = {**CKS_2014, **CCZ_2023}
    rows = {label: {name: _fmt(k, summary.get(k, float("nan"))), "published": pub.get(k, "not reported"),
                    "source": "CCZ 2023" if k in CCZ_2023 else ("CKS 2014" if k in CKS_2014 else "-")}
            for k, label in _ROWS.items() if k in summary}
    out = pd.DataFrame(rows).T
    out.index.name = "statistic"
    return out


# --------------------------------------------------------------------------------------------
# chapter 03: VPIN
# --------------------------------------------------------------------------------------------
def shade_episodes(ax, episodes: Sequence[Mapping], label: str = "informed episode"):
    """Shade the informed-flow episodes (``start``/``end`` in seconds after midnight, as in the
    synthetic day's ``_meta.json``) on an axis whose x is hours after midnight.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = shade_episodes(Figure().subplots(), [{"start": 36000, "end": 37800}])    # 10:00-10:30
    >>> len(ax.patches)
    1
    """
    for j, e in enumerate(episodes):
        ax.axvspan(e["start"] / 3600, e["end"] / 3600, color="C1", alpha=0.2, lw=0,
                   label=label if j == 0 else None)
    return ax


def vpin_timeline(ax, series: Mapping[str, pd.DataFrame], episodes: Sequence[Mapping] = ()):
    """VPIN of each bucket table (``{label: vpin(...) output}``) against the bucket's end time, with
    the informed episodes shaded.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> b = pd.DataFrame({"start_ts": np.arange(0, 60, 10) * NS, "end_ts": np.arange(10, 70, 10) * NS,
    ...                   "vpin": [0.2, 0.25, 0.6, 0.5, 0.3, 0.1]})       # six 10-s buckets
    >>> b.attrs["n"] = 1                                               # one bucket per VPIN window
    >>> ax = vpin_timeline(Figure().subplots(), {"BVC": b}, [{"start": 20, "end": 40}])
    >>> len(ax.lines), ax.get_ylabel()
    (1, 'VPIN (share of bucket volume)')
    """
    shade_episodes(ax, episodes)
    for j, (lab, b) in enumerate(series.items()):
        ax.plot(hours(b["end_ts"]), b["vpin"], color=f"C{j if j < 1 else j + 1}", lw=1.2, label=lab,  # C1: episodes
                drawstyle="steps-post")
    ax.set_xlabel("time of day (hours, exchange time)")
    ax.set_ylabel("VPIN (share of bucket volume)")
    top = np.nanmax([np.nanmax(b["vpin"].to_numpy(np.float64)) for b in series.values()] + [0.0])
    ax.set_ylim(0, 1.05 * top if top > 0 else 1.0)
    legend_outside(ax, "below")
    return ax


def episode_overlap(buckets: pd.DataFrame, episodes: Sequence[Mapping]) -> np.ndarray:
    """Share of each VPIN window's clock time spent inside informed episodes.

    VPIN at bucket tau averages buckets tau-n+1..tau, so its window runs from the start of bucket
    tau-n+1 to the end of bucket tau (``n`` from ``buckets.attrs``). NaN where VPIN is undefined.

    Examples
    --------
    Windows of two 10-s buckets (``n = 2``), one episode from 15 s to 30 s:

    >>> b = pd.DataFrame({"start_ts": np.array([0, 10, 20, 30]) * NS, "end_ts": np.array([10, 20, 30, 40]) * NS})
    >>> b.attrs["n"] = 2
    >>> episode_overlap(b, [{"start": 15, "end": 30}]).tolist()      # [0, 20] has 5 s of 20 inside
    [nan, 0.25, 0.75, 0.5]
    """
    n = int(buckets.attrs.get("n", 1))
    start = buckets["start_ts"].to_numpy(np.float64) / NS
    end = buckets["end_ts"].to_numpy(np.float64) / NS
    ws = np.full(len(start), np.nan)
    ws[n - 1:] = start[: len(start) - n + 1]
    inside = np.zeros(len(start))
    for e in episodes:
        inside += np.clip(np.minimum(end, e["end"]) - np.maximum(ws, e["start"]), 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.isfinite(ws) & (end > ws), inside / (end - ws), np.nan)


def episode_detection(series: Mapping[str, pd.DataFrame], episodes: Sequence[Mapping],
                      threshold: float = 0.5) -> pd.DataFrame:
    """How well VPIN separates informed episodes: per series, mean VPIN over windows mostly inside
    episodes (overlap share >= ``threshold``) and outside (share 0), and the ROC-AUC of VPIN for
    "inside" against "outside" (0.5 = no information). Windows partly inside are left out.

    Examples
    --------
    >>> b = pd.DataFrame({"start_ts": np.arange(0, 60, 10) * NS, "end_ts": np.arange(10, 70, 10) * NS,
    ...                   "vpin": [0.2, 0.25, 0.6, 0.5, 0.3, 0.1]})       # six 10-s buckets
    >>> b.attrs["n"] = 1                                               # one bucket per VPIN window
    >>> episode_detection({"BVC": b}, [{"start": 20, "end": 40}])     # buckets 2, 3 inside
          vpin_inside  vpin_outside  auc  n_inside  n_outside
    VPIN
    BVC          0.55        0.2125  1.0         2          4
    """
    rows = {}
    for lab, b in series.items():
        v = b["vpin"].to_numpy(np.float64)
        share = episode_overlap(b, episodes)
        ok = np.isfinite(v) & np.isfinite(share)
        inside = ok & (share >= threshold)
        outside = ok & (share == 0)
        keep = inside | outside
        rows[lab] = {"vpin_inside": float(v[inside].mean()) if inside.any() else float("nan"),
                     "vpin_outside": float(v[outside].mean()) if outside.any() else float("nan"),
                     "auc": binary_auc(inside[keep], v[keep]) if keep.any() else float("nan"),
                     "n_inside": int(inside.sum()), "n_outside": int(outside.sum())}
    out = pd.DataFrame(rows).T
    out.index.name = "VPIN"
    return out.astype({"n_inside": int, "n_outside": int})


def bvc_bar_check(trades: pd.DataFrame, freq="1min", t0: int | None = None) -> pd.DataFrame:
    """Per clock bar: BVC's buy share ``Z(dP / sigma)`` next to the true buyer-initiated share.

    ``trades`` from :func:`companion.flow.tradesign.executions` (``ts``, ``price``, ``size``,
    ``aggressor``). Columns of :func:`~companion.flow.tradesign.bvc_bars` plus ``true_buy_frac``.

    References
    ----------
    Easley, López de Prado & O'Hara (2012), "Flow toxicity and liquidity in a high-frequency
    world", Rev. Financial Studies 25(5), eq. 7 (bulk volume classification).

    Examples
    --------
    >>> tr = pd.DataFrame({"ts": np.array([1, 20, 61, 90, 130]) * NS, "price": [100.0, 100.5, 101, 100.8, 100.0],
    ...                    "size": [100.0, 200, 100, 300, 100], "aggressor": [1, 1, 1, -1, -1]})
    >>> bvc_bar_check(tr, freq="1min", t0=0)[["bar", "volume", "dp", "buy_frac", "true_buy_frac"]].round(3)
       bar  volume   dp  buy_frac  true_buy_frac
    0    0   300.0  0.0     0.500           1.00
    1    1   400.0  0.3     0.701           0.25
    2    2   100.0 -0.8     0.080           0.00
    """
    from companion.flow.tradesign import bar_ids_nb, bvc_bars

    bars = bvc_bars(trades["ts"], trades["price"], trades["size"], freq=freq, t0=t0)
    bar = bar_ids_nb(trades["ts"].to_numpy(np.int64), bars.attrs["t0"], bars.attrs["dt"])
    size = trades["size"].to_numpy(np.float64)
    buy = pd.Series(np.where(trades["aggressor"].to_numpy() > 0, size, 0.0)).groupby(bar).sum()
    bars["true_buy_frac"] = (buy.reindex(bars["bar"]).to_numpy() / bars["volume"].to_numpy())
    return bars
