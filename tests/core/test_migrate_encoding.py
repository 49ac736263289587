"""`manage.py migrate` refuses a PostgreSQL database that is not encoded UTF8 (spoc/core/
management/commands/migrate.py), before it changes anything: such a database (a cluster made
without a locale is SQL_ASCII) would otherwise take the migrations and fail on the first accented
name, at the moment a call is saved."""

import os
import uuid

import psycopg

from tests.commands import manage_run


def test_migrate_refuses_a_database_that_is_not_utf8_and_changes_nothing():
    database = f"spoc_test_ascii_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(
            f"CREATE DATABASE {database} ENCODING 'SQL_ASCII' TEMPLATE template0"
            " LC_COLLATE 'C' LC_CTYPE 'C'"
        )
    try:
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_APP_ROLE"}}
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "spoc.settings.test",
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
            }
        )
        result = manage_run(env, "migrate", "--noinput", timeout=120)
        assert result.returncode == 1, result.stdout + result.stderr
        assert (
            f"The database '{database}' is encoded SQL_ASCII, not UTF8: it would refuse names "
            "such as Siân and Nguyễn." in result.stderr
        )
        assert "Traceback" not in result.stderr
        with psycopg.connect(
            host="127.0.0.1", port=5432, user="postgres", dbname=database
        ) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()
        assert tables == (0,)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()
