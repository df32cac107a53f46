#!/usr/bin/env python
"""Draw the book's explanatory diagrams as SVG files in ``book/images/``.

* ``order_book.svg``: a limit order book as a price ladder. Ask levels above, bid levels below,
  each level's queue drawn as individual orders in time priority (the front of the queue next to
  the price). It marks the best bid, best ask, spread and mid, and shows what the three event
  kinds do: an **add** joins the back of a queue, a **cancel** takes an order out of wherever it
  stands, an **execute** (a market buy here) consumes the best ask queue from its front. One
  order of ours is marked with the size ahead of it (its queue position).
* ``live_loop.svg``: the live executor's loop of chapter 11 (feed chunk, book, features, model,
  signal, venue, reports, journal, with the metrics every stage reports).
* ``pipeline.svg``: the course's pipeline from a data source to orders. Reader, book
  reconstruction, features, model, signal, then either the simulator / backtest or the live
  executor, with the companion module that implements each stage and the chapter that
  teaches it.

The pictures are data-free (fixed, hand-placed shapes) and the SVG is deterministic (fixed hash
salt, no date), so re-running the script rewrites byte-identical files::

    python tools/diagrams.py            # writes book/images/order_book.svg, pipeline.svg, live_loop.svg
    python tools/diagrams.py --out DIR  # elsewhere (for a look before committing)
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "images"

# colour-blind-safe pair (Okabe-Ito): blue bids, vermillion asks
BID, BID_LIGHT = "#0072B2", "#cfe3f2"
ASK, ASK_LIGHT = "#D55E00", "#f6dccb"
INK, GREY = "#222222", "#777777"
OURS = "#E69F00"

RC = {
    "svg.hashsalt": "ofi-course-diagrams",  # deterministic ids in the SVG
    "svg.fonttype": "path",                 # text as paths: no font needed to view the file
    "font.size": 10,
    "font.family": "DejaVu Sans",
    "axes.grid": False,
}


def _save(fig: plt.Figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight",
                pad_inches=0.05)
    plt.close(fig)


# ------------------------------------------------------------------------------ order book
#: (price, [order sizes in time priority, front first]) per level; prices in cents above 100.00
ASKS = [(4, [300, 200, 400]), (3, [100, 300]), (2, [200, 100, 200, 300])]
BIDS = [(-1, [300, 200, 100, 400]), (-2, [400, 200]), (-3, [200, 300, 100])]
UNIT = 0.011   # x-length per share


def _queue(ax: plt.Axes, y: float, sizes: list[int], face: str, edge: str, x0: float = 0.0,
           h: float = 0.62) -> list[tuple[float, float]]:
    """Draw a queue of orders (front at x0) at height y; return each order's (x_left, x_right)."""
    spans, x = [], x0
    for s in sizes:
        w = s * UNIT
        ax.add_patch(Rectangle((x, y - h / 2), w, h, facecolor=face, edgecolor=edge, lw=1.1))
        spans.append((x, x + w))
        x += w
    return spans


