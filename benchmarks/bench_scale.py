"""Research at scale: the Parquet store and the per-day studies on Dask distributed, in one run.

* **Parquet vs CSV**: reading one ticker-day back from the store (:meth:`companion.store.Store.dataset`)
  vs parsing its LOBSTER CSVs (:func:`companion.io.lobster.read_lobster`); the LOBSTER AAPL
  level-1 sample when ``../shared/data`` is present, else the default synthetic day. Target >= 10x.
* **Speed-up**: the ``ofi`` study (:func:`companion.study.run_study`) on a synthetic universe
  (store built beforehand, so both runs read Parquet) on a LocalCluster of 1 worker vs 2 workers
  (one thread each); each cluster runs a warm-up study first (workers load the numba kernels).
  Target >= 1.7x on 2 cores. Events/s per worker = events studied / (wall x workers).
* **Memory**: peak RSS per worker process (``ru_maxrss`` of each worker, fresh cluster) for the
  ``ofi`` study over D days vs 4D days. Target: within 1.3x (a ticker-day is the unit of memory).
* ``--big``: wall time of the ``ofi`` study over a 250 ticker-day universe of 5-minute sessions
  (10 tickers x 25 days, generation and store build included).

Usage: ``python benchmarks/bench_scale.py [--json] [--big]``. Timings are best-of-``--repeat``
walls on a shared machine: read them as ratios measured in the same run.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from _timing import best_of

OFI_P = {"window": "5min"}


def _cluster(n: int):
    from distributed import Client, LocalCluster

    cl = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR)
    return cl, Client(cl)


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def parquet_vs_csv(tmp: Path, repeat: int) -> dict:
    from companion.catalog import discover
    from companion.data import shared_data_dir
    from companion.io.lobster import read_lobster
    from companion.store import Store

    sh = shared_data_dir()
    spec = "lobster:AAPL:1" if sh is not None and (sh / "lobster").is_dir() else "synthetic"
    day = discover(spec)[0]
    msg, ob = day.paths[0], day.paths[1] if len(day.paths) > 1 else None
    st = Store(tmp / "pq")
    st.dataset(day)                                            # build once
    csv = best_of(lambda: read_lobster(msg, ob), repeat, warmup=True)
    pq = best_of(lambda: st.dataset(day), repeat, warmup=True)
    n = len(pq.out.events)
    out = {"dataset": spec, "events": n, "csv_s": csv.wall, "parquet_s": pq.wall, "ratio": csv.wall / pq.wall,
           "csv_mev_s": n / csv.wall / 1e6, "parquet_mev_s": n / pq.wall / 1e6}
    try:                                                       # the memory-mapped book, where the store has it
        st.dataset(day, mmap=True)
        mm = best_of(lambda: st.dataset(day, mmap=True), repeat, warmup=True)
        out.update(mmap_s=mm.wall, ratio_mmap=csv.wall / mm.wall)
    except TypeError:
        pass
    return out


def _ofi_run(client, days, store, repeat: int):
    from companion.study import run_study

    return best_of(lambda: run_study("ofi", days, client=client, params=OFI_P, store_root=store), repeat)


def speedup(tmp: Path, spec: str, repeat: int) -> dict:
    from companion.catalog import discover
    from companion.study import run_study

    days = discover(spec)
    store = tmp / "su"
    out = {"universe": spec, "ticker_days": len(days)}
    walls = {}
    for n in (1, 2):
        cl, c = _cluster(n)
        try:
            run_study("ofi", days if n == 2 else days[:1], client=c, params=OFI_P, store_root=store)  # warm-up / build
            t = _ofi_run(c, days, store, repeat)
        finally:
            c.close()
            cl.close()
        ev = int(t.out.table["n_events"].sum())
        walls[n] = t.wall
        out[f"wall_{n}w_s"] = t.wall
        out[f"events_per_s_per_worker_{n}w"] = ev / t.wall / n
        out["events"] = ev
    out["speedup"] = walls[1] / walls[2]
    return out


def memory(tmp: Path, d: int, repeat: int) -> dict:
    from companion.catalog import discover
    from companion.study import run_study

    out = {}
    for k, D in (("D", d), ("4D", 4 * d)):
        spec = f"universe:13:2x{D}:30"
        days = discover(spec)
        store = tmp / f"mem{D}"
        cl, c = _cluster(2)
        try:
            run_study("ofi", days, client=c, params=OFI_P, store_root=store)      # build the store
        finally:
            c.close()
            cl.close()
        cl, c = _cluster(2)                                                     # fresh workers: clean peaks
        try:
            run_study("ofi", days, client=c, params=OFI_P, store_root=store)
            rss = c.run(_max_rss_mb)
        finally:
            c.close()
            cl.close()
        out[f"ticker_days_{k}"] = len(days)
        out[f"peak_rss_mb_{k}"] = max(rss.values())
    out["ratio"] = out["peak_rss_mb_4D"] / out["peak_rss_mb_D"]
    return out


def big(tmp: Path) -> dict:
    from companion.catalog import discover
    from companion.study import run_study

    spec = "universe:17:10x25:5"
    days = discover(spec)
    cl, c = _cluster(os.cpu_count() or 1)
    try:
        t0 = time.perf_counter()
        res = run_study("ofi", days, client=c, params={"window": "5min", "min_bins": 10}, store_root=tmp / "big")
        wall = time.perf_counter() - t0
    finally:
        c.close()
        cl.close()
    return {"universe": spec, "ticker_days": len(days), "rows": len(res.table), "wall_s": wall,
            "events": int(res.table["n_events"].sum()), "workers": os.cpu_count()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    ap.add_argument("--repeat", type=int, default=2, help="timed repeats (best kept)")
    ap.add_argument("--universe", default="universe:11:4x6:120",
                    help="universe of the speed-up run (2-hour sessions: per-task work well above the scheduling cost)")
    ap.add_argument("--days", type=int, default=2, help="D of the memory run (D vs 4D days, 2 tickers)")
    ap.add_argument("--big", action="store_true", help="also time a 250 ticker-day universe")
    args = ap.parse_args(argv)
    res = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        r = res["parquet_vs_csv"] = parquet_vs_csv(t, args.repeat)
        print(f"read one day ({r['dataset']}, {r['events']:,} events): CSV {r['csv_s']:.3f} s, "
              f"Parquet {r['parquet_s']:.3f} s -> {r['ratio']:.1f}x (target >= 10x)")
        if "mmap_s" in r:
            print(f"  with the memory-mapped book: {r['mmap_s']:.3f} s -> {r['ratio_mmap']:.1f}x")
        r = res["speedup"] = speedup(t, args.universe, args.repeat)
        print(f"ofi study, {r['universe']} ({r['ticker_days']} ticker-days, {r['events']:,} events): "
              f"1 worker {r['wall_1w_s']:.2f} s, 2 workers {r['wall_2w_s']:.2f} s -> speed-up {r['speedup']:.2f}x "
              "(target >= 1.7x)")
        print(f"events/s per worker: {r['events_per_s_per_worker_1w']:,.0f} (1 worker), "
              f"{r['events_per_s_per_worker_2w']:,.0f} (2 workers)")
        r = res["memory"] = memory(t, args.days, 1)
        print(f"peak RSS per worker: {r['peak_rss_mb_D']:.0f} MB ({r['ticker_days_D']} ticker-days) vs "
              f"{r['peak_rss_mb_4D']:.0f} MB ({r['ticker_days_4D']}) -> {r['ratio']:.2f}x (target <= 1.3x)")
        if args.big:
            r = res["big"] = big(t)
            print(f"250 ticker-days ({r['universe']}, {r['events']:,} events, {r['workers']} workers, generation "
                  f"included): {r['wall_s']:.1f} s")
    if args.json:
        print(json.dumps(res, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
