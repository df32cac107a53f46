"""Configs (issue 17 item 11): NaN / inf where a finite number is meant, negative durations,
latencies overflowing int64, fractional integers, ``levels`` beyond the book, and the file named
in every error (non-UTF-8 included) -- for the live and the backtest config, which share one
reader (:func:`companion.live.config.read_yaml`) and one number check (``check_number``)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from companion import synth
from companion.commands import backtest as bt
from companion.live.config import ConfigError, LiveConfig, load_config, read_yaml

INST = synth.instrument()  # 10 book levels


@pytest.mark.parametrize("doc, match", [
    ({"risk": {"max_loss": float("nan")}}, r"risk\.max_loss must be a number, got nan"),
    ({"risk": {"max_loss": float("inf")}}, r"risk\.max_loss must be finite"),
    ({"execution": {"timeout_s": -10}}, r"execution\.timeout_s must be > 0, got -10"),
    ({"venue": {"entry_latency_ns": 10**23}}, r"venue\.entry_latency_ns must fit in int64"),
    ({"venue": {"entry_latency_ns": 10**14}}, r"venue\.entry_latency_ns must be <= 3.6e\+12"),
    ({"venue": {"seed": 10**23}}, r"venue\.seed must fit in int64"),
    ({"venue": {"seed": 1.5}}, r"venue\.seed must be an integer, got 1\.5"),
    ({"journal": {"checkpoint_every": 2.5}}, r"journal\.checkpoint_every must be an integer"),
    ({"risk": {"max_trades_per_minute": 1.5}}, r"max_trades_per_minute must be an integer"),
    # the at_least orders, checked once every field is valid (p_long's rule names a later field)
    ({"signal": {"weak": 0.5, "strong": 0.3}}, r"signal\.weak \(0\.5\) must be <= signal\.strong \(0\.3\)"),
    ({"model": {"p_long": 0.4, "p_short": 0.6}}, r"model\.p_short \(0\.6\) must be <= model\.p_long \(0\.4\)"),
    ({"model": {"p_long": 0.6, "p_short": "x"}}, r"model\.p_short must be a number, got 'x'"),
    ({"execution": {"size": 10, "max_position": 5}}, r"execution\.size \(10\) must be <= execution\.max_position"),
])
def test_live_config_rejects(doc, match):
    with pytest.raises(ConfigError, match=match):
        LiveConfig.from_dict(doc)


def test_live_integral_float_stored_as_int():
    c = LiveConfig.from_dict({"signal": {"depth": 3.0}, "venue": {"seed": 2.0}})
    assert c.signal.depth == 3 and type(c.signal.depth) is int and type(c.venue.seed) is int


def test_live_levels_beyond_the_book():
    LiveConfig.from_dict({"signal": {"depth": 10}}).check_levels(10)
    with pytest.raises(ConfigError, match=r"signal\.depth must be <= 5 \(the book's levels\), got 10"):
        LiveConfig.from_dict({"signal": {"depth": 10}}).check_levels(5)
    with pytest.raises(ConfigError, match=r"model\.ofi_levels must be <= 2"):
        LiveConfig.from_dict({"strategy": "model", "model": {"ofi_levels": 3}}).check_levels(2)


@pytest.mark.parametrize("doc, match", [
    ({"risk": {"max_loss": float("nan")}}, r"risk\.max_loss must be a number, got nan"),
    ({"risk": {"daily_loss": float("inf")}}, r"risk\.daily_loss must be finite"),
    ({"strategy": {"hold_s": -10}}, r"strategy\.hold_s must be > 0, got -10"),
    ({"strategy": {"cooldown_s": -1}}, r"strategy\.cooldown_s must be >= 0"),
    ({"strategy": {"qty": float("nan")}}, r"strategy\.qty must be a number, got nan"),
    ({"strategy": {"weak": float("nan")}}, r"strategy\.weak must be a number, got nan"),
    ({"strategy": {"weights": [1, float("nan"), 1]}}, r"strategy\.weights\[1\] must be a number"),
    ({"execution": {"latency_ns": {"entry": 10**23}}}, r"execution\.latency_ns\.entry must fit in int64"),
    ({"execution": {"latency_ns": {"response": 10**14}}}, r"latency_ns\.response must be <= 3.6e\+12"),
    ({"execution": {"latency_ns": {"feed": 1.5}}}, r"execution\.latency_ns\.feed must be an integer, got 1\.5"),
    ({"execution": {"seed": 1.5}}, r"execution\.seed must be an integer"),
    ({"execution": {"queue_n": float("nan")}}, r"execution\.queue_n must be a number, got nan"),
    ({"execution": {"fees": {"taker": float("inf")}}}, r"execution\.fees\.taker must be finite"),
    ({"execution": {"flat_before_close_s": -5}}, r"execution\.flat_before_close_s must be >= 0"),
    ({"risk": {"max_trades_per_min": 1.5}}, r"risk\.max_trades_per_min must be an integer"),
    ({"strategy": {"levels": 2.5}}, r"strategy\.levels must be an integer, got 2\.5"),
    ({"strategy": {"levels": 11}}, r"strategy\.levels must be <= 10, got 11"),
    ({"strategy": {"exit_level": 1.5}}, r"strategy\.exit_level must be an integer"),
])
def test_backtest_config_rejects(doc, match):
    with pytest.raises(ValueError, match=match):
        bt.parse_config(doc, "scalper", INST)


def test_backtest_model_ofi_levels_beyond_the_book():
    with pytest.raises(ValueError, match=r"strategy\.ofi_levels must be <= 10"):
        bt.parse_config({"strategy": {"ofi_levels": 12}}, "model", INST)


def test_backtest_integers_exact_not_truncated():
    s, ex, _ = bt.parse_config({"strategy": {"levels": 3.0}, "execution": {"latency_ns": {"entry": 2000}}},
                               "scalper", INST)
    assert s.levels == 3 and type(s.levels) is int and ex.entry_latency == 2000


@pytest.mark.parametrize("content, match", [
    (b"risk:\n  max_loss: 5\n  # caf\xe9\n", r"not UTF-8 \(byte 0xe9 on line 3\)"),
    (b"risk: [unclosed\n", r"not valid YAML"),
    (b"risk:\n  max_loss: .nan\n", r"risk\.max_loss must be a number, got nan"),
])
def test_every_config_error_names_the_file(tmp_path, content, match):
    p = tmp_path / "cfg.yaml"
    p.write_bytes(content)
    with pytest.raises(ConfigError, match=match) as live:
        load_config(p)
    assert str(p) in str(live.value) and "\n" not in str(live.value)
    with pytest.raises(ValueError) as bt_err:
        d = bt.load_config(str(p))
        bt.parse_config(d, "scalper", INST)
    if b".nan" not in content:  # one reader: the very same message
        assert str(bt_err.value) == str(live.value)
    with pytest.raises(ConfigError, match=str(p).replace(".", r"\.")):
        read_yaml(p) if b".nan" not in content else load_config(p)


def _cli(*args, cwd):
    env = {**os.environ, "TQDM_DISABLE": "1"}
    return subprocess.run([sys.executable, "-m", "companion", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=600, check=False)


def test_cli_config_errors_exit_2_naming_the_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_bytes(b"risk:\n  max_loss: 5\n  # caf\xe9\n")
    r = _cli("live", "--config", str(p), "--max-events", "10", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == f"error: config {p}: not UTF-8 (byte 0xe9 on line 3)"
    p.write_text("signal: {depth: 40}\n")  # the synthetic day has 10 levels
    r = _cli("live", "--config", str(p), "--max-events", "10", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == (
        f"error: config {p}: signal.depth must be <= 10 (the book's levels), got 40")
    p.write_text("risk:\n  max_loss: .nan\n")
    r = _cli("backtest", "--config", str(p), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == f"error: config {p}: risk.max_loss must be a number, got nan"
