#!/usr/bin/env bash
# Worklist benchmark (docs/performance.md "Worklist and claim"): gunicorn with 3 workers on
# 127.0.0.1:8052 over an existing scaled PostgreSQL database, then bench/worklist.py against it
# (the team queue page, its htmx poll, claim and release). No Celery worker: none of these use
# one. Extra arguments go to the Python script, e.g. `bash bench/run_worklist.sh --users 8`.
#
# The database is not rebuilt here: filling it takes minutes. Build it once:
#   createdb -h 127.0.0.1 -U postgres spoc_scale
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/spoc_scale DJANGO_SETTINGS_MODULE=spoc.settings.local \
#     .venv/bin/python manage.py migrate
#   DATABASE_URL=... DJANGO_SETTINGS_MODULE=spoc.settings.local .venv/bin/python manage.py seed_demo --scale 1000000
# (SPOC_BENCH_DB names another database.) Each run adds a ReferralEvent and an access-log row per
# claim and per release; every referral it claims is released again.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, no password) and Redis on 127.0.0.1:6379
# (`scripts/ensure_services.sh` starts both). Results and logs: bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIND=127.0.0.1:8052
RESULTS=$ROOT/bench/results
DB=${SPOC_BENCH_DB:-spoc_scale}

export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
# A Redis database of its own: not the test suite's (14), nor login_home's (13), the dashboard's
# (12), call_handler's and routing's (11), or a developer's.
export REDIS_URL=redis://127.0.0.1:6379/10
export DJANGO_SETTINGS_MODULE=spoc.settings.local
# DEBUG off, as in production (no query log in memory; WhiteNoise serves collected files).
export DJANGO_DEBUG=false
export SPOC_DATA_DIR=${SPOC_DATA_DIR:-$RESULTS/data}
export DEMO_PASSWORD=${DEMO_PASSWORD:-spoc-demo}
PY=$ROOT/.venv/bin/python

if "$PY" - "$BIND" <<'PY'
import socket, sys
host, port = sys.argv[1].split(":")
with socket.socket() as s:
    sys.exit(0 if s.connect_ex((host, int(port))) == 0 else 1)
PY
then
  echo "Something already listens on $BIND: stop it first, so the benchmark measures this hub." >&2
  exit 1
fi

PATIENTS=$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT count(*) FROM patients_patient" 2>/dev/null || echo 0)
if [ "${PATIENTS:-0}" -lt 1000 ]; then
  echo "Database $DB is missing or has ${PATIENTS:-0} patients: build it first (see the top of $0)." >&2
  exit 1
fi

mkdir -p "$RESULTS"
"$PY" manage.py migrate --noinput -v0
"$PY" manage.py collectstatic --noinput -v0

echo "Starting gunicorn on $BIND (database $DB, Redis database 10)..."
"$ROOT/.venv/bin/gunicorn" spoc.wsgi -c gunicorn.conf.py --bind "$BIND" --workers 3 \
  >"$RESULTS/worklist-gunicorn.log" 2>&1 &
GUNICORN_PID=$!
stop_gunicorn() {
  if kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID"  # stops its workers gracefully
    wait "$GUNICORN_PID" 2>/dev/null || true
  fi
}
trap stop_gunicorn EXIT

"$PY" - "http://$BIND/healthz/live" <<'PY'
import sys, time, urllib.request
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.5)
sys.exit("gunicorn did not answer /healthz/live within 60 s: see bench/results/worklist-gunicorn.log")
PY

echo "Machine: $(nproc) cores, $(free -h | awk '/^Mem:/ {print $2}') memory; the load generator shares these cores with gunicorn, Redis and PostgreSQL."
"$PY" - <<'PY'
import time
def sample():
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # idle + iowait
total0, idle0 = sample()
time.sleep(3)
total1, idle1 = sample()
print(f"CPU idle over the 3 s before the run: {100 * (idle1 - idle0) / max(1, total1 - total0):.0f}%")
PY
"$PY" bench/worklist.py --url "http://$BIND" --database-url "$DATABASE_URL" \
  --password "$DEMO_PASSWORD" --json "$RESULTS/worklist.json" "$@"
