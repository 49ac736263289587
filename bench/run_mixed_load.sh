#!/usr/bin/env bash
# Mixed-load benchmark (docs/performance.md "Mixed load"): gunicorn on 127.0.0.1:8057 as
# gunicorn.conf.py sets it up (its GUNICORN_* variables try another setup), the Celery workers of
# production (routing, notifications, summaries: spoc/core/queues.py WORKERS), all over an
# existing scaled PostgreSQL database and Redis database 12, then bench/mixed_load.py steps an
# open-loop mix of requests up until the p95 passes 200 ms. Extra arguments go to the Python
# script, e.g. `bash bench/run_mixed_load.sh --rates 50,100,150 --step-seconds 20`.
#
# The database is not rebuilt here: build it once as bench/run_call_handler.sh says (SPOC_BENCH_DB
# names another database). Each run adds its calls, referrals and access-log rows to it.
# MIXED_LOAD_RESULTS names the results file in bench/results (default mixed_load, for mixed_load.json).
set -euo pipefail
BENCH_GUNICORN_WORKERS=${BENCH_GUNICORN_WORKERS:-}
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
BIND=127.0.0.1:8057
# GOV.UK Notify, played by the development tools' fake (devtools/fake_notify.py) on a port of its
# own: the mix's urgent alerts are sent and their delivery receipts come back to the hub, as in
# production, instead of failing against nothing. Its CPU is counted as other work.
NOTIFY_BIND=127.0.0.1:8077
bench_refuse_if_listening "$NOTIFY_BIND"
export NOTIFY_BASE_URL="http://$NOTIFY_BIND"
# gunicorn writes each access line at once (the runner counts them per worker, step by step).
export PYTHONUNBUFFERED=1
bench_scaled_hub "$BIND" 12 mixed_load
# A backlog of an earlier run would be routed during this one: start from empty queues.
"$BENCH_PY" - <<'PY'
import os, redis
redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
PY
"$BENCH_PY" manage.py fake_notify --port "${NOTIFY_BIND#*:}" --hub "http://$BIND" \
  >"$BENCH_RESULTS/mixed_load-notify.log" 2>&1 &
BENCH_PIDS+=($!)
bench_production_workers mixed_load
"$BENCH_PY" scripts/wait_http.py "http://$NOTIFY_BIND/" 60 ||
  { echo "The fake Notify did not answer within 60 s: see $BENCH_RESULTS/mixed_load-notify.log" >&2; exit 1; }
SETUP=$("$BENCH_PY" - <<'PY'
import runpy
c = runpy.run_path("gunicorn.conf.py")
import os
workers = os.environ.get("BENCH_GUNICORN_WORKERS") or c["workers"]
print(f"gunicorn {c['worker_class']}, {workers} workers x {c['threads']} threads, "
      f"keepalive {c['keepalive']} s, reuse_port {c['reuse_port']}")
PY
)
echo "$SETUP"
bench_machine "gunicorn, the workers, Redis and PostgreSQL"
"$BENCH_PY" bench/mixed_load.py --url "http://$BIND" --database-url "$DATABASE_URL" \
  --password "$DEMO_PASSWORD" --web-pid "$BENCH_GUNICORN_PID" \
  --worker-pids "$(IFS=,; echo "${BENCH_WORKER_PIDS[*]}")" --label "$SETUP" \
  --access-log "$BENCH_RESULTS/mixed_load-gunicorn.log" \
  --json "$BENCH_RESULTS/${MIXED_LOAD_RESULTS:-mixed_load}.json" "$@"
