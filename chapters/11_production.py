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
# (ch11)=
# # 11. Production: a mini live executor
#
# **What you will learn**
#
# - how a live trading process is put together: one event loop from market data to orders,
#   fills and a durable {term}`journal <Journal>`, built from the same kernels as the backtester;
# - why a replay through the live executor must give *exactly* the backtester's orders and fills,
#   and how that is checked;
# - how to measure the loop's {term}`latency <Latency>` stage by stage, and what the numbers mean;
# - what a {term}`kill switch <Kill switch>` is, and three ways it trips: a stale feed, a loss limit, a manual stop;
# - how a crashed process recovers its positions and open orders from a write-ahead journal;
# - what to monitor, and a checklist before any real order is sent.
#
# The executor trades on a **paper venue**: the exchange simulator of chapter 8 stepped in real
# time with the feed. Nothing here connects to a real exchange. The chapter runs on the seeded
# synthetic day by default; set `DATA = "lobster:AAPL:1"` to replay a real LOBSTER sample.

# %% tags=["parameters"]
# dataset SPEC: synthetic[:SEED], lobster:TICKER:LEVEL, or a message-file path
DATA = "synthetic"
SEED = 7              # seed of the synthetic day (used when DATA is synthetic)
SPEED = 1.0           # replay speed x exchange time, on a simulated clock (no sleeping)
MAX_EVENTS = 0        # events replayed through the executor (0: the whole day)
DEMO_EVENTS = 40000   # events of the kill-switch and crash demos
CRASH_AFTER = 25000   # the crash demo kills its process after this many events

# %% tags=["hide-input"]
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import companion
from companion import display as show
from companion.backtest import run_backtest
from companion.backtest.market_making import GLFT
from companion.live.config import LiveConfig
from companion.live.executor import LiveExecutor
from companion.live.feeds import LobsterReplayFeed, SimulatedClock
from companion.live.journal import Journal
from companion.live.metrics import STAGES
from companion.plotting import legend_outside, use_course_style

use_course_style()
pd.set_option("display.precision", 3)
spec = f"synthetic:{SEED}" if DATA == "synthetic" else DATA
data = companion.load(spec)
events, book, inst = data.events, data.book, data.instrument
n_run = len(events) if MAX_EVENTS <= 0 else min(MAX_EVENTS, len(events))
levels = book.shape[1] // 4
# a synthetic day is full depth: the executor rebuilds its book from the messages; a
# LOBSTER level-N file is not, so its orderbook rows stand in for an L2 snapshot feed
book_rows = None if DATA == "synthetic" else book
work = Path(tempfile.mkdtemp(prefix="ch11_"))
print(f"{inst.symbol} {inst.date}: {len(events):,} events, {levels} levels; "
      f"replaying "
      f"{n_run:,}")

