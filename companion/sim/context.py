"""The strategy context: what a jitted strategy sees at a wake-up, and how it acts.

A numba strategy is ``@njit def my_strategy(ctx, params, user_state) -> None``. The simulator loop
(:func:`companion.sim.kernels.loop_nb`, i.e. the backtester, the execution engine and the live
executor's paper venue) builds a :data:`StrategyContext` at every wake-up and calls it; the
strategy reads the market and its own state through the context and acts with :func:`submit`
and :func:`cancel` -- the same verbs as the Python teaching context
(:class:`companion.sim.simulator.Context`), in the style of hftbacktest's ``hbt.depth(0)`` /
``hbt.submit_buy_order``.

Read (all delayed by the feed / response latencies: this is what the strategy could know):

- ``ctx.t``: local time of the wake-up (ns); ``ctx.k``: index of the book row it sees;
- ``ctx.book``: that row (LOBSTER layout: ask price, ask size, bid price, bid size per level);
  :func:`best_bid`, :func:`best_ask`, :func:`mid`, :func:`level_price`, :func:`level_qty`;
- ``ctx.position`` / ``ctx.cash``: the strategy's local view (fills it has been told of);
- ``ctx.orders[:ctx.n_orders]``: our orders so far (read ``local_status`` / ``local_filled``;
  ``status`` is exchange truth the strategy cannot know yet); :func:`is_live`.

Act: :func:`submit` (returns the id the order will get), :func:`buy` / :func:`sell`,
:func:`cancel`. :func:`n_actions` is how many actions the strategy wrote at this wake-up.

The loop is compiled without numba's reference counting (``_nrt=False``, for speed) and a
strategy it calls inherits that flag: a strategy must not allocate (no lists, no ``np.empty``;
keep scratch arrays in ``user_state``) unless it is declared ``@njit(_nrt=True)``.

Examples
--------
>>> import numpy as np
>>> from companion.sim.context import new_context, submit, cancel, mid, n_actions
>>> from companion.sim.orders import ACTION_DTYPE, ORDER_DTYPE, LIMIT
>>> row = np.array([10_100.0, 5.0, 10_000.0, 7.0])       # ask 10100 x 5, bid 10000 x 7
>>> ctx = new_context(0, 0, row, 0.0, 0.0, np.zeros(0, ORDER_DTYPE), 0,
...                   np.zeros(4, ACTION_DTYPE), np.zeros(2, np.int64))
>>> float(mid(ctx))
10050.0
>>> submit(ctx, 1, 100.0, 10_000, LIMIT), submit(ctx, -1, 100.0, 10_100, LIMIT)
(0, 1)
>>> bool(cancel(ctx, 0)), int(n_actions(ctx))
(True, 3)
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from companion.events import DUMMY_ASK, DUMMY_BID
from companion.sim.orders import ACT_CANCEL, ACT_SUBMIT, LIMIT, NEW, PARTIAL, PENDING

__all__ = ["StrategyContext", "new_context", "submit", "buy", "sell", "cancel", "n_actions",
           "best_bid", "best_ask", "mid", "level_price", "level_qty", "is_live",
           "CTX_N_ACTIONS", "CTX_N_SUBMITS", "CTX_COUNTERS"]

#: ``ctx.counters`` slots: actions written / submits among them at this wake-up
CTX_N_ACTIONS, CTX_N_SUBMITS = 0, 1
CTX_COUNTERS = 2

StrategyContext = namedtuple("StrategyContext", ["t", "k", "book", "position", "cash", "orders",
                                                 "n_orders", "actions", "counters"])
StrategyContext.__doc__ = """A wake-up as the strategy sees it (see the module docstring).

