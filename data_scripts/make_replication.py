#!/usr/bin/env python
"""Recompute the course's numbers on the LOBSTER samples and write the book's replication page.

    python data_scripts/make_replication.py [--check]

Writes companion/reference/replication.json (the numbers, canonical: sorted keys, floats rounded
to 3 d.p.) and book/replication.md (GENERATED from the JSON and the template below: do not edit
it by hand). ``--check`` recomputes, compares with the committed JSON (relative tolerance 1e-6)
and checks that the committed page is the rendering of the committed JSON; it exits 1 with a list
of the differences. Every number comes from the package's own functions, called as the CLI and
the chapters call them:

* CKS 2014 OFI regressions and CCZ 2023 multi-level OFI: :func:`companion.flow.kyle.impact_regressions`
  as in ``python -m companion report ofi`` (10-s bins, 30-min windows, round lots of 100 shares,
  CKS depth, session-aligned windows);
* trade-sign accuracy: :func:`companion.flow.tradesign.score_trade_signs` as in ``report tradesign``
  (1-min BVC bars, hidden executions included);
* VPIN: :func:`companion.flow.vpin.vpin` (exact signs) and :func:`~companion.flow.vpin.vpin_diagnostics`
  with chapter 03's buckets (V = day volume / ``BUCKETS_PER_DAY``, windows of ``N_BUCKETS``);
* micro-price: :func:`companion.flow.microprice.score_predictors` with chapter 02's spread states;
* classification: :func:`companion.models.dataset.build_training_set` and
  :func:`companion.models.walk_forward_evaluate` as in ``python -m companion train`` (defaults).
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
JSON_PATH = ROOT / "companion" / "reference" / "replication.json"
PAGE_PATH = ROOT / "book" / "replication.md"

SAMPLES = ("lobster:AAPL:1", "lobster:AMZN:1", "lobster:GOOG:1", "lobster:GOOG:5", "lobster:GOOG:10")
DECIMALS = 3
REL_TOL = 1e-6

# settings (each the default of the CLI command or chapter that the number reproduces)
OFI = dict(size_unit=100.0, freq="10s", window="30min", depth="cks")   # report ofi / CKS 2014
BVC_FREQ = "1min"                                                        # report tradesign / EHO 2012
BUCKETS_PER_DAY, N_BUCKETS = 200, 10                                     # chapters/03_vpin.py
MICRO_HORIZONS = ("1s", "10s")                                           # chapters/02_ofi_theory.py grid 1 s
TRAIN = dict(horizon="10s", grid="1s", n_splits=5, n_estimators=200, seed=7)  # companion train defaults


# --------------------------------------------------------------------------------------------- compute
def _ofi(day) -> tuple[dict, dict | None]:
    from companion.flow.kyle import impact_regressions
    from companion.flow.tradesign import signed_volume_events

    ev, book, inst = day.events, day.book, day.instrument
    res = impact_regressions(book, ev["ts"], signed_volume_events(ev), tick=inst.tick, size_unit=OFI["size_unit"],
                             freq=OFI["freq"], window=OFI["window"], t0=inst.session_open_ns or None,
                             t1=inst.session_close_ns or None, depth=OFI["depth"])
    s = res.summary
    ofi = {k: s[k] for k in ("n_windows", "r2_mean", "r2_min", "r2_max", "beta_significant_share", "beta_mean",
                             "t_beta_mean", "gamma_significant_share", "r2_ti_mean", "r2_joint_mean",
                             "ti_joint_significant_share", "depth_mean", "c", "lambda", "depth_law_r2")}
    ml = None
    if "r2_ml_mean" in s:
        ml = {k: s[k] for k in ("levels", "adj_r2_ofi1n_mean", "adj_r2_ml_mean", "ml_gain_adj_r2", "r2_ofi1n_mean",
                                "r2_int_mean", "int_gain_r2", "pc1_share_mean")}
    return ofi, ml


def _tradesign(day) -> dict:
    from companion.flow.tradesign import score_trade_signs

    inst = day.instrument
    tab = score_trade_signs(day.events, day.book, bvc_freq=BVC_FREQ, t0=inst.session_open_ns or None)
    out = {"n_trades": int(tab["n_trades"].iloc[0])}
    for m in ("tick", "quote", "lee_ready"):
        out[f"{m}_accuracy"] = tab.loc[m, "accuracy_count"]
        out[f"{m}_accuracy_volume"] = tab.loc[m, "accuracy_volume"]
    for m in ("tick", "lee_ready", "bvc"):
        out[f"{m}_bulk_accuracy"] = tab.loc[m, "bulk_accuracy_volume"]
    return out


def _vpin(day) -> dict:
    from companion.flow.tradesign import executions
    from companion.flow.vpin import vpin, vpin_diagnostics

    tr = executions(day.events, day.book)
    V = tr["size"].sum() / BUCKETS_PER_DAY
    b = vpin(tr["ts"], tr["price"], tr["size"], tr["aggressor"], V=V, n=N_BUCKETS, mode="exact")
    d = vpin_diagnostics(b)
    return {"bucket_volume": float(V), **{k: d[k] for k in ("vpin_mean", "vpin_sd", "corr_intensity", "corr_volatility",
                                                             "corr_next_abs_dp", "t_vpin_controlled", "n_vpin")}}


def _micro(day) -> dict:
    from companion.flow.microprice import score_predictors
    from companion.stats import two_sided

    ev, book, inst = day.events, day.book, day.instrument
    spread = (book[:, 0] - book[:, 2])[two_sided(book)] / inst.tick
    wide = bool(np.median(spread) > 2)        # chapter 02: spread quantiles for a wide-spread book
    kw = dict(spread_bins="quantile", n_spread=3) if wide else dict(spread_bins="ticks", n_spread=2)
    tab, model = score_predictors(book, ev["ts"], tick=inst.tick, t0=inst.session_open_ns or None,
                                  t1=inst.session_close_ns or None, horizons=MICRO_HORIZONS, **kw)
    s = model.summary()
    out = {"spread_states": kw["spread_bins"], "pairs_share_used": s["share_used"],
           "max_move_ticks": s["max_move_ticks"], "g_max_ticks": s["g_max_ticks"]}
    for h in MICRO_HORIZONS:
        r = tab.loc[h]
        out[f"mse_mid_{h}"] = r["mse_mid"]
        out[f"ratio_weighted_mid_{h}"] = r["mse_weighted_mid"] / r["mse_mid"]
        out[f"ratio_micro_{h}"] = r["mse_micro"] / r["mse_mid"]
    return out


def _classification(day) -> dict:
    from companion.models import PurgedWalkForward, walk_forward_evaluate
    from companion.models.dataset import MODEL_PARAMS, build_training_set, flow_feature_names
    from companion.models.train import DirectionClassifier

    ds = build_training_set(day, horizon=TRAIN["horizon"], grid=TRAIN["grid"], features=flow_feature_names())
    model = DirectionClassifier(n_estimators=TRAIN["n_estimators"], random_state=TRAIN["seed"], **MODEL_PARAMS)
    res = walk_forward_evaluate(ds.X, ds.y, t_end=ds.t_end, ret=ds.ret, model_factory=model,
                                cv=PurgedWalkForward(TRAIN["n_splits"], embargo=TRAIN["horizon"]),
                                ofi_column="ofi_10s" if "ofi_10s" in ds.X.columns else None,
                                random_state=TRAIN["seed"])
    m = res.metrics.set_index("model")
    return {"n_samples": int(len(ds)), "n_oos": int(m.loc["model", "n"]), "share_up": float(ds.y.mean()),
            "lgbm_auc": m.loc["model", "roc_auc"], "lgbm_balanced_accuracy": m.loc["model", "balanced_accuracy"],
            "logistic_auc": m.loc["logistic", "roc_auc"], "majority_balanced_accuracy": m.loc["majority", "balanced_accuracy"]}


def _round(x):
    if isinstance(x, dict):
        return {k: _round(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_round(v) for v in x]
    if isinstance(x, (bool, str)) or x is None:
        return x
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return round(x, DECIMALS) if math.isfinite(x) else None


def compute_sample(spec: str) -> dict:
    """Every replicated number of one LOBSTER sample (unrounded)."""
    from companion.data import load

    day = load(spec)
    inst = day.instrument
    ofi, ml = _ofi(day)
    out = {"symbol": inst.symbol, "date": str(inst.date), "levels": int(inst.levels), "events": int(len(day.events)),
           "ofi": ofi, "tradesign": _tradesign(day), "vpin": _vpin(day), "microprice": _micro(day),
           "classification": _classification(day)}
    if ml is not None:
        out["multilevel"] = ml
    return out


def compute() -> dict:
    """The canonical JSON document: settings and the rounded numbers of every sample."""
    settings = {"ofi": OFI, "bvc_freq": BVC_FREQ, "vpin": {"buckets_per_day": BUCKETS_PER_DAY, "n_buckets": N_BUCKETS},
                "micro_horizons": list(MICRO_HORIZONS), "train": TRAIN, "decimals": DECIMALS}
    return _round({"settings": settings, "samples": {s: compute_sample(s) for s in SAMPLES}})


# --------------------------------------------------------------------------------------------- compare
def _flat(d, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def differences(fresh: dict, committed: dict, rel_tol: float = REL_TOL) -> list[str]:
    """Human-readable list of the keys whose values differ (numbers: relative tolerance ``rel_tol``)."""
    a, b = _flat(fresh), _flat(committed)
    diffs = []
    for k in sorted(a.keys() | b.keys()):
        if k not in b:
            diffs.append(f"{k}: {a[k]!r} (missing in the committed file)")
        elif k not in a:
            diffs.append(f"{k}: committed {b[k]!r} not recomputed")
        else:
            x, y = a[k], b[k]
            num = isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool)
            same = math.isclose(x, y, rel_tol=rel_tol, abs_tol=0.0) if num else x == y
            if not same:
                diffs.append(f"{k}: recomputed {x!r} != committed {y!r}")
    return diffs


# --------------------------------------------------------------------------------------------- page
def _short(spec: str) -> str:
    _, t, lev = spec.split(":")
    return f"{t} {lev}"


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _adj(d: str, sep: str = "-") -> str:
    """"10s" -> "10-s" (or "10 s" with ``sep=" "``), "30min" -> "30-min"."""
    m = re.fullmatch(r"(\d+)([a-z]+)", d)
    return f"{m[1]}{sep}{m[2]}" if m else d


def _pp(x) -> str:
    return "—" if x is None else f"{100 * x:+.1f} pp"


def _num(x, nd: int = 3) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def _int(x) -> str:
    return "—" if x is None else f"{x:,}"


def _table(doc: dict, section: str, rows: list[tuple], samples=SAMPLES) -> str:
    """Markdown table: one row per (label, key, formatter, published, source)."""
    head = "| Quantity | " + " | ".join(_short(s) for s in samples) + " | Published | Source |"
    sep = "|---|" + "---:|" * len(samples) + "---|---|"
    lines = [head, sep]
    for label, key, fmt, pub, src in rows:
        cells = []
        for s in samples:
            sec = doc["samples"][s].get(section)
            cells.append("—" if sec is None else fmt(sec.get(key)))
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {pub} | {src} |")
    return "\n".join(lines)


CKS = "{cite:p}`cont2014price` [P]"
CCZ = "{cite:p}`cont2023cross` [P]"


def render(doc: dict) -> str:
    """The replication page (MyST markdown) for a JSON document of :func:`compute`."""
    s0 = doc["samples"][SAMPLES[0]]
    ml_samples = [s for s in SAMPLES if "multilevel" in doc["samples"][s]]
    day = ", ".join(f"{_short(s)} ({_int(doc['samples'][s]['events'])} events)" for s in SAMPLES)
    ofi = _table(doc, "ofi", [
        ("30-min windows", "n_windows", _int, "273 per stock", CKS),
        ("mean $R^2$, $\\Delta P$ on OFI", "r2_mean", _pct, "65% (35–79% across stocks)", CKS),
        ("$\\beta$ significant ($\\lvert t\\rvert > 1.96$)", "beta_significant_share", _pct, "98%", CKS),
        ("mean $\\beta$ (ticks per lot)", "beta_mean", _num, "0.040 (SLB 0.020)", CKS),
        ("mean $t(\\beta)$", "t_beta_mean", lambda x: _num(x, 1), "12.08", CKS),
        ("quadratic term significant", "gamma_significant_share", _pct, "17%", CKS),
        ("mean $R^2$, $\\Delta P$ on TI", "r2_ti_mean", _pct, "32%", CKS),
        ("mean $R^2$, OFI and TI", "r2_joint_mean", _pct, "67%", CKS),
        ("TI significant next to OFI", "ti_joint_significant_share", _pct, "43%", CKS),
        ("mean depth $D$ (lots)", "depth_mean", lambda x: _num(x, 2), "—", "—"),
        ("depth law $c$", "c", _num, "0.45–0.6 typical (grand mean 0.88)", CKS),
        ("depth law $\\lambda$", "lambda", _num, "1.05", CKS),
        ("depth law $R^2$", "depth_law_r2", _pct, "76%", CKS),
    ])
    ml = _table(doc, "multilevel", [
        ("levels", "levels", _int, "10", CCZ),
        ("adj. $R^2$, level-1 OFI (depth-normalised)", "adj_r2_ofi1n_mean", _pct, "71.2% (PI, in-sample)", CCZ),
        ("adj. $R^2$, all levels", "adj_r2_ml_mean", _pct, "—", "—"),
        ("$R^2$, integrated OFI (past-window PC1)", "r2_int_mean", _pct, "87.1% (PI$^I$, in-sample)", CCZ),
        ("integrated minus level-1 $R^2$", "int_gain_r2", _pp, "+16 pp", CCZ),
        ("PC1 share of multi-level OFI variance", "pc1_share_mean", _pct, "89.1% (sd 6.1)", CCZ),
    ], samples=ml_samples)
    lr = "{cite:p}`lee1991inferring` rule; EMO 2000 [S]"
    ts = _table(doc, "tradesign", [
        ("executions scored", "n_trades", _int, "—", "—"),
        ("tick rule, share of trades right", "tick_accuracy", _pct, "77.7% (Nasdaq)", "EMO 2000 [S]"),
        ("quote rule, share of trades right", "quote_accuracy", _pct, "76.4% (Nasdaq)", "EMO 2000 [S]"),
        ("Lee–Ready, share of trades right", "lee_ready_accuracy", _pct, "81.1% (Nasdaq); 85% (NYSE)", lr + ", Odders-White 2000 [S]"),
        ("Lee–Ready, share of volume right", "lee_ready_accuracy_volume", _pct, "—", "—"),
        ("tick rule, bulk accuracy (1-min bars)", "tick_bulk_accuracy", _pct, "97.7% (E-mini buckets)", "{cite:p}`andersen2014vpin` [S]"),
        ("BVC, bulk accuracy (1-min bars)", "bvc_bulk_accuracy", _pct, "91.7% (E-mini); 79.7% (INET stocks)", "{cite:p}`andersen2014vpin`; CPS 2015 [S]"),
    ])
    vp = _table(doc, "vpin", [
        ("VPIN values", "n_vpin", _int, "—", "—"),
        ("mean VPIN (exact signs)", "vpin_mean", _num, "≈ 0.23 (E-mini, BVC)", "{cite:p}`easley2012flow` via Kang et al. [S]"),
        ("sd VPIN", "vpin_sd", _num, "≈ 0.06", "{cite:p}`easley2012flow` via Kang et al. [S]"),
        ("corr(VPIN, trading intensity)", "corr_intensity", _num, "0.50 / 0.62 / 0.71 (time-bar VPIN, 10 s / 60 s / 300 s bars)", "{cite:p}`andersen2014vpin` [S]"),
        ("corr(VPIN, window volatility)", "corr_volatility", _num, "positive (BVC errors track volatility)", "{cite:p}`andersen2014vpin` [S]"),
        ("corr(VPIN, next bucket's $\\lvert\\Delta P\\rvert$)", "corr_next_abs_dp", _num, "0.40 (ln VPIN, E-mini)", "{cite:p}`easley2012flow` [S]"),
        ("$t$ of VPIN given intensity and volatility (Newey–West, lag $n$)", "t_vpin_controlled", lambda x: _num(x, 2), "no incremental power", "{cite:p}`andersen2014vpin` [S]"),
    ])
    st = "{cite:p}`stoikov2018micro` [P]"
    mp = _table(doc, "microprice", [
        ("spread states", "spread_states", lambda x: x or "—", "ticks (BAC, CVX)", st),
        ("share of pairs used in the fit", "pairs_share_used", _pct, "— (mid moves of ±½, ±1 tick kept)", st),
        ("largest mid move kept (ticks)", "max_move_ticks", lambda x: _num(x, 1), "1", st),
        ("largest adjustment $G^*$ (ticks)", "g_max_ticks", _num, "under half a spread", st),
        ("MSE of mid, 1 s (ticks²)", "mse_mid_1s", lambda x: _num(x, 2), "—", "—"),
        ("MSE ratio weighted mid / mid, 1 s", "ratio_weighted_mid_1s", _num, "> 1 expected (W over-reacts)", st),
        ("MSE ratio micro-price / mid, 1 s", "ratio_micro_1s", _num, "≤ 1 expected", st),
        ("MSE of mid, 10 s (ticks²)", "mse_mid_10s", lambda x: _num(x, 2), "—", "—"),
        ("MSE ratio weighted mid / mid, 10 s", "ratio_weighted_mid_10s", _num, "> 1 expected", st),
        ("MSE ratio micro-price / mid, 10 s", "ratio_micro_10s", _num, "≤ 1 expected (matches at 10 s for CVX)", st),
    ])
    cl = _table(doc, "classification", [
        ("samples on the 1-s grid", "n_samples", _int, "—", "—"),
        ("out-of-sample predictions", "n_oos", _int, "—", "—"),
        ("share of labels 'up'", "share_up", _pct, "—", "—"),
        ("LightGBM ROC-AUC", "lgbm_auc", _num, "—", "—"),
        ("LightGBM balanced accuracy", "lgbm_balanced_accuracy", _pct, "34.4% (3 classes, AAPL, 100 events)", "third-party baseline [S]"),
        ("logistic ROC-AUC", "logistic_auc", _num, "—", "—"),
        ("majority-class balanced accuracy", "majority_balanced_accuracy", _pct, "50% by construction", "—"),
    ])
    st_ = doc["settings"]
    nw = s0["ofi"]["n_windows"]
    return f"""# Replication: the course's numbers beside the published ones

