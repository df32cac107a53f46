"""The live executor on a replay (deterministic clock) gives exactly the backtester's orders and fills.

Same events, same latency / queue / fee / risk settings, same strategy parameters: the executor
streams the events chunk by chunk (incremental book, streaming signal, paper venue stepped with the
feed) while the backtester sees the whole day at once. Every field of every order and fill, and the
exchange-truth position and cash after every event, must be equal.
"""
from __future__ import annotations

import numpy as np
import pytest

from companion import synth
from companion.backtest import ExecutionConfig, run_backtest
from companion.book import IncrementalBook, replay
from companion.live.config import LiveConfig
from companion.live.executor import LiveExecutor
from companion.live.feeds import LobsterReplayFeed, SimulatedClock
from companion.live.venue import PaperVenue
from companion.sim import Fees, FIFOQueue, LognormalLatency, PowerProbQueue, RiskLimits


@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 600.0))
    d = synth.simulate(seed=7, config=cfg)
    return synth.to_events(d.messages), d.orderbook, synth.instrument(cfg)


def _feed(ev):
    return LobsterReplayFeed(ev, speed=float("inf"), clock=SimulatedClock())


def _assert_same_orders_fills(live, bt):
    assert len(live.orders) == len(bt.orders) > 0
    assert len(live.fills) == len(bt.fills) > 0
    for name in bt.orders.dtype.names:
        a, b = live.orders[name], bt.orders[name]
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f"orders.{name} differ"
    for name in bt.fills.dtype.names:
        assert np.array_equal(live.fills[name], bt.fills[name]), f"fills.{name} differ"


def _assert_same_run(live, bt):
    _assert_same_orders_fills(live, bt)
    assert np.array_equal(live.position, bt.position)
    assert np.array_equal(live.cash, bt.cash)
    assert np.array_equal(live.risk_events, bt.risk_events)
    assert live.local_position == bt.local_position and live.local_cash == bt.local_cash


def test_incremental_book_equals_batch_replay(day):
    ev, book, _ = day
    ib = IncrementalBook(10)
    rows = []
    for _, ch in LobsterReplayFeed(ev, speed=float("inf"), clock=SimulatedClock(), max_chunk=7):
        rows.append(ib.apply(ch["kind"], ch["side"], ch["price"], ch["size"]).copy())
    got = np.concatenate(rows)
    assert np.array_equal(got, replay(ev, levels=10))
    assert np.array_equal(got, book)  # the synthetic day is full depth: messages determine the book


def test_scalper_parity_default_config(day, tmp_path):
    ev, book, inst = day
    cfg = LiveConfig.from_dict({"kill_switch": {"file": None}, "risk": {"max_loss": None},
                                "venue": {"flat_before_close_s": 60}})
    bt = run_backtest(ev, book, inst, cfg.strategy_object(), execution=cfg.execution_config(inst))
    ex = LiveExecutor(cfg, inst, journal=tmp_path / "j.db")
    s = ex.run(_feed(ev))
    _assert_same_run(ex.venue.result(), bt.sim)
    assert s.events == len(ev) and not s.stopped_early
    assert s.orders == len(bt.sim.orders) and s.fills == len(bt.sim.fills)
    # the journal holds the same fills and the same position
    j = ex.journal
    assert len(j.fills()) == len(bt.sim.fills)
    assert [f.qty for f in j.fills()] == bt.sim.fills["qty"].tolist()
    assert j.position(inst.symbol).qty == bt.sim.local_position
    assert s.reconciled
    # decisions: the same mids and signal values were logged
    assert np.array_equal(ex.user_state[3][: len(bt.sim.orders)], bt.decisions[: len(bt.sim.orders)])


def test_scalper_parity_with_max_loss_kill(day):
    ev, book, inst = day
    cfg = LiveConfig.from_dict({"kill_switch": {"file": None}, "risk": {"max_loss": 150.0}})
    bt = run_backtest(ev, book, inst, cfg.strategy_object(), execution=cfg.execution_config(inst))
    ex = LiveExecutor(cfg, inst)
    s = ex.run(_feed(ev))
    assert s.killed == "MAX_LOSS"
    r = ex.venue.result()
    n = len(r.position)
    # the executor stops once flat; up to there the two runs are identical (and the backtest's
    # risk manager halted at the same wake-up, so nothing follows in it either)
    assert s.stopped_early and n < len(ev)
    _assert_same_orders_fills(r, bt.sim)
    assert np.array_equal(r.position, bt.sim.position[:n]) and np.array_equal(r.cash, bt.sim.cash[:n])
    assert r.local_position == 0.0 and bt.sim.position[-1] == 0.0


