#!/usr/bin/env bash
# Lints src/api/openapi.json with Redocly CLI (pinned in package.json; `npm ci --prefix
# tests/openapi`, which scripts/test.sh runs, installs it). Without node or the modules the test
# is skipped (exit 77), except under CI=true where that is a failure: CI must lint.
set -euo pipefail
cd "$(dirname "$0")"
redocly=node_modules/.bin/redocly
if ! command -v node >/dev/null 2>&1 || [ ! -x "$redocly" ]; then
  message="openapi lint: node or $PWD/$redocly is missing; run: npm ci --prefix tests/openapi"
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: $message" >&2
    exit 1
  fi
  echo "SKIP: $message" >&2
  exit 77
fi
# No telemetry, no update check: the test must not depend on the network.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
exec "$redocly" lint --config redocly.yaml ../../src/api/openapi.json