def draw_order_book(path: Path) -> None:
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(9.6, 5.6))
        ax.set_xlim(-3.2, 13.4)
        ax.set_ylim(-3.9, 5.1)
        ax.axis("off")

        # price ladder: one row per tick
        for tick in range(-3, 5):
            price = f"{100 + tick / 100:.2f}"
            ax.text(-0.25, tick, price, ha="right", va="center", family="DejaVu Sans Mono",
                    color=INK, fontsize=9.5)
            ax.plot([-0.1, 9.2], [tick, tick], color="0.9", lw=0.6, zorder=0)
        ax.text(-0.25, 4.75, "price", ha="right", va="center", color=GREY, fontsize=9)
        ax.text(0.0, 4.75, "queue: orders in time priority, front first  \u2192", ha="left",
                va="center", color=GREY, fontsize=9)

        ask_spans = {p: _queue(ax, p, s, ASK_LIGHT, ASK) for p, s in ASKS}
        bid_spans = {p: _queue(ax, p, s, BID_LIGHT, BID) for p, s in BIDS}
        # empty tick inside the spread, at 100.01 and 100.00
        for tick in (1, 0):
            ax.text(0.1, tick, "empty", ha="left", va="center", color="0.65", fontsize=8.5,
                    style="italic")

        # labels of the sides and the best quotes
        ax.text(-2.95, 3.0, "asks\n(sell orders)", ha="center", va="center", color=ASK,
                fontsize=10, weight="bold")
        ax.text(-2.95, -2.0, "bids\n(buy orders)", ha="center", va="center", color=BID,
                fontsize=10, weight="bold")
        ax.annotate("best ask", xy=(-1.05, 2), xytext=(-1.95, 2.0), ha="right", va="center",
                    color=ASK, fontsize=9, arrowprops=dict(arrowstyle="-", color=ASK, lw=0.8))
        ax.annotate("best bid", xy=(-1.05, -1), xytext=(-1.95, -1.0), ha="right", va="center",
                    color=BID, fontsize=9, arrowprops=dict(arrowstyle="-", color=BID, lw=0.8))
        # spread bracket and mid
        ax.add_patch(FancyArrowPatch((-1.55, -1), (-1.55, 2), arrowstyle="<->", mutation_scale=9,
                                     color=INK, lw=0.9))
        ax.text(-1.7, 0.25, "spread\n3 ticks", ha="right", va="center", fontsize=8.5, color=INK)
        ax.plot([-0.1, 9.2], [0.5, 0.5], color=INK, lw=0.9, ls=(0, (4, 3)))
        ax.text(9.3, 0.5, "mid price 100.005\n= (best bid + best ask) / 2", ha="left",
                va="center", fontsize=8.5, color=INK)

        # execute: a market buy of 250 consumes the front of the best ask queue
        x0, x1 = ask_spans[2][0]
        ax.add_patch(Rectangle((x0, 2 - 0.31), x1 - x0, 0.62, facecolor="none", edgecolor=INK,
                               lw=1.6, hatch="///"))
        x0b, _ = ask_spans[2][1]
        ax.add_patch(Rectangle((x0b, 2 - 0.31), 50 * UNIT, 0.62, facecolor="none", edgecolor=INK,
                               lw=1.6, hatch="///"))
        ax.text(ask_spans[2][-1][1] + 0.3, 2.0, "execute: a market buy of 250 shares trades\n"
                "the hatched front of the queue (200 + 50\nof the next order) at 100.02",
                ha="left", va="center", fontsize=8.5, color=INK)

        # add: a new limit sell joins the back of the 100.03 queue
        _, xe = ask_spans[3][-1]
        ax.add_patch(Rectangle((xe + 0.25, 3 - 0.31), 200 * UNIT, 0.62, facecolor="white",
                               edgecolor=ASK, lw=1.3, ls="--"))
        ax.add_patch(FancyArrowPatch((xe + 0.25 + 200 * UNIT + 2.0, 3.0),
                                     (xe + 0.25 + 200 * UNIT + 0.08, 3.0), arrowstyle="-|>",
                                     mutation_scale=12, color=ASK, lw=1.3))
        ax.text(xe + 0.25 + 200 * UNIT + 2.1, 3.0, "add: a new limit order\njoins the back "
                "of its queue", ha="left", va="center", fontsize=8.5, color=ASK)

        # cancel: an order in the middle of the 100.04 queue leaves
        xc0, xc1 = ask_spans[4][1]
        ax.plot([xc0 + 0.05, xc1 - 0.05], [4 - 0.27, 4 + 0.27], color=INK, lw=1.6)
        ax.plot([xc0 + 0.05, xc1 - 0.05], [4 + 0.27, 4 - 0.27], color=INK, lw=1.6)
        ax.text(ask_spans[4][-1][1] + 0.3, 4.0, "cancel: an order leaves from wherever it\n"
                "stands; the orders behind it move up", ha="left", va="center", fontsize=8.5,
                color=INK)

        # our order in the best bid queue and the size ahead of it (queue position)
        q0, q1 = bid_spans[-1][2]
        ax.add_patch(Rectangle((q0, -1 - 0.31), q1 - q0, 0.62, facecolor=OURS, edgecolor=INK,
                               lw=1.4))
        ax.text((q0 + q1) / 2, -1, "ours", ha="center", va="center", fontsize=8, color=INK)
        a0 = bid_spans[-1][0][0]
        ax.add_patch(FancyArrowPatch((a0, -0.55), (q0, -0.55), arrowstyle="<->",
                                     mutation_scale=8, color=INK, lw=0.9))
        ax.text((a0 + q0) / 2, -0.38, "500 shares ahead", ha="center", va="bottom",
                fontsize=8.5, color=INK)
        ax.text(bid_spans[-1][-1][1] + 0.3, -1.0, "queue position: our bid fills only after the\n"
                "500 shares ahead of it trade or cancel", ha="left", va="center", fontsize=8.5,
                color=INK)

        # order sizes of the two best queues, under each box
        for p in (2, -1):
            spans = ask_spans[p] if p > 0 else bid_spans[p]
            sizes = dict(ASKS)[p] if p > 0 else dict(BIDS)[p]
            for (xa, xb), s in zip(spans, sizes):
                ax.text((xa + xb) / 2, p - 0.36, str(s), ha="center", va="top", fontsize=7.5,
                        color=GREY)
        ax.text(0.0, -3.7, "box width = order size (shares); a level's depth is the sum of its "
                "queue", ha="left", va="center", fontsize=8.5, color=GREY)
        _save(fig, path)


