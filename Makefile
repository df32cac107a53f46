# The two entry points: `make book` and `make test`. Both bootstrap .venv from nothing.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp
export PYTHONHASHSEED := 0
export COMPANION_DATA ?= $(CURDIR)/data
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export TQDM_DISABLE := 1
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MATPLOTLIBRC := $(CURDIR)/matplotlibrc
# numba's on-disk cache is keyed by each file's own timestamp, not by the modules it inlines: a
# kernel cached before an edit to a function it calls stays stale. One cache per source state.
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache/$(shell find companion -name '*.py' | LC_ALL=C sort | xargs cat | sha1sum | cut -c1-12)
TIMED := tools/timed
CHAPTERS := $(sort $(wildcard chapters/[0-9][0-9]_*.py))

.PHONY: book test venv data chapters html lint unit pairing nbval smoke browser bench clean

$(STAMP): env/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(PY) -m pip install -q -r env/requirements.txt 2>&1 | grep -v "is ignored" || true
	$(PY) -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import companion, numba, lightgbm, jupyter_book"
	touch $(STAMP)

venv: $(STAMP)

data: $(STAMP)
	$(TIMED) data $(PY) data_scripts/make_synthetic.py

# Execute every chapter with its default parameters and write the notebook back (normalised).
chapters: data
	$(TIMED) chapters $(PY) tools/execute_chapters.py $(CHAPTERS)

# MathJax is vendored (the book works offline) with only what the pages load: the combined
# tex-chtml.js and its CommonHTML web fonts (about 1.5 MB instead of the package's 24 MB). A TeX
# command that MathJax autoloads from input/tex/extensions/ would be a failed request, which the
# browser test reports. The stamp replaces an older full copy.
MATHJAX := book/_static/mathjax
$(MATHJAX)/.minimal: $(STAMP)
	rm -rf $(MATHJAX) && mkdir -p $(MATHJAX)/output/chtml/fonts
	src="$$($(PY) -c 'import importlib.util as u, pathlib as p; print(p.Path(u.find_spec("mathjax").submodule_search_locations[0]) / "static/mathjax/es5")')" && \
	  cp "$$src/tex-chtml.js" $(MATHJAX)/ && cp -r "$$src/output/chtml/fonts/woff-v2" $(MATHJAX)/output/chtml/fonts/
	touch $@

# The book serves what a reader needs to run it (book/get_the_code.md): the chapter notebooks and
# the LOBSTER downloader (copied by book/_ext/book_site.py) and the companion wheel (built here;
# setuptools' in-tree build/ folder is removed afterwards).
DOWNLOADS := _build/html/_downloads
html: $(STAMP) $(MATHJAX)/.minimal
	$(TIMED) html $(VENV)/bin/jupyter-book build . -W -n --keep-going --quiet
	# Jupyter Book writes index.html (a bare redirect) after Sphinx: give it the icon the pages have,
	# or Chromium asks for /favicon.ico (a 404 in the console)
	sed -i '1i <link rel="icon" href="_static/favicon.svg" />' _build/html/index.html
	rm -f $(DOWNLOADS)/companion-*.whl
	$(TIMED) wheel $(PY) -m pip wheel -q --no-deps --no-build-isolation -w $(DOWNLOADS) . 2>&1 | grep -v "is ignored" || true
	rm -rf build
	test -f $(DOWNLOADS)/companion-*.whl

book: chapters html
	@$(TIMED) --report

# the lint gate: ruff (pinned in env/requirements.txt, configured in pyproject.toml)
lint: $(STAMP)
	$(TIMED) lint $(VENV)/bin/ruff check .

unit: data
	$(TIMED) unit $(PY) -m pytest -q -n 2 tests --ignore=tests/notebooks --ignore=tests/browser -m "not slow"

pairing: $(STAMP)
	$(TIMED) pairing $(PY) -m pytest -q tests/notebooks/test_pairing.py

nbval: data
	$(TIMED) nbval $(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --nbval --nbval-current-env \
	  --nbval-sanitize-with nbval_sanitize.cfg --nbval-cell-timeout 900 chapters/

smoke: data
	$(TIMED) smoke $(PY) -m pytest -q -n 2 -m slow tests --ignore=tests/browser

browser: html
	$(TIMED) browser bash -c 'tools/ensure_chromium.sh && $(PY) -m pytest -q -m browser tests/browser'

test: lint unit pairing nbval smoke browser
	@$(TIMED) --report

# the optional benchmark extra: hftbacktest's wheel pins older numpy/numba than ours but runs
# with them, so it is installed without its dependencies; bench_vs_hftbacktest then never skips
bench: data
	$(PY) -m pip install -q --no-deps hftbacktest==2.4.4
	$(PY) -m companion bench

clean:
	rm -rf _build _executed
