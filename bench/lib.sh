# Shell functions the load scripts share (bench/load.sh, bench/load_storage.sh). Sourced, not run.
# Callers define die() and set ROOT, THREADS, CONNECTIONS, DURATION, POST_LUA and BODY.

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
wrk_avg() { awk '$1 == "Latency" && NF >= 4 {print $2; exit}' "$1"; }
wrk_non2xx() { awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' "$1" | tr -d ' '; }
wrk_sockerr() { sed -n 's/^ *Socket errors: *//p' "$1"; }
# Each Socket errors field (connect, read, write, timeout) summed.
wrk_sockerr_total() { wrk_sockerr "$1" | awk '{for (i = 1; i <= NF; i++) s += $i} END {print s + 0}'; }

