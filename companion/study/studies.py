r"""Per-ticker-day functions of the studies and the combiners that turn their small results into
one table and a summary.

Every per-unit function has the signature ``fn(item, store_root, params)``: ``item`` is a
:class:`companion.events.TickerDay` (or, for ``crossimpact``, one date's ticker-days; for the
``train`` folds, a test day with its training days); the day is read through
:class:`companion.store.Store` (Parquet, built from the source on first use), the stages run, a
table is written back to the store and a small result (a dict of scalars and at most a small
frame) is returned. The same function runs in-process (``serial=True``) and on Dask workers, so
the two runs give identical numbers.

Studies (defaults in :data:`DEFAULTS`):

``ofi``
    CKS (2014) regressions per window, :math:`\Delta P_k = \alpha + \beta\,\mathrm{OFI}_k +
    \epsilon_k` over ``freq`` bins inside ``window`` windows (:func:`companion.flow.kyle.impact_regressions`),
    the pooled regression of the whole day, and the depth law :math:`\beta_i = \hat c / D_i^\lambda`
    fitted over the day's windows. Units: :math:`\beta` ticks per lot (``size_unit`` shares).
``features``
    Causal flow features on a ``grid`` clock (:func:`companion.features.compute`) with the
    fixed-horizon label "mid up after ``horizon``" (:func:`companion.labels.fixed_horizon_labels`),
    written as the store table ``features``.
``train``
    Walk-forward by day per ticker: train on the ticker's days before ``d`` (training samples
    whose label window ``[t, t_end]`` comes within ``embargo`` of the test day's first sample
    are purged), test on day ``d``; LightGBM vs logistic regression vs the sign of the 10-s OFI.
``backtest``
    :class:`companion.backtest.ImbalanceScalper` per ticker-day (market entries, flattened
    ``flat_before_close_s`` before the close); the day's P&L and metrics
    (``companion.backtest.engine.summarize``).
``crossimpact``
    Per date, the tickers' returns on own and cross-asset OFI (Cont, Cucuringu & Zhang 2023):
    :math:`r_{i,k} = \alpha_i + \beta_{ii}\,\mathrm{ofi}_{i,k} + \sum_{j \ne i} \beta_{ij}\,
    \mathrm{ofi}_{j,k} + \epsilon` with :math:`\mathrm{ofi}` level-1 OFI normalised by the bin's
    average depth and :math:`r` the log mid return in basis points.
``mm``
    Market making against taking (:func:`day_mm`): the GLFT maker without and with an imbalance
    alpha skew against the imbalance scalper, under each queue model and latency, the makers'
    parameters chosen on the first part of the day and reported on the rest (walk-forward); the
    P&L of each run split into spread capture, adverse selection, inventory P&L and fees.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from companion.events import as_dataset

__all__ = ["DEFAULTS", "FEATURE_PARAMS", "MM_STRATEGIES", "date_crossimpact", "day_backtest", "day_features", "day_mm",
           "day_ofi", "load_dataset", "mm_quote_qty", "mm_walk_forward", "mm_window", "table_version", "train_fold"]

MM_QUEUES_DEFAULT = ("risk_averse", "power", "fifo")

#: default parameters of each study (``run_study(params=...)`` overrides them)
DEFAULTS = {
    "ofi": {"freq": "10s", "window": "30min", "size_unit": 100.0, "min_bins": 10},
    "features": {"grid": "1s", "horizon": "10s", "warmup": "5min"},
    "train": {"grid": "1s", "horizon": "10s", "warmup": "5min", "embargo": "10s", "min_train_days": 1,
              "n_estimators": 100, "seed": 7},
    "backtest": {"flat_before_close_s": 60.0, "hold_s": 10.0},
    "crossimpact": {"freq": "10s"},
    "mm": {"skip_open_s": 0.0, "window_s": 0.0, "max_events": 0, "fit_fraction": 0.5, "queues": MM_QUEUES_DEFAULT,
           "latencies_us": (100.0,), "gammas": (0.01, 0.1, 1.0), "requote_ticks": (1, 3),
           "alpha_mults": (0.5, 1.0, 2.0), "alpha_horizon_s": 10.0, "quote_notional": 10_000.0,
           "max_position_quotes": 5, "taker_hold_s": 10.0, "vol_window_s": 60.0, "intensity_window_s": 120.0},
}


def load_dataset(day, store_root=None):
    """One ticker-day's events, book and instrument, through the Parquet store.

    Examples
    --------
    >>> d = load_dataset(discover("lobster:AAPL:1")[0])      # doctest: +SKIP
    """
    from companion.store import Store

    return Store(store_root).dataset(day)


def _store(store_root):
    from companion.store import Store

    return Store(store_root)


def table_version(study: str, params: dict) -> str:
    """The store ``version`` of a study's tables: the study and a hash of its parameters, so a
    table written with other parameters is never read as fresh.

    Examples
    --------
    >>> table_version("features", {"grid": "1s"}) == table_version("features", {"grid": "1s"})
    True
    >>> table_version("features", {"grid": "1s"}) == table_version("features", {"grid": "5s"})
    False
    """
    from dask.base import tokenize

    return f"{study}-{tokenize(sorted(params.items()))[:12]}"


def _ident(day) -> dict:
    return {"key": day.key, "ticker": day.ticker, "date": day.date}


# ---------------------------------------------------------------------------------------------
# ofi
# ---------------------------------------------------------------------------------------------
def day_ofi(day, store_root, params: dict) -> dict:
    """CKS regressions of one ticker-day; writes the store table ``ofi_windows``.

    Returns ``{"row": {...}, "windows": DataFrame}``: the row holds ``n_events``, ``n_bins``,
    ``n_windows``, the window means ``r2_mean`` / ``beta_mean``, the pooled day regression
    ``r2_day`` / ``beta_day`` / ``t_beta_day``, and the depth law ``c`` (ticks) / ``lambda``.

    Examples
    --------
    >>> day_ofi(day, None, DEFAULTS["ofi"])["row"]["r2_day"]     # doctest: +SKIP
    """
    from companion.flow import impact_regressions, ols
    from companion.flow.tradesign import signed_volume_events

    d = load_dataset(day, store_root)
    ev, book, inst = d.events, d.book, d.instrument
    if len(ev) < 2:
        raise ValueError(f"{day.key}: only {len(ev)} events")
    ts = np.asarray(ev["ts"], dtype=np.int64)
    t0 = int(inst.session_open_ns) if inst.session_open_ns else None
    t1 = int(inst.session_close_ns) if inst.session_close_ns else None
    res = impact_regressions(book, ts, signed_volume_events(ev), tick=float(d.tick),
                             size_unit=float(params["size_unit"]), freq=params["freq"], window=params["window"],
                             t0=t0, t1=t1, levels=1, min_bins=int(params["min_bins"]))
    bins = res.bins
    pooled = ols(bins["dp"].to_numpy(), bins["ofi"].to_numpy())
    win = res.windows.copy()
    s = res.summary
    row = {**_ident(day), "n_events": len(ev), "n_bins": len(bins), "n_windows": int(s.get("n_windows", 0)),
           "r2_mean": s.get("r2_mean", math.nan), "beta_mean": s.get("beta_mean", math.nan),
           "r2_day": float(pooled["r2"]), "beta_day": float(pooled["coef"][1]), "t_beta_day": float(pooled["t"][1]),
           "c": s.get("c", math.nan), "lambda": s.get("lambda", math.nan), "depth_mean": s.get("depth_mean", math.nan)}
    for k in ("ticker", "date"):
        win.insert(0, k, row[k])
    _store(store_root).write_table(day, "ofi_windows", win, version=table_version("ofi", params))
    return {"row": row, "windows": win}


# ---------------------------------------------------------------------------------------------
# features / train
# ---------------------------------------------------------------------------------------------
def feature_table(data, params: dict) -> pd.DataFrame:
    """Flow features on the ``grid`` clock plus the label columns ``ret`` (ticks), ``y``
    (1 when the mid is up after ``horizon``) and ``t_end``; one row per sample, column ``time``.

    Examples
    --------
    >>> feature_table(load_dataset(day), DEFAULTS["features"]).columns[-3:].tolist()   # doctest: +SKIP
    ['ret', 'y', 't_end']
    """
    from companion.features import compute
    from companion.labels import fixed_horizon_labels
    from companion.models.dataset import flow_feature_names, mid_series

    data = as_dataset(data)
    feats = compute(data, grid=params["grid"], features=flow_feature_names())
    if len(feats) and params.get("warmup"):
        feats = feats.loc[feats.index >= feats.index[0] + pd.Timedelta(params["warmup"])]
    lab = fixed_horizon_labels(mid_series(data.events, data.book, data.instrument), params["horizon"], tick=float(data.tick),
                               samples=feats.index)
    X = feats.loc[lab.index].astype(np.float64)
    X["ret"] = lab["ret"].to_numpy(np.float64)
    X["y"] = (X["ret"].to_numpy() > 0).astype(np.int8)
    X["t_end"] = pd.to_datetime(lab["t_end"].to_numpy())
    X.index.name = "time"
    return X.reset_index()


def day_features(day, store_root, params: dict) -> dict:
    """Features and labels of one ticker-day, written as the store table ``features``.

    Examples
    --------
    >>> day_features(day, None, DEFAULTS["features"])["row"]["n_samples"]   # doctest: +SKIP
    """
    tab = feature_table(load_dataset(day, store_root), params)
    _store(store_root).write_table(day, "features", tab, version=table_version("features", params))
    n_feat = tab.shape[1] - 4
    return {"row": {**_ident(day), "n_samples": len(tab), "n_features": int(n_feat),
                    "share_up": float(tab["y"].mean()) if len(tab) else math.nan}}


#: the ``train`` parameters that define its ``features`` tables
FEATURE_PARAMS = ("grid", "horizon", "warmup")


def _logistic(seed: int):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                         LogisticRegression(max_iter=2000, random_state=seed))


def _scores(y: np.ndarray, score: np.ndarray, proba: np.ndarray | None) -> dict:
    from sklearn.metrics import log_loss, roc_auc_score

    both = np.unique(y).size == 2
    pred = (proba > 0.5) if proba is not None else (score > 0)
    out = {"auc": float(roc_auc_score(y, score)) if both else math.nan,
           "accuracy": float(np.mean(pred.astype(np.int8) == y))}
    out["log_loss"] = float(log_loss(y, np.clip(proba, 1e-12, 1 - 1e-12), labels=[0, 1])) if proba is not None else math.nan
    return out


def train_fold(item: dict, store_root, params: dict) -> dict:
    """One walk-forward fold: fit on ``item["train"]`` days, score on ``item["test"]``.

    Reads the ``features`` tables; purges training samples whose ``[time, t_end]`` reaches
    ``test_start - embargo``; drops feature columns that are all-NaN or constant on the training
    rows. Returns one row per model (``lightgbm``, ``logistic``, ``ofi_sign``) with ``auc``,
    ``accuracy``, ``log_loss`` (nats; NaN for the sign rule), ``n_test``, ``n_train``, ``n_purged``.

    Examples
    --------
    >>> train_fold({"test": day3, "train": [day1, day2]}, None, DEFAULTS["train"])   # doctest: +SKIP
    """
    from companion.models.dataset import MODEL_PARAMS
    from companion.models.train import DirectionClassifier

    st = _store(store_root)
    ver = table_version("features", {k: params[k] for k in FEATURE_PARAMS})
    test = st.read_table(item["test"], "features", version=ver)
    train = pd.concat([st.read_table(d, "features", version=ver) for d in item["train"]], ignore_index=True)
    if len(test) == 0 or len(train) == 0:
        raise ValueError(f"{item['test'].key}: empty feature table (train {len(train)}, test {len(test)} rows)")
    test_start = pd.Timestamp(test["time"].min())
    cut = test_start - pd.Timedelta(params["embargo"])
    keep = pd.to_datetime(train["t_end"]).to_numpy() < cut.to_datetime64()
    n_purged = int((~keep).sum())
    train = train.loc[keep]
    label_cols = ["time", "ret", "y", "t_end"]
    feats = [c for c in train.columns if c not in label_cols]
    Xtr = train[feats]
    usable = [c for c in feats if Xtr[c].notna().any() and Xtr[c].nunique(dropna=True) > 1]
    Xtr, Xte = Xtr[usable].to_numpy(np.float64), test[usable].to_numpy(np.float64)
    ytr, yte = train["y"].to_numpy(np.int8), test["y"].to_numpy(np.int8)
    if np.unique(ytr).size < 2:
        raise ValueError(f"{item['test'].key}: training labels of one class only")
    seed = int(params["seed"])
    gbm = DirectionClassifier(n_estimators=int(params["n_estimators"]), random_state=seed, n_jobs=1, **MODEL_PARAMS)
    gbm.fit(pd.DataFrame(Xtr, columns=usable), ytr)
    p_gbm = gbm.predict_proba(pd.DataFrame(Xte, columns=usable))[:, 1]
    lr = _logistic(seed).fit(Xtr, ytr)
    p_lr = lr.predict_proba(Xte)[:, 1]
    ofi = np.nan_to_num(test["ofi_10s"].to_numpy(np.float64)) if "ofi_10s" in test else np.zeros(len(test))
    base = {**_ident(item["test"]), "n_train_days": len(item["train"]), "n_train": len(train),
            "n_purged": n_purged, "n_test": len(test), "n_features": len(usable), "share_up": float(yte.mean())}
    rows = [{**base, "model": "lightgbm", **_scores(yte, p_gbm, p_gbm)},
            {**base, "model": "logistic", **_scores(yte, p_lr, p_lr)},
            {**base, "model": "ofi_sign", **_scores(yte, ofi, None)}]
    return {"rows": rows}


# ---------------------------------------------------------------------------------------------
# backtest
# ---------------------------------------------------------------------------------------------
BACKTEST_METRICS = ("trades", "fills", "pnl_mid", "gross_pnl", "fees", "net_pnl", "spread_cost", "win_rate",
                    "max_drawdown", "avg_pnl_bps", "avg_holding_s", "fill_rate", "signal_accuracy")


def day_backtest(day, store_root, params: dict) -> dict:
    """The imbalance scalper on one ticker-day; writes the store table ``trades``.

    Examples
    --------
    >>> day_backtest(day, None, DEFAULTS["backtest"])["row"]["net_pnl"]     # doctest: +SKIP
    """
    from companion.backtest import ImbalanceScalper
    from companion.backtest.engine import ExecutionConfig, run_backtest, summarize

    d = load_dataset(day, store_root)
    ex = ExecutionConfig(flat_before_close_s=float(params["flat_before_close_s"]))
    res = run_backtest(d.events, d.book, d.instrument, ImbalanceScalper(entry="market", hold_s=float(params["hold_s"])),
                       execution=ex)
    m = summarize(res)
    trades = pd.DataFrame(res.trades).reset_index(drop=True)
    _store(store_root).write_table(day, "trades", trades, version=table_version("backtest", params))
    return {"row": {**_ident(day), **{k: float(m[k]) for k in BACKTEST_METRICS}}}


# ---------------------------------------------------------------------------------------------
# crossimpact
# ---------------------------------------------------------------------------------------------
def _ofi_returns(data, freq, t0: int, t1: int) -> pd.DataFrame:
    from companion.flow.ofi import bin_bounds, mid_nb, multilevel_ofi_bins

    book = np.ascontiguousarray(data.book, dtype=np.float64)
    ts = np.asarray(data.events["ts"], dtype=np.int64)
    ml = multilevel_ofi_bins(book, ts, freq, levels=1, t0=t0, t1=t1)
    _, bounds = bin_bounds(ts, freq, t0, t1)
    mid = mid_nb(book)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = 1e4 * np.log(mid[bounds[1:]] / mid[bounds[:-1]])
    return pd.DataFrame({"ofi": ml["ofi1"].to_numpy(), "r": r}, index=ml.index)


def date_crossimpact(item: dict, store_root, params: dict) -> dict:
    """Own vs cross-asset OFI regressions of the tickers of one date (CCZ 2023).

    ``item["days"]``: the ticker-days of the date (two or more tickers). Bins of ``freq`` from the
    latest session open to the earliest close; bins where any ticker has an undefined OFI or
    return are dropped. Returns one row per ticker: ``beta_own`` and ``r2_own`` (own OFI only),
    ``beta_cross_only`` / ``r2_cross_only`` (the other tickers' OFI only; mean coefficient),
    ``r2_cross`` / ``adj_r2_own`` / ``adj_r2_cross`` (all tickers' OFI), ``beta_own_cross``
    (own coefficient in the joint fit), ``beta_cross_mean`` (mean of the joint fit's cross
    coefficients :math:`\\beta_{ij}, j \\ne i`) and ``t_cross_max`` (the one of their
    t-statistics largest in absolute value), plus the coefficient matrix. In a market where a
    ticker's price moves only through its own book the joint cross coefficients are zero
    (:func:`companion.universe.true_cross_impact`) while a common factor in the order flow makes
    the cross-only coefficient positive.

    Examples
    --------
    >>> date_crossimpact({"date": "2012-06-21", "days": days}, None, DEFAULTS["crossimpact"])   # doctest: +SKIP
    """
    from companion.flow import ols

    days = sorted(item["days"], key=lambda d: d.ticker)
    if len(days) < 2:
        raise ValueError(f"{item['date']}: cross-impact needs two or more tickers, got {len(days)}")
    data = [load_dataset(d, store_root) for d in days]
    t0 = max(int(x.instrument.session_open_ns or x.events["ts"][0]) for x in data)
    t1 = min(int(x.instrument.session_close_ns or x.events["ts"][-1]) for x in data)
    if t1 <= t0:
        raise ValueError(f"{item['date']}: the sessions of {', '.join(d.ticker for d in days)} do not overlap")
    panels = [_ofi_returns(x, params["freq"], t0, t1) for x in data]
    n = min(len(p) for p in panels)
    O = np.column_stack([p["ofi"].to_numpy()[:n] for p in panels])
    R = np.column_stack([p["r"].to_numpy()[:n] for p in panels])
    ok = np.isfinite(O).all(axis=1) & np.isfinite(R).all(axis=1)
    O, R = O[ok], R[ok]
    tick = [d.ticker for d in days]
    rows, coef = [], np.full((len(days), len(days)), np.nan)
    for i, t in enumerate(tick):
        others = np.delete(O, i, axis=1)
        own = ols(R[:, i], O[:, i])
        cross_only = ols(R[:, i], others)
        joint = ols(R[:, i], O)
        b = np.asarray(joint["coef"][1:], dtype=np.float64)
        tj = np.delete(np.asarray(joint["t"][1:], dtype=np.float64), i)
        coef[i] = b
        rows.append({"date": item["date"], "ticker": t, "n_bins": int(ok.sum()), "beta_own": float(own["coef"][1]),
                     "r2_own": float(own["r2"]), "adj_r2_own": float(own["adj_r2"]),
                     "beta_cross_only": float(np.mean(cross_only["coef"][1:])), "r2_cross_only": float(cross_only["r2"]),
                     "r2_cross": float(joint["r2"]), "adj_r2_cross": float(joint["adj_r2"]),
                     "beta_own_cross": float(b[i]), "beta_cross_mean": float(np.delete(b, i).mean()),
                     "t_cross_max": float(tj[np.argmax(np.abs(tj))])})
    return {"rows": rows, "coef": pd.DataFrame(coef, index=pd.Index(tick, name="ticker"), columns=tick)}


# ---------------------------------------------------------------------------------------------
# mm: market making against taking, walk-forward
# ---------------------------------------------------------------------------------------------
#: the strategies of the ``mm`` study (row label -> what it is)
MM_STRATEGIES = {"maker": "GLFT market maker, no alpha",
                 "maker+alpha": "GLFT market maker, reservation price skewed by the imbalance forecast",
                 "taker": "imbalance scalper (market entries and exits)"}

#: queue models of the ``mm`` study (``fifo`` only where the data carry order ids)
MM_QUEUES = MM_QUEUES_DEFAULT


def _queue(name: str):
    from companion.sim import FIFOQueue, PowerProbQueue, RiskAverseQueue

    return {"risk_averse": RiskAverseQueue(), "power": PowerProbQueue(2.0), "fifo": FIFOQueue()}[name]


def mm_window(events, book, instrument, *, skip_open_s: float = 0.0, window_s: float = 0.0,
              max_events: int = 0):
    """The study window of a day: ``events``/``book`` from ``skip_open_s`` after the first event
    for ``window_s`` seconds (0: to the end), at most ``max_events`` events (0: no cap), with
    ``ts`` made non-decreasing (Binance streams
    interleave depth and trade messages whose exchange times are not in arrival order: the
    running maximum keeps arrival order, the book's order). Returns ``(events, book)``.

    Examples
    --------
    >>> from companion.events import EVENT_DTYPE
    >>> ev = np.zeros(4, EVENT_DTYPE); ev["ts"] = [0, 2_000_000_000, 1_000_000_000, 5_000_000_000]
    >>> e, b = mm_window(ev, np.zeros((4, 4)), None, window_s=3)
    >>> e["ts"].tolist()
    [0, 2000000000, 2000000000]
    """
    from companion.events import NS

    ev = np.array(events, copy=True)
    ev["ts"] = np.maximum.accumulate(np.asarray(ev["ts"], dtype=np.int64))
    t0 = int(ev["ts"][0]) + int(skip_open_s * NS) if len(ev) else 0
    t1 = t0 + int(window_s * NS) if window_s else None
    i0 = int(np.searchsorted(ev["ts"], t0, side="left"))
    i1 = int(np.searchsorted(ev["ts"], t1, side="left")) if t1 is not None else len(ev)
    if max_events:
        i1 = min(i1, i0 + int(max_events))
    return ev[i0:i1], np.ascontiguousarray(book[i0:i1])


def _mm_fees(instrument):
    from companion.sim import Fees

    return Fees.for_venue(instrument)


def _maker(instrument, p: dict, gamma: float, requote: float, alpha_scale: float, qty: float, values, table):
    from companion.backtest.market_making import GLFT

    class _Primed(GLFT):
        """GLFT whose causal sigma / A / k table comes precomputed over the whole study window
        (so the test part's estimators start from the fit part's trailing data, never later)."""

        def model_table(self, events, book, instrument):
            return table

    return _Primed(gamma=gamma, requote_ticks=requote, alpha="imbalance" if alpha_scale else "none",
                   alpha_scale=alpha_scale, forecast=values, quote_size=qty,
                   max_position=qty * float(p["max_position_quotes"]))


def _run(events, book, inst, strategy, queue: str, latency_us: float, fees):
    from companion.backtest.engine import ExecutionConfig, run_backtest

    lat = int(round(latency_us * 1000))
    ex = ExecutionConfig(fees=fees, queue=_queue(queue), entry_latency=lat, response_latency=lat,
                         flat_before_close_s=None, max_orders=200_000)
    return run_backtest(events, book, inst, strategy, execution=ex)


MM_COLUMNS = ("fills", "volume", "gross", "spread_capture", "adverse_selection", "inventory_pnl", "fees", "net")


def _mm_row(res, stats: bool = False) -> dict:
    """The decomposition (:func:`companion.backtest.pnl.decompose`, currency) as a flat row;
    ``gross = net + fees``; ``adverse_selection`` at 1 s (positive = the mid moved against the
    fills); with ``stats``, the fill rate (filled / quoted quantity) and the median queue ahead at
    a maker fill."""
    from companion.backtest.pnl import decompose

    d = decompose(res)
    row = {"fills": int(d["maker_fills"] + d["taker_fills"]), "maker_fills": int(d["maker_fills"]),
           "volume": float(d["volume"]), "gross": d["net"] + d["fees"], "spread_capture": d["spread_capture"],
           "adverse_selection": d["adverse_selection"]["1s"], "adverse_selection_10s": d["adverse_selection"]["10s"],
           "inventory_pnl": d["inventory_pnl"], "fees": d["fees"], "net": d["net"]}
    if stats:
        o = res.sim.orders
        own = o[o["by_risk"] == 0]
        qq = float(own["qty"].sum())
        row["fill_rate"] = float(own["filled"].sum() / qq) if qq > 0 else math.nan
        row["orders"] = int(len(own))
        if row["maker_fills"]:
            from companion.backtest.pnl import mm_stats

            st = mm_stats(res, quantiles=(0.5,))
            row["queue_at_arrival"] = st["queue_at_arrival_filled_median"]
            row["touch_time"] = 0.5 * (st["touch_time_bid"] + st["touch_time_ask"])
        else:
            row["queue_at_arrival"] = row["touch_time"] = math.nan
    return row


def _alpha_beta(values, mid, ts, horizon_ns: int, tick: float) -> float:
    """OLS slope (ticks per unit of signal) of the mid change over ``horizon_ns`` on the signal."""
    j = np.searchsorted(ts, ts + horizon_ns, side="left")
    ok = j < len(ts)
    x, y = values[ok], (mid[j[ok]] - mid[ok]) / tick
    m = np.isfinite(x) & np.isfinite(y)
    x, y = x[m], y[m]
    if x.size < 10 or np.var(x) == 0:
        return 0.0
    return float(np.cov(x, y, bias=True)[0, 1] / np.var(x))


def mm_quote_qty(instrument, mid_price: float, notional: float) -> float:
    """Quote size: ``notional`` (currency) at the median mid, in whole lots (at least one lot).

    Examples
    --------
    >>> from companion.events import Instrument
    >>> mm_quote_qty(Instrument("AAPL", tick=100, price_scale=10_000), 5_800_000.0, 10_000.0)
    17.0
    """
    lot = float(getattr(instrument, "lot", 1.0) or 1.0)
    px = mid_price / float(instrument.price_scale)
    return max(1.0, math.floor(notional / px / lot)) * lot


def mm_walk_forward(events, book, instrument, params: dict, *, fifo: bool = True) -> list[dict]:
    """The ``mm`` study on one window of events (:func:`day_mm` without the store): returns the
    rows (see :func:`day_mm`). ``fifo``: the data carry order ids (else the ``fifo`` queue model is
    skipped). The fit part is ``events[:cut]`` with ``cut = int(len(events) * fit_fraction)``;
    nothing in ``events[cut:]`` can change the chosen parameters: the signal and the causal
    sigma / A / k estimates at an event use earlier events only, and every fit run and the alpha
    regression see the fit part only.

    Examples
    --------
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> cfg = SynthConfig(session=(34200.0, 34500.0))                 # a five-minute synthetic day
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> p = {**DEFAULTS["mm"], "gammas": (0.1,), "requote_ticks": (1,), "alpha_mults": (1.0,),
    ...      "queues": ("power",), "intensity_window_s": 60.0}
    >>> rows = mm_walk_forward(to_events(day.messages), day.orderbook, instrument(cfg, levels=5), p)
    >>> [(r["strategy"], r["queue"]) for r in rows]
    [('maker', 'power'), ('maker+alpha', 'power'), ('taker', 'power')]
    >>> all(abs(r["spread_capture"] + r["inventory_pnl"] - r["fees"] - r["net"]) < 0.005 for r in rows)
    True
    """
    from companion import signals as sg
    from companion.backtest.market_making import GLFT
    from companion.backtest.strategies import ImbalanceScalper
    from companion.events import NS
    from companion.stats import mid_price

    inst = instrument
    bad = [q for q in params["queues"] if q not in MM_QUEUES]
    if bad:
        raise ValueError(f"mm: unknown queue model(s) {', '.join(map(str, bad))}; choose from {', '.join(MM_QUEUES)}")
    ev, book = mm_window(events, book, inst, skip_open_s=float(params["skip_open_s"]),
                         window_s=float(params["window_s"]), max_events=int(params["max_events"]))
    if len(ev) < 1000:
        raise ValueError(f"only {len(ev)} events in the study window (need 1000)")
    cut = int(len(ev) * float(params["fit_fraction"]))
    parts = {"fit": (ev[:cut], book[:cut]), "test": (ev[cut:], book[cut:])}
    sl = {"fit": slice(0, cut), "test": slice(cut, len(ev))}
    L = min(5, book.shape[1] // 4)
    sig_all = np.ascontiguousarray(sg.ImbalanceSignal(levels=L, tick=float(inst.tick)).compute(book, ev), np.float64)
    values = {k: np.ascontiguousarray(sig_all[s]) for k, s in sl.items()}
    tab_all = GLFT(vol_window_s=float(params["vol_window_s"]),
                   intensity_window_s=float(params["intensity_window_s"])).model_table(ev, book, inst)
    tables = {k: np.ascontiguousarray(tab_all[s]) for k, s in sl.items()}
    mid_fit = mid_price(parts["fit"][1])
    qty = mm_quote_qty(inst, float(np.nanmedian(mid_fit)), float(params["quote_notional"]))
    beta = _alpha_beta(values["fit"], mid_fit, parts["fit"][0]["ts"], int(float(params["alpha_horizon_s"]) * NS),
                       float(inst.tick))
    fees = _mm_fees(inst)
    queues = [q for q in params["queues"] if q != "fifo" or fifo]
    lat0 = float(params["latencies_us"][0])
    ident = {"events_fit": cut, "events_test": len(ev) - cut,
             "test_start_s": float(ev["ts"][cut] - ev["ts"][0]) / NS, "test_s": float(ev["ts"][-1] - ev["ts"][cut]) / NS,
             "quote_qty": qty, "alpha_beta": beta}
    rows = []

    def run(part, strat, q, lat):
        e, b = parts[part]
        return _run(e, b, inst, strat, q, lat, fees)

    for q in queues:
        best = None
        for g in params["gammas"]:
            for rq in params["requote_ticks"]:
                r = run("fit", _maker(inst, params, g, rq, 0.0, qty, values["fit"], tables["fit"]), q, lat0)
                net = _mm_row(r)["net"]
                if best is None or net > best[0]:
                    best = (net, g, rq)
        fit_net, g, rq = best
        best_a = None
        for m in params["alpha_mults"]:
            a = float(m) * beta
            r = run("fit", _maker(inst, params, g, rq, a, qty, values["fit"], tables["fit"]), q, lat0)
            net = _mm_row(r)["net"]
            if best_a is None or net > best_a[0]:
                best_a = (net, a)
        chosen = {"maker": (g, rq, 0.0, fit_net), "maker+alpha": (g, rq, best_a[1], best_a[0])}
        for lat in params["latencies_us"]:
            for name, (g_, rq_, a_, fnet) in chosen.items():
                r = run("test", _maker(inst, params, g_, rq_, a_, qty, values["test"], tables["test"]), q, lat)
                rows.append({**ident, "strategy": name, "queue": q, "latency_us": float(lat), "gamma": g_,
                             "requote_ticks": float(rq_), "alpha_scale": a_, "fit_net": fnet, **_mm_row(r, stats=True)})
            taker = ImbalanceScalper(qty=qty, entry="market", hold_s=float(params["taker_hold_s"]))
            r = run("test", taker, q, lat)
            rows.append({**ident, "strategy": "taker", "queue": q, "latency_us": float(lat), "gamma": math.nan,
                         "requote_ticks": math.nan, "alpha_scale": math.nan, "fit_net": math.nan, **_mm_row(r, stats=True)})
    return rows


def day_mm(day, store_root, params: dict) -> dict:
    """Market makers against the taker on one ticker-day, parameters chosen walk-forward.

    The window (:func:`mm_window`) is split at ``fit_fraction`` of its events: the **fit** part
    chooses, per queue model at the base latency ``latencies_us[0]``, the maker's risk aversion
    ``gamma`` and requote threshold (grid ``gammas`` x ``requote_ticks``, best net P&L), then the
    alpha maker's scale: ``alpha_mults`` times the fit-part OLS slope of the ``alpha_horizon_s``
    mid change (ticks) on the composite imbalance. The **test** part (never seen by the fit) is
    run once per strategy, queue model and latency with those parameters, starting flat; a position
    left at the end is marked to the last mid. The makers' causal sigma / A / k estimates
    (``vol_window_s``, ``intensity_window_s``) run over the whole window, so the test part starts
    with estimates from the fit part's trailing data. The taker (ImbalanceScalper, market orders,
    ``taker_hold_s``) is not tuned. Quotes and taker orders are ``quote_notional`` (currency) in
    whole lots; the makers hold at most ``max_position_quotes`` quotes. Fees: the venue's maker /
    taker schedule (:meth:`companion.sim.fees.Fees.for_venue`). Binance depth data have no order ids:
    no ``fifo`` run; their book is rebuilt to 5 levels (:func:`companion.book.replay`).

    Returns ``{"rows": [...]}``, one row per strategy x queue x latency: ``fills``,
    ``maker_fills``, ``volume``, ``gross`` (= net + fees), ``spread_capture``,
    ``adverse_selection`` (1-s markout, positive = against the fills), ``adverse_selection_10s``,
    ``inventory_pnl``, ``fees``, ``net`` (currency; ``net = spread_capture + inventory_pnl -
    fees`` exactly, :func:`companion.backtest.pnl.decompose`), ``fill_rate`` (filled / quoted
    quantity), ``orders``, ``queue_at_arrival`` (median visible quantity ahead of a maker-filled
    order when it reached the book, shares / contracts), ``touch_time`` (share of the time our
    quotes were at the best bid / ask, mean of the sides; :func:`companion.backtest.pnl.mm_stats`),
    and the chosen ``gamma``, ``requote_ticks``, ``alpha_scale`` with the
    fit part's net ``fit_net``.

    Examples
    --------
    >>> day_mm(day, None, DEFAULTS["mm"])["rows"][0]["net"]      # doctest: +SKIP
    """
    from companion.book import replay

    d = load_dataset(day, store_root)
    book = d.book if d.book is not None else replay(d.events, levels=5)
    try:
        rows = mm_walk_forward(d.events, book, d.instrument, params, fifo=day.source != "binance")
    except ValueError as e:
        raise ValueError(f"{day.key}: {e}") from e
    base = {**_ident(day), "source": day.source}
    return {"rows": [{**base, **r} for r in rows]}
