#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for tests and benchmarks, from Debian's postgresql package:
# initdb under DIR, a server on 127.0.0.1:PORT only (no Unix socket outside DIR), fsync on, and one
# database "triggerd" owned by the superuser "triggerd" (password-less: trust on loopback, which is
# only acceptable because the cluster lives for one test run).
#
#   scripts/pg_cluster.sh start DIR [PORT]   prints the connection URL on stdout
#   scripts/pg_cluster.sh stop DIR           stops the server (fast shutdown) and removes DIR
#   scripts/pg_cluster.sh url DIR            prints the URL of a running cluster
#
# initdb refuses to run as root, so as root the cluster belongs to the "postgres" system user that
# the package creates. PORT defaults to a free port picked by the kernel.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop|url DIR [PORT]" >&2; exit 2; }

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -x $bindir/initdb ]] || { echo "pg_cluster: no PostgreSQL server (apt install postgresql)" >&2; exit 2; }

as_owner() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case $cmd in
  start)
    port=${3:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [[ $(id -u) == 0 ]] && chown postgres: "$dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U triggerd -A trust -E UTF8 --no-locale \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 128MB
fsync = on
synchronous_commit = on
EOF
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U triggerd triggerd
    echo "postgres://triggerd@127.0.0.1:$port/triggerd" | tee "$dir/url"
    ;;
  stop)
    if [[ -d $dir/data ]]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  url)
    cat "$dir/url"
    ;;
  *)
    echo "usage: $0 start|stop|url DIR [PORT]" >&2
    exit 2
    ;;
esac
