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
# (ch05)=
# # 5. Labeling
#
# **What you will learn**
#
# - three ways to say what "the price went up" means: the {term}`fixed-horizon <Fixed-horizon label>` move, the smoothed move of
#   the FI-2010 benchmark, and the {term}`triple barrier <Triple barrier>` {cite:p}`lopezdeprado2018advances`;
# - how the threshold that separates "flat" from "up" and "down" sets the class balance;
# - why labels sampled every second overlap, and why cross-validation must then **{term}`purge <Purging>`** and
#   **{term}`embargo <Embargo>`** training samples;
# - what a leaky split does to an out-of-sample number;
# - {term}`meta-labels <Meta-label>`: labelling whether a bet on a given side would have paid.
#
# The chapter runs on the seeded synthetic day by default; set `DATA = "lobster:AAPL:1"` to run it
# on a real LOBSTER sample.

# %% tags=["parameters"]
# dataset SPEC: synthetic[:SEED], lobster:TICKER:LEVEL, or a message-file path
DATA = "synthetic"
SEED = 7            # seed of the synthetic day (used when DATA is synthetic)
GRID = "1s"         # sample grid
HORIZONS = ["10s", "1min"]  # fixed horizons
SMOOTH_K = 100      # FI-2010 smoothing window (events)
BARRIER = 10.0      # triple-barrier distance (ticks)
N_SPLITS = 5        # walk-forward folds
N_ESTIMATORS = 60   # trees of the small model of section 5.5

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

import companion
from companion import display as show
from companion import labels
from companion.models import PurgedKFold, PurgedWalkForward, walk_forward_evaluate
from companion.models import plots as mplots
from companion.models.dataset import (MODEL_PARAMS, build_training_set,
                                      flow_feature_names, mid_series)
from companion.models.train import DirectionClassifier
from companion.plotting import legend_outside, use_course_style

use_course_style()
pd.set_option("display.precision", 3)
spec = f"synthetic:{SEED}" if DATA == "synthetic" else DATA
data = companion.load(spec)
events, rows, inst = data.events, data.book, data.instrument
mid = mid_series(events, rows, inst)
day0 = pd.Timestamp(inst.date)
grid = pd.date_range(day0 + pd.Timedelta(inst.session_open_ns, "ns"),
                     day0 + pd.Timedelta(inst.session_close_ns, "ns"), freq=GRID)
print(f"{inst.symbol} {inst.date}: {len(events):,} events, {len(grid):,} samples on "
      f"a "
      f"{GRID} grid")

# %% [markdown]
# ## 5.1 Fixed-horizon labels
#
# The simplest label of a sample taken at $T$ is the {term}`mid <Mid price>` move over a fixed horizon $h$, in {term}`ticks <Tick>`,
# and its class
#
# $$
# r_T = \frac{M_{T+h} - M_T}{\delta}, \qquad
# y_T = \begin{cases} +1 & r_T > c \\ -1 & r_T < -c \\ 0 & \text{otherwise.} \end{cases}
# $$
#
# $M_{T+h}$ is the mid as of the first event at or after $T + h$, and {py:mod}`companion.labels <companion.labels>` returns
# that event's time as the label's **end time** $e_T$: the label is known only at $e_T$.

# %%
fixed = {h: labels.fixed_horizon_labels(mid, h, tick=inst.tick,
                                        samples=grid) for h in HORIZONS}
first = fixed[HORIZONS[0]].head()
show.table(first.set_axis(first.index.strftime("%H:%M:%S")),
           {"ret": "mid move (ticks)", "label": "label", "t_end": "horizon end"},
           formats={"mid move (ticks)": ".1f", "horizon end": "%H:%M:%S.%f"},
           index="sample time")

# %% [markdown]
# With $c = 0$ every nonzero move is up or down. On a busy wide-{term}`spread <Spread>` book the mid rarely stays
# exactly where it was for 10 seconds, so at $c = 0$ "flat" is a small class (its share is printed
# below); raising $c$ moves small moves into it. {py:func}`labels.balance_by_threshold <companion.labels.balance_by_threshold>` tabulates the three
# shares.

