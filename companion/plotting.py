"""The course's figure style, shared by every chapter."""
from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

_RC = Path(__file__).resolve().parents[1] / "matplotlibrc"


def use_course_style() -> None:
    """Apply the repository's ``matplotlibrc`` (one style for every figure in the book).

    The backend is left alone, so figures still show inline in Jupyter.

    Examples
    --------
    >>> import matplotlib
    >>> use_course_style()
    >>> matplotlib.rcParams["axes.grid"]
    True
    """
    if _RC.exists():
        mpl.rc_file(_RC, use_default_template=False)


import numpy as np  # noqa: E402

from companion.events import KIND_NAMES, NS, Instrument  # noqa: E402


def legend_outside(ax, side: str = "right", pad_pt: float = 38.0, **kwargs):
    """Draw the legend of ``ax`` outside the axes, so it never covers data: ``side="right"``
    (top-aligned, one column) or ``side="below"`` (centred under the x label, in as many columns as
    entries up to 4; ``pad_pt`` points below the axes, enough for one line of tick labels and the
    x label). ``kwargs`` go to :meth:`matplotlib.axes.Axes.legend` (``handles``, ``title``,
    ``ncol``, ``fontsize`` ...). The saved figure grows to include it (``savefig.bbox: tight``).
    Returns the legend.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> _ = ax.plot([0, 1], [0, 1], label="a line")
    >>> leg = legend_outside(ax, "below")
    >>> [t.get_text() for t in leg.get_texts()], bool(leg.get_bbox_to_anchor().y1 < ax.bbox.y0)
    (['a line'], True)
    """
    from matplotlib.transforms import offset_copy

    if side == "right":
        kw = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    elif side == "below":
        n = len(kwargs.get("handles") or ax.get_legend_handles_labels()[0])
        kw = dict(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=max(1, min(n, 4)), borderaxespad=0.0,
                  bbox_transform=offset_copy(ax.transAxes, fig=ax.figure, y=-pad_pt, units="points"))
    else:
        raise ValueError(f"side must be 'right' or 'below', got {side!r}")
    kw.update(kwargs)
    return ax.legend(**kw)


def _clock_hours(ts: np.ndarray) -> np.ndarray:
    """ns since midnight -> hours since midnight (float), for intraday x-axes."""
    return np.asarray(ts, dtype=np.float64) / NS / 3600.0


def last_row_per_bin(ts: np.ndarray, bin_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the last event in each clock bin of width ``bin_ns`` (bins with no event are
    skipped) and the bins' start times. Uses only events up to each bin's end (no lookahead).

    Examples
    --------
    >>> import numpy as np
    >>> idx, start = last_row_per_bin(np.array([1, 3, 12, 14, 31]), 10)
    >>> idx.tolist(), start.tolist()
    ([1, 3, 4], [0, 10, 30])
    """
    b = ts // bin_ns
    last = np.flatnonzero(np.diff(b, append=b[-1] + 1))
    return last, b[last] * bin_ns


def depth_heatmap(ax, book: np.ndarray, ts: np.ndarray, instrument: Instrument, bin_s: float = 60.0,
                  max_ticks: int = 400):
    """Resting size by price (y, currency units) and time (x, hours) — the last book of each bin.

    Colour is log10(1 + size); the mid price is drawn on top. Returns the mappable (for a colour bar).

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from companion.events import Instrument
    >>> book = np.array([[10100., 3, 10000, 5], [10200, 4, 10100, 6]])
    >>> ax = Figure().subplots()
    >>> mesh = depth_heatmap(ax, book, np.array([0, 90 * 10**9]), Instrument(symbol="X", tick=100, price_scale=10000))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('time of day (hours, exchange time)', 'price (USD)')
    """
    idx, start = last_row_per_bin(ts, int(bin_s * NS))
    rows = book[idx]
    levels = book.shape[1] // 4
    ask_p, ask_s = rows[:, 0::4], rows[:, 1::4]
    bid_p, bid_s = rows[:, 2::4], rows[:, 3::4]
    ok = (ask_s[:, 0] > 0) & (bid_s[:, 0] > 0)
    mid = (ask_p[:, 0] + bid_p[:, 0]) / 2
    px = np.concatenate([ask_p[ask_s > 0], bid_p[bid_s > 0]])
    lo, hi = np.percentile(px, [0.5, 99.5])
    tick = instrument.tick
    lo, hi = np.floor(lo / tick), np.ceil(hi / tick)
    if hi - lo > max_ticks:  # coarsen the grid so that it stays readable
        step = int(np.ceil((hi - lo) / max_ticks))
    else:
        step = 1
    n_y = int((hi - lo) // step) + 1
    grid = np.full((n_y, len(idx)), np.nan)
    for p, s in ((ask_p, ask_s), (bid_p, bid_s)):
        for lv in range(levels):
            y = ((p[:, lv] / tick - lo) // step).astype(np.int64)
            ok_l = (s[:, lv] > 0) & (y >= 0) & (y < n_y)
            cols = np.flatnonzero(ok_l)
            cur = grid[y[ok_l], cols]
            grid[y[ok_l], cols] = np.where(np.isnan(cur), 0, cur) + s[ok_l, lv]
    x = _clock_hours(start)
    x_edges = np.append(x, x[-1] + bin_s / 3600)
    y_edges = instrument.to_price((lo + np.arange(n_y + 1) * step - 0.5 * step) * tick)
    mesh = ax.pcolormesh(x_edges, y_edges, np.log10(1 + grid), shading="flat", cmap="viridis")
    ax.plot(x[ok] + bin_s / 7200, instrument.to_price(mid[ok]), color="crimson", lw=0.7, label="mid price")
    ax.set_xlabel("time of day (hours, exchange time)")
    ax.set_ylabel(f"price ({'USD' if instrument.price_scale == 10000 else 'quote ccy'})")
    legend_outside(ax, "below")
    return mesh


def message_rate(ax, events: np.ndarray, bin_s: float = 300.0, kinds=(1, 2, 3, 4, 5)):
    """Messages per minute in clock bins of ``bin_s`` seconds, stacked by event kind.

    Examples
    --------
    >>> import numpy as np
    >>> from matplotlib.figure import Figure
    >>> from companion.events import EVENT_DTYPE
    >>> ev = np.zeros(4, EVENT_DTYPE)
    >>> ev["ts"], ev["kind"] = [0, 10**9, 2 * 10**9, 400 * 10**9], [1, 1, 3, 4]
    >>> ax = Figure().subplots()
    >>> message_rate(ax, ev, bin_s=300)
    >>> ax.get_ylabel(), [round(float(p.get_height()), 2) for p in ax.patches[:2]]   # adds per minute, two bins
    ('messages per minute', [0.4, 0.0])
    """
    ts = events["ts"]
    edges = np.arange(ts[0] - ts[0] % int(bin_s * NS), ts[-1] + int(bin_s * NS), int(bin_s * NS))
    bottom = np.zeros(len(edges) - 1)
    x = _clock_hours(edges[:-1])
    width = bin_s / 3600
    for k in kinds:
        cnt, _ = np.histogram(ts[events["kind"] == k], bins=edges)
        rate = cnt / (bin_s / 60)
        ax.bar(x, rate, width=width, bottom=bottom, align="edge", label=KIND_NAMES[k].lower())
        bottom += rate
    ax.set_xlabel("time of day (hours, exchange time)")
    ax.set_ylabel("messages per minute")
    ax.set_ylim(0, bottom.max() * 1.3)
    ax.legend(ncol=3, loc="upper center", fontsize=8)
