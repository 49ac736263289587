#!/usr/bin/env bash
# Worklist benchmark (docs/performance.md "The nurse"): gunicorn with 3 workers on
# 127.0.0.1:8052 over an existing scaled PostgreSQL database, then bench/worklist.py against it
# (the team queue page, its htmx poll, claim and release). No Celery worker: none of these use
# one. Extra arguments go to the Python script, e.g. `bash bench/run_worklist.sh --users 8`.
#
# The database is not rebuilt here: build it once as bench/run_call_handler.sh says (SPOC_BENCH_DB
# names another database). Each run adds a ReferralEvent and an access-log row per claim and per
# release; every referral it claims is released again. Results and logs: bench/results/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
BIND=127.0.0.1:8052
bench_scaled_hub "$BIND" 10 worklist
bench_machine "gunicorn, Redis and PostgreSQL"
"$BENCH_PY" bench/worklist.py --url "http://$BIND" --database-url "$DATABASE_URL" \
  --password "$DEMO_PASSWORD" --json "$BENCH_RESULTS/worklist.json" "$@"