# %% mystnb={"figure": {"caption": "Shares of down, flat and up fixed-horizon labels as the flat threshold $c$ (ticks) grows, one panel per horizon.", "name": "fig-label-shares"}, "image": {"alt": "One panel per horizon: stacked shares of down, flat and up labels as the flat threshold grows."}}
thr = np.arange(0, 16.5, 0.5)
fig, axes = plt.subplots(1, len(HORIZONS), figsize=(11, 3.8), sharey=True,
                         squeeze=False)
axes = axes.ravel()
for ax, h in zip(axes, HORIZONS):
    mplots.class_balance_plot(ax, labels.balance_by_threshold(fixed[h]["ret"], thr),
                              title=f"horizon {h}")
    ax.set_xlabel("threshold c (ticks)")
legend_outside(axes[-1], "right", handles=axes[0].get_legend_handles_labels()[0],
               title="label")
plt.show()

# %%
bal = pd.DataFrame({h: labels.class_balance(fixed[h]["label"]) for h in HORIZONS}).T
bal.columns = (["down", "flat", "up"][: bal.shape[1]] if bal.shape[1] == 3
               else bal.columns)
for h in HORIZONS:
    c = labels.threshold_for_flat_share(fixed[h]["ret"], 1 / 3)
    print(f"horizon {h}: threshold for one third flat {c:.3f} ticks")
bal.round(3)

# %% [markdown]
# ## 5.2 Smoothed labels
#
# Single mids are noisy: a one-tick flicker of the quote can flip a label. The FI-2010 benchmark
# {cite:p}`ntakaris2018benchmark` compares the *mean* of the next $k$ mids with the current mid,
# $l_T = (\bar M^{+}_k - M_T)/M_T$ with $\bar M^{+}_k = \frac1k \sum_{i=1}^k M_{T+i}$ (events),
# and calls it up above $\alpha = 0.002$. How much clock time $k$ events cover depends on the
# stock's activity: the line below prints the median span on the current data (several seconds
# on the synthetic day, not a fraction of a second). How often does the smoothed label agree with
# the fixed-horizon one?

# %%
smooth = labels.smoothed_labels(mid, SMOOTH_K, alpha=0.0, unit="ticks", tick=inst.tick,
                                samples=grid)
both = fixed[HORIZONS[0]][["label"]].join(
    smooth[["label"]].rename(columns={"label": "label_smooth"}), how="inner")
span = (smooth["t_end"] - smooth.index).dt.total_seconds()
print(f"k {SMOOTH_K} events spans a median {span.median():.2f} s; labels agree on "
      f"{(both['label'] == both['label_smooth']).mean():.3f} of samples")
agree = pd.crosstab(both["label"], both["label_smooth"], normalize=True)
show.table(agree.rename_axis(index="fixed-horizon label", columns="smoothed label"),
           formats=".3f")

# %% [markdown]
# ## 5.3 Triple-barrier labels
#
# López de Prado {cite:p}`lopezdeprado2018advances` (ch. 3) labels a sample by the first of three
# barriers the price touches: a profit-take at $+b$, a stop-loss at $-b$, or the time limit $h$.
# The label is what a trader with those exits would have experienced, and its end time is the
# touch, so labels have different lengths.

# %%
h_tb = HORIZONS[-1]
tb = labels.triple_barrier_labels(mid, pt=BARRIER, sl=BARRIER, horizon=h_tb,
                                  tick=inst.tick, samples=grid)
outcome = tb["barrier"].map({1: "profit-take", -1: "stop-loss",
                             0: "vertical"}).value_counts(normalize=True)
life = (tb["t_end"] - tb.index).dt.total_seconds()
print(f"barriers +-{BARRIER:.1f} ticks, time limit {h_tb}: median label life "
      f"{life.median():.1f} s")
outcome.round(3)

