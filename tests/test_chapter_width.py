"""Static half of "no hidden results" (issue 15.2): nothing in a chapter is wider than the code
column of the book, which holds 88 monospace characters at a 1400 px window (measured in headless
Chromium: 748 px of 8.43 px characters), 86 inside an exercise's solution (a dropdown, indented
by 22 px). The browser test tests/browser/test_overflow.py measures
the rendered pages (tables included); this test needs no build and names the line to fix:

* every code line of a code cell of ``chapters/NN_name.py`` (comments included; markdown cells
  are prose, wrapped by the browser);
* every printed line (stream output, or ``text/plain`` of a result without an HTML form) of the
  committed ``chapters/NN_name.ipynb``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py"))
WIDTH = 88
SOLUTION_WIDTH = 86   # code and output inside a {solution-start} ... {solution-end} dropdown


def _solution_state(markdown: str, inside: bool) -> bool:
    """Whether the cells after this markdown cell are inside a solution dropdown."""
    for line in markdown.splitlines():
        if "{solution-start}" in line:
            inside = True
        elif "{solution-end}" in line:
            inside = False
    return inside


def code_lines(py: Path) -> list[tuple[int, str, int]]:
    """(line number, text, allowed width) of every line inside a code cell of a py:percent
    file."""
    out, in_code, in_header, in_solution = [], False, False, False
    for n, line in enumerate(py.read_text(encoding="utf-8").splitlines(), 1):
        if n == 1 and line.startswith("# ---"):
            in_header = True
            continue
        if in_header:
            in_header = not line.startswith("# ---")
            continue
        if line.startswith("# %%"):
            in_code = "[markdown]" not in line
            continue
        if in_code:
            out.append((n, line, SOLUTION_WIDTH if in_solution else WIDTH))
        else:
            in_solution = _solution_state(line, in_solution)
    return out


def printed_lines(ipynb: Path) -> list[tuple[int, str, int]]:
    """(code cell number, text, allowed width) of every printed line of a notebook's
    outputs."""
    nb = json.loads(ipynb.read_text(encoding="utf-8"))
    out, i, in_solution = [], 0, False
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            in_solution = _solution_state("".join(cell["source"]), in_solution)
            continue
        if cell["cell_type"] != "code":
            continue
        i += 1
        width = SOLUTION_WIDTH if in_solution else WIDTH
        for o in cell.get("outputs", []):
            if o["output_type"] == "stream":
                text = "".join(o["text"])
            elif "data" in o and "text/plain" in o["data"] and not (
                    {"text/html", "image/png", "image/svg+xml"} & set(o["data"])):
                text = "".join(o["data"]["text/plain"])
            else:
                continue
            out += [(i, line, width) for line in text.splitlines()]
    return out


def test_chapters_found():
    assert len(CHAPTERS) >= 12


def test_code_line_counter_sees_code_only(tmp_path):
    py = tmp_path / "01_x.py"
    py.write_text("# ---\n# jupyter: x\n# ---\n\n# %% [markdown]\n# " + "m" * 100
                  + "\n\n# %%\nx = 1\n" + "y" * 100 + "\n\n# %% [markdown]\n"
                  "# ```{solution-start} ex-1\n\n# %%\n" + "z" * 87 + "\n", encoding="utf-8")
    lines = code_lines(py)
    assert [n for n, _, _ in lines] == [9, 10, 11, 16]
    assert [n for n, text, width in lines if len(text) > width] == [10, 16]


@pytest.mark.parametrize("py", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_column(py: Path):
    long = [f"{py.name}:{n}: {text[:60]!r} ({len(text)} > {width} chars)"
            for n, text, width in code_lines(py) if len(text) > width]
    assert not long, "code lines wider than the code column:\n  " + "\n  ".join(long)


@pytest.mark.parametrize("py", CHAPTERS, ids=lambda p: p.stem)
def test_printed_lines_fit_the_column(py: Path):
    ipynb = py.with_suffix(".ipynb")
    if not ipynb.exists():
        pytest.skip(f"{ipynb.name} not executed")
    long = [f"{ipynb.name} code cell {i}: {text[:60]!r} ({len(text)} > {width} chars)"
            for i, text, width in printed_lines(ipynb) if len(text) > width]
    assert not long, ("printed lines wider than the code column (wrap the print or "
                      "tabulate):\n  " + "\n  ".join(long))
