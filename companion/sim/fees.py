"""Maker / taker fees and rebates.

``fee = rate * 1e-4 * price * qty`` (``unit="bps"``, rate in basis points of notional) or
``fee = rate * qty`` (``unit="per_share"``, rate in price units per share/contract, e.g. LOBSTER
$0.0030/share = 30 price units). A negative rate is a rebate (fee < 0 adds to cash). Fees are in
price units x size, the same unit as cash: ``cash -= side * price * qty + fee``.

Venue schedules (:data:`VENUE_FEES`, :meth:`Fees.for_venue`), maker / taker, rebates negative:

=================  ==========================  =================================================
venue              maker / taker               source
=================  ==========================  =================================================
``NASDAQ``         -$0.0020 / +$0.0030 per     NASDAQ Rule 7018(a) as in force in 2012 (the
                   share                       LOBSTER sample days are 2012-06-21): fee to remove
                                               liquidity $0.0030 per share executed; credit to
                                               provide displayed liquidity tiered by the member's
                                               share of Consolidated Volume, from $0.0020 (no
                                               volume tier) up to ~$0.0029 for the top tiers.
                                               We use the **base (no-tier) credit $0.0020**: a
                                               new small member, the conservative choice. The
                                               2012 filings amending the schedule:
                                               SR-NASDAQ-2012-103 (77 FR 58190, 19 Sep 2012),
                                               SR-NASDAQ-2012-149 (78 FR 3931, 17 Jan 2013).
``BINANCE-SPOT``   10 / 10 bps                 Binance spot fee schedule, VIP 0 (0.1000 % maker,
                                               0.1000 % taker, no BNB discount),
                                               https://www.binance.com/en/fee/schedule
``BINANCE-USDM``   2 / 5 bps                   Binance USD-M futures, VIP 0 (0.0200 % maker,
                                               0.0500 % taker), https://www.binance.com/en/fee/futureFee
``SYNTHETIC``      as ``NASDAQ``               the synthetic day is modelled on a LOBSTER day
=================  ==========================  =================================================

The NASDAQ tier thresholds were not re-verified against the primary rule text in this version;
pass ``Fees(maker=..., taker=..., unit="per_share")`` for another tier (e.g. ``maker=-29`` price
units = -$0.0029 at ``price_scale`` 10000). Harris, *Trading and Exchanges* (2003), explains
maker-taker pricing.
"""
from __future__ import annotations

from dataclasses import dataclass

from numba import njit

FEE_BPS, FEE_PER_SHARE = 0, 1

#: venue -> (maker, taker, unit); per-share rates in CURRENCY per share (scaled by
#: ``instrument.price_scale`` in :meth:`Fees.for_venue`), bps rates in basis points of notional
VENUE_FEES = {
    "NASDAQ": (-0.0020, 0.0030, "per_share"),
    "SYNTHETIC": (-0.0020, 0.0030, "per_share"),
    "BINANCE-SPOT": (10.0, 10.0, "bps"),
    "BINANCE-USDM": (2.0, 5.0, "bps"),
}


@njit(cache=True)
def fee_nb(unit: int, rate: float, price: float, qty: float) -> float:
    """Fee of one fill (price units x size); ``rate`` is the maker or taker rate."""
    if unit == FEE_PER_SHARE:
        return rate * qty
    return rate * 1e-4 * price * qty


@dataclass(frozen=True)
class Fees:
    """Maker and taker rates (``unit`` = ``"bps"`` or ``"per_share"``); negative = rebate."""

    maker: float = 0.0
    taker: float = 0.0
    unit: str = "bps"

    @classmethod
    def for_venue(cls, instrument) -> Fees:
        """The schedule of ``instrument.venue`` (:data:`VENUE_FEES`, module docstring) in the
        simulator's units (per-share rates times ``instrument.price_scale``).

        Raises
        ------
        ValueError
            For a venue without a schedule here (naming it and the known venues).

        Examples
        --------
        >>> from companion.events import Instrument
        >>> Fees.for_venue(Instrument("AAPL", tick=100, price_scale=10_000, venue="NASDAQ"))
        Fees(maker=-20.0, taker=30.0, unit='per_share')
        >>> Fees.for_venue(Instrument("BTCUSDT", tick=10, price_scale=100, venue="BINANCE-USDM"))
        Fees(maker=2.0, taker=5.0, unit='bps')
        """
        venue = str(getattr(instrument, "venue", "") or "")
        if venue not in VENUE_FEES:
            raise ValueError(f"no fee schedule for venue {venue!r} (known: {', '.join(VENUE_FEES)}); "
                             "pass Fees(maker=..., taker=..., unit=...)")
        maker, taker, unit = VENUE_FEES[venue]
        k = float(instrument.price_scale) if unit == "per_share" else 1.0
        return cls(maker=round(maker * k, 10), taker=round(taker * k, 10), unit=unit)

    @property
    def unit_code(self) -> int:
        if self.unit not in ("bps", "per_share"):
            raise ValueError(f"fee unit must be 'bps' or 'per_share', not {self.unit!r}")
        return FEE_BPS if self.unit == "bps" else FEE_PER_SHARE
