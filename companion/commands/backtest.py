"""``python -m companion backtest``: run a strategy over a dataset and print its metrics.

    python -m companion backtest --data synthetic --strategy scalper [--config cfg.yaml] [--json]
    python -m companion backtest --data SPEC --strategy mm [--alpha imbalance] --json

Strategies: ``scalper`` (composite book imbalance), ``model`` (P(up) + OFI rule: P(up) from
``strategy.predictions`` = a CSV with columns ``ts`` (ns, the data's time base) and ``p_up``, or,
without it, out of sample from a purged walk-forward LightGBM fitted on the data itself
(:func:`companion.signals.walk_forward_direction`, 10-s horizon, 5 folds, 100 trees; the OFI
threshold, unless given, is set before the first prediction as in chapter 9; the strategy does not
trade before the first prediction), ``noop``, and the market makers of
:mod:`companion.backtest.market_making`: ``mm`` (GLFT), ``mm_as`` (Avellaneda–Stoikov),
``mm_grid`` (fixed offsets). ``--alpha NAME`` skews a market maker's quotes by a forecast:
``imbalance``, ``microprice``, ``ofi`` (:func:`companion.backtest.market_making.alpha_forecast`) or
``model`` (P(up) - 0.5 from the same out-of-sample walk-forward as the ``model`` strategy); the
scale is ``strategy.alpha_scale`` (ticks per forecast unit, default 1 with ``--alpha``).

Every run prints the exact P&L decomposition (:func:`companion.backtest.pnl.decompose`:
``spread_capture``, ``adverse_selection`` per markout horizon, ``inventory_pnl``, ``fees``,
``net``) and, for the market makers, :func:`companion.backtest.pnl.mm_stats`; with ``--json``
the last line holds them all (``fill_rate`` = filled / quoted quantity).

Fees default to the venue's schedule (:meth:`companion.sim.fees.Fees.for_venue`: NASDAQ 2012
-$0.0020 / +$0.0030 per share for LOBSTER and synthetic data, Binance VIP 0 for crypto); an
``execution.fees`` section replaces it. The YAML config (read with ``yaml.safe_load``) has three
optional sections::

    strategy:            # fields of the strategy class, e.g. for the scalper
      qty: 100           # shares per entry
      entry: market      # market | limit
      levels: 5          # book levels of the imbalance
      weak: 0.15
      strong: 0.35
      hold_s: 10         # timeout exit (s)
      exit_level: 1      # exit on an opposite signal of at least this level (0: never)
      entry_ttl_s: 2     # cancel an unfilled limit entry after (s)
      limit_offset_ticks: 0
      cooldown_s: 0
    execution:
      fees: {maker: -0.002, taker: 0.003, unit: per_share}   # currency per share (or unit: bps)
                             # market makers (mm, mm_as, mm_grid) take, in strategy:
                             #   quote_size, max_position, requote_ticks, gamma, alpha_scale,
                             #   max_spread_ticks, max_sigma, vol_window_s, intensity_window_s,
                             #   sigma, A, k (fixed instead of estimated), post_only,
                             #   horizon_s (mm_as), half_spread_ticks, skew_ticks (mm_grid)
      latency_ns: {feed: 0, entry: 100000, response: 100000}
      queue: risk_averse     # risk_averse | power_prob | log_prob | fifo
      queue_n: 2             # exponent of power_prob
      seed: 0
      flat_before_close_s: 60
      path: numba            # numba | python (teaching path; same result, slower)
    risk:                    # money in currency, times in seconds; omitted = off
      max_position: 500
      max_loss: 50
      position_timeout_s: 60
      max_spread_ticks: 5
      max_trades_per_min: 60
      daily_loss: 500

Unknown keys and bad values are errors naming the key (exit code 2).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from companion.cli import print_json_last

_EXECUTION = {"fees", "latency_ns", "queue", "queue_n", "seed", "flat_before_close_s", "path"}
_FEES = {"maker", "taker", "unit"}
_LATENCY = {"feed", "entry", "response"}
_RISK = {"max_position", "max_loss", "position_timeout_s", "max_spread_ticks",
         "max_trades_per_min", "daily_loss"}
_QUEUES = ("risk_averse", "power_prob", "log_prob", "fifo")


def register(subparsers) -> None:
    p = subparsers.add_parser("backtest", help="run a strategy through the simulator and print metrics",
                              description=__doc__.splitlines()[0])
    p.add_argument("--data", default="synthetic", help="dataset SPEC: synthetic[:SEED] | lobster:T:L | path")
    p.add_argument("--strategy", default="scalper",
                   choices=["scalper", "model", "noop", "mm", "mm_as", "mm_grid"])
    p.add_argument("--alpha", choices=["none", "imbalance", "microprice", "ofi", "model"],
                   help="market makers: skew the quotes by this forecast (strategy.alpha_scale)")
    p.add_argument("--config", help="YAML config (see `python -m companion backtest --help`)")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    p.add_argument("--plot", help="save the 2x3 performance figure to this file")
    p.set_defaults(handler=run)


def _check_keys(d, allowed, where: str) -> dict:
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise ValueError(f"config: {where or 'top level'} must be a mapping, got {type(d).__name__}")
    for k in d:
        if k not in allowed:
            name = f"{where}.{k}" if where else str(k)
            raise ValueError(f"config: unknown key {name!r} (allowed: {', '.join(sorted(allowed))})")
    return d


def _num(d: dict, key: str, where: str, *, integer: bool = False, minimum: float | None = None, **kw):
    """``d[key]`` checked by :func:`companion.live.config.check_number` (the live config's rules:
    finite, no NaN, integers exact and within int64); None when absent."""
    from companion.live.config import check_number

    return check_number(f"{where}.{key}", d.get(key), integer=integer, lo=minimum, allow_none=True, **kw)


def _strategy_rules(book_levels: int | None) -> dict:
    """check_number options per strategy field (times in seconds; None where None means off)."""
    lv = {"integer": True, "lo": 1, "hi": book_levels if book_levels else None}
    pos = {"lo": 0.0, "lo_open": True}
    return {"qty": pos, "limit_offset_ticks": {}, "entry_ttl_s": {**pos, "allow_none": True},
            "hold_s": {**pos, "allow_none": True}, "exit_level": {"integer": True, "lo": 0, "hi": 2},
            "cooldown_s": {"lo": 0.0}, "levels": lv, "weak": {"lo": 0.0, "hi": 1.0},
            "strong": {"lo": 0.0, "hi": 1.0}, "p_long": {"lo": 0.0, "hi": 1.0},
            "p_short": {"lo": 0.0, "hi": 1.0}, "ofi_threshold": {"lo": 0.0}, "ofi_window_s": pos,
            "ofi_levels": lv, "quote_size": pos, "max_position": {"lo": 0.0},
            "requote_ticks": {"lo": 0.0}, "gamma": pos, "alpha_scale": {},
            "max_spread_ticks": pos, "max_sigma": pos, "vol_window_s": pos,
            "intensity_window_s": pos, "sigma": {**pos, "allow_none": True},
            "A": {**pos, "allow_none": True}, "k": {**pos, "allow_none": True},
            "horizon_s": {"lo": 0.0, "allow_none": True}, "half_spread_ticks": {"lo": 0.0},
            "skew_ticks": {"lo": 0.0}}


def parse_config(cfg: dict | None, strategy: str, instrument) -> tuple:
    """Validate a config mapping -> (strategy object, ExecutionConfig, path).

    Numbers follow :func:`companion.live.config.check_number` (no NaN / inf, no negative
    durations, integers exact, latencies <= 1 h); ``levels`` / ``ofi_levels`` at most the
    instrument's book levels."""
    from companion.backtest import STRATEGIES, ExecutionConfig
    from companion.live.config import MAX_LATENCY_NS, check_number
    from companion.sim import Fees, FIFOQueue, LogProbQueue, PowerProbQueue, RiskAverseQueue, RiskLimits
    from companion.sim.fees import VENUE_FEES

    cfg = _check_keys(cfg, {"strategy", "execution", "risk"}, "")
    scale = float(instrument.price_scale)
    # --- strategy
    cls = STRATEGIES[strategy]
    fields = {f.name: f for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
    allowed = set(fields) - {"p_up", "p_ts", "forecast"}
    if strategy == "model":
        allowed.add("predictions")
    sc = dict(_check_keys(cfg.get("strategy"), allowed, "strategy"))
    rules = _strategy_rules(int(getattr(instrument, "levels", 0) or 0))
    for k, v in sc.items():
        if k in ("entry", "predictions", "alpha"):
            if not isinstance(v, str):
                raise ValueError(f"config: strategy.{k} must be a string, got {v!r}")
        elif k == "post_only":
            if not isinstance(v, bool):
                raise ValueError(f"config: strategy.post_only must be true or false, got {v!r}")
        elif k == "weights":
            if not (isinstance(v, list) and len(v) == 3):
                raise ValueError(f"config: strategy.weights must be a list of 3 numbers, got {v!r}")
            sc[k] = tuple(check_number(f"strategy.weights[{i}]", x) for i, x in enumerate(v))
        else:
            sc[k] = check_number(f"strategy.{k}", v, **rules.get(k, {}))
    pred = sc.pop("predictions", None)  # only allowed for the model strategy
    if pred is not None:
        import pandas as pd

        if not Path(pred).exists():
            raise FileNotFoundError(f"config: strategy.predictions file {pred} does not exist")
        df = pd.read_csv(pred)
        for c in ("ts", "p_up"):
            if c not in df.columns:
                raise ValueError(f"config: strategy.predictions file {pred} lacks column {c!r}")
        sc["p_ts"] = df["ts"].to_numpy(np.int64)
        sc["p_up"] = df["p_up"].to_numpy(np.float64)
    try:
        strat = cls(**sc)
        if hasattr(strat, "_check"):
            strat._params(instrument, 1)  # validates the market maker's parameters
        elif hasattr(strat, "_params"):
            strat._params(float(instrument.tick))  # validates entry / qty
    except (TypeError, ValueError) as exc:
        raise ValueError(f"config: strategy: {exc}") from None
    # --- execution
    ec = _check_keys(cfg.get("execution"), _EXECUTION, "execution")
    fc = _check_keys(ec.get("fees"), _FEES, "execution.fees")
    unit = fc.get("unit", "per_share")
    if unit not in ("per_share", "bps"):
        raise ValueError(f"config: execution.fees.unit must be 'per_share' or 'bps', got {unit!r}")
    maker = _num(fc, "maker", "execution.fees")
    taker = _num(fc, "taker", "execution.fees")
    if not fc and str(getattr(instrument, "venue", "")) in VENUE_FEES:
        fees = Fees.for_venue(instrument)  # no fees section: the venue's schedule
    else:
        maker = -0.002 if maker is None else maker
        taker = 0.003 if taker is None else taker
        k = scale if unit == "per_share" else 1.0
        fees = Fees(maker=maker * k, taker=taker * k, unit=unit)
    lc = _check_keys(ec.get("latency_ns"), _LATENCY, "execution.latency_ns")
    lat = {n: _num(lc, n, "execution.latency_ns", integer=True, minimum=0, hi=MAX_LATENCY_NS) for n in _LATENCY}
    q = ec.get("queue", "risk_averse")
    if q not in _QUEUES:
        raise ValueError(f"config: execution.queue must be one of {', '.join(_QUEUES)}, got {q!r}")
    qn = _num(ec, "queue_n", "execution", minimum=0, lo_open=True)
    queue = {"risk_averse": RiskAverseQueue(), "power_prob": PowerProbQueue(qn if qn is not None else 2.0),
             "log_prob": LogProbQueue(), "fifo": FIFOQueue()}[q]
    path = ec.get("path", "numba")
    if path not in ("numba", "python"):
        raise ValueError(f"config: execution.path must be 'numba' or 'python', got {path!r}")
    # --- risk
    rc = _check_keys(cfg.get("risk"), _RISK, "risk")
    r = {key: _num(rc, key, "risk", minimum=0, integer=key == "max_trades_per_min") for key in _RISK}
    risk = RiskLimits(
        max_position=r["max_position"],
        max_loss=None if r["max_loss"] is None else r["max_loss"] * scale,
        position_timeout_ns=None if r["position_timeout_s"] is None else int(r["position_timeout_s"] * 1e9),
        max_spread=None if r["max_spread_ticks"] is None else r["max_spread_ticks"] * instrument.tick,
        max_trades_per_min=None if r["max_trades_per_min"] is None else int(r["max_trades_per_min"]),
        daily_loss=None if r["daily_loss"] is None else r["daily_loss"] * scale)
    flat = _num(ec, "flat_before_close_s", "execution", minimum=0) if "flat_before_close_s" in ec else 60.0
    exe = ExecutionConfig(
        fees=fees, feed_latency=lat["feed"] if lat["feed"] is not None else 0,
        entry_latency=lat["entry"] if lat["entry"] is not None else 100_000,
        response_latency=lat["response"] if lat["response"] is not None else 100_000,
        queue=queue, risk=risk, flat_before_close_s=flat,
        seed=_num(ec, "seed", "execution", integer=True, minimum=0) or 0)
    return strat, exe, path


def load_config(path: str | None) -> dict:
    """The YAML mapping of ``path`` ({} for None), read by the live config's reader
    (:func:`companion.live.config.read_yaml`: UTF-8, errors naming the file)."""
    if path is None:
        return {}
    from companion.live.config import read_yaml

    return read_yaml(path) or {}


def _fmt(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k} {_fmt(x)}" for k, x in v.items())
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def run(args: argparse.Namespace) -> int:
    from companion.backtest import performance_figure, run_backtest
    from companion.data import load

    d = load(args.data)
    if d.book is None:
        raise ValueError(f"dataset {args.data!r} has no orderbook snapshots")
    cfg = load_config(args.config)
    try:
        strat, exe, path = parse_config(cfg, args.strategy, d.instrument)
    except ValueError as exc:
        if args.config is None:
            raise
        from companion.live.config import ConfigError, in_file

        raise ConfigError(in_file(exc, args.config)) from None
    mm = args.strategy.startswith("mm")
    if args.alpha is not None and not mm:
        raise ValueError(f"--alpha applies to the market makers (mm, mm_as, mm_grid), not {args.strategy!r}")
    if (args.strategy == "model" and strat.p_up is None) or args.alpha == "model":
        # no predictions file: fit them out of sample
        from companion import signals as sg
        from companion.events import NS

        oos = sg.walk_forward_direction(d.events, d.book, d.instrument, 10 * NS, baselines=False)
        print(f"P(up): purged walk-forward on {args.data}, {len(oos.p_up):,} out-of-sample seconds, "
              f"AUC {oos.wf.metrics['roc_auc'].iloc[0]:.3f}")
        if mm:
            f = sg.align_predictions(oos.p_ts, oos.p_up, d.events["ts"]) - 0.5
            strat = dataclasses.replace(strat, forecast=f)
        else:
            strat = dataclasses.replace(strat, p_ts=oos.p_ts, p_up=oos.p_up, ofi_threshold=(
                strat.ofi_threshold if "ofi_threshold" in (cfg.get("strategy") or {}) else oos.theta_ofi))
            print(f"OFI threshold {strat.ofi_threshold:.1f} shares")
    if mm and args.alpha not in (None, "model"):
        strat = dataclasses.replace(strat, alpha=args.alpha)
    if mm and args.alpha not in (None, "none") and "alpha_scale" not in (cfg.get("strategy") or {}):
        strat = dataclasses.replace(strat, alpha_scale=1.0)
    res = run_backtest(d, strat, execution=exe, path=path)
    from companion.backtest.pnl import decompose, mm_stats

    m = res.metrics()
    dec = decompose(res)
    m.update({"spread_capture": dec["spread_capture"], "adverse_selection": dec["adverse_selection"],
              "inventory_pnl": dec["inventory_pnl"], "inventory_rest": dec["inventory_rest"],
              "net": dec["net"], "maker_fills": dec["maker_fills"], "taker_fills": dec["taker_fills"]})
    if mm:
        m.update(mm_stats(res))
        m["alpha"] = args.alpha or strat.alpha
    m["data"] = args.data
    cur = "$" if d.instrument.price_scale == 10000 else "currency"
    print(f"{args.strategy} on {args.data} ({d.instrument.symbol} {d.instrument.date}, {len(d.events):,} events), "
          f"{path} path; money in {cur}")
    for k, v in m.items():
        if k not in ("strategy", "path", "symbol", "data", "alpha"):
            print(f"  {k:18s} {_fmt(v)}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        performance_figure(res).savefig(args.plot)
        print(f"figure written to {args.plot}")
    if args.json:
        def clean(v):
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return None if isinstance(v, float) and not np.isfinite(v) else v

        print_json_last({k: clean(v) for k, v in m.items()})
    return 0
