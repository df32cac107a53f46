"""Benchmark the compiled LightGBM model (companion.models.compiled) against ``Booster.predict``.

Model: a DirectionClassifier with the course defaults (200 trees, 31 leaves, depth 6; binary, or
``--classes 3`` for down / flat / up = 600 trees) on seeded synthetic features with NaNs and zeros.

Reported:
- single-row latency p50 / p99 of one Python call (``predict_row_into_nb`` on a preallocated
  output: numba dispatch included) vs ``Booster.predict(x[None], raw_score=True)``, and the ratio;
- in-kernel per-row cost (rows scored one by one inside an ``@njit`` loop, as a live executor
  would call it: no dispatch), mean over the batch;
- batch throughput (rows/s) of ``predict_raw_nb`` vs ``Booster.predict`` with one thread.
Both sides are checked equal before timing. Latencies are wall-clock on a shared machine.

    python benchmarks/bench_model.py [--json] [--classes 2] [--calls 20000] [--rows 200000]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import best_wall_cpu as _best  # noqa: E402  (benchmarks run as scripts from this folder)

from companion.models import DirectionClassifier  # noqa: E402
from companion.models.compiled import CompiledModel, predict_raw_nb, predict_row_into_nb  # noqa: E402


def _data(n: int, seed: int, n_features: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    X[rng.random(n) < 0.1, 0] = np.nan
    X[rng.random(n) < 0.3, 1] = 0.0
    z = np.nan_to_num(X[:, 0]) + 0.5 * X[:, 1] - 0.3 * X[:, 2] * X[:, 3] + rng.normal(size=n)
    return X, z


@njit(cache=True)
def _score_rows_one_by_one_nb(X, out, roots, feature, threshold, decision_type, left, right, leaf_value):
    """Sum of class-0 raw scores of the rows, each scored by the single-row kernel."""
    s = 0.0
    for i in range(X.shape[0]):
        predict_row_into_nb(X[i], out, roots, feature, threshold, decision_type, left, right, leaf_value)
        s += out[0]
    return s


def _latencies_ns(fn, rows: np.ndarray, calls: int) -> np.ndarray:
    t = np.empty(calls, dtype=np.int64)
    n = len(rows)
    clock = time.perf_counter_ns
    for i in range(calls):
        x = rows[i % n]
        t0 = clock()
        fn(x)
        t[i] = clock() - t0
    return t




def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--classes", type=int, default=2, choices=(2, 3))
    ap.add_argument("--calls", type=int, default=20_000, help="single-row calls timed (compiled)")
    ap.add_argument("--lgb-calls", type=int, default=3_000, help="single-row calls timed (LightGBM)")
    ap.add_argument("--rows", type=int, default=100_000, help="batch size for throughput")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    X, z = _data(20_000, 0)
    y = (z > 0).astype(int) if args.classes == 2 else np.digitize(z, [-0.5, 0.5])
    model = DirectionClassifier(random_state=0, n_jobs=1).fit(X, y)
    booster = model.booster_
    t0 = time.perf_counter()
    cm = CompiledModel.from_model(model)
    compile_s = time.perf_counter() - t0
    arrays = cm.arrays
    Xb, _ = _data(args.rows, 1)
    out = np.empty(cm.num_class)

    # correctness first (and numba warm-up / cache load)
    raw = booster.predict(Xb[:5000], raw_score=True)
    mine = cm.predict_raw(Xb[:5000])
    max_abs_diff = float(np.max(np.abs(mine - raw)))
    if max_abs_diff > 1e-9:
        raise SystemExit(f"compiled model disagrees with LightGBM: max |diff| = {max_abs_diff}")
    predict_row_into_nb(Xb[0], out, *arrays)
    _score_rows_one_by_one_nb(Xb[:10], out, *arrays)

    # single-row latency (one Python call each)
    rows = Xb[:4096]
    lat_c = _latencies_ns(lambda x: predict_row_into_nb(x, out, *arrays), rows, args.calls)
    lat_w = _latencies_ns(lambda x: cm.predict_raw_row(x, out), rows, args.calls)
    lat_l = _latencies_ns(lambda x: booster.predict(x[None, :], raw_score=True, num_threads=1), rows,
                          args.lgb_calls)
    pct = lambda a, q: float(np.percentile(a, q))  # noqa: E731

    # in-kernel per-row cost and batch throughput
    n = len(Xb)
    in_kernel_s = _best(lambda: _score_rows_one_by_one_nb(Xb, out, *arrays), args.repeat)
    batch_c = _best(lambda: predict_raw_nb(Xb, *arrays, cm.num_class), args.repeat)
    batch_l = _best(lambda: booster.predict(Xb, raw_score=True, num_threads=1), max(2, args.repeat // 2))

    res = {
        "model": {"classes": args.classes, "trees": cm.n_trees, "nodes": int(cm.feature.shape[0]),
                  "features": cm.n_features, "compile_ms": round(compile_s * 1e3, 2)},
        "max_abs_diff_raw": max_abs_diff,
        "row_compiled_p50_ns": pct(lat_c, 50), "row_compiled_p99_ns": pct(lat_c, 99),
        "row_wrapper_p50_ns": pct(lat_w, 50), "row_wrapper_p99_ns": pct(lat_w, 99),
        "row_lightgbm_p50_ns": pct(lat_l, 50), "row_lightgbm_p99_ns": pct(lat_l, 99),
        "row_in_kernel_mean_ns": in_kernel_s[0] / n * 1e9, "row_in_kernel_mean_cpu_ns": in_kernel_s[1] / n * 1e9,
        "batch_rows": n,
        "batch_compiled_rows_per_s": n / batch_c[0], "batch_lightgbm_rows_per_s": n / batch_l[0],
        "batch_compiled_rows_per_cpu_s": n / batch_c[1], "batch_lightgbm_rows_per_cpu_s": n / batch_l[1],
    }
    res["ratio_row_p50"] = res["row_lightgbm_p50_ns"] / res["row_compiled_p50_ns"]
    res["ratio_row_p99"] = res["row_lightgbm_p99_ns"] / res["row_compiled_p99_ns"]
    res["ratio_batch"] = res["batch_compiled_rows_per_s"] / res["batch_lightgbm_rows_per_s"]
    res["ratio_batch_cpu"] = res["batch_compiled_rows_per_cpu_s"] / res["batch_lightgbm_rows_per_cpu_s"]

    m = res["model"]
    print(f"model: {m['classes']} classes, {m['trees']} trees, {m['nodes']} split nodes, "
          f"{m['features']} features; compiled in {m['compile_ms']} ms; max |raw diff| {max_abs_diff:.1e}")
    print("single row (one Python call)      p50          p99")
    for name, key in (("compiled kernel", "compiled"), ("CompiledModel.predict_raw_row", "wrapper"),
                      ("Booster.predict", "lightgbm")):
        print(f"  {name:<30} {res[f'row_{key}_p50_ns'] / 1e3:8.2f} us  {res[f'row_{key}_p99_ns'] / 1e3:8.2f} us")
    print(f"  ratio LightGBM / compiled      {res['ratio_row_p50']:8.1f} x   {res['ratio_row_p99']:8.1f} x")
    print(f"in-kernel per row (no dispatch): {res['row_in_kernel_mean_ns']:.0f} ns wall, "
          f"{res['row_in_kernel_mean_cpu_ns']:.0f} ns CPU")
    print(f"batch {n} rows, 1 thread: compiled {res['batch_compiled_rows_per_s'] / 1e3:.0f} k rows/s "
          f"({res['batch_compiled_rows_per_cpu_s'] / 1e3:.0f} k per CPU-s), LightGBM "
          f"{res['batch_lightgbm_rows_per_s'] / 1e3:.0f} k rows/s ({res['batch_lightgbm_rows_per_cpu_s'] / 1e3:.0f} k "
          f"per CPU-s); ratio {res['ratio_batch']:.1f} x wall, {res['ratio_batch_cpu']:.1f} x CPU")
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
