"""Order-flow imbalance (OFI): per-event contributions, clock/event-window sums, multi-level and
integrated OFI.

Event contribution (Cont, Kukanov & Stoikov 2014, eq. 10), for consecutive book rows n-1, n::

    e_n = q^B_n 1{P^B_n >= P^B_{n-1}} - q^B_{n-1} 1{P^B_n <= P^B_{n-1}}
        - q^A_n 1{P^A_n <= P^A_{n-1}} + q^A_{n-1} 1{P^A_n >= P^A_{n-1}}

(bid price up: +new bid queue; unchanged: +change of the bid queue; down: -old bid queue; the ask
side mirrors it with the opposite sign). ``OFI_k = sum of e_n over the events in (t_{k-1}, t_k]``
(eq. 12). Units: the book's size units (shares for LOBSTER); divide by a lot size for CKS's round
lots.

Multi-level OFI (Cont, Cucuringu & Zhang 2023, eq. 1; Xu, Gould & Howison 2018): the same rule
applied to the m-th occupied level (prices and sizes of level m in LOBSTER layout, which lists
occupied levels), ``ofi^m = OFI^m / Q^M`` with ``Q^M`` the average depth over the first M levels
(mean of bid and ask sizes of levels 1..M, averaged over the events of the interval). Integrated
OFI: ``ofi^I = w1' ofi / ||w1||_1`` with ``w1`` the first principal component of the normalised
multi-level OFI estimated on a separate (past) sample.

Empty levels carry LOBSTER's dummy prices (ask +9999999999, bid -9999999999); their size is taken
as 0 whatever the file says. With those prices the rule stays right at the edges: a bid level
that empties contributes -q^B_{n-1} (its price falls to the dummy), a bid level that appears
contributes +q^B_n; the ask side mirrors it.

Row conventions: ``book[i]`` is the book AFTER event i (LOBSTER). ``e[0] = 0`` (row 0 has no
predecessor; it is the initial state). A bin boundary t_k takes the state of the last event with
``ts <= t_k``, so ``sum_{bin} e`` and the mid change over the bin refer to the same events.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

__all__ = [
    "DUMMY_ABS",
    "ofi_events_nb", "ofi_level_events_nb", "ofi_multilevel_events_nb", "clean_sizes_nb",
    "bin_bounds_nb", "segment_sums_nb", "segment_depth_nb", "mid_nb",
    "ofi_events", "ofi_multilevel_events", "bin_bounds", "ofi_bins", "ofi_event_windows",
    "multilevel_ofi_bins", "pc1_weights", "integrated_ofi",
]

#: |price| at or above this marks an empty level (LOBSTER dummy prices are +-9999999999).
DUMMY_ABS = 9.0e9


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def ofi_level_events_nb(book: np.ndarray, level: int) -> np.ndarray:
    """e_n of CKS (2014) eq. 10 at book level ``level`` (1-based) for every row; e[0] = 0.

    ``book``: float64 (n, 4L) LOBSTER layout. Sizes of empty levels (|price| >= 9e9) count as 0.
    """
    n = book.shape[0]
    c = 4 * (level - 1)
    out = np.zeros(n)
    if n == 0:
        return out
    pa0 = book[0, c]
    qa0 = book[0, c + 1] if abs(pa0) < DUMMY_ABS else 0.0
    pb0 = book[0, c + 2]
    qb0 = book[0, c + 3] if abs(pb0) < DUMMY_ABS else 0.0
    for i in range(1, n):
        pa = book[i, c]
        qa = book[i, c + 1]
        pb = book[i, c + 2]
        qb = book[i, c + 3]
        if abs(pa) >= DUMMY_ABS:
            qa = 0.0
        if abs(pb) >= DUMMY_ABS:
            qb = 0.0
        e = 0.0
        if pb >= pb0:
            e += qb
        if pb <= pb0:
            e -= qb0
        if pa <= pa0:
            e -= qa
        if pa >= pa0:
            e += qa0
        out[i] = e
        pa0 = pa
        qa0 = qa
        pb0 = pb
        qb0 = qb
    return out


@njit(cache=True)
def ofi_events_nb(book: np.ndarray) -> np.ndarray:
    """Level-1 e_n of CKS (2014) eq. 10 for every row of a LOBSTER-layout book; e[0] = 0."""
    return ofi_level_events_nb(book, 1)


@njit(cache=True)
def ofi_multilevel_events_nb(book: np.ndarray, levels: int) -> np.ndarray:
    """(n, levels) array of e^m_n (CCZ 2023 eq. 1 = CKS eq. 10 at level m), m = 1..levels; row 0 = 0."""
    n = book.shape[0]
    out = np.zeros((n, levels))
    for i in range(1, n):
        for m in range(levels):
            c = 4 * m
            pa0 = book[i - 1, c]
            pb0 = book[i - 1, c + 2]
            pa = book[i, c]
            pb = book[i, c + 2]
            qa0 = book[i - 1, c + 1] if abs(pa0) < DUMMY_ABS else 0.0
            qb0 = book[i - 1, c + 3] if abs(pb0) < DUMMY_ABS else 0.0
            qa = book[i, c + 1] if abs(pa) < DUMMY_ABS else 0.0
            qb = book[i, c + 3] if abs(pb) < DUMMY_ABS else 0.0
            e = 0.0
            if pb >= pb0:
                e += qb
            if pb <= pb0:
                e -= qb0
            if pa <= pa0:
                e -= qa
            if pa >= pa0:
                e += qa0
            out[i, m] = e
    return out


@njit(cache=True)
def clean_sizes_nb(book: np.ndarray, levels: int) -> np.ndarray:
    """(n, 2*levels) sizes [ask_1, bid_1, ask_2, bid_2, ...] with empty levels (dummy price) set to 0."""
    n = book.shape[0]
    out = np.zeros((n, 2 * levels))
    for i in range(n):
        for m in range(levels):
            c = 4 * m
            if abs(book[i, c]) < DUMMY_ABS:
                out[i, 2 * m] = book[i, c + 1]
            if abs(book[i, c + 2]) < DUMMY_ABS:
                out[i, 2 * m + 1] = book[i, c + 3]
    return out


@njit(cache=True)
def mid_nb(book: np.ndarray) -> np.ndarray:
    """Level-1 mid price (price units) per row; NaN when either best level is empty."""
    n = book.shape[0]
    out = np.empty(n)
    for i in range(n):
        pa = book[i, 0]
        pb = book[i, 2]
        if abs(pa) >= DUMMY_ABS or abs(pb) >= DUMMY_ABS:
            out[i] = np.nan
        else:
            out[i] = 0.5 * (pa + pb)
    return out


@njit(cache=True)
def bin_bounds_nb(ts: np.ndarray, t0: int, dt: int, n_bins: int) -> np.ndarray:
    """Row index of the state at each clock boundary t0 + k dt, k = 0..n_bins (length n_bins + 1).

    Entry k is the last row with ``ts <= t0 + k dt`` (0 when no row is that early: row 0 is the
    initial state). Bin k (0-based) holds the events of rows ``bounds[k]+1 .. bounds[k+1]``, i.e.
    the events with ``t0 + k dt < ts <= t0 + (k+1) dt``. ``ts`` must be non-decreasing (int ns).
    """
    n = ts.shape[0]
    out = np.zeros(n_bins + 1, dtype=np.int64)
    j = -1
    for k in range(n_bins + 1):
        edge = t0 + k * dt
        while j + 1 < n and ts[j + 1] <= edge:
            j += 1
        out[k] = j if j >= 0 else 0
    return out


@njit(cache=True)
def segment_sums_nb(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Sums of ``values`` (n, m) over rows ``bounds[k]+1 .. bounds[k+1]`` -> (len(bounds)-1, m)."""
    nseg = bounds.shape[0] - 1
    m = values.shape[1]
    out = np.zeros((nseg, m))
    for k in range(nseg):
        for i in range(bounds[k] + 1, bounds[k + 1] + 1):
            for j in range(m):
                out[k, j] += values[i, j]
    return out


