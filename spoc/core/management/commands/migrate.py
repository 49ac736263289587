"""``manage.py migrate``, as Django's, but as the owner role when there are two (spoc/core/dbroles.py).

With DATABASE_MIGRATE_URL set, the default connection logs in as the owner for the whole command;
then, when the app has a role of its own (DATABASE_APP_ROLE, or DATABASE_URL's user when
DATABASE_MIGRATE_URL is set), that role is given exactly the app's rights on every table, new ones
included. With neither set (`make run`, the test suite), it is Django's migrate.

On PostgreSQL it first refuses a database whose encoding is not UTF8 (a cluster made without a
locale is SQL_ASCII): such a database takes the migrations and plain ASCII, then fails on the first
Siân or Nguyễn, or the "≥" of a triage reason, at the moment a call is saved.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import migrate
from django.db import connections

from spoc.core.dbroles import database_app_role_grant, migrate_connection


class Command(migrate.Command):
    help = (
        f"{migrate.Command.help} Connects as the owner from DATABASE_MIGRATE_URL when it is set, "
        "then grants the app's database role its rights."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        database = options["database"]
        with migrate_connection(using=database) as as_owner:
            _require_utf8(database)
            super().handle(*args, **options)
            if (
                settings.DATABASE_APP_ROLE
                and not options.get("plan")
                and not options.get("check_unapplied")
            ):
                database_app_role_grant(app_role=settings.DATABASE_APP_ROLE, using=database)
                if options["verbosity"] >= 1:
                    who = (
                        "the owner from DATABASE_MIGRATE_URL" if as_owner else "the connected role"
                    )
                    self.stdout.write(
                        f"Granted the app's rights to {settings.DATABASE_APP_ROLE!r} as {who}."
                    )


def _require_utf8(database: str) -> None:
    connection = connections[database]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), current_setting('server_encoding')")
        name, encoding = cursor.fetchone()
    if encoding != "UTF8":
        raise CommandError(
            f"The database {name!r} is encoded {encoding}, not UTF8: it would refuse names such "
            "as Siân and Nguyễn. Create it with ENCODING 'UTF8' (for example `createdb -E UTF8 "
            f"-T template0 {name}`), then migrate again."
        )
