#!/usr/bin/env bash
# Call handler benchmark (docs/performance.md "The call handler"): gunicorn with 3 workers on
# 127.0.0.1:8051 and the Celery workers of production (routing apart; BENCH_ONE_WORKER=1 for a
# single worker consuming every queue), all on an existing scaled PostgreSQL database, then
# bench/call_handler.py against them. Extra arguments go to the Python script, e.g.
# `bash bench/run_call_handler.sh --users 8`.
#
# The database is not rebuilt here: filling it takes minutes. Build it once:
#   createdb -h 127.0.0.1 -U postgres spoc_scale
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/spoc_scale DJANGO_SETTINGS_MODULE=spoc.settings.local \
#     .venv/bin/python manage.py migrate
#   DATABASE_URL=... DJANGO_SETTINGS_MODULE=spoc.settings.local .venv/bin/python manage.py seed_demo --scale 1000000
# (SPOC_BENCH_DB names another database.) Each run adds its calls and referrals to it.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, no password) and Redis on 127.0.0.1:6379
# (`scripts/ensure_services.sh` starts both). Results and logs: bench/results/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
# CALL_HANDLER_BIND and CALL_HANDLER_REDIS_DB choose another address and Redis database (to run
# beside another run), CALL_HANDLER_RESULTS another name for bench/results/call_handler.json.
BIND=${CALL_HANDLER_BIND:-127.0.0.1:8051}
bench_scaled_hub "$BIND" "${CALL_HANDLER_REDIS_DB:-11}" call_handler
bench_production_workers call_handler
bench_machine "gunicorn, the workers, Redis and PostgreSQL"
"$BENCH_PY" bench/call_handler.py --url "http://$BIND" --database-url "$DATABASE_URL" \
  --password "$DEMO_PASSWORD" --json "$BENCH_RESULTS/${CALL_HANDLER_RESULTS:-call_handler}.json" "$@"
