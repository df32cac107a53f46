"""The journal cannot be mixed or lost (issue 17 items 1-5).

1 bound to its run: a resume with another config / dataset / model refuses with one line naming
  what differs; ``new_segment`` starts a recorded segment. 2 never silently fresh: every damaged
  file refuses to open, only a missing path creates a journal. 3 one writer: a second opener
  refuses at once. 4 every journal problem is one line naming the file, CLI exit 2. 5 a run whose
  summary does not reconcile exits non-zero.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from companion import synth
from companion.live.config import LiveConfig
from companion.live.executor import LiveExecutor, LiveSummary
from companion.live.feeds import LobsterReplayFeed, SimulatedClock
from companion.live.journal import Journal, JournalCorruptError, JournalError, JournalLockedError, JournalMismatchError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 300.0))
    d = synth.simulate(seed=11, config=cfg)
    return synth.to_events(d.messages), synth.instrument(cfg)


def _cfg(**sections) -> LiveConfig:
    base = {"kill_switch": {"file": None}, "risk": {"max_loss": None}, "journal": {"checkpoint_every": 300}}
    for k, v in sections.items():
        base[k] = {**base.get(k, {}), **v}
    return LiveConfig.from_dict(base)


def _feed(ev):
    return LobsterReplayFeed(ev, speed=float("inf"), clock=SimulatedClock(int(ev["ts"][0])))


def _run(cfg, inst, ev, db, **kw):
    max_events = kw.pop("max_events", None)
    ex = LiveExecutor(cfg, inst, journal=db, dataset="synthetic:11", **kw)
    try:
        return ex.run(_feed(ev), max_events=max_events)
    finally:
        ex.journal.close()


def _one_line(exc: BaseException, path) -> str:
    msg = str(exc)
    assert "\n" not in msg and str(path) in msg, msg
    return msg


# ------------------------------------------------------------------------- 1 bound to its run
def test_resume_with_another_config_or_dataset_refuses(day, tmp_path):
    ev, inst = day
    db = tmp_path / "j.db"
    _run(_cfg(), inst, ev, db, max_events=2000)
    # the case: a fee change used to pass the catch-up check (fills under two fee regimes)
    with pytest.raises(JournalMismatchError) as e:
        LiveExecutor(_cfg(venue={"fees": {"taker": 5.0}}), inst, journal=db, dataset="synthetic:11")
    assert "config differs (venue.fees.taker: None -> 5.0)" in _one_line(e.value, db)
    with pytest.raises(JournalMismatchError, match=r"dataset differs \('synthetic:11' -> 'synthetic:12'\)"):
        LiveExecutor(_cfg(), inst, journal=db, dataset="synthetic:12")
    # a changed latency target or kill-switch file does not change a decision: resumes
    s = _run(_cfg(latency={"signal_us": 99.0}), inst, ev, db)
    assert s.resumed_from is not None and s.reconciled


def test_new_segment_is_recorded_and_reconciles(day, tmp_path):
    ev, inst = day
    db = tmp_path / "j.db"
    s1 = _run(_cfg(), inst, ev, db)
    assert s1.reconciled and s1.fills > 0 and s1.position == 0  # flat at the end of the data
    s2 = _run(_cfg(venue={"fees": {"taker": 5.0}}), inst, ev, db, new_segment=True)
    assert s2.resumed_from is None and s2.reconciled and s2.fills > 0
    con = sqlite3.connect(db)
    segs = con.execute("SELECT id, reason, prev_checkpoint FROM segments ORDER BY id").fetchall()
    ids = [r[0] for r in con.execute("SELECT fill_id FROM fills")]
    con.close()
    assert [(a, b) for a, b, _ in segs] == [(1, "start"), (2, "new-segment")] and segs[1][2] is not None
    assert len(ids) == s1.fills + s2.fills and sum(i.startswith("S2.") for i in ids) == s2.fills
    with Journal(db) as j:  # the whole journal still verifies
        assert j.recover().n_fills == s1.fills + s2.fills and j.segment == 2


def test_model_hash_is_part_of_the_identity(tmp_path):
    pytest.importorskip("lightgbm")
    from companion.models.compiled import CompiledModel

    stump = ("tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx={F}\n"
             "objective=binary sigmoid:1\nfeature_names={N}\nfeature_infos={I}\ntree_sizes=1\n\n"
             "Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold={T}\n"
             "decision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=-0.5 0.5\nleaf_weight=1 1\n"
             "leaf_count=1 1\ninternal_value=0\ninternal_weight=0\ninternal_count=2\nis_linear=0\n"
             "shrinkage=1\n\n\nend of trees\n")
    ex = LiveExecutor.__new__(LiveExecutor)  # run_identity only needs the config
    ex.config, ex.dataset = _cfg(), "d"
    m1 = CompiledModel.from_string(stump.format(F=0, N="x", I="none", T="0.1"))
    m2 = CompiledModel.from_string(stump.format(F=0, N="x", I="none", T="0.2"))
    a, b = ex.run_identity(m1), ex.run_identity(m2)
    assert a["model_sha256"] != b["model_sha256"] and a["config_sha256"] == b["config_sha256"]
    j = Journal(tmp_path / "m.db")
    j.bind(a)
    with pytest.raises(JournalMismatchError, match=r"model differs"):
        j.bind(b)
    j.close()


# ------------------------------------------------------------------------- 2 never silently fresh
def _journal_with_fills(tmp_path) -> Path:
    db = tmp_path / "j.db"
    with Journal(db) as j:
        for k in range(30):
            j.record_order(f"o{k}", "X", k, +1, 100 + k, 2)
            j.record_fill(f"T{k}", f"o{k}", k, 100 + k, 2, +1, fee=0.5)
        j.checkpoint(29, state={"n": 1})
    return db


def _sql(db, *stmts):
    con = sqlite3.connect(db, isolation_level=None)
    for s in stmts:
        con.execute(s)
    con.close()


def _damage(kind: str, db: Path) -> None:
    if kind == "empty":
        db.write_bytes(b"")
    elif kind == "garbage":
        db.write_bytes(b"this is not a journal\n" * 100)
    elif kind == "truncated":
        raw = db.read_bytes()
        for side in (Path(str(db) + "-wal"), Path(str(db) + "-shm")):
            side.unlink(missing_ok=True)
        db.write_bytes(raw[: len(raw) // 2])
    elif kind == "dropped table":
        _sql(db, "DROP TABLE risk_events")
    elif kind == "dropped fills":
        _sql(db, "DROP INDEX fills_order", "DROP TABLE fills")
    elif kind == "broken index":  # the index of fills by order points at the orders_open index's pages
        con = sqlite3.connect(db, isolation_level=None)
        root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'orders_open'").fetchone()[0]
        con.execute("PRAGMA writable_schema = ON")
        con.execute("UPDATE sqlite_master SET rootpage = ? WHERE name = 'fills_order'", (root,))
        con.close()
    elif kind == "tampered fill id":  # the positions cache cannot see this one: the hash chain does
        _sql(db, "UPDATE fills SET fill_id = 'T999' WHERE fill_id = 'T3'")
    elif kind == "tampered fill price":
        _sql(db, "UPDATE fills SET price = price - 1 WHERE fill_id = 'T3'")
    elif kind == "deleted fill":
        _sql(db, "DELETE FROM fills WHERE fill_id = 'T5'")
    elif kind == "schema version":
        _sql(db, "UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    elif kind == "no schema version":
        _sql(db, "DELETE FROM meta")
    else:
        raise AssertionError(kind)


DAMAGES = {
    "empty": r"the file is empty",
    "garbage": r"not a SQLite database",
    "truncated": r"(integrity_check failed|not a sound SQLite database|table \w+ is missing)",
    "dropped table": r"table risk_events is missing",
    "dropped fills": r"table fills is missing",
    "broken index": r"integrity_check failed",
    "tampered fill id": r"fill 'T999' \(row 4\) does not match the fill hash chain",
    "tampered fill price": r"fill 'T3' \(row 4\) does not match the fill hash chain",
    "deleted fill": r"fill 'T6' \(row 7\) does not match the fill hash chain",
    "schema version": r"schema_version 99, this code reads 2",
    "no schema version": r"no schema_version",
}


@pytest.mark.parametrize("kind", list(DAMAGES))
def test_damaged_journal_refuses_to_open(tmp_path, kind):
    db = _journal_with_fills(tmp_path)
    _damage(kind, db)
    size = db.stat().st_size
    with pytest.raises(JournalCorruptError, match=DAMAGES[kind]) as e:
        Journal(db)
    _one_line(e.value, db)
    assert db.stat().st_size == size  # never "repaired" into a fresh journal


def test_only_a_missing_path_creates_a_journal(tmp_path):
    db = tmp_path / "new.db"
    with Journal(db) as j:
        assert j.recover().n_orders == 0 and j.segment == 0
    with Journal(db) as j:  # and reopening it is fine
        assert j.recover().n_orders == 0


@pytest.mark.parametrize("case", ["missing directory", "is a directory", "checkpoint state", "catch-up"])
def test_journal_problems_are_one_line(tmp_path, case, day):
    if case == "missing directory":
        p = tmp_path / "nope" / "j.db"
        with pytest.raises(JournalError, match="directory .* does not exist") as e:
            Journal(p)
    elif case == "is a directory":
        p = tmp_path
        with pytest.raises(JournalError, match="is a directory") as e:
            Journal(p)
    elif case == "checkpoint state":
        p = _journal_with_fills(tmp_path)
        _sql(p, "UPDATE checkpoint SET state = '{not json'")
        with Journal(p) as j, pytest.raises(JournalCorruptError, match="checkpoint state is not readable") as e:
            j.recover()
    else:  # the replay up to the checkpoint does not reproduce it (e.g. other code)
        ev, inst = day
        p = tmp_path / "c.db"
        _run(_cfg(), inst, ev, p, max_events=2000)
        _sql(p, "UPDATE checkpoint SET state = json_set(state, '$.orders', 12345)")
        with pytest.raises(JournalMismatchError, match="does not reproduce the journal") as e:
            _run(_cfg(), inst, ev, p)
    assert isinstance(e.value, ValueError)  # the CLI's exit 2
    _one_line(e.value, p)


# ------------------------------------------------------------------------- 3 one writer
def test_second_writer_refuses_at_once(tmp_path):
    db = tmp_path / "j.db"
    j = Journal(db)
    try:
        with pytest.raises(JournalLockedError, match=f"pid {os.getpid()}") as e:
            Journal(db)
        _one_line(e.value, db)
        code = ("import sys, time; from companion.live.journal import Journal\n"
                "t = time.time()\ntry:\n    Journal(sys.argv[1])\nexcept Exception as e:\n"
                "    print(type(e).__name__, round(time.time() - t, 1))\n")
        r = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True, timeout=120,
                           check=False)
        name, secs = r.stdout.split()
        assert name == "JournalLockedError" and float(secs) < 5.0  # at once, not after SQLite's busy timeout
    finally:
        j.close()
    Journal(db).close()  # released on close


def test_lock_released_when_the_holder_is_killed(tmp_path):
    db = tmp_path / "j.db"
    code = ("import sys, time; from companion.live.journal import Journal\n"
            "j = Journal(sys.argv[1]); print('held', flush=True); time.sleep(600)\n")
    p = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(JournalLockedError):
            Journal(db)
    finally:
        p.kill()
        p.wait(timeout=60)
    Journal(db).close()


# ------------------------------------------------------------------------- 4 + 5 the CLI
def _cli(*args, cwd):
    env = {**os.environ, "TQDM_DISABLE": "1"}
    return subprocess.run([sys.executable, "-m", "companion", "live", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=600, check=False)


def test_cli_journal_errors_exit_2(tmp_path):
    (tmp_path / "bad.db").write_bytes(b"garbage" * 10)
    r = _cli("--journal", str(tmp_path / "bad.db"), "--max-events", "10", "--json", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == (
        f"error: journal {tmp_path / 'bad.db'}: not a SQLite database (bad header)")
    held = Journal(tmp_path / "held.db")
    try:
        r = _cli("--journal", str(tmp_path / "held.db"), "--max-events", "10", "--json", cwd=tmp_path)
    finally:
        held.close()
    assert r.returncode == 2 and r.stderr.startswith(f"error: journal {tmp_path / 'held.db'}: already in use")
    assert len(r.stderr.strip().splitlines()) == 1


def test_cli_resume_with_other_config_exit_2(tmp_path):
    cfg = tmp_path / "a.yaml"
    cfg.write_text("kill_switch: {file: null}\n")
    r = _cli("--journal", "j.db", "--config", str(cfg), "--max-events", "3000", "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cfg.write_text("kill_switch: {file: null}\nvenue: {fees: {taker: 5.0}}\n")
    r = _cli("--journal", "j.db", "--config", str(cfg), "--json", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == (
        "error: journal j.db: cannot resume, config differs (venue.fees.taker: None -> 5.0); "
        "use the original run, or --new-segment to start a new segment")


def test_unreconciled_summary_exits_nonzero(tmp_path, capsys):
    from companion.cli import main  # noqa: F401  (the CLI maps the error to exit 2)
    from companion.commands import live

    args = argparse.Namespace(json=True, journal=str(tmp_path / "j.db"))
    s = LiveSummary(reconciled=False, position=3.0)
    s.latency = {k: {"p50_us": None, "p99_us": None, "n": 0} for k in ("book",)}
    with pytest.raises(JournalError, match="does not reconcile") as e:
        live._report(args, s, synth.instrument())
    _one_line(e.value, tmp_path / "j.db")
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["reconciled"] is False
    s.reconciled = True
    assert live._report(args, s, synth.instrument()) == 0
