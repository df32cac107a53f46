"""``python -m companion study``: per-ticker-day studies over many days on Dask distributed.

``study {ofi,features,train,backtest,crossimpact,mm} --data SPEC_OR_FOLDER [--workers N]
[--scheduler ADDRESS] [--out DIR] [--on-error {fail,skip}] [--json]`` discovers the ticker-days
of a folder or SPEC (:func:`companion.catalog.discover`), starts a LocalCluster of N worker
processes (one thread each; default one per core) or connects to ``--scheduler``, runs one task
per ticker-day and prints the per-day table and the cross-day summary (means with 95% CIs).

Exit status: 0 all ticker-days done; 2 bad input, or a ticker-day failed with ``--on-error fail``
(the default: the run stops, naming the day, its files and the reader's error); 3 with
``--on-error skip`` when some ticker-days failed (they are listed; the others completed).
"""
from __future__ import annotations

import sys

import pandas as pd

from companion.cli import print_json_last

EXIT_SKIPPED = 3

_COLUMNS = {
    "ofi": ["ticker", "date", "n_events", "n_windows", "r2_mean", "beta_mean", "r2_day", "beta_day", "c", "lambda"],
    "features": ["ticker", "date", "n_samples", "n_features", "share_up"],
    "train": ["ticker", "date", "model", "n_train", "n_test", "auc", "accuracy", "log_loss"],
    "backtest": ["ticker", "date", "trades", "net_pnl", "gross_pnl", "spread_cost", "win_rate", "max_drawdown"],
    "crossimpact": ["date", "ticker", "n_bins", "r2_own", "r2_cross_only", "r2_cross", "beta_own", "beta_cross_only",
                    "beta_cross_mean", "t_cross_max"],
    "mm": ["ticker", "date", "strategy", "queue", "latency_us", "fills", "spread_capture", "adverse_selection",
           "inventory_pnl", "fees", "net"],
}


def register(subparsers) -> None:
    p = subparsers.add_parser("study", help="per-ticker-day studies over many days on Dask distributed",
                              description=__doc__.split("\n\n")[0],
                              epilog="exit status: 0 ok; 2 bad input or a failed ticker-day (--on-error fail); "
                                     "3 some ticker-days failed and were skipped (--on-error skip)")
    p.add_argument("name", choices=["ofi", "features", "train", "backtest", "crossimpact", "mm"], help="the study")
    p.add_argument("--data", required=True,
                   help="folder of LOBSTER / Binance ticker-days, universe:SEED:NxD[:MINUTES][:factor=RHO], or a SPEC")
    p.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default: one per core)")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler (no cluster started)")
    p.add_argument("--serial", action="store_true", help="run in this process without Dask (same results)")
    p.add_argument("--out", default=None, help="folder for the table (Parquet), errors (CSV) and summary (JSON)")
    p.add_argument("--store", default=None, help="Parquet store root (default $COMPANION_DATA/store)")
    p.add_argument("--on-error", choices=["fail", "skip"], default="fail",
                   help="a bad ticker-day stops the run (fail, exit 2) or is reported and skipped (skip, exit 3)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="study parameter override, e.g. window=5min, horizon=10s, n_estimators=50 (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line (no progress bar)")
    p.set_defaults(handler=run)


def _parse_params(items: list[str], name: str) -> dict:
    from companion.study import DEFAULTS

    out = {}
    for it in items:
        if "=" not in it:
            raise ValueError(f"--param {it!r}: expected KEY=VALUE")
        k, v = it.split("=", 1)
        if k not in DEFAULTS[name]:
            raise ValueError(f"--param {k!r}: study {name} has parameters {', '.join(sorted(DEFAULTS[name]))}")
        d = DEFAULTS[name][k]
        if isinstance(d, tuple):            # comma-separated, typed like the default's items
            t = type(d[0]) if d else str
            try:
                out[k] = tuple(t(x) for x in v.split(",") if x)
            except ValueError as e:
                raise ValueError(f"--param {k}={v!r}: expected comma-separated {t.__name__} values ({e})") from e
            continue
        out[k] = type(d)(v) if isinstance(d, (int, float)) and not isinstance(d, bool) else v
    return out


def _fmt_ci(name: str, c: dict) -> str:
    if not isinstance(c, dict) or "mean" not in c:
        return ""
    if c["n"] < 2:
        return f"{name}: {c['mean']:.4g} (n={c['n']})"
    return f"{name}: {c['mean']:.4g}  95% CI [{c['lo']:.4g}, {c['hi']:.4g}]  (n={c['n']})"


def run(args) -> int:
    from companion.catalog import discover
    from companion.study import clean_json, run_study

    params = _parse_params(args.param, args.name)
    days = discover(args.data)
    if not days:
        raise ValueError(f"{args.data}: no ticker-day found")
    res = run_study(args.name, days, workers=args.workers, scheduler=args.scheduler, on_error=args.on_error,
                    out=args.out, serial=args.serial, params=params, store_root=args.store,
                    progress=not args.json)
    where = "serial" if args.serial else f"{res.workers} Dask workers"
    print(f"study {args.name}: {args.data}, {len(days)} ticker-days, {res.summary['n_units']} tasks ({where})")
    cols = [c for c in _COLUMNS[args.name] if c in res.table]
    with pd.option_context("display.width", 200, "display.max_rows", 60):
        if len(res.table):
            print(res.table[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for k, v in res.summary.items():
        if isinstance(v, dict) and "mean" in v:
            print(_fmt_ci(k, v))
        elif isinstance(v, dict) and k in ("auc", "paired_auc"):
            for m, c in v.items():
                if "mean" in c:
                    print(_fmt_ci(f"{k} {m}", c))
                else:
                    print(f"{k} {m}: mean diff {c['mean_diff']:.4g} [{c['lo']:.4g}, {c['hi']:.4g}], "
                          f"t={c['t']:.3g} p={c['p_t']:.3g}, Wilcoxon p={c['p_wilcoxon']:.3g}, wins {c['wins']}/{c['n']}")
    for e in res.errors.to_dict("records"):
        print(f"skipped {e['key']} ({e['paths'] or 'no files'}): {e['error']}", file=sys.stderr)
    if args.out:
        print(f"results written to {args.out}")
    if args.json:
        print_json_last(clean_json({"study": args.name, "data": args.data, "n_days": len(days), "workers": res.workers,
                                    "summary": res.summary, "errors": res.errors.to_dict("records"),
                                    "table": res.table.to_dict("records")}))
    return EXIT_SKIPPED if len(res.errors) else 0
