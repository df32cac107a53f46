# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# (ch01)=
# # 1. Order-book data
#
# **What you will learn**
#
# - how NASDAQ's {term}`limit order book <Limit order book>` is encoded in LOBSTER message and orderbook files
#   {cite:p}`huang2011lobster`, and how `companion` reads them with strict validation;
# - how to rebuild the book event by event, when that is exact and when it needs the snapshot;
# - how a crypto feed (Binance {term}`depth diffs <Diff sync>`) is synchronised with its REST snapshot;
# - what a trading day looks like: {term}`spread <Spread>`, {term}`depth <Depth>` and activity through the day, and how the
#   course's synthetic market compares with the real samples.
#
# Every chapter runs on the seeded synthetic day by default. Change `DATA` in the next cell
# (e.g. `"lobster:AAPL:1"`) to run the same analysis on a real LOBSTER sample.

# %% tags=["parameters"]
# dataset SPEC: synthetic[:SEED], lobster:TICKER:LEVEL, or a message-file path
DATA = "synthetic"
SEED = 7            # seed of the synthetic day (used with DATA synthetic)
# 0 keeps the whole day, otherwise only the first MAX_EVENTS messages
MAX_EVENTS = 0
LEVELS = 10         # book depth to reconstruct

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import companion
from companion import book, stats
from companion import display as show
from companion.events import KIND_NAMES
from companion.plotting import depth_heatmap, message_rate, use_course_style

use_course_style()
pd.set_option("display.precision", 3)
spec = f"synthetic:{SEED}" if DATA == "synthetic" else DATA
data = companion.load(spec)
events, rows, inst = data.events, data.book, data.instrument
if MAX_EVENTS:
    events, rows = events[:MAX_EVENTS], rows[:MAX_EVENTS]
print(f"{inst.symbol} {inst.date}: {len(events):,} messages, {inst.levels} levels in "
      f"the orderbook file")

# %% [markdown]
# ## 1.1 Anatomy of a LOBSTER message
#
# A limit order book holds the resting buy orders (bids) and sell orders (asks) at each price,
# and {numref}`fig-order-book` draws one. The orders at one price wait in a queue in time
# priority. Three kinds of event change the book: an *add* puts a new {term}`limit order <Limit order>` at the back of
# its queue, a *cancel* takes an order out from wherever it stands, and an *execute* trades an
# incoming {term}`market order <Market order>` against the front of the best queue on the other side.
#
# ```{figure} ../book/images/order_book.svg
# :name: fig-order-book
# :alt: A price ladder from 99.97 to 100.04. Ask queues sit above two empty ticks and bid queues below them. Each queue is a row of order boxes. A hatched front of the best ask queue is executed, a dashed box joins the back of a queue, a crossed-out box is cancelled, and our bid has 500 shares ahead of it.
# :width: 100%
#
# A limit order book drawn as a price ladder (prices in dollars, box width = order size in
# shares). {term}`Best ask <Best bid / best ask>` 100.02, best bid 99.99: the spread is 3 {term}`ticks <Tick>` and the {term}`mid price <Mid price>` 100.005.
# What the three event kinds do: an **add** joins the back of its queue, a **cancel** leaves
# from anywhere in its queue, an **execute** (here a market buy of 250 shares) consumes the best
# ask queue from its front. The 500 shares ahead of our bid are its {term}`queue position <Queue position>`.
# ```
#
# LOBSTER turns NASDAQ's TotalView-ITCH feed into two files per day. The **message file** has one
# row per event: time (seconds after midnight, nanosecond decimals), event type, order id, size,
# price (dollars × 10 000) and direction (+1 buy order, −1 sell order). Row *i* of the
# **orderbook file** is the visible book *after* event *i*: ask price, ask size, bid price, bid
# size for each level.
#
# | type | event | effect on the visible book |
# |---|---|---|
# | 1 | new limit order | adds `size` at `price` on `direction`'s side |
# | 2 | partial cancellation | removes `size` |
# | 3 | deletion | removes the order's remaining size |
# | 4 | visible execution | removes `size`; the *resting* order's side is `direction` |
# | 5 | {term}`hidden execution <Hidden order>` | none (the order was hidden) |
# | 6 / 7 | cross trade / halt | none |
#
# An execution of a sell limit order (direction −1) is a buyer-initiated trade: the {term}`aggressor <Aggressor side>` is
# always the opposite of `direction`. `companion` maps every row to one event dtype that also
# carries Binance's level updates and trades, so every later stage sees the same array.

