"""The CPU's cycle counter, read from inside compiled code.

:func:`cycles_nb` reads it (``llvm.readcyclecounter``: ``rdtsc`` on x86-64), so the stages of one
fused kernel can be timed without returning to Python (the live front, :mod:`companion.streaming`,
and the executor's decision path, :mod:`companion.live.drive`); :func:`ns_per_cycle` calibrates it
against ``time.perf_counter_ns`` (a constant-rate TSC is assumed, as on every x86-64 CPU of the
last decade; NaN where the counter does not advance).
"""
from __future__ import annotations

import time

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["cycles_nb", "ns_per_cycle"]


@intrinsic
def _readcyclecounter(typingctx):
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), []),
                                            "llvm.readcyclecounter")
        return builder.call(fn, [])

    return types.int64(), codegen


@njit(cache=True)
def cycles_nb() -> int:
    """The CPU cycle counter (int64 cycles; ~20 cycles to read, not serialising)."""
    return _readcyclecounter()


_NS_PER_CYCLE: list[float] = []


def ns_per_cycle(sample_s: float = 0.02) -> float:
    r"""ns per :func:`cycles_nb` tick, measured once per process against ``perf_counter_ns``.

    :math:`\text{ns/cycle} = (t_1 - t_0) / (c_1 - c_0)` over a sleep of ``sample_s`` (``t``:
    ``time.perf_counter_ns``, ``c``: :func:`cycles_nb`); a constant-rate TSC is assumed (Intel
    SDM vol. 3, "Time-Stamp Counter"). The first call measures, later calls return the cached value.

    Parameters
    ----------
    sample_s : float
        Calibration interval, s (first call only).

    Returns
    -------
    float
        Nanoseconds per counter tick (about ``1 / GHz`` of the TSC); NaN when the counter does not
        advance.

    Examples
    --------
    >>> import math
    >>> r = ns_per_cycle()
    >>> math.isnan(r) or 0 < r < 100          # e.g. 0.33 on a 3 GHz TSC
    True
    >>> ns_per_cycle() == r or math.isnan(r)  # measured once per process
    True
    """
    if not _NS_PER_CYCLE:
        cycles_nb()
        c0, t0 = cycles_nb(), time.perf_counter_ns()
        time.sleep(sample_s)
        c1, t1 = cycles_nb(), time.perf_counter_ns()
        _NS_PER_CYCLE.append((t1 - t0) / (c1 - c0) if c1 > c0 else float("nan"))
    return _NS_PER_CYCLE[0]
