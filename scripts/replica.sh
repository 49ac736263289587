#!/usr/bin/env bash
# A streaming read replica of a running PostgreSQL, in a data directory of its own.
#
#   scripts/replica.sh start DATADIR PORT   take a base backup of the primary into DATADIR (when
#                                           DATADIR holds none yet) and start it on 127.0.0.1:PORT;
#                                           a DATADIR that already holds one is only started again
#   scripts/replica.sh stop DATADIR         stop it (fast shutdown) and drop its replication slot
#                                           on the primary; DATADIR is kept
#   scripts/replica.sh status DATADIR       say whether it runs, and exit 0 if it does, 3 if not
#   scripts/replica.sh remove DATADIR       stop it, drop its replication slot on the primary
#                                           and delete DATADIR
#
# The primary is PRIMARY_CONNINFO (libpq key=value, default "host=127.0.0.1 port=5432
# user=postgres"): it must allow a replication connection from that user (wal_level replica or
# logical and max_wal_senders above 0, PostgreSQL's defaults; and a "replication" line in its
# pg_hba.conf, e.g. "host replication all 127.0.0.1/32 scram-sha-256", which Debian's lacks and
# scripts/ensure_services.sh adds when run as root).
# PG_BIN names the server's binaries (default: the newest under /usr/lib/postgresql); `start`
# waits REPLICA_START_TIMEOUT seconds (120) for the replica to accept connections. PostgreSQL
# refuses to run as root, so as root the replica runs as the `postgres` user, who must be able to
# reach DATADIR.
#
# A running replica has a replication slot on the primary (named from DATADIR), made with the
# base backup, so the primary keeps the WAL it has not received yet: a replica started while the
# primary writes a lot still catches up. `stop` drops the slot, so that a stopped replica never
# makes the primary keep WAL for it (its disk would fill); `start` makes it again. A replica
# stopped for longer than the primary keeps its WAL then cannot catch up: `remove` it and start
# it afresh.
# docs/operations.md, "A read replica", says how the hub reads from one.
set -euo pipefail

PRIMARY_CONNINFO=${PRIMARY_CONNINFO:-host=127.0.0.1 port=5432 user=postgres}
START_TIMEOUT=${REPLICA_START_TIMEOUT:-120}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
fail() { echo "replica.sh: $*" >&2; exit 1; }
[ -x "$PG_BIN/pg_ctl" ] || fail "no PostgreSQL server binaries in '$PG_BIN': set PG_BIN."

