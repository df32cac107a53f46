"""companion.book: numba replay == dict reference, hand-worked books, LOBSTER answer-key checks."""
from __future__ import annotations

import importlib.util
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from companion.book import (
    AUDIT_CLASSES,
    TRADE_DTYPE,
    audit_orders,
    book_columns,
    book_frame,
    order_anomalies,
    replay,
    replay_assisted,
    replay_py,
    trades,
    trades_frame,
    verify_lobster,
)
from companion.book.kernels import audit_orders_nb, check_transitions_nb, first_bad_transition_nb, replay_nb
from companion.events import (
    ADD,
    CANCEL,
    CLEAR,
    CROSS,
    DELETE,
    DUMMY_ASK,
    DUMMY_BID,
    EVENT_DTYPE,
    EXEC_HIDDEN,
    EXEC_VISIBLE,
    HALT,
    LEVEL_SET,
    TRADE,
    Instrument,
)
from companion.io.lobster import read_lobster
from tests.conftest import lobster_samples

REPO = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def make_events(rows: list[tuple]) -> np.ndarray:
    """Events from ``(kind, side, price, size)`` tuples; ts = 1000 * index."""
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, (k, s, p, q) in enumerate(rows):
        ev[i] = (1000 * i, 1000 * i, k, s, p, q, i)
    return ev


def random_lobster_stream(n: int, seed: int, width: int = 25, p_far: float = 0.05, tick: int = 100) -> np.ndarray:
    """Seeded crossing-free LOBSTER-like stream: adds near and far from the touch (levels beyond any
    N), partial cancels, whole-level deletes, executions at the touch and deep, hidden executions,
    crosses/halts and a few reductions at prices not in the book."""
    rng = np.random.default_rng(seed)
    books: dict[int, dict[int, float]] = {1: {}, -1: {}}
    mid = 10_000
    rows = []
    for _ in range(n):
        s = 1 if rng.random() < 0.5 else -1
        book, other = books[s], books[-s]
        u = rng.random()
        if u < 0.45 or not book:
            off = int(rng.integers(width, 8 * width)) if rng.random() < p_far else int(rng.integers(0, width))
            px = mid - 1 - off if s > 0 else mid + 1 + off
            if other:  # stay crossing-free
                px = min(px, min(other) - 1) if s > 0 else max(px, max(other) + 1)
            q = float(rng.integers(1, 500))
            book[px] = book.get(px, 0.0) + q
            rows.append((ADD, s, px * tick, q))
        elif u < 0.93:
            levels = sorted(book, reverse=s > 0)
            px = levels[0] if rng.random() < 0.4 else levels[int(rng.integers(len(levels)))]
            r = rng.random()
            if r < 0.35:
                k, q = DELETE, book[px]  # whole level
            elif r < 0.7:
                k, q = CANCEL, float(rng.integers(1, int(book[px]) + 1))
            else:
                k, q = EXEC_VISIBLE, float(rng.integers(1, int(book[px]) + 1))
            book[px] -= q
            if book[px] <= 0:
                del book[px]
            rows.append((k, s, px * tick, q))
        elif u < 0.97:
            rows.append((EXEC_HIDDEN, s, (mid + int(rng.integers(-3, 4))) * tick, float(rng.integers(1, 100))))
        elif u < 0.98:
            rows.append((CROSS if rng.random() < 0.5 else HALT, s, mid * tick, 0.0))
        else:  # a reduction at a price that is not in the book: ignored by both implementations
            px = (mid - 10_000) if s > 0 else (mid + 10_000)
            rows.append((CANCEL, s, px * tick, 5.0))
        if rng.random() < 0.05:
            mid += int(rng.integers(-2, 3))
    return make_events(rows)


