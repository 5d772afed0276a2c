#!/usr/bin/env bash
# Builds the libFuzzer targets with clang++-14 (ASan + UBSan) in build-fuzz/ and runs each,
# starting from fuzz/corpus/<target>/. A target is every fuzz/<target>_fuzz.cc that
# fuzz/CMakeLists.txt registers (triggerd_fuzz_target). Two modes:
#
#   scripts/fuzz.sh [seconds-per-target]   explore: a random seed, a time budget (default 60 s),
#                                          the working corpus kept between runs (finds new bugs)
#   scripts/fuzz.sh --ci                   gate: a fixed seed and a fixed number of executions
#                                          per target from the committed seeds only, so the same
#                                          commit gives the same verdict on every machine (CI)
#
# Exits non-zero when a target crashes, times out or a sanitizer reports; the reproducer is left
# in build-fuzz/crashes/<target>/ and the end of the log is printed (add the reproducer to
# fuzz/corpus/<target>/ once fixed, so the standalone runner keeps it as a regression test).
# Prints each target's and the total executions.
set -euo pipefail
mode=explore
seconds=60
case ${1:-} in
  --ci) mode=ci ;;
  "") ;;
  *)
    if ! [[ $1 =~ ^[0-9]+$ ]]; then
      echo "usage: $0 [seconds-per-target | --ci]" >&2
      exit 2
    fi
    seconds=$1
    ;;
esac
# Executions per target in --ci mode: about 25 s each on a 2-core CI machine (the whole CI run
# must stay well under 45 minutes; explore mode is where long fuzzing belongs).
declare -A ci_runs=([body]=800000 [filter]=250000 [http_request]=5000 [signature_header]=400000)
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
  [[ $mode == ci ]] && rm -rf "$corpus"  # the committed seeds only, as on a fresh clone
  mkdir -p "$corpus" "$crashes"
  log="$build/$target.fuzz.log"
  # Inputs up to 8 KiB, except for whole requests: past the server's 16 KiB head limit (431).
  max_len=8192
  [[ $target == http_request ]] && max_len=20480
  if [[ $mode == ci ]]; then
    budget=(-seed=1 -runs="${ci_runs[$target]:-200000}")
    echo "fuzz: $target, ${ci_runs[$target]:-200000} executions from seed 1"
  else
    budget=(-max_total_time="$seconds")
    echo "fuzz: $target for ${seconds}s"
  fi
  set +e
  "$build/fuzz/${target}_fuzz" "$corpus" "$root/fuzz/corpus/$target" "${budget[@]}" \
    -timeout=30 -rss_limit_mb=2048 -max_len="$max_len" \
    -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  runs=${runs:-0}
  total=$((total + runs))
  if ((rc != 0)); then
    echo "fuzz: $target FAILED (exit $rc) after $runs executions; log: $log" >&2
    # The target's own message (e.g. body_fuzz: …), the sanitizer's report and the reproducer.
    grep -v -E "^#[0-9]+|^INFO:|^MERGE|^\s*$" "$log" | tail -60 >&2
    status=1
  else
    echo "fuzz: $target ok, $runs executions"
  fi
done
echo "fuzz: total executions: $total"
exit $status
