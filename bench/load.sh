#!/usr/bin/env bash
# load.sh: end-to-end ingest throughput of triggerd against nginx `return 200` on the same box.
#
# Starts a fresh triggerd (Release build in build-bench/, built when missing) on a free loopback
# port with a temp data dir, creates a `github` source (secret triggerd-bench-secret), drives it
# with wrk + ../shared/bench/post.lua (signed 8247-byte pull_request body, a unique
# X-GitHub-Delivery per request so nothing is a duplicate), then drives an nginx that this script
# configures in the same temp dir (2 workers, `return 200`, access log off) with the same wrk
# command, and prints one summary: req/s and latency of both, the ratio triggerd/nginx, events
# stored (counted with sqlite3 after a clean stop), non-2xx answers, triggerd's peak RSS, and
# the server CPU time per request of each (from /proc, wrk excluded): on a shared machine the
# req/s swing with other load, the CPU per request much less.
#
# Every triggerd answer is a 200 only after its event is committed with synchronous=FULL (group
# commit), so the triggerd figure is for durable events; nginx stores nothing. wrk runs on the
# same cores as the server under test: both figures include that contention.
# docs/ARCHITECTURE.md ("Where the time goes") breaks the CPU per request down and estimates
# the floor of a durable design on this box.
#
# Usage (from anywhere; loopback only, every run bounded):
#   bench/load.sh
#   DURATION=5s bench/load.sh            # quick run
# Environment: DURATION (15s), CONNECTIONS (64), THREADS (wrk threads, 2),
#   NGINX_WORKERS (2), BUILD_DIR (build-bench), TMPDIR (where the data dir goes; must be a real
#   disk for fsync to cost what it costs in production).
# Exit status: 0 when every request got a 2xx and every acknowledged event is stored, else 1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(cd "$ROOT/../shared" && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
NGINX_WORKERS=${NGINX_WORKERS:-2}
SECRET=triggerd-bench-secret
POST_LUA=$SHARED/bench/post.lua
BODY=$SHARED/bench/github-pr.json

die() { echo "load.sh: $*" >&2; exit 1; }
for tool in wrk nginx curl jq sqlite3 ss openssl; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
[[ $DURATION =~ ^[0-9]+[smh]?$ ]] || die "DURATION must look like 15s, got '$DURATION'"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
ensure_triggerd ingest_bench

make_work_dir load

echo "== triggerd: $TRIGGERD ($BUILD_TYPE), data dir $WORK/data ($(stat -f -c %T "$WORK"))"
echo "   machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
bench_config >"$WORK/triggerd.yaml"
start_triggerd "$WORK" "$WORK/triggerd.yaml"
URL=$(create_github_source bench | jq -r '.url // empty')
[[ -n $URL ]] || die "creating the source gave no url"
probe_source "$URL" load-sh-probe

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION against triggerd $URL"
T_CPU0=$(cpu_ticks "$TRIGGERD_PID")
# fsync-family syscalls of triggerd during the run, when perf may trace them: one per group
# commit (the WAL fsync) plus the checkpointer's database-file fsyncs, so requests / syncs is a
# slight underestimate of the mean batch.
PERF_PID=
if command -v perf >/dev/null; then
  perf stat -x, -o "$WORK/perf-syncs.txt" -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync \
    -p "$TRIGGERD_PID" >/dev/null 2>&1 &
  PERF_PID=$!
fi
run_wrk "$URL" "$WORK/wrk-triggerd.txt"
T_CPU=$(($(cpu_ticks "$TRIGGERD_PID") - T_CPU0))
T_SYNCS=
if [[ -n $PERF_PID ]]; then
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  T_SYNCS=$(awk -F, '/syscalls:sys_enter_f/ && $1 ~ /^[0-9]+$/ {s += $1} END {if (NR) print s}' \
    "$WORK/perf-syncs.txt" 2>/dev/null || true)
fi
T_LOAD=$(cut -d' ' -f1 /proc/loadavg)
cat "$WORK/wrk-triggerd.txt"
RSS_PEAK=$(awk '/^VmHWM:/ {print $2 " " $3}' "/proc/$TRIGGERD_PID/status")

# A clean stop before counting.
stop_triggerd "$WORK"
STORED=$(sqlite3 "$WORK/data/triggerd.db" 'SELECT count(*) FROM events')
STORED=$((STORED - 1))  # the probe

