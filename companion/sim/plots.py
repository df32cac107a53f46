"""Figures for the execution-simulation chapter (08): queue-model fill rates, latency, impact.

Helpers draw on a given ``matplotlib`` axis and return it (no ``plt.show``, no global state).
Nothing here simulates: the numbers come from :class:`companion.sim.simulator.Simulator` runs and the
formulas of :mod:`companion.sim.impact`; these helpers only arrange them, with units on every axis.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from companion.plotting import legend_outside

__all__ = ["fill_rate_band", "latency_curve", "impact_curve"]


def fill_rate_band(ax, rates: Mapping[str, float] | pd.Series, *, lower: str, upper: list[str] | str,
                   exact: str | None = None, ylabel: str = "fill rate (filled / posted quantity)",
                   xlabel: str = "queue-position model"):
    """Bars of the fill rate per queue model, with the band from the ``lower`` model (the
    conservative bound) to the highest of the ``upper`` models shaded, and the ``exact`` model
    (e.g. FIFO from order ids) drawn as a horizontal line.

    ``rates``: ``{model name: fill rate in [0, 1]}`` in display order.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> rates = {"risk_averse": 0.21, "power_prob": 0.34, "log_prob": 0.30, "fifo": 0.27}
    >>> ax = fill_rate_band(Figure().subplots(), rates, lower="risk_averse", upper=["power_prob", "log_prob"],
    ...                     exact="fifo")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['band 0.210 to 0.340', 'fifo (exact) 0.270']
    """
    r = pd.Series(rates, dtype=float)
    ups = [upper] if isinstance(upper, str) else list(upper)
    lo, hi = float(r[lower]), float(r[ups].max())
    x = np.arange(len(r))
    colors = ["C3" if n == exact else ("C0" if n == lower else "C1") for n in r.index]
    ax.axhspan(lo, hi, color="0.85", zorder=0, label=f"band {lo:.3f} to {hi:.3f}")
    ax.bar(x, r.to_numpy(), color=colors, width=0.6, zorder=2)
    if exact is not None:
        ax.axhline(float(r[exact]), color="C3", ls="--", lw=1, zorder=3, label=f"{exact} (exact) {r[exact]:.3f}")
    for xi, v in zip(x, r.to_numpy()):
        ax.text(xi, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, r.index, rotation=15)
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=(0, max(hi, r.max()) * 1.12 if r.max() > 0 else 1))
    legend_outside(ax, "right")
    return ax


def latency_curve(ax, latency_s, values, *, ylabel: str, label: str | None = None, **kw):
    """A measure against one-way latency (seconds, log axis).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = latency_curve(Figure().subplots(), [1e-5, 1e-4, 1e-3], [2.0, 1.5, 0.4], ylabel="P&L per trade (bps)")
    >>> ax.get_xscale(), ax.get_xlabel()
    ('log', 'one-way latency (s)')
    """
    ax.plot(np.asarray(latency_s, dtype=float), np.asarray(values, dtype=float), "o-", label=label, **kw)
    ax.set(xscale="log", xlabel="one-way latency (s)", ylabel=ylabel)
    return ax


def impact_curve(ax, sigma_bps: float, y: float = 1.0, q_over_v=None, points: pd.DataFrame | None = None):
    """The square-root law ``I = Y sigma sqrt(Q / V)`` (bps of the price, Toth et al. 2011) against
    the participation ``Q / V`` (log axes), and optional simulated ``points`` with columns
    ``q_over_v`` and ``cost_bps`` (measured cost of single orders).

    References
    ----------
    Tóth, Lempérière, Deremble, de Lataillade, Kockelkoren & Bouchaud (2011), "Anomalous price
    impact and the critical nature of liquidity in financial markets", Phys. Rev. X 1, 021006.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ax = impact_curve(Figure().subplots(), sigma_bps=150.0, q_over_v=[1e-4, 1e-2])
    >>> ax.lines[0].get_ydata().tolist()                        # 150 bps x sqrt(Q/V)
    [1.5, 15.0]
    """
    q = np.logspace(-6, -1, 100) if q_over_v is None else np.asarray(q_over_v, dtype=float)
    ax.plot(q, y * sigma_bps * np.sqrt(q), color="C0", label=rf"$Y\sigma\sqrt{{Q/V}}$, $\sigma$ = {sigma_bps:.1f} bps/day")
    if points is not None and len(points):
        ax.plot(points["q_over_v"], points["cost_bps"], "o", color="C3", label="simulated market orders")
    ax.set(xscale="log", yscale="log", xlabel="order size / daily volume Q/V (fraction)",
           ylabel="cost against the arrival mid (bps)")
    ax.legend(loc="upper left")  # a rising curve on log-log axes leaves the upper left empty
    return ax
