"""Sphinx extension of the course book (loaded through ``sphinx.local_extensions`` in _config.yml).

1. **One repository value.** ``repository.url`` in ``_config.yml`` (Jupyter Book passes it on as
   ``html_theme_options["repository_url"]``) drives everything that needs the repository: when it
   is set, the repository and issue buttons and the Binder/Colab launch buttons are switched on,
   the tag ``repository`` is defined (pages show ``{only} repository`` blocks) and the MyST
   substitution ``{{ repository_url }}`` holds it. While it is empty all of them stay hidden.
2. **Downloads.** ``{{ wheel_name }}`` is the file name of the companion wheel that ``make book``
   builds into ``_build/html/_downloads/`` (name read from pyproject.toml); at the end of an HTML
   build every executed chapter notebook is copied to ``_downloads/notebooks/`` and the LOBSTER
   downloader (data_scripts/get_lobster_sample.py) to ``_downloads/``; ``{{ wheel_link }}``,
   ``{{ notebook_list }}`` and ``{{ lobster_script_link }}`` link to them from pages in book/.
3. **No duplicated inline scripts.** sphinx-thebe and sphinx-togglebutton add inline scripts
   (``app.add_js_file(None, body=...)``) after ``Builder.init()`` (config-inited /
   env-before-read-docs). Sphinx 7.4.7 hands each to the builder at once as
   ``_JavaScript(None, body=...)`` and, in ``prepare_writing``, re-adds everything in the registry
   as ``_JavaScript(js_filename or '', ...)``. ``None != ''``, so its de-duplication misses them
   and every page gets each inline script twice. sphinx-thebe's declares ``const THEBE_JS_URL``,
   and the second copy throws ``SyntaxError: Identifier 'THEBE_JS_URL' has already been
   declared`` on every page. Each page's script (and stylesheet) list is de-duplicated here on
   (file name or '', attributes), keeping the first occurrence.
"""
from __future__ import annotations

import json
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

LOG = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ROOT / "chapters"
LOBSTER_SCRIPT = ROOT / "data_scripts" / "get_lobster_sample.py"
#: the served downloads folder as seen from a page in book/ (the wheel is put there by `make book`)
DOWNLOADS_FROM_BOOK = "../_downloads"

#: Launch services switched on with the repository (sphinx-book-theme launch_buttons keys).
LAUNCH_SERVICES = {"binderhub_url": "https://mybinder.org",
                   "colab_url": "https://colab.research.google.com"}


def chapter_notebooks() -> list[Path]:
    """The executed chapter notebooks (chapters/NN_*.ipynb), in order."""
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))


def _download_link(path: str, text: str | None = None) -> str:
    """Raw-HTML link, from a page in book/, to ``_downloads/<path>`` of the built book."""
    return (f'<a class="reference download" href="{DOWNLOADS_FROM_BOOK}/{path}" download>'
            f'<code>{text or path}</code></a>')


