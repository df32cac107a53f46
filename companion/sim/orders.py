"""Order types, statuses, reject reasons and the structured dtypes the exchange simulator writes.

Every code is a plain ``int`` so numba kernels compare them directly; the ``*_NAMES`` dicts turn
them back into words in the pandas layer.

Ids: our order id is its row in the ``orders`` array (0, 1, 2, ... in submission order), so a
strategy that submits ``k`` orders at a wake-up knows their ids are ``n_orders .. n_orders+k-1``.

Prices are int64 price units (see :mod:`companion.events`); quantities float64; times int64 ns.
Money (cash, fees) is in price units x size, e.g. LOBSTER dollars x 10000 x shares.
"""
from __future__ import annotations

import numpy as np

# --- order types -----------------------------------------------------------------------------
LIMIT = 1      #: rests the unfilled remainder (good till cancel)
MARKET = 2     #: walks the opposite book (then the impact law, if one is set); remainder expires
IOC = 3        #: immediate-or-cancel limit, takes what it can inside its limit; the remainder expires
FOK = 4        #: fill-or-kill limit, fills entirely at once inside its limit or expires untouched
POST_ONLY = 5  #: maker-only limit, rejected if it would cross the opposite best on arrival
ORDER_TYPE_NAMES = {LIMIT: "LIMIT", MARKET: "MARKET", IOC: "IOC", FOK: "FOK", POST_ONLY: "POST_ONLY"}

# --- order status (exchange truth in ``status``; the strategy's delayed view in ``local_status``)
PENDING = 0    #: sent, not yet at the exchange (in the order-entry latency channel)
NEW = 1        #: resting at the exchange, nothing filled
PARTIAL = 2    #: resting, partly filled
FILLED = 3
CANCELED = 4
REJECTED = 5   #: refused (see ``reason``); never fills
EXPIRED = 6    #: IOC/market remainder, FOK that could not fill
STATUS_NAMES = {PENDING: "PENDING", NEW: "NEW", PARTIAL: "PARTIAL", FILLED: "FILLED",
                CANCELED: "CANCELED", REJECTED: "REJECTED", EXPIRED: "EXPIRED"}

# --- reject / expiry reasons -----------------------------------------------------------------
R_NONE = 0
R_BAD_QTY = 1          #: quantity <= 0, not finite, or not a multiple of the lot
R_OFF_TICK = 2         #: limit price not a multiple of the tick
R_BAD_TYPE = 3         #: unknown order type
R_BAD_SIDE = 4         #: side not +1/-1
R_POST_ONLY_CROSS = 5  #: post-only order would take liquidity
R_FOK_UNFILLABLE = 6   #: FOK with not enough liquidity inside the limit (status EXPIRED)
R_NO_LIQUIDITY = 7     #: market order against an empty opposite side / no book yet
R_RISK = 8             #: refused by the pre-trade risk check (never sent)
R_UNKNOWN_ORDER = 9    #: cancel of an order id that does not exist
R_NO_DEPTH = 10        #: IOC/market remainder beyond visible depth (status EXPIRED)
R_BAD_PRICE = 11       #: limit price <= 0
REASON_NAMES = {R_NONE: "", R_BAD_QTY: "BAD_QTY", R_OFF_TICK: "OFF_TICK", R_BAD_TYPE: "BAD_TYPE",
                R_BAD_SIDE: "BAD_SIDE", R_POST_ONLY_CROSS: "POST_ONLY_WOULD_CROSS",
                R_FOK_UNFILLABLE: "FOK_UNFILLABLE", R_NO_LIQUIDITY: "NO_LIQUIDITY",
                R_RISK: "RISK", R_UNKNOWN_ORDER: "UNKNOWN_ORDER", R_NO_DEPTH: "NO_DEPTH",
                R_BAD_PRICE: "BAD_PRICE"}

