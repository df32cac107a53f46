"""The training set of the course's models: causal features, forward labels, their end times.

:func:`build_training_set` turns a day (a dataset SPEC or loaded data) into ``(X, y, t, t_end)``:

* ``X``: :func:`companion.features.compute` on a clock grid (default 1 s; the row at ``T`` sees
  the events with ``ts <= T`` only), after a warm-up (default 5 min, the longest feature window)
  and without the columns that are mostly undefined on this day (e.g. deeper levels of a level-1
  book, VPIN before 50 buckets have filled);
* the label of row ``T`` from :mod:`companion.labels` on the mid path as of each sample: a
  fixed horizon ``r = move(M_T, M_{T+h})`` (``label="fixed"``) or a symmetric triple barrier at
  ``+-threshold`` with a vertical barrier at ``h`` (``label="triple_barrier"``; López de Prado
  2018, ch. 3);
* ``y`` from the move: ``target="up"`` -> ``1{r > threshold}`` (the model estimates P(up));
  ``"sign"`` -> -1 / 0 / +1; ``"updown"`` -> ``1{r > 0}`` on the samples with ``|r| > threshold``;
* ``t`` the sample times (``X.index``) and ``t_end`` the time the label is known (its last mid),
  so that :class:`companion.models.cv.PurgedWalkForward` can purge overlapping labels.

Rows whose label runs past the data are dropped. Nothing here estimates anything from the day,
so the features stay causal; only the labels look forward, and they carry ``t_end``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from companion import labels as L

TARGETS = ("up", "sign", "updown")
LABELS = ("fixed", "triple_barrier")


@dataclass
class TrainingSet:
    """``X`` features (rows = samples in time order, index = sample time); ``y`` targets;
    ``t_end`` label end times (aligned with ``X``); ``ret`` the realised move (``unit``);
    ``label`` the label definition (JSON-able); ``dropped`` feature columns left out, with why."""

    X: pd.DataFrame
    y: pd.Series
    t_end: pd.Series
    ret: pd.Series
    label: dict
    instrument: object = None
    dropped: dict = field(default_factory=dict)

    @property
    def t(self) -> pd.Index:
        """Sample times (``X.index``)."""
        return self.X.index

    def __len__(self) -> int:
        return len(self.X)


def load_data(data):
    """A dataset SPEC (``"synthetic"``, ``"synthetic:7"``, ``"lobster:AAPL:1"``, a message-file
    path) or already-loaded data (anything with ``events``, ``book``, ``instrument``).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> day = SimpleNamespace(events=None, book=None, instrument=None)
    >>> load_data(day) is day                      # loaded data pass through
    True
    >>> load_data(42)
    Traceback (most recent call last):
        ...
    TypeError: data must be a dataset SPEC or have events, book and instrument
    """
    if isinstance(data, str):
        import companion

        return companion.load(data)
    if not all(hasattr(data, a) for a in ("events", "book", "instrument")):
        raise TypeError("data must be a dataset SPEC or have events, book and instrument")
    return data


def mid_series(events: np.ndarray, book: np.ndarray, instrument=None) -> pd.Series:
    """Mid price ``(P^a_1 + P^b_1) / 2`` after every event (price units; NaN when one side is
    empty), indexed by event time on the same time axis as :func:`companion.features.compute`.

    Examples
    --------
    >>> from companion.events import NS, Instrument, empty_events
    >>> ev = empty_events(2)
    >>> ev["ts"] = [34200 * NS, 34201 * NS]                        # 09:30:00 and 09:30:01
    >>> book = np.array([[1_000_100., 300, 1_000_000, 100],         # ask 100.01, bid 100.00
    ...                  [1_000_100., 300, -9999999999, 0]])         # the bid side empties
    >>> mid_series(ev, book, Instrument("X", tick=100, price_scale=10_000, date="2012-06-21"))
    time
    2012-06-21 09:30:00    1000050.0
    2012-06-21 09:30:01          NaN
    Name: mid, dtype: float64
    """
    from companion.book import time_index
    from companion.stats import mid_price

    mid = mid_price(book)
    return pd.Series(mid, index=time_index(np.asarray(events["ts"]), instrument), name="mid")


def make_target(ret: np.ndarray, label: np.ndarray, target: str, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """``(y, keep)`` from the move ``ret`` and the label class (see the module docstring).

    Examples
    --------
    >>> ret, label = np.array([-2.0, 0.0, 1.0, 3.0]), np.array([-1, 0, 1, 1])
    >>> y, keep = make_target(ret, label, "up", 0.5)                  # 1{r > 0.5}
    >>> y.tolist(), keep.tolist()
    ([0, 0, 1, 1], [True, True, True, True])
    >>> y, keep = make_target(ret, label, "updown", 0.5)              # 1{r > 0} where |r| > 0.5
    >>> y.tolist(), keep.tolist()
    ([0, 0, 1, 1], [True, False, True, True])
    """
    if target == "up":
        return (ret > threshold).astype(np.int8), np.ones(ret.size, bool)
    if target == "sign":
        return np.asarray(label, dtype=np.int8), np.ones(ret.size, bool)
    if target == "updown":
        return (ret > 0).astype(np.int8), np.abs(ret) > threshold
    raise ValueError(f"target must be one of {TARGETS}, not {target!r}")


def build_training_set(data, *, horizon="10s", grid="1s", target: str = "up", label: str = "fixed",
                       threshold: float = 0.0, unit: str = "ticks", features: list[str] | None = None,
                       config=None, warmup="5min", max_nan_share: float = 0.5) -> TrainingSet:
    """Features on a clock grid, labels at ``horizon``, aligned; see the module docstring.

    ``data`` SPEC or loaded day; ``horizon`` clock horizon (``"10s"``, ``"1min"``); ``grid`` feature
    grid; ``target`` ``"up"`` / ``"sign"`` / ``"updown"``; ``label`` ``"fixed"`` or
    ``"triple_barrier"`` (barriers at ``+-threshold`` in ``unit``, so ``threshold > 0``);
    ``threshold`` in ``unit`` (``"ticks"`` or ``"bps"``); ``features`` names (default: all
    registered); ``config`` :class:`companion.features.FeatureConfig`; ``warmup`` rows dropped
    after the first sample; ``max_nan_share`` drop feature columns undefined on more than this
    share of the remaining rows (constant columns are dropped too).

    Returns
    -------
    TrainingSet
        ``X`` (features, index = sample time), ``y``, ``t_end`` (label end times), ``ret`` (the
        realised move in ``unit``), the label definition and the dropped columns.

    References
    ----------
    López de Prado (2018), *Advances in Financial Machine Learning*, ch. 3 (labels) and ch. 7
    (label end times for purging).

    Examples
    --------
    P(up over 5 s) on a 1 s grid of a two-minute day, after a 10 s warm-up:

    >>> from types import SimpleNamespace
    >>> from companion.synth import SynthConfig, instrument, simulate, to_events
    >>> cfg = SynthConfig(session=(34200.0, 34320.0))                 # a two-minute synthetic day
    >>> day = simulate(seed=1, levels=5, config=cfg)
    >>> data = SimpleNamespace(events=to_events(day.messages), book=day.orderbook,
    ...                        instrument=instrument(cfg, levels=5))
    >>> ts = build_training_set(data, horizon="5s", warmup="10s")
    >>> len(ts), ts.y.value_counts().sort_index().to_dict(), ts.label["kind"]
    (105, {0: 76, 1: 29}, 'fixed_horizon')
    >>> bool((ts.t_end >= ts.t).all()), "vol_imb_10" in ts.dropped       # a 5-level book has no level 10
    (True, True)
    """
    from companion.features import compute

    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}, not {label!r}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    day = load_data(data)
    ev, book, inst = day.events, day.book, day.instrument
    tick = float(inst.tick) if inst is not None else 1.0
    feats = compute(ev, book, inst, grid=grid, features=features, config=config)
    if len(feats) and warmup:
        feats = feats.loc[feats.index >= feats.index[0] + pd.Timedelta(warmup)]
    mid = mid_series(ev, book, inst)
    if label == "fixed":
        lab = L.fixed_horizon_labels(mid, horizon, threshold=threshold, unit=unit, tick=tick, samples=feats.index)
    else:
        if not threshold > 0:
            raise ValueError("triple_barrier labels need threshold > 0 (the barrier distance)")
        lab = L.triple_barrier_labels(mid, pt=threshold, sl=threshold, horizon=horizon, unit=unit, tick=tick,
                                      samples=feats.index)
    X = feats.loc[lab.index]
    ret = lab["ret"].to_numpy(np.float64)
    y, keep = make_target(ret, lab["label"].to_numpy(), target, threshold)
    X, lab, y, ret = X.loc[keep], lab.loc[keep], y[keep], ret[keep]
    dropped = {}
    if len(X):
        nan_share = X.isna().mean()
        for c in X.columns:
            col = X[c]
            if nan_share[c] > max_nan_share:
                dropped[c] = f"undefined on {nan_share[c]:.0%} of rows"
            elif col.nunique(dropna=True) <= 1:
                dropped[c] = "constant"
        X = X.drop(columns=list(dropped))
    definition = {**lab.attrs.get("label", {}), "target": target, "grid": str(grid), "warmup": str(warmup),
                  "horizon": str(horizon)}
    return TrainingSet(X=X, y=pd.Series(y, index=X.index, name="y"),
                       t_end=pd.Series(lab["t_end"].to_numpy(), index=X.index, name="t_end"),
                       ret=pd.Series(ret, index=X.index, name="ret"), label=definition, instrument=inst,
                       dropped=dropped)


__all__ = ["TrainingSet", "build_training_set", "mid_series", "load_data", "make_target", "TARGETS", "LABELS"]


#: scale-free order-flow, imbalance, spread and queue-activity features (the course's default
#: model inputs): levels such as depth in shares, volume counts, momentum, VWAP distance and time
#: of day drift through the day and let a tree learn one period's regime, which fails out of sample
FLOW_PREFIXES = ("ofi_", "vol_imb_", "dw_imb", "ocount_imb_", "composite_imb", "microprice_dev", "trade_imb_",
                 "spread_", "add_rate", "cancel_rate", "exec_rate")

#: LightGBM settings of the course's classifiers on a 1-s grid of one day (shallow, regularised
#: trees: the signal is a few points above chance and the labels overlap)
MODEL_PARAMS = dict(learning_rate=0.05, num_leaves=15, max_depth=4, min_child_samples=200, colsample_bytree=0.7)


def flow_feature_names(columns=None) -> list[str]:
    """Registered (or the given) feature names that start with one of :data:`FLOW_PREFIXES`.

    Examples
    --------
    >>> flow_feature_names(["ofi_1s", "depth_total_1", "spread_ticks", "vol_imb_1"])
    ['ofi_1s', 'spread_ticks', 'vol_imb_1']
    """
    if columns is None:
        from companion.features import feature_names

        columns = feature_names()
    return [c for c in columns if str(c).startswith(FLOW_PREFIXES)]


__all__ += ["FLOW_PREFIXES", "MODEL_PARAMS", "flow_feature_names"]
