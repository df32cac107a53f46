"""The course's figure style and small plotting helpers shared by the chapters."""
from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

_RC = Path(__file__).resolve().parents[1] / "matplotlibrc"


def use_course_style() -> None:
    """Apply the repository's ``matplotlibrc`` (one style for every figure in the book)."""
    if _RC.exists():
        mpl.rc_file(_RC)
    mpl.use("Agg") if mpl.get_backend().lower() == "agg" else None