# ------------------------------------------------------------------------------ pipeline
X0, DX, Y1, Y2 = 0.0, 3.3, 1.2, -1.25
STAGES = [
    # (title, module and content, chapters, x centre, y centre, face colour)
    ("Data source", "LOBSTER, Binance,\nDatabento, Tardis,\nsynthetic day", "", X0, Y1, "#eeeeee"),
    ("Reader", "companion.io\ncompanion.load", "ch. 1", X0 + DX, Y1, "#e3eef8"),
    ("Book", "companion.book\nreplay: L2 states", "ch. 1-2", X0 + 2 * DX, Y1, "#e3eef8"),
    ("Features", "companion.features\nOFI, imbalance, VPIN", "ch. 2-4", X0 + 3 * DX, Y1, "#e7f4ea"),
    ("Model", "companion.models\nlabels, LightGBM,\npurged CV", "ch. 5-6", X0, Y2, "#e7f4ea"),
    ("Signal", "companion.signals\nthresholds, decisions", "ch. 7", X0 + DX, Y2, "#fdf1dc"),
    ("Simulator / backtest", "companion.sim, .backtest\nqueue, latency, fees", "ch. 8-10",
     X0 + 2.6 * DX, Y2 + 0.62, "#f6e3ec"),
    ("Live executor", "companion.live\nfeeds, risk, journal", "ch. 11", X0 + 2.6 * DX,
     Y2 - 0.62, "#f6e3ec"),
]
BOX_W, BOX_H, SMALL_H, WIDE_W = 2.2, 1.3, 1.0, 2.8


def _box(ax: plt.Axes, title: str, body: str, chapter: str, x: float, y: float, face: str,
         h: float, w: float = BOX_W) -> None:
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                boxstyle="round,pad=0.02,rounding_size=0.12",
                                facecolor=face, edgecolor=INK, lw=1.0))
    ax.text(x, y + h / 2 - 0.2, title, ha="center", va="center", fontsize=10, weight="bold",
            color=INK)
    ax.text(x, y - 0.1, body, ha="center", va="center", fontsize=8, color=INK, linespacing=1.2)
    if chapter:
        ax.text(x + w / 2 + 0.06, y - h / 2 + 0.08, chapter, ha="left", va="bottom",
                fontsize=8, color=GREY)


def _arrow(ax: plt.Axes, a: tuple[float, float], b: tuple[float, float], label: str = "",
           **kw) -> None:
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=13, color=INK, lw=1.2,
                                 shrinkA=0, shrinkB=0, **kw))
    if label:
        ax.text((a[0] + b[0]) / 2, max(a[1], b[1]) + 0.1, label, ha="center", va="bottom",
                fontsize=7.8, color=GREY)


def draw_pipeline(path: Path) -> None:
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(10.0, 4.6))
        ax.set_xlim(X0 - 1.25, X0 + 3 * DX + 1.6)
        ax.set_ylim(Y2 - 1.3, Y1 + 1.05)
        ax.set_aspect("equal")
        ax.axis("off")
        for k, (title, body, chapter, x, y, face) in enumerate(STAGES):
            if k < 6:
                _box(ax, title, body, chapter, x, y, face, BOX_H)
            else:
                _box(ax, title, body, chapter, x, y, face, SMALL_H, w=WIDE_W)
        half = BOX_W / 2
        # first row, left to right
        for (_, _, _, xa, ya, _), (_, _, _, xb, _, _), lab in zip(
                STAGES[:3], STAGES[1:4], ["messages", "events", "books"]):
            _arrow(ax, (xa + half, ya), (xb - half, ya), lab)
        # features -> model: down from the features box, left along the gap, down into the model
        xf, xm = STAGES[3][3], STAGES[4][3]
        ymid = (Y1 - BOX_H / 2 + Y2 + BOX_H / 2) / 2
        ax.plot([xf, xf, xm], [Y1 - BOX_H / 2, ymid, ymid], color=INK, lw=1.2)
        _arrow(ax, (xm, ymid), (xm, Y2 + BOX_H / 2))
        ax.text((xf + xm) / 2, ymid + 0.08, "features on a sampling grid (+ labels to train)",
                ha="center", va="bottom", fontsize=7.8, color=GREY)
        # model -> signal, signal -> simulator and live executor
        _arrow(ax, (STAGES[4][3] + half, Y2), (STAGES[5][3] - half, Y2), "forecasts")
        xs = STAGES[5][3] + half
        for k in (6, 7):
            _arrow(ax, (xs, Y2), (STAGES[k][3] - WIDE_W / 2, STAGES[k][4]))
        ax.text(xs + 0.5, Y2, "orders", ha="left", va="center", fontsize=7.8, color=GREY)
        ax.text(X0 + 1.5 * DX, Y1 + 0.85, "the same numba kernels (..._nb) run in research, in "
                "the backtest and live", ha="center", va="center", fontsize=9, color=INK,
                style="italic")
        _save(fig, path)



