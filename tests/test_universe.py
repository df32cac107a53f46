"""Synthetic universes: SPEC, per-day reproducibility, regimes, a large-tick name, the common factor,
generation as Dask tasks."""
from __future__ import annotations

import numpy as np
import pytest

from companion import universe as U
from companion.catalog import load_day
from companion.events import DUMMY_ASK, DUMMY_BID
from companion.store import Store
from companion.synth import SynthConfig, calibration_stats, simulate


def _ofi_bins(dd, bucket_s: float = 10.0) -> np.ndarray:
    """Level-1 OFI per bucket (Cont, Kukanov & Stoikov 2014, eq. 2), written out directly."""
    ob, t = dd.book, dd.events["ts"] / 1e9
    pa, qa, pb, qb = ob[:, 0], ob[:, 1], ob[:, 2], ob[:, 3]
    e = np.zeros(len(ob))
    e[1:] = ((pb[1:] >= pb[:-1]) * qb[1:] - (pb[1:] <= pb[:-1]) * qb[:-1]
             - (pa[1:] <= pa[:-1]) * qa[1:] + (pa[1:] >= pa[:-1]) * qa[:-1])
    s0 = dd.instrument.session_open_ns / 1e9 + 60.0          # skip the seeding minute
    edges = np.arange(s0, dd.instrument.session_close_ns / 1e9 + 1e-9, bucket_s)
    idx = np.searchsorted(t, edges, side="right") - 1
    return np.diff(np.r_[0.0, np.cumsum(e)][idx + 1])


def test_parse_and_errors():
    u = U.parse_universe("universe:3:4x6:30:factor=0.5")
    assert (u.seed, u.tickers, u.days, u.minutes, u.factor) == (3, 4, 6, 30.0, 0.5)
    assert u.dates()[:3] == ["2012-06-21", "2012-06-22", "2012-06-25"]     # weekdays only
    for bad, what in (("universe:1:3", "NxD"), ("universe:1:0x2", ">= 1"), ("universe:1:2x2:0", "MINUTES"),
                      ("universe:1:2x2:400", "MINUTES"), ("universe:1:2x2:30:factor=2", "factor"),
                      ("universe:x:2x2", "NxD")):
        with pytest.raises(ValueError, match=what):
            U.parse_universe(bad)
    with pytest.raises(ValueError, match="not one of"):
        U.universe_day("universe:1:2x2:30/SYN0/2012-07-01")


def test_a_day_is_reproducible_alone():
    """The same (seed, ticker, day) gives the same bytes in any universe size, alone or not."""
    a = U.universe_day("universe:9:2x3:2/SYN1/2012-06-25")
    b = U.universe_day("universe:9:5x4:2/SYN1/2012-06-25")
    da, db = U.generate_day(a), U.generate_day(b)
    assert np.array_equal(da.events, db.events) and np.array_equal(da.book, db.book)
    other_seed = U.generate_day(U.universe_day("universe:8:2x3:2/SYN1/2012-06-25"))
    other_day = U.generate_day(U.universe_day("universe:9:2x3:2/SYN1/2012-06-22"))
    for o in (other_seed, other_day):
        assert len(o.events) != len(da.events) or not np.array_equal(o.events, da.events)
    assert da.instrument.extra["seed"] == db.instrument.extra["seed"] != other_seed.instrument.extra["seed"]


def test_day_regimes_are_per_day_and_common_to_tickers():
    days = U.universe_days("universe:2:3x4:5")
    info = {(d.ticker, d.date): U.day_config(d)[2] for d in days}
    dates = sorted({d.date for d in days})
    for date in dates:
        vm = {info[(f"SYN{k}", date)]["vol_mult"] for k in range(3)}
        am = {info[(f"SYN{k}", date)]["activity_mult"] for k in range(3)}
        assert len(vm) == 1 and len(am) == 1
    vms = [info[("SYN0", d)]["vol_mult"] for d in dates]
    assert len(set(vms)) == len(dates) and all(0.2 < v < 5 for v in vms)
    cfg, _, inf = U.day_config(days[0])
    base = SynthConfig()
    assert cfg.lam_limit == pytest.approx(base.lam_limit * inf["activity_mult"])
    assert cfg.sigma_v == pytest.approx(base.sigma_v * inf["vol_mult"] / inf["tick_ratio"])


