#!/usr/bin/env bash
# Sign-in and home page benchmark (docs/performance.md): a fresh PostgreSQL database, the demo
# users, gunicorn with 3 workers on 127.0.0.1:8050, then bench/login_home.py against it.
# Extra arguments go to the Python script, e.g. `bash bench/run_login_home.sh --users 40`.
# LOGIN_BENCH_DB, LOGIN_BENCH_REDIS_DB and LOGIN_BENCH_BIND choose another database, Redis
# database and address (two runs side by side); BENCH_GUNICORN_WORKERS the gunicorn workers.
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres, no password) and Redis on 127.0.0.1:6379
# (`scripts/ensure_services.sh` starts both). Results and the gunicorn log: bench/results/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$BENCH_ROOT"
BIND=${LOGIN_BENCH_BIND:-127.0.0.1:8050}
DB=${LOGIN_BENCH_DB:-spoc_bench}
bench_env "$DB" "${LOGIN_BENCH_REDIS_DB:-13}"
bench_refuse_if_listening "$BIND"
echo "Creating database $DB..."
dropdb --if-exists --force -h 127.0.0.1 -U postgres "$DB"
createdb -h 127.0.0.1 -U postgres "$DB"
"$BENCH_PY" manage.py migrate --noinput -v0
"$BENCH_PY" manage.py seed_demo --patients 0
echo "Starting gunicorn on $BIND..."
bench_gunicorn "$BIND" login_home
bench_machine "gunicorn and PostgreSQL"
"$BENCH_PY" bench/login_home.py --url "http://$BIND" --password "$DEMO_PASSWORD" \
  --json "$BENCH_RESULTS/${LOGIN_BENCH_RESULTS:-login_home}.json" "$@"
