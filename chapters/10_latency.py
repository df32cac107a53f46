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
# (ch10)=
# # 10. Latency
#
# **What you will learn**
#
# - where the time goes between a market event and our order reaching the exchange, and which
#   orders of magnitude the literature documents (and which it does not);
# - how to measure what {term}`latency <Latency>` costs a strategy: the same strategy replayed through the
#   simulator with a feed delay or an order delay from 0 to 1 s, with its {term}`P&L`, {term}`fill rate <Fill rate>` and the
#   {term}`adverse selection <Adverse selection>` of its fills;
# - how fast a signal goes stale: the {term}`information coefficient <IC>` of a forecast used $d$ late, an
#   exponential fit and the half-life with a bootstrap interval;
# - how much compute our own {term}`tick-to-trade <Tick-to-trade>` path spends per event, stage by stage, against the
#   design's targets;
# - what {term}`co-location <Co-location>` buys and what it cannot.
#
# The chapter runs on the seeded synthetic day by default; set `DATA = "lobster:AAPL:1"` to run it
# on a real LOBSTER sample.

# %% tags=["parameters"]
# dataset SPEC: synthetic[:SEED], lobster:TICKER:LEVEL, or a message-file path
DATA = "synthetic"
SEED = 7            # seed of the synthetic day (used when DATA is synthetic)
ENTRY = "limit"     # the scalper's entry orders: limit (join the best quote) or market
HORIZON_S = 1.0     # forward mid-move horizon of the signal-decay IC (seconds)
# forecast delays d (seconds)
DELAYS_S = [0, 0.01, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60]
N_BOOT = 300        # block-bootstrap replicates for the half-life interval
BUDGET_EVENTS = 20000  # events timed per stage in the compute budget

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import companion
from companion import display as show
from companion import signals as sg
from companion.backtest import ImbalanceScalper
from companion.backtest.latency import format_ns, latency_sweep
from companion.events import NS
from companion.live.budget import compute_budget
from companion.models.decay import signal_decay, value_at
from companion.plotting import legend_outside, use_course_style

use_course_style()
pd.set_option("display.precision", 3)
spec = f"synthetic:{SEED}" if DATA == "synthetic" else DATA
data = companion.load(spec)
events, rows, inst = data.events, data.book, data.instrument
ts = events["ts"]
gaps = np.diff(ts)
print(f"{inst.symbol} {inst.date}: {len(events):,} events, {inst.levels} book "
      f"levels; "
      f"\nmedian gap between events {np.median(gaps) / 1e6:.3f} ms, "
      f"{np.mean(gaps < 1_000_000):.3f} of the gaps under 1 ms, "
      f"{np.mean(gaps < 10_000):.3f} under 10 µs")

