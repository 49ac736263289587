#!/usr/bin/env bash
# Makes sure the test suite's outside parts are here: PostgreSQL, Redis, Debian's Chromium, HAProxy
# and PgBouncer.
# Starts or installs what it can (root on Debian); otherwise stops with one line saying what to do.
set -uo pipefail

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/spoc}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/14}
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