# %%
frame = data.messages_frame().iloc[: len(events)]
head = frame.head(8)
head = head.set_axis(head.index.strftime("%H:%M:%S.%f"))
show.table(head.assign(kind=head["kind"].map(KIND_NAMES),
                       side=head["side"].map({1: "buy", -1: "sell"}),
                       price=[show.fmt_price(p,
                                             inst.price_scale) for p in head["price"]]),
           {"kind": "event", "side": "side", "price": "price ($)",
            "size": "size (shares)", "order_id": "order id"},
           formats={"size (shares)": ",d"}, index="time")

# %%
counts = pd.Series(events["kind"]).map(KIND_NAMES).value_counts()
(counts / counts.sum()).rename("share of messages").to_frame().round(3)

# %% [markdown]
# The reader validates as it parses: a wrong column count, a non-numeric field, an unknown event
# type, a decreasing time stamp, a non-positive size, a price off the tick grid, a crossed book
# or a truncated last line each raise one {py:exc}`DataFormatError <companion.errors.DataFormatError>` naming the file, the line and the
# field:

# %%
import tempfile
from pathlib import Path

bad = Path(tempfile.mkdtemp()) / "TEST_2012-06-21_34200000_57600000_message_1.csv"
bad.write_text("34200.1,1,1,100,1000000,1\n34200.2,1,2,100,1000050,1\n")
try:
    companion.read_lobster(bad)
except companion.DataFormatError as err:
    msg = str(err).replace(str(bad.parent) + "/", "")
    print(type(err).__name__, "->", msg.replace(", field", ",\n  field", 1))

# %% [markdown]
# ## 1.2 Rebuilding the book
#
# Because every message names a price and a size, the book of aggregated price levels follows
# from the messages by adding and subtracting sizes. {py:func}`companion.book.replay <companion.book.replay>` does this in one
# numba pass and writes the top `LEVELS` levels after every event in LOBSTER's layout.
#
# Two facts decide whether a replay from messages alone is exact:
#
# - a **full-depth** message stream (our generator's) determines the book completely;
# - a **level-N** LOBSTER file only contains the events that touch the visible N levels. When a
#   visible level empties, the level behind it enters the view — but its size was never in the
#   messages. The replay must take such *entering* levels from the orderbook file, as a crypto
#   client takes its REST snapshot. We call this *{term}`snapshot-assisted replay <Snapshot-assisted replay>`* and count how many
#   levels it took.

# %%
check = book.verify_lobster(data)
names = {"rows": "orderbook rows",
         "transitions_checked": "transitions checked (row t-1 -> t)",
         "transitions_matched": "transitions matched",
         "transitions_with_entering": "transitions where a level enters the view",
         "levels_taken_from_snapshot": "levels taken from the orderbook file",
         "rows_reproduced": "rows reproduced",
         "all_rows_reproduced": "all rows reproduced",
         "drift_first_mismatch_time": "row 0 + messages only: first mismatch (time)",
         "replay_exact": "empty book + messages only: share of rows exact"}
verified = pd.Series({names[k]: check.get(k) for k in names}, dtype=object)
verified.rename_axis("check").to_frame(f"verify {inst.symbol}")

# %% [markdown]
# Every transition matches: message *t* applied to row *t−1* gives row *t* on every level the
# message determines. On a level-N LOBSTER file, replay from the first row *alone* drifts as
# soon as the first level enters from beyond the view; on the full-depth synthetic file it is
# exact on every row.

# %%
snap = book.replay(events, levels=min(LEVELS, inst.levels))
trades = book.trades_frame(events, inst)
print(f"snapshots {snap.shape}, {len(trades):,} trades, "
      f"buyer-initiated share {np.mean(trades['side'] > 0):.3f}")

