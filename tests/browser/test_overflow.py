"""No hidden results: nothing in a chapter's code or output cells scrolls sideways (issue 15.2).

Serves the built book (``_build/html``, or ``BOOK_HTML``) on 127.0.0.1, opens every chapter page
of ``_toc.yml`` in headless Chromium at a **1400 px** wide viewport (a laptop screen; the
sphinx-book-theme then shows both sidebars and the code column is at its narrowest desktop
width) and, for every cell of the page, measures

* the code box (``.cell_input pre``), and
* every printed output (``.cell_output > .output`` that is not an image: streams, ``text/plain``
  reprs, HTML tables) and every ``pre`` / ``table`` / ``div`` inside it,

as overflowing when ``scrollWidth > clientWidth + 1`` (1 px tolerance for sub-pixel rounding).
A test per page fails listing the cell number (1-based, in page order), what overflowed (code or
output) and the first 60 characters of the first line that is wider than the box (measured with
the box's own font), unless that (page, cell, kind) is in :data:`EXCEPTIONS` with its reason.

Run ``python -m tests.browser.test_overflow [HTML_DIR]`` to print the counts (and every
offender) without pytest: it is how the before/after figures of issue 15 were measured.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import yaml

from .cdp import ENSURE_HINT, CDPConnection, Chromium, find_chromium, serve_directory

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
TOC = ROOT / "_toc.yml"
VIEWPORT = (1400, 900)   # CSS px, deviceScaleFactor 1
TOLERANCE_PX = 1
SHOW_CHARS = 60
LOAD_TIMEOUT = 20.0      # s
CDP_TIMEOUT = 15.0       # s

#: Allowed overflows: (page, cell number, "code" | "output") -> one-line justification.
#: Empty: every printed line and every code line of the chapters fits the column.
EXCEPTIONS: dict[tuple[str, int, str], str] = {}


def chapter_pages() -> list[str]:
    """Chapter pages of _toc.yml (``chapters/NN_name``), in book order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if key in node and str(node[key]).startswith("chapters/"):
                    found.append(str(Path(str(node[key])).with_suffix("").as_posix()))
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(yaml.safe_load(TOC.read_text(encoding="utf-8")))
    return list(dict.fromkeys(found))


CHAPTERS = chapter_pages()

_MEASURE_JS = """
(async () => {
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
  const TOL = TOLERANCE;
  const canvas = document.createElement('canvas');
  const g = canvas.getContext('2d');
  const over = el => el.scrollWidth > el.clientWidth + TOL;
  // first line of a box wider than the box's inner width, measured in the box's own font
  const firstWide = (box, textEl) => {
    const cs = getComputedStyle(textEl);
    g.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    const bs = getComputedStyle(box);
    const avail = box.clientWidth - parseFloat(bs.paddingLeft) - parseFloat(bs.paddingRight);
    const lines = (textEl.innerText || textEl.textContent).split('\\n');
    for (const l of lines) { if (g.measureText(l).width > avail + TOL) return l; }
    return lines.reduce((a, b) => (b.length > a.length ? b : a), '');
  };
  const rowText = tr => Array.from(tr.cells).map(c => c.textContent.trim()).join(' | ');
  const cells = Array.from(document.querySelectorAll('div.cell'));
  const res = {cells: cells.length, code: 0, outputs: 0, column: 0, offenders: []};
  const col = document.querySelector('.cell_input pre') || document.querySelector('article');
  if (col) { res.column = col.clientWidth; }
  cells.forEach((cell, i) => {
    cell.querySelectorAll('.cell_input pre').forEach(pre => {
      res.code += 1;
      if (over(pre)) {
        res.offenders.push({cell: i + 1, kind: 'code', width: pre.scrollWidth,
                            box: pre.clientWidth, line: firstWide(pre, pre)});
      }
    });
    cell.querySelectorAll('.cell_output > .output').forEach(o => {
      if (o.matches('.image_png, .image_jpeg, .image_svg, .image_svg_xml')
          || (o.querySelector('img') && !o.querySelector('pre, table'))) return;
      res.outputs += 1;
      const boxes = [o, ...o.querySelectorAll('pre, table, div')];
      const bad = boxes.find(over);
      if (!bad) return;
      let line = '';
      const pre = bad.matches('pre') ? bad : bad.querySelector('pre');
      const table = bad.matches('table') ? bad : bad.querySelector('table');
      if (pre) { line = firstWide(bad, pre); }
      else if (table && table.rows.length) { line = rowText(table.rows[0]); }
      else { line = bad.textContent.trim(); }
      res.offenders.push({cell: i + 1, kind: 'output', width: bad.scrollWidth,
                          box: bad.clientWidth, line: line});
    });
  });
  return res;
})()
""".replace("TOLERANCE", str(TOLERANCE_PX))


@dataclass
class Offender:
    page: str
    cell: int
    kind: str    # "code" | "output"
    width: int   # scrollWidth, px
    box: int     # clientWidth, px
    line: str

    def describe(self) -> str:
        text = " ".join(self.line.split())[:SHOW_CHARS]
        return (f"{self.page} cell {self.cell} {self.kind} ({self.width} px in {self.box} px): "
                f"{text!r}")


@dataclass
class PageMeasure:
    page: str
    cells: int
    code: int
    outputs: int
    column: int
    offenders: list[Offender]


