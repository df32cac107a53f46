"""The one market-event dtype that flows from reader to book to features to simulator to live executor.

Every reader (LOBSTER, Binance) and the synthetic generator produce a structured numpy array of
:data:`EVENT_DTYPE`; every kernel takes its columns as plain arrays. Instrument metadata (tick size,
price scale, session) travels beside the array in an :class:`Instrument`, never inside it.

Event kinds keep LOBSTER's message codes (Huang & Polak 2011, LOBSTER ReadMe):

====  ===================  =====================================================================
code  name                 meaning
====  ===================  =====================================================================
1     ADD                  new limit order (``side`` = +1 buy / -1 sell order)
2     CANCEL               partial cancellation (``size`` = shares removed)
3     DELETE               full deletion of a resting order
4     EXEC_VISIBLE         execution against a visible resting order (``side`` = resting side)
5     EXEC_HIDDEN          execution against a hidden order (does not change the visible book)
6     CROSS                auction / cross trade
7     HALT                 trading halt indicator (price -1 halt, 0 quote, 1 resume in LOBSTER)
10    LEVEL_SET            price-level update: level ``price`` on ``side`` now holds ``size``
                           (0 deletes the level); Binance depth diffs and snapshots
11    TRADE                a trade print; ``side`` = aggressor side (+1 buyer-initiated)
12    CLEAR                clear the whole book (start of a snapshot / explicit resync)
====  ===================  =====================================================================

Prices are int64 in the instrument's price units (``Instrument.price_scale`` units per currency
unit; LOBSTER: dollars x 10000). Sizes are float64 (crypto sizes are fractional).
Times are int64 nanoseconds: ``ts`` exchange time (since midnight for LOBSTER, since the epoch for
crypto), ``ts_local`` local receive time (equal to ``ts`` when the source has no local clock).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

ADD = 1
CANCEL = 2
DELETE = 3
EXEC_VISIBLE = 4
EXEC_HIDDEN = 5
CROSS = 6
HALT = 7
LEVEL_SET = 10
TRADE = 11
CLEAR = 12

KIND_NAMES: dict[int, str] = {
    ADD: "ADD", CANCEL: "CANCEL", DELETE: "DELETE", EXEC_VISIBLE: "EXEC_VISIBLE",
    EXEC_HIDDEN: "EXEC_HIDDEN", CROSS: "CROSS", HALT: "HALT", LEVEL_SET: "LEVEL_SET",
    TRADE: "TRADE", CLEAR: "CLEAR",
}
LOBSTER_KINDS = (ADD, CANCEL, DELETE, EXEC_VISIBLE, EXEC_HIDDEN, CROSS, HALT)

BID = 1   #: side code of a bid / buy order / buyer-initiated trade
ASK = -1  #: side code of an ask / sell order / seller-initiated trade

#: LOBSTER's dummy prices for an empty level (ask side, bid side) in price units. They are the
#: package's one placeholder for an empty book level (every module imports these two names; the
#: one rule that reads them is :func:`companion.stats.level_ok_nb`).
DUMMY_ASK = 9999999999
DUMMY_BID = -9999999999

NS = 1_000_000_000  #: nanoseconds per second

EVENT_DTYPE = np.dtype(
    [
        ("ts", np.int64),        # exchange time, ns
        ("ts_local", np.int64),  # local receive time, ns
        ("kind", np.int8),       # event code, see module docstring
        ("side", np.int8),       # +1 bid/buy, -1 ask/sell
        ("price", np.int64),     # price units (Instrument.price_scale per currency unit)
        ("size", np.float64),    # shares / contracts / base-asset quantity
        ("order_id", np.int64),  # venue order id (0 when unknown)
    ]
)
"""The event dtype, packed (42 bytes per event, no padding), so a day of 400k events holds 17 MB.

