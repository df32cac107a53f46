"""The exchange simulator core: one resumable numba loop over replayed market events.

Three clocks are merged in time order (ties: market event, then order arrival, then wake-up):

1. **market event** ``i`` at exchange time ``ts[i]``: book row ``i`` becomes current; our resting
   orders' queue positions move (:mod:`companion.sim.queue`) and may fill;
2. **order arrival** at ``t_send + entry latency``: validated (reject reasons in
   :mod:`companion.sim.orders`), matched against the current book row (taker fills walk the
   visible levels, then :mod:`companion.sim.impact`), the remainder rests or expires;
3. **strategy wake-up** when the strategy sees event ``k`` at ``max(ts, ts_local) + feed
   latency``: responses (acks, fills, cancels) that have arrived by then update its local view,
   the risk manager (:mod:`companion.sim.risk`) checks, then the strategy acts.

Our orders never change the replayed market data (no market impact on the replay; hftbacktest
makes the same assumption). Within one book row we do not use liquidity twice: what our taker
orders took from each visible level of the current row is tracked (``fstate[F_TAKEN:]``), so
a second aggressive order arriving before the next market event walks only what is left, and
an order that rests after taking counts the crossing quantity already used (``shadow``). From
the next market event on, the replay's row is the reference again.

One loop, :func:`loop_nb`, behind every entry point: :func:`run_strategy_nb` (the numba fast
path) calls the jitted strategy inside it; :func:`step_nb` returns ``WAKEUP`` at each wake-up
and is called again with the strategy's actions, sent at the wake-up time (the Python teaching
path, :meth:`companion.sim.simulator.Simulator.run_python`, calls a Python function between two
``step_nb`` calls); :func:`companion.live.venue.paper_step_nb` is ``step_nb`` over events that
arrive chunk by chunk.

Accounting (exchange truth, per fill): ``position += side * qty``,
``cash -= side * price * qty + fee``; equity at a mark ``m`` is ``cash + position * m``.
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.core import types
from numba.typed import Dict

from companion.events import ADD, CANCEL, CLEAR, DELETE, EXEC_HIDDEN, EXEC_VISIBLE, LEVEL_SET, TRADE
from companion.sim.context import CTX_COUNTERS, CTX_N_ACTIONS, CTX_N_SUBMITS, StrategyContext
from companion.sim.fees import fee_nb
from companion.sim.impact import sqrt_impact_price_nb
from companion.sim.latency import LAT_CONSTANT, latency_draw_nb
from companion.sim.orders import (
    ACT_CANCEL,
    ACT_SUBMIT,
    CANCELED,
    EXPIRED,
    FILLED,
    FOK,
    IOC,
    LIMIT,
    MAKER,
    MARKET,
    NEW,
    PARTIAL,
    PENDING,
    POST_ONLY,
    R_BAD_PRICE,
    R_BAD_QTY,
    R_BAD_SIDE,
    R_BAD_TYPE,
    R_FOK_UNFILLABLE,
    R_NO_DEPTH,
    R_NO_LIQUIDITY,
    R_NONE,
    R_OFF_TICK,
    R_POST_ONLY_CROSS,
    R_RISK,
    REJECTED,
    RESP_ACK,
    RESP_DONE,
    RESP_FILL,
    TAKER,
)
from companion.sim.queue import Q_FIFO, Q_RISK_AVERSE, queue_on_decrease_nb, queue_on_trade_nb
from companion.sim.risk import (
    ACTION_BLOCK,
    ACTION_CLOSE,
    ACTION_HALT,
    ACTION_NONE,
    ACTION_REJECT,
    L_MAX_POSITION,
    MINUTE_NS,
    RULE_MAX_POSITION,
    RULE_NONE,
    risk_check_nb,
    risk_pretrade_ok_nb,
)
from companion.stats import level_ok_nb, price_ok_nb

# return codes of the loop (step_nb, run_strategy_nb, companion.live.venue.paper_step_nb)
DONE, WAKEUP, ERR_ORDERS_FULL, ERR_FILLS_FULL, ERR_CHANNEL_FULL, ERR_RISKLOG_FULL = 0, 1, 2, 3, 4, 5
NEED_DATA = 9  # incremental data only: nothing more to do before the next chunk
_ERRORS = {ERR_ORDERS_FULL: "orders", ERR_FILLS_FULL: "fills", ERR_CHANNEL_FULL: "channel",
           ERR_RISKLOG_FULL: "risk log"}

# int64 state
I_EV, I_SEEN, I_SEEN_T, I_NORD, I_NFILL, I_REQ_HEAD, I_REQ_TAIL, I_RESP_HEAD = 0, 1, 2, 3, 4, 5, 6, 7
I_RESP_TAIL, I_LAST_FEED, I_LAST_ENTRY, I_LAST_RESP, I_WAKE_T, I_WAKE_EV = 8, 9, 10, 11, 12, 13
I_LAST_WAKE, I_NRISK, I_HALTED, I_FIRST_OPEN, I_POS_OPEN_T, I_BLOCK_RULE = 14, 15, 16, 17, 18, 19
I_CLOSE_OID, I_BAD_CANCELS, I_ERR, I_TAKEN_EV = 20, 21, 22, 23
I_CTX = 24  #: first of the ``CTX_COUNTERS`` istate slots that hold the strategy context counters
N_ISTATE = I_CTX + CTX_COUNTERS
# float64 state
F_POS, F_CASH, F_LPOS, F_LCASH, F_POS_OPEN_EQ = 0, 1, 2, 3, 4
N_FSTATE = 8
# fstate[F_TAKEN:F_TAKEN + 2 L]: what our taker orders took from each visible level of the current
# book row (asks, then bids), valid for book row I_TAKEN_EV - 1; allocate N_FSTATE + 2 L
F_TAKEN = N_FSTATE
# config vector
C_QMODEL, C_QN, C_FEE_UNIT, C_MAKER, C_TAKER, C_TICK, C_LOT = 0, 1, 2, 3, 4, 5, 6
C_IMP_Y, C_IMP_SIGMA, C_IMP_V, C_WAKE_INTERVAL, C_HAS_IDS = 7, 8, 9, 10, 11
N_CFG = 12
# latency channels (rows of the latency spec)
CH_FEED, CH_ENTRY, CH_RESP = 0, 1, 2

_BIG = np.iinfo(np.int64).max
_EPS = 1e-9


# ----------------------------------------------------------------------------------------------
# book helpers
@njit(cache=True, _nrt=False, forceinline=True)
def level_nb(row: np.ndarray, side: int, lv: int) -> tuple[float, float]:
    """Price and size of level ``lv`` (0 = best) of ``side`` (+1 bid, -1 ask) in a LOBSTER row; the
    size is 0.0 when the level is empty (:func:`companion.stats.level_ok_nb`), so a walk stops at
    ``sz <= 0``."""
    c = 2 if side > 0 else 0
    px = row[4 * lv + c]
    sz = row[4 * lv + c + 1]
    return px, (sz if level_ok_nb(px, sz) else 0.0)


@njit(cache=True)
def best_price_nb(row: np.ndarray, side: int) -> float:
    """Best price of ``side`` (+1 bid, -1 ask) in a LOBSTER row; nan when the side is empty."""
    px, sz = level_nb(row, side, 0)
    return px if sz > 0.0 else np.nan


@njit(cache=True, _nrt=False)
def visible_qty_at_nb(row: np.ndarray, side: int, price: float) -> float:
    """Visible quantity at ``price`` on ``side``. A price beyond the deepest visible level (all
    levels shown, so the book continues unseen) gets the deepest level's quantity as a proxy."""
    nlev = row.shape[0] // 4
    last = 0.0
    for lv in range(nlev):
        px, sz = level_nb(row, side, lv)
        if sz <= 0.0:
            return 0.0  # the side ends inside the window: price is empty
        if px == price:
            return sz
        if (side > 0 and px < price) or (side < 0 and px > price):
            return 0.0  # between two visible levels
        last = sz
    return last


