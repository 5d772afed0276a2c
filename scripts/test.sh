#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine (as root) and runs the whole test suite:
# a Release build (benchmarks compiled too), the same tests under ASan+UBSan, and a short
# libFuzzer run of every fuzz target. Exits non-zero on any failure. .ci/run calls this.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

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
