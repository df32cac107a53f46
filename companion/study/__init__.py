"""Per-ticker-day studies over many days and tickers, serially or on Dask distributed.

* :mod:`companion.study.runner` -- :func:`run_study` (LocalCluster / existing scheduler / serial),
  failure handling, :class:`StudyResult`;
* :mod:`companion.study.studies` -- the per-day functions (``ofi``, ``features``, ``train``,
  ``backtest``, ``crossimpact``) and their defaults;
* :mod:`companion.study.stats` -- cross-day means with confidence intervals, paired tests.
"""
from __future__ import annotations

from companion.study.runner import STUDIES, StudyError, StudyResult, day_units, run_study, write_result
from companion.study.stats import mean_ci, paired_test
from companion.study.studies import DEFAULTS

__all__ = [
    "DEFAULTS",
    "STUDIES",
    "StudyError",
    "StudyResult",
    "clean_json",
    "day_units",
    "mean_ci",
    "paired_test",
    "run_study",
    "write_result",
]


def clean_json(obj):
    """``obj`` with NaN/inf floats as None and numpy scalars as Python numbers (strict JSON).

    Examples
    --------
    >>> clean_json({"a": float("nan"), "b": [1.5, float("inf")]})
    {'a': None, 'b': [1.5, None]}
    """
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): clean_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean_json(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