# %% mystnb={"figure": {"caption": "Six minutes of the mid (ticks from its first value) with the triple barriers (profit-take, stop-loss, time limit) of a few samples; dots mark the first touch (green profit-take, red stop-loss, grey vertical).", "name": "fig-triple-barrier"}, "image": {"alt": "Six minutes of the mid price with the upper, lower and time barriers of a few samples and dots at each first touch."}}
w0 = grid[len(grid) // 2]
window = mid.loc[w0: w0 + pd.Timedelta("6min")]
picks = tb.loc[w0: w0 + pd.Timedelta("5min")].iloc[::50]
fig, ax = plt.subplots(figsize=(11, 4))
mplots.barrier_path(ax, window, picks, pt=BARRIER, sl=BARRIER, horizon=h_tb,
                    tick=inst.tick)
ax.set_title(f"{inst.symbol}: triple barriers of {len(picks)} samples (dots: first "
             f"touch)")
plt.show()

# %% [markdown]
# ## 5.4 Overlapping labels
#
# Sampling every second with a one-minute horizon, consecutive labels share 59 of their 60
# seconds of price path. Their intervals $[T, e_T]$ overlap, and so do their outcomes. The
# {term}`average uniqueness <Average uniqueness>` printed below (the mean of 1 / concurrency)
# measures how much.

# %% mystnb={"figure": {"caption": "Left: the intervals $[T, e_T]$ of 30 consecutive labels. Right: histogram of concurrency, the number of labels alive at a sample time (one bar per value, log scale: the low values occur only while the day's first labels open); its mean inverse is the average uniqueness ({cite:t}`lopezdeprado2018advances`, \u00a74.4).", "name": "fig-label-concurrency"}, "image": {"alt": "Left, horizontal bars of the intervals of 30 consecutive labels; right, a histogram of how many labels are alive at a sample time."}}
lab = fixed[h_tb]
first = lab.iloc[1800:1830]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4),
                               gridspec_kw={"width_ratios": [1.3, 1]})
mplots.label_intervals(ax1, first.index, first["t_end"], first["label"].to_numpy())
ax1.set_title(f"30 consecutive {h_tb} labels (green up, red down, grey flat)")
conc = mplots.concurrency(lab.index, lab["t_end"])
# one bar per integer value, log scale: the rare low values (day start) stay visible
ax2.hist(conc, bins=np.arange(conc.min() - 0.5, conc.max() + 1.5), color="C0", log=True)
ax2.set_xlabel("labels alive at a sample time (count)")
ax2.set_ylabel("sample times (count, log scale)")
ax2.set_title(f"concurrency, mean {conc.mean():.1f}")
plt.show()
print(f"mean uniqueness 1/concurrency: {np.mean(1 / conc):.3f}")
print(f"the {len(lab):,} labels carry about {np.sum(1 / conc):,.0f} independent "
      f"outcomes")

# %% [markdown]
# A sample in the training set whose label interval overlaps the test period shares price moves
# with test labels: the model is, in part, trained on the answers. **Purging** removes every
# training sample with $e_i \ge T_0$, where $T_0$ is the first test sample time
# (AFML §7.4.1). An **embargo** widens the gap (§7.4.2): features with long windows computed just
# after a test block see the test period. {py:class}`PurgedWalkForward <companion.models.cv.PurgedWalkForward>` trains strictly before each test
# block, keeping only samples with $e_i < T_0 - \text{embargo}$.

# %% mystnb={"figure": {"caption": "Purged walk-forward folds over the day: train (blue), purged and embargoed (red), test (orange).", "name": "fig-purged-folds"}, "image": {"alt": "Rows of walk-forward folds over the day coloured train, purged and embargoed, and test."}}
ds = build_training_set(data, horizon=h_tb, grid=GRID, features=flow_feature_names())
cv = PurgedWalkForward(N_SPLITS, embargo=h_tb)
fig, ax = plt.subplots(figsize=(11, 3))
mplots.cv_splits(ax, cv, ds.t, ds.t_end)
ax.set_title(f"Purged walk-forward: {N_SPLITS} folds, {h_tb} labels, {h_tb} embargo")
plt.show()
roles = mplots.split_roles(cv, ds.t, ds.t_end)
print("purged + embargoed samples per fold:", (roles == -1).sum(axis=1).tolist())

