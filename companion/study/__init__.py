"""Per-ticker-day studies over many days and tickers, serially or on Dask distributed.

* :mod:`companion.study.runner` -- :func:`run_study` (LocalCluster / existing scheduler / serial),
  failure handling, :class:`StudyResult`;
* :mod:`companion.study.studies` -- the per-day functions (``ofi``, ``features``, ``train``,
  ``backtest``, ``crossimpact``) and their defaults;
* :mod:`companion.study.stats` -- cross-day means with confidence intervals, paired tests.
"""
from __future__ import annotations

from companion.study.runner import STUDIES, StudyError, StudyResult, clean_json, day_units, run_study, write_result
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