Fields: ``ts`` (int64, exchange time, ns), ``ts_local`` (int64, local receive time, ns),
``kind`` (int8, event code), ``side`` (int8, +1 bid / buy, -1 ask / sell), ``price`` (int64,
price units), ``size`` (float64, shares / contracts / base-asset quantity), ``order_id``
(int64, venue order id, 0 when unknown).
"""


def empty_events(n: int) -> np.ndarray:
    """A zeroed event array of length ``n``.

    Parameters
    ----------
    n : int
        Number of events.

    Returns
    -------
    numpy.ndarray
        Structured array of :data:`EVENT_DTYPE`, all fields 0.

    Examples
    --------
    >>> ev = empty_events(3)
    >>> ev.dtype == EVENT_DTYPE, len(ev), int(ev["price"].sum())
    (True, 3, 0)
    """
    return np.zeros(n, dtype=EVENT_DTYPE)


def duration_ns(x) -> int:
    """A duration (``'5min'``, ``pd.Timedelta``, ``timedelta64``, int ns) as int nanoseconds;
    must be >= 0. The one duration parser of the package.

    Raises
    ------
    ValueError
        For a negative duration.

    Examples
    --------
    >>> duration_ns("5min"), duration_ns(250), duration_ns("10s") // NS
    (300000000000, 250, 10)
    """
    import pandas as pd

    ns = int(x) if isinstance(x, (int, np.integer)) else int(pd.Timedelta(x).value)
    if ns < 0:
        raise ValueError("durations must be >= 0")
    return ns


@dataclass(frozen=True)
class Instrument:
    r"""Instrument metadata that travels beside an event array.

    Attributes
    ----------
    symbol : str
        Ticker or pair, e.g. ``"AAPL"`` or ``"BTCUSDT"``.
    tick : int
        Minimum price increment in price units (LOBSTER: 100 = $0.01).
    price_scale : int
        Price units per currency unit (LOBSTER: 10000).
    lot : float
        Minimum size increment.
    session_open_ns : int
        Start of the trading window in the time base of ``ts`` (ns).
    session_close_ns : int
        End of the trading window in the time base of ``ts`` (ns).
    date : str
        Trading date ``YYYY-MM-DD`` (the time base of ``ts`` is midnight of this date for
        LOBSTER data, the epoch for crypto).
    levels : int
        Number of visible levels in the accompanying book snapshots (0 when none).
    venue : str
        ``"NASDAQ"``, ``"BINANCE-USDM"``, ``"SYNTHETIC"``, ...
    extra : dict
        Free-form metadata (not compared).
    contract_size : float
        What one unit of ``size`` is worth: in the *base* asset for a linear instrument (shares,
        spot coins, USD-M futures: 1.0, the default) or in the *quote* currency for an inverse
        one (``inverse=True``; Binance COIN-M ``BTCUSD_PERP``: 100 USD per contract). 0.0 means
        unknown (an inverse contract whose size the reader could not look up).
    inverse : bool
        True for an inverse (coin-margined) contract: sizes are contracts of ``contract_size``
        quote currency each, whatever the price.

    Notes
    -----
    Prices convert as :math:`p_{\$} = p_{\text{units}} / \text{price\_scale}` and
    :math:`p_{\text{ticks}} = p_{\text{units}} / \text{tick}` (LOBSTER ReadMe, Huang & Polak 2011).
    Notional in quote currency (:meth:`notional`): :math:`q \cdot c \cdot p_{\$}` for a linear
    instrument, :math:`q \cdot c` for an inverse one (:math:`q` size, :math:`c`
    ``contract_size``); the base-asset quantity (:meth:`base_quantity`) is :math:`q \cdot c`
    and :math:`q \cdot c / p_{\$}` respectively (Binance, "COIN-Margined Futures Contract
    Specifications": a BTC contract is worth 100 USD).

    Examples
    --------
    >>> aapl = Instrument("AAPL", tick=100, price_scale=10_000)
    >>> float(aapl.to_price(5853300)), float(aapl.to_ticks(5853300))
    (585.33, 58533.0)
    """

    symbol: str
    tick: int
    price_scale: int
    lot: float = 1.0
    session_open_ns: int = 0
    session_close_ns: int = 0
    date: str = ""
    levels: int = 0
    venue: str = ""
    extra: dict = field(default_factory=dict, compare=False)
    contract_size: float = 1.0
    inverse: bool = False

    def to_price(self, units) -> float | np.ndarray:
        r"""Price units -> currency: :math:`p / \text{price\_scale}` (5853300 -> 585.33 for LOBSTER)."""
        return np.asarray(units) / self.price_scale

    def to_ticks(self, units) -> float | np.ndarray:
        r"""Price units -> ticks: :math:`p / \text{tick}`."""
        return np.asarray(units) / self.tick

    def _contract(self) -> float:
        c = float(self.contract_size)
        if not c > 0:
            raise ValueError(f"{self.symbol}: contract size unknown ({self.contract_size!r}); "
                             "construct the Instrument with contract_size=")
        return c

    def notional(self, price_units, size) -> float | np.ndarray:
        r"""Value in quote currency of ``size`` at ``price_units``.

        Linear (``inverse=False``): :math:`q \cdot c \cdot p / \text{price\_scale}`; inverse:
        :math:`q \cdot c` (a contract is worth ``contract_size`` quote currency at any price).

        Parameters
        ----------
        price_units : int or array_like
            Price in price units (ignored by an inverse instrument, except for its shape).
        size : float or array_like
            Size in the events' unit (base asset, shares or contracts).

        Returns
        -------
        float or numpy.ndarray
            Notional in quote currency (USD, USDT, ...).

        Raises
        ------
        ValueError
            When the contract size is unknown (``contract_size <= 0``).

        Examples
        --------
        >>> spot = Instrument("BTCUSDT", tick=1, price_scale=100)
        >>> float(spot.notional(6_168_600, 0.5))                   # 0.5 BTC at 61,686.00 USDT
        30843.0
        >>> perp = Instrument("BTCUSD_PERP", tick=1, price_scale=10, contract_size=100.0, inverse=True)
        >>> float(perp.notional(616_860, 3))                       # 3 contracts of 100 USD
        300.0
        """
        q = np.asarray(size, dtype=np.float64) * self._contract()
        if self.inverse:
            return q + 0.0 * np.asarray(price_units, dtype=np.float64)
        return q * (np.asarray(price_units, dtype=np.float64) / self.price_scale)

    def base_quantity(self, price_units, size) -> float | np.ndarray:
        r"""Quantity of the base asset in ``size``: :math:`q \cdot c` (linear) or
        :math:`q \cdot c / p_{\$}` (inverse).

        Parameters
        ----------
        price_units : int or array_like
            Price in price units (used by an inverse instrument only).
        size : float or array_like
            Size in the events' unit.

        Returns
        -------
        float or numpy.ndarray
            Base-asset quantity (coins, shares).

        Raises
        ------
        ValueError
            When the contract size is unknown.

        Examples
        --------
        >>> perp = Instrument("BTCUSD_PERP", tick=1, price_scale=10, contract_size=100.0, inverse=True)
        >>> round(float(perp.base_quantity(500_000, 3)), 6)        # 300 USD at 50,000 USD/BTC
        0.006
        """
        q = np.asarray(size, dtype=np.float64) * self._contract()
        p = np.asarray(price_units, dtype=np.float64)
        if self.inverse:
            return q / (p / self.price_scale)
        return q + 0.0 * p

    def to_dict(self) -> dict:
        """The metadata as a plain dict (JSON-ready; the ``instrument`` of a ``_meta.json``)."""
        return asdict(self)


def time_index(ts, instrument: Instrument | None = None):
    """Timestamps (int ns) as a pandas index named ``time``: a DatetimeIndex when they are epoch
    based (above ~115 days in ns), else midnight of ``instrument.date`` + ts when the date is
    known, else a TimedeltaIndex since midnight. The one time index of the package's frames.

    Examples
    --------
    >>> ins = Instrument("X", tick=100, price_scale=10_000, date="2012-06-21")
    >>> str(time_index([34_200 * NS], ins)[0]), str(time_index([34_200 * NS])[0])
    ('2012-06-21 09:30:00', '0 days 09:30:00')
    >>> str(time_index([1_723_161_600 * NS])[0])
    '2024-08-09 00:00:00'
    """
    import pandas as pd

    ts = np.asarray(ts, dtype=np.int64)
    if ts.size and ts.max() > 10_000_000 * NS:
        return pd.DatetimeIndex(ts.astype("datetime64[ns]"), name="time")
    if instrument is not None and instrument.date:
        return pd.DatetimeIndex(np.datetime64(instrument.date, "ns") + ts.astype("timedelta64[ns]"), name="time")
    return pd.TimedeltaIndex(ts.astype("timedelta64[ns]"), name="time")


@dataclass(frozen=True, eq=False)
class Dataset:
    """The one dataset type: a day's ``events`` (:data:`EVENT_DTYPE`), its ``book`` (float64
    ``(n, 4 * levels)`` LOBSTER layout, row ``i`` = book after event ``i``; None when not built)
    and its ``instrument``. :func:`companion.data.load` returns one (a
    :class:`companion.io.lobster.LobsterData` or :class:`companion.events.DayData`, both
    subclasses); ``Simulator``, :func:`companion.execution.execute`, the features API and the
    studies take it where they take ``(events, book, instrument)``.

    Examples
    --------
    >>> d = Dataset(empty_events(2), np.zeros((2, 4)), Instrument("X", tick=100, price_scale=10_000))
    >>> len(d), d.tick
    (2, 100)
    >>> events, book, instrument = d.triple()
    """

    #: the day's events (:data:`EVENT_DTYPE`), in time order
    events: np.ndarray
    #: float64 ``(n, 4 * levels)`` book after each event (LOBSTER layout); None when not built
    book: np.ndarray | None
    #: the :class:`Instrument` (tick, price scale, session, venue)
    instrument: Instrument

    def __len__(self) -> int:
        return len(self.events)

    @property
    def tick(self) -> int:
        """The instrument's tick (price units) as a Python int."""
        return int(self.instrument.tick)

    def triple(self) -> tuple:
        """``(events, book, instrument)``."""
        return self.events, self.book, self.instrument