# %% [markdown]
# ## 11.1 The architecture
#
# A {term}`backtest <Backtest>` sees the whole day at once; a live process sees one message at a time and must act
# before the next one. The executor ({py:mod}`companion.live.executor <companion.live.executor>`) is one loop, one iteration per
# **feed chunk** (the events that share one exchange timestamp), as {numref}`fig-live-loop` draws:
#
# ```{figure} ../book/images/live_loop.svg
# :name: fig-live-loop
# :alt: Eight boxes joined by arrows in two rows. Feed chunk, book, features and model on the first row; signal, venue, reports and journal on the second. A dashed strip below collects the metrics of every stage.
# :width: 100%
#
# The live executor's loop, one iteration per feed chunk: the book is updated incrementally, the
# features are streamed, the compiled model and the signal kernels classify each event, the venue
# runs the risk checks and the strategy and sends orders, its acks and fills are reported back,
# and every change is written to the journal. Each stage reports its latency to the metrics.
# ```
#
# | stage | module | what it reuses |
# |---|---|---|
# | feed | {py:mod}`companion.live.feeds <companion.live.feeds>` | {py:class}`LobsterReplayFeed <companion.live.feeds.LobsterReplayFeed>` (simulated or wall clock), {py:class}`BinanceWebSocketFeed <companion.live.feeds.BinanceWebSocketFeed>` |
# | book | {py:class}`companion.book.IncrementalBook <companion.book.IncrementalBook>` | the L2 kernels of chapter 1, state kept across chunks |
# | features | {py:meth}`FeatureEngine.update_arrays <companion.features.FeatureEngine.update_arrays>` | the chapter 4 state machines: streaming equals batch |
# | model | {py:class}`CompiledModel <companion.models.compiled.CompiledModel>` | the {term}`LightGBM` trees of chapter 6 compiled to numba |
# | signal | {py:mod}`companion.signals <companion.signals>` kernels | the composite imbalance and model rule of chapter 7 |
# | venue | {py:class}`companion.live.venue.PaperVenue <companion.live.venue.PaperVenue>` | the simulator of chapter 8 (matching, queues, latency, risk) |
# | strategy | `signal_trader_nb` | the backtester's own strategy kernel of chapter 9 |
# | journal | {py:class}`companion.live.journal.Journal <companion.live.journal.Journal>` | one transaction per change, idempotent ids |
#
# The venue is an interface ({py:class}`VenueAdapter <companion.live.venue.VenueAdapter>`: {py:meth}`submit <companion.live.venue.VenueAdapter.submit>`, {py:meth}`cancel <companion.live.venue.VenueAdapter.cancel>`, {py:meth}`next_wakeup <companion.live.venue.VenueAdapter.next_wakeup>`, {py:meth}`reports <companion.live.venue.VenueAdapter.reports>`,
# {py:meth}`kill <companion.live.venue.VenueAdapter.kill>`, with {py:attr}`on_ack <companion.live.venue.VenueAdapter.on_ack>` / {py:attr}`on_fill <companion.live.venue.VenueAdapter.on_fill>` callbacks). A real connector implements it over FIX or a
# REST + websocket API; the paper venue implements it with the simulator. Its one subtlety is
# time: the simulator decides what happens first (a market event, an order reaching the matching
# engine, the strategy waking up), and a chunk carries every event of its timestamp, so the paper
# venue can run everything up to the chunk's time and stop. It then processes events, arrivals and
# wake-ups in exactly the backtester's order, and a replay through the executor must reproduce the
# backtest **order for order and fill for fill**. That is the first thing to check.
#
# ## 11.2 The configuration
#
# The executor reads a YAML file (`python -m companion live --config live.yaml`) with the
# signal's {term}`depth <Depth>` and thresholds, order size and position limit, the risk limits (a session max loss,
# a fill-rate limit, a maximum {term}`spread <Spread>`), the latency targets, the stale-feed limit and the kill file.
# Every key is checked: a typo or a wrong type stops the process before it starts, with the key's
# name in the message.

# %%
config = LiveConfig.from_dict({
    # a level-1 file has 1
    "signal": {"depth": min(5, levels), "weak": 0.15, "strong": 0.35},
    "execution": {"size": 100, "max_position": 500, "timeout_s": 10, "entry": "limit"},
    "risk": {"max_loss": 5000, "max_trades_per_minute": 60, "max_spread": 50},
    "latency": {"signal_us": 20, "features_model_us": 50},
    "feed": {"stale_after_s": 60},
    "kill_switch": {"file": str(work / "KILL")},
    "venue": {"fees": {"maker": -0.002, "taker": 0.003, "unit": "per_share"}},
})
try:
    LiveConfig.from_dict({"execution": {"size": "100 shares"}})
except ValueError as err:
    print(err)
try:
    LiveConfig.from_dict({"risk": {"max_los": 500}})
except ValueError as err:
    print(err)

# %% [markdown]
# ## 11.3 A replayed day
#
# The feed releases the day's events in time order at `SPEED` times exchange time on a simulated
# clock: the loop sees the same timing as in real time, without waiting for it. The journal
# records every order before it is sent, every ack, fill and cancel, every risk event, and a
# checkpoint every 2000 events.

