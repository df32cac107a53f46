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

__all__ = ["fmt_price", "fmt_time", "table"]

#: what a missing value (NaN, None) is shown as
MISSING = "–"


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


def table(df: pd.DataFrame | pd.Series, columns: Mapping[str, str] | None = None, *,
          formats: Mapping[str, str] | str | None = None, index: str | None = None,
          index_names: Mapping[Any, str] | None = None, transpose: bool = False) -> pd.DataFrame:
    """A display copy of ``df``: chosen columns, human names with units, formatted values.

    Parameters
    ----------
    df : DataFrame or Series
        The computed table (a Series becomes a one-column frame named after it).
    columns : mapping old name -> display name, optional
        Keeps these columns, in this order, under their new names (e.g.
        ``{"is_bps": "shortfall (bps)"}``). Without it every column is kept as it is.
    formats : mapping display name -> format spec, or one spec for every column, optional
        A :func:`format` spec per column: ``",d"`` counts (floats are rounded to integers),
        ``".3f"`` fixed decimals, ``".1%"`` percentages, ``",.2f"`` money. Unlisted columns keep
        their values. NaN / None show as ``–``, booleans as yes / no.
    index : str, optional
        Name of the index (the first column's header).
    index_names : mapping, optional
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
    >>> print(table(res, formats=".1f", transpose=True, index="measure").to_string())
             TWAP   POV
    measure
    is_bps    1.2  -0.5
    n_fills  12.0   3.0
    """
    out = df.to_frame() if isinstance(df, pd.Series) else df.copy()
    if columns is not None:
        missing = [c for c in columns if c not in out.columns]
        if missing:
            raise KeyError(f"table: no column(s) {missing} in {list(out.columns)}")
        out = out[list(columns)].rename(columns=dict(columns))
    if formats is not None:
        specs = {c: formats for c in out.columns} if isinstance(formats, str) else dict(formats)
        unknown = [c for c in specs if c not in out.columns]
        if unknown:
            raise KeyError(f"table: formats for unknown column(s) {unknown}")
        for c, spec in specs.items():
            out[c] = [_fmt(v, spec) for v in out[c]]
    if index_names is not None:
        out = out.rename(index=dict(index_names))
    if transpose:
        out = out.T
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