# %% [markdown]
# The purged band looks thin on a whole day, but it is exactly where the leak would be. How much
# does it matter? Evaluate the same small model four ways on the 1-minute labels: k-fold with
# shuffled samples (the scikit-learn habit), k-fold on contiguous blocks, purged k-fold, and
# purged {term}`walk-forward <Walk-forward cross-validation>`. Only the last is a {term}`backtest <Backtest>`: k-fold trains on the future of each test
# block.

# %%
model = DirectionClassifier(n_estimators=N_ESTIMATORS, random_state=SEED,
                            **MODEL_PARAMS)
splitters = {"k-fold, shuffled": KFold(N_SPLITS, shuffle=True, random_state=SEED),
             "k-fold, contiguous": KFold(N_SPLITS),
             "purged k-fold": PurgedKFold(N_SPLITS, embargo=h_tb),
             "purged walk-forward": cv}
rows_ = {}
for name, s in splitters.items():
    r = walk_forward_evaluate(ds.X, ds.y, t_end=ds.t_end, ret=ds.ret,
                              model_factory=model, cv=s, baselines=False)
    rows_[name] = r.metrics.iloc[0][["n", "roc_auc", "accuracy", "ic"]]
show.table(pd.DataFrame(rows_).T.astype(float),
           {"n": "test samples", "roc_auc": "AUC", "accuracy": "accuracy", "ic": "IC"},
           formats={"test samples": ",d", "AUC": ".3f", "accuracy": ".3f", "IC": ".3f"},
           index="cross-validation")

# %% [markdown]
# Shuffled k-fold puts the neighbours of every test sample, whose labels share 59 of 60 seconds
# of price path, in the training set: the model looks up the answer and the {term}`AUC` is far above
# anything achievable. Contiguous blocks leak only at their edges (a minute on each side of a
# block of more than an hour), so on one day the difference between them and the purged splits
# is within noise; it grows with the horizon and with the number of blocks. The rule does not
# change: a gain that vanishes once the split is purged and forward-only was never a forecast.
# Here the three honest rows are all within noise of 0.5 (with a few hundred independent
# outcomes, section 5.4, the standard error of an AUC is a couple of hundredths): on this day
# this model finds no learnable signal in the 1-minute labels, and only the shuffled split says
# otherwise.
#
# ## 5.5 Meta-labels
#
# Suppose a primary rule already picks a side: go with the 10-second {term}`OFI <Order-flow imbalance (OFI)>`. **Meta-labelling**
# (AFML §3.6) asks a second question: given the side, would the bet have paid? The meta-label is 1
# when the side's return at the first barrier touch is positive. A secondary model trained on it
# learns *when* to trust the primary rule, i.e. how much to bet.

# %%
side = np.sign(ds.X["ofi_10s"]).replace(0, np.nan)
meta = labels.meta_labels(mid, side, pt=BARRIER, sl=BARRIER, horizon=h_tb,
                          tick=inst.tick, samples=side.index)
strength = pd.qcut(ds.X["ofi_10s"].abs().reindex(meta.index), 5,
                   labels=["q1 (weak)", "q2", "q3", "q4", "q5 (strong)"])
tab = meta.groupby(strength, observed=True).agg(share_paid=("label", "mean"),
                                                mean_pnl_ticks=("pnl", "mean"),
                                                n=("label", "size"))
print(f"{len(meta):,} bets, share that paid {meta['label'].mean():.3f}")
show.table(tab, {"share_paid": "share that paid", "mean_pnl_ticks": "mean P&L (ticks)",
                 "n": "bets"},
           formats={"share that paid": ".3f", "mean P&L (ticks)": ".3f", "bets": ",d"},
           index="|ofi_10s| quintile")

