# Two commands on a fresh machine with Python 3.11 and make:
#   make demo   set up .venv and run the main job on built-in synthetic data
#   make test   set up .venv with the test extras and run lint, layers, types, the whole suite
#               (slow Monte Carlo tests too) and docs; then the dependency matrix (make test-deps):
#               the suite without the slow tests at the oldest supported releases
#               (constraints/oldest.txt, Python 3.11, in .venv-oldest) and at the newest releases
#               on Python 3.13 (in .venv-newest). Both venvs are cached by stamps: they are rebuilt
#               only when pyproject.toml (or constraints/oldest.txt) changes.
#   No Python 3.13 found (python3.13 on PATH or ~/.pyenv/versions/3.13*): make test FAILS and
#   says so; pass PYTHON_NEWEST=/path/to/python3.13, or SKIP_NEWEST=1 to skip that run (loudly).
# Wall time of the whole make test on the idle 2-core development machine, 2026-12-05, both
# matrix venvs built in the run (pip cache warm): 15m32s: the main run 7m32s, the oldest run
# 2m42s, the newest run 3m00s, docs and venv builds the rest. Under load (other jobs on the cores)
# the newest venv build took 7m12s, mostly downloads, which a fresh CI machine also pays.
# A second make test reuses both venvs (stamps), so the matrix then costs the two runs only.
# 2026-12-07, idle machine, with the [dask] and [spark] extras, both matrix venvs reused:
# 20m34s in all: the main run 8m02s (7,044 tests; the 17m of 2026-12-06 was under load, and
# one Monte Carlo test spent 296 s in statsmodels' gc.collect(), now 20 s), the engine run
# 3m34s (125 tests, one LocalCluster and one Spark JVM), docs 1m15s, the oldest run 3m32s,
# the newest 3m50s. The run before (ten engine tests fewer), building both matrix venvs: 20m11s.
# 2026-12-07 (later), idle machine, both matrix venvs reused: 21m05s: the main run 8m08s
# (7,046 tests), the engine run 3m41s (143 tests), the oldest run 3m14s, the newest 3m35s.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
# The dependency matrix: oldest releases on Python 3.11, newest releases on Python 3.13.
PYTHON_OLDEST ?= $(shell command -v python3.11 || command -v python3)
# A python3.13 that runs (a pyenv shim without 3.13 selected does not), or its pyenv install.
PYTHON_NEWEST ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 13)' >/dev/null 2>&1 && { echo $$p; break; }; done)
OLDEST := .venv-oldest
NEWEST := .venv-newest
# -n 2: the machine has two cores; the slow Monte Carlo tests run once, in the main run
MATRIX_PYTEST := -m "not slow" -n 2 -q -p no:cacheprovider

.PHONY: demo test lint typecheck pytest docs bench clean test-deps test-oldest test-newest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,sdc,export,notebooks,dask,spark]"
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/dwp-eval demo

# pytest -n auto: the suite runs on every core (pytest-xdist), about half the time on two.
# The engine tests (marked engine: Dask LocalCluster, Spark local mode) run after it in one
# process, so that one cluster and one Spark JVM serve them all.
ENGINE_PYTEST := -m engine -p no:xdist -q
test: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	DWP_EVAL_REQUIRE_EXTRAS=1 $(BIN)/python -m pytest -n auto -m "not engine"
	DWP_EVAL_REQUIRE_EXTRAS=1 $(BIN)/python -m pytest $(ENGINE_PYTEST)
	$(BIN)/mkdocs build --strict --site-dir $(VENV)/site
	@$(MAKE) --no-print-directory test-deps

# The suite at both ends of the supported range (README: Supported versions).
test-deps: test-oldest test-newest

$(OLDEST)/.installed: pyproject.toml constraints/oldest.txt
	rm -rf $(OLDEST)
	$(PYTHON_OLDEST) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST)/bin/python -m pip install --quiet -c constraints/oldest.txt -e ".[test]"
	touch $@

test-oldest: $(OLDEST)/.installed
	@echo "== the suite at the oldest supported releases (constraints/oldest.txt) on $$($(OLDEST)/bin/python --version)"
	@$(OLDEST)/bin/python -c "import numpy, scipy, pandas, statsmodels, matplotlib as m; print('numpy', numpy.__version__, 'scipy', scipy.__version__, 'pandas', pandas.__version__, 'statsmodels', statsmodels.__version__, 'matplotlib', m.__version__)"
	$(OLDEST)/bin/python -m pytest $(MATRIX_PYTEST)

$(NEWEST)/.installed: pyproject.toml
	@if [ -z "$(PYTHON_NEWEST)" ]; then \
		echo "ERROR: no Python 3.13 found (python3.13 on PATH or ~/.pyenv/versions/3.13*/bin/python3.13)."; \
		echo "       The suite must also run at the newest releases on Python 3.13: install it, pass"; \
		echo "       PYTHON_NEWEST=/path/to/python3.13, or skip this run with SKIP_NEWEST=1."; \
		exit 1; \
	fi
	rm -rf $(NEWEST)
	$(PYTHON_NEWEST) -m venv $(NEWEST)
	$(NEWEST)/bin/python -m pip install --quiet --upgrade pip
	$(NEWEST)/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[test]"
	touch $@

ifeq ($(SKIP_NEWEST),1)
test-newest:
	@echo "=================================================================================="
	@echo "== SKIPPED (SKIP_NEWEST=1): the suite at the newest releases on Python 3.13"
	@echo "=================================================================================="
else
test-newest: $(NEWEST)/.installed
	@echo "== the suite at the newest releases on $$($(NEWEST)/bin/python --version)"
	@$(NEWEST)/bin/python -c "import numpy, scipy, pandas, statsmodels, matplotlib as m; print('numpy', numpy.__version__, 'scipy', scipy.__version__, 'pandas', pandas.__version__, 'statsmodels', statsmodels.__version__, 'matplotlib', m.__version__)"
	$(NEWEST)/bin/python -m pytest $(MATRIX_PYTEST)
endif

lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP_TEST)
	$(BIN)/mypy

pytest: $(STAMP_TEST)
	DWP_EVAL_REQUIRE_EXTRAS=1 $(BIN)/python -m pytest -n auto -m "not engine"
	DWP_EVAL_REQUIRE_EXTRAS=1 $(BIN)/python -m pytest $(ENGINE_PYTEST)

docs: $(STAMP_TEST)
	$(BIN)/mkdocs build --strict --site-dir $(VENV)/site

bench: $(STAMP_TEST)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(OLDEST) $(NEWEST) site .pytest_cache .mypy_cache .ruff_cache