# %% [markdown]
# ## 10.1 Where the time goes
#
# A tick-to-trade path has five legs: the exchange publishes an event; the event travels to us
# (network); we update the book, the features and the model and decide (compute); the order
# travels back (network); the matching engine processes it (exchange). The table collects the
# orders of magnitude that the course's reference notes document. Each row carries the note's
# verification level: **[P]** read in a full-text copy of the paper, **[S]** taken from a careful
# secondary note that quotes it. Only [P] and [S] items are cited here; in particular the notes
# found **no primary source** for co-located tick-to-trade or exchange-gateway times, so the
# table gives none: section 10.5 measures our own compute instead.
#
# | leg or quantity | order of magnitude | source | level |
# |---|---|---|---|
# | light in fibre | about 5 µs per km (200,000 km/s) | network engineering notes | [S] |
# | Chicago–New Jersey round trip | fibre about 16 → 13 ms (2010); microwave about 8 ms | Spread Networks; industry notes | [S] |
# | winner's margin in a latency race (LSE, FTSE 350, 2015) | modal 5–10 µs | {cite:t}`aquilina2022quantifying` | [P] |
# | duration of an ES–SPY arbitrage opportunity | median 97 ms (2005) → 7 ms (2011) | {cite:t}`budish2015high` | [S] |
# | ES–SPY return correlation (2011) | 0.008 at 1 ms, 0.10 at 10 ms, 0.98 at 1 min | {cite:t}`budish2015high` | [S] |
# | SPY / ES reaction to macro news | within 5 ms | {cite:t}`chordia2018rent` | [S] |
# | {term}`OFI <Order-flow imbalance (OFI)>` before a fill predicts the move after it | over 50–200 ms only | {cite:p}`cont2014price`, section 4.1 | [P] |
# | share of 5-s predictability in the last 10 ms / 10 trades | about 80% | {cite:t}`aitsahalia2022predictable` | [S] |
#
# Two scales stand out. Races between the fastest firms are decided in microseconds, less than
# the time light needs to cross a few kilometres of fibre; that game is not played in Python. The
# information in order-book signals, on the other hand, lives for tens to hundreds of
# milliseconds: that is the scale on which a research stack's latency decides whether a signal is
# still worth anything when the order arrives. {cite:t}`aquilina2022quantifying` also put a price on
# the race: a "latency-arbitrage tax" of 0.42 {term}`bp <Basis point>` of traded volume, about a sixth of the cost of
# liquidity [P]; {cite:t}`stoikov2016waeber` prove that the value of an imbalance-driven execution
# strategy is non-increasing in latency and measure 0.32 {term}`tick <Tick>` of savings at 1 ms against 0.17 at
# 1000 ms on US Treasury futures [S].
#
# ## 10.2 Latency in the simulator
#
# The simulator ({py:mod}`companion.sim <companion.sim>`) follows hftbacktest's split into three channels:
#
# - **feed**: an exchange event with time $t$ reaches the strategy at $t + \ell_{\text{feed}}$;
# - **order entry**: an order sent at $t$ reaches the matching engine at $t + \ell_{\text{entry}}$
#   and meets the book as it is then;
# - **response**: an acknowledgement or fill reaches the strategy $\ell_{\text{resp}}$ after the
#   engine produced it; until then the strategy does not know its position.
#
# {py:func}`latency_sweep <companion.backtest.latency.latency_sweep>` runs one strategy once per latency $L$ on a log-spaced grid
# (0, 10 µs, 100 µs, 1 ms, 10 ms, 100 ms, 1 s) and per channel: `feed` sets
# $\ell_{\text{feed}} = L$; `order` sets $\ell_{\text{entry}} = \ell_{\text{resp}} = L$ (a round
# trip of $2L$); the other channel stays at 0. Besides P&L and fill rate, it measures the
# **adverse selection** of the fills over a horizon $h$, in ticks:
#
# $$
# A_h = -\frac{\sum_f q_f\, s_f \big(M(t_f + h) - M(t_f^-)\big)}{\delta \sum_f q_f},
# $$
#
# with $s_f = +1$ for a buy and $-1$ for a sell, $q_f$ the quantity, $M(t_f^-)$ the {term}`mid <Mid price>` of the book
# the fill met and $\delta$ the tick. $A_h > 0$: the mid moved against us after we traded; a
# signal that works shows $A_h < 0$ on the fills it chose.
#
# ## 10.3 The latency sweep
#
# The strategy is the imbalance scalper of the {term}`backtesting <Backtest>` chapter: it enters on a STRONG
# composite-imbalance signal ({term}`limit order <Limit order>` at the best quote, or {term}`market order <Market order>`, as `ENTRY` says),
# leaves on the opposite signal or after 10 s, with no fees.

# %%
strategy = ImbalanceScalper(entry=ENTRY)
sweep = latency_sweep(events, rows, inst, strategy, channels=("feed", "order"))
measures = {"trades": "trades", "fill_rate": "fill rate", "net_pnl": "net P&L",
            "pnl_mid": "P&L at mids", "pnl_per_trade": "net P&L per trade",
            "slippage_bps": "slippage (bps)", "adverse_1s": "adverse sel. 1 s (ticks)",
            "adverse_10s": "adverse sel. 10 s (ticks)"}
fmts = {name: ".3f" for name in measures.values()}
fmts.update({"trades": ",d", "net P&L": ",.2f", "P&L at mids": ",.2f"})


def by_latency(g):
    """One sweep channel with its latencies as labels (0, 10 us, ..., 1 s)."""
    labels = [format_ns(s * NS) if s > 0 else "0" for s in g["latency_s"]]
    return g.set_axis(labels)


for ch, g in sweep.groupby("channel", sort=False):
    print(f"latency on the {ch} channel (P&L in currency units):")
    display(show.table(by_latency(g), measures, formats=fmts, transpose=True,
                       index="one-way latency"))

