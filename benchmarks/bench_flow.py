"""Throughput of the OFI kernels vs a vectorised numpy reference on the same data, same run.

* level-1 OFI (:func:`companion.flow.ofi.ofi_events_nb`, CKS 2014 eq. 10) -- target >= 30 M events/s;
* 10-level OFI (:func:`companion.flow.ofi.ofi_multilevel_events_nb`, CCZ 2023 eq. 1);
* 10-s clock-bin sums (:func:`companion.flow.ofi.bin_bounds_nb` + ``segment_sums_nb``) vs pandas
  ``groupby``.

Data: the LOBSTER AAPL level-1 and GOOG level-10 samples tiled to ``--events`` rows when
``../shared/data`` is present, else a seeded random book. Each timing is the best of ``--repeat``
runs after a warm-up (compilation excluded). Usage: ``python benchmarks/bench_flow.py [--json]``.
"""
from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _timing import best_of  # noqa: E402  (benchmarks run as scripts from this folder)

from companion.events import DUMMY_ASK, DUMMY_BID
from companion.flow.ofi import bin_bounds_nb, ofi_events_nb, ofi_multilevel_events_nb, segment_sums_nb


def ofi_numpy(book: np.ndarray, level: int = 1) -> np.ndarray:
    """Reference: eq. 10 vectorised with numpy (empty levels -> size 0)."""
    c = 4 * (level - 1)
    pa, qa, pb, qb = (book[:, c + j] for j in range(4))
    qa = np.where(np.abs(pa) >= 9e9, 0.0, qa)
    qb = np.where(np.abs(pb) >= 9e9, 0.0, qb)
    e = np.zeros(len(book))
    e[1:] = (np.where(pb[1:] >= pb[:-1], qb[1:], 0.0) - np.where(pb[1:] <= pb[:-1], qb[:-1], 0.0)
             - np.where(pa[1:] <= pa[:-1], qa[1:], 0.0) + np.where(pa[1:] >= pa[:-1], qa[:-1], 0.0))
    return e


def ofi_numpy_multilevel(book: np.ndarray, levels: int) -> np.ndarray:
    return np.column_stack([ofi_numpy(book, m) for m in range(1, levels + 1)])


def bins_pandas(ts: np.ndarray, e: np.ndarray, t0: int, dt: int, n_bins: int) -> np.ndarray:
    """Reference: pandas groupby over right-closed bins (t0 + k dt, t0 + (k+1) dt]."""
    k = (ts - t0 - 1) // dt
    s = pd.Series(e[1:]).groupby(k[1:]).sum()
    return s.reindex(range(n_bins), fill_value=0.0).to_numpy()


def _tile(book: np.ndarray, ts: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    reps = -(-n // len(book))
    b = np.ascontiguousarray(np.tile(book, (reps, 1))[:n])
    span = int(ts[-1] - ts[0]) + 1
    t = (np.tile(ts - ts[0], reps) + np.repeat(np.arange(reps, dtype=np.int64) * span, len(ts)))[:n]
    return b, t


def _random_book(n: int, levels: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    bid = 1_000_000 + 100 * np.cumsum(rng.integers(-1, 2, n))
    book = np.empty((n, 4 * levels))
    for m in range(levels):
        book[:, 4 * m] = bid + 100 * (1 + m + rng.integers(0, 2, n))
        book[:, 4 * m + 1] = rng.integers(1, 500, n)
        book[:, 4 * m + 2] = bid - 100 * m
        book[:, 4 * m + 3] = rng.integers(1, 500, n)
    empty = rng.random(n) < 0.01
    book[empty, 4 * (levels - 1)], book[empty, 4 * (levels - 1) + 1] = DUMMY_ASK, 0
    book[empty, 4 * (levels - 1) + 2], book[empty, 4 * (levels - 1) + 3] = DUMMY_BID, 0
    ts = np.sort(rng.integers(0, 23_400 * 10**9, n))
    return book, ts


def _load(level: int, ticker: str, n: int) -> tuple[np.ndarray, np.ndarray, str]:
    try:
        from companion.data import resolve_lobster_paths
        from companion.io.lobster import read_lobster

        d = read_lobster(*resolve_lobster_paths(f"lobster:{ticker}:{level}"))
        b, t = _tile(d.book, d.events["ts"], n)
        return b, t, f"LOBSTER {ticker} level {level} tiled"
    except (FileNotFoundError, ImportError):
        b, t = _random_book(n, level, seed=level)
        return b, t, f"random book, {level} levels"


def _best(fn, repeat: int) -> float:
    return best_of(fn, repeat, warmup=True).wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000, help="rows for the level-1 benchmark")
    ap.add_argument("--events-ml", type=int, default=2_000_000, help="rows for the 10-level benchmark")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    out: dict = {}
    b1, t1, src1 = _load(1, "AAPL", args.events)
    np.testing.assert_array_equal(ofi_events_nb(b1), ofi_numpy(b1))     # same answer first
    tk = _best(lambda: ofi_events_nb(b1), args.repeat)
    tr = _best(lambda: ofi_numpy(b1), args.repeat)
    out["ofi_l1"] = {"data": src1, "events": len(b1), "kernel_events_per_s": len(b1) / tk,
                     "numpy_events_per_s": len(b1) / tr, "speedup": tr / tk}

    b10, t10, src10 = _load(10, "GOOG", args.events_ml)
    np.testing.assert_array_equal(ofi_multilevel_events_nb(b10, 10), ofi_numpy_multilevel(b10, 10))
    tk = _best(lambda: ofi_multilevel_events_nb(b10, 10), args.repeat)
    tr = _best(lambda: ofi_numpy_multilevel(b10, 10), args.repeat)
    out["ofi_l10"] = {"data": src10, "events": len(b10), "kernel_events_per_s": len(b10) / tk,
                      "numpy_events_per_s": len(b10) / tr, "speedup": tr / tk}

    e = ofi_events_nb(b1)
    dt = 10 * 10**9
    t0 = int(t1[0]) // dt * dt
    n_bins = int(-(-(int(t1[-1]) - t0) // dt))

    def kernel_bins():
        return segment_sums_nb(e.reshape(-1, 1), bin_bounds_nb(t1, t0, dt, n_bins))[:, 0]

    np.testing.assert_allclose(kernel_bins(), bins_pandas(t1, e, t0, dt, n_bins), rtol=1e-9, atol=1e-6)
    tk = _best(kernel_bins, args.repeat)
    tr = _best(lambda: bins_pandas(t1, e, t0, dt, n_bins), args.repeat)
    out["bins_10s"] = {"events": len(e), "bins": n_bins, "kernel_events_per_s": len(e) / tk,
                       "pandas_events_per_s": len(e) / tr, "speedup": tr / tk}

    for name, r in out.items():
        ref = "pandas" if "pandas_events_per_s" in r else "numpy"
        print(f"{name:9s} {r['events']:>11,d} events  kernel {r['kernel_events_per_s'] / 1e6:8.1f} M ev/s   "
              f"{ref} {r[ref + '_events_per_s'] / 1e6:8.1f} M ev/s   ratio {r['speedup']:6.1f}x   {r.get('data', '')}")
    target = out["ofi_l1"]["kernel_events_per_s"] >= 30e6
    print(f"level-1 OFI target >= 30 M events/s: {'met' if target else 'NOT met'}")
    out["target_l1_30M_met"] = bool(target)
    if args.json:
        import json

        print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
