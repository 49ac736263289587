#!/usr/bin/env bash
# The production layout of docker-compose.yml on one machine, without containers
# (docs/deployment.md, "The same layout without containers"): PgBouncer in transaction mode in
# front of PostgreSQL, two gunicorn web nodes behind HAProxy (deploy/haproxy/haproxy.cfg), one
# Celery worker per kind of work (spoc/core/queues.py, WORKERS) and beat (one sender however
# many run: spoc/core/beat.py).
#
#   scripts/cluster.sh start         start whatever is not running (again: a restart policy)
#   scripts/cluster.sh stop          stop everything (SIGTERM, then SIGKILL after 10 s)
#   scripts/cluster.sh status        one line per process: running or stopped, with its port
#   scripts/cluster.sh kill NAME     SIGKILL to NAME's process group (web1, worker-routing, ...)
#
# Needs DATABASE_URL (PostgreSQL) and REDIS_URL, as the hub does. CLUSTER_PORT (default 8100)
# is the load balancer's; PgBouncer takes CLUSTER_PORT+1 and the web nodes CLUSTER_PORT+11 and
# +12. CLUSTER_DIR (default .data/cluster) holds each process's pid, log and configuration.
# CLUSTER_GUNICORN_WORKERS (default 2) per web node; CLUSTER_WORKER_CONCURRENCY (default 2) per
# Celery worker. Installs Debian's haproxy and pgbouncer when missing and run as root.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-$ROOT/.venv/bin/python}
BIN=$(dirname "$PY")
DIR=${CLUSTER_DIR:-$ROOT/.data/cluster}
PORT=${CLUSTER_PORT:-8100}
PGB_PORT=$((PORT + 1))
REPLICA_PORT=$((PORT + 2))
REPLICA=${CLUSTER_REPLICA:-0}
WEB_PORTS=($((PORT + 11)) $((PORT + 12)))
fail() { echo "cluster: $*" >&2; exit 1; }
# Debian puts haproxy and pgbouncer in /usr/sbin, not on every user's PATH.
program() { command -v "$1" || echo "/usr/sbin/$1"; }

