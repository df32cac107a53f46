"""No-lookahead proof of the feature library.

For EVERY registered feature: perturb every event strictly after a time ``t`` (sizes, prices, kinds,
timestamps; append events; drop events; all of it at once), rebuild the book from the perturbed
events, recompute the features on the same grid, and require every value at a sample time ``<= t``
to be bit-identical. Several ``t`` (inside bins, on a bin edge, early, late), both grids. A control
shows the check catches a feature that peeks one second ahead.
"""
from __future__ import annotations

import numpy as np
import pytest

from companion import synth
from companion.book import replay
from companion.events import ADD, CANCEL, DELETE, EXEC_HIDDEN, EXEC_VISIBLE, NS
from companion.features import FeatureConfig, compute, registry
from companion.features.spec import GROUPS

SESSION = (34200.0, 34200.0 + 600.0)
CFG = FeatureConfig(vpin_bucket_volume=500.0, vpin_buckets=10, large_trade_size=200.0)
OPEN = int(SESSION[0] * NS)
# inside a bin, on a grid point (the sample at t itself must not see the event just after t), ...
CUTS = [OPEN + 37 * NS + 123_457, OPEN + 120 * NS, OPEN + 301 * NS + 999_999_999, OPEN + 420 * NS,
        OPEN + 455 * NS + 5]


@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=SESSION)
    d = synth.simulate(seed=5, levels=10, config=cfg)
    ev = synth.to_events(d.messages)
    return ev, synth.instrument(cfg, 10)


def _features(ev, ins, grid="1s"):
    return compute(ev, replay(ev, 10), ins, grid=grid, config=CFG)


def _perturb(ev: np.ndarray, t: int, how: str, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``ev`` whose events with ``ts > t`` are changed (``how``); earlier events untouched."""
    ev = ev.copy()
    after = np.flatnonzero(ev["ts"] > t)
    assert after.size > 100
    fut = ev[after]
    if how in ("sizes", "all"):
        fut["size"] = np.maximum(1.0, np.round(fut["size"] * rng.uniform(0.2, 3.0, after.size)))
    if how in ("prices", "all"):
        fut["price"] += 100 * rng.integers(-3, 4, after.size)
    if how in ("kinds", "all"):
        choices = np.array([ADD, CANCEL, DELETE, EXEC_VISIBLE, EXEC_HIDDEN], dtype=np.int8)
        flip = rng.random(after.size) < 0.3
        fut["kind"][flip] = rng.choice(choices, flip.sum())
        fut["side"][rng.random(after.size) < 0.2] *= -1
    if how in ("times", "all"):  # new timestamps, still > t and sorted
        stretch = ((fut["ts"] - t) * rng.uniform(0.3, 1.5, after.size)).astype(np.int64)
        fut["ts"] = np.sort(t + 1 + stretch + rng.integers(0, NS, after.size))
        fut["ts_local"] = fut["ts"]
    ev[after] = fut
    if how in ("drop", "all"):
        keep = np.ones(len(ev), bool)
        keep[after[rng.random(after.size) < 0.4]] = False
        ev = ev[keep]
    if how in ("inject", "all"):  # a big bid at the best, one nanosecond after t: visible everywhere
        i = np.flatnonzero(ev["ts"] <= t)[-1]
        best_bid = replay(ev[: i + 1], 1)[-1, 2]
        new = ev[i: i + 1].copy()
        new["ts"] = new["ts_local"] = t + 1
        new["kind"], new["side"], new["price"], new["size"], new["order_id"] = ADD, 1, int(best_bid), 5000.0, 999_999_999
        ev = np.concatenate([ev[: i + 1], new, ev[i + 1:]])
    if how in ("append", "all"):
        extra = ev[-300:].copy() if how == "append" else ev[np.flatnonzero(ev["ts"] > t)[:300]].copy()
        extra["ts"] = np.maximum(extra["ts"], t + 1)
        extra["ts"] = np.sort(extra["ts"] + rng.integers(0, 3 * NS, extra.size))
        ev = np.concatenate([ev, extra])
        ev = ev[np.argsort(ev["ts"], kind="stable")]
    return ev


def _assert_same_up_to(base, other, t: int, ts0: int):
    T = base.index.asi8 - ts0
    m = T <= t
    assert m.sum() >= 10
    a = base.to_numpy()[m]
    b = other.to_numpy()[: m.sum()]
    assert np.array_equal(other.index.asi8[: m.sum()], base.index.asi8[m])
    bad = a.view(np.uint64) != b.view(np.uint64)
    if bad.any():
        cols = sorted({base.columns[j] for j in np.argwhere(bad)[:, 1]})
        raise AssertionError(f"lookahead: features {cols} changed at sample times <= t")


def _ts0(df) -> int:
    """The index is midnight of the instrument's date + ts."""
    return int(np.datetime64("2012-06-21", "ns").astype(np.int64))


@pytest.mark.parametrize("how", ["sizes", "prices", "kinds", "times", "drop", "inject", "append", "all"])
def test_no_lookahead_clock_grid(day, how):
    ev, ins = day
    base = _features(ev, ins)
    assert list(base.columns) == list(registry())  # every registered feature is checked
    rng = np.random.default_rng(hash(how) % 2**32)
    changed_after = set()
    for t in CUTS:
        pert = _perturb(ev, t, how, rng)
        assert np.array_equal(pert[pert["ts"] <= t], ev[ev["ts"] <= t])
        other = _features(pert, ins)
        _assert_same_up_to(base, other, t, _ts0(base))
        # the perturbation has teeth: values after t do change
        T = base.index.asi8 - _ts0(base)
        n = min(len(base), len(other))
        later = (T[:n] > t)
        a, b = base.to_numpy()[:n][later], other.to_numpy()[:n][later]
        diff = (a.view(np.uint64) != b.view(np.uint64)).any(axis=0)
        changed_after |= {c for c, d in zip(base.columns, diff) if d}
    assert len(changed_after) >= 20, changed_after


def test_no_lookahead_event_grid(day):
    ev, ins = day
    base = _features(ev, ins, grid="events")
    rng = np.random.default_rng(3)
    for t in CUTS:
        for how in ("inject", "all"):
            other = _features(_perturb(ev, t, how, rng), ins, grid="events")
            _assert_same_up_to(base, other, t, _ts0(base))


def test_every_group_is_covered_and_specs_complete():
    reg = registry()
    assert len(reg) >= 50
    assert {s.group for s in reg.values()} == set(GROUPS)
    for s in reg.values():
        assert s.complete(), s


def test_check_catches_a_peeking_feature(day):
    """Control: a 'feature' equal to the mid one second AHEAD fails the same comparison."""
    ev, ins = day
    t = CUTS[1]

    def peeking(e):
        df = _features(e, ins)[["ofi_1s"]].copy()
        book = replay(e, 1)
        T = df.index.asi8 - _ts0(df) + NS  # one second ahead
        i = np.searchsorted(e["ts"], T, side="right") - 1
        df["ofi_1s"] = 0.5 * (book[np.maximum(i, 0), 0] + book[np.maximum(i, 0), 2])
        return df

    base = peeking(ev)
    other = peeking(_perturb(ev, t, "prices", np.random.default_rng(0)))
    with pytest.raises(AssertionError, match="lookahead"):
        _assert_same_up_to(base, other, t, _ts0(base))
