"""Figures and tables for the feature chapter (04): the registry, distributions, correlations, IC.

Plot helpers draw on given axes and return them (no ``plt.show``); table helpers return pandas
objects. The features themselves come from :func:`companion.features.compute`.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from companion.plotting import legend_outside
from companion.stats import spearman_ic

__all__ = ["registry_table", "spearman_ic", "information_coefficients", "distributions", "corr_heatmap",
           "top_correlations", "corr_pairs_bars", "ic_bars"]


def registry_table(short_reference: bool = True) -> pd.DataFrame:
    """The feature registry as a table: name (index), group, window, unit, reference (the first
    clause of the reference when ``short_reference``).

    Examples
    --------
    >>> t = registry_table()
    >>> t.columns.tolist(), t.loc["spread_ticks", "unit"]
    (['group', 'window', 'unit', 'reference'], 'ticks')
    """
    from companion.features import registry

    rows = []
    for name, s in registry().items():
        ref = s.reference.split(":")[0].split(";")[0] if short_reference else s.reference
        ref = ref.replace(" (construction documented in the formula)", "")
        rows.append({"name": name, "group": s.group, "window": s.window, "unit": s.unit, "reference": ref})
    return pd.DataFrame(rows).set_index("name")


def information_coefficients(X: pd.DataFrame, moves: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Spearman IC of every column of ``X`` with each forward move (``{horizon: Series}``, aligned
    on ``X.index``; NaN pairs dropped): rows = features, columns = horizons.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [0.1, 0.4, 0.2, 0.9], "b": [4.0, 3.0, 2.0, 1.0]})
    >>> information_coefficients(X, {"10s": pd.Series([1.0, 3.0, 2.0, 4.0])}).round(3)
       10s
    a  1.0
    b -0.8
    """
    out = {}
    for h, r in moves.items():
        r = r.reindex(X.index).to_numpy(np.float64)
        out[h] = {c: spearman_ic(X[c].to_numpy(np.float64), r) for c in X.columns}
    return pd.DataFrame(out)


def distributions(axes, X: pd.DataFrame, names, bins: int = 60, clip=(0.005, 0.995)):
    """One histogram per feature (values clipped to the ``clip`` quantiles so tails stay visible
    as the edge bins), with the share of NaN in the title.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> X = pd.DataFrame({"spread_ticks": [1.0, 1.0, 2.0, np.nan], "ofi_10s": [-5.0, 0.0, 3.0, 8.0]})
    >>> axes = distributions(Figure().subplots(1, 2), X, ["spread_ticks", "ofi_10s"], bins=5)
    >>> axes[0].get_title(), axes[0].get_xlabel()
    ('spread_ticks (NaN 25%)', 'value (ticks)')
    """
    from companion.features import registry

    units = {k: s.unit for k, s in registry().items()}
    for ax, name in zip(np.ravel(axes), names):
        v = X[name].to_numpy(np.float64)
        ok = v[~np.isnan(v)]
        if ok.size:
            lo, hi = np.quantile(ok, clip)
            if hi > lo:
                ok = np.clip(ok, lo, hi)
            ax.hist(ok, bins=bins, color="C0", alpha=0.85)
        ax.set_title(f"{name} (NaN {np.mean(np.isnan(v)):.0%})", fontsize=10)
        ax.set_xlabel(f"value ({units.get(name, 'feature units')})", fontsize=9)
        ax.set_ylabel("count (samples)", fontsize=9)
        ax.set_yticks([])
        ax.tick_params(axis="x", labelsize=9)
    return axes


