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
