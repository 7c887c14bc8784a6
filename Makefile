# Two commands on a fresh machine with Python 3.11 and make:
#   make demo   set up .venv and run the main job on built-in synthetic data
#   make test   set up .venv with the test extras and run lint, layers, types, tests, docs
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test

.PHONY: demo test lint typecheck pytest docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/dwp-eval demo

# pytest -n auto: the suite runs on every core (pytest-xdist), about half the time on two
test: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/python -m pytest -n auto
	$(BIN)/mkdocs build --strict --site-dir $(VENV)/site

lint: $(STAMP_TEST)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP_TEST)
	$(BIN)/mypy

pytest: $(STAMP_TEST)
	$(BIN)/python -m pytest -n auto

docs: $(STAMP_TEST)
	$(BIN)/mkdocs build --strict --site-dir $(VENV)/site

bench: $(STAMP_TEST)
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) site .pytest_cache .mypy_cache .ruff_cache