@njit(cache=True)
def segment_depth_nb(sizes: np.ndarray, bounds: np.ndarray, levels: int) -> np.ndarray:
    """Average depth Q^M per segment: mean over rows ``bounds[k]+1 .. bounds[k+1]`` of the mean of the
    first ``levels`` bid and ask sizes (``sizes`` from :func:`clean_sizes_nb`). An empty segment takes
    the state row ``bounds[k+1]`` (the book does not change in it)."""
    nseg = bounds.shape[0] - 1
    out = np.zeros(nseg)
    w = 2 * levels
    for k in range(nseg):
        lo = bounds[k] + 1
        hi = bounds[k + 1]
        if hi < lo:
            lo = hi
        tot = 0.0
        for i in range(lo, hi + 1):
            for j in range(w):
                tot += sizes[i, j]
        out[k] = tot / (w * (hi - lo + 1))
    return out


# --------------------------------------------------------------------------------------------
# user layer
# --------------------------------------------------------------------------------------------
def _as_book(book) -> np.ndarray:
    b = np.ascontiguousarray(np.asarray(book, dtype=np.float64))
    if b.ndim != 2 or b.shape[1] % 4 != 0 or b.shape[1] == 0:
        raise ValueError(f"book must have shape (n, 4*L) in LOBSTER layout, got {b.shape}")
    return b


