# Thin wrappers over the real commands. `make run` and `make test` also do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# sam build needs a python3.12 on PATH for the python3.12 runtime: take one from pyenv when there is no other.
PY312_DIR := $(shell command -v python3.12 >/dev/null 2>&1 || ls -d $$HOME/.pyenv/versions/3.12.*/bin 2>/dev/null | sort -V | tail -n 1)
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
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate: $(STAMP)
	$(BIN)/sam validate --lint

build: $(STAMP)
	PATH="$(SAM_PATH)" $(BIN)/sam build

deploy: build
	$(BIN)/sam deploy $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
