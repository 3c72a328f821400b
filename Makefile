# `make run`: the service (web + worker) on embedded defaults. `make test`: every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FIXTURE_SRC ?= ../shared/fixtures/trigger-sdk-endpoint
FIXTURE := .cache/sdk-fixture
COMPAT := tests/compat
CLI := tests/cli

.PHONY: venv fixture compat cli deps test run lint bench

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# The shared fixture is npm ci-ed in a copy of our own, so ../shared may stay read-only.
fixture: $(FIXTURE)/node_modules/.package-lock.json
$(FIXTURE)/node_modules/.package-lock.json: $(FIXTURE_SRC)/package-lock.json
	rm -rf $(FIXTURE) && mkdir -p .cache
	cp -r $(FIXTURE_SRC) $(FIXTURE) && rm -rf $(FIXTURE)/node_modules
	cd $(FIXTURE) && npm ci --no-audit --no-fund --loglevel=error

compat: $(COMPAT)/node_modules/.package-lock.json
$(COMPAT)/node_modules/.package-lock.json: $(COMPAT)/package-lock.json
	cd $(COMPAT) && npm ci --no-audit --no-fund --loglevel=error

# The official v2 CLI (@trigger.dev/cli 2.3.19) for tests/integration/test_cli.py; its .npmrc skips
# ngrok's postinstall download (no tunnel is needed against a local Kongflow).
cli: $(CLI)/node_modules/.package-lock.json
$(CLI)/node_modules/.package-lock.json: $(CLI)/package-lock.json
	cd $(CLI) && npm ci --no-audit --no-fund --loglevel=error

deps: venv fixture compat cli

test: deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	DJANGO_SETTINGS_MODULE=tests.settings DATABASE_URL=sqlite://:memory: $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

run: venv
	./scripts/run

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: deps
	$(BIN)/python bench/run.py