@njit(cache=True, _nrt=False, forceinline=True)
def crossing_qty_nb(row: np.ndarray, side: int, price: float) -> float:
    """Visible opposite quantity at prices that cross a ``side`` order at ``price`` (asks <= a
    buy's price, bids >= a sell's price)."""
    nlev = row.shape[0] // 4
    q = 0.0
    for lv in range(nlev):
        px, sz = level_nb(row, -side, lv)
        if sz <= 0.0:
            break
        if (side > 0 and px > price) or (side < 0 and px < price):
            break
        q += sz
    return q


@njit(cache=True)
def write_market_columns_nb(events, mkt, order_id, start):
    """Write the fields of ``events`` (:data:`companion.events.EVENT_DTYPE`, or any record with
    its fields) into the loop's market columns ``mkt[0:6]`` (ts, ts_local, kind, side, price,
    size) and into ``order_id`` (skipped when it is empty) from row ``start`` on, in one pass over
    the records. Returns ``(has_ids, is_sorted)``: whether any order id is non-zero, whether
    ``ts`` is non-decreasing from row ``start - 1`` on."""
    ts, ts_local, kind, side, price, size = mkt[0], mkt[1], mkt[2], mkt[3], mkt[4], mkt[5]
    keep_ids = order_id.shape[0] > 0
    has_ids = False
    is_sorted = True
    for j in range(events.shape[0]):
        i = start + j
        e = events[j]
        ts[i] = e.ts
        ts_local[i] = e.ts_local
        kind[i] = e.kind
        side[i] = e.side
        price[i] = e.price
        size[i] = e.size
        if keep_ids:
            order_id[i] = e.order_id
        if e.order_id != 0:
            has_ids = True
        if i > 0 and ts[i] < ts[i - 1]:
            is_sorted = False
    return has_ids, is_sorted


@njit(cache=True)
def order_add_index_nb(kind: np.ndarray, order_id: np.ndarray) -> np.ndarray:
    """For each event, the index of the ADD of the order it refers to (-1: added before the data
    starts, or no id). FIFO uses it: an order is ahead of ours iff its ADD came before our
    arrival."""
    out = np.empty(kind.shape[0], dtype=np.int64)
    add_index_into_nb(kind, order_id, 0, kind.shape[0], Dict.empty(key_type=types.int64, value_type=types.int64),
                      out)
    return out


@njit(cache=True)
def add_index_into_nb(kind: np.ndarray, order_id: np.ndarray, start: int, stop: int, seen, out: np.ndarray) -> None:
    """Streaming :func:`order_add_index_nb` over events ``start..stop-1``: ``out[i]`` = index of the
    ADD of event ``i``'s order (-1: unknown / no id); ``seen`` (typed dict order id -> ADD index)
    carries the state across chunks (:mod:`companion.live.venue`)."""
    for i in range(start, stop):
        oid = order_id[i]
        out[i] = -1
        if oid == 0:
            continue
        if kind[i] == ADD:
            seen[oid] = i
            out[i] = i
        elif oid in seen:
            out[i] = seen[oid]


