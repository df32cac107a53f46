"""Tests of the live executor's durable journal: unit tests and a kill -9 recovery test."""
from __future__ import annotations

import importlib.util
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import fields
from pathlib import Path

import pytest

from companion.live.journal import IllegalTransitionError, Journal, JournalCorruptError, JournalError, Position

WORKER = Path(__file__).with_name("live_crash_worker.py")


def _load_worker():
    spec = importlib.util.spec_from_file_location("live_crash_worker", WORKER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "j.db") as j:
        yield j


# --- settings and schema ------------------------------------------------------------------------
def test_pragmas_wal_full_foreign_keys(tmp_path):
    with Journal(tmp_path / "j.db") as j:
        con = j._con
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert con.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with Journal(tmp_path / "j.db") as j:  # reopening an existing journal is fine
        assert j.recover().n_orders == 0


def test_fill_of_unknown_order_is_refused(journal):
    with pytest.raises(JournalError, match="unknown order 'nope'"):
        journal.record_fill("T1", "nope", 1, 100, 1.0, 1)
    assert journal.recover().n_fills == 0


# --- positions ----------------------------------------------------------------------------------
def test_position_from_fills_hand_worked(journal):
    """buy 3 @100, buy 1 @104 -> 4 @ avg 101; sell 2 @110 -> realised 2 * (110 - 101) = 18, 2 left @101."""
    journal.record_order("b1", "X", 1, +1, 100, 3)
    journal.record_order("b2", "X", 2, +1, 104, 1)
    journal.record_order("s1", "X", 3, -1, 110, 2)
    journal.record_fill("T1", "b1", 4, 100, 3, +1)
    journal.record_fill("T2", "b2", 5, 104, 1, +1, fee=0.25)
    p = journal.position("X")
    assert (p.qty, p.avg_price, p.realised_pnl) == (4.0, 101.0, 0.0)
    journal.record_fill("T3", "s1", 6, 110, 2, -1, liquidity="MAKER", fee=-0.5)
    st = journal.recover()
    p = st.positions["X"]
    assert p.qty == 2.0
    assert p.avg_price == 101.0
    assert p.realised_pnl == 18.0 and st.realised_pnl == 18.0
    assert p.fees == -0.25 and p.n_fills == 3
    assert p.cash == -300 - 104 - 0.25 + 220 + 0.5  # -183.75
    assert p.cash + p.qty * p.avg_price == p.realised_pnl - p.fees  # the accounting identity
    assert p.unrealised(105) == 8.0
    assert st.open_orders == {}


def test_position_flip_and_flat():
    """Long 2 @101, sell 5 @99: realise 2 * (99 - 101) = -4, then short 3 @99; buy 3 @97: +6, flat."""
    p = Position("X", qty=2.0, avg_price=101.0, cash=0.0, realised_pnl=0.0, fees=0.0, n_fills=0)
    p.apply(-1, 99, 5.0, 0.0)
    assert (p.qty, p.avg_price, p.realised_pnl) == (-3.0, 99.0, -4.0)
    p.apply(+1, 97, 3.0, 0.0)
    assert (p.qty, p.avg_price, p.realised_pnl) == (0.0, 0.0, 2.0)


def test_position_is_a_positions_row(journal):
    """Position's fields are the ``positions`` table's columns, in order (rows are read with
    ``Position(*row)``), and a symbol that never traded is flat."""
    with sqlite3.connect(journal.path) as con:
        cols = [r[1] for r in con.execute("PRAGMA table_info(positions)")]
    assert [f.name for f in fields(Position)] == cols
    assert journal.position("BTC") == Position.flat("BTC") == Position("BTC", 0.0, 0.0, 0.0, 0.0, 0.0, 0)


def test_positions_are_per_symbol(journal):
    journal.record_order("a", "BTC", 1, +1, 50, 1)
    journal.record_order("b", "ETH", 1, -1, 7, 2)
    journal.record_fill("T1", "a", 2, 50, 1, +1)
    journal.record_fill("T2", "b", 2, 7, 2, -1)
    pos = journal.recover().positions
    assert (pos["BTC"].qty, pos["BTC"].cash) == (1.0, -50.0)
    assert (pos["ETH"].qty, pos["ETH"].cash, pos["ETH"].avg_price) == (-2.0, 14.0, 7.0)


# --- idempotency --------------------------------------------------------------------------------
def test_fill_insert_is_idempotent(journal):
    journal.record_order("o", "X", 1, +1, 100, 5)
    assert journal.record_fill("T1", "o", 2, 100, 2, +1) is True
    assert journal.record_fill("T1", "o", 2, 100, 2, +1) is False  # replayed: ignored
    st = journal.recover()
    assert st.n_fills == 1 and st.positions["X"].qty == 2.0
    assert st.open_orders["o"].filled_qty == 2.0 and st.open_orders["o"].status == "PARTIAL"
    with pytest.raises(JournalError, match="already journaled with different fields"):
        journal.record_fill("T1", "o", 2, 100, 3, +1)  # same trade id, other content: corruption
    assert journal.recover().positions["X"].qty == 2.0