@pytest.mark.parametrize("case", ["limit_fifo_lognormal", "limit_power_feed_latency"])
def test_limit_entries_parity_random_latency(day, case):
    ev, book, inst = day
    cfg = LiveConfig.from_dict({"kill_switch": {"file": None}, "risk": {"max_loss": None, "max_spread": 20},
                                "execution": {"entry": "limit", "timeout_s": 5, "entry_ttl_s": 1.0},
                                "signal": {"weak": 0.1, "strong": 0.25}})
    if case == "limit_fifo_lognormal":
        exc = ExecutionConfig(fees=Fees(maker=-20, taker=30, unit="per_share"), feed_latency=0,
                              entry_latency=LognormalLatency(80_000, 0.6), response_latency=LognormalLatency(60_000, 0.4),
                              queue=FIFOQueue(), risk=RiskLimits(max_position=300, max_trades_per_min=30),
                              flat_before_close_s=30, seed=3)
    else:
        exc = ExecutionConfig(feed_latency=250_000, entry_latency=120_000, response_latency=LognormalLatency(90_000, 0.5),
                              queue=PowerProbQueue(2.0), flat_before_close_s=60, seed=11)
    bt = run_backtest(ev, book, inst, cfg.strategy_object(), execution=exc)
    venue = PaperVenue(inst, exc, levels=10, capacity=1024)  # small capacity: exercises the buffer growth
    ex = LiveExecutor(cfg, inst, venue=venue)
    ex.run(_feed(ev))
    _assert_same_run(venue.result(), bt.sim)
    assert (bt.sim.orders["otype"] == 1).any()  # limit orders were exercised


def test_model_strategy_parity(day):
    lgb = pytest.importorskip("lightgbm")  # noqa: F841
    from companion.features import FeatureEngine
    from companion.models.compiled import CompiledModel
    from companion.models.train import DirectionClassifier
    from companion.signals import forward_mid_move_bps, mid_price

    ev, book, inst = day
    names = ["ofi_10s", "vol_imb_1", "spread_ticks", "composite_imb"]
    eng = FeatureEngine(inst, grid="1s", features=names)
    st, X = eng.update_arrays(ev, book)
    mid = mid_price(book)
    fwd = forward_mid_move_bps(ev["ts"], mid, 10 * 10**9)
    j = np.searchsorted(ev["ts"], st, side="right") - 1
    y = (fwd[j] > 0).astype(int)
    keep = (j >= 0) & np.isfinite(fwd[j])
    import pandas as pd

    clf = DirectionClassifier(n_estimators=15, max_depth=3, random_state=0)
    clf.fit(pd.DataFrame(X[keep], columns=names), y[keep])
    model = CompiledModel.from_model(clf)
    p = model.predict_output(X)
    cfg = LiveConfig.from_dict({"strategy": "model", "kill_switch": {"file": None}, "risk": {"max_loss": None},
                                "model": {"p_long": 0.52, "p_short": 0.48, "ofi_threshold": 0.0}})
    bt = run_backtest(ev, book, inst, cfg.strategy_object(p_up=p, p_ts=st), execution=cfg.execution_config(inst))
    ex = LiveExecutor(cfg, inst, model=model)
    s = ex.run(_feed(ev))
    _assert_same_run(ex.venue.result(), bt.sim)
    # the streamed feature samples and predictions are the batch ones
    t_live, p_live = ex.stream.predictions()
    assert np.array_equal(t_live, st[: len(t_live)]) and len(t_live) >= len(st) - 1
    assert np.array_equal(p_live, p[: len(p_live)])
    assert s.latency["features"]["n"] > 0 and s.latency["model"]["n"] > 0


# ---- ANY strategy object runs live (not only the signal trader): a small quoting strategy
from numba import njit  # noqa: E402

from companion.sim.context import best_ask, best_bid, cancel, is_live, submit  # noqa: E402
from companion.sim.orders import LIMIT  # noqa: E402


@njit(cache=True)
def _quote_nb(ctx, params, user_state):
    """Quote one lot at the best bid when flat, at the best ask when long; re-quote (cancel) when
    the touch moved away from the resting order. ``user_state[0][0]``: wake-ups seen (a check)."""
    st = user_state[0]
    st[0] += 1.0
    qty = params[0]
    live = -1
    for j in range(ctx.n_orders):
        if is_live(ctx.orders[j].local_status):
            live = j
    if ctx.position < qty:
        side, px = 1, best_bid(ctx)
    else:
        side, px = -1, best_ask(ctx)
    if not (px == px) or abs(px) > 1e9:  # an empty side
        return
    if live >= 0:
        o = ctx.orders[live]
        if o.side != side or o.price != int(px):
            cancel(ctx, live)
        return
    submit(ctx, side, qty, int(px), LIMIT)


class _Quoter:
    """A strategy object (name, kernel, build) that uses no precomputed signal."""

    name = "quoter"
    kernel = staticmethod(_quote_nb)

    def build(self, events, book, instrument, max_orders):
        return np.array([100.0]), (np.zeros(1), np.zeros(0, np.int8), np.zeros(0))


def test_any_strategy_object_parity(day):
    ev, book, inst = day
    cfg = LiveConfig.from_dict({"kill_switch": {"file": None}, "risk": {"max_loss": None},
                                "venue": {"flat_before_close_s": 60}})
    exc = cfg.execution_config(inst)
    bt = run_backtest(ev, book, inst, _Quoter(), execution=exc)
    ex = LiveExecutor(cfg, inst, strategy=_Quoter())
    s = ex.run(_feed(ev))
    _assert_same_run(ex.venue.result(), bt.sim)
    own = bt.sim.orders[bt.sim.orders["by_risk"] == 0]
    assert s.orders == len(bt.sim.orders) > 10 and (own["otype"] == LIMIT).all() and len(bt.sim.fills) > 0
    assert ex.user_state[0][0] == s.wakeups > 0  # the strategy's own state was driven live