def wheel_name() -> str:
    """``companion-<version>-py3-none-any.whl`` from pyproject.toml (pure-Python wheel)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return f"{project['name'].replace('-', '_')}-{project['version']}-py3-none-any.whl"


def repository_url(config: Config) -> str:
    """The one repository value (``repository.url`` of _config.yml), stripped; '' when unset."""
    return str((config.html_theme_options or {}).get("repository_url") or "").strip()


def _config_inited(app: Sphinx, config: Config) -> None:
    url = repository_url(config)
    opts = config.html_theme_options
    subs = dict(config.myst_substitutions or {})
    subs.update(repository_url=url, wheel_name=wheel_name(),
                issues_url=f"{url.rstrip('/')}/issues" if url else "",
                wheel_link=_download_link(wheel_name()),
                lobster_script_link=_download_link(LOBSTER_SCRIPT.name),
                notebook_list="\n".join(f"  - {_download_link('notebooks/' + nb.name, nb.name)}"
                                         for nb in chapter_notebooks()))
    config.myst_substitutions = subs
    if url:
        app.tags.add("repository")
        opts["use_repository_button"] = True
        opts["use_issues_button"] = True
        launch = dict(opts.get("launch_buttons") or {})
        for key, value in LAUNCH_SERVICES.items():
            launch[key] = launch.get(key) or value  # Jupyter Book's defaults are ''.
        opts["launch_buttons"] = launch
    else:
        app.tags.add("no_repository")
        opts["use_repository_button"] = False
        opts["use_issues_button"] = False
        opts["use_edit_page_button"] = False
        opts["launch_buttons"] = {k: v for k, v in (opts.get("launch_buttons") or {}).items()
                                  if k not in (*LAUNCH_SERVICES, "jupyterhub_url", "thebe",
                                               "jupyterlite_url")}


def _asset_key(asset: Any) -> tuple[str, str]:
    attrs = getattr(asset, "attributes", {}) or {}
    name = getattr(asset, "filename", asset) or ""
    return (str(name), repr(sorted((str(k), str(v)) for k, v in attrs.items())))


def _dedupe(items: list[Any]) -> list[Any]:
    seen: set[tuple[str, str]] = set()
    out = []
    for item in items:
        key = _asset_key(item)
        if key in seen:
            continue
        seen.add(key)
        out.append(item)
    return out


def _page_context(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: Any) -> None:
    if pagename == "search":  # snippets from file:// (see write_search_snippets)
        app.add_js_file("search_snippets.js", priority=200)
        app.add_js_file("search_file.js", priority=200)
    for name in ("script_files", "css_files"):
        if isinstance(context.get(name), list):
            context[name] = _dedupe(context[name])


#: pages that are not content (no search result points at them)
_NOT_CONTENT = ("search.html", "genindex.html", "py-modindex.html", "index.html")


def page_texts(outdir: Path) -> dict[str, str]:
    """page (``book/intro.html``) -> a reduced copy of its ``[role=main]`` block for search
    snippets: only elements that carry an ``id`` are kept (so Sphinx's anchor query
    ``[role=main] #section-id`` still finds its section), everything else is reduced to its text;
    scripts, styles, images and header links are dropped."""
    import bs4

    texts: dict[str, str] = {}
    for page in sorted(outdir.rglob("*.html")):
        rel = page.relative_to(outdir).as_posix()
        if rel.startswith(("_", "reports/")) or rel in _NOT_CONTENT:
            continue
        soup = bs4.BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        main = soup.select_one('[role="main"]')
        if main is None:
            continue
        for tag in main.select("script, style, img, svg, noscript, .headerlink, mjx-container, "
                               "#jb-print-toc, .bd-header-article, .prev-next-area"):
            tag.decompose()
        for comment in main.find_all(string=lambda x: isinstance(x, bs4.Comment)):
            comment.extract()
        for tag in list(main.find_all(True)):
            if tag.get("id"):
                tag.attrs = {"id": tag["id"]}
            else:
                tag.insert_before(" ")
                tag.unwrap()
        main.attrs = {"role": "main"}
        texts[rel] = re.sub(r"\s+", " ", str(main))
    return texts


def write_search_snippets(outdir: Path) -> Path:
    """``_static/search_snippets.js``: the page texts as ``window.BOOK_PAGE_TEXTS``, loaded by
    search.html only. Sphinx's search fetches each result page for its snippet, and browsers
    refuse fetch() on file:// URLs (no snippets, a console error per result). search_file.js
    answers those fetches from this table when the book is opened from disk."""
    dest = outdir / "_static" / "search_snippets.js"
    payload = json.dumps(page_texts(outdir), ensure_ascii=False, separators=(",", ":"))
    dest.write_text("window.BOOK_PAGE_TEXTS = " + payload.replace("</", "<\\/") + ";\n",
                    encoding="utf-8")
    return dest


def _build_finished(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None or app.builder.format != "html":
        return
    write_search_snippets(Path(app.outdir))
    dest = Path(app.outdir) / "_downloads"
    (dest / "notebooks").mkdir(parents=True, exist_ok=True)
    for nb in chapter_notebooks():
        shutil.copy2(nb, dest / "notebooks" / nb.name)
    shutil.copy2(LOBSTER_SCRIPT, dest / LOBSTER_SCRIPT.name)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _config_inited, priority=900)
    # after the themes have filled the context (their handlers run at the default 500)
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
