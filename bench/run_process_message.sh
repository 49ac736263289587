#!/usr/bin/env bash
# BaRS referrals in (docs/performance.md "BaRS referrals in"): gunicorn with 3 workers on
# 127.0.0.1:8052 and a real Celery worker over the scaled PostgreSQL database, a partner system
# registered for the run, then bench/process_message.py. Extra arguments go to the Python script,
# e.g. `bash bench/run_process_message.sh --users 8`. Build the database first (bench/README.md,
# "The call handler"); each run adds its referrals, patients and one partner to it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
BIND=127.0.0.1:8052
bench_scaled_hub "$BIND" 12 process_message
echo "Starting a Celery worker..."
bench_worker process_message
CREDENTIALS=$("$BENCH_PY" manage.py register_partner --name "Benchmark 111 provider" --ods ZZB11 \
  --scope referrals:send)
bench_machine "gunicorn, the worker, Redis and PostgreSQL"
"$BENCH_PY" bench/process_message.py --url "http://$BIND" \
  --client-id "$(echo "$CREDENTIALS" | "$BENCH_PY" -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')" \
  --client-secret "$(echo "$CREDENTIALS" | "$BENCH_PY" -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')" \
  --json "$BENCH_RESULTS/process_message.json" "$@"
