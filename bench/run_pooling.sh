#!/usr/bin/env bash
# What a connection costs straight to PostgreSQL and through PgBouncer in transaction mode
# (docs/deployment.md, "Pooled connections"): PgBouncer started here by deploy/pgbouncer/run.sh
# (pool of 20) in front of the database spoc_bench_pooling (made fresh and migrated), then
# bench/pooling.py. Extra arguments go to the Python script, e.g. `--clients 100`.
# Needs PostgreSQL on 127.0.0.1:5432 (trusting local users) and Debian's pgbouncer. Results:
# bench/results/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
bench_env spoc_bench_pooling 10
PORT=${BENCH_PGBOUNCER_PORT:-8061}
bench_refuse_if_listening "127.0.0.1:$PORT"
echo "Creating database spoc_bench_pooling..."
dropdb --if-exists --force -h 127.0.0.1 -U postgres spoc_bench_pooling
createdb -h 127.0.0.1 -U postgres spoc_bench_pooling
"$BENCH_PY" manage.py migrate --noinput -v0
PGBOUNCER_DIR="$BENCH_RESULTS/pooling-pgbouncer" PGBOUNCER_LISTEN="127.0.0.1:$PORT" \
  PGBOUNCER_SERVER=127.0.0.1:5432 PGBOUNCER_USERS=postgres= PGBOUNCER_AUTH_TYPE=trust \
  setsid "$BENCH_ROOT/deploy/pgbouncer/run.sh" >"$BENCH_RESULTS/pooling-pgbouncer.log" 2>&1 &
BENCH_PIDS+=($!)
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
bench_machine "PgBouncer and PostgreSQL"
"$BENCH_PY" bench/pooling.py --direct postgres://postgres@127.0.0.1:5432/spoc_bench_pooling \
  --pooled "postgres://postgres@127.0.0.1:$PORT/spoc_bench_pooling" "$@"
