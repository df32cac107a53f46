"""Run a per-ticker-day study serially or on Dask distributed and combine the small results.

A ticker-day is the unit of work and of memory: each task reads one day (through the Parquet
store), runs the stages, writes its tables and returns a small result; the client gathers those
and combines them (:mod:`companion.study.studies`). The cluster is a
``distributed.LocalCluster(n_workers=N, threads_per_worker=1, processes=True)`` started and
stopped here (``N`` = CPU count by default), or an existing scheduler (``scheduler=ADDRESS``),
or a caller's ``distributed.Client``. Tasks are keyed by study, day and a hash of the parameters,
so a task lost with a worker is recomputed by Dask under the same key; results are ordered by
day key, never by completion order, so a distributed run equals a serial one bit for bit.

Failures: a day whose data cannot be read (:class:`companion.errors.DataFormatError`,
``ValueError``, ``OSError``) becomes an error record naming the day, its files and the reader's
message. ``on_error="fail"`` (default) cancels the remaining tasks and raises
:class:`StudyError`; ``on_error="skip"`` completes the other days and reports the failures in
:attr:`StudyResult.errors`.
"""
from __future__ import annotations

import logging
import math
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from companion.errors import DataFormatError
from companion.study import studies as S
from companion.study.stats import mean_ci, paired_test

__all__ = ["STUDIES", "StudyError", "StudyResult", "clean_json", "day_units", "run_study", "write_result"]

STUDIES = ("ofi", "features", "train", "backtest", "crossimpact", "mm")

#: errors a bad ticker-day may raise (anything else is a bug and propagates)
DATA_ERRORS = (DataFormatError, ValueError, OSError, EOFError, LookupError)

_UNIT_FUNCS = {"ofi": S.day_ofi, "features": S.day_features, "train_fold": S.train_fold,
               "backtest": S.day_backtest, "crossimpact": S.date_crossimpact, "mm": S.day_mm}


class StudyError(ValueError):
    """A ticker-day failed and ``on_error="fail"``: the message names the day, its files and the
    reader's error (the CLI maps it to exit status 2)."""


@dataclass
class StudyResult:
    """What a study returns.

    Attributes
    ----------
    name : str
        The study.
    table : pandas.DataFrame
        One row per ticker-day (``train``: per test day and model; ``crossimpact``: per date and
        ticker), sorted by key.
    summary : dict
        Cross-day numbers (means with 95% confidence intervals, paired tests).
    panels : dict of pandas.DataFrame
        Larger tables (``ofi``: ``windows``; ``crossimpact``: ``coef``).
    errors : pandas.DataFrame
        ``key``, ``paths``, ``error`` of the units that failed (``on_error="skip"``).
    n_days : int
        Ticker-days given.
    workers : int
        Dask workers used (0 for a serial run).
    dashboard : str or None
        The Dask dashboard address of the run.
    """

    name: str
    table: pd.DataFrame
    summary: dict
    panels: dict = field(default_factory=dict)
    errors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["key", "paths", "error"]))
    n_days: int = 0
    workers: int = 0
    dashboard: str | None = None


def _guarded(fn_name: str, item, store_root, params: dict) -> dict:
    """Run one unit; a data error becomes a record instead of an exception."""
    try:
        return {"ok": True, "value": _UNIT_FUNCS[fn_name](item, store_root, params)}
    except DATA_ERRORS as exc:
        msg = str(exc) if not isinstance(exc, KeyError) else f"missing {exc}"
        return {"ok": False, "error": f"{type(exc).__name__}: {msg}"}


def _unit_days(item) -> list:
    if isinstance(item, dict):
        return list(item.get("days") or [item["test"]])
    return [item]


def _unit_key(item) -> str:
    if isinstance(item, dict):
        return item["key"]
    return item.key


def _error_record(item, message: str) -> dict:
    days = _unit_days(item)
    paths = ";".join(p for d in days for p in getattr(d, "paths", ()))
    return {"key": _unit_key(item), "paths": paths, "error": message}


def _bar(done: int, total: int, width: int = 30) -> None:
    frac = done / total if total else 1.0
    sys.stderr.write(f"\r[{'#' * int(width * frac):<{width}}] {done}/{total} tasks")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