# %% [markdown]
# ## 1.3 A day in the book
#
# The heat map shows the resting size at each price through the day (the last book of every
# minute); the red line is the mid price. The book is sparse near the quotes: the spread is many
# ticks wide ({numref}`fig-spread-messages`), the occupied prices behind the best are several ticks apart with empty
# ticks between them, and they crowd closer further from the mid.

# %% mystnb={"figure": {"caption": "Depth through the day: resting size at each price (colour, log10(1 + shares)) in the last book of each 1-minute bin, top levels only, with the mid price in red. x: time of day (h); y: price (currency).", "name": "fig-depth-heatmap"}, "image": {"alt": "Heat map of resting size by price and time of day, with the mid price as a red line through the brightest band."}}
fig, ax = plt.subplots(figsize=(9, 4.5))
mesh = depth_heatmap(ax, rows, events["ts"], inst, bin_s=60)
fig.colorbar(mesh, ax=ax, label="log10(1 + resting size, shares)")
ax.set_title(f"{inst.symbol}: depth by price through the day (top {inst.levels} "
             f"levels)")
plt.show()

# %% mystnb={"figure": {"caption": "Left: distribution of the quoted spread (ticks) over the two-sided events. Right: messages per minute in 5-minute bins, stacked by event kind.", "name": "fig-spread-messages"}, "image": {"alt": "Left, a histogram of the quoted spread in ticks; right, stacked bars of messages per minute through the day by event kind."}}
ok = stats.two_sided(rows)
spread = (rows[ok, 0] - rows[ok, 2]) / inst.tick
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
top = int(np.percentile(spread, 99)) + 1
ax1.hist(spread[spread <= top], bins=np.arange(0.5, top + 1.5), density=True,
         color="C0")
ax1.set_xlabel("spread (ticks)")
ax1.set_ylabel("share of events (fraction)")
ax1.set_title("Spread distribution (event-weighted)")
message_rate(ax2, events, bin_s=300)
ax2.set_title("Intraday message rate (5-min bins)")
plt.show()

# %% [markdown]
# Activity is U-shaped through the day: busiest after the open and before the close
# (the synthetic generator imposes this seasonality; in the real samples it is observed).
#
# ## 1.4 The synthetic market next to the real samples
#
# The course's default data is a seeded synthetic day: a queue-reactive order-flow model
# {cite:p}`cont2010stochastic,huang2015simulating` with informed episodes, written in LOBSTER's
# format. The table puts its statistics next to the LOBSTER samples (computed from the real files
# by `data_scripts/make_reference_stats.py`, committed in `companion/reference/`, and re-checked in
# CI whenever the samples are present). Level-1 files count only the messages that touch the best
# quotes, so compare `messages` with care.

# %%
# this run's column comes first
table = stats.reference_table().drop(columns=spec, errors="ignore")
table.insert(0, spec, pd.Series(stats.day_stats(events, rows, inst)))
measures = {"messages": "messages", "messages_per_min": "messages per minute",
            "execution_share": "execution share", "cancel_share": "cancel share",
            "spread_ticks_mean": "spread, mean (ticks)",
            "spread_ticks_median": "spread, median (ticks)",
            "depth_best_mean": "best-level depth, mean (shares)",
            "trade_size_mean": "trade size, mean (shares)",
            "mid_range_pct": "mid range over the day (%)"}
fmts = {name: ",d" if key == "messages" else ".3f" for key, name in measures.items()}
show.table(table.T.rename(index=lambda c: c.removeprefix("lobster:")), measures,
           formats=fmts, transpose=True, index="measure")

# %% [markdown]
# Read `execution_share` with the same care. The synthetic day's 0.090 against 0.20-0.30 in the
# level-1 files is a difference of *files*, not of markets. Executions happen at the best quotes,
# so every LOBSTER file records all of them; but a level-$L$ file records only the adds and
# cancellations that touch its first $L$ levels, so the fewer the levels, the fewer the other
# messages and the higher the execution share. One day of GOOG shows it: 0.236 in the level-1
# file, 0.104 at 5 levels, 0.079 at 10. The synthetic generator writes every message at every
# depth (a full-depth, order-level day; `companion/synth.py`), and its execution share was
# calibrated against the 5- and 10-level GOOG files, between which it sits. Compared with a
# level-1 file it would have to lose most of its adds and cancellations away from the touch.

