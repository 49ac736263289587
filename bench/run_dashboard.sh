#!/usr/bin/env bash
# Manager dashboard benchmark (docs/performance.md "Dashboards"): gunicorn with 3 workers on
# 127.0.0.1:8053 over an existing scaled database (default spoc_scale, from
# `manage.py seed_demo --scale 1000000`), then bench/dashboard.py against it.
# The database is not recreated. Its summaries must exist: pass --rebuild to run
# `manage.py rebuild_summaries` first (it migrates the dashboards app only). Extra arguments go to
# the Python script, e.g. `bash bench/run_dashboard.sh --users 8`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
BIND=127.0.0.1:8053
DB=${DASHBOARD_BENCH_DB:-spoc_scale}
bench_env "$DB" 12
bench_refuse_if_listening "$BIND"
bench_require_scaled "$DB"
if [ "${1:-}" = "--rebuild" ]; then
  shift
  "$BENCH_PY" manage.py migrate dashboards --noinput -v0
  /usr/bin/time -f "rebuild_summaries: %e s" "$BENCH_PY" manage.py rebuild_summaries
fi
bench_gunicorn "$BIND" dashboard
bench_machine "gunicorn and PostgreSQL"
"$BENCH_PY" bench/dashboard.py --url "http://$BIND" --password "$DEMO_PASSWORD" \
  --json "$BENCH_RESULTS/dashboard.json" "$@"
