#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine (as root) and runs triggerd on the embedded
# default: SQLite in ./data, listening on 127.0.0.1:8080. Extra arguments go to `triggerd serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIGGERD_BENCH=OFF >/dev/null
ninja -C build-release triggerd
exec ./build-release/src/app/triggerd serve --listen 127.0.0.1:8080 --data-dir ./data "$@"