# ----------------------------------------------------------------------------------------------
# channels and fills
@njit(cache=True, _nrt=False, forceinline=True)
def _append_row_nb(istate, count, buf, err):
    """Index of a new row at the end of ``buf``, whose row count ``istate[count]`` it bumps; -1 with
    ``istate[I_ERR] = err`` when ``buf`` is full."""
    n = istate[count]
    if n >= buf.shape[0]:
        istate[I_ERR] = err
        return -1
    istate[count] = n + 1
    return n


@njit(cache=True, _nrt=False, forceinline=True)
def _draw_nb(lat, ch, t, rng):
    spec, tabs = lat
    return latency_draw_nb(int(spec[ch, 0]), spec[ch, 1], spec[ch, 2], tabs[ch], t, rng)


@njit(cache=True, _nrt=False, forceinline=True)
def _channel_time_nb(lat, ch, istate, last, t, rng):
    """Delivery time of a message sent at ``t`` on channel ``ch``: ``t`` + a latency draw, never
    before the channel's previous message (``istate[last]``, which it becomes): channels are FIFO."""
    ta = t + _draw_nb(lat, ch, t, rng)
    if ta < istate[last]:
        ta = istate[last]
    istate[last] = ta
    return ta


@njit(cache=True, _nrt=False, forceinline=True)
def _send_nb(lat, st, queue, tail, ch, last, t, kind, oid):
    """Append a message sent at ``t`` to the queue of channel ``ch`` (row count ``istate[tail]``,
    previous delivery time ``istate[last]``): its row (``t`` the delivery time, ``kind``, ``order_id``)
    and delivery time, or ``(-1, -1)`` when the queue is full."""
    istate, fstate, rng = st
    n = _append_row_nb(istate, tail, queue, ERR_CHANNEL_FULL)
    if n < 0:
        return -1, -1
    ta = _channel_time_nb(lat, ch, istate, last, t, rng)
    queue[n].t = ta
    queue[n].kind = kind
    queue[n].order_id = oid
    return n, ta


@njit(cache=True, _nrt=False, forceinline=True)
def _respond_nb(lat, st, out, t, kind, oid, qty, price, fee, status):
    """Queue a response at exchange time ``t``; returns its local delivery time (-1 if full)."""
    n, tr = _send_nb(lat, st, out[3], I_RESP_TAIL, CH_RESP, I_LAST_RESP, t, kind, oid)
    if n < 0:
        return -1
    r = out[3][n]
    r.qty = qty
    r.price = price
    r.fee = fee
    r.status = status
    return tr


@njit(cache=True, _nrt=False, forceinline=True)
def _fill_nb(cfg, lat, st, out, j, price, qty, liq, t, ev_idx):
    """Book one fill of order ``j``: accounting, fill row, response."""
    istate, fstate, rng = st
    orders, fills = out[0], out[1]
    nf = _append_row_nb(istate, I_NFILL, fills, ERR_FILLS_FULL)
    if nf < 0:
        return
    o = orders[j]
    rate = cfg[C_MAKER] if liq == MAKER else cfg[C_TAKER]
    fee = fee_nb(int(cfg[C_FEE_UNIT]), rate, price, qty)
    fstate[F_POS] += o.side * qty
    fstate[F_CASH] -= o.side * price * qty + fee
    if o.filled <= 0.0:
        o.avg_price = price
    else:
        o.avg_price = (o.avg_price * o.filled + price * qty) / (o.filled + qty)
    o.filled += qty
    o.fee += fee
    if o.filled >= o.qty - _EPS:
        o.filled = o.qty
        o.status = FILLED
        o.ts_done = t
        o.queue_ahead = 0.0
    else:
        o.status = PARTIAL
    tl = _respond_nb(lat, st, out, t, RESP_FILL, j, qty, price, fee, o.status)
    f = fills[nf]
    f.order_id = j
    f.ts = t
    f.ts_local = tl
    f.event_idx = ev_idx
    f.side = o.side
    f.price = price
    f.qty = qty
    f.liquidity = liq
    f.fee = fee
    f.queue_model = int(cfg[C_QMODEL])
    f.position = fstate[F_POS]
    f.cash = fstate[F_CASH]


@njit(cache=True, _nrt=False, forceinline=True)
def _finish_nb(lat, st, out, j, t, status, reason):
    o = out[0][j]
    o.status = status
    o.reason = reason
    o.ts_done = t
    tl = _respond_nb(lat, st, out, t, RESP_DONE, j, 0.0, 0.0, 0.0, status)
    if status == REJECTED:
        o.ts_ack = tl


# ----------------------------------------------------------------------------------------------
# order arrival at the matching engine
@njit(cache=True, _nrt=False)
def _walk_nb(row, side, limit, is_market, qty, fstate, tk, mid0):
    """Dry run of a walk of the opposite side: (qty available within the limit, net of what our
    earlier orders took from this row (``fstate[tk + level]``, ``tk < 0``: nothing), last price,
    window exhausted = every visible level was inside the limit, cost of the available qty from
    ``mid0``: sum of side * (price - mid0) * qty)."""
    nlev = row.shape[0] // 4
    avail = 0.0
    cost = 0.0
    last = np.nan
    for lv in range(nlev):
        px, sz = level_nb(row, -side, lv)
        if sz <= 0.0:
            return avail, last, False, cost
        if not is_market and ((side > 0 and px > limit) or (side < 0 and px < limit)):
            return avail, last, False, cost
        if tk >= 0:
            sz = max(sz - fstate[tk + lv], 0.0)
        avail += sz
        cost += side * (px - mid0) * sz
        last = px
        if avail >= qty:
            return avail, last, False, cost
    return avail, last, True, cost


