#!/usr/bin/env bash
# Set up (once) and run the whole test suite, plus the lint and type checks; then run the App API suite and the
# metadata store tests again with the metadata on PostgreSQL (scripts/postgres.sh; skipped, with the reason, where
# PostgreSQL cannot be installed or started, unless MIXHOUSE_REQUIRE_POSTGRES=1; MIXHOUSE_POSTGRES=0 skips it).
# Extra arguments go to the first pytest run (the whole suite, metadata on SQLite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh server,dev
# Chromium, chromedriver and the official mixpanel-js for the browser tests (they skip, with the reason, without)
bash scripts/install-browser-deps.sh .venv/bin/python \
    || echo "warning: browser test dependencies could not be installed; the browser tests will skip"
.venv/bin/ruff check src tests bench
.venv/bin/mypy --strict src/mixhouse
.venv/bin/pytest "$@"
exec bash scripts/test-postgres.sh .venv/bin/python
