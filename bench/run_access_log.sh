#!/usr/bin/env bash
# The access-log page and its filters on a large access log (docs/performance.md, "The biggest
# tables"): bench/access_log.py in one process (no web server) over an existing database,
# ACCESS_LOG_BENCH_DB (default spoc_scale10), migrated first. It is not filled here: see
# bench/README.md, "The access-log page at 100M rows". Extra arguments go to the Python script.
# Results: bench/results/access_log.json (ACCESS_LOG_BENCH_RESULTS names another file).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
DB=${ACCESS_LOG_BENCH_DB:-spoc_scale10}
bench_env "$DB" "${ACCESS_LOG_BENCH_REDIS_DB:-10}"
"$BENCH_PY" manage.py migrate --noinput -v0
"$BENCH_PY" manage.py collectstatic --noinput -v0
bench_machine "PostgreSQL"
"$BENCH_PY" bench/access_log.py --json "$BENCH_RESULTS/${ACCESS_LOG_BENCH_RESULTS:-access_log}.json" "$@"
