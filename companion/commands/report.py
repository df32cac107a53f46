"""``python -m companion report``: microstructure reports on a LOBSTER day.

``report ofi MESSAGE [ORDERBOOK]``
    Cont, Kukanov & Stoikov (2014) per-window impact regressions (10-s bins in 30-min windows,
    sizes in round lots of 100 shares, dP in ticks): alpha, beta, t, R^2, the quadratic term, trade
    imbalance, depth; then a summary: mean/min/max R^2, share of windows with beta significant,
    TI R^2, multi-level and integrated OFI R^2 gains (Cont, Cucuringu & Zhang 2023), PC1 variance
    share, the depth law (c, lambda) and Kyle's lambda (5-min signed-volume regression).
``report tradesign MESSAGE [ORDERBOOK]``
    Accuracy of the tick rule, quote rule, Lee-Ready and BVC against LOBSTER's true aggressor side.
``report microprice MESSAGE [ORDERBOOK]``
    Stoikov (2018) micro-price fitted on the first half of the session (book sampled every second)
    and scored on the second: pairs used / total / dropped, the move set K, the range of G* in
    ticks, and the out-of-sample mean squared error (ticks^2) of mid, weighted mid and micro-price
    against the future mid at each horizon.

MESSAGE is a dataset SPEC (``lobster:AAPL:1``, ``synthetic[:SEED]``) or the path of a LOBSTER
message file (its orderbook file is found beside it unless ORDERBOOK is given). ``--json`` prints
one JSON object on the last line.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from companion.cli import print_json_last
from companion.study import clean_json


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="microstructure reports (OFI price impact, trade signs, micro-price)",
                              description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="report", required=True)

    o = sub.add_parser("ofi", help="CKS OFI price-impact regressions per window, depth law, multi-level OFI")
    _data_args(o)
    o.add_argument("--freq", default="10s", help="bin width (default 10s, CKS)")
    o.add_argument("--window", default="30min", help="regression window (default 30min, CKS)")
    o.add_argument("--size-unit", type=float, default=100.0, help="shares per lot (default 100: CKS round lots)")
    o.add_argument("--levels", type=int, default=None, help="levels for multi-level OFI (default: all in the book)")
    o.add_argument("--depth", choices=("cks", "mean"), default="cks", help="window depth D (see companion.flow.kyle)")
    o.set_defaults(handler=run_ofi)

    t = sub.add_parser("tradesign", help="tick / quote / Lee-Ready / BVC accuracy vs the true aggressor side")
    _data_args(t)
    t.add_argument("--bvc-freq", default="1min", help="BVC bar width (default 1min, Easley et al. 2012)")
    t.add_argument("--visible-only", action="store_true", help="score visible executions (type 4) only")
    t.set_defaults(handler=run_tradesign)

    m = sub.add_parser("microprice", help="Stoikov micro-price: pairs used, G* range, out-of-sample MSE")
    _data_args(m)
    m.add_argument("--n-imb", type=int, default=10, help="imbalance buckets (default 10)")
    m.add_argument("--n-spread", type=int, default=None,
                   help="spread states (default: 2 of 1-2 ticks if the median spread is <= 2 ticks, else 3 quantiles)")
    m.add_argument("--max-move", default="auto",
                   help="largest mid move kept, ticks ('auto', default: every move; 1: Stoikov's K)")
    m.add_argument("--dt", default="1s", help="sampling step (default 1s)")
    m.add_argument("--horizons", default="1s,10s,60s,180s", help="comma-separated horizons")
    m.add_argument("--split", type=float, default=0.5, help="share of the session used to fit (default 0.5)")
    m.set_defaults(handler=run_microprice)


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("message", metavar="MESSAGE", help="dataset SPEC (lobster:AAPL:1, synthetic) or LOBSTER message file")
    p.add_argument("orderbook", metavar="ORDERBOOK", nargs="?", default=None, help="orderbook file (default: beside MESSAGE)")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")


def load_day(message: str, orderbook: str | None = None):
    """Resolve MESSAGE (SPEC or path) like :func:`companion.spec.resolve_lobster_paths` and read it."""
    from companion.data import load, orderbook_beside, resolve_lobster_paths
    from companion.io.lobster import read_lobster

    if orderbook is None and (message.startswith("universe:") or Path(message).is_dir()):
        return load(message)        # a universe day, or a folder holding one ticker-day
    try:
        msg, ob = resolve_lobster_paths(message)
    except ValueError:
        if not Path(message).exists():
            raise
        msg, ob = Path(message), orderbook_beside(message)
    if orderbook is not None:
        ob = Path(orderbook)
    if ob is None:
        raise FileNotFoundError(f"no orderbook file found beside {msg}; pass ORDERBOOK")
    return read_lobster(msg, ob)


def _hhmm(ns: int) -> str:
    s = int(ns) // 1_000_000_000
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def _pct(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f}%"


def run_ofi(args) -> int:
    from companion.flow.kyle import impact_regressions, kyle_lambda
    from companion.flow.tradesign import signed_volume_events

    day = load_day(args.message, args.orderbook)
    ev, book, inst = day.events, day.book, day.instrument
    sv = signed_volume_events(ev)
    t0 = inst.session_open_ns or None
    t1 = inst.session_close_ns or None
    res = impact_regressions(book, ev["ts"], sv, tick=inst.tick, size_unit=args.size_unit, freq=args.freq,
                             window=args.window, t0=t0, t1=t1, levels=args.levels, depth=args.depth)
    kl = kyle_lambda(book, ev["ts"], sv, tick=inst.tick, size_unit=args.size_unit, freq="5min", t0=t0, t1=t1)
    s = dict(res.summary)
    s.update(kyle_lambda=kl["lambda"], kyle_lambda_t=kl["t"], kyle_lambda_r2=kl["r2"])
    w = res.windows
    name = f"{inst.symbol} {inst.date} ({inst.levels} levels, {len(ev):,} events)"
    print(f"OFI price impact: {name}")
    print(f"dP (ticks) on OFI (lots of {args.size_unit:g} shares), {args.freq} bins in {args.window} windows "
          f"[Cont, Kukanov & Stoikov 2014]")
    cols = ["n", "alpha", "beta", "t_beta", "r2", "t_gamma", "depth", "r2_ti", "r2_joint"]
    if "r2_ml" in w:
        cols += ["r2_ofi1n", "r2_ml", "r2_int", "pc1_share"]
    table = w[[c for c in cols if c in w]].copy()
    table.index = [_hhmm(x) for x in w["start_ns"]]
    table.index.name = "start"
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print()
    print(f"windows: {s['n_windows']}   R^2 mean {_pct(s['r2_mean'])} (min {_pct(s['r2_min'])}, max {_pct(s['r2_max'])})"
          f"   [CKS: 65% average, 35-79% across stocks]")
    print(f"beta significant (|t| > 1.96): {_pct(s['beta_significant_share'])} of windows   mean beta {s['beta_mean']:.4f} "
          f"ticks/lot, mean t {s['t_beta_mean']:.2f}   [CKS: 98%, t 12.08]")
    print(f"quadratic term OFI|OFI|: significant in {_pct(s['gamma_significant_share'])}, mean t {s['t_gamma_mean']:.2f}"
          f"   [CKS: 17%, t -0.32]")
    if "r2_ti_mean" in s:
        print(f"trade imbalance: R^2 {_pct(s['r2_ti_mean'])}; with OFI {_pct(s['r2_joint_mean'])}, TI significant in "
              f"{_pct(s['ti_joint_significant_share'])}   [CKS: 32%; 67%, 43%]")
    print(f"depth law log beta = log c - lambda log D ({args.depth} depth, mean {s['depth_mean']:.2f} lots): "
          f"c = {s['c']:.3f}, lambda = {s['lambda']:.3f}, R^2 {_pct(s['depth_law_r2'])}   [CKS: c 0.45-0.6, lambda 1.05, R^2 76%]")
    if "r2_ml_mean" in s:
        print(f"multi-level OFI (L={s['levels']}, depth-normalised): adj. R^2 level 1 {_pct(s['adj_r2_ofi1n_mean'])} -> "
              f"all levels {_pct(s['adj_r2_ml_mean'])} (gain {100 * s['ml_gain_adj_r2']:+.1f} pp); integrated OFI R^2 "
              f"{_pct(s['r2_int_mean'])} (gain {100 * s['int_gain_r2']:+.1f} pp); PC1 share {_pct(s['pc1_share_mean'])}"
              f"   [CCZ: PC1 89%, R^2 71 -> 87%]")
    print(f"Kyle's lambda (5-min signed volume): {kl['lambda']:.4f} ticks/lot, t {kl['t']:.2f}, R^2 {_pct(kl['r2'])}")
    if args.json:
        out = {"dataset": args.message, "symbol": inst.symbol, "date": inst.date, "events": int(len(ev)), **s,
               "windows": w.to_dict(orient="records")}
        print_json_last(clean_json(out))
    return 0


def run_tradesign(args) -> int:
    from companion.flow.tradesign import score_trade_signs

    day = load_day(args.message, args.orderbook)
    inst = day.instrument
    tab = score_trade_signs(day.events, day.book, bvc_freq=args.bvc_freq, t0=inst.session_open_ns or None,
                            hidden=not args.visible_only)
    n = int(tab["n_trades"].iloc[0])
    print(f"Trade-sign accuracy vs LOBSTER's true aggressor side: {inst.symbol} {inst.date}, {n:,} "
          f"{'visible ' if args.visible_only else ''}executions")
    show = tab.drop(columns="n_trades")
    with pd.option_context("display.width", 200):
        print(show.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"(bulk accuracy: 1 - sum over {args.bvc_freq} bars |est. buy volume - true buy volume| / volume; "
          "published per-trade accuracies: chapter 3)")
    if args.json:
        out = {"dataset": args.message, "symbol": inst.symbol, "date": inst.date, "n_trades": n,
               "methods": {m: {k: v for k, v in row.items() if k != "n_trades"} for m, row in tab.to_dict(orient="index").items()}}
        print_json_last(clean_json(out))
    return 0


def run_microprice(args) -> int:
    from companion.flow.microprice import score_predictors
    from companion.stats import two_sided

    if args.max_move == "auto":
        max_move = "auto"
    else:
        try:
            max_move = float(args.max_move)
        except ValueError:
            raise ValueError(f"--max-move: expected 'auto' or a number of ticks, got {args.max_move!r}") from None
        if not max_move > 0:
            raise ValueError(f"--max-move: expected a positive number of ticks, got {args.max_move!r}")
    if not 0 < args.split < 1:
        raise ValueError(f"--split: expected a share in (0, 1), got {args.split}")
    day = load_day(args.message, args.orderbook)
    ev, book, inst = day.events, day.book, day.instrument
    ok = two_sided(book)
    if not ok.any():
        raise ValueError(f"{args.message}: no two-sided book row, no micro-price")
    spread = float(np.median((book[ok, 0] - book[ok, 2]) / inst.tick))
    wide = spread > 2
    n_spread = args.n_spread or (3 if wide else 2)
    bins = "quantile" if wide else "ticks"
    horizons = tuple(h.strip() for h in args.horizons.split(",") if h.strip())
    tab, model = score_predictors(book, ev["ts"], tick=inst.tick, split=args.split, horizons=horizons, dt=args.dt,
                                  t0=inst.session_open_ns or None, t1=inst.session_close_ns or None,
                                  n_imb=args.n_imb, n_spread=n_spread, spread_bins=bins, max_move=max_move)
    s = model.summary()
    print(f"Micro-price [Stoikov 2018]: {inst.symbol} {inst.date}, median spread {spread:.1f} ticks; "
          f"{args.n_imb} imbalance x {len(s['spread_edges_ticks']) - 1} spread states ({bins})")
    print(f"fit on the first {args.split:.0%} of the session, book every {args.dt}: pairs used "
          f"{s['pairs_used']:,} of {s['pairs_total']:,} ({_pct(s['share_used'])}), dropped {s['pairs_dropped']:,}; "
          f"K up to +-{s['max_move_ticks']:g} ticks")
    print(f"G* from {s['g_min_ticks']:.3f} to {s['g_max_ticks']:.3f} ticks")
    show = tab.assign(micro_vs_mid=tab["mse_micro"] / tab["mse_mid"])
    print("out-of-sample MSE against the future mid (ticks^2):")
    with pd.option_context("display.width", 200):
        print(show.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.json:
        out = {"dataset": args.message, "symbol": inst.symbol, "date": inst.date, "median_spread_ticks": spread,
               "spread_bins": bins, "n_imb": args.n_imb, "max_move": max_move, **s,
               "mse": {h: {k: row[k] for k in ("n", "mse_mid", "mse_weighted_mid", "mse_micro")}
                       for h, row in tab.to_dict(orient="index").items()}}
        print_json_last(clean_json(out))
    return 0
