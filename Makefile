# Two entry points for a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint

$(STAMP): pyproject.toml scripts/system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	bash scripts/system-packages
	touch $(STAMP)

install: $(STAMP)

# The main job on embedded defaults (no keys, no network): a scripted test call that books.
run: $(STAMP)
	$(BIN)/booking-agent test-call --script examples/scenarios/happy_path.yaml

# The import layers (pyproject.toml), then the whole suite on SQLite and on PostgreSQL
# (BOOKING_AGENT_TEST_POSTGRES_URL).
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
