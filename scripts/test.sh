#!/usr/bin/env bash
# Set up (once) and run the whole test suite, plus the lint and type checks. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[server,dev]'
# Chromium, chromedriver and the official mixpanel-js for the browser tests (they skip, with the reason, without)
bash scripts/install-browser-deps.sh .venv/bin/python \
    || echo "warning: browser test dependencies could not be installed; the browser tests will skip"
.venv/bin/ruff check src tests bench
.venv/bin/mypy --strict src/mixhouse
exec .venv/bin/pytest "$@"
