# Thin wrappers over the real commands. `make run` and `make test` also do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# `make run` installs only what the app runs with (requirements-run.txt); the development set includes it.
RUN_STAMP := $(VENV)/.installed-run
# sam build needs a working python3.12 on PATH for the python3.12 runtime: the first that answers, on PATH or under
# pyenv (a pyenv shim on PATH may not answer).
PY312_DIR := $(shell for p in $$(command -v python3.12) $$(ls -d $$HOME/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | sort -rV); do "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && dirname "$$p" && break; done)
SAM_PATH := $(if $(PY312_DIR),$(PY312_DIR):,)$(PATH)

.PHONY: install pgbouncer browser run test lint format validate build deploy bench clean openapi postman

$(STAMP): requirements-dev.txt requirements-run.txt layers/progress_tracking/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): requirements-run.txt layers/progress_tracking/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-run.txt
	touch $(RUN_STAMP)

install: $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/python progress_tracking_app.py $(ARGS)

# PgBouncer (Debian's package) for the pooler pass; installed when missing if we may (root), else a clear message.
pgbouncer:
	@command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    { apt-get install -y -qq pgbouncer >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null && apt-get install -y -qq pgbouncer >/dev/null; }; }; } || \
	  { echo "pgbouncer is missing: apt-get install pgbouncer" >&2; exit 1; }

# Chromium (Debian's package) for the browser tests of /docs and the home page; installed when missing if we may (root).
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    { apt-get install -y -qq chromium >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }; }; } || \
	  { echo "chromium is missing: apt-get install chromium" >&2; exit 1; }

# newman (npm) for the Postman collection, installed into node_modules/ from package-lock.json.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && { apt-get install -y -qq npm >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null && apt-get install -y -qq npm >/dev/null; }; }; } || \
	  { echo "npm is missing: apt-get install npm" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The whole suite directly on Postgres (the resilience suite included), then the database suites again through
# PgBouncer in transaction mode, as Neon's pooled endpoint serves the functions.
POOLER_SUITES := tests/integration/test_api.py tests/integration/test_event_sourcing.py tests/integration/test_store.py \
	tests/integration/test_summaries.py tests/integration/test_database_limits.py tests/integration/test_pooler.py \
	tests/integration/test_delete_all.py tests/integration/test_event_order.py tests/integration/test_metrics.py \
	tests/integration/test_upserts.py tests/integration/test_change_feed.py

test: $(STAMP) pgbouncer browser node_modules/.installed validate
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	TEST_VIA_POOLER=1 $(BIN)/python -m pytest $(POOLER_SUITES) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# SAM's transform (what `sam deploy` runs first) and cfn-lint, offline: no AWS account or credentials needed (the
# region comes from samconfig.toml's validate section).
validate: $(STAMP)
	SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true $(BIN)/sam validate
	SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true $(BIN)/sam validate --lint

build: $(STAMP)
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(BIN)/sam build

deploy: build
	$(BIN)/sam deploy $(ARGS)

# The OpenAPI document the docs function (template parameter ApiDocs=true) serves in AWS; a test says when it is stale.
openapi: $(STAMP)
	$(BIN)/python progress_tracking_app.py openapi > functions/api_docs/openapi.json

# The Postman collection against a running app (`make run`): BASE_URL, and a user of its own (the last request erases
# it), with a token from the app's development issuer (all four scopes; TOKEN_ARGS="--data-dir DIR" for its key).
BASE_URL ?= http://127.0.0.1:5000
POSTMAN_USER ?= postman-user
postman: $(STAMP) node_modules/.installed
	node_modules/.bin/newman run postman/progress-tracking.postman_collection.json \
	  -e postman/local.postman_environment.json --env-var baseUrl=$(BASE_URL) --env-var userId=$(POSTMAN_USER) \
	  --env-var token=$$($(BIN)/python progress_tracking_app.py $(TOKEN_ARGS) token --user-id $(POSTMAN_USER))

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache node_modules
