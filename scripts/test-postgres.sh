#!/usr/bin/env bash
# The PostgreSQL pass of scripts/test.sh: start a throwaway PostgreSQL (scripts/postgres.sh, installed from Debian
# packages when missing), then run the App API end-to-end suite, the PostgreSQL metadata test and the metadata store
# tests with the metadata there; the cluster is stopped and deleted on exit.
# Usage: bash scripts/test-postgres.sh [PYTHON] [PYTEST ARGS...]   (PYTHON: default .venv/bin/python)
# Where PostgreSQL cannot be installed or started this prints why and exits 0, unless MIXHOUSE_REQUIRE_POSTGRES=1
# (CI), where it fails; MIXHOUSE_POSTGRES=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
shift || true

if [ "${MIXHOUSE_POSTGRES:-1}" = "0" ]; then
    echo "PostgreSQL pass: skipped (MIXHOUSE_POSTGRES=0)"
    exit 0
fi

unavailable() {
    if [ "${MIXHOUSE_REQUIRE_POSTGRES:-0}" = "1" ]; then
        echo "error: PostgreSQL pass: $1 (MIXHOUSE_REQUIRE_POSTGRES=1)" >&2
        exit 1
    fi
    echo "PostgreSQL pass: SKIPPED: $1 (as root or with passwordless sudo, scripts/postgres.sh installs it from" \
        "Debian packages; MIXHOUSE_POSTGRES=0 hides this)"
    exit 0
}

started=$(date +%s)
bash scripts/postgres.sh install || unavailable "PostgreSQL is not installed and could not be installed"
cluster=$(mktemp -d /tmp/mixhouse-pg.XXXXXX)  # not $TMPDIR: the server's user (postgres, when root) must reach it
trap 'bash scripts/postgres.sh stop "$cluster"' EXIT
trap 'exit 130' INT TERM  # exit through the EXIT trap: the cluster never outlives the pass
urls=$(bash scripts/postgres.sh start "$cluster" mixhouse mixhouse_unit) || unavailable "PostgreSQL did not start"
app_url=$(sed -n 1p <<<"$urls")
unit_url=$(sed -n 2p <<<"$urls")
echo "PostgreSQL pass: metadata on ${app_url} (cluster up in $(( $(date +%s) - started )) s)"

# The modules share one database (a server per session, projects per module): empty it once, before they start.
"$PY" -m tests.support.meta_db reset "$app_url"
# The metadata store tests empty their own database before and after each test: keep it apart from the servers'.
MIXHOUSE_META_URL=$app_url MIXHOUSE_TEST_POSTGRES_URL=$unit_url "$PY" -m pytest -q "$@" \
    tests/e2e/test_app_*.py tests/e2e/test_feature_flags.py tests/e2e/test_oauth.py tests/e2e/test_experiments.py tests/e2e/test_alerts.py \
    tests/e2e/test_meta_postgres.py tests/unit/test_meta_store.py
echo "PostgreSQL pass: done in $(( $(date +%s) - started )) s"
