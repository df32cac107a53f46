"""Shared timing helper of the benchmarks (each benchmark runs as a script from this folder)."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple


class Timing(NamedTuple):
    wall: float  #: best wall-clock seconds over the repeats
    cpu: float   #: best process-CPU seconds over the repeats
    out: Any     #: what the fastest run returned


def best_of(fn: Callable[[], Any], repeat: int, warmup: bool = False, keep: bool = True) -> Timing:
    """Run ``fn`` ``repeat`` times (after one untimed call when ``warmup``); keep the best times.

    Only the fastest run's result is held (none when ``keep`` is false): a call never runs while
    the previous call's result is still alive, so a function that returns a large array reuses
    the memory the last call freed instead of mapping fresh pages. The figure is then the code's
    speed, not how long this host takes to hand a process new memory (on a VM that cost varies by
    hundreds of milliseconds from one call to the next).
    """
    if warmup:
        fn()
    wall, cpu, out = float("inf"), float("inf"), None
    for _ in range(max(1, repeat)):
        w0, c0 = time.perf_counter(), time.process_time()
        r = fn()
        w, c = time.perf_counter() - w0, time.process_time() - c0
        if w < wall:
            wall, out = w, (r if keep else None)
        cpu = min(cpu, c)
        del r
    return Timing(wall, cpu, out)


def best_wall_cpu(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) of :func:`best_of`; no result is held."""
    t = best_of(fn, repeat, keep=False)
    return t.wall, t.cpu
