"""Numbered figures and exercises, cross-references and glossary links in a real browser
(issue 15, items 3 and 5).

Serves ``_build/html`` on 127.0.0.1, opens every chapter page (and the intro) in headless
Chromium over the Chrome DevTools Protocol (:mod:`tests.browser.cdp`) and reads the rendered
DOM. For each chapter ``chapters/NN_name``:

* every figure has a caption numbered ``Figure NN.1``, ``Figure NN.2``, ... in page order, a
  ``name`` (an HTML id to link to) and an image whose ``alt`` text describes it, and every image
  a code cell draws is such a figure (the cell header carries
  ``mystnb={"figure": {"caption": ..., "name": ...}, "image": {"alt": ...}}``);
* every exercise is titled ``Exercise NN.1``, ``Exercise NN.2``, ... in page order and has an id;
* every figure / exercise reference in the text (``{numref}``: "Figure 2.2", "exercise 6.1")
  is a link whose target element exists on the target page, and the link's number is the
  target's number; and no "Figure N.M" / "Exercise N.M" is left in the prose as plain text;
* the page ends with a "Key takeaways" box.

Across the chapters, every term of the glossary page is linked at least once (``{term}``), and
every glossary link of a chapter points to a term that exists.

Console errors are checked on every page by ``test_book_browser.py::test_no_console_errors``.

Needs the book built (``jupyter-book build . -W -n --keep-going``) and Chromium
(``tools/ensure_chromium.sh``). Run: ``.venv/bin/python -m pytest -q -m browser tests/browser``.
"""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest

from .cdp import ENSURE_HINT, CDPConnection, Chromium, find_chromium, serve_directory

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("[0-9][0-9]_*.py"))
GLOSSARY = "book/glossary"
#: pages outside chapters/ whose figures are numbered 1, 2, ... (no chapter prefix)
OTHER_PAGES = ("book/intro", "book/how_to_use")
LOAD_TIMEOUT = 30.0
MIN_ALT = 20  # characters: an alt text that describes the figure, not a file name

REF_TEXT = re.compile(r"^(Figure|Exercise|figure|exercise) (\d+(?:\.\d+)?)$")
PLAIN_REF = re.compile(r"\b(?:Figures?|Exercises?|exercises?) \d+\.\d+")

_INSPECT_JS = r"""
(() => {
  const main = document.querySelector('article.bd-article') || document.querySelector('main')
    || document.body;
  const num = el => {
    const c = el && el.querySelector('.caption-number');
    return c ? c.textContent.replace(/\s+/g, ' ').trim() : '';
  };
  const figures = Array.from(main.querySelectorAll('figure')).map(f => {
    const img = f.querySelector('img');
    return {id: f.id || (f.querySelector('[id]') || {}).id || '', number: num(f),
            alt: img ? (img.getAttribute('alt') || '') : null,
            src: img ? img.getAttribute('src') : null};
  });
  // an image drawn by a code cell must be a numbered figure (cell metadata mystnb.figure)
  const bare = Array.from(main.querySelectorAll('.cell_output img')).filter(
      i => !i.closest('figure')).map(i => i.getAttribute('alt') || i.getAttribute('src'));
  const exercises = Array.from(main.querySelectorAll('div.exercise')).map(e => ({
    id: e.id, number: num(e)}));
  const refs = Array.from(main.querySelectorAll('a.reference.internal')).filter(
      a => a.querySelector('span.std-numref') || a.querySelector('span.std-ref')).map(a => ({
    text: a.textContent.replace(/\s+/g, ' ').trim(), href: a.href}));
  const terms = Array.from(main.querySelectorAll('a.reference.internal')).filter(
      a => a.querySelector('span.std-term')).map(a => a.href);
  // prose only: drop code, captions, titles, links and math before reading the text
  const clone = main.cloneNode(true);
  clone.querySelectorAll('pre, code, .caption-number, .admonition-title, a, mjx-container, '
                         + '.math, .cell_output, .headerlink, script, style').forEach(x => x.remove());
  const prose = clone.textContent.replace(/\s+/g, ' ');
  const ids = Array.from(document.querySelectorAll('[id]')).map(e => e.id);
  const admonitions = Array.from(main.querySelectorAll('div.admonition')).map(
      a => (a.querySelector('.admonition-title') || {textContent: ''}).textContent.trim());
  const glossary = Array.from(main.querySelectorAll('dl.glossary dt[id]')).map(
      dt => ({id: dt.id, term: dt.textContent.replace(/[¶#]/g, '').trim()}));
  return {url: location.href, figures, bare, exercises, refs, terms, prose, ids, admonitions, glossary};
})()
"""


