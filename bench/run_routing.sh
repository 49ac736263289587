#!/usr/bin/env bash
# Routing benchmark (docs/performance.md "Routing"): a real Celery worker (concurrency 2) on an
# existing scaled PostgreSQL database and Redis database 11, then bench/routing.py, which saves
# calls through the real services and waits for their referrals to be routed. Extra arguments go
# to the Python script, e.g. `bash bench/run_routing.sh --paced 200 --burst 0`.
#
# Build the database once, as for bench/run_call_handler.sh (see its header); each run adds its
# calls and referrals to it. Needs PostgreSQL and Redis on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
RESULTS=$ROOT/bench/results
DB=${SPOC_BENCH_DB:-spoc_scale}
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export REDIS_URL=redis://127.0.0.1:6379/11
export DJANGO_SETTINGS_MODULE=spoc.settings.local
export DJANGO_DEBUG=false
export SPOC_DATA_DIR=${SPOC_DATA_DIR:-$RESULTS/data}
# The benchmark measures routing, not email.
export NOTIFY_NEW_REFERRALS=false
PY=$ROOT/.venv/bin/python

PATIENTS=$(psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "SELECT count(*) FROM patients_patient" 2>/dev/null || echo 0)
if [ "${PATIENTS:-0}" -lt 1000 ]; then
  echo "Database $DB is missing or has ${PATIENTS:-0} patients: build it first (see bench/run_call_handler.sh)." >&2
  exit 1
fi
mkdir -p "$RESULTS"
"$PY" manage.py migrate --noinput -v0
# Leftover messages from an earlier run would be counted as this run's work.
"$ROOT/.venv/bin/celery" -A spoc purge -f >/dev/null
"$ROOT/.venv/bin/celery" -A spoc worker --loglevel WARNING --concurrency 2 --without-gossip \
  --without-mingle --hostname "bench-routing@%h" >"$RESULTS/routing-worker.log" 2>&1 &
WORKER_PID=$!
trap 'kill -TERM "$WORKER_PID" 2>/dev/null; wait "$WORKER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  if "$ROOT/.venv/bin/celery" -A spoc inspect ping --timeout 1 >/dev/null 2>&1; then break; fi
  sleep 1
done
echo "Machine: $(nproc) cores; the load generator shares them with the worker, Redis and PostgreSQL."
"$PY" bench/routing.py --json "$RESULTS/routing.json" "$@"