@njit(cache=True, _nrt=False, forceinline=True)
def _arrive_submit_nb(mkt, cfg, lat, st, out, j, t):
    istate, fstate, rng = st
    book = mkt[7]
    o = out[0][j]
    i = istate[I_EV]
    o.ts_arrive = t
    o.arr_event = i
    tick = cfg[C_TICK]
    lot = cfg[C_LOT]
    # --- validation
    reason = R_NONE
    if o.side != 1 and o.side != -1:
        reason = R_BAD_SIDE
    elif o.otype < LIMIT or o.otype > POST_ONLY:
        reason = R_BAD_TYPE
    elif not (o.qty > 0.0) or not np.isfinite(o.qty):
        reason = R_BAD_QTY
    elif lot > 0.0 and abs(o.qty / lot - np.round(o.qty / lot)) > 1e-9:
        reason = R_BAD_QTY
    elif o.otype != MARKET and o.price <= 0:
        reason = R_BAD_PRICE
    elif o.otype != MARKET and tick > 0.0 and o.price % int(tick) != 0:
        reason = R_OFF_TICK
    if reason == R_NONE and i == 0:
        reason = R_NO_LIQUIDITY
    if reason != R_NONE:
        _finish_nb(lat, st, out, j, t, REJECTED, reason)
        return
    row = book[i - 1]
    side = int(o.side)
    is_market = o.otype == MARKET
    limit = float(o.price)
    opp = best_price_nb(row, -side)
    crosses = is_market or (opp == opp and ((side > 0 and limit >= opp) or
                                            (side < 0 and limit <= opp)))
    if o.otype == POST_ONLY and crosses:
        _finish_nb(lat, st, out, j, t, REJECTED, R_POST_ONLY_CROSS)
        return
    if is_market and opp != opp:
        _finish_nb(lat, st, out, j, t, REJECTED, R_NO_LIQUIDITY)
        return
    y, sig, vol = cfg[C_IMP_Y], cfg[C_IMP_SIGMA], cfg[C_IMP_V]
    # liquidity our earlier orders took from this same book row is gone: track it per level until
    # the next market event (the replay itself never shows our impact)
    nlev = row.shape[0] // 4
    tk = -1
    if crosses and fstate.shape[0] >= F_TAKEN + 2 * nlev:
        if istate[I_TAKEN_EV] != i:
            for m in range(2 * nlev):
                fstate[F_TAKEN + m] = 0.0
            istate[I_TAKEN_EV] = i
        tk = F_TAKEN if side > 0 else F_TAKEN + nlev
    # arrival mid of the impact model (companion.sim.impact): the opposite quote if our side is empty
    own = best_price_nb(row, side)
    mid0 = 0.5 * (own + opp) if own == own else opp
    if o.otype == FOK:
        avail, last, exhausted, wcost = _walk_nb(row, side, limit, False, o.qty, fstate, tk, mid0)
        ok = avail >= o.qty - _EPS
        if not ok and exhausted:
            px = sqrt_impact_price_nb(side, mid0, last, o.qty, o.qty - avail, wcost, y, sig, vol)
            ok = px == px and ((side > 0 and px <= limit) or (side < 0 and px >= limit))
        if not ok:
            _finish_nb(lat, st, out, j, t, EXPIRED, R_FOK_UNFILLABLE)
            return
    o.ts_ack = _respond_nb(lat, st, out, t, RESP_ACK, j, 0.0, 0.0, 0.0, NEW)
    o.status = NEW
    # --- take liquidity
    if crosses:
        last = np.nan
        exhausted = True
        f0 = o.filled
        wcost = 0.0
        for lv in range(nlev):
            rem = o.qty - o.filled
            if rem <= _EPS:
                exhausted = False
                break
            px, sz = level_nb(row, -side, lv)
            if sz <= 0.0:
                exhausted = False
                break
            if not is_market and ((side > 0 and px > limit) or (side < 0 and px < limit)):
                exhausted = False
                break
            last = px
            if tk >= 0:
                sz -= fstate[tk + lv]
            if sz <= _EPS:
                continue  # our earlier orders took this level already
            q = min(rem, sz)
            _fill_nb(cfg, lat, st, out, j, px, q, TAKER, t, i)
            wcost += side * (px - mid0) * q
            if tk >= 0:
                fstate[tk + lv] += q
        rem = o.qty - o.filled
        if rem > _EPS and exhausted:
            px = sqrt_impact_price_nb(side, mid0, last, o.qty - f0, rem, wcost, y, sig, vol)
            if px == px and (is_market or (side > 0 and px <= limit) or
                             (side < 0 and px >= limit)):
                _fill_nb(cfg, lat, st, out, j, px, rem, TAKER, t, i)
    if o.status == FILLED:
        return
    if is_market:
        _finish_nb(lat, st, out, j, t, EXPIRED, R_NO_DEPTH)
        return
    if o.otype == IOC:
        _finish_nb(lat, st, out, j, t, EXPIRED, R_NONE)
        return
    # --- rest: join the back of the visible queue at our price
    q = visible_qty_at_nb(row, side, limit)
    o.queue_ahead = q
    o.level_qty = q
    o.cum_trade = 0.0
    # what we took is gone in reality, though the replay still shows it: the crossing quantity
    # already used, by this order and by our earlier orders on this book row
    sh = o.filled
    if tk >= 0:
        used = 0.0
        c = 0 if side > 0 else 2
        for lv in range(nlev):
            px = row[4 * lv + c]
            if not price_ok_nb(px) or (side > 0 and px > limit) or (side < 0 and px < limit):
                break
            used += fstate[tk + lv]
        sh = max(sh, used)
    o.shadow = sh