# %% [markdown]
# ## 1.5 A crypto feed: Binance depth diffs
#
# Binance publishes a REST depth snapshot (with `lastUpdateId`) and a websocket stream of depth
# differences, each carrying the first and last update ids `U`/`u` (and, on futures, the previous
# `pu`). The book is the snapshot plus every diff from the first one that covers `lastUpdateId`,
# with each diff chained to the one before it; a broken chain is a gap, and a gap means a resync,
# never a silently applied diff. {py:func}`companion.read_binance <companion.io.binance.read_binance>` returns the same event dtype
# (`LEVEL_SET` events, trades with the aggressor side), and {py:func}`verify_recording <companion.io.binance.verify_recording>` checks the rebuilt
# best quotes against Binance's own `bookTicker` stream. The recordings are real data kept outside
# the repository, so this cell only runs where they are.

# %% tags=["nbval-ignore-output"]
from companion.data import shared_data_dir
from companion.io.binance import verify_recording

rec_dir = shared_data_dir()
hbt = None if rec_dir is None else rec_dir / "crypto/hftbacktest"
if hbt is not None and (hbt / "usdm/btcusdt_20240808.gz").exists():
    for market in ("usdm", "spot"):
        res = verify_recording(hbt / f"{market}/btcusdt_20240808.gz")
        print(f"{market:5s} diffs applied {res['diffs_applied']:,}, bookTicker points "
              f"compared {res['compared']:,}, matched {res['matched']:,}, gaps "
              f"{res['gaps']}")
else:
    print("Binance recordings not found (see README: real data); skipping this "
          "section.")

# %% [markdown]
# ## Exercises
#
# ```{exercise}
# :label: ex-01-1
# Count, for the current `DATA`, the share of executions that are buyer-initiated, by volume and
# by count. Remember that LOBSTER's `direction` is the side of the *resting* order.
# ```
#
# ```{solution-start} ex-01-1
# :class: dropdown
# ```

# %%
ex = events[(events["kind"] == 4) | (events["kind"] == 5)]
buy = -ex["side"] > 0
print(f"buyer-initiated: {buy.mean():.3f} by count, "
      f"{ex['size'][buy].sum() / ex['size'].sum():.3f} by volume")

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-01-2
# How long does the best bid stay unchanged? Compute the distribution of the time between
# changes of the best bid price, in milliseconds (median and 90th percentile).
# ```
#
# ```{solution-start} ex-01-2
# :class: dropdown
# ```

# %%
bid = rows[:, 2]
change = np.flatnonzero(np.diff(bid) != 0) + 1
gaps_ms = np.diff(events["ts"][change]) / 1e6
print(f"best bid changes {len(change):,} times; median {np.median(gaps_ms):.1f} ms, "
      f"90th percentile {np.percentile(gaps_ms, 90):.1f} ms")

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-01-3
# Run the chapter with `DATA = "lobster:GOOG:10"` (papermill `-p DATA lobster:GOOG:10`). How many
# levels does snapshot-assisted replay take from the orderbook file, and what share of the
# transitions is that? Why does the level-1 AAPL file need fewer?
# ```
#
# ```{solution-start} ex-01-3
# :class: dropdown
# ```

# %% [markdown]
# Run `python -m companion verify lobster` on the GOOG level-10 files: the `entering` count is
# the number of levels taken from the snapshot. A deeper view has more levels behind the best
# that can empty and be replaced from beyond the view, and the message file omits the events
# that built those levels; at level 1 only the best level can enter, when a whole best queue is
# consumed or cancelled.
#
# ```{solution-end}
# ```

