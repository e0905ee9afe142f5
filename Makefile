# The one entry point for people. `make run` and `make test` work as the first command on a fresh
# machine with Python 3.11+: both install the pinned environment first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
PARTITION ?= 2020-12-01
UI_PORT ?= 3000
PYTEST_ARGS ?=

.PHONY: install timescaledb run test lint format lock db-start db-stop db-status materialize ib-check bench mutation clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed: set PYTHON=python3.11 (or newer)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

# TimescaleDB built from source into the venv's embedded PostgreSQL, which then preloads it (about a
# minute the first time on 2 cores; cached in ~/.cache/dual_ticker, so again it costs nothing).
# TIMESCALEDB_SOURCE=path/to/timescaledb-2.28.3.tar.gz or its URL; default ../shared/timescaledb/.
timescaledb: install
	PYTHON=$(BIN)/python scripts/timescaledb.sh $(TIMESCALEDB_SOURCE)

run: install  ## the database, Dagster UI (UI_PORT=3000) + daemon, run workers, sidecar; Ctrl-C stops all (REPLAY_START=..., SPEED=...)
	$(BIN)/python -m dual_ticker run --ui-port $(UI_PORT) $(if $(REPLAY_START),--replay-start "$(REPLAY_START)") $(if $(SPEED),--speed $(SPEED))

# Shuffled (pytest-randomly prints the seed): repeat an order with PYTEST_ARGS="--randomly-seed=N",
# keep file order with PYTEST_ARGS="-p no:randomly".
test: install  ## the whole test suite, in a shuffled order
	$(BIN)/python -m pytest -p randomly $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check dual_ticker dual_ticker_tests bench scripts
	$(BIN)/ruff format --check dual_ticker dual_ticker_tests bench scripts

format: install
	$(BIN)/ruff format dual_ticker dual_ticker_tests bench scripts

lock:  ## re-resolve requirements.lock from pyproject.toml (needs uv: pip install uv)
	uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

db-start: install
	$(BIN)/python -m dual_ticker db start

db-stop: install
	$(BIN)/python -m dual_ticker db stop

db-status: install
	$(BIN)/python -m dual_ticker db status

materialize: install  ## one session through the whole graph: make materialize PARTITION=2020-12-01
	$(BIN)/python -m dual_ticker dagster asset materialize -m dual_ticker.definitions --select '*' --partition $(PARTITION)

ib-check: install  ## against a real IB Gateway/TWS paper account (IB_HOST, IB_PORT, IB_CLIENT_ID)
	$(BIN)/python -m dual_ticker.oms.ib_check

bench: install
	$(BIN)/python -m bench

# Mutation testing of quality/, pipeline/, features/observation.py and storage/ (pyproject's
# [tool.mutmut]; not part of `make test`: the whole set takes hours on 2 cores). Pick mutants by
# name: make mutation MUTANTS='dual_ticker.quality.rules*'. Results stay in mutants/ (a re-run
# checks only what changed); the summary and the survivors go to docs/MUTATION.md by hand.
MUTANTS ?=
mutation: install
	mkdir -p mutants/test_home  # one test home for all of mutmut's pytest sessions (yfinance keeps its first cache folder)
	DUAL_TICKER_TEST_HOME=$(CURDIR)/mutants/test_home $(BIN)/mutmut run --max-children 2 $(foreach m,$(MUTANTS),'$(m)')
	$(BIN)/python scripts/mutation_summary.py $(foreach m,$(MUTANTS),'$(m)')

clean:
	-$(BIN)/python -m dual_ticker db stop
	rm -rf "$${DUAL_TICKER_HOME:-.dual_ticker}"
