"""``python -m companion train``: walk-forward training and out-of-sample metrics.

``train --data SPEC [--horizon H] [--json]`` builds the training set of
:func:`companion.models.dataset.build_training_set` (causal features on a 1-s grid, the label
"mid up after H", label end times), runs a purged walk-forward CV (López de Prado 2018, §7.4:
training labels must end before the test block minus an embargo of H) and prints the pooled
out-of-sample metrics of the LightGBM classifier and of each baseline (majority class, sign of
the 10-s OFI, logistic regression). ``--json`` prints one JSON object on the last line.
"""
from __future__ import annotations

import math

import pandas as pd

from companion.cli import print_json_last


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="walk-forward LightGBM training with baselines (out-of-sample metrics)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="synthetic", help="dataset SPEC (synthetic[:SEED], lobster:TICKER:LEVEL, path)")
    p.add_argument("--horizon", default="10s", help="label horizon (default 10s)")
    p.add_argument("--grid", default="1s", help="feature sample grid (default 1s)")
    p.add_argument("--n-splits", type=int, default=5, help="walk-forward test blocks (default 5)")
    p.add_argument("--n-estimators", type=int, default=200, help="trees (default 200)")
    p.add_argument("--seed", type=int, default=7, help="model seed (default 7)")
    p.add_argument("--all-features", action="store_true",
                   help="use every registered feature (default: the scale-free flow features)")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    p.set_defaults(handler=run)


def _clean(v):
    if isinstance(v, float):
        return None if not math.isfinite(v) else v
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def run(args) -> int:
    from companion.models import PurgedWalkForward, walk_forward_evaluate
    from companion.models.dataset import MODEL_PARAMS, build_training_set, flow_feature_names
    from companion.models.train import DirectionClassifier

    feats = None if args.all_features else flow_feature_names()
    ds = build_training_set(args.data, horizon=args.horizon, grid=args.grid, features=feats)
    if len(ds) < 10 * (args.n_splits + 1):
        raise ValueError(f"{args.data}: only {len(ds)} samples, too few for {args.n_splits} folds")
    model = DirectionClassifier(n_estimators=args.n_estimators, random_state=args.seed, **MODEL_PARAMS)
    ofi = "ofi_10s" if "ofi_10s" in ds.X.columns else None
    res = walk_forward_evaluate(ds.X, ds.y, t_end=ds.t_end, ret=ds.ret, model_factory=model,
                                cv=PurgedWalkForward(args.n_splits, embargo=args.horizon), ofi_column=ofi,
                                random_state=args.seed)
    inst = ds.instrument
    print(f"train: {args.data} ({inst.symbol} {inst.date}), label P(mid up after {args.horizon}), "
          f"{len(ds):,} samples on a {args.grid} grid, {ds.X.shape[1]} features, share up {ds.y.mean():.3f}")
    print(f"purged walk-forward: {args.n_splits} test blocks, embargo {args.horizon}; "
          f"{int(res.folds['n_test'].sum()):,} out-of-sample predictions")
    cols = ["model", "n", "accuracy", "balanced_accuracy", "roc_auc", "log_loss", "ic", "hit_rate"]
    with pd.option_context("display.width", 200):
        print(res.metrics[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if args.json:
        out = {"dataset": args.data, "horizon": args.horizon, "grid": args.grid, "n_samples": len(ds),
               "n_features": int(ds.X.shape[1]), "n_splits": args.n_splits, "share_up": float(ds.y.mean()),
               "models": {r["model"]: {k: _clean(r[k]) for k in cols[1:]} for r in res.metrics.to_dict("records")}}
        print_json_last(out)
    return 0
