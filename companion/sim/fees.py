"""Maker / taker fees and rebates.

``fee = rate * 1e-4 * price * qty`` (``unit="bps"``, rate in basis points of notional) or
``fee = rate * qty`` (``unit="per_share"``, rate in price units per share/contract, e.g. LOBSTER
$0.0030/share = 30 price units). A negative rate is a rebate (fee < 0 adds to cash). Fees are in
price units x size, the same unit as cash: ``cash -= side * price * qty + fee``.

Typical values: Binance USD-M futures VIP0 maker 2 bps / taker 5 bps; NASDAQ ~ -0.20/+0.30 c/sh
(rebate / fee; Harris, *Trading and Exchanges*, ch. on maker-taker pricing).
"""
from __future__ import annotations

from dataclasses import dataclass

from numba import njit

FEE_BPS, FEE_PER_SHARE = 0, 1


@njit(cache=True)
def fee_nb(unit: int, rate: float, price: float, qty: float) -> float:
    """Fee of one fill (price units x size); ``rate`` is the maker or taker rate."""
    if unit == FEE_PER_SHARE:
        return rate * qty
    return rate * 1e-4 * price * qty


@dataclass(frozen=True)
class Fees:
    """Maker and taker rates (``unit`` = ``"bps"`` or ``"per_share"``); negative = rebate.

    Attributes
    ----------
    maker : float
        Rate on passive (maker) fills, in ``unit``; negative = rebate.
    taker : float
        Rate on aggressive (taker) fills, in ``unit``.
    unit : str
        ``"bps"`` of the notional or ``"per_share"`` (price units per share).
    """

    maker: float = 0.0
    taker: float = 0.0
    unit: str = "bps"

    @property
    def unit_code(self) -> int:
        """The unit's code for the simulator kernels (raises ValueError on an unknown unit)."""
        if self.unit not in ("bps", "per_share"):
            raise ValueError(f"fee unit must be 'bps' or 'per_share', not {self.unit!r}")
        return FEE_BPS if self.unit == "bps" else FEE_PER_SHARE
