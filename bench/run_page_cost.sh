#!/usr/bin/env bash
# CPU and queries per page (docs/performance.md): a fresh PostgreSQL database with the demo users,
# then bench/page_cost.py against it, in one process (no web server). PAGE_COST_DB chooses the
# database (default spoc_bench_pages); extra arguments go to the Python script. Results:
# bench/results/page_cost.json (PAGE_COST_RESULTS names another file).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
DB=${PAGE_COST_DB:-spoc_bench_pages}
bench_env "$DB" "${PAGE_COST_REDIS_DB:-13}"
dropdb --if-exists --force -h 127.0.0.1 -U postgres "$DB"
createdb -h 127.0.0.1 -U postgres "$DB"
"$BENCH_PY" manage.py migrate --noinput -v0
"$BENCH_PY" manage.py seed_demo --patients 0 >/dev/null
"$BENCH_PY" manage.py collectstatic --noinput -v0
bench_machine "PostgreSQL"
"$BENCH_PY" bench/page_cost.py --json "$BENCH_RESULTS/${PAGE_COST_RESULTS:-page_cost}.json" "$@"
