"""Save and load fitted models as LightGBM text + JSON metadata. Never pickle.

``save_model(model, "dir/name")`` writes ``dir/name.txt`` (``Booster.save_model``: the trees in
LightGBM's text format, thresholds and leaf values printed with round-trip precision) and
``dir/name.json``: estimator class and parameters, classes, feature names, the sha256 of the
training data and of the model text, the label definition, companion and LightGBM versions.
:func:`load_model` checks the model file against its recorded hash and rebuilds the estimator,
whose predictions are identical to the saved one's.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from companion.models.sidecar import FORMAT, model_stem, read_metadata


def data_sha256(X, y=None) -> str:
    """sha256 of a training set: column names, index (as int64 ns or strings), float64 values,
    and ``y``; independent of memory layout.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"x": [1.0, 2.0]})
    >>> data_sha256(X)[:16]
    '126dbeb343b15488'
    >>> a = np.arange(6.0).reshape(3, 2)
    >>> data_sha256(a) == data_sha256(np.asfortranarray(a))          # layout does not matter
    True
    """
    h = hashlib.sha256()
    if isinstance(X, pd.DataFrame):
        h.update(json.dumps([str(c) for c in X.columns]).encode())
        idx = X.index
        if isinstance(idx, (pd.DatetimeIndex, pd.TimedeltaIndex)):
            h.update(np.ascontiguousarray(idx.as_unit("ns").asi8).tobytes())
        else:
            h.update(json.dumps([str(v) for v in idx]).encode())
        values = X.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(X, dtype=np.float64)
    h.update(str(values.shape).encode())
    h.update(np.ascontiguousarray(values).tobytes())
    if y is not None:
        ya = np.asarray(y)
        h.update(str(ya.dtype.kind).encode())
        h.update(np.ascontiguousarray(ya.astype(np.float64) if ya.dtype.kind in "biuf" else ya.astype(str)).tobytes())
    return h.hexdigest()


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    return v


def save_model(model, path: str | Path, *, label: dict | None = None, X=None, y=None,
               data_hash: str | None = None) -> tuple[Path, Path]:
    """Write ``<path>.txt`` and ``<path>.json``; returns both paths.

    ``label``: the label definition (e.g. ``labels_df.attrs['label']``); ``X``/``y``: the training
    data, hashed with :func:`data_sha256` (or pass ``data_hash``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from companion.models.train import DirectionClassifier
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ofi": rng.normal(size=400), "noise": rng.normal(size=400)},
    ...                  index=pd.Index(np.arange(400) * 10**9, name="ts"))       # one sample a second
    >>> y = np.where(X["ofi"] + 0.5 * rng.normal(size=400) > 0, 1, -1)           # the OFI carries the label
    >>> m = DirectionClassifier(n_estimators=20, min_child_samples=10).fit(X, y)
    >>> txt, meta = save_model(m, pathlib.Path(tempfile.mkdtemp()) / "clf", X=X, y=y)
    >>> txt.name, meta.name
    ('clf.txt', 'clf.json')
    """
    import lightgbm

    import companion
    from companion.models.train import DirectionClassifier, MoveRegressor

    if not isinstance(model, (DirectionClassifier, MoveRegressor)) or not hasattr(model, "booster_"):
        raise TypeError("save_model takes a fitted DirectionClassifier or MoveRegressor")
    stem = model_stem(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    txt, meta_path = stem.with_suffix(".txt"), stem.with_suffix(".json")
    model.booster_.save_model(str(txt))
    if data_hash is None and X is not None:
        data_hash = data_sha256(X, y)
    meta = {
        "format": FORMAT,
        "estimator": type(model).__name__,
        "params": {k: _jsonable(v) for k, v in model.get_params().items()},
        "lightgbm_params": model.lgb_params(),
        "classes": _jsonable(model.classes_) if hasattr(model, "classes_") else None,
        "feature_names": [str(f) for f in model.feature_names_in_],
        "data_sha256": data_hash,
        "model_sha256": hashlib.sha256(txt.read_bytes()).hexdigest(),
        "model_file": txt.name,
        "label": {k: _jsonable(v) for k, v in (label or {}).items()},
        "companion_version": companion.__version__,
        "lightgbm_version": lightgbm.__version__,
    }
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n")
    return txt, meta_path


def load_model(path: str | Path):
    """Rebuild the estimator saved by :func:`save_model` (``<path>``, ``.txt`` or ``.json``).
    Raises ValueError when the model text does not match its recorded sha256.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from companion.models.train import DirectionClassifier
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ofi": rng.normal(size=400), "noise": rng.normal(size=400)},
    ...                  index=pd.Index(np.arange(400) * 10**9, name="ts"))       # one sample a second
    >>> y = np.where(X["ofi"] + 0.5 * rng.normal(size=400) > 0, 1, -1)           # the OFI carries the label
    >>> m = DirectionClassifier(n_estimators=20, min_child_samples=10).fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clf"
    >>> _ = save_model(m, path, X=X, y=y, label={"kind": "fixed_horizon"})
    >>> m2 = load_model(path)
    >>> bool((m2.predict_proba(X) == m.predict_proba(X)).all()), m2.metadata_["data_sha256"] == data_sha256(X, y)
    (True, True)
    """
    import lightgbm as lgb

    from companion.models.compiled import CompiledModel
    from companion.models.train import DirectionClassifier, MoveRegressor

    stem = model_stem(path)
    meta_path = stem.with_suffix(".json")
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: model metadata file does not exist")
    meta, txt, text = read_metadata(meta_path)
    cls = {"DirectionClassifier": DirectionClassifier, "MoveRegressor": MoveRegressor}.get(meta["estimator"])
    if cls is None:
        raise ValueError(f"{meta_path}: unknown estimator {meta['estimator']!r}")
    if not isinstance(meta.get("params"), dict):
        raise ValueError(f"{meta_path}: field 'params' missing or not a mapping")
    try:
        model_str = text.decode()
        CompiledModel.from_string(model_str)  # validate indices first: LightGBM aborts on some tampers
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{txt}: {exc}") from None
    try:
        model = cls(**meta["params"])
    except TypeError as exc:
        raise ValueError(f"{meta_path}: bad params ({exc})") from None
    model.booster_ = lgb.Booster(model_str=model_str)
    model.feature_names_in_ = np.array(meta["feature_names"], dtype=object)
    model.n_features_in_ = len(meta["feature_names"])
    if meta["classes"] is not None:
        model.classes_ = np.array(meta["classes"])
    model.metadata_ = meta
    return model
