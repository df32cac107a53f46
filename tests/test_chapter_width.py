"""Static half of "no hidden results" (issue 15.2): nothing in a chapter is wider than the code
column of the book, which holds 88 monospace characters at a 1400 px window (measured in headless
Chromium: 748 px of 8.43 px characters). The browser test tests/browser/test_overflow.py measures
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


def code_lines(py: Path) -> list[tuple[int, str]]:
    """(line number, text) of every line inside a code cell of a py:percent file."""
    out, in_code, in_header = [], False, False
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
            out.append((n, line))
    return out


def printed_lines(ipynb: Path) -> list[tuple[int, str]]:
    """(code cell number, text) of every printed line of a notebook's outputs."""
    nb = json.loads(ipynb.read_text(encoding="utf-8"))
    out = []
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for i, cell in enumerate(code, 1):
        for o in cell.get("outputs", []):
            if o["output_type"] == "stream":
                text = "".join(o["text"])
            elif "data" in o and "text/plain" in o["data"] and not (
                    {"text/html", "image/png", "image/svg+xml"} & set(o["data"])):
                text = "".join(o["data"]["text/plain"])
            else:
                continue
            out += [(i, line) for line in text.splitlines()]
    return out


def test_chapters_found():
    assert len(CHAPTERS) >= 12


def test_code_line_counter_sees_code_only(tmp_path):
    py = tmp_path / "01_x.py"
    py.write_text("# ---\n# jupyter: x\n# ---\n\n# %% [markdown]\n# " + "m" * 100
                  + "\n\n# %%\nx = 1\n" + "y" * 100 + "\n", encoding="utf-8")
    lines = code_lines(py)
    assert [n for n, _ in lines] == [9, 10]
    assert [n for n, text in lines if len(text) > WIDTH] == [10]


@pytest.mark.parametrize("py", CHAPTERS, ids=lambda p: p.stem)
def test_code_lines_fit_the_column(py: Path):
    long = [f"{py.name}:{n}: {text[:60]!r} ({len(text)} chars)"
            for n, text in code_lines(py) if len(text) > WIDTH]
    assert not long, f"code lines wider than {WIDTH} characters:\n  " + "\n  ".join(long)


@pytest.mark.parametrize("py", CHAPTERS, ids=lambda p: p.stem)
def test_printed_lines_fit_the_column(py: Path):
    ipynb = py.with_suffix(".ipynb")
    if not ipynb.exists():
        pytest.skip(f"{ipynb.name} not executed")
    long = [f"{ipynb.name} code cell {i}: {text[:60]!r} ({len(text)} chars)"
            for i, text in printed_lines(ipynb) if len(text) > WIDTH]
    assert not long, (f"printed lines wider than {WIDTH} characters (wrap the print or "
                      "tabulate):\n  " + "\n  ".join(long))
