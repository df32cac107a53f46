r"""Order-flow imbalance (OFI): per-event contributions, clock/event-window sums, multi-level and
integrated OFI.

Event contribution (Cont, Kukanov & Stoikov 2014, eq. 10), for consecutive book rows
:math:`n-1, n`:

.. math::

    e_n = q^B_n \mathbf{1}\{P^B_n \ge P^B_{n-1}\} - q^B_{n-1} \mathbf{1}\{P^B_n \le P^B_{n-1}\}
        - q^A_n \mathbf{1}\{P^A_n \le P^A_{n-1}\} + q^A_{n-1} \mathbf{1}\{P^A_n \ge P^A_{n-1}\}

(bid price up: +new bid queue; unchanged: +change of the bid queue; down: -old bid queue; the ask
side mirrors it with the opposite sign). :math:`\mathrm{OFI}_k = \sum_{n:\, t_{k-1} < t_n \le t_k} e_n`
(eq. 12). Units: the book's size units (shares for LOBSTER); divide by a lot size for CKS's round
lots.

Multi-level OFI (Cont, Cucuringu & Zhang 2023, eq. 1; Xu, Gould & Howison 2018): the same rule
applied to the m-th occupied level (prices and sizes of level m in LOBSTER layout, which lists
occupied levels), :math:`\mathrm{ofi}^m = \mathrm{OFI}^m / Q^M` with :math:`Q^M` the average depth
over the first M levels (mean of bid and ask sizes of levels 1..M, averaged over the events of
the interval). Integrated OFI: :math:`\mathrm{ofi}^I = w_1^\top \mathrm{ofi} / \lVert w_1 \rVert_1`
with :math:`w_1` the first principal component of the normalised multi-level OFI estimated on a
separate (past) sample.

Empty levels carry LOBSTER's dummy prices (ask +9999999999, bid -9999999999); their size is taken
as 0 whatever the file says. With those prices the rule stays right at the edges: a bid level
that empties contributes :math:`-q^B_{n-1}` (its price falls to the dummy), a bid level that
appears contributes :math:`+q^B_n`; the ask side mirrors it.

Row conventions: ``book[i]`` is the book AFTER event i (LOBSTER). ``e[0] = 0`` (row 0 has no
predecessor; it is the initial state). A bin boundary :math:`t_k` takes the state of the last
event with :math:`t \le t_k`, so the bin's sum of :math:`e_n` and its mid change refer to the
same events.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit

from companion.events import duration_ns
from companion.stats import level_size_nb, row_mid_nb

__all__ = [
    "cks_e_nb", "ofi_events_nb", "ofi_level_events_nb", "ofi_multilevel_events_nb", "clean_sizes_nb",
    "bin_bounds_nb", "segment_sums_nb", "segment_depth_nb", "mid_nb", "as_book",
    "ofi_events", "ofi_multilevel_events", "bin_bounds", "ofi_bins", "ofi_event_windows",
    "multilevel_ofi_bins", "pc1_weights", "integrated_ofi",
]


# --------------------------------------------------------------------------------------------
# kernels
# --------------------------------------------------------------------------------------------
@njit(cache=True)
def cks_e_nb(pa0: float, qa0: float, pb0: float, qb0: float, pa: float, qa: float, pb: float, qb: float) -> float:
    """CKS (2014) eq. 10 event contribution from one book level before (0) and after an event.

    ``e = qb 1{pb >= pb0} - qb0 1{pb <= pb0} - qa 1{pa <= pa0} + qa0 1{pa >= pa0}`` (sizes of empty
    levels already 0; empty prices are the dummies, so an emptying bid level gives ``-qb0``).
    The one implementation of the rule: the batch kernels here and the streaming features use it."""
    e = 0.0
    if pb >= pb0:
        e += qb
    if pb <= pb0:
        e -= qb0
    if pa <= pa0:
        e -= qa
    if pa >= pa0:
        e += qa0
    return e


@njit(cache=True)
def ofi_level_events_nb(book: np.ndarray, level: int) -> np.ndarray:
    r"""Event contributions :math:`e_n` (CKS 2014 eq. 10) at one book level for every row.

    .. math::

        e_n = q^B_n \mathbf{1}\{P^B_n \ge P^B_{n-1}\} - q^B_{n-1} \mathbf{1}\{P^B_n \le P^B_{n-1}\}
            - q^A_n \mathbf{1}\{P^A_n \le P^A_{n-1}\} + q^A_{n-1} \mathbf{1}\{P^A_n \ge P^A_{n-1}\}

    Parameters
    ----------
    book : numpy.ndarray
        float64 ``(n, 4L)`` LOBSTER layout (price units, size units). Sizes of empty levels (absolute
        see :func:`companion.stats.level_ok_nb`) count as 0.
    level : int
        1-based level :math:`m`.

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)`` in size units; ``e[0] = 0``.

    References
    ----------
    Cont, Kukanov & Stoikov (2014), The Price Impact of Order Book Events, J. Financial
    Econometrics 12(1), eq. 10; Cont, Cucuringu & Zhang (2023), eq. 1 (level m).

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 5], [101, 3, 100, 7], [101, 3, 99, 4]])
    >>> ofi_level_events_nb(book, 1).tolist()     # bid queue +2, then bid price down: -7
    [0.0, 2.0, -7.0]
    """
    n = book.shape[0]
    c = 4 * (level - 1)
    out = np.zeros(n)
    if n == 0:
        return out
    pa0 = book[0, c]
    qa0 = level_size_nb(pa0, book[0, c + 1])
    pb0 = book[0, c + 2]
    qb0 = level_size_nb(pb0, book[0, c + 3])
    for i in range(1, n):
        pa = book[i, c]
        pb = book[i, c + 2]
        qa = level_size_nb(pa, book[i, c + 1])
        qb = level_size_nb(pb, book[i, c + 3])
        out[i] = cks_e_nb(pa0, qa0, pb0, qb0, pa, qa, pb, qb)
        pa0 = pa
        qa0 = qa
        pb0 = pb
        qb0 = qb
    return out


@njit(cache=True)
def ofi_events_nb(book: np.ndarray) -> np.ndarray:
    """Level-1 :math:`e_n` (CKS 2014 eq. 10) for every row of a float64 ``(n, 4L)`` book:
    ``ofi_level_events_nb(book, 1)`` (size units, ``e[0] = 0``)."""
    return ofi_level_events_nb(book, 1)


@njit(cache=True)
def ofi_multilevel_events_nb(book: np.ndarray, levels: int) -> np.ndarray:
    r"""Multi-level event contributions :math:`e^m_n`, :math:`m = 1..M` (CCZ 2023 eq. 1 = CKS eq. 10
    at level m).

    Parameters
    ----------
    book : numpy.ndarray
        float64 ``(n, 4L)`` LOBSTER layout.
    levels : int
        :math:`M \le L`.

    Returns
    -------
    numpy.ndarray
        float64 ``(n, levels)``, size units; row 0 = 0.
    """
    out = np.zeros((book.shape[0], levels))
    for m in range(levels):
        out[:, m] = ofi_level_events_nb(book, m + 1)
    return out


@njit(cache=True)
def clean_sizes_nb(book: np.ndarray, levels: int) -> np.ndarray:
    """Level sizes with empty levels (dummy price) set to 0.

    Parameters
    ----------
    book : numpy.ndarray
        float64 ``(n, 4L)`` LOBSTER layout.
    levels : int
        Levels to keep.

    Returns
    -------
    numpy.ndarray
        float64 ``(n, 2*levels)`` ``[ask_1, bid_1, ask_2, bid_2, ...]`` (size units).
    """
    n = book.shape[0]
    out = np.zeros((n, 2 * levels))
    for i in range(n):
        for m in range(levels):
            c = 4 * m
            out[i, 2 * m] = level_size_nb(book[i, c], book[i, c + 1])
            out[i, 2 * m + 1] = level_size_nb(book[i, c + 2], book[i, c + 3])
    return out


@njit(cache=True)
def mid_nb(book: np.ndarray) -> np.ndarray:
    """Level-1 mid price :math:`(P^A + P^B)/2` of every row of a float64 ``(n, 4L)`` book (price
    units; NaN when either best level is empty): :func:`companion.stats.row_mid_nb` per row.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 5], [101, 3, 100, 7], [101, 3, 99, 4]])
    >>> mid_nb(book).tolist()
    [100.5, 100.5, 100.0]
    """
    n = book.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = row_mid_nb(book[i])
    return out


@njit(cache=True)
def bin_bounds_nb(ts: np.ndarray, t0: int, dt: int, n_bins: int) -> np.ndarray:
    r"""Row index of the state at each clock boundary :math:`t_0 + k\,\Delta t`, :math:`k = 0..K`.

    Entry k is the last row with :math:`t \le t_0 + k\,\Delta t` (0 when no row is that early: row 0
    is the initial state). Bin k (0-based) holds the events of rows ``bounds[k]+1 .. bounds[k+1]``,
    i.e. the events with :math:`t_0 + k\,\Delta t < t \le t_0 + (k+1)\,\Delta t`.

    Parameters
    ----------
    ts : numpy.ndarray
        int64 ns, non-decreasing.
    t0 : int
        First boundary (ns).
    dt : int
        Bin width :math:`\Delta t` (ns).
    n_bins : int
        :math:`K`.

    Returns
    -------
    numpy.ndarray
        int64 ``(n_bins + 1,)``.

    Examples
    --------
    >>> import numpy as np
    >>> bin_bounds_nb(np.array([0, 5, 10, 15]), 0, 10, 2).tolist()
    [0, 2, 3]
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
    """Sums of ``values`` over the row segments ``bounds[k]+1 .. bounds[k+1]``.

    Parameters
    ----------
    values : numpy.ndarray
        float64 ``(n, m)``.
    bounds : numpy.ndarray
        int64 from :func:`bin_bounds_nb`.

    Returns
    -------
    numpy.ndarray
        float64 ``(len(bounds) - 1, m)``.
    """
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
    r"""Average depth :math:`Q^M` per segment (CCZ 2023, normalisation of eq. 1).

    :math:`Q^M_k` is the mean over rows ``bounds[k]+1 .. bounds[k+1]`` of
    :math:`\frac{1}{2M}\sum_{m=1}^M (q^{A,m} + q^{B,m})`. An empty segment takes the state row
    ``bounds[k+1]`` (the book does not change in it).

    Parameters
    ----------
    sizes : numpy.ndarray
        From :func:`clean_sizes_nb`.
    bounds : numpy.ndarray
        int64 from :func:`bin_bounds_nb`.
    levels : int
        :math:`M`.

    Returns
    -------
    numpy.ndarray
        float64 ``(len(bounds) - 1,)``, size units.
    """
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
def as_book(book) -> np.ndarray:
    """``book`` as a C-contiguous float64 ``(n, 4L)`` LOBSTER-layout array.

    Raises
    ------
    ValueError
        When the shape is not ``(n, 4L)``.

    Examples
    --------
    >>> as_book([[101, 3, 100, 5]]).dtype.name, as_book([[101, 3, 100, 5]]).shape
    ('float64', (1, 4))
    """
    b = np.ascontiguousarray(np.asarray(book, dtype=np.float64))
    if b.ndim != 2 or b.shape[1] % 4 != 0 or b.shape[1] == 0:
        raise ValueError(f"book must have shape (n, 4*L) in LOBSTER layout, got {b.shape}")
    return b