def random_level_stream(n: int, seed: int) -> np.ndarray:
    """Seeded Binance-like stream: CLEAR + LEVEL_SET snapshots, then LEVEL_SET diffs with fractional
    sizes (0 deletes; some deletes of missing levels), and TRADE prints."""
    rng = np.random.default_rng(seed)
    rows = []
    mid = 500_000
    for t in range(n):
        if t % 2000 == 0:  # a snapshot
            rows.append((CLEAR, 0, 0, 0.0))
            for j in range(1, 30):
                rows.append((LEVEL_SET, 1, (mid - j) * 10, round(float(rng.random()) * 3, 3) + 0.001))
                rows.append((LEVEL_SET, -1, (mid + j) * 10, round(float(rng.random()) * 3, 3) + 0.001))
            continue
        s = 1 if rng.random() < 0.5 else -1
        off = int(rng.geometric(0.2))
        px = (mid - off) * 10 if s > 0 else (mid + off) * 10
        u = rng.random()
        if u < 0.9:
            q = 0.0 if rng.random() < 0.35 else round(float(rng.random()) * 2, 5)
            rows.append((LEVEL_SET, s, px, q))
        else:
            rows.append((TRADE, s, px, round(float(rng.random()), 4)))
    return make_events(rows)


# --------------------------------------------------------------------------------------------
# numba == reference
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("levels", [1, 5, 10])
def test_replay_matches_reference_lobster_like(seed: int, levels: int) -> None:
    ev = random_lobster_stream(3000, seed)
    got, st = replay(ev, levels, return_stats=True)
    np.testing.assert_array_equal(got, replay_py(ev, levels))
    assert st["unknown_reductions"] > 0  # the stream does contain them
    assert st["max_ask_levels"] > levels  # and levels beyond the visible depth


def test_replay_matches_reference_deep_book_growth() -> None:
    """More than the initial capacity (256) of levels per side: the state must grow."""
    rows = [(ADD, 1, 1_000_000 - 100 * j, 1.0 + j) for j in range(700)]
    rows += [(ADD, -1, 1_000_100 + 100 * j, 2.0 + j) for j in range(700)]
    rows += [(DELETE, 1, 1_000_000 - 100 * j, 1.0 + j) for j in range(0, 700, 3)]
    ev = make_events(rows)
    got, st = replay(ev, 10, return_stats=True)
    np.testing.assert_array_equal(got, replay_py(ev, 10))
    assert st["max_ask_levels"] == 700 and st["max_bid_levels"] == 700


@pytest.mark.parametrize("seed", [0, 1])
def test_replay_matches_reference_level_set_float_sizes(seed: int) -> None:
    ev = random_level_stream(6000, seed)
    got = replay(ev, 10)
    np.testing.assert_array_equal(got, replay_py(ev, 10))
    assert np.any(got[:, 1] % 1 != 0)


def test_replay_with_initial_row_matches_reference() -> None:
    ev = random_lobster_stream(2000, 5)
    init = replay(ev[:1000], 20)[-1]
    np.testing.assert_array_equal(replay(ev[1000:], 10, initial=init), replay_py(ev[1000:], 10, initial=init))


def test_replay_nb_allocating_variant_agrees() -> None:
    ev = random_lobster_stream(1000, 9)
    out, stats = replay_nb(ev["kind"], ev["side"], ev["price"], ev["size"], 5, np.empty(0))
    np.testing.assert_array_equal(out, replay(ev, 5))
    assert stats.shape == (3,)