# %% [markdown]
# If the share that paid rises with the strength of the imbalance, the strength is a useful input
# of the secondary model; the bet size can then scale with its predicted probability. Read the
# table before building one: on the synthetic day every quintile pays about half the time and
# loses on average, the strongest imbalances included. Going with the 10-second OFI has no edge
# over these barriers, and its strength does not tell good bets from bad ones, so there is
# nothing for a secondary model to learn from this input.
#
# ## Exercises
#
# ```{exercise}
# :label: ex-05-1
# For the 10-second horizon, find the threshold $c$ that makes the three classes as balanced as
# possible (the largest share as small as possible), scanning $c$ in half ticks.
# ```
#
# ```{solution-start} ex-05-1
# :class: dropdown
# ```

# %%
b = labels.balance_by_threshold(fixed[HORIZONS[0]]["ret"], thr)
best = b.max(axis=1).idxmin()
print(f"c = {best:.1f} ticks: largest class share {b.max(axis=1).min():.3f}")
b.loc[[best]].round(3)

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-05-2
# Volatility-scaled barriers: use {py:func}`labels.ewm_volatility <companion.labels.ewm_volatility>` sampled on a 1-minute grid as the width,
# with `pt = sl = 1`, and compare the barrier outcomes with the fixed barriers of section 5.3.
# ```
#
# ```{solution-start} ex-05-2
# :class: dropdown
# ```

# %%
g1 = grid[::60]
vol = labels.ewm_volatility(mid, span=30, tick=inst.tick, samples=g1)
tbv = labels.triple_barrier_labels(mid, pt=1.0, sl=1.0, width=vol, horizon=h_tb,
                                   tick=inst.tick, samples=g1)
print(f"median 1-min volatility {vol.median():.2f} ticks")
tbv["barrier"].map({1: "profit-take", -1: "stop-loss",
                    0: "vertical"}).value_counts(normalize=True).round(3)

# %% [markdown]
# ```{solution-end}
# ```
#
# ```{exercise}
# :label: ex-05-3
# Show that the leak of shuffled k-fold grows with the overlap: evaluate the model with shuffled
# k-fold and with purged walk-forward on 10-second labels, and compare the AUC gap with the one
# of section 5.4 (1-minute labels).
# ```
#
# ```{solution-start} ex-05-3
# :class: dropdown
# ```

# %%
ds10 = build_training_set(data, horizon=HORIZONS[0], grid=GRID,
                          features=flow_feature_names())
gap = {}
cvs = (("k-fold, shuffled", KFold(N_SPLITS, shuffle=True, random_state=SEED)),
       ("purged walk-forward", PurgedWalkForward(N_SPLITS, embargo=HORIZONS[0])))
for name, s in cvs:
    r = walk_forward_evaluate(ds10.X, ds10.y, t_end=ds10.t_end, model_factory=model,
                              cv=s, baselines=False)
    gap[name] = r.metrics.iloc[0]["roc_auc"]
print(f"{HORIZONS[0]} labels: AUC shuffled k-fold {gap['k-fold, shuffled']:.3f}, "
      f"walk-forward {gap['purged walk-forward']:.3f}, gap "
      f"{gap['k-fold, shuffled'] - gap['purged walk-forward']:+.3f}")
auc_of = {name: r["roc_auc"] for name, r in rows_.items()}
tb_gap = auc_of["k-fold, shuffled"] - auc_of["purged walk-forward"]
print(f"{h_tb} labels: gap {tb_gap:+.3f}")

# %% [markdown]
# ```{solution-end}
# ```

# %% [markdown]
# ```{admonition} Key takeaways
# :class: tip
#
# - The flat threshold sets the class balance: at 10 s a third of the labels is flat only from 3
#   ticks on, and at $c = 0$ only 3.8% are flat.
# - Label definitions disagree: smoothed (FI-2010) and fixed-horizon labels agree on 0.719 of
#   the samples.
# - Labels sampled every second overlap heavily: mean uniqueness 0.017, so 23,339 labels carry
#   about 386 independent outcomes.
# - Shuffled k-fold makes a useless model look good (AUC 0.661); contiguous, purged and
#   walk-forward splits give 0.490-0.497.
# - Meta-labels show that the raw OFI-sign bet paid in 49.5% of 22,994 cases, and stronger OFI
#   did not pay more.
# ```
