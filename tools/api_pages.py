"""Write the API reference pages book/api/*.md: one page per module group, the user layer of each
module first, the numba kernels (``*_nb``) of the whole group in a "Kernels" section at the end.

    python tools/api_pages.py            # (re)write book/api/
    python tools/api_pages.py --check    # exit 1 if a page is not what this script would write

Run it after adding a module or a kernel (tests/test_api_docs.py fails while a page is stale).
Members without a docstring are not rendered (``:no-undoc-members:``): a dataclass field is
described in its class's ``Attributes`` section (shown as the class's variables) or by a ``#:``
comment above it, and tests/test_api_docs.py fails on a public member described by neither.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "api"

#: (page file stem, title, one-line summary, modules in reading order)
GROUPS: list[tuple[str, str, str, list[str]]] = [
    ("data", "Data and formats",
     "The event record, the readers of every supported feed, the synthetic day and the Parquet store.",
     ["companion.events", "companion.errors", "companion.spec", "companion.data", "companion.paths", "companion.io.lobster", "companion.io.binance",
      "companion.io.dbn", "companion.io.tardis", "companion.io.bybit", "companion.io.itch",
      "companion.io.hftbacktest", "companion.synth", "companion.store"]),
    ("book", "The order book",
     "Replaying events into a fixed-depth book, and the book kernels underneath.",
     ["companion.book", "companion.book.kernels"]),
    ("flow", "Order flow and microstructure measures",
     "OFI, Kyle's lambda and the depth law, the micro-price, trade signing and VPIN (chapters 2-3).",
     ["companion.flow.ofi", "companion.flow.kyle", "companion.flow.microprice", "companion.flow.tradesign",
      "companion.flow.vpin", "companion.flow.plots"]),
    ("features", "Features and labels",
     "The feature registry and engine (chapter 4) and the labels, the one place that looks forward "
     "(chapter 5).",
     ["companion.features", "companion.features.spec", "companion.features.sampling", "companion.features.kernels",
      "companion.labels"]),
    ("models", "Models",
     "Purged cross-validation, training, evaluation, saved models and their compiled form (chapter 6), "
     "and how fast a signal's information decays (chapter 10).",
     ["companion.models.dataset", "companion.models.cv", "companion.models.train", "companion.models.evaluate",
      "companion.models.metrics", "companion.models.io", "companion.models.sidecar", "companion.models.compiled", "companion.models.plots",
      "companion.models.decay"]),
    ("signals", "Signals and backtest",
     "Signals from imbalance and model predictions, quotes for market making (chapter 7), the "
     "event-driven backtest and its P&L decomposition (chapter 9), the latency sweep (chapter 10), and the "
     "tables the chapters print.",
     ["companion.signals", "companion.streaming", "companion.backtest", "companion.backtest.market_making",
      "companion.backtest.pnl", "companion.backtest.metrics", "companion.backtest.latency", "companion.display"]),
    ("simulator", "Execution simulator",
     "The event-driven exchange simulator: strategy context, orders, queue models, latency, fees, impact "
     "and risk (chapter 8).",
     ["companion.sim", "companion.sim.simulator", "companion.sim.context", "companion.sim.kernels",
      "companion.sim.orders", "companion.sim.queue", "companion.sim.latency", "companion.sim.fees",
      "companion.sim.impact", "companion.sim.risk", "companion.sim.plots"]),
    ("execution", "Execution algorithms",
     "TWAP, VWAP, POV and the adaptive schedule (chapter 8).",
     ["companion.execution"]),
    ("live", "Live trading",
     "Configuration, the journal, venues, feeds and the live executor (chapter 11), and the compute "
     "budget of the live path (chapter 10).",
     ["companion.live.config", "companion.live.journal", "companion.live.recorder", "companion.live.venue",
      "companion.live.drive", "companion.live.kill_switch", "companion.live.feeds", "companion.live.metrics",
      "companion.live.executor", "companion.live.budget", "companion.cycles"]),
    ("study", "Studies and the catalog",
     "Ticker-day catalogs, synthetic universes and the per-ticker-day studies with their statistics "
     "(chapter 12).",
     ["companion.catalog", "companion.universe", "companion.study", "companion.study.runner",
      "companion.study.studies", "companion.study.stats", "companion.stats"]),
]

#: modules rendered by hand (a package that only re-exports: one entry per re-exported class,
#: pointing at its home, instead of a second copy of every member)
RAW: dict[str, str] = {
    "companion.sim": """.. automodule:: companion.sim
   :no-members:

