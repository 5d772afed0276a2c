#!/usr/bin/env bash
# Chaos test: a steady signed webhook load against the real triggerd (Release build) while it is
# killed with SIGKILL and restarted on the same data dir several times; then checks through the
# REST API that every acknowledged event is stored, every matching trigger has exactly one run per
# event, every run ended succeeded or dead and the agent endpoint saw every succeeded run
# (tests/chaos/chaos_driver.cc says exactly what is checked). Prints sent, acknowledged, stored,
# runs, deliveries, duplicate deliveries and lost; exits non-zero on any violation.
#
# Usage: scripts/chaos.sh [--seconds S] [--kills K] [--senders N] [--rate R]
#   (defaults 24 s of load, 4 kills, 4 senders at 40 deliveries/s each). Builds chaos_driver and
#   triggerd in $TRIGGERD_CHAOS_BUILD_DIR (default build-release/, configured Release if new).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TRIGGERD_CHAOS_BUILD_DIR:-$root/build-release}

log="$build/chaos-build.log"
mkdir -p "$build"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIGGERD_BENCH=OFF >"$log" 2>&1 ||
    { cat "$log" >&2; exit 2; }
fi
ninja -C "$build" -j"${TRIGGERD_CHAOS_JOBS:-$(nproc)}" chaos_driver triggerd >"$log" 2>&1 ||
  { cat "$log" >&2; exit 2; }
# A hard bound well above the driver's own (load phase + at most 120 s of drain + checks).
timeout 600 "$build/tests/chaos/chaos_driver" "$@"
