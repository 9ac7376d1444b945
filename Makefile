# 城管通 — everyday commands. `make run` serves the demo city, `make test` runs every test.
# Works on a fresh Debian 12 machine: each target installs what it needs the first time.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# mobile: Kivy and plyer, so `make test` also runs the app's tests under Xvfb.
EXTRAS ?= dev,mobile
comma := ,
# Re-install only when the project's dependencies (or the extras asked for) change.
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
FLASK := $(BIN)/flask --app server
HOST ?= 127.0.0.1
PORT ?= 5000
TEST_PG_URL ?= postgresql+psycopg://cgt:cgt@127.0.0.1:5432/cgt_test
PYTEST_ARGS ?=
# The demo server accepts this SMS code for every phone (CGT_OTP_FIXED_CODE, development only).
DEMO_OTP ?= 123456
# Per-test limit: a hung test fails on its own instead of eating CI's 90 minutes.
PYTEST_TIMEOUT ?= 300

.PHONY: help venv migrate run test test-env migration lint bench clean distclean app screenshots \
	screenshots-console

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
		|| { echo "Python 3.11 is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "venv failed: on Debian run 'apt-get install python3.11-venv'"; exit 1; }

# flock: two make runs in one tree must not pip-install on top of each other.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing the project into $(VENV) [$(EXTRAS)] ..."
	flock $(VENV)/.install.lock $(BIN)/python -m pip install -q --disable-pip-version-check \
		-e '.[$(EXTRAS)]'
	@touch $@

venv: $(STAMP) ## create .venv and install the project (only when pyproject.toml changed)

migrate: venv ## migrate the configured database (default instance/cgt.sqlite3) to head
	$(FLASK) cgt db-upgrade

run: migrate ## migrate, load the demo city and serve the API (HOST, PORT: 127.0.0.1:5000)
	$(FLASK) cgt load-demo
	@echo
	@echo "城管通 API     http://$(HOST):$(PORT)/api"
	@echo "OpenAPI docs   http://$(HOST):$(PORT)/api/docs"
	@echo "Console        http://$(HOST):$(PORT)/console  (command centre and departments)"
	@echo "Demo logins (synthetic demo city):"
	@$(FLASK) cgt demo-logins
	@echo "Citizens and merchants: the SMS code on this demo server is always $(DEMO_OTP)."
	@echo "Walk one case through every state: $(BIN)/python bench/walkthrough.py --otp-code $(DEMO_OTP)"
	@echo
	CGT_OTP_FIXED_CODE=$(DEMO_OTP) $(FLASK) run --host $(HOST) --port $(PORT)

test-env: ## system packages, PostgreSQL, test role and database (needs root or sudo)
	bash .ci/test-env.sh

test: test-env venv ## every test, on SQLite and PostgreSQL (PYTEST_ARGS=... to narrow)
	CGT_TEST_PG_URL='$(TEST_PG_URL)' bash .ci/with-display.sh \
		$(BIN)/python -m pytest -q --timeout=$(PYTEST_TIMEOUT) $(PYTEST_ARGS)

migration: venv ## write a migration from the model changes: make migration m="what changed"
	@test -n "$(m)" || { echo 'usage: make migration m="what changed"'; exit 1; }
	$(FLASK) cgt db-revision -m "$(m)"

lint: venv ## ruff on everything, strict mypy on shared_models and sync
	$(BIN)/ruff check .
	$(BIN)/mypy shared_models sync

# --- the Kivy phone app (mobile/) ----------------------------------------------------------
SERVER ?= http://$(HOST):$(PORT)

app: venv ## the phone app in a desktop window against SERVER (default: make run's address)
	CGT_SERVER='$(SERVER)' $(BIN)/python -m mobile.app

screenshots: test-env venv ## Chinese screenshots of the app's main screens into docs/screenshots/
	bash .ci/with-display.sh $(BIN)/python -m tests.mobile.screenshots docs/screenshots

bench: venv ## run the benchmarks (bench/) and print their results
	@if [ -f bench/__main__.py ]; then $(BIN)/python -m bench; else echo "no benchmarks yet"; fi

screenshots-console: test-env venv ## console pages in Chinese → docs/screenshots/console-*.png
	$(BIN)/python -m tests.console.screenshots docs/screenshots

# `make screenshots` takes the console's too (the app's are its own recipe above).
screenshots: screenshots-console

clean: ## remove caches and build output (keeps .venv and instance/)
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	rm -rf .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info

distclean: clean ## also remove .venv and the local database and photos in instance/
	rm -rf $(VENV) instance/cgt.sqlite3 instance/cgt.sqlite3-* instance/photos