# %% mystnb={"figure": {"caption": "Net P&L (currency), fill rate (filled / submitted) and adverse selection over 1 s (ticks) against one-way latency $L$ (s, log axis; $L = 0$ drawn at 1 \u00b5s), per latency channel.", "name": "fig-latency-pnl"}, "image": {"alt": "Three panels against one-way latency on a log axis: net P&L, fill rate and adverse selection, one line per latency channel."}}
x0 = 1e-6  # where L = 0 sits on the log axis
fig, axes = plt.subplots(3, 1, figsize=(8, 8.5), sharex=True, layout="constrained")
for ch, g in sweep.groupby("channel", sort=False):
    x = np.maximum(g["latency_s"], x0)
    axes[0].plot(x, g["net_pnl"], "o-", label=ch)
    axes[1].plot(x, g["fill_rate"], "o-", label=ch)
    axes[2].plot(x, g["adverse_1s"], "o-", label=ch)
ticks = [x0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]
for ax, title, ylab in zip(axes, ["net P&L", "fill rate", "adverse selection over 1 s"],
                           ["net P&L (currency)", "fill rate (filled / submitted)",
                            "adverse selection (ticks)"]):
    ax.set_xscale("log")
    ax.set_xticks(ticks, ["0", "10µs", "100µs", "1ms", "10ms", "100ms", "1s"])
    ax.set_ylabel(ylab)
    ax.set_title(f"{inst.symbol}: {title}")
axes[-1].set_xlabel("one-way latency $L$ (s)")
axes[2].axhline(0, color="0.5", lw=0.8)
legend_outside(axes[0], "right", title="channel")
plt.show()

# %%
z = sweep[sweep["latency_ns"] == 0].iloc[0]
for ch in ("feed", "order"):
    g = sweep[sweep["channel"] == ch].set_index("latency_ns")
    changed = g.index[(g["trades"] != z["trades"]) | (g["fills"] != z["fills"])]
    first = format_ns(changed.min()) if len(changed) else "never"
    print(f"{ch:>5}: net P&L {z['net_pnl']:.2f} at 0 -> "
          f"{g.loc[10_000_000, 'net_pnl']:.2f} at 10 ms -> {g.loc[NS, 'net_pnl']:.2f} "
          f"at 1 s;\n       adverse selection (1 s) {z['adverse_1s']:.3f} -> "
          f"{g.loc[NS, 'adverse_1s']:.3f} ticks;\n"
          f"       first latency that changes the trades: {first}")

# %% [markdown]
# Read the sweep from the left. A latency far below the gap between two events changes little:
# the order meets the same book, because no other event arrives in between. How early the runs
# start to differ depends on how bursty the data are (the first cell prints the share of gaps
# under 1 ms and under 10 µs): in a burst of events with the same or nearly the same time stamp,
# a trade and the book updates it causes, any delay at all makes the strategy act on the next
# event of the burst before it knows its own fill, or on a book its order no longer meets. Beyond
# the typical gap, the fills change in character: the adverse selection tends to rise with
# latency, since the signal that chose the moment to trade is staler when the order meets the
# book. On the synthetic day the feed channel shows this steadily; the order channel is not
# monotone (its fills first get slightly *more* favourable) until the longest latency, where both
# channels' fills are clearly less favourable than at zero. The P&L
# need not fall monotonically, because the strategy also trades at different moments and a
# different number of times, and a {term}`maker <Maker / taker>` strategy's fill rate can even rise with latency: a late
# limit order joins the queue of a book that has already moved towards it. The effect to look for
# is in the quality of the fills (adverse selection, P&L per trade), not in their number.
#
# ## 10.4 How fast does a signal decay?
#
# The sweep mixes the signal's decay with queue dynamics and exits. The signal alone is simpler
# to study. On a clock grid $t_j$ (every 250 ms), take the forecast observed at $t_j - d$ and the
# forward mid move over $(t_j, t_j + h]$ in ticks, and compute Spearman's rank correlation (the
# information coefficient):
#
# $$
# \mathrm{IC}(d) = \rho_S\big(x(t_j - d),\; M(t_j + h) - M(t_j)\big).
# $$
#
# The targets are the same for every $d$; only the forecast's age changes. A natural model is an
# exponential decay, fitted by least squares over the delay grid,
#
# $$
# \mathrm{IC}(d) = \mathrm{IC}_0\, e^{-d/\tau}, \qquad t_{1/2} = \tau \ln 2 .
# $$
#
# For a fixed $\tau$ the best $\mathrm{IC}_0$ has a closed form, so {py:func}`signal_decay <companion.models.decay.signal_decay>` scans $\tau$ on a
# fine logarithmic grid and refines the minimum. The interval comes from a block bootstrap: the
# day is cut into 30-minute blocks, blocks are drawn with replacement, the IC curve is recomputed
# and refitted, and the interval is the 5th to 95th percentile of the refitted half-lives. We
# study two signals, computed event by event by {py:mod}`companion.signals <companion.signals>`: the scalper's composite
# imbalance (a state of the book) and the trailing 10-second OFI of
# {cite:p}`cont2014price` (a flow).

