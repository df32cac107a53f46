"""P&L decomposition (companion.backtest.pnl): a hand-worked example, then the identity
net = spread capture + inventory P&L - fees (and, per markout horizon, = spread capture -
adverse selection + rest - fees) to the cent for a market maker and a taker on the synthetic
day, every LOBSTER sample and a Binance day (real data skip cleanly without ../shared)."""
from __future__ import annotations

import numpy as np
import pytest

from companion.backtest import GLFT, ExecutionConfig, Grid, ImbalanceScalper, run_backtest
from companion.backtest.engine import BacktestResult
from companion.backtest.pnl import decompose, fill_markouts, mm_stats, quote_time_at_touch
from companion.events import NS, Instrument
from companion.sim import FILL_DTYPE, ORDER_DTYPE, RISK_DTYPE, Fees, SimResult
from companion.sim.orders import FILLED, LIMIT, MAKER, TAKER

from conftest import binance_recordings, lobster_samples


def _hand_result() -> BacktestResult:
    """Mids 100, 100, 101, 99, 102 at t = 0..4 s. Buy 10 @ 99.5 (maker, rebate 0.2) filled by
    event 1; sell 4 @ 101.5 (taker, fee 0.3) filled by event 3."""
    mids = np.array([100.0, 100.0, 101.0, 99.0, 102.0])
    book = np.column_stack([mids + 0.5, np.ones(5), mids - 0.5, np.ones(5)])
    f = np.zeros(2, FILL_DTYPE)
    f["order_id"], f["ts"], f["event_idx"] = [0, 1], [NS // 2, 5 * NS // 2], [1, 3]
    f["side"], f["price"], f["qty"], f["fee"] = [1, -1], [99.5, 101.5], [10.0, 4.0], [-0.2, 0.3]
    f["liquidity"] = [MAKER, TAKER]
    o = np.zeros(2, ORDER_DTYPE)
    o["order_id"], o["side"], o["otype"], o["price"], o["qty"] = [0, 1], [1, -1], LIMIT, [99, 102], [10, 8]
    o["filled"], o["status"], o["ts_arrive"], o["ts_done"] = [10, 4], FILLED, [0, 2 * NS], [NS // 2, 3 * NS]
    o["arr_event"] = [1, 3]
    pos = np.array([0.0, 10, 10, 6, 6])
    cash = np.array([0.0, -994.8, -994.8, -589.1, -589.1])
    sim = SimResult(orders=o, fills=f, risk_events=np.zeros(0, RISK_DTYPE), position=pos, cash=cash,
                    ts=np.arange(5, dtype=np.int64) * NS, book=book, local_position=6.0,
                    local_cash=-589.1, bad_cancels=0)
    return BacktestResult(sim=sim, instrument=Instrument("X", tick=1, price_scale=1), strategy="hand",
                          path="numba", decisions=None)


def test_decomposition_by_hand():
    d = decompose(_hand_result())
    # spread capture 10 (100 - 99.5) - 4 (101 - 101.5) = 7; inventory 10 (102 - 100) - 4 (102 - 101) = 16
    assert d["spread_capture"] == pytest.approx(7.0) and d["inventory_pnl"] == pytest.approx(16.0)
    assert d["fees"] == pytest.approx(0.1) and d["net"] == pytest.approx(22.9)
    # 1 s markouts: fill 1 at 0.5 s -> mid at 1.5 s = 100 (0); fill 2 at 2.5 s -> mid at 3.5 s = 99:
    # -4 (99 - 101) = +8, so adverse selection -8 (the mid moved in our favour), rest 16 - 8 = 8
    assert d["adverse_selection"]["1s"] == pytest.approx(-8.0)
    assert d["inventory_rest"]["1s"] == pytest.approx(8.0)
    # 100 ms: mids at 0.6 s and 2.6 s are 100 and 101: nothing moved yet
    assert d["adverse_selection"]["100ms"] == pytest.approx(0.0)
    # 60 s: beyond the end -> the final mid: markout = the whole inventory P&L, rest 0
    assert d["adverse_selection"]["60s"] == pytest.approx(-16.0) and d["inventory_rest"]["60s"] == pytest.approx(0.0)
    assert (d["maker_fills"], d["taker_fills"], d["volume"]) == (1, 1, 14.0)
    fm = fill_markouts(_hand_result())
    assert fm["mid_at_fill"].tolist() == [100.0, 101.0]
    s = mm_stats(_hand_result())
    assert s["fill_rate_qty"] == pytest.approx(14 / 18) and s["fill_rate_orders"] == 1.0
    # positions sampled each second: 0, 10, 10, 6, 6
    assert (s["inventory_q0.01"], s["inventory_q0.5"], s["inventory_q0.99"]) == (pytest.approx(0.24), 6.0, 10.0)
    # queue at arrival of the maker-filled order 0 (bid 99, row 0): 99 is below the only visible
    # bid level (99.5 x 1), so the simulator's proxy is that deepest level's size, 1
    assert s["queue_at_arrival_filled_mean"] == 1.0


def test_touch_time_by_hand():
    r = _hand_result()
    # order 0: bid at 99 resting [0, 0.5 s): best bid in row 0 is 99.5 -> never at the touch
    # order 1: ask at 102 resting [2 s, 3 s): row 2 best ask 101.5 -> not at the touch
    assert quote_time_at_touch(r) == {"bid": 0.0, "ask": 0.0}
    r.sim.book[2, 0] = 102.0           # now row 2's best ask is our 102 for [2 s, 3 s): 1/4 of 4 s
    assert quote_time_at_touch(r) == {"bid": 0.0, "ask": 0.25}


def _check_identity(res, *, maker_expected: bool):
    d = decompose(res)
    assert abs(d["residual"]) < 0.005                                        # to the cent
    assert abs(d["spread_capture"] + d["inventory_pnl"] - d["fees"] - d["net"]) < 0.005
    for h, adv in d["adverse_selection"].items():
        assert abs(d["spread_capture"] - adv + d["inventory_rest"][h] - d["fees"] - d["net"]) < 0.005
    assert abs(d["net"] - res.pnl()["net"]) < 0.005                          # = sum of round trips
    scale = res.scale
    assert abs(d["fees"] - res.sim.fills["fee"].sum() / scale) < 0.005
    if maker_expected:
        assert d["maker_fills"] > 10 and d["spread_capture"] > 0               # makers earn the spread
    else:
        assert d["taker_fills"] > 0 and d["spread_capture"] < 0               # takers pay it
    return d


EXEC = ExecutionConfig(flat_before_close_s=60.0, max_orders=400_000)


def _check_dataset(d, mm):
    ex = ExecutionConfig(fees=Fees.for_venue(d.instrument), flat_before_close_s=60.0, max_orders=400_000)
    _check_identity(run_backtest(d, mm, execution=ex), maker_expected=True)
    taker = ImbalanceScalper(qty=mm.quote_size)
    _check_identity(run_backtest(d, taker, execution=ex), maker_expected=False)


def test_identity_on_the_synthetic_day():
    from companion.data import load

    _check_dataset(load("synthetic"), GLFT(gamma=0.1))


@pytest.mark.parametrize("sample", lobster_samples() or [None],
                         ids=lambda s: "none" if s is None else s[0].name.split("_34200")[0] + s[0].name[-7:])
def test_identity_on_lobster_samples(shared_data, sample):
    if sample is None:
        pytest.skip("no LOBSTER samples in the shared folder")
    from companion.io.lobster import read_lobster

    _check_dataset(read_lobster(*sample), GLFT(gamma=0.1))


def test_identity_on_a_binance_day(shared_data):
    paths = [p for p in binance_recordings() if p.parent.name == "usdm"]
    if not paths:
        pytest.skip("no Binance USD-M recording in the shared folder")
    from types import SimpleNamespace

    from companion.book import replay
    from companion.io.binance import read_binance

    b = read_binance(paths[0])
    ev = b.events
    d = SimpleNamespace(events=ev, book=replay(ev, 5), instrument=b.instrument)
    # BTCUSDT at a 0.1 USDT tick is a large-tick name (trades print at the touch): the grid
    _check_dataset(d, Grid(quote_size=0.01, max_position=0.05, half_spread_ticks=0.5))
