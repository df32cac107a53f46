"""Each chapters/NN_name.ipynb holds exactly the cells of its NN_name.py (compared by content)."""
from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

CHAPTERS = Path(__file__).resolve().parents[2] / "chapters"
PY = sorted(CHAPTERS.glob("[0-9][0-9]_*.py"))


def _cells(nb):
    return [(c.cell_type, c.source.strip(), tuple(c.metadata.get("tags", []))) for c in nb.cells]


def test_every_chapter_is_a_pair():
    pys = {p.stem for p in PY}
    nbs = {p.stem for p in CHAPTERS.glob("[0-9][0-9]_*.ipynb")}
    assert pys, "no chapters found"
    assert pys == nbs, f"unpaired: py only {sorted(pys - nbs)}, ipynb only {sorted(nbs - pys)}"


@pytest.mark.parametrize("py", PY, ids=[p.stem for p in PY])
def test_ipynb_cells_equal_py(py: Path):
    text_nb = jupytext.read(py)
    ipynb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    a, b = _cells(text_nb), _cells(ipynb)
    assert len(a) == len(b), f"{py.name}: {len(a)} cells in .py, {len(b)} in .ipynb — re-run make book"
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, f"{py.name}: cell {i} differs between .py and .ipynb — re-run make book"


@pytest.mark.parametrize("py", PY, ids=[p.stem for p in PY])
def test_notebook_is_executed_and_clean(py: Path):
    ipynb = nbformat.read(py.with_suffix(".ipynb"), as_version=4)
    code = [c for c in ipynb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), "committed notebook is not executed"
    assert "papermill" not in ipynb.metadata, "volatile papermill metadata left in the notebook"
    assert not any(c.metadata.get("tags") and "injected-parameters" in c.metadata["tags"] for c in code), \
        "a smoke run (with injected parameters) was committed instead of the default run"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "each chapter has exactly one `parameters` cell"
    raw = py.with_suffix(".ipynb").read_text()
    assert not re.search(r"/(root|home|work|tmp)/", raw), "absolute paths leaked into the outputs"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, "committed notebook contains an error output"


@pytest.mark.parametrize("py", PY, ids=[p.stem for p in PY])
def test_chapter_has_exercises_with_solutions(py: Path):
    """Every chapter ends with at least three exercises, each with a (hidden) solution."""
    text = py.read_text()
    labels = re.findall(r"```\{exercise\}\s*\n#\s*:label:\s*(\S+)", text)
    solved = set(re.findall(r"```\{solution-start\}\s+(\S+)", text))
    assert len(labels) >= 3, f"{py.name}: {len(labels)} exercises"
    assert set(labels) <= solved, f"{py.name}: exercises without a solution: {sorted(set(labels) - solved)}"
    assert text.count("{solution-start}") == text.count("{solution-end}")
