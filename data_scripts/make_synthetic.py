"""Make the course's default dataset: the seeded synthetic LOBSTER day (seed 7).

Usage::

    python data_scripts/make_synthetic.py            # -> $COMPANION_DATA/synthetic/seed_7/
    python data_scripts/make_synthetic.py --seed 8

Reuses the files when they already exist (:func:`companion.synth.ensure_day`); prints the paths
and the day's statistics.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from companion import synth  # noqa: E402
from companion.data import DEFAULT_SEED  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--levels", type=int, default=10)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    mpath, opath = synth.ensure_day(seed=args.seed, levels=args.levels)
    seconds = time.perf_counter() - t
    meta = json.loads(mpath.with_name(synth.file_stem() + "_meta.json").read_text())
    print(f"messages : {mpath} ({mpath.stat().st_size / 1e6:.1f} MB)")
    print(f"orderbook: {opath} ({opath.stat().st_size / 1e6:.1f} MB)")
    print(f"ready in {seconds:.1f} s")
    print(json.dumps(meta["stats"], sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
