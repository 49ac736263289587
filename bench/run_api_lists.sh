#!/usr/bin/env bash
# API lists benchmark (docs/performance.md "API lists"): gunicorn with 3 workers on
# 127.0.0.1:8056 over an existing scaled PostgreSQL database (default spoc_scale, from
# `manage.py seed_demo --scale 1000000`), then bench/api_lists.py against it: the referral list's
# first page and deep pages, and the patient search, one user alone, then 4 users without pause.
# No Celery worker: the lists do not use one. Extra arguments go to the Python script, e.g.
# `bash bench/run_api_lists.sh --users 8 --depth 200`.
#
# The database is not rebuilt here (build it as bench/run_call_handler.sh says; SPOC_BENCH_DB
# names another). Each run adds a token and access-log rows (one per list and patient read).
# The API's throttles are lifted for the run (API_THROTTLE_*_RATE): they would answer 429 to a
# benchmark that sends thousands of requests a minute as one user. API_LISTS_REDIS_DB chooses the
# Redis database (default 8), API_LISTS_RESULTS another name for bench/results/api_lists.json. Results and logs:
# bench/results/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
BIND=127.0.0.1:8056
export API_THROTTLE_USER_RATE=1000000/min API_THROTTLE_PATIENT_SEARCH_RATE=1000000/min
bench_scaled_hub "$BIND" "${API_LISTS_REDIS_DB:-8}" api_lists
bench_machine "gunicorn and PostgreSQL"
"$BENCH_PY" bench/api_lists.py --url "http://$BIND" --password "$DEMO_PASSWORD" \
  --json "$BENCH_RESULTS/${API_LISTS_RESULTS:-api_lists}.json" "$@"