def ofi_events(book) -> np.ndarray:
    """Level-1 event contributions :math:`e_n` (CKS 2014 eq. 10).

    See the module docstring for the formula.

    Parameters
    ----------
    book : array_like
        ``(n, 4L)`` LOBSTER layout (price units, size units).

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)`` in book size units; ``e[0] = 0``.

    Raises
    ------
    ValueError
        When ``book`` is not ``(n, 4L)``.

    References
    ----------
    Cont, Kukanov & Stoikov (2014), eq. 10.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 5], [101, 3, 100, 7], [101, 3, 99, 4]])
    >>> ofi_events(book).tolist()
    [0.0, 2.0, -7.0]
    """
    return ofi_events_nb(as_book(book))


def ofi_multilevel_events(book, levels: int | None = None) -> np.ndarray:
    r"""Event contributions at levels :math:`1..M` (CCZ 2023 eq. 1).

    Parameters
    ----------
    book : array_like
        ``(n, 4L)`` LOBSTER layout.
    levels : int, optional
        :math:`M \le L`; default all :math:`L`.

    Returns
    -------
    numpy.ndarray
        float64 ``(n, M)`` in size units; row 0 = 0.

    Raises
    ------
    ValueError
        When ``levels`` is outside ``1..L``.

    References
    ----------
    Cont, Cucuringu & Zhang (2023), Cross-impact of order flow imbalance in equity markets,
    Quantitative Finance, eq. 1.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 5], [101, 3, 100, 7], [101, 3, 99, 4]])
    >>> ofi_multilevel_events(book).shape
    (3, 1)
    """
    b = as_book(book)
    L = b.shape[1] // 4 if levels is None else int(levels)
    if not 1 <= L <= b.shape[1] // 4:
        raise ValueError(f"levels must be in 1..{b.shape[1] // 4}, got {levels}")
    return ofi_multilevel_events_nb(b, L)


