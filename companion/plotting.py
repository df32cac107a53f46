"""The course's figure style, shared by every chapter."""
from __future__ import annotations

from pathlib import Path

import matplotlib as mpl

_RC = Path(__file__).resolve().parents[1] / "matplotlibrc"


def use_course_style() -> None:
    """Apply the repository's ``matplotlibrc`` (one style for every figure in the book).

    The backend is left alone, so figures still show inline in Jupyter.
    """
    if _RC.exists():
        mpl.rc_file(_RC, use_default_template=False)