# %%
def replay_feed(ev, speed=SPEED):
    return LobsterReplayFeed(ev, speed=speed, clock=SimulatedClock(int(ev["ts"][0])))


executor = LiveExecutor(config, inst, levels=levels, journal=work / "day.db")
summary = executor.run(replay_feed(events[:n_run]), book_rows=book_rows)
print(f"events {summary.events:,}, chunks {summary.chunks:,}, wake-ups "
      f"{summary.wakeups:,}")
print(f"orders {summary.orders:,}, fills {summary.fills:,}, final position "
      f"{summary.position:g}")
print(f"P&L {summary.pnl:,.2f} (fees {summary.fees:,.2f}); kill switch: "
      f"{summary.killed}; journal reconciled with the venue: {summary.reconciled}")

# %% [markdown]
# The configuration also gives the backtester's twin of this run (`config.strategy_object()` and
# `config.execution_config(inst)`: the same strategy, latencies, queue model, fees and limits).
# The two must agree on every field of every order and fill:

# %%
bt = run_backtest(events[:n_run], executor.venue.result().book, inst,
                  config.strategy_object(), execution=config.execution_config(inst))
live = executor.venue.result()
same_orders = all(np.array_equal(live.orders[f], bt.sim.orders[f],
                                 equal_nan=live.orders[f].dtype.kind == "f")
                  for f in bt.sim.orders.dtype.names)
same_fills = np.array_equal(live.fills, bt.sim.fills)
print(f"backtest: {len(bt.sim.orders):,} orders, {len(bt.sim.fills):,} fills, net P&L "
      f"{bt.pnl()['net']:,.2f}")
print(f"identical orders: {same_orders}; identical fills: {same_fills}")

# %% [markdown]
# This equality is the executor's most important test (`tests/test_live_parity.py` checks it with
# market and limit entries, random order-entry latencies, a feed latency, the {term}`FIFO` and
# probabilistic queue models and the model strategy). It says that everything learned from the
# backtests of chapter 9 carries over to the live loop, and that any later difference between paper
# and backtest comes from the market, not from the code. The strategy itself still loses money
# after the spread: a live loop does not create an edge.
#
# The journal is the audit trail. Its orders table holds what was sent and what became of it:

# %%
journal = executor.journal
orders = pd.DataFrame([o.__dict__ for o in journal.orders()])
print(orders["status"].value_counts().to_string())
first = orders.head()
show.table(first.assign(side=first["side"].map({1: "buy", -1: "sell"}),
                        price=[show.fmt_price(p,
                                              inst.price_scale) if p > 0 else "market"
                               for p in first["price"]]),
           {"client_order_id": "client order id", "side": "side", "price": "limit ($)",
            "qty": "quantity", "order_type": "type", "status": "status",
            "filled_qty": "filled", "strategy": "strategy"},
           formats={"quantity": ",d", "filled": ",d"})

# %% [markdown]
# ## 11.4 Latency, stage by stage
#
# Every iteration times each stage with `time.perf_counter_ns`. `tick_to_decision` runs from the
# chunk's arrival in the loop to the strategy's orders (book + features + model + signal +
# strategy); the journal's writes come after the decision and are timed apart. These numbers
# depend on the machine and on what else runs on it, so they change from run to run (the book's
# committed notebook shows one run on a shared two-core machine).

# %% tags=["nbval-ignore-output"]
lat = pd.DataFrame(summary.latency).T
lat = lat.loc[[s for s in STAGES if summary.latency[s]["n"]]]
print(f"throughput {summary.events_per_s:,.0f} events/s; p99 target "
      f"{config.latency.signal_us:g} µs met: {summary.targets_met['signal_us']}")
