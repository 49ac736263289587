#!/usr/bin/env bash
# Sign-in and home page benchmark (docs/performance.md): a fresh PostgreSQL database, the demo
# users, gunicorn with 3 workers on 127.0.0.1:8050, then bench/login_home.py against it.
# Extra arguments go to the Python script, e.g. `bash bench/run_login_home.sh --users 40`.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, no password) and Redis on 127.0.0.1:6379
# (`scripts/ensure_services.sh` starts both). Results and the gunicorn log: bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIND=127.0.0.1:8050
RESULTS=$ROOT/bench/results

export DATABASE_URL=postgres://postgres@127.0.0.1:5432/spoc_bench
# A Redis database of its own: never the one the test suite (14) or a developer uses.
export REDIS_URL=redis://127.0.0.1:6379/13
export DJANGO_SETTINGS_MODULE=spoc.settings.local
# DEBUG off, as in production: Django keeps no record of every query in memory, and WhiteNoise
# serves the hashed, collected static files. DJANGO_ALLOWED_HOSTS defaults to 127.0.0.1,localhost.
export DJANGO_DEBUG=false
# Collected static files go here, apart from the .data/ that `make run` uses (and `make clean` empties).
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

mkdir -p "$RESULTS"
echo "Creating database spoc_bench..."
dropdb --if-exists --force -h 127.0.0.1 -U postgres spoc_bench
createdb -h 127.0.0.1 -U postgres spoc_bench
"$PY" manage.py migrate --noinput -v0
"$PY" manage.py collectstatic --noinput -v0
"$PY" manage.py seed_demo

echo "Starting gunicorn on $BIND..."
"$ROOT/.venv/bin/gunicorn" spoc.wsgi -c gunicorn.conf.py --bind "$BIND" --workers 3 \
  >"$RESULTS/login_home-gunicorn.log" 2>&1 &
GUNICORN_PID=$!
stop_gunicorn() {
  if kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID"  # the master stops its workers gracefully
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
sys.exit("gunicorn did not answer /healthz/live within 60 s: see bench/results/login_home-gunicorn.log")
PY

echo "Machine: $(nproc) cores, $(free -h | awk '/^Mem:/ {print $2}') memory; the load generator shares these cores with gunicorn and PostgreSQL."
# Anything else busy on the machine skews the figures: say how idle the CPUs were just before.
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
"$PY" bench/login_home.py --url "http://$BIND" --password "$DEMO_PASSWORD" \
  --json "$RESULTS/login_home.json" "$@"