def corr_heatmap(ax, X: pd.DataFrame, method: str = "spearman"):
    """Rank (or Pearson) correlation matrix of the columns as a heatmap, diverging colours in [-1, 1].

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> im = corr_heatmap(ax, pd.DataFrame({"a": [1.0, 2, 3], "b": [3.0, 2, 1]}))
    >>> im.get_array().tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    c = X.corr(method=method).to_numpy()
    im = ax.imshow(c, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_xticks(range(X.shape[1]))
    ax.set_yticks(range(X.shape[1]))
    ax.set_xticklabels(X.columns, rotation=90, fontsize=6)
    ax.set_yticklabels(X.columns, fontsize=6)
    ax.set_xlabel("feature")
    ax.set_ylabel("feature")
    ax.grid(False)
    return im


def top_correlations(X: pd.DataFrame, top: int = 20, method: str = "spearman") -> pd.DataFrame:
    """The ``top`` feature pairs with the largest absolute correlation (each pair once, no
    diagonal), strongest first: columns ``feature_a``, ``feature_b``, ``corr`` (dimensionless,
    in [-1, 1]). Constant columns give NaN correlations and are left out.

    A readable summary of a large correlation matrix: with 60 features the matrix has 1,770
    pairs, and the redundant blocks are exactly the pairs at the top of this table.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 4, 6, 9], "c": [4.0, 1, 3, 2]})
    >>> top_correlations(X, top=2)
      feature_a feature_b  corr
    0         a         b   1.0
    1         a         c  -0.4
    """
    c = X.corr(method=method)
    cols = list(c.columns)
    iu, ju = np.triu_indices(len(cols), k=1)
    vals = c.to_numpy()[iu, ju]
    ok = ~np.isnan(vals)
    iu, ju, vals = iu[ok], ju[ok], vals[ok]
    order = np.argsort(-np.abs(vals), kind="stable")[:top]
    return pd.DataFrame({"feature_a": [cols[i] for i in iu[order]], "feature_b": [cols[j] for j in ju[order]],
                         "corr": vals[order]})


def corr_pairs_bars(ax, pairs: pd.DataFrame):
    """Horizontal bars of the correlation of each feature pair of ``pairs`` (a
    :func:`top_correlations` table), strongest at the top, labelled ``"a ~ b"``; positive
    correlations in red, negative in blue (the colours of :func:`corr_heatmap`).

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> X = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 4, 6, 9], "c": [4.0, 1, 3, 2]})
    >>> ax = corr_pairs_bars(Figure().subplots(), top_correlations(X, top=2))
    >>> ax.get_xlabel(), [t.get_text() for t in ax.get_yticklabels()]
    ('Spearman correlation (dimensionless)', ['a ~ c', 'a ~ b'])
    """
    sub = pairs.iloc[::-1]
    y = np.arange(len(sub))
    r = sub["corr"].to_numpy(np.float64)
    ax.barh(y, r, color=np.where(r >= 0, "#b2182b", "#2166ac"), height=0.7)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{a} ~ {b}" for a, b in zip(sub["feature_a"], sub["feature_b"])], fontsize=9)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlim(-1.0 if (r < 0).any() else 0.0, 1.0)
    ax.set_xlabel("Spearman correlation (dimensionless)")
    ax.set_ylabel("feature pair")
    return ax


def ic_bars(ax, ic: pd.DataFrame, top: int = 20):
    """Horizontal bars of the IC per horizon for the ``top`` features by largest absolute IC.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> ic = pd.DataFrame({"10s": [0.05, -0.10], "1min": [0.03, -0.06]}, index=["ofi_10s", "vol_imb_1"])
    >>> ax = ic_bars(Figure().subplots(), ic, top=2)
    >>> ax.get_xlabel(), [t.get_text() for t in ax.get_yticklabels()]
    ('Spearman IC with the forward mid move (dimensionless)', ['ofi_10s', 'vol_imb_1'])
    """
    order = ic.abs().max(axis=1).sort_values(ascending=True).index[-top:]
    sub = ic.loc[order]
    y = np.arange(len(sub))
    k = sub.shape[1]
    hgt = 0.8 / k
    for j, h in enumerate(sub.columns):
        ax.barh(y + (j - (k - 1) / 2) * hgt, sub[h], height=hgt, label=f"forward {h}", color=f"C{j}")
    ax.set_yticks(y)
    ax.set_yticklabels(sub.index, fontsize=8)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel("Spearman IC with the forward mid move (dimensionless)")
    ax.set_ylabel("feature")
    legend_outside(ax, "below", fontsize=9)
    return ax