show.table(lat, {"n": "iterations", "p50_us": "median (µs)", "p99_us": "p99 (µs)",
                 "mean_us": "mean (µs)", "max_us": "max (µs)"},
           formats={"iterations": ",d", "median (µs)": ",.2f", "p99 (µs)": ",.2f",
                    "mean (µs)": ",.2f", "max (µs)": ",.2f"},
           index_names={"tick_to_decision": "tick to decision"}, index="stage")

# %% tags=["nbval-ignore-output"] mystnb={"figure": {"caption": "Distribution of the live loop's latency per chunk (\u00b5s, log axis) by stage, with the p99 target (dashed).", "name": "fig-live-latency"}, "image": {"alt": "Distributions of the live loop's latency per chunk for each stage on a log axis, with the dashed p99 target."}}
fig, ax = plt.subplots(figsize=(9, 4.5))
for stage in ("book", "signal", "strategy", "journal", "tick_to_decision"):
    if executor.metrics.count(stage):
        counts, edges = executor.metrics.histogram(stage, lo_ns=300, hi_ns=3e6)
        ax.stairs(counts / counts.sum(), edges / 1e3, label=stage,
                  lw=1.6 if stage == "tick_to_decision" else 1.0)
ax.axvline(config.latency.signal_us, color="k", ls="--", lw=0.8, label="target p99")
ax.set(xscale="log", xlabel="latency per chunk (µs)",
       ylabel="share of chunks (fraction)", title="Where the loop spends its time")
legend_outside(ax, "right")
plt.show()

# %% [markdown]
# Read the histogram from left to right. The book update and the signal cost a few microseconds
# each; the strategy stage includes the paper venue's matching and queue bookkeeping. Most of each
# stage is not arithmetic but the price of calling a compiled function from Python (checking and
# unboxing its arguments, a microsecond or two per call; a typed dictionary alone costs about
# 2 µs), which is why the venue and the strategy run in one compiled loop and return to Python
# only when an order must be journaled. The long right tail is the operating system and the other
# processes on the machine: a p99 is a property of the whole machine, not of the code. Most chunks
# write nothing to the journal; those that do pay a SQLite commit, the journal's long tail (hundreds
# of microseconds with `synchronous=NORMAL`, milliseconds with `FULL`, where every commit waits
# for the disk). That is why the journal is timed apart from the decision, and why production
# systems put it on a fast local disk, or in a separate thread with its own ordering guarantees.
#
# `benchmarks/bench_live.py` measures the same loop with the compiled model, the replay throughput
# against the backtester, and a compiled versus LightGBM single-row prediction.
#
# ## 11.5 The kill switch
#
# A kill switch cancels every open order, flattens the position with a {term}`market order <Market order>` and stops the
# strategy. It trips on
#
# - a **stale feed**: no market data for `feed.stale_after_s` seconds of the feed clock: a strategy
#   that trades on an old book trades on a market that no longer exists;
# - a **loss limit**: the session's {term}`P&L` (marked at the {term}`mid <Mid price>`) below `-risk.max_loss`;
# - a **manual stop**: the kill file appears, or the process receives `SIGUSR1`.
#
# Each demo replays the first `DEMO_EVENTS` events. For the stale feed, the data get a 30-second
# hole in the middle and the limit is 20 s.

# %%
demo = events[:DEMO_EVENTS]
demo_rows = None if book_rows is None else book_rows[:DEMO_EVENTS]
holed = demo.copy()
cut = len(holed) // 2
holed["ts"][cut:] += 30_000_000_000
holed["ts_local"][cut:] += 30_000_000_000
base = config.replace(risk={"max_loss": 5000}, kill_switch={"file": str(work / "KILL")})


def kill_demo(cfg, ev, on_chunk=None):
    ex = LiveExecutor(cfg, inst, levels=levels, on_chunk=on_chunk)
    s = ex.run(replay_feed(ev), book_rows=demo_rows)
    return {"tripped by": s.killed, "events seen": s.events, "orders": s.orders,
            "fills": s.fills, "final position": s.position, "P&L": round(s.pnl, 2)}


