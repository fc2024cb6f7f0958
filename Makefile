# The two commands of the README: `make book` and `make test`.
# Each sets up .venv on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test verify lint typecheck check clean

book: $(STAMP)
	$(BIN)/make-book build --report dist/report.json

test: $(STAMP)
	$(BIN)/python -m pytest

verify: $(STAMP)
	$(BIN)/make-book check --outputs

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

$(STAMP): pyproject.toml src/make_book/__init__.py  # the version is declared there
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf dist build .pytest_cache