NPORT=$(free_port)
start_nginx "$WORK/nginx" "$NGINX_WORKERS" "$NPORT"
NGINX_URL=http://127.0.0.1:$NPORT/${URL#*://*/}  # the same path

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION against nginx (return 200) $NGINX_URL"
NGINX_WORKERS_PIDS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
# shellcheck disable=SC2086  # a list of pids
N_CPU0=$(cpu_ticks $NGINX_WORKERS_PIDS)
run_wrk "$NGINX_URL" "$WORK/wrk-nginx.txt"
# shellcheck disable=SC2086
N_CPU=$(($(cpu_ticks $NGINX_WORKERS_PIDS) - N_CPU0))
N_LOAD=$(cut -d' ' -f1 /proc/loadavg)
cat "$WORK/wrk-nginx.txt"
stop_nginx

T_RPS=$(wrk_rps "$WORK/wrk-triggerd.txt"); N_RPS=$(wrk_rps "$WORK/wrk-nginx.txt")
T_TOTAL=$(wrk_total "$WORK/wrk-triggerd.txt")
T_NON2XX=$(wrk_non2xx "$WORK/wrk-triggerd.txt"); T_NON2XX=${T_NON2XX:-0}
N_NON2XX=$(wrk_non2xx "$WORK/wrk-nginx.txt"); N_NON2XX=${N_NON2XX:-0}
T_SOCKERR=$(wrk_sockerr_total "$WORK/wrk-triggerd.txt")
N_SOCKERR=$(wrk_sockerr_total "$WORK/wrk-nginx.txt")
T_OK=$((T_TOTAL - T_NON2XX))
N_TOTAL=$(wrk_total "$WORK/wrk-nginx.txt")
RATIO=$(awk -v t="$T_RPS" -v n="$N_RPS" 'BEGIN {printf "%.1f%%", (n > 0 ? 100 * t / n : 0)}')

echo
echo "== summary (wrk -t$THREADS -c$CONNECTIONS -d$DURATION, POST 8247-byte signed GitHub body, $(nproc) cores shared with wrk)"
printf '%-9s %12s %10s %10s %10s %10s %10s %12s\n' "" req/s avg p50 p90 p99 non-2xx socket-errs
for who in triggerd nginx; do
  f=$WORK/wrk-$who.txt
  if [[ $who == triggerd ]]; then n=$T_NON2XX; s=$T_SOCKERR; else n=$N_NON2XX; s=$N_SOCKERR; fi
  printf '%-9s %12s %10s %10s %10s %10s %10s %12s\n' "$who" "$(wrk_rps "$f")" "$(wrk_avg "$f")" \
    "$(wrk_pct "$f" 50)" "$(wrk_pct "$f" 90)" "$(wrk_pct "$f" 99)" "$n" "$s"
done
echo "triggerd/nginx throughput: $RATIO (target >= 50%)"
echo "events stored: $STORED (wrk saw $T_OK answered 2xx; up to $CONNECTIONS more may be stored" \
     "for requests wrk abandoned at the deadline)"
echo "triggerd peak RSS (VmHWM): $RSS_PEAK"
echo "server CPU per request (all threads, wrk excluded): triggerd" \
     "$(cpu_us_per_request "$T_CPU" "$T_TOTAL") us, nginx workers $(cpu_us_per_request "$N_CPU" "$N_TOTAL") us"
if [[ -n $T_SYNCS && $T_SYNCS -gt 0 ]]; then
  echo "triggerd fsync/fdatasync calls: $T_SYNCS (~$(awk -v n="$T_TOTAL" -v s="$T_SYNCS" \
    'BEGIN {printf "%.1f", n / s}') requests per sync, i.e. the mean group-commit batch or a bit more)"
fi
echo "1-min load average at the end of each run: triggerd $T_LOAD, nginx $N_LOAD" \
     "($(nproc) cores; above ~3 other work was competing and the figures are noisy)"

failed=0
if ((T_NON2XX > 0)); then
  echo "FAIL: triggerd answered $T_NON2XX non-2xx responses" >&2; failed=1
fi
if ((T_SOCKERR > 0)); then
  echo "FAIL: wrk saw socket errors against triggerd: $(wrk_sockerr "$WORK/wrk-triggerd.txt")" >&2
  failed=1
fi
if ((T_TOTAL == 0)); then echo "FAIL: no request to triggerd completed" >&2; failed=1; fi
if ((STORED < T_OK)); then
  echo "FAIL: only $STORED events stored for $T_OK acknowledged requests" >&2; failed=1
fi
if ((N_NON2XX > 0 || N_SOCKERR > 0)); then
  echo "WARNING: nginx baseline had $N_NON2XX non-2xx and $N_SOCKERR socket errors" >&2
fi
exit "$failed"