.. py:class:: SimResult
   :module: companion.sim
   :canonical: companion.sim.simulator.SimResult

   Re-exported :class:`companion.sim.simulator.SimResult`.
""",
}


#: members left out of a module's entry because another rendered module re-exports them (one
#: description per object: ``companion.features`` documents ``FeatureSpec``)
EXCLUDE: dict[str, list[str]] = {"companion.features.spec": ["FeatureSpec"]}


def kernels(modname: str) -> list[str]:
    """The numba kernels (``*_nb``) that ``automodule`` would render for ``modname``: its
    ``__all__`` when it has one, else the public names defined in the module itself."""
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, o in vars(mod).items() if not n.startswith("_")
                 and getattr(getattr(o, "py_func", o), "__module__", None) == modname]
    return [n for n in names if n.endswith("_nb") and callable(getattr(mod, n))]


def rendered() -> set[str]:
    """Every module some page renders."""
    return {m for *_, modules in GROUPS for m in modules}


RENDERED = rendered()


def home(modname: str, name: str) -> str:
    """The module that defines ``modname.name`` (a numba dispatcher: its Python function's)."""
    obj = getattr(importlib.import_module(modname), name)
    return getattr(getattr(obj, "py_func", obj), "__module__", "") or ""


def page(stem: str, title: str, summary: str, modules: list[str]) -> str:
    ks = {m: kernels(m) for m in modules}
    lines = [f"(api-{stem})=", f"# {title}", "", summary, ""]
    if any(ks.values()):
        lines += ["Each module's user layer (functions and classes over pandas objects and arrays) comes "
                  "first; the numba kernels (`..._nb`, plain functions over arrays) of the page are listed "
                  "together in {ref}`the last section <api-" + stem + "-kernels>`.", ""]
    for m in modules:
        lines += [f"## `{m}`", "", "```{eval-rst}"]
        if m in RAW:
            lines += RAW[m].rstrip("\n").split("\n")
        else:
            lines += [f".. automodule:: {m}", "   :members:", "   :no-undoc-members:"]
            if ks[m] or m in EXCLUDE:
                lines += ["   :exclude-members: +" + ", ".join(EXCLUDE.get(m, []) + ks[m])]
        lines += ["```", ""]
    if any(ks.values()):
        lines += [f"(api-{stem}-kernels)=", "## Kernels", "",
                  "Pure `@njit(cache=True)` functions over arrays: the wrappers above call them; call them "
                  "yourself in a jitted loop of your own.", ""]
        for m in modules:
            # a kernel re-exported from another rendered module is described there (its home)
            own = [k for k in ks[m] if home(m, k) == m or home(m, k) not in RENDERED]
            if own:
                lines += [f"### `{m}`", "", "```{eval-rst}"]
                lines += [f".. autofunction:: {m}.{k}\n" for k in own]
                lines += ["```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def index() -> str:
    lines = ["(api)=", "# API reference", "",
             "Generated from the docstrings of `companion` when the book is built, one page per module "
             "group. On each page the user layer (pandas wrappers, classes, plot helpers) comes first and "
             "the numba kernels (`..._nb`) are listed in their own section at the end.", "",
             "| Page | Modules |", "| --- | --- |"]
    for stem, title, _, modules in GROUPS:
        mods = ", ".join(f"`{m.removeprefix('companion.') or m}`" for m in modules)
        lines.append(f"| {{doc}}`{title} <{stem}>` | {mods} |")
    lines += ["", "The pages are listed in `_toc.yml` under `book/api/index` (tests/test_api_docs.py checks it).", ""]
    return "\n".join(lines)


def pages() -> dict[Path, str]:
    """Every page this script writes: ``{path: text}``."""
    out = {OUT / "index.md": index()}
    for stem, title, summary, modules in GROUPS:
        out[OUT / f"{stem}.md"] = page(stem, title, summary, modules)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a page differs from what would be written")
    args = ap.parse_args(argv)
    want = pages()
    if args.check:
        stale = [str(p.relative_to(ROOT)) for p, t in want.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != t]
        extra = sorted(str(p.relative_to(ROOT)) for p in OUT.glob("*.md") if p not in want)
        for p in stale + extra:
            print(f"{p}: stale (run python tools/api_pages.py)", file=sys.stderr)
        return 1 if stale or extra else 0
    OUT.mkdir(parents=True, exist_ok=True)
    for p, t in want.items():
        p.write_text(t, encoding="utf-8")
    print(f"wrote {len(want)} pages to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