pid_of() { cat "$DIR/$1.pid" 2>/dev/null || true; }
# Alive, and not a zombie waiting for its parent to read its status.
running() {
  local pid
  pid=$(pid_of "$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && ! grep -q '^[0-9]* (.*) Z' "/proc/$pid/stat" 2>/dev/null
}

# launch NAME COMMAND...: in a process group of its own (so that kill and stop reach its
# children: gunicorn's and Celery's worker processes), output in NAME.log, pid in NAME.pid.
launch() {
  local name=$1
  shift
  running "$name" && return 0
  setsid "$@" >>"$DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
}

# The Celery workers: "NAME QUEUES" per line, from spoc/core/queues.py with this run's queue
# prefix (TASK_QUEUE_PREFIX, as the settings add it).
workers() {
  "$PY" -c 'import os; from spoc.core.queues import WORKERS
p = os.environ.get("TASK_QUEUE_PREFIX", "")
for name, queues in WORKERS.items(): print(name, ",".join(p + q for q in queues))'
}

names() {
  echo pgbouncer web1 web2 lb
  workers | while read -r name _; do echo "worker-$name"; done
  echo beat
}

ensure_packages() {
  local missing=()
  [ -x "$(program haproxy)" ] || missing+=(haproxy)
  [ -x "$(program pgbouncer)" ] || missing+=(pgbouncer)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "cluster: installing ${missing[*]}..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null) ||
      fail "could not install ${missing[*]}: run 'apt-get install ${missing[*]}' as root."
  else
    fail "${missing[*]} missing: run 'sudo apt-get install ${missing[*]}' (Debian) and try again."
  fi
}

# PgBouncer's environment (deploy/pgbouncer/run.sh), one variable a line, and DATABASE_URL as the
# hub's processes see it: through PgBouncer.
pgbouncer_env() {
  "$PY" - "$PGB_PORT" "$REPLICA_PORT" <<'PY'
import os, sys, urllib.parse
url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
if url.scheme not in ("postgres", "postgresql"):
    sys.exit("cluster: DATABASE_URL must be a PostgreSQL URL (postgres://...)")
user = urllib.parse.unquote(url.username or "postgres")
password = urllib.parse.unquote(url.password or "")
print(f"PGBOUNCER_SERVER={url.hostname or '127.0.0.1'}:{url.port or 5432}")
print(f"PGBOUNCER_USERS={user}={password}")
# With a password, PgBouncer checks it; without one, PostgreSQL trusts local users (make test).
print(f"PGBOUNCER_AUTH_TYPE={'scram-sha-256' if password else 'trust'}")
auth = url.netloc.rsplit("@", 1)[0] + "@" if "@" in url.netloc else ""
print("POOLED_URL=" + urllib.parse.urlunsplit(url._replace(netloc=f"{auth}127.0.0.1:{sys.argv[1]}")))
# The replica: the same user and database on the replica's port, straight (not pooled).
print("REPLICA_URL=" + urllib.parse.urlunsplit(url._replace(netloc=f"{auth}127.0.0.1:{sys.argv[2]}")))
print(f"PRIMARY_CONNINFO=host={url.hostname or '127.0.0.1'} port={url.port or 5432} user={user}")
PY
}

# wait_for_http URL SECONDS: until it answers 200.
wait_for_http() {
  "$PY" "$ROOT/scripts/wait_http.py" "$1" "$2"
}

wait_for_port() {
  local _
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start() {
  [ -n "${DATABASE_URL:-}" ] || fail "set DATABASE_URL (PostgreSQL), e.g. postgres://postgres@127.0.0.1:5432/spoc"
  [ -n "${REDIS_URL:-}" ] || fail "set REDIS_URL, e.g. redis://127.0.0.1:6379/0"
  ensure_packages
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  local settings pooled
  settings=$(pgbouncer_env) || exit 1
  pooled=$(sed -n 's/^POOLED_URL=//p' <<<"$settings")
  # As root, PgBouncer drops to the postgres user (Debian's PostgreSQL package makes it).
  launch pgbouncer env $(grep '^PGBOUNCER_' <<<"$settings") PGBOUNCER_DIR="$DIR/pgbouncer" \
    PGBOUNCER_LISTEN="127.0.0.1:$PGB_PORT" "$ROOT/deploy/pgbouncer/run.sh"
  wait_for_port "$PGB_PORT" || fail "PgBouncer did not listen on $PGB_PORT: see $DIR/pgbouncer.log"

  if [ "$REPLICA" = 1 ]; then
    PRIMARY_CONNINFO=$(sed -n 's/^PRIMARY_CONNINFO=//p' <<<"$settings") \
      "$ROOT/scripts/replica.sh" start "$DIR/replica" "$REPLICA_PORT" >>"$DIR/replica.log" 2>&1 ||
      fail "the replica did not start: see $DIR/replica.log"
    export DATABASE_REPLICA_URL
    DATABASE_REPLICA_URL=$(sed -n 's/^REPLICA_URL=//p' <<<"$settings")
  fi

  # The hub's processes: through PgBouncer, with the settings it needs (spoc/settings/base.py),
  # behind one proxy (HAProxy's X-Forwarded-For).
  export DATABASE_URL=$pooled DATABASE_POOLER=pgbouncer TRUSTED_PROXY_COUNT=1
  export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-spoc.settings.local}
  local i
  for i in 0 1; do
    launch "web$((i + 1))" "$BIN/gunicorn" spoc.wsgi -c gunicorn.conf.py \
      --bind "127.0.0.1:${WEB_PORTS[$i]}" --workers "${CLUSTER_GUNICORN_WORKERS:-2}"
  done
  local name queues
  while read -r name queues; do
    launch "worker-$name" "$BIN/celery" -A spoc worker --loglevel INFO --without-gossip \
      --concurrency "${CLUSTER_WORKER_CONCURRENCY:-2}" --hostname "$name-$PORT@%h" --queues "$queues"
  done < <(workers)
  launch beat "$BIN/celery" -A spoc beat --loglevel INFO --schedule "$DIR/celerybeat-schedule"
  for i in 0 1; do
    wait_for_http "http://127.0.0.1:${WEB_PORTS[$i]}/healthz/live" 90 ||
      fail "web$((i + 1)) did not answer /healthz/live within 90 s: see $DIR/web$((i + 1)).log"
  done
  SPOC_LB_BIND=127.0.0.1:$PORT SPOC_WEB1=127.0.0.1:${WEB_PORTS[0]} SPOC_WEB2=127.0.0.1:${WEB_PORTS[1]} \
    SPOC_HEALTH_HOST=${SPOC_HEALTH_HOST:-127.0.0.1} launch lb "$(program haproxy)" -db -f "$ROOT/deploy/haproxy/haproxy.cfg"
  wait_for_http "http://127.0.0.1:$PORT/healthz/live" 30 || fail "HAProxy did not answer on $PORT: see $DIR/lb.log"
  status
}

stop() {
  local name pid _ all
  all=$(names)
  for name in $all; do
    pid=$(pid_of "$name")
    [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 100); do
    local alive=0
    for name in $all; do running "$name" && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for name in $all; do
    pid=$(pid_of "$name")
    [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$DIR/$name.pid"
  done
  if [ -d "$DIR/replica" ]; then
    "$ROOT/scripts/replica.sh" stop "$DIR/replica" >>"$DIR/replica.log" 2>&1 || true
  fi
}

status() {
  local name
  for name in $(names); do
    if running "$name"; then echo "$name running (pid $(pid_of "$name"))"; else echo "$name stopped"; fi
  done
  if [ -d "$DIR/replica" ]; then
    if "$ROOT/scripts/replica.sh" status "$DIR/replica" >/dev/null 2>&1; then
      echo "replica running (port $REPLICA_PORT)"
    else
      echo "replica stopped"
    fi
  fi
  echo "load balancer http://127.0.0.1:$PORT/ (web nodes on ${WEB_PORTS[*]}, PgBouncer on $PGB_PORT)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill)
    [ -n "${2:-}" ] || fail "kill NAME: one of $(names | tr '\n' ' ')"
    pid=$(pid_of "$2")
    [ -n "$pid" ] || fail "$2 was never started here"
    kill -KILL -- "-$pid" 2>/dev/null || true
    ;;
  *) fail "usage: scripts/cluster.sh start|stop|status|kill NAME" ;;
esac