# %% [markdown]
# ## 1.6 Bring your own data: DBN, Tardis, Bybit and ITCH
#
# Order-book data comes in a handful of standard formats, and they do not carry the same
# information. `companion.io` reads each of them into the one event dtype, with an {py:class}`Instrument <companion.events.Instrument>`
# (tick, lot, price scale) beside it:
#
# | format | unit of data | order ids | hidden liquidity | trade side | timestamps |
# |---|---|---|---|---|---|
# | LOBSTER | message per order event | yes | type-5 executions | resting side (aggressor = minus it) | ns after midnight (one clock) |
# | Databento DBN MBO | record per order event | yes | a Trade with no Fill | aggressor on Trades, resting side on Fills | exchange `ts_event` and capture `ts_recv`, ns since the epoch |
# | Databento DBN MBP-10 | top-10 book per event | no (order counts) | no | aggressor of the triggering Trade | as MBO |
# | NASDAQ ITCH 5.0 | binary message per order event | yes | `P` (non-cross trade) messages | resting side | ns after midnight |
# | Tardis `incremental_book_L2` | new size of a price level | no | no | (`trades` file: aggressor) | exchange and local µs |
# | Bybit `ob500` | snapshot + level deltas, 500 levels | no | no | (separate trade stream) | ms, no local clock |
#
# Databento's MBO and NASDAQ's ITCH are order-level like LOBSTER, so exact {term}`FIFO` queue positions
# exist. The level formats show only how much rests at a price, so a cancel and a fill look the
# same. The round trip below writes the current day as DBN MBO with Databento's official encoder
# and as ITCH with our own encoder, reads both files back, and compares the replayed book with
# the LOBSTER path's book on every event that changes the book.

# %%
import tempfile

from companion.io.dbn import read_dbn_mbo, write_dbn_mbo
from companion.io.itch import read_itch, write_itch

tmp = Path(tempfile.mkdtemp())
L = min(LEVELS, max(inst.levels, 1))
lob_kinds = (events["kind"] >= 1) & (events["kind"] <= 5)
ref = book.replay(events[lob_kinds], L)
mbo = read_dbn_mbo(write_dbn_mbo(tmp / "day.mbo.dbn", events, inst),
                   price_scale=inst.price_scale)
itch = read_itch(write_itch(tmp / "day.itch", events, inst), date=inst.date)
same_dbn = np.array_equal(book.replay(mbo.events, L)[mbo.last], ref)
same_itch = np.array_equal(book.replay(itch.events, L), ref)
print(f"{int(lob_kinds.sum()):,} LOBSTER events -> DBN {mbo.stats['records']:,} "
      f"records ({(tmp / 'day.mbo.dbn').stat().st_size / 1e6:.1f} MB), ITCH "
      f"{itch.stats['messages']:,} messages "
      f"({(tmp / 'day.itch').stat().st_size / 1e6:.1f} MB)")
print(f"same book on every row: DBN {same_dbn}, ITCH {same_itch}; "
      f"DBN Trades carried by Fills: {mbo.stats['trades_with_fills_dropped']:,}")

# %% [markdown]
# A visible execution becomes three DBN records (the aggressor's Trade, the resting order's Fill
# and the Cancel that removes its shares), so the DBN file holds more records than there are
# events (19,511 visible executions add two records each). The reader turns the Fill into the
# execution and skips the Trade that the Fill already carries, so trades are not counted twice.
# The book is meaningful only after a record flagged `F_LAST`, which is where the reader
# compares rows. Both files reproduce the LOBSTER book on every row.
#
# The real fixtures that ship in `../shared/data` are tiny excerpts of each format. They are
# enough to see what each one carries, not to study a market. The cell runs only where the
# shared folder exists.

# %% tags=["nbval-ignore-output"]
from companion.io.bybit import read_bybit_ob500
from companion.io.dbn import read_dbn_mbp10, verify_dbn
from companion.io.tardis import (read_tardis_incremental, read_tardis_snapshots,
                                  read_tardis_trades)

