"""Sphinx extension: figures, tables and exercises numbered per chapter ("Figure 2.1", "Exercise 6.1").

Sphinx numbers every enumerable node (figures, tables, code blocks and sphinx-exercise's
exercises) from the toctree's section numbers. The course's toctree is not numbered (the chapter
titles carry their own number, ``# 2. Order-flow imbalance: theory``, and the "Getting started"
pages come first), so Sphinx counts each kind through the whole book: the first exercise of
chapter 2 became "Exercise 4".

After Sphinx has assigned its numbers (``env-get-updated``, run after the built-in toctree
collector), this extension renumbers every enumerable node of a chapter page
``chapters/NN_name`` as ``(NN, i)``: ``i`` counts that kind within the page, in document order.
Pages outside ``chapters/`` (intro, how to use) get ``(i,)``. Captions, ``{numref}`` and
``{ref}`` links read the same numbers, so "Figure 2.1" in the text and under the figure agree.
"""
from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

CHAPTER_DOC = re.compile(r"^chapters/(\d+)_")


def chapter_number(docname: str) -> int | None:
    """``2`` for ``chapters/02_ofi_theory``; None for pages that are not chapters."""
    m = CHAPTER_DOC.match(docname)
    return int(m.group(1)) if m else None


def renumber(fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]]) -> list[str]:
    """Renumber ``env.toc_fignumbers`` in place per page; return the pages whose numbers changed.

    Within a page and a kind, the order of Sphinx's numbers is the document order.

    >>> f = {"chapters/02_x": {"figure": {"b": (7,), "a": (5,)}}, "book/intro": {"figure": {"c": (9,)}}}
    >>> renumber(f)
    ['book/intro', 'chapters/02_x']
    >>> f["chapters/02_x"]["figure"], f["book/intro"]["figure"]
    ({'a': (2, 1), 'b': (2, 2)}, {'c': (1,)})
    """
    changed = []
    for docname in sorted(fignumbers):
        chapter = chapter_number(docname)
        prefix = (chapter,) if chapter is not None else ()
        page_changed = False
        for figtype, ids in fignumbers[docname].items():
            ordered = sorted(ids, key=lambda i: ids[i])
            new = {fid: (*prefix, n) for n, fid in enumerate(ordered, start=1)}
            if new != ids:
                page_changed = True
            fignumbers[docname][figtype] = new
        if page_changed:
            changed.append(docname)
    return changed


def _env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    return renumber(env.toc_fignumbers)


def setup(app: Sphinx) -> dict[str, Any]:
    # priority 900: after the built-in TocTreeCollector (default 500) has assigned its numbers
    app.connect("env-get-updated", _env_get_updated, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
