# The two commands: `make run` (web app on SQLite with demo data) and `make test` (every test).
SHELL := /bin/bash
VENV := .venv/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test bench clean

setup:
	@bash scripts/setup.sh

run: setup
	@$(VENV)/hongwu init --demo
	@$(VENV)/hongwu serve --host $(HOST) --port $(PORT)

test: setup
	@$(VENV)/python -m pytest $(PYTEST_ARGS)

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/python $$b; done

clean:
	rm -rf var .pytest_cache test-artifacts
