#!/usr/bin/env python
"""Execute chapters with papermill and write each back as ``chapters/NN_name.ipynb`` (normalised).

The py:percent file is the source of truth: it is converted to a notebook, executed with its
default parameters (or ``-p NAME VALUE`` overrides for smoke runs into ``--out-dir``), and the
volatile metadata papermill adds (timings, injected-parameters cell) is removed, so that a fresh
run differs from the committed notebook only where the numbers really changed.

    python tools/execute_chapters.py chapters/01_order_book_data.py [...]
    python tools/execute_chapters.py --out-dir _executed -p DATA lobster:AAPL:1 chapters/01_*.py
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import jupytext
import nbformat
import papermill as pm

ROOT = Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop papermill's volatile metadata; keep outputs and execution counts."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "id" in cell:
            del cell["id"]
    nb.nbformat, nb.nbformat_minor = 4, 4
    return nb


def execute(py: Path, out: Path, parameters: dict, timeout: int) -> float:
    nb = jupytext.read(py)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / (py.stem + ".ipynb")
        dst = Path(tmp) / (py.stem + ".out.ipynb")
        nbformat.write(nb, src)
        t0 = time.perf_counter()
        pm.execute_notebook(
            str(src), str(dst), parameters=parameters, kernel_name="python3",
            cwd=str(py.parent), execution_timeout=timeout, progress_bar=False,
        )
        elapsed = time.perf_counter() - t0
        done = nbformat.read(dst, as_version=4)
    if not parameters:  # the golden record: the notebook exactly as its .py says
        nbformat.write(normalise(done), out)
    else:
        nbformat.write(normalise(done), out)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="+", type=Path)
    ap.add_argument("--out-dir", type=Path, default=None, help="write here instead of beside the .py")
    ap.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    ap.add_argument("--timeout", type=int, default=900, help="per cell, seconds")
    args = ap.parse_args(argv)
    params = {}
    for k, v in args.p:
        try:
            params[k] = int(v)
        except ValueError:
            params[k] = v
    for py in args.chapters:
        out = (args.out_dir / (py.stem + ".ipynb")) if args.out_dir else py.with_suffix(".ipynb")
        out.parent.mkdir(parents=True, exist_ok=True)
        secs = execute(py, out, params, args.timeout)
        print(f"  executed {py.name} -> {out} in {secs:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
