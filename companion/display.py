"""Presentation helpers for the chapters: tables a reader can read, prices and times as text.

The book shows printed lines and tables in a code column about 88 characters wide (headless
Chromium at 1400 px). These helpers keep the chapters' tables narrow and readable without
changing any number: :func:`table` renames columns to human names with units, formats each column
(counts as integers with thousands separators, prices in currency, fractions with fixed decimals)
and can transpose a wide table; :func:`fmt_price` and :func:`fmt_time` turn the engine's integer
prices and nanosecond timestamps into text.

Only presentation: the returned tables hold strings, so compute on the original frame and call
:func:`table` last.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["fmt_price", "fmt_time", "humanize", "table"]

#: what a missing value (NaN, None) is shown as
MISSING = "–"


#: whole column names -> display names (checked before the word rules of :func:`humanize`)
NAMES = {
    "n": "n", "roc_auc": "AUC", "auc": "AUC", "ic": "IC", "log_loss": "log loss",
    "var_95": "VaR 95%", "n_trades": "trades", "n_fills": "fills", "n_orders": "orders",
    "is_bps": "shortfall (bps)", "avg_holding_s": "mean holding (s)",
    "avg_pnl_bps": "mean P&L per trade (bps)", "sharpe_per_trade": "Sharpe per trade",
}
#: name endings -> unit in parentheses
UNITS = {"bps": "bps", "ticks": "ticks", "s": "s", "ms": "ms", "us": "µs", "ns": "ns",
         "pct": "%", "usd": "$", "shares": "shares"}
#: words written differently
WORDS = {"pnl": "P&L", "auc": "AUC", "ic": "IC", "ofi": "OFI", "vpin": "VPIN", "twap": "TWAP",
         "vwap": "VWAP", "pov": "POV", "avg": "mean", "sd": "s.d.", "qty": "quantity",
         "sharpe": "Sharpe", "sortino": "Sortino", "r2": "R²", "p99": "p99", "p50": "p50"}


def humanize(name: Any) -> Any:
    """A display name for a code name: ``"avg_pnl_bps"`` -> ``"mean P&L per trade (bps)"``.

    Whole names in :data:`NAMES` first; otherwise underscores become spaces, the words of
    :data:`WORDS` are rewritten and a unit ending (:data:`UNITS`: ``_bps``, ``_ticks``, ``_s``,
    ``_ns`` ...) moves into parentheses. Non-strings are returned unchanged.

    Examples
    --------
    >>> humanize("net_pnl"), humanize("slippage_bps"), humanize("roc_auc")
    ('net P&L', 'slippage (bps)', 'AUC')
    >>> humanize("latency_s"), humanize("fill_rate"), humanize(3)
    ('latency (s)', 'fill rate', 3)
    """
    if not isinstance(name, str):
        return name
    if name in NAMES:
        return NAMES[name]
    words = name.split("_")
    unit = None
    if len(words) > 1 and words[-1] in UNITS:
        unit = UNITS[words.pop()]
    text = " ".join(WORDS.get(w, w) for w in words)
    return f"{text} ({unit})" if unit else text


def _auto_spec(col: pd.Series) -> str | None:
    """``",d"`` for whole-number columns, ``".3f"`` for other floats, None otherwise."""
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        return None
    if pd.api.types.is_integer_dtype(col):
        return ",d"
    vals = col.to_numpy(dtype=float)
    finite = vals[np.isfinite(vals)]
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() >= 10:
        return ",d"
    return ".3f"


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if spec.endswith("d") and isinstance(value, float | np.floating):
        value = int(round(float(value)))
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def table(df: pd.DataFrame | pd.Series, columns: Mapping[str, str] | str | None = None, *,
          formats: Mapping[str, str] | str | None = None, index: str | None = None,
          index_names: Mapping[Any, str] | None = None, transpose: bool = False) -> pd.DataFrame:
    """A display copy of ``df``: chosen columns, human names with units, formatted values.

    Parameters
    ----------
    df : DataFrame or Series
        The computed table (a Series becomes a one-column frame named after it).
    columns : dict or str, optional
        Old name -> display name: keeps these columns, in this order, under their new names (e.g.
        ``{"is_bps": "shortfall (bps)"}``); ``"auto"`` keeps every column under its
        :func:`humanize` name (the index name too). Without it columns are kept as they are.
    formats : dict or str, optional
        Display name -> a ``format()`` spec, or one spec for every column, or ``"auto"``: ``",d"`` counts (floats are rounded to integers),
        ``".3f"`` fixed decimals, ``".1%"`` percentages, ``",.2f"`` money. Unlisted columns keep
        their values. NaN / None show as ``–``, booleans as yes / no. ``"auto"``: whole-number
        columns (at least one value >= 10) as counts ``",d"``, other numbers ``".3f"``.
    index : str, optional
        Name of the index (the first column's header).
    index_names : dict, optional
        Renames index labels (e.g. ``{"lee_ready": "Lee-Ready"}``).
    transpose : bool
        Swap rows and columns after formatting (a wide table of few rows reads better
        tall); ``index`` then names the new index, which holds the display column names.

    Returns
    -------
    DataFrame
        Strings where a format applied; the input is not modified.

    Examples
    --------
    >>> import pandas as pd
    >>> res = pd.DataFrame({"is_bps": [1.234, -0.5], "n_fills": [12.0, 3.0]},
    ...                    index=["TWAP", "POV"])
    >>> t = table(res, {"n_fills": "fills", "is_bps": "shortfall (bps)"},
    ...           formats={"fills": ",d", "shortfall (bps)": ".2f"}, index="algorithm")
    >>> print(t.to_string())
              fills shortfall (bps)
    algorithm
    TWAP         12            1.23
    POV           3           -0.50
    >>> print(table(res, "auto", formats="auto").to_string())
         shortfall (bps) fills
    TWAP           1.234    12
    POV           -0.500     3
    >>> print(table(res, formats=".1f", transpose=True, index="measure").to_string())
             TWAP   POV
    measure
    is_bps    1.2  -0.5
    n_fills  12.0   3.0
    """
    out = df.to_frame() if isinstance(df, pd.Series) else df.copy()
    if isinstance(columns, str):
        if columns != "auto":
            raise ValueError(f"table: columns must be a mapping or 'auto', got {columns!r}")
        columns = {c: humanize(c) for c in out.columns}
        out.index.name = humanize(out.index.name)
    if columns is not None:
        missing = [c for c in columns if c not in out.columns]
        if missing:
            raise KeyError(f"table: no column(s) {missing} in {list(out.columns)}")
        out = out[list(columns)].rename(columns=dict(columns))
    if formats is not None:
        if formats == "auto":
            specs = {c: _auto_spec(out[c]) for c in out.columns}
            specs = {c: v for c, v in specs.items() if v is not None}
        elif isinstance(formats, str):
            specs = {c: formats for c in out.columns}
        else:
            specs = dict(formats)
        unknown = [c for c in specs if c not in out.columns]
        if unknown:
            raise KeyError(f"table: formats for unknown column(s) {unknown}")
        for c, spec in specs.items():
            out[c] = [_fmt(v, spec) for v in out[c]]
    if index_names is not None:
        out = out.rename(index=dict(index_names))
    if transpose:
        out = out.T
        out.columns.name = None   # the old index name would stand as a second header row
    if index is not None:
        out.index.name = index
    return out


def fmt_price(price: float, price_scale: float = 1.0, decimals: int = 2) -> str:
    """An engine price (integer units of ``1 / price_scale`` currency) as currency text.

    ``price / price_scale`` with ``decimals`` decimals and thousands separators; NaN -> ``–``.
    LOBSTER prices are dollars x 10 000 (``Instrument.price_scale``).

    Examples
    --------
    >>> fmt_price(2999500, 10_000)
    '299.95'
    >>> fmt_price(3_000_000_000, 10_000, decimals=0)
    '300,000'
    >>> fmt_price(float("nan"))
    '–'
    """
    if price is None or np.isnan(price):
        return MISSING
    return f"{price / price_scale:,.{decimals}f}"


def fmt_time(ns: int, digits: int = 3) -> str:
    """Nanoseconds after midnight as wall-clock ``HH:MM:SS.fff`` (``digits`` decimals, 0-9).

    The engine's timestamps are integer nanoseconds after midnight of the trading day.

    Examples
    --------
    >>> fmt_time(34_200_000_001_000)
    '09:30:00.000'
    >>> fmt_time(34_200_000_001_000, digits=6)
    '09:30:00.000001'
    >>> fmt_time(57_600 * 10**9, digits=0)
    '16:00:00'
    """
    if not 0 <= digits <= 9:
        raise ValueError(f"fmt_time: digits must be 0-9, got {digits}")
    ns = int(ns)
    sec, frac = divmod(ns, 10**9)
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    text = f"{h:02d}:{m:02d}:{s:02d}"
    if digits:
        text += "." + f"{frac:09d}"[:digits]
    return text