@contextmanager
def _client(workers, scheduler, client):
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster

    if scheduler:
        c = Client(scheduler)
        try:
            yield c
        finally:
            c.close()
        return
    n = int(workers or os.cpu_count() or 1)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _map(fn_name: str, items: list, store_root, params: dict, *, client, on_error: str, progress: bool,
         tag: str) -> tuple[list, list]:
    """Run the units; returns ``(values in item order (None for failed), error records)``."""
    values: list = [None] * len(items)
    errors: list = []
    if client is None:
        for i, it in enumerate(items):
            r = _guarded(fn_name, it, store_root, params)
            if r["ok"]:
                values[i] = r["value"]
            else:
                errors.append(_error_record(it, r["error"]))
                if on_error == "fail":
                    if progress:
                        sys.stderr.write("\n")
                    break
            if progress:
                _bar(i + 1, len(items))
        return values, errors
    from dask.base import tokenize
    from distributed import as_completed

    token = tokenize(fn_name, params, str(store_root))[:10]
    keys = [f"study-{fn_name}-{_unit_key(it)}-{token}" for it in items]
    futs = client.map(_guarded, [fn_name] * len(items), items, [store_root] * len(items),
                      [params] * len(items), key=keys)
    index = {f.key: i for i, f in enumerate(futs)}
    done = 0
    try:
        for fut in as_completed(futs):
            r = fut.result()
            i = index[fut.key]
            done += 1
            if progress:
                _bar(done, len(items))
            if r["ok"]:
                values[i] = r["value"]
            else:
                errors.append(_error_record(items[i], r["error"]))
                if on_error == "fail":
                    break
    finally:
        client.cancel(futs)
        if progress and done < len(items):
            sys.stderr.write("\n")
    errors.sort(key=lambda e: e["key"])
    return values, errors


def day_units(name: str, days: list) -> list:
    """The work units of a study: the ticker-days, or (``crossimpact``) one unit per date with
    two or more tickers (``{"key", "date", "days"}``; a ticker with several book depths on a
    date enters once, with its fewest levels: the study uses level 1 only).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> days = [NS(ticker=t, date=d, key=f"x/{t}/{d}/1") for t in "AB" for d in ("2012-06-21", "2012-06-22")]
    >>> [u["key"] for u in day_units("crossimpact", days)]
    ['2012-06-21', '2012-06-22']
    >>> len(day_units("ofi", days))
    4
    """
    if name != "crossimpact":
        return sorted(days, key=lambda d: d.key)
    by_date: dict = {}
    for d in sorted(days, key=lambda d: (d.date, d.ticker, getattr(d, "level", 0), d.key)):
        by_date.setdefault(d.date, {}).setdefault(d.ticker, d)      # one day per ticker: the fewest levels
    return [{"key": dt, "date": dt, "days": [v[t] for t in sorted(v)]}
            for dt, v in sorted(by_date.items()) if len(v) >= 2]


def _ci_summary(table: pd.DataFrame, cols) -> dict:
    return {c: mean_ci(table[c]) for c in cols if c in table}


def _combine_ofi(values, params) -> tuple[pd.DataFrame, dict, dict]:
    ok = [v for v in values if v is not None]
    table = pd.DataFrame([v["row"] for v in ok])
    wins = pd.concat([v["windows"] for v in ok], ignore_index=True) if ok else pd.DataFrame()
    summary = _ci_summary(table, ["r2_mean", "beta_mean", "r2_day", "beta_day", "c", "lambda"]) if len(table) else {}
    return table, summary, {"windows": wins}


def _combine_rows(values, key="row") -> pd.DataFrame:
    return pd.DataFrame([v[key] for v in values if v is not None])


def _combine_features(values, params):
    table = _combine_rows(values)
    summary = {"n_samples": int(table["n_samples"].sum()) if len(table) else 0,
               "share_up": mean_ci(table["share_up"]) if len(table) else mean_ci([])}
    return table, summary, {}


def _combine_backtest(values, params):
    table = _combine_rows(values)
    if not len(table):
        return table, {}, {}
    pnl = table["net_pnl"].to_numpy(np.float64)
    sd = float(np.std(pnl, ddof=1)) if pnl.size > 1 else float("nan")
    summary = {"net_pnl": mean_ci(pnl), "gross_pnl": mean_ci(table["gross_pnl"]), "trades": mean_ci(table["trades"]),
               "total_net_pnl": float(pnl.sum()), "losing_days": int((pnl < 0).sum()), "days": int(pnl.size),
               "sharpe_daily_annualised": float(np.mean(pnl) / sd * np.sqrt(252)) if sd and np.isfinite(sd) else float("nan"),
               "net_pnl_q05": float(np.quantile(pnl, 0.05)), "net_pnl_median": float(np.median(pnl)),
               "net_pnl_q95": float(np.quantile(pnl, 0.95))}
    return table, summary, {}


