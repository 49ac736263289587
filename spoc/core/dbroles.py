"""Two database roles on PostgreSQL: an owner that migrates, and the app's role that owns nothing.

The app (web, worker, beat) connects as a role that may read and write the app's tables but only
read and append to the access log, and, owning nothing and not being a superuser, cannot TRUNCATE,
switch triggers off or set `session_replication_role`. `manage.py migrate` connects as the owner
(`DATABASE_MIGRATE_URL`, spoc/core/management/commands/migrate.py) and then calls
`database_app_role_grant`, which sets the app role's rights to exactly these, on every table
that exists, and as default privileges for the tables the owner creates later
(docs/architecture.md, "Two database roles").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import dj_database_url
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction

# Tables the app may read and append to, never change: UPDATE, DELETE and TRUNCATE withheld.
APPEND_ONLY_TABLES = ("audit_accesslog",)
# Tables the app may only read: which migrations ran is the owner's business.
READ_ONLY_TABLES = ("django_migrations",)
# A plain identifier, so it can be written into GRANT statements without quoting rules.
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# What the migrating connection takes from DATABASE_MIGRATE_URL; the database's name stays that
# of DATABASE_URL (or of the test database being created).
_OWNER_KEYS = ("USER", "PASSWORD", "HOST", "PORT")


def database_app_role_grant(*, app_role: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Give ``app_role`` exactly the app's rights on the current schema, as the connected role
    (the owner), in one transaction: SELECT, INSERT, UPDATE and DELETE on every table and USAGE
    on every sequence, the same by default on what the owner creates later, SELECT and INSERT
    only on `APPEND_ONLY_TABLES`, SELECT only on `READ_ONLY_TABLES`; never TRUNCATE, REFERENCES
    or TRIGGER. Idempotent, and it takes back any other right granted by hand.

    Raises ImproperlyConfigured when the name is not a plain lower-case identifier, the role does
    not exist, or it is the owner, a superuser, a member of the owner or the owner of a table.
    Does nothing on other databases than PostgreSQL.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    if not _ROLE_NAME.match(app_role):
        raise ImproperlyConfigured(
            f"DATABASE_APP_ROLE {app_role!r} must be a lower-case identifier."
        )
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_schema(), current_database(), r.rolsuper,"
            " pg_has_role(r.oid, current_user, 'MEMBER'),"
            " EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = current_schema()"
            "         AND t.tableowner = r.rolname)"
            " FROM pg_roles r WHERE r.rolname = %s",
            [app_role],
        )
        found = cursor.fetchone()
        if found is None:
            raise ImproperlyConfigured(f"The database role {app_role!r} does not exist.")
        owner, schema, database, superuser, member_of_owner, owns_tables = found
        if app_role == owner or superuser or member_of_owner or owns_tables:
            raise ImproperlyConfigured(
                f"The app's database role {app_role!r} must not be the owner {owner!r}, a "
                "superuser, a member of the owner or the owner of a table (docs/architecture.md, "
                "'Two database roles')."
            )
        q = connection.ops.quote_name
        role, schema_q = q(app_role), q(schema)
        statements = [
            f"GRANT CONNECT ON DATABASE {q(database)} TO {role}",
            f"GRANT USAGE ON SCHEMA {schema_q} TO {role}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema_q} FROM {role}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema_q} FROM {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema_q} TO {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_q} TO {role}",
            # Tables and sequences the owner creates later (a migration, a manual fix) are the
            # app's at once, not only after the next grant.
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q} REVOKE ALL ON TABLES FROM {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q} REVOKE ALL ON SEQUENCES FROM {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q}"
            f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_q} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ]
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY(%s)",
            [list(APPEND_ONLY_TABLES + READ_ONLY_TABLES)],
        )
        present = {name for (name,) in cursor.fetchall()}
        for table in sorted(present & set(APPEND_ONLY_TABLES)):
            statements.append(f"REVOKE UPDATE, DELETE ON {schema_q}.{q(table)} FROM {role}")
        for table in sorted(present & set(READ_ONLY_TABLES)):
            statements.append(f"REVOKE INSERT, UPDATE, DELETE ON {schema_q}.{q(table)} FROM {role}")
        for statement in statements:
            cursor.execute(statement)


@contextmanager
def migrate_connection(*, using: str) -> Iterator[bool]:
    """While inside, the ``using`` connection logs in as the owner from DATABASE_MIGRATE_URL
    (its user, password, host and port; the database stays the same). Yields whether it did:
    without DATABASE_MIGRATE_URL, or for another alias than the default, nothing changes.

    Switching the default connection, rather than migrating through a second alias, keeps every
    part of `migrate` on one connection: data migrations and post_migrate receivers that use the
    default manager run as the owner, in the migration's own transaction.
    """
    url = settings.DATABASE_MIGRATE_URL
    if not url or using != DEFAULT_DB_ALIAS:
        yield False
        return
    connection = connections[using]
    if connection.in_atomic_block:
        raise ImproperlyConfigured("migrate cannot switch to the owner role inside a transaction.")
    owner = dj_database_url.parse(url)
    saved = {key: connection.settings_dict.get(key) for key in _OWNER_KEYS}
    connection.close()
    connection.settings_dict.update({key: owner.get(key) for key in _OWNER_KEYS})
    try:
        yield True
    finally:
        connection.close()
        connection.settings_dict.update(saved)
