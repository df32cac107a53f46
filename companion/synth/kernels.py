"""Numba kernels of the synthetic order-book generator (see :mod:`companion.synth` for the model).

The simulation is one event loop over an order-level, full-depth book on an integer tick grid:

* price levels are FIFO queues of orders (doubly linked lists ``head``/``tail``/``nxt``/``prv``
  per side and tick), so executions hit the oldest order first and any order can be removed in
  O(1);
* every live order sits in one of two "live lists" (fleeting / patient) used to draw a uniformly
  random order for cancellation (Gillespie algorithm with thinning, Lewis & Shedler 1979);
* after every emitted message the top ``levels`` price levels of each side are written in LOBSTER
  orderbook layout, straight from the order-level state.

Randomness comes only from the ``numpy.random.Generator`` passed in (numba supports
``default_rng`` generators in nopython mode), and only through ``Generator.random()`` (exponential,
normal and Poisson draws are exact transforms of uniforms), so a seed fixes every byte of the
output.

Cold start (first run, numba compiling into ``__pycache__``) is kept short: one large kernel,
no array-slice assignments (numba's broadcasting setitem alone costs seconds of compile time),
one Generator method, a single exit, and no literal-typed arguments to helpers (each literal value
would compile its own specialisation).

The CSV formatters build the exact LOBSTER text (``time`` with 9 decimals, integers elsewhere)
as a ``uint8`` buffer in two passes (measure, then write), with no float formatting at all.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from companion.events import ADD, CANCEL, DELETE, EXEC_HIDDEN, EXEC_VISIBLE

# ---------------------------------------------------------------------------------------------
# parameter vector layout (filled by companion.synth._pack_params)
# ---------------------------------------------------------------------------------------------
P_LAM = 0            # limit-order arrivals per side, orders / s (seasonal average)
P_MU = 1             # market orders (both sides), orders / s
P_ETA = 2            # hidden executions (both sides), / s
P_THETA_FAST = 3     # cancellation rate of a fleeting order, 1 / s
P_THETA_SLOW = 4     # cancellation rate of a patient order, 1 / s
P_P_FAST = 5         # share of new limit orders that are fleeting (the rest are patient)
P_D_FREE = 6         # ticks behind the same-side best with the base cancellation rate
P_D_SLOPE = 7        # extra cancellation factor per tick beyond P_D_FREE
P_CAP = 8            # thinning cap of the cancellation factor
P_P_PARTIAL = 9      # share of cancellations that are partial (type 2)
P_SIGMA = 10         # fundamental value diffusion, ticks / sqrt(s)
P_JUMP_RATE = 11     # fundamental jumps, 1 / s
P_JUMP_SD = 12       # jump size standard deviation, ticks
P_G0 = 13            # tilt scale: tau = tanh((V - mid) / g0), ticks
P_A_MO = 14          # market-order direction tilt: P(buy) = (1 + a_mo * tau) / 2
P_A_LIM = 15         # limit arrival tilt: buy rate * (1 + a_lim tau), sell rate * (1 - a_lim tau)
P_A_AGG = 16         # prob. (x |tau|) a tilted-side limit order improves its quote, uniform inside the spread
P_A_CANCEL = 17      # extra cancellation near the best of the adverse side: * (1 + a |tau|)
P_NEAR = 18          # "near the best": at most this many ticks behind the same-side best
P_SEASON_A = 19      # seasonality s(x) = a + b x^2, x in [-1, 1] over the session
P_SEASON_B = 20
P_P_SWEEP = 21       # prob. a market order takes the whole best queue (and maybe more)
P_MAX_WALK = 22      # max price levels one market order walks through
P_SEED_LEVELS = 23   # initial book: levels per side
P_SEED_ORDERS = 24   # initial book: mean extra orders per level (1 + Poisson)
P_SEED_GAP = 25      # initial book: ticks between seeded levels (and from the opening mid)
P_ARB = 26           # arbitrage market orders per s per tick the fundamental lies beyond a quote
P_P_JOIN = 27        # prob. a (non-informed) limit order joins the same-side best queue
N_PARAMS = 28

# message types: companion.events' codes as int64 scalars (not literal ints: a literal argument
# makes numba compile a separate specialisation of the callee per value)
MSG_ADD = np.int64(ADD)
MSG_PARTIAL_CANCEL = np.int64(CANCEL)
MSG_DELETE = np.int64(DELETE)
MSG_EXEC = np.int64(EXEC_VISIBLE)
MSG_HIDDEN_EXEC = np.int64(EXEC_HIDDEN)
HIDDEN_ORDER_ID = np.int64(0)

SEED_MAX_ORDERS = 16  # initial book: cap on the orders of one level
BID_IDX = 0  # side index of bids (direction +1)
ASK_IDX = 1  # side index of asks (direction -1)


# ---------------------------------------------------------------------------------------------
# random draws: only ``Generator.random()`` is used (each Generator method numba compiles costs
# about a second of cold start; these transforms are exact and cheap)
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def _exponential_nb(rng) -> float:
    """Exp(1) by inversion: -log(1 - U)."""
    return -math.log(1.0 - rng.random())


@njit(cache=True)
def _normal_nb(rng) -> float:
    """N(0, 1) by Box-Muller (the cosine branch): sqrt(-2 log U1) cos(2 pi U2), U1 in (0, 1]."""
    return math.sqrt(-2.0 * math.log(1.0 - rng.random())) * math.cos(2.0 * math.pi * rng.random())


@njit(cache=True)
def _poisson_small_nb(rng, lam) -> int:
    """Poisson(lam) by Knuth's product of uniforms (O(lam) draws: small ``lam`` only)."""
    limit = math.exp(-lam)
    k = 0
    prod = rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k


