# Shared by the bench/run_*.sh scripts (sourced, not run): the environment of a benchmark run,
# the checks before it, gunicorn and a Celery worker started and stopped with it, and the
# machine's state printed next to its figures.

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_RESULTS=$BENCH_ROOT/bench/results
BENCH_PY=$BENCH_ROOT/.venv/bin/python
BENCH_PIDS=()
# The benchmarks that predate bench/run_mixed_load.sh run gunicorn as their figures were taken:
# 3 threaded workers (gthread) of 2 threads. Set BENCH_GUNICORN_WORKERS (empty: gunicorn.conf.py's
# setup, as bench/run_mixed_load.sh does) to run them otherwise.
if [ -z "${BENCH_GUNICORN_WORKERS+set}" ]; then
  BENCH_GUNICORN_WORKERS=3
  export GUNICORN_WORKER_CLASS=${GUNICORN_WORKER_CLASS:-gthread} GUNICORN_THREADS=${GUNICORN_THREADS:-2}
fi

# bench_env DB REDIS_DB: settings for a run over PostgreSQL database DB and a Redis database of
# the benchmark's own (never the test suite's 14 or a developer's).
bench_env() {
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$1
  export REDIS_URL=redis://127.0.0.1:6379/$2
  export DJANGO_SETTINGS_MODULE=spoc.settings.local
  # DEBUG off, as in production (no query log in memory; WhiteNoise serves collected files).
  export DJANGO_DEBUG=false
  export SPOC_DATA_DIR=${SPOC_DATA_DIR:-$BENCH_RESULTS/data}
  export DEMO_PASSWORD=${DEMO_PASSWORD:-spoc-demo-2026}
  mkdir -p "$BENCH_RESULTS"
}

# bench_refuse_if_listening HOST:PORT: so that the benchmark measures this hub, not another one.
bench_refuse_if_listening() {
  if "$BENCH_PY" - "$1" <<'PY'
import socket, sys
host, port = sys.argv[1].split(":")
with socket.socket() as s:
    sys.exit(0 if s.connect_ex((host, int(port))) == 0 else 1)
PY
  then
    echo "Something already listens on $1: stop it first, so the benchmark measures this hub." >&2
    exit 1
  fi
}

# bench_require_scaled DB: the database exists and was filled by `seed_demo --scale N`.
bench_require_scaled() {
  local patients
  patients=$(psql -h 127.0.0.1 -U postgres -d "$1" -Atc "SELECT count(*) FROM patients_patient" 2>/dev/null || echo 0)
  if [ "${patients:-0}" -lt 1000 ]; then
    echo "Database $1 is missing or has ${patients:-0} patients: build it first (see bench/README.md)." >&2
    exit 1
  fi
}

# Stop every process a run started, gracefully, when the script exits.
bench_stop_all() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap bench_stop_all EXIT

# bench_gunicorn HOST:PORT NAME: gunicorn in the background (BENCH_GUNICORN_WORKERS workers when
# set, else gunicorn.conf.py's; the GUNICORN_* variables of gunicorn.conf.py choose the rest), its
# log in bench/results/NAME-gunicorn.log, its master's pid in BENCH_GUNICORN_PID; returns once
# /healthz/live answers.
bench_gunicorn() {
  "$BENCH_PY" "$BENCH_ROOT/manage.py" collectstatic --noinput -v0
  "$BENCH_ROOT/.venv/bin/gunicorn" spoc.wsgi -c "$BENCH_ROOT/gunicorn.conf.py" --bind "$1" \
    ${BENCH_GUNICORN_WORKERS:+--workers "$BENCH_GUNICORN_WORKERS"} \
    >"$BENCH_RESULTS/$2-gunicorn.log" 2>&1 &
  BENCH_PIDS+=($!)
  BENCH_GUNICORN_PID=$!
  "$BENCH_PY" "$BENCH_ROOT/scripts/wait_http.py" "http://$1/healthz/live" 60 ||
    { echo "gunicorn did not answer /healthz/live within 60 s: see $BENCH_RESULTS/$2-gunicorn.log" >&2; exit 1; }
}

# bench_scaled_hub HOST:PORT REDIS_DB NAME: a run over the scaled database (SPOC_BENCH_DB, by
# default spoc_scale) and Redis database REDIS_DB, checked and migrated, with gunicorn on HOST:PORT
# (its log named after NAME).
bench_scaled_hub() {
  local db=${SPOC_BENCH_DB:-spoc_scale}
  bench_env "$db" "$2"
  bench_refuse_if_listening "$1"
  bench_require_scaled "$db"
  # BENCH_MIGRATE=0 leaves the schema as it is (a shared database that others' migrations have
  # not reached yet is not theirs to migrate from here).
  if [ "${BENCH_MIGRATE:-1}" = 1 ]; then
    "$BENCH_PY" "$BENCH_ROOT/manage.py" migrate --noinput -v0
  fi
  echo "Starting gunicorn on $1 (database $db, Redis database $2)..."
  bench_gunicorn "$1" "$3"
}

# bench_worker NAME [QUEUES [CONCURRENCY]]: a Celery worker in the background (every queue and
# concurrency 2 unless told), its log in bench/results/NAME-worker.log, its main process's pid
# added to BENCH_WORKER_PIDS; returns once it answers a ping.
BENCH_WORKER_PIDS=()
bench_worker() {
  "$BENCH_ROOT/.venv/bin/celery" -A spoc worker --loglevel WARNING --concurrency "${3:-2}" --without-gossip \
    --without-mingle --hostname "bench-$1@%h" ${2:+--queues "$2"} >"$BENCH_RESULTS/$1-worker.log" 2>&1 &
  BENCH_PIDS+=($!)
  BENCH_WORKER_PIDS+=($!)
  local _
  for _ in $(seq 1 60); do
    if "$BENCH_ROOT/.venv/bin/celery" -A spoc inspect ping --destination "bench-$1@$(hostname)" --timeout 1 >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "The Celery worker did not answer within 60 s: see $BENCH_RESULTS/$1-worker.log" >&2
  exit 1
}

# bench_production_workers NAME: the Celery workers as production runs them, one per kind of
# work (spoc/core/queues.py WORKERS, docker-compose.yml): routing (both routing queues, P1-P2
# first; concurrency 2), notifications and summaries (concurrency 1 each on these two cores).
# With BENCH_ONE_WORKER=1, one worker (concurrency 2) consuming every queue instead, as the
# benchmarks ran before routing had a worker of its own there.
bench_production_workers() {
  if [ "${BENCH_ONE_WORKER:-0}" = 1 ]; then
    echo "Starting one Celery worker for every queue..."
    bench_worker "$1"
    return
  fi
  echo "Starting the Celery workers (routing, notifications, summaries)..."
  bench_worker "$1-routing" routing-urgent,routing 2
  bench_worker "$1-notifications" notifications 1
  bench_worker "$1-summaries" summaries 1
}

# bench_machine WHAT: the machine and how idle it was just before the run, printed with the
# figures (WHAT: what the load generator shares the cores with).
bench_machine() {
  echo "Machine: $(nproc) cores, $(free -h | awk '/^Mem:/ {print $2}') memory; the load generator shares these cores with $1."
  "$BENCH_PY" - <<'PY'
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
}
