"""The compute budget of the live path (chapter 10): where the tick-to-trade time goes.

Per event, in process, ``time.perf_counter_ns`` around each stage of a tick-to-trade path, after
warm-up (JIT compiled, caches filled): book update (:mod:`companion.book.kernels`' hot loop on one
event), imbalance signal, feature update (:class:`companion.features.FeatureEngine` on a one-event
chunk), model (:class:`companion.models.compiled.CompiledModel`, one row) and decision. The table
gives p50 / p99 per stage and path, next to the *batch* cost (one kernel call over all the events,
divided by their number: the compute without Python's per-call overhead) and the design targets
(:data:`TARGETS_NS`: signal path < 10 us; features + model < 1 ms). Timings vary from run to run
and machine to machine: never assert on them.

The two stage kernels here hold no logic of their own: :func:`imbalance_signal_nb` composes the
imbalance kernels of :mod:`companion.signals`, :func:`model_decision_nb` applies the package's one
model rule (:func:`companion.signals.model_rule_nb`) to a raw score.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
from numba import njit

from companion.book import kernels as bk
from companion.events import NS, Instrument
from companion.features import FeatureEngine, parse_grid
from companion.features import compute as features_compute
from companion.models.compiled import predict_raw_nb
from companion.signals import (
    classify_nb,
    composite_nb,
    distance_weighted_imbalance_nb,
    model_rule_nb,
    volume_imbalance_nb,
)

__all__ = ["TARGETS_NS", "imbalance_signal_nb", "model_decision_nb", "compute_budget"]

#: design targets of the tick-to-trade path (ns)
TARGETS_NS = {"signal path": 10_000, "features + model": 1_000_000}


@njit(cache=True)
def imbalance_signal_nb(rows: np.ndarray, levels: int, tick: float, w_v: float, w_d: float,
                        weak: float, strong: float) -> np.ndarray:
    """Class codes of the scalper's composite imbalance (volume and distance-weighted parts of
    :mod:`companion.signals`; the order-count part needs the per-order map and is left out, the
    weights renormalise) for book rows ``rows`` (n, 4L): one fused call per event.

    Examples
    --------
    >>> import numpy as np
    >>> rows = np.array([[10100., 100, 10000, 900], [10100, 900, 10000, 100]])
    >>> imbalance_signal_nb(rows, 1, 100.0, 0.7, 0.2, 0.15, 0.35).tolist()    # strong buy, strong sell
    [2, -2]
    """
    iv = volume_imbalance_nb(rows, levels)
    idw = distance_weighted_imbalance_nb(rows, levels, tick)
    s = composite_nb(iv, idw, np.full(rows.shape[0], np.nan), w_v, w_d, 0.0)
    return classify_nb(s, weak, strong)


@njit(cache=True)
def model_decision_nb(raw: float, ofi: float, ofi_threshold: float, p_long: float, p_short: float) -> int:
    """The model rule of :func:`companion.signals.model_rule` on one raw score:
    ``p = 1 / (1 + exp(-raw))`` (LightGBM's binary output, :func:`companion.models.compiled.convert_output_nb`
    with ``sigmoid = 1``, on one score); +1 when ``p > p_long`` and ``ofi > theta``, -1 when ``p < p_short``
    and ``ofi < -theta``, else 0.

    Examples
    --------
    >>> model_decision_nb(1.0, 5.0, 1.0, 0.55, 0.45), model_decision_nb(-1.0, -5.0, 1.0, 0.55, 0.45)
    (1, -1)
    """
    return model_rule_nb(1.0 / (1.0 + math.exp(-raw)), ofi, ofi_threshold, p_long, p_short)


def _stats(x: np.ndarray) -> dict:
    return {"p50_ns": float(np.percentile(x, 50)), "p99_ns": float(np.percentile(x, 99)),
            "mean_ns": float(np.mean(x))}


def compute_budget(events: np.ndarray, book: np.ndarray, instrument: Instrument, *, model=None,
                   features: list[str] | None = None, start: int | None = None, n_events: int = 20_000,
                   warmup: int = 2_000, levels: int = 5, ofi_feature: str = "ofi_10s",
                   grid="1s") -> pd.DataFrame:
    """p50 / p99 per event of each stage of a tick-to-trade path, measured in this process.

    Stages, each timed with ``time.perf_counter_ns`` around one call per event, over ``n_events``
    consecutive events from ``start`` (default: the middle of the day) after ``warmup`` untimed ones:

    * ``book update``: the book engine's hot loop (:mod:`companion.book.kernels`) applied to one
      event on a persistent full-depth state seeded with the row before ``start``;
    * ``imbalance signal``: :func:`imbalance_signal_nb` on the new top-``levels`` row;
    * ``features``: :meth:`companion.features.FeatureEngine.update_arrays` on the one-event chunk
      (``features``; default: the model's features, else ``[ofi_feature, "composite_imb"]``);
    * ``model``: :meth:`companion.models.compiled.CompiledModel.predict_raw_row` on the latest feature row (skipped when
      ``model`` is None);
    * ``decision``: :func:`model_decision_nb` on the raw score and ``ofi_feature``.

    Paths (per-event sums, then percentiles): ``signal path`` = book + signal (the scalper's
    tick-to-decision compute; the scalper's decision is a comparison of the code), ``features +
    model`` = features + model + decision. Columns: ``stage``, ``p50_ns``, ``p99_ns``,
    ``mean_ns``, ``batch_ns`` (one call over all the timed events / their number; NaN for paths),
    ``target_ns`` (:data:`TARGETS_NS`), ``within_target`` (p99 <= target).

    Examples
    --------
    >>> from companion import synth  # doctest: +SKIP
    >>> cfg = synth.SynthConfig(session=(34200.0, 34320.0))  # doctest: +SKIP
    >>> d = synth.simulate(seed=1, levels=5, config=cfg)  # doctest: +SKIP
    >>> b = compute_budget(synth.to_events(d.messages), d.orderbook, synth.instrument(cfg, 5), n_events=500,
    ...                    warmup=100)  # doctest: +SKIP
    >>> b["stage"].tolist()  # doctest: +SKIP
    ['book update', 'imbalance signal', 'features', 'decision', 'signal path', 'features + model', 'timer overhead']
    """
    n_all = len(events)
    if n_all < 3:
        raise ValueError("need events")
    book = np.ascontiguousarray(book, dtype=np.float64)
    L = min(levels, book.shape[1] // 4)
    if features is None:
        features = list(model.feature_names) if (model is not None and model.feature_names) else [ofi_feature, "composite_imb"]
    if ofi_feature not in features:
        features = [*features, ofi_feature]
    j_ofi = features.index(ofi_feature)
    if model is not None and model.feature_names:
        missing = [f for f in model.feature_names if f not in features]
        if missing:
            raise ValueError(f"features lack the model's inputs {missing}")
        col = [features.index(f) for f in model.feature_names]
    elif model is not None:
        if model.n_features > len(features):
            raise ValueError(f"the model takes {model.n_features} features, {len(features)} given")
        col = list(range(model.n_features))
    else:
        col = []
    n_events = int(min(n_events, n_all - 2))
    warmup = int(min(warmup, n_all - 1 - n_events))
    s0 = int(n_all // 2 - (n_events + warmup) // 2) if start is None else int(start)
    s0 = max(1, min(s0, n_all - n_events - warmup))
    kind = np.ascontiguousarray(events["kind"], np.int8)
    side = np.ascontiguousarray(events["side"], np.int8)
    price = np.ascontiguousarray(events["price"], np.int64)
    size = np.ascontiguousarray(events["size"], np.float64)
    bst = bk.BookState(book[s0 - 1].copy(), 1 << 14)
    row_out = np.empty((1, 4 * L), dtype=np.float64)
    # the feature engine starts at the grid point before the warm-up: its state needs history,
    # but the per-event cost does not depend on how full its windows are
    eng = FeatureEngine(instrument, grid=grid, features=features, start_ns=None, end_ns=None)
    pre = max(0, s0 - 50_000)
    eng.update_arrays(events[pre:s0], book[pre:s0])
    x = np.zeros(len(features))
    x_model = np.zeros(len(col))
    raw = np.zeros(1)
    arrs = model.arrays if model is not None else None
    w_v, w_d = 0.7, 0.2
    tick = float(instrument.tick)
    n_tot = warmup + n_events
    T = np.zeros((5, n_events), dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(n_tot):
        e = s0 + i
        t_a = clock()
        bk.book_step_nb(bst, kind[e:e + 1], side[e:e + 1], price[e:e + 1], size[e:e + 1], row_out)
        t_b = clock()
        imbalance_signal_nb(row_out, L, tick, w_v, w_d, 0.15, 0.35)
        t_c = clock()
        st, vals = eng.update_arrays(events[e:e + 1], book[e:e + 1])
        if len(st):
            x[:] = vals[-1]
        t_d = clock()
        if model is not None:
            x_model[:] = x[col]
            model.predict_raw_row(x_model, raw)
        t_e = clock()
        model_decision_nb(float(raw[0]), float(x[j_ofi]), 0.0, 0.55, 0.45)
        t_f = clock()
        if i >= warmup:
            k = i - warmup
            T[0, k], T[1, k], T[2, k], T[3, k], T[4, k] = t_b - t_a, t_c - t_b, t_d - t_c, t_e - t_d, t_f - t_e
    # the clock's own cost: an empty timed region
    T0 = np.empty(n_events, dtype=np.int64)
    for k in range(n_events):
        t_a = clock()
        T0[k] = clock() - t_a
    # batch references: one call over the timed events (each kernel called once before, so the
    # timing holds no compilation or cache loading)
    sl = slice(s0 + warmup, s0 + n_tot)
    out = np.empty((n_events, 4 * L))
    rows_L = np.ascontiguousarray(book[sl, :4 * L])
    ts_sl = events["ts"][sl]
    step = parse_grid(grid).step_ns if parse_grid(grid).kind == "clock" else NS
    f_kw = dict(grid=grid, features=features, start_ns=int(ts_sl[0]) // step * step, end_ns=int(ts_sl[-1]))
    bk.replay_into_nb(kind[sl][:100], side[sl][:100], price[sl][:100], size[sl][:100], book[s0 + warmup - 1],
                      out[:100])
    imbalance_signal_nb(rows_L[:100], L, tick, w_v, w_d, 0.15, 0.35)
    features_compute(events[sl][:100], book[sl][:100], instrument, **{**f_kw, "end_ns": int(ts_sl[99])})
    t_a = clock()
    bk.replay_into_nb(kind[sl], side[sl], price[sl], size[sl], book[s0 + warmup - 1], out)
    t_b = clock()
    imbalance_signal_nb(rows_L, L, tick, w_v, w_d, 0.15, 0.35)
    t_c = clock()
    features_compute(events[sl], book[sl], instrument, **f_kw)
    t_d = clock()
    batch = {"book update": (t_b - t_a) / n_events, "imbalance signal": (t_c - t_b) / n_events,
             "features": (t_d - t_c) / n_events}
    if model is not None:
        Xm = np.ascontiguousarray(np.repeat(x_model[None, :], n_events, axis=0))
        predict_raw_nb(Xm[:10], *arrs, model.num_class)
        t_a = clock()
        predict_raw_nb(Xm, *arrs, model.num_class)
        batch["model"] = (clock() - t_a) / n_events
    names = ["book update", "imbalance signal", "features", "model", "decision"]
    rows = []
    for j, nm in enumerate(names):
        if nm == "model" and model is None:
            continue
        rows.append({"stage": nm, **_stats(T[j]), "batch_ns": batch.get(nm, np.nan), "target_ns": np.nan})
    paths = {"signal path": T[0] + T[1], "features + model": T[2] + T[3] + T[4]}
    for nm, v in paths.items():
        rows.append({"stage": nm, **_stats(v), "batch_ns": np.nan, "target_ns": float(TARGETS_NS[nm])})
    rows.append({"stage": "timer overhead", **_stats(T0), "batch_ns": np.nan, "target_ns": np.nan})
    df = pd.DataFrame(rows)
    df["within_target"] = np.where(df["target_ns"].isna(), None, df["p99_ns"] <= df["target_ns"])
    df.attrs.update({"n_events": n_events, "warmup": warmup, "start": s0, "features": features})
    return df
