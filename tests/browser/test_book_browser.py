"""Real-browser test of the built Jupyter Book (``_build/html``).

Serves ``_build/html`` on 127.0.0.1 (random free port, in a thread), drives headless Chromium over
the Chrome DevTools Protocol (:mod:`tests.browser.cdp`) and, for the landing page and every page of
``_toc.yml``, asserts that

* the page loads with HTTP 200 (the landing page ``index.html`` must redirect to the toc root);
* its ``<title>`` is non-empty and contains the page's first heading (or ``EXPECTED_TITLES``);
* every ``<img>`` has loaded (``complete`` and ``naturalWidth > 0``);
* every sub-resource the page requested (CSS, JS, fonts, images) loaded, none is external
  (the browser can only reach 127.0.0.1: an external request is a book that breaks offline),
  and no uncaught JavaScript exception was thrown;
* nothing was written to the console at level error (``console.error`` calls and the browser's
  own error entries: failed loads, CSP or syntax errors) -- ``test_no_console_errors``;
* math renders with the vendored MathJax (``test_math_renders``);
* every local link (same-origin ``href``; ``#fragment``-only, mailto and external links are
  ignored) answers 200 from the server (unique URLs are requested once, from Python);

and saves a full-page screenshot to ``_build/screenshots/<page>.png``.

Environment: ``BOOK_HTML`` (another html folder; screenshots go beside it), ``CHROMIUM`` (browser).

Needs the book built (``jupyter-book build . -W -n --keep-going``) and Chromium
(``tools/ensure_chromium.sh``). Run: ``.venv/bin/python -m pytest -q -m browser tests/browser``.
"""
from __future__ import annotations

import base64
import contextlib
import os
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
import yaml

from .cdp import ENSURE_HINT, CDPConnection, Chromium, find_chromium, serve_directory

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()  # override: BOOK_HTML
SHOTS = HTML.parent / "screenshots"
TOC = ROOT / "_toc.yml"
SOURCE_SUFFIXES = (".md", ".ipynb", ".rst")

#: Pages whose <title> is not expected to contain their first heading: page -> expected substring.
EXPECTED_TITLES: dict[str, str] = {}
#: URL prefixes of external sub-resources the book may request (they are blocked regardless).
ALLOWED_EXTERNAL_SUBRESOURCES: tuple[str, ...] = ()
#: Known, harmless uncaught JavaScript exceptions (substring match), each with its reason.
#: (The duplicate sphinx-thebe config script that threw "Identifier 'THEBE_JS_URL' has already
#: been declared" on every page is fixed in book/_ext/book_site.py; no exception is known now.)
KNOWN_JS_EXCEPTIONS: dict[str, str] = {}
#: Known, harmless console errors (substring match), each with its reason. Empty: 0 is the rule.
KNOWN_CONSOLE_ERRORS: dict[str, str] = {}
#: Pages with display math: MathJax must typeset it (vendored copy, book/_static/mathjax).
MATH_PAGES = ("book/intro", "chapters/02_ofi_theory")

LOAD_TIMEOUT = 20.0      # s, navigation until the load event of the final document
CDP_TIMEOUT = 15.0       # s, any single DevTools command
IMAGE_TIMEOUT_MS = 10_000
MAX_SHOT_HEIGHT = 16_000  # px, Chromium cannot capture taller surfaces reliably


# ----------------------------------------------------------------------------------- toc pages
def _toc_files(node: Any) -> Iterator[str]:
    """Every ``file:`` (and expanded ``glob:``) entry of a _toc.yml node, in book order."""
    if isinstance(node, dict):
        if "root" in node:
            yield str(node["root"])
        if "file" in node:
            yield str(node["file"])
        if "glob" in node:
            for p in sorted(ROOT.glob(str(node["glob"]))):
                if p.suffix in SOURCE_SUFFIXES:
                    yield p.relative_to(ROOT).as_posix()
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                yield from _toc_files(child)
    elif isinstance(node, list):
        for child in node:
            yield from _toc_files(child)


def toc_pages() -> list[str]:
    """Pages of _toc.yml as html paths without suffix (``book/intro``), root first, unique."""
    toc = yaml.safe_load(TOC.read_text(encoding="utf-8"))
    seen: dict[str, None] = {}
    for f in _toc_files(toc):
        p = Path(f)
        if p.suffix in SOURCE_SUFFIXES:
            p = p.with_suffix("")
        seen.setdefault(p.as_posix(), None)
    return list(seen)


