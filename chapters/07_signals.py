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
# (ch07)=
# # 7. Signals: from imbalance to decisions
#
# **What you will learn**
#
# - how three views of the book's pressure (volume, distance-weighted and order-count imbalance)
#   combine into one composite number in $[-1, 1]$, and how two thresholds turn it into five
#   classes (strong sell ... strong buy);
# - how to read a **threshold sweep**: trades, hit rate, average {term}`P&L` and {term}`Sharpe <Sharpe ratio>` per threshold,
#   before and after the cost of crossing the {term}`spread <Spread>`;
# - why a threshold must be **chosen on an earlier period and judged on a later one**, and how the
#   {term}`calibrated <Calibration>` threshold compares with the textbook default out of sample;
# - the **model rule**: trade when a classifier's out-of-sample $P(\text{up})$ and the order-flow
#   imbalance {cite:p}`cont2014price` agree.
#
# Everything here is a *paper* evaluation: a call is scored by the {term}`mid-price <Mid price>` move that follows it,
# with an optional flat cost. Chapters 8 and 9 put the same signals through the exchange simulator,
# where queues, {term}`latency <Latency>` and fees decide what is left. The chapter runs on the seeded synthetic day
# by default; set `DATA = "lobster:AAPL:1"` to run it on a real LOBSTER sample.

# %% tags=["parameters"]
# dataset SPEC: synthetic[:SEED], lobster:TICKER:LEVEL, or a message-file path
DATA = "synthetic"
SEED = 7             # seed of the synthetic day (used when DATA is synthetic)
# book levels in the composite imbalance (capped at the book's depth)
LEVELS = 5
WEAK = 0.15          # weak threshold of the composite (textbook default)
STRONG = 0.35        # strong threshold of the composite (textbook default)
HORIZON_S = 10       # forward horizon of a call (seconds)
# share of the day used to choose thresholds (the rest is the test period)
FIT_FRACTION = 0.5
N_SPLITS = 5         # walk-forward folds of the direction model
N_TREES = 100        # trees of the LightGBM direction model
P_LONG = 0.55        # model rule: go long above this P(up), short below 1 minus it

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import companion
from companion import display as show
from companion import signals as sg
from companion.events import NS
from companion.models import DirectionClassifier, PurgedWalkForward
from companion.plotting import legend_outside, use_course_style

