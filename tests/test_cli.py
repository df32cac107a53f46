"""The command line: every documented sub-command is registered; bad input exits 2 without a traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

from companion.cli import build_parser, main

COMMANDS = ("verify", "data", "report", "train", "backtest", "live", "bench")


def test_every_command_is_registered():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(COMMANDS) <= set(sub.choices)


@pytest.mark.parametrize("argv", [
    ["bench", "no_such_benchmark"],
    ["train", "--data", "not-a-spec"],
    ["verify", "lobster", "/nonexistent_message_1.csv", "/nonexistent_orderbook_1.csv"],
])
def test_bad_input_exits_2_with_one_line(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "companion", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and all(c in out.stdout for c in COMMANDS)


def test_report_microprice_on_the_wide_spread_day(capsys):
    """The default synthetic day has a ~14-tick spread: the estimator keeps >= 95% of the pairs
    (Stoikov's one-tick move set kept about half) and G* spans more than a tick each way."""
    import json

    assert main(["report", "microprice", "synthetic", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["median_spread_ticks"] > 5 and out["pairs_total"] > 10_000
    assert out["pairs_used"] / out["pairs_total"] >= 0.95 and out["share_used"] >= 0.95
    assert out["g_max_ticks"] > 1 and out["g_min_ticks"] < -1
    assert set(out["mse"]) == {"1s", "10s", "60s", "180s"}
    for row in out["mse"].values():
        assert row["n"] > 0 and all(row[k] > 0 for k in ("mse_mid", "mse_weighted_mid", "mse_micro"))


@pytest.mark.parametrize("flag", [["--max-move", "big"], ["--max-move", "-1"], ["--split", "1.5"]])
def test_report_microprice_bad_option_exits_2(flag, capsys):
    assert main(["report", "microprice", "synthetic", *flag]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1