```{{note}}
This page is generated by `data_scripts/make_replication.py` from
`companion/reference/replication.json`; do not edit it by hand. CI recomputes every number from
the LOBSTER samples when they are present (`make_replication.py --check`).
```

The five LOBSTER samples of {s0['date']}, {day}, are run through the same package functions
that the chapters and the command line use, with their default settings, and each number is set
beside the published figure it is meant to echo. The samples are one day of three Nasdaq stocks;
the papers average over weeks or years and dozens of stocks, other venues and other units. Read
each row as "same order of magnitude and same direction?", never as a test that our number is
right or wrong. Each source carries its verification level from the course's reference notes:
**[P]** read in the full text, **[S]** taken from a careful secondary note that quotes the paper
(re-check before relying on it). Figures we could not verify are not shown.

## OFI price impact (Cont, Kukanov & Stoikov 2014)

$\\Delta P$ (mid change in ticks) on OFI (round lots of {st_['ofi']['size_unit']:g} shares) over
{_adj(st_['ofi']['freq'])} bins, one OLS per {_adj(st_['ofi']['window'])} window; TI = aggressor-signed
traded volume; depth law $\\log \\hat\\beta_i = \\log c - \\lambda \\log D_i$ with CKS depth
{CKS}. Command: `python -m companion report ofi lobster:GOOG:1`.