@njit(cache=True)
def _draw_index_nb(rng, cdf) -> int:
    """Index ``k`` with probability ``cdf[k] - cdf[k-1]`` (linear search)."""
    u = rng.random()
    k = 0
    while k < cdf.shape[0] - 1 and u >= cdf[k]:
        k += 1
    return k


@njit(cache=True)
def _draw_size_nb(rng, vals, cdf) -> int:
    """A size from a discrete distribution; value 0 stands for an odd lot, uniform on 1..99."""
    v = vals[_draw_index_nb(rng, cdf)]
    if v == 0:
        v = 1 + int(rng.random() * 99.0)
    return v


# ---------------------------------------------------------------------------------------------
# order-level book
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def _scan_best_nb(count, s, p, n_grid) -> int:
    """Best occupied tick of side ``s`` starting the search at ``p`` (bids down, asks up)."""
    if s == BID_IDX:
        while p >= 0 and count[s, p] == 0:
            p -= 1
        return p  # -1 when empty
    while p < n_grid and count[s, p] == 0:
        p += 1
    return p  # n_grid when empty


@njit(cache=True)
def _add_order_nb(o, s, p, sz, c, o_px, o_sz, o_side, o_cls, o_pos, nxt, prv, head, tail, count, depth,
                  nlev, live, nlive, bb, ba):
    """Insert order ``o`` (:func:`_insert_nb`) and return the best bid / ask ticks after it."""
    _insert_nb(o, s, p, sz, c, o_px, o_sz, o_side, o_cls, o_pos, nxt, prv, head, tail,
               count, depth, nlev, live, nlive)
    if s == BID_IDX and p > bb:
        bb = p
    if s == ASK_IDX and p < ba:
        ba = p
    return bb, ba


