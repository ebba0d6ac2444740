#!/usr/bin/env bash
# Install what tests/e2e/test_browser_js.py needs: Debian's Chromium + chromedriver, the pinned official mixpanel-js
# (npm, tests/browser/package.json + package-lock.json) and the Selenium Python bindings. Idempotent: every step is
# skipped when already done. Never lets a tool download a browser of its own.
# Usage: bash scripts/install-browser-deps.sh [PYTHON]
#   PYTHON: the interpreter whose environment gets selenium; default: the active $VIRTUAL_ENV, else .venv/bin/python
#   (created as scripts/test.sh does when missing, so running this before or after test.sh lands in the same venv).
set -euo pipefail
cd "$(dirname "$0")/.."

SELENIUM_VERSION="4.51.0"  # 4.52.0 needs a certifi newer than the package index serves

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "install-browser-deps: apt-get install chromium chromium-driver"
    apt_install chromium chromium-driver
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "install-browser-deps: apt-get install npm"
    apt_install npm
fi

want=$(sed -n 's/.*"mixpanel-browser": *"\([^"]*\)".*/\1/p' tests/browser/package.json)
have=""
installed=tests/browser/node_modules/mixpanel-browser/package.json
[ -f "$installed" ] && have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$installed" | head -1)
if [ "$want" != "$have" ]; then
    echo "install-browser-deps: npm ci in tests/browser (mixpanel-browser $want)"
    (cd tests/browser && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi

PY=${1:-}
if [ -z "$PY" ] && [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
    PY="$VIRTUAL_ENV/bin/python"
fi
if [ -z "$PY" ]; then
    if [ ! -x .venv/bin/python ]; then
        base=${PYTHON:-python3.11}
        command -v "$base" >/dev/null 2>&1 || base=python3
        "$base" -m venv .venv
    fi
    PY=.venv/bin/python
fi
if ! "$PY" -c "import sys, selenium; sys.exit(selenium.__version__ != '$SELENIUM_VERSION')" 2>/dev/null; then
    echo "install-browser-deps: pip install selenium==$SELENIUM_VERSION into $PY"
    "$PY" -m pip install --quiet "selenium==$SELENIUM_VERSION"
fi

echo "install-browser-deps: ok ($(chromium --version 2>/dev/null | head -1); chromedriver $(chromedriver --version | cut -d' ' -f2); mixpanel-browser $want; selenium $SELENIUM_VERSION)"