# %%
mid = sg.mid_price(rows)
L = min(5, rows.shape[1] // 4)
signals = {
    "composite imbalance": sg.imbalance_components(
        rows, events, levels=L, tick=inst.tick)["composite"].to_numpy(),
    "OFI 10 s": sg.trailing_ofi(rows, ts, 10 * NS, 1),
}
delays = (np.array(DELAYS_S) * NS).astype(np.int64)
decay = {name: signal_decay(ts, x, mid, delays, horizon_ns=int(HORIZON_S * NS),
                            tick=inst.tick, t0=inst.session_open_ns or None,
                            t1=inst.session_close_ns or None, n_boot=N_BOOT,
                            seed=SEED)
         for name, x in signals.items()}
fit_names = {"ic0": "IC at zero delay", "tau_s": "decay time τ (s)",
             "half_life_s": "half-life (s)", "half_life_lo_s": "half-life, 90% low (s)",
             "half_life_hi_s": "half-life, 90% high (s)", "r2": "fit R²",
             "n_samples": "samples", "n_blocks": "bootstrap blocks"}
fit_fmts = {name: ".3f" for name in fit_names.values()}
fit_fmts.update({"samples": ",d", "bootstrap blocks": ",d"})
show.table(pd.DataFrame({name: r.summary() for name, r in decay.items()}).T, fit_names,
           formats=fit_fmts, transpose=True, index="decay fit")

# %% mystnb={"figure": {"caption": "Signal decay: IC of each signal observed with delay $d$ against the forward mid move, with a 90% block-bootstrap band and the fitted exponential decay.", "name": "fig-signal-decay"}, "image": {"alt": "IC of each signal against observation delay with a shaded bootstrap band and a fitted exponential decay."}}
fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True, layout="constrained")
for ax, (name, r) in zip(axes, decay.items()):
    t = r.table
    x = np.maximum(t["delay_s"], 1e-3)
    ax.fill_between(x, t["ic_lo"], t["ic_hi"], color="C0", alpha=0.2,
                    label="90% bootstrap band")
    ax.plot(x, t["ic"], "o", color="C0", label="IC(d)")
    dd = np.geomspace(1e-3, max(DELAYS_S), 200)
    if np.isfinite(r.tau_s):
        ax.plot(dd, r.ic0 * np.exp(-dd / r.tau_s), color="C1",
                label=f"fit: half-life {r.half_life_s:.2f} s")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylabel(f"IC with the {HORIZON_S:g} s move\n(dimensionless)")
    ax.set_title(f"{inst.symbol}: {name}")
    legend_outside(ax, "right", fontsize=9)
axes[-1].set_xlabel("delay $d$ (s; 0 drawn at 1 ms)")
plt.show()
for name, r in decay.items():
    lo, hi = r.half_life_ci
    print(f"{name}: IC0 {r.ic0:.4f}, half-life {r.half_life_s:.3f} s\n  "
          f"(90% block bootstrap {lo:.3f} - {hi:.3f} s, {r.n_blocks} blocks), fit R² "
          f"{r.r2:.3f}")

