"""Benchmark the mini live executor (companion.live.executor) on a replayed synthetic session.

Reported (wall clock on a shared machine, one process, numba caches warm; each executor run is
repeated ``--repeat`` times and the run with the lowest tick-to-decision p99 is shown, with the
median p99 over the runs beside it):

- tick-to-decision latency p50 / p99 per feed chunk with the compiled model (``strategy: model``:
  incremental book -> streaming features -> compiled LightGBM -> model rule -> risk + strategy on
  the paper venue; journal excluded), against the target p99 <= 20 us, and per stage;
- the same for the imbalance scalper (no features / model);
- replay throughput at full speed (events/s): scalper without journal, with a journal
  (``synchronous=NORMAL``), and the backtester on the same events (the reference: ratio live /
  backtest);
- compiled vs LightGBM single-row prediction latency (one Python call each) and their ratio, and
  the flat tree walk against the reference one-tree-at-a-time walk (same scores).

What each number measures (per chunk; ``perf_counter_ns`` unless said otherwise):

- ``tick_to_decision``: from the chunk's arrival in the executor loop (just before the capacity /
  kill-switch checks and the one compiled call, ``companion.live.drive.live_chunk_nb``) to just
  after the chunk's last wake-up (the orders it caused are sent, and the Python bookkeeping of them
  is done), minus the journal's write-ahead records -- exactly ``book + features + model + signal +
  strategy``;
- ``features``, ``model``, ``signal``: stamped *inside* the compiled call with the CPU cycle counter
  (``companion.cycles.cycles_nb``, converted with a rate calibrated against
  ``perf_counter_ns``): schedule + feature groups (only the outputs the model reads are emitted) +
  column gather (and the flush at the chunk's own time); compiled trees + output conversion (~0 on
  the ~94 % of chunks that complete no 1-s sample); trailing OFI + model rule, or the imbalance codes;
- ``book``: the rest of the call: the Python-side checks, the call itself (the entry point of the
  compiled function, resolved once; unboxing the two state objects and the chunk), copying the
  chunk's columns, the incremental book update, and the return to Python;
- ``strategy``: appending the chunk to the paper venue's buffers and the compiled venue/strategy
  loop (stamped inside the call) + the Python after it (venue counters, bookkeeping of new orders,
  and -- with a journal -- the return to Python to journal each order before it is sent: that write
  is the ``journal`` stage, not counted here). Chunks that must grow a buffer or trip the kill switch
  take three calls (front kernel, ``venue.on_market``, the wake-up loop): there ``strategy`` is the
  last two;
- ``journal``: reports, checkpoints and the write-ahead records (no journal in the latency runs).

    python benchmarks/bench_live.py [--json] [--minutes 20] [--seed 7] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import best_of  # noqa: E402

from companion import synth  # noqa: E402
from companion.backtest import run_backtest  # noqa: E402
from companion.live.config import LiveConfig  # noqa: E402
from companion.live.executor import LiveExecutor  # noqa: E402
from companion.live.feeds import LobsterReplayFeed, SimulatedClock  # noqa: E402

FEATURES = ["ofi_1s", "ofi_10s", "ofi_1min", "vol_imb_1", "vol_imb_5", "dw_imb", "composite_imb",
            "spread_ticks", "rv_1min", "signed_volume_10s"]
TARGET_P99_US = 20.0


def _feed(ev):
    return LobsterReplayFeed(ev, speed=float("inf"), clock=SimulatedClock(int(ev["ts"][0])))


def _train(ev, book, inst):
    import pandas as pd

    from companion.features import FeatureEngine, registry
    from companion.models.compiled import CompiledModel
    from companion.models.train import DirectionClassifier
    from companion.signals import forward_mid_move_bps, mid_price

    names = [f for f in FEATURES if f in registry()]
    st, X = FeatureEngine(inst, grid="1s", features=names).update_arrays(ev, book)
    fwd = forward_mid_move_bps(ev["ts"], mid_price(book), 10 * 10**9)
    j = np.searchsorted(ev["ts"], st, side="right") - 1
    keep = (j >= 0) & np.isfinite(fwd[np.maximum(j, 0)])
    y = (fwd[j[keep]] > 0).astype(int)
    clf = DirectionClassifier(random_state=0, n_jobs=1).fit(pd.DataFrame(X[keep], columns=names), y)
    return clf, CompiledModel.from_model(clf), X[keep]


def _row_latency_ns(fn, rows, calls):
    t = np.empty(calls, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(calls):
        x = rows[i % len(rows)]
        t0 = clock()
        fn(x)
        t[i] = clock() - t0
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--minutes", type=float, default=20.0, help="length of the synthetic session")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--calls", type=int, default=5000, help="single-row prediction calls timed")
    ap.add_argument("--repeat", type=int, default=3, help="executor runs per strategy (the best p99 is shown)")
    args = ap.parse_args(argv)

    cfg_s = synth.SynthConfig(session=(34200.0, 34200.0 + 60.0 * args.minutes))
    day = synth.simulate(seed=args.seed, config=cfg_s)
    ev, book, inst = synth.to_events(day.messages), day.orderbook, synth.instrument(cfg_s)
    clf, model, Xtr = _train(ev, book, inst)
    base = {"kill_switch": {"file": None}, "risk": {"max_loss": None}}
    cfg_scalper = LiveConfig.from_dict(base)
    cfg_model = LiveConfig.from_dict({**base, "strategy": "model",
                                      "model": {"p_long": 0.55, "p_short": 0.45}})

    # warm-up (numba cache load / compile) on the first minutes, then the timed runs
    warm = ev[: min(len(ev), 3000)]
    LiveExecutor(cfg_scalper, inst).run(_feed(warm))
    LiveExecutor(cfg_model, inst, model=model).run(_feed(warm))
    run_backtest(warm, book[: len(warm)], inst, cfg_scalper.strategy_object(), execution=cfg_scalper.execution_config(inst))

    runs_m, runs_s = [], []
    for _ in range(max(1, args.repeat)):  # interleaved, so both strategies see the same machine load
        runs_m.append(LiveExecutor(cfg_model, inst, model=model).run(_feed(ev)))
        runs_s.append(LiveExecutor(cfg_scalper, inst).run(_feed(ev)))
    p99 = lambda s: s.latency["tick_to_decision"]["p99_us"]  # noqa: E731
    s_m, s_s = min(runs_m, key=p99), min(runs_s, key=p99)
    med_m, med_s = float(np.median([p99(r) for r in runs_m])), float(np.median([p99(r) for r in runs_s]))
    with tempfile.TemporaryDirectory() as d:
        s_j = LiveExecutor(cfg_scalper, inst, journal=Path(d) / "bench.db").run(_feed(ev))
    t0 = time.perf_counter()
    bt = run_backtest(ev, book, inst, cfg_scalper.strategy_object(), execution=cfg_scalper.execution_config(inst))
    bt_s = time.perf_counter() - t0
    assert len(bt.sim.orders) == s_s.orders and len(bt.sim.fills) == s_s.fills  # parity, as tested

    # single-row prediction: compiled kernel vs LightGBM
    rows = np.ascontiguousarray(Xtr[:2048])
    out = np.empty(1)
    booster = clf.booster_
    model.predict_raw_row(rows[0], out)
    lat_c = _row_latency_ns(lambda x: model.predict_raw_row(x, out), rows, args.calls)
    lat_l = _row_latency_ns(lambda x: booster.predict(x[None, :], raw_score=True, num_threads=1), rows,
                            max(500, args.calls // 5))
    from companion.models.compiled import predict_raw_flat_nb, predict_raw_nb

    flat = model.flat
    assert np.array_equal(predict_raw_flat_nb(rows, *flat, 1), predict_raw_nb(rows, *model.arrays, 1))
    walk_ref = best_of(lambda: predict_raw_nb(rows, *model.arrays, 1), 5, warmup=True).wall / len(rows)
    walk_flat = best_of(lambda: predict_raw_flat_nb(rows, *flat, 1), 5, warmup=True).wall / len(rows)
    pct = lambda a, q: float(np.percentile(a, q))  # noqa: E731

    lm, ls = s_m.latency, s_s.latency
    res = {
        "events": int(len(ev)), "chunks": int(s_m.chunks), "minutes": args.minutes,
        "model": {"trees": model.n_trees, "features": model.n_features},
        "tick_to_decision_model_p50_us": lm["tick_to_decision"]["p50_us"],
        "tick_to_decision_model_p99_us": lm["tick_to_decision"]["p99_us"],
        "tick_to_decision_scalper_p50_us": ls["tick_to_decision"]["p50_us"],
        "tick_to_decision_scalper_p99_us": ls["tick_to_decision"]["p99_us"],
        "tick_to_decision_model_p99_median_us": med_m, "tick_to_decision_scalper_p99_median_us": med_s,
        "repeat": max(1, args.repeat),
        "target_p99_us": TARGET_P99_US,
        "target_met_model": bool(lm["tick_to_decision"]["p99_us"] <= TARGET_P99_US),
        "target_met_scalper": bool(ls["tick_to_decision"]["p99_us"] <= TARGET_P99_US),
        "stages_model": {k: {"p50_us": v["p50_us"], "p99_us": v["p99_us"]} for k, v in lm.items() if v["n"]},
        "stages_scalper": {k: {"p50_us": v["p50_us"], "p99_us": v["p99_us"]} for k, v in ls.items() if v["n"]},
        "throughput_scalper_events_per_s": s_s.events_per_s,
        "throughput_scalper_journal_events_per_s": s_j.events_per_s,
        "throughput_model_events_per_s": s_m.events_per_s,
        "throughput_backtest_events_per_s": len(ev) / bt_s,
        "row_compiled_p50_ns": pct(lat_c, 50), "row_compiled_p99_ns": pct(lat_c, 99),
        "row_lightgbm_p50_ns": pct(lat_l, 50), "row_lightgbm_p99_ns": pct(lat_l, 99),
        "walk_reference_ns_per_row": walk_ref * 1e9, "walk_flat_ns_per_row": walk_flat * 1e9,
        "ratio_walk_reference_vs_flat": walk_ref / walk_flat,
    }
    res["ratio_live_vs_backtest"] = res["throughput_scalper_events_per_s"] / res["throughput_backtest_events_per_s"]
    res["ratio_row_lightgbm_vs_compiled_p50"] = res["row_lightgbm_p50_ns"] / res["row_compiled_p50_ns"]
    res["ratio_row_lightgbm_vs_compiled_p99"] = res["row_lightgbm_p99_ns"] / res["row_compiled_p99_ns"]

    print(f"synthetic session: {res['events']:,} events, {res['chunks']:,} chunks ({args.minutes:g} min); "
          f"model {model.n_trees} trees x {model.n_features} features")
    print(f"tick-to-decision (journal excluded; best of {res['repeat']} runs)   p50        p99     "
          f"target p99 <= {TARGET_P99_US:g} us   (median p99 of the runs)")
    for name, key in (("model (features + compiled)", "model"), ("scalper (imbalance)", "scalper")):
        p50, p99 = res[f"tick_to_decision_{key}_p50_us"], res[f"tick_to_decision_{key}_p99_us"]
        print(f"  {name:<30} {p50:7.2f} us {p99:8.2f} us   {'met' if p99 <= TARGET_P99_US else 'NOT met':<8}"
              f"({res[f'tick_to_decision_{key}_p99_median_us']:.2f} us)")
    print("  stages (model run):  " + ", ".join(f"{k} {v['p50_us']}/{v['p99_us']}" for k, v in res["stages_model"].items()
                                            if k != "tick_to_decision") + "  (p50/p99 us)")
    print(f"throughput at full speed: scalper {res['throughput_scalper_events_per_s']:,.0f} events/s, "
          f"with journal {res['throughput_scalper_journal_events_per_s']:,.0f}, model "
          f"{res['throughput_model_events_per_s']:,.0f}; backtester {res['throughput_backtest_events_per_s']:,.0f} "
          f"events/s (ratio live / backtest {res['ratio_live_vs_backtest']:.2f})")
    print(f"single-row prediction: compiled p50 {res['row_compiled_p50_ns'] / 1e3:.2f} us / p99 "
          f"{res['row_compiled_p99_ns'] / 1e3:.2f} us, LightGBM p50 {res['row_lightgbm_p50_ns'] / 1e3:.1f} us / p99 "
          f"{res['row_lightgbm_p99_ns'] / 1e3:.1f} us; ratio {res['ratio_row_lightgbm_vs_compiled_p50']:.0f} x (p50), "
          f"{res['ratio_row_lightgbm_vs_compiled_p99']:.0f} x (p99)")
    print(f"tree walk (batch, per row): flat {res['walk_flat_ns_per_row'] / 1e3:.2f} us vs reference "
          f"{res['walk_reference_ns_per_row'] / 1e3:.2f} us; ratio {res['ratio_walk_reference_vs_flat']:.2f} x")
    if args.json:
        print(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