{ofi}

## Multi-level and integrated OFI (Cont, Cucuringu & Zhang 2023)

Depth-normalised OFI of each level; the integrated OFI weights the levels by the first principal
component estimated on the previous window {CCZ}. CCZ regress 1-min log returns over 30-min
windows of 100 stocks for three years; we regress 10-s tick changes on one day. Level-1 samples
have no deeper levels and are left out.

{ml}

## Trade-sign classification

LOBSTER records the true aggressor side of every execution, so classification accuracy is
measured, not estimated. Trade-level accuracy counts trades; bulk accuracy is
$1 - \\sum_k |\\hat V^B_k - V^B_k| / \\sum_k V_k$ over {_adj(st_['bvc_freq'])} bars. The published
bulk figures are per volume bucket (E-mini) or per trade (INET), so they compare only in spirit.
EMO 2000 = Ellis, Michaely & O'Hara (JFQA 35(4)); CPS 2015 = Chakrabarty, Pascual & Shkilko
(JFM 25), as quoted by {{cite:t}}`andersen2014vpin`.

{ts}

## VPIN (Easley, López de Prado & O'Hara 2012)

VPIN with exact signs over volume buckets of the day's volume / {st_['vpin']['buckets_per_day']}
and windows of {st_['vpin']['n_buckets']} buckets (chapter 03's settings;
{{cite:t}}`easley2012flow` use average daily volume / 50 and 50 buckets, with BVC signs, on
E-mini futures). Diagnostics follow {{cite:t}}`andersen2014vpin`; the $t$-statistic uses
Newey–West errors with a lag of the window, $n$ buckets, because consecutive windows share
$n - 1$ buckets. The bucket size is the day's own volume / {st_['vpin']['buckets_per_day']}: the
series describes the day after the fact, it is not a live alarm.