@njit(cache=True)
def _insert_nb(o, s, p, sz, c, o_px, o_sz, o_side, o_cls, o_pos, nxt, prv, head, tail, count, depth,
               nlev, live, nlive):
    """Append new order ``o`` (side ``s``, tick ``p``, size ``sz``, class ``c``) to the tail of its
    price queue and to its live list."""
    o_px[o] = p
    o_sz[o] = sz
    o_side[o] = s
    o_cls[o] = c
    o_pos[o] = nlive[c]
    live[c, nlive[c]] = o
    nlive[c] += 1
    nxt[o] = -1
    prv[o] = -1
    if count[s, p] == 0:
        nlev[s] += 1
        head[s, p] = o
    else:
        nxt[tail[s, p]] = o
        prv[o] = tail[s, p]
    tail[s, p] = o
    count[s, p] += 1
    depth[s, p] += sz


@njit(cache=True)
def _unlink_nb(o, o_side, o_px, o_cls, o_pos, nxt, prv, head, tail, count, nlev, live, nlive):
    """Remove order ``o`` from its price queue and from its live list."""
    s = o_side[o]
    p = o_px[o]
    a = prv[o]
    b = nxt[o]
    if a >= 0:
        nxt[a] = b
    else:
        head[s, p] = b
    if b >= 0:
        prv[b] = a
    else:
        tail[s, p] = a
    count[s, p] -= 1
    if count[s, p] == 0:
        nlev[s] -= 1
    c = o_cls[o]
    j = o_pos[o]
    last = live[c, nlive[c] - 1]
    live[c, j] = last
    o_pos[last] = j
    nlive[c] -= 1


@njit(cache=True)
def _write_row_nb(row, count, depth, bb, ba, nlev, n_grid, levels, tick_units, dummy_ask, dummy_bid):
    """Top-``levels`` LOBSTER row (ask px, ask sz, bid px, bid sz per level) from the level arrays."""
    k = 0
    p = ba
    na = min(levels, nlev[ASK_IDX])
    while k < na:
        if count[ASK_IDX, p] > 0:
            row[4 * k] = p * tick_units
            row[4 * k + 1] = depth[ASK_IDX, p]
            k += 1
        p += 1
    while k < levels:
        row[4 * k] = dummy_ask
        row[4 * k + 1] = 0
        k += 1
    k = 0
    p = bb
    nb = min(levels, nlev[BID_IDX])
    while k < nb:
        if count[BID_IDX, p] > 0:
            row[4 * k + 2] = p * tick_units
            row[4 * k + 3] = depth[BID_IDX, p]
            k += 1
        p -= 1
    while k < levels:
        row[4 * k + 2] = dummy_bid
        row[4 * k + 3] = 0
        k += 1


@njit(cache=True)
def _emit_nb(msgs, fund, n, tns, typ, oid, sz, px, direction, v):
    """Write message row ``n`` (LOBSTER columns) and the fundamental value at that message."""
    msgs[n, 0] = tns
    msgs[n, 1] = typ
    msgs[n, 2] = oid
    msgs[n, 3] = sz
    msgs[n, 4] = px
    msgs[n, 5] = direction
    fund[n] = v