def as_dataset(data, book=None, instrument=None) -> Dataset:
    """A :class:`Dataset` from either a dataset-like object (``events``, ``book``, ``instrument``
    attributes) or the ``(events, book, instrument)`` form.

    Parameters
    ----------
    data : Dataset or numpy.ndarray
        A dataset (returned as is when it is a :class:`Dataset`), or the events.
    book, instrument : optional
        With events: the book and the instrument.

    Returns
    -------
    Dataset

    Raises
    ------
    TypeError
        When ``data`` is neither a dataset nor an event array.

    Examples
    --------
    >>> ins = Instrument("X", tick=100, price_scale=10_000)
    >>> as_dataset(empty_events(3), np.zeros((3, 4)), ins).tick
    100
    >>> d = Dataset(empty_events(1), None, ins)
    >>> as_dataset(d) is d
    True
    """
    if isinstance(data, Dataset):
        return data
    if isinstance(data, np.ndarray):
        return Dataset(data, book, instrument)
    if hasattr(data, "events") and hasattr(data, "instrument"):
        return Dataset(data.events, getattr(data, "book", None), data.instrument)
    raise TypeError(f"expected a Dataset (events, book, instrument) or an event array, got {type(data).__name__}")


# --------------------------------------------------------------------------------------------
# ticker-days: what a catalog lists (companion.catalog) and what the store returns
# --------------------------------------------------------------------------------------------
_UNSAFE_KEY_CHARS = re.compile(r"[^A-Za-z0-9._=-]")


