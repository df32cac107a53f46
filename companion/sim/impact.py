r"""Price impact of aggressive orders beyond the visible book: the square-root law as a total cost.

The square-root law (Toth et al. 2011, Phys. Rev. X 1:021006) gives the average cost of a whole
order of :math:`Q` shares, per share and measured from the mid :math:`m_0` at its arrival:

.. math::

    I(Q) = Y \sigma \sqrt{Q / V},

with :math:`\sigma` the daily price volatility in price units (daily return volatility x price),
:math:`V` the daily volume in shares and :math:`Y` of order one. The simulator uses one model for
the **total cost** of an aggressive order that exhausts the visible levels (side :math:`s = \pm 1`):

.. math::

    C(Q) = \max\Big( C_{\text{walk}}(Q),\; Q\, I(Q) \Big), \qquad
    C_{\text{walk}}(Q) = \sum_{\text{visible}} s (p_k - m_0) q_k + s (p_{\text{last}} - m_0) Q_{\text{rem}},

where the visible levels are filled at their own prices :math:`p_k` (our orders do not remove
liquidity from the replayed book) and :math:`C_{\text{walk}}` would fill the remainder
:math:`Q_{\text{rem}} = Q - \sum q_k` at the last visible price. The remainder fills at one price

.. math::

    p_{\text{rem}} = m_0 + s \max\Big( s (p_{\text{last}} - m_0),\;
    \frac{Q\, I(Q) - \sum_{\text{visible}} s (p_k - m_0) q_k}{Q_{\text{rem}}} \Big),

so that the average price of the whole order is :math:`m_0 + s\, C(Q)/Q`: exactly the law when the
law exceeds the walk (the law, not the walk plus the law), never cheaper than the last visible
level. :math:`p_{\text{rem}}` is not rounded to the tick (it is the average price of the unseen
book beyond the visible levels). :math:`m_0` is the mid of the book row the order meets (the
opposite best quote if our side of that row is empty).

This is a teaching device: the law describes the average impact of meta-orders executed over
time, not the book a single order would walk. Without an impact model the remainder of a market
order expires (reason ``NO_DEPTH``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

__all__ = ["SqrtImpact", "sqrt_impact_price_nb", "sqrt_law_nb"]


@njit(cache=True)
def sqrt_law_nb(q: float, y: float, sigma: float, daily_volume: float) -> float:
    r"""Square-root law :math:`I(Q) = Y \sigma \sqrt{Q / V}` per share, price units; nan when disabled.

    Examples
    --------
    >>> sqrt_law_nb(400.0, 1.0, 30.0, 100.0)
    60.0
    """
    if daily_volume <= 0.0 or sigma <= 0.0 or y <= 0.0 or q <= 0.0:
        return np.nan
    return y * sigma * np.sqrt(q / daily_volume)


@njit(cache=True)
def sqrt_impact_price_nb(side: int, mid0: float, p_last: float, q_total: float, q_rem: float,
                         walk_cost: float, y: float, sigma: float, daily_volume: float) -> float:
    r"""Fill price of the remainder ``q_rem`` beyond the visible book (module docstring).

    Parameters
    ----------
    side : int
        +1 buy, -1 sell.
    mid0 : float
        Arrival mid :math:`m_0` (price units).
    p_last : float
        Last visible price walked (nan: none).
    q_total, q_rem : float
        Order size :math:`Q` and remainder :math:`Q_{\text{rem}}` (shares).
    walk_cost : float
        :math:`\sum s (p_k - m_0) q_k` over the visible fills of this order (price units x shares).
    y, sigma, daily_volume : float
        :math:`Y`, :math:`\sigma` (price units per day), :math:`V` (shares per day).

    Returns
    -------
    float
        :math:`p_{\text{rem}}` (price units); nan when the model is disabled or nothing remains.

    Examples
    --------
    A sell of 400 with nothing visible at 97 or below (mid 99): the law is
    :math:`30 \sqrt{400/100} = 60` per share, so the whole order costs 24000 and fills at 39.

    >>> sqrt_impact_price_nb(-1, 99.0, 97.0, 400.0, 400.0, 0.0, 1.0, 30.0, 100.0)
    39.0
    """
    law = sqrt_law_nb(q_total, y, sigma, daily_volume)
    if np.isnan(law) or not (q_rem > 0.0) or np.isnan(mid0):
        return np.nan
    d = (q_total * law - walk_cost) / q_rem
    if not np.isnan(p_last):
        d = max(d, side * (p_last - mid0))
    return mid0 + side * d


@dataclass(frozen=True)
class SqrtImpact:
    r"""Square-root impact law: total cost of an order that exhausts the visible depth.

    The whole order costs :math:`\max(C_{\text{walk}}, Q\,Y\sigma\sqrt{Q/V})` from the arrival mid
    (module docstring). ``sigma``: daily price volatility in price units; ``daily_volume``: shares
    per day; ``y``: the prefactor Y (order one; Toth et al. 2011).

    Attributes
    ----------
    sigma : float
        Daily price volatility (price units).
    daily_volume : float
        Volume per day (shares).
    y : float
        The prefactor Y (order one).

    Examples
    --------
    >>> SqrtImpact(sigma=30.0, daily_volume=100.0).cost(400.0)
    60.0
    """

    sigma: float
    daily_volume: float
    y: float = 1.0

    def cost(self, q: float) -> float:
        r"""The law :math:`I(Q) = Y\sigma\sqrt{Q/V}` per share, price units (nan when disabled).

        Examples
        --------
        >>> SqrtImpact(sigma=10.0, daily_volume=900.0).cost(900.0)
        10.0
        """
        return float(sqrt_law_nb(float(q), float(self.y), float(self.sigma), float(self.daily_volume)))
