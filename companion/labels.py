"""Labels: the only code in the companion that looks forward, and every label records its end time.

A label for a sample taken at time ``t`` is a function of the mid-price path on ``(t, t_end]``
(plus the mid known at ``t``); ``t_end`` is returned with every label so that cross-validation can
purge training samples whose label interval ``[t, t_end]`` overlaps a test period
(:class:`companion.models.cv.PurgedWalkForward`).

Conventions
-----------
* Kernels (``..._nb``) take event times ``t`` (int64 ns, non-decreasing), mids ``mid`` (float64,
  price units, NaN where the book is one-sided) and sample *positions* ``pos`` (int64 indices into
  ``t``: the sample sees the book after event ``pos``). They return arrays; an end index of ``-1``
  marks an undefined label (horizon past the end of the data, NaN mid).
* Returns are measured in ``unit``: ``"ticks"`` = (m1 - m0) / tick, ``"bps"`` = 1e4 (m1 / m0 - 1),
  ``"price"`` = m1 - m0 (price units).
* "The mid at time T" is the state after the *last* event stamped ``T`` (as-of semantics), so a
  clock horizon ends on a whole timestamp: the label depends only on data stamped in ``(t, t_end]``.
  With ``samples=None`` every event is a sample and "after" means later in event order: events
  sharing the sample's timestamp but coming after it belong to the window (``t_end`` may then
  equal ``t`` for event horizons and barrier touches). Clock samples see the book as of their time.
* Wrappers take a mid ``pd.Series`` indexed by timestamp (DatetimeIndex, TimedeltaIndex or int
  ns) and optional sample times (as-of: the sample at time ``s`` sees the last event at or before
  ``s``); they return a DataFrame indexed by sample time with ``ret``, ``label``, ``t_end``.

References
----------
* Ntakaris, Magris, Kanniainen, Gabbouj & Iosifidis (2018), "Benchmark dataset for mid-price
  forecasting of limit order book data with machine learning methods", J. Forecasting 37(8)
  (FI-2010 smoothed labels).
* López de Prado (2018), *Advances in Financial Machine Learning*, Wiley, ch. 3 (triple barrier,
  Snippets 3.1-3.7; meta-labelling, §3.6).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

UNITS = {"price": 0, "ticks": 1, "bps": 2}
LABEL_COLUMNS = ("ret", "label", "t_end")


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def move_nb(p0: float, p1: float, unit: int, tick: float) -> float:
    """Return from mid ``p0`` to mid ``p1``: unit 0 price units, 1 ticks, 2 basis points (NaN if p0 = 0).

    Examples
    --------
    >>> move_nb(10000.0, 10200.0, 0, 100.0), move_nb(10000.0, 10200.0, 1, 100.0), round(move_nb(10000.0, 10200.0, 2, 100.0), 6)
    (200.0, 2.0, 200.0)
    """
    if unit == 0:
        return p1 - p0
    if unit == 1:
        return (p1 - p0) / tick
    if p0 == 0.0:
        return np.nan
    return 1e4 * (p1 / p0 - 1.0)


@njit(cache=True)
def clock_horizon_end_nb(t: np.ndarray, t0: np.ndarray, horizon_ns: int) -> np.ndarray:
    """End index of a clock horizon: the last event stamped ``T* = min{t_j : t_j >= t0 + h}``.

    ``t0`` are the sample times (int64 ns; a sample may fall between events).
    ``end[k] = max{j : t_j = T*}`` (the book as of ``T*``), or -1 when no event reaches
    ``t0 + h``. With ``h > 0`` the end lies strictly after ``t0``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0, 4, 10, 10, 15])
    >>> clock_horizon_end_nb(t, np.array([0, 6, 12]), 5).tolist()     # first event at/after t0 + 5
    [3, 4, -1]
    """
    n = t.shape[0]
    out = np.empty(t0.shape[0], np.int64)
    for k in range(t0.shape[0]):
        j0 = np.searchsorted(t, t0[k] + horizon_ns, side="left")
        if j0 >= n:
            out[k] = -1
        else:
            out[k] = np.searchsorted(t, t[j0], side="right") - 1
    return out


@njit(cache=True)
def event_horizon_end_nb(n: int, pos: np.ndarray, k_events: int) -> np.ndarray:
    """End index ``pos + k`` of an event horizon, -1 when it runs past the last of ``n`` events.

    Examples
    --------
    >>> import numpy as np
    >>> event_horizon_end_nb(5, np.array([0, 2, 3]), 2).tolist()
    [2, 4, -1]
    """
    out = np.empty(pos.shape[0], np.int64)
    for k in range(pos.shape[0]):
        j = pos[k] + k_events
        out[k] = j if j < n else -1
    return out


@njit(cache=True)
def new_labels_nb(m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ret, lab, out_end)`` for ``m`` samples, all undefined: float64 NaN, int8 0, int64 -1."""
    return np.full(m, np.nan), np.zeros(m, np.int8), np.full(m, -1, np.int64)


