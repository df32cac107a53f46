"""API reference quality: every public function / class of the listed modules has a docstring, and
every public non-kernel function has an ``Examples`` section with a doctest (run by
tests/test_doctests.py). Kernels (``*_nb``, numba dispatchers) need a docstring (formula, units);
their wrapper carries the example. Every public member of a documented class (dataclass field,
attribute, method, property) is described: by its own docstring, a ``#:`` comment, or an entry of
the class docstring's ``Attributes`` / ``Parameters`` section (the pages render with
``:no-undoc-members:``, so an undescribed member would silently vanish from the reference).

Public = the module's ``__all__`` when it has one, else the names without a leading underscore
defined in the module itself (not imported). The modules checked are exactly those that the API
pages book/api/*.md render (their ``.. automodule::`` lines); a package that only re-exports
(``companion.sim``) is held to the standard through the objects of its ``__all__``. The pages are
written by tools/api_pages.py (one page per module group, kernels in their own section).
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
API_DIR = ROOT / "book" / "api"


def _pages_module():
    spec = importlib.util.spec_from_file_location("_api_pages", ROOT / "tools" / "api_pages.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def api_modules(text: str | None = None) -> list[str]:
    """The modules the book's API pages render: their ``.. automodule::`` lines, in page order."""
    if text is None:
        groups = _pages_module().GROUPS
        text = "\n".join((API_DIR / f"{stem}.md").read_text(encoding="utf-8") for stem, *_ in groups
                         if (API_DIR / f"{stem}.md").exists())
    return list(dict.fromkeys(re.findall(r"^[ \t]*\.\.[ \t]+automodule::[ \t]+([\w.]+)[ \t]*$", text, re.M)))


#: modules already at the standard that the API pages do not render themselves (reached through a
#: re-exporting package such as ``companion.execution``, or not at all): they stay gated
ALSO_DOCUMENTED = [
    "companion.execution.measures", "companion.execution.schedules", "companion.execution.executor",
    "companion.execution.plots", "companion.backtest.engine", "companion.backtest.strategies",
    "companion.backtest.plots", "companion.features.sampling", "companion.features.plots",
    "companion.plotting",
]

#: every module the API pages render is held to the full standard (docstring + Examples)
DOCUMENTED = api_modules() + [m for m in ALSO_DOCUMENTED if m not in api_modules()]


def public_objects(modname: str) -> list[tuple[str, object]]:
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n in vars(mod) if not n.startswith("_")]
    out = []
    for n in names:
        obj = getattr(mod, n)
        f = getattr(obj, "py_func", obj)            # numba dispatcher -> its Python function
        if (inspect.isfunction(f) or inspect.isclass(f)) and getattr(f, "__module__", None) == modname:
            out.append((n, obj))
    return out


def is_kernel(name: str, obj) -> bool:
    return name.endswith("_nb") or hasattr(obj, "py_func")


def reexported_objects(modname: str) -> list[tuple[str, object]]:
    """The functions / classes of ``modname.__all__`` defined in another ``companion`` module."""
    mod = importlib.import_module(modname)
    out = []
    for n in getattr(mod, "__all__", []):
        obj = getattr(mod, n)
        f = getattr(obj, "py_func", obj)
        home = getattr(f, "__module__", None) or ""
        if (inspect.isfunction(f) or inspect.isclass(f)) and home.startswith("companion.") and home != modname:
            out.append((n, obj))
    return out


def problems(modname: str, objects: list[tuple[str, object]] | None = None) -> list[str]:
    """``"name: why"`` for each public object of ``modname`` (or of ``objects``) below the standard."""
    bad = []
    for n, obj in (public_objects(modname) if objects is None else objects):
        f = getattr(obj, "py_func", obj)
        doc = inspect.getdoc(f) or ""
        if not doc.strip():
            bad.append(f"{n}: no docstring")
        elif inspect.isfunction(f) and not is_kernel(n, obj) and not ("Examples\n--------" in doc and ">>>" in doc):
            bad.append(f"{n}: no Examples section with a doctest")
    return bad


