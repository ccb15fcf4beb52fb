# The two commands of the README. Both set up what they need on a fresh clone.
#   make run    the main job on the embedded default store (no server)
#   make test   the whole test suite (installs the Debian services the tests start, if missing)
#   make fuzz   the long fuzz campaign (20,000 seeded hostile inputs); CI runs 2,000 inside make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test setup services fuzz

$(BIN)/targetwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,sources,grafana,bench]'
	touch $@

setup: $(BIN)/targetwatch

run: setup
	$(BIN)/targetwatch run

services:
	.ci/install-services

test: setup services
	$(BIN)/python -m pytest

fuzz: setup
	$(BIN)/python -m tests.fuzz --cases 20000 --seed 14
