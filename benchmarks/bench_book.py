"""Benchmark the L2 book engine: reconstruction msg/s (top-10 snapshot per event) vs the
pure-Python reference in the same run, LOBSTER reading rows/s, memory per event.

Data: the synthetic day (companion.synth, full depth) when available, else the GOOG level-10
LOBSTER sample. Targets: >= 10 M msg/s, >= 50x the Python reference, reading >= 1 M rows/s,
<= 64 bytes per event held beyond the snapshot output.

Times are the best of several runs; both wall-clock and process CPU time are reported (the
machine is shared, so wall-clock rates include other processes' load).

    python benchmarks/bench_book.py [--json] [--levels 10] [--ref-events 20000]
"""
from __future__ import annotations

import argparse
import json
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _timing import best_wall_cpu as _best  # noqa: E402  (benchmarks run as scripts from this folder)

import companion  # noqa: E402
from companion.book import replay, replay_py  # noqa: E402
from companion.io.lobster import read_lobster  # noqa: E402


def _dataset() -> tuple[str, Path, Path]:
    try:
        from companion import synth
        from companion.data import DEFAULT_SEED

        msg, ob = synth.ensure_day(DEFAULT_SEED)
        return f"synthetic:{DEFAULT_SEED}", Path(msg), Path(ob)
    except ImportError:
        from companion.data import shared_data_dir

        d = shared_data_dir()
        if d is None:
            raise SystemExit("neither companion.synth nor the shared LOBSTER samples are available") from None
        msg = d / "lobster" / "GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
        return "lobster:GOOG:10", msg, Path(str(msg).replace("_message_", "_orderbook_"))