TOC_PAGES = toc_pages()
LANDING = "index"
PAGES = [LANDING, *TOC_PAGES]


# ----------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def book_server() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:<port>/``) of a thread serving _build/html."""
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML}/index.html not found: run the book build first "
                    "(.venv/bin/jupyter-book build . -W -n --keep-going)", pytrace=False)
    with serve_directory(HTML) as url:
        yield url


@pytest.fixture(scope="module")
def browser(book_server: str) -> Iterator[Tab]:
    """One headless Chromium tab (flattened CDP session); Chromium is killed at teardown."""
    exe = find_chromium()
    if exe is None:
        pytest.fail(f"Chromium not found: {ENSURE_HINT}", pytrace=False)
    chromium = Chromium(exe)
    conn: CDPConnection | None = None
    try:
        conn = CDPConnection(chromium.ws_url)
        target = conn.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = conn.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        tab = Tab(conn, session, book_server)
        for domain in ("Page", "Network", "Runtime", "Log"):
            tab.send(f"{domain}.enable")
        tab.send("Network.setCacheDisabled", {"cacheDisabled": False})
        yield tab
    finally:
        if conn is not None:
            with contextlib.suppress(Exception):  # the process group is killed next anyway
                conn.send("Browser.close", timeout=3)
            conn.close()
        chromium.stop()


@pytest.fixture(scope="module")
def reports() -> dict[str, PageReport]:
    """page -> its PageReport: each page is visited once and checked by several tests."""
    return {}


@pytest.fixture(scope="module")
def link_status(book_server: str) -> Iterator[dict[str, int | str]]:
    """Cache url -> HTTP status (or error text) shared by all pages: each URL is requested once."""
    yield {}


# ----------------------------------------------------------------------------------- page driver
@dataclass
class PageReport:
    url: str                      # the URL navigated to
    final_url: str = ""           # after redirects (meta refresh included)
    status: int | None = None     # HTTP status of the final main document
    title: str = ""
    heading: str = ""
    images: list[dict[str, Any]] = field(default_factory=list)
    math: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, str]] = field(default_factory=list)
    failed_resources: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    js_exceptions: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None


_INSPECT_JS = """
(async () => {
  const imgs = Array.from(document.images);
  imgs.forEach(i => { i.loading = 'eager'; });
  const settle = Promise.all(imgs.map(i => (i.complete ? Promise.resolve()
      : new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); }))));
  await Promise.race([settle, new Promise(r => setTimeout(r, WAIT_MS))]);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await Promise.race([MathJax.startup.promise, new Promise(r => setTimeout(r, WAIT_MS))]);
  }
  if (document.fonts && document.fonts.ready) { await document.fonts.ready; }
  const clean = el => {
    if (!el) return '';
    const c = el.cloneNode(true);
    c.querySelectorAll('.headerlink, .toc-backref').forEach(x => x.remove());
    return c.textContent.replace(/\\s+/g, ' ').trim();
  };
  let h = null;
  for (const sel of ['article.bd-article h1', 'main h1', '[role=main] h1', 'h1']) {
    h = document.querySelector(sel); if (h) break;
  }
  return {
    url: location.href,
    title: document.title,
    heading: clean(h),
    images: imgs.map(i => ({src: i.currentSrc || i.src, complete: i.complete,
                            naturalWidth: i.naturalWidth})),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => ({
      raw: a.getAttribute('href'), href: a.href})),
    math: {
      mathjax: !!(window.MathJax && MathJax.startup && MathJax.startup.document),
      containers: document.querySelectorAll('mjx-container').length,
      sized: Array.from(document.querySelectorAll('mjx-container')).filter(
        m => m.getBoundingClientRect().width > 0).length,
      errors: document.querySelectorAll('mjx-merror, .MathJax_Error').length,
      unrendered: document.querySelectorAll('div.math, span.math').length -
        document.querySelectorAll('div.math mjx-container, span.math mjx-container').length,
    },
  };
})()
""".replace("WAIT_MS", str(IMAGE_TIMEOUT_MS))


