# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# constraints.txt pins torch to the CPU wheel; pip (not uv) is used because only pip sees it.
# Not --quiet: pip names each package as it goes, so a first install is never silent.
PIP := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -c constraints.txt
STEP := @printf '\n==> %s\n'
DATA ?= data/tickets.csv

.PHONY: run test install-run install install-dev browser imap-server model serve lint format typecheck audit lock openapi clean

$(BIN)/python:
	$(STEP) "creating $(VENV) with $(PYTHON)"
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "triage needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)

# `make run` needs no torch (the default body is pure NumPy): requirements/run.txt (1 GB less
# than the full install), then the package itself. --no-compile: pip's compiling of every
# module was half of this install's CPU time; Python compiles the modules a command imports
# when it first imports them instead. A full or dev install satisfies this one too.
$(VENV)/.installed-run: pyproject.toml constraints.txt requirements/serve.txt requirements/run.txt | $(BIN)/python
	$(STEP) "installing triage and what serving and training the default model need into $(VENV) (no torch)"
	$(PIP) --no-compile -r requirements/run.txt
	$(PIP) --no-compile --no-deps -e .
	touch $@

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(STEP) "installing triage and all its dependencies into $(VENV) (the first time: minutes)"
	$(PIP) -e .
	touch $@ $(VENV)/.installed-run

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(STEP) "installing triage with its dev extras into $(VENV) (the first time: minutes)"
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-run

install-run: $(VENV)/.installed-run
install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Train the default model from the sample data, unless models/ already holds one.
model: install-run
	$(STEP) "training the default model on $(DATA), unless models/ has one"
	$(BIN)/triage train --data $(DATA) --if-none
	$(STEP) "indexing the resolved tickets of $(DATA) for similar-ticket search"
	$(BIN)/triage index build --data $(DATA)
	$(STEP) "loading the history of $(DATA) as ticket events for the reports"
	$(BIN)/triage events import $(DATA) --column ticket_id=id

## Set up, train if needed, and serve on TRIAGE_HOST:TRIAGE_PORT (127.0.0.1:8000).
run: model
	$(STEP) "serving on $${TRIAGE_HOST:-127.0.0.1}:$${TRIAGE_PORT:-8000} (Ctrl+C stops)"
	$(BIN)/triage serve

serve: install-run
	$(BIN)/triage serve

## Debian's chromium and chromium-driver for the staff page's browser test, where they are
## missing and apt-get can be run (as root); elsewhere that one test is skipped (failed on CI).
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "could not install chromium: the browser test will not run"; \
	else echo "no /usr/bin/chromium: install chromium and chromium-driver for the browser test"; fi

## Debian's dovecot-imapd for the e-mail poller's test against a real IMAP server, where it is
## missing and apt-get can be run (as root); elsewhere that test is skipped with the reason.
imap-server:
	@if [ -x /usr/sbin/dovecot ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null \
			&& (systemctl disable --now dovecot >/dev/null 2>&1 || service dovecot stop >/dev/null 2>&1 || true)) \
		|| echo "could not install dovecot-imapd: the IMAP poller test will not run"; \
	else echo "no /usr/sbin/dovecot: install dovecot-imapd for the IMAP poller test"; fi

## Lint, type-check and run every test, the slow ones included: on PYTEST_WORKERS processes
## (pytest-xdist), each test module whole on one of them, the costliest first (tests/conftest.py).
PYTEST_WORKERS ?= 2
test: install-dev browser imap-server
	$(STEP) "lint, types, layering, OpenAPI document"
	$(BIN)/ruff check triage tests benchmarks notebooks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/openapi-spec-validator docs/openapi.json
	$(STEP) "every test, the slow ones included, on $(PYTEST_WORKERS) workers"
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: install-dev
	$(BIN)/ruff check triage tests benchmarks notebooks
	$(BIN)/ruff format --check triage tests benchmarks notebooks

format: install-dev
	$(BIN)/ruff format triage tests benchmarks notebooks
	$(BIN)/ruff check --fix triage tests benchmarks notebooks

typecheck: install-dev
	$(BIN)/mypy

## Rewrite docs/openapi.json from the app (tests/api/test_openapi_contract.py compares the two);
## then add a line to docs/CHANGELOG-api.md.
openapi: install
	$(BIN)/python -m triage.api.openapi docs/openapi.json
	@sha256sum docs/openapi.json | cut -c1-12

## Known vulnerabilities in the installed dependencies (pip-audit, ~10 s). It asks PyPI's JSON
## API per release, or OSV with AUDIT_SERVICE=osv; --strict fails when a package could not be
## looked up, so an audit that checked nothing never passes. Not part of `make test`: it needs
## that service, and offline or behind a PyPI mirror it fails.
AUDIT_SERVICE ?= pypi
audit: install-dev
	$(BIN)/pip-audit --strict --skip-editable --progress-spinner off \
		--vulnerability-service $(AUDIT_SERVICE)
	$(BIN)/pip-audit --strict --progress-spinner off --require-hashes --disable-pip \
		--vulnerability-service $(AUDIT_SERVICE) -r requirements/serve.lock

## Re-make requirements/serve.lock (the image's pinned, hashed service install) from
## requirements/serve.txt; needs pip-tools and the package index.
lock: install-dev
	$(BIN)/python -m pip install pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -c constraints.txt \
		--output-file requirements/serve.lock requirements/serve.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
