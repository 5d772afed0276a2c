#!/usr/bin/env bash
# The web console in a real browser: console_test.mjs drives Debian's headless Chromium with
# playwright-core (pinned in package.json; `npm ci --prefix tests/ui/browser`, which
# scripts/test.sh runs, installs it) against the triggerd binary of this build.
# Usage: run.sh <triggerd binary> <screenshot dir>
# Without node, the modules or /usr/bin/chromium (scripts/deps.sh installs it) the test is skipped
# (exit 77), except under CI=true where that is a failure: CI must run it.
set -euo pipefail
cd "$(dirname "$0")"
chromium=${TRIGGERD_CHROMIUM:-/usr/bin/chromium}
missing=""
command -v node >/dev/null 2>&1 || missing="node"
[ -f node_modules/playwright-core/package.json ] ||
  missing="${missing:+$missing, }$PWD/node_modules/playwright-core (run: npm ci --prefix tests/ui/browser)"
[ -x "$chromium" ] || missing="${missing:+$missing, }$chromium (run: apt-get install chromium)"
if [ -n "$missing" ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: ui browser test: missing $missing" >&2
    exit 1
  fi
  echo "SKIP: ui browser test: missing $missing" >&2
  exit 77
fi
exec node console_test.mjs "$1" "$2" "$chromium"
