# The two commands a newcomer needs:  make run   and   make test
# Both create .venv on first use and are fast on a second run.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
DEPS := $(VENV)/.deps-installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/centrali
PG_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
REDIS_CI_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test test-postgres test-browser migrations-check lint format ci bench clean fuzz bench-http

$(DEPS): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## run: migrate, seed, and serve the API, a Celery worker and beat, and a local Stripe sandbox on SQLite
run: $(DEPS)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) -m devtools.runlocal

## test: the suite on SQLite with tasks run eagerly (end-to-end tests need Redis: see test-postgres)
test: $(DEPS)
	$(PY) -m pytest -m "not e2e and not postgres and not browser" -q

## test-postgres: the whole suite on PostgreSQL + Redis with a real Celery worker (what CI runs)
test-postgres: $(DEPS)
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_CI_URL) $(PY) -m pytest -m "not browser" -q

## test-browser: the staff console in headless Chromium (Debian's chromium package, installed when missing; needs root or sudo)
test-browser: $(DEPS)
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium chromium-driver; }
	mkdir -p var/browser-screenshots
	BROWSER_SCREENSHOTS_DIR=$(CURDIR)/var/browser-screenshots $(PY) -m pytest -m browser -q

## migrations-check: no model change lacks a migration, and every migration applies on PostgreSQL
migrations-check: $(DEPS)
	$(PY) manage.py makemigrations --check --dry-run
	psql "$(PG_ADMIN_URL)" -v ON_ERROR_STOP=1 -q -c "DROP DATABASE IF EXISTS centrali_migrate" -c "CREATE DATABASE centrali_migrate"
	DATABASE_URL=$(PG_URL)_migrate $(PY) manage.py migrate --noinput

## fuzz: schemathesis against the live stack (gunicorn, a worker, localstripe) on PostgreSQL + Redis: devtools/fuzz.py
fuzz: $(DEPS)
	DATABASE_URL=$(PG_URL)_fuzz REDIS_URL=$(REDIS_CI_URL) $(PY) -m devtools.fuzz

## bench-http: the hot read paths under gunicorn (the Dockerfile's settings) on PostgreSQL, driven by wrk (installed when missing; needs root or sudo), as ratios to a constant-JSON floor: bench/RESULTS.md
bench-http: $(DEPS)
	command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }
	BENCH_HTTP_DATABASE_URL=$(PG_URL)_bench_http REDIS_URL=$(REDIS_CI_URL) $(PY) -m bench.http $(BENCH_HTTP_ARGS)

## lint: ruff (lint and format check), mypy, and the import contracts between the apps
lint: $(DEPS)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-logo

## format: apply ruff's fixes and formatting
format: $(DEPS)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

ci: lint test migrations-check test-postgres fuzz test-browser

clean:
	rm -rf $(VENV) var staticfiles
