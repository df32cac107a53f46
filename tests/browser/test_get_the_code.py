"""A reader with only the website can run a chapter (issue 15, item 1; book/get_the_code.md).

Serves ``_build/html`` on 127.0.0.1 and follows the "Get the code" page: every download it links
(wheel, chapter notebooks, LOBSTER downloader) answers 200; then the wheel and one chapter
notebook are downloaded over HTTP, the wheel is installed into a fresh venv and the notebook is
run there with papermill.

Why the venv sees the shared environment's packages: installing the wheel's dependencies
(numba, llvmlite, pandas, scipy, matplotlib) and papermill/ipykernel from PyPI takes minutes and
needs the network, and ``--system-site-packages`` does not help when this interpreter is itself a
venv (it exposes the *base* Python's site-packages, not this venv's). So the new venv gets a
``.pth`` line naming this interpreter's site-packages, which is appended to ``sys.path`` *after*
the new venv's own site-packages. The wheel is installed with ``--no-index --no-deps
--ignore-installed`` into the new venv (this environment's editable ``companion`` must not count
as installed), then ``pip check`` in the new venv verifies that the wheel's declared
dependencies are satisfied, and the test asserts that ``companion`` (and the notebook's kernel)
import the wheel's copy, not the repository's. ``PYTHONPATH`` is cleared for every child process.

Needs the book built with the wheel (``make html``: jupyter-book build, then
``pip wheel --no-deps --no-build-isolation -w _build/html/_downloads .``).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cdp import serve_directory

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
PAGE = "book/get_the_code.html"
CHAPTER = "01_order_book_data.ipynb"
#: papermill parameters of the run: a short slice of the default synthetic day
PARAMS = ["-p", "MAX_EVENTS", "20000"]


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    if not (HTML / PAGE).is_file():
        pytest.fail(f"{HTML / PAGE} not found: build the book first (make html)", pytrace=False)
    with serve_directory(HTML) as url:
        yield url


def _get(url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as resp:
        assert resp.status == 200, f"{url}: HTTP {resp.status}"
        return resp.read()


def _download_links(site: str) -> dict[str, str]:
    """file name -> absolute URL of every download link of the Get-the-code page."""
    html = _get(site + PAGE).decode("utf-8")
    hrefs = re.findall(r'<a class="reference download" href="([^"]+)"', html)
    base = site + PAGE.rsplit("/", 1)[0] + "/"
    return {h.rsplit("/", 1)[-1]: urllib.request.urljoin(base, h) for h in hrefs}


def test_page_links_every_download(site: str) -> None:
    links = _download_links(site)
    wheels = [n for n in links if n.endswith(".whl")]
    notebooks = sorted(n for n in links if n.endswith(".ipynb"))
    chapters = sorted(p.name for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    assert len(wheels) == 1, f"expected one wheel link, got {wheels}"
    assert notebooks == chapters, f"notebook links {notebooks} != chapters {chapters}"
    assert "get_lobster_sample.py" in links
    for name, url in links.items():
        assert len(_get(url)) > 0, f"{name}: empty download"


def _run(cmd: list[str], env: dict[str, str], timeout: float, cwd: Path) -> str:
    """Run in ``cwd`` (never the repository root: ``python -c`` puts the working directory first
    on sys.path, and the repository's own ``companion/`` folder would shadow the wheel)."""
    proc = subprocess.run(cmd, check=False, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{' '.join(map(str, cmd))} -> rc {proc.returncode}\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def test_wheel_runs_downloaded_chapter(site: str, tmp_path: Path) -> None:
    links = _download_links(site)
    wheel = next(n for n in links if n.endswith(".whl"))
    (tmp_path / wheel).write_bytes(_get(links[wheel]))
    (tmp_path / CHAPTER).write_bytes(_get(links[CHAPTER]))

    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    env["JUPYTER_PREFER_ENV_PATH"] = "1"  # the new venv's kernelspec before any user one
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env, 120, tmp_path)
    py = venv / "bin" / "python"
    site_dir = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         env, 60, tmp_path).strip())
    (site_dir / "zz_shared_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    _run([str(py), "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--ignore-installed",
          str(tmp_path / wheel)], env, 300, tmp_path)
    _run([str(py), "-m", "pip", "check"], env, 120, tmp_path)
    probe = "import companion, companion.stats as s; print(companion.__file__); " \
            "print(s.reference_table().shape[1])"
    where = _run([str(py), "-c", probe], env, 120, tmp_path)
    origin, n_samples = where.split()
    assert Path(origin).is_relative_to(site_dir), f"companion imported from {origin}, not the wheel"
    assert int(n_samples) > 0  # package data (companion/reference/*.json) shipped in the wheel

    _run([str(py), "-m", "ipykernel", "install", "--prefix", str(venv), "--name", "python3"],
         env, 120, tmp_path)
    out = tmp_path / "out.ipynb"
    _run([str(py), "-m", "papermill", str(tmp_path / CHAPTER), str(out), "-k", "python3",
          "--cwd", str(tmp_path), "--no-progress-bar", "--execution-timeout", "600", *PARAMS],
         env, 1200, tmp_path)
    nb = json.loads(out.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "a code cell did not run"
    assert not [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    kernel = json.loads((venv / "share/jupyter/kernels/python3/kernel.json").read_text())
    assert Path(kernel["argv"][0]).parent == py.parent, kernel["argv"]