def touch_kill_file(ex, n):
    if n >= DEMO_EVENTS // 3 and not (work / "KILL").exists():
        (work / "KILL").write_text("stop")


rows_ = {"stale feed": kill_demo(base.replace(feed={"stale_after_s": 20}), holed),
         "max loss 100": kill_demo(base.replace(risk={"max_loss": 100}), demo),
         "kill file": kill_demo(base, demo, on_chunk=touch_kill_file)}
(work / "KILL").unlink(missing_ok=True)
pd.DataFrame(rows_).T

# %% [markdown]
# Each run ends flat and stops early (on a level-1 book a flattening market order can only take the
# visible best level: what remains expires, and the executor reports the residual position). The
# stale-feed run trips at the first chunk after the hole
# (the feed clock jumped 30 s), before the strategy acts on the new book; the loss limit trips at
# the wake-up where the marked P&L first falls below the limit (the same rule as the backtester's
# daily loss limit, so the backtest twin stops at the same point); the kill file is polled every
# 64 chunks and every 100 ms of the feed clock.
#
# ## 11.6 Crash and recovery
#
# A process can die at any instruction: killed by the operating system, a failed disk, a power
# cut. The journal is written so that this is harmless. Every change is one SQLite transaction
# (write-ahead log), so after a crash the journal holds exactly the changes that returned; every
# order has a deterministic client id and every fill the venue's trade id, so writing them again
# is a no-op; every 2000 events a **checkpoint** marks the inputs whose effects are all journaled.
#
# On start the executor calls {py:meth}`Journal.recover <companion.live.journal.Journal.recover>`: it rebuilds the positions and open orders from
# the journal, verifies every cached position against the raw fills, and returns the checkpoint.
# With a replay, the executor then re-runs the events up to the checkpoint *without writing* (a
# catch-up that rebuilds the book, the features and the paper venue's queues), checks that it
# reproduces the checkpoint's counts, and continues; whatever was journaled between the checkpoint
# and the crash is re-sent and ignored. (A live venue has no replay: there the executor takes the
# recovered positions and open orders, asks the venue for its own view, and reconciles the two
# before trading.)
#
# The demo runs `python -m companion live` in a subprocess that kills itself with `SIGKILL` after
# `CRASH_AFTER` events, in the middle of its work:

# %%
crash_cfg = config.replace(kill_switch={"file": None})
(work / "live.yaml").write_text(json.dumps(crash_cfg.to_dict()))  # JSON is YAML
cli = [sys.executable, "-m", "companion", "live", "--replay", spec, "--speed", "inf",
       "--max-events", str(DEMO_EVENTS), "--config", "live.yaml", "--journal",
       "crash.db", "--json"]
env = {**os.environ, "TQDM_DISABLE": "1"}
crashed = subprocess.run(cli + ["--crash-after-events", str(CRASH_AFTER)], cwd=work,
                         capture_output=True, text=True, env=env)
print(f"exit code {crashed.returncode} (-9 = killed by SIGKILL); stdout "
      f"{crashed.stdout!r}")
import sqlite3

with sqlite3.connect(
    work / "crash.db") as src, sqlite3.connect(work / "crashed_copy.db") as dst:
    src.backup(dst)  # keep the crashed journal as it was, for exercise 3
with Journal(work / "crash.db") as j:
    rec = j.recover()
    pos = rec.positions.get(inst.symbol)
print(f"recovered: checkpoint after event {rec.checkpoint:,};\n  {rec.n_orders} "
      f"orders, {rec.n_fills} fills, {len(rec.open_orders)} open orders, position "
      f"{pos.qty if pos else 0:g}, realised P&L "
      f"{(rec.realised_pnl - rec.fees) / inst.price_scale:,.2f}")

# %% [markdown]
# The restart is the same command. It resumes after the checkpoint and finishes the replay; the
# reference is the same replay without a crash (in this process):

