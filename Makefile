# Parcours — developer commands. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PYTEST := $(BIN)/pytest
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
RESULTS := test-results

.PHONY: help install pango run serve db seed test test-sqlite test-postgres lint browser screenshots clean

help:
	@echo "make run    install, migrate the SQLite database in instance/, load demo data, serve on http://127.0.0.1:5000"
	@echo "make test   install and run the whole suite on SQLite, then on PostgreSQL when it answers"
	@echo "make lint   ruff, and import-linter's contracts on the floors of app/ (.importlinter)"

install: $(VENV)/.installed node_modules/.installed pango

# Pango for WeasyPrint (the record as PDF); Debian's chromium brings it too.
pango:
	@ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null 2>&1 \
	      || (apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null) \
	      || echo "Pango could not be installed: the PDF export will answer that it is unavailable"; \
	  else echo "Pango not found: the PDF export needs it (apt-get install libpango-1.0-0 libpangoft2-1.0-0)"; fi; }

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

db: install
	mkdir -p instance
	$(FLASK) db upgrade

seed: db
	$(FLASK) seed-demo

run: seed
	SCHEDULER_IN_PROCESS=$${SCHEDULER_IN_PROCESS:-1} $(FLASK) run --host 127.0.0.1 --port 5000

# Chromium for the browser tests: Debian's package (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser tests…"; \
	    (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) \
	      || echo "chromium could not be installed: browser tests will be skipped"; \
	  else echo "chromium not found: browser tests will be skipped (apt-get install chromium)"; fi; }

# The two suites run side by side (two cores): each prints its lines with its name in front.
test: install browser
	@mkdir -p $(RESULTS)
	@if [ -n "$$TEST_DATABASE_URL" ] || $(BIN)/python -c "import psycopg2; psycopg2.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  set -o pipefail; \
	  ( $(MAKE) --no-print-directory test-sqlite 2>&1 | sed -u 's/^/[sqlite] /' ) & sqlite=$$!; \
	  ( $(MAKE) --no-print-directory test-postgres 2>&1 | sed -u 's/^/[postgresql] /' ) & postgres=$$!; \
	  wait $$sqlite; sqlite_rc=$$?; wait $$postgres; postgres_rc=$$?; \
	  echo "SQLite suite: exit $$sqlite_rc; PostgreSQL suite: exit $$postgres_rc"; \
	  [ $$sqlite_rc = 0 ] && [ $$postgres_rc = 0 ]; \
	elif [ "$$REQUIRE_POSTGRES" = 1 ]; then \
	  echo "PostgreSQL is required (REQUIRE_POSTGRES=1) but does not answer"; exit 1; \
	else \
	  echo "PostgreSQL does not answer on 127.0.0.1:5432: PostgreSQL run skipped"; \
	  $(MAKE) --no-print-directory test-sqlite; \
	fi

test-sqlite: install
	@echo "=== Test suite on SQLite ==="
	env -u TEST_DATABASE_URL PARCOURS_ENV=testing $(PYTEST) -p no:cacheprovider --junitxml=$(RESULTS)/sqlite.xml $(PYTEST_ARGS)

test-postgres: install
	@echo "=== Test suite on PostgreSQL ($${TEST_DATABASE_URL:-$(PG_URL)}) ==="
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$(PG_URL)} PARCOURS_ENV=testing $(PYTEST) -p no:cacheprovider \
	  -m "not browser" --junitxml=$(RESULTS)/postgresql.xml $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app tests config.py wsgi.py bench scripts
	$(BIN)/lint-imports --config .importlinter

clean:
	rm -rf $(VENV) node_modules $(RESULTS) .pytest_cache
