"""``python -m companion bench --against REV``: one harness, two packages, alternated, cleaned up."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from companion.cli import main
from companion.commands import bench

TOY = """import json
import sys
import time
from pathlib import Path
root = Path(__file__).resolve().parents[1]
lenders = sum(getattr(f, "__module__", "").startswith("__editable__") for f in sys.meta_path + sys.path_hooks)
print(json.dumps({{"value": float((root / "VALUE").read_text()), "harness": {harness}, "t": time.time_ns(),
                  "lenders": lenders,
                  "nested": {{"rows_per_s": 10.0, "ok": True}}}}))
"""


def _git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture
def toy_repo(tmp_path, monkeypatch):
    """A git repo whose committed tree says value 1 and whose working tree says value 2 and
    carries a newer benchmark script (harness 2)."""
    repo = tmp_path / "repo"
    (repo / "benchmarks").mkdir(parents=True)
    _git(repo, "init", "-q")
    (repo / "VALUE").write_text("1")
    (repo / "benchmarks" / "bench_toy.py").write_text(TOY.format(harness=1))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "one")
    (repo / "VALUE").write_text("2")
    (repo / "benchmarks" / "bench_toy.py").write_text(TOY.format(harness=2))
    monkeypatch.setattr(bench, "REPO_ROOT", repo)
    monkeypatch.setattr(bench, "BENCH_DIR", repo / "benchmarks")
    return repo


def test_against_runs_this_harness_on_both_packages_alternated(toy_repo, capsys):
    assert main(["bench", "toy", "--against", "HEAD", "--rounds", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["toy"]
    assert [r["value"] for r in res["this"]] == [2.0, 2.0, 2.0]
    assert [r["value"] for r in res["against"]] == [1.0, 1.0, 1.0]     # the revision's package
    first = ["against" if a["t"] < b["t"] else "this" for a, b in zip(res["against"], res["this"])]
    assert first == ["against", "this", "against"]                     # each tree goes first in turn
    assert {r["harness"] for r in res["this"] + res["against"]} == {2}  # this tree's script on both
    assert _git(toy_repo, "worktree", "list").count("\n") == 1          # the temporary worktree is gone
    # no editable-install finder (this process has one when companion is installed with -e) can
    # lend this checkout's modules to the revision's package
    assert {r["lenders"] for r in res["this"] + res["against"]} == {0}


def test_this_process_shows_what_the_lender_check_looks_for():
    """Installed with ``pip install -e .`` (as the Makefile does), companion is found through a
    setuptools finder whose module starts with ``__editable__``: the check above is not vacuous."""
    lent = [f for f in sys.meta_path if getattr(f, "__module__", "").startswith("__editable__")]
    assert lent or "site-packages" in bench.__file__  # editable install, or a real (non-editable) one


def test_against_prints_each_figure_with_its_ratio(toy_repo, capsys):
    assert main(["bench", "toy", "--against", "HEAD", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "value: 2 / 1 (2.00)" in out
    assert "nested.rows_per_s: 10 / 10 (1.00)" in out
    assert "nested.ok" not in out  # booleans are not figures


def test_a_failing_side_is_printed_and_fails_the_command(toy_repo, capsys):
    _git(toy_repo, "rm", "-q", "--cached", "VALUE")
    _git(toy_repo, "commit", "-q", "-m", "the revision has no VALUE: its script fails there")
    assert main(["bench", "toy", "--against", "HEAD", "--rounds", "1"]) == 1
    out = capsys.readouterr().out
    assert "round 1, HEAD failed: FileNotFoundError" in out and "round 1, this tree failed" not in out


def test_figures_flatten_nested_numbers():
    assert bench.figures({"a": 1, "b": {"c": 2.5, "d": "x", "e": False}, "f": [1]}) == {"a": 1.0, "b.c": 2.5}


@pytest.mark.parametrize("argv, says", [
    (["bench", "toy", "--against", "no-such-rev"], "not a commit"),
    (["bench", "toy", "--against", "HEAD", "--rounds", "0"], "at least 1"),
])
def test_against_bad_input_exits_2_with_one_line(toy_repo, argv, says, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and err.count("\n") == 1


def test_against_outside_a_git_checkout(tmp_path, monkeypatch, capsys):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench_toy.py").write_text(TOY.format(harness=1))
    monkeypatch.setattr(bench, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(bench, "BENCH_DIR", tmp_path / "benchmarks")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["bench", "toy", "--against", "HEAD"]) == 2
    assert "needs a git checkout" in capsys.readouterr().err
