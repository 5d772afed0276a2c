#!/usr/bin/env bash
# load_storage.sh: durable ingest throughput by storage backend, in one run on this machine:
#
#   sqlite x1     one node, the embedded default (<data-dir>/triggerd.db, synchronous=FULL)
#   postgres x1   one node on a PostgreSQL 15 cluster started here (fsync on, loopback)
#   postgres x2   two nodes sharing that cluster (a fresh database), each driven by its own wrk
#
# Each configuration gets the same wrk load as bench/load.sh (signed 8247-byte GitHub body, a
# unique delivery id per request, CONNECTIONS in all, split evenly over the nodes; with two nodes
# each wrk drives its own source, so their delivery ids never collide), then a clean stop and a
# count of the stored events. The summary gives req/s, the ratio to sqlite x1, latency, the CPU
# per request of the triggerd processes and of PostgreSQL (from /proc; wrk excluded), and checks
# that every acknowledged event is stored. All processes share this machine's cores (2 here):
# two nodes on one box measure the coordination cost, not added capacity.
#
# Usage: bench/load_storage.sh          DURATION=5s bench/load_storage.sh
# Environment: DURATION (10s), CONNECTIONS (64), THREADS (wrk threads per wrk, 2), BUILD_DIR
#   (build-bench, a Release build), TMPDIR. Exit 1 when a request failed or an event is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=$(cd "$ROOT/../shared" && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
SECRET=triggerd-bench-secret
POST_LUA=$SHARED/bench/post.lua
BODY=$SHARED/bench/github-pr.json
TRIGGERD=$BUILD_DIR/src/app/triggerd

die() { echo "load_storage.sh: $*" >&2; exit 1; }
for tool in wrk curl jq sqlite3 ss psql openssl; do
  command -v "$tool" >/dev/null || die "$tool is required"
done
[[ -x $TRIGGERD ]] || die "no $TRIGGERD: ninja -C $BUILD_DIR triggerd (a Release build)"
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/triggerd-storage.XXXXXX")
chmod 755 "$WORK"  # the PostgreSQL cluster under it belongs to the postgres user when run as root
NODE_PIDS=()
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local rc=$?
  for pid in "${NODE_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  bash "$ROOT/scripts/pg_cluster.sh" stop "$WORK/pg" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== PostgreSQL: a throw-away cluster under $WORK/pg"
PG_URL=$(bash "$ROOT/scripts/pg_cluster.sh" start "$WORK/pg")
PG_PID=$(head -1 "$WORK/pg/data/postmaster.pid")
# Every node of a cluster seals secrets with the same master key.
export TRIGGERD_MASTER_KEY=6c6f61642d73746f726167652d62656e63682d6d61737465722d6b65792d3332
printf 'source_rate_limit: 0\nworkspace_rate_limit: 0\n' >"$WORK/triggerd.yaml"

# start_node <dir> [database url]: sets NODE_PORT; the pid goes to NODE_PIDS (no subshell, so
# both stay visible to the caller and to the cleanup trap).
start_node() {
  local dir=$1 url=${2:-}
  mkdir -p "$dir"
  "$TRIGGERD" serve --config "$WORK/triggerd.yaml" --listen 127.0.0.1:0 --data-dir "$dir" \
    ${url:+--database-url "$url"} --log-level warn >"$dir.out" 2>"$dir.err" &
  NODE_PIDS+=($!)
  wait_for 30 grep -q '^listening on ' "$dir.out" ||
    { cat "$dir.err" >&2; die "triggerd did not start ($dir)"; }
  NODE_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir.out")
}