# %% [markdown]
# The composite imbalance is a picture of the book now: its information is about the next moves
# of the mid, and it is gone within a few seconds. Its half-life is the number to compare with
# the latencies of section 10.1: a forecast that loses half of its value in a fraction of a second
# is untouched by microseconds, barely touched by a few milliseconds, and badly damaged by the
# 100 ms to 1 s that a slow research loop, a remote connection or a batch job adds.
#
# The trailing OFI sums ten seconds of flow, so a delay of $d$ leaves most of its window in place:
# if it carried information about the next second, one would expect it to decay more slowly and
# not exponentially (a window that slides out of the present decays roughly linearly until $d$
# reaches the window). On the synthetic day there is almost nothing to decay: its IC is at most
# about a hundredth at any delay, an order of magnitude below the composite's, slightly negative
# at short delays (a faint reversal) and slightly positive at a few seconds (chapter 4 found the
# same: trailing OFI describes the move it came with, not the next one). Its fitted half-life
# describes how that faint negative IC fades, not a usable signal, and the bootstrap interval,
# open to infinity, and the low $R^2$ say so. The fit's $R^2$ and interval say when the half-life
# is a fair one-number summary. On real data CKS find order-flow information on the same fast
# scale as the composite's: OFI just before a fill predicts the move after it, but only over
# 50–200 ms {cite:p}`cont2014price`.
#
# ## 10.5 The compute budget
#
# Our own path adds compute. {py:func}`compute_budget <companion.live.budget.compute_budget>` replays events one at a time and times each stage
# with `time.perf_counter_ns` in this process, after warm-up (compiled, caches filled):
#
# 1. **book update**: the book engine's hot loop on one event;
# 2. **imbalance signal**: the scalper's composite imbalance and its class from the new row;
# 3. **features**: the streaming feature engine ({py:class}`companion.features.FeatureEngine <companion.features.FeatureEngine>`) on the
#    one-event chunk, for the model's features;
# 4. **model**: a {term}`LightGBM` classifier compiled to numba ({py:mod}`companion.models.compiled <companion.models.compiled>`), one row;
# 5. **decision**: the model rule (P(up) threshold confirmed by OFI).
#
# The *signal path* (book + signal) is the scalper's tick-to-decision compute; *features + model*
# is the model strategy's. The design's targets are under 10 µs and under 1 ms. The `batch`
# column runs the same kernels once over all the timed events and divides by their number: the
# compute without Python's per-call overhead. We train a small model first (100 trees of at most
# 15 leaves on the first half of the day, target: the sign of the next 10-s mid move).

# %%
from companion.features import compute as compute_features
from companion.models.compiled import compile_model
from companion.models.train import DirectionClassifier

model_features = ["ofi_1s", "ofi_10s", "composite_imb", "vol_imb_1", "dw_imb",
                  "spread_ticks", "microprice_dev_ticks", "trade_imb_10s"]
X = compute_features(events, rows, inst, features=model_features)
t_grid = (X.index.to_numpy().astype("datetime64[ns]").astype(np.int64)
          - pd.Timestamp(inst.date).value)