class Tab:
    """One page target, driven over a flattened CDP session."""

    def __init__(self, conn: CDPConnection, session: str, base: str) -> None:
        self.conn, self.session, self.base = conn, session, base

    def send(self, method: str, params: dict[str, Any] | None = None,
             timeout: float = CDP_TIMEOUT) -> dict[str, Any]:
        return self.conn.send(method, params, session_id=self.session, timeout=timeout)

    def _next_event(self, timeout: float) -> dict[str, Any]:
        return self.conn.wait_event(lambda e: e.get("sessionId") == self.session,
                                    timeout=timeout, what="the page to load")

    def visit(self, url: str, expect_final: str, shot: Path) -> PageReport:
        """Navigate to ``url``; wait for the load event of ``expect_final``; inspect; screenshot."""
        rep = PageReport(url=url)
        self.conn.drain_events()
        nav = self.send("Page.navigate", {"url": url})
        frame = nav["frameId"]
        if nav.get("errorText"):
            rep.failed_resources.append(f"{url} ({nav['errorText']})")
            return rep
        requests: dict[str, dict[str, Any]] = {}
        doc_url = ""
        deadline = time.monotonic() + LOAD_TIMEOUT
        while True:
            ev = self._next_event(max(0.01, deadline - time.monotonic()))
            method, p = ev["method"], ev.get("params", {})
            if method == "Network.requestWillBeSent":
                if p.get("type") == "Document" and p.get("frameId") == frame:
                    requests.clear()  # a new main document: earlier sub-resources are moot
                    rep.external_requests.clear()
                    rep.js_exceptions.clear()
                    rep.console_errors.clear()
                    doc_url = p["request"]["url"]
                req_url = p["request"]["url"]
                requests[p["requestId"]] = {"url": req_url, "type": p.get("type")}
                if not req_url.startswith(self.base) and not req_url.startswith(
                        ("data:", "blob:", "about:")):
                    rep.external_requests.append(req_url)
            elif method == "Network.responseReceived":
                r = requests.setdefault(p["requestId"], {"url": p["response"]["url"]})
                r["status"] = p["response"]["status"]
                if p.get("type") == "Document" and p.get("frameId") == frame:
                    rep.status, doc_url = p["response"]["status"], p["response"]["url"]
            elif method == "Network.loadingFailed":
                r = requests.setdefault(p["requestId"], {"url": "?"})
                r["error"] = p.get("blockedReason") or p.get("errorText", "failed")
            elif method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                rep.js_exceptions.append(
                    (d.get("exception", {}).get("description") or d.get("text", "?")).splitlines()[0])
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                args = p.get("args", [])
                rep.console_errors.append(f"console.{p['type']}: " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in args)[:300])
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                rep.console_errors.append(f"{e.get('source')}: {e.get('text', '')[:300]} "
                                          f"{e.get('url', '')}".strip())
            elif method == "Page.loadEventFired" and doc_url == expect_final:
                break
        info = self.send("Runtime.evaluate", {"expression": _INSPECT_JS, "awaitPromise": True,
                                              "returnByValue": True,
                                              "timeout": IMAGE_TIMEOUT_MS + 5000},
                         timeout=IMAGE_TIMEOUT_MS / 1000 + 10)
        if "exceptionDetails" in info:
            raise AssertionError(f"{url}: page inspection script failed: {info['exceptionDetails']}")
        v = info["result"]["value"]
        rep.final_url, rep.title, rep.heading = v["url"], v["title"], v["heading"]
        rep.images, rep.links, rep.math = v["images"], v["links"], v["math"]
        # events that arrived while inspecting (late fonts, images, MathJax, deferred scripts)
        for ev in self.conn.drain_events():
            p = ev.get("params", {})
            if ev.get("sessionId") != self.session:
                continue
            if ev["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                rep.js_exceptions.append(
                    (d.get("exception", {}).get("description") or d.get("text", "?")).splitlines()[0])
            elif ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                rep.console_errors.append(f"console.{p['type']}: " + " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", []))[:300])
            elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                rep.console_errors.append(f"{e.get('source')}: {e.get('text', '')[:300]} "
                                          f"{e.get('url', '')}".strip())
            if ev["method"] == "Network.responseReceived" and p["requestId"] in requests:
                requests[p["requestId"]]["status"] = p["response"]["status"]
            elif ev["method"] == "Network.loadingFailed" and p["requestId"] in requests:
                requests[p["requestId"]]["error"] = p.get("blockedReason") or p.get("errorText")
        for r in requests.values():
            if r["url"] == doc_url or not r["url"].startswith(self.base):
                continue  # the main document is checked by status; external ones below
            if r["url"] == self.base.rstrip("/") + "/favicon.ico":
                continue  # Chromium's own implicit request (timing-dependent), not one the page made
            if r.get("error") and r["error"] != "net::ERR_ABORTED" or (r.get("status") or 200) >= 400:
                rep.failed_resources.append(f"{r['url']} ({r.get('error') or r.get('status')})")
        rep.external_requests = [u for u in rep.external_requests
                                 if not u.startswith(ALLOWED_EXTERNAL_SUBRESOURCES or ("\0",))]
        rep.screenshot = self.screenshot(shot)
        return rep

    def screenshot(self, path: Path) -> Path:
        """Full-page PNG (``captureBeyondViewport``). No clip unless the page is taller than
        MAX_SHOT_HEIGHT: with a clip, Chromium 156 renders sphinx-book-theme pages shifted."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        if size["height"] > MAX_SHOT_HEIGHT:
            params["clip"] = {"x": 0, "y": 0, "width": max(1, int(size["width"])),
                              "height": MAX_SHOT_HEIGHT, "scale": 1}
        png = self.send("Page.captureScreenshot", params, timeout=30)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(png["data"]))
        return path


def _http_status(url: str) -> int | str:
    """HTTP status of ``url`` (HEAD, then GET if HEAD is refused), never through a proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for method in ("HEAD", "GET"):
        try:
            with opener.open(urllib.request.Request(url, method=method), timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (405, 501):
                continue
            return exc.code
        except (urllib.error.URLError, OSError) as exc:
            return f"error: {exc}"
    return "error: no answer"


def _norm(s: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", s).split())


# ----------------------------------------------------------------------------------- the test
def test_toc_lists_pages() -> None:
    assert TOC_PAGES, f"{TOC.name} lists no pages"


def _expected_final(page: str, book_server: str) -> str:
    # The landing page is a meta-refresh redirect to the toc root.
    return urljoin(book_server, f"{TOC_PAGES[0]}.html" if page == LANDING else f"{page}.html")


def _report(page: str, browser: Tab, book_server: str,
            reports: dict[str, PageReport]) -> PageReport:
    """The page's report, visiting it on first use."""
    if page not in reports:
        reports[page] = browser.visit(urljoin(book_server, f"{page}.html"),
                                      _expected_final(page, book_server), SHOTS / f"{page}.png")
    return reports[page]


@pytest.mark.parametrize("page", PAGES)
def test_page(page: str, browser: Tab, book_server: str, reports: dict[str, PageReport],
              link_status: dict[str, int | str]) -> None:
    url = urljoin(book_server, f"{page}.html")
    expect_final = _expected_final(page, book_server)
    rep = _report(page, browser, book_server, reports)

    problems: list[str] = []
    if rep.status != 200:
        problems.append(f"HTTP status {rep.status} for {rep.final_url or url}")
    if _norm(rep.final_url) != expect_final:
        problems.append(f"ended at {rep.final_url}, expected {expect_final}")
    title, heading = _norm(rep.title), _norm(rep.heading)
    want = EXPECTED_TITLES.get(page, heading)
    if not title:
        problems.append("empty <title>")
    elif not want:
        problems.append("no heading (h1) found and no EXPECTED_TITLES entry")
    elif _norm(want) not in title:
        problems.append(f"<title> {title!r} does not contain the heading {want!r}")
    for img in rep.images:
        if not img["complete"] or img["naturalWidth"] <= 0:
            problems.append(f"image not loaded: {img['src']}")
    problems += [f"sub-resource failed: {r}" for r in rep.failed_resources]
    problems += [f"external request (blocked; the book must work offline): {u}"
                 for u in sorted(set(rep.external_requests))]
    problems += [f"JavaScript exception: {e}" for e in rep.js_exceptions
                 if not any(known in e for known in KNOWN_JS_EXCEPTIONS)]

    local: set[str] = set()
    for link in rep.links:
        raw, href = link["raw"].strip(), link["href"]
        if not raw or raw.startswith("#") or not href.startswith(book_server):
            continue  # fragment-only, mailto:, javascript:, external
        local.add(urldefrag(href).url)
    for target in sorted(local):
        if target not in link_status:
            link_status[target] = _http_status(target)
        if link_status[target] != 200:
            problems.append(f"broken local link: {target} -> {link_status[target]}")

    assert rep.screenshot is not None and rep.screenshot.stat().st_size > 0
    assert not problems, f"page {page}.html ({len(problems)} problem(s)):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("page", PAGES)
def test_no_console_errors(page: str, browser: Tab, book_server: str,
                           reports: dict[str, PageReport]) -> None:
    """0 console errors and 0 uncaught exceptions on every page (issue 15, item 8)."""
    rep = _report(page, browser, book_server, reports)
    errors = [e for e in rep.console_errors if not any(k in e for k in KNOWN_CONSOLE_ERRORS)]
    errors += [f"uncaught: {e}" for e in rep.js_exceptions
               if not any(k in e for k in KNOWN_JS_EXCEPTIONS)]
    assert not errors, f"page {page}.html: {len(errors)} console error(s):\n  " + "\n  ".join(errors)


@pytest.mark.parametrize("page", MATH_PAGES)
def test_math_renders(page: str, browser: Tab, book_server: str,
                      reports: dict[str, PageReport]) -> None:
    """The vendored (trimmed) MathJax typesets every formula of a math page: each ``.math``
    element holds a laid-out ``mjx-container`` and none is a MathJax error."""
    m = _report(page, browser, book_server, reports).math
    assert m.get("mathjax"), f"{page}: MathJax did not start ({m})"
    assert m["containers"] > 0 and m["sized"] == m["containers"], f"{page}: {m}"
    assert m["errors"] == 0 and m["unrendered"] == 0, f"{page}: {m}"


SEARCH_QUERY = "imbalance"
_SEARCH_JS = """
(async () => {
  const deadline = Date.now() + WAIT_MS;
  const state = () => {
    // results for API objects show their description (a span) and fetch nothing: only page
    // results get a text snippet (p.context) cut from the fetched page
    const items = Array.from(document.querySelectorAll('#search-results ul.search li'))
      .filter(li => !li.querySelector(':scope > span'));
    return {
      status: (document.querySelector('#search-results .search-summary') || {}).textContent || '',
      results: items.length,
      snippets: items.filter(li => {
        const c = li.querySelector('p.context');
        return c && c.textContent.trim().length > 0;
      }).length,
    };
  };
  let s = state();
  while (Date.now() < deadline && !(s.status && s.results > 0 && s.snippets === s.results)) {
    await new Promise(r => setTimeout(r, 200));
    s = state();
  }
  return s;
})()
""".replace("WAIT_MS", str(IMAGE_TIMEOUT_MS))


def _errors_in(events: list[dict[str, Any]], session: str) -> list[str]:
    out = []
    for ev in events:
        if ev.get("sessionId") != session:
            continue
        p = ev.get("params", {})
        if ev["method"] == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("uncaught: " + (d.get("exception", {}).get("description")
                                       or d.get("text", "?")).splitlines()[0])
        elif ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                              for a in p.get("args", []))[:300])
        elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            out.append(f"{p['entry'].get('source')}: {p['entry'].get('text', '')[:300]}")
    return out