def test_activity_regime_shows_in_message_counts():
    days = U.universe_days("universe:2:1x6:10")
    counts = [len(U.generate_day(d).events) for d in days]
    am = [U.day_config(d)[2]["activity_mult"] for d in days]
    assert np.corrcoef(am, counts)[0, 1] > 0.8


def test_large_tick_name_has_mostly_one_tick_spreads():
    stats = {}
    for d in U.universe_days("universe:1:3x1:30"):
        dd = U.generate_day(d)
        ins = dd.instrument
        stats[d.ticker] = calibration_stats(dd.events["ts"], dd.events["kind"], dd.book, tick=ins.tick,
                                    session=(ins.session_open_ns / 1e9, ins.session_close_ns / 1e9))
    assert U.day_config(U.universe_days("universe:1:3x1:30")[0])[2]["tick_ratio"] == 15.0
    assert stats["SYN0"]["spread_share_1_tick"] > 0.5            # large tick: $20, one cent
    assert stats["SYN1"]["spread_share_1_tick"] < 0.1            # the default $300 name
    assert stats["SYN1"]["spread_ticks_mean"] > 5 * stats["SYN0"]["spread_ticks_mean"]


def test_common_factor_correlates_order_flow():
    off = "universe:3:3x1:40"
    on = "universe:3:3x1:40:factor=1"
    corr = {}
    for spec in (off, on):
        ofi = [_ofi_bins(U.generate_day(d)) for d in U.universe_days(spec)]
        corr[spec] = np.mean([np.corrcoef(ofi[a], ofi[b])[0, 1] for a, b in ((0, 1), (0, 2), (1, 2))])
    assert abs(corr[off]) < 0.08
    assert corr[on] > 0.1
    # the structural cross-impact is zero either way; rho is the mixing share
    for spec in (off, on):
        m = U.true_cross_impact(spec)
        assert m.shape == (3, 3) and np.nansum(np.abs(m)) == 0 and np.isnan(np.diag(m)).all()
    assert U.factor_correlation(on) == 1.0 and U.factor_correlation(off) == 0.0


def test_factor_off_days_equal_no_factor_and_factor_keeps_book_two_sided():
    d0 = U.universe_day("universe:3:2x1:5/SYN1/2012-06-21")
    dz = U.universe_day("universe:3:2x1:5:factor=0/SYN1/2012-06-21")
    assert np.array_equal(U.generate_day(d0).events, U.generate_day(dz).events)
    dd = U.generate_day(U.universe_day("universe:3:2x1:20:factor=1/SYN1/2012-06-21"))
    assert dd.instrument.extra["common_episodes"] == list(range(40))
    ob = dd.book[100:]                                       # after the seeded opening book
    assert ((ob[:, 0] < DUMMY_ASK) & (ob[:, 2] > DUMMY_BID)).mean() > 0.999


def test_extra_episodes_none_leaves_the_day_unchanged():
    cfg = SynthConfig(session=(34200.0, 34230.0))
    a, b = simulate(seed=4, levels=2, config=cfg), simulate(seed=4, levels=2, config=cfg, extra_episodes=None)
    assert np.array_equal(a.messages, b.messages) and a.episodes == b.episodes
    c = simulate(seed=4, levels=2, config=cfg, extra_episodes=[
        {"start": 34205.0, "end": 34225.0, "direction": 1, "move_ticks": 30.0, "mu": 5.0}])
    assert len(c.episodes) == len(a.episodes) + 1 and not np.array_equal(a.messages[:len(c.messages)], c.messages[:len(a.messages)])


def test_store_builds_a_universe_serial_and_on_dask(tmp_path):
    spec = "universe:6:2x2:1"
    days = Store(tmp_path / "serial").build(U.universe_days(spec))
    assert len(days) == 4
    distributed = pytest.importorskip("distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        days2 = Store(tmp_path / "dask").build(U.universe_days(spec), client=client)
    assert days2 == days
    for d in days:
        a, b = Store(tmp_path / "serial").dataset(d), Store(tmp_path / "dask").dataset(d)
        assert np.array_equal(a.events, b.events) and np.array_equal(a.book, b.book)
        assert np.array_equal(a.events, load_day(d).events)