@njit(cache=True, _nrt=False, forceinline=True)
def _arrive_cancel_nb(lat, st, out, j, t):
    o = out[0][j]
    if o.status == NEW or o.status == PARTIAL:
        _finish_nb(lat, st, out, j, t, CANCELED, R_NONE)
        o.queue_ahead = 0.0


# ----------------------------------------------------------------------------------------------
# market event at the exchange
@njit(cache=True, _nrt=False, forceinline=True)
def _apply_event_nb(mkt, cfg, lat, st, out, i):
    istate, fstate, rng = st
    ts, kind, side, price, size, add_idx, book = mkt[0], mkt[2], mkt[3], mkt[4], mkt[5], mkt[6], mkt[7]
    orders = out[0]
    t = ts[i]
    k = kind[i]
    s = side[i]
    p = float(price[i])
    v = size[i]
    model = int(cfg[C_QMODEL])
    qn = cfg[C_QN]
    fifo = model == Q_FIFO and cfg[C_HAS_IDS] > 0.0
    row = book[i]
    first = istate[I_FIRST_OPEN]
    nord = istate[I_NORD]
    while first < nord and orders[first].status != PENDING and orders[first].status != NEW \
            and orders[first].status != PARTIAL:
        first += 1
    istate[I_FIRST_OPEN] = first
    for j in range(first, nord):
        o = orders[j]
        if (o.status != NEW and o.status != PARTIAL) or o.ts_arrive < 0:
            continue
        at_level = s == o.side and p == o.price
        if k == ADD:
            if at_level:
                o.level_qty += v
        elif k == CANCEL or k == DELETE:
            if at_level:
                prev = o.level_qty
                new = max(prev - v, 0.0)
                if fifo:
                    if add_idx[i] < o.arr_event:
                        o.queue_ahead = max(o.queue_ahead - v, 0.0)
                else:
                    o.queue_ahead = queue_on_decrease_nb(model, qn, o.queue_ahead, prev, new, v)
                o.level_qty = new
        elif k == EXEC_VISIBLE or k == EXEC_HIDDEN or k == TRADE:
            rest_side = -s if k == TRADE else s
            if rest_side == o.side:
                avail = 0.0
                if p == o.price and k != EXEC_HIDDEN:
                    if fifo and k == EXEC_VISIBLE and add_idx[i] < o.arr_event:
                        o.queue_ahead = max(o.queue_ahead - v, 0.0)
                    else:
                        front, avail = queue_on_trade_nb(o.queue_ahead, v)
                        o.queue_ahead = front
                    if k == EXEC_VISIBLE:
                        o.level_qty = max(o.level_qty - v, 0.0)
                    else:
                        o.cum_trade += v
                elif (o.side > 0 and p < o.price) or (o.side < 0 and p > o.price):
                    avail = o.qty  # traded through our price: we were hit first
                if avail > 0.0:
                    _fill_nb(cfg, lat, st, out, j, float(o.price), min(avail, o.qty - o.filled),
                             MAKER, t, i)
        elif k == LEVEL_SET:
            if at_level:
                prev = o.level_qty
                chg = prev - v - o.cum_trade
                o.cum_trade = 0.0
                m = Q_RISK_AVERSE if model == Q_FIFO else model
                o.queue_ahead = queue_on_decrease_nb(m, qn, o.queue_ahead, prev, v, chg)
                o.level_qty = v
        elif k == CLEAR:
            o.level_qty = 0.0
            o.cum_trade = 0.0
        # the opposite side crossed our price: filled at our price by the crossing quantity
        # beyond the phantom liquidity we already used (the replay still shows what we took)
        if o.status == NEW or o.status == PARTIAL:
            cq = crossing_qty_nb(row, int(o.side), float(o.price))
            if cq < o.shadow:
                o.shadow = cq
            if cq > o.shadow + _EPS:
                q = min(cq - o.shadow, o.qty - o.filled)
                o.shadow += q
                _fill_nb(cfg, lat, st, out, j, float(o.price), q, MAKER, t, i)


# ----------------------------------------------------------------------------------------------
# the strategy side: local view, submissions, risk
@njit(cache=True, _nrt=False, forceinline=True)
def _deliver_nb(st, out, t):
    """Apply every response delivered by local time ``t`` to the strategy's view."""
    istate, fstate, rng = st
    orders, resps = out[0], out[3]
    h = istate[I_RESP_HEAD]
    while h < istate[I_RESP_TAIL] and resps[h].t <= t:
        r = resps[h]
        o = orders[r.order_id]
        if r.kind == RESP_ACK:
            if o.local_status == PENDING:
                o.local_status = NEW
        elif r.kind == RESP_FILL:
            old = fstate[F_LPOS]
            o.local_filled += r.qty
            fstate[F_LPOS] += o.side * r.qty
            fstate[F_LCASH] -= o.side * r.price * r.qty + r.fee
            o.local_status = FILLED if o.local_filled >= o.qty - _EPS else PARTIAL
            new = fstate[F_LPOS]
            if abs(new) < _EPS:
                fstate[F_LPOS] = 0.0
                istate[I_POS_OPEN_T] = -1
            elif abs(old) < _EPS or old * new < 0.0:
                istate[I_POS_OPEN_T] = r.t
                fstate[F_POS_OPEN_EQ] = fstate[F_LCASH] + new * r.price
        else:
            o.local_status = r.status
        h += 1
    istate[I_RESP_HEAD] = h