class Browser:
    """One headless Chromium tab: open a page, wait for its load event, return the DOM facts."""

    def __init__(self, conn: CDPConnection, session: str) -> None:
        self.conn, self.session = conn, session
        self.cache: dict[str, dict[str, Any]] = {}

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.conn.send(method, params, session_id=self.session, timeout=LOAD_TIMEOUT)

    def page(self, url: str) -> dict[str, Any]:
        url = urldefrag(url).url
        if url not in self.cache:
            self.conn.drain_events()
            nav = self.send("Page.navigate", {"url": url})
            assert not nav.get("errorText"), f"{url}: {nav['errorText']}"
            self.conn.wait_event(lambda e: e.get("sessionId") == self.session
                                 and e["method"] == "Page.loadEventFired",
                                 timeout=LOAD_TIMEOUT, what=f"{url} to load")
            res = self.send("Runtime.evaluate", {"expression": _INSPECT_JS, "returnByValue": True})
            assert "exceptionDetails" not in res, f"{url}: {res['exceptionDetails']}"
            self.cache[url] = res["result"]["value"]
        return self.cache[url]


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML}/index.html not found: build the book first "
                    "(jupyter-book build . -W -n --keep-going)", pytrace=False)
    with serve_directory(HTML) as url:
        yield url


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Browser]:
    exe = find_chromium()
    if exe is None:
        pytest.fail(f"Chromium not found: {ENSURE_HINT}", pytrace=False)
    chromium = Chromium(exe, window=(1400, 900))
    conn: CDPConnection | None = None
    try:
        conn = CDPConnection(chromium.ws_url)
        target = conn.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = conn.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        conn.send("Page.enable", session_id=session)
        yield Browser(conn, session)
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.send("Browser.close", timeout=3)
            conn.close()
        chromium.stop()


def _chapter_number(page: str) -> int:
    return int(Path(page).name[:2])


def _numbers(items: list[dict[str, Any]], kind: str, prefix: str) -> list[str]:
    """Problems with the captions ``<kind> <prefix>1``, ``<kind> <prefix>2``, ... in page order."""
    problems = []
    for k, it in enumerate(items, start=1):
        want = f"{kind} {prefix}{k}"
        if it["number"] != want:
            problems.append(f"{kind.lower()} #{k} ({it['id'] or 'no id'}) is numbered "
                            f"{it['number']!r}, expected {want!r}")
        if not it["id"]:
            problems.append(f"{want} has no id to link to")
    return problems


def test_chapters_found() -> None:
    assert len(CHAPTERS) >= 12, CHAPTERS


@pytest.mark.parametrize("page", [*(f"chapters/{c}" for c in CHAPTERS), *OTHER_PAGES])
def test_numbering_and_references(page: str, browser: Browser, site: str) -> None:
    url = urljoin(site, f"{page}.html")
    d = browser.page(url)
    prefix = f"{_chapter_number(page)}." if page.startswith("chapters/") else ""
    problems = _numbers(d["figures"], "Figure", prefix) + _numbers(d["exercises"], "Exercise", prefix)
    problems += [f"a code cell draws an image that is not a numbered figure (add "
                 f"mystnb={{\"figure\": ...}} to its cell header): {b}" for b in d["bare"]]
    for f in d["figures"]:
        if f["alt"] is None:
            problems.append(f"figure {f['number']} has no image")
        elif len(f["alt"].strip()) < MIN_ALT or f["alt"].strip() == Path(f["src"] or "").name:
            problems.append(f"figure {f['number']}: alt text {f['alt']!r} does not describe it")
    # every figure / exercise reference resolves to an element with that number
    for ref in d["refs"]:
        m = REF_TEXT.match(ref["text"])
        if not m:
            continue  # a {ref} to a section or a chapter: checked by Sphinx (-n) and test_book_browser
        target_url, frag = urldefrag(ref["href"])
        if not frag:
            problems.append(f"reference {ref['text']!r} links to {ref['href']} without an anchor")
            continue
        target = d if urldefrag(url).url == target_url else browser.page(target_url)
        if frag not in target["ids"]:
            problems.append(f"reference {ref['text']!r} -> #{frag}: no such anchor on {target_url}")
            continue
        kind = m.group(1).capitalize()
        items = target["figures"] if kind == "Figure" else target["exercises"]
        numbered = {it["id"]: it["number"] for it in items}
        if numbered.get(frag) != f"{kind} {m.group(2)}":
            problems.append(f"reference {ref['text']!r} -> #{frag} is {numbered.get(frag)!r}")
    plain = sorted(set(PLAIN_REF.findall(d["prose"])))
    if plain:
        problems.append(f"references left as plain text (use {{numref}}): {plain}")
    if page.startswith("chapters/") and "Key takeaways" not in d["admonitions"]:
        problems.append("no 'Key takeaways' box")
    assert not problems, f"{page}.html:\n  " + "\n  ".join(problems)


def test_every_glossary_term_is_linked_from_a_chapter(browser: Browser, site: str) -> None:
    glossary_url = urljoin(site, f"{GLOSSARY}.html")
    terms = {t["id"]: t["term"] for t in browser.page(glossary_url)["glossary"]}
    assert len(terms) >= 60, f"the glossary lists only {len(terms)} terms"
    linked: dict[str, set[str]] = {}
    dangling = []
    for c in CHAPTERS:
        for href in browser.page(urljoin(site, f"chapters/{c}.html"))["terms"]:
            target, frag = urldefrag(href)
            if target != glossary_url or frag not in terms:
                dangling.append(f"{c}: {href}")
            linked.setdefault(frag, set()).add(c)
    assert not dangling, "glossary links to no term:\n  " + "\n  ".join(dangling)
    unlinked = sorted(terms[i] for i in terms if i not in linked)
    assert not unlinked, f"{len(unlinked)} glossary term(s) linked from no chapter: {unlinked}"
