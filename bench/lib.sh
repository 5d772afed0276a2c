# shellcheck shell=bash
# Shell functions the load scripts share (bench/load.sh, bench/load_storage.sh, bench/e2e.sh).
# Sourced, not run. Callers define die() and set ROOT, THREADS, CONNECTIONS, DURATION, POST_LUA
# and BODY (and WORK, a temp dir, for the probe).

# A loopback port nobody listens on (a race with another process is possible but harmless: the
# server then fails to bind and the script stops).
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 40000))
    if [[ -z $(ss -Htln "sport = :$port") ]]; then echo "$port"; return; fi
  done
  die "no free port found"
}

wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

run_wrk() {  # run_wrk <url> <output file> [connections, default $CONNECTIONS]
  (cd "$ROOT" && UNIQUE_DELIVERY=1 BODY_FILE="$BODY" \
     wrk -t"$THREADS" -c"${3:-$CONNECTIONS}" -d"$DURATION" --latency -s "$POST_LUA" "$1") >"$2"
}

# CPU time (utime + stime, all threads) of the given processes, in clock ticks.
cpu_ticks() {
  local total=0 pid fields
  for pid in "$@"; do
    # Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(awk '{print $12 + $13}' <<<"$fields")))
  done
  echo "$total"
}
# Microseconds of CPU per request: cpu_us_per_request <ticks> <requests>.
cpu_us_per_request() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", (n > 0 ? t / hz / n * 1e6 : 0)}'
}

