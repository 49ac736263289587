#!/bin/sh
# PgBouncer in transaction mode in front of the hub's PostgreSQL (docs/deployment.md, "Pooled
# connections"): writes its configuration from the environment, then runs it in the foreground.
# The same script in the image of docker/pgbouncer/Dockerfile (docker-compose.yml, Kubernetes)
# and under scripts/cluster.sh (`make cluster`).
#
#   PGBOUNCER_DIR         where to write pgbouncer.ini and userlist.txt (default /etc/pgbouncer)
#   PGBOUNCER_LISTEN      address:port to listen on (default 0.0.0.0:6432)
#   PGBOUNCER_SERVER      PostgreSQL's host:port (default db:5432)
#   PGBOUNCER_USERS       "user=password" pairs, separated by spaces: who may connect; PgBouncer
#                         logs in to PostgreSQL as the same user with the same password
#   PGBOUNCER_AUTH_TYPE   scram-sha-256 (default), or trust where PostgreSQL trusts local users
#   PGBOUNCER_POOL_SIZE   server connections per database and user (default 20)
#   PGBOUNCER_RUN_AS      the user PgBouncer drops to when started as root (default postgres)
set -eu

dir=${PGBOUNCER_DIR:-/etc/pgbouncer}
listen=${PGBOUNCER_LISTEN:-0.0.0.0:6432}
server=${PGBOUNCER_SERVER:-db:5432}
mkdir -p "$dir"
umask 077
: >"$dir/userlist.txt"
for pair in ${PGBOUNCER_USERS:?set PGBOUNCER_USERS, e.g. spoc_app=secret}; do
  printf '"%s" "%s"\n' "${pair%%=*}" "${pair#*=}" >>"$dir/userlist.txt"
done
cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=${server%:*} port=${server##*:}

[pgbouncer]
listen_addr = ${listen%:*}
listen_port = ${listen##*:}
unix_socket_dir =
auth_type = ${PGBOUNCER_AUTH_TYPE:-scram-sha-256}
auth_file = $dir/userlist.txt
; One server connection per transaction, handed back at its end: the hub's settings turn off
; what would outlive one (DATABASE_POOLER=pgbouncer, spoc/settings/base.py).
pool_mode = transaction
max_client_conn = 2000
default_pool_size = ${PGBOUNCER_POOL_SIZE:-20}
reserve_pool_size = 5
reserve_pool_timeout = 2
server_lifetime = 3600
server_idle_timeout = 300
; psycopg sends none of these, other clients (psql, monitoring) may.
ignore_startup_parameters = extra_float_digits,options
INI
# Debian installs it in /usr/sbin, which is not on every user's PATH. It refuses to run as root.
bin=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
if [ "$(id -u)" = 0 ]; then
  chown -R "${PGBOUNCER_RUN_AS:-postgres}" "$dir"
  exec "$bin" -u "${PGBOUNCER_RUN_AS:-postgres}" "$dir/pgbouncer.ini"
fi
exec "$bin" "$dir/pgbouncer.ini"