# --------------------------------------------------------------------------------------------
# hand-worked examples
# --------------------------------------------------------------------------------------------
def test_hand_worked_book() -> None:
    ev = make_events([
        (ADD, 1, 1000, 10),          # bid 1000 x10
        (ADD, -1, 1200, 5),          # ask 1200 x5
        (ADD, 1, 1100, 3),           # new best bid 1100 x3
        (ADD, 1, 1000, 4),           # bid 1000 -> 14
        (CANCEL, 1, 1000, 6),        # bid 1000 -> 8
        (EXEC_VISIBLE, 1, 1100, 3),  # best bid executed away: 1000 x8 is best again
        (EXEC_HIDDEN, 1, 1150, 7),   # no visible change
        (ADD, -1, 1300, 1),          # second ask level
        (DELETE, -1, 1200, 5),       # best ask deleted: 1300 becomes best
        (LEVEL_SET, -1, 1300, 2.5),  # set size
        (LEVEL_SET, -1, 1300, 0),    # delete by setting 0
        (TRADE, 1, 1300, 1),         # no change
        (CLEAR, 0, 0, 0),            # empty book
    ])
    A, B = DUMMY_ASK, DUMMY_BID
    want = np.array([
        [A, 0, 1000, 10, A, 0, B, 0],
        [1200, 5, 1000, 10, A, 0, B, 0],
        [1200, 5, 1100, 3, A, 0, 1000, 10],
        [1200, 5, 1100, 3, A, 0, 1000, 14],
        [1200, 5, 1100, 3, A, 0, 1000, 8],
        [1200, 5, 1000, 8, A, 0, B, 0],
        [1200, 5, 1000, 8, A, 0, B, 0],
        [1200, 5, 1000, 8, 1300, 1, B, 0],
        [1300, 1, 1000, 8, A, 0, B, 0],
        [1300, 2.5, 1000, 8, A, 0, B, 0],
        [A, 0, 1000, 8, A, 0, B, 0],
        [A, 0, 1000, 8, A, 0, B, 0],
        [A, 0, B, 0, A, 0, B, 0],
    ], dtype=float)
    np.testing.assert_array_equal(replay(ev, 2), want)
    np.testing.assert_array_equal(replay_py(ev, 2), want)


def test_transition_check_entering_level_is_not_determined() -> None:
    """Level-1 file: deleting the only visible bid brings in a level from beyond (not determined);
    a side that showed no level is known empty, so a dummy there is determined."""
    A, B = DUMMY_ASK, DUMMY_BID
    ev = make_events([(ADD, 1, 1000, 5), (DELETE, 1, 1000, 5), (CANCEL, -1, 1200, 1), (ADD, 1, 1100, 2)])
    book = np.array([
        [1200, 4, 1000, 5],
        [1200, 4, 900, 7],   # 900 x7 enters from beyond: taken from the file
        [1200, 3, 900, 7],
        [1200, 3, 1100, 2],
    ], dtype=float)
    matched, entering, unknown = check_transitions_nb(ev["kind"], ev["side"], ev["price"], ev["size"], book)
    assert matched[1:].all() and entering.tolist() == [0, 1, 0, 0] and unknown.sum() == 0
    out, st = replay_assisted(ev, book)
    np.testing.assert_array_equal(out, book)
    assert st == {"rows": 4, "levels_taken": 1, "rows_with_entering": 1, "rows_reproduced": 4}
    # a wrong size on a determined level is a mismatch
    bad = book.copy()
    bad[2, 1] = 2
    matched, _, _ = check_transitions_nb(ev["kind"], ev["side"], ev["price"], ev["size"], bad)
    assert matched.tolist()[1:] == [True, False, False]
    # an empty side stays empty: the dummy is determined, a level appearing there is a mismatch
    ev2 = make_events([(ADD, -1, 1200, 1), (CANCEL, -1, 1200, 1)])
    book2 = np.array([[1200, 1, B, 0], [A, 0, B, 0]], dtype=float)
    m2, e2, _ = check_transitions_nb(ev2["kind"], ev2["side"], ev2["price"], ev2["size"], book2)
    assert m2[1] and e2[1] == 1  # the ask side (full at L=1) lost its level: 1 position open
    book3 = np.array([[1200, 1, B, 0], [A, 0, 900, 1]], dtype=float)
    m3, _, _ = check_transitions_nb(ev2["kind"], ev2["side"], ev2["price"], ev2["size"], book3)
    assert not m3[1]  # the bid side was empty: 900 x1 cannot appear


def test_trades_aggressor_sides() -> None:
    ev = make_events([
        (ADD, -1, 1200, 5), (EXEC_VISIBLE, -1, 1200, 2), (EXEC_HIDDEN, 1, 1150, 7), (TRADE, 1, 1300, 0.5),
        (CROSS, 0, 1200, 100), (CANCEL, -1, 1200, 1),
    ])
    tr = trades(ev)
    assert tr.dtype == TRADE_DTYPE
    assert tr["ts"].tolist() == [1000, 2000, 3000]
    assert tr["side"].tolist() == [1, -1, 1]  # sell order executed = buyer-initiated
    assert tr["price"].tolist() == [1200, 1150, 1300] and tr["size"].tolist() == [2, 7, 0.5]
    inst = Instrument("X", tick=100, price_scale=10000, date="2012-06-21")
    df = trades_frame(ev, inst)
    assert list(df.columns) == ["price", "size", "side"] and df["price"].iloc[0] == 0.12
    assert str(df.index[0]) == "2012-06-21 00:00:00.000001"