@njit(cache=True)
def simulate_day_nb(rng, params, t0, t1, p0, n_grid, levels, tick_units, dummy_ask, dummy_bid,
                    order_id0, place_cdf, lim_vals, lim_cdf, mo_vals, mo_cdf,
                    ep_start, ep_end, ep_drift, ep_mu, capacity):
    """Simulate one session of order-level messages and the top-``levels`` book after each.

    Model (per unit of seasonal time ``s(t) = a + b x^2``): limit orders arrive on each side at
    rate ``lam (1 +- a_lim tau)``, each fleeting (prob. ``p_fast``) or patient, at ``i`` ticks from
    the opposite best quote, ``i ~ place_cdf[class]`` (Cont, Stoikov & Talreja 2010, sec. 2;
    ``i <`` spread improves the quote); each resting order is cancelled at its class rate
    ``theta`` times a factor growing with its distance behind the best; market orders
    arrive at rate ``mu`` and buy with probability ``(1 + a_mo tau)/2``; hidden executions at rate
    ``eta``. The tilt ``tau = tanh((V - mid)/g0)`` couples the flow to a latent fundamental value
    ``V`` (ticks): Brownian with jumps plus a drift during informed episodes, when extra informed
    market orders also arrive in the episode's direction; arbitrage market orders arrive at rate
    ``arb * (V - ask)`` (buys) or ``arb * (bid - V)`` (sells) while ``V`` lies beyond a quote.

    Returns ``(n, msgs, book, fund, status)``: ``msgs[:n]`` int64 columns ``time_ns, type,
    order_id, size, price, direction`` (LOBSTER); ``book[:n]`` int64 LOBSTER rows; ``fund[:n]``
    the fundamental value (ticks) at each message; ``status`` 0 = done, 1 = ``capacity`` too small.
    """
    lam = params[P_LAM]
    mu = params[P_MU]
    eta = params[P_ETA]
    th_f = params[P_THETA_FAST]
    th_s = params[P_THETA_SLOW]
    p_fast = params[P_P_FAST]
    d_free = params[P_D_FREE]
    d_slope = params[P_D_SLOPE]
    cap = params[P_CAP]
    p_partial = params[P_P_PARTIAL]
    sigma = params[P_SIGMA]
    jump_rate = params[P_JUMP_RATE]
    jump_sd = params[P_JUMP_SD]
    g0 = params[P_G0]
    a_mo = params[P_A_MO]
    a_lim = params[P_A_LIM]
    a_agg = params[P_A_AGG]
    a_cancel = params[P_A_CANCEL]
    near = params[P_NEAR]
    sea_a = params[P_SEASON_A]
    sea_b = params[P_SEASON_B]
    p_sweep = params[P_P_SWEEP]
    max_walk = int(params[P_MAX_WALK])
    seed_levels = int(params[P_SEED_LEVELS])
    seed_orders = params[P_SEED_ORDERS]
    seed_gap = max(1, int(params[P_SEED_GAP]))
    arb = params[P_ARB]
    p_join = params[P_P_JOIN]
    n_ep = ep_start.shape[0]
    n_col = 4 * levels

    msgs = np.zeros((capacity, 6), dtype=np.int64)
    book = np.zeros((capacity, n_col), dtype=np.int64)
    fund = np.zeros(capacity, dtype=np.float64)

    # level state
    head = np.full((2, n_grid), -1, dtype=np.int64)
    tail = np.full((2, n_grid), -1, dtype=np.int64)
    count = np.zeros((2, n_grid), dtype=np.int64)
    depth = np.zeros((2, n_grid), dtype=np.int64)
    nlev = np.zeros(2, dtype=np.int64)
    # order state (index = creation order; order id = order_id0 + index)
    o_px = np.zeros(capacity, dtype=np.int64)
    o_sz = np.zeros(capacity, dtype=np.int64)
    o_side = np.zeros(capacity, dtype=np.int64)
    o_cls = np.zeros(capacity, dtype=np.int64)
    o_pos = np.zeros(capacity, dtype=np.int64)
    nxt = np.full(capacity, -1, dtype=np.int64)
    prv = np.full(capacity, -1, dtype=np.int64)
    live = np.zeros((2, capacity), dtype=np.int64)
    nlive = np.zeros(2, dtype=np.int64)
    n_orders = np.int64(0)   # (np.int64, not 0: no literal-typed specialisations of callees)

    bb = -1          # best bid tick, -1 = empty
    ba = n_grid      # best ask tick, n_grid = empty
    V = float(p0)
    n = np.int64(0)
    t = t0
    span = t1 - t0

    # ---------------- initial book: every order is an ADD message at the open ----------------
    # (at most SEED_MAX_ORDERS orders per level, so the buffer check is done once, here)
    status = 0 if capacity > 2 * seed_levels * SEED_MAX_ORDERS else 1
    for d in range(seed_levels if status == 0 else 0):
        for s in range(2):
            p = p0 - seed_gap * (d + 1) if s == BID_IDX else p0 + seed_gap * (d + 1)
            k_orders = min(1 + _poisson_small_nb(rng, seed_orders), SEED_MAX_ORDERS)
            for _ in range(k_orders):
                sz = _draw_size_nb(rng, lim_vals, lim_cdf)
                c = 0 if rng.random() < p_fast else 1
                o = n_orders
                n_orders += 1
                bb, ba = _add_order_nb(o, s, p, sz, c, o_px, o_sz, o_side, o_cls, o_pos, nxt, prv, head, tail,
                                       count, depth, nlev, live, nlive, bb, ba)
                t += 1e-6
                _emit_nb(msgs, fund, n, int(math.floor(t * 1e9)), MSG_ADD, order_id0 + o, sz, p * tick_units,
                         1 if s == BID_IDX else -1, V)
                _write_row_nb(book[n], count, depth, bb, ba, nlev, n_grid, levels, tick_units,
                              dummy_ask, dummy_bid)
                n += 1

    # ---------------- event loop (Gillespie with thinning) ----------------
    # (one exit: every event emits at most one message except market orders, checked inside)
    while status == 0:
        if n + 1 > capacity:
            status = 1
            break
        x = 2.0 * (t - t0) / span - 1.0
        sea = sea_a + sea_b * x * x
        both = bb >= 0 and ba < n_grid
        tau = 0.0
        if both:
            tau = math.tanh((V - 0.5 * (bb + ba)) / g0)
        drift = 0.0
        emu = 0.0
        edir = 0
        for k in range(n_ep):
            if ep_start[k] <= t < ep_end[k]:
                drift += ep_drift[k]
                emu += ep_mu[k]
                edir = 1 if ep_drift[k] > 0 else -1
        r_lb = sea * lam * (1.0 + a_lim * tau)
        r_ls = sea * lam * (1.0 - a_lim * tau)
        r_mo = sea * mu
        # informed market orders: episode traders (in the episode's direction) and arbitrageurs
        # who buy (sell) while V lies above the ask (below the bid): rate arb * distance
        arb_dir = 0
        r_arb = 0.0
        if both:
            if V > ba:
                arb_dir = 1
                r_arb = arb * (V - ba)
            elif V < bb:
                arb_dir = -1
                r_arb = arb * (bb - V)
        r_emo = emu + r_arb
        r_hid = sea * eta
        r_cf = sea * th_f * cap * nlive[0]
        r_cs = sea * th_s * cap * nlive[1]
        total = r_lb + r_ls + r_mo + r_emo + r_hid + r_cf + r_cs
        dt = _exponential_nb(rng) / total
        t += dt
        if t >= t1:
            break
        V += sigma * math.sqrt(dt) * _normal_nb(rng) + drift * dt
        if rng.random() < jump_rate * dt:
            V += jump_sd * _normal_nb(rng)
        if V < 100.0:
            V = 100.0
        if V > n_grid - 100.0:
            V = n_grid - 100.0
        tns = int(math.floor(t * 1e9))
        u = rng.random() * total

        if u < r_lb + r_ls:
            # ------------------------------ limit order ------------------------------
            s = BID_IDX if u < r_lb else ASK_IDX
            sgn_tau = tau if s == BID_IDX else -tau
            c = 0 if rng.random() < p_fast else 1   # fleeting / patient: sets placement and life
            if sgn_tau > 0.0 and rng.random() < a_agg * sgn_tau:
                # informed-leaning order: improve the quote, uniformly inside the spread
                # (join the best when the spread is one tick)
                inner = int(rng.random() * (ba - bb - 1))
                p = bb + 1 + inner if s == BID_IDX else ba - 1 - inner
                if ba - bb <= 1:
                    p = bb if s == BID_IDX else ba
            elif both and rng.random() < p_join:
                p = bb if s == BID_IDX else ba
            else:
                i = 1 + _draw_index_nb(rng, place_cdf[c])
                if s == BID_IDX:
                    ref = ba if ba < n_grid else (bb + 1 if bb >= 0 else int(V) + 1)
                    p = ref - i
                else:
                    ref = bb if bb >= 0 else (ba - 1 if ba < n_grid else int(V))
                    p = ref + i
            if p < 1:
                p = 1
            if p > n_grid - 2:
                p = n_grid - 2
            sz = _draw_size_nb(rng, lim_vals, lim_cdf)
            o = n_orders
            n_orders += 1
            bb, ba = _add_order_nb(o, s, p, sz, c, o_px, o_sz, o_side, o_cls, o_pos, nxt, prv, head, tail,
                                   count, depth, nlev, live, nlive, bb, ba)
            _emit_nb(msgs, fund, n, tns, MSG_ADD, order_id0 + o, sz, p * tick_units,
                     1 if s == BID_IDX else -1, V)
            _write_row_nb(book[n], count, depth, bb, ba, nlev, n_grid, levels, tick_units,
                          dummy_ask, dummy_bid)
            n += 1
            continue
        u -= r_lb + r_ls

        if u < r_mo + r_emo + r_hid:
            is_hidden = u >= r_mo + r_emo
            if u < r_mo or is_hidden:
                buy = rng.random() < 0.5 * (1.0 + a_mo * tau)
            elif u < r_mo + r_arb:
                buy = arb_dir > 0
            else:
                buy = edir > 0
            if not both:
                continue
            q = _draw_size_nb(rng, mo_vals, mo_cdf)
            if is_hidden:
                # ------------------- hidden execution (book unchanged) -------------------
                if buy:   # a hidden SELL order in (bid, ask] is hit
                    px = bb + 1 + int(rng.random() * (ba - bb))
                else:     # a hidden BUY order in [bid, ask) is hit
                    px = bb + int(rng.random() * (ba - bb))
                _emit_nb(msgs, fund, n, tns, MSG_HIDDEN_EXEC, HIDDEN_ORDER_ID, q, px * tick_units,
                         -1 if buy else 1, V)
                for j in range(n_col):   # explicit loop: a slice copy costs seconds of compile
                    book[n, j] = book[n - 1, j]
                n += 1
                continue
            # --------------------------- market order ---------------------------
            s = ASK_IDX if buy else BID_IDX
            p = ba if buy else bb
            if rng.random() < p_sweep:
                q = depth[s, p] + (q if rng.random() < 0.3 else 0)
            walked = 0
            while q > 0:
                if n + 1 > capacity:
                    status = 1
                    break
                o = head[s, p]
                x_sz = o_sz[o] if o_sz[o] < q else q
                o_sz[o] -= x_sz
                depth[s, p] -= x_sz
                q -= x_sz
                if o_sz[o] == 0:
                    _unlink_nb(o, o_side, o_px, o_cls, o_pos, nxt, prv, head, tail, count, nlev,
                               live, nlive)
                    if count[s, p] == 0:
                        if s == ASK_IDX:
                            ba = _scan_best_nb(count, s, p + 1, n_grid)
                        else:
                            bb = _scan_best_nb(count, s, p - 1, n_grid)
                _emit_nb(msgs, fund, n, tns, MSG_EXEC, order_id0 + o, x_sz, p * tick_units,
                         -1 if s == ASK_IDX else 1, V)
                _write_row_nb(book[n], count, depth, bb, ba, nlev, n_grid, levels, tick_units,
                              dummy_ask, dummy_bid)
                n += 1
                if count[s, p] == 0:
                    walked += 1
                    p = ba if s == ASK_IDX else bb
                    if walked >= max_walk or p < 0 or p >= n_grid:
                        break
            continue
        u -= r_mo + r_emo + r_hid

        # ------------------------------ cancellation (thinned) ------------------------------
        c = 0 if u < r_cf else 1
        if nlive[c] == 0:
            continue
        j = int(rng.random() * nlive[c])
        if j >= nlive[c]:
            j = nlive[c] - 1
        o = live[c, j]
        s = o_side[o]
        p = o_px[o]
        d = (bb - p) if s == BID_IDX else (p - ba)
        f = 1.0 + max(0.0, d - d_free) * d_slope
        if d <= near and ((s == ASK_IDX and tau > 0.0) or (s == BID_IDX and tau < 0.0)):
            f *= 1.0 + a_cancel * abs(tau)
        if rng.random() * cap >= f:
            continue
        if o_sz[o] > 1 and rng.random() < p_partial:
            typ = MSG_PARTIAL_CANCEL
            k_sz = 1 + int(rng.random() * (o_sz[o] - 1))
            o_sz[o] -= k_sz
            depth[s, p] -= k_sz
        else:
            typ = MSG_DELETE
            k_sz = o_sz[o]
            depth[s, p] -= k_sz
            o_sz[o] = 0
            _unlink_nb(o, o_side, o_px, o_cls, o_pos, nxt, prv, head, tail, count, nlev, live, nlive)
            if count[s, p] == 0:
                if s == ASK_IDX and p == ba:
                    ba = _scan_best_nb(count, s, p + 1, n_grid)
                elif s == BID_IDX and p == bb:
                    bb = _scan_best_nb(count, s, p - 1, n_grid)
        _emit_nb(msgs, fund, n, tns, typ, order_id0 + o, k_sz, p * tick_units,
                 1 if s == BID_IDX else -1, V)
        _write_row_nb(book[n], count, depth, bb, ba, nlev, n_grid, levels, tick_units,
                      dummy_ask, dummy_bid)
        n += 1

    return n, msgs, book, fund, status