use_course_style()
pd.set_option("display.precision", 3)
spec = f"synthetic:{SEED}" if DATA == "synthetic" else DATA
data = companion.load(spec)
events, book, inst = data.events, data.book, data.instrument
ts = events["ts"]
mid = sg.mid_price(book)
L = min(LEVELS, book.shape[1] // 4)
spread_bps = 1e4 * (book[:, 0] - book[:, 2]) / mid
print(f"{inst.symbol} {inst.date}: {len(events):,} events, {inst.levels} book levels "
      f"(using {L}), median spread {np.nanmedian(spread_bps):.3f} bps")

# %% [markdown]
# ## 7.1 Three imbalances and a composite
#
# Write $Q^b_k, Q^a_k$ for the sizes and $P^b_k, P^a_k$ for the prices of the $k$-th bid and ask
# level, $M$ for the mid and $\delta$ for the {term}`tick <Tick>`. Over the first $L$ levels:
#
# $$
# I_V = \frac{\sum_k Q^b_k - \sum_k Q^a_k}{\sum_k Q^b_k + \sum_k Q^a_k}, \qquad
# I_D = \frac{\sum_k w^b_k Q^b_k - \sum_k w^a_k Q^a_k}{\sum_k w^b_k Q^b_k + \sum_k w^a_k Q^a_k},
# \quad w_k = \frac{1}{1 + |P_k - M| / \delta},
# $$
#
# and $I_N$, the same ratio on the *number* of resting orders (read from the order ids of the
# message file). $I_V$ is the {term}`depth imbalance <Order imbalance>` of {cite:t}`cao2009information`; $I_D$ lets {term}`depth <Depth>` near the
# mid count more; $I_N$ separates one large order from many small ones. The composite weights them
#
# $$
# S = 0.7\, I_V + 0.2\, I_D + 0.1\, I_N \in [-1, 1],
# $$
#
# renormalised over the parts that are defined (without order ids $I_N$ drops out). Every value at
# event $i$ uses the book after event $i$ only: the signal is causal. A positive $S$ says the bid
# side is heavier, so the next mid move is more likely up: the same reading of the book as the
# {term}`weighted mid <Weighted mid>` and the {term}`micro-price <Micro-price>` of chapter 2 {cite:p}`stoikov2018micro`.

# %%
signal = sg.ImbalanceSignal(levels=L, weak=WEAK, strong=STRONG, tick=float(inst.tick))
comp = signal.components(book, events)
parts = {"vol_imb": "volume imbalance", "dw_imb": "depth-weighted imbalance",
         "count_imb": "order-count imbalance", "composite": "composite"}
show.table(comp.describe().loc[["mean", "std", "min", "50%", "max"]], parts,
           formats=".3f", index_names={"std": "s.d.", "50%": "median"},
           index="per event")

# %%
print("correlation of the parts (per event):")
show.table(comp.corr().rename(index=parts), parts, formats=".3f")

# %% [markdown]
# The three parts are correlated, the volume and distance-weighted imbalances strongly and the
# order-count imbalance less: they read the same book. With weight 0.7 the volume imbalance
# dominates the composite (their correlation is the largest in the table). A five-minute window
# shows the composite next to the mid; section 7.2 measures how much it leads it:

# %% mystnb={"figure": {"caption": "Five minutes of the mid (left axis, currency) and of the composite imbalance $S$ (right axis, dimensionless); dashed: the strong thresholds $\\pm\\theta$.", "name": "fig-imbalance-signal"}, "image": {"alt": "Five minutes of the mid price and of the composite imbalance signal on a second axis, with dashed strong thresholds."}}
s = comp["composite"].to_numpy()
t_open = inst.session_open_ns or int(ts[0])
w = (ts >= t_open + 3600 * NS) & (ts < t_open + 3900 * NS)
fig, ax1 = plt.subplots(figsize=(10, 3.8))
minutes = (ts[w] - ts[w][0]) / NS / 60
ax1.plot(minutes, mid[w] / inst.price_scale, color="0.2", lw=1)
ax1.set(xlabel="time since the window start (min)", ylabel="mid (currency)",
        title=f"{inst.symbol}: composite imbalance and mid, 5 minutes")
ax2 = ax1.twinx()
ax2.plot(minutes, s[w], color="C0", lw=0.6, alpha=0.7)
for th in (STRONG, -STRONG):
    ax2.axhline(th, color="C3", ls="--", lw=0.8)
ax2.set_ylabel("composite S (dimensionless)", color="C0")
ax2.grid(False)
plt.show()

# %% [markdown]
# ## 7.2 Classes, strength, confidence and edge
#
# Two thresholds $w < s$ (weak, strong; textbook defaults 0.15 and 0.35) cut $S$ into five classes:
# STRONG_BUY for $S \ge s$, BUY for $w \le S < s$, NONE for $|S| < w$, and the mirror images. A
# class is only useful with two numbers attached, estimated on a **fit period** (here the first
# `FIT_FRACTION` of the day): its *expected edge*, the mean of direction $\times$ forward mid move
# over the horizon $h$ ({term}`bps <Basis point>`), and its *confidence*, the share of its calls with a non-zero move whose
# sign was right. We then look at the same numbers on the later test period.

# %%
h = HORIZON_S * NS
fwd = sg.forward_mid_move_bps(ts, mid, h)
fit_end = int(np.quantile(ts, FIT_FRACTION))
in_fit = ts <= fit_end - h       # purged: the forward window ends inside the fit period
in_test = ts > fit_end
signal.fit(s[in_fit], fwd[in_fit])
after = sg.ImbalanceSignal(levels=L, weak=WEAK,
                           strong=STRONG).fit(s[in_test], fwd[in_test])
codes = list(sg.CODES)
pd.DataFrame({
    "events (fit)": [signal.support_[c] for c in codes],
    "edge bps (fit)": [signal.edge_bps_[c] for c in codes],
    "confidence (fit)": [signal.confidence_[c] for c in codes],
    "edge bps (test)": [after.edge_bps_[c] for c in codes],
    "confidence (test)": [after.confidence_[c] for c in codes],
}, index=[sg.SIGNAL_NAMES[c] for c in codes])

# %% [markdown]
# On every event of the day the edge grows with the class, and a strong call is right more often
# than a weak one. But these are **per-event** numbers: thousands of consecutive events carry the
# same call, and the edge is measured from the mid, with no spread paid. Compare it with the
# median spread printed above: a trader who crosses the spread to enter and again to exit pays the
# whole spread per round trip.
#
# ## 7.3 The threshold sweep
#
# To count trades rather than events, sample the signal on a clock grid with the step equal to the
# horizon, so that consecutive calls do not overlap, and trade every sample with $|S| \ge \theta$
# in the direction of $S$. Per trade, P&L $= \operatorname{sign}(S)\,\Delta m_h - c$ (bps), with
# $c$ a flat round-trip cost. The sweep reports trades, hit rate (share of trades with positive
# P&L), average P&L and the per-trade Sharpe ratio (mean / standard deviation, not annualised),
# with $c = 0$ (mid to mid) and with $c$ = the median spread (crossing at entry and exit).

# %%
grid = sg.sample_on_grid(ts, {"s": s, "fwd": fwd, "spread": spread_bps}, h, t0=t_open)
cost = float(np.nanmedian(grid["spread"]))
thresholds = np.round(np.arange(0.05, 0.65, 0.05), 2)
sweep = sg.threshold_sweep(grid["s"], grid["fwd"], thresholds)
sweep_net = sg.threshold_sweep(grid["s"], grid["fwd"], thresholds, cost_bps=cost)
sweep_cols = {"trades": "trades", "hit_rate": "hit rate",
              "avg_pnl_bps": "mean P&L per trade (bps)", "sharpe": "Sharpe"}
print(f"{len(grid):,} samples every {HORIZON_S} s; round-trip cost = median spread "
      f"{cost:.3f} bps")
print("mid to mid:")
display(show.table(sweep, sweep_cols, formats="auto", index="threshold"))
print("after the spread:")
show.table(sweep_net, sweep_cols, formats="auto", index="threshold")

# %% mystnb={"figure": {"caption": "Threshold sweep on $|S|$: average P&L per trade (bps), mid to mid and after the spread (left), and trades per day (right, log scale); dotted: the weak and strong thresholds.", "name": "fig-threshold-sweep"}, "image": {"alt": "Left, average P&L per trade against the signal threshold, before and after the spread; right, trades per day on a log scale."}}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
ax1.plot(sweep.index, sweep["avg_pnl_bps"], "o-", label="mid to mid")
ax1.plot(sweep_net.index, sweep_net["avg_pnl_bps"], "o-", label="after the spread")
ax1.axhline(0, color="k", lw=0.8)
for th in (WEAK, STRONG):
    ax1.axvline(th, color="0.5", ls=":", lw=1)
ax1.set(xlabel=r"threshold $\theta$ on |S| (dimensionless)",
        ylabel="average P&L per trade (bps)", title="Edge per trade")
legend_outside(ax1, "below")
ax2.plot(sweep.index, sweep["trades"], "o-", color="C2")
ax2.set(xlabel=r"threshold $\theta$ on |S| (dimensionless)", ylabel="trades (count)",
        yscale="log", title="Trades per day")
plt.show()

# %% [markdown]
# The shape is the usual one: a higher threshold keeps fewer calls, and on the whole better ones
# mid to mid (noisily where only a few dozen trades remain). Whether any threshold
# clears the spread is an empirical question about this dataset, and the answer is the one to
# report:
#
# %%
best = sweep["avg_pnl_bps"].max()
print(f"best mid-to-mid edge {best:.3f} bps per trade (threshold "
      f"{sweep['avg_pnl_bps'].idxmax():.2f})\nagainst a round-trip spread of "
      f"{cost:.3f} bps: edge / cost = {best / cost:.3f}\nthresholds with positive P&L "
      f"after the spread: {int((sweep_net['avg_pnl_bps'] > 0).sum())}")

# %% [markdown]
# An edge that is a fraction of the spread cannot be harvested by crossing the spread twice. It
# can still be useful: to *time* trades one has to make anyway (chapter 8's adaptive execution),
# or to decide when a passive quote is safe to leave in the book.
#
# ## 7.4 Calibrated against default, out of sample
#
# Choosing the threshold with the best Sharpe on the whole day and reporting that Sharpe is
# selection bias: the maximum of a dozen noisy estimates is biased upwards
# {cite:p}`lopezdeprado2018advances`. {py:func}`calibrate_threshold <companion.signals.calibrate_threshold>` chooses $\theta^\ast$ on the fit
# period (samples whose forward window ends before `fit_end`, so no label straddles the cut) among
# thresholds with at least 30 fit trades, then reports it on the later test period, next to the
# default strong threshold.

# %%
cal = sg.calibrate_threshold(grid["s"], grid["fwd"], grid.index.to_numpy(), thresholds,
                             fit_end=fit_end, horizon_ns=h, objective="sharpe")
cal_net = sg.calibrate_threshold(grid["s"], grid["fwd"], grid.index.to_numpy(),
                                 thresholds, fit_end=fit_end, horizon_ns=h,
                                 cost_bps=cost, objective="sharpe")
cols = ["trades", "hit_rate", "avg_pnl_bps", "sharpe"]
rows = {}
for name, c in (("mid to mid", cal), ("after the spread", cal_net)):
    th = c["threshold"]
    rows[(name, f"calibrated {th:.2f}")] = {"fit sharpe": c["fit"].loc[th, "sharpe"],
                                            **c["test"].loc[th, cols]}
    rows[(name,
          f"default {STRONG:.2f}")] = {"fit sharpe": c["fit"].loc[STRONG, "sharpe"],
                                             **c["test"].loc[STRONG, cols]}
oos = pd.DataFrame(rows).T
oos.columns = ["fit Sharpe", "test trades", "test hit rate", "test P&L/trade (bps)",
               "test Sharpe"]
show.table(oos, formats="auto")

# %% [markdown]
# Read the test columns only: they are the honest numbers. The fit Sharpe of the calibrated
# threshold is at least the default's by construction, and the two rows are identical when the
# fit period picks the default itself (as it does mid to mid on the synthetic day). Out of sample
# the gap usually shrinks, and it can reverse. With one day the test Sharpe has a standard error
# of about $1/\sqrt{n}$ for $n$ test trades, so differences smaller than that, like the gap after
# the spread here, are noise.

# %%
for name, c in (("mid to mid", cal), ("after the spread", cal_net)):
    n = int(c["test_row"]["trades"])
    print(f"{name}: calibrated threshold {c['threshold']:.2f},\n  test Sharpe "
          f"{c['test_row']['sharpe']:.3f} ± {1 / np.sqrt(max(n, 1)):.3f} (one s.e., "
          f"{n} trades)")

# %% [markdown]
# ## 7.5 The model rule
#
# A single imbalance number ignores what the rest of the feature library knows. The **model rule**
# trades when a classifier and the order flow agree:
#
# $$
# \text{long if } P(\text{up}) > 0.55 \text{ and } \mathrm{OFI}_{10\,s} > \theta_{\mathrm{OFI}},
# \qquad
# \text{short if } P(\text{up}) < 0.45 \text{ and } \mathrm{OFI}_{10\,s} < -\theta_{\mathrm{OFI}},
# $$
#
# with $\mathrm{OFI}_{10\,s}$ the trailing 10-second {term}`order-flow imbalance <Order-flow imbalance (OFI)>` (CKS eq. 10, shares).
# $P(\text{up})$ must be **out of sample** at every time it is used. We compute features every
# second, label each second by whether the mid is higher $h$ later, and fit a {term}`LightGBM`
# classifier with {term}`purged <Purging>` {term}`walk-forward <Walk-forward cross-validation>` cross-validation (chapter 6): every prediction comes from a
# model trained only on earlier data, with the overlapping labels purged.

# %%
oos = sg.walk_forward_direction(events, book, inst, h, n_splits=N_SPLITS,
                                n_trees=N_TREES)
Xk, tk, rk, y, wf = oos.X, oos.t, oos.ret, oos.y, oos.wf
show.table(wf.metrics.set_index("model")[["n", "accuracy", "roc_auc", "log_loss", "ic",
                                          "hit_rate"]], "auto", formats="auto")

# %% [markdown]
# The table scores the pooled out-of-sample predictions against three baselines fitted on the
# same folds. Now apply the rule. The OFI threshold is set once, before the first prediction: the
# median $|\mathrm{OFI}_{10\,s}|$ of the first fold's training period.

# %%
# theta: set before the first prediction
pos, p_ts, p_up, theta_ofi = oos.pos, oos.p_ts, oos.p_up, oos.theta_ofi
ofi10, comp_oos = Xk["ofi_10s"].to_numpy()[pos], Xk["composite_imb"].to_numpy()[pos]
r_pred = rk[pos]
first_pred = p_ts[0]
rule = sg.model_rule(p_up, ofi10, theta_ofi, P_LONG, 1 - P_LONG)
print(f"out-of-sample predictions from {(first_pred - t_open) / 3600 / NS:.3f} h after "
      f"the open;\nOFI threshold {theta_ofi:.3f} shares; rule: "
      f"{np.mean(rule == 1):.3f} long, {np.mean(rule == -1):.3f} short")

# %% [markdown]
# To compare like with like, score the rule and the imbalance signal on the same non-overlapping
# grid of the out-of-sample period, with the same round-trip cost.

# %%
# one sample per horizon: no overlapping calls
step = np.arange(0, len(p_ts), HORIZON_S)
r_oos = r_pred[step]
calls = {
    "model rule": rule[step].astype(float),
    f"imbalance |S| >= {STRONG:.2f}": np.where(np.abs(comp_oos[step]) >= STRONG,
                                               np.sign(comp_oos[step]), 0.0),
    "OFI sign": np.sign(ofi10[step]),
}
res = {}
for name, d in calls.items():
    for label, c in (("mid to mid", 0.0), ("after the spread", cost)):
        tab = sg.threshold_sweep(d, r_oos, [0.5], cost_bps=c).iloc[0]
        res[(name, label)] = tab[["trades", "hit_rate", "avg_pnl_bps", "sharpe"]]
show.table(pd.DataFrame(res).T.astype(float), "auto", formats="auto")

# %% [markdown]
# Three readings are worth keeping. First, a model with an {term}`AUC` a few points above 0.5 is a
# real but small edge, and the rule keeps only the calls where the model and the flow agree, so it
# trades less than the raw imbalance. Second, compare the mid-to-mid P&L per trade with the cost
# line: on a book whose spread is several bps wide, an edge of a fraction of a bp does not survive
# crossing it, however the calls are chosen. Nor does the model rule beat the plain imbalance
# threshold on the synthetic day: their mid-to-mid Sharpe ratios differ by less than one standard
# error ($1/\sqrt{\text{trades}}$), and the sign of the trailing OFI alone has no edge at all (as in
# chapter 4, trailing OFI describes the move it came with, not the next one). Third, nothing
# here has met a queue or a latency yet: chapter 8 builds the simulator that does, and chapter 9
# runs both signals through it.
#
# ## 7.6 From a signal to quotes
#
# Every rule so far *takes* liquidity: it crosses the spread when the signal is strong. A **market
# maker** does the opposite: it rests a bid and an ask, earns the spread when both fill, and uses
# the signal to move its quotes before the informed flow reaches them. Two classical models set
# the quotes from the mid $s$ (in ticks), the inventory $q$ (in quote units), the mid's
# volatility $\sigma$ (ticks per $\sqrt{\text{s}}$), the risk aversion $\gamma$ and the rate at
# which market orders reach a quote $\delta$ ticks from the mid, $\lambda(\delta) = A e^{-k\delta}$:
#
# - **Avellaneda–Stoikov** (2008): a *reservation price*
#   $r = s - q\gamma\sigma^2 (T - t)$ (a long inventory lowers both quotes, to sell it) and a
#   total spread $\gamma\sigma^2(T-t) + \frac{2}{\gamma}\ln(1 + \gamma/k)$ around it;
# - **Guéant–Lehalle–Fernandez-Tapia** (GLFT, 2013), the long-horizon limit that does not depend
#   on the time to the close: quotes $r \mp (c_1 + \tfrac12\sigma c_2)$ around
#   $r = s - \sigma c_2\, q$, with
#   $c_1 = \frac{1}{\gamma}\ln(1 + \frac{\gamma}{k})$ and
#   $c_2 = \sqrt{\frac{\gamma}{2Ak}(1 + \frac{\gamma}{k})^{k/\gamma + 1}}$.
#
# The **alpha skew** adds the signal: $r \mathrel{+}= a\, f$, with $f$ the composite imbalance
# and $a$ (ticks per unit of $f$) fitted on the first part of the day as the slope of the
# `HORIZON_S` mid change on $f$. The volatility and the intensity are estimated causally from
# trailing windows (`companion.backtest.market_making.rolling_volatility` and
# `rolling_intensity`: the trades' depths from the mid over the last minutes).

# %%
from companion.backtest import market_making as mm

tick = float(inst.tick)
sigma_t = mm.rolling_volatility(ts, mid, window_s=60, tick=tick)
A_t, k_t = mm.rolling_intensity(events, mid, window_s=600, tick=tick)
f_imb = mm.alpha_forecast("imbalance", events, book, inst)
fit = ts < fit_end
j = np.searchsorted(ts, ts + h, side="left")
ok = fit & (j < len(ts)) & np.isfinite(f_imb) & np.isfinite(mid)
dm = (mid[np.minimum(j, len(ts) - 1)] - mid) / tick
a_scale = float(np.cov(f_imb[ok], dm[ok], bias=True)[0, 1] / np.var(f_imb[ok]))
GAMMA = 0.1
sig_m, A_m, k_m = (float(np.nanmedian(x)) for x in (sigma_t, A_t, k_t))
c1, c2 = mm.glft_coefficients(GAMMA, A_m, k_m)
print(
    f"medians over the day: sigma {sig_m:.3f} ticks/sqrt(s), A {A_m:.3f} trades/s, "
    f"k {k_m:.3f} per tick"
)
print(
    f"GLFT with gamma {GAMMA}: c1 {c1:.3f} ticks, c2 {c2:.3f} (sqrt(s)) at the medians:"
)
print(
    f"  half-spread {c1 + 0.5 * sig_m * c2:.3f} ticks, "
    f"skew {sig_m * c2:.3f} ticks per quote held"
)
print(
    f"alpha scale (fit part): {a_scale:.3f} ticks per unit of imbalance; "
    f"median |shift| "
    f"{np.nanmedian(np.abs(a_scale * f_imb)):.3f} ticks"
)

# %% mystnb={"figure": {"caption": "Two minutes of quotes, relative to the mid (ticks): the book's best bid and ask (grey), the GLFT quotes of a flat maker (blue), of a maker long two quotes (orange, dashed: both quotes lowered by $2\\sigma c_2$) and of a flat maker whose reservation price is skewed by the imbalance forecast (green). The model's quotes move with the estimated volatility and intensity; the skew moves them with the signal.", "name": "fig-mm-quotes"}, "image": {"alt": "Two minutes of the best bid and ask relative to the mid with the GLFT quotes of a flat maker, a maker long two quotes and a maker skewed by the imbalance."}}
w = ((ts >= t_open + 3600 * NS) & (ts < t_open + 3720 * NS)
     & np.isfinite(sigma_t) & np.isfinite(A_t))
idx = np.flatnonzero(w)
x = (ts[idx] - ts[idx[0]]) / NS
m_t = mid[idx] / tick
def quotes_at(q, alpha=None):
    """GLFT (bid, ask) in ticks at every sample of the window, inventory q."""
    return np.array([mm.glft_quotes(m_t[i], q, sigma=sigma_t[k], A=A_t[k], k=k_t[k],
                                    gamma=GAMMA,
                                    **({} if alpha is None else {"alpha": alpha[k]}))
                     for i, k in enumerate(idx)])


q0, qa, q2 = quotes_at(0.0), quotes_at(0.0, a_scale * f_imb), quotes_at(2.0)
fig, ax = plt.subplots(figsize=(10, 4))
ax.step(x, book[idx, 2] / tick - m_t, where="post", color="0.6", lw=0.8,
        label="best bid / ask")
ax.step(x, book[idx, 0] / tick - m_t, where="post", color="0.6", lw=0.8)
ax.plot(x, q0[:, 0] - m_t, color="C0", lw=1, label="GLFT, flat")
ax.plot(x, q0[:, 1] - m_t, color="C0", lw=1)
ax.plot(x, q2[:, 0] - m_t, color="C1", lw=1, ls="--", label="GLFT, long 2 quotes")
ax.plot(x, q2[:, 1] - m_t, color="C1", lw=1, ls="--")
ax.plot(x, qa[:, 0] - m_t, color="C2", lw=1, label="GLFT + imbalance skew, flat")
ax.plot(x, qa[:, 1] - m_t, color="C2", lw=1)
ax.axhline(0, color="k", lw=0.6)
ax.set(xlabel="seconds from one hour after the open", ylabel="price minus mid (ticks)",
       title=f"{inst.symbol}: quotes around the mid")
ax.legend(ncol=2, fontsize=8)
plt.show()

# %%
rows_q = {}
bid_t, ask_t = book[idx, 2] / tick, book[idx, 0] / tick
for lab, qq in (("GLFT, flat", q0), ("GLFT, long 2 quotes", q2),
                ("GLFT + skew, flat", qa)):
    rows_q[lab] = {
        "half-spread (ticks)": float(np.median(qq[:, 1] - qq[:, 0]) / 2),
        "centre minus mid (ticks)": float(np.median((qq[:, 0] + qq[:, 1]) / 2 - m_t)),
        "bid inside the book's bid (share)": float(np.mean(qq[:, 0] > bid_t)),
        "ask inside the book's ask (share)": float(np.mean(qq[:, 1] < ask_t))}
pd.DataFrame(rows_q).T

# %% [markdown]
# Read the numbers against the book. On the synthetic day the estimated volatility is several
# ticks per square-root second and market orders rarely reach far from the mid (a small $k$),
# so the GLFT half-spread at $\gamma = 0.1$ is several ticks: the flat maker's quotes sit inside
# the book's best quotes about half of the time in this window and behind them otherwise. One
# quote unit of inventory moves both quotes by $\sigma c_2$, a few ticks: a maker long two quotes
# keeps its bid far behind the book and its ask inside it, to sell. The imbalance skew, fitted on
# the first half of the day, moves the reservation price by less than half a tick in the median:
# a small correction next to the half-spread, as expected from a signal whose edge per call is a
# small fraction of the spread (section 7.3). Whether it is enough to keep the maker away from the
# informed flow is a question for the backtest with queues and latency: chapter 9 runs it.


# ## Exercises
#
# ```{exercise}
# :label: ex-07-1
# Rebuild the composite with volume imbalance only (weights 1, 0, 0) and with the level-1
# imbalance only (`levels=1`). How do the mid-to-mid Sharpe ratios of the sweep at the default
# strong threshold compare with the composite's?
# ```
#
# ```{solution-start} ex-07-1
# :class: dropdown
# ```

# %%
variants = {"composite": dict(levels=L),
            "volume only": dict(levels=L, weights=(1.0, 0.0, 0.0)),
            "level 1 only": dict(levels=1)}
out = {}
for name, kw in variants.items():
    sv = sg.imbalance_components(book, events, tick=inst.tick,
                                 **kw)["composite"].to_numpy()
    g = sg.sample_on_grid(ts, {"s": sv, "fwd": fwd}, h, t0=t_open)
    out[name] = sg.threshold_sweep(g["s"], g["fwd"], [STRONG]).iloc[0]
show.table(pd.DataFrame(out).T[["trades", "hit_rate", "avg_pnl_bps", "sharpe"]],
           "auto", formats="auto")

# %% [markdown]
# The composite and its parts rank the book's pressure in nearly the same order (their correlation
# in section 7.1 is high), so the differences are small: about one standard error
# ($1/\sqrt{\text{trades}}$) or less; the level-1 imbalance reacts fastest and trades most.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-07-2
# The edge of a call depends on the horizon. Repeat the out-of-sample calibration (after the
# spread) for horizons of 5, 10, 30 and 60 seconds. At which horizon is the test P&L per trade
# largest?
# ```
#
# ```{solution-start} ex-07-2
# :class: dropdown
# ```

# %%
hz = {}
for hs in (5, 10, 30, 60):
    f_h = sg.forward_mid_move_bps(ts, mid, hs * NS)
    g = sg.sample_on_grid(ts, {"s": s, "fwd": f_h}, hs * NS, t0=t_open)
    c = sg.calibrate_threshold(g["s"], g["fwd"], g.index.to_numpy(), thresholds,
                               fit_end=fit_end, horizon_ns=hs * NS, cost_bps=cost)
    hz[f"{hs} s"] = {"threshold": c["threshold"],
                     **c["test_row"][["trades", "avg_pnl_bps", "sharpe"]]}
show.table(pd.DataFrame(hz).T, "auto", formats="auto", index="horizon")

# %% [markdown]
# Longer horizons let a correct call travel further than the spread, but the imbalance's
# information decays within seconds, so the edge per trade does not grow in proportion, and there
# are fewer non-overlapping trades to average over. On the synthetic day no horizon clears the
# spread: the test P&L per trade is negative at every one. The Sharpe ratio moves towards zero at
# the longer horizons only because the same cost is smaller next to the larger dispersion of
# longer moves.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-07-3
# Tighten the model rule: require $P(\text{up}) > 0.6$ (and $< 0.4$ for shorts). How many calls
# are left and what happens to the hit rate after the spread?
# ```
#
# ```{solution-start} ex-07-3
# :class: dropdown
# ```

# %%
tight = {}
for pl in (P_LONG, 0.6, 0.65):
    d = sg.model_rule(p_up, ofi10, theta_ofi, pl, 1 - pl)[step].astype(float)
    tight[f"P(up) > {pl:.2f}"] = sg.threshold_sweep(d, r_oos, [0.5],
                                                    cost_bps=cost).iloc[0]
show.table(pd.DataFrame(tight).T[["trades", "hit_rate", "avg_pnl_bps", "sharpe"]],
           "auto", formats="auto")

# %% [markdown]
# A stricter probability keeps the calls where the model is most sure; with a weak model there
# are few such calls, so the estimate of their edge is noisy.
#
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-07-4
# Is the walk-forward model free of {term}`leakage <Leakage>`? Refit it with the training labels shuffled inside
# each fold ({py:func}`companion.models.leakage_audit <companion.models.evaluate.leakage_audit>`, one repeat) and check that its out-of-sample AUC
# falls to about 0.5.
# ```
#
# ```{solution-start} ex-07-4
# :class: dropdown
# ```

# %%
from companion.models import leakage_audit

audit = leakage_audit(Xk, y, t=tk, t_end=tk + h,
                      model_factory=DirectionClassifier(n_estimators=N_TREES),
                      cv=PurgedWalkForward(N_SPLITS), ret=rk, n_repeats=1)
print(f"shuffled-label AUC {audit['roc_auc'].iloc[0]:.3f} (real labels: "
      f"{wf.metrics.set_index('model').loc['model', 'roc_auc']:.3f})")

# %% [markdown]
# With shuffled labels there is nothing to learn, so an AUC near 0.5 says no information about
# the test labels reaches the model through the features or the split.
#
# ```{solution-end}
# ```

# %% [markdown]
# ```{admonition} Key takeaways
# :class: tip
#
# - The composite imbalance is almost the volume imbalance (correlation 0.988).
# - The signal's mid-to-mid edge grows with the threshold, to 0.689 bps per trade at 0.55, but a
#   round trip costs the 4.669-bp spread: no threshold is profitable after the spread.
# - Calibrating the threshold on past data does not change that (test Sharpe per trade after the
#   spread -1.830).
# - The model rule is better than chance (AUC 0.554 against 0.505 with shuffled labels) and
#   still loses 4.366 bps per trade after the spread.
# ```
