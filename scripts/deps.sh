#!/usr/bin/env bash
# Installs every Debian 12 package triggerd needs to build, run, test and benchmark.
# Idempotent: apt is only called when a package is missing. Run as root.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git ccache
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libssl-dev libsqlite3-dev libcli11-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  libre2-dev libcurl4-openssl-dev libpq-dev
  # Schedules' time zones (src/schedule): cctz over the system tzdb (g++ 12 has no chrono tz).
  libcctz-dev tzdata
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  # Memcheck of the filter engine, once per CI run (scripts/test.sh).
  valgrind
  wrk nginx-light curl python3 procps
  # The PostgreSQL backend's tests and two-node chaos test: a throw-away cluster on loopback
  # (scripts/pg_cluster.sh; initdb and pg_ctl from the server package, psql from its client).
  postgresql
  # The web console's browser test (tests/ui/browser): Debian's Chromium, driven headless by
  # playwright-core (npm), which cannot download a browser of its own here.
  chromium
)
# Node.js and npm run the providers' official signing libraries in tests/providers (test tooling
# only, never part of the service). Debian's packages, unless a node is already installed: a
# newer one from elsewhere bundles its own npm, which Debian's npm package would conflict with.
# The pinned libraries want node >= 20 (Debian 12's is 18; the CI machines ship 20).
command -v node >/dev/null 2>&1 || command -v nodejs >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
