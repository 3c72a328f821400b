# `make run`: the service (web + worker) on embedded defaults (PostgreSQL from a wheel, a filesystem
# broker, all in var/). `make check`: the fast tier (linters, migrations, unit tests). `make test`: every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FIXTURE_SRC ?= ../shared/fixtures/trigger-sdk-endpoint
FIXTURE := .cache/sdk-fixture
COMPAT := tests/compat
CLI := tests/cli

.PHONY: venv run-venv fixture compat cli deps test check migrations-check run lint bench

# The virtualenv with the project and one of its extras: `run` (the service and its embedded
# PostgreSQL, for `make run`) or `test` (that and every test tool).
define install
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[$(1)]'
	touch $@
endef
venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(call install,test)
run-venv: $(VENV)/.installed-run
$(VENV)/.installed-run: pyproject.toml
	$(call install,run)

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

# Against PostgreSQL: DATABASE_URL, else the tests' server (its `postgres` database always exists).
migrations-check: venv
	DJANGO_SETTINGS_MODULE=tests.settings DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" \
	  $(BIN)/python manage.py makemigrations --check --dry-run

test: deps migrations-check
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

# The fast tier: no SDK fixture, Celery worker, browser or `make run` (those are `make test`).
check: venv migrations-check
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -q -m "not integration and not browser"

run: run-venv
	./scripts/run

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: deps
	$(BIN)/python bench/run.py