def _ns(x) -> int:
    """A duration (``'10s'``, ``pd.Timedelta``, or int ns) as int nanoseconds."""
    if isinstance(x, (int, np.integer)):
        return int(x)
    return int(pd.Timedelta(x).value)


def ofi_events(book) -> np.ndarray:
    """Level-1 event contributions e_n (CKS 2014 eq. 10), in book size units; e[0] = 0."""
    return ofi_events_nb(_as_book(book))


def ofi_multilevel_events(book, levels: int | None = None) -> np.ndarray:
    """(n, L) event contributions at levels 1..L (CCZ 2023 eq. 1); ``levels`` defaults to all."""
    b = _as_book(book)
    L = b.shape[1] // 4 if levels is None else int(levels)
    if not 1 <= L <= b.shape[1] // 4:
        raise ValueError(f"levels must be in 1..{b.shape[1] // 4}, got {levels}")
    return ofi_multilevel_events_nb(b, L)


def bin_bounds(ts, freq="10s", t0: int | None = None, t1: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Clock bins aligned to ``t0`` (session start; default the first timestamp floored to ``freq``).

    Returns ``(edges_ns, bounds)``: ``edges_ns`` (n_bins + 1) the boundaries t0 + k dt up to the
    first one >= ``t1`` (default the last timestamp), and ``bounds`` from :func:`bin_bounds_nb`.
    """
    ts = np.ascontiguousarray(np.asarray(ts, dtype=np.int64))
    dt = _ns(freq)
    if dt <= 0:
        raise ValueError(f"bin width must be positive, got {freq!r}")
    if t0 is None:
        t0 = int(ts[0]) // dt * dt
    if t1 is None:
        t1 = int(ts[-1])
    n_bins = max(int(-(-(int(t1) - int(t0)) // dt)), 1)
    edges = int(t0) + dt * np.arange(n_bins + 1, dtype=np.int64)
    return edges, bin_bounds_nb(ts, int(t0), dt, n_bins)


def ofi_bins(book, ts, freq="10s", t0: int | None = None, t1: int | None = None,
             tick: float = 1.0, size_unit: float = 1.0) -> pd.DataFrame:
    """Level-1 OFI and mid change per clock bin (CKS 2014 eqs. 11-12).

    Bins are ``(t0 + k dt, t0 + (k+1) dt]`` aligned to ``t0`` (pass the session open); empty bins
    have OFI 0 and dP 0. Columns: ``ofi`` (size units / ``size_unit``), ``dp`` (mid change in
    ticks, ``tick`` in price units), ``n_events``; index = bin end time (ns, as in ``ts``).
    """
    b = _as_book(book)
    edges, bounds = bin_bounds(ts, freq, t0, t1)
    e = ofi_events_nb(b)
    ofi = segment_sums_nb(e.reshape(-1, 1), bounds)[:, 0] / size_unit
    mid = mid_nb(b)
    dp = (mid[bounds[1:]] - mid[bounds[:-1]]) / tick
    return pd.DataFrame({"ofi": ofi, "dp": dp, "n_events": np.diff(bounds)},
                        index=pd.Index(edges[1:], name="t_end_ns"))


def ofi_event_windows(book, window: int, tick: float = 1.0, size_unit: float = 1.0) -> pd.DataFrame:
    """Level-1 OFI and mid change (ticks) over consecutive windows of ``window`` events.

    Window k holds rows ``k*window+1 .. (k+1)*window`` (row 0 is the initial state).
    """
    b = _as_book(book)
    if window < 1:
        raise ValueError("window must be >= 1 event")
    bounds = np.arange(0, b.shape[0], int(window), dtype=np.int64)
    e = ofi_events_nb(b)
    ofi = segment_sums_nb(e.reshape(-1, 1), bounds)[:, 0] / size_unit
    mid = mid_nb(b)
    return pd.DataFrame({"ofi": ofi, "dp": (mid[bounds[1:]] - mid[bounds[:-1]]) / tick})


def multilevel_ofi_bins(book, ts, freq="10s", levels: int | None = None, t0: int | None = None,
                        t1: int | None = None, normalise: bool = True) -> pd.DataFrame:
    """Multi-level OFI per clock bin (CCZ 2023 eq. 1-3): columns ``ofi1..ofiL``.

    ``normalise=True`` divides every level's bin sum by Q^M, the average depth over the first M = L
    levels during the bin (mean of the L bid and L ask sizes, empty levels = 0, averaged over the
    bin's events; :func:`segment_depth_nb`), so the columns are unit-free. Also returns ``depth``
    (Q^M, size units) and ``n_events``; index = bin end time (ns).
    """
    b = _as_book(book)
    L = b.shape[1] // 4 if levels is None else int(levels)
    edges, bounds = bin_bounds(ts, freq, t0, t1)
    E = ofi_multilevel_events_nb(b, L)
    ofi = segment_sums_nb(E, bounds)
    depth = segment_depth_nb(clean_sizes_nb(b, L), bounds, L)
    if normalise:
        with np.errstate(divide="ignore", invalid="ignore"):
            ofi = ofi / depth[:, None]
    df = pd.DataFrame(ofi, columns=[f"ofi{m}" for m in range(1, L + 1)], index=pd.Index(edges[1:], name="t_end_ns"))
    df["depth"] = depth
    df["n_events"] = np.diff(bounds)
    return df


def pc1_weights(X) -> tuple[np.ndarray, float]:
    """First principal component of the columns of ``X`` (covariance PCA) and its variance share.

    The sign is fixed so the weights sum to a positive number (OFI at every level pushes the
    price the same way). Returns ``(w1, share)`` with ``||w1||_2 = 1``; rows with NaN are dropped.
    """
    X = np.asarray(X, dtype=np.float64)
    X = X[np.isfinite(X).all(axis=1)]
    if X.shape[0] < 2:
        return np.full(X.shape[1], np.nan), float("nan")
    C = np.cov(X, rowvar=False).reshape(X.shape[1], X.shape[1])
    vals, vecs = np.linalg.eigh(C)
    w = vecs[:, -1]
    if w.sum() < 0:
        w = -w
    tot = vals.sum()
    return w, float(vals[-1] / tot) if tot > 0 else float("nan")


def integrated_ofi(X, w1) -> np.ndarray:
    """Integrated OFI ``ofi^I = X w1 / ||w1||_1`` (CCZ 2023); ``w1`` from :func:`pc1_weights` on past data."""
    w1 = np.asarray(w1, dtype=np.float64)
    return np.asarray(X, dtype=np.float64) @ w1 / np.abs(w1).sum()