@njit(cache=True)
def put_label_nb(ret: np.ndarray, lab: np.ndarray, out_end: np.ndarray, k: int, r: float, end: int,
                 threshold: float) -> None:
    """Store sample ``k``'s move ``r`` (ticks / bps / log), its end row and its class ``+1`` if
    ``r > threshold``, ``-1`` if ``r < -threshold``, else 0; a NaN move leaves the sample
    undefined (``ret`` NaN, ``lab`` 0, ``out_end`` -1 as initialised)."""
    if np.isnan(r):
        return
    ret[k] = r
    out_end[k] = end
    if r > threshold:
        lab[k] = 1
    elif r < -threshold:
        lab[k] = -1


@njit(cache=True)
def fixed_horizon_nb(mid: np.ndarray, pos: np.ndarray, end: np.ndarray, threshold: float,
                     unit: int, tick: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed-horizon move ``r = move(mid[pos], mid[end])`` and its class.

    ``label = +1 if r > threshold, -1 if r < -threshold, else 0``. Returns ``(ret, label, end)``
    with ``ret = NaN``, ``label = 0``, ``end = -1`` where undefined (end -1 or a NaN mid).

    Examples
    --------
    >>> import numpy as np
    >>> mid = np.array([100.0, 101.0, 103.0, 102.0])
    >>> ret, label, end = fixed_horizon_nb(mid, np.array([0, 1]), np.array([2, 3]), 1.5, 1, 1.0)
    >>> ret.tolist(), label.tolist(), end.tolist()
    ([3.0, 1.0], [1, 0], [2, 3])
    """
    m = pos.shape[0]
    ret, lab, out_end = new_labels_nb(m)
    for k in range(m):
        j = end[k]
        if j < 0:
            continue
        put_label_nb(ret, lab, out_end, k, move_nb(mid[pos[k]], mid[j], unit, tick), j, threshold)
    return ret, lab, out_end


@njit(cache=True)
def smoothed_move_nb(mid: np.ndarray, pos: np.ndarray, k_events: int, threshold: float, unit: int,
                     tick: float, past_mean: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FI-2010 smoothed label (Ntakaris et al. 2018): ``m+ = (1/k) sum_{i=1..k} p_{t+i}``.

    ``l_t = move(ref, m+)`` with ``ref = p_t`` or, when ``past_mean`` (DeepLOB's variant, Zhang et
    al. 2019), ``ref = m- = (1/k) sum_{i=0..k-1} p_{t-i}``. Class: +1 if ``l > threshold``, -1 if
    ``l < -threshold``, else 0. End index ``pos + k``; undefined (-1) past the data or on a NaN.

    Examples
    --------
    >>> import numpy as np
    >>> mid = np.array([100.0, 101.0, 103.0, 102.0])
    >>> ret, label, end = smoothed_move_nb(mid, np.array([0, 1]), 2, 1.0, 1, 1.0, False)
    >>> ret.tolist(), label.tolist(), end.tolist()      # (101 + 103) / 2 - 100 = 2 ticks
    ([2.0, 1.5], [1, 1], [2, 3])
    """
    n = mid.shape[0]
    m = pos.shape[0]
    ret, lab, out_end = new_labels_nb(m)
    for q in range(m):
        i = pos[q]
        if i + k_events >= n:
            continue
        s = 0.0
        for j in range(i + 1, i + k_events + 1):
            s += mid[j]
        fut = s / k_events
        if past_mean:
            if i - k_events + 1 < 0:
                continue
            s = 0.0
            for j in range(i - k_events + 1, i + 1):
                s += mid[j]
            ref = s / k_events
        else:
            ref = mid[i]
        put_label_nb(ret, lab, out_end, q, move_nb(ref, fut, unit, tick), i + k_events, threshold)
    return ret, lab, out_end


@njit(cache=True)
def triple_barrier_nb(mid: np.ndarray, pos: np.ndarray, vertical_end: np.ndarray, upper: np.ndarray,
                      lower: np.ndarray, side: np.ndarray, unit: int, tick: float,
                      vertical_sign: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Triple barrier (López de Prado 2018, ch. 3, Snippets 3.2-3.5) on an event path.

    For sample ``k`` at ``i = pos[k]`` with side ``s = side[k]`` (+1 long, -1 short), walk
    ``j = i+1, ..., J`` where ``J = vertical_end[k]`` (the time limit; -1 = no time limit, run to
    the end of the data) and compute the position's return ``s * move(mid[i], mid[j])``. The first
    ``j`` with ``s*r >= upper[k]`` is a profit-take touch (label +1), with ``s*r <= -lower[k]`` a
    stop-loss touch (label -1); ``inf`` disables a barrier. Without a touch, the vertical barrier at
    ``J`` gives label 0, or ``sign(s*r_J)`` when ``vertical_sign``; without a touch and without
    ``J`` (data ends first) the label is undefined. Events with a NaN mid are skipped.

    Returns ``(ret, label, end, barrier)``: ``ret`` is the raw (unsigned) move ``r`` at the touch,
    ``end`` the touch index (-1 undefined), ``barrier`` +1 profit-take, -1 stop-loss, 0 vertical,
    -2 undefined.

    Examples
    --------
    >>> import numpy as np
    >>> mid = np.array([100.0, 101.0, 99.0, 98.0, 103.0])
    >>> ret, label, end, barrier = triple_barrier_nb(mid, np.array([0, 1]), np.array([4, 4]), np.array([2.0, 2.0]),
    ...                                              np.array([2.0, 2.0]), np.array([1, 1]), 1, 1.0, False)
    >>> ret.tolist(), label.tolist(), end.tolist(), barrier.tolist()
    ([-2.0, -2.0], [-1, -1], [3, 2], [-1, -1])
    """
    n = mid.shape[0]
    m = pos.shape[0]
    ret, lab, out_end = new_labels_nb(m)
    barrier = np.full(m, -2, np.int8)
    for k in range(m):
        i = pos[k]
        s = side[k]
        p0 = mid[i]
        if np.isnan(s) or s == 0.0 or np.isnan(p0):
            continue
        last = vertical_end[k] if vertical_end[k] >= 0 else n - 1
        for j in range(i + 1, last + 1):
            r = move_nb(p0, mid[j], unit, tick)
            if np.isnan(r):
                continue
            if s * r >= upper[k]:
                ret[k] = r
                lab[k] = 1
                out_end[k] = j
                barrier[k] = 1
                break
            if s * r <= -lower[k]:
                ret[k] = r
                lab[k] = -1
                out_end[k] = j
                barrier[k] = -1
                break
        if barrier[k] != -2 or vertical_end[k] < 0:
            continue
        j = vertical_end[k]
        r = move_nb(p0, mid[j], unit, tick)
        if np.isnan(r):
            continue
        ret[k] = r
        out_end[k] = j
        barrier[k] = 0
        if vertical_sign:
            sr = s * r
            lab[k] = 1 if sr > 0 else (-1 if sr < 0 else 0)
    return ret, lab, out_end, barrier


@njit(cache=True)
def ewm_std_nb(x: np.ndarray, span: float, min_periods: int) -> np.ndarray:
    """Exponentially weighted standard deviation, causal (value at k uses x[0..k] only).

    ``a = 2 / (span + 1)``; ``mu_k = mu_{k-1} + a d``, ``var_k = (1 - a)(var_{k-1} + a d^2)`` with
    ``d = x_k - mu_{k-1}`` (Finch 2009, "Incremental calculation of weighted mean and variance",
    eq. 143), started at ``mu_0 = x_0, var_0 = 0``. NaN inputs are skipped (state carried); output
    is NaN until ``min_periods`` finite values have been seen.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(ewm_std_nb(np.array([1.0, -1.0, 1.0, -1.0]), 3.0, 2), 4).tolist()
    [nan, 1.0, 0.866, 0.9682]
    """
    a = 2.0 / (span + 1.0)
    out = np.full(x.shape[0], np.nan)
    mu = 0.0
    var = 0.0
    seen = 0
    for k in range(x.shape[0]):
        v = x[k]
        if not np.isnan(v):
            if seen == 0:
                mu = v
                var = 0.0
            else:
                d = v - mu
                mu += a * d
                var = (1.0 - a) * (var + a * d * d)
            seen += 1
        if seen >= min_periods and seen > 0:
            out[k] = np.sqrt(var)
    return out


# --------------------------------------------------------------------------------------------
# pandas layer
# --------------------------------------------------------------------------------------------
def _index_ns(index: pd.Index) -> np.ndarray:
    """Timestamps of an index as int64 ns (DatetimeIndex, TimedeltaIndex or integer ns)."""
    if isinstance(index, (pd.DatetimeIndex, pd.TimedeltaIndex)):
        if index.hasnans:
            raise ValueError("timestamps contain NaT")
        return np.ascontiguousarray(index.as_unit("ns").asi8, dtype=np.int64)
    arr = np.asarray(index)
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"timestamps must be datetime, timedelta or integer ns, not {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _from_ns(ns: np.ndarray, like: pd.Index) -> pd.Index:
    """int64 ns back to the timestamp type of ``like``; the int64-min sentinel becomes NaT / <NA>."""
    if isinstance(like, pd.DatetimeIndex):
        out = pd.DatetimeIndex(ns.view("M8[ns]"))
        return out.tz_localize("UTC").tz_convert(like.tz) if like.tz is not None else out
    if isinstance(like, pd.TimedeltaIndex):
        return pd.TimedeltaIndex(ns.view("m8[ns]"))
    arr = pd.array(ns, dtype="Int64")
    arr[ns == np.iinfo(np.int64).min] = pd.NA
    return pd.Index(arr)


def _mid_arrays(mid: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(mid, pd.Series):
        raise TypeError("mid must be a pandas Series indexed by timestamp")
    t = _index_ns(mid.index)
    if t.size > 1 and np.any(np.diff(t) < 0):
        raise ValueError("mid index must be non-decreasing in time")
    return t, np.ascontiguousarray(mid.to_numpy(dtype=np.float64))


def _sample_positions(mid: pd.Series, t: np.ndarray, samples) -> tuple[np.ndarray, pd.Index]:
    """Positions (as-of: last event at or before each sample time) and the output index."""
    if samples is None:
        return np.arange(t.size, dtype=np.int64), mid.index
    s_index = pd.Index(samples)
    if isinstance(mid.index, pd.DatetimeIndex) and not isinstance(s_index, pd.DatetimeIndex):
        s_index = pd.DatetimeIndex(s_index)
    if isinstance(mid.index, pd.TimedeltaIndex) and not isinstance(s_index, pd.TimedeltaIndex):
        s_index = pd.TimedeltaIndex(s_index)
    s = _index_ns(s_index)
    pos = np.searchsorted(t, s, side="right").astype(np.int64) - 1
    keep = pos >= 0  # samples before the first event see no book
    return pos[keep], s_index[keep]


def _horizon(horizon) -> tuple[str, int]:
    """``int`` -> ('events', k); timedelta-like (``'1min'``, Timedelta, timedelta64) -> ('clock', ns)."""
    if isinstance(horizon, (int, np.integer)) and not isinstance(horizon, bool):
        if horizon < 1:
            raise ValueError("an event horizon must be >= 1 event")
        return "events", int(horizon)
    ns = int(pd.Timedelta(horizon).value)
    if ns <= 0:
        raise ValueError("a clock horizon must be positive")
    return "clock", ns


def _end_index(t: np.ndarray, pos: np.ndarray, index: pd.Index, horizon) -> np.ndarray:
    """End index of ``horizon`` for samples at positions ``pos`` taken at times ``index``."""
    kind, h = _horizon(horizon)
    if kind == "events":
        return event_horizon_end_nb(t.size, pos, h)
    return clock_horizon_end_nb(t, _index_ns(index), h)


def _unit(unit: str, tick: float = 1.0) -> int:
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {sorted(UNITS)}, not {unit!r}")
    if not tick > 0:
        raise ValueError("tick must be > 0 (price units per tick)")
    return UNITS[unit]


def _frame(index: pd.Index, t: np.ndarray, like: pd.Index, ret: np.ndarray, lab: np.ndarray,
           end: np.ndarray, dropna: bool, **extra) -> pd.DataFrame:
    ok = end >= 0
    end_ns = np.where(ok, t[np.maximum(end, 0)], np.iinfo(np.int64).min)
    t_end = _from_ns(end_ns, like)
    label = pd.array(lab, dtype="Int8")
    label[~ok] = pd.NA
    df = pd.DataFrame({"ret": ret, "label": label, "t_end": t_end, **extra}, index=index)
    if dropna:
        df = df.loc[ok].astype({"label": np.int8})
    return df


def _define(df: pd.DataFrame, kind: str, **params) -> pd.DataFrame:
    """Record the label definition in ``df.attrs['label']`` (JSON-able; arrays noted as such)."""
    def plain(v):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, (np.integer, np.floating)):
            return v.item()
        if isinstance(v, (pd.Timedelta, np.timedelta64)):
            return str(pd.Timedelta(v))
        return f"<{type(v).__name__}>"
    df.attrs["label"] = {"kind": kind, **{k: plain(v) for k, v in params.items()}}
    return df


def fixed_horizon_labels(mid: pd.Series, horizon, *, threshold: float = 0.0, unit: str = "ticks",
                         tick: float = 1.0, samples=None, dropna: bool = True) -> pd.DataFrame:
    """Fixed-horizon mid move and its up/flat/down class.

    ``r_t = move(m_t, m_{end})`` where ``end`` is the book as of the first event time
    ``>= t + h`` (clock horizon: ``horizon`` timedelta-like, e.g. ``"1min"``) or ``k`` events
    ahead (event horizon: ``horizon`` an int). ``label = +1 if r > threshold, -1 if r <
    -threshold, else 0``. Returns columns ``ret`` (in ``unit``; ``tick`` in price units for
    ``"ticks"``), ``label`` (int8), ``t_end``; labels whose horizon runs past the data are dropped
    (``dropna=False`` keeps them as NaN / <NA> / NaT).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.to_datetime([0, 1, 2, 3, 4], unit="s")
    >>> mid = pd.Series([10000.0, 10100, 10100, 10000, 10200], index=t)
    >>> fixed_horizon_labels(mid, "2s", tick=100.0)[["ret", "label"]]
                         ret  label
    1970-01-01 00:00:00  1.0      1
    1970-01-01 00:00:01 -1.0     -1
    1970-01-01 00:00:02  1.0      1
    """
    t, m = _mid_arrays(mid)
    pos, index = _sample_positions(mid, t, samples)
    end = _end_index(t, pos, index, horizon)
    ret, lab, end = fixed_horizon_nb(m, pos, end, float(threshold), _unit(unit, tick), float(tick))
    return _define(_frame(index, t, mid.index, ret, lab, end, dropna), "fixed_horizon", horizon=horizon,
                   threshold=threshold, unit=unit, tick=tick)


def smoothed_labels(mid: pd.Series, k: int, *, alpha: float = 0.002e4, unit: str = "bps",
                    tick: float = 1.0, past_mean: bool = False, samples=None,
                    dropna: bool = True) -> pd.DataFrame:
    """FI-2010 smoothed labels (Ntakaris et al. 2018): mean of the next ``k`` mids vs the mid now.

    ``m+(k) = (1/k) sum_{i=1..k} p_{t+i}`` (events), ``l_t = move(p_t, m+(k))``; up if
    ``l_t > alpha``, down if ``l_t < -alpha``, else flat. The paper's ``alpha = 0.002`` relative
    is the default ``alpha = 20`` bps; it uses ``k`` in {10, 20, 30, 50, 100} events.
    ``past_mean=True`` replaces ``p_t`` by ``m-(k)``, the mean of the last ``k`` mids including
    ``p_t`` (DeepLOB, Zhang, Zohren & Roberts 2019) -- that label also depends on the ``k-1`` mids
    before ``t``. ``t_end`` is the time of event ``t + k``.

    Examples
    --------
    >>> import pandas as pd
    >>> mid = pd.Series([100.0, 101, 103, 102, 102], index=pd.to_datetime([0, 1, 2, 3, 4], unit="s"))
    >>> smoothed_labels(mid, 2, alpha=1.0, unit="ticks")[["ret", "label"]]
                         ret  label
    1970-01-01 00:00:00  2.0      1
    1970-01-01 00:00:01  1.5      1
    1970-01-01 00:00:02 -1.0      0
    """
    if int(k) < 1:
        raise ValueError("k must be >= 1")
    t, m = _mid_arrays(mid)
    pos, index = _sample_positions(mid, t, samples)
    ret, lab, end = smoothed_move_nb(m, pos, int(k), float(alpha), _unit(unit, tick), float(tick), bool(past_mean))
    return _define(_frame(index, t, mid.index, ret, lab, end, dropna), "smoothed", k=k, alpha=alpha,
                   unit=unit, tick=tick, past_mean=past_mean)


def _per_sample(x, pos: np.ndarray, index: pd.Index, name: str) -> np.ndarray:
    """A scalar, an array aligned with the samples, or a Series reindexed (as-of) on sample times."""
    if isinstance(x, pd.Series):
        x = x if x.index.equals(index) else x.reindex(index)
        x = x.to_numpy(dtype=np.float64)
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(pos.size, float(arr))
    if arr.shape != (pos.size,):
        raise ValueError(f"{name} must be a scalar or have one value per sample ({pos.size}), got {arr.shape}")
    return np.ascontiguousarray(arr)


def _barrier_widths(pt, sl, width, pos, index) -> tuple[np.ndarray, np.ndarray]:
    w = _per_sample(width, pos, index, "width")
    up = _per_sample(np.inf if pt is None else pt, pos, index, "pt") * w
    lo = _per_sample(np.inf if sl is None else sl, pos, index, "sl") * w
    # NaN width (e.g. volatility not yet known) -> undefined sample, handled via side = NaN
    for name, b in (("pt", up), ("sl", lo)):
        if np.any(b[np.isfinite(b)] <= 0):
            raise ValueError(f"{name} * width must be > 0 (use None / inf to disable a barrier)")
    return up, lo


def _triple_barrier(mid, pt, sl, horizon, width, side, unit, tick, vertical, samples):
    if vertical not in ("zero", "sign"):
        raise ValueError("vertical must be 'zero' or 'sign'")
    t, m = _mid_arrays(mid)
    pos, index = _sample_positions(mid, t, samples)
    vend = np.full(pos.size, -1, np.int64) if horizon is None else _end_index(t, pos, index, horizon)
    up, lo = _barrier_widths(pt, sl, width, pos, index)
    s = _per_sample(side, pos, index, "side")
    s = np.where(np.isnan(up) | np.isnan(lo), np.nan, s)
    ret, lab, end, barrier = triple_barrier_nb(m, pos, vend, up, lo, s, _unit(unit, tick), float(tick),
                                               vertical == "sign")
    return t, index, ret, lab, end, barrier, s


def triple_barrier_labels(mid: pd.Series, *, pt: float | None = 1.0, sl: float | None = 1.0,
                          horizon=None, width=1.0, unit: str = "ticks", tick: float = 1.0,
                          vertical: str = "zero", samples=None, dropna: bool = True) -> pd.DataFrame:
    """Triple-barrier labels (López de Prado 2018, ch. 3): which barrier the mid touches first.

    Upper barrier ``+pt * width``, lower ``-sl * width`` (returns in ``unit``), vertical barrier
    at ``horizon`` (clock timedelta-like or int events, as in :func:`fixed_horizon_labels`; None =
    none). ``width`` is 1 (barriers directly in ticks / bps) or a per-sample volatility known at
    ``t`` (e.g. :func:`ewm_volatility`), as a scalar, array or Series on the sample times.
    ``pt``/``sl`` None or inf disable a barrier (AFML's 8 configurations). ``label`` = +1 upper
    first, -1 lower first, at the vertical barrier 0 (``vertical='zero'``) or the sign of the
    return (``'sign'``). ``t_end`` = first-touch time; ``ret`` = move at the touch; ``barrier`` =
    +1 / -1 / 0 (which barrier ended the label). A touch is a touch even past the time limit's
    data; without a touch the label is defined only if the vertical barrier is inside the data.

    Examples
    --------
    >>> import pandas as pd
    >>> mid = pd.Series([100.0, 101, 99, 98, 103], index=pd.to_datetime([0, 1, 2, 3, 4], unit="s"))
    >>> triple_barrier_labels(mid, pt=2.0, sl=2.0, horizon=3)[["ret", "label", "barrier"]]
                         ret  label  barrier
    1970-01-01 00:00:00 -2.0     -1       -1
    1970-01-01 00:00:01 -2.0     -1       -1
    1970-01-01 00:00:02  4.0      1        1
    1970-01-01 00:00:03  5.0      1        1
    """
    t, index, ret, lab, end, barrier, _ = _triple_barrier(mid, pt, sl, horizon, width, 1.0, unit,
                                                          tick, vertical, samples)
    return _define(_frame(index, t, mid.index, ret, lab, end, dropna, barrier=barrier), "triple_barrier",
                   pt=pt, sl=sl, horizon=horizon, width=width, unit=unit, tick=tick, vertical=vertical)


def meta_labels(mid: pd.Series, side, *, pt: float | None = 1.0, sl: float | None = 1.0,
                horizon=None, width=1.0, unit: str = "ticks", tick: float = 1.0, samples=None,
                dropna: bool = True) -> pd.DataFrame:
    """Meta-labels (López de Prado 2018, §3.6): was the primary model's bet profitable?

    ``side`` (+1 / -1 per sample, 0 or NaN = no bet) orients the triple barrier: profit-take at
    ``side * r >= pt * width``, stop-loss at ``side * r <= -sl * width``, vertical barrier at
    ``horizon``. ``label = 1`` if the position's return at the first touch ``pnl = side * r`` is
    positive, else 0. Columns: ``ret`` (raw move ``r``), ``label`` (0/1), ``t_end``, ``side``,
    ``pnl``, ``barrier``.

    Examples
    --------
    >>> import pandas as pd
    >>> mid = pd.Series([100.0, 101, 99, 98, 103], index=pd.to_datetime([0, 1, 2, 3, 4], unit="s"))
    >>> meta_labels(mid, side=[1, -1, 1, 1, 1], pt=2.0, sl=2.0, horizon=3)[["side", "pnl", "label"]]
                         side  pnl  label
    1970-01-01 00:00:00   1.0 -2.0      0
    1970-01-01 00:00:01  -1.0  2.0      1
    1970-01-01 00:00:02   1.0  4.0      1
    1970-01-01 00:00:03   1.0  5.0      1
    """
    t, index, ret, lab, end, barrier, s = _triple_barrier(mid, pt, sl, horizon, width, side, unit,
                                                          tick, "sign", samples)
    pnl = s * ret
    meta = (pnl > 0).astype(np.int8)
    return _define(_frame(index, t, mid.index, ret, meta, end, dropna, side=s, pnl=pnl, barrier=barrier),
                   "meta", pt=pt, sl=sl, horizon=horizon, width=width, unit=unit, tick=tick)


def ewm_volatility(mid: pd.Series, *, span: float = 100.0, unit: str = "ticks", tick: float = 1.0,
                   samples=None, min_periods: int = 10) -> pd.Series:
    """Causal volatility for barrier widths: EWM std of sample-to-sample mid moves (AFML Snippet 3.1).

    ``r_k = move(m_{s_{k-1}}, m_{s_k})`` between consecutive samples, then :func:`ewm_std_nb` with
    ``span``. The value at sample ``k`` uses mids up to ``s_k`` only (known at ``t``). It is the
    volatility per sampling interval: sample on a grid equal to the label horizon to get barrier
    widths on the scale of that horizon.

    Examples
    --------
    >>> import pandas as pd
    >>> mid = pd.Series([100.0, 101, 100, 101, 100, 101], index=pd.to_datetime(range(6), unit="s"))
    >>> ewm_volatility(mid, span=3, min_periods=2).round(4).tolist()
    [nan, nan, 1.0, 0.866, 0.9682, 0.927]
    """
    t, m = _mid_arrays(mid)
    pos, index = _sample_positions(mid, t, samples)
    p = m[pos]
    r = np.full(p.size, np.nan)
    if p.size > 1:
        u = _unit(unit, tick)
        r[1:] = (p[1:] - p[:-1]) if u == 0 else ((p[1:] - p[:-1]) / tick if u == 1 else 1e4 * (p[1:] / p[:-1] - 1))
    return pd.Series(ewm_std_nb(r, float(span), int(min_periods)), index=index, name="volatility")


def class_balance(labels) -> pd.Series:
    """Share of each class (-1 down, 0 flat, +1 up; or whatever classes occur), NaN ignored.

    Examples
    --------
    >>> class_balance([1, 0, -1, 1, float("nan")]).to_dict()
    {-1.0: 0.25, 0.0: 0.25, 1.0: 0.5}
    """
    s = pd.Series(labels).dropna()
    return s.value_counts(normalize=True).sort_index().rename("share")


def balance_by_threshold(ret, thresholds) -> pd.DataFrame:
    """Down / flat / up shares of ``ret`` for each threshold (``up: r > thr, down: r < -thr``).

    Examples
    --------
    >>> balance_by_threshold([-2.0, -0.5, 0.0, 1.0, 3.0], [0.0, 1.0])
               down  flat   up
    threshold
    0.0         0.4   0.2  0.4
    1.0         0.2   0.6  0.2
    """
    r = np.asarray(ret, dtype=np.float64)
    r = r[~np.isnan(r)]
    rows = []
    for thr in np.atleast_1d(np.asarray(thresholds, dtype=np.float64)):
        up, down = np.mean(r > thr), np.mean(r < -thr)
        rows.append({"threshold": thr, "down": down, "flat": 1.0 - up - down, "up": up})
    return pd.DataFrame(rows).set_index("threshold")


def threshold_for_flat_share(ret, flat_share: float) -> float:
    """Smallest threshold ``c`` with ``P(|r| <= c) >= flat_share`` (so about that share is flat).

    ``c = F^{-1}(flat_share)`` of ``|r|`` (inverted empirical CDF). With tick-valued returns the
    achieved share jumps over the target; check it with :func:`balance_by_threshold`.

    Examples
    --------
    >>> threshold_for_flat_share([-2.0, -0.5, 0.0, 1.0, 3.0], 0.6)      # |r| <= 1 holds 3 of 5
    1.0
    """
    if not 0.0 <= flat_share <= 1.0:
        raise ValueError("flat_share must be in [0, 1]")
    a = np.abs(np.asarray(ret, dtype=np.float64))
    a = a[~np.isnan(a)]
    if a.size == 0:
        raise ValueError("no finite returns")
    if flat_share == 0.0:
        return 0.0
    return float(np.quantile(a, flat_share, method="inverted_cdf"))
