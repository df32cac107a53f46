"""Price impact of aggressive orders beyond the visible book.

An aggressive order first walks the visible levels (each level filled at its own price; our
orders do not remove liquidity from the replayed book). The remainder ``Q`` beyond visible depth
is priced with the square-root law (Toth et al. 2011, Phys. Rev. X 1:021006)::

    price = p_last + side * Y * sigma * sqrt(Q / V)

``p_last`` the last visible price walked (the best opposite quote if none), ``sigma`` the daily
price volatility in price units (sigma_daily_return x price), ``V`` the daily volume in shares,
``Y`` of order one. The whole remainder fills at that single price, rounded to the tick away from
us (pessimistic). This is a teaching device: the law describes the average impact of
meta-orders, not the book a single order would walk. Without an impact model the remainder of a
market order expires (reason ``NO_DEPTH``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@njit(cache=True)
def sqrt_impact_price_nb(side: int, p_last: float, q: float, y: float, sigma: float,
                         daily_volume: float, tick: float) -> float:
    """Fill price of ``q`` beyond the visible book (see module docstring); nan when disabled."""
    if daily_volume <= 0.0 or sigma <= 0.0 or y <= 0.0:
        return np.nan
    d = y * sigma * np.sqrt(q / daily_volume)
    if tick > 0.0:
        d = np.ceil(d / tick - 1e-9) * tick
    return p_last + side * d


@dataclass(frozen=True)
class SqrtImpact:
    """Square-root impact law for the part of an aggressive order beyond visible depth.

    ``sigma``: daily price volatility in price units; ``daily_volume``: shares per day; ``y``: the
    prefactor Y (order one; Toth et al. 2011).
    """

    sigma: float
    daily_volume: float
    y: float = 1.0