@pytest.mark.parametrize("scheme", ["http", "file"])
def test_search_snippets(scheme: str, browser: Tab, book_server: str) -> None:
    """The search page lists results *with* their text snippets, over HTTP and when the book is
    opened from disk (file://, where browsers refuse fetch(): book/_static/search_file.js answers
    from _static/search_snippets.js), and logs no console error doing so."""
    base = book_server if scheme == "http" else HTML.as_uri() + "/"
    browser.conn.drain_events()
    browser.send("Page.navigate", {"url": f"{base}search.html?q={SEARCH_QUERY}"})
    events = [browser.conn.wait_event(
        lambda e: e.get("sessionId") == browser.session and e["method"] == "Page.loadEventFired",
        timeout=LOAD_TIMEOUT, what="search.html to load")]
    res = browser.send("Runtime.evaluate", {"expression": _SEARCH_JS, "awaitPromise": True,
                                            "returnByValue": True},
                       timeout=IMAGE_TIMEOUT_MS / 1000 + 10)["result"]["value"]
    events += browser.conn.drain_events()
    assert res["status"], f"{scheme}: the search did not finish: {res}"
    assert res["results"] > 0, f"{scheme}: no page results for {SEARCH_QUERY!r}: {res}"
    assert res["snippets"] == res["results"], f"{scheme}: results without a snippet: {res}"
    errors = _errors_in(events, browser.session)
    assert not errors, f"{scheme}: console errors on search.html:\n  " + "\n  ".join(errors)
