"""Every access-log row carries a hash chained to the row before it (spoc/audit/chain.py).

Rows already there are chained here, in id order from the genesis hash, so that
`manage.py verify_access_log` holds on a database migrated with its history. Writing their hash is
an UPDATE, which the append-only triggers of 0002 refuse: they are switched off for this
migration's transaction only (the owner role runs migrations) and back on before it commits.
On SQLite, adding the column rebuilds the table, which drops its triggers: they are created again.

The canonical form is imported from spoc/audit/chain.py on purpose: the rows hashed here are
checked with it for as long as they are kept, so it never changes in place.
"""

from django.db import migrations, models

from spoc.audit.chain import FIELDS, GENESIS, canonical, digest, link

BATCH = 5000

SQLITE_GUARDS = [
    "CREATE TRIGGER IF NOT EXISTS audit_accesslog_no_update BEFORE UPDATE ON audit_accesslog "
    "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;",
    "CREATE TRIGGER IF NOT EXISTS audit_accesslog_no_delete BEFORE DELETE ON audit_accesslog "
    "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;",
]


def guards_off(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE audit_accesslog DISABLE TRIGGER audit_accesslog_append_only"
        )
    elif schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_accesslog_no_update")
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_accesslog_no_delete")


def guards_on(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE audit_accesslog ENABLE TRIGGER audit_accesslog_append_only"
        )
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_GUARDS:
            schema_editor.execute(statement)


def chain_existing(apps, schema_editor):  # type: ignore[no-untyped-def]
    AccessLog = apps.get_model("audit", "AccessLog")
    connection = schema_editor.connection
    rows = AccessLog.objects.using(connection.alias).order_by("id")
    previous, last_id = GENESIS, 0
    while True:
        page = list(rows.filter(id__gt=last_id).values_list("id", *FIELDS)[:BATCH])
        if not page:
            return
        hashes = []
        for row_id, *values in page:
            previous = link(
                previous=previous,
                digest=digest(canonical(**dict(zip(FIELDS, values, strict=True)))),
            )
            hashes.append((row_id, previous))
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One statement per page rather than one per row (only placeholders are joined).
                values = ", ".join(["(%s, %s)"] * len(hashes))
                cursor.execute(
                    f"UPDATE audit_accesslog AS a SET row_hash = v.h FROM (VALUES {values}) AS v(id, h) "  # noqa: S608
                    "WHERE a.id = v.id",
                    [value for pair in hashes for value in pair],
                )
            else:
                cursor.executemany(
                    "UPDATE audit_accesslog SET row_hash = %s WHERE id = %s",
                    [(h, row_id) for row_id, h in hashes],
                )
        last_id = page[-1][0]


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_security_actions")]
    operations = [
        migrations.RunPython(guards_off, guards_on),
        migrations.AddField(
            model_name="accesslog",
            name="row_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.RunPython(guards_on, guards_off),
    ]
