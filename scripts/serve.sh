#!/usr/bin/env bash
# Set up (once) and start a Mixhouse server on embedded storage. Extra arguments go to `mixhouse serve`,
# e.g. `bash scripts/serve.sh --demo` to create a demo project with data on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh server
exec .venv/bin/mixhouse serve "$@"
