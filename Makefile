# Two commands matter: `make run` (set up everything and serve) and `make test`.
SHELL := /bin/bash
# Python 3.12 (osrm-bindings, the embedded road engine, has wheels for 3.12 and newer only):
# the first that runs of python3.12 on the PATH, pyenv's 3.12 builds, python3 if it is 3.12.
PYTHON ?= $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12 python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null \
	&& { command -v "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
# A virtualenv made by another Python (3.11 before) is made again.
ifneq ($(wildcard $(PY)),)
ifneq ($(shell $(PY) -c 'import sys; print(sys.version_info[:2] == (3, 12))' 2>/dev/null),True)
$(shell rm -rf $(VENV))
endif
endif
HOST ?= 127.0.0.1
PORT ?= 8000
export PORT

.PHONY: run test test-clock lint format check messages translations check-translations migrate demo web serve worker scheduler bench bench-provisioning bench-migrations bench-intake bench-intake-guard bench-planning bench-routing bench-tracking bench-roads bench-board bench-driver bench-multi-day bench-learning screens db-stop clean

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.12 is needed (python3.12 on the PATH, or PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The dashboard's front-end libraries (package.json, pinned; served as static files).
ASSETS := node_modules/.package-lock.json
$(ASSETS): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the dashboard's libraries (Debian: apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.installed-run: requirements.txt requirements-demo.txt $(ASSETS) | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-demo.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-demo.txt requirements-dev.txt $(ASSETS) | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

export HOST
# What make starts is a developer's: DEBUG on (config/settings.py has it off unless asked).
DEBUG ?= 1
export DEBUG
# The process commands (bin/dispatch) find python and uvicorn in the virtualenv.
DISPATCH := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bin/dispatch

## run: install, start the database, migrate, create the demo tenant, serve HTTP + websockets and the worker
run: $(VENV)/.installed-run translations migrate demo
	@echo "Serving on http://localhost:$(PORT)/ (Ctrl-C stops the web server and the worker)"
	@trap 'kill 0' INT TERM EXIT; \
	$(DISPATCH) worker & \
	$(DISPATCH) web

## migrate: the public schema, the tenant template and every tenant schema
migrate: $(VENV)/.installed-run
	$(PY) manage.py migrate_platform -v0

demo: $(VENV)/.installed-run
	$(PY) manage.py seed_demo --port $(PORT)
	$(PY) manage.py seed_history --schema demo --drivers 2
	$(PY) manage.py learn --schema demo

## web, worker, scheduler: one process each (bin/dispatch; production runs them the same way)
web serve: $(VENV)/.installed-run
	$(DISPATCH) web

worker: $(VENV)/.installed-run
	$(DISPATCH) worker

scheduler: $(VENV)/.installed-run
	$(DISPATCH) scheduler

## test: lint, Django's checks, missing migrations, the whole pytest suite, then the translations' check
test: $(VENV)/.installed-dev lint check translations
	$(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory check-translations

## test-clock: the pytest suite twice with the clock moved (TEST_CLOCK): a year ahead, then 00:30 on the next day London's clocks go forward; the Chromium page walks (tests/e2e/*_browser.py) run once, in `make test`, to keep CI within its 90 minutes (CLOCK_BROWSER=1 includes them)
CLOCK_IGNORE := $(if $(CLOCK_BROWSER),,--ignore-glob='tests/e2e/test_*_browser.py')
test-clock: $(VENV)/.installed-dev
	TEST_CLOCK=+1y $(PY) -m pytest $(CLOCK_IGNORE) $(PYTEST_ARGS)
	TEST_CLOCK=dst $(PY) -m pytest $(CLOCK_IGNORE) $(PYTEST_ARGS)

## lint: ruff, then the architecture's contracts (import-linter; pyproject.toml, docs/architecture.md)
lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

check: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) manage.py check --fail-level WARNING
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) manage.py makemigrations --check --dry-run

# --- languages (README, "Languages") ----------------------------------------------------
# Compiled catalogs are build products (not committed): made from the .po files here, by
# `make run` and `make test`, and in the image, with Babel (a runtime requirement), so that
# running needs no GNU gettext. `make messages` and the check do need it (xgettext).
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

## messages: extract every translatable string into locale/<lang>/LC_MESSAGES/{django,djangojs}.po (needs GNU gettext; options in core/translations.py)
messages: $(VENV)/.installed-run
	@command -v xgettext >/dev/null || { echo "GNU gettext is needed (Debian: apt-get install gettext)"; exit 1; }
	$(PY) -m core.translations extract
	$(MAKE) --no-print-directory translations

## translations: compile the .po files into the .mo files Django reads
translations: $(MO_FILES)

locale/%.mo: locale/%.po | $(VENV)/.installed-run
	$(VENV)/bin/pybabel -q compile -i $< -o $@

## check-translations: fail, listing them, on untranslated or fuzzy messages, messages missing from the .po files (`make messages`) and msgfmt --check-format errors; CHECK_TRANSLATIONS_ARGS=--all lists every one (needs GNU gettext)
check-translations: $(VENV)/.installed-run
	$(PY) -m core.translations check $(CHECK_TRANSLATIONS_ARGS)

## bench: every benchmark; each prints a table with medians
bench: bench-provisioning bench-migrations bench-intake bench-planning bench-routing bench-tracking bench-roads bench-board bench-driver bench-multi-day bench-learning

bench-provisioning: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/provisioning.py

## bench-migrations: provision 500 tenants, then upgrade them all three ways (about an hour; writes docs/benchmarks.md)
bench-migrations: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/migrations.py

## bench-intake: 10,000 orders through daphne as bulk requests of 1,000, and single creates (about a minute; writes docs/benchmarks.md)
bench-intake: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/intake.py

## bench-intake-guard: CI's guard: bulk intake against raw COPY of the same rows in the same run; fails below half the ratio in bench/intake_guard.json (RECORD=1 records it; about 20 s)
bench-intake-guard: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test TEST_DATABASE_NAME=bench_intake_guard $(PY) bench/intake.py --guard

## bench-planning: plan to stored routes for 100, 500 and 1,000 orders (about 3 minutes; writes docs/benchmarks.md), then auto-dispatch latency into a 20-route running day (about 2 minutes; prints its table)
bench-planning: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/planning.py
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/auto_dispatch.py

## bench-routing: the optimiser against PyVRP and VROOM (about 20 minutes; writes docs/benchmarks.md)
bench-routing: $(VENV)/.installed-dev
	$(PY) bench/routing.py

## bench-tracking: drivers pinging once a second to dispatchers' sockets, 250 to 5,000 drivers (about 9 minutes; writes docs/benchmarks.md)
bench-tracking: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/tracking.py

## bench-roads: Helsinki's road region: build, tables in process vs osrm-routed, address search, 1,000 orders on roads vs straight lines (about 7 minutes; writes docs/benchmarks.md)
bench-roads: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/roads.py

## bench-board: the dispatch board of a 1,000-order, 20-route day through daphne: page, state, drops; straight lines, a running day, roads (about 5 minutes; writes docs/benchmarks.md)
bench-board: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/board.py

## screens: screenshots of the board and the overview from the demo day (1440x900, 390x844) into docs/screens/
## bench-driver: the driver app sends an hour offline (3,600 fixes and 100 scans) when the network returns, against a plain client (about 2 minutes)
bench-driver: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/driver_outbox.py

## bench-multi-day: a week's orders (some flexible) in one multi-day search vs planned day by day with leftovers carried, 2 cases x 3 seeds (about 6 minutes; writes docs/benchmarks.md)
bench-multi-day: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/multi_day.py

## bench-learning: ETA error before/after learning on held-out days of a generated history with a hidden truth (3 seeds), and the nightly learning time for 90 days of 20 drivers (about 30 minutes; writes docs/benchmarks.md)
bench-learning: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/learning.py

screens: $(VENV)/.installed-dev
	DJANGO_SETTINGS_MODULE=config.settings_test $(PY) bench/screens.py

## db-stop: stop the embedded PostgreSQL (data stays in .data/postgres)
db-stop:
	$(PY) -c "from config.database import embedded_stop; embedded_stop()"

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
