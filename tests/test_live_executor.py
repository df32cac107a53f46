"""The live executor: config validation, kill switches, crash recovery from the journal, the CLI contract."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from companion import synth
from companion.live.config import ConfigError, LiveConfig, load_config
from companion.live.executor import LiveExecutor
from companion.live.feeds import LobsterReplayFeed, SimulatedClock
from companion.live.journal import Journal
from companion.live.metrics import LatencyRecorder

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def day():
    cfg = synth.SynthConfig(session=(34200.0, 34200.0 + 600.0))
    d = synth.simulate(seed=7, config=cfg)
    return synth.to_events(d.messages), d.orderbook, synth.instrument(cfg)


def _cfg(**sections) -> LiveConfig:
    base = {"kill_switch": {"file": None}, "risk": {"max_loss": None}}
    for k, v in sections.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return LiveConfig.from_dict(base)


def _feed(ev, speed=float("inf")):
    return LobsterReplayFeed(ev, speed=speed, clock=SimulatedClock(int(ev["ts"][0])))


# ---------------------------------------------------------------------------------------- config
@pytest.mark.parametrize("doc, match", [
    ({"signal": {"depht": 5}}, r"unknown key signal\.depht"),
    ({"sigal": {}}, r"unknown key sigal"),
    ({"signal": {"depth": "five"}}, r"signal\.depth must be an integer, got 'five'"),
    ({"signal": {"depth": 2.5}}, r"signal\.depth must be an integer"),
    ({"signal": {"weak": 0.5, "strong": 0.3}}, r"signal\.weak \(0\.5\) must be <= signal\.strong"),
    ({"signal": {"strong": 1.5}}, r"signal\.strong must be <= 1"),
    ({"execution": {"size": 0}}, r"execution\.size must be > 0"),
    ({"execution": {"size": 600, "max_position": 500}}, r"execution\.size \(600\) must be <= execution\.max_position"),
    ({"execution": {"timeout_s": True}}, r"execution\.timeout_s must be a number, got True"),
    ({"execution": {"entry": "stop"}}, r"execution\.entry must be one of market, limit"),
    ({"risk": {"max_loss": -5}}, r"risk\.max_loss must be > 0"),
    ({"risk": {"max_trades_per_minute": 0}}, r"risk\.max_trades_per_minute must be >= 1"),
    ({"latency": {"signal_us": "fast"}}, r"latency\.signal_us must be a number"),
    ({"feed": {"stale_after_s": 0}}, r"feed\.stale_after_s must be > 0"),
    ({"kill_switch": {"file": 3}}, r"kill_switch\.file must be a non-empty string"),
    ({"venue": {"queue": "lifo"}}, r"venue\.queue must be one of"),
    ({"venue": {"fees": {"maker": -1, "rebate": 2}}}, r"unknown key venue\.fees\.rebate"),
    ({"journal": {"synchronous": "OFF"}}, r"journal\.synchronous must be one of FULL, NORMAL, EXTRA"),
    ({"strategy": "momentum"}, r"strategy must be one of scalper, model"),
    ({"risk": [1, 2]}, r"risk must be a mapping"),
])
def test_config_errors_name_the_key(doc, match):
    with pytest.raises(ConfigError, match=match):
        LiveConfig.from_dict(doc)


def test_config_yaml_roundtrip_and_units(tmp_path):
    p = tmp_path / "live.yaml"
    p.write_text("signal: {depth: 3, weak: 0.2, strong: 0.4}\nrisk: {max_loss: 25, max_spread: 8}\n"
                 "execution: {size: 50, max_position: 200, timeout_s: 5}\nfeed: {stale_after_s: 2.5}\n")
    c = load_config(p)
    assert (c.signal.depth, c.signal.weak, c.execution.size, c.feed.stale_after_s) == (3, 0.2, 50, 2.5)
    assert LiveConfig.from_dict(c.to_dict()) == c
    inst = synth.instrument()
    r = c.risk_limits(inst)
    assert r.daily_loss == 25 * inst.price_scale          # currency -> price units
    assert r.max_spread == 8 * inst.tick                  # ticks -> price units
    assert r.max_position == 200
    assert r.flat_at_ns == inst.session_close_ns - 60 * 10**9
    s = c.strategy_object()
    assert (s.levels, s.qty, s.hold_s, s.strong) == (3, 50, 5, 0.4)
    (tmp_path / "bad.yaml").write_text("signal: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.yaml")


def test_latency_recorder_percentiles():
    rec = LatencyRecorder(["a"], capacity=2)
    for v in range(1, 101):
        rec.record("a", v * 1000)
    assert rec.count("a") == 100
    assert rec.percentile("a", 50) == pytest.approx(50_500)
    s = rec.summary()["a"]
    assert s["p50_us"] == 50.5 and s["p99_us"] == pytest.approx(99.01) and s["max_us"] == 100.0
    counts, edges = rec.histogram("a")
    assert counts.sum() == 100 and len(edges) == len(counts) + 1


# ---------------------------------------------------------------------------------------- kill switches
def _assert_killed_and_flat(ex, s, reason, journal=None):
    assert s.killed == reason
    assert s.stopped_early
    assert ex.venue.position == 0.0 and not ex.venue.has_live_orders()
    o = ex.venue.orders
    assert o["by_risk"][-1] == 1 or s.position == 0.0  # flattened by the kill switch (or already flat)
    if journal is not None:
        kinds = [e.kind for e in journal.risk_events()]
        assert any(k.startswith("KILL_") or k == "DAILY_LOSS_HALT" for k in kinds)
        assert journal.position(ex.instrument.symbol).qty == 0.0
        assert not journal.orders("NEW") and not journal.orders("ACK")


def test_kill_switch_stale_feed(day, tmp_path):
    ev, _, inst = day
    ev = ev.copy()
    cut = len(ev) // 2
    ev["ts"][cut:] += 30 * 10**9       # a 30-s hole in the data
    ev["ts_local"][cut:] += 30 * 10**9
    cfg = _cfg(feed={"stale_after_s": 5.0}, signal={"weak": 0.05, "strong": 0.1})
    j = Journal(tmp_path / "j.db")
    ex = LiveExecutor(cfg, inst, journal=j)
    s = ex.run(_feed(ev, speed=1.0))   # simulated clock: paced, deterministic, no sleeping
    _assert_killed_and_flat(ex, s, "STALE_FEED", j)
    assert [e.kind for e in j.risk_events()].count("KILL_STALE_FEED") == 1
    assert s.events >= cut and s.events < len(ev)
    # no strategy order after the trip
    t_kill = [e.ts for e in j.risk_events() if e.kind == "KILL_STALE_FEED"][0]
    late = ex.venue.orders[ex.venue.orders["ts_submit"] > t_kill]
    assert (late["by_risk"] == 1).all()
    # the same data at full speed (no clock gap) does not trip
    s2 = LiveExecutor(cfg, inst).run(_feed(ev))
    assert s2.killed is None


def test_kill_switch_max_loss(day, tmp_path):
    ev, _, inst = day
    j = Journal(tmp_path / "j.db")
    ex = LiveExecutor(_cfg(risk={"max_loss": 40.0}), inst, journal=j)
    s = ex.run(_feed(ev))
    _assert_killed_and_flat(ex, s, "MAX_LOSS", j)
    halt = [e for e in j.risk_events() if e.kind == "DAILY_LOSS_HALT"]
    assert len(halt) == 1 and halt[0].detail["equity"] < -40.0
    assert s.pnl < -40.0  # the loss that tripped it, plus the cost of flattening


def test_kill_switch_file_and_signal(day, tmp_path):
    ev, _, inst = day
    kill = tmp_path / "KILL"
    trips = {}

    def touch_at_3000(ex, n):
        if n >= 3000 and not kill.exists():
            kill.write_text("stop")
            trips["n"] = n

    ex = LiveExecutor(_cfg(kill_switch={"file": str(kill)}), inst, on_chunk=touch_at_3000)
    s = ex.run(_feed(ev))
    _assert_killed_and_flat(ex, s, "MANUAL_FILE")
    assert trips["n"] <= s.events < len(ev)

    def usr1_at_2000(ex, n):
        if n >= 2000 and "sent" not in trips:
            trips["sent"] = n
            os.kill(os.getpid(), signal.SIGUSR1)

    before = signal.getsignal(signal.SIGUSR1)
    ex = LiveExecutor(_cfg(), inst, on_chunk=usr1_at_2000)
    s = ex.run(_feed(ev), handle_sigusr1=True)
    _assert_killed_and_flat(ex, s, "MANUAL_SIGNAL")
    assert signal.getsignal(signal.SIGUSR1) == before  # handler restored


def test_resume_in_process_matches_uninterrupted(day, tmp_path):
    """Stop after N events (max_events), resume from the journal with the full feed: same journal
    as one uninterrupted run (the catch-up replays up to the checkpoint without writing)."""
    ev, _, inst = day
    cfg = _cfg(journal={"checkpoint_every": 500})
    ref = LiveExecutor(cfg, inst, journal=tmp_path / "ref.db")
    sr = ref.run(_feed(ev))
    ex1 = LiveExecutor(cfg, inst, journal=tmp_path / "run.db")
    ex1.run(_feed(ev), max_events=4321)
    ex1.journal.close()
    ex2 = LiveExecutor(cfg, inst, journal=tmp_path / "run.db")
    s2 = ex2.run(_feed(ev))
    assert s2.resumed_from == 4320
    assert s2.orders == sr.orders and s2.fills == sr.fills and s2.position == sr.position and s2.reconciled
    a, b = ref.journal, ex2.journal
    assert a.orders() == b.orders()
    assert a.fills() == b.fills()
    assert a.position(inst.symbol) == b.position(inst.symbol)


# ---------------------------------------------------------------------------------------- CLI
def _cli(*args, cwd, check=True):
    env = {**os.environ, "TQDM_DISABLE": "1"}
    p = subprocess.run([sys.executable, "-m", "companion", "live", *args], cwd=cwd, capture_output=True,
                       text=True, env=env, timeout=600)
    if check:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("live_cli")
    (d / "live.yaml").write_text("risk: {max_loss: null}\nkill_switch: {file: null}\njournal: {checkpoint_every: 2500}\n")
    return d


def test_cli_json_contract_and_crash_restart(cli_dir):
    d = cli_dir
    args = ["--replay", "synthetic", "--max-events", "9000", "--config", str(d / "live.yaml")]
    ref = _cli(*args, "--journal", str(d / "ref.db"), "--json", cwd=d)
    last = ref.stdout.strip().splitlines()[-1]
    out = json.loads(last)
    for k in ("events", "orders", "fills", "pnl", "position", "killed", "resumed_from", "latency", "events_per_s"):
        assert k in out
    assert out["events"] == 9000 and out["orders"] > 0 and out["fills"] > 0 and out["reconciled"] is True
    for stage in ("book", "signal", "strategy", "journal", "tick_to_decision"):
        assert out["latency"][stage]["p50_us"] > 0 and out["latency"][stage]["p99_us"] >= out["latency"][stage]["p50_us"]
    assert ref.stderr == ""  # --json: no status line
    # crash (SIGKILL) in the middle, then restart on the same journal
    crashed = _cli(*args, "--journal", str(d / "run.db"), "--json", "--crash-after-events", "6000", cwd=d, check=False)
    assert crashed.returncode == -signal.SIGKILL
    with Journal(d / "run.db") as j:
        rec = j.recover()
        assert rec.checkpoint is not None and rec.checkpoint < 6000
        n_before = rec.n_fills
    again = json.loads(_cli(*args, "--journal", str(d / "run.db"), "--json", cwd=d).stdout.strip().splitlines()[-1])
    assert again["resumed_from"] == rec.checkpoint
    for k in ("events", "orders", "fills", "pnl", "position"):
        assert again[k] == out[k], k
    with Journal(d / "ref.db") as a, Journal(d / "run.db") as b:
        assert a.fills() == b.fills() and a.orders() == b.orders()
        assert len(b.fills()) >= n_before


def test_cli_bad_config_exit_2(cli_dir):
    (cli_dir / "bad.yaml").write_text("execution: {size: -1}\n")
    p = _cli("--config", str(cli_dir / "bad.yaml"), "--max-events", "10", cwd=cli_dir, check=False)
    assert p.returncode == 2
    assert p.stderr.strip() == f"error: config {cli_dir / 'bad.yaml'}: execution.size must be > 0, got -1"
    p = _cli("--speed", "0", "--max-events", "10", cwd=cli_dir, check=False)
    assert p.returncode == 2 and "--speed must be > 0" in p.stderr


def test_cli_human_output(cli_dir):
    p = _cli("--max-events", "3000", "--quiet", "--config", str(cli_dir / "live.yaml"), cwd=cli_dir)
    assert "3,000 events" in p.stdout and "tick_to_decision" in p.stdout
    assert p.stderr == ""
