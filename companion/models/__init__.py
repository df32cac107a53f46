"""Model training and validation: purged walk-forward CV, LightGBM estimators, evaluation, I/O.

``cv`` and ``metrics`` need only numpy / scipy; the rest imports LightGBM and scikit-learn
(the ``ml`` extra) on first use.
"""
from __future__ import annotations

from companion.models.cv import PurgedKFold, PurgedWalkForward

_LAZY = {
    "DirectionClassifier": "companion.models.train",
    "MoveRegressor": "companion.models.train",
    "walk_forward_evaluate": "companion.models.evaluate",
    "leakage_audit": "companion.models.evaluate",
    "direction_score": "companion.models.evaluate",
    "WalkForwardResult": "companion.models.evaluate",
    "save_model": "companion.models.io",
    "load_model": "companion.models.io",
    "data_sha256": "companion.models.io",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'companion.models' has no attribute {name!r}")


__all__ = ["PurgedWalkForward", "PurgedKFold", *_LAZY]