# %%
again = subprocess.run(cli, cwd=work, capture_output=True, text=True, env=env)
resumed = json.loads(again.stdout.strip().splitlines()[-1])
from companion.commands.live import summary_json

ref = LiveExecutor(crash_cfg, inst, levels=levels, journal=work / "reference.db")
reference = summary_json(ref.run(replay_feed(demo, float("inf")), book_rows=demo_rows))
ref.journal.close()
keys = ["events", "orders", "fills", "position", "pnl", "resumed_from", "reconciled"]
print(pd.DataFrame({"restarted after the crash": {k: resumed[k] for k in keys},
                    "never crashed": {k: reference[k] for k in keys}}).to_string())
with Journal(work / "crash.db") as a, Journal(work / "reference.db") as b:
    print(f"journals identical: orders {a.orders() == b.orders()}, fills "
          f"{a.fills() == b.fills()}, risk events "
          f"{[e.kind for e in a.risk_events()] == [e.kind for e in b.risk_events()]}")

# %% [markdown]
# ## 11.7 Monitoring
#
# While it runs, the CLI rewrites one status line on stderr once a second; at the end of the day's
# replay it read:

# %% tags=["nbval-ignore-output"]
import textwrap

print(textwrap.fill(executor.status_text(), 88, subsequent_indent="  "))

# %% [markdown]
# In production the same numbers go to a metrics system and alarms, and the following are worth a
# page at night:
#
# | what | why | from |
# |---|---|---|
# | feed silence, sequence gaps, resyncs | trading on a stale or wrong book | the feed (`stale`, `stats`) |
# | tick-to-decision p99 against its target | a slow loop trades on old information | `metrics` |
# | position and P&L against the limits | the kill switch should never be the first to notice | venue, journal |
# | order-to-fill ratio, rejects, cancels | a runaway strategy, a venue limit, a bad price | journal |
# | journal write latency and checkpoint age | recovery time after a crash | journal |
# | venue position vs journal position | a lost fill or a double count | `reconciled` |
#
# The journal itself answers most questions after the fact: every risk event of the main run,

# %%
risk = pd.DataFrame([{"ts": e.ts, "kind": e.kind,
                      **e.detail} for e in journal.risk_events()])
print(risk["kind"].value_counts().to_string() if len(risk) else "no risk events")

# %% [markdown]
# ## 11.8 Before going live: a checklist
#
# 1. **Parity.** The live code path reproduces the backtest on recorded data, order for order (this
#    chapter's §11.3). Any difference is a bug until explained.
# 2. **Paper trading first.** Run the executor on live market data against the paper venue for
#    weeks: the feed, the clock, the recovery and the monitoring are tested on real conditions at
#    no cost. Compare paper fills with what the backtest of the same days says.
# 3. **Small size.** The first real orders are the smallest the venue accepts; the paper venue
#    knows nothing about your own market impact or about {term}`queue positions <Queue position>` it cannot see.
# 4. **Risk limits** outside the strategy and checked before every order: maximum position and
#    order size, a session loss limit, an order-rate limit, price collars (no order far from the
#    mid), a maximum spread, and a kill switch that any operator can trip. The venue's own limits
#    (cancel-on-disconnect, self-trade prevention, exchange-side kill switch) are a second layer.
# 5. **Crash drills.** Kill the process at random points (§11.6) and restart it: positions, open
#    orders and the journal must come back exactly. Test the venue disconnecting, the feed gapping,
#    the disk filling.
# 6. **Clocks.** Timestamps from a synchronised clock (PTP or NTP), checked; latency measured on
#    the machine that trades, at the percentiles that matter.
# 7. **Regulation.** Algorithmic trading is regulated: in the EU, MiFID II article 17 and its RTS 6
#    require pre-trade controls, a kill functionality, annual self-assessment and testing of
#    algorithms before deployment; in the US, the SEC Market Access Rule (15c3-5) requires a
#    broker's pre-trade risk controls, and FINRA rules cover algorithm registration and supervision.
#    Latency races on public venues are a known and studied cost {cite:p}`budish2015high,aquilina2022quantifying`.
#    Know the rules of your jurisdiction and venue, and keep the journal: it is your audit trail.
#
# ## 11.9 The market maker in the executor
#
# The executor takes any strategy object with a jitted kernel on the strategy context (the
# `strategy=` argument; the default is the configuration's signal trader). The market maker of
# §7.6 and §9.6 runs in it unchanged. Live it is built before the first event, so its volatility
# and trade-intensity estimates are fixed numbers here (σ = 1 tick per √s, A = k = 1), and its
# alpha is the composite imbalance the live front computes as events arrive. The same parity as
# in §11.3 must hold: the replayed day through the executor gives the backtest's orders and
# fills, field for field.

