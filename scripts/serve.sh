#!/usr/bin/env bash
# Set up (once) and start a Mixhouse server on embedded storage. Extra arguments go to `mixhouse serve`,
# e.g. `bash scripts/serve.sh --demo` to create a demo project with data on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[server]'
exec .venv/bin/mixhouse serve "$@"