``counters``: int64[CTX_COUNTERS] scratch owned by the loop (reset at each wake-up)."""

# what each field holds (shown by ``help`` and the API reference)
for _name, _doc in (
        ("t", "Local time of the wake-up (ns)."),
        ("k", "Index of the book row (market event) the strategy sees."),
        ("book", "The book row it sees, in LOBSTER layout (ask price, ask size, bid price, bid size per level)."),
        ("position", "The strategy's local view of its position (fills it has been told of)."),
        ("cash", "The strategy's local view of its cash (price units x size)."),
        ("orders", "Our orders (ORDER_DTYPE); the first ``n_orders`` are real."),
        ("n_orders", "Number of orders so far."),
        ("actions", "The action buffer :func:`submit` and :func:`cancel` write (ACTION_DTYPE)."),
        ("counters", "int64[CTX_COUNTERS] scratch owned by the loop (reset at each wake-up).")):
    getattr(StrategyContext, _name).__doc__ = _doc
del _name, _doc


@njit(cache=True)
def new_context(t, k, book, position, cash, orders, n_orders, actions, counters):
    """A :data:`StrategyContext` with its counters reset (what the loop does at a wake-up)."""
    counters[CTX_N_ACTIONS] = 0
    counters[CTX_N_SUBMITS] = 0
    return StrategyContext(t, k, book, position, cash, orders, n_orders, actions, counters)


@njit(cache=True)
def n_actions(ctx) -> int:
    """How many actions the strategy has written at this wake-up."""
    return ctx.counters[CTX_N_ACTIONS]


@njit(cache=True)
def submit(ctx, side, qty, price, otype) -> int:
    """Send a new order: ``side`` +1 buy / -1 sell, ``qty`` (shares / contracts), ``price`` (int
    price units; 0 for MARKET), ``otype`` (:mod:`companion.sim.orders`). Returns the order id
    it will get (ids are rows of ``orders``: ``n_orders`` + submits before it at this wake-up), or
    -1 when the action buffer is full (nothing is sent)."""
    n = ctx.counters[CTX_N_ACTIONS]
    if n >= ctx.actions.shape[0]:
        return -1
    a = ctx.actions[n]
    a.kind = ACT_SUBMIT
    a.side = side
    a.otype = otype
    a.price = np.int64(price)
    a.qty = qty
    oid = ctx.n_orders + ctx.counters[CTX_N_SUBMITS]
    ctx.counters[CTX_N_ACTIONS] = n + 1
    ctx.counters[CTX_N_SUBMITS] += 1
    return oid


@njit(cache=True)
def buy(ctx, qty, price, otype=LIMIT) -> int:
    """:func:`submit` a buy."""
    return submit(ctx, 1, qty, price, otype)


@njit(cache=True)
def sell(ctx, qty, price, otype=LIMIT) -> int:
    """:func:`submit` a sell."""
    return submit(ctx, -1, qty, price, otype)


@njit(cache=True)
def cancel(ctx, order_id) -> bool:
    """Cancel our order ``order_id``; False when the action buffer is full (nothing is sent)."""
    n = ctx.counters[CTX_N_ACTIONS]
    if n >= ctx.actions.shape[0]:
        return False
    a = ctx.actions[n]
    a.kind = ACT_CANCEL
    a.order_id = order_id
    ctx.counters[CTX_N_ACTIONS] = n + 1
    return True


@njit(cache=True)
def is_live(local_status) -> bool:
    """An order the strategy believes can still fill: pending, new or partly filled."""
    return local_status == PENDING or local_status == NEW or local_status == PARTIAL


@njit(cache=True)
def level_price(ctx, side, level) -> float:
    """Price of the ``level``-th level (0 = best) of ``side`` (+1 bid, -1 ask); nan when empty."""
    row = ctx.book
    j = 4 * level + (2 if side > 0 else 0)
    if j + 1 >= row.shape[0] or row[j + 1] <= 0.0:
        return np.nan
    px = row[j]
    if px >= DUMMY_ASK or px <= DUMMY_BID:
        return np.nan
    return px


@njit(cache=True)
def level_qty(ctx, side, level) -> float:
    """Visible quantity of the ``level``-th level (0 = best) of ``side``; 0 when empty."""
    if level_price(ctx, side, level) != level_price(ctx, side, level):
        return 0.0
    return ctx.book[4 * level + (3 if side > 0 else 1)]


@njit(cache=True)
def best_bid(ctx) -> float:
    """Best bid price (price units); nan when the bid side is empty."""
    return level_price(ctx, 1, 0)


@njit(cache=True)
def best_ask(ctx) -> float:
    """Best ask price (price units); nan when the ask side is empty."""
    return level_price(ctx, -1, 0)


@njit(cache=True)
def mid(ctx) -> float:
    """Mid price (price units); nan when a side is empty."""
    return 0.5 * (best_bid(ctx) + best_ask(ctx))