root = shared_data_dir()
db = None if root is None else root / "databento"
nt = None if root is None else root / "crypto/nautilus_trader"
if db is not None and db.is_dir() and nt.is_dir():
    m = read_dbn_mbo(db / "test_data.mbo.v3.dbn")
    v = verify_dbn(db / "test_data.mbo.v3.dbn", db / "test_data.mbp-10.v3.dbn.zst")
    p10 = read_dbn_mbp10(db / "test_data.mbp-10.v3.dbn.zst")
    print(f"DBN MBO {m.instrument.symbol} ({m.instrument.venue}): {m.stats['records']} "
          f"records, tick {m.instrument.tick / m.instrument.price_scale}, orders never "
          f"seen: {m.stats['unknown_orders']}")
    print(f"DBN MBP-10: best ask {p10.book[0, 0] / 100:.2f} x {p10.book[0, 1]:.0f}, "
          f"best bid {p10.book[0, 2] / 100:.2f} x {p10.book[0, 3]:.0f}; verify dbn ok: "
          f"{v['ok']}")
    ti = read_tardis_incremental(
        nt / "tardis/deribit_incremental_book_L2_BTC-PERPETUAL.csv")
    tt = read_tardis_trades(nt / "tardis/bitmex_trades_XBTUSD.csv")
    ts = read_tardis_snapshots(
        nt / "tardis/binance-futures_book_snapshot_25_BTCUSDT.csv")
    print(f"Tardis L2 {ti.instrument.venue} {ti.instrument.symbol}: {ti.stats['rows']} "
          f"rows, {ti.stats['snapshots']} snapshot run; book_snapshot_25: "
          f"{ts.book.shape[0]} rows")
    print(f"Tardis trades {tt.instrument.venue} {tt.instrument.symbol}: "
          f"{len(tt.events)}, buyer-initiated {int((tt.events['side'] > 0).sum())}")
    bb = read_bybit_ob500(nt / "bybit/2024-12-01_XRPUSDT_ob500.data")
    top = book.replay(bb.events, 1)[-1]
    print(f"Bybit ob500 {bb.instrument.symbol}: {bb.stats['snapshots']} snapshot + "
          f"{bb.stats['deltas']} deltas, last best ask "
          f"{top[0] / bb.instrument.price_scale} / bid "
          f"{top[2] / bb.instrument.price_scale}")
else:
    print("shared format fixtures not found (see README: real data); skipping this "
          "cell.")

# %% [markdown]
# The two DBN MBO records in Databento's official test file cancel orders that the file never
# added: the file starts mid-session without a snapshot, so its book cannot be rebuilt, and the
# reader counts these orders as never seen. `verify dbn` can still check that the one record found
# in both files agrees, and that each MBP-10 row follows from the previous one by its own
# trigger. What each format cannot tell us:
#
# - **DBN MBO**: orders resting before the first record (unless the file opens with a snapshot),
#   hidden and implied liquidity beyond a Trade without Fill, and who the participants are.
# - **DBN MBP-10**: order ids and queue positions, and anything below the tenth level.
# - **ITCH**: hidden orders until they trade (`P`), the execution price of a `C` message as book
#   information, and who is behind most orders (the MPID only on `F`).
# - **Tardis L2 and Bybit ob500**: order ids, cancels versus fills, hidden liquidity; Bybit also
#   levels that drift beyond depth 500 and any local receive time.
#
# `python -m companion convert --from {dbn,tardis,tardis-trades,bybit,itch,lobster} --to
# {lobster,parquet,hftbacktest} IN OUT` turns any of these files into input for every chapter,
# for the studies and for hftbacktest. `python -m companion record --ws URL --snapshot URL --out
# DIR` records your own Binance-style feed in the layout of the shared recordings.

# %% [markdown]
# ```{admonition} Key takeaways
# :class: tip
#
# - A LOBSTER message file has one row per event. On the synthetic day 47% of the messages are
#   adds, 44% deletions and only 9% executions (5.2% visible, 3.8% hidden).
# - Replaying the messages reproduces all 372,344 orderbook rows, but only as a
#   snapshot-assisted replay: 61,906 levels entered the visible 10 from beyond them and had to
#   be taken from the orderbook file.
# - The real samples are wide-spread books (median spread 13-29 ticks); the synthetic day is
#   calibrated to that regime (14 ticks), not to one-tick stocks.
# - A Binance depth-diff stream synchronised with its REST snapshot matched every best-quote
#   check (629 USD-M and 564 spot points, 0 gaps).
# - Malformed input is rejected with one line that names the file, the line and the field.
# ```