# wrk field extraction. Latencies are printed as wrk prints them (us/ms/s).
wrk_rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
wrk_total() { awk '/requests in/ {print $1}' "$1"; }
wrk_pct() { awk -v p="$2%" '$1 == p {print $2}' "$1"; }
# A wrk latency (850.00us, 1.20ms, 2.01s) in milliseconds.
wrk_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    printf "%.3f", (u == "us" ? n / 1000 : u == "s" ? n * 1000 : u == "m" ? n * 60000 : n)
  }'
}
wrk_avg() { awk '$1 == "Latency" && NF >= 4 {print $2; exit}' "$1"; }
wrk_non2xx() { awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' "$1" | tr -d ' '; }
wrk_sockerr() { sed -n 's/^ *Socket errors: *//p' "$1"; }
# Each Socket errors field (connect, read, write, timeout) summed.
wrk_sockerr_total() { wrk_sockerr "$1" | awk '{for (i = 1; i <= NF; i++) s += $i} END {print s + 0}'; }


# --- triggerd and nginx, as the load scripts start them (bench/load.sh, bench/e2e.sh) ---
# These also use BUILD_DIR and SECRET, and set TRIGGERD, TRIGGERD_PID, NGINX_PID (so that the
# caller's cleanup trap can stop them): call them directly, never in $(...).

# make_work_dir <name>: a fresh WORK dir (under TMPDIR) and the traps that, on exit, stop
# TRIGGERD_PID and NGINX_PID (TERM, then KILL after 5 s) and remove WORK.
make_work_dir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/triggerd-$1.XXXXXX")
  TRIGGERD_PID=
  NGINX_PID=
  trap stop_and_clean_up EXIT
  trap 'exit 130' INT TERM
}
# shellcheck disable=SC2317  # invoked by the trap
stop_and_clean_up() {
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

# The Release binary in $BUILD_DIR, built (with the given extra targets) when missing; a warning
# when a source is newer than it or the build is not Release. Sets TRIGGERD and BUILD_TYPE.
ensure_triggerd() {
  TRIGGERD=$BUILD_DIR/src/app/triggerd
  if [[ ! -x $TRIGGERD ]]; then
    echo "== building triggerd (Release) in $BUILD_DIR"
    if [[ ! -f $BUILD_DIR/build.ninja ]]; then
      cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTRIGGERD_BENCH=ON
    fi
    ninja -C "$BUILD_DIR" -j2 triggerd "$@"
  fi
  local newer
  newer=$(find "$ROOT/src" \( -name '*.cc' -o -name '*.h' -o -name '*.sql' \) -newer "$TRIGGERD" -print -quit)
  if [[ -n $newer ]]; then
    echo "warning: $TRIGGERD is older than $newer;" \
         "rebuild with: ninja -C $BUILD_DIR triggerd" >&2
  fi
  BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
  [[ $BUILD_TYPE == Release ]] || echo "warning: $BUILD_DIR is a '$BUILD_TYPE' build" >&2
}

# The settings every benchmark run uses: the per-source and per-workspace rate limits (defaults
# 500/s and 2,000/s) lifted, since the benchmark drives one source as hard as it can, which is
# precisely what they stop in production.
bench_config() { printf 'source_rate_limit: 0\nworkspace_rate_limit: 0\n'; }

# start_triggerd <dir> <config file>: a fresh triggerd on a free loopback port, data dir
# <dir>/data, output in <dir>/triggerd.{out,err}. Sets TRIGGERD_PID, TRIGGERD_BASE and ADMIN_KEY.
start_triggerd() {
  local dir=$1 port
  mkdir -p "$dir"
  "$TRIGGERD" serve --config "$2" --listen 127.0.0.1:0 --data-dir "$dir/data" \
    --log-level warn >"$dir/triggerd.out" 2>"$dir/triggerd.err" &
  TRIGGERD_PID=$!
  wait_for 20 grep -q '^listening on ' "$dir/triggerd.out" ||
    { cat "$dir/triggerd.err" >&2; die "triggerd did not start"; }
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/triggerd.out")
  TRIGGERD_BASE=http://127.0.0.1:$port
  ADMIN_KEY=$(tr -d '\n' <"$dir/data/admin-key")
}

# stop_triggerd <dir>: a clean stop (SIGTERM: stop accepting, finish in-flight, close the store),
# as the counts read from the database afterwards need.
stop_triggerd() {
  kill "$TRIGGERD_PID"
  wait "$TRIGGERD_PID" || die "triggerd exited with status $? (stderr: $(tail -5 "$1/triggerd.err"))"
  TRIGGERD_PID=
}

# api_post <path> <json body>: POST to triggerd's API with the admin key; prints the answer's
# body, dies unless it is a 2xx.
api_post() {
  local out code
  out=$(curl -sS --max-time 10 -w '\n%{http_code}' -X POST "$TRIGGERD_BASE$1" \
    -H "Authorization: Bearer $ADMIN_KEY" -H 'Content-Type: application/json' -d "$2")
  code=${out##*$'\n'}
  [[ $code == 2?? ]] || die "POST $1 answered $code: ${out%$'\n'*}"
  echo "${out%$'\n'*}"
}

# create_github_source <name>: a github source with secret $SECRET; prints its JSON.
create_github_source() {
  api_post /api/v1/sources "{\"name\":\"$1\",\"kind\":\"github\",\"secret\":\"$SECRET\"}"
}

# probe_source <ingest url> <delivery id>: one signed request before the load, since a wrong
# signature or URL would otherwise show up only as a whole run of 401s. Dies unless it is a 200.
probe_source() {
  local code sig
  sig=$(openssl dgst -sha256 -hmac "$SECRET" -r "$BODY" | cut -d' ' -f1)
  code=$(curl -sS --max-time 10 -o "$WORK/probe.json" -w '%{http_code}' -X POST "$1" \
    -H 'Content-Type: application/json' -H 'X-GitHub-Event: pull_request' \
    -H "X-GitHub-Delivery: $2" -H "X-Hub-Signature-256: sha256=$sig" --data-binary "@$BODY")
  [[ $code == 200 ]] || die "probe request to $1 answered $code: $(cat "$WORK/probe.json")"
}

# start_nginx <dir> <workers> <port>...: an nginx configured in <dir> answering `return 200` to
# every request (POSTs included) on each loopback port, access log off. Sets NGINX_PID.
start_nginx() {
  local dir=$1 workers=$2 port servers=""
  shift 2
  for port in "$@"; do
    servers+="  server { listen 127.0.0.1:$port; location / { return 200; } }"$'\n'
  done
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<NGINX_CONF
worker_processes $workers;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  # Persistent connections for the whole run, as triggerd keeps them (nginx's default closes a
  # connection after 1000 requests, which would make wrk reconnect).
  keepalive_requests 1000000;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
$servers}
NGINX_CONF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" &
  NGINX_PID=$!
  for port in "$@"; do
    wait_for 10 curl -sf --max-time 1 "http://127.0.0.1:$port/" ||
      { cat "$dir/error.log" >&2; die "nginx did not start"; }
  done
}

# stop_nginx: stops the nginx start_nginx started.
stop_nginx() {
  kill "$NGINX_PID"
  wait "$NGINX_PID" || true
  NGINX_PID=
}
