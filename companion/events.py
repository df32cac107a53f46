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

#: LOBSTER's dummy prices for an empty level (ask side, bid side), in price units.
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

    Notes
    -----
    Prices convert as :math:`p_{\$} = p_{\text{units}} / \text{price\_scale}` and
    :math:`p_{\text{ticks}} = p_{\text{units}} / \text{tick}` (LOBSTER ReadMe, Huang & Polak 2011).

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

    def to_price(self, units) -> float | np.ndarray:
        r"""Price units -> currency: :math:`p / \text{price\_scale}` (5853300 -> 585.33 for LOBSTER)."""
        return np.asarray(units) / self.price_scale

    def to_ticks(self, units) -> float | np.ndarray:
        r"""Price units -> ticks: :math:`p / \text{tick}`."""
        return np.asarray(units) / self.tick

    def to_dict(self) -> dict:
        return asdict(self)
