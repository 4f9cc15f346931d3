# The two commands: `make run` (web app on SQLite with demo data) and `make test` (every test);
# `make lint` runs ruff and mypy (CI runs it before the tests).
SHELL := /bin/bash
VENV := .venv/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test lint bench clean

setup:
	@bash scripts/setup.sh

# QR codes on notices point at HONGWU_BASE_URL; unset, it is the address being served (a loopback
# address is fine for a demo: notices then carry a 测试文书 mark and `hongwu doctor` warns).
# (init issues the demo cases' notices, so it gets the address too.)
run: setup
	@export HONGWU_BASE_URL="$${HONGWU_BASE_URL:-http://$(HOST):$(PORT)}"; \
	$(VENV)/hongwu init --demo --training && $(VENV)/hongwu serve --host $(HOST) --port $(PORT)

test: setup
	@$(VENV)/python -m pytest $(PYTEST_ARGS)

lint: setup
	@$(VENV)/ruff check engine tests bench
	@$(VENV)/mypy

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/python $$b; done

clean:
	rm -rf var .pytest_cache test-artifacts