# %%
maker = GLFT(gamma=0.05, sigma=1.0, A=1.0, k=1.0, alpha="imbalance", alpha_scale=2.0)
mm_config = config.replace(risk={"max_loss": None})   # the whole day: no loss limit
mm_exec = LiveExecutor(mm_config, inst, levels=levels, strategy=maker)
mm_sum = mm_exec.run(replay_feed(events[:n_run]), book_rows=book_rows)
mm_live = mm_exec.venue.result()
mm_bt = run_backtest(events[:n_run], mm_live.book, inst, maker,
                     execution=mm_config.execution_config(inst))
mm_same = all(np.array_equal(mm_live.orders[f], mm_bt.sim.orders[f],
                             equal_nan=mm_live.orders[f].dtype.kind == "f")
              for f in mm_bt.sim.orders.dtype.names)
print(f"market maker live: {mm_sum.events:,} events, {mm_sum.orders:,} orders, "
      f"{mm_sum.fills:,} fills")
print(f"P&L {mm_sum.pnl:,.2f}; kill switch: {mm_sum.killed}")
print(f"backtest: {len(mm_bt.sim.orders):,} orders, {len(mm_bt.sim.fills):,} fills; "
      f"identical orders: {mm_same}; identical fills: "
      f"{np.array_equal(mm_live.fills, mm_bt.sim.fills)}")

# %% [markdown]
# The maker ran through the whole replayed day without tripping the kill switch and lost
# 14,576.55 $ with these fixed parameters (not the walk-forward ones of §9.6). Its 100,001 orders
# are the order budget at work: the maker stops quoting once it has sent `max_orders` = 100,000
# orders (the size of the venue's buffers), so on this day it quotes for part of the session only.
# The backtest of the same day gives the same 100,001 orders and 15,191 fills, field for field:
# the market maker carries over to the live loop exactly as the signal trader of §11.3 does.
#
# ## Exercises
#
# ```{exercise}
# :label: ex-11-1
# Raise the order-entry latency of the paper venue from 100 µs to 20 ms (`venue.entry_latency_ns`)
# and replay the first `DEMO_EVENTS` events. How do the number of fills and the P&L change? Use the
# backtester's twin of the run to get the same answer without the executor.
# ```
#
# ```{solution-start} ex-11-1
# :class: dropdown
# ```

# %%
slow = {}
for us in (100, 20000):
    cfg = base.replace(venue={"entry_latency_ns": us * 1000})
    s = LiveExecutor(cfg, inst, levels=levels).run(replay_feed(demo),
                                                   book_rows=demo_rows)
    twin = run_backtest(demo, executor.venue.result().book[:len(demo)], inst,
                        cfg.strategy_object(), execution=cfg.execution_config(inst))
    slow[f"{us} µs"] = {"orders": s.orders, "fills": s.fills, "P&L": round(s.pnl, 2),
                       "twin fills": len(twin.sim.fills),
                        "twin net P&L": round(twin.pnl()["net"], 2)}
pd.DataFrame(slow).T.astype({"orders": int, "fills": int, "twin fills": int})

