#!/usr/bin/env bash
# Routing benchmark (docs/performance.md "Routing"): a real Celery worker (concurrency 2) on an
# existing scaled PostgreSQL database and Redis database 11, then bench/routing.py, which saves
# calls through the real services and waits for their referrals to be routed. Extra arguments go
# to the Python script, e.g. `bash bench/run_routing.sh --paced 200 --burst 0`.
#
# Build the database once, as bench/run_call_handler.sh says; each run adds its calls and
# referrals to it. Needs PostgreSQL and Redis on 127.0.0.1.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
DB=${SPOC_BENCH_DB:-spoc_scale}
bench_env "$DB" 11
bench_require_scaled "$DB"
"$BENCH_PY" manage.py migrate --noinput -v0
# Leftover messages from an earlier run would be counted as this run's work.
"$BENCH_ROOT/.venv/bin/celery" -A spoc purge -f >/dev/null
bench_worker routing
bench_machine "the worker, Redis and PostgreSQL"
"$BENCH_PY" bench/routing.py --json "$BENCH_RESULTS/routing.json" "$@"