def _format_readers(ev: np.ndarray, instrument, repeat: int = 3) -> dict:
    """rows/s of each format reader (issue 16) on the same day written in that format."""
    import tempfile

    from companion.io.bybit import read_bybit_ob500, write_bybit_ob500
    from companion.io.dbn import read_dbn_mbo, write_dbn_mbo
    from companion.io.itch import read_itch, write_itch
    from companion.io.tardis import read_tardis_incremental, write_tardis_incremental

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        cases = {
            "read_dbn_mbo": (write_dbn_mbo(t / "d.dbn", ev, instrument), read_dbn_mbo),
            "read_itch": (write_itch(t / "d.itch", ev, instrument), read_itch),
            "read_tardis_incremental": (write_tardis_incremental(t / "d.csv", ev, instrument), read_tardis_incremental),
            "read_bybit_ob500": (write_bybit_ob500(t / "d.data", ev, instrument), read_bybit_ob500),
        }
        for name, (path, reader) in cases.items():
            rows = len(reader(path).events)
            wall, cpu = _best(lambda r=reader, p=path: r(p), repeat)
            out[name] = {"rows": rows, "rows_per_s": rows / wall, "rows_per_s_cpu": rows / cpu,
                         "bytes": path.stat().st_size}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--levels", type=int, default=10)
    ap.add_argument("--ref-events", type=int, default=20_000, help="events replayed by the Python reference")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    L = args.levels

    name, msg, ob = _dataset()
    data = read_lobster(msg, ob)  # warm-up (numba compile / cache load) and the data
    ev = data.events
    n = len(ev)

    # reading
    rd_wall, rd_cpu = _best(lambda: read_lobster(msg, ob), args.repeat)
    tracemalloc.start()
    d2 = read_lobster(msg, ob)
    _, read_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    read_kept = d2.events.nbytes + d2.book.nbytes
    del d2

    # reconstruction (numba), top-L snapshot per event
    out, st = replay(ev, L, return_stats=True)
    exact = bool(np.array_equal(out, data.book[:, : 4 * L])) if data.book.shape[1] >= 4 * L else None
    del out
    nb_wall, nb_cpu = _best(lambda: replay(ev, L), args.repeat)
    buf = np.empty((n, 4 * L))
    re_wall, re_cpu = _best(lambda buf=buf: replay(ev, L, out=buf), args.repeat)  # reused output buffer
    del buf

    # memory: numpy allocations are traced; the numba state (sorted level arrays, grown by
    # doubling from 256) is not, so it is accounted from the state's high-water mark.
    tracemalloc.start()
    out = replay(ev, L)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cap = 256
    while cap < max(st["max_ask_levels"], st["max_bid_levels"]) + 1:
        cap *= 2
    state_bytes = 2 * cap * (8 + 8)
    extra = max(peak - out.nbytes, 0) + state_bytes
    per_event_held = (ev.nbytes + extra) / n  # the event array itself + everything replay adds
    del out

    # Python reference on a prefix, same run
    m = min(args.ref_events, n)
    sub = ev[:m]
    py_wall, py_cpu = _best(lambda: replay_py(sub, L), 1)
    ref_equal = bool(np.array_equal(replay_py(sub[:2000], L), replay(sub[:2000], L)))

    res = {
        "dataset": name,
        "events": n,
        "levels": L,
        "replay_msg_per_s": n / nb_wall,
        "replay_msg_per_s_cpu": n / nb_cpu,
        "replay_reused_out_msg_per_s": n / re_wall,
        "replay_reused_out_msg_per_s_cpu": n / re_cpu,
        "python_ref_msg_per_s": m / py_wall,
        "python_ref_events": m,
        "speedup_vs_python": (n / nb_wall) / (m / py_wall),
        "speedup_vs_python_cpu": (n / nb_cpu) / (m / py_cpu),
        "read_rows_per_s": n / rd_wall,
        "read_rows_per_s_cpu": n / rd_cpu,
        "read_peak_bytes_per_row": read_peak / n,
        "read_kept_bytes_per_row": read_kept / n,
        "event_bytes_per_event": ev.itemsize,
        "replay_extra_bytes_per_event": extra / n,
        "bytes_per_event_held_beyond_output": per_event_held,
        "snapshot_bytes_per_event": 8 * 4 * L,
        "replay_exact_vs_orderbook": exact,
        "reference_equal": ref_equal,
        "targets": {"replay_msg_per_s": 10e6, "speedup_vs_python": 50, "read_rows_per_s": 1e6,
                    "bytes_per_event_held_beyond_output": 64},
    }
    print(f"dataset {name}: {n} events, top-{L} snapshot per event")
    print(f"reconstruction (numba): {res['replay_msg_per_s'] / 1e6:.2f} M msg/s wall, "
          f"{res['replay_msg_per_s_cpu'] / 1e6:.2f} M msg/s CPU  (target >= 10 M); into a reused output buffer: "
          f"{res['replay_reused_out_msg_per_s'] / 1e6:.2f} M wall, {res['replay_reused_out_msg_per_s_cpu'] / 1e6:.2f} M CPU")
    print(f"python reference ({m} events): {res['python_ref_msg_per_s'] / 1e3:.1f} k msg/s; "
          f"ratio {res['speedup_vs_python']:.0f}x wall, {res['speedup_vs_python_cpu']:.0f}x CPU  (target >= 50x)")
    print(f"read_lobster: {res['read_rows_per_s'] / 1e6:.2f} M rows/s wall, {res['read_rows_per_s_cpu'] / 1e6:.2f} M rows/s CPU "
          f"(target >= 1 M); peak {res['read_peak_bytes_per_row']:.0f} B/row while parsing, "
          f"{res['read_kept_bytes_per_row']:.0f} B/row kept (events + orderbook)")
    print(f"memory beyond the {res['snapshot_bytes_per_event']} B/event output: events {ev.itemsize} B + replay "
          f"{res['replay_extra_bytes_per_event']:.2f} B = {per_event_held:.1f} B/event (target <= 64)")
    print(f"replay == orderbook file on every row: {exact}; numba == reference: {ref_equal}")
    # a tree from before the other format readers (``bench --against`` an older revision) has none
    has_readers = (Path(companion.__file__).parent / "io" / "dbn.py").is_file()
    res["format_readers"] = _format_readers(ev, data.instrument) if has_readers else {}
    for rname, r in res["format_readers"].items():
        print(f"{rname}: {r['rows_per_s'] / 1e6:.2f} M rows/s wall, {r['rows_per_s_cpu'] / 1e6:.2f} M CPU "
              f"({r['rows']} rows, {r['bytes'] / 1e6:.1f} MB); read_lobster / it: "
              f"{res['read_rows_per_s'] / r['rows_per_s']:.1f}x wall, {res['read_rows_per_s_cpu'] / r['rows_per_s_cpu']:.1f}x CPU")
    if args.json:
        print(json.dumps(res, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
