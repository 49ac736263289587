#!/bin/sh
# The hub's two database roles (docs/architecture.md, "Two database roles"). The postgres image
# runs this once, as the superuser, when it creates an empty data directory; on an existing one,
# run it by hand (docker compose exec db sh /docker-entrypoint-initdb.d/10-spoc-roles.sh).
#
#   SPOC_OWNER_DB_USER (spoc_owner): owns the database and every table; `manage.py migrate` logs
#     in as it (DATABASE_MIGRATE_URL) and grants the app role its rights afterwards.
#   SPOC_APP_DB_USER (spoc_app): web, worker and beat log in as it (DATABASE_URL); it owns
#     nothing, is no superuser, and inherits nothing.
#
# Passwords come from the environment only (SPOC_OWNER_DB_PASSWORD, SPOC_APP_DB_PASSWORD).
set -eu
: "${POSTGRES_USER:?}" "${POSTGRES_DB:?}"
: "${SPOC_OWNER_DB_PASSWORD:?set SPOC_OWNER_DB_PASSWORD}" "${SPOC_APP_DB_PASSWORD:?set SPOC_APP_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v db="$POSTGRES_DB" \
    -v owner="${SPOC_OWNER_DB_USER:-spoc_owner}" -v owner_password="$SPOC_OWNER_DB_PASSWORD" \
    -v app="${SPOC_APP_DB_USER:-spoc_app}" -v app_password="$SPOC_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT
    PASSWORD :'app_password';
ALTER DATABASE :"db" OWNER TO :"owner";
-- Only the two roles connect; only the owner creates objects.
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"db" TO :"app";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO :"owner";
GRANT USAGE ON SCHEMA public TO :"app";
-- patients/migrations/0002 needs pg_trgm; created here by the superuser, so that the owner's
-- migration finds it whatever the server's extension policy.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SQL
