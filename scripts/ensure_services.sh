#!/usr/bin/env bash
# Makes sure the test suite's outside parts are here: PostgreSQL, Redis, Debian's Chromium, HAProxy
# and PgBouncer.
# Starts or installs what it can (root on Debian); otherwise stops with one line saying what to do.
set -uo pipefail

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/spoc}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/13}
is_root() { [ "$(id -u)" = 0 ]; }
fail() { echo "make test: $*" >&2; exit 1; }

# Debian packages: chromium for the browser journeys; haproxy and pgbouncer for the cluster's
# test (tests/core/test_cluster.py, scripts/cluster.sh). Checked by their programs' paths, since
# /usr/sbin is not on every user's PATH.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null || missing+=(haproxy)
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || missing+=(pgbouncer)
if [ ${#missing[@]} -gt 0 ]; then
  if is_root && command -v apt-get >/dev/null; then
    echo "Installing Debian's ${missing[*]} for the tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) \
      || fail "could not install ${missing[*]}: run 'apt-get install ${missing[*]}' as root."
  else
    fail "${missing[*]} missing: run 'sudo apt-get install ${missing[*]}' (Debian) and try again."
  fi
fi

# PostgreSQL.
pg_up() { python3 - "$DATABASE_URL" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.socket(); s.settimeout(2)
try:
    s.connect((u.hostname or "127.0.0.1", u.port or 5432))
except OSError:
    sys.exit(1)
PY
}
if ! pg_up; then
  if is_root && command -v pg_ctlcluster >/dev/null; then
    echo "Starting PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -n1)" main start || true
    for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
  fi
  pg_up || fail "PostgreSQL is not reachable at $DATABASE_URL: start it (Debian: pg_ctlcluster 15 main start) or set DATABASE_URL."
fi

# A replication connection from 127.0.0.1, for a read replica of this server (scripts/replica.sh,
# which the cluster layout starts): PostgreSQL's line for "all" databases does not cover
# replication. As root on Debian, a line like the one for all databases from 127.0.0.1 is added
# once, and the server reloaded. Asked of the maintenance database, since DATABASE_URL's may not
# exist yet.
maintenance_url=$(python3 -c 'import sys, urllib.parse as p; print(p.urlsplit(sys.argv[1])._replace(path="/postgres").geturl())' "$DATABASE_URL")
pg_sql() { psql "$maintenance_url" -X -A -t -c "$1" 2>/dev/null; }
replication_url=$(python3 -c 'import sys; u = sys.argv[1]; print(u + ("&" if "?" in u else "?") + "replication=true")' "$maintenance_url")
if ! psql "$replication_url" -X -A -t -c "IDENTIFY_SYSTEM" >/dev/null 2>&1; then
  hba=$(pg_sql "SHOW hba_file")
  if is_root && [ -n "$hba" ] && [ -w "$hba" ]; then
    method=$(awk '$1=="host" && $2=="all" && $4=="127.0.0.1/32" {print $5; exit}' "$hba")
    [ -z "$(tail -c1 "$hba")" ] || echo >>"$hba"
    grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba" \
      || printf 'host replication all 127.0.0.1/32 %s\n' "${method:-scram-sha-256}" >>"$hba"
    pg_sql "SELECT pg_reload_conf()" >/dev/null
  else
    fail "PostgreSQL refuses replication connections from 127.0.0.1 (a read replica of it needs them, scripts/replica.sh): add 'host replication all 127.0.0.1/32 trust' (or your method) to $hba and reload it."
  fi
fi

# Redis.
redis_up() { python3 - "$REDIS_URL" <<'PY'
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.socket(); s.settimeout(2)
try:
    s.connect((u.hostname or "127.0.0.1", u.port or 6379)); s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}
if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis..."
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp --logfile /tmp/spoc-redis.log || true
    for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  fi
  redis_up || fail "Redis is not reachable at $REDIS_URL: start it (redis-server --daemonize yes) or set REDIS_URL."
fi
exit 0
