"""``python -m companion bench [NAME ...] [--json]``: run the repository's benchmarks.

Each ``benchmarks/bench_NAME.py`` times a kernel against a reference (plain Python, pandas,
LightGBM or hftbacktest) in the same process and prints the ratio. With ``--json`` each
benchmark's JSON object is collected and one object ``{NAME: result}`` is printed on the last
line. Needs a source checkout (the benchmarks are not part of the installed package).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from companion.cli import print_json_last
from companion.data import REPO_ROOT

BENCH_DIR = REPO_ROOT / "benchmarks"


def available() -> list[str]:
    """Names of the benchmarks in ``benchmarks/`` (``bench_book.py`` -> ``book``)."""
    return sorted(p.stem[len("bench_"):] for p in BENCH_DIR.glob("bench_*.py"))


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="run the benchmarks (ratios against references)",
                              description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="benchmarks to run (default: all), e.g. book flow")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        raise ValueError(f"unknown benchmark(s) {', '.join(unknown)}; available: {', '.join(available())}")
    results, rc = {}, 0
    for name in names:
        cmd = [sys.executable, str(BENCH_DIR / f"bench_{name}.py")] + (["--json"] if args.json else [])
        out = subprocess.run(cmd, capture_output=args.json, text=True)
        rc = rc or out.returncode
        if args.json:
            lines = (out.stdout or "").strip().splitlines()
            try:
                results[name] = json.loads(lines[-1]) if lines else {"error": out.stderr[-500:]}
            except json.JSONDecodeError:
                results[name] = {"error": lines[-1][:500]}
    if args.json:
        print_json_last(results)
    return rc