@njit(cache=True, _nrt=False, forceinline=True)
def _push_req_nb(lat, st, out, t, kind, oid):
    """Send a request (``kind`` ACT_SUBMIT / ACT_CANCEL of order ``oid``) at local time ``t``."""
    _send_nb(lat, st, out[2], I_REQ_TAIL, CH_ENTRY, I_LAST_ENTRY, t, kind, oid)


@njit(cache=True, _nrt=False, forceinline=True)
def _log_risk_nb(st, out, t, ev, rule, action, equity, value):
    istate, fstate, rng = st
    log = out[4]
    n = _append_row_nb(istate, I_NRISK, log, ERR_RISKLOG_FULL)
    if n < 0:
        return
    log[n].ts = t
    log[n].event_idx = ev
    log[n].rule = rule
    log[n].action = action
    log[n].position = fstate[F_LPOS]
    log[n].equity = equity
    log[n].value = value


@njit(cache=True, _nrt=False, forceinline=True)
def _submit_nb(lat, st, out, limits, t, side, otype, price, qty, by_risk):
    """Create order row ``n_orders`` at local time ``t`` and send it (pre-trade risk first)."""
    istate, fstate, rng = st
    orders = out[0]
    j = _append_row_nb(istate, I_NORD, orders, ERR_ORDERS_FULL)
    if j < 0:
        return -1
    o = orders[j]
    o.order_id = j
    o.side = side
    o.otype = otype
    o.price = price if otype != MARKET else 0
    o.qty = qty
    o.ts_submit = t
    o.ts_arrive = -1
    o.ts_ack = -1
    o.ts_done = -1
    o.status = PENDING
    o.reason = R_NONE
    o.filled = 0.0
    o.avg_price = np.nan
    o.fee = 0.0
    o.queue_ahead = 0.0
    o.level_qty = 0.0
    o.cum_trade = 0.0
    o.arr_event = -1
    o.shadow = 0.0
    o.local_status = PENDING
    o.local_filled = 0.0
    o.by_risk = by_risk
    if by_risk == 0 and limits[L_MAX_POSITION] < np.inf and (side == 1 or side == -1) and qty > 0:
        ob = 0.0
        os_ = 0.0
        for m in range(istate[I_FIRST_OPEN], j):
            q = orders[m]
            if q.local_status == PENDING or q.local_status == NEW or q.local_status == PARTIAL:
                if q.side > 0:
                    ob += q.qty - q.local_filled
                else:
                    os_ += q.qty - q.local_filled
        if not risk_pretrade_ok_nb(limits, fstate[F_LPOS], ob, os_, side, qty):
            o.status = REJECTED
            o.local_status = REJECTED
            o.reason = R_RISK
            o.ts_ack = t
            o.ts_done = t
            _log_risk_nb(st, out, t, istate[I_WAKE_EV], RULE_MAX_POSITION, ACTION_REJECT,
                         np.nan, fstate[F_LPOS] + side * qty)
            return j
    _push_req_nb(lat, st, out, t, ACT_SUBMIT, j)
    return j


@njit(cache=True, _nrt=False, forceinline=True)
def _risk_wake_nb(mkt, lat, st, out, limits, t, k):
    """Risk checks at a wake-up; True when the strategy may act."""
    istate, fstate, rng = st
    orders, fills = out[0], out[1]
    row = mkt[7][k]
    bid = best_price_nb(row, 1)
    ask = best_price_nb(row, -1)
    if bid == bid and ask == ask:
        mark = 0.5 * (bid + ask)
        spread = ask - bid
    else:
        mark = bid if bid == bid else ask
        spread = np.inf
    pos = fstate[F_LPOS]
    equity = fstate[F_LCASH] + (pos * mark if mark == mark else 0.0)
    n_recent = 0
    if limits[4] < np.inf:
        for m in range(istate[I_NFILL] - 1, -1, -1):
            tl = fills[m].ts_local
            if tl > t:
                continue
            if tl <= t - MINUTE_NS:
                break
            n_recent += 1
    rule, action, value = risk_check_nb(limits, t, pos, equity, spread, istate[I_POS_OPEN_T],
                                        fstate[F_POS_OPEN_EQ], n_recent)
    if action == ACTION_NONE:
        istate[I_BLOCK_RULE] = RULE_NONE
        return True
    # a close already in flight: wait for it
    c = istate[I_CLOSE_OID]
    if c >= 0 and (orders[c].local_status == PENDING or orders[c].local_status == NEW or
                   orders[c].local_status == PARTIAL):
        if action == ACTION_HALT:
            istate[I_HALTED] = 1
        return False
    if action == ACTION_BLOCK and rule == istate[I_BLOCK_RULE]:
        return False  # the same block as at the last wake-up: already logged and handled
    _log_risk_nb(st, out, t, k, rule, action, equity, value)
    istate[I_BLOCK_RULE] = rule
    for m in range(istate[I_FIRST_OPEN], istate[I_NORD]):
        q = orders[m]
        if q.local_status == PENDING or q.local_status == NEW or q.local_status == PARTIAL:
            _push_req_nb(lat, st, out, t, ACT_CANCEL, m)
    if (action == ACTION_CLOSE or action == ACTION_HALT) and abs(pos) > _EPS:
        istate[I_CLOSE_OID] = _submit_nb(lat, st, out, limits, t, -1 if pos > 0 else 1, MARKET,
                                         0, abs(pos), 1)
    if action == ACTION_HALT:
        istate[I_HALTED] = 1
    return False