# create_source <port> <admin key> <name>: prints the source's ingest URL (on that node), after
# one probe request.
create_source() {
  local url
  url=$(TRIGGERD_BASE=http://127.0.0.1:$1 ADMIN_KEY=$2 create_github_source "$3" | jq -r '.url // empty')
  [[ -n $url ]] || die "creating a source gave no url"
  probe_source "$url" "probe-$3"
  echo "$url"
}

# CPU ticks of the postmaster and its backends (the nodes' pooled connections live for the run).
# shellcheck disable=SC2046  # a list of pids
pg_ticks() { cpu_ticks "$PG_PID" $(pgrep -P "$PG_PID"); }

declare -A RESULT
# measure <label> <nodes> <storage: sqlite | a database name>
measure() {
  local label=$1 nodes=$2 storage=$3 url="" i ports=() urls=() admin
  [[ $storage == sqlite ]] || { psql -q "$PG_URL" -c "CREATE DATABASE $storage"; url=${PG_URL%/*}/$storage; }
  NODE_PIDS=()
  for ((i = 0; i < nodes; i++)); do
    start_node "$WORK/$label-$i" "$url"
    ports+=("$NODE_PORT")
  done
  admin=$(tr -d '\n' <"$WORK/$label-0/admin-key")
  for ((i = 0; i < nodes; i++)); do urls+=("$(create_source "${ports[$i]}" "$admin" "bench$i")"); done
  echo "== $label: wrk -t$THREADS -c$((CONNECTIONS / nodes)) -d$DURATION against each of $nodes node(s)"
  local cpu0 pg0 wrk_pids=()
  cpu0=$(cpu_ticks "${NODE_PIDS[@]}")
  pg0=$(pg_ticks)
  for ((i = 0; i < nodes; i++)); do
    run_wrk "${urls[$i]}" "$WORK/wrk-$label-$i.txt" $((CONNECTIONS / nodes)) &
    wrk_pids+=($!)
  done
  wait "${wrk_pids[@]}"
  local cpu pg rps=0 total=0 non2xx=0 sockerr=0 p99="" f
  cpu=$(($(cpu_ticks "${NODE_PIDS[@]}") - cpu0))
  pg=$(($(pg_ticks) - pg0))
  for ((i = 0; i < nodes; i++)); do
    f=$WORK/wrk-$label-$i.txt
    rps=$(awk -v a="$rps" -v b="$(wrk_rps "$f")" 'BEGIN {printf "%.0f", a + b}')
    total=$((total + $(wrk_total "$f")))
    non2xx=$((non2xx + $(n=$(wrk_non2xx "$f"); echo "${n:-0}")))
    sockerr=$((sockerr + $(wrk_sockerr_total "$f")))
    p99+="${p99:+/}$(wrk_pct "$f" 99)"
  done
  for pid in "${NODE_PIDS[@]}"; do kill "$pid"; done
  for pid in "${NODE_PIDS[@]}"; do wait "$pid" || die "a node of $label exited with status $?"; done
  NODE_PIDS=()
  local stored
  if [[ $storage == sqlite ]]; then
    stored=$(sqlite3 "$WORK/$label-0/triggerd.db" 'SELECT count(*) FROM events')
  else
    stored=$(psql -tA "$url" -c 'SELECT count(*) FROM events')
  fi
  stored=$((stored - nodes))  # the probes
  RESULT[$label]="$rps $total $non2xx $sockerr $p99 $(cpu_us_per_request "$cpu" "$total") $(cpu_us_per_request "$pg" "$total") $stored"
}

echo "== triggerd: $TRIGGERD, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
measure "sqlite-x1" 1 sqlite
measure "postgres-x1" 1 bench_one
measure "postgres-x2" 2 bench_two

echo
echo "== summary (wrk, POST 8247-byte signed GitHub body, $CONNECTIONS connections in all, $DURATION, $(nproc) cores shared by everything)"
printf '%-12s %9s %9s %14s %8s %14s %14s %9s\n' "" req/s vs-sqlite p99 non-2xx "triggerd-cpu/req" "postgres-cpu/req" stored
base=$(cut -d' ' -f1 <<<"${RESULT[sqlite-x1]}")
failed=0
for label in sqlite-x1 postgres-x1 postgres-x2; do
  read -r rps total non2xx sockerr p99 tcpu pcpu stored <<<"${RESULT[$label]}"
  ratio=$(awk -v r="$rps" -v b="$base" 'BEGIN {printf "%.2f", (b > 0 ? r / b : 0)}')
  [[ $label == sqlite-x1 ]] && pcpu=-
  printf '%-12s %9s %9s %14s %8s %13sus %13s%s %9s\n' "$label" "$rps" "$ratio" "$p99" "$non2xx" "$tcpu" "$pcpu" \
    "$([[ $pcpu == - ]] || echo us)" "$stored"
  if ((non2xx > 0 || sockerr > 0)); then echo "FAIL: $label: $non2xx non-2xx, $sockerr socket errors" >&2; failed=1; fi
  if ((stored < total - non2xx)); then
    echo "FAIL: $label: $stored events stored for $((total - non2xx)) acknowledged" >&2; failed=1
  fi
done
exit "$failed"