def test_book_frame_units_and_empty_levels() -> None:
    ev = make_events([(ADD, 1, 5853300, 18), (ADD, -1, 5859100, 18)])
    inst = Instrument("AAPL", tick=100, price_scale=10000, date="2012-06-21")
    ts = np.array([34_200_004_241_176, 34_200_025_551_909])
    df = book_frame(replay(ev, 2), inst, ts)
    assert list(df.columns) == book_columns(2) == ["ask_px_1", "ask_sz_1", "bid_px_1", "bid_sz_1",
                                                   "ask_px_2", "ask_sz_2", "bid_px_2", "bid_sz_2"]
    assert np.isnan(df["ask_px_1"].iloc[0]) and df["ask_sz_1"].iloc[0] == 0
    assert df["bid_px_1"].iloc[0] == 585.33 and df["ask_px_1"].iloc[1] == 585.91
    assert str(df.index[0]) == "2012-06-21 09:30:00.004241176"
    epoch = book_frame(replay(ev, 1), inst, np.array([1_700_000_000_000_000_000, 1_700_000_000_000_000_001]))
    assert str(epoch.index[0]).startswith("2023-11-14")


# --------------------------------------------------------------------------------------------
# real data: every LOBSTER sample against its orderbook file
# --------------------------------------------------------------------------------------------
def _sample_ids() -> list[str]:
    return [m.name.split("_")[0] + "_" + m.name.rsplit("_", 1)[1].split(".")[0] for m, _ in lobster_samples()] or ["none"]


@pytest.mark.realdata
@pytest.mark.parametrize("idx", range(len(lobster_samples()) or 1), ids=_sample_ids())
def test_lobster_samples_verify(shared_data: Path, idx: int) -> None:
    samples = lobster_samples()
    if not samples:
        pytest.skip("no LOBSTER samples in the shared folder")
    msg, ob = samples[idx]
    res = verify_lobster(read_lobster(msg, ob, check=False))
    assert res["transitions_checked"] == res["rows"] - 1 > 10_000
    assert res["transitions_matched"] == res["transitions_checked"]
    assert res["all_rows_reproduced"] and res["rows_reproduced"] == res["rows"]
    assert res["unknown_reductions"] == 0
    # entering levels are real and frequent (~22-30% of transitions), and were needed:
    assert 0.1 < res["transitions_with_entering_frac"] < 0.5
    assert res["levels_taken_from_snapshot"] >= res["transitions_with_entering"]
    # plain replay from the first row alone drifts (level-N files miss messages beyond N)
    assert res["drift_first_mismatch_row"] is not None and res["replay_exact"] < 0.01
    assert res["ok"]


@pytest.mark.realdata
def test_lobster_read_reference_slice_matches(shared_data: Path) -> None:
    """Assisted replay on a slice equals the file, and the python reference of plain replay agrees
    with numba on real messages."""
    samples = [s for s in lobster_samples() if s[0].name.endswith("_10.csv.gz")]
    if not samples:
        pytest.skip("GOOG level-10 sample absent")
    d = read_lobster(*samples[0])
    ev, book = d.events[:5000], d.book[:5000]
    np.testing.assert_array_equal(replay(ev, 10, initial=book[0]), replay(ev, 10, initial=book[0]))
    np.testing.assert_array_equal(replay(ev[1:], 10, initial=book[0]), replay_py(ev[1:], 10, initial=book[0]))
    out, st = replay_assisted(ev, book)
    np.testing.assert_array_equal(out, book)