class Browser:
    """Headless Chromium with one tab at the test viewport."""

    def __init__(self, base: str) -> None:
        exe = find_chromium()
        if exe is None:
            raise RuntimeError(f"Chromium not found: {ENSURE_HINT}")
        self.base = base
        self.chromium = Chromium(exe, window=VIEWPORT)
        self.conn: CDPConnection | None = None
        try:
            self.conn = CDPConnection(self.chromium.ws_url)
            target = self.conn.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            self.session = self.conn.send("Target.attachToTarget",
                                          {"targetId": target, "flatten": True})["sessionId"]
            self.send("Page.enable")
            self.send("Emulation.setDeviceMetricsOverride",
                      {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1,
                       "mobile": False})
        except BaseException:
            self.close()
            raise

    def send(self, method: str, params: dict[str, Any] | None = None,
             timeout: float = CDP_TIMEOUT) -> dict[str, Any]:
        assert self.conn is not None
        return self.conn.send(method, params, session_id=self.session, timeout=timeout)

    def measure(self, page: str) -> PageMeasure:
        assert self.conn is not None
        self.conn.drain_events()
        nav = self.send("Page.navigate", {"url": urljoin(self.base, f"{page}.html")})
        if nav.get("errorText"):
            raise AssertionError(f"{page}.html: {nav['errorText']}")
        self.conn.wait_event(lambda e: e.get("sessionId") == self.session
                             and e["method"] == "Page.loadEventFired",
                             timeout=LOAD_TIMEOUT, what=f"{page}.html to load")
        time.sleep(0.2)  # late layout (web fonts swapped in after load)
        r = self.send("Runtime.evaluate", {"expression": _MEASURE_JS, "awaitPromise": True,
                                           "returnByValue": True})
        if "exceptionDetails" in r:
            raise AssertionError(f"{page}: measuring script failed: {r['exceptionDetails']}")
        v = r["result"]["value"]
        offenders = [Offender(page, o["cell"], o["kind"], int(o["width"]), int(o["box"]),
                              o["line"]) for o in v["offenders"]]
        return PageMeasure(page, v["cells"], v["code"], v["outputs"], v["column"], offenders)

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):  # the process group is killed next anyway
                self.conn.send("Browser.close", timeout=3)
            self.conn.close()
        self.chromium.stop()


@contextlib.contextmanager
def open_book(html: Path) -> Iterator[Browser]:
    with serve_directory(html) as url:
        b = Browser(url)
        try:
            yield b
        finally:
            b.close()


# ----------------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def book() -> Iterator[Browser]:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML}/index.html not found: run the book build first "
                    "(.venv/bin/jupyter-book build . -W -n --keep-going)", pytrace=False)
    if find_chromium() is None:
        pytest.fail(f"Chromium not found: {ENSURE_HINT}", pytrace=False)
    with open_book(HTML) as b:
        yield b


def test_exceptions_are_justified() -> None:
    for key, why in EXCEPTIONS.items():
        assert key[0] in CHAPTERS and key[2] in ("code", "output"), key
        assert why.strip() and "\n" not in why, f"{key}: one-line justification needed"


@pytest.mark.parametrize("page", CHAPTERS)
def test_no_horizontal_overflow(page: str, book: Browser) -> None:
    m = book.measure(page)
    assert m.cells > 0 and m.code > 0, f"{page}: no code cells found ({m})"
    bad = [o for o in m.offenders if (o.page, o.cell, o.kind) not in EXCEPTIONS]
    assert not bad, (f"{page}.html at {VIEWPORT[0]} px: {len(bad)} box(es) scroll sideways "
                     "(wrap the print, tabulate, or shorten the code line):\n  "
                     + "\n  ".join(o.describe() for o in bad))


def test_measure_detects_overflow(tmp_path: Path) -> None:
    """The measure itself: a wide printed line and a wide code line are caught, short ones not."""
    wide = "x" * 300
    html = f"""<!doctype html><html><body style="width:800px">
<div class="cell"><div class="cell_input"><pre>short = 1</pre></div>
<div class="cell_output"><div class="output stream"><pre>fits</pre></div></div></div>
<div class="cell"><div class="cell_input"><pre>{wide}</pre></div>
<div class="cell_output"><div class="output stream"><pre>ok\n{wide}</pre></div></div></div>
</body></html>"""
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "t.html").write_text(html, encoding="utf-8")
    if find_chromium() is None:
        pytest.fail(f"Chromium not found: {ENSURE_HINT}", pytrace=False)
    with open_book(tmp_path) as b:
        m = b.measure("chapters/t")
    assert (m.cells, m.code, m.outputs) == (2, 2, 2)
    assert [(o.cell, o.kind) for o in m.offenders] == [(2, "code"), (2, "output")]
    assert m.offenders[1].line == wide


# ----------------------------------------------------------------------------------- report
def main(argv: list[str]) -> int:
    html = Path(argv[0]).resolve() if argv else HTML
    tot_code = tot_out = bad_code = bad_out = 0
    with open_book(html) as b:
        for page in CHAPTERS:
            m = b.measure(page)
            c = len({o.cell for o in m.offenders if o.kind == "code"})
            o = sum(1 for x in m.offenders if x.kind == "output")
            tot_code, tot_out, bad_code, bad_out = (tot_code + m.code, tot_out + m.outputs,
                                                    bad_code + c, bad_out + o)
            print(f"{page}: column {m.column} px, code {c}/{m.code}, outputs {o}/{m.outputs}")
            for x in m.offenders:
                print("   ", x.describe())
    print(f"TOTAL: code cells overflowing {bad_code}/{tot_code}, "
          f"printed outputs overflowing {bad_out}/{tot_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