{vp}

## Micro-price (Stoikov 2018)

The micro-price is fitted on the first half of the session (book sampled every second) and
scored on the second half: mean squared error of each predictor of the mid
{" and ".join(_adj(h, " ") for h in st_['micro_horizons'])} ahead, as a ratio to the MSE of the mid itself (below 1 =
better than the mid). The LOBSTER spreads are wide (over 10 ticks), so spread states are
quantiles rather than ticks (chapter 02), and every mid move is kept (on a half-tick grid up to
the largest move of the fit), where Stoikov keeps moves of ±½ and ±1 tick, made for one- or
two-tick spreads. Stoikov reports figures only; the published column is qualitative. Read the
ratios as measured: a ratio above 1 means the fitted adjustment made the forecast worse out of
sample than the mid itself.

{mp}

## Direction classification (chapter 06)

Label: mid up after {_adj(st_['train']['horizon'], ' ')} on a {_adj(st_['train']['grid'])} grid of causal order-flow
features; purged walk-forward, {st_['train']['n_splits']} test blocks, LightGBM with
{st_['train']['n_estimators']} trees (seed {st_['train']['seed']}); `python -m companion train
--data lobster:AAPL:1`. The deep-learning benchmarks are not comparable: they predict three
classes at event horizons on FI-2010 {{cite:p}}`ntakaris2018benchmark` or on other LOBSTER
stocks. LOBCAST (Prata et al. 2024, [S]) re-measured 15 published models on LOBSTER data at an
F1 of 48–61%, far below their FI-2010 scores. The one published baseline on this very AAPL day
(a third-party repository, [S]) finds a balanced accuracy of 0.344 for gradient boosting against
0.333 for the majority class: close to unpredictable, which is what we find at 10 s.