# --------------------------------------------------------------------------------------------
# synthetic full-depth day: exact replay from messages alone
# --------------------------------------------------------------------------------------------
def test_synthetic_day_replays_exactly() -> None:
    if importlib.util.find_spec("companion.synth") is None:
        pytest.skip("companion.synth is not in the tree yet: synthetic exact-replay test skipped")
    from companion import synth

    msg, ob = synth.ensure_day(7)
    res = verify_lobster(read_lobster(msg, ob, check=False))
    assert res["replay_exact"] == 1.0 and res["replay_exact_rows"] == res["rows"]
    assert res["transitions_matched"] == res["transitions_checked"] and res["all_rows_reproduced"]
    assert res["replay_unknown_reductions"] == 0  # every reduction hits a level the messages built
    assert res["full_depth"] and sum(res["order_anomalies"].values()) == 0  # every order seen, none lies


# --------------------------------------------------------------------------------------------
# order-level audit and the sampled transition check of read_lobster
# --------------------------------------------------------------------------------------------
def audit_py(ev: np.ndarray) -> tuple[dict, dict]:
    """Obviously-correct reference of audit_orders: a dict of resting orders."""
    live: dict[int, list] = {}
    counts = dict.fromkeys(AUDIT_CLASSES, 0)
    first: dict = dict.fromkeys(AUDIT_CLASSES)
    names = {CANCEL: "cancel", DELETE: "delete", EXEC_VISIBLE: "execution"}
    for t, (k, s, p, q, i) in enumerate(zip(*(ev[f].tolist() for f in ("kind", "side", "price", "size", "order_id")))):
        cls = None
        if k == ADD:
            if i in live:
                cls = "duplicate_add"
            live[i] = [s, p, q]
        elif k in names:
            o = live.get(i)
            if o is None:
                cls = f"unknown_{names[k]}"
            else:
                if (o[0], o[1]) != (s, p):
                    cls = "price_or_side_differs"
                if q > o[2]:
                    cls = "delete_size_differs" if k == DELETE else f"{names[k]}_exceeds_resting"
                elif k == DELETE and q != o[2]:
                    cls = "delete_size_differs"
                o[2] -= q
                if k == DELETE or o[2] <= 0:
                    del live[i]
        if cls is not None:
            counts[cls] += 1
            if first[cls] is None:
                first[cls] = t
    return counts, first


def random_order_stream(n: int, seed: int) -> np.ndarray:
    """Seeded order-level stream with every kind of anomaly mixed in (ids reused, unknown ids,
    oversized and mispriced reductions)."""
    rng = np.random.default_rng(seed)
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    live: dict[int, list] = {}
    nxt = 1000
    for t in range(n):
        u = rng.random()
        if u < 0.45 or not live:
            i = nxt if rng.random() > 0.02 or not live else int(rng.choice(list(live)))
            nxt += int(rng.integers(1, 3 if rng.random() < 0.9 else 1 << 40))
            s = 1 if rng.random() < 0.5 else -1
            p = int(rng.integers(90, 110)) * 100
            q = float(rng.integers(1, 300))
            live[i] = [s, p, q]
            ev[t] = (t, t, ADD, s, p, q, i)
        else:
            k = (CANCEL, DELETE, EXEC_VISIBLE)[int(rng.integers(3))]
            i = int(rng.choice(list(live))) if rng.random() > 0.03 else nxt + 7
            s, p, q = live.get(i, [1, 10_000, 5.0])
            if rng.random() < 0.02:
                p += 100
            qq = q if k == DELETE else float(rng.integers(1, q + 1))
            if rng.random() < 0.02:
                qq = q + 1
            if i in live:
                live[i][2] -= qq
                if k == DELETE or live[i][2] <= 0:
                    del live[i]
            ev[t] = (t, t, k, s, p, qq, i)
    return ev


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_audit_orders_matches_reference(seed: int) -> None:
    ev = random_order_stream(20_000, seed)
    counts, first = audit_py(ev)
    a = audit_orders(ev)
    assert a["counts"] == counts and a["first"] == first
    assert all(counts[c] > 0 for c in AUDIT_CLASSES)  # every class exercised
    assert a["total"] == sum(counts.values()) and not a["full_depth"]


