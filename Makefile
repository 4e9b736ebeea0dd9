# Two commands do all set-up on a fresh machine:
#   make run   - virtualenv, install, seed a demo city into SQLite under ./var/, capture a few rendered
#                plates into a demo camera (demo-capture), serve on 127.0.0.1:8000
#   make test  - virtualenv, dev install, throwaway PostgreSQL 15 on 127.0.0.1, every test on SQLite
#                and PostgreSQL, cluster stopped
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_READS ?= 20000
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Reads of the day bench.retention shreds (its default, used for the recorded run, is 1000000).
BENCH_SHRED_READS ?= 100000

.PHONY: run test install install-dev lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/alpr-ledger seed --reads $(DEMO_READS) --if-empty
	$(BIN)/alpr-ledger demo-capture
	$(BIN)/alpr-ledger serve --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/python -m ops.pgcluster -- $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy domain ledger

bench: install-dev
	$(BIN)/python -m bench.ledger
	$(BIN)/python -m bench.retention --reads $(BENCH_SHRED_READS)

clean:
	rm -rf $(VENV) var