# --- liquidity flag of a fill ----------------------------------------------------------------
MAKER = 1
TAKER = 2

# --- strategy actions ------------------------------------------------------------------------
ACT_SUBMIT = 1
ACT_CANCEL = 2

ORDER_DTYPE = np.dtype([
    ("order_id", np.int64),
    ("side", np.int8),          # +1 buy, -1 sell
    ("otype", np.int8),         # LIMIT/MARKET/IOC/FOK/POST_ONLY
    ("price", np.int64),        # limit price, price units (0 for market orders)
    ("qty", np.float64),
    ("ts_submit", np.int64),    # strategy (local) time the order was sent
    ("ts_arrive", np.int64),    # exchange time it reached the matching engine (-1: never)
    ("ts_ack", np.int64),       # local time the ack / reject reached the strategy (-1: never)
    ("ts_done", np.int64),      # exchange time of the final state (-1: still open)
    ("status", np.int8),        # exchange truth
    ("reason", np.int8),        # reject / expiry reason
    ("filled", np.float64),
    ("avg_price", np.float64),  # volume-weighted fill price (nan when nothing filled)
    ("fee", np.float64),        # total fees paid (negative = rebate), price units x size
    ("queue_ahead", np.float64),  # model's quantity ahead of us (resting orders), >= 0
    ("level_qty", np.float64),  # last known visible quantity at our price
    ("cum_trade", np.float64),  # traded qty at our price since the last depth update (L2 data)
    ("arr_event", np.int64),    # first event index applied after arrival (FIFO boundary)
    ("shadow", np.float64),     # opposite liquidity crossing our price already used by us but
                                # still shown by the replay (taken on arrival / filled us)
    ("local_status", np.int8),  # the strategy's view (after response latency)
    ("local_filled", np.float64),
    ("by_risk", np.int8),       # 1 when submitted by the risk manager
])

FILL_DTYPE = np.dtype([
    ("order_id", np.int64),
    ("ts", np.int64),           # exchange time of the fill
    ("ts_local", np.int64),     # time the strategy learns of it (ts + response latency)
    ("event_idx", np.int64),    # first row of the position/cash series that includes this fill
    ("side", np.int8),
    ("price", np.float64),      # price units (float: impact prices may be off the visible book)
    ("qty", np.float64),
    ("liquidity", np.int8),     # MAKER / TAKER
    ("fee", np.float64),        # price units x size, negative = rebate
    ("queue_model", np.int8),   # queue model code used for maker fills
    ("position", np.float64),   # exchange-truth position after this fill
    ("cash", np.float64),       # exchange-truth cash after this fill
])

ACTION_DTYPE = np.dtype([
    ("kind", np.int8),          # ACT_SUBMIT / ACT_CANCEL
    ("side", np.int8),
    ("otype", np.int8),
    ("price", np.int64),
    ("qty", np.float64),
    ("order_id", np.int64),     # target of a cancel
])

# internal channels
REQ_DTYPE = np.dtype([("t", np.int64), ("kind", np.int8), ("order_id", np.int64)])
RESP_ACK, RESP_FILL, RESP_DONE = 1, 2, 3
RESP_DTYPE = np.dtype([("t", np.int64), ("kind", np.int8), ("order_id", np.int64),
                       ("qty", np.float64), ("price", np.float64), ("fee", np.float64),
                       ("status", np.int8)])


def empty_actions(n: int = 64) -> np.ndarray:
    """A zeroed action buffer for a numba strategy (``n`` = most actions per wake-up).

    Examples
    --------
    >>> a = empty_actions(4)
    >>> a.dtype == ACTION_DTYPE, len(a), int(a["kind"].sum())
    (True, 4, 0)
    >>> a[0] = (ACT_SUBMIT, 1, LIMIT, 1_000_000, 100.0, 0)          # buy 100 at 100.00 (price units)
    """
    return np.zeros(n, dtype=ACTION_DTYPE)