# ----------------------------------------------------------------------------------------------
# the loop: one implementation behind step_nb, run_strategy_nb and the paper venue
@njit(cache=True, _nrt=False, forceinline=True)
def _send_actions_nb(lat, limits, st, out, actions, n_actions):
    """Send ``actions[:n_actions]`` at the current wake-up time; 0 or the first ``ERR_*`` code."""
    istate = st[0]
    t_w = istate[I_WAKE_T]
    for a in range(n_actions):
        act = actions[a]
        if act.kind == ACT_SUBMIT:
            _submit_nb(lat, st, out, limits, t_w, int(act.side), int(act.otype), act.price,
                       act.qty, 0)
        elif act.kind == ACT_CANCEL:
            if 0 <= act.order_id < istate[I_NORD]:
                _push_req_nb(lat, st, out, t_w, ACT_CANCEL, act.order_id)
            else:
                istate[I_BAD_CANCELS] += 1
        if istate[I_ERR] != 0:
            return istate[I_ERR]
    return 0


@njit(cache=True, _nrt=False, forceinline=True)
def _risk_off_nb(limits):
    """True when no limit is set (all ``inf``): no rule can fire (``risk_check_nb`` compares every
    measured value with ``>`` / ``>=`` against a limit; nan or inf never fires)."""
    for m in range(limits.shape[0]):
        if limits[m] < np.inf:
            return False
    return True


@njit(_nrt=False, forceinline=True)
def wake_strategy_nb(strategy, mkt, st, out, actions, params, user_state):
    """Call the jitted ``strategy(ctx, params, user_state)`` at the current wake-up
    (``st[0][I_WAKE_T]``, book row ``st[0][I_WAKE_EV]``) with a fresh
    :data:`~companion.sim.context.StrategyContext`; returns how many actions it wrote to
    ``actions`` (not sent yet). What :func:`loop_nb` does at a wake-up, for drivers that call the
    strategy themselves (the live executor, tests of the returning loop)."""
    istate, fstate = st[0], st[1]
    counters = istate[I_CTX:I_CTX + CTX_COUNTERS]
    counters[CTX_N_ACTIONS] = 0
    counters[CTX_N_SUBMITS] = 0
    k = istate[I_WAKE_EV]
    ctx = StrategyContext(istate[I_WAKE_T], k, mkt[7][k], fstate[F_LPOS], fstate[F_LCASH], out[0],
                          istate[I_NORD], actions, counters)
    strategy(ctx, params, user_state)
    return counters[CTX_N_ACTIONS]


@njit(_nrt=False)
def loop_nb(mkt, n, final, until, cfg, lat, limits, st, out, actions, n_actions,
            strategy, params, user_state):
    """THE simulator loop (every entry point is this function).

    Sends ``actions[:n_actions]`` at the current wake-up time, then merges market events ``< n``,
    order arrivals and strategy wake-ups in time order (ties: market event, order arrival,
    wake-up). At a wake-up the risk check runs; if the strategy may act, a jitted ``strategy``
    (the :func:`run_strategy_nb` signature) is called right here and its actions are sent (the
    fast path: no return per wake-up); with ``strategy=None`` the loop returns ``WAKEUP``
    (``st[0][I_WAKE_T]`` / ``[I_WAKE_EV]`` say when and which book row) and is re-entered with
    the actions. Other returns: ``DONE`` (the data ended
    and, with ``final``, every response in flight was delivered), ``NEED_DATA`` (not ``final``:
    the next item is later than ``until`` or needs an event not known yet), ``ERR_*``.

    ``final`` = all events are known (batch); an order reaches the exchange only while market
    data continues. Generic over ``strategy`` (not cached itself: it is compiled into each
    caller; ``None`` prunes the call at compile time, so :func:`step_nb` and
    :func:`companion.live.venue.paper_step_nb` stay cacheable).

    Speed (same orders and fills as the pre-fusion loop, field for field): the loop and its
    helpers are compiled without reference counting (``_nrt=False``: they never allocate, and
    every array they touch is owned by the caller for the whole call; the atomic increfs of the
    ~25 arrays passed to every helper were 60-75% of the run time), its helpers are inlined
    (``forceinline``: a call passes each array of ``mkt`` / ``lat`` / ``st`` / ``out`` as ~7
    scalars, ~170 arguments per order arrival; inlining them cut the engine's order handling by
    a third on the market-making benchmark), and the shortcuts below skip only work whose result is known:
    constant feed latency (no draw), no risk limit set (no rule can fire), no response due,
    no open order (no queue to move).
    """
    istate, fstate, rng = st
    ts, ts_local = mkt[0], mkt[1]
    reqs, resps = out[2], out[3]
    pos_ser, cash_ser = out[5], out[6]
    code = _send_actions_nb(lat, limits, st, out, actions, n_actions)
    if code != 0:
        return code
    interval = int(cfg[C_WAKE_INTERVAL])
    spec = lat[0]
    feed_const = int(spec[CH_FEED, 0]) == LAT_CONSTANT
    feed_ns = 0
    if feed_const:  # latency_draw_nb of a constant, without the call
        v = spec[CH_FEED, 1]
        if v < 0.0:
            v = 0.0
        feed_ns = int(np.round(v))
    risk_off = _risk_off_nb(limits)
    while True:
        if istate[I_ERR] != 0:
            return istate[I_ERR]
        i = istate[I_EV]
        k = istate[I_SEEN]
        t_ev = ts[i] if i < n else _BIG
        h = istate[I_REQ_HEAD]
        t_req = reqs[h].t if (h < istate[I_REQ_TAIL] and (i < n or not final)) else _BIG
        t_wk = _BIG
        if k < n:
            if istate[I_SEEN_T] < 0:
                base = max(ts[k], ts_local[k])
                if feed_const:
                    tw = base + feed_ns
                else:
                    tw = base + _draw_nb(lat, CH_FEED, base, rng)
                if tw < istate[I_LAST_FEED]:
                    tw = istate[I_LAST_FEED]
                istate[I_LAST_FEED] = tw
                istate[I_SEEN_T] = tw
            t_wk = istate[I_SEEN_T]
        if not final and min(t_ev, min(t_req, t_wk)) > until:
            return NEED_DATA
        if t_ev == _BIG and t_wk == _BIG and t_req == _BIG:
            _deliver_nb(st, out, _BIG)
            return DONE
        if t_ev <= t_req and t_ev <= t_wk:
            if istate[I_FIRST_OPEN] < istate[I_NORD]:  # else nothing can move or fill
                _apply_event_nb(mkt, cfg, lat, st, out, i)
            pos_ser[i] = fstate[F_POS]
            cash_ser[i] = fstate[F_CASH]
            istate[I_EV] = i + 1
        elif t_req <= t_wk:
            j = reqs[h].order_id
            if reqs[h].kind == ACT_SUBMIT:
                _arrive_submit_nb(mkt, cfg, lat, st, out, j, t_req)
            else:
                _arrive_cancel_nb(lat, st, out, j, t_req)
            istate[I_REQ_HEAD] = h + 1
        else:
            rh = istate[I_RESP_HEAD]
            if rh < istate[I_RESP_TAIL] and resps[rh].t <= t_wk:
                _deliver_nb(st, out, t_wk)
            istate[I_SEEN] = k + 1
            istate[I_SEEN_T] = -1
            if istate[I_HALTED] != 0:
                continue
            if interval > 0 and istate[I_LAST_WAKE] >= 0 and t_wk < istate[I_LAST_WAKE] + interval:
                continue
            istate[I_LAST_WAKE] = t_wk
            istate[I_WAKE_T] = t_wk
            istate[I_WAKE_EV] = k
            if risk_off:
                istate[I_BLOCK_RULE] = RULE_NONE
            elif not _risk_wake_nb(mkt, lat, st, out, limits, t_wk, k):
                continue
            if strategy is None:
                return WAKEUP
            n_act = wake_strategy_nb(strategy, mkt, st, out, actions, params, user_state)
            code = _send_actions_nb(lat, limits, st, out, actions, n_act)
            if code != 0:
                return code