# %% [markdown]
# The executor and its twin agree at both latencies (the twin's net P&L closes any open position at
# the last mid, as the executor's marked P&L does). A slower order reaches the book later: limit
# entries join the queue behind more orders, market exits meet a book that has moved, and every
# decision was taken on an older book. On this slow market 1 ms would change almost nothing: an
# event arrives every 60 ms on average.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-11-2
# At real-time speed, which values of `feed.stale_after_s` would trip the kill switch on this day's
# data *without* an injected hole? Find the longest silence between two consecutive exchange
# timestamps, and check with the executor on the events around it.
# ```
#
# ```{solution-start} ex-11-2
# :class: dropdown
# ```

# %%
gaps = np.diff(events["ts"][:n_run])
g = int(np.argmax(gaps))
print(f"longest silence: {gaps[g] / 1e9:.3f} s after event {g:,}")
around = events[max(0, g - 2000): g + 2000]
for limit in (0.5 * gaps[g] / 1e9, 2 * gaps[g] / 1e9):
    s = LiveExecutor(config.replace(feed={"stale_after_s": round(limit, 3)}), inst,
                     levels=levels).run(
        replay_feed(around), book_rows=None if book_rows is None else book_rows[max(
            0, g - 2000): g + 2000])
    print(f"stale_after_s = {limit:.3f}: kill switch {s.killed}")

# %% [markdown]
# Any limit below the longest natural silence trips on a healthy feed. A real limit is set from the
# distribution of silences in quiet periods (and per market: a crypto feed publishes several times
# a second even when nothing trades), with a heartbeat or a subscription to a busy stream to tell
# a quiet market from a dead connection.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-11-3
# The crashed process of §11.6 had journaled some orders and fills *after* its last checkpoint
# (a copy of its journal is in `crashed_copy.db`). How many? The restart sends them again: show
# that journaling them a second time changes nothing.
# ```
#
# ```{solution-start} ex-11-3
# :class: dropdown
# ```

# %%
with Journal(work / "crashed_copy.db") as j:
    r = j.recover()
    cp = r.checkpoint_state
    late_orders = j.orders()[cp["orders"]:]
    late_fills = j.fills()[cp["fills"]:]
    print(f"checkpoint after event {r.checkpoint:,}: {cp['orders']} orders, "
          f"{cp['fills']} fills;\n  journaled after it: {len(late_orders)} orders, "
          f"{len(late_fills)} fills")
    again_o = [j.record_order(o.client_order_id, o.symbol, o.ts, o.side, o.price,
                              o.qty, o.order_type, o.strategy)
               for o in late_orders]
    again_f = [j.record_fill(f.fill_id, f.client_order_id, f.ts, f.price, f.qty,
                             f.side, f.liquidity, f.fee)
               for f in late_fills]
    print(f"re-journaled: {sum(again_o)} orders and {sum(again_f)} fills changed the "
          f"journal; position still {j.position(inst.symbol).qty:g}")

# %% [markdown]
# Every write returns `False`: an order is identified by its client id and a fill by the venue's
# trade id, so a duplicate is recognised and ignored (and a duplicate with *different* fields
# raises: the same id cannot mean two things). Order updates and risk events carry the input
# sequence number instead, and an update older than the order's last one is skipped. That is what
# lets the executor restart from a checkpoint without knowing exactly where it died: re-sending
# is always safe, losing a write never happens (it is one transaction), and the checkpoint only
# bounds how much is re-sent.
#
# ```{solution-end}
# ```

# %% [markdown]
# ```{admonition} Key takeaways
# :class: tip
#
# - The live executor replays the day order for order and fill for fill like the backtester
#   (3,937 orders, 1,183 fills, net -1,945.61), and its journal reconciles with the venue.
# - The kill switch trips on a stale feed, on the loss limit and on a kill file, and each time
#   leaves a flat position.
# - After a SIGKILL the executor recovers from its journal and checkpoint and ends with the same
#   orders, fills and P&L as a run that never crashed.
# - The configuration is validated: a wrong type or an unknown key is refused with one line
#   naming it.
# ```