def bin_bounds(ts, freq="10s", t0: int | None = None, t1: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Clock bins aligned to ``t0``.

    Parameters
    ----------
    ts : array_like
        int64 ns, non-decreasing.
    freq : str, pandas.Timedelta or int
        Bin width :math:`\Delta t` (``"10s"``, a Timedelta, or int ns).
    t0 : int, optional
        First boundary (ns; pass the session open); default the first timestamp floored to ``freq``.
    t1 : int, optional
        Last time to cover (ns); default the last timestamp.

    Returns
    -------
    edges_ns : numpy.ndarray
        int64 ``(n_bins + 1,)`` boundaries :math:`t_0 + k\,\Delta t` up to the first at or after
        ``t1``.
    bounds : numpy.ndarray
        From :func:`bin_bounds_nb`.

    Raises
    ------
    ValueError
        When the bin width is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> edges, bounds = bin_bounds(np.array([0, 5, 10, 15]), freq=10)
    >>> edges.tolist(), bounds.tolist()
    ([0, 10, 20], [0, 2, 3])
    """
    ts = np.ascontiguousarray(np.asarray(ts, dtype=np.int64))
    dt = duration_ns(freq)
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
    r"""Level-1 OFI and mid change per clock bin (CKS 2014 eqs. 11-12).

    :math:`\mathrm{OFI}_k = \sum_{t_{k-1} < t_n \le t_k} e_n` and
    :math:`\Delta P_k = (P_{t_k} - P_{t_{k-1}}) / \text{tick}` with :math:`P` the mid of the last
    event at or before each boundary. Bins are :math:`(t_0 + k\,\Delta t, t_0 + (k+1)\,\Delta t]`;
    empty bins have OFI 0 and :math:`\Delta P = 0`.

    Parameters
    ----------
    book : array_like
        ``(n, 4L)`` LOBSTER layout.
    ts : array_like
        int64 ns per row, non-decreasing.
    freq, t0, t1
        See :func:`bin_bounds`.
    tick : float
        Tick size in price units (LOBSTER: 100).
    size_unit : float
        Shares per lot (CKS: 100).

    Returns
    -------
    pandas.DataFrame
        Columns ``ofi`` (size units / ``size_unit``), ``dp`` (mid change, ticks), ``n_events``;
        index ``t_end_ns`` = bin end time (ns, as in ``ts``).

    References
    ----------
    Cont, Kukanov & Stoikov (2014), eqs. 11-12 (10-s bins in CKS).

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 5], [101, 3, 100, 7], [101, 3, 99, 4]])
    >>> ofi_bins(book, np.array([0, 5, 15]), freq=10).to_dict("list")
    {'ofi': [2.0, -7.0], 'dp': [0.0, -0.5], 'n_events': [1, 1]}
    """
    b = as_book(book)
    edges, bounds = bin_bounds(ts, freq, t0, t1)
    e = ofi_events_nb(b)
    ofi = segment_sums_nb(e.reshape(-1, 1), bounds)[:, 0] / size_unit
    mid = mid_nb(b)
    dp = (mid[bounds[1:]] - mid[bounds[:-1]]) / tick
    return pd.DataFrame({"ofi": ofi, "dp": dp, "n_events": np.diff(bounds)},
                        index=pd.Index(edges[1:], name="t_end_ns"))


def ofi_event_windows(book, window: int, tick: float = 1.0, size_unit: float = 1.0) -> pd.DataFrame:
    r"""Level-1 OFI and mid change over consecutive windows of ``window`` events.

    Window k holds rows ``k*window+1 .. (k+1)*window`` (row 0 is the initial state);
    :math:`\mathrm{OFI}_k = \sum e_n` over the window (CKS 2014 eq. 10-12 on event time).

    Parameters
    ----------
    book : array_like
        ``(n, 4L)`` LOBSTER layout.
    window : int
        Events per window.
    tick : float
        Tick size in price units.
    size_unit : float
        Shares per lot.

    Returns
    -------
    pandas.DataFrame
        Columns ``ofi`` (size units / ``size_unit``) and ``dp`` (mid change, ticks), one row per
        complete window.

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 5], [101, 3, 100, 7], [101, 3, 99, 4]])
    >>> ofi_event_windows(book, 1).to_dict("list")
    {'ofi': [2.0, -7.0], 'dp': [0.0, -0.5]}
    """
    b = as_book(book)
    if window < 1:
        raise ValueError("window must be >= 1 event")
    bounds = np.arange(0, b.shape[0], int(window), dtype=np.int64)
    e = ofi_events_nb(b)
    ofi = segment_sums_nb(e.reshape(-1, 1), bounds)[:, 0] / size_unit
    mid = mid_nb(b)
    return pd.DataFrame({"ofi": ofi, "dp": (mid[bounds[1:]] - mid[bounds[:-1]]) / tick})


def multilevel_ofi_bins(book, ts, freq="10s", levels: int | None = None, t0: int | None = None,
                        t1: int | None = None, normalise: bool = True) -> pd.DataFrame:
    r"""Multi-level OFI per clock bin (CCZ 2023 eqs. 1-3): columns ``ofi1..ofiM``.

    .. math::

        \mathrm{ofi}^m_k = \frac{1}{Q^M_k} \sum_{t_{k-1} < t_n \le t_k} e^m_n, \qquad
        Q^M_k = \frac{1}{2M}\,\overline{\textstyle\sum_{m=1}^M (q^{A,m} + q^{B,m})}

    with the bar the average over the bin's events (:func:`segment_depth_nb`; empty levels = 0).

    Parameters
    ----------
    book, ts : array_like
        LOBSTER-layout rows ``(n, 4L)`` and their times (int64 ns), binned on the clock.
    freq, t0, t1
        See :func:`bin_bounds`.
    levels : int, optional
        :math:`M` (default all :math:`L`).
    normalise : bool
        Divide by :math:`Q^M_k` (unit-free columns); False keeps size units.

    Returns
    -------
    pandas.DataFrame
        ``ofi1..ofiM``, ``depth`` (:math:`Q^M`, size units), ``n_events``; index = bin end (ns).

    References
    ----------
    Cont, Cucuringu & Zhang (2023), eqs. 1-3; Xu, Gould & Howison (2018).

    Examples
    --------
    >>> import numpy as np
    >>> book = np.array([[101., 3, 100, 5], [101, 3, 100, 7], [101, 3, 99, 4]])
    >>> multilevel_ofi_bins(book, np.array([0, 5, 15]), freq=10, normalise=False)["ofi1"].tolist()
    [2.0, -7.0]
    """
    b = as_book(book)
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
    r"""First principal component of the columns of ``X`` (covariance PCA) and its variance share.

    :math:`w_1` is the unit eigenvector of the largest eigenvalue :math:`\lambda_1` of
    :math:`\operatorname{cov}(X)`; share :math:`= \lambda_1 / \sum_j \lambda_j`. The sign is fixed so
    the weights sum to a positive number (OFI at every level pushes the price the same way).

    Parameters
    ----------
    X : array_like
        ``(n, M)`` normalised multi-level OFI; rows with NaN are dropped.

    Returns
    -------
    w1 : numpy.ndarray
        ``(M,)`` with :math:`\lVert w_1 \rVert_2 = 1` (NaN when too few rows).
    share : float
        Explained variance share of the first component.

    References
    ----------
    Cont, Cucuringu & Zhang (2023), Section 2 (integrated OFI).

    Examples
    --------
    >>> import numpy as np
    >>> w, share = pc1_weights(np.array([[1., 1], [2, 2], [3, 3.]]))
    >>> np.round(w, 4).tolist(), round(share, 6)
    ([0.7071, 0.7071], 1.0)
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
    r"""Integrated OFI :math:`\mathrm{ofi}^I = X w_1 / \lVert w_1 \rVert_1` (CCZ 2023).

    Parameters
    ----------
    X : array_like
        ``(n, M)`` normalised multi-level OFI.
    w1 : numpy.ndarray
        From :func:`pc1_weights` on past data (never the sample it is applied to).

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)`` (unit-free when ``X`` is).

    References
    ----------
    Cont, Cucuringu & Zhang (2023), integrated OFI definition.

    Examples
    --------
    >>> import numpy as np
    >>> integrated_ofi(np.array([[1., 3.]]), np.array([0.5, 0.5])).tolist()
    [2.0]
    """
    w1 = np.asarray(w1, dtype=np.float64)
    return np.asarray(X, dtype=np.float64) @ w1 / np.abs(w1).sum()
