# Developer shortcuts. `make check` is a superset of CI (.ci/run).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install lint types test test-postgres check serve demo bench browser-deps

$(PY):
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)

install: $(PY)
	$(PY) -m pip install --quiet -e '.[server,dev]'

lint: install
	$(VENV)/bin/ruff check src tests bench

types: install
	$(VENV)/bin/mypy --strict src/mixhouse

test: install
	$(VENV)/bin/pytest -q

# The App API suite and the metadata store tests with the metadata on a throwaway PostgreSQL (skips without one).
test-postgres: install
	bash scripts/test-postgres.sh $(PY)

browser-deps:
	bash scripts/install-browser-deps.sh

check: browser-deps lint types test test-postgres
	duplicates --change || true

serve: install
	$(VENV)/bin/mixhouse serve --demo

bench: install
	$(PY) bench/ingest.py --events 2000000
