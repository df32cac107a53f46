"""Tests of the synthetic LOBSTER day (companion.synth): determinism, exact files, a book that an
order-level pure-Python replay reproduces row by row, message validity, informed episodes."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from companion import synth
from companion.events import DUMMY_ASK, DUMMY_BID

SHORT = synth.SynthConfig(session=(34200.0, 36000.0))          # 30 minutes: the busy open
QUIET = synth.SynthConfig(session=(45000.0, 46800.0))          # 30 minutes at midday


@pytest.fixture(scope="module")
def short_day() -> synth.SynthDay:
    return synth.simulate(seed=11, levels=10, config=SHORT)


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------
# slow, obviously-correct reference: order-level replay with Python dicts
# ------------------------------------------------------------------------------------------
def replay_orders_py(messages: np.ndarray, levels: int) -> tuple[np.ndarray, list[str]]:
    """Replay LOBSTER messages order by order; return the top-``levels`` rows and every
    violation of the message rules (unknown order, size too large, wrong side/price, FIFO)."""
    orders: dict[int, list[int]] = {}                 # id -> [side, price, size]
    queues: dict[tuple[int, int], list[int]] = {}     # (side, price) -> FIFO order ids
    problems: list[str] = []
    rows = np.empty((len(messages), 4 * levels), dtype=np.float64)
    for i, (_t, typ, oid, size, px, d) in enumerate(messages.tolist()):
        if typ == 1:
            if oid in orders:
                problems.append(f"{i}: duplicate id {oid}")
            orders[oid] = [d, px, size]
            queues.setdefault((d, px), []).append(oid)
        elif typ in (2, 3, 4):
            o = orders.get(oid)
            if o is None:
                problems.append(f"{i}: type {typ} of unknown order {oid}")
                continue
            if o[0] != d or o[1] != px:
                problems.append(f"{i}: side/price {d}/{px} differ from the order's {o[0]}/{o[1]}")
            if typ == 2 and not 0 < size < o[2]:
                problems.append(f"{i}: partial cancel of {size} from {o[2]}")
            if typ == 3 and size != o[2]:
                problems.append(f"{i}: delete of {size}, order holds {o[2]}")
            if typ == 4:
                if not 0 < size <= o[2]:
                    problems.append(f"{i}: execution of {size} from {o[2]}")
                if queues[(d, px)][0] != oid:
                    problems.append(f"{i}: execution not at the head of the queue (FIFO)")
                best = max(p for (s, p) in queues if s == 1) if d == 1 else min(p for (s, p) in queues if s == -1)
                if px != best:
                    problems.append(f"{i}: execution at {px}, best is {best}")
            o[2] -= size
            if o[2] <= 0:
                del orders[oid]
                q = queues[(d, px)]
                q.remove(oid)
                if not q:
                    del queues[(d, px)]
        elif typ == 5:
            if oid != 0:
                problems.append(f"{i}: hidden execution with id {oid}")
        else:
            problems.append(f"{i}: type {typ}")
        depth: dict[tuple[int, int], int] = {}
        for key, ids in queues.items():
            depth[key] = sum(orders[j][2] for j in ids)
        asks = sorted(p for (s, p) in depth if s == -1)[:levels]
        bids = sorted((p for (s, p) in depth if s == 1), reverse=True)[:levels]
        row = rows[i]
        for k in range(levels):
            row[4 * k], row[4 * k + 1] = (asks[k], depth[(-1, asks[k])]) if k < len(asks) else (DUMMY_ASK, 0)
            row[4 * k + 2], row[4 * k + 3] = (bids[k], depth[(1, bids[k])]) if k < len(bids) else (DUMMY_BID, 0)
    return rows, problems


def test_replay_reproduces_orderbook_and_messages_are_valid():
    # a 10-minute slice keeps the O(n * levels) Python replay quick
    cfg = synth.SynthConfig(session=(34200.0, 34800.0))
    day = synth.simulate(seed=3, levels=5, config=cfg)
    rows, problems = replay_orders_py(day.messages, 5)
    assert problems == []
    bad = np.flatnonzero(np.any(rows != day.orderbook, axis=1))
    assert bad.size == 0, f"first differing row {bad[:1]}"
    assert set(np.unique(day.messages["type"])) == {1, 2, 3, 4, 5}


def test_hand_worked_replay_reference():
    """The reference itself on a hand-worked example (FIFO execution, partial cancel, delete)."""
    m = np.array([
        (1, 1, 1, 100, 1000100, 1),    # bid 100 @ 100.01
        (2, 1, 2, 50, 1000100, 1),     # bid 50 @ 100.01 (behind)
        (3, 1, 3, 70, 1000300, -1),    # ask 70 @ 100.03
        (4, 4, 1, 100, 1000100, 1),    # sell MO fills order 1 fully (head of queue)
        (5, 2, 2, 20, 1000100, 1),     # partial cancel 20 of order 2
        (6, 3, 3, 70, 1000300, -1),    # delete the ask
    ], dtype=synth.MESSAGE_DTYPE)
    rows, problems = replay_orders_py(m, 1)
    assert problems == []
    assert rows.tolist() == [
        [DUMMY_ASK, 0, 1000100, 100], [DUMMY_ASK, 0, 1000100, 150], [1000300, 70, 1000100, 150],
        [1000300, 70, 1000100, 50], [1000300, 70, 1000100, 30], [DUMMY_ASK, 0, 1000100, 30],
    ]
    m2 = m.copy()
    m2["order_id"][3] = 2   # executing the second order in the queue breaks FIFO
    assert any("FIFO" in p for p in replay_orders_py(m2, 1)[1])


def test_book_invariants(short_day):
    m, ob = short_day.messages, short_day.orderbook
    assert len(m) == len(ob) and ob.shape[1] == 40
    t = m["time_ns"]
    assert np.all(np.diff(t) >= 0)
    assert t[0] >= 34200 * 10**9 and t[-1] < 36000 * 10**9
    assert np.all(m["price"] % 100 == 0) and np.all(m["price"] > 0)
    assert np.all(m["size"] > 0)
    assert np.all(np.isin(m["direction"], (-1, 1)))
    assert np.all((m["order_id"] == 0) == (m["type"] == 5))
    ask_px, ask_sz, bid_px, bid_sz = ob[:, 0::4], ob[:, 1::4], ob[:, 2::4], ob[:, 3::4]
    real_a, real_b = ask_px != DUMMY_ASK, bid_px != DUMMY_BID
    assert np.all((ask_sz > 0) == real_a) and np.all((bid_sz > 0) == real_b)
    assert np.all(ask_px[real_a] % 100 == 0) and np.all(bid_px[real_b] % 100 == 0)
    # levels packed, strictly monotone
    assert np.all(real_a[:, :-1] >= real_a[:, 1:]) and np.all(real_b[:, :-1] >= real_b[:, 1:])
    assert np.all((np.diff(ask_px, axis=1) > 0) | ~real_a[:, 1:])
    assert np.all((np.diff(bid_px, axis=1) < 0) | ~real_b[:, 1:])
    both = real_a[:, 0] & real_b[:, 0]
    assert np.all(ask_px[both, 0] > bid_px[both, 0]), "crossed or locked book"
    # the hidden executions print inside the quotes of the book they meet
    h = np.flatnonzero(m["type"] == 5)
    h = h[h > 0]
    assert np.all(m["price"][h] <= ob[h - 1, 0]) and np.all(m["price"][h] >= ob[h - 1, 2])


def test_determinism_bytes(tmp_path):
    a = synth.write_day(tmp_path / "a", seed=5, levels=10, config=SHORT)
    b = synth.write_day(tmp_path / "b", seed=5, levels=10, config=SHORT)
    for pa, pb in zip(a, b):
        assert _sha(pa) == _sha(pb)
    ma = (tmp_path / "a" / f"{synth.file_stem(SHORT)}_meta.json").read_bytes()
    mb = (tmp_path / "b" / f"{synth.file_stem(SHORT)}_meta.json").read_bytes()
    assert ma == mb
    c = synth.write_day(tmp_path / "c", seed=6, levels=10, config=SHORT)
    assert _sha(c[0]) != _sha(a[0])


def test_files_are_exact_lobster(tmp_path, short_day):
    mpath, opath = synth.write_day(tmp_path, day=short_day)
    assert mpath.name == "SYNTH_2012-06-21_34200000_36000000_message_10.csv"
    assert opath.name == "SYNTH_2012-06-21_34200000_36000000_orderbook_10.csv"
    lines = mpath.read_bytes().split(b"\n")
    assert lines[-1] == b"" and b"\r" not in lines[0]
    m = short_day.messages
    for i in (0, 1, len(m) // 2, len(m) - 1):
        r = m[i]
        want = (f"{r['time_ns'] // 10**9}.{r['time_ns'] % 10**9:09d},{r['type']},{r['order_id']},"
                f"{r['size']},{r['price']},{r['direction']}")
        assert lines[i].decode() == want
    # full round trip, independent parser
    raw = np.loadtxt(mpath, delimiter=",", dtype=str)
    secs = np.array([s.split(".") for s in raw[:, 0]])
    assert all(len(f) == 9 for f in secs[:, 1])
    t_ns = secs[:, 0].astype(np.int64) * 10**9 + secs[:, 1].astype(np.int64)
    assert np.array_equal(t_ns, m["time_ns"])
    for j, name in enumerate(synth.MESSAGE_DTYPE.names[1:], start=1):
        assert np.array_equal(raw[:, j].astype(np.int64), m[name])
    ob = np.loadtxt(opath, delimiter=",", dtype=np.int64)
    assert np.array_equal(ob, short_day.orderbook.astype(np.int64))
    meta = json.loads((tmp_path / f"{synth.file_stem(SHORT)}_meta.json").read_text())
    assert meta["seed"] == 11 and meta["levels"] == 10 and meta["episodes"]
    assert meta["stats"]["messages"] == len(m)
    assert meta["files"][mpath.name]["sha256"] == _sha(mpath)


def test_project_reader_and_book_engine_agree(tmp_path, short_day):
    """Integration: the project's strict LOBSTER reader accepts the files and the L2 book engine
    reproduces every orderbook row from the messages alone (full depth)."""
    lobster = pytest.importorskip("companion.io.lobster")
    book = pytest.importorskip("companion.book")
    mpath, opath = synth.write_day(tmp_path, day=short_day)
    data = lobster.read_lobster(mpath, opath)
    assert np.array_equal(data.events["ts"], short_day.messages["time_ns"])
    assert np.array_equal(data.book, short_day.orderbook)
    snaps = book.replay(synth.to_events(short_day.messages), levels=10)
    assert np.array_equal(snaps, short_day.orderbook)


def test_levels_do_not_change_the_simulation():
    a = synth.simulate(seed=2, levels=3, config=QUIET)
    b = synth.simulate(seed=2, levels=10, config=QUIET)
    assert np.array_equal(a.messages, b.messages)
    assert np.array_equal(a.orderbook, b.orderbook[:, :12])


def test_informed_episodes_move_the_price_in_their_direction():
    cfg = synth.SynthConfig(session=(41400.0, 45000.0), episodes_per_hour=3.0)
    signed = []
    for seed in (1, 2, 3):
        day = synth.simulate(seed=seed, levels=1, config=cfg)
        for e in synth._episode_moves(day):
            assert cfg.session[0] <= e["start"] < e["end"] <= cfg.session[1]
            signed.append(e["direction"] * e["mid_move_ticks"])
    assert len(signed) >= 5
    assert np.mean(signed) > 10.0
    assert np.mean(np.array(signed) > 0) >= 0.7


# ------------------------------------------------------------------------------------------
# calibration against the LOBSTER samples (companion/reference/lobster_stats.json, measured with
# companion.stats.day_stats): spread 13.6-31 ticks, depth at the best 145-197 shares, execution
# share 7.9-30% (level-10 to level-1 files), 50k-400k messages per day
# ------------------------------------------------------------------------------------------
SAMPLE_RANGES = {"spread_ticks_mean": (13.5, 31.5), "depth_best_mean": (130.0, 230.0),
                 "execution_share": (0.075, 0.30)}


def _sample_stats(day: synth.SynthDay) -> dict:
    from companion import stats

    return stats.day_stats(synth.to_events(day.messages), day.orderbook,
                           synth.instrument(day.config, day.levels))


def test_reference_ranges_cover_the_samples():
    """The asserted ranges are those of the committed sample statistics (not of the generator)."""
    from companion.stats import REFERENCE_STATS

    ref = json.loads(REFERENCE_STATS.read_text())
    for key, (lo, hi) in SAMPLE_RANGES.items():
        values = [v[key] for v in ref.values()]
        assert lo <= min(values) and max(values) <= hi, (key, values)


def test_calibration_short_day(short_day):
    """The busy first half hour already has the samples' wide spread, thin best quote and
    execution share (a sparse book: occupied levels several ticks apart)."""
    st = _sample_stats(short_day)
    for key, (lo, hi) in SAMPLE_RANGES.items():
        assert lo <= st[key] <= hi, (key, st[key])
    ob = short_day.orderbook
    full = (ob[:, 1::4] > 0).all(axis=1)
    assert full.mean() > 0.99                                   # 10 occupied levels per side
    assert np.mean((ob[full, 4] - ob[full, 0]) / 100) > 2.0     # ... not one tick apart


def test_ofi_and_fundamental_carry_information(short_day):
    """Cont, Kukanov & Stoikov (2014): 10-s OFI explains a large share of 10-s mid changes; and the
    mid lags the fundamental, so the gap ``V - mid`` predicts the next 10-s mid change."""
    st = synth.stats_of(short_day)
    assert 0.2 < st["ofi_r2_pooled"] < 0.95
    t = short_day.messages["time_ns"] / 1e9
    ob = short_day.orderbook
    mid = 0.5 * (ob[:, 0] + ob[:, 2]) / 100
    v = short_day.fundamental / 100
    idx = np.searchsorted(t, np.arange(34200.0, 36000.0 + 1e-9, 10.0), side="right") - 1
    gap, dp_next = (v - mid)[idx][:-1], np.diff(mid[idx])
    assert np.corrcoef(gap, dp_next)[0, 1] > 0.2


@pytest.mark.slow
def test_default_day_matches_the_samples():
    """The default day (seed 7, full session): sample-range statistics, 150k-450k messages,
    CKS OFI R^2 (30-min windows) in [0.3, 0.8], a positive next-interval OFI correlation and
    U-shaped activity."""
    from companion.flow.kyle import impact_regressions
    from companion.flow.tradesign import signed_volume_events

    day = synth.simulate(seed=7, levels=10)
    st = _sample_stats(day)
    for key, (lo, hi) in SAMPLE_RANGES.items():
        assert lo <= st[key] <= hi, (key, st[key])
    assert 150_000 <= st["messages"] <= 450_000
    ev = synth.to_events(day.messages)
    inst = synth.instrument(day.config, 10)
    res = impact_regressions(day.orderbook, ev["ts"], signed_volume_events(ev), tick=inst.tick,
                             t0=inst.session_open_ns, t1=inst.session_close_ns)
    assert 0.3 <= res.summary["r2_mean"] <= 0.8
    own = synth.stats_of(day)
    assert 0.0 < own["ofi_next_corr"] < 0.2
    per30 = own["messages_per_30min"]
    assert min(per30[0], per30[-1]) > 1.5 * min(per30)
    moves = [e["direction"] * e["mid_move_ticks"] for e in synth._episode_moves(day)]
    assert np.mean(np.array(moves) > 0) >= 0.7


def test_ensure_day_is_atomic_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_DATA", str(tmp_path))
    m1, o1 = synth.ensure_day(seed=4, config=QUIET)
    assert m1.parent.parent == tmp_path / "synthetic" and m1.exists() and o1.exists()
    assert not [p for p in m1.parent.parent.iterdir() if p.name.startswith(".")]
    stamp = m1.stat().st_mtime_ns
    m2, o2 = synth.ensure_day(seed=4, config=QUIET)
    assert (m2, o2) == (m1, o1) and m2.stat().st_mtime_ns == stamp
    # a day written by another generator version (or config) is regenerated, not reused
    meta_path = m1.with_name(synth.file_stem(QUIET) + "_meta.json")
    meta = json.loads(meta_path.read_text())
    good = _sha(o1)
    meta["generator_version"] = -1
    meta_path.write_text(json.dumps(meta))
    o1.write_text("stale\n")
    synth.ensure_day(seed=4, config=QUIET)
    assert _sha(o1) == good
    assert json.loads(meta_path.read_text())["generator_version"] == synth.GENERATOR_VERSION
    # another levels count lands in the same folder
    m5, o5 = synth.ensure_day(seed=4, levels=5, config=QUIET)
    assert m5.parent == m1.parent and o5.name.endswith("_orderbook_5.csv") and _sha(o1) == good


def test_bad_config_is_rejected():
    with pytest.raises(ValueError):
        synth.simulate(config=synth.SynthConfig(session=(36000.0, 34200.0)))
    with pytest.raises(ValueError):
        synth.simulate(levels=0)


def test_config_round_trips_through_meta_json():
    cfg = synth.SynthConfig(session=(34200.0, 35000.0), lam_limit=3.0)
    assert synth.SynthConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_cli_data_synthetic(tmp_path, capsys):
    from companion.cli import main

    rc = main(["data", "synthetic", "--seed", "3", "--out", str(tmp_path), "--levels", "5",
               "--session", "34200", "34800", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert Path(out["message_path"]).name == "SYNTH_2012-06-21_34200000_34800000_message_5.csv"
    assert out["stats"]["messages"] == sum(1 for _ in open(out["message_path"]))
    day = synth.simulate(seed=3, levels=5, config=synth.SynthConfig(session=(34200.0, 34800.0)))
    assert np.array_equal(np.loadtxt(out["orderbook_path"], delimiter=",", dtype=np.int64),
                          day.orderbook.astype(np.int64))
    assert main(["data", "synthetic", "--seed", "-1", "--out", str(tmp_path)]) == 2


def test_buffer_growth_reruns_the_same_draws():
    a = synth.simulate(seed=9, levels=2, config=QUIET)
    b = synth.simulate(seed=9, levels=2, config=QUIET, _capacity=1000)
    assert np.array_equal(a.messages, b.messages) and np.array_equal(a.orderbook, b.orderbook)
