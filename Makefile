# mall-to-home: `make up` runs the suite, `make test` tests it. Both install what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The interpreter that builds .venv: Python 3.11 exactly (services/prereqs.py says so if not).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null || echo python3)
VENV := .venv
PY := $(VENV)/bin/python
# uv installs exactly what uv.lock names (hashes checked), the same on every machine.
UV_VERSION := 0.13.8
UV := $(VENV)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never
CKSUM := $(shell cat pyproject.toml uv.lock 2>/dev/null | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(CKSUM)
STALE_LOCK := uv.lock does not match pyproject.toml: run \`make lock\` (it needs PyPI) and commit uv.lock
# The operator console's map library, from npm into node_modules/ (served by dispatch, no CDN).
NODE_STAMP := node_modules/.installed-$(shell cksum package-lock.json | cut -d' ' -f1)
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help venv lock console-assets browser up down status infra-up infra-down lint test \
	test-unit bench bench-tools demo chaos fuzz clean

help:
	@echo "make up         install, start Kafka + PostgreSQL + the four services (foreground)"
	@echo "make down       stop everything the project started"
	@echo "make test       install, start infrastructure, lint, run the whole test suite"
	@echo "make lint       ruff + mypy + import-linter"
	@echo "make lock       resolve pyproject.toml's dependencies again into uv.lock"
	@echo "make bench      catalog, checkout, relay, long-poll and flow benchmarks (one BENCH line"
	@echo "                each), the Li & Lim PDPTW table, the batching figure, console load time"
	@echo "make fuzz       schemathesis against the four services (own suite, >= 2,000 calls each)"
	@echo "make demo       a simulated same-day at the four pilot malls (ARGS=\"--demand 2\")"
	@echo "make chaos      2,000 orders under kill -9 and restarts, reconciled (ARGS=\"--orders 10000 --faults 100\")"
	@echo "make browser    install Debian's chromium for the console's browser test (apt-get)"

# Every target that starts Kafka, PostgreSQL or the services first names all that is missing.
# (A pattern rule, so not .PHONY, which would skip it; no file of that name is ever made.)
prereqs-%:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "[prereqs] \`make $*\` needs Python 3.11:" \
		"apt-get install python3.11 python3.11-venv (Debian/Ubuntu), brew install python@3.11" \
		"(macOS); or name one: make $* PYTHON=/path/to/python3.11" >&2; exit 1; }
	@$(PYTHON) services/prereqs.py $*

# The one tool installed unlocked (by its exact version): it installs everything else.
$(UV):
	@test -x $(PY) || $(PYTHON) services/prereqs.py venv
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	@$(UV) lock --check --offline -q 2>/dev/null || { echo "[make] $(STALE_LOCK)" >&2; exit 1; }
	@echo "[make] installing Python dependencies into $(VENV) (uv.lock)"
	@# --inexact: keep pip and uv, which the lock does not name.
	@$(UV) sync --frozen --inexact -q --extra dev
	@rm -f $(VENV)/.installed-* $(VENV)/.extra-*
	@touch $@

venv: $(STAMP)

# Other branches change pyproject.toml: this resolves it again (newest versions it allows).
lock: $(UV)
	@$(UV) lock
	@echo "[make] uv.lock written: commit it with pyproject.toml"

# `make demo` and `make bench` install their own extras (pyproject.toml) on first use.
$(VENV)/.extra-%-$(CKSUM): $(STAMP)
	@echo "[make] installing the $* extra into $(VENV) (uv.lock)"
	@$(UV) sync --frozen --inexact -q --extra dev --extra $*
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "[make] npm is missing: install Node.js and npm" \
		"(Debian: apt-get install nodejs npm), then run make again"; exit 1; }
	@echo "[make] installing the console's map library (npm ci)"
	@npm ci --no-audit --no-fund --loglevel=error
	@rm -f node_modules/.installed-*
	@touch $@

console-assets: $(NODE_STAMP)

# Playwright's own browser download cannot work here: the tests drive Debian's chromium.
browser:
	@if [ -x $(CHROMIUM) ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "[make] no apt-get: install Chromium at $(CHROMIUM) by hand"; exit 1; fi; \
	echo "[make] installing Debian's chromium (apt-get, first run only)"; \
	$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
		--no-install-recommends chromium fonts-liberation >/dev/null \
		&& echo "[make] chromium installed: $$($(CHROMIUM) --version)"

up: prereqs-up venv console-assets
	@$(PY) -m services up

down:
	@if [ -x $(PY) ]; then $(PY) -m services down; fi

status: venv
	@$(PY) -m services status

infra-up: prereqs-infra-up venv
	@$(PY) -m services.infra up

infra-down:
	@if [ -x $(PY) ]; then $(PY) -m services.infra down; fi

lint: venv
	@echo "[make] ruff"
	@$(VENV)/bin/ruff check .
	@echo "[make] mypy"
	@$(VENV)/bin/mypy shared services catalog_service order_service dispatch_service driver_service bench tests
	@echo "[make] import-linter"
	@$(VENV)/bin/lint-imports

test: prereqs-test venv console-assets infra-up lint
	@$(MAKE) --no-print-directory browser || echo "[make] chromium could not be installed;" \
		"the console's browser test will fail and say so"
	@$(VENV)/bin/pytest

test-unit: venv
	@$(VENV)/bin/pytest tests/unit

# wrk and hey load the servers from their own core; Debian ships both.
bench-tools:
	@if ! command -v wrk >/dev/null || ! command -v hey >/dev/null \
	  || ! command -v taskset >/dev/null; then \
	  echo "[make] installing wrk and hey (apt-get)"; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk hey util-linux >/dev/null; \
	fi

bench: prereqs-bench venv $(VENV)/.extra-bench-$(CKSUM) console-assets browser infra-up \
	bench-tools
	@$(PY) -m bench.catalog
	@$(PY) -m bench.checkout
	@$(PY) -m bench.relay
	@$(PY) -m bench.longpoll
	@$(PY) -m bench.flow
	@$(PY) -m bench.pdptw
	@$(PY) -m bench.batching
	@$(PY) -m bench.console

# Options go in ARGS, e.g. make demo ARGS="--demand 2" (python -m services.demo --help).
demo: prereqs-demo venv $(VENV)/.extra-demo-$(CKSUM) console-assets infra-up
	@$(PY) -m services.demo $(ARGS)

# Its own PostgreSQL and Kafka (in .local/chaos/), so it never disturbs `make up` or a test run.
chaos: prereqs-chaos venv console-assets
	@$(PY) -m services.chaos $(ARGS)

# MTH_FREE_PORT_BASE moves the fuzzing suite's ports, next to another checkout's.
fuzz: venv console-assets infra-up
	@$(PY) -m services.fuzz --base-port $${MTH_FREE_PORT_BASE:-18200}

clean: down
	rm -rf .local $(VENV) deploy/kafka/.jars