mid_f = pd.Series(mid).ffill().to_numpy()
ahead = value_at(ts, mid_f, t_grid + 10 * NS) - value_at(ts, mid_f, t_grid)
fit_rows = ((~np.isnan(ahead)) & (ahead != 0) & X.notna().all(axis=1).to_numpy()
            & (np.arange(len(X)) < len(X) // 2))
clf = DirectionClassifier(n_estimators=100, num_leaves=15, max_depth=4,
                          random_state=SEED)
clf.fit(X[fit_rows], (ahead[fit_rows] > 0).astype(int))
model = compile_model(clf)
import textwrap

print(f"{int(fit_rows.sum()):,} training samples;")
print(textwrap.fill(str(model), 88, subsequent_indent="  "))

# %% tags=["nbval-ignore-output"]
budget = compute_budget(events, rows, inst, model=model, n_events=BUDGET_EVENTS,
                        warmup=2000)
times = budget.assign(p50=budget["p50_ns"].map(format_ns),
                      p99=budget["p99_ns"].map(format_ns),
                      batch=budget["batch_ns"].map(format_ns),
                      target=budget["target_ns"].map(format_ns))
show.table(times.set_index("stage"),
           {"p50": "median", "p99": "p99", "batch": "batch",
            "target": "target", "within_target": "within target"},
           formats={"within target": ""})

# %% tags=["nbval-ignore-output"] mystnb={"figure": {"caption": "Compute time per event (\u00b5s, log axis) per pipeline stage on this machine: p50 (bars), p99 (red dots), batch kernel (black ticks); dashed: the 10 \u00b5s signal-path target. Timings vary from run to run.", "name": "fig-compute-time"}, "image": {"alt": "Bars of compute time per event for each pipeline stage on a log axis, with red p99 dots, black batch ticks and a dashed 10 microsecond target."}}
b = budget.set_index("stage")
fig, ax = plt.subplots(figsize=(9, 3.6))
stages = ["book update", "imbalance signal", "features", "model", "decision"]
ax.barh(stages, b.loc[stages, "p50_ns"] / 1e3, color="C0",
        label="p50, one call per event")
ax.scatter(b.loc[stages, "p99_ns"] / 1e3, stages, color="C3", zorder=3, label="p99")
ax.scatter(b.loc[stages, "batch_ns"] / 1e3, stages, color="k", marker="|", s=200,
           zorder=3, label="batch (kernel only)")
ax.axvline(10, color="C2", ls="--", lw=1, label="signal-path target 10 µs")
ax.set_xscale("log")
ax.set_xlabel("compute time per event (µs)")
ax.set_ylabel("pipeline stage")
ax.invert_yaxis()
legend_outside(ax, "right", fontsize=9)
ax.set_title("Compute per event and stage (this machine, this run)")
plt.show()
print(f"signal path p99 {format_ns(b.loc['signal path', 'p99_ns'])} "
      f"(target 10 us);\n"
      f"features + model p99 {format_ns(b.loc['features + model', 'p99_ns'])} "
      f"(target 1 ms);\ntimer overhead "
      f"{format_ns(b.loc['timer overhead', 'p50_ns'])}")

# %% [markdown]
# The numbers vary from run to run and machine to machine (so this notebook's checks ignore
# them), but their shape does not. The kernels themselves cost tens to hundreds of nanoseconds per
# event (the batch column; the model's tree walk, a couple of microseconds per row, is the
# dearest); one Python call into a compiled kernel costs a microsecond or more.
# A path that calls one kernel per stage per event is therefore dominated by the calls, not by
# the compute, and the feature engine, which crosses the Python layer once per feature group,
# pays most. The features + model path's median stays far inside its 1 ms; the signal path's median sits
# at a few microseconds, near its 10 µs target, and its tail (p99: a garbage collection, a cache
# miss, another process on the core) can exceed it. The remedy is structural: move the whole per-event loop
# into one compiled function (as the simulator's fast path does), or process events in small
# batches; both bring the path close to the batch column.
#
# Put the three measurements side by side: microseconds of compute, milliseconds of network, and
# a signal half-life of a fraction of a second. For a signal like the composite imbalance, the
# network leg and a slow decision loop matter; the last microsecond does not.
#
# ## 10.6 What co-location buys, and what it cannot
#
# Co-location, a server in the exchange's data centre, removes the network leg between us and
# the matching engine: kilometres of fibre become metres of cable, and the round trip falls from
# milliseconds to microseconds. It buys:
#
# - **fresher signals**: on the decay curve of section 10.4 we move to the left, towards
#   $\mathrm{IC}_0$;
# - **better {term}`queue position <Queue position>`** for passive orders, and the chance to cancel a quote before it is
#   picked off: lower adverse selection, the effect the sweep shows at long latencies (on one
#   day, not a monotone one);
# - **a chance in races**, whose winner's margin is 5–10 µs (Aquilina, Budish and O'Neill [P]).
#
# It cannot buy:
#
# - **a signal that is not there**: co-location moves us to $d = 0$, and $\mathrm{IC}_0$ is the
#   ceiling. A signal with no edge at zero delay has none when co-located;
# - **the speed of light between venues**: a strategy that reads one market to trade another
#   (Chicago futures and New Jersey equities) still waits 4 ms each way by microwave; co-locating
#   at one end does not shorten the path;
# - **the race itself**: the top six firms win about 82% of the races in the LSE data [P];
#   being fast is necessary, being the fastest is an arms race with its own economics;
# - **the {term}`spread <Spread>` and the fees**: a strategy that pays the half-spread on every exit pays it at
#   any latency; compare the sweep's net P&L with its P&L at mids.
#
# ## 10.7 The market maker against latency
#
# The sweep above is a taker's story: latency makes its signal stale. A market maker (chapters
# 7.6 and 9.6) is hurt in two other ways. Its quotes reach the book later, behind orders that
# arrived in the meantime or after the moment they were meant for, so it trades less; and a
# quote it wants to move (because
# the mid or the imbalance moved) stays in the book for one more round trip, where it can be
# picked off by the informed order that moved the mid: adverse selection. The maker and the taker
# of section 9.6 (GLFT quotes, parameters chosen walk-forward on the first half of the day at
# 100 µs, exact FIFO queue) run on the second half of the day at each order latency; on the
# synthetic day, and on the AAPL LOBSTER sample when the shared data are present.

# %%
from companion.data import shared_data_dir
from companion.study.studies import DEFAULTS as STUDY_DEFAULTS
from companion.study.studies import mm_walk_forward

# the first latency is where the walk-forward fit runs
LAT_MM_US = [100.0, 0.0, 1_000.0, 10_000.0, 100_000.0]
mm_sets = {f"{inst.symbol} ({DATA})": (events, rows, inst)}
sh = shared_data_dir()
aapl_files = ([] if sh is None
              else list((sh / "lobster").glob("AAPL_*_message_1.csv")))
if DATA == "synthetic" and aapl_files:
    aapl = companion.load("lobster:AAPL:1")
    mm_sets["AAPL (LOBSTER)"] = (aapl.events, aapl.book, aapl.instrument)
p_mm = {**STUDY_DEFAULTS["mm"], "queues": ("fifo",), "latencies_us": tuple(LAT_MM_US)}
mm_rows = []
for name, (ev_, bk_, in_) in mm_sets.items():
    tick_ccy = float(in_.tick) / float(in_.price_scale)
    for r in mm_walk_forward(ev_, bk_, in_, p_mm):
        per = max(r["volume"], 1e-12) * tick_ccy
        mm_rows.append({"data": name, "strategy": r["strategy"],
                        "latency (µs)": r["latency_us"],
                        "fills": r["fills"], "net": r["net"],
                        "spread capture (ticks/share)": r["spread_capture"] / per,
                        "adverse sel. 1 s (ticks/share)": r["adverse_selection"] / per,
                        "time at touch": r.get("touch_time", np.nan),
                        "queue at arrival": r.get("queue_at_arrival", np.nan)})
mm_lat = (pd.DataFrame(mm_rows).query("strategy != 'maker+alpha'")
          .sort_values(["data", "strategy", "latency (µs)"])
          .set_index(["data", "strategy", "latency (µs)"]))
mm_lat.round(3)

# %% mystnb={"figure": {"caption": "The maker (solid) and the taker (dashed) against the order latency (log axis; $L = 0$ drawn at 1 µs): fills over the test half of the day, spread capture and adverse selection over one second per share traded (ticks; adverse selection positive = the mid moved against the fills).", "name": "fig-mm-latency"}, "image": {"alt": "Three panels against order latency on a log axis: fills, spread capture per share and adverse selection per share, for the maker and the taker."}}
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for (name, st), g in mm_lat.reset_index().groupby(["data", "strategy"], sort=False):
    x = np.maximum(g["latency (µs)"] * 1e-6, x0)
    ls = "-" if st == "maker" else "--"
    cols = ["fills", "spread capture (ticks/share)", "adverse sel. 1 s (ticks/share)"]
    for ax, col in zip(axes, cols):
        ax.plot(x, g[col], marker="o", ls=ls, label=f"{name}, {st}")
for ax, ylab in zip(axes, ["fills over the test half",
                           "spread capture (ticks per share)",
                           "adverse selection over 1 s (ticks per share)"]):
    ax.set_xscale("log")
    ax.set_xticks([x0, 1e-4, 1e-3, 1e-2, 1e-1], ["0", "100µs", "1ms", "10ms", "100ms"])
    ax.set(xlabel="one-way order latency $L$ (s)", ylabel=ylab)
    ax.axhline(0, color="0.5", lw=0.8)
axes[0].legend(fontsize=7)
plt.show()

# %% [markdown]
# The two strategies are hurt by latency in different ways. The taker's spread cost per share does
# not change with latency (it pays the half-spread at any speed), but its favourable selection
# fades: on AAPL the mid's move in its favour over the second after a fill shrinks from about
# 0.4 tick per share at zero latency to about 0.1 tick at 100 ms, the signal going stale as in
# section 10.4. The maker loses fills instead: on AAPL they fall by about 40 % from zero to
# 100 ms, with a slightly smaller spread capture per share. Its filled quotes had nobody ahead of
# them at their price when they arrived (the median queue at arrival is zero at every latency: the
# GLFT quotes mostly open a new level inside the spread), so what latency costs this maker is not
# a worse place in a queue but quotes that reach the book after the moment they were meant for.
# Its adverse
# selection per share falls a little too, but on the real day it stays larger than the spread it
# captures at every latency: each fill loses money on average, so fewer fills mean a smaller
# loss, and latency *seems* to help. That is a statement about a losing strategy, not an argument
# for being slow. On the synthetic day, where the maker's fills are worth more than they cost,
# the sweep removes about 5 % of its fills between zero and 100 ms and moves its net P&L by less
# than 2 % either way; the taker's favourable selection there fades as on AAPL.


# ## Exercises
#
# ```{exercise}
# :label: ex-10-1
# Light in fibre travels about 200,000 km/s. Chicago and the New Jersey data centres are about
# 1,200 km apart in a straight line. What is the straight-line one-way fibre delay, and what does
# the 13 ms fibre round trip of 2010 imply for the length of the route? A signal with a half-life
# of 0.5 s: what share of its IC survives the round trip?
# ```
#
# ```{solution-start} ex-10-1
# :class: dropdown
# ```

# %%
one_way_ms = 1200 / 200_000 * 1e3
route_km = 13e-3 / 2 * 200_000
survives = np.exp(-13e-3 * np.log(2) / 0.5)
print(f"straight-line fibre one way: {one_way_ms:.1f} ms;\na 13 ms round trip means "
      f"about {route_km:.0f} km of fibre each way; IC kept after 13 ms: "
      f"{survives:.3f}")

# %% [markdown]
# A 6 ms one-way straight line against 6.5 ms measured: the 2010 route was nearly straight, and
# microwave (8 ms round trip) wins because radio in air is about 1.5 times faster than light in
# glass. For a half-life of 0.5 s, a 13 ms round trip costs under 2% of the IC: this signal is not
# the one the Chicago–New Jersey race is about.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-10-2
# Run the latency sweep with market-order entries and the `all` channel (feed, entry and response
# all at $L$). Is the P&L monotone in latency now? Where does the {term}`slippage <Slippage>` against the decision
# mid go?
# ```
#
# ```{solution-start} ex-10-2
# :class: dropdown
# ```

# %%
taker = latency_sweep(events, rows, inst, ImbalanceScalper(entry="market"),
                      channels=("all",), latencies_ns=[0, 1_000_000, 10_000_000,
                                                       100_000_000, NS])
show.table(by_latency(taker), measures, formats=fmts, transpose=True,
           index="one-way latency, market entry")

# %% [markdown]
# A market order pays the half-spread at once, and with latency it also pays the drift between
# the mid the strategy saw and the book its order meets: the slippage against the decision mid
# tends to grow with $L$. The total P&L also depends on how many trades the strategy makes (fewer when its
# own view of its position lags), so compare the P&L per trade and the slippage, not only the
# total.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-10-3
# Fit the decay of the composite imbalance against the 10-s forward move instead of the 1-s one.
# Is the half-life a property of the signal alone?
# ```
#
# ```{solution-start} ex-10-3
# :class: dropdown
# ```

# %%
r10 = signal_decay(ts, signals["composite imbalance"], mid, delays,
                   horizon_ns=10 * NS, tick=inst.tick,
                   t0=inst.session_open_ns or None,
                   t1=inst.session_close_ns or None, n_boot=N_BOOT, seed=SEED)
r1 = decay["composite imbalance"]
print(f"horizon 1 s: IC0 {r1.ic0:.4f}, half-life {r1.half_life_s:.3f} s;\n"
      f"horizon 10 s: IC0 {r10.ic0:.4f}, half-life {r10.half_life_s:.3f} s "
      f"(90% interval {r10.half_life_ci[0]:.3f} - {r10.half_life_ci[1]:.3f} s)")

# %% [markdown]
# The IC at zero delay is smaller over 10 s (the 9 seconds after the signal's horizon add noise to
# the target), while the half-life stays of the same order, with a wider interval: the decay is
# mostly a property of how fast the book state is renewed, and the horizon mostly scales the
# curve. Both belong in a report: a half-life without its horizon and its interval is not a
# measurement.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-10-4
# In the compute budget, which stage would you move into compiled code first, and what would you
# expect to gain? Check with the `batch` column.
# ```
#
# ```{solution-start} ex-10-4
# :class: dropdown
# ```

# %% tags=["nbval-ignore-output"]
gain = (b.loc[stages, "mean_ns"] - b.loc[stages, "batch_ns"]).dropna()
gain = gain.sort_values(ascending=False)
saved = (gain / 1e3).round(1).rename("µs per event saved by a compiled loop")
print(saved.to_string())

# %% [markdown]
# The feature engine: it pays the Python layer once per group per event, tens of microseconds,
# while its kernels need well under a microsecond per event. Driving it from a compiled loop (or
# feeding it chunks of events) removes almost all of it; the model's per-row call is next.
#
# ```{solution-end}
# ```

# %% [markdown]
# ```{admonition} Key takeaways
# :class: tip
#
# - Order-book signals decay in well under a second: the composite imbalance starts at an IC of
#   0.101 with a half-life of 0.40 s (90% interval 0.34-0.47 s); 10-s OFI has no IC at 1 s.
# - The latency sweep of the passive scalper is not monotone: net P&L stays between about -1,850
#   and -1,950 \$ up to 100 ms and falls to -2,890 \$ at 1 s of feed latency.
# - On the synthetic day the median gap between events is 40.7 ms and only 4% of the gaps are
#   under 1 ms.
# - Computing the features dominates the compute path; features and model stay well inside the
#   1-ms budget.
# - Lower latency cannot create an edge: the market-order scalper loses between 28,800 and
#   35,400 \$ at every latency from 0 to 1 s.
# ```