# ---------------------------------------------------------------------------------------------
# exact CSV formatting
# ---------------------------------------------------------------------------------------------
@njit(cache=True)
def _int_len_nb(v) -> int:
    n = 1
    if v < 0:
        n += 1
        v = -v
    while v >= 10:
        v //= 10
        n += 1
    return n


@njit(cache=True)
def _put_int_nb(buf, pos, v) -> int:
    if v < 0:
        buf[pos] = 45  # '-'
        pos += 1
        v = -v
    k = _int_len_nb(v)
    for j in range(k - 1, -1, -1):
        buf[pos + j] = 48 + v % 10
        v //= 10
    return pos + k


@njit(cache=True)
def format_messages_nb(msgs):
    """LOBSTER message CSV bytes: ``time`` (ns -> seconds with 9 decimals), then 5 integers."""
    n = msgs.shape[0]
    total = 0
    for i in range(n):
        total += _int_len_nb(msgs[i, 0] // 1_000_000_000) + 10 + 6  # '.', 9 digits, 5 commas, '\n'
        for j in range(1, 6):
            total += _int_len_nb(msgs[i, j])
    buf = np.empty(total, dtype=np.uint8)
    pos = np.int64(0)
    for i in range(n):
        ns = msgs[i, 0]
        pos = _put_int_nb(buf, pos, ns // 1_000_000_000)
        buf[pos] = 46  # '.'
        frac = ns % 1_000_000_000
        for j in range(9, 0, -1):
            buf[pos + j] = 48 + frac % 10
            frac //= 10
        pos += 10
        for j in range(1, 6):
            buf[pos] = 44  # ','
            pos = _put_int_nb(buf, pos + 1, msgs[i, j])
        buf[pos] = 10
        pos += 1
    return buf


@njit(cache=True)
def format_int_table_nb(table):
    """CSV bytes of an int64 table (no header, ',' separators, '\\n' line ends)."""
    n, m = table.shape
    total = 0
    for i in range(n):
        total += m
        for j in range(m):
            total += _int_len_nb(table[i, j])
    buf = np.empty(total, dtype=np.uint8)
    pos = np.int64(0)
    for i in range(n):
        for j in range(m):
            pos = _put_int_nb(buf, pos, table[i, j])
            buf[pos] = 44 if j < m - 1 else 10
            pos += 1
    return buf
