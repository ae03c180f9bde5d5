#!/usr/bin/env bash
# A PostgreSQL streaming replica of the local cluster (5432) on 127.0.0.1:5433, for the replica
# tests and for trying DATABASE_REPLICA_URL (docs/OPERATIONS.md).
#   scripts/replica.sh start    allow replication on the primary (idempotent), take a fresh
#                               pg_basebackup, start the standby and wait until it streams
#   scripts/replica.sh stop     stop the standby (its data directory stays until the next start)
#   scripts/replica.sh status   "streaming", "stopped" or "not streaming" (exit 1 unless streaming)
# Environment: PRIMARY_PORT (5432), REPLICA_PORT (5433), REPLICA_DIR (/var/lib/postgresql/replica),
# PG_BIN (/usr/lib/postgresql/15/bin), PRIMARY_CONF_DIR (/etc/postgresql/15/main). Run as root
# (it runs PostgreSQL as `postgres`) or as postgres.
set -euo pipefail

PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_DIR=${REPLICA_DIR:-/var/lib/postgresql/replica}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PRIMARY_CONF_DIR=${PRIMARY_CONF_DIR:-/etc/postgresql/15/main}
HOST=127.0.0.1

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

psql_primary() { psql -h "$HOST" -p "$PRIMARY_PORT" -U postgres -d postgres -Atqc "$1"; }
psql_replica() { psql -h "$HOST" -p "$REPLICA_PORT" -U postgres -d postgres -Atqc "$1" 2>/dev/null; }

running() { [ -f "$REPLICA_DIR/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" status >/dev/null 2>&1; }

streaming() {
  [ "$(psql_replica "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" || true)" = t ]
}

prepare_primary() {
  # Replication over loopback: a `replication` line in pg_hba.conf (the `all` database does not
  # cover it), wal_level replica and WAL senders. Added once; a reload is enough for pg_hba.
  local hba="$PRIMARY_CONF_DIR/pg_hba.conf"
  if ! grep -Eq "^host[[:space:]]+replication[[:space:]]+postgres[[:space:]]+127\.0\.0\.1/32" "$hba"; then
    echo "host replication postgres 127.0.0.1/32 trust  # scripts/replica.sh" >>"$hba"
    psql_primary "SELECT pg_reload_conf()" >/dev/null
  fi
  local level senders
  level=$(psql_primary "SHOW wal_level")
  senders=$(psql_primary "SHOW max_wal_senders")
  if [ "$level" = minimal ] || [ "$senders" -lt 2 ]; then
    echo "FAIL: the primary needs wal_level=replica and max_wal_senders>=2 (a restart): now $level, $senders" >&2
    exit 1
  fi
}

start() {
  if running && streaming; then
    echo "replica: already streaming on $HOST:$REPLICA_PORT"
    return 0
  fi
  running && as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" stop -m fast -w >/dev/null
  prepare_primary
  # A fresh copy each time: an old one may need WAL the primary has recycled since (no slot is
  # kept, so a stopped replica never makes the primary keep WAL).
  rm -rf "$REPLICA_DIR"
  install -d -o postgres -g postgres -m 700 "$REPLICA_DIR"
  as_postgres "$PG_BIN/pg_basebackup" -h "$HOST" -p "$PRIMARY_PORT" -U postgres -D "$REPLICA_DIR" \
    -X stream -R -c fast --no-sync
  # Debian keeps the configuration outside the data directory: the standby gets its own.
  as_postgres tee "$REPLICA_DIR/postgresql.conf" >/dev/null <<EOF
port = $REPLICA_PORT
listen_addresses = '$HOST'
unix_socket_directories = '/tmp'
hot_standby = on
hot_standby_feedback = on
max_connections = 100
shared_buffers = 64MB
fsync = off
autovacuum = off
jit = off
EOF
  as_postgres tee "$REPLICA_DIR/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all $HOST/32 trust
EOF
  as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/replica.log" -w -t 60 start >/dev/null
  for _ in $(seq 1 60); do
    if streaming; then
      echo "replica: streaming on $HOST:$REPLICA_PORT"
      return 0
    fi
    sleep 0.5
  done
  echo "FAIL: the replica does not stream (see $REPLICA_DIR/replica.log)" >&2
  exit 1
}

stop() {
  if running; then
    as_postgres "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" stop -m fast -w >/dev/null
  fi
  echo "replica: stopped"
}

status() {
  if ! running; then echo stopped; return 1; fi
  if streaming; then echo streaming; else echo "not streaming"; return 1; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
