# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
N ?= 100000
FUZZ_EXAMPLES ?= 25
FUZZ_PORT ?= 8765
# Limits lifted for the fuzzing server, which sends far more from 127.0.0.1 than any client may
# (docs/operations.md#limits): no API throttle, no sign-in pause for the address, and no daily limit on
# consultation requests from it.
LIMITS_LIFTED := THROTTLE_ANON_RATE=off THROTTLE_USER_RATE=off THROTTLE_MATCH_RATE=off \
	THROTTLE_REFERRAL_RATE=off THROTTLE_TOKEN_RATE=off THROTTLE_CONSULTATION_RATE=off \
	AXES_ADDRESS_FAILURE_LIMIT=1000000 CONSULTATION_LIMIT_PER_ADDRESS=1000000
# The fuzzing server and its set-up only queue mail (no worker runs); were a worker started on .fuzz, the
# locmem delivery backend would keep the emails off the console.
FUZZ_ENV := DATABASE_URL=sqlite:///$(CURDIR)/.fuzz/db.sqlite3 DJANGO_SUPERUSER_PASSWORD=ipt-demo-2026 \
	EMAIL_BACKEND=django.core.mail.backends.locmem.EmailBackend $(LIMITS_LIFTED)

.PHONY: run test fuzz install install-dev migrate demo serve worker lint fmt bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

# The mail worker runs beside the development server, so queued emails print here (console backend);
# it stops with the server.
# SITE_URL follows PORT, so that links in mail sent outside a request (the worker, commands) reach this server.
run: demo
	export SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)}; \
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT; \
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Production-style serving: no demo data; set PRODUCTION=true, SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL.
# Mail needs a second process beside gunicorn, kept running the same way: `make worker`
# (manage.py db_worker; docs/operations.md, "Mail").
serve: migrate
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/gunicorn config.wsgi --workers 2 --bind 127.0.0.1:$(PORT)

# The mail worker alone: delivers queued emails through EMAIL_BACKEND, retrying with back-off.
worker: install
	$(BIN)/python manage.py db_worker

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check .

fmt: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

test: install-dev node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

# Not part of `make test`: builds a directory of N therapists (default 100000) and times the search.
bench: install
	$(BIN)/python -m bench --count $(N)

# The deeper pass: the in-process fuzz tests with FUZZ_EXAMPLES per operation and role, then the schemathesis
# CLI (schemathesis.toml: 100 examples, every phase including stateful) against gunicorn on a fresh demo database.
fuzz: install-dev
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -m fuzz
	rm -rf .fuzz && mkdir .fuzz
	$(FUZZ_ENV) $(BIN)/python manage.py migrate --noinput --verbosity 0
	$(FUZZ_ENV) $(BIN)/python manage.py load_demo
	$(FUZZ_ENV) $(BIN)/python manage.py createsuperuser --noinput --username admin2 --email admin2@example.org
	$(FUZZ_ENV) $(BIN)/python manage.py offer_demo_referral --referrer referrer1 --therapist therapist1
	$(FUZZ_ENV) $(BIN)/gunicorn config.wsgi --workers 2 --bind 127.0.0.1:$(FUZZ_PORT) \
		--pid .fuzz/gunicorn.pid --error-logfile .fuzz/gunicorn.log --daemon
	for attempt in $$(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$(FUZZ_PORT)/api/schema/ && break; sleep 0.2; done; \
	$(BIN)/schemathesis run http://127.0.0.1:$(FUZZ_PORT)/api/schema/ --report junit --report-dir .fuzz; \
	status=$$?; kill $$(cat .fuzz/gunicorn.pid); exit $$status

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .fuzz

# --- The map's Leaflet, vendored (docs/operations.md, "Map") ---
# package.json pins leaflet; its built files are committed under static/vendor/leaflet/, so no page fetches a
# script from elsewhere. After changing the pinned version: `make vendor`, then commit what changed.
.PHONY: vendor
LEAFLET ?= node_modules/leaflet
LEAFLET_VENDOR := static/vendor/leaflet
vendor: node_modules/.installed
	rm -rf $(LEAFLET_VENDOR) && mkdir -p $(LEAFLET_VENDOR)/images
	cp $(LEAFLET)/dist/leaflet.js $(LEAFLET)/dist/leaflet.js.map $(LEAFLET)/dist/leaflet.css $(LEAFLET)/LICENSE $(LEAFLET_VENDOR)/
	cp $(LEAFLET)/dist/images/*.png $(LEAFLET_VENDOR)/images/
