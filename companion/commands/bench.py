"""``python -m companion bench [NAME ...] [--json] [--against REV [--rounds N]]``: run the benchmarks.

Each ``benchmarks/bench_NAME.py`` times a kernel against a reference (plain Python, pandas,
LightGBM or hftbacktest) in the same process and prints the ratio. With ``--json`` each
benchmark's JSON object is collected and one object ``{NAME: result}`` is printed on the last
line. Needs a source checkout (the benchmarks are not part of the installed package).

``--against REV`` compares this tree with a git revision in the same run: REV is checked out
into a temporary worktree, this tree's ``benchmarks/`` are copied into it (one harness, two
packages), and each benchmark runs ``--rounds`` times for each tree, alternated (REV first in
odd rounds, this tree first in even ones) so that both see the same machine. Every numeric
figure is printed per round with its ratio ``this / REV``; with ``--json`` the last line is
``{NAME: {"this": [...], "against": [...]}}``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from companion.cli import print_json_last
from companion.paths import REPO_ROOT, data_dir

BENCH_DIR = REPO_ROOT / "benchmarks"


def available() -> list[str]:
    """Names of the benchmarks in ``benchmarks/`` (``bench_book.py`` -> ``book``)."""
    return sorted(p.stem[len("bench_"):] for p in BENCH_DIR.glob("bench_*.py"))


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="run the benchmarks (ratios against references)",
                              description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all), e.g. book flow")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    p.add_argument("--against", metavar="REV", help="also run them on this git revision, alternated")
    p.add_argument("--rounds", type=int, default=4, help="rounds per tree with --against (default 4)")
    p.set_defaults(handler=run)


# Runs a benchmark script with no editable-install finder on the import path: such a finder
# (``pip install -e``) would lend this checkout's modules to an older tree that lacks them, and
# the comparison would mix the two packages. The script imports the package of its own tree.
_ONE_TREE = ("import os, runpy, sys; "
             "lent = lambda f: getattr(f, '__module__', '').startswith('__editable__'); "
             "sys.meta_path[:] = [f for f in sys.meta_path if not lent(f)]; "
             "sys.path_hooks[:] = [h for h in sys.path_hooks if not lent(h)]; "
             "sys.path[:] = [p for p in sys.path if not p.endswith('.__path_hook__')]; "
             "sys.argv = sys.argv[1:]; sys.path.insert(0, os.path.dirname(sys.argv[0])); "
             "runpy.run_path(sys.argv[0], run_name='__main__')")


def _run_script(bench_dir: Path, name: str, want_json: bool, one_tree: bool = False) -> tuple[int, dict | None]:
    """Run ``bench_NAME.py`` of ``bench_dir`` on this tree's data; ``one_tree``: with imports
    limited to the package of the tree the script sits in."""
    script = [str(bench_dir / f"bench_{name}.py")] + (["--json"] if want_json else [])
    cmd = [sys.executable] + (["-c", _ONE_TREE] if one_tree else []) + script
    env = dict(os.environ, COMPANION_DATA=str(data_dir()))
    out = subprocess.run(cmd, capture_output=want_json, text=True, env=env)
    if not want_json:
        return out.returncode, None
    lines = (out.stdout or "").strip().splitlines()
    try:
        return out.returncode, (json.loads(lines[-1]) if lines else {"error": _last_line(out.stderr)})
    except json.JSONDecodeError:
        return out.returncode, {"error": lines[-1][:500]}


def _last_line(text: str | None) -> str:
    """The last non-blank line of a process's error output (a traceback ends with its message)."""
    return next((ln.strip() for ln in reversed((text or "").splitlines()) if ln.strip()), "no output")[:500]


def figures(result: dict, prefix: str = "") -> dict[str, float]:
    """The numeric figures of one benchmark's JSON result, nested keys joined by dots."""
    out: dict[str, float] = {}
    for k, v in result.items():
        if isinstance(v, dict):
            out.update(figures(v, f"{prefix}{k}."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[f"{prefix}{k}"] = float(v)
    return out


def compare_lines(name: str, this: list[dict], against: list[dict], rev: str) -> list[str]:
    """One line per figure: its value in each round for both trees and the ratio ``this / REV``."""
    lines = [f"{name}: this tree / {rev}, per round (ratio this / {rev})"]
    for side, label in ((this, "this tree"), (against, rev)):
        lines += [f"  round {i + 1}, {label} failed: {r['error']}" for i, r in enumerate(side) if "error" in r]
    per = [(figures(a), figures(b)) for a, b in zip(this, against)]
    keys = sorted(set().union(*(set(a) & set(b) for a, b in per))) if per else []
    for k in keys:
        cells = []
        for a, b in per:
            x, y = a.get(k), b.get(k)
            ratio = f"{x / y:.2f}" if x is not None and y else "-"
            cells.append(f"{x:.4g} / {y:.4g} ({ratio})" if x is not None and y is not None else "-")
        lines.append(f"  {k}: " + "; ".join(cells))
    return lines


def _worktree(rev: str, where: Path) -> Path:
    """``rev`` checked out (detached) under ``where``, with this tree's benchmarks copied in."""
    git = ["git", "-C", str(REPO_ROOT)]
    if subprocess.run(git + ["rev-parse", "--git-dir"], capture_output=True).returncode != 0:
        raise ValueError(f"--against needs a git checkout; {REPO_ROOT} is not one")
    ok = subprocess.run(git + ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], capture_output=True)
    if ok.returncode != 0:
        raise ValueError(f"--against {rev}: not a commit of {REPO_ROOT}")
    tree = where / "tree"
    add = subprocess.run(git + ["worktree", "add", "--detach", "--quiet", str(tree), rev], capture_output=True,
                         text=True)
    if add.returncode != 0:
        raise ValueError(f"--against {rev}: git worktree add failed: {_last_line(add.stderr)}")
    dst = tree / "benchmarks"
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(BENCH_DIR, dst, ignore=shutil.ignore_patterns("__pycache__"))
    return tree


def _against(names: list[str], rev: str, rounds: int, want_json: bool) -> int:
    if rounds < 1:
        raise ValueError(f"--rounds {rounds}: must be at least 1")
    rc, results = 0, {}
    with tempfile.TemporaryDirectory(prefix="companion-bench-") as tmp:
        try:
            tree = _worktree(rev, Path(tmp))
            for name in names:
                res = {"this": [], "against": []}
                sides = [("against", tree / "benchmarks"), ("this", BENCH_DIR)]
                for i in range(rounds):
                    # ABBA...: with the same code on both sides, the tree run first in a round
                    # was up to ~10 % slower, so neither tree always goes first
                    for side, bench_dir in (sides if i % 2 == 0 else sides[::-1]):
                        code, r = _run_script(bench_dir, name, True, one_tree=True)
                        rc = rc or code
                        res[side].append(r)
                results[name] = res
                if not want_json:
                    print("\n".join(compare_lines(name, res["this"], res["against"], rev)), flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "remove", "--force", str(Path(tmp) / "tree")],
                           capture_output=True)
            subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "prune"], capture_output=True)
    if want_json:
        print_json_last(results)
    return rc


def run(args: argparse.Namespace) -> int:
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}")
    if args.against:
        return _against(names, args.against, args.rounds, args.json)
    results, rc = {}, 0
    for name in names:
        code, r = _run_script(BENCH_DIR, name, args.json)
        rc = rc or code
        if args.json:
            results[name] = r
    if args.json:
        print_json_last(results)
    return rc
