"""Microstructure measures: order-flow imbalance, price impact, micro-price, trade signs, VPIN.

Each module holds ``@njit`` kernels over arrays (``*_nb``) and a thin numpy/pandas layer:

* :mod:`companion.flow.ofi` -- OFI (Cont, Kukanov & Stoikov 2014, eq. 10), clock/event bins,
  multi-level and integrated OFI (Cont, Cucuringu & Zhang 2023);
* :mod:`companion.flow.kyle` -- per-window impact regressions, depth law, Kyle's lambda;
* :mod:`companion.flow.microprice` -- weighted mid and Stoikov's (2018) micro-price;
* :mod:`companion.flow.tradesign` -- tick, quote, Lee-Ready, BVC, scored against true sides;
* :mod:`companion.flow.vpin` -- VPIN (Easley, Lopez de Prado & O'Hara 2012) and its diagnostics.
"""
from __future__ import annotations

from companion.flow.kyle import depth_law, impact_regressions, kyle_lambda, ols
from companion.flow.microprice import MicroPrice, score_predictors, weighted_mid
from companion.flow.ofi import (
    integrated_ofi,
    multilevel_ofi_bins,
    ofi_bins,
    ofi_event_windows,
    ofi_events,
    ofi_multilevel_events,
    pc1_weights,
)
from companion.flow.tradesign import (
    executions,
    lee_ready,
    quote_rule,
    score_trade_signs,
    signed_volume_events,
    tick_rule,
)
from companion.flow.vpin import vpin, vpin_diagnostics

__all__ = [
    "ofi_events", "ofi_multilevel_events", "ofi_bins", "ofi_event_windows", "multilevel_ofi_bins", "pc1_weights",
    "integrated_ofi", "ols", "impact_regressions", "depth_law", "kyle_lambda", "MicroPrice", "weighted_mid",
    "score_predictors", "executions", "signed_volume_events", "tick_rule", "quote_rule", "lee_ready",
    "score_trade_signs", "vpin", "vpin_diagnostics",
]
