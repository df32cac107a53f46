#!/usr/bin/env python
"""Compute day statistics of every LOBSTER sample and write companion/reference/lobster_stats.json.

    python data_scripts/make_reference_stats.py [--check]

``--check`` recomputes and compares with the committed file instead of writing (exit 1 on a
difference). The samples are looked up like the SPEC ``lobster:TICKER:LEVEL``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

from companion.data import load
from companion.stats import REFERENCE_STATS, day_stats

SAMPLES = ("lobster:AAPL:1", "lobster:AMZN:1", "lobster:GOOG:1", "lobster:GOOG:5", "lobster:GOOG:10")


def compute() -> dict:
    out = {}
    for spec in SAMPLES:
        d = load(spec)
        out[spec] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in day_stats(d.events, d.book, d.instrument).items()}
    return out


def same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for s in a:
        for k in a[s].keys() | b[s].keys():
            x, y = a[s].get(k), b[s].get(k)
            if not (isinstance(x, (int, float)) and isinstance(y, (int, float)) and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)):
                return False
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    fresh = compute()
    if args.check:
        ok = same(fresh, json.loads(REFERENCE_STATS.read_text()))
        print("reference stats", "match" if ok else "DIFFER from the committed file")
        return 0 if ok else 1
    REFERENCE_STATS.write_text(json.dumps(fresh, indent=1, sort_keys=True) + "\n")
    print(f"wrote {REFERENCE_STATS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
