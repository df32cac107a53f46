"""``python -m companion``: the command-line interface.

Each sub-command lives in its own module under :mod:`companion.commands` exposing
``register(subparsers)``; the module's handler returns the process exit code. Bad input
(:class:`companion.errors.DataFormatError`, missing files, bad SPECs) prints one clear line to
stderr and exits with code 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from companion.errors import DataFormatError

COMMAND_MODULES = ("verify", "data", "report", "train", "backtest", "live", "bench", "study", "convert",
                   "record")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m companion", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"companion.commands.{name}")
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name == f"companion.commands.{name}":
                continue
            raise
        mod.register(sub)
    return parser


def print_json_last(obj: dict) -> None:
    """Print one JSON object on the last line (the ``--json`` contract of every command)."""
    print(json.dumps(obj, sort_keys=True, default=float))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (DataFormatError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
