#!/usr/bin/env bash
# Recovery after a fault (docs/performance.md "Recovery after a fault"): a fresh PostgreSQL
# database spoc_bench_faults with the demo area, then bench/faults.py, which starts its own
# redis-server, the routing worker and beat, and kills or stalls them while referrals wait.
# Extra arguments go to the Python script, e.g. `bash bench/run_faults.sh --referrals 1000`.
# Needs PostgreSQL on 127.0.0.1:5432 and the redis-server binary. Results: bench/results/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
# The Redis database named here serves only migrate and seed_demo; the benchmark's broker is a
# redis-server of its own (bench/faults.py).
bench_env spoc_bench_faults 10
echo "Creating database spoc_bench_faults..."
dropdb --if-exists --force -h 127.0.0.1 -U postgres spoc_bench_faults
createdb -h 127.0.0.1 -U postgres spoc_bench_faults
"$BENCH_PY" manage.py migrate --noinput -v0
"$BENCH_PY" manage.py seed_demo
bench_machine "Redis, PostgreSQL, the worker and beat"
"$BENCH_PY" bench/faults.py --json "$BENCH_RESULTS/faults.json" "$@"
