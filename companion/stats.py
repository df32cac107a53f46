"""Descriptive statistics of a trading day: activity, spread, depth, execution share.

Used by chapter 01 (synthetic vs real comparison) and by the replication script. All statistics
are event-weighted over the book rows (row i = the book after event i), over rows whose best
levels are both occupied.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from companion.events import ADD, CANCEL, DELETE, EXEC_HIDDEN, EXEC_VISIBLE, NS, Instrument


def best_quotes(book: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(ask_px, ask_sz, bid_px, bid_sz) of level 1 from a LOBSTER-layout book array."""
    return book[:, 0], book[:, 1], book[:, 2], book[:, 3]


def two_sided(book: np.ndarray) -> np.ndarray:
    """Mask of rows whose best bid and best ask are both occupied (no dummy price, size > 0)."""
    ap, asz, bp, bsz = best_quotes(book)
    return (asz > 0) & (bsz > 0) & (ap < 9e9) & (bp > -9e9)


def day_stats(events: np.ndarray, book: np.ndarray, instrument: Instrument) -> dict:
    """Activity, spread and depth statistics of one day.

    Returns a dict with: ``messages``, ``hours``, ``messages_per_min``, shares of adds, cancels
    (partial + full) and executions (visible + hidden) among messages (``execution_share``),
    ``spread_ticks_mean`` / ``_median`` (best ask - best bid, in ticks), ``depth_best_mean``
    (mean of the best bid and best ask sizes, shares), ``trade_size_mean`` (visible + hidden
    executions), ``mid_start`` / ``mid_end`` / ``mid_range_pct``.
    """
    kind = events["kind"]
    n = len(events)
    ts = events["ts"]
    hours = float(ts[-1] - ts[0]) / NS / 3600 if n > 1 else 0.0
    ok = two_sided(book)
    ap, asz, bp, bsz = (x[ok] for x in best_quotes(book))
    spread = (ap - bp) / instrument.tick
    mid = (ap + bp) / 2 / instrument.price_scale
    execs = (kind == EXEC_VISIBLE) | (kind == EXEC_HIDDEN)
    return {
        "messages": int(n),
        "hours": round(hours, 3),
        "messages_per_min": float(n / (hours * 60)) if hours > 0 else float("nan"),
        "add_share": float(np.mean(kind == ADD)),
        "cancel_share": float(np.mean((kind == CANCEL) | (kind == DELETE))),
        "execution_share": float(np.mean(execs)),
        "hidden_execution_share": float(np.mean(kind == EXEC_HIDDEN)),
        "spread_ticks_mean": float(spread.mean()),
        "spread_ticks_median": float(np.median(spread)),
        "depth_best_mean": float(((asz + bsz) / 2).mean()),
        "trade_size_mean": float(events["size"][execs].mean()) if execs.any() else float("nan"),
        "mid_start": float(mid[0]),
        "mid_end": float(mid[-1]),
        "mid_range_pct": float(100 * (mid.max() - mid.min()) / mid.mean()),
    }


def stats_table(rows: dict[str, dict]) -> pd.DataFrame:
    """A comparison table (one column per dataset) from ``{name: day_stats(...)}``."""
    return pd.DataFrame(rows)


REFERENCE_STATS = __import__("pathlib").Path(__file__).with_name("reference") / "lobster_stats.json"


def reference_table() -> pd.DataFrame:
    """:func:`day_stats` of every LOBSTER sample, as committed in ``companion/reference`` (computed
    from the real files by ``data_scripts/make_reference_stats.py``; CI re-checks them when the
    samples are present). One column per sample, e.g. ``lobster:AAPL:1``."""
    import json

    return stats_table(json.loads(REFERENCE_STATS.read_text()))
