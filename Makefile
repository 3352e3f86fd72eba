# Xinfang: the two commands of the README, and the rest.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test down status unit lint fuzz fuzz-imports chaos chaos-short bench bench-intake bench-routing bench-deadlines bench-statistics bench-auth clean-data

# The virtual environment, rebuilt when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

## Bring up Kafka, PostgreSQL and the four services, then feed them demo cases.
up: $(STAMP)
	$(BIN)/xf stack up
	$(BIN)/xf demo

## Run the whole test suite (starts the local stack itself if it is not running).
test: $(STAMP)
	$(BIN)/python -m pytest

## The fast unit tests only (no network).
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

## The importer's property-based fuzz, long form (the normal suite runs a short one).
## XF_FUZZ_IMPORTS_EXAMPLES examples per property (default 20000; about 3 CPU-minutes).
fuzz-imports: $(STAMP)
	XF_FUZZ_IMPORTS_EXAMPLES=$${XF_FUZZ_IMPORTS_EXAMPLES:-20000} $(BIN)/python -m pytest -q \
		-p no:cacheprovider tests/unit/test_import_fuzz.py

## The fault suite (long: ~30 min): two instances of every service under load, each scenario's
## faults, a drain, and the verdict; prints the table. The short form runs in `make test`.
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos

## The fault suite's short form alone (~4 min: each service killed once, then the verdict;
## `make test` runs it first).
chaos-short: $(STAMP)
	$(BIN)/python -m pytest tests/chaos/test_short.py

down: $(STAMP)
	$(BIN)/xf stack down

status: $(STAMP)
	$(BIN)/xf stack status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy shared services
	$(BIN)/mypy tests

## Fuzz every service's OpenAPI document (schemathesis, as staff, a unit and anonymously) and
## the routing-rules and calendar-overlay loaders (hypothesis); needs the local stack.
fuzz: $(STAMP)
	$(BIN)/xf stack up
	$(BIN)/python -m shared.tools.testing.fuzz --max-examples 200
	XF_HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest tests/unit/test_loader_properties.py -q

## Benchmarks print figures (they need the local stack: `make up` or `xf stack up` first).
bench: bench-intake bench-routing bench-deadlines bench-statistics bench-auth

bench-intake bench-routing bench-deadlines bench-statistics bench-auth: bench-%: $(STAMP)
	$(BIN)/xf stack up
	$(BIN)/python -m benchmarks.$*

## Stop everything and delete local data (Kafka log, PostgreSQL cluster, logs). Keeps jars.
clean-data: $(STAMP)
	$(BIN)/xf stack clean
