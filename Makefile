# The README's two set-up commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck messages browsers test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) messages

messages: $(STAMP)
	@bash scripts/compile-messages.sh $(PY)

run: install
	$(VENV)/bin/fangkong demo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check fangkong config tests bench
	$(VENV)/bin/ruff format --check fangkong config tests bench
	$(VENV)/bin/mypy fangkong

browsers:
	@bash scripts/ensure-browser.sh

test: install lint browsers
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$FANGKONG_TEST_DATABASE_URL" ]; then \
		$(MAKE) --no-print-directory test-postgres; \
	else echo "FANGKONG_TEST_DATABASE_URL not set: PostgreSQL run skipped"; fi

test-sqlite: $(STAMP)
	$(VENV)/bin/pytest -n 2 --dist loadgroup

test-postgres: $(STAMP)
	DATABASE_URL="$$FANGKONG_TEST_DATABASE_URL" $(VENV)/bin/pytest -n 2 --dist loadgroup -m "not browser"

bench: install
	$(PY) bench/import.py

clean:
	rm -rf $(VENV) var