@njit(cache=True)
def step_nb(mkt, cfg, lat, limits, st, out, actions, n_actions):
    """Send ``actions[:n_actions]`` at the current wake-up time, then run the exchange until the
    next strategy wake-up (returns ``WAKEUP``; ``st[0][I_WAKE_T]`` / ``[I_WAKE_EV]`` say when and
    which book row), the end of the data (``DONE``) or a full buffer (``ERR_*``).

    ``mkt`` = (ts, ts_local, kind, side, price, size, add_index, book); ``cfg`` the config vector
    (``C_*``); ``lat`` = (spec (3, 3), (feed, entry, response tables)); ``limits`` the risk vector;
    ``st`` = (istate, fstate, rng); ``out`` = (orders, fills, requests, responses, risk log,
    position series, cash series). :func:`loop_nb` returning at every wake-up.
    """
    return loop_nb(mkt, mkt[0].shape[0], True, _BIG, cfg, lat, limits, st, out, actions,
                   n_actions, None, None, None)


@njit
def run_strategy_nb(strategy, mkt, cfg, lat, limits, st, out, actions, params, user_state):
    """Fast path: run to the end calling the jitted ``strategy`` at every wake-up, inside the loop
    (:func:`loop_nb` with the strategy: no return to a driver per wake-up).

    ``strategy(ctx, params, user_state) -> None`` with ``ctx`` a
    :data:`companion.sim.context.StrategyContext` (local time, book row, delayed position / cash,
    our orders) that it acts on with :func:`companion.sim.context.submit` /
    :func:`~companion.sim.context.cancel`. Not cached (it takes a function): the loop is compiled
    once per strategy.
    """
    return loop_nb(mkt, mkt[0].shape[0], True, _BIG, cfg, lat, limits, st, out, actions, 0,
                   strategy, params, user_state)


# ============================================================================ for the paper venue
#: the buffer's name of each buffer-full error code (the paper venue's messages use it)
ERROR_NAMES = _ERRORS


@njit(cache=True)
def kill_nb(lat, st, out, limits) -> int:
    """The kill switch at the current wake-up: cancel every order the strategy believes live, send a
    market order for ``-position`` (by the risk manager), stop waking the strategy. Returns the
    flattening order's id (-1 when already flat). Used by :class:`companion.live.venue.PaperVenue`."""
    istate, fstate, rng = st
    orders = out[0]
    t = istate[I_WAKE_T]
    for m in range(istate[I_FIRST_OPEN], istate[I_NORD]):
        q = orders[m]
        if q.local_status == PENDING or q.local_status == NEW or q.local_status == PARTIAL:
            _push_req_nb(lat, st, out, t, ACT_CANCEL, m)
    pos = fstate[F_LPOS]
    oid = -1
    if abs(pos) > _EPS:
        oid = _submit_nb(lat, st, out, limits, t, -1 if pos > 0 else 1, MARKET, 0, abs(pos), 1)
        istate[I_CLOSE_OID] = oid
    istate[I_HALTED] = 1
    return oid
