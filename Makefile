# colloquy: `make run` serves on SQLite with no settings; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)

.PHONY: install run test lint format clean

$(UV):
	python3 -m pip install --quiet --user uv

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

install: $(VENV)/.synced

run: install
	$(VENV)/bin/colloquy serve

test: install
	bash scripts/ensure-postgres.sh
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

format: install
	$(VENV)/bin/ruff format src tests
	$(VENV)/bin/ruff check --fix src tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output
