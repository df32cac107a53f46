"""One dataset type (companion.events.Dataset) accepted by Simulator, execute, features and
studies exactly like the (events, book, instrument) form; and the one empty-level rule."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import companion
from companion.events import DUMMY_ASK, DUMMY_BID, NS, Dataset, as_dataset
from companion.stats import level_ok_nb, level_size_nb, price_ok_nb, row_mid_nb
from companion.synth import SynthConfig, instrument, simulate, to_events


@pytest.fixture(scope="module")
def day():
    cfg = SynthConfig(session=(34200.0, 34260.0))
    d = simulate(seed=3, levels=5, config=cfg)
    return Dataset(to_events(d.messages), d.orderbook, instrument(cfg, levels=5))


def test_load_returns_the_dataset_type():
    d = companion.load("universe:1:2x2:1/SYN0/2012-06-22")
    assert isinstance(d, Dataset)
    assert d.tick == int(d.instrument.tick) and isinstance(d.tick, int)
    ev, book, ins = d.triple()
    assert ev is d.events and book is d.book and ins is d.instrument


def test_as_dataset_forms(day):
    assert as_dataset(day) is day
    ns = as_dataset(SimpleNamespace(events=day.events, book=day.book, instrument=day.instrument))
    assert ns.events is day.events and ns.book is day.book and ns.tick == day.tick
    tri = as_dataset(day.events, day.book, day.instrument)
    assert tri.book is day.book
    with pytest.raises(TypeError, match="Dataset"):
        as_dataset([1, 2, 3])


def test_simulator_takes_a_dataset(day):
    from companion.sim import MARKET, Simulator

    def buy(ctx):
        if ctx.k == 50:
            ctx.submit(1, 20.0, 0, MARKET)

    a = Simulator(day).run_python(buy)
    b = Simulator(day.events, day.book, tick=day.tick).run_python(buy)
    assert len(a.fills) > 0
    np.testing.assert_array_equal(a.fills, b.fills)
    with pytest.raises(ValueError, match="tick"):
        Simulator(day.events, day.book)
    with pytest.raises(ValueError, match="tick must be > 0"):   # an explicit tick still wins
        Simulator(day, tick=0)


def test_execute_and_features_take_a_dataset(day):
    from companion.execution import ParentOrder, execute
    from companion.execution.schedules import TWAP
    from companion.features import compute

    t0 = day.instrument.session_open_ns
    p = ParentOrder(side=1, qty=200, start_ns=t0 + 5 * NS, end_ns=t0 + 25 * NS)
    ns = SimpleNamespace(events=day.events, book=day.book, instrument=day.instrument)
    ra = execute(day, p, TWAP(interval_s=5), mode="market", post_s=5, tail_s=5)
    rb = execute(ns, p, TWAP(interval_s=5), mode="market", post_s=5, tail_s=5)
    assert ra.measures["completion"] == 1.0
    assert ra.fills.equals(rb.fills)
    fa = compute(day, grid="10s", features=["ofi_10s", "spread_ticks"])
    fb = compute(day.events, day.book, day.instrument, grid="10s", features=["ofi_10s", "spread_ticks"])
    assert len(fa) == 7 and fa.equals(fb)


def _ref_ok(px, sz):
    return sz > 0 and DUMMY_BID < px < DUMMY_ASK


@pytest.mark.parametrize("px", [10100.0, float(DUMMY_ASK), float(DUMMY_BID), 9.5e9, -9.5e9, 1e10,
                                np.inf, -np.inf, np.nan, 0.0])
@pytest.mark.parametrize("sz", [3.0, 0.0, -1.0])
def test_empty_level_rule_against_reference(px, sz):
    assert level_ok_nb(px, sz) == _ref_ok(px, sz)
    assert price_ok_nb(px) == _ref_ok(px, 1.0)
    assert level_size_nb(px, sz) == (sz if _ref_ok(px, sz) else 0.0)


def test_row_mid_and_stats_agree_on_empty_levels():
    from companion.stats import mid_price, two_sided

    rows = np.array([[10100., 3, 10000, 5], [DUMMY_ASK, 0, 10000, 5], [10100, 3, DUMMY_BID, 0],
                     [10100, 0, 10000, 5], [10100, 3, 10000, 0]], dtype=np.float64)
    kern = np.array([row_mid_nb(r) for r in rows])
    np.testing.assert_array_equal(kern, mid_price(rows))
    np.testing.assert_array_equal(~np.isnan(kern), two_sided(rows))
    assert kern[0] == 10050.0 and np.isnan(kern[1:]).all()