def _combine_train(values, params):
    rows = [r for v in values if v is not None for r in v["rows"]]
    table = pd.DataFrame(rows)
    if not len(table):
        return table, {}, {}
    table = table.sort_values(["key", "model"], kind="stable").reset_index(drop=True)
    auc = table.pivot(index="key", columns="model", values="auc").sort_index()
    summary = {"auc": {m: mean_ci(auc[m]) for m in auc.columns},
               "accuracy": {m: mean_ci(g["accuracy"]) for m, g in table.groupby("model", sort=True)}}
    pairs = [("lightgbm", "logistic"), ("lightgbm", "ofi_sign"), ("logistic", "ofi_sign")]
    summary["paired_auc"] = {f"{a}-{b}": paired_test(auc[a], auc[b]) for a, b in pairs
                             if a in auc and b in auc}
    summary["test_days"] = len(auc)
    return table, summary, {}


def _combine_crossimpact(values, params):
    ok = [v for v in values if v is not None]
    table = pd.DataFrame([r for v in ok for r in v["rows"]])
    coefs = {}
    for v in ok:
        coefs[v["rows"][0]["date"]] = v["coef"]
    coef = pd.concat(coefs, names=["date"]) if coefs else pd.DataFrame()
    if not len(table):
        return table, {}, {"coef": coef}
    table = table.assign(adj_r2_gain=table["adj_r2_cross"] - table["adj_r2_own"])
    summary = _ci_summary(table, ["beta_own", "beta_own_cross", "beta_cross_only", "beta_cross_mean", "r2_own",
                                  "r2_cross_only", "r2_cross", "adj_r2_gain"])
    return table, summary, {"coef": coef}


def _combine_mm(values, params):
    table = pd.DataFrame([r for v in values if v is not None for r in v["rows"]])
    if not len(table):
        return table, {}, {}
    lat0 = float(params["latencies_us"][0])
    base = table[table["latency_us"] == lat0]
    summary = {"latency_us": lat0, "net": {}}
    for (st, q), g in base.groupby(["strategy", "queue"], sort=True):
        summary["net"][f"{st}/{q}"] = {"total": float(g["net"].sum()), "losing_days": int((g["net"] < 0).sum()),
                                      "days": int(len(g))}
    return table, summary, {}


_COMBINE = {"mm": _combine_mm, "ofi": _combine_ofi, "features": _combine_features, "backtest": _combine_backtest,
            "train": _combine_train, "crossimpact": _combine_crossimpact}


def _train_folds(days: list, feat_ok: list, params: dict) -> list:
    by_ticker: dict = {}
    for d, ok in zip(days, feat_ok):
        if ok:
            by_ticker.setdefault(d.ticker, []).append(d)
    folds = []
    k0 = max(int(params["min_train_days"]), 1)
    for t in sorted(by_ticker):
        ds = sorted(by_ticker[t], key=lambda d: d.date)
        for k in range(k0, len(ds)):
            folds.append({"key": ds[k].key, "test": ds[k], "train": ds[:k]})
    return folds


