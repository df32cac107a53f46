"""``python -m companion data ...``: make and inspect datasets.

``data synthetic [--seed S] [--out DIR] [--levels L] [--session START END] [--json]`` writes the seeded synthetic
LOBSTER day (:mod:`companion.synth`): into ``DIR`` when given, else into the data directory
(``$COMPANION_DATA/synthetic/seed_S``, reusing files already there). Prints the file paths and
the day's statistics; ``--json`` prints one JSON object on the last line.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _synthetic(args: argparse.Namespace) -> int:
    from companion import synth
    from companion.cli import print_json_last

    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.levels < 1:
        raise ValueError(f"--levels must be >= 1, got {args.levels}")
    config = None
    if args.session is not None:
        config = synth.SynthConfig(session=(float(args.session[0]), float(args.session[1])))
    t = time.perf_counter()
    if args.out is not None:
        mpath, opath = synth.write_day(args.out, seed=args.seed, levels=args.levels, config=config)
    else:
        mpath, opath = synth.ensure_day(seed=args.seed, levels=args.levels, config=config)
    seconds = time.perf_counter() - t
    meta_path = mpath.with_name(mpath.name.split("_message_")[0] + "_meta.json")
    meta = json.loads(meta_path.read_text())
    st = meta["stats"]
    out = {
        "message_path": str(mpath), "orderbook_path": str(opath), "meta_path": str(meta_path),
        "seed": args.seed, "levels": args.levels, "seconds": round(seconds, 3),
        "message_bytes": mpath.stat().st_size, "orderbook_bytes": opath.stat().st_size,
        "episodes": meta["episodes"], "stats": st,
    }
    if not args.json or args.verbose:
        print(f"messages : {mpath}")
        print(f"orderbook: {opath}")
        print(f"meta     : {meta_path}")
        print(f"{st['messages']:,} messages, types 1-5 {st['counts_by_type']}, "
              f"executions {st['execution_share']:.1%}")
        print(f"spread {st['spread_ticks_mean']:.2f} ticks (1 tick {st['spread_share_1_tick']:.0%} of the time), "
              f"depth at best {st['depth_best_ask_mean']:.0f}/{st['depth_best_bid_mean']:.0f} shares, "
              f"10 s OFI R^2 {st['ofi_r2_pooled']:.2f}, next-interval corr {st['ofi_next_corr']:.2f}")
        for e in meta["episodes"]:
            print(f"episode {e['start']:.0f}-{e['end']:.0f} s, direction {e['direction']:+d}, "
                  f"mid moved {e['mid_move_ticks']:+.1f} ticks")
    if args.json:
        print_json_last(out)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="make and inspect datasets",
                              description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="data_command", required=True)
    s = sub.add_parser("synthetic", help="write the seeded synthetic LOBSTER day")
    s.add_argument("--seed", type=int, default=7, help="random seed (default 7, the course's day)")
    s.add_argument("--out", type=Path, default=None,
                   help="output folder (default: $COMPANION_DATA/synthetic/seed_SEED, reused if present)")
    s.add_argument("--levels", type=int, default=10, help="book levels in the orderbook file (default 10)")
    s.add_argument("--session", type=float, nargs=2, metavar=("START", "END"), default=None,
                   help="session in seconds after midnight (default 34200 57600, 09:30-16:00)")
    s.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    s.add_argument("--verbose", action="store_true", help="with --json, also print the summary")
    s.set_defaults(handler=_synthetic)
