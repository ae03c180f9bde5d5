#!/usr/bin/env bash
# PgBouncer (Debian package) in transaction pooling in front of the local PostgreSQL (5432), on
# 127.0.0.1:6432, with a configuration generated under PGBOUNCER_DIR (docs/OPERATIONS.md).
#   scripts/pgbouncer.sh start    write the configuration, start PgBouncer, wait until it answers
#   scripts/pgbouncer.sh stop     stop it
#   scripts/pgbouncer.sh status   "running" or "stopped" (exit 1 when stopped)
# Every database of the server is reachable through it (a `*` entry): postgresql://postgres@127.0.0.1:6432/<db>.
# Environment: PGBOUNCER_PORT (6432), PRIMARY_PORT (5432), PGBOUNCER_DIR (/tmp/parcours-pgbouncer),
# PGBOUNCER_POOL_SIZE (4 server connections per database: small, so that clients share them).
set -euo pipefail

PGBOUNCER_PORT=${PGBOUNCER_PORT:-6432}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
PGBOUNCER_DIR=${PGBOUNCER_DIR:-/tmp/parcours-pgbouncer}
PGBOUNCER_POOL_SIZE=${PGBOUNCER_POOL_SIZE:-4}
HOST=127.0.0.1

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

running() {
  [ -f "$PGBOUNCER_DIR/pgbouncer.pid" ] && kill -0 "$(cat "$PGBOUNCER_DIR/pgbouncer.pid")" 2>/dev/null
}

start() {
  command -v pgbouncer >/dev/null || { echo "FAIL: pgbouncer is not installed (apt-get install pgbouncer)" >&2; exit 1; }
  if running; then
    echo "pgbouncer: already running on $HOST:$PGBOUNCER_PORT"
    return 0
  fi
  install -d -o postgres -g postgres -m 700 "$PGBOUNCER_DIR"
  # JIT and parallel workers off on every server connection (connect_query): the application's own
  # `SET`s on connect reach only the server connection that carried them (app/__init__.py).
  as_postgres tee "$PGBOUNCER_DIR/pgbouncer.ini" >/dev/null <<EOF
[databases]
* = host=$HOST port=$PRIMARY_PORT connect_query='SET jit = off; SET max_parallel_workers_per_gather = 0'

[pgbouncer]
listen_addr = $HOST
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $PGBOUNCER_DIR/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = $PGBOUNCER_POOL_SIZE
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = $PGBOUNCER_DIR/pgbouncer.log
pidfile = $PGBOUNCER_DIR/pgbouncer.pid
EOF
  echo '"postgres" ""' | as_postgres tee "$PGBOUNCER_DIR/userlist.txt" >/dev/null
  as_postgres pgbouncer -d -q "$PGBOUNCER_DIR/pgbouncer.ini"
  for _ in $(seq 1 50); do
    if psql -h "$HOST" -p "$PGBOUNCER_PORT" -U postgres -d postgres -Atqc "SELECT 1" >/dev/null 2>&1; then
      echo "pgbouncer: transaction pooling on $HOST:$PGBOUNCER_PORT"
      return 0
    fi
    sleep 0.2
  done
  echo "FAIL: pgbouncer does not answer (see $PGBOUNCER_DIR/pgbouncer.log)" >&2
  exit 1
}

stop() {
  if running; then
    local pid
    pid=$(cat "$PGBOUNCER_DIR/pgbouncer.pid")
    kill -INT "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  echo "pgbouncer: stopped"
}

status() {
  if running; then echo running; else echo stopped; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