def test_order_and_risk_event_replays_are_ignored(journal):
    assert journal.record_order("o", "X", 1, -1, 100, 1, seq=3) is True
    assert journal.record_order("o", "X", 1, -1, 100, 1, seq=3) is False
    with pytest.raises(JournalError, match="different fields"):
        journal.record_order("o", "X", 1, +1, 100, 1)
    assert journal.update_order("o", "ACK", 5, venue_order_id="V1", seq=4) is True
    assert journal.update_order("o", "ACK", 5, venue_order_id="V1", seq=4) is False
    journal.record_fill("T1", "o", 6, 100, 1, -1, seq=6)
    # the replayed ACK (seq 4 <= last_seq 6) is skipped rather than read as FILLED -> ACK
    assert journal.update_order("o", "ACK", 5, seq=4) is False
    assert journal.order("o").status == "FILLED" and journal.order("o").venue_order_id == "V1"
    assert journal.record_risk_event(7, "MAX_POSITION", {"pos": 1}, seq=7) is True
    assert journal.record_risk_event(7, "MAX_POSITION", {"pos": 1}, seq=7) is False
    assert [e.detail for e in journal.risk_events()] == [{"pos": 1}]


def test_checkpoint(journal):
    assert journal.recover().checkpoint is None and journal.recover().resume_seq == 0
    assert journal.checkpoint(10, ts=5, state={"book_seq": 123}) is True
    assert journal.checkpoint(10) is False
    st = journal.recover()
    assert (st.checkpoint, st.resume_seq, st.checkpoint_state) == (10, 11, {"book_seq": 123})
    with pytest.raises(JournalError, match="behind"):
        journal.checkpoint(9)


# --- order state machine ------------------------------------------------------------------------
def test_illegal_transitions_raise_clear_errors(journal):
    journal.record_order("o", "X", 1, +1, 100, 1)
    journal.update_order("o", "ACK", 2, venue_order_id="V")
    journal.record_fill("T1", "o", 3, 100, 1, +1)
    assert journal.order("o").status == "FILLED"
    with pytest.raises(IllegalTransitionError, match=r"'o': illegal transition FILLED -> NEW .*terminal"):
        journal.update_order("o", "NEW", 4)
    with pytest.raises(IllegalTransitionError, match="FILLED -> CANCELLED"):
        journal.update_order("o", "CANCELLED", 4)
    journal.record_order("p", "X", 1, +1, 100, 1)
    journal.update_order("p", "ACK", 2)
    with pytest.raises(IllegalTransitionError, match="ACK -> REJECTED"):
        journal.update_order("p", "REJECTED", 3)
    with pytest.raises(IllegalTransitionError, match="derived from fills"):
        journal.update_order("p", "FILLED", 3)
    with pytest.raises(ValueError, match="unknown order status"):
        journal.update_order("p", "DONE", 3)
    journal.record_order("r", "X", 1, +1, 100, 1)
    journal.update_order("r", "REJECTED", 2, reason="POST_ONLY_WOULD_CROSS")
    with pytest.raises(JournalError, match="REJECTED and cannot fill"):
        journal.record_fill("T2", "r", 3, 100, 1, +1)
    assert journal.order("r").reason == "POST_ONLY_WOULD_CROSS"
    # the failed calls changed nothing
    st = journal.recover()
    assert st.n_fills == 1 and set(st.open_orders) == {"p"} and st.open_orders["p"].status == "ACK"


def test_overfill_and_side_mismatch_are_refused_atomically(journal):
    journal.record_order("o", "X", 1, +1, 100, 2)
    journal.record_fill("T1", "o", 2, 100, 1.5, +1)
    with pytest.raises(JournalError, match="over-fill"):
        journal.record_fill("T2", "o", 3, 100, 1.0, +1)
    with pytest.raises(JournalError, match="side"):
        journal.record_fill("T3", "o", 3, 100, 0.5, -1)
    st = journal.recover()
    assert st.n_fills == 1 and st.positions["X"].qty == 1.5 and st.open_orders["o"].filled_qty == 1.5


def test_late_fill_on_cancelled_order_counts(journal):
    journal.record_order("o", "X", 1, -1, 100, 3)
    journal.update_order("o", "CANCELLED", 2, reason="USER")
    assert journal.record_fill("T1", "o", 3, 100, 1, -1) is True
    o = journal.order("o")
    assert (o.status, o.filled_qty) == ("CANCELLED", 1.0)
    assert journal.recover().positions["X"].qty == -1.0


def test_recover_detects_a_tampered_cache(tmp_path):
    db = tmp_path / "j.db"
    with Journal(db) as j:
        j.record_order("o", "X", 1, +1, 100, 2)
        j.record_fill("T1", "o", 2, 100, 2, +1)
    con = sqlite3.connect(db)
    con.execute("UPDATE positions SET qty = 3 WHERE symbol = 'X'")
    con.commit()
    con.close()
    with Journal(db) as j, pytest.raises(JournalCorruptError, match="positions of \\['X'\\]"):
        j.recover()