{cl}

## Notes

- **Units.** CKS use TAQ NBBO (all venues), where the best queues are deeper than on Nasdaq
  alone; LOBSTER is Nasdaq only, so depth is smaller and $\\beta$ larger (CKS App. B.3 report a
  Nasdaq-only $\\beta$ of 0.060 for SLB against 0.020 on the NBBO). The 2012 samples also have
  spreads of more than 10 one-cent ticks, so a depleted queue moves the mid by several ticks
  rather than half a tick, which raises $\\beta$ in ticks per lot further.
- **Sample size.** One day gives {nw} regression windows per stock; shares of significant windows
  move in steps of {100 / nw:.1f} pp, and the depth law is fitted on {nw} points, against 273
  windows per stock in CKS.
- **Same day, different depth.** GOOG 1, 5 and 10 are the same day of messages with 1, 5 and 10
  levels: every level-1 number (OFI, trade signs, VPIN, micro-price) must agree across the three
  columns, which checks the readers; only the multi-level rows and the classifier (whose features
  see the deeper levels) may differ.
- **Trade signs.** LOBSTER puts every execution in the same message stream as the quotes, so
  each trade is compared with the book just before it; the published accuracies come from data
  whose trades and quotes are timed separately, a known source of rule errors. Higher
  accuracies here are expected.
- **Rounding.** Numbers are stored to {st_['decimals']} decimals; shares and $R^2$ are shown in
  percent.
"""


# --------------------------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="recompute and compare with the committed JSON and page")
    args = ap.parse_args(argv)
    fresh = json.loads(json.dumps(compute(), sort_keys=True))
    if args.check:
        committed = json.loads(JSON_PATH.read_text())
        diffs = differences(fresh, committed)
        if PAGE_PATH.read_text() != render(committed):
            diffs.append(f"{PAGE_PATH.relative_to(ROOT)} is not the rendering of the committed JSON (rerun the script)")
        if diffs:
            print(f"replication: {len(diffs)} difference(s) from the committed files:")
            for d in diffs:
                print("  " + d)
            return 1
        print(f"replication: {len(_flat(fresh))} numbers match the committed file")
        return 0
    JSON_PATH.write_text(json.dumps(fresh, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    PAGE_PATH.write_text(render(fresh))
    print(f"wrote {JSON_PATH.relative_to(ROOT)} and {PAGE_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