def test_documented_modules_come_from_the_api_page():
    assert len(DOCUMENTED) >= 40, DOCUMENTED
    for name in ("companion.flow.ofi", "companion.synth", "companion.data", "companion.models.compiled",
                 "companion.live.executor", "companion.sim.context"):
        assert name in DOCUMENTED
    assert all(m.startswith("companion") for m in DOCUMENTED)
    probe = "x\n```{eval-rst}\n.. automodule:: companion.a\n   :members:\n\n  .. automodule:: companion.b.c\n```\n" \
            ".. automodule:: companion.a\n"
    assert api_modules(probe) == ["companion.a", "companion.b.c"]


@pytest.mark.parametrize("modname", DOCUMENTED)
def test_public_api_documented(modname: str):
    mod = importlib.import_module(modname)
    assert (mod.__doc__ or "").strip(), f"{modname} has no module docstring"
    own = public_objects(modname)
    if own:
        assert problems(modname) == []
    else:  # a package that only re-exports: hold its __all__ to the standard
        reexported = reexported_objects(modname)
        assert reexported, f"{modname} exports nothing public"
        assert problems(modname, reexported) == []


def test_the_check_can_fail(tmp_path, monkeypatch):
    (tmp_path / "api_docs_probe.py").write_text(
        '"""probe"""\n'
        "def documented(x):\n"
        '    """Twice x.\n\n    Examples\n    --------\n    >>> documented(2)\n    4\n    """\n'
        "    return 2 * x\n\n"
        "def no_example(x):\n"
        '    """Twice x."""\n'
        "    return 2 * x\n\n"
        "def undocumented(x):\n"
        "    return x\n\n"
        "def scale_nb(x):\n"
        '    """Kernel: ``2 x`` (units of x)."""\n'
        "    return 2 * x\n\n"
        "class Thing:\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert sorted(problems("api_docs_probe")) == ["Thing: no docstring", "no_example: no Examples section with a doctest",
                                                   "undocumented: no docstring"]


# ------------------------------------------------------------------------------------------
# the pages: one per module group, kernels in their own section, in the table of contents
def test_api_pages_are_current():
    """book/api/*.md are exactly what tools/api_pages.py writes (a new module or kernel needs a rerun)."""
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "api_pages.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_api_pages_layout():
    pages = _pages_module()
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    assert "file: book/api/index" in toc
    assert not (ROOT / "book" / "api.md").exists()
    assert len(pages.GROUPS) >= 10
    for stem, _title, _, modules in pages.GROUPS:
        assert f"file: book/api/{stem}\n" in toc, stem
        text = (API_DIR / f"{stem}.md").read_text(encoding="utf-8")
        user, _, kern = text.partition("\n## Kernels\n")
        for m in modules:
            for k in pages.kernels(m):
                # never in the user layer: excluded from the module's automodule, listed below
                assert re.search(rf":exclude-members: \+.*\b{k}\b", user), (stem, m, k)
                home = pages.home(m, k)
                if home == m or home not in pages.RENDERED:
                    assert f".. autofunction:: {m}.{k}\n" in kern, (stem, m, k)
    every = [m for *_, ms in pages.GROUPS for m in ms]
    assert len(every) == len(set(every)), "a module on two pages"


# ------------------------------------------------------------------------------------------
# every public member of a documented class is described
_SECTION = re.compile(r"^(Attributes|Parameters|Other Parameters)\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", re.M | re.S)


def section_names(doc: str) -> set[str]:
    """Names with an entry in the numpydoc ``Attributes`` / ``Parameters`` sections of ``doc``."""
    out = set()
    for m in _SECTION.finditer(doc or ""):
        for line in m.group(2).split("\n"):
            if line and not line[0].isspace():
                out.update(n.strip().strip("*`") for n in line.split(" : ")[0].split(",") if n.strip())
    return out


