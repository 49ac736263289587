# SPOC hub. `make run` starts the hub; `make test` runs the whole suite. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .stamps
# Everything runs in the repository's own environment.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test coverage cluster cluster-stop compose-check setup lint typecheck assets services check-deploy lock clean

run: $(STAMPS)/requirements $(STAMPS)/assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	$(PY) manage.py runhub

# The production layout on this machine, without containers (scripts/cluster.sh; docs/deployment.md):
# PgBouncer, HAProxy on http://127.0.0.1:8100/ (CLUSTER_PORT) in front of two gunicorn nodes, a
# Celery worker per queue, beat and a streaming read replica (CLUSTER_REPLICA=0 leaves it out), in
# the background; `make cluster-stop` stops them. PostgreSQL (DATABASE_URL, its database created
# first) and Redis (REDIS_URL) as for `make run`.
cluster: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/spoc
cluster: export REDIS_URL ?= redis://127.0.0.1:6379/0
cluster: export CLUSTER_REPLICA ?= 1
cluster: $(STAMPS)/requirements $(STAMPS)/assets
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	scripts/cluster.sh start

cluster-stop:
	scripts/cluster.sh stop

# pytest runs the suite in three pytest-xdist workers, one more than the two cores it is sized for,
# since many tests mostly wait (a browser, a Celery worker, a fault's timeout): each on a test
# database and a Redis database of its own (tests/conftest.py); a worker that runs out of tests
# takes some of another's (worksteal; docs/testing.md, "Three workers"). `make coverage` runs the
# same suite under coverage of the hub's packages ([tool.coverage.run] in pyproject.toml), which
# costs half as long again (docs/testing.md, "Coverage").
PYTEST := DJANGO_SETTINGS_MODULE=spoc.settings.test DJANGO_ALLOW_ASYNC_UNSAFE=true $(VENV)/bin/pytest -n 3 --dist worksteal

test: $(STAMPS)/requirements-dev $(STAMPS)/assets
	@scripts/ensure_services.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PYTEST)

coverage: $(STAMPS)/requirements-dev $(STAMPS)/assets
	@scripts/ensure_services.sh
	$(PYTEST) --cov --cov-report=

setup: $(STAMPS)/requirements-dev $(STAMPS)/assets

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff format --check .

typecheck:
	$(VENV)/bin/mypy

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-tools.txt

$(STAMPS)/requirements: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/requirements-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-dev.txt
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/requirements

$(STAMPS)/assets: package.json package-lock.json scripts/build_assets.sh
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 18+ and npm (Debian: apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	scripts/build_assets.sh
	@mkdir -p $(STAMPS) && touch $@

# The lock files, with hashes: requirements.txt and requirements-dev.txt from requirements.in and
# requirements-dev.in, requirements-tools.txt (pip and uv) from the two versions below. Packages
# already locked keep their versions; `make lock UPGRADE=name` moves one that no .in file pins
# (CONTRIBUTING.md, "Add or upgrade a dependency").
PIP_VERSION := 26.3
UV_VERSION := 0.13.9
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade-package $(UPGRADE))

lock: | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-tools.txt
	printf 'pip==$(PIP_VERSION)\nuv==$(UV_VERSION)\n' | $(UV_COMPILE) - -o requirements-tools.txt
	$(UV_COMPILE) requirements.in -o requirements.txt
	$(UV_COMPILE) requirements-dev.in -o requirements-dev.txt

# docker-compose.yml built, started and driven from outside, then removed (scripts/compose_check.py;
# docs/deployment.md). Needs a running Docker daemon and port 8000 free; not part of `make test`.
compose-check: $(STAMPS)/requirements
	$(VENV)/bin/python scripts/compose_check.py

check-deploy: $(STAMPS)/requirements
	DJANGO_SETTINGS_MODULE=spoc.settings.production DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/spoc REDIS_URL=redis://127.0.0.1:6379/0 \
	DJANGO_ALLOWED_HOSTS=spoc.example.nhs.uk $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) node_modules static/vendor $(STAMPS) .data
