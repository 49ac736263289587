#!/usr/bin/env bash
# Manager dashboard benchmark (docs/performance.md "Dashboards"): gunicorn with 3 workers on
# 127.0.0.1:8051 over an existing scale database (default spoc_scale, from
# `manage.py seed_demo --scale 1000000`), then bench/dashboard.py against it.
# The database is not recreated. Its summaries must exist: pass --rebuild to run
# `manage.py rebuild_summaries` first (it migrates the dashboards app only). Extra arguments go to
# the Python script, e.g. `bash bench/run_dashboard.sh --users 8`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIND=127.0.0.1:8051
RESULTS=$ROOT/bench/results
DB=${DASHBOARD_BENCH_DB:-spoc_scale}

export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export REDIS_URL=redis://127.0.0.1:6379/12
export DJANGO_SETTINGS_MODULE=spoc.settings.local
export DJANGO_DEBUG=false
export SPOC_DATA_DIR=${SPOC_DATA_DIR:-$RESULTS/data}
export DEMO_PASSWORD=${DEMO_PASSWORD:-spoc-demo}
PY=$ROOT/.venv/bin/python

if [ "${1:-}" = "--rebuild" ]; then
  shift
  "$PY" manage.py migrate dashboards --noinput -v0
  /usr/bin/time -f "rebuild_summaries: %e s" "$PY" manage.py rebuild_summaries
fi

mkdir -p "$RESULTS"
"$PY" manage.py collectstatic --noinput -v0
"$ROOT/.venv/bin/gunicorn" spoc.wsgi -c gunicorn.conf.py --bind "$BIND" --workers 3 \
  >"$RESULTS/dashboard-gunicorn.log" 2>&1 &
GUNICORN_PID=$!
stop_gunicorn() {
  if kill -0 "$GUNICORN_PID" 2>/dev/null; then
    kill -TERM "$GUNICORN_PID"
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
sys.exit("gunicorn did not answer /healthz/live within 60 s: see bench/results/dashboard-gunicorn.log")
PY

echo "Machine: $(nproc) cores, $(free -h | awk '/^Mem:/ {print $2}') memory; the load generator shares these cores with gunicorn and PostgreSQL."
echo "Load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" bench/dashboard.py --url "http://$BIND" --password "$DEMO_PASSWORD" \
  --json "$RESULTS/dashboard.json" "$@"