@dataclass(frozen=True)
class TickerDay:
    """One ticker-day of one source.

    Attributes
    ----------
    source : str
        ``"lobster"``, ``"binance"`` or ``"synthetic"`` (the seeded day and universe days).
    ticker : str
        ``"AAPL"``, ``"BTCUSDT.usdm"``, ``"SYN0"``, ...
    date : str
        ``YYYY-MM-DD``.
    level : int
        Book levels of the source (LOBSTER / synthetic); 0 for Binance depth diffs (full depth).
    paths : tuple of str
        Source files (LOBSTER: message, orderbook; Binance: the recordings to read, the day's own
        file last); ``()`` for a universe day (generated on demand).
    spec : str
        A SPEC that names this day alone.

    Examples
    --------
    >>> d = TickerDay("lobster", "AAPL", "2012-06-21", 1, ("a_message_1.csv",), "a_message_1.csv")
    >>> d.key
    'lobster/AAPL/2012-06-21/1'
    """

    source: str
    ticker: str
    date: str
    level: int
    paths: tuple[str, ...]
    spec: str

    @property
    def key(self) -> str:
        """``"source/ticker/date/level"`` with every part filesystem-safe."""
        return "/".join(_UNSAFE_KEY_CHARS.sub("_", str(x)) for x in (self.source, self.ticker, self.date, self.level))

    @property
    def own_path(self) -> str | None:
        """The day's own file (LOBSTER message file; the last Binance recording of the chain)."""
        if not self.paths:
            return None
        return self.paths[-1] if self.source == "binance" else self.paths[0]


@dataclass(frozen=True, eq=False)
class DayData(Dataset):
    """A day's data as the store returns it: ``events`` (:data:`~companion.events.EVENT_DTYPE`),
    ``book`` (float64 ``(n, 4 * levels)`` LOBSTER layout, or None), ``instrument`` and the day.

    Examples
    --------
    >>> from companion.events import Instrument, empty_events
    >>> dd = DayData(empty_events(2), None, Instrument("X", tick=1, price_scale=1), None)
    >>> len(dd)
    2

    Attributes
    ----------
    events : numpy.ndarray
        The day's events (:data:`~companion.events.EVENT_DTYPE`).
    book : numpy.ndarray or None
        The book after each event, float64 ``(n, 4 * levels)`` LOBSTER layout (None: no book).
    instrument : companion.events.Instrument
        Tick, price scale, session of the day.
    day : TickerDay or None
        The catalog entry it was read from.
    """

    day: TickerDay | None = None
