#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine (as root) and runs the whole test suite:
# a Release build (benchmarks compiled too), the filter engine under valgrind memcheck, the chaos
# test (kill -9 under load), the same tests under ASan+UBSan, and a libFuzzer run of every fuzz
# target (FUZZ_SECONDS each, default 60). Exits non-zero on any failure. .ci/run calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

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

echo "== ASan+UBSan build and tests"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTRIGGERD_SANITIZE=ON \
  -DTRIGGERD_BENCH=OFF >/dev/null
ninja -C build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan -j"$jobs" --output-on-failure --timeout 600

if [ -f scripts/fuzz.sh ]; then
  echo "== libFuzzer, ${FUZZ_SECONDS}s per target"
  bash scripts/fuzz.sh "$FUZZ_SECONDS"
fi