def test_audit_orders_spread_ids_that_share_their_low_bits() -> None:
    """Ids that differ only in high bits (k * 2^40) must not pile into one hash chain."""
    n = 100_000
    ev = np.zeros(n + 2, dtype=EVENT_DTYPE)
    ev["kind"], ev["side"], ev["price"], ev["size"] = ADD, 1, 100, 1.0
    ev["order_id"][:n] = np.arange(n, dtype=np.int64) << 40
    ev["order_id"][n] = 5 << 40                                      # duplicate add
    ev["kind"][n + 1], ev["order_id"][n + 1] = DELETE, (n + 3) << 40  # never added
    a = audit_orders(ev)
    assert a["counts"]["duplicate_add"] == 1 and a["counts"]["unknown_delete"] == 1 and a["total"] == 2
    assert a["first"]["duplicate_add"] == n and a["first"]["unknown_delete"] == n + 1


def test_audit_full_depth_needs_an_empty_start_and_an_exact_replay() -> None:
    ev = random_lobster_stream(5_000, 3)
    ev["order_id"] = np.arange(len(ev))  # ids are irrelevant to the replay test
    book = replay(ev, 5)
    assert audit_orders(ev, book)["full_depth"]
    assert audit_orders(ev, book)["replay_mismatch_row"] is None
    later = replay(ev[1:], 5, initial=book[0])  # the same book without its first row: not an empty start
    assert not audit_orders(ev[1:], later)["full_depth"] and audit_orders(ev[1:], later)["replay_mismatch_row"] == 0
    cols = (ev["kind"], ev["side"], ev["price"], ev["size"], ev["order_id"])
    for row, col, stride, found in ((2048, 4 * 4 + 1, 64, 2048), (2001, 1, 64, -1), (2001, 1, 1, 2001)):
        bad = book.copy()
        bad[row, col] += 1
        assert audit_orders_nb(*cols, bad, stride)[2] == found
    # these ids make every reduction an anomaly (unknown id), so audit_orders compares every row
    a = audit_orders(ev, bad)
    assert a["total"] > 0 and a["replay_mismatch_row"] == 2001 and not a["full_depth"]
    assert audit_orders(ev, book)["full_depth"]
    bad = book.copy()
    bad[-1, -1] += 1  # the last row is always compared in full
    assert audit_orders(ev, bad)["replay_mismatch_row"] == len(ev) - 1


def test_sampled_transition_check_agrees_with_the_full_one() -> None:
    ev = random_lobster_stream(4_000, 5)
    book = np.ascontiguousarray(replay(ev, 3))  # level-3 view of a deeper book: levels enter from beyond
    cols = (ev["kind"], ev["side"], ev["price"], ev["size"])
    assert first_bad_transition_nb(*cols, book, 8) == (-1, -1, 0.0)
    matched, _, _ = check_transitions_nb(*cols, book)
    assert matched[1:].all()
    for row in (8, 1000, len(ev) - 1):
        bad = book.copy()
        bad[row, 1] += 1
        assert first_bad_transition_nb(*cols, bad, 8)[:2] == (row, 1)
        assert not check_transitions_nb(*cols, bad)[0][row]
        # a row range checks exactly the sampled rows inside it (the last row with the last range)
        mid = 1003
        assert first_bad_transition_nb(*cols, bad, 8, 0, mid)[0] == (row if row < mid else -1)
        assert first_bad_transition_nb(*cols, bad, 8, mid, -1)[0] == (row if row >= mid else -1)
    bad = book.copy()
    bad[12, 1] += 1  # row 12 is not sampled (stride 8): no range sees it, all ranges agree
    assert [first_bad_transition_nb(*cols, bad, 8, a, b)[0] for a, b in ((0, -1), (0, 12), (12, 13), (9, -1))] == [-1] * 4
    bad[11, 0] += 100  # the last row of a 12-row file is checked when the range reaches the end
    assert first_bad_transition_nb(*cols, bad[:12], 8, 9, -1)[0] == 11
    assert first_bad_transition_nb(*cols, bad[:12], 8, 0, 11)[0] == -1


