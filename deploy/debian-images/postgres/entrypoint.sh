#!/bin/bash
# What docker-compose.yml asks of the official postgres image's entrypoint: on an empty data
# directory, a UTF8 cluster whose superuser is POSTGRES_USER with POSTGRES_PASSWORD (password
# checked over the network, trusted on the local socket), the database POSTGRES_DB, and the
# scripts of /docker-entrypoint-initdb.d/ run once against it (docker/db-init/); then the server,
# listening on every address.
set -euo pipefail
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
export POSTGRES_USER POSTGRES_DB
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  initdb --encoding=UTF8 --locale=C.UTF-8 --username="$POSTGRES_USER" \
    --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}") \
    --auth-local=trust --auth-host=scram-sha-256 -D "$PGDATA"
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
      -c "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
fi
if [ "$1" = postgres ]; then
  set -- "$@" -c listen_addresses='*'
fi
exec "$@"
