#!/usr/bin/env bash
# Builds the libFuzzer targets with clang++-14 (ASan + UBSan) in build-fuzz/ and runs each for
# [seconds-per-target] seconds (default 60), starting from fuzz/corpus/<target>/. A target is
# every fuzz/<target>_fuzz.cc that fuzz/CMakeLists.txt registers (triggerd_fuzz_target).
# Exits non-zero when a target crashes or a sanitizer reports; the reproducer is left in
# build-fuzz/crashes/<target>/ (add it to fuzz/corpus/<target>/ once fixed, so the standalone
# runner keeps it as a regression test). Prints each target's and the total executions.
set -euo pipefail
seconds=${1:-60}
if ! [[ $seconds =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [seconds-per-target]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TRIGGERD_FUZZ_BUILD_DIR:-$root/build-fuzz}

mkdir -p "$build"
CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTRIGGERD_FUZZ=ON -DTRIGGERD_BENCH=OFF >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 2; }
ninja -C "$build" -j"${TRIGGERD_FUZZ_JOBS:-2}" fuzz_targets

targets=()
for source in "$root"/fuzz/*_fuzz.cc; do
  target=$(basename "$source" _fuzz.cc)
  if [[ -x $build/fuzz/${target}_fuzz ]]; then
    targets+=("$target")
  else
    echo "fuzz: $target: no ${target}_fuzz target in fuzz/CMakeLists.txt, skipped" >&2
  fi
done

total=0
status=0
for target in "${targets[@]}"; do
  corpus="$build/corpus/$target"  # grows as the fuzzer finds new coverage; seeds stay untouched
  crashes="$build/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  log="$build/$target.fuzz.log"
  # Inputs up to 8 KiB, except for whole requests: past the server's 16 KiB head limit (431).
  max_len=8192
  [[ $target == http_request ]] && max_len=20480
  echo "fuzz: $target for ${seconds}s"
  set +e
  "$build/fuzz/${target}_fuzz" "$corpus" "$root/fuzz/corpus/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  runs=${runs:-0}
  total=$((total + runs))
  if ((rc != 0)); then
    echo "fuzz: $target FAILED (exit $rc) after $runs executions; log: $log" >&2
    grep -E "ERROR|SUMMARY|artifact|Test unit written" "$log" >&2 || tail -20 "$log" >&2
    status=1
  else
    echo "fuzz: $target ok, $runs executions ($((runs / (seconds > 0 ? seconds : 1)))/s)"
  fi
done
echo "fuzz: total executions: $total"
exit $status
