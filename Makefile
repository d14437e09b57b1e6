# Thin wrappers over the real commands. `make run` and `make test` also do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# sam build needs a working python3.12 on PATH for the python3.12 runtime: the first that answers, on PATH or under
# pyenv (a pyenv shim on PATH may not answer).
PY312_DIR := $(shell for p in $$(command -v python3.12) $$(ls -d $$HOME/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | sort -rV); do "$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && dirname "$$p" && break; done)
SAM_PATH := $(if $(PY312_DIR),$(PY312_DIR):,)$(PATH)

.PHONY: install run test lint format validate build deploy bench clean

$(STAMP): requirements-dev.txt layers/progress_tracking/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python progress_tracking_app.py $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate: $(STAMP)
	SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint

build: $(STAMP)
	PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(BIN)/sam build

deploy: build
	$(BIN)/sam deploy $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
