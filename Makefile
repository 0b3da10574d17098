# The README's two set-up commands: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck messages browsers test-sqlite test-postgres test-dates bench clean

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
	$(VENV)/bin/lint-imports --no-cache

browsers:
	@bash scripts/ensure-browser.sh

test: install lint browsers
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-dates
	@if [ -n "$$FANGKONG_TEST_DATABASE_URL" ]; then \
		$(MAKE) --no-print-directory test-postgres; \
	else echo "FANGKONG_TEST_DATABASE_URL not set: PostgreSQL run skipped"; fi

test-sqlite: $(STAMP)
	$(VENV)/bin/pytest -n 2 --dist loadgroup

test-postgres: $(STAMP)
	DATABASE_URL="$$FANGKONG_TEST_DATABASE_URL" $(VENV)/bin/pytest -n 2 --dist loadgroup -m "not browser"

# The date-sensitive tests (marker `dates`) again at awkward instants: a Monday, a Sunday
# evening, New Year's Eve just before midnight, 29 February, and Shanghai after midnight while
# UTC is still the day before, that one under another process time zone. FANGKONG_TEST_NOW
# is read by the clock fixture in tests/conftest.py.
TEST_DATES := 2027-03-15T09:30:00+08:00 2027-03-14T21:00:00+08:00 \
	2026-12-31T23:58:30+08:00 2028-02-29T12:00:00+08:00
DATES_PYTEST := $(VENV)/bin/pytest -n 2 --dist loadgroup -m "dates and not browser"

test-dates: $(STAMP)
	@set -e; for at in $(TEST_DATES); do \
		echo "date-sensitive tests at $$at"; \
		FANGKONG_TEST_NOW=$$at $(DATES_PYTEST); \
	done
	@echo "date-sensitive tests at 2027-01-01T07:30:00+08:00, TZ=America/Los_Angeles"
	@TZ=America/Los_Angeles FANGKONG_TEST_NOW=2027-01-01T07:30:00+08:00 $(DATES_PYTEST)

bench: install
	$(PY) bench/import.py

clean:
	rm -rf $(VENV) var
