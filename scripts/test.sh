#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine (as root) and runs the whole test suite:
# a throw-away PostgreSQL cluster (the store contract tests run on SQLite and PostgreSQL), a
# Release build (benchmarks compiled too), the filter engine under valgrind memcheck, the chaos
# tests (kill -9 under load: one node on SQLite, then two nodes on PostgreSQL), the same tests
# under ASan+UBSan, the web console in Debian's Chromium, and a libFuzzer run of every fuzz
# target (scripts/fuzz.sh --ci: a fixed seed and budget, so a commit's verdict does not depend on
# luck; exploratory fuzzing is `scripts/fuzz.sh SECONDS`). Exits non-zero on any failure.
# .ci/run calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/deps.sh
[ -d ../shared ] || { echo "test.sh: ../shared (reference material) must sit beside the repo" >&2; exit 1; }

echo "== npm ci: the providers' official signing libraries (tests/providers)"
# Only the npm registry is needed. If it cannot be reached the suite still runs: the signer tests
# then fail under CI=true (and skip elsewhere) with a message saying why.
npm ci --prefix tests/providers/npm --prefer-offline --no-audit --no-fund ||
  echo "test.sh: npm ci failed; the official-signer tests cannot run" >&2

echo "== npm ci: Redocly CLI, the OpenAPI linter (tests/openapi)"
# Same rule: without it the openapi_lint test fails under CI=true and skips elsewhere.
npm ci --prefix tests/openapi --prefer-offline --no-audit --no-fund ||
  echo "test.sh: npm ci failed; src/api/openapi.json cannot be linted" >&2

echo "== npm ci: playwright-core, the web console's browser test (tests/ui/browser)"
# Same rule: without it the ui_browser test fails under CI=true and skips elsewhere.
npm ci --prefix tests/ui/browser --prefer-offline --no-audit --no-fund ||
  echo "test.sh: npm ci failed; the web console cannot be tested in a browser" >&2

echo "== PostgreSQL: a throw-away cluster on loopback for the store contract tests"
# The same storage contract tests run against SQLite and PostgreSQL (tests/store); they find the
# server in TRIGGERD_TEST_PG_URL (and fail under CI=true without it). Stopped and removed on exit.
pg_dir=$(mktemp -d /tmp/triggerd-pg.XXXXXX)
trap 'bash scripts/pg_cluster.sh stop "$pg_dir"' EXIT
TRIGGERD_TEST_PG_URL=$(bash scripts/pg_cluster.sh start "$pg_dir")
export TRIGGERD_TEST_PG_URL

echo "== Release build and tests"
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIGGERD_BENCH=ON >/dev/null
ninja -C build-release -j"$jobs"
ctest --test-dir build-release -j"$jobs" --output-on-failure --timeout 300

echo "== valgrind memcheck: the filter engine (Release build)"
# The filter tests (conformance vectors included) and the filter fuzz corpus. filter_alloc_test
# is left out: it replaces the global allocation functions, which memcheck replaces too.
# scripts/valgrind.supp: RE2's intentional uninitialised reads and GoogleTest's byte printer.
memcheck=(valgrind --tool=memcheck --error-exitcode=1 --leak-check=full
          --errors-for-leak-kinds=definite --quiet --suppressions=scripts/valgrind.supp)
"${memcheck[@]}" build-release/tests/filter/filter_test --gtest_brief=1
"${memcheck[@]}" build-release/fuzz/filter_fuzz_corpus fuzz/corpus/filter
echo "valgrind: filter engine clean"

echo "== chaos: kill -9 under a signed load (Release binary)"
TRIGGERD_CHAOS_BUILD_DIR=build-release bash scripts/chaos.sh

echo "== chaos: two nodes on one PostgreSQL, one killed with kill -9 midway (Release binary)"
psql -q "$TRIGGERD_TEST_PG_URL" -c "CREATE DATABASE chaos"
TRIGGERD_CHAOS_BUILD_DIR=build-release bash scripts/chaos.sh --seconds 16 \
  --database-url "${TRIGGERD_TEST_PG_URL%/*}/chaos"

echo "== ASan+UBSan build and tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTRIGGERD_SANITIZE=ON \
  -DTRIGGERD_BENCH=OFF >/dev/null
ninja -C build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 600

if [ -f scripts/fuzz.sh ]; then
  echo "== libFuzzer: a fixed seed and budget per target"
  bash scripts/fuzz.sh --ci
fi