def test_order_anomalies_is_the_audit_without_the_book() -> None:
    ev = random_lobster_stream(3_000, 11)
    ev["order_id"][::97] += 10**9  # unknown ids: anomalies in several classes
    book = np.ascontiguousarray(replay(ev, 3))
    a = order_anomalies(ev)
    assert a.counts.sum() > 0
    assert audit_orders(ev, book, a) == audit_orders(ev, book)


@pytest.mark.realdata
def test_audit_on_real_samples_matches_reference(shared_data: Path) -> None:
    for msg, ob in lobster_samples():
        d = read_lobster(msg, ob)
        counts, _ = audit_py(d.events)
        assert d.anomalies == counts and not d.full_depth


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "companion", "verify", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


@pytest.mark.realdata
def test_cli_verify_lobster_json(shared_data: Path) -> None:
    samples = [s for s in lobster_samples() if s[0].name.startswith("GOOG") and "_1.csv" in s[0].name]
    if not samples:
        pytest.skip("GOOG level-1 sample absent")
    r = _cli("lobster", str(samples[0][0]), str(samples[0][1]), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["all_rows_reproduced"] is True and res["transitions_matched"] == res["transitions_checked"]
    assert "transitions matched" in r.stdout
    assert res["full_depth"] is False and res["order_anomalies"]["unknown_delete"] == 2166
    assert "order audit (truncated depth: anomalies counted): unknown cancel 1, unknown delete 2166" in r.stdout


def test_cli_verify_lobster_mismatch_and_bad_input(tmp_path: Path) -> None:
    msg = tmp_path / "X_2012-06-21_34200000_57600000_message_1.csv"
    ob = tmp_path / "X_2012-06-21_34200000_57600000_orderbook_1.csv"
    msg.write_text("34200.1,1,1,10,1000000,1\n34200.2,1,2,5,1010000,-1\n34200.3,3,1,10,1000000,1\n")
    ob.write_text("9999999999,0,1000000,10\n1010000,5,1000000,10\n1010000,5,990000,3\n")
    r = _cli("lobster", str(msg), str(ob))
    assert r.returncode == 0, r.stdout + r.stderr  # row 2's bid 990000 enters from beyond: consistent
    ob.write_text("9999999999,0,1000000,10\n1010000,6,1000000,10\n1010000,6,990000,3\n")  # ask size wrong
    r = _cli("lobster", str(msg), str(ob), "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout.strip().splitlines()[-1])["first_mismatched_transition"] == 1
    ob.write_text("9999999999,0,1000000,10\n1010000,5,1000000\n1010000,5,990000,3\n")  # short line
    r = _cli("lobster", str(msg), str(ob))
    assert r.returncode == 2 and "line 2" in r.stderr


@pytest.mark.realdata
def test_binance_top_of_book_matches_reference_and_tickers(shared_data: Path) -> None:
    """The engine's best quotes on Binance LEVEL_SET/CLEAR streams (fractional sizes) equal the
    reader's dict reference and the recording's bookTicker at every compared update id."""
    from tests.conftest import binance_recordings

    if importlib.util.find_spec("companion.io.binance") is None or not binance_recordings():
        pytest.skip("companion.io.binance or the Binance recordings are absent")
    from companion.book import top_of_book
    from companion.io.binance import diff_end_index, read_binance, top_of_book_reference, verify_recording

    # consecutive daily files of one market (spot 2024-08-08, -09) are one stream: the second day
    # has no snapshot and continues the first day's update ids
    for _, days in itertools.groupby(binance_recordings(), key=lambda p: p.parent):
        paths = list(days)
        d = read_binance(paths)
        at = diff_end_index(d.diffs)
        np.testing.assert_array_equal(top_of_book(d.events, at), top_of_book_reference(d.events, at))
        res = verify_recording(paths, top_of_book=top_of_book, data=d)
        assert res["compared"] > 100 and res["all_matched"]
        assert all(f["compared"] > 100 and f["matched"] == f["compared"] for f in res["files"])
