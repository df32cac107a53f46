"""Throughput of the exchange simulator (:class:`companion.sim.Simulator`) vs a pure-Python loop.

* ``noop``: the numba fast path with a strategy that never acts (woken on every event);
* ``quotes``: the numba fast path with a per-event strategy that reads the best bid / ask of the
  row it sees and accumulates the spread (so the work cannot be optimised away);
* ``python_noop``: the Python teaching path (:meth:`Simulator.run_python`) with a no-op callback
  (on the first ``--python-events`` events);
* reference: :func:`python_reference`, the minimal pure-Python event loop over the same events
  with the ``quotes`` strategy (wake-up time, position / cash series, best quotes) -- no
  matching, latency queues or risk, so the ratio understates the simulator's advantage.

Ratios are events/s over the reference's events/s, measured in the same process. Data: the
synthetic default day (``companion.data.load("synthetic")``); each timing is the best of
``--repeat`` runs after a warm-up (compilation excluded). Usage:
``python benchmarks/bench_sim.py [--json] [--data SPEC]``.
"""
from __future__ import annotations

import argparse
import json

import numpy as np
from _timing import best_of  # noqa: E402  (benchmarks run as scripts from this folder)
from numba import njit

from companion.data import load
from companion.sim import Simulator
from companion.sim.context import best_ask, best_bid


@njit
def noop_nb(ctx, params, user_state):
    return


@njit
def quotes_nb(ctx, params, user_state):
    bid = best_bid(ctx)
    ask = best_ask(ctx)
    if bid == bid and ask == ask:
        user_state[0] += ask - bid
        user_state[1] += 1.0


def _quotes_py(t, row, acc) -> int:
    ask, asz, bid, bsz = row[0], row[1], row[2], row[3]
    if asz > 0 and bsz > 0 and ask < 9e9 and bid > -9e9:
        acc[0] += ask - bid
        acc[1] += 1.0
    return 0


def python_reference(ts: list, ts_local: list, rows: list) -> list:
    """The minimal event-driven backtest loop in pure Python: per event, the strategy's wake-up
    time ``max(ts, ts_local)`` (+ zero feed latency), the position / cash series written, and a
    strategy function called on the row's best quotes. No matching, no latency queues, no risk:
    far less work than the simulator does per event. (Inputs converted to lists outside the timing.)"""
    n = len(ts)
    pos = cash = 0.0
    pos_ser = [0.0] * n
    cash_ser = [0.0] * n
    acc = [0.0, 0.0]
    for i in range(n):
        t_seen = ts[i] if ts[i] >= ts_local[i] else ts_local[i]
        pos_ser[i] = pos
        cash_ser[i] = cash
        _quotes_py(t_seen, rows[i], acc)
    return acc


def _best(fn, repeat: int) -> float:
    return best_of(fn, repeat).wall


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="synthetic")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python-events", type=int, default=50_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    d = load(a.data)
    ev, book = d.events, d.book
    n = len(ev)
    sim = Simulator(ev, book, tick=int(d.instrument.tick))
    us = np.zeros(2)
    sim.run(noop_nb)
    sim.run(quotes_nb, None, us)  # warm-up / compile
    t_noop = _best(lambda: sim.run(noop_nb), a.repeat)
    t_q = _best(lambda: sim.run(quotes_nb, None, np.zeros(2)), a.repeat)
    us = np.zeros(2)
    sim.run(quotes_nb, None, us)
    lists = (ev["ts"].tolist(), ev["ts_local"].tolist(), book[:, :4].tolist())
    t_ref = _best(lambda: python_reference(*lists), a.repeat)
    ref = python_reference(*lists)
    assert np.isclose(ref[0], us[0]) and ref[1] == us[1], "numba and Python loops disagree"
    m = min(a.python_events, n)
    simp = Simulator(ev[:m], book[:m], tick=int(d.instrument.tick))
    t_py = _best(lambda: simp.run_python(lambda ctx: None), 1)
    out = {
        "data": a.data, "events": n,
        "noop_events_per_s": n / t_noop, "quotes_events_per_s": n / t_q,
        "python_path_noop_events_per_s": m / t_py,
        "reference_python_loop_events_per_s": n / t_ref,
        "ratio_noop_vs_reference": (n / t_noop) / (n / t_ref),
        "ratio_quotes_vs_reference": (n / t_q) / (n / t_ref),
        "ratio_python_path_vs_reference": (m / t_py) / (n / t_ref),
    }
    print(f"{n:,} events ({a.data}), best of {a.repeat}")
    print(f"  simulator, no-op strategy (numba)      {out['noop_events_per_s'] / 1e6:8.2f} M events/s  "
          f"x{out['ratio_noop_vs_reference']:.1f} vs reference")
    print(f"  simulator, best-quote strategy (numba) {out['quotes_events_per_s'] / 1e6:8.2f} M events/s  "
          f"x{out['ratio_quotes_vs_reference']:.1f} vs reference")
    print(f"  simulator, Python path no-op callback  {out['python_path_noop_events_per_s'] / 1e6:8.2f} M events/s  "
          f"x{out['ratio_python_path_vs_reference']:.2f} vs reference")
    print(f"  reference: pure-Python event loop      {out['reference_python_loop_events_per_s'] / 1e6:8.2f} M events/s")
    if a.json:
        print(json.dumps(out, sort_keys=True))
    return out


if __name__ == "__main__":
    main()