def run_study(name: str, days: list, *, workers: int | None = None, scheduler: str | None = None,
              on_error: str = "fail", out=None, serial: bool = False, params: dict | None = None,
              store_root=None, progress: bool = False, client=None) -> StudyResult:
    """Run study ``name`` over ``days`` (a list of :class:`companion.events.TickerDay`).

    Parameters
    ----------
    name : str
        One of :data:`STUDIES`.
    days : list of TickerDay
        From :func:`companion.catalog.discover`.
    workers : int, optional
        Workers of the LocalCluster started for the run (default: the CPU count).
    scheduler : str, optional
        Address of an existing Dask scheduler (no cluster is started).
    on_error : str
        ``"fail"`` (raise :class:`StudyError` on the first bad day) or ``"skip"``.
    out : str or pathlib.Path, optional
        Folder to write ``NAME_table.parquet``, ``NAME_errors.csv`` and ``NAME_summary.json``.
    serial : bool
        Run the same per-day functions in this process (no Dask).
    params : dict, optional
        Overrides of :data:`companion.study.studies.DEFAULTS` for the study.
    store_root : str or pathlib.Path, optional
        Parquet store root (default the store's default, ``$COMPANION_DATA/store``).
    progress : bool
        Draw a progress bar on stderr.
    client : distributed.Client, optional
        Use this client (overrides ``workers`` / ``scheduler``).

    Returns
    -------
    StudyResult

    Examples
    --------
    >>> res = run_study("ofi", discover("universe:1:2x3:20"), serial=True,
    ...                 params={"window": "5min"})                       # doctest: +SKIP
    >>> res.summary["r2_day"]["mean"]                                    # doctest: +SKIP
    """
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose one of {', '.join(STUDIES)}")
    if on_error not in ("fail", "skip"):
        raise ValueError(f"on_error must be 'fail' or 'skip', got {on_error!r}")
    if not days:
        raise ValueError("no ticker-days to study")
    p = {**S.DEFAULTS[name], **(params or {})}
    units = day_units(name, list(days))
    if not units:
        raise ValueError(f"{name}: no unit to run (crossimpact needs two or more tickers on a date)")
    kw = {"on_error": on_error, "progress": progress}
    dashboard, nworkers = None, 0

    def go(c):
        if name == "train":
            fp = {k: p[k] for k in S.FEATURE_PARAMS}
            vals, errs = _map("features", units, store_root, fp, client=c, tag=name, **kw)
            if errs and on_error == "fail":
                return vals, errs
            folds = _train_folds(units, [v is not None for v in vals], p)
            if not folds:
                raise ValueError("train: no walk-forward fold (each ticker needs more than min_train_days days)")
            v2, e2 = _map("train_fold", folds, store_root, p, client=c, tag=name, **kw)
            return v2, errs + e2
        return _map(name, units, store_root, p, client=c, tag=name, **kw)

    if serial:
        values, errors = go(None)
    else:
        with _client(workers, scheduler, client) as c:
            dashboard = c.dashboard_link
            nworkers = len(c.scheduler_info().get("workers", {}))
            if progress:
                print(f"dask dashboard: {dashboard} ({nworkers} workers)", file=sys.stderr)
            values, errors = go(c)
    if errors and on_error == "fail":
        e = errors[0]
        raise StudyError(f"study {name}: ticker-day {e['key']} failed ({e['paths'] or 'no files'}): {e['error']}")
    table, summary, panels = _COMBINE[name](values, p)
    if len(table):
        sort = [c for c in ("key", "date", "ticker", "model") if c in table]
        table = table.sort_values(sort, kind="stable").reset_index(drop=True)
    tv = S.table_version("features", {k: p[k] for k in S.FEATURE_PARAMS}) if name in ("features", "train") \
        else S.table_version(name, p)
    summary = {"study": name, "n_days": len(days), "n_units": len(units), "n_failed": len(errors), "params": p,
               "table_version": tv, **summary}
    res = StudyResult(name=name, table=table, summary=summary, panels=panels,
                      errors=pd.DataFrame(errors, columns=["key", "paths", "error"]), n_days=len(days),
                      workers=nworkers, dashboard=dashboard)
    if out is not None:
        write_result(res, out)
    return res


def clean_json(obj):
    """``obj`` with NaN/inf floats as None and numpy scalars as Python numbers (strict JSON).

    Examples
    --------
    >>> clean_json({"a": float("nan"), "b": [1.5, float("inf")]})
    {'a': None, 'b': [1.5, None]}
    """
    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_result(res: StudyResult, out) -> list:
    """Write a result's table (Parquet), panels (Parquet), errors (CSV) and summary (JSON) to ``out``.

    Examples
    --------
    >>> import tempfile
    >>> r = StudyResult("ofi", pd.DataFrame({"key": ["a"], "r2_day": [0.3]}), {"study": "ofi"})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_result(r, tmp)]
    ['ofi_table.parquet', 'ofi_errors.csv', 'ofi_summary.json']
    """
    import json
    from pathlib import Path

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    paths = [d / f"{res.name}_table.parquet"]
    res.table.to_parquet(paths[0], index=False)
    for k, v in res.panels.items():
        if isinstance(v, pd.DataFrame) and len(v):
            q = d / f"{res.name}_{k}.parquet"
            v.reset_index().to_parquet(q, index=False) if v.index.names[0] is not None else v.to_parquet(q, index=False)
            paths.append(q)
    paths.append(d / f"{res.name}_errors.csv")
    res.errors.to_csv(paths[-1], index=False)
    paths.append(d / f"{res.name}_summary.json")
    paths[-1].write_text(json.dumps(clean_json(res.summary), sort_keys=True, indent=1, default=str) + "\n")
    return paths