# As root, every server command runs as the postgres user.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
primary() { as_owner "$PG_BIN/psql" -X -A -t -v ON_ERROR_STOP=1 -d "$PRIMARY_CONNINFO dbname=postgres" -c "$1"; }
running() { as_owner "$PG_BIN/pg_ctl" -D "$1" status >/dev/null 2>&1; }
# The replication slot of a data directory: one per directory, a name PostgreSQL accepts.
slot_of() { echo "spoc_replica_$(printf '%s' "$1" | sha1sum | cut -c1-16)"; }
drop_slot() {
  local slot=$1
  # The primary's WAL sender lets the slot go a moment after its replica stops.
  for _ in $(seq 1 50); do
    [ "$(primary "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$slot'")" = 0 ] && return 0
    primary "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot' AND NOT active" >/dev/null 2>&1 || true
    sleep 0.2
  done
  fail "could not drop the replication slot $slot on the primary: drop it by hand (SELECT pg_drop_replication_slot('$slot'))."
}

# What a hot standby needs, checked on the primary first so that a refusal is one clear line
# instead of pg_basebackup's.
check_primary() {
  local wal_level senders
  wal_level=$(primary "SHOW wal_level") || fail "cannot reach the primary at '$PRIMARY_CONNINFO'."
  senders=$(primary "SHOW max_wal_senders")
  [ "$wal_level" != minimal ] || fail "the primary has wal_level = minimal: set it to replica and restart it."
  [ "$senders" -gt 0 ] || fail "the primary has max_wal_senders = 0: raise it and restart it."
  as_owner "$PG_BIN/psql" -X -A -t -d "$PRIMARY_CONNINFO replication=true" -c "IDENTIFY_SYSTEM" >/dev/null 2>&1 \
    || fail "the primary refuses a replication connection ('$PRIMARY_CONNINFO'): add 'host replication all 127.0.0.1/32 <method>' to its pg_hba.conf and reload it."
}

# The standby's own configuration. A Debian cluster keeps postgresql.conf and pg_hba.conf in
# /etc, outside the data directory the backup copies; and a hot standby refuses to start with
# fewer connections, worker processes, WAL senders, prepared transactions or locks than its
# primary, so those are copied from it.
configure() {
  local datadir=$1 port=$2 setting
  {
    echo "# Written by scripts/replica.sh: a hot standby of $PRIMARY_CONNINFO."
    echo "port = $port"
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = ''"
    echo "hot_standby = on"
    echo "hot_standby_feedback = on"
    echo "logging_collector = off"
    for setting in max_connections max_worker_processes max_wal_senders max_prepared_transactions \
      max_locks_per_transaction; do
      echo "$setting = $(primary "SHOW $setting")"
    done
  } >"$datadir/postgresql.conf"
  local hba
  hba=$(primary "SHOW hba_file")
  if [ "$(dirname "$hba")" != "$datadir" ]; then cp "$hba" "$datadir/pg_hba.conf"; fi
  [ -f "$datadir/pg_ident.conf" ] || : >"$datadir/pg_ident.conf"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$datadir/postgresql.conf" "$datadir/pg_hba.conf" "$datadir/pg_ident.conf"; fi
}

start() {
  local datadir=$1 port=$2
  [[ "$port" =~ ^[0-9]+$ ]] || fail "PORT must be a number, not '$port'."
  datadir=$(realpath -m "$datadir")
  if running "$datadir"; then echo "replica.sh: already running in $datadir"; return 0; fi
  if [ ! -f "$datadir/standby.signal" ]; then
    [ -z "$(ls -A "$datadir" 2>/dev/null)" ] || fail "$datadir is not empty and holds no standby: remove it or name another."
    check_primary
    mkdir -p "$datadir"
    chmod 700 "$datadir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$datadir"; fi
    as_owner test -w "$datadir" || fail "the postgres user cannot write $datadir: choose a directory it can reach (e.g. under /tmp or /var/lib/postgresql)."
    # A slot of this directory left by a replica whose directory was deleted by hand.
    drop_slot "$(slot_of "$datadir")"
    # -R writes standby.signal, primary_conninfo and primary_slot_name; -C -S creates the slot;
    # -X stream copies the WAL written meanwhile;
    # -c fast checkpoints at once instead of waiting for the next one; --no-sync leaves the
    # flush to disk to the server, which syncs the whole directory as it first starts from a
    # backup anyway (once, not twice).
    as_owner "$PG_BIN/pg_basebackup" -d "$PRIMARY_CONNINFO" -D "$datadir" -R -C -S "$(slot_of "$datadir")" -X stream -c fast --no-sync \
      || { drop_slot "$(slot_of "$datadir")"; fail "pg_basebackup from '$PRIMARY_CONNINFO' failed."; }
    configure "$datadir" "$port"
  else
    sed -i "s/^port = .*/port = $port/" "$datadir/postgresql.conf"
    local slot
    slot=$(slot_of "$datadir")
    primary "SELECT pg_create_physical_replication_slot('$slot', true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = '$slot')" >/dev/null \
      || fail "cannot make the replication slot $slot on the primary at '$PRIMARY_CONNINFO'."
  fi
  # A hot standby opens once it has replayed to a consistent state and knows which transactions
  # run on the primary: a long transaction there with more than 64 subtransactions keeps it shut.
  as_owner "$PG_BIN/pg_ctl" -D "$datadir" -l "$datadir/replica.log" -w -t "$START_TIMEOUT" start >/dev/null \
    || fail "the replica does not accept connections after $START_TIMEOUT s: see $datadir/replica.log (stop it with: $0 stop $datadir)."
  echo "replica.sh: a replica of '$PRIMARY_CONNINFO' runs on 127.0.0.1:$port from $datadir"
}

stop() {
  local datadir
  datadir=$(realpath -m "$1")
  if running "$datadir"; then
    as_owner "$PG_BIN/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >/dev/null
    echo "replica.sh: stopped the replica in $datadir"
  else
    echo "replica.sh: no replica runs in $datadir"
  fi
  # In a subshell: a primary that cannot be reached does not stop the replica's own stop.
  (drop_slot "$(slot_of "$datadir")") || true
}

remove() {
  local datadir
  datadir=$(realpath -m "$1")
  stop "$datadir"
  drop_slot "$(slot_of "$datadir")"
  rm -rf "$datadir"
  echo "replica.sh: removed the replica in $datadir and its slot"
}

status() {
  local datadir
  datadir=$(realpath -m "$1")
  if running "$datadir"; then
    echo "replica.sh: running in $datadir, port $(sed -n 's/^port = //p' "$datadir/postgresql.conf")"
  else
    echo "replica.sh: not running in $datadir"
    exit 3
  fi
}

case "${1:-}" in
  start) [ $# = 3 ] || usage; start "$2" "$3" ;;
  stop) [ $# = 2 ] || usage; stop "$2" ;;
  status) [ $# = 2 ] || usage; status "$2" ;;
  remove) [ $# = 2 ] || usage; remove "$2" ;;
  *) usage ;;
esac