def _attr_comments(modname: str) -> dict:
    from sphinx.pycode import ModuleAnalyzer

    try:
        return ModuleAnalyzer.for_module(modname).find_attr_docs()
    except Exception:  # no source (a builtin): nothing to read
        return {}


def _own_doc(obj) -> str:
    f = obj.__func__ if isinstance(obj, (classmethod, staticmethod)) else obj
    f = f.fget if isinstance(f, property) else f
    d = inspect.getdoc(getattr(f, "py_func", f)) if f is not None else None
    return (d or "").strip()


def _inherited_doc(cls, name: str) -> str:
    for base in cls.__mro__[1:]:
        if name in vars(base):
            d = _own_doc(vars(base)[name])
            if d:
                return d
    return ""


def undescribed_members(cls) -> list[str]:
    """``module.Class.member`` for each public member of ``cls`` (own, not inherited) that no
    docstring, ``#:`` comment, class-docstring section entry or documented base describes."""
    named = section_names(inspect.getdoc(cls) or "")
    comments = _attr_comments(cls.__module__)
    names = list(dict.fromkeys(list(vars(cls).get("__annotations__", {})) + list(vars(cls))))
    bad = []
    for n in names:
        if n.startswith("_") or re.fullmatch(r"set_\w+_request", n) or n in named or (cls.__qualname__, n) in comments:
            continue
        obj = vars(cls).get(n)
        if type(obj).__name__ == "_tuplegetter":    # a namedtuple field: its own __doc__
            if (obj.__doc__ or "").strip() and not obj.__doc__.startswith("Alias for field number"):
                continue
        elif callable(obj) or isinstance(obj, (property, classmethod, staticmethod)):
            d = _own_doc(obj) or _inherited_doc(cls, n)
            if d and not d.startswith("Alias for field number"):
                continue
        bad.append(f"{cls.__module__}.{cls.__qualname__}.{n}")
    return bad


def documented_classes() -> list[type]:
    seen: dict[type, None] = {}
    for m in DOCUMENTED:
        mod = importlib.import_module(m)
        names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")]
        for n in names:
            obj = getattr(mod, n, None)
            if inspect.isclass(obj) and (obj.__module__ or "").startswith("companion") \
                    and (obj.__module__ == m or hasattr(mod, "__all__")):
                seen.setdefault(obj, None)
    return list(seen)


def test_every_public_member_is_described():
    classes = documented_classes()
    assert len(classes) >= 100
    bad = sorted({b for c in classes for b in undescribed_members(c)})
    assert bad == [], f"{len(bad)} public members without a description (docstring, #: or Attributes): {bad[:20]}"


def test_the_member_check_can_fail(tmp_path, monkeypatch):
    (tmp_path / "api_members_probe.py").write_text(
        '"""probe"""\n'
        "import dataclasses\n\n"
        "@dataclasses.dataclass\n"
        "class Thing:\n"
        '    """A thing.\n\n    Attributes\n    ----------\n    a : int\n        The a.\n    """\n\n'
        "    a: int = 0\n"
        "    #: the b\n"
        "    b: int = 0\n"
        "    c: int = 0\n\n"
        "    def described(self):\n"
        '        """Yes."""\n\n'
        "    def bare(self):\n"
        "        pass\n\n"
        "    @property\n"
        "    def prop(self):\n"
        "        return 1\n\n"
        "class Sub(Thing):\n"
        '    """Sub."""\n\n'
        "    def described(self):\n"
        "        return 2\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("api_members_probe")
    assert undescribed_members(mod.Thing) == ["api_members_probe.Thing.c", "api_members_probe.Thing.bare",
                                              "api_members_probe.Thing.prop"]
    assert undescribed_members(mod.Sub) == []          # the overriding method inherits the doc
    assert section_names("x\n\nAttributes\n----------\na, b : int\n    two\nc\n    three\n\nNotes\n-----\nd : no\n") \
        == {"a", "b", "c"}