# --- kill -9 recovery ---------------------------------------------------------------------------
N_OPS = 220
SCRIPT_SEED = 20240611
KILL_SEED = 7


class _Worker:
    """A worker subprocess with a line queue fed by a reader thread (so reads can time out)."""

    def __init__(self, db: Path, *extra: str):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), str(db), "--n", str(N_OPS), "--seed", str(SCRIPT_SEED), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.log: list[str] = []
        self.eof = False
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def next_line(self, timeout: float = 60.0) -> str | None:
        """The next stdout line, or None once the worker closed its stdout (exited)."""
        if self.eof:
            return None
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.proc.kill()
            raise AssertionError(f"worker silent for {timeout} s; log tail {self.log[-5:]}") from None
        if line is None:
            self.eof = True
        else:
            self.log.append(line)
        return line

    def _check_clean_exit(self) -> None:
        while self.next_line() is not None:
            pass
        rc = self.proc.wait(timeout=30)
        assert rc == 0 and self.log[-1] == "done", (
            f"worker failed (rc {rc}), log tail {self.log[-3:]}:\n{self.proc.stderr.read()}")

    def kill9(self) -> bool:
        """SIGKILL the worker; True when it was still running (a real crash)."""
        if self.proc.poll() is not None:  # it ended on its own: must be a clean finish
            self._check_clean_exit()
            return False
        os.kill(self.proc.pid, signal.SIGKILL)
        rc = self.proc.wait(timeout=30)
        while self.next_line() is not None:  # drain what it printed before dying
            pass
        if rc != -signal.SIGKILL:  # it ended on its own just before the kill
            self._check_clean_exit()
            return False
        return True

    def finish(self) -> None:
        self._check_clean_exit()


def _snapshot(db: Path):
    with Journal(db) as j:
        st = j.recover()
        return {"orders": j.orders(), "fills": j.fills(), "risk": j.risk_events(),
                "open": st.open_orders, "positions": st.positions, "checkpoint": st.checkpoint,
                "realised": st.realised_pnl}


def test_kill9_recovery_equals_uninterrupted_run(tmp_path):
    import random

    script = _load_worker().make_script(N_OPS, SCRIPT_SEED)
    fill_idx = [i for i, op in enumerate(script) if op[0] == "fill"]
    assert len(fill_idx) > 40 and sum(op[0] == "checkpoint" for op in script) > 10

    ref_db, db = tmp_path / "ref.db", tmp_path / "crash.db"
    ref = _Worker(ref_db)
    ref.finish()

    # the kill plan: increasing input indices, each either a pause right after a fill (exact) or a
    # kill on the fly (lands wherever the worker is by then, often inside a transaction); plus kills
    # while the journal is being opened / recovered.
    rng = random.Random(KILL_SEED)
    pause_at = rng.sample(fill_idx[2:-2], 12)
    fly_at = rng.sample([i for i in range(5, N_OPS - 5) if i not in pause_at], 18)
    plan = sorted([(i, "pause") for i in pause_at] + [(i, "fly") for i in fly_at])
    for _ in range(5):
        plan.insert(rng.randrange(len(plan) + 1), (-1, "open"))

    kills = kills_after_fill = dup_fills = 0
    for target, mode in plan:
        w = _Worker(db, *(["--pause-after", str(target)] if mode == "pause" else []))
        while True:
            line = w.next_line()
            if line is None:
                break
            if mode == "open" and line == "open":
                break
            if mode == "fly" and line.startswith("op ") and int(line.split()[1]) >= target:
                break
            if mode == "pause" and line.startswith("paused"):
                kills_after_fill += line.endswith(" fill")
                break
        kills += w.kill9()
        dup_fills += sum(1 for x in w.log if x.startswith("op ") and x.split()[2:] == ["fill", "0"])

    for _ in range(2):  # run to the end, then once more: the replayed tail must change nothing
        w = _Worker(db)
        w.finish()
        dup_fills += sum(1 for x in w.log if x.startswith("op ") and x.split()[2:] == ["fill", "0"])
    assert all(x.split()[3] == "0" for x in w.log if x.startswith("op "))

    print(f"kill -9 test: {kills} kills ({kills_after_fill} right after a fill), {dup_fills} replayed fills ignored")
    assert kills >= 30, f"only {kills} kills hit a running worker"
    assert kills_after_fill >= 10
    assert dup_fills > 0, "no replayed fill was ever seen: the duplicate path was not exercised"

    got, want = _snapshot(db), _snapshot(ref_db)
    assert got == want
    # and the reference itself agrees with the script: every fill once, positions from the script
    assert [f.fill_id for f in want["fills"]] == [script[i][1] for i in fill_idx]
    net: dict[str, float] = {}
    sym = {op[1]: op[2] for op in script if op[0] == "order"}
    for i in fill_idx:
        _, _, cid, _, _, q, side, _, _ = script[i]
        net[sym[cid]] = net.get(sym[cid], 0.0) + side * q
    assert {s: p.qty for s, p in want["positions"].items()} == net