# ------------------------------------------------------------------------------ live loop
LIVE = [
    # (title, what it is, row, column, face colour)
    ("Feed chunk", "replay or websocket:\nevents of one\nexchange timestamp", 0, 0, "#eeeeee"),
    ("Book", "IncrementalBook:\nL2 rebuild, state\nkept across chunks", 0, 1, "#e3eef8"),
    ("Features", "FeatureEngine:\nstreaming equals\nbatch", 0, 2, "#e7f4ea"),
    ("Model", "CompiledModel:\nLightGBM trees\ncompiled to numba", 0, 3, "#e7f4ea"),
    ("Signal", "class codes and\nvalues per event", 1, 0, "#fdf1dc"),
    ("Venue", "risk checks, strategy\nkernel, orders at\neach wake-up", 1, 1, "#f6e3ec"),
    ("Reports", "acks and fills\nfrom the venue", 1, 2, "#f6e3ec"),
    ("Journal", "SQLite WAL: one\ntransaction per\nchange, checkpoints", 1, 3, "#efe7f6"),
]
LX, LY = 3.0, 2.55   # column and row spacing
LW, LH = 2.3, 1.55   # box size


def draw_live_loop(path: Path) -> None:
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(10.0, 5.2))
        ax.set_xlim(-1.35, 3 * LX + 1.35)
        ax.set_ylim(-LY - 2.05, 1.1)
        ax.set_aspect("equal")
        ax.axis("off")
        pos = {}
        for title, body, row, col, face in LIVE:
            x, y = col * LX, -row * LY
            pos[title] = (x, y)
            ax.add_patch(FancyBboxPatch((x - LW / 2, y - LH / 2), LW, LH,
                                        boxstyle="round,pad=0.02,rounding_size=0.12",
                                        facecolor=face, edgecolor=INK, lw=1.0))
            ax.text(x, y + LH / 2 - 0.24, title, ha="center", va="center", fontsize=10.5,
                    weight="bold", color=INK)
            ax.text(x, y - 0.16, body, ha="center", va="center", fontsize=8.5, color=INK,
                    linespacing=1.2)
        for a, b in (("Feed chunk", "Book"), ("Book", "Features"), ("Features", "Model"),
                     ("Signal", "Venue"), ("Venue", "Reports"), ("Reports", "Journal")):
            (xa, ya), (xb, yb) = pos[a], pos[b]
            ax.add_patch(FancyArrowPatch((xa + LW / 2, ya), (xb - LW / 2, yb), arrowstyle="-|>",
                                         mutation_scale=13, color=INK, lw=1.2, shrinkA=0,
                                         shrinkB=0))
        # model -> signal: down, left along the gap, down
        (xm, ym), (xs, ys) = pos["Model"], pos["Signal"]
        ymid = (ym - LH / 2 + ys + LH / 2) / 2
        ax.plot([xm, xm, xs], [ym - LH / 2, ymid, ymid], color=INK, lw=1.2)
        ax.add_patch(FancyArrowPatch((xs, ymid), (xs, ys + LH / 2), arrowstyle="-|>",
                                     mutation_scale=13, color=INK, lw=1.2, shrinkA=0, shrinkB=0))
        # metrics strip under the second row, fed by every stage
        ytop = -LY - LH / 2 - 0.45
        ax.add_patch(FancyBboxPatch((-LW / 2, ytop - 0.8), 3 * LX + LW, 0.8,
                                    boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor="white", edgecolor=GREY, lw=1.0, ls="--"))
        ax.text(1.5 * LX, ytop - 0.4, "metrics: latency per stage, counters, a one-line live "
                "status; the kill switch watches them", ha="center", va="center", fontsize=9,
                color=INK)
        ax.text(1.5 * LX, 0.95, "one loop iteration per feed chunk: each stage keeps its state "
                "between chunks", ha="center", va="center", fontsize=9.5, color=INK,
                style="italic")
        _save(fig, path)

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default book/images)")
    args = ap.parse_args(argv)
    draw_order_book(args.out / "order_book.svg")
    draw_pipeline(args.out / "pipeline.svg")
    draw_live_loop(args.out / "live_loop.svg")
    for name in ("order_book.svg", "pipeline.svg", "live_loop.svg"):
        p = args.out / name
        print(f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}: {p.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
