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
for tool in wrk nginx curl jq sqlite3 ss; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
[[ $DURATION =~ ^[0-9]+[smh]?$ ]] || die "DURATION must look like 15s, got '$DURATION'"

TRIGGERD=$BUILD_DIR/src/app/triggerd
if [[ ! -x $TRIGGERD ]]; then
  echo "== building triggerd (Release) in $BUILD_DIR"
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIGGERD_BENCH=ON
  fi
  ninja -C "$BUILD_DIR" -j2 triggerd ingest_bench
fi
newer=$(find "$ROOT/src" \( -name '*.cc' -o -name '*.h' -o -name '*.sql' \) -newer "$TRIGGERD" -print -quit)
if [[ -n $newer ]]; then
  echo "load.sh: warning: $TRIGGERD is older than $newer;" \
       "rebuild with: ninja -C $BUILD_DIR triggerd" >&2
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
[[ $build_type == Release ]] || echo "load.sh: warning: $BUILD_DIR is a '$build_type' build" >&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/triggerd-load.XXXXXX")
TRIGGERD_PID=
NGINX_PID=
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local rc=$?
  for pid in $NGINX_PID $TRIGGERD_PID; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in $NGINX_PID $TRIGGERD_PID; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

echo "== triggerd: $TRIGGERD ($build_type), data dir $WORK/data ($(stat -f -c %T "$WORK"))"
echo "   machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run"
# The benchmark drives one source as hard as it can: lift the per-source and per-workspace rate
# limits (defaults 500/s and 2,000/s), which exist precisely to stop that in production.
printf 'source_rate_limit: 0\nworkspace_rate_limit: 0\n' >"$WORK/triggerd.yaml"
"$TRIGGERD" serve --config "$WORK/triggerd.yaml" --listen 127.0.0.1:0 --data-dir "$WORK/data" \
  --log-level warn >"$WORK/triggerd.out" 2>"$WORK/triggerd.err" &
TRIGGERD_PID=$!
wait_for 20 grep -q '^listening on ' "$WORK/triggerd.out" ||
  { cat "$WORK/triggerd.err" >&2; die "triggerd did not start"; }
TPORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$WORK/triggerd.out")
ADMIN_KEY=$(tr -d '\n' <"$WORK/data/admin-key")
BASE=http://127.0.0.1:$TPORT

source_json=$(curl -sS --max-time 10 -X POST "$BASE/api/v1/sources" \
  -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' \
  -d "{\"name\":\"bench\",\"kind\":\"github\",\"secret\":\"$SECRET\"}")
URL=$(jq -r '.url // empty' <<<"$source_json")
[[ -n $URL ]] || die "creating the source failed: $source_json"

# One signed request first: a wrong signature or URL would otherwise show up only as 15 s of 401s.
probe=$(curl -sS --max-time 10 -o "$WORK/probe.json" -w '%{http_code}' -X POST "$URL" \
  -H 'Content-Type: application/json' -H 'X-GitHub-Event: pull_request' \
  -H 'X-GitHub-Delivery: load-sh-probe' \
  -H "X-Hub-Signature-256: sha256=$(openssl dgst -sha256 -hmac "$SECRET" -r "$BODY" | cut -d' ' -f1)" \
  --data-binary "@$BODY")
[[ $probe == 200 ]] || die "probe request answered $probe: $(cat "$WORK/probe.json")"

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

# A clean stop (SIGTERM: stop accepting, finish in-flight, close the store) before counting.
kill "$TRIGGERD_PID"
wait "$TRIGGERD_PID" || die "triggerd exited with status $? (stderr: $(tail -5 "$WORK/triggerd.err"))"
TRIGGERD_PID=
STORED=$(sqlite3 "$WORK/data/triggerd.db" 'SELECT count(*) FROM events')
STORED=$((STORED - 1))  # the probe

NPORT=$(free_port)
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
master_process on;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  # Persistent connections for the whole run, as triggerd keeps them (nginx's default closes a
  # connection after 1000 requests, which would make wrk reconnect).
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx/client_body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  server {
    listen 127.0.0.1:$NPORT;
    location / { return 200; }
  }
}
EOF
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" &
NGINX_PID=$!
wait_for 10 curl -sf --max-time 1 "http://127.0.0.1:$NPORT/" ||
  { cat "$WORK/nginx/error.log" >&2; die "nginx did not start"; }
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
kill "$NGINX_PID"
wait "$NGINX_PID" || true
NGINX_PID=

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
