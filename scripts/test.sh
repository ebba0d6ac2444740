#!/usr/bin/env bash
# Set up (once) and run the whole test suite, plus the lint and type checks. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh server,dev
# Chromium, chromedriver and the official mixpanel-js for the browser tests (they skip, with the reason, without)
bash scripts/install-browser-deps.sh .venv/bin/python \
    || echo "warning: browser test dependencies could not be installed; the browser tests will skip"
.venv/bin/ruff check src tests bench
.venv/bin/mypy --strict src/mixhouse
exec .venv/bin/pytest "$@"
