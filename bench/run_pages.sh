#!/usr/bin/env bash
# CPU per page (docs/performance.md "CPU per page"): gunicorn with 3 workers on 127.0.0.1:8054 and a
# Celery worker (routing the submitted calls' referrals), over an existing scaled PostgreSQL
# database, then bench/pages.py against them: the team queue, the home page and the call submit,
# one user alone and then --users at once. Extra arguments go to the Python script, e.g.
# `bash bench/run_pages.sh --users 8`.
#
# The database is not rebuilt here: build it once as bench/run_call_handler.sh says (SPOC_BENCH_DB
# names another database; PAGES_BENCH_REDIS_DB the Redis database, default 8). Each run adds its
# calls and referrals to it. Results and logs: bench/results/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
BIND=127.0.0.1:8054
bench_scaled_hub "$BIND" "${PAGES_BENCH_REDIS_DB:-8}" pages
echo "Starting a Celery worker..."
bench_worker pages
bench_machine "gunicorn, the worker, Redis and PostgreSQL"
"$BENCH_PY" bench/pages.py --url "http://$BIND" --database-url "$DATABASE_URL" \
  --password "$DEMO_PASSWORD" --json "$BENCH_RESULTS/${PAGES_BENCH_RESULTS:-pages}.json" "$@"
